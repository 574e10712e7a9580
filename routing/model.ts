/**
 * Typed inputs for BIRD configuration rendering and their validation.
 *
 * Everything here is pure: the validators take a model and either return a normalised copy or
 * throw a `RangeError` that lists every problem at once (action, rule and value).
 *
 * @module
 */

/** OSPF settings of one interface (the node's uplink, or one of the router's interfaces). */
export interface OspfInterface {
  /** Kernel interface name (1-15 characters). */
  name: string;
  /** Hello interval in seconds (1-65535). */
  hello: number;
  /** Dead interval in seconds; must be greater than `hello`. */
  dead: number;
  /** OSPF interface cost (1-65535). */
  cost: number;
  /** DR election priority (0-255); 0 = never DR. BIRD's default (1) when absent. */
  priority?: number;
  /**
   * Seconds a DR-eligible router waits before electing the DR (2-65535; BIRD's default is 4 x
   * hello). Lower it only where this router is the one DR candidate on the segment (the nodes
   * run with priority 0), e.g. the lab's router: adjacencies then form seconds sooner.
   */
  wait?: number;
  /**
   * Seconds between retransmissions of unacknowledged database descriptions and updates
   * (2-65535; BIRD's default is 5). A lower value lets a first adjacency whose opening packet
   * was ignored (the neighbour was still electing its DR) complete sooner.
   */
  retransmit?: number;
  /** Run BFD on this interface (needs a `bfd` timing in the enclosing model). */
  bfd: boolean;
}

/** BFD session timing (applies to every BFD interface of the daemon). */
export interface BfdTiming {
  /** Desired transmit and required receive interval in milliseconds (10-60000). */
  intervalMs: number;
  /** Detection multiplier (1-255). */
  multiplier: number;
}

/** A load-balancer node's routing: what its BIRD announces to the upstream router. */
export interface NodeRouting {
  /** Node name, used in messages and the config header. */
  node: string;
  /** OSPF router id (an IPv4 address, usually the node address). */
  routerId: string;
  /** OSPF area id (0-4294967295). Default 0. */
  area?: number;
  uplink: OspfInterface;
  /** VIPs announced as stub /32 ("10.0.0.1" or "10.0.0.1/32"). */
  vips: string[];
  /** Local (FULLNAT source) addresses announced as stub /32; kept while drained. */
  lips: string[];
  /** Stubnet cost of VIPs (1-65535). Default: the uplink cost. */
  vipCost?: number;
  /** Stubnet cost of LIPs (1-65535). Default: the uplink cost. */
  lipCost?: number;
  /**
   * Other nodes' LIPs this node stands by for, announced at `standbyCost`: the router prefers
   * the owner's cheaper route and falls back to this one the moment the owner's routes vanish.
   */
  standbyLips?: string[];
  /** Stubnet cost of standby LIPs (1-65535), above every owner's. Default: LIP cost + 1000. */
  standbyCost?: number;
  /** Drained: VIP stubnets are withdrawn, LIPs stay announced. */
  drained: boolean;
  bfd?: BfdTiming;
  /** BIRD log file (absolute path); syslog when absent. */
  logFile?: string;
}

/** The upstream router: OSPF with ECMP into the kernel. */
export interface RouterRouting {
  /** Router name, used in messages and the config header. */
  name: string;
  routerId: string;
  area?: number;
  /** Interfaces where OSPF neighbours (the nodes) are expected. */
  interfaces: OspfInterface[];
  /** Interfaces whose networks are announced without hellos (e.g. the client side). */
  stubInterfaces: string[];
  /** Maximum next hops per ECMP route (1-256). Default 16. */
  ecmpLimit?: number;
  bfd?: BfdTiming;
  logFile?: string;
}

export { hostPrefix, isIpv4 } from "./ipv4.ts";
import { hostPrefix, isIpv4 } from "./ipv4.ts";

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

function intIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

function checkInterface(what: string, i: OspfInterface, errors: string[], bfd: boolean): void {
  if (!IFNAME.test(i.name ?? "")) {
    errors.push(
      `${what}: interface name ${JSON.stringify(i.name)} must be 1-15 of [A-Za-z0-9_.:-]`,
    );
  }
  if (!intIn(i.hello, 1, 65535)) errors.push(`${what}: hello ${i.hello} must be 1-65535 s`);
  if (!intIn(i.dead, 2, 65535) || !(i.dead > i.hello)) {
    errors.push(`${what}: dead ${i.dead} must be 2-65535 s and greater than hello ${i.hello}`);
  }
  if (!intIn(i.cost, 1, 65535)) errors.push(`${what}: cost ${i.cost} must be 1-65535`);
  if (i.priority !== undefined && !intIn(i.priority, 0, 255)) {
    errors.push(`${what}: priority ${i.priority} must be 0-255`);
  }
  if (i.wait !== undefined && !intIn(i.wait, 2, 65535)) {
    errors.push(`${what}: wait ${i.wait} must be 2-65535 s`);
  }
  if (i.retransmit !== undefined && !intIn(i.retransmit, 2, 65535)) {
    errors.push(`${what}: retransmit ${i.retransmit} must be 2-65535 s`);
  }
  if (i.bfd && !bfd) errors.push(`${what}: bfd is on but no bfd timing is given`);
}

function checkCommon(
  what: string,
  m: { routerId: string; area?: number; bfd?: BfdTiming; logFile?: string },
  errors: string[],
): void {
  if (!isIpv4(m.routerId)) {
    errors.push(`${what}: router id ${JSON.stringify(m.routerId)} is not an IPv4 address`);
  }
  if (m.area !== undefined && !intIn(m.area, 0, 4294967295)) {
    errors.push(`${what}: area ${m.area} must be 0-4294967295`);
  }
  if (m.bfd) {
    if (!intIn(m.bfd.intervalMs, 10, 60000)) {
      errors.push(`${what}: bfd interval ${m.bfd.intervalMs} ms must be 10-60000`);
    }
    if (!intIn(m.bfd.multiplier, 1, 255)) {
      errors.push(`${what}: bfd multiplier ${m.bfd.multiplier} must be 1-255`);
    }
  }
  if (m.logFile !== undefined && (!m.logFile.startsWith("/") || /["\\\n]/.test(m.logFile))) {
    errors.push(
      `${what}: log file ${JSON.stringify(m.logFile)} must be an absolute path without quotes`,
    );
  }
}

function prefixes(what: string, kind: string, list: string[], errors: string[]): string[] {
  const out: string[] = [];
  for (const a of list) {
    const p = hostPrefix(String(a));
    if (!p) errors.push(`${what}: ${kind} ${JSON.stringify(a)} is not an IPv4 host address (/32)`);
    else if (out.includes(p)) errors.push(`${what}: ${kind} ${p} is listed twice`);
    else out.push(p);
  }
  return out;
}

function fail(action: string, errors: string[]): never {
  throw new RangeError(`${action}:\n  - ${errors.join("\n  - ")}`);
}

/** A validated node model: VIPs and LIPs normalised to "a.b.c.d/32", defaults filled in. */
export interface ValidNodeRouting extends NodeRouting {
  area: number;
  vipCost: number;
  lipCost: number;
  standbyLips: string[];
  standbyCost: number;
}

/**
 * Validates a node's routing model; throws a `RangeError` listing every problem.
 *
 * @example
 * ```ts
 * validateNodeRouting({ node: "n1", routerId: "10.0.0.11", uplink, vips: ["10.1.0.1"], lips: [], drained: false });
 * ```
 */
/**
 * The most /32 stub links (LIPs) a node's router-LSA can carry: an LSA and the link-state update
 * that holds it fit a 65,535-byte IP datagram, 12 bytes a link, with room left for the uplink's
 * own links. Beyond it BIRD originates a truncated LSA that the router drops as malformed
 * (measured in the lab when VIPs were stub links too, at 8,192 VIPs). VIPs are externals.
 */
export const MAX_ROUTER_LSA_STUBS = 5400;

export function validateNodeRouting(m: NodeRouting): ValidNodeRouting {
  const errors: string[] = [];
  const what = `node ${JSON.stringify(m.node)}`;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(m.node ?? "")) {
    errors.push(`node name ${JSON.stringify(m.node)} must be 1-64 of [A-Za-z0-9_.-]`);
  }
  checkCommon(what, m, errors);
  checkInterface(`${what} uplink`, m.uplink, errors, m.bfd !== undefined);
  const vips = prefixes(what, "VIP", m.vips, errors);
  const lips = prefixes(what, "LIP", m.lips, errors);
  for (const v of vips) if (lips.includes(v)) errors.push(`${what}: ${v} is both a VIP and a LIP`);
  const standbyLips = prefixes(what, "standby LIP", m.standbyLips ?? [], errors);
  for (const v of standbyLips) {
    if (lips.includes(v) || vips.includes(v)) {
      errors.push(`${what}: standby LIP ${v} is also one of its own VIPs or LIPs`);
    }
  }
  const stubs = lips.length + standbyLips.length;
  if (stubs > MAX_ROUTER_LSA_STUBS) {
    errors.push(
      `${what}: announces ${stubs} LIPs (its own and standby); one OSPF router-LSA holds at ` +
        `most ${MAX_ROUTER_LSA_STUBS} of them (its 16-bit length), and BIRD would send a ` +
        `truncated LSA that neighbours refuse`,
    );
  }
  const lipCost = m.lipCost ?? m.uplink.cost;
  const standbyCost = m.standbyCost ?? Math.min(65535, lipCost + 1000);
  if (standbyCost <= lipCost) {
    errors.push(`${what}: standby cost ${standbyCost} must be above the LIP cost ${lipCost}`);
  }
  for (
    const [k, c] of [["VIP", m.vipCost], ["LIP", m.lipCost], ["standby", m.standbyCost]] as const
  ) {
    if (c !== undefined && !intIn(c, 1, 65535)) {
      errors.push(`${what}: ${k} cost ${c} must be 1-65535`);
    }
  }
  if (errors.length) fail(`Cannot render BIRD config for ${what}`, errors);
  return {
    ...m,
    area: m.area ?? 0,
    vips,
    lips,
    vipCost: m.vipCost ?? m.uplink.cost,
    lipCost,
    standbyLips,
    standbyCost,
  };
}

/** A validated router model with defaults filled in. */
export interface ValidRouterRouting extends RouterRouting {
  area: number;
  ecmpLimit: number;
}

/** Validates the upstream router's model; throws a `RangeError` listing every problem. */
export function validateRouterRouting(m: RouterRouting): ValidRouterRouting {
  const errors: string[] = [];
  const what = `router ${JSON.stringify(m.name)}`;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(m.name ?? "")) {
    errors.push(`router name ${JSON.stringify(m.name)} must be 1-64 of [A-Za-z0-9_.-]`);
  }
  checkCommon(what, m, errors);
  if (m.interfaces.length === 0) errors.push(`${what}: needs at least one OSPF interface`);
  const seen = new Set<string>();
  for (const i of m.interfaces) {
    checkInterface(`${what} interface ${JSON.stringify(i.name)}`, i, errors, m.bfd !== undefined);
    if (seen.has(i.name)) errors.push(`${what}: interface ${i.name} is listed twice`);
    seen.add(i.name);
  }
  for (const s of m.stubInterfaces) {
    if (!IFNAME.test(s)) {
      errors.push(`${what}: stub interface name ${JSON.stringify(s)} is invalid`);
    }
    if (seen.has(s)) errors.push(`${what}: interface ${s} is listed twice`);
    seen.add(s);
  }
  if (m.ecmpLimit !== undefined && !intIn(m.ecmpLimit, 1, 256)) {
    errors.push(`${what}: ecmp limit ${m.ecmpLimit} must be 1-256`);
  }
  if (errors.length) fail(`Cannot render BIRD config for ${what}`, errors);
  return { ...m, area: m.area ?? 0, ecmpLimit: m.ecmpLimit ?? 16 };
}
