/**
 * `deno task lab`: the network-namespace lab.
 *
 *   lab up [--network-only] [--nodes N] [--real-servers M] [--prefix P] [--no-bfd] [--no-management] [--topology FILE]
 *
 * `lab up` with the defaults builds the whole lab (agents with the data plane, sshd, real servers)
 * and deploys fixtures/lab.yaml over SSH; any other shape, or --network-only, builds only the
 * routing network (namespaces, links, BIRD).
 *   lab down [--prefix P]
 *   lab status [--json] [--prefix P]
 *   lab drain NODE | lab undrain NODE [--prefix P]
 *
 * @module
 */
import {
  DEFAULT_TOPOLOGY,
  labDown,
  type LabStatus,
  labStatus,
  labUp,
  loadLabModel,
  readLabModel,
  setNodeDrained,
  waitForNextHops,
} from "./network.ts";
import { type LabModel, type LabTopology, parseLabTopology } from "./topology.ts";
import { LAB_CLUSTER_FILE, startLab } from "./cluster.ts";
import { labDashboardStatus, startLabDashboard } from "./dashboard.ts";
import { agentStatus, labAgentPaths } from "./nodes.ts";
import type { AgentStatus } from "../../dataplane/agent/api.ts";
import { loadClusterFile } from "../spec/cluster_file.ts";
import { errorText } from "../../routing/errors.ts";

const USAGE = `usage: deno task lab <command> [options]
  up [--network-only] [--nodes N] [--real-servers M] [--prefix P] [--no-bfd] [--no-management]
     [--topology FILE]   with the defaults: the whole lab, fixtures/lab.yaml deployed over SSH
  down [--prefix P]
  status [--json] [--prefix P]
  drain NODE [--prefix P]      withdraw NODE's VIPs (LIPs stay announced)
  undrain NODE [--prefix P]`;

/** Parsed command line. */
export interface LabArgs {
  command: string;
  positional: string[];
  flags: Record<string, string | boolean>;
}

/** Parses `lab` arguments; throws `TypeError` on an unknown option or a missing value. */
export function parseLabArgs(args: string[]): LabArgs {
  const valued = ["--nodes", "--real-servers", "--prefix", "--topology"];
  const bool = ["--json", "--no-bfd", "--no-management", "--network-only", "--help", "-h"];
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [k, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    if (valued.includes(k)) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new TypeError(`Option ${k} needs a value`);
      flags[k.slice(2)] = v;
    } else if (bool.includes(a)) {
      flags[a.replace(/^-+/, "")] = true;
    } else if (a.startsWith("-")) {
      throw new TypeError(`Unknown option ${a}\n${USAGE}`);
    } else positional.push(a);
  }
  return { command: positional.shift() ?? "", positional, flags };
}

function intFlag(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) {
    throw new TypeError(`Option --${name} needs an integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Human-readable status. */
export function formatStatus(s: LabStatus): string {
  const lines = [`lab ${s.prefix}: ${s.up ? "up" : "down"} (state in ${s.stateDir})`];
  for (const n of s.namespaces) {
    const addrs = n.interfaces.flatMap((i) => i.addresses.map((a) => `${i.name} ${a}`)).join(", ");
    lines.push(`  ${n.exists ? "+" : "-"} ${n.name.padEnd(16)} ${n.role.padEnd(10)} ${addrs}`);
  }
  for (const n of s.nodes) {
    lines.push(
      `  node ${n.name}: ${n.address} bird ${n.bird}${n.drained ? ", drained" : ""}, LIPs ${
        n.lips.join(" ")
      }`,
    );
  }
  for (const v of s.vips) {
    const hops = s.router.nextHops[v] ?? [];
    lines.push(
      `  VIP ${v}: ${hops.length} next hops ${hops.map((h) => h.gateway).join(" ")}`.trimEnd(),
    );
  }
  if (s.router.error) lines.push(`  router: ${s.router.error}`);
  return lines.join("\n");
}

/** What every command works from: the arguments, the topology and the lab's prefix. */
interface LabContext {
  args: LabArgs;
  topoFile: string;
  topo: LabTopology;
  prefix: string;
  log: (m: string) => void;
}

async function main(args: string[]): Promise<number> {
  const a = parseLabArgs(args);
  if (a.flags.help || a.flags.h || !a.command) {
    console.log(USAGE);
    return a.command || a.flags.help || a.flags.h ? 0 : 2;
  }
  const topoFile = typeof a.flags.topology === "string" ? a.flags.topology : DEFAULT_TOPOLOGY;
  const topo = parseLabTopology(await Deno.readTextFile(topoFile), topoFile);
  const prefix = typeof a.flags.prefix === "string" ? a.flags.prefix : topo.prefix;
  const log = (m: string) => console.error(`lab: ${m}`);
  const ctx: LabContext = { args: a, topoFile, topo, prefix, log };
  switch (a.command) {
    case "up":
      return await up(ctx);
    case "down":
      return await down(ctx);
    case "status":
      return await status(ctx);
    case "drain":
    case "undrain":
      return await drainOrUndrain(ctx, a.command);
    default:
      console.error(`Unknown command ${JSON.stringify(a.command)}\n${USAGE}`);
      return 2;
  }
}

/** The model of the lab that is up, or an error telling how to bring it up. */
async function currentModel({ prefix, topo }: LabContext): Promise<LabModel> {
  const m = await readLabModel(prefix, topo.stateDir);
  if (!m) {
    throw new Error(
      `Lab ${prefix} is not up (no ${topo.stateDir}/${prefix}/lab.json); run: deno task lab up`,
    );
  }
  return m;
}

/** `lab up`: the whole lab with the defaults, the routing network only for any other shape. */
async function up(ctx: LabContext): Promise<number> {
  const { args: a, topo, topoFile, prefix } = ctx;
  const nodes = intFlag(a.flags.nodes, "nodes");
  const rs = intFlag(a.flags["real-servers"], "real-servers");
  const t0 = performance.now();
  // The default lab is the real thing: agents with the data plane, sshd, real servers and
  // fixtures/lab.yaml deployed over SSH. Other shapes build the routing network only.
  const full = !a.flags["network-only"] && prefix === topo.prefix &&
    topoFile === DEFAULT_TOPOLOGY && (nodes === undefined || nodes === 3) && rs === undefined &&
    !a.flags["no-bfd"] && !a.flags["no-management"];
  if (full) return await upWholeLab(ctx, t0);
  return await upNetworkOnly(ctx, t0, nodes, rs);
}

/** The whole lab: agents, sshd, real servers, fixtures/lab.yaml deployed, the dashboard. */
async function upWholeLab({ log }: LabContext, t0: number): Promise<number> {
  const lab = await startLab({ log });
  await lab.transport.close();
  const listen = lab.cluster.dashboard.listen;
  log(`starting the dashboard on ${listen}`);
  const dash = await startLabDashboard(lab.model.stateDir, LAB_CLUSTER_FILE, listen);
  log(`up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(formatStatus(await labStatus(lab.model)));
  console.log(
    [
      "",
      `deployed ${lab.deployed.hash} to ${lab.deployed.nodes.length} nodes over SSH`,
      `try: ip netns exec ${lab.model.client.namespace} curl -s http://${
        lab.cluster.vips[0]!.address
      }/whoami`,
      "     deno run -A cluster/lvsctl.ts status",
      `dashboard: ${dash.url}  (log in with operator token ${dash.token}; also in ${dash.tokenFile})`,
      `           its log: ${dash.log}; stopped by: deno task lab down`,
      `           it rolls out releases built into ${dash.releases}:`,
      `           deno run -A cluster/ops/release.ts --version V --out ${dash.releases}/lvs-V.tar.gz`,
    ].join("\n"),
  );
  return 0;
}

/** The routing network only (namespaces, links, BIRD), then a wait for OSPF's next hops. */
async function upNetworkOnly(
  { args: a, topoFile, prefix, log }: LabContext,
  t0: number,
  nodes: number | undefined,
  rs: number | undefined,
): Promise<number> {
  const model = await loadLabModel({
    prefix,
    ...(nodes !== undefined ? { nodes } : {}),
    ...(rs !== undefined ? { realServers: rs } : {}),
    ...(a.flags["no-bfd"] ? { bfd: false } : {}),
    ...(a.flags["no-management"] ? { management: false } : {}),
  }, topoFile);
  await labUp(model, { log });
  log(`waiting for OSPF: ${model.nodes.length} next hops for ${model.vips.join(", ")}`);
  for (const vip of model.vips) {
    if (!await waitForNextHops(model, vip, model.nodes.length, 60_000)) {
      log(`warning: ${vip} does not have ${model.nodes.length} next hops after 60 s`);
    }
  }
  log(`network up in ${((performance.now() - t0) / 1000).toFixed(1)} s (routing only)`);
  console.log(formatStatus(await labStatus(model)));
  return 0;
}

/** `lab down`: namespaces removed, processes stopped, the state directory removed. */
async function down({ topo, prefix, log }: LabContext): Promise<number> {
  const r = await labDown(prefix, topo.stateDir, { log });
  console.log(
    `lab ${prefix}: removed ${r.namespaces.length} namespaces, stopped ${r.killed.length} processes${
      r.removedDir ? `, removed ${topo.stateDir}/${prefix}` : ""
    }`,
  );
  return 0;
}

/** `lab status`: the network, each node's agent and the dashboard, as text or JSON. */
async function status({ args: a, topo, prefix }: LabContext): Promise<number> {
  const model = await readLabModel(prefix, topo.stateDir);
  if (!model) {
    if (a.flags.json) console.log(JSON.stringify({ prefix, up: false, namespaces: [] }));
    else console.log(`lab ${prefix}: down`);
    return 0;
  }
  const s = await labStatus(model);
  const agents = await agentSummaries(model);
  const dash = await labDashboardStatus(
    model.stateDir,
    (await loadClusterFile(LAB_CLUSTER_FILE)).dashboard.listen,
  );
  const dashboard = { running: dash.running, pid: dash.pid, url: dash.url, log: dash.log };
  if (a.flags.json) console.log(JSON.stringify({ ...s, agents, dashboard }, null, 2));
  else {
    console.log(formatStatus(s));
    console.log(
      dash.running
        ? `  dashboard: running (pid ${dash.pid}) on ${dash.url}, token in ${dash.tokenFile}`
        : `  dashboard: not running (log: ${dash.log})`,
    );
    for (const [name, ag] of Object.entries(agents)) {
      const g = ag as Record<string, unknown>;
      console.log(
        g.error
          ? `  agent ${name}: ${g.error}`
          : `  agent ${name}: release ${g.release}, config ${
            (g.config as { hash?: string } | null)?.hash?.slice(7, 19) ?? "(none)"
          }, ${g.drained ? "drained" : "active"}, ${g.sessions} sessions`,
      );
    }
  }
  return 0;
}

/** Each node's agent (when the whole lab runs): release, configuration, drain, sessions. */
async function agentSummaries(model: LabModel): Promise<Record<string, unknown>> {
  return Object.fromEntries(
    await Promise.all(model.nodes.map(async (n) => {
      try {
        const st = await agentStatus(labAgentPaths(model, n).socket) as unknown as AgentStatus;
        return [n.name, {
          release: st.release,
          config: st.config,
          drained: st.drained,
          sessions: st.counters?.sessions ?? null,
          adjacency: st.routing.adjacency,
          advertised: st.routing.advertised,
        }];
      } catch (e) {
        return [n.name, { error: errorText(e) }];
      }
    })),
  );
}

/** `lab drain NODE` / `lab undrain NODE`: through the node's agent when it runs, else BIRD. */
async function drainOrUndrain(ctx: LabContext, command: "drain" | "undrain"): Promise<number> {
  const node = ctx.args.positional[0];
  if (!node) throw new TypeError(`lab ${command} needs a node name\n${USAGE}`);
  const model = await currentModel(ctx);
  const n = model.nodes.find((x) => x.name === node);
  if (!n) throw new TypeError(`No node ${node} in lab ${ctx.prefix}`);
  const socket = labAgentPaths(model, n).socket;
  const hasAgent = await Deno.stat(socket).then(() => true, () => false);
  if (hasAgent) {
    // The whole lab: the node's agent owns BIRD, so ask it (as lvsctl would over SSH).
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
    try {
      const res = await fetch(`http://agent/v1/${command}`, { method: "POST", client });
      if (!res.ok) throw new Error(`${node}'s agent refused ${command}: ${await res.text()}`);
      await res.body?.cancel();
    } finally {
      client.close();
    }
  } else {
    await setNodeDrained(model, node, command === "drain");
  }
  console.log(`${node}: ${command === "drain" ? "VIPs withdrawn" : "VIPs announced"}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`lab: ${errorText(e)}`);
    Deno.exit(1);
  }
}
