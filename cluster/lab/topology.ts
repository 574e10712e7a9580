/**
 * The lab's declarative topology (`fixtures/lab-topology.yaml`) and the model built from it
 * (pure): every namespace with its role, interfaces, addresses, routes, sysctls and BIRD files,
 * plus the ordered host commands that create it.
 *
 * Later layers (sshd, lvs-agent, the data plane on a node's uplink, HTTP real servers) read
 * the same model: `LabNode.uplink` is the interface the data plane attaches to,
 * `LabNode.mgmtAddress` is where sshd listens, `LabNamespace.stateDir` holds per-namespace files.
 *
 * @module
 */
import { parse } from "yaml";
import type { NodeRouting, RouterRouting } from "../../routing/model.ts";
import { parseIpv4 } from "../../routing/ipv4.ts";
import {
  clientNamespace,
  labNames,
  labNode,
  labRealServer,
  managementHostSide,
  routerNamespace,
  routerRouting,
  switchNamespace,
} from "./_lab_model.ts";
import { errorText } from "../../routing/errors.ts";

/** The topology file, validated. */
export interface LabTopology {
  prefix: string;
  stateDir: string;
  segment: string;
  routerHost: number;
  nodeHostBase: number;
  realServerHostBase: number;
  clientNet: string;
  clientHost: number;
  nodes: number;
  realServers: number;
  vips: string[];
  lipBase: string;
  lipsPerNode: number;
  ospf: {
    area: number;
    hello: number;
    dead: number;
    cost: number;
    /** The router's DR wait on the segment (it is the only DR candidate); BIRD's default if absent. */
    routerWait?: number;
    /** Retransmit interval of every lab OSPF interface; BIRD's default (5 s) if absent. */
    retransmit?: number;
    bfd?: { intervalMs: number; multiplier: number };
  };
  management?: { subnet: string; hostHost: number; nodeHostBase: number };
}

/** Roles of lab namespaces. */
export type LabRole = "client" | "router" | "switch" | "node" | "realserver";

/** One interface inside a namespace. */
export interface LabInterface {
  name: string;
  /** Addresses with prefix length ("10.77.0.11/24"). */
  addresses: string[];
  /** The other end of a veth pair. */
  peer?: { namespace: string; name: string };
  /** Bridge this interface is a port of (switch namespace only). */
  bridge?: string;
  kind: "veth" | "bridge";
}

/** Files of a BIRD instance. */
export interface LabBird {
  config: string;
  socket: string;
  pidFile: string;
  logFile: string;
}

/** One namespace of the lab. */
export interface LabNamespace {
  name: string;
  role: LabRole;
  /** 1-based index for nodes and real servers. */
  index?: number;
  /** Directory for this namespace's files (configs, sockets, pids, logs). */
  stateDir: string;
  interfaces: LabInterface[];
  routes: Array<{ dst: string; via: string }>;
  sysctls: Array<[string, string]>;
  bird?: LabBird;
}

/** A load-balancer node. */
export interface LabNode {
  name: string;
  namespace: string;
  index: number;
  /** Node address on the shared segment (OSPF router id). */
  address: string;
  /** The uplink interface (OSPF, and later the data plane's port). */
  uplink: string;
  lips: string[];
  mgmtAddress?: string;
  bird: LabBird;
  /** The node's routing model, undrained. */
  routing: NodeRouting;
}

/** The whole lab. */
export interface LabModel {
  prefix: string;
  /** `<stateDir>/<prefix>`: everything the lab writes. */
  stateDir: string;
  vips: string[];
  segment: string;
  namespaces: LabNamespace[];
  client: { namespace: string; address: string; gateway: string };
  router: {
    namespace: string;
    address: string;
    clientAddress: string;
    bird: LabBird;
    routing: RouterRouting;
  };
  nodes: LabNode[];
  realServers: Array<{ name: string; namespace: string; index: number; address: string }>;
  management?: { hostInterface: string; hostAddress: string; subnet: string };
}

/** Lab namespace prefixes: lower-case letters and digits ending in "-", at most 11 characters. */
export const PREFIX_RULE = /^[a-z][a-z0-9]{0,9}-$/;

function net24(what: string, text: unknown, errors: string[]): number {
  const m = /^([\d.]+)\/24$/.exec(String(text));
  const n = m ? parseIpv4(m[1]!) : null;
  if (n === null || (n & 255) !== 0) {
    errors.push(`${what} ${JSON.stringify(text)} must be an IPv4 /24 network (a.b.c.0/24)`);
    return 0;
  }
  return n;
}

function int(what: string, v: unknown, lo: number, hi: number, errors: string[]): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    errors.push(`${what} ${JSON.stringify(v)} must be an integer ${lo}-${hi}`);
    return lo;
  }
  return v;
}

/**
 * Parses and validates a topology file; throws a `SyntaxError` (YAML) or `RangeError` listing
 * every problem.
 */
export function parseLabTopology(text: string, file = "lab-topology.yaml"): LabTopology {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new SyntaxError(`Cannot parse ${file}: ${errorText(e)}`, { cause: e });
  }
  if (!doc || typeof doc !== "object") throw new SyntaxError(`Cannot parse ${file}: not a mapping`);
  const errors: string[] = [];
  const known = [
    "prefix",
    "stateDir",
    "segment",
    "routerHost",
    "nodeHostBase",
    "realServerHostBase",
    "clientNet",
    "clientHost",
    "nodes",
    "realServers",
    "vips",
    "lipBase",
    "lipsPerNode",
    "ospf",
    "management",
  ];
  for (const k of Object.keys(doc)) if (!known.includes(k)) errors.push(`unknown key "${k}"`);
  const prefix = String(doc.prefix);
  if (!PREFIX_RULE.test(prefix)) {
    errors.push(`prefix ${JSON.stringify(doc.prefix)} must match ${PREFIX_RULE}`);
  }
  const stateDir = String(doc.stateDir);
  if (!stateDir.startsWith("/")) {
    errors.push(`stateDir ${JSON.stringify(doc.stateDir)} must be absolute`);
  }
  net24("segment", doc.segment, errors);
  net24("clientNet", doc.clientNet, errors);
  const ospf = (doc.ospf ?? {}) as Record<string, unknown>;
  const bfd = ospf.bfd as Record<string, unknown> | undefined;
  const vips = Array.isArray(doc.vips) ? doc.vips.map(String) : [];
  if (vips.length === 0) errors.push("vips must list at least one address");
  for (const v of vips) {
    if (parseIpv4(v) === null) errors.push(`VIP ${JSON.stringify(v)} is not an IPv4 address`);
  }
  if (parseIpv4(String(doc.lipBase)) === null) {
    errors.push(`lipBase ${JSON.stringify(doc.lipBase)} is not an IPv4 address`);
  }
  const mg = doc.management as Record<string, unknown> | undefined;
  if (mg) net24("management.subnet", mg.subnet, errors);
  const topo: LabTopology = {
    prefix,
    stateDir,
    segment: String(doc.segment),
    routerHost: int("routerHost", doc.routerHost, 1, 254, errors),
    nodeHostBase: int("nodeHostBase", doc.nodeHostBase, 1, 200, errors),
    realServerHostBase: int("realServerHostBase", doc.realServerHostBase, 1, 200, errors),
    clientNet: String(doc.clientNet),
    clientHost: int("clientHost", doc.clientHost, 2, 254, errors),
    nodes: int("nodes", doc.nodes, 1, 50, errors),
    realServers: int("realServers", doc.realServers, 0, 50, errors),
    vips,
    lipBase: String(doc.lipBase),
    lipsPerNode: int("lipsPerNode", doc.lipsPerNode, 1, 16, errors),
    ospf: {
      area: int("ospf.area", ospf.area ?? 0, 0, 4294967295, errors),
      hello: int("ospf.hello", ospf.hello, 1, 65535, errors),
      dead: int("ospf.dead", ospf.dead, 2, 65535, errors),
      cost: int("ospf.cost", ospf.cost, 1, 65535, errors),
      ...(ospf.retransmit !== undefined
        ? { retransmit: int("ospf.retransmit", ospf.retransmit, 2, 65535, errors) }
        : {}),
      ...(ospf.routerWait !== undefined
        ? { routerWait: int("ospf.routerWait", ospf.routerWait, 2, 65535, errors) }
        : {}),
      ...(bfd
        ? {
          bfd: {
            intervalMs: int("ospf.bfd.intervalMs", bfd.intervalMs, 10, 60000, errors),
            multiplier: int("ospf.bfd.multiplier", bfd.multiplier, 1, 255, errors),
          },
        }
        : {}),
    },
    ...(mg
      ? {
        management: {
          subnet: String(mg.subnet),
          hostHost: int("management.hostHost", mg.hostHost, 1, 254, errors),
          nodeHostBase: int("management.nodeHostBase", mg.nodeHostBase, 1, 200, errors),
        },
      }
      : {}),
  };
  if (errors.length) {
    throw new RangeError(`Invalid lab topology ${file}:\n  - ${errors.join("\n  - ")}`);
  }
  return topo;
}

/** Overrides applied on top of the topology file (`lab up --nodes N`, tests' prefixes). */
export interface LabOverrides {
  prefix?: string;
  stateDir?: string;
  nodes?: number;
  realServers?: number;
  /** Build without the management network (tests: it is the only part in the root namespace). */
  management?: boolean;
  bfd?: boolean;
  hello?: number;
  dead?: number;
}

/**
 * Builds the lab model from a topology and overrides (pure).
 *
 * @example
 * ```ts
 * const model = buildLabModel(parseLabTopology(text), { prefix: "lrt1a2b-", nodes: 3 });
 * model.nodes.map((n) => n.address); // ["10.77.0.11", "10.77.0.12", "10.77.0.13"]
 * ```
 */
export function buildLabModel(topology: LabTopology, overrides: LabOverrides = {}): LabModel {
  const t = withOverrides(topology, overrides);
  checkLabSize(t);
  const b = labNames(t);
  const router = routerNamespace(b);
  const nodes = Array.from({ length: t.nodes }, (_, k) => labNode(b, k + 1));
  const realServers = Array.from({ length: t.realServers }, (_, k) => labRealServer(b, k + 1));
  const management = t.management ? managementHostSide(b, t.management) : undefined;
  const sw = switchNamespace(b, [
    ...router.switchPorts,
    ...nodes.flatMap((n) => n.switchPorts),
    ...realServers.flatMap((r) => r.switchPorts),
    ...(management ? [management.switchPort] : []),
  ]);
  return {
    prefix: t.prefix,
    stateDir: b.dir,
    vips: t.vips,
    segment: t.segment,
    namespaces: [
      sw,
      clientNamespace(b),
      router.namespace,
      ...nodes.map((n) => n.namespace),
      ...realServers.map((r) => r.namespace),
    ],
    client: { namespace: b.cl, address: b.clientAddr, gateway: b.routerClientAddr },
    router: {
      namespace: b.rt,
      address: b.routerAddr,
      clientAddress: b.routerClientAddr,
      bird: router.bird,
      routing: routerRouting(b, router.bird),
    },
    nodes: nodes.map((n) => n.node),
    realServers: realServers.map((r) => r.realServer),
    ...(management ? { management: management.model } : {}),
  };
}

/** The topology with the overrides applied (BFD and the management network may be dropped). */
function withOverrides(topology: LabTopology, overrides: LabOverrides): LabTopology {
  const t: LabTopology = {
    ...topology,
    ...(overrides.prefix !== undefined ? { prefix: overrides.prefix } : {}),
    ...(overrides.stateDir !== undefined ? { stateDir: overrides.stateDir } : {}),
    ...(overrides.nodes !== undefined ? { nodes: overrides.nodes } : {}),
    ...(overrides.realServers !== undefined ? { realServers: overrides.realServers } : {}),
    ospf: {
      ...topology.ospf,
      ...(overrides.hello !== undefined ? { hello: overrides.hello } : {}),
      ...(overrides.dead !== undefined ? { dead: overrides.dead } : {}),
    },
  };
  if (overrides.bfd === false) delete t.ospf.bfd;
  if (overrides.management === false) delete t.management;
  return t;
}

/** Throws RangeError for a prefix that breaks {@linkcode PREFIX_RULE} or too many namespaces. */
function checkLabSize(t: LabTopology): void {
  if (!PREFIX_RULE.test(t.prefix)) {
    throw new RangeError(
      `Cannot build lab: prefix ${JSON.stringify(t.prefix)} must match ${PREFIX_RULE}`,
    );
  }
  if (!Number.isInteger(t.nodes) || t.nodes < 1 || t.nodes > 50) {
    throw new RangeError(`Cannot build lab: nodes ${t.nodes} must be 1-50`);
  }
  if (!Number.isInteger(t.realServers) || t.realServers < 0 || t.realServers > 50) {
    throw new RangeError(`Cannot build lab: real servers ${t.realServers} must be 0-50`);
  }
}

/** Roles whose veths get TX checksum offload turned off (`ethtool -K IF tx off`). */
export const TX_CHECKSUM_OFF_ROLES: readonly LabRole[] = ["client", "router", "node", "realserver"];

/**
 * The host commands (argv lists) that create the lab's namespaces, links, addresses, routes
 * and sysctls, and turn TX checksum offload off on end-host veths, in order (BIRD is started separately). The root namespace is `""`.
 */
export function labCommands(model: LabModel): string[][] {
  const cmds: string[][] = [];
  const ip = (ns: string, ...args: string[]) =>
    cmds.push(ns ? ["ip", "-n", ns, ...args] : ["ip", ...args]);
  for (const ns of model.namespaces) cmds.push(["ip", "netns", "add", ns.name]);
  for (const ns of model.namespaces) ip(ns.name, "link", "set", "lo", "up");
  const sw = model.namespaces.find((n) => n.role === "switch")!;
  for (const i of sw.interfaces) {
    if (i.kind === "bridge") {
      ip(sw.name, "link", "add", i.name, "type", "bridge", "stp_state", "0", "mcast_snooping", "0");
      ip(sw.name, "link", "set", i.name, "up");
    }
  }
  // Each veth pair is created once, from the side that sorts first; the root side creates its own.
  const done = new Set<string>();
  for (const ns of model.namespaces) {
    for (const i of ns.interfaces) {
      if (i.kind !== "veth" || !i.peer) continue;
      const a = `${ns.name}/${i.name}`, b = `${i.peer.namespace}/${i.peer.name}`;
      if (done.has(a) || done.has(b)) continue;
      done.add(a).add(b);
      if (i.peer.namespace === "") {
        ip(
          "",
          "link",
          "add",
          i.peer.name,
          "type",
          "veth",
          "peer",
          "name",
          i.name,
          "netns",
          ns.name,
        );
      } else {
        ip(
          ns.name,
          "link",
          "add",
          i.name,
          "type",
          "veth",
          "peer",
          "name",
          i.peer.name,
          "netns",
          i.peer.namespace,
        );
      }
    }
  }
  for (const ns of model.namespaces) {
    for (const i of ns.interfaces) {
      if (i.kind !== "veth") continue;
      if (i.bridge) ip(ns.name, "link", "set", i.name, "master", i.bridge);
      for (const a of i.addresses) ip(ns.name, "addr", "add", a, "dev", i.name);
      ip(ns.name, "link", "set", i.name, "up");
    }
  }
  // Frames a namespace sends on a veth keep a partial checksum (the "hardware" would finish it);
  // an af_packet capture on the other side (the data plane, tcpdump-based real servers) then sees
  // a bad checksum. Checksums are computed in software on every end host's and the router's veths.
  for (const ns of model.namespaces) {
    if (!TX_CHECKSUM_OFF_ROLES.includes(ns.role)) continue;
    for (const i of ns.interfaces) {
      if (i.kind === "veth") {
        cmds.push(["ip", "netns", "exec", ns.name, "ethtool", "-K", i.name, "tx", "off"]);
      }
    }
  }
  if (model.management) {
    ip(
      "",
      "addr",
      "add",
      `${model.management.hostAddress}/24`,
      "dev",
      model.management.hostInterface,
    );
    ip("", "link", "set", model.management.hostInterface, "up");
  }
  for (const ns of model.namespaces) {
    for (const [k, v] of ns.sysctls) {
      cmds.push(["ip", "netns", "exec", ns.name, "sysctl", "-qw", `${k}=${v}`]);
    }
    for (const r of ns.routes) ip(ns.name, "route", "add", r.dst, "via", r.via);
  }
  return cmds;
}
