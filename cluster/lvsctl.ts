/**
 * `lvsctl`: the operator's command line. Library functions do the work (cluster_file, plan,
 * deploy, endpoint, rollout); this file parses arguments, prints human output or `--json`, and
 * turns errors into messages and exit codes (0 ok, 1 failed, 2 bad usage or invalid file).
 *
 *     deno run -A cluster/lvsctl.ts validate --cluster fixtures/lab.yaml
 *     deno task deploy [--cluster FILE] [--json]
 *
 * @module
 */
import { Command } from "commander";
import { type ClusterFile, ClusterFileError, loadClusterFile } from "./spec/cluster_file.ts";
import { nodeConfigs } from "./spec/node_config.ts";
import { planDeploy } from "./spec/plan.ts";
import { planLines } from "./spec/plan_render.ts";
import {
  DeletionGuardError,
  describeDeletions,
  excessiveDeletions,
} from "./spec/deletion_guard.ts";
import { deploy } from "./ops/deploy.ts";
import {
  agentCall,
  drainNode,
  fleetStatuses,
  observedConfigs,
  undrainNode,
} from "./transport/endpoint.ts";
import { AGENT_PATHS, type AgentStatus } from "../dataplane/agent/api.ts";
import type { NodeTransport } from "./transport/transport.ts";
import { SshTransport } from "./transport/ssh_transport.ts";
import {
  defaultStateDir,
  resumeRollout,
  RolloutHaltedError,
  type RolloutState,
  startRollout,
} from "./ops/rollout.ts";
import { LeaseError } from "./ops/lease.ts";
import type { Clock } from "./ops/clock.ts";
import { ClusterFleet, type ClusterFleetOptions } from "./ops/dashboard_fleet.ts";
import { renderNodeFile } from "./spec/node_file_render.ts";
import { syncLine, syncViewOf } from "./spec/sync_view.ts";
import { drainSummary } from "./spec/drain_progress.ts";
import { watchDrain } from "./ops/drain.ts";
import { rolloutLease } from "./spec/fleet_view.ts";
import { FileAuditLog, operatorsFromEnv, plainHttpRefusal, serveDashboard } from "../web/mod.ts";
import { errorText } from "../routing/errors.ts";
import { pollUntil, sleep as realSleep } from "../routing/poll.ts";

/** Where a command's output goes (tests capture it). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** What commands need besides their arguments. */
export interface CliDeps {
  io: Io;
  transport: (cluster: ClusterFile) => NodeTransport;
  /** The clock and sleep of waits (drain, undrain); default the system's. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** The clock rollouts run on (default the real one). */
  clock?: Clock;
}

const DEFAULT_CLUSTER = new URL("../fixtures/lab.yaml", import.meta.url).pathname;

/** Exit code carried by an error. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

function pad(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()).join("\n");
}

async function load(path: string): Promise<ClusterFile> {
  try {
    return await loadClusterFile(path);
  } catch (e) {
    if (e instanceof ClusterFileError) throw new CliError(e.message, 2);
    throw e;
  }
}

/** The cluster's VIPs as a node's routing reports them. */
function vipRoutes(cluster: ClusterFile): Set<string> {
  return new Set(cluster.vips.map((v) => `${v.address}/32`));
}

function findNode(cluster: ClusterFile, name: string) {
  const n = cluster.nodes.find((x) => x.name === name);
  if (!n) {
    throw new CliError(
      `No node ${name} in the cluster file (nodes: ${cluster.nodes.map((x) => x.name).join(", ")})`,
      2,
    );
  }
  return n;
}

/** The dashboard's certificate and key (PEM) named by the cluster file; exit 2 naming a bad one. */
async function readTls(
  files: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const read = async (what: "cert" | "key", path: string) => {
    try {
      const text = await Deno.readTextFile(path);
      if (!text.includes("-----BEGIN ")) throw new Error("not a PEM file");
      return text;
    } catch (e) {
      throw new CliError(
        `Cannot read the dashboard's TLS ${what} ${path} (dashboard.tls.${what}): ${errorText(e)}`,
        2,
      );
    }
  };
  return { cert: await read("cert", files.cert), key: await read("key", files.key) };
}

/** The `ipvsadm -ln`-like fleet table. */
export function formatStatus(
  cluster: ClusterFile,
  statuses: Map<string, AgentStatus | Error>,
): string {
  const rows = [[
    "NODE",
    "STATE",
    "RELEASE",
    "CONFIG",
    "OSPF",
    "VIPS",
    "SESSIONS",
    "PKTS IN/OUT",
    "DROPS",
  ]];
  const hashes = new Set<string>();
  const warnings: string[] = [];
  for (const n of cluster.nodes) {
    const s = statuses.get(n.name);
    if (!s || s instanceof Error) {
      rows.push([n.name, "down", "-", "-", "-", "-", "-", "-", s?.message ?? "no answer"]);
      continue;
    }
    if (s.config) hashes.add(s.config.hash);
    if (s.degraded !== undefined) warnings.push(`WARNING: ${n.name} is degraded: ${s.degraded}`);
    const drops = Object.values(s.counters?.drops ?? {}).reduce((a, b) => a + b, 0);
    rows.push([
      n.name,
      s.degraded !== undefined ? "degraded" : s.drained ? "drained" : "active",
      s.release,
      s.config ? s.config.hash.slice(7, 19) : "(none)",
      s.routing.adjacency,
      s.routing.advertised.join(",") || "-",
      String(s.counters?.sessions ?? "-"),
      `${s.counters?.packetsIn ?? "-"}/${s.counters?.packetsOut ?? "-"}`,
      String(drops),
    ]);
  }
  const lines = [pad(rows), ...warnings];
  if (hashes.size > 1) lines.push(`WARNING: nodes report ${hashes.size} different configurations`);
  const reported = [...statuses.values()].some((s) => !(s instanceof Error) && s.sync);
  if (cluster.sync || reported) {
    const names = new Map(cluster.nodes.map((n) => [n.address, n.name]));
    lines.push("");
    for (const n of cluster.nodes) {
      const s = statuses.get(n.name);
      lines.push(
        !s || s instanceof Error ? `${n.name} sync: unknown (down)` : syncLine(
          n.name,
          syncViewOf(s, names),
        ),
      );
    }
  }
  const lease = rolloutLease(
    cluster.nodes.map((n) => {
      const s = statuses.get(n.name);
      return {
        name: n.name,
        address: n.address,
        ...(s && !(s instanceof Error) ? { status: s } : {}),
      };
    }),
  );
  if (lease) {
    lines.push(
      `rollout lease: held by "${lease.holder}" on ${lease.nodes.join(", ")} for ${
        Math.round(lease.expiresInMs / 1000)
      } s more`,
    );
  }
  for (const v of cluster.vips) {
    lines.push(
      `\n${v.protocol.toUpperCase()}  ${v.address}:${v.port} ${v.scheduler}${
        v.synproxy ? " synproxy" : ""
      }`,
    );
    for (const r of v.reals) {
      const key = `${v.address}:${v.port}/${v.protocol}/${r.address}:${r.port}`;
      const health = cluster.nodes.map((n) => {
        const s = statuses.get(n.name);
        if (!s || s instanceof Error) return `${n.name}:?`;
        const h = s.health.find((x) => x.key === key);
        return `${n.name}:${h === undefined ? "unchecked" : h.up ? "up" : "DOWN"}`;
      }).join(" ");
      lines.push(`  -> ${r.address}:${r.port}  weight ${r.weight}  ${health}`);
    }
  }
  return lines.join("\n");
}

/**
 * What `lvsctl dashboard` builds its fleet from: the releases it offers come from `--releases`,
 * else the cluster file's `dashboard.releases` (neither: it starts no rollout).
 */
export function dashboardFleetOptions(
  cluster: ClusterFile,
  transport: NodeTransport,
  o: { stateDir: string; releases?: string },
): ClusterFleetOptions {
  const releasesDir = o.releases ?? cluster.dashboard.releases;
  return { cluster, transport, stateDir: o.stateDir, ...(releasesDir ? { releasesDir } : {}) };
}

/** What every command group shares: the dependencies, the clock of waits and two helpers. */
interface CliContext {
  deps: CliDeps;
  io: Io;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Adds `--cluster FILE` and `--json` to a command. */
  clusterOpt: (c: Command) => Command;
  /** Runs `fn` with a transport to the cluster's nodes, closed afterwards. */
  withTransport: <T>(cluster: ClusterFile, fn: (t: NodeTransport) => Promise<T>) => Promise<T>;
}

/** Builds the command tree. Each action throws CliError for a non-zero exit. */
export function buildCli(deps: CliDeps): Command {
  const { io } = deps;
  const program = new Command("lvsctl")
    .description("Operate the FULLNAT load-balancer cluster")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
    });
  const ctx = cliContext(deps);
  addConfigCommands(program, ctx);
  addNodeCommands(program, ctx);
  addUpgradeCommand(program, ctx);
  addDashboardCommand(program, ctx);
  return program;
}

function cliContext(deps: CliDeps): CliContext {
  return {
    deps,
    io: deps.io,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? realSleep,
    clusterOpt: (c: Command) =>
      c.option("-c, --cluster <file>", "cluster file", DEFAULT_CLUSTER).option(
        "--json",
        "JSON output",
      ),
    withTransport: async <T>(cluster: ClusterFile, fn: (t: NodeTransport) => Promise<T>) => {
      const t = deps.transport(cluster);
      try {
        return await fn(t);
      } finally {
        await t.close();
      }
    },
  };
}

/** `validate`, `plan` and `deploy`: the cluster file and the configuration it gives the nodes. */
function addConfigCommands(program: Command, { io, clusterOpt, withTransport }: CliContext): void {
  clusterOpt(
    program.command("validate").description(
      "check a cluster file; every problem with its position",
    ),
  )
    .action(async (o: { cluster: string; json?: boolean }) => {
      const c = await load(o.cluster);
      if (o.json) io.out(JSON.stringify({ ok: true, nodes: c.nodes.length, vips: c.vips.length }));
      else io.out(`${o.cluster}: ok (${c.nodes.length} nodes, ${c.vips.length} VIPs)`);
    });

  clusterOpt(program.command("plan").description("show what deploy would change on each node"))
    .action(async (o: { cluster: string; json?: boolean }) => {
      const c = await load(o.cluster);
      const desired = await nodeConfigs(c);
      const observed = await withTransport(c, (t) => observedConfigs(t, c.nodes));
      const plan = planDeploy(desired, observed);
      if (o.json) return io.out(JSON.stringify(plan));
      for (const line of planLines(plan)) io.out(line);
      const over = excessiveDeletions(plan, c.deploy.maxDeletionShare);
      if (over.length > 0) {
        io.out(
          `WARNING: deploy refuses this push without --allow-deletions: ${
            describeDeletions(over, c.deploy.maxDeletionShare)
          }`,
        );
      }
    });

  clusterOpt(program.command("deploy").description("push the VIPs to every node and verify"))
    .option("--concurrency <n>", "nodes pushed at once", "8")
    .option(
      "--allow-deletions",
      "push even when it removes more of a node's VIPs or real servers than the cluster " +
        "file's deploy.maxDeletionShare (default 0.5)",
    )
    .action(async (
      o: { cluster: string; json?: boolean; concurrency: string; allowDeletions?: boolean },
    ) => {
      const c = await load(o.cluster);
      const result = await withTransport(c, (t) =>
        deploy(c, t, {
          concurrency: Number(o.concurrency),
          allowDeletions: o.allowDeletions ?? false,
          ...(o.json
            ? {}
            : { onProgress: (node: string, msg: string) => io.err(`${node}: ${msg}`) }),
        })).catch((e) => {
          if (e instanceof DeletionGuardError) throw new CliError(e.message, 1);
          throw e;
        });
      if (o.json) io.out(JSON.stringify(result));
      else {
        io.out(
          pad([
            ["NODE", "RESULT", "HASH", "ADVERTISED", "MS"],
            ...result.nodes.map((n) => [
              n.node,
              n.ok ? "ok" : `FAILED: ${n.error}`,
              n.hash?.slice(7, 19) ?? "-",
              n.advertised.join(",") || "-",
              String(n.ms),
            ]),
          ]),
        );
        io.out(
          `${
            result.ok ? "deployed" : "NOT deployed everywhere"
          }: ${result.hash} in ${result.ms} ms`,
        );
      }
      if (!result.ok) throw new CliError("deploy failed on some nodes", 1);
    });
}

/** `status`, `drain`, `undrain` and `node-file`: the fleet and one node at a time. */
function addNodeCommands(
  program: Command,
  { io, now, sleep, clusterOpt, withTransport }: CliContext,
): void {
  clusterOpt(program.command("status").description("the fleet at a glance (like ipvsadm -ln)"))
    .action(async (o: { cluster: string; json?: boolean }) => {
      const c = await load(o.cluster);
      const statuses = await withTransport(c, (t) => fleetStatuses(t, c.nodes));
      if (o.json) {
        io.out(JSON.stringify(Object.fromEntries(
          [...statuses].map(([k, v]) => [k, v instanceof Error ? { error: v.message } : v]),
        )));
      } else io.out(formatStatus(c, statuses));
      if ([...statuses.values()].some((s) => s instanceof Error)) {
        throw new CliError("some nodes did not answer", 1);
      }
    });

  clusterOpt(
    program.command("drain <node>").description(
      "withdraw the node's VIPs from the router and wait for its sessions to fall (with sync, " +
        "its peers forward its flows' frames to it meanwhile)",
    ),
  )
    .option("--timeout <s>", "seconds to wait", "60")
    .action(async (name: string, o: { cluster: string; json?: boolean; timeout: string }) => {
      const c = await load(o.cluster);
      const n = findNode(c, name);
      const r = await withTransport(c, async (t) =>
        watchDrain(await drainNode(t, n), {
          transport: t,
          node: n,
          vips: vipRoutes(c),
          threshold: c.rollout.sessionThreshold,
          timeoutMs: Number(o.timeout) * 1000,
          now,
          sleep,
          pollMs: 500,
          onProgress: (line) => {
            if (!o.json) io.err(line);
          },
        }));
      const advertises = r.status.routing.advertised.join(",") || "no VIP";
      if (!r.withdrawn) {
        throw new CliError(
          `${name}: drain not complete after ${o.timeout} s: it still advertises ${advertises}`,
          1,
        );
      }
      const outcome = {
        settled: r.settled,
        waitedS: Math.round(r.waitedMs / 1000),
        forwardedIn: r.forwardedIn,
      };
      // A timeout on the sessions is a warning: the drain itself is done.
      if (o.json) {
        io.out(JSON.stringify({ ...r.status, drain: { ...outcome, remaining: r.remaining } }));
      } else io.out(`${drainSummary(name, r.status, outcome)} (advertises ${advertises})`);
    });

  clusterOpt(program.command("undrain <node>").description("announce the node's VIPs again"))
    .option("--timeout <s>", "seconds to wait", "60")
    .action(async (name: string, o: { cluster: string; json?: boolean; timeout: string }) => {
      const c = await load(o.cluster);
      const n = findNode(c, name);
      const vips = vipRoutes(c);
      const routed = (st: AgentStatus) => st.routing.advertised.some((a) => vips.has(a));
      const final = await withTransport(c, async (t) => {
        let s = await undrainNode(t, n);
        // The undrain answers with the status: the first look judges it, later ones read anew.
        const done = await pollUntil(async (look) => {
          if (look > 0) s = await agentCall<AgentStatus>(t, n, "GET", AGENT_PATHS.status);
          return routed(s) ? s : null;
        }, {
          timeoutMs: Number(o.timeout) * 1000,
          everyMs: 500,
          now,
          sleep: (ms) => {
            // Before each pause, say what the node still advertises.
            if (!o.json) {
              io.err(`${name}: advertises ${s.routing.advertised.join(",") || "nothing"}`);
            }
            return sleep(ms);
          },
        });
        if (!done) throw new CliError(`${name}: undrain not complete after ${o.timeout} s`, 1);
        return done;
      });
      if (o.json) io.out(JSON.stringify(final));
      else {
        io.out(`${name}: active (advertises ${final.routing.advertised.join(",") || "no VIP"})`);
      }
    });

  clusterOpt(
    program.command("node-file <node>").description(
      "print the agent's node file for NODE (install it as the agent's --node-file)",
    ),
  ).action(async (name: string, o: { cluster: string }) => {
    const c = await load(o.cluster);
    io.out(JSON.stringify(renderNodeFile(findNode(c, name)), null, 2));
  });
}

/** `upgrade`: the rolling upgrade (see `ops/rollout.ts`), started or resumed. */
function addUpgradeCommand(
  program: Command,
  { deps, io, clusterOpt, withTransport }: CliContext,
): void {
  clusterOpt(
    program.command("upgrade").description(
      "rolling upgrade: per node drain, ship the release, restart, health gate, undrain",
    ),
  )
    .option("--release <path>", "release tarball (deno run -A cluster/ops/release.ts ...)")
    .option("--batch <n>", "nodes upgraded at once (default: the cluster file's rollout.batch)")
    .option("--resume", "continue the halted rollout from the node that failed")
    .option("--nodes <names>", "upgrade only these nodes (comma-separated; a canary)")
    .option(
      "--no-require-traffic",
      "do not fail the gate when an undrained node takes no traffic (an idle cluster)",
    )
    .option(
      "--state-dir <dir>",
      "where the rollout state lives, for --resume (the lease is held on the nodes)",
      defaultStateDir(),
    )
    .action(async (o: {
      cluster: string;
      json?: boolean;
      release?: string;
      batch?: string;
      resume?: boolean;
      nodes?: string;
      stateDir: string;
      requireTraffic: boolean;
    }) => {
      const c = await load(o.cluster);
      if (!o.resume && !o.release) {
        throw new CliError("upgrade needs --release PATH or --resume", 2);
      }
      const rollout = {
        cluster: c,
        stateDir: o.stateDir,
        requireTraffic: o.requireTraffic,
        ...(deps.clock ? { clock: deps.clock } : {}),
        onProgress: (_s: RolloutState, msg: string) => {
          if (!o.json) io.err(msg);
        },
      };
      try {
        const state = await withTransport(
          c,
          (transport) =>
            o.resume ? resumeRollout({ ...rollout, transport }) : startRollout(
              { ...rollout, transport },
              {
                release: o.release!,
                ...(o.batch ? { batch: Number(o.batch) } : {}),
                ...(o.nodes ? { nodes: o.nodes.split(",").map((n) => n.trim()) } : {}),
              },
            ),
        );
        if (o.json) io.out(JSON.stringify(state));
        else io.out(`rollout ${state.id}: every node runs ${state.version}`);
      } catch (e) {
        if (e instanceof RolloutHaltedError) {
          if (o.json) io.out(JSON.stringify(e.state));
          throw new CliError(e.message, 1);
        }
        if (e instanceof LeaseError) throw new CliError(e.message, 1);
        throw e;
      }
    });
}

/** `dashboard`: serves the web dashboard until SIGINT or SIGTERM. */
function addDashboardCommand(program: Command, { deps, io, clusterOpt }: CliContext): void {
  clusterOpt(
    program.command("dashboard").description(
      "serve the web dashboard (operator token from LVS_DASHBOARD_TOKEN, audit log in the state dir)",
    ),
  )
    .option(
      "--listen <host:port>",
      "address to serve on (default: the cluster file's dashboard.listen)",
    )
    .option(
      "--state-dir <dir>",
      "where rollouts keep their state and the audit log",
      defaultStateDir(),
    )
    .option(
      "--insecure",
      "serve plain HTTP on a non-loopback address (tokens and cookies cross the network in clear text)",
    )
    .option(
      "--releases <dir>",
      "the directory whose release tarballs the dashboard offers (default: the cluster file's dashboard.releases)",
    )
    .action(
      async (
        o: {
          cluster: string;
          listen?: string;
          stateDir: string;
          insecure?: boolean;
          releases?: string;
        },
      ) => {
        const c = await load(o.cluster);
        const operators = operatorsFromEnv((k) => Deno.env.get(k));
        if (operators.length === 0) {
          throw new CliError("Set LVS_DASHBOARD_TOKEN (and optionally LVS_DASHBOARD_OPERATOR)", 2);
        }
        const listen = o.listen ?? c.dashboard.listen;
        const m = /^(.+):(\d+)$/.exec(listen);
        if (!m) throw new CliError(`--listen must be host:port, got ${JSON.stringify(listen)}`, 2);
        const [host, port] = [m[1]!, Number(m[2])];
        const why = plainHttpRefusal(host, port, {
          tls: c.dashboard.tls !== undefined,
          insecure: o.insecure ?? false,
        });
        if (why !== null) throw new CliError(why, 2);
        const tls = c.dashboard.tls ? await readTls(c.dashboard.tls) : undefined;
        await Deno.mkdir(o.stateDir, { recursive: true });
        const transport = deps.transport(c);
        const fleet = new ClusterFleet(dashboardFleetOptions(c, transport, o));
        const server = serveDashboard({
          port,
          hostname: host,
          ...(tls ? { tls } : {}),
          insecure: o.insecure ?? false,
          deps: {
            reader: fleet,
            actions: fleet,
            audit: new FileAuditLog(`${o.stateDir}/audit.jsonl`),
            operators,
          },
          onListen: (url) => io.out(`dashboard for ${c.cluster} on ${url}`),
        });
        await new Promise<void>((resolve) => {
          for (const sig of ["SIGINT", "SIGTERM"] as const) {
            Deno.addSignalListener(sig, () => resolve());
          }
        });
        await server.shutdown();
        await transport.close();
      },
    );
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const program = buildCli(deps);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === "string" && ce.code.startsWith("commander.")) {
      return ce.code === "commander.helpDisplayed" || ce.code === "commander.version" ? 0 : 2;
    }
    deps.io.err(errorText(e));
    return e instanceof CliError ? e.code : 1;
  }
}

if (import.meta.main) {
  const code = await runCli(Deno.args, {
    io: { out: (s) => console.log(s), err: (s) => console.error(s) },
    transport: () => new SshTransport(),
  });
  Deno.exit(code);
}
