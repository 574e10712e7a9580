/**
 * The C structs of `include/fnat.h` laid out on the TypeScript side (see `wire.ts`), and the
 * explicit converters between them and the public types: options and configuration snapshots
 * are encoded into bytes for the FFI call; counters and sessions are decoded from bytes.
 *
 * @module
 */

import { defineStruct, type StructLayout } from "./wire.ts";
import {
  type DataPlaneConfig,
  SCHEDULERS,
  type Service,
  type SyncConfig,
  TIMEOUT_KEYS,
} from "./config.ts";
import { macBytes } from "./mac.ts";
import { formatIpv4, ipv4Bytes } from "../../routing/ipv4.ts";
import type {
  DataPlaneOptions,
  DataPlaneStats,
  PeerStats,
  RealStats,
  ServiceStats,
  Session,
  SessionState,
  TrafficCounters,
  WorkerStats,
} from "./types.ts";

const MAX_PORTS = 4;
const MAX_WORKERS = 16;
const MAX_NEIGH = 64;
const TIMEOUT_COUNT = 9;

/** fnat_options.flags */
const OPT_TEST_MODE = 1;
/** fnat_service_conf.flags */
const SVC_TOA = 1, SVC_STRIP_TS = 2, SVC_EXPIRE_ON_REMOVE = 4, SVC_SYNPROXY = 8;

const neighConf = defineStruct("fnat_neigh_conf", [
  ["addr", "u32"],
  ["mac", { array: "u8", length: 6 }],
  ["pad", { array: "u8", length: 2 }],
]);

const portConf = defineStruct("fnat_port_conf", [
  ["port_id", "u16"],
  ["set_mac", "u8"],
  ["prefix_len", "u8"],
  ["mac", { array: "u8", length: 6 }],
  ["mtu", "u16"],
  ["addr", "u32"],
]);

export const options = defineStruct("fnat_options", [
  ["flags", "u32"],
  ["n_workers", "u32"],
  ["sessions_per_worker", "u32"],
  ["n_ports", "u32"],
  ["ports", { array: portConf, length: MAX_PORTS }],
  ["gateway", "u32"],
  ["toa_kind", "u8"],
  ["sp_ttl", "u8"],
  ["sp_wscale", "u8"],
  ["pad", "u8"],
  ["sp_mss", "u16"],
  ["pad2", "u16"],
  ["n_neigh", "u32"],
  ["neigh", { array: neighConf, length: MAX_NEIGH }],
]);

const serviceConf = defineStruct("fnat_service_conf", [
  ["vip", "u32"],
  ["port", "u16"],
  ["proto", "u8"],
  ["sched", "u8"],
  ["flags", "u32"],
  ["first_real", "u32"],
  ["n_reals", "u32"],
  ["timeouts", { array: "u32", length: TIMEOUT_COUNT }],
]);

const realConf = defineStruct("fnat_real_conf", [
  ["addr", "u32"],
  ["port", "u16"],
  ["pad", "u16"],
  ["weight", "u32"],
]);

export const traffic = defineStruct("fnat_traffic", [
  ["pkts_in", "u64"],
  ["pkts_out", "u64"],
  ["bytes_in", "u64"],
  ["bytes_out", "u64"],
  ["sessions_new", "u64"],
  ["sessions_active", "u64"],
]);

/** Drop reasons in the order of `enum fnat_drop` (names as `fnat_drop_name` reports them). */
const DROP_REASONS = [
  "truncated_ethernet",
  "truncated_ipv4",
  "bad_ipv4_version",
  "bad_ipv4_ihl",
  "bad_ipv4_total_length",
  "bad_ipv4_checksum",
  "ipv4_options",
  "ipv4_fragment",
  "truncated_tcp",
  "bad_tcp_data_offset",
  "tcp_options_overrun",
  "bad_tcp_checksum",
  "truncated_udp",
  "bad_udp_length",
  "bad_udp_checksum",
  "bad_icmp",
  "bad_arp",
  "no_service",
  "no_session",
  "no_real",
  "table_full",
  "no_local_port",
  "neigh_unresolved",
  "ttl_exceeded",
  "handoff_full",
  "tx_full",
  "too_big",
  "synproxy_bad_ack",
  "synproxy_ack_storm",
  "synproxy_kept_full",
  "sync_malformed",
  "sync_auth",
  "sync_replay",
  "forwarded_no_session",
] as const;

export const workerStats = defineStruct("fnat_worker_stats", [
  ["traffic", traffic],
  ["handoffs_out", "u64"],
  ["handoffs_in", "u64"],
  ["toa_inserted", "u64"],
  ["toa_failed", "u64"],
  ["toa_forged", "u64"],
  ["syncookies_sent", "u64"],
  ["syncookies_valid", "u64"],
  ["syncookies_invalid", "u64"],
  ["synproxy_rs_retransmits", "u64"],
  ["synproxy_rs_failures", "u64"],
  ["arp_replies", "u64"],
  ["icmp_translated", "u64"],
  ["ignored", "u64"],
  ["sessions_closing", "u64"],
  ["arp_unsolicited", "u64"],
  ["arp_conflicts", "u64"],
  ["neigh_expired", "u64"],
  ["neigh_evicted", "u64"],
  ["neigh_refused", "u64"],
  ["sync_records_sent", "u64"],
  ["sync_datagrams_sent", "u64"],
  ["sync_records_received", "u64"],
  ["sync_datagrams_received", "u64"],
  ["sync_lost", "u64"],
  ["records_active", "u64"],
  ["records_full", "u64"],
  ["records_expired", "u64"],
  ["forwarded_out", "u64"],
  ["forwarded_in", "u64"],
  ["sessions_adopted", "u64"],
  ["drops", { array: "u64", length: DROP_REASONS.length }],
]);

export const serviceStats = defineStruct("fnat_service_stats", [
  ["traffic", traffic],
  ["vip", "u32"],
  ["port", "u16"],
  ["proto", "u8"],
  ["pad", "u8"],
  ["first_real", "u32"],
  ["n_reals", "u32"],
]);

export const realStats = defineStruct("fnat_real_stats", [
  ["traffic", traffic],
  ["addr", "u32"],
  ["port", "u16"],
  ["pad", "u16"],
  ["weight", "u32"],
  ["pad2", "u32"],
]);

export const sessionInfo = defineStruct("fnat_session_info", [
  ["caddr", "u32"],
  ["vaddr", "u32"],
  ["laddr", "u32"],
  ["raddr", "u32"],
  ["cport", "u16"],
  ["vport", "u16"],
  ["lport", "u16"],
  ["rport", "u16"],
  ["proto", "u8"],
  ["state", "u8"],
  ["worker", "u16"],
  ["expires_in_ms", "u32"],
]);

export const MAX_PEERS = 32;
const MAX_STANDBY = 64;

const syncStandby = defineStruct("fnat_sync_standby", [
  ["lip", "u32"],
  ["owner", "u32"],
]);

const syncPeer = defineStruct("fnat_sync_peer", [
  ["node", "u32"],
  ["addr", "u32"],
]);

const syncConf = defineStruct("fnat_sync_conf", [
  ["node", "u32"],
  ["addr", "u32"],
  ["port", "u16"],
  ["pad", "u16"],
  ["refresh_ms", "u32"],
  ["flush_us", "u32"],
  ["records_per_worker", "u32"],
  ["key", { array: "u8", length: 16 }],
  ["n_peers", "u32"],
  ["peers", { array: syncPeer, length: MAX_PEERS }],
  ["n_standby", "u32"],
  ["standby", { array: syncStandby, length: MAX_STANDBY }],
]);

export const peerStats = defineStruct("fnat_peer_stats", [
  ["node", "u32"],
  ["snapshot_workers", "u32"],
  ["peer_workers", "u32"],
  ["pad", "u32"],
  ["datagrams_received", "u64"],
  ["records_received", "u64"],
  ["forwarded_out", "u64"],
  ["forwarded_in", "u64"],
  ["last_heard_ms", "u64"],
]);

/** Every struct that crosses the seam (the ABI test walks this list). */
// deno-lint-ignore no-explicit-any
export const WIRE_STRUCTS: StructLayout<any>[] = [
  neighConf,
  portConf,
  options,
  serviceConf,
  realConf,
  traffic,
  workerStats,
  serviceStats,
  realStats,
  sessionInfo,
  syncPeer,
  syncConf,
  syncStandby,
  peerStats,
];

/** An IPv4 address as the `uint32_t` holding its wire bytes (little-endian host). */
export function addrWord(ip: string): number {
  const b = ipv4Bytes(ip);
  return (b[0]! | b[1]! << 8 | b[2]! << 16 | b[3]! << 24) >>> 0;
}

/** The inverse of `addrWord`. */
function wordAddr(word: number): string {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, word, true);
  return formatIpv4(b);
}

function parseCidr(what: string, value: string): { addr: string; prefix: number } {
  const [addr, len] = value.split("/");
  const prefix = len === undefined ? 0 : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new RangeError(`Cannot use ${what} "${value}": prefix length must be 0..32`);
  }
  return { addr: addr!, prefix };
}

/** Encodes `DataPlaneOptions` into `struct fnat_options`. */
export function encodeOptions(o: DataPlaneOptions): Uint8Array {
  if (o.ports.length < 1 || o.ports.length > MAX_PORTS) {
    throw new RangeError(`Cannot create a data plane on ${o.ports.length} ports: 1..${MAX_PORTS}`);
  }
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > MAX_WORKERS) {
    throw new RangeError(`Cannot create a data plane with ${o.workers} workers: 1..${MAX_WORKERS}`);
  }
  const neigh = o.neighbours ?? [];
  if (neigh.length > MAX_NEIGH) {
    throw new RangeError(`Cannot use ${neigh.length} static neighbours: at most ${MAX_NEIGH}`);
  }
  const buf = new Uint8Array(options.size);
  options.write(buf, {
    flags: o.testMode ? OPT_TEST_MODE : 0,
    n_workers: o.workers,
    sessions_per_worker: o.sessionsPerWorker ?? 0,
    n_ports: o.ports.length,
    ports: o.ports.map((id, i) => {
      const mac = o.portMacs?.[i];
      const cidr = o.portAddresses?.[i];
      const a = cidr === undefined ? undefined : parseCidr("port address", cidr);
      return {
        port_id: id,
        set_mac: mac === undefined ? 0 : 1,
        prefix_len: a?.prefix ?? 0,
        mac: mac === undefined ? [0, 0, 0, 0, 0, 0] : [...macBytes(mac)],
        mtu: o.mtu ?? 0,
        addr: a === undefined ? 0 : addrWord(a.addr),
      };
    }),
    gateway: o.gateway === undefined ? 0 : addrWord(o.gateway),
    toa_kind: o.toaKind ?? 0,
    sp_ttl: o.synproxy?.ttl ?? 0,
    sp_wscale: o.synproxy?.windowScale === null ? 15 : o.synproxy?.windowScale ?? 0,
    sp_mss: o.synproxy?.maxMss ?? 0,
    n_neigh: neigh.length,
    neigh: neigh.map((n) => ({ addr: addrWord(n.address), mac: [...macBytes(n.mac)] })),
  });
  return buf;
}

function serviceFlags(s: Service): number {
  let f = 0;
  if (s.protocol === "tcp" && (s.toa ?? true)) f |= SVC_TOA;
  if (s.protocol === "tcp" && (s.stripTimestamps ?? true)) f |= SVC_STRIP_TS;
  if (s.expireOnRealRemoval) f |= SVC_EXPIRE_ON_REMOVE;
  if (s.protocol === "tcp" && s.synproxy) f |= SVC_SYNPROXY;
  return f;
}

/** The three arrays `fnat_apply` takes. */
export interface EncodedConfig {
  services: Uint8Array;
  nServices: number;
  reals: Uint8Array;
  nReals: number;
  lips: Uint32Array;
}

/** Encodes a (validated) configuration snapshot. */
export function encodeConfig(c: DataPlaneConfig): EncodedConfig {
  const nReals = c.services.reduce((n, s) => n + s.reals.length, 0);
  const services = new Uint8Array(Math.max(1, c.services.length) * serviceConf.size);
  const reals = new Uint8Array(Math.max(1, nReals) * realConf.size);
  let r = 0;
  c.services.forEach((s, i) => {
    serviceConf.write(services, {
      vip: addrWord(s.vip),
      port: s.port,
      proto: s.protocol === "tcp" ? 6 : 17,
      sched: SCHEDULERS.indexOf(s.scheduler),
      flags: serviceFlags(s),
      first_real: r,
      n_reals: s.reals.length,
      timeouts: TIMEOUT_KEYS.map((k) => s.timeouts?.[k] ?? 0),
    }, i * serviceConf.size);
    for (const real of s.reals) {
      realConf.write(reals, {
        addr: addrWord(real.address),
        port: real.port,
        weight: real.weight,
      }, r * realConf.size);
      r++;
    }
  });
  return {
    services,
    nServices: c.services.length,
    reals,
    nReals,
    lips: Uint32Array.from(c.localAddresses.map(addrWord)),
  };
}

function decodeTraffic(t: Record<string, unknown>): TrafficCounters {
  return {
    packetsIn: t.pkts_in as number,
    packetsOut: t.pkts_out as number,
    bytesIn: t.bytes_in as number,
    bytesOut: t.bytes_out as number,
    sessionsNew: t.sessions_new as number,
    sessionsActive: t.sessions_active as number,
  };
}

function dropRecord(values: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  DROP_REASONS.forEach((name, i) => {
    if ((values[i] ?? 0) > 0) out[name] = values[i]!;
  });
  return out;
}

/** Decodes what `fnat_stats` wrote. */
export function decodeStats(
  w: Uint8Array,
  nw: number,
  s: Uint8Array,
  ns: number,
  r: Uint8Array,
  nr: number,
): DataPlaneStats {
  const workers: WorkerStats[] = [];
  const drops: Record<string, number> = {};
  for (let i = 0; i < nw; i++) {
    const x = workerStats.read(w, i * workerStats.size);
    const d = dropRecord(x.drops as number[]);
    for (const [k, v] of Object.entries(d)) drops[k] = (drops[k] ?? 0) + v;
    workers.push({
      worker: i,
      ...decodeTraffic(x.traffic as Record<string, unknown>),
      handoffsOut: x.handoffs_out as number,
      handoffsIn: x.handoffs_in as number,
      toaInserted: x.toa_inserted as number,
      toaFailed: x.toa_failed as number,
      toaForged: x.toa_forged as number,
      synCookiesSent: x.syncookies_sent as number,
      synCookiesValid: x.syncookies_valid as number,
      synCookiesInvalid: x.syncookies_invalid as number,
      synproxyRsRetransmits: x.synproxy_rs_retransmits as number,
      synproxyRsFailures: x.synproxy_rs_failures as number,
      arpReplies: x.arp_replies as number,
      icmpTranslated: x.icmp_translated as number,
      ignored: x.ignored as number,
      sessionsClosing: x.sessions_closing as number,
      arpUnsolicited: x.arp_unsolicited as number,
      arpConflicts: x.arp_conflicts as number,
      neighExpired: x.neigh_expired as number,
      neighEvicted: x.neigh_evicted as number,
      neighRefused: x.neigh_refused as number,
      syncRecordsSent: x.sync_records_sent as number,
      syncDatagramsSent: x.sync_datagrams_sent as number,
      syncRecordsReceived: x.sync_records_received as number,
      syncDatagramsReceived: x.sync_datagrams_received as number,
      syncLost: x.sync_lost as number,
      recordsActive: x.records_active as number,
      recordsFull: x.records_full as number,
      recordsExpired: x.records_expired as number,
      forwardedOut: x.forwarded_out as number,
      forwardedIn: x.forwarded_in as number,
      sessionsAdopted: x.sessions_adopted as number,
      drops: d,
    });
  }
  const reals: RealStats[] = [];
  for (let i = 0; i < nr; i++) {
    const x = realStats.read(r, i * realStats.size);
    reals.push({
      address: wordAddr(x.addr as number),
      port: x.port as number,
      weight: x.weight as number,
      ...decodeTraffic(x.traffic as Record<string, unknown>),
    });
  }
  const services: ServiceStats[] = [];
  for (let i = 0; i < ns; i++) {
    const x = serviceStats.read(s, i * serviceStats.size);
    const first = x.first_real as number;
    services.push({
      vip: wordAddr(x.vip as number),
      port: x.port as number,
      protocol: x.proto === 6 ? "tcp" : "udp",
      ...decodeTraffic(x.traffic as Record<string, unknown>),
      reals: reals.slice(first, first + (x.n_reals as number)),
    });
  }
  return { workers, services, drops };
}

const STATES: SessionState[] = [
  "none",
  "syn_sent",
  "syn_recv",
  "established",
  "fin_wait",
  "close_wait",
  "last_ack",
  "time_wait",
  "close",
  "udp",
];

/** Decodes what `fnat_sessions` wrote. */
export function decodeSessions(buf: Uint8Array, n: number): Session[] {
  const out: Session[] = [];
  for (let i = 0; i < n; i++) {
    const x = sessionInfo.read(buf, i * sessionInfo.size);
    out.push({
      worker: x.worker as number,
      protocol: x.proto === 6 ? "tcp" : "udp",
      state: STATES[x.state as number] ?? "none",
      clientAddress: wordAddr(x.caddr as number),
      clientPort: x.cport as number,
      vip: wordAddr(x.vaddr as number),
      vport: x.vport as number,
      localAddress: wordAddr(x.laddr as number),
      localPort: x.lport as number,
      realAddress: wordAddr(x.raddr as number),
      realPort: x.rport as number,
      expiresIn: (x.expires_in_ms as number) / 1000,
    });
  }
  return out;
}

/** Encodes a sync configuration for `fnat_sync_set` (none: sync off). */
export function encodeSync(c: SyncConfig | undefined): Uint8Array {
  const buf = new Uint8Array(syncConf.size);
  if (c === undefined) return buf; // node 0: off
  const key = hexKey(c.secret);
  syncConf.write(buf, {
    node: addrWord(c.node),
    addr: addrWord(c.address),
    port: c.port ?? 0,
    refresh_ms: Math.round((c.refreshSeconds ?? 0) * 1000),
    flush_us: Math.round((c.flushMs ?? 0) * 1000),
    records_per_worker: c.recordsPerWorker ?? 0,
    key: Array.from(key),
    n_peers: c.peers.length,
    peers: c.peers.map((p) => ({ node: addrWord(p.node), addr: addrWord(p.address) })),
    n_standby: c.standby?.length ?? 0,
    standby: (c.standby ?? []).map((x) => ({ lip: addrWord(x.lip), owner: addrWord(x.owner) })),
  });
  return buf;
}

/** The 16 key bytes of a 32-hex-digit secret. */
function hexKey(secret: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(secret)) {
    throw new TypeError("Cannot use the sync secret: it must be 32 hex digits (128 bits)");
  }
  return Uint8Array.from(secret.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** Decodes what `fnat_sync_status` wrote. */
export function decodePeers(buf: Uint8Array, n: number): PeerStats[] {
  const out: PeerStats[] = [];
  for (let i = 0; i < n; i++) {
    const x = peerStats.read(buf, i * peerStats.size);
    out.push({
      node: wordAddr(x.node as number),
      snapshotWorkers: x.snapshot_workers as number,
      peerWorkers: x.peer_workers as number,
      datagramsReceived: x.datagrams_received as number,
      recordsReceived: x.records_received as number,
      forwardedOut: x.forwarded_out as number,
      forwardedIn: x.forwarded_in as number,
      lastHeardMs: x.last_heard_ms as number,
    });
  }
  return out;
}
