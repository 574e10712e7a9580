/**
 * The cluster file (YAML): nodes, VIPs with their real servers and health checks, the rollout
 * policy and the dashboard. `parseClusterFile` reads it with positions and reports every problem
 * at once (file, line, column); nothing is pushed from a file with problems.
 *
 * @example
 * ```ts
 * const cluster = parseClusterFile(await Deno.readTextFile("fixtures/lab.yaml"), "lab.yaml");
 * cluster.vips[0].reals.length;
 * ```
 *
 * @module
 */
import { isScalar, LineCounter, type Node, parseDocument, YAMLMap } from "yaml";
import { isIpv4, parseCidr } from "../../routing/ipv4.ts";
import { type Problem, Reader } from "./_yaml_reader.ts";
import { vdevProblem } from "./vdev.ts";
import { readSyncBlock, type SecretFileReader, type SyncSpec } from "./sync_block.ts";
import {
  DEFAULT_AGENT_SOCKET,
  type Scheduler,
  SCHEDULERS,
  serviceKey,
  TIMEOUT_KEYS,
} from "../../dataplane/agent/api.ts";
import { errorText } from "../../routing/errors.ts";

/** A health check of a real server (seconds in the file). */
export interface CheckSpec {
  type: "tcp" | "http";
  path?: string;
  expect?: number;
  interval: number;
  timeout: number;
  rise: number;
  fall: number;
}

/** A real server of a VIP. */
export interface RealSpec {
  address: string;
  port: number;
  weight: number;
  check?: CheckSpec;
}

/** A virtual service. */
export interface VipSpec {
  address: string;
  port: number;
  protocol: "tcp" | "udp";
  scheduler: Scheduler;
  synproxy: boolean;
  toa: boolean;
  stripTimestamps: boolean;
  expireOnRealRemoval: boolean;
  timeouts: Record<string, number>;
  reals: RealSpec[];
}

/** One load-balancer node. */
export interface NodeSpec {
  name: string;
  /** Node address on the data segment (OSPF router id). */
  address: string;
  ssh: {
    host: string;
    port: number;
    user: string;
    key: string;
    hostKey?: string;
    knownHosts?: string;
  };
  agent: {
    /** The agent's control socket on the node. */
    socket: string;
    /** Directory holding `releases/` and the `current` link the supervisor runs. */
    root: string;
  };
  lips: string[];
  /**
   * The node that holds this node's sessions in full and takes its LIPs over when it is lost.
   * Default: the next node in the file (the first for the last).
   */
  standby?: string;
  ospf: {
    area: number;
    interface: string;
    cost: number;
    hello: number;
    dead: number;
    bfd: boolean;
  };
  dataplane: {
    vdev: string;
    workers: number;
    lcores: string;
    portAddress: string;
    gateway?: string;
  };
}

/** The rolling upgrade policy. */
export interface RolloutPolicy {
  /** Nodes upgraded at once. */
  batch: number;
  /** Seconds to wait for sessions to fall below the threshold after a drain. */
  drainTimeout: number;
  sessionThreshold: number;
  /** Seconds the health gate may take. */
  healthGateTimeout: number;
}

/** How `lvsctl deploy` guards a push. */
export interface DeployPolicy {
  /**
   * The largest share (0..1) of a node's VIPs, or of its real servers, one push may remove;
   * a push removing more is refused unless `--allow-deletions` is given. Default 0.5.
   */
  maxDeletionShare: number;
}

/** The default `deploy:` block. */
const DEFAULT_DEPLOY_POLICY: DeployPolicy = { maxDeletionShare: 0.5 };

/** A parsed, valid cluster file. */
export interface ClusterFile {
  cluster: string;
  nodes: NodeSpec[];
  vips: VipSpec[];
  rollout: RolloutPolicy;
  deploy: DeployPolicy;
  dashboard: DashboardSpec;
  /** Session sync between the nodes; absent: off (see `sync_block.ts`). */
  sync?: SyncSpec;
}

/** The dashboard's listener and what it offers. */
export interface DashboardSpec {
  /** `host:port`. */
  listen: string;
  /** PEM files of the certificate (chain) and its private key: the dashboard serves HTTPS. */
  tls?: { cert: string; key: string };
  /** The directory whose release tarballs the dashboard offers (none: it starts no rollout). */
  releases?: string;
}

/** How `parseClusterFile` reaches what the file points at. */
export interface ParseOptions {
  /** Reads `sync.secretFile` (`loadClusterFile` reads it from disk). */
  readSecretFile?: SecretFileReader;
}

export type { Problem, SecretFileReader, SyncSpec };

/** A cluster file with problems: all of them, with positions. */
export class ClusterFileError extends Error {
  override name = "ClusterFileError";
  constructor(readonly file: string, readonly problems: Problem[], options?: ErrorOptions) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${file}:${p.line}:${p.column}: ${p.message}`).join("\n"),
      options,
    );
  }
}

function readCheck(r: Reader, node: Node, what: string): CheckSpec | undefined {
  const m = r.map(node, what, ["type", "path", "expect", "interval", "timeout", "rise", "fall"]);
  if (!m) return undefined;
  const type = r.str(m, "type", what);
  if (type !== undefined && type !== "tcp" && type !== "http") {
    r.at(r.field(m, "type"), `${what}: "type" must be tcp or http, got ${JSON.stringify(type)}`);
  }
  const path = r.str(m, "path", what, { optional: type !== "http" });
  if (path !== undefined && !path.startsWith("/")) {
    r.at(r.field(m, "path"), `${what}: "path" must start with /`);
  }
  const expect = r.num(m, "expect", what, 100, 599, 200);
  const interval = r.num(m, "interval", what, 1, 3600, 2);
  const timeout = r.num(m, "timeout", what, 1, 3600, 1);
  const rise = r.num(m, "rise", what, 1, 100, 2);
  const fall = r.num(m, "fall", what, 1, 100, 3);
  if (interval !== undefined && timeout !== undefined && timeout > interval) {
    r.at(
      r.field(m, "timeout") ?? m,
      `${what}: "timeout" ${timeout} must not exceed "interval" ${interval}`,
    );
  }
  if (
    (type !== "tcp" && type !== "http") || interval === undefined || timeout === undefined ||
    rise === undefined || fall === undefined
  ) return undefined;
  return {
    type,
    ...(type === "http" ? { path: path ?? "/", expect: expect ?? 200 } : {}),
    interval,
    timeout,
    rise,
    fall,
  };
}

function readVip(r: Reader, node: Node, i: number): VipSpec | undefined {
  const what = `vips[${i}]`;
  const m = r.map(node, what, [
    "address",
    "port",
    "protocol",
    "scheduler",
    "synproxy",
    "toa",
    "stripTimestamps",
    "expireOnRealRemoval",
    "timeouts",
    "reals",
  ]);
  if (!m) return undefined;
  const address = r.addr(m, "address", what);
  const port = r.num(m, "port", what, 1, 65535);
  const protocol = r.str(m, "protocol", what, { optional: true }) ?? "tcp";
  if (protocol !== "tcp" && protocol !== "udp") {
    r.at(
      r.field(m, "protocol"),
      `${what}: "protocol" must be tcp or udp, got ${JSON.stringify(protocol)}`,
    );
  }
  const scheduler = r.str(m, "scheduler", what, { optional: true }) ?? "wrr";
  if (!SCHEDULERS.includes(scheduler as Scheduler)) {
    r.at(
      r.field(m, "scheduler"),
      `${what}: "scheduler" must be one of ${SCHEDULERS.join(", ")}, got ${
        JSON.stringify(scheduler)
      }`,
    );
  }
  const synproxy = r.bool(m, "synproxy", what, false);
  if (synproxy && protocol === "udp") r.at(r.field(m, "synproxy"), `${what}: synproxy needs tcp`);
  const toa = r.bool(m, "toa", what, protocol === "tcp");
  const stripTimestamps = r.bool(m, "stripTimestamps", what, true);
  const expireOnRealRemoval = r.bool(m, "expireOnRealRemoval", what, false);
  const timeouts: Record<string, number> = {};
  const tnode = r.field(m, "timeouts");
  if (tnode !== null) {
    const tm = r.map(tnode, `${what}.timeouts`, [...TIMEOUT_KEYS]);
    if (tm) {
      for (const k of TIMEOUT_KEYS) {
        if (tm.has(k)) {
          const v = r.num(tm, k, `${what}.timeouts`, 1, 20 * 24 * 3600);
          if (v !== undefined) timeouts[k] = v;
        }
      }
    }
  }
  const reals: RealSpec[] = [];
  const seen = new Set<string>();
  r.seq(m, "reals", what).forEach((rn, j) => {
    const rw = `${what}.reals[${j}]`;
    const rm = r.map(rn, rw, ["address", "port", "weight", "check"]);
    if (!rm) return;
    const ra = r.addr(rm, "address", rw);
    const rp = r.num(rm, "port", rw, 1, 65535, port);
    const weight = r.num(rm, "weight", rw, 0, 65535, 1);
    const cn = r.field(rm, "check");
    const check = cn === null ? undefined : readCheck(r, cn, `${rw}.check`);
    if (ra === undefined || rp === undefined || weight === undefined) return;
    const key = `${ra}:${rp}`;
    if (seen.has(key)) r.at(rn, `${rw}: real server ${key} is listed twice`);
    seen.add(key);
    reals.push({ address: ra, port: rp, weight, ...(check ? { check } : {}) });
  });
  if (address === undefined || port === undefined) return undefined;
  return {
    address,
    port,
    protocol: protocol as "tcp" | "udp",
    scheduler: scheduler as Scheduler,
    synproxy,
    toa,
    stripTimestamps,
    expireOnRealRemoval,
    timeouts,
    reals,
  };
}

/** Node settings that a `defaults:` block may give and each node may override key by key. */
const NODE_SECTIONS = {
  ssh: ["host", "port", "user", "key", "hostKey", "knownHosts"],
  agent: ["socket", "root"],
  ospf: ["area", "interface", "cost", "hello", "dead", "bfd"],
  dataplane: ["vdev", "workers", "lcores", "portAddress", "gateway"],
} as const;
type NodeSection = keyof typeof NODE_SECTIONS;

/** The `defaults:` block: one mapping per node section, already checked for unknown keys. */
type NodeDefaults = Partial<Record<NodeSection, YAMLMap>>;

/** Placeholder replaced by the node's name in the agent's paths (`/run/{node}/agent.sock`). */
const NODE_NAME_PLACEHOLDER = "{node}";

function readDefaults(r: Reader, top: YAMLMap): NodeDefaults {
  const n = r.field(top, "defaults");
  if (n === null) return {};
  const m = r.map(n, "defaults", Object.keys(NODE_SECTIONS));
  if (!m) return {};
  const out: NodeDefaults = {};
  for (
    const [section, keys] of Object.entries(NODE_SECTIONS) as [NodeSection, readonly string[]][]
  ) {
    const sn = r.field(m, section);
    if (sn === null) continue;
    const sm = r.map(sn, `defaults.${section}`, [...keys]);
    if (sm) out[section] = sm;
  }
  return out;
}

/**
 * A node's section with the defaults underneath: the node's own pairs win key by key, and every
 * pair keeps its YAML node, so a problem points at the line that holds the value (in the node or
 * in the defaults). Null, with "is required" recorded, when neither gives the section.
 */
function section(
  r: Reader,
  node: YAMLMap,
  name: NodeSection,
  what: string,
  defaults: NodeDefaults,
  opt?: { optional?: boolean },
): YAMLMap | null {
  const own = r.field(node, name);
  const dflt = defaults[name];
  if (own === null && !dflt) {
    if (!opt?.optional) r.at(node, `${what}: "${name}" is required`);
    return null;
  }
  const mine = own === null ? null : r.map(own, `${what}.${name}`, [...NODE_SECTIONS[name]]);
  if (own !== null && !mine) return null;
  if (!dflt) return mine;
  const merged = new YAMLMap();
  const has = (k: unknown) => mine?.items.some((i) => isScalar(i.key) && i.key.value === k);
  for (const item of dflt.items) {
    if (!has(isScalar(item.key) ? item.key.value : "")) merged.items.push(item);
  }
  if (mine) merged.items.push(...mine.items);
  merged.range = (mine ?? node).range ?? null;
  return merged;
}

/** What the cross-node checks need, read even when the node itself has problems. */
interface NodeIdentity {
  name?: { value: string; node: Node };
  standby?: { value: string; node: Node };
  lips: { value: string; node: Node }[];
}

/** One entry of `nodes:`: its spec when it is valid, and what the cross-node checks need always. */
function readNode(
  r: Reader,
  node: Node,
  i: number,
  defaults: NodeDefaults,
): { spec?: NodeSpec; id: NodeIdentity } {
  const what = `nodes[${i}]`;
  const id: NodeIdentity = { lips: [] };
  const m = r.map(node, what, [
    "name",
    "address",
    "ssh",
    "agent",
    "lips",
    "standby",
    "ospf",
    "dataplane",
  ]);
  if (!m) return { id };
  const name = readNodeName(r, m, what, id);
  const w = name ? `node ${name}` : what;
  const address = r.addr(m, "address", w);
  const ssh = readSsh(r, section(r, m, "ssh", w, defaults), w);
  const agent = readAgent(r, section(r, m, "agent", w, defaults, { optional: true }), w, name);
  const lips = readLips(r, m, w, id);
  const ospf = readOspf(r, section(r, m, "ospf", w, defaults), w);
  const dataplane = readDataplane(r, section(r, m, "dataplane", w, defaults), w);
  if (!name || !address || !ssh || !ospf || !dataplane) return { id };
  const standby = r.str(m, "standby", w, { optional: true });
  if (standby !== undefined) id.standby = { value: standby, node: r.field(m, "standby")! };
  return {
    spec: { name, address, ssh, agent, lips, ospf, dataplane, ...(standby ? { standby } : {}) },
    id,
  };
}

/** The node's name (lower-case letters, digits and -), recorded in `id` for the cross-node checks. */
function readNodeName(r: Reader, m: YAMLMap, what: string, id: NodeIdentity): string | undefined {
  const name = r.str(m, "name", what);
  if (name !== undefined && !/^[a-z][a-z0-9-]{0,31}$/.test(name)) {
    r.at(
      r.field(m, "name"),
      `${what}: name ${JSON.stringify(name)} must be lower-case letters, digits and - (max 32)`,
    );
  }
  if (name !== undefined) id.name = { value: name, node: r.field(m, "name")! };
  return name;
}

/** The node's LIPs (at least one, each IPv4), recorded in `id` for the cross-node checks. */
function readLips(r: Reader, m: YAMLMap, w: string, id: NodeIdentity): string[] {
  const lips: string[] = [];
  r.seq(m, "lips", w).forEach((ln) => {
    const v = isScalar(ln) ? ln.value : undefined;
    if (typeof v === "string" && isIpv4(v)) {
      lips.push(v);
      id.lips.push({ value: v, node: ln });
    } else r.at(ln, `${w}.lips: ${JSON.stringify(v)} is not an IPv4 address`);
  });
  if (lips.length === 0 && r.field(m, "lips") !== null) {
    r.at(r.field(m, "lips"), `${w}: at least one LIP`);
  }
  return lips;
}

function readSsh(r: Reader, sm: YAMLMap | null, w: string): NodeSpec["ssh"] | undefined {
  if (!sm) return undefined;
  const host = r.str(sm, "host", `${w}.ssh`);
  const port = r.num(sm, "port", `${w}.ssh`, 1, 65535, 22);
  const user = r.str(sm, "user", `${w}.ssh`, { optional: true }) ?? "root";
  const key = r.str(sm, "key", `${w}.ssh`);
  const hostKey = r.str(sm, "hostKey", `${w}.ssh`, { optional: true });
  const knownHosts = r.str(sm, "knownHosts", `${w}.ssh`, { optional: true });
  if (hostKey === undefined && knownHosts === undefined) {
    r.at(
      sm,
      `${w}.ssh: a pinned "hostKey" or a "knownHosts" file is required (unknown host keys are refused)`,
    );
  }
  if (
    hostKey !== undefined &&
    !/^(ssh-ed25519|ecdsa-sha2-\S+|ssh-rsa) [A-Za-z0-9+/=]+$/.test(hostKey)
  ) {
    r.at(r.field(sm, "hostKey"), `${w}.ssh: "hostKey" must be "<type> <base64>"`);
  }
  if (!host || !key || port === undefined) return undefined;
  return {
    host,
    port,
    user,
    key,
    ...(hostKey ? { hostKey } : {}),
    ...(knownHosts ? { knownHosts } : {}),
  };
}

function readAgent(
  r: Reader,
  am: YAMLMap | null,
  w: string,
  name: string | undefined,
): NodeSpec["agent"] {
  const agent = { socket: DEFAULT_AGENT_SOCKET, root: "/var/lib/lvs-agent" };
  if (!am) return agent;
  for (const k of ["socket", "root"] as const) {
    const v = r.str(am, k, `${w}.agent`, { optional: true });
    if (v === undefined) continue;
    if (!v.startsWith("/")) r.at(r.field(am, k), `${w}.agent: "${k}" must be absolute`);
    agent[k] = v.replaceAll(NODE_NAME_PLACEHOLDER, name ?? "");
  }
  return agent;
}

function readOspf(r: Reader, om: YAMLMap | null, w: string): NodeSpec["ospf"] | undefined {
  if (!om) return undefined;
  const area = r.num(om, "area", `${w}.ospf`, 0, 4294967295, 0);
  const iface = r.str(om, "interface", `${w}.ospf`);
  const cost = r.num(om, "cost", `${w}.ospf`, 1, 65535, 10);
  const hello = r.num(om, "hello", `${w}.ospf`, 1, 65535, 10);
  const dead = r.num(om, "dead", `${w}.ospf`, 2, 65535, 40);
  if (hello !== undefined && dead !== undefined && dead <= hello) {
    r.at(r.field(om, "dead") ?? om, `${w}.ospf: "dead" must exceed "hello"`);
  }
  const bfd = r.bool(om, "bfd", `${w}.ospf`, false);
  if (
    area === undefined || !iface || cost === undefined || hello === undefined || dead === undefined
  ) return undefined;
  return { area, interface: iface, cost, hello, dead, bfd };
}

function readDataplane(
  r: Reader,
  dm: YAMLMap | null,
  w: string,
): NodeSpec["dataplane"] | undefined {
  if (!dm) return undefined;
  const vdev = r.str(dm, "vdev", `${w}.dataplane`);
  const workers = r.num(dm, "workers", `${w}.dataplane`, 1, 16, 1);
  const lcores = r.str(dm, "lcores", `${w}.dataplane`, { optional: true }) ?? `0-${workers ?? 1}`;
  const portAddress = r.str(dm, "portAddress", `${w}.dataplane`);
  if (portAddress !== undefined && parseCidr(portAddress) === null) {
    r.at(
      r.field(dm, "portAddress"),
      `${w}.dataplane: "portAddress" ${JSON.stringify(portAddress)} is not address/prefix`,
    );
  }
  const gateway = r.addr(dm, "gateway", `${w}.dataplane`, { optional: true });
  const vdevWhy = vdev === undefined ? undefined : vdevProblem(vdev);
  if (vdevWhy) {
    r.at(r.field(dm, "vdev"), `${w}.dataplane: "vdev" ${vdevWhy}`);
    return undefined;
  }
  if (!vdev || workers === undefined || !portAddress) return undefined;
  return { vdev, workers, lcores, portAddress, ...(gateway ? { gateway } : {}) };
}

/** Across nodes: names, addresses of LIPs unique; each LIP listed once. Read from every node. */
function checkNodeIdentities(r: Reader, ids: NodeIdentity[]): Map<string, string> {
  const names = new Set<string>();
  const lipOwner = new Map<string, string>();
  ids.forEach((id, i) => {
    const who = id.name ? `node ${id.name.value}` : `nodes[${i}]`;
    if (id.name) {
      if (names.has(id.name.value)) {
        r.at(id.name.node, `nodes[${i}]: node name "${id.name.value}" is used twice`);
      }
      names.add(id.name.value);
    }
    const mine = new Set<string>();
    for (const lip of id.lips) {
      const other = lipOwner.get(lip.value);
      if (mine.has(lip.value)) r.at(lip.node, `${who}: LIP ${lip.value} is listed twice`);
      else if (other !== undefined) {
        r.at(lip.node, `${who}: LIP ${lip.value} is also ${other}'s (LIPs must not overlap)`);
      }
      mine.add(lip.value);
      if (other === undefined) lipOwner.set(lip.value, who);
    }
  });
  return lipOwner;
}

function readDeploy(r: Reader, top: YAMLMap): DeployPolicy {
  const n = r.field(top, "deploy");
  if (n === null) return { ...DEFAULT_DEPLOY_POLICY };
  const m = r.map(n, "deploy", ["maxDeletionShare"]);
  if (!m) return { ...DEFAULT_DEPLOY_POLICY };
  const share = r.fraction(
    m,
    "maxDeletionShare",
    "deploy",
    0,
    1,
    DEFAULT_DEPLOY_POLICY.maxDeletionShare,
  );
  return { maxDeletionShare: share ?? DEFAULT_DEPLOY_POLICY.maxDeletionShare };
}

/**
 * The `nodes:` list (with the `defaults:` block underneath): the valid nodes, how many entries
 * the list has (valid or not), and each LIP's owner; names and LIPs are checked across nodes, and each `standby`
 * must name another node.
 */
function readNodes(
  r: Reader,
  top: YAMLMap,
): { nodes: NodeSpec[]; entries: number; lipOwner: Map<string, string> } {
  const defaults = readDefaults(r, top);
  const nodes: NodeSpec[] = [];
  const ids: NodeIdentity[] = [];
  const nodeNodes = r.seq(top, "nodes", "the file");
  nodeNodes.forEach((n, i) => {
    const { spec, id } = readNode(r, n, i, defaults);
    ids.push(id);
    if (spec) nodes.push(spec);
  });
  if (nodeNodes.length === 0 && top.has("nodes")) {
    r.at(r.field(top, "nodes"), "at least one node is required");
  }
  const lipOwner = checkNodeIdentities(r, ids);
  checkStandbys(r, ids);
  return { nodes, entries: nodeNodes.length, lipOwner };
}

/** Each node's `standby` names another node of the file. */
function checkStandbys(r: Reader, ids: NodeIdentity[]): void {
  for (const id of ids) {
    if (!id.standby) continue;
    const who = id.name ? `node ${id.name.value}` : "a node";
    if (id.standby.value === id.name?.value) {
      r.at(id.standby.node, `${who}: "standby" must name another node, not itself`);
    } else if (!ids.some((o) => o.name?.value === id.standby!.value)) {
      r.at(id.standby.node, `${who}: "standby" ${JSON.stringify(id.standby.value)} is not a node`);
    }
  }
}

/** The `vips:` list: each service once, no VIP that is also a LIP. */
function readVips(r: Reader, top: YAMLMap, lipOwner: Map<string, string>): VipSpec[] {
  const vips: VipSpec[] = [];
  const vipNodes = r.seq(top, "vips", "the file");
  const keys = new Set<string>();
  vipNodes.forEach((n, i) => {
    const v = readVip(r, n, i);
    if (!v) return;
    const key = serviceKey({ vip: v.address, port: v.port, protocol: v.protocol });
    if (keys.has(key)) r.at(n, `vips[${i}]: VIP ${key} is defined twice`);
    keys.add(key);
    if (lipOwner.has(v.address)) {
      r.at(n, `vips[${i}]: VIP ${v.address} is also a LIP of ${lipOwner.get(v.address)}`);
    }
    vips.push(v);
  });
  return vips;
}

/** The `rollout:` policy, defaults filled in; `batch` at most `validNodes`. */
function readRollout(r: Reader, top: YAMLMap, validNodes: number): RolloutPolicy {
  let rollout: RolloutPolicy = {
    batch: 1,
    drainTimeout: 60,
    sessionThreshold: 0,
    healthGateTimeout: 120,
  };
  const rn = r.field(top, "rollout");
  if (rn !== null) {
    const rm = r.map(rn, "rollout", [
      "batch",
      "drainTimeout",
      "sessionThreshold",
      "healthGateTimeout",
    ]);
    if (rm) {
      rollout = {
        batch: r.num(rm, "batch", "rollout", 1, Math.max(1, validNodes), 1) ?? 1,
        drainTimeout: r.num(rm, "drainTimeout", "rollout", 0, 86400, 60) ?? 60,
        sessionThreshold: r.num(rm, "sessionThreshold", "rollout", 0, 1e9, 0) ?? 0,
        healthGateTimeout: r.num(rm, "healthGateTimeout", "rollout", 1, 86400, 120) ?? 120,
      };
    }
  }
  return rollout;
}

/** The `dashboard:` block: where it listens, its TLS files, the releases it offers. */
function readDashboard(r: Reader, top: YAMLMap): DashboardSpec {
  let dashboard: DashboardSpec = { listen: "127.0.0.1:8080" };
  const dn = r.field(top, "dashboard");
  if (dn !== null) {
    const dm = r.map(dn, "dashboard", ["listen", "tls", "releases"]);
    if (dm) {
      const listen = r.str(dm, "listen", "dashboard", { optional: true }) ?? dashboard.listen;
      if (!/^[^:]+:\d+$/.test(listen)) {
        r.at(r.field(dm, "listen"), `dashboard: "listen" must be host:port`);
      }
      dashboard = { listen };
      const releases = r.str(dm, "releases", "dashboard", { optional: true });
      if (releases !== undefined && !releases.startsWith("/")) {
        r.at(
          r.field(dm, "releases"),
          `dashboard: "releases" must be an absolute directory path, got "${releases}"`,
        );
      } else if (releases !== undefined) dashboard.releases = releases;
      const tn = r.field(dm, "tls");
      const tm = tn === null ? null : r.map(tn, "dashboard.tls", ["cert", "key"]);
      if (tm) {
        const cert = r.str(tm, "cert", "dashboard.tls");
        const key = r.str(tm, "key", "dashboard.tls");
        if (cert !== undefined && key !== undefined) dashboard.tls = { cert, key };
      }
    }
  }
  return dashboard;
}

/**
 * Parses and validates a cluster file. Throws `ClusterFileError` with every problem found
 * (syntax errors included), each with its line and column.
 */
export function parseClusterFile(
  text: string,
  file = "cluster.yaml",
  opts: ParseOptions = {},
): ClusterFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const r = new Reader(lc);
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    r.problems.push({ line: pos.line, column: pos.col, message: e.message.split("\n")[0]! });
  }
  if (doc.errors.length > 0) throw new ClusterFileError(file, r.problems);
  const top = r.map(doc.contents as Node, "the file", [
    "cluster",
    "defaults",
    "nodes",
    "vips",
    "rollout",
    "deploy",
    "dashboard",
    "sync",
  ]);
  if (!top) throw new ClusterFileError(file, r.problems);
  const cluster = r.str(top, "cluster", "the file", { optional: true }) ?? "cluster";

  const { nodes, entries, lipOwner } = readNodes(r, top);
  const vips = readVips(r, top, lipOwner);
  const rollout = readRollout(r, top, nodes.length);
  const deploy = readDeploy(r, top);
  const dashboard = readDashboard(r, top);
  const sync = readSyncBlock(r, top, entries, opts.readSecretFile);
  if (r.problems.length > 0) throw new ClusterFileError(file, r.problems);
  return { cluster, nodes, vips, rollout, deploy, dashboard, ...(sync ? { sync } : {}) };
}

/**
 * Reads and parses a cluster file from disk; a relative `sync.secretFile` is found beside it.
 */
export async function loadClusterFile(path: string): Promise<ClusterFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ClusterFileError(path, [{
      line: 0,
      column: 0,
      message: `cannot read: ${errorText(e)}`,
    }], {
      cause: e,
    });
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  return parseClusterFile(text, path, {
    readSecretFile: (p) => Deno.readTextFileSync(p.startsWith("/") ? p : `${dir}${p}`),
  });
}
