/**
 * UDP FULLNAT, ARP for VIPs and LIPs, ping to a VIP, and an ICMP fragmentation-needed error from
 * the real server's side translated back to the client, through the FFI test entry with two workers.
 */
import assert from "node:assert/strict";
import {
  buildFrame,
  icmpEcho,
  icmpFragNeeded,
  ipv4Packet,
  parseFrame,
  tcpSegment,
} from "./testing/packet.ts";
import {
  assertFrames,
  bringUp,
  fromClient,
  fromReal,
  NET,
  oneService,
  PORT_IP,
  toClient,
  toReal,
} from "./testing/testbed.ts";

const dp = bringUp();
const rs0 = { address: NET.reals[0].address, port: 5353, weight: 1 };
const tcpRs0 = { address: NET.reals[0].address, port: 8080, weight: 1 };
const config = oneService({ reals: [tcpRs0] });
config.services.push({ vip: NET.vip, port: 53, protocol: "udp", scheduler: "rr", reals: [rs0] });
dp.apply(config);

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("UDP is translated both ways with valid checksums", () => {
  const q = { srcPort: 41000, dstPort: 53, payload: enc("query") };
  dp.inject([fromClient({ udp: q }, { id: 99 })], { queue: 0 });
  dp.poll(0);
  const sent = dp.collect();
  assert.equal(sent.length, 1);
  const lport = parseFrame(sent[0]!).udp!.srcPort;
  assertFrames(sent, [toReal(0, { udp: { srcPort: lport, dstPort: 5353, payload: q.payload } }, {
    id: 99,
    ttl: 63,
  })], "query");
  const owner = dp.lipOwner(NET.lips[0], lport);
  assert.equal(owner, 0);
  dp.inject([
    fromReal(0, { udp: { srcPort: 5353, dstPort: lport, payload: enc("answer") } }, { id: 7 }),
  ], {
    queue: owner,
  });
  dp.poll(owner);
  assertFrames(dp.collect(), [
    toClient({ udp: { srcPort: 53, dstPort: 41000, payload: enc("answer") } }, {
      id: 7,
      ttl: 63,
    }),
  ], "answer");
  assert.equal(dp.sessions().filter((s) => s.protocol === "udp").length, 1);
});

Deno.test("ARP requests for the VIP and a LIP are answered with the port's MAC", () => {
  for (const target of [NET.vip, NET.lips[0]]) {
    const who = buildFrame({
      eth: { src: NET.gatewayMac, dst: "ff:ff:ff:ff:ff:ff" },
      arp: {
        op: 1,
        senderMac: NET.gatewayMac,
        senderIp: NET.gatewayIp,
        targetMac: "00:00:00:00:00:00",
        targetIp: target,
      },
    });
    dp.inject([who], { queue: 0 });
    dp.poll(0);
    const reply = buildFrame({
      eth: { src: NET.portMac, dst: NET.gatewayMac },
      arp: {
        op: 2,
        senderMac: NET.portMac,
        senderIp: target,
        targetMac: NET.gatewayMac,
        targetIp: NET.gatewayIp,
      },
    });
    assertFrames(dp.collect(), [reply], `ARP for ${target}`);
  }
  // An address the data plane does not own (not even an unconfigured LIP) gets no answer.
  for (const foreign of ["10.0.0.250", NET.lips[1]]) {
    const other = buildFrame({
      eth: { src: NET.gatewayMac, dst: "ff:ff:ff:ff:ff:ff" },
      arp: {
        op: 1,
        senderMac: NET.gatewayMac,
        senderIp: NET.gatewayIp,
        targetMac: "00:00:00:00:00:00",
        targetIp: foreign,
      },
    });
    dp.inject([other], { queue: 0 });
    dp.poll(0);
    assertFrames(dp.collect(), [], `ARP for a foreign address ${foreign}`);
  }
  void PORT_IP;
});

Deno.test("ping to the VIP is answered", () => {
  const payload = enc("0123456789abcdef");
  dp.inject([fromClient({ icmp: icmpEcho(false, 0x4321, 7, payload) }, { id: 5 })], { queue: 1 });
  dp.poll(1);
  const out = dp.collect();
  assert.equal(out.length, 1);
  const p = parseFrame(out[0]!);
  assertFrames(out, [toClient({ icmp: icmpEcho(true, 0x4321, 7, payload) }, {
    id: p.ipv4!.id,
    ttl: 64,
  })], "echo reply");
});

Deno.test("a ping whose reply is all zeros is answered with checksum 0xffff, not 0", () => {
  // Id 0, sequence 0, no data: the reply's words sum to zero, so its checksum must be 0xffff
  // (found by the fuzzer: an incremental update from the request's 0xf7ff gave 0x0000, which
  // receivers reject).
  dp.inject([fromClient({ icmp: icmpEcho(false, 0, 0) }, { id: 6 })], { queue: 0 });
  dp.poll(0);
  const out = dp.collect();
  assert.equal(out.length, 1);
  const p = parseFrame(out[0]!);
  assertFrames(
    out,
    [toClient({ icmp: icmpEcho(true, 0, 0) }, { id: p.ipv4!.id, ttl: 64 })],
    "echo reply",
  );
});

Deno.test("ICMP fragmentation needed from the real server's path reaches the client translated", () => {
  // A TCP session: SYN in, learn the LIP port and ISN delta.
  dp.inject([fromClient({ tcp: { srcPort: 42000, dstPort: 80, seq: 100, flags: "S" } })], {
    queue: 0,
  });
  dp.poll(0);
  const syn = parseFrame(dp.collect()[0]!);
  const lport = syn.tcp!.srcPort;
  const delta = (syn.tcp!.seq - 100) >>> 0;
  // A big data segment as the data plane sent it to the real server, quoted by a router.
  const sentToRs = ipv4Packet(
    { src: NET.lips[0], dst: NET.reals[0].address, dontFragment: true, ttl: 63 },
    6,
    tcpSegment({ srcPort: lport, dstPort: 8080, seq: (101 + delta) >>> 0, ack: 1, flags: "A" }, {
      src: NET.lips[0],
      dst: NET.reals[0].address,
    }),
  );
  const router = "10.0.0.254";
  const err = buildFrame({
    eth: { src: NET.reals[0].mac, dst: NET.portMac },
    ip: { src: router, dst: NET.lips[0] },
    icmp: icmpFragNeeded(1400, sentToRs.subarray(0, 28)),
  });
  dp.inject([err], { queue: 0 });
  dp.poll(0);
  const out = dp.collect();
  // The client sees an error from the VIP about its own packet: client:42000 → VIP:80, seq 101,
  // with the MTU lowered by the TOA length so its next segments leave room for the option.
  const quote = ipv4Packet(
    { src: NET.client, dst: NET.vip, dontFragment: true, ttl: 63 },
    6,
    tcpSegment({ srcPort: 42000, dstPort: 80, seq: 101, ack: 1, flags: "A" }, {
      src: NET.client,
      dst: NET.vip,
    }),
  ).subarray(0, 28);
  assert.equal(out.length, 1, "one ICMP error to the client");
  const p = parseFrame(out[0]!);
  assert.equal(p.icmp?.quote?.srcPort, 42000);
  assert.equal(p.icmp?.quote?.dstPort, 80);
  assert.equal(p.icmp?.quote?.seq, 101);
  assertFrames(out, [
    toClient({ icmp: icmpFragNeeded(1392, quote) }, { id: p.ipv4!.id, ttl: p.ipv4!.ttl }),
  ], "frag needed");
});

Deno.test("a next hop without a MAC is resolved by ARP and the held frame follows the answer", () => {
  // A real server that is not a static neighbour.
  const rsIp = "10.0.0.44", rsMac = "02:5e:00:00:00:44";
  const cfg = oneService({ reals: [{ address: rsIp, port: 8080, weight: 1 }] });
  dp.apply(cfg);
  dp.inject([fromClient({ tcp: { srcPort: 43000, dstPort: 80, seq: 5, flags: "S" } })], {
    queue: 0,
  });
  dp.poll(0);
  const ask = dp.collect();
  assertFrames(ask, [buildFrame({
    eth: { src: NET.portMac, dst: "ff:ff:ff:ff:ff:ff" },
    arp: {
      op: 1,
      senderMac: NET.portMac,
      senderIp: PORT_IP,
      targetMac: "00:00:00:00:00:00",
      targetIp: rsIp,
    },
  })], "ARP request for the real server");
  // The answer arrives (on another worker: ARP is handed to worker 0, which learns it).
  dp.inject([buildFrame({
    eth: { src: rsMac, dst: NET.portMac },
    arp: { op: 2, senderMac: rsMac, senderIp: rsIp, targetMac: NET.portMac, targetIp: PORT_IP },
  })], { queue: 1 });
  dp.poll(1);
  dp.poll(0);
  const out = dp.collect();
  assert.equal(out.length, 1, "the held SYN goes out");
  const p = parseFrame(out[0]!);
  assert.equal(p.eth.dst, rsMac);
  assert.equal(p.ipv4!.dst, rsIp);
  assert.equal(p.tcp!.flags, "S");
  dp.apply(config);
});
