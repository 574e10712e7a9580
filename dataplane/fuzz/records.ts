/**
 * Encodes inputs of the packet-path fuzzer (`fnat_fuzz.c` decodes them): a sequence of records,
 * each one frame (built by the harness around a few fields, raw, or answering a frame the data
 * plane sent), a poll, or a configuration swap. The seeds are written with it.
 *
 *     record := hdr:u8 clock:u8 len:u16le body[len]
 *     hdr    := kind:4 | hold:1 | port:1 | queue:2
 *
 * The fuzz network, by index as the bodies name it: clients 10.9.1.2, 198.51.100.7,
 * 198.51.100.8, 203.0.113.9; real servers 10.0.0.11, .12 (static neighbours), .13 (learned by
 * ARP), .99 (nobody's); LIPs 10.0.0.100, .101, .102 (the last in configuration 4 only).
 *
 * @example
 * ```ts
 * const input = encodeInput([
 *   tcpIn({ service: Service.plain, flags: "S", seq: 1000 }),
 *   reply({}), // the real server's SYN-ACK to the SYN the data plane sent it
 * ]);
 * ```
 *
 * @module
 */

import { encodeTcpOptions, tcpFlagBits, type TcpOption } from "../testing/packet.ts";

/** Record kinds (the high nibble of the header byte). */
const Kind = {
  raw: 0,
  fixed: 1,
  tcpIn: 2,
  tcpOut: 3,
  udpIn: 4,
  udpOut: 5,
  icmp: 6,
  arp: 7,
  reply: 8,
  apply: 9,
  poll: 10,
} as const;

/** The harness's services, by index. */
export const Service = {
  /** 10.9.2.2:8080/tcp, rr over reals 0 and 1. */
  plain: 0,
  /** 10.9.2.2:443/tcp, wrr, SYNPROXY + TOA + timestamp stripping. */
  synproxyToa: 1,
  /** 10.9.2.2:9999/udp, Maglev over reals 0..2. */
  udpMaglev: 2,
  /** 10.9.1.1:9997/udp, rr to real 2 (resolved by ARP), expire on remove. */
  udpExpire: 3,
  /** 10.9.1.1:80/tcp, wlc, TOA, expire on remove, real 2 with weight 0. */
  tcpWlcToa: 4,
  /** 10.9.2.2:8443/tcp, SYNPROXY to real 2 with timeouts of a few seconds. */
  synproxyShort: 5,
} as const;

/** Configuration variants of the `apply` record. */
export const Variant = {
  base: 0,
  withoutPlain: 1,
  withoutFirstReal: 2,
  allWeightsZero: 3,
  lipsMoved: 4,
  noServices: 5,
  /** SYNPROXY and TOA switched on or off on every TCP service. */
  flagsFlipped: 6,
} as const;

/** Where a record's frame enters and how time moves before it. */
export interface Where {
  /** Test port 0 (10.0.0.2/24) or 1 (10.9.1.254/24, MTU 1400). */
  port?: 0 | 1;
  /** RX queue, i.e. the worker that receives it (0..2). */
  queue?: number;
  /** Inject without polling: the next polled record takes it in the same burst. */
  hold?: boolean;
  /** Advance the clock first (rounded to what the clock byte can say). */
  clockMs?: number;
}

/** The clock byte closest to `ms` from below: exact up to 99 ms, then 100 ms, then s². */
function clockByte(ms: number): number {
  if (ms < 100) return Math.max(0, Math.floor(ms));
  if (ms < 10_000) return 99 + Math.floor(ms / 100);
  return Math.min(255, 199 + Math.floor(Math.sqrt(ms / 1000)));
}

/** One record. */
export function record(kind: number, body: ArrayLike<number>, where: Where = {}): Uint8Array {
  if (body.length > 0xffff) throw new RangeError(`Cannot encode a record of ${body.length} bytes`);
  const hdr = (kind << 4) | (where.hold ? 8 : 0) | ((where.port ?? 0) << 2) |
    ((where.queue ?? 0) & 3);
  const r = new Uint8Array(4 + body.length);
  r.set([hdr, clockByte(where.clockMs ?? 0), body.length & 0xff, body.length >> 8]);
  r.set(body, 4);
  return r;
}

/** The records of one input, back to back. */
export function encodeInput(records: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let off = 0;
  for (const r of records) {
    out.set(r, off);
    off += r.length;
  }
  return out;
}

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const options = (o: readonly TcpOption[] = []) => {
  const b = encodeTcpOptions(o);
  return [b.length, ...b];
};

/** What a built frame carries besides its addresses. */
export interface FlowFields {
  /** TCP flags in tcpdump's letters ("S", "SA", "FA"...). */
  flags?: string;
  seq?: number;
  ack?: number;
  window?: number;
  options?: readonly TcpOption[];
  /** Payload length in units of 8 bytes (0..255). */
  payload8?: number;
  /** TTL 1 instead of 64. */
  ttl1?: boolean;
  /** A flipped bit in the L4 checksum. */
  badChecksum?: boolean;
}

function flowBody(sel: number, port: number, f: FlowFields, tcp: boolean): number[] {
  const mods = (f.ttl1 ? 1 : 0) | (f.badChecksum ? 2 : 0);
  const head = [sel, mods, port & 0xff];
  if (!tcp) return [...head, f.payload8 ?? 0];
  return [
    ...head,
    tcpFlagBits(f.flags ?? "A"),
    ...u32(f.seq ?? 0),
    ...u32(f.ack ?? 0),
    ...u16(f.window ?? 65535),
    ...options(f.options),
    f.payload8 ?? 0,
  ];
}

/** A client's TCP segment to a service: client index, port 40000 + clientPort. */
export function tcpIn(
  f: FlowFields & { client?: number; service?: number; clientPort?: number },
  where: Where = {},
): Uint8Array {
  const sel = (f.client ?? 0) | ((f.service ?? 0) << 2);
  return record(Kind.tcpIn, flowBody(sel, f.clientPort ?? 0, f, true), where);
}

/** A real server's TCP segment to a LIP port 1024 + lport8, from the port of `service`. */
export function tcpOut(
  f: FlowFields & { real?: number; lip?: number; service?: number; lport8?: number },
  where: Where = {},
): Uint8Array {
  const sel = (f.real ?? 0) | ((f.lip ?? 0) << 2) | ((f.service ?? 0) << 4);
  return record(Kind.tcpOut, flowBody(sel, f.lport8 ?? 0, f, true), where);
}

/** A client's UDP datagram to a service. */
export function udpIn(
  f: FlowFields & { client?: number; service?: number; clientPort?: number },
  where: Where = {},
): Uint8Array {
  const sel = (f.client ?? 0) | ((f.service ?? 0) << 2);
  return record(Kind.udpIn, flowBody(sel, f.clientPort ?? 0, f, false), where);
}

/** A real server's UDP datagram to a LIP port. */
export function udpOut(
  f: FlowFields & { real?: number; lip?: number; service?: number; lport8?: number },
  where: Where = {},
): Uint8Array {
  const sel = (f.real ?? 0) | ((f.lip ?? 0) << 2) | ((f.service ?? 0) << 4);
  return record(Kind.udpOut, flowBody(sel, f.lport8 ?? 0, f, false), where);
}

/**
 * The peer's answer to the frame the data plane sent `age` frames ago (0: the newest): a real
 * server's SYN-ACK to a SYN, a client's ACK to a SYN-ACK, FIN-ACK to a FIN, ACK to data, an ARP
 * reply to an ARP request; or with the flags given.
 */
export function reply(
  f: {
    age?: number;
    flags?: string;
    seqDelta?: number;
    ackDelta?: number;
    options?: readonly TcpOption[];
    payload8?: number;
    badChecksum?: boolean;
  },
  where: Where = {},
): Uint8Array {
  const delta = f.seqDelta ?? f.ackDelta ?? 0;
  const bits = (f.age ?? 0) | (f.flags !== undefined ? 0x10 : 0) |
    (f.seqDelta !== undefined ? 0x20 : 0) | (f.ackDelta !== undefined ? 0x40 : 0) |
    (f.badChecksum ? 0x80 : 0);
  const body = [
    bits,
    tcpFlagBits(f.flags ?? ""),
    delta & 0xff,
    ...options(f.options),
    f.payload8 ?? 0,
  ];
  return record(Kind.reply, body, where);
}

/**
 * An ICMP message. With `quote`, it quotes the frame the data plane sent `quote` frames ago and
 * goes to that frame's source (a VIP or LIP) from its peer (`fromPeer`) or a router; without,
 * it goes from client 0 to the VIP (or LIP 0 with `toLip`).
 */
export function icmp(
  f: {
    type: number;
    code?: number;
    rest?: number;
    quote?: number;
    fromPeer?: boolean;
    toLip?: boolean;
    shortQuote?: boolean;
    payload8?: number;
  },
  where: Where = {},
): Uint8Array {
  const bits = (f.quote ?? 0) | (f.fromPeer || f.toLip ? 0x10 : 0) | (f.shortQuote ? 0x20 : 0) |
    (f.quote === undefined ? 0x80 : 0);
  return record(
    Kind.icmp,
    [f.type, f.code ?? 0, bits, ...u32(f.rest ?? 0), f.payload8 ?? 0],
    where,
  );
}

/** ARP address selectors of the `arp` record. */
export const ArpAddr = {
  client0: 0,
  client1: 1,
  real0: 2,
  real1: 3,
  real2: 4,
  gateway: 5,
  vipA: 6,
  vipB: 7,
  lip0: 8,
  lip1: 9,
  port0: 10,
  port1: 11,
  zero: 12,
  random: 13,
  lip2: 14,
  stranger: 15,
} as const;

/** An ARP request (op 1) or reply (op 2) between two of the fuzz network's addresses. */
export function arp(
  f: { op: number; sender: number; target: number; mods?: number },
  where: Where = {},
): Uint8Array {
  return record(Kind.arp, [f.op, f.sender, f.target, f.mods ?? 0, 0, 0, 0, 0], where);
}

/** Swap the configuration for a variant (the first `apply` of an input only). */
export function apply(variant: number, where: Where = {}): Uint8Array {
  return record(Kind.apply, [variant], where);
}

/** Poll the queue's worker once (without the others). */
export function poll(where: Where = {}): Uint8Array {
  return record(Kind.poll, [], where);
}

/** A frame as is (`fixed`: with its IPv4 and L4 checksums recomputed). */
export function raw(frame: Uint8Array, where: Where = {}, fixed = false): Uint8Array {
  return record(fixed ? Kind.fixed : Kind.raw, frame, where);
}
