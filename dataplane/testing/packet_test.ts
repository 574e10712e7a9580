import assert from "node:assert/strict";
import {
  badChecksums,
  buildFrame,
  describeFrame,
  encodeTcpOptions,
  fromHex,
  icmpEcho,
  icmpFragNeeded,
  internetChecksum,
  ipv4Number,
  ipv4Packet,
  parseFrame,
  parseTcpOptions,
  tcpFlagBits,
  tcpFlagLetters,
  type TcpOption,
  toHex,
  udpDatagram,
} from "./packet.ts";
import { formatIpv4 } from "../../routing/ipv4.ts";
import { malformedFrames } from "./malformed.ts";

const FIXTURES = new URL("../../fixtures/packets/", import.meta.url);
const fixture = (name: string) => fromHex(Deno.readTextFileSync(new URL(`${name}.hex`, FIXTURES)));

const A = "02:00:00:00:01:02"; // client 10.9.1.2
const R = "02:00:00:00:01:01"; // router 10.9.1.1
const out = { src: A, dst: R };
const back = { src: R, dst: A };
const CLIENT = "10.9.1.2";
const SERVER = "10.9.2.2";
const TS_CLIENT = { kind: "timestamp", value: 3225445506, echo: 2481856408 } as const;

function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(toHex(actual), toHex(expected), `${what}: bytes differ`);
}

Deno.test("internetChecksum() matches RFC 1071's worked example and handles odd lengths", () => {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
  assert.equal(internetChecksum(fromHex("0001f203f4f5f6f7")), 0xffff - 0xddf2);
  // An odd trailing byte is padded with zero on the right.
  assert.equal(internetChecksum(fromHex("01")), internetChecksum(fromHex("0100")));
  assert.equal(internetChecksum(new Uint8Array()), 0xffff);
});

Deno.test("parseFrame() reads kernel captures with every checksum valid", () => {
  for (const entry of Deno.readDirSync(FIXTURES)) {
    const name = entry.name.replace(/\.hex$/, "");
    const p = parseFrame(fixture(name));
    assert.deepEqual(badChecksums(p), [], `${name}: ${describeFrame(fixture(name))}`);
  }
});

Deno.test("parseFrame() reads the fields and options of a Linux SYN", () => {
  const p = parseFrame(fixture("tcp_syn"));
  assert.deepEqual(p.eth, { dst: R, src: A, type: 0x0800 });
  assert.equal(p.ipv4?.src, CLIENT);
  assert.equal(p.ipv4?.dst, SERVER);
  assert.equal(p.ipv4?.dontFragment, true);
  assert.equal(p.ipv4?.ttl, 64);
  assert.equal(p.tcp?.srcPort, 33100);
  assert.equal(p.tcp?.dstPort, 8080);
  assert.equal(p.tcp?.seq, 33505662);
  assert.equal(p.tcp?.flags, "S");
  assert.equal(p.tcp?.window, 64240);
  assert.deepEqual(p.tcp?.options, [
    { kind: "mss", value: 1460 },
    { kind: "sackPermitted" },
    { kind: "timestamp", value: 3225445505, echo: 0 },
    { kind: "nop" },
    { kind: "wscale", shift: 10 },
  ]);
});

Deno.test("buildFrame() reproduces Linux's TCP handshake, data and FIN byte for byte", () => {
  const ip = { src: CLIENT, dst: SERVER, dontFragment: true };
  const ports = { srcPort: 33100, dstPort: 8080 };
  const synOpts: TcpOption[] = [
    { kind: "mss", value: 1460 },
    { kind: "sackPermitted" },
    { kind: "timestamp", value: 3225445505, echo: 0 },
    { kind: "nop" },
    { kind: "wscale", shift: 10 },
  ];
  const syn = buildFrame({
    eth: out,
    ip: { ...ip, id: 0x9021 },
    tcp: { ...ports, seq: 33505662, flags: "S", window: 64240, options: synOpts },
  });
  assertBytes(syn, fixture("tcp_syn"), "SYN");
  const synack = buildFrame({
    eth: back,
    ip: { src: SERVER, dst: CLIENT, dontFragment: true, ttl: 63 },
    tcp: {
      srcPort: 8080,
      dstPort: 33100,
      seq: 4189354886,
      ack: 33505663,
      flags: "SA",
      window: 65500,
      options: [
        { kind: "mss", value: 536 },
        { kind: "sackPermitted" },
        { kind: "timestamp", value: 2481856408, echo: 3225445505 },
        { kind: "nop" },
        { kind: "wscale", shift: 10 },
      ],
    },
  });
  assertBytes(synack, fixture("tcp_synack"), "SYN-ACK");
  const est = { ...ports, ack: 4189354887, window: 63 };
  const tsOpts: TcpOption[] = [{ kind: "nop" }, { kind: "nop" }, TS_CLIENT];
  const ack = buildFrame({
    eth: out,
    ip: { ...ip, id: 0x9022 },
    tcp: { ...est, seq: 33505663, flags: "A", options: tsOpts },
  });
  assertBytes(ack, fixture("tcp_ack"), "ACK");
  const data = buildFrame({
    eth: out,
    ip: { ...ip, id: 0x9023 },
    tcp: { ...est, seq: 33505663, flags: "PA", options: tsOpts, payload: fromHex("70696e67") },
  });
  assertBytes(data, fixture("tcp_data"), "data");
  const fin = buildFrame({
    eth: out,
    ip: { ...ip, id: 0x9025 },
    tcp: { ...est, seq: 33505667, ack: 4189354897, flags: "FA", options: tsOpts },
  });
  assertBytes(fin, fixture("tcp_fin"), "FIN");
});

Deno.test("buildFrame() reproduces ARP, ICMP echo, IP options, UDP and fragments", () => {
  assertBytes(
    buildFrame({
      eth: { src: A, dst: "ff:ff:ff:ff:ff:ff" },
      arp: {
        op: 1,
        senderMac: A,
        senderIp: CLIENT,
        targetMac: "00:00:00:00:00:00",
        targetIp: "10.9.1.1",
      },
    }),
    fixture("arp_request"),
    "ARP request",
  );
  assertBytes(
    buildFrame({
      eth: back,
      arp: { op: 2, senderMac: R, senderIp: "10.9.1.1", targetMac: A, targetIp: CLIENT },
    }),
    fixture("arp_reply"),
    "ARP reply",
  );
  const abab = new TextEncoder().encode("abababababababab");
  assertBytes(
    buildFrame({
      eth: out,
      ip: { src: CLIENT, dst: SERVER, id: 0x6a34, dontFragment: true },
      icmp: icmpEcho(false, 0x1234, 1, abab),
    }),
    fixture("icmp_echo_request"),
    "echo request",
  );
  assertBytes(
    buildFrame({
      eth: back,
      ip: { src: SERVER, dst: CLIENT, id: 0xd8a4, ttl: 63 },
      icmp: icmpEcho(true, 0x1234, 1, abab),
    }),
    fixture("icmp_echo_reply"),
    "echo reply",
  );
  // Record Route: type 7, length 11, pointer 8, the first slot filled, then EOL padding.
  const rr = fromHex("070b08 0a090102 00000000 00");
  assertBytes(
    buildFrame({
      eth: out,
      ip: { src: CLIENT, dst: "10.9.1.1", id: 0x0a83, dontFragment: true, options: rr },
      icmp: icmpEcho(false, 0x1234, 1, abab),
    }),
    fixture("icmp_echo_record_route"),
    "record route",
  );
  const udp = { srcPort: 58705, dstPort: 9997, payload: new TextEncoder().encode("small") };
  const ip = { src: CLIENT, dst: "10.9.1.1", id: 0x7d4b };
  assertBytes(buildFrame({ eth: out, ip, udp }), fixture("udp_small"), "UDP");

  // The kernel fragments a 2028-byte datagram at 1480 bytes of payload.
  const whole = udpDatagram(
    { srcPort: 58705, dstPort: 9998, payload: new Uint8Array(2000).fill(0x66) },
    { src: CLIENT, dst: "10.9.1.1" },
  );
  const fragIp = { src: CLIENT, dst: "10.9.1.1", id: 0x7d4a };
  assertBytes(
    buildFrame({
      eth: out,
      ip: { ...fragIp, moreFragments: true, protocol: 17 },
      raw: whole.subarray(0, 1480),
    }),
    fixture("ipv4_fragment_first"),
    "first fragment",
  );
  assertBytes(
    buildFrame({
      eth: out,
      ip: { ...fragIp, fragmentOffset: 1480, protocol: 17 },
      raw: whole.subarray(1480),
    }),
    fixture("ipv4_fragment_last"),
    "last fragment",
  );
});

Deno.test("buildFrame() reproduces an ICMP fragmentation-needed error quoting the datagram", () => {
  const original = ipv4Packet(
    { src: CLIENT, dst: SERVER, dontFragment: true },
    17,
    udpDatagram({ srcPort: 40022, dstPort: 9999, payload: new Uint8Array(1000).fill(0x75) }, {
      src: CLIENT,
      dst: SERVER,
    }),
  );
  const frame = buildFrame({
    eth: back,
    ip: { src: "10.9.1.1", dst: CLIENT, id: 0x98ba, tos: 0xc0 },
    icmp: icmpFragNeeded(576, original.subarray(0, 576 - 28)),
  });
  assertBytes(frame, fixture("icmp_frag_needed"), "frag needed");
  const p = parseFrame(frame);
  assert.equal(p.icmp?.mtu, 576);
  assert.equal(p.icmp?.quote?.ipv4.src, CLIENT);
  assert.equal(p.icmp?.quote?.ipv4.dst, SERVER);
  assert.equal(p.icmp?.quote?.ipv4.totalLength, 1028);
  assert.equal(p.icmp?.quote?.srcPort, 40022);
  assert.equal(p.icmp?.quote?.dstPort, 9999);
  assert.equal(p.icmp?.quote?.ipv4.checksumValid, true);
});

Deno.test("encodeTcpOptions() writes TOA as kind, 8, port, IPv4 in network order", () => {
  assert.equal(
    toHex(encodeTcpOptions([{ kind: "toa", port: 40000, address: "198.51.100.7" }])),
    "fe089c40c6336407",
  );
  assert.equal(
    toHex(encodeTcpOptions([{ kind: "toa", port: 1, address: "1.2.3.4", type: 200 }])),
    "c808000101020304",
  );
  assert.deepEqual(parseTcpOptions(fromHex("fe089c40c6336407")), [
    { kind: "toa", port: 40000, address: "198.51.100.7" },
  ]);
  assert.deepEqual(parseTcpOptions(fromHex("c808000101020304"), { toaKind: 200 }), [
    { kind: "toa", port: 1, address: "1.2.3.4", type: 200 },
  ]);
  // With the default kind, 200 is just an unknown option.
  assert.deepEqual(parseTcpOptions(fromHex("c808000101020304")), [
    { kind: "raw", type: 200, data: fromHex("000101020304") },
  ]);
});

Deno.test("TCP options round-trip through build and parse, SACK blocks and padding included", () => {
  const opts: TcpOption[] = [
    { kind: "nop" },
    { kind: "nop" },
    { kind: "sack", blocks: [[1, 2], [0xfffffff0, 0x10]] },
    { kind: "toa", port: 65535, address: "255.0.0.1" },
    { kind: "raw", type: 30, data: fromHex("0102") },
  ];
  const frame = buildFrame({
    eth: out,
    ip: { src: CLIENT, dst: SERVER },
    tcp: { srcPort: 1, dstPort: 2, flags: "A", options: opts },
  });
  const p = parseFrame(frame);
  // 2 + 18 + 8 + 4 = 32 bytes of options: no padding needed.
  assert.equal(p.tcp?.dataOffset, 5 + 8);
  assert.deepEqual(p.tcp?.options, opts);
  // A 3-byte window scale is padded with one EOL, which parses as the end of the list.
  const ws = parseFrame(buildFrame({
    eth: out,
    ip: { src: CLIENT, dst: SERVER },
    tcp: { srcPort: 1, dstPort: 2, flags: "S", options: [{ kind: "wscale", shift: 7 }] },
  }));
  assert.equal(toHex(ws.tcp!.rawOptions), "03030700");
  assert.deepEqual(ws.tcp?.options, [{ kind: "wscale", shift: 7 }, { kind: "eol" }]);
});

Deno.test("UDP sends a computed checksum of zero as 0xffff", () => {
  // Find a 2-byte payload whose checksum comes out as zero, then check the substitution.
  const ip = { src: "10.0.0.1", dst: "10.0.0.2" };
  const base = udpDatagram({ srcPort: 1, dstPort: 2, payload: Uint8Array.of(0, 0) }, ip);
  // Adding k to the payload word lowers the checksum by k (one's complement arithmetic).
  const sum = (base[6]! << 8) | base[7]!;
  const payload = Uint8Array.of(sum >> 8, sum & 0xff);
  const d = udpDatagram({ srcPort: 1, dstPort: 2, payload }, ip);
  assert.equal(toHex(d.subarray(6, 8)), "ffff");
  const p = parseFrame(buildFrame({ eth: out, ip, udp: { srcPort: 1, dstPort: 2, payload } }));
  assert.equal(p.udp?.checksumValid, true);
});

Deno.test("TCP flags convert between letters and bits in tcpdump's order", () => {
  assert.equal(tcpFlagBits("SA"), 0x12);
  assert.equal(tcpFlagBits("FA"), 0x11);
  assert.equal(tcpFlagBits("R"), 0x04);
  assert.equal(tcpFlagLetters(0x18), "PA");
  assert.equal(tcpFlagLetters(tcpFlagBits("FSRPAUEC")), "FSRPAUEC");
  assert.throws(() => tcpFlagBits("SX"), TypeError);
});

Deno.test("addresses and hex parse strictly", () => {
  assert.equal(ipv4Number("192.0.2.1"), 0xc0000201);
  assert.equal(formatIpv4(0xc0000201), "192.0.2.1");
  assert.throws(() => ipv4Number("256.0.0.1"), /Cannot parse IPv4 address "256.0.0.1"/);
  assert.throws(() => buildFrame({ eth: { src: "02:00", dst: R }, arp: {} as never }), TypeError);
  assert.deepEqual(fromHex("# comment\n01 02\n0a # trailing\n"), Uint8Array.of(1, 2, 10));
  assert.throws(() => fromHex("123"), SyntaxError);
});

const flow = { eth: out, src: CLIENT, dst: SERVER, srcPort: 40000, dstPort: 80 };

Deno.test("malformedFrames() makes each class what it claims to be", () => {
  const structural =
    /^(truncated|bad_ipv4_(version|ihl|total_length)|bad_tcp_data|tcp_options|bad_udp_length)/;
  const cases = malformedFrames(flow);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "names are unique");
  for (const c of cases) {
    if (structural.test(c.name)) {
      assert.throws(() => parseFrame(c.frame), SyntaxError, `${c.name} should not parse`);
      continue;
    }
    const p = parseFrame(c.frame);
    const bad = badChecksums(p);
    if (c.class === "bad_ipv4_checksum") assert.deepEqual(bad, ["ipv4"], c.name);
    else if (c.class === "bad_tcp_checksum") assert.deepEqual(bad, ["tcp"], c.name);
    else if (c.class === "bad_udp_checksum") assert.deepEqual(bad, ["udp"], c.name);
    else assert.deepEqual(bad, [], c.name);
    if (c.class === "ipv4_options") assert.equal(p.ipv4?.ihl, 6);
    if (c.class === "ipv4_fragment") {
      assert.ok(p.ipv4!.moreFragments || p.ipv4!.fragmentOffset > 0, c.name);
    }
  }
  const classes = new Set(cases.map((c) => c.class));
  assert.equal(classes.size, 15, "every class of issue 3 item 7 is covered");
});

Deno.test("describeFrame() summarises frames and names the problem of malformed ones", () => {
  assert.match(
    describeFrame(fixture("tcp_syn")),
    /^TCP 10\.9\.1\.2:33100 > 10\.9\.2\.2:8080 \[S\]/,
  );
  assert.match(describeFrame(fixture("arp_request")), /^ARP who-has 10\.9\.1\.1 tell 10\.9\.1\.2$/);
  const trunc = malformedFrames(flow).find((c) => c.name === "truncated_tcp")!;
  assert.match(describeFrame(trunc.frame), /^malformed \(Cannot parse TCP header: 12 bytes/);
});
