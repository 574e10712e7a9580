/**
 * The network-namespace lab (adapter): builds the model of `lab_topology.ts` on this machine,
 * starts BIRD in the router and every node, reports status, drains nodes, and tears everything
 * down idempotently (also after a crash: by prefix, pid files and `ip netns pids`).
 *
 * @module
 */
import { NODE_OSPF_PROTOCOL, renderNodeConfig, renderRouterConfig } from "../../routing/render.ts";
import { withBird } from "../../routing/bird/bird_client.ts";
import { safeReconfigure } from "../../routing/bird/reconfigure.ts";
import {
  announcedOf,
  parseOspfNeighbors,
  parseOspfState,
  parseRoutes,
  type RouteNextHop,
} from "../../routing/parse_show.ts";
import { BirdError } from "../../routing/bird_reply.ts";
import {
  buildLabModel,
  type LabBird,
  labCommands,
  type LabModel,
  type LabOverrides,
  parseLabTopology,
} from "./topology.ts";
import {
  type Host,
  listNamespaces,
  must,
  namespacePids,
  processAlive,
  RealHost,
  signal,
} from "./netns.ts";
import { pollUntil } from "../../routing/poll.ts";

export {
  findLabNode,
  inNamespace,
  type LabAddress,
  labClientEndpoints,
  type LabHostEndpoints,
  type LabNodeEndpoints,
  labNodeEndpoints,
  labRealServerEndpoints,
  type LabRouterEndpoints,
  labRouterEndpoints,
  labStateDir,
  managementConflict,
  type RootAddress,
} from "./endpoints.ts";
import { findLabNode, labStateDir, managementConflict, type RootAddress } from "./endpoints.ts";
import { errorText } from "../../routing/errors.ts";

/** A lab cannot be built or changed as asked (the message says what and why). */
export class LabError extends Error {
  override name = "LabError";
}

/** The default topology file. */
export const DEFAULT_TOPOLOGY =
  new URL("../../fixtures/lab-topology.yaml", import.meta.url).pathname;

/** Reads the topology file and builds the model with overrides. */
export async function loadLabModel(
  overrides: LabOverrides = {},
  file = DEFAULT_TOPOLOGY,
): Promise<LabModel> {
  return buildLabModel(parseLabTopology(await Deno.readTextFile(file), file), overrides);
}

/** Progress messages (stderr in the CLI, silent in tests). */
export type Log = (msg: string) => void;

/** Options shared by the lab operations. */
export interface LabOptions {
  host?: Host;
  log?: Log;
}

function modelFile(stateDir: string): string {
  return `${stateDir}/lab.json`;
}

/** Reads the model a running lab was built from, or null. */
export async function readLabModel(prefix: string, stateRoot: string): Promise<LabModel | null> {
  try {
    return JSON.parse(
      await Deno.readTextFile(modelFile(labStateDir(prefix, stateRoot))),
    ) as LabModel;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Starts BIRD in a namespace and waits until its control socket answers. */
export async function startBird(host: Host, ns: string, bird: LabBird): Promise<void> {
  await Deno.remove(bird.socket).catch(() => {});
  await must(host, [
    "ip",
    "netns",
    "exec",
    ns,
    "bird",
    "-c",
    bird.config,
    "-s",
    bird.socket,
    "-P",
    bird.pidFile,
  ]);
  const ok = await pollUntil(async () => {
    try {
      return await withBird(bird.socket, () => Promise.resolve(true), { timeoutMs: 500 });
    } catch {
      return null;
    }
  }, 10_000);
  if (!ok) {
    throw new Error(
      `Cannot start BIRD in ${ns}: its socket ${bird.socket} did not answer within 10 s`,
    );
  }
}

/** Whether a live process has `marker` on its command line. */
async function cmdlineHas(pid: number, marker: string): Promise<boolean> {
  try {
    return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).includes(marker);
  } catch {
    return false;
  }
}

/** The pid in a pid file if that process still runs with our config path on its command line. */
async function ownPid(pidFile: string, marker: string): Promise<number | null> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(pidFile)).trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    return cmdline.includes(marker) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Builds the lab: removes leftovers of the same prefix, creates namespaces, links, addresses,
 * routes and sysctls, writes BIRD configs and starts BIRD in the router and every node. On any
 * failure everything built so far is torn down before the error is rethrown.
 */
export async function labUp(model: LabModel, opts: LabOptions = {}): Promise<LabModel> {
  const host = opts.host ?? new RealHost();
  const log = opts.log ?? (() => {});
  const root = model.stateDir.slice(0, -model.prefix.length - 1);
  await labDown(model.prefix, root, opts);
  if (model.management) {
    const out = await must(host, ["ip", "-j", "-4", "addr", "show"]);
    const addrs = (JSON.parse(out || "[]") as Array<{
      ifname: string;
      addr_info?: Array<{ local: string; prefixlen: number }>;
    }>).flatMap((i) =>
      (i.addr_info ?? []).map((a): RootAddress => ({
        ifname: i.ifname,
        local: a.local,
        prefixlen: a.prefixlen,
      }))
    );
    const conflict = managementConflict(model, addrs);
    if (conflict) throw new LabError(conflict);
  }
  try {
    for (const ns of model.namespaces) await Deno.mkdir(ns.stateDir, { recursive: true });
    await Deno.writeTextFile(modelFile(model.stateDir), JSON.stringify(model, null, 2) + "\n");
    log(`creating ${model.namespaces.length} namespaces with prefix ${model.prefix}`);
    for (const argv of labCommands(model)) await must(host, argv);
    await Deno.writeTextFile(model.router.bird.config, renderRouterConfig(model.router.routing));
    for (const n of model.nodes) {
      await Deno.writeTextFile(n.bird.config, renderNodeConfig(n.routing));
    }
    log("starting BIRD in the router and the nodes");
    await startBird(host, model.router.namespace, model.router.bird);
    await Promise.all(model.nodes.map((n) => startBird(host, n.namespace, n.bird)));
    return model;
  } catch (e) {
    await labDown(model.prefix, root, opts).catch(() => {});
    throw e;
  }
}

/** What `labDown` removed. */
export interface TeardownReport {
  namespaces: string[];
  killed: number[];
  removedDir: boolean;
}

/**
 * Tears down everything of a prefix: BIRD by pid file, every process left in the prefix's
 * namespaces, the namespaces, the management link and the state directory. Idempotent.
 */
export async function labDown(
  prefix: string,
  stateRoot: string,
  opts: LabOptions = {},
): Promise<TeardownReport> {
  const host = opts.host ?? new RealHost();
  const log = opts.log ?? (() => {});
  const dir = labStateDir(prefix, stateRoot);
  const killed: number[] = [];
  // 1. Daemons by pid file (they may run in a namespace that is already gone).
  const daemons: number[] = [];
  for await (const pidFile of findPidFiles(dir)) {
    const pid = await ownPid(pidFile, dir);
    if (pid !== null) daemons.push(pid);
  }
  // 2. Anything else inside the namespaces (sshd, agents, data planes, real servers, strays of
  //    a crashed test). Re-listed until nothing is left, so a child that a supervisor respawns
  //    after the first signal is caught too: SIGTERM first, SIGKILL after 3 s. Only processes
  //    still inside a lab namespace, or still carrying the lab's directory on their command
  //    line, are signalled (never a recycled pid).
  const namespaces = await listNamespaces(host, prefix);
  const ours = async (): Promise<number[]> => {
    const pids = (await Promise.all(namespaces.map((ns) => namespacePids(host, ns)))).flat();
    for (const pid of daemons) if (await cmdlineHas(pid, dir)) pids.push(pid);
    return [...new Set(pids)].filter(processAlive);
  };
  const termEnd = performance.now() + 3000, killEnd = termEnd + 5000;
  for (;;) {
    const left = await ours();
    if (left.length === 0) break;
    const now = performance.now();
    if (now >= killEnd) {
      log(`warning: processes ${left.join(" ")} survive SIGKILL; removing namespaces anyway`);
      break;
    }
    for (const pid of left) {
      const fresh = !killed.includes(pid);
      if (fresh) killed.push(pid);
      if (now >= termEnd) signal(pid, "SIGKILL");
      else if (fresh) signal(pid, "SIGTERM");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // 3. Namespaces (their veths go with them), then the root-side management link if left.
  for (const ns of namespaces) await host.run(["ip", "netns", "del", ns]);
  const mgmt = `${prefix}mgmt`;
  if ((await host.run(["ip", "link", "show", "dev", mgmt])).code === 0) {
    await host.run(["ip", "link", "del", "dev", mgmt]);
  }
  // 4. Files.
  let removedDir = false;
  try {
    await Deno.remove(dir, { recursive: true });
    removedDir = true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { namespaces, killed, removedDir };
}

async function* findPidFiles(dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* findPidFiles(p);
    else if (e.isFile && e.name.endsWith(".pid")) yield p;
  }
}

/** One next hop of the router's route to a VIP. */
export interface NextHop {
  gateway: string;
  interface: string;
}

/** The router's next hops for a /32 as BIRD has them (empty when there is no route). */
export async function birdNextHops(model: LabModel, address: string): Promise<NextHop[]> {
  try {
    const reply = await withBird(
      model.router.bird.socket,
      (b) => b.command(`show route ${address}/32`),
    );
    const routes = parseRoutes(reply);
    const best = routes.find((r) => r.primary) ?? routes[0];
    return (best?.nextHops ?? []).filter((h): h is RouteNextHop & { gateway: string } =>
      !!h.gateway
    )
      .map((h) => ({ gateway: h.gateway, interface: h.interface }));
  } catch (e) {
    if (e instanceof BirdError && e.code === 8001) return []; // Network not found
    throw e;
  }
}

/** The router's next hops for a /32 in the kernel (`ip -j route`). */
export async function kernelNextHops(
  model: LabModel,
  address: string,
  host: Host = new RealHost(),
): Promise<NextHop[]> {
  const out = await must(host, [
    "ip",
    "-n",
    model.router.namespace,
    "-j",
    "route",
    "show",
    `${address}/32`,
  ]);
  const routes = JSON.parse(out || "[]") as Array<{
    gateway?: string;
    dev?: string;
    nexthops?: Array<{ gateway: string; dev: string }>;
  }>;
  const hops: NextHop[] = [];
  for (const r of routes) {
    if (r.nexthops) {
      for (const h of r.nexthops) hops.push({ gateway: h.gateway, interface: h.dev });
    } else if (r.gateway) hops.push({ gateway: r.gateway, interface: r.dev ?? "" });
  }
  return hops.sort((a, b) => a.gateway.localeCompare(b.gateway, "en", { numeric: true }));
}

/** Drains (withdraws the VIPs of) or undrains a node through a safe BIRD reconfigure. */
export async function setNodeDrained(
  model: LabModel,
  node: string,
  drained: boolean,
): Promise<void> {
  let n;
  try {
    n = findLabNode(model, node);
  } catch (e) {
    throw new RangeError(
      `Cannot ${drained ? "drain" : "undrain"} ${node}: ${errorText(e)}`,
      {
        cause: e,
      },
    );
  }
  const text = renderNodeConfig({ ...n.routing, drained });
  await withBird(n.bird.socket, (b) => safeReconfigure(b, { configPath: n.bird.config, text }));
}

/** Whether a node's current BIRD config has its VIPs withdrawn. */
async function nodeDrained(model: LabModel, node: string): Promise<boolean> {
  const n = model.nodes.find((x) => x.name === node);
  if (!n) return false;
  const text = await Deno.readTextFile(n.bird.config).catch(() => "");
  return text.includes("withdrawn (node drained)");
}

/** The stub networks a node's BIRD announces now (its own router LSA), or null if unreadable. */
async function nodeAnnounced(n: LabModel["nodes"][number]): Promise<string[] | null> {
  try {
    const reply = await withBird(
      n.bird.socket,
      (b) => b.command(`show ospf state ${NODE_OSPF_PROTOCOL}`),
      { timeoutMs: 2000 },
    );
    return announcedOf(parseOspfState(reply), n.address).sort();
  } catch {
    return null;
  }
}

/** Kills a node's BIRD with SIGKILL (a crash: no goodbye to its neighbours); idempotent. */
export async function killBird(bird: LabBird): Promise<void> {
  const pid = await ownPid(bird.pidFile, bird.config);
  if (pid === null) return;
  signal(pid, "SIGKILL");
  await pollUntil(() => (processAlive(pid) ? null : true), 2000);
}

/** Whether a BIRD started by the lab is running. */
async function birdRunning(bird: LabBird): Promise<boolean> {
  return (await ownPid(bird.pidFile, bird.config)) !== null;
}

/** The JSON `lab status` prints. */
export interface LabStatus {
  prefix: string;
  stateDir: string;
  /** Every namespace exists and the router's BIRD answers. */
  up: boolean;
  vips: string[];
  namespaces: Array<{
    name: string;
    role: string;
    index?: number;
    exists: boolean;
    interfaces: Array<{ name: string; addresses: string[] }>;
  }>;
  router: {
    namespace: string;
    address: string;
    clientAddress: string;
    bird: "running" | "stopped";
    neighbors: Array<{ routerId: string; state: string }>;
    /** Next hops per VIP as BIRD has them. */
    nextHops: Record<string, NextHop[]>;
    /** Next hops per VIP in the router's kernel FIB. */
    kernelNextHops: Record<string, NextHop[]>;
    error?: string;
  };
  nodes: Array<{
    name: string;
    namespace: string;
    address: string;
    uplink: string;
    lips: string[];
    mgmtAddress?: string;
    bird: "running" | "stopped";
    /** Stub networks (a.b.c.d/32) the node's BIRD announces now; absent when BIRD is down. */
    announced?: string[];
    /** None of the VIPs is announced (from BIRD; from its config file when BIRD is down). */
    drained: boolean;
  }>;
  realServers: LabModel["realServers"];
  client: LabModel["client"];
  management?: LabModel["management"];
}

/** Collects the lab's status (never throws for a missing or half-built lab). */
export async function labStatus(model: LabModel, host: Host = new RealHost()): Promise<LabStatus> {
  const existing = new Set(await listNamespaces(host, model.prefix));
  const routerUp = existing.has(model.router.namespace) && await birdRunning(model.router.bird);
  const router: LabStatus["router"] = {
    namespace: model.router.namespace,
    address: model.router.address,
    clientAddress: model.router.clientAddress,
    bird: routerUp ? "running" : "stopped",
    neighbors: [],
    nextHops: {},
    kernelNextHops: {},
  };
  if (routerUp) {
    try {
      const reply = await withBird(
        model.router.bird.socket,
        (b) => b.command("show ospf neighbors"),
      );
      router.neighbors = parseOspfNeighbors(reply).map((n) => ({
        routerId: n.routerId,
        state: n.state,
      }));
      for (const vip of model.vips) {
        router.nextHops[vip] = await birdNextHops(model, vip);
        router.kernelNextHops[vip] = await kernelNextHops(model, vip, host);
      }
    } catch (e) {
      router.error = errorText(e);
    }
  }
  return {
    prefix: model.prefix,
    stateDir: model.stateDir,
    up: model.namespaces.every((n) => existing.has(n.name)) && routerUp && !router.error,
    vips: model.vips,
    namespaces: model.namespaces.map((n) => ({
      name: n.name,
      role: n.role,
      ...(n.index !== undefined ? { index: n.index } : {}),
      exists: existing.has(n.name),
      interfaces: n.interfaces.map((i) => ({ name: i.name, addresses: i.addresses })),
    })),
    router,
    nodes: await Promise.all(model.nodes.map(async (n) => {
      const running = existing.has(n.namespace) && await birdRunning(n.bird);
      const announced = running ? await nodeAnnounced(n) : null;
      return {
        name: n.name,
        namespace: n.namespace,
        address: n.address,
        uplink: n.uplink,
        lips: n.lips,
        ...(n.mgmtAddress ? { mgmtAddress: n.mgmtAddress } : {}),
        bird: running ? "running" as const : "stopped" as const,
        ...(announced ? { announced } : {}),
        drained: announced
          ? !model.vips.some((v) => announced.includes(`${v}/32`))
          : await nodeDrained(model, n.name),
      };
    })),
    realServers: model.realServers,
    client: model.client,
    ...(model.management ? { management: model.management } : {}),
  };
}

/** Polls the router (BIRD and kernel) until a VIP has `count` next hops; returns them or null. */
export function waitForNextHops(
  model: LabModel,
  vip: string,
  count: number,
  timeoutMs: number,
  host: Host = new RealHost(),
): Promise<{ bird: NextHop[]; kernel: NextHop[] } | null> {
  return pollUntil(
    async () => {
      const bird = await birdNextHops(model, vip).catch(() => []);
      if (bird.length !== count) return null;
      const kernel = await kernelNextHops(model, vip, host).catch(() => []);
      return kernel.length === count ? { bird, kernel } : null;
    },
    timeoutMs,
    20,
  );
}
