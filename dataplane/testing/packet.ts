/**
 * Byte-exact frames for data plane tests: builders and a strict parser for Ethernet, ARP, IPv4
 * (options, fragments), ICMP (echo, destination unreachable with the embedded original header),
 * TCP (every option the data plane touches, TOA included) and UDP, plus the Internet checksum.
 *
 * Pure: no I/O. Builders compute every length and checksum unless a spec overrides it, which is
 * how the malformed-frame cases in `malformed.ts` are made.
 *
 * @example
 * ```ts
 * const syn = buildFrame({
 *   eth: { src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" },
 *   ip: { src: "198.51.100.7", dst: "192.0.2.10" },
 *   tcp: { srcPort: 40000, dstPort: 80, seq: 1000, flags: "S", options: [{ kind: "mss", value: 1460 }] },
 * });
 * const view = parseFrame(syn);
 * console.log(view.tcp?.flags, view.tcp?.checksumValid); // "S" true
 * ```
 *
 * @module
 */

export * from "./packet_parse.ts";
import { internetChecksum, macBytes, pseudoHeaderSum, tcpFlagBits } from "./packet_util.ts";
import { ipv4Bytes } from "../../routing/ipv4.ts";
export { formatIpv4, ipv4Number } from "../../routing/ipv4.ts";
export {
  formatMac,
  fromHex,
  internetChecksum,
  l4Checksum,
  pseudoHeaderSum,
  tcpFlagBits,
  tcpFlagLetters,
  toHex,
} from "./packet_util.ts";

/** EtherType values the data plane handles. */
export const EtherType = { IPv4: 0x0800, ARP: 0x0806, VLAN: 0x8100 } as const;
/** IP protocol numbers the data plane handles. */
const IpProto = { ICMP: 1, TCP: 6, UDP: 17 } as const;
/** TCP option kinds. TOA's kind is configurable in the data plane; 254 is the default. */
const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
  TOA: 254,
} as const;

/** Ethernet header fields (the EtherType follows from the payload builder). */
export interface EthernetSpec {
  src: string;
  dst: string;
  /** Overrides the EtherType. */
  type?: number;
}

/** IPv4 header fields; the optional overrides exist to make malformed packets. */
export interface Ipv4Spec {
  src: string;
  dst: string;
  ttl?: number;
  id?: number;
  tos?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  /** Raw option bytes, padded here with EOL to a multiple of 4. */
  options?: Uint8Array;
  /** Overrides: header length field (in 32-bit words), total length, checksum, version. */
  ihl?: number;
  totalLength?: number;
  checksum?: number;
  version?: number;
  /** Overrides the protocol number chosen by the payload builder. */
  protocol?: number;
}

/** One TCP option as built or parsed. `raw` is any other kind (data excludes kind and length). */
export type TcpOption =
  | { kind: "eol" }
  | { kind: "nop" }
  | { kind: "mss"; value: number }
  | { kind: "wscale"; shift: number }
  | { kind: "sackPermitted" }
  | { kind: "sack"; blocks: readonly (readonly [number, number])[] }
  | { kind: "timestamp"; value: number; echo: number }
  | { kind: "toa"; port: number; address: string; type?: number }
  | { kind: "raw"; type: number; data: Uint8Array };

/** TCP flags as letters in tcpdump's order: F S R P A U E C (e.g. "S", "SA", "PA", "FA", "R"). */
export type TcpFlagLetters = string;

/** TCP segment fields; the optional overrides exist to make malformed packets. */
export interface TcpSpec {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags: TcpFlagLetters;
  window?: number;
  urgent?: number;
  options?: readonly TcpOption[];
  payload?: Uint8Array;
  /** Overrides the data offset field (in 32-bit words) and the checksum. */
  dataOffset?: number;
  checksum?: number;
}

/** UDP datagram fields; `checksum: 0` sends none. */
export interface UdpSpec {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  length?: number;
  checksum?: number;
}

/** ICMP message: type, code, the 4 bytes after the checksum, and the body. */
export interface IcmpSpec {
  type: number;
  code: number;
  /** Bytes 4..7 of the header as one number (echo: id << 16 | seq; frag-needed: MTU). */
  rest?: number;
  payload?: Uint8Array;
  checksum?: number;
}

/** ARP for IPv4 over Ethernet: op 1 = request, 2 = reply. */
export interface ArpSpec {
  op: 1 | 2;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** One whole frame: Ethernet plus exactly one of ARP, or IPv4 with TCP, UDP, ICMP or raw bytes. */
export type FrameSpec =
  | { eth: EthernetSpec; arp: ArpSpec }
  | { eth: EthernetSpec; ip: Ipv4Spec; tcp: TcpSpec }
  | { eth: EthernetSpec; ip: Ipv4Spec; udp: UdpSpec }
  | { eth: EthernetSpec; ip: Ipv4Spec; icmp: IcmpSpec }
  | { eth: EthernetSpec; ip: Ipv4Spec & { protocol: number }; raw: Uint8Array };

function u16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

function u32(b: Uint8Array, off: number, v: number): void {
  u16(b, off, (v >>> 16) & 0xffff);
  u16(b, off + 2, v & 0xffff);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Pads with zero (EOL) bytes to a multiple of 4. */
function pad4(b: Uint8Array): Uint8Array {
  return b.length % 4 === 0 ? b : concat(b, new Uint8Array(4 - (b.length % 4)));
}

/** Encodes TCP options in order, without padding (see {@linkcode tcpSegment}, which pads). */
export function encodeTcpOptions(options: readonly TcpOption[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const o of options) {
    switch (o.kind) {
      case "eol":
        parts.push(Uint8Array.of(0));
        break;
      case "nop":
        parts.push(Uint8Array.of(1));
        break;
      case "mss": {
        const b = Uint8Array.of(2, 4, 0, 0);
        u16(b, 2, o.value);
        parts.push(b);
        break;
      }
      case "wscale":
        parts.push(Uint8Array.of(3, 3, o.shift));
        break;
      case "sackPermitted":
        parts.push(Uint8Array.of(4, 2));
        break;
      case "sack": {
        const b = new Uint8Array(2 + 8 * o.blocks.length);
        b[0] = 5;
        b[1] = b.length;
        o.blocks.forEach(([l, r], i) => {
          u32(b, 2 + 8 * i, l);
          u32(b, 6 + 8 * i, r);
        });
        parts.push(b);
        break;
      }
      case "timestamp": {
        const b = new Uint8Array(10);
        b[0] = 8;
        b[1] = 10;
        u32(b, 2, o.value);
        u32(b, 6, o.echo);
        parts.push(b);
        break;
      }
      case "toa": {
        const b = new Uint8Array(8);
        b[0] = o.type ?? TcpOptionKind.TOA;
        b[1] = 8;
        u16(b, 2, o.port);
        b.set(ipv4Bytes(o.address), 4);
        parts.push(b);
        break;
      }
      case "raw":
        parts.push(concat(Uint8Array.of(o.type, o.data.length + 2), o.data));
        break;
    }
  }
  return concat(...parts);
}

/** Builds a TCP segment (header, options padded to 4 bytes, payload) with its checksum. */
export function tcpSegment(spec: TcpSpec, ip: { src: string; dst: string }): Uint8Array {
  const opts = pad4(encodeTcpOptions(spec.options ?? []));
  const payload = spec.payload ?? new Uint8Array();
  const seg = new Uint8Array(20 + opts.length + payload.length);
  u16(seg, 0, spec.srcPort);
  u16(seg, 2, spec.dstPort);
  u32(seg, 4, spec.seq ?? 0);
  u32(seg, 8, spec.ack ?? 0);
  seg[12] = ((spec.dataOffset ?? (20 + opts.length) / 4) & 0xf) << 4;
  seg[13] = tcpFlagBits(spec.flags);
  u16(seg, 14, spec.window ?? 65535);
  u16(seg, 18, spec.urgent ?? 0);
  seg.set(opts, 20);
  seg.set(payload, 20 + opts.length);
  const sum = spec.checksum ??
    internetChecksum(seg, pseudoHeaderSum(ip.src, ip.dst, IpProto.TCP, seg.length));
  u16(seg, 16, sum);
  return seg;
}

/** Builds a UDP datagram with its checksum (a computed 0 is sent as 0xffff, RFC 768). */
export function udpDatagram(spec: UdpSpec, ip: { src: string; dst: string }): Uint8Array {
  const payload = spec.payload ?? new Uint8Array();
  const d = new Uint8Array(8 + payload.length);
  u16(d, 0, spec.srcPort);
  u16(d, 2, spec.dstPort);
  u16(d, 4, spec.length ?? d.length);
  d.set(payload, 8);
  let sum = spec.checksum;
  if (sum === undefined) {
    sum = internetChecksum(d, pseudoHeaderSum(ip.src, ip.dst, IpProto.UDP, d.length));
    if (sum === 0) sum = 0xffff;
  }
  u16(d, 6, sum);
  return d;
}

/** Builds an ICMP message with its checksum. */
function icmpMessage(spec: IcmpSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array();
  const m = new Uint8Array(8 + payload.length);
  m[0] = spec.type;
  m[1] = spec.code;
  u32(m, 4, spec.rest ?? 0);
  m.set(payload, 8);
  u16(m, 2, spec.checksum ?? internetChecksum(m));
  return m;
}

/** ICMP echo request (type 8) or reply (type 0). */
export function icmpEcho(
  reply: boolean,
  id: number,
  seq: number,
  payload: Uint8Array = new Uint8Array(),
): IcmpSpec {
  return { type: reply ? 0 : 8, code: 0, rest: ((id & 0xffff) << 16) | (seq & 0xffff), payload };
}

/**
 * ICMP destination unreachable, fragmentation needed (type 3, code 4) carrying the next-hop MTU
 * and the original datagram's IP header plus (at least) its first 8 bytes.
 */
export function icmpFragNeeded(mtu: number, original: Uint8Array): IcmpSpec {
  return { type: 3, code: 4, rest: mtu & 0xffff, payload: original };
}

/** Builds an IPv4 packet around `payload` with its header checksum. */
export function ipv4Packet(spec: Ipv4Spec, protocol: number, payload: Uint8Array): Uint8Array {
  const opts = pad4(spec.options ?? new Uint8Array());
  const hlen = 20 + opts.length;
  if (hlen > 60) {
    throw new RangeError(`Cannot build an IPv4 header of ${hlen} bytes: the maximum is 60`);
  }
  const p = new Uint8Array(hlen + payload.length);
  p[0] = ((spec.version ?? 4) << 4) | ((spec.ihl ?? hlen / 4) & 0xf);
  p[1] = spec.tos ?? 0;
  u16(p, 2, spec.totalLength ?? p.length);
  u16(p, 4, spec.id ?? 0);
  const off = spec.fragmentOffset ?? 0;
  if (off % 8 !== 0) {
    throw new RangeError(`Cannot build fragment offset ${off}: it must be a multiple of 8`);
  }
  u16(
    p,
    6,
    (spec.dontFragment ? 0x4000 : 0) | (spec.moreFragments ? 0x2000 : 0) | (off / 8),
  );
  p[8] = spec.ttl ?? 64;
  p[9] = spec.protocol ?? protocol;
  p.set(ipv4Bytes(spec.src), 12);
  p.set(ipv4Bytes(spec.dst), 16);
  p.set(opts, 20);
  u16(p, 10, spec.checksum ?? internetChecksum(p.subarray(0, hlen)));
  p.set(payload, hlen);
  return p;
}

/** Builds an ARP packet (28 bytes) for IPv4 over Ethernet. */
function arpPacket(spec: ArpSpec): Uint8Array {
  const a = new Uint8Array(28);
  u16(a, 0, 1);
  u16(a, 2, EtherType.IPv4);
  a[4] = 6;
  a[5] = 4;
  u16(a, 6, spec.op);
  a.set(macBytes(spec.senderMac), 8);
  a.set(ipv4Bytes(spec.senderIp), 14);
  a.set(macBytes(spec.targetMac), 18);
  a.set(ipv4Bytes(spec.targetIp), 24);
  return a;
}

/** Builds an Ethernet frame (no FCS, no padding: DPDK virtual ports carry frames as given). */
export function ethernetFrame(spec: EthernetSpec, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(macBytes(spec.dst), 0);
  f.set(macBytes(spec.src), 6);
  u16(f, 12, spec.type ?? type);
  f.set(payload, 14);
  return f;
}

/** Builds one whole frame from its layered spec, computing every length and checksum. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  if ("arp" in spec) return ethernetFrame(spec.eth, EtherType.ARP, arpPacket(spec.arp));
  let proto: number;
  let l4: Uint8Array;
  if ("tcp" in spec) {
    proto = IpProto.TCP;
    l4 = tcpSegment(spec.tcp, spec.ip);
  } else if ("udp" in spec) {
    proto = IpProto.UDP;
    l4 = udpDatagram(spec.udp, spec.ip);
  } else if ("icmp" in spec) {
    proto = IpProto.ICMP;
    l4 = icmpMessage(spec.icmp);
  } else {
    proto = spec.ip.protocol;
    l4 = spec.raw;
  }
  return ethernetFrame(spec.eth, EtherType.IPv4, ipv4Packet(spec.ip, proto, l4));
}
