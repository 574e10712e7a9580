/**
 * The fuzzer's seed inputs: every frame of the malformed catalogue (`malformed.ts`) and of the
 * captured fixtures (`fixtures/packets/`), and valid conversations through each kind of service
 * (plain, SYNPROXY with TOA, UDP, expiry, ICMP errors, ARP, handoff between workers, bursts,
 * configuration swaps) from which the fuzzer mutates its way into the deeper states.
 *
 * @example
 * ```ts
 * for (const [name, input] of seedInputs()) console.log(name, input.length);
 * ```
 *
 * @module
 */

import { fromHex } from "../testing/packet.ts";
import { malformedFrames } from "../testing/malformed.ts";
import {
  apply,
  arp,
  ArpAddr,
  encodeInput,
  icmp,
  poll,
  raw,
  reply,
  Service,
  tcpIn,
  tcpOut,
  udpIn,
  udpOut,
  Variant,
} from "./records.ts";
import type { TcpOption } from "../testing/packet.ts";

const FIXTURES = new URL("../../fixtures/packets/", import.meta.url);

/** A SYN's usual options: MSS, SACK permitted, timestamps, window scale. */
const SYN_OPTIONS: TcpOption[] = [
  { kind: "mss", value: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamp", value: 1000, echo: 0 },
  { kind: "nop" },
  { kind: "wscale", shift: 7 },
];

/** Frames of the malformed catalogue, aimed at the TCP and the UDP service of the VIP. */
function malformedSeeds(): [string, Uint8Array][] {
  const flow = {
    eth: { src: "02:c1:00:00:00:01", dst: "02:fa:00:00:00:01" },
    src: "10.9.1.2",
    dst: "10.9.2.2",
    srcPort: 40001,
    dstPort: 8080,
  };
  const out: [string, Uint8Array][] = [];
  for (const dstPort of [8080, 9999]) {
    const cases = malformedFrames({ ...flow, dstPort });
    for (const c of cases) {
      out.push([`malformed-${dstPort}-${c.name}`, encodeInput([raw(c.frame)])]);
    }
    // All of them on an established flow, across workers.
    out.push([
      `malformed-${dstPort}-all`,
      encodeInput([
        tcpIn({ service: Service.plain, flags: "S", clientPort: 1, options: SYN_OPTIONS }),
        ...cases.map((c, i) => raw(c.frame, { queue: i % 3, hold: i % 2 === 0 })),
      ]),
    ]);
  }
  return out;
}

/** The captured fixtures, one seed each, and the TCP conversation among them in order. */
function fixtureSeeds(): [string, Uint8Array][] {
  const frames = new Map<string, Uint8Array>();
  for (const e of Deno.readDirSync(FIXTURES)) {
    if (!e.name.endsWith(".hex")) continue;
    frames.set(e.name.slice(0, -4), fromHex(Deno.readTextFileSync(new URL(e.name, FIXTURES))));
  }
  const out: [string, Uint8Array][] = [...frames].sort().map(([name, f]) => [
    `fixture-${name}`,
    encodeInput([raw(f, { port: 1 })]),
  ]);
  const tcp = ["tcp_syn", "tcp_ack", "tcp_data", "tcp_fin"].map((n) => frames.get(n)!);
  out.push(["fixture-tcp-conversation", encodeInput(tcp.map((f) => raw(f, { port: 1 })))]);
  return out;
}

/** Valid conversations: the states a frame has to be in the right place at the right time for. */
function conversationSeeds(): [string, Uint8Array][] {
  const s: [string, Uint8Array[]][] = [
    ["plain-handshake-data-close", [
      tcpIn({ service: Service.plain, flags: "S", seq: 1000, options: SYN_OPTIONS }),
      reply({}), // real server: SYN-ACK
      reply({}), // client: ACK
      reply({ flags: "PA", payload8: 4 }, { clockMs: 5 }), // real server: data
      reply({ payload8: 2 }), // client: ACK with data
      reply({ flags: "FA" }, { clockMs: 20 }), // real server closes
      reply({}), // client: FIN-ACK
      reply({}), // real server: last ACK
      tcpIn({ service: Service.plain, flags: "S", seq: 5000 }, { clockMs: 2000 }), // port reuse
    ]],
    ["synproxy-toa-handshake-data", [
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 7, options: SYN_OPTIONS }),
      reply({}), // client: ACK to the cookie
      reply({}), // real server: SYN-ACK releases the kept ACK (with TOA)
      reply({ flags: "PA", payload8: 3 }), // real server: data
      reply({ options: [{ kind: "sack", blocks: [[100, 200]] }] }), // client: SACK
      reply({ flags: "PA", payload8: 1 }), // client: data
      reply({ flags: "FA" }), // real server: FIN
    ]],
    ["synproxy-retransmits-and-gives-up", [
      tcpIn({ service: Service.synproxyShort, flags: "S", seq: 99 }, { queue: 1 }),
      reply({}),
      poll({ clockMs: 1100 }),
      poll({ clockMs: 2100 }),
      poll({ clockMs: 4100 }),
      poll({ clockMs: 8100 }),
      arp({ op: 2, sender: ArpAddr.real2, target: ArpAddr.port0 }),
    ]],
    ["synproxy-short-established-expires", [
      tcpIn({ service: Service.synproxyShort, flags: "S", seq: 3 }),
      reply({}),
      arp({ op: 2, sender: ArpAddr.real2, target: ArpAddr.port0 }),
      reply({ age: 1 }),
      reply({}),
      poll({ clockMs: 6000 }),
    ]],
    ["synproxy-cookie-expired-and-bad", [
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 50 }),
      reply({}, { clockMs: 130_000 }),
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 60, clientPort: 2 }),
      reply({ ackDelta: 1 }),
      reply({ flags: "R" }),
    ]],
    ["udp-both-ways-and-icmp", [
      udpIn({ service: Service.udpMaglev, payload8: 2 }),
      reply({ payload8: 1 }),
      icmp({ type: 3, code: 4, rest: 1300, quote: 1, fromPeer: false }),
      icmp({ type: 3, code: 3, quote: 0 }),
      icmp({ type: 11, quote: 1, shortQuote: true }),
    ]],
    ["udp-arp-resolved-real-expire-on-remove", [
      udpIn({ service: Service.udpExpire, client: 1, payload8: 1 }),
      reply({}),
      reply({ payload8: 1 }),
      apply(Variant.withoutFirstReal),
      apply(Variant.noServices),
      udpIn({ service: Service.udpExpire, client: 1 }),
      apply(Variant.base),
    ]],
    ["tcp-toa-wlc-icmp-frag-needed", [
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, options: SYN_OPTIONS }),
      reply({}),
      reply({}),
      reply({ flags: "PA", payload8: 10 }),
      icmp({ type: 3, code: 4, rest: 1400, quote: 0, fromPeer: true }),
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, clientPort: 1 }),
      apply(Variant.allWeightsZero),
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, clientPort: 2 }),
    ]],
    ["handoff-across-workers-and-ports", [
      tcpIn({ service: Service.plain, flags: "S", seq: 10 }, { queue: 1 }),
      reply({}, { queue: 2 }),
      reply({}, { queue: 0 }),
      reply({ flags: "PA", payload8: 1 }, { queue: 0, port: 1 }),
      tcpOut({ service: Service.plain, lport8: 1, flags: "A" }, { queue: 1 }),
      udpOut({ service: Service.udpMaglev, lport8: 2 }, { queue: 2 }),
      arp({ op: 1, sender: ArpAddr.client0, target: ArpAddr.vipA }, { queue: 2, port: 1 }),
      arp({ op: 1, sender: ArpAddr.real0, target: ArpAddr.lip1 }, { queue: 1 }),
    ]],
    ["burst-of-a-new-flow", [
      udpIn({ service: Service.udpMaglev, clientPort: 9 }, { hold: true }),
      udpIn({ service: Service.udpMaglev, clientPort: 9 }, { hold: true }),
      tcpIn({ service: Service.plain, flags: "S", seq: 1, clientPort: 9 }, { hold: true }),
      tcpIn({ service: Service.plain, flags: "S", seq: 1, clientPort: 9 }, { hold: true }),
      tcpIn({ service: Service.plain, flags: "R", seq: 2, clientPort: 9 }),
    ]],
    ["sessions-removed-with-their-service", [
      tcpIn({ service: Service.plain, flags: "S", seq: 1 }),
      reply({}),
      apply(Variant.withoutPlain),
      reply({ age: 0 }),
      apply(Variant.lipsMoved),
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 1 }),
      reply({}),
      reply({}),
      poll({ clockMs: 1_000_000 }),
    ]],
    ["ping-ttl-and-closing-reuse", [
      icmp({ type: 8, rest: 0x00010001, payload8: 1 }),
      icmp({ type: 8, toLip: true }),
      tcpIn({ service: Service.plain, flags: "S", seq: 1, ttl1: true }),
      tcpIn({ service: Service.plain, flags: "S", seq: 1 }),
      reply({ flags: "R" }),
      tcpIn({ service: Service.plain, flags: "S", seq: 900 }),
    ]],
    ["synproxy-switched-with-live-sessions", [
      tcpIn({ service: Service.plain, flags: "S", seq: 1 }),
      reply({}),
      reply({}),
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 1, clientPort: 1 }),
      reply({}),
      reply({}),
      apply(Variant.flagsFlipped),
      tcpIn({ service: Service.plain, flags: "S", seq: 1 }),
      tcpIn({ service: Service.plain, flags: "PA", seq: 2, payload8: 1 }),
      tcpIn({ service: Service.plain, flags: "S", seq: 1, clientPort: 2 }),
      reply({ flags: "PA", payload8: 1, age: 2 }),
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 1, clientPort: 3 }),
    ]],
    ["expire-on-remove-while-sending", [
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, clientPort: 1 }),
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, clientPort: 2 }),
      apply(Variant.withoutFirstReal),
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, clientPort: 1 }),
      tcpIn({ service: Service.tcpWlcToa, flags: "S", seq: 1, clientPort: 2 }),
    ]],
    ["synproxy-ack-storm", [
      tcpIn({ service: Service.synproxyToa, flags: "S", seq: 1 }),
      reply({}),
      reply({}),
      reply({ flags: "PA", payload8: 1 }),
      ...Array.from({ length: 18 }, () => reply({}, { hold: true })),
      poll(),
    ]],
    // 70 new sessions on one worker: its table holds 64.
    [
      "session-table-full",
      Array.from(
        { length: 70 },
        (_, i) =>
          tcpIn({ service: Service.plain, flags: "S", seq: 1, client: i >> 8, clientPort: i }),
      ),
    ],
    // 70 datagrams towards a real server whose MAC is unknown: 64 wait for the ARP answer.
    ["arp-hold-queue-overflow", [
      ...Array.from({ length: 70 }, () => udpIn({ service: Service.udpExpire, client: 2 })),
      arp({ op: 2, sender: ArpAddr.real2, target: ArpAddr.port0 }),
    ]],
  ];
  return s.map(([name, records]) => [`conversation-${name}`, encodeInput(records)]);
}

/** Every seed, by name. */
function seedInputs(): Map<string, Uint8Array> {
  return new Map([...malformedSeeds(), ...fixtureSeeds(), ...conversationSeeds()]);
}

/** Writes every seed into `dir` (created), one file per seed. Returns how many. */
export async function writeSeeds(dir: string): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  const seeds = seedInputs();
  for (const [name, input] of seeds) await Deno.writeFile(`${dir}/${name}`, input);
  return seeds.size;
}
