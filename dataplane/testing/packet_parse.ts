/**
 * A strict parser for the frames the data plane emits: every length is checked (a malformed frame
 * is a `SyntaxError` naming the layer, rule and value) and every checksum is verified and reported.
 *
 * @module
 */

import type { TcpOption } from "./packet.ts";
import { formatMac, internetChecksum, l4Checksum, tcpFlagLetters } from "./packet_util.ts";
import { formatIpv4 } from "../../routing/ipv4.ts";
import { errorText } from "../../routing/errors.ts";

/** Ethernet header. */
export interface ParsedEthernet {
  dst: string;
  src: string;
  type: number;
}

/** ARP for IPv4 over Ethernet. */
export interface ParsedArp {
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** IPv4 header; `payload` is cut at the total length (Ethernet padding excluded). */
export interface ParsedIpv4 {
  version: number;
  /** Header length field, in 32-bit words. */
  ihl: number;
  tos: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  checksumValid: boolean;
  src: string;
  dst: string;
  options: Uint8Array;
  payload: Uint8Array;
}

/** TCP segment. */
export interface ParsedTcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Data offset field, in 32-bit words. */
  dataOffset: number;
  /** Letters in tcpdump's order, e.g. "SA". */
  flags: string;
  flagBits: number;
  window: number;
  checksum: number;
  checksumValid: boolean;
  urgent: number;
  /** Options in order; trailing EOL padding appears as one `eol`. */
  options: TcpOption[];
  rawOptions: Uint8Array;
  payload: Uint8Array;
}

/** UDP datagram; a zero checksum means none was sent and counts as valid. */
export interface ParsedUdp {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  checksumValid: boolean;
  payload: Uint8Array;
}

/** The original datagram quoted by an ICMP error: its IP header and first L4 bytes. */
export interface ParsedQuote {
  ipv4: Omit<ParsedIpv4, "payload">;
  /** Source and destination ports (TCP/UDP), and the TCP sequence number, when quoted. */
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  /** The quoted bytes after the IP header. */
  l4: Uint8Array;
}

/** ICMP message. */
export interface ParsedIcmp {
  type: number;
  code: number;
  checksum: number;
  checksumValid: boolean;
  /** Bytes 4..7 of the header as one unsigned number. */
  rest: number;
  /** Echo identifier and sequence (types 0 and 8). */
  id?: number;
  seq?: number;
  /** Next-hop MTU (type 3 code 4). */
  mtu?: number;
  /** The quoted original datagram of an error (types 3, 4, 5, 11, 12). */
  quote?: ParsedQuote;
  payload: Uint8Array;
}

/** A parsed frame: the layers present. L4 is parsed only for unfragmented IPv4. */
export interface ParsedFrame {
  eth: ParsedEthernet;
  arp?: ParsedArp;
  ipv4?: ParsedIpv4;
  tcp?: ParsedTcp;
  udp?: ParsedUdp;
  icmp?: ParsedIcmp;
}

/** Parser options. */
export interface ParseOptions {
  /** The TCP option kind parsed as TOA (default 254). */
  toaKind?: number;
}

function r16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

function r32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function need(layer: string, have: number, want: number): void {
  if (have < want) {
    throw new SyntaxError(`Cannot parse ${layer}: ${have} bytes, at least ${want} needed`);
  }
}

/** Parses IPv4 TCP options; a length that overruns the option space is a `SyntaxError`. */
export function parseTcpOptions(b: Uint8Array, opts: ParseOptions = {}): TcpOption[] {
  const toaKind = opts.toaKind ?? 254;
  const out: TcpOption[] = [];
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === 0) {
      out.push({ kind: "eol" });
      break;
    }
    if (kind === 1) {
      out.push({ kind: "nop" });
      i++;
      continue;
    }
    if (i + 1 >= b.length) {
      throw new SyntaxError(`Cannot parse TCP option ${kind} at ${i}: no length`);
    }
    const len = b[i + 1]!;
    if (len < 2 || i + len > b.length) {
      throw new SyntaxError(
        `Cannot parse TCP option ${kind} at ${i}: length ${len} overruns ${b.length} option bytes`,
      );
    }
    const d = b.subarray(i + 2, i + len);
    if (kind === 2 && len === 4) out.push({ kind: "mss", value: r16(d, 0) });
    else if (kind === 3 && len === 3) out.push({ kind: "wscale", shift: d[0]! });
    else if (kind === 4 && len === 2) out.push({ kind: "sackPermitted" });
    else if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
      const blocks: [number, number][] = [];
      for (let j = 0; j < d.length; j += 8) blocks.push([r32(d, j), r32(d, j + 4)]);
      out.push({ kind: "sack", blocks });
    } else if (kind === 8 && len === 10) {
      out.push({ kind: "timestamp", value: r32(d, 0), echo: r32(d, 4) });
    } else if (kind === toaKind && len === 8) {
      const toa: TcpOption = { kind: "toa", port: r16(d, 0), address: formatIpv4(d, 2) };
      out.push(toaKind === 254 ? toa : { ...toa, type: toaKind });
    } else out.push({ kind: "raw", type: kind, data: d.slice() });
    i += len;
  }
  return out;
}

function parseIpv4Header(b: Uint8Array, layer: string): Omit<ParsedIpv4, "payload"> {
  need(layer, b.length, 20);
  const version = b[0]! >> 4;
  const ihl = b[0]! & 0xf;
  if (version !== 4) throw new SyntaxError(`Cannot parse ${layer}: version ${version}, expected 4`);
  if (ihl < 5) throw new SyntaxError(`Cannot parse ${layer}: IHL ${ihl} below the minimum 5`);
  need(layer, b.length, ihl * 4);
  const frag = r16(b, 6);
  return {
    version,
    ihl,
    tos: b[1]!,
    totalLength: r16(b, 2),
    id: r16(b, 4),
    dontFragment: (frag & 0x4000) !== 0,
    moreFragments: (frag & 0x2000) !== 0,
    fragmentOffset: (frag & 0x1fff) * 8,
    ttl: b[8]!,
    protocol: b[9]!,
    checksum: r16(b, 10),
    checksumValid: internetChecksum(b.subarray(0, ihl * 4)) === 0,
    src: formatIpv4(b, 12),
    dst: formatIpv4(b, 16),
    options: b.slice(20, ihl * 4),
  };
}

function parseTcp(ip: ParsedIpv4, opts: ParseOptions): ParsedTcp {
  const s = ip.payload;
  need("TCP header", s.length, 20);
  const dataOffset = s[12]! >> 4;
  if (dataOffset < 5 || dataOffset * 4 > s.length) {
    throw new SyntaxError(
      `Cannot parse TCP header: data offset ${dataOffset} (${
        dataOffset * 4
      } bytes) outside 20..${s.length}`,
    );
  }
  const rawOptions = s.slice(20, dataOffset * 4);
  return {
    srcPort: r16(s, 0),
    dstPort: r16(s, 2),
    seq: r32(s, 4),
    ack: r32(s, 8),
    dataOffset,
    flagBits: s[13]!,
    flags: tcpFlagLetters(s[13]!),
    window: r16(s, 14),
    checksum: r16(s, 16),
    checksumValid: l4Checksum(ip.src, ip.dst, 6, s) === 0,
    urgent: r16(s, 18),
    rawOptions,
    options: parseTcpOptions(rawOptions, opts),
    payload: s.slice(dataOffset * 4),
  };
}

function parseUdp(ip: ParsedIpv4): ParsedUdp {
  const d = ip.payload;
  need("UDP header", d.length, 8);
  const length = r16(d, 4);
  if (length < 8 || length > d.length) {
    throw new SyntaxError(`Cannot parse UDP header: length ${length} outside 8..${d.length}`);
  }
  const checksum = r16(d, 6);
  const seg = d.subarray(0, length);
  return {
    srcPort: r16(d, 0),
    dstPort: r16(d, 2),
    length,
    checksum,
    checksumValid: checksum === 0 || l4Checksum(ip.src, ip.dst, 17, seg) === 0,
    payload: d.slice(8, length),
  };
}

function parseQuote(b: Uint8Array): ParsedQuote {
  const ipv4 = parseIpv4Header(b, "quoted IPv4 header");
  const l4 = b.slice(ipv4.ihl * 4);
  const q: ParsedQuote = { ipv4, l4 };
  if ((ipv4.protocol === 6 || ipv4.protocol === 17) && l4.length >= 4) {
    q.srcPort = r16(l4, 0);
    q.dstPort = r16(l4, 2);
  }
  if (ipv4.protocol === 6 && l4.length >= 8) q.seq = r32(l4, 4);
  return q;
}

function parseIcmp(ip: ParsedIpv4): ParsedIcmp {
  const m = ip.payload;
  need("ICMP header", m.length, 8);
  const type = m[0]!;
  const code = m[1]!;
  const rest = r32(m, 4);
  const out: ParsedIcmp = {
    type,
    code,
    checksum: r16(m, 2),
    checksumValid: internetChecksum(m) === 0,
    rest,
    payload: m.slice(8),
  };
  if (type === 0 || type === 8) {
    out.id = rest >>> 16;
    out.seq = rest & 0xffff;
  }
  if (type === 3 && code === 4) out.mtu = rest & 0xffff;
  if ([3, 4, 5, 11, 12].includes(type)) out.quote = parseQuote(out.payload);
  return out;
}

/**
 * Parses a frame into its layers. Throws `SyntaxError` on a truncated or inconsistent header
 * (IPv4 total length beyond the frame, IHL below 5, TCP data offset outside the segment, an
 * option overrunning the header). Checksums are verified and reported, never thrown.
 */
export function parseFrame(frame: Uint8Array, opts: ParseOptions = {}): ParsedFrame {
  need("Ethernet header", frame.length, 14);
  const eth = { dst: formatMac(frame, 0), src: formatMac(frame, 6), type: r16(frame, 12) };
  const body = frame.subarray(14);
  const out: ParsedFrame = { eth };
  if (eth.type === 0x0806) {
    need("ARP packet", body.length, 28);
    out.arp = {
      op: r16(body, 6),
      senderMac: formatMac(body, 8),
      senderIp: formatIpv4(body, 14),
      targetMac: formatMac(body, 18),
      targetIp: formatIpv4(body, 24),
    };
    return out;
  }
  if (eth.type !== 0x0800) return out;
  const h = parseIpv4Header(body, "IPv4 header");
  if (h.totalLength < h.ihl * 4 || h.totalLength > body.length) {
    throw new SyntaxError(
      `Cannot parse IPv4 header: total length ${h.totalLength} outside ${
        h.ihl * 4
      }..${body.length}`,
    );
  }
  const ip: ParsedIpv4 = { ...h, payload: body.slice(h.ihl * 4, h.totalLength) };
  out.ipv4 = ip;
  if (ip.moreFragments || ip.fragmentOffset !== 0) return out;
  if (ip.protocol === 6) out.tcp = parseTcp(ip, opts);
  else if (ip.protocol === 17) out.udp = parseUdp(ip);
  else if (ip.protocol === 1) out.icmp = parseIcmp(ip);
  return out;
}

/** The names of the checksums in a parsed frame that do not verify (empty when all are valid). */
export function badChecksums(p: ParsedFrame): string[] {
  const bad: string[] = [];
  if (p.ipv4 && !p.ipv4.checksumValid) bad.push("ipv4");
  if (p.tcp && !p.tcp.checksumValid) bad.push("tcp");
  if (p.udp && !p.udp.checksumValid) bad.push("udp");
  if (p.icmp && !p.icmp.checksumValid) bad.push("icmp");
  if (p.icmp?.quote && !p.icmp.quote.ipv4.checksumValid) bad.push("quoted ipv4");
  return bad;
}

/** A one-line tcpdump-like summary of a frame, for test messages. */
export function describeFrame(frame: Uint8Array, opts: ParseOptions = {}): string {
  let p: ParsedFrame;
  try {
    p = parseFrame(frame, opts);
  } catch (e) {
    return `malformed (${errorText(e)}), ${frame.length} bytes`;
  }
  if (p.arp) {
    return `ARP ${p.arp.op === 1 ? "who-has" : "reply"} ${p.arp.targetIp} tell ${p.arp.senderIp}`;
  }
  const ip = p.ipv4;
  if (!ip) return `ethertype 0x${p.eth.type.toString(16)} ${frame.length} bytes`;
  if (p.tcp) {
    const t = p.tcp;
    return `TCP ${ip.src}:${t.srcPort} > ${ip.dst}:${t.dstPort} [${t.flags}] seq ${t.seq} ack ${t.ack} ` +
      `win ${t.window} opts ${JSON.stringify(t.options)} len ${t.payload.length}`;
  }
  if (p.udp) {
    return `UDP ${ip.src}:${p.udp.srcPort} > ${ip.dst}:${p.udp.dstPort} len ${p.udp.payload.length}`;
  }
  if (p.icmp) return `ICMP ${ip.src} > ${ip.dst} type ${p.icmp.type} code ${p.icmp.code}`;
  return `IPv4 ${ip.src} > ${ip.dst} proto ${ip.protocol} frag ${ip.fragmentOffset}` +
    `${ip.moreFragments ? "+" : ""}`;
}
