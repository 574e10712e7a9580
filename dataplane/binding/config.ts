/**
 * The data plane's configuration as TypeScript sees it: services (VIP, port, protocol, scheduler,
 * flags, timeouts) with their real servers, and the local addresses (LIPs) used as FULLNAT
 * sources. `validateConfig()` checks a snapshot before it crosses the FFI seam, so a bad value is
 * reported with the service it belongs to instead of as a bare errno.
 *
 * @example
 * ```ts
 * const config: DataPlaneConfig = {
 *   localAddresses: ["10.0.0.100"],
 *   services: [{
 *     vip: "192.0.2.10", port: 80, protocol: "tcp", scheduler: "rr",
 *     reals: [{ address: "10.0.0.11", port: 8080, weight: 1 }],
 *   }],
 * };
 * validateConfig(config);
 * ```
 *
 * @module
 */

import { ipv4Bytes } from "../../routing/ipv4.ts";

/** Transport protocol of a service. */
export type Protocol = "tcp" | "udp";
/** Schedulers: round robin, weighted round robin, weighted least connections, Maglev hashing. */
export type Scheduler = "rr" | "wrr" | "wlc" | "mh";

/** The schedulers, in the order of the C enum. */
export const SCHEDULERS: readonly Scheduler[] = ["rr", "wrr", "wlc", "mh"];

/** One real server of a service. Weight 0 takes no new sessions; existing ones continue. */
export interface RealServer {
  address: string;
  port: number;
  weight: number;
}

/** Per-state idle timeouts in seconds; absent values use the data plane's IPVS-like defaults. */
export interface Timeouts {
  tcpSynSent?: number;
  tcpSynRecv?: number;
  tcpEstablished?: number;
  tcpFinWait?: number;
  tcpCloseWait?: number;
  tcpLastAck?: number;
  tcpTimeWait?: number;
  tcpClose?: number;
  udp?: number;
}

/** The timeout names, in the order of the C enum `fnat_timeout`. */
export const TIMEOUT_KEYS: readonly (keyof Timeouts)[] = [
  "tcpSynSent",
  "tcpSynRecv",
  "tcpEstablished",
  "tcpFinWait",
  "tcpCloseWait",
  "tcpLastAck",
  "tcpTimeWait",
  "tcpClose",
  "udp",
];

/** A virtual service. */
export interface Service {
  vip: string;
  port: number;
  protocol: Protocol;
  scheduler: Scheduler;
  reals: RealServer[];
  /** Insert the client address as a TCP option (TOA). Default true for TCP. */
  toa?: boolean;
  /** Strip TCP timestamps from the client's SYN. Default true. */
  stripTimestamps?: boolean;
  /** Expire a session at once when its real server is removed (default: let it finish). */
  expireOnRealRemoval?: boolean;
  /** SYNPROXY (issue 4). Default false. */
  synproxy?: boolean;
  timeouts?: Timeouts;
}

/** A whole configuration snapshot. */
/** Another node of the cluster, as session sync sees it. */
export interface SyncPeer {
  /** Its address on the segment: the owner id in records and the L2 next hop to forward to. */
  node: string;
  /** Where its data plane takes sync datagrams (one of its LIPs: the kernel does not own it). */
  address: string;
}

/**
 * Session sync between the nodes (connection continuity): every session this node creates is
 * announced to each peer in an ownership record and withdrawn when it ends; a client frame for a
 * VIP with no local session but a peer's record goes unchanged to the owner.
 */
export interface SyncConfig {
  /** This node's address on the segment (what peers forward to). */
  node: string;
  /** This node's sync address: one of its LIPs. */
  address: string;
  /** UDP port of the sync datagrams, 1..1023 (never a LIP port). Default 1000. */
  port?: number;
  /** The cluster secret: 32 hex digits (the key of the datagrams' MAC). */
  secret: string;
  /** Every live session is announced again this often (heals lost datagrams). Default 10. */
  refreshSeconds?: number;
  /** A part-filled datagram leaves after this many milliseconds. Default 2. */
  flushMs?: number;
  /** Record table size per worker. Default: the session table's size. */
  recordsPerWorker?: number;
  peers: SyncPeer[];
  /**
   * Other nodes' LIPs this node stands by for: it holds their sessions in full and carries them
   * on when the router sends it the LIP's traffic (the owner is gone).
   */
  standby?: { lip: string; owner: string }[];
}

export interface DataPlaneConfig {
  services: Service[];
  /** Local addresses (LIPs) used as the source towards real servers. */
  localAddresses: string[];
  /** Session sync with the other nodes; absent: off. */
  sync?: SyncConfig;
}

/** The key of a service: `vip:port/protocol`. Two services with one key are an error. */
export function serviceKey(s: Pick<Service, "vip" | "port" | "protocol">): string {
  return `${s.vip}:${s.port}/${s.protocol}`;
}

function checkAddress(what: string, value: string): void {
  try {
    ipv4Bytes(value);
  } catch (e) {
    throw new TypeError(`Cannot apply ${what}: "${value}" is not an IPv4 address`, { cause: e });
  }
}

function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot apply ${what}: ${value} is outside ${min}..${max}`);
  }
}

/**
 * Checks a configuration: addresses parse, ports are 1..65535, weights 0..65535, schedulers and
 * protocols are known, timeouts are positive whole seconds, and no service, real server or LIP
 * appears twice. Throws `TypeError`/`RangeError` naming the service and the value.
 */
/** Checks a sync configuration (throws `TypeError`/`RangeError` saying what and the value). */
function validateSync(sync: SyncConfig, lips: ReadonlySet<string>): void {
  checkAddress("sync node address", sync.node);
  checkAddress("sync address", sync.address);
  if (!lips.has(sync.address)) {
    throw new RangeError(
      `Cannot apply sync address ${sync.address}: it must be one of the node's local addresses`,
    );
  }
  if (sync.port !== undefined) checkInt("sync port", sync.port, 1, 1023);
  if (!/^[0-9a-fA-F]{32}$/.test(sync.secret)) {
    throw new TypeError("Cannot apply sync: the secret must be 32 hex digits (128 bits)");
  }
  if (sync.refreshSeconds !== undefined) {
    checkInt("sync refreshSeconds", sync.refreshSeconds, 1, 3600);
  }
  if (sync.flushMs !== undefined) checkInt("sync flushMs", sync.flushMs, 1, 1000);
  if (sync.peers.length > 32) {
    throw new RangeError(`Cannot apply sync: ${sync.peers.length} peers (at most 32)`);
  }
  if ((sync.standby?.length ?? 0) > 64) {
    throw new RangeError(`Cannot apply sync: ${sync.standby!.length} standby LIPs (at most 64)`);
  }
  for (const x of sync.standby ?? []) {
    checkAddress("standby LIP", x.lip);
    checkAddress(`owner of standby LIP ${x.lip}`, x.owner);
    if (lips.has(x.lip)) {
      throw new RangeError(`Cannot stand by for LIP ${x.lip}: it is this node's own`);
    }
  }
  const seen = new Set<string>([sync.node]);
  for (const p of sync.peers) {
    checkAddress("sync peer node address", p.node);
    checkAddress(`sync address of peer ${p.node}`, p.address);
    if (seen.has(p.node)) throw new RangeError(`Cannot apply sync peer ${p.node}: listed twice`);
    seen.add(p.node);
  }
}

export function validateConfig(config: DataPlaneConfig): void {
  const lips = new Set<string>();
  for (const lip of config.localAddresses) {
    checkAddress("local address", lip);
    if (lips.has(lip)) throw new RangeError(`Cannot apply local address ${lip}: listed twice`);
    lips.add(lip);
  }
  if (config.services.length > 0 && lips.size === 0) {
    throw new RangeError("Cannot apply services without local addresses: FULLNAT needs a LIP");
  }
  if (config.sync) validateSync(config.sync, lips);
  const keys = new Set<string>();
  for (const s of config.services) {
    const key = serviceKey(s);
    checkAddress(`service ${key}`, s.vip);
    checkInt(`service ${key} port`, s.port, 1, 65535);
    if (s.protocol !== "tcp" && s.protocol !== "udp") {
      throw new TypeError(`Cannot apply service ${key}: protocol must be tcp or udp`);
    }
    if (!SCHEDULERS.includes(s.scheduler)) {
      throw new TypeError(
        `Cannot apply service ${key}: scheduler "${s.scheduler}" is not one of ${
          SCHEDULERS.join(", ")
        }`,
      );
    }
    if (keys.has(key)) throw new RangeError(`Cannot apply service ${key}: listed twice`);
    keys.add(key);
    const reals = new Set<string>();
    for (const r of s.reals) {
      const rkey = `${r.address}:${r.port}`;
      checkAddress(`real server ${rkey} of ${key}`, r.address);
      checkInt(`real server ${rkey} of ${key} port`, r.port, 1, 65535);
      checkInt(`real server ${rkey} of ${key} weight`, r.weight, 0, 65535);
      if (reals.has(rkey)) {
        throw new RangeError(`Cannot apply real server ${rkey} of ${key}: listed twice`);
      }
      reals.add(rkey);
    }
    for (const [state, seconds] of Object.entries(s.timeouts ?? {})) {
      if (seconds !== undefined) {
        checkInt(`service ${key} timeout ${state}`, seconds, 1, 2 ** 31 - 1);
      }
    }
  }
}
