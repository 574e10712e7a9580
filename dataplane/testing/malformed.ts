/**
 * One frame per class of malformed input that the data plane must drop and count (issue 3,
 * item 7): truncated Ethernet/IPv4/TCP/UDP, bad version, IHL or total length, bad TCP data offset,
 * TCP options overrunning the header, IPv4 options, fragments, and bad checksums.
 *
 * Each frame is otherwise a plausible packet of the given flow (client → VIP), so a data plane
 * that skipped a check would forward it or create a session.
 *
 * @example
 * ```ts
 * for (const c of malformedFrames(flow)) console.log(c.name, c.frame.length);
 * ```
 *
 * @module
 */

import { buildFrame, ethernetFrame, type EthernetSpec, EtherType, ipv4Packet } from "./packet.ts";

/** The flow a malformed frame pretends to belong to. */
export interface MalformedFlow {
  eth: EthernetSpec;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
}

/** The class of problem, matching the data plane's drop reasons. */
export type MalformedClass =
  | "truncated_ethernet"
  | "truncated_ipv4"
  | "bad_ipv4_version"
  | "bad_ipv4_ihl"
  | "bad_ipv4_total_length"
  | "bad_ipv4_checksum"
  | "ipv4_options"
  | "ipv4_fragment"
  | "truncated_tcp"
  | "bad_tcp_data_offset"
  | "tcp_options_overrun"
  | "bad_tcp_checksum"
  | "truncated_udp"
  | "bad_udp_length"
  | "bad_udp_checksum";

/** One malformed frame: a unique name, its class, what is wrong, and the bytes. */
export interface MalformedCase {
  name: string;
  class: MalformedClass;
  description: string;
  frame: Uint8Array;
}

/** Returns a copy of `b` with bytes set at `off`. */
function patch(b: Uint8Array, off: number, ...bytes: number[]): Uint8Array {
  const c = b.slice();
  c.set(bytes, off);
  return c;
}

/** Every malformed-frame case for one flow, TCP and UDP. */
export function malformedFrames(flow: MalformedFlow): MalformedCase[] {
  const ip = { src: flow.src, dst: flow.dst, id: 7 };
  const ports = { srcPort: flow.srcPort, dstPort: flow.dstPort };
  const syn = { ...ports, seq: 1000, flags: "S", options: [{ kind: "mss" as const, value: 1460 }] };
  const good = buildFrame({ eth: flow.eth, ip, tcp: syn });
  const goodUdp = buildFrame({
    eth: flow.eth,
    ip,
    udp: { ...ports, payload: new TextEncoder().encode("hello") },
  });
  const tcpBytes = good.subarray(34);
  const c = (name: string, cls: MalformedClass, description: string, frame: Uint8Array) => ({
    name,
    class: cls,
    description,
    frame,
  });
  return [
    c(
      "truncated_ethernet",
      "truncated_ethernet",
      "10 bytes, shorter than an Ethernet header",
      good.slice(0, 10),
    ),
    c("truncated_ipv4", "truncated_ipv4", "IPv4 header cut after 12 bytes", good.slice(0, 14 + 12)),
    c(
      "bad_ipv4_version",
      "bad_ipv4_version",
      "version 6 in an IPv4 EtherType frame",
      (() => {
        const f = buildFrame({ eth: flow.eth, ip: { ...ip, version: 6 }, tcp: syn });
        return f;
      })(),
    ),
    c(
      "bad_ipv4_ihl_small",
      "bad_ipv4_ihl",
      "IHL 4 (16 bytes), below the minimum 5",
      buildFrame({ eth: flow.eth, ip: { ...ip, ihl: 4 }, tcp: syn }),
    ),
    c(
      "bad_ipv4_ihl_large",
      "bad_ipv4_ihl",
      "IHL 15 (60 bytes) beyond the total length of 44",
      buildFrame({ eth: flow.eth, ip: { ...ip, ihl: 15 }, tcp: syn }),
    ),
    c(
      "bad_ipv4_total_length_long",
      "bad_ipv4_total_length",
      "total length 1500 beyond the 44 bytes received",
      buildFrame({ eth: flow.eth, ip: { ...ip, totalLength: 1500 }, tcp: syn }),
    ),
    c(
      "bad_ipv4_total_length_short",
      "bad_ipv4_total_length",
      "total length 16, below the header length",
      buildFrame({ eth: flow.eth, ip: { ...ip, totalLength: 16 }, tcp: syn }),
    ),
    c(
      "bad_ipv4_checksum",
      "bad_ipv4_checksum",
      "IPv4 header checksum off by one",
      patch(good, 14 + 11, good[14 + 11]! ^ 1),
    ),
    c(
      "ipv4_options",
      "ipv4_options",
      "a valid SYN carrying the IPv4 Router Alert option",
      buildFrame({ eth: flow.eth, ip: { ...ip, options: Uint8Array.of(0x94, 4, 0, 0) }, tcp: syn }),
    ),
    c(
      "ipv4_fragment_first",
      "ipv4_fragment",
      "first fragment (MF set, offset 0)",
      buildFrame({ eth: flow.eth, ip: { ...ip, moreFragments: true }, tcp: syn }),
    ),
    c(
      "ipv4_fragment_later",
      "ipv4_fragment",
      "a later fragment (offset 1480, no MF)",
      ethernetFrame(
        flow.eth,
        EtherType.IPv4,
        ipv4Packet({ ...ip, fragmentOffset: 1480 }, 6, new Uint8Array(24).fill(0xab)),
      ),
    ),
    c(
      "truncated_tcp",
      "truncated_tcp",
      "12 bytes of TCP header inside a consistent IPv4 packet",
      ethernetFrame(flow.eth, EtherType.IPv4, ipv4Packet(ip, 6, tcpBytes.slice(0, 12))),
    ),
    c(
      "bad_tcp_data_offset_small",
      "bad_tcp_data_offset",
      "TCP data offset 4 (16 bytes), below the minimum 5",
      buildFrame({ eth: flow.eth, ip, tcp: { ...syn, options: [], dataOffset: 4 } }),
    ),
    c(
      "bad_tcp_data_offset_large",
      "bad_tcp_data_offset",
      "TCP data offset 15 (60 bytes) beyond the 24-byte segment",
      buildFrame({ eth: flow.eth, ip, tcp: { ...syn, dataOffset: 15 } }),
    ),
    c(
      "tcp_options_overrun",
      "tcp_options_overrun",
      "an MSS option claiming 8 bytes in a 4-byte option space",
      buildFrame({
        eth: flow.eth,
        ip,
        tcp: {
          ...syn,
          options: [{ kind: "raw", type: 2, data: Uint8Array.of(5, 180, 1, 1, 1, 1) }],
          dataOffset: 6,
        },
      }),
    ),
    c(
      "bad_tcp_checksum",
      "bad_tcp_checksum",
      "TCP checksum off by one",
      patch(good, 34 + 17, good[34 + 17]! ^ 1),
    ),
    c(
      "truncated_udp",
      "truncated_udp",
      "4 bytes of UDP header inside a consistent IPv4 packet",
      ethernetFrame(flow.eth, EtherType.IPv4, ipv4Packet(ip, 17, goodUdp.slice(34, 38))),
    ),
    c(
      "bad_udp_length_long",
      "bad_udp_length",
      "UDP length 200 beyond the 13-byte datagram",
      buildFrame({
        eth: flow.eth,
        ip,
        udp: { ...ports, payload: Uint8Array.of(1, 2, 3, 4, 5), length: 200 },
      }),
    ),
    c(
      "bad_udp_length_short",
      "bad_udp_length",
      "UDP length 4, below the 8-byte header",
      buildFrame({
        eth: flow.eth,
        ip,
        udp: { ...ports, payload: Uint8Array.of(1, 2, 3, 4, 5), length: 4 },
      }),
    ),
    c(
      "bad_udp_checksum",
      "bad_udp_checksum",
      "UDP checksum off by one",
      patch(goodUdp, 34 + 7, goodUdp[34 + 7]! ^ 1),
    ),
  ];
}
