/**
 * Hardening of ARP and ICMP through the FFI test entry with two workers: the neighbour table
 * learns only answers to our own requests (and, unverified, the senders of requests for our
 * addresses), never lets an ARP message overwrite a resolved MAC without re-verifying it,
 * re-verifies entries after 30 s and forgets those that stop answering, and evicts rather than
 * refuses when full. ICMP errors from the client's path reach the real server with its own
 * sequence numbers (SYNPROXY) whichever worker receives them.
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
  toReal,
} from "./testing/testbed.ts";

const dp = bringUp();
const u32 = (n: number) => n >>> 0;
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const NO_MAC = "00:00:00:00:00:00";
const ATTACKER_MAC = "02:ba:d0:00:00:01";

/** Counters summed over the workers. */
function counters() {
  const s = dp.stats();
  const sum = (f: (w: typeof s.workers[0]) => number) => s.workers.reduce((a, w) => a + f(w), 0);
  return {
    unsolicited: sum((w) => w.arpUnsolicited),
    conflicts: sum((w) => w.arpConflicts),
    expired: sum((w) => w.neighExpired),
    evicted: sum((w) => w.neighEvicted),
    noSession: s.drops["no_session"] ?? 0,
    translated: sum((w) => w.icmpTranslated),
  };
}

/** An ARP message on the link, received on a worker that is not 0 (it is handed to worker 0). */
function arpIn(
  op: 1 | 2,
  sender: { mac: string; ip: string },
  targetIp: string,
  ethDst = op === 1 ? BROADCAST : NET.portMac,
): void {
  dp.inject([buildFrame({
    eth: { src: sender.mac, dst: ethDst },
    arp: {
      op,
      senderMac: sender.mac,
      senderIp: sender.ip,
      targetMac: op === 1 ? NO_MAC : NET.portMac,
      targetIp,
    },
  })], { queue: 1 });
  dp.poll(1);
  dp.poll(0);
}

/** The data plane's ARP request for target: broadcast, or unicast to a known MAC (a re-check). */
function arpRequest(target: string, to = BROADCAST): Uint8Array {
  return buildFrame({
    eth: { src: NET.portMac, dst: to },
    arp: { op: 1, senderMac: NET.portMac, senderIp: PORT_IP, targetMac: NO_MAC, targetIp: target },
  });
}

/** The real server's answer to our request for its address. */
function answer(ip: string, mac: string): void {
  arpIn(2, { mac, ip }, PORT_IP);
}

let nextPort = 30000;

/** A client SYN to the VIP with one real server at `address`; returns what the data plane sent. */
function synTo(address: string): Uint8Array[] {
  dp.apply(oneService({ reals: [{ address, port: 8080, weight: 1 }] }));
  dp.inject([fromClient({ tcp: { srcPort: nextPort++, dstPort: 80, seq: 1, flags: "S" } })], {
    queue: 0,
  });
  dp.poll(0);
  return dp.collect();
}

/** Asserts one frame: the SYN towards the real server at mac. */
function assertSynTo(frames: Uint8Array[], address: string, mac: string, what: string): void {
  assert.equal(frames.length, 1, `${what}: one frame`);
  const p = parseFrame(frames[0]!);
  assert.equal(p.tcp?.flags, "S", `${what}: a SYN`);
  assert.equal(p.ipv4!.dst, address, what);
  assert.equal(p.eth.dst, mac, `${what}: to the real server's MAC`);
}

/** Resolves address → mac the honest way: our request, its answer; the held SYN follows. */
function resolve(address: string, mac: string): void {
  assertFrames(synTo(address), [arpRequest(address)], `ARP request for ${address}`);
  answer(address, mac);
  assertSynTo(dp.collect(), address, mac, `held SYN to ${address}`);
}

/** Lets held frames time out so the next test starts clean. */
function settle(): void {
  dp.advanceClock(2);
  dp.poll(0);
  dp.poll(1);
  dp.collect();
}

Deno.test("an ARP reply nobody asked for teaches nothing", () => {
  const before = counters();
  const ip = "10.0.0.51";
  arpIn(2, { mac: ATTACKER_MAC, ip }, PORT_IP);
  assertFrames(dp.collect(), [], "no answer to a reply");
  // The data plane still has to ask: the reply did not put the attacker's MAC in the table.
  assertFrames(synTo(ip), [arpRequest(ip)], "ARP request instead of a SYN to the attacker");
  assert.equal(counters().unsolicited - before.unsolicited, 1, "counted as unsolicited");
  settle();
});

Deno.test("a resolved neighbour is re-verified, not overwritten, when a reply or request claims another MAC", () => {
  const ip = "10.0.0.53", mac = "02:5e:00:00:00:53";
  resolve(ip, mac);
  dp.advanceClock(1); // past the one-request-per-second limit of the resolution
  const before = counters();
  // A spoofed reply: not learned; worker 0 asks the known MAC directly whether it is still there.
  arpIn(2, { mac: ATTACKER_MAC, ip }, PORT_IP);
  assertFrames(dp.collect(), [arpRequest(ip, mac)], "a unicast re-check to the known MAC");
  assertSynTo(synTo(ip), ip, mac, "traffic after a spoofed reply");
  // A spoofed request for the VIP with the neighbour as sender: answered, not learned.
  arpIn(1, { mac: ATTACKER_MAC, ip }, NET.vip);
  const out = dp.collect();
  assert.equal(
    out.length,
    1,
    "the request for the VIP is answered (no second re-check within 1 s)",
  );
  assert.equal(parseFrame(out[0]!).arp?.op, 2);
  assertSynTo(synTo(ip), ip, mac, "traffic after a spoofed request");
  assert.equal(counters().conflicts - before.conflicts, 2, "two conflicts counted");
  // The real owner answers the re-check: the entry is confirmed and stays.
  answer(ip, mac);
  assertSynTo(synTo(ip), ip, mac, "traffic after the re-check");
  settle();
});

Deno.test("learned neighbours are re-verified after 30 s and forgotten when they stop answering", () => {
  const ip = "10.0.0.54", mac = "02:5e:00:00:00:54";
  resolve(ip, mac);
  // 31 s later the entry is still used, but the sender asks the known MAC first.
  dp.advanceClock(31);
  const stale = synTo(ip);
  assert.equal(stale.length, 2, "a re-check and the SYN");
  assertFrames([stale[0]!], [arpRequest(ip, mac)], "unicast re-check after 30 s");
  assertSynTo([stale[1]!], ip, mac, "the SYN still goes out");
  // Answered: confirmed again, no re-check for another 30 s.
  answer(ip, mac);
  dp.advanceClock(20);
  assertSynTo(synTo(ip), ip, mac, "confirmed by the answer");
  // No more answers: 36 s after the last confirmation the entry is gone.
  const before = counters();
  dp.advanceClock(16);
  dp.poll(0);
  assert.equal(counters().expired - before.expired, 1, "one entry expired");
  assertFrames(synTo(ip), [arpRequest(ip)], "asked again from scratch (broadcast)");
  settle();
  // Static neighbours (the clients' gateway) never expire.
  dp.inject([fromClient({ icmp: icmpEcho(false, 1, 1) })], { queue: 0 });
  dp.poll(0);
  const pong = dp.collect();
  assert.equal(pong.length, 1, "the echo reply goes out without ARP");
  assert.equal(parseFrame(pong[0]!).eth.dst, NET.gatewayMac);
});

Deno.test("the sender of a request for our address is learned unverified and checked on first use", () => {
  const ip = "10.0.0.55", mac = "02:5e:00:00:00:55";
  arpIn(1, { mac, ip }, NET.vip);
  assert.equal(dp.collect().length, 1, "the request is answered");
  const out = synTo(ip);
  assert.equal(out.length, 2, "a re-check and the SYN");
  assertFrames([out[0]!], [arpRequest(ip, mac)], "unicast check of a learned-from-request entry");
  assertSynTo([out[1]!], ip, mac, "the SYN uses the MAC meanwhile");
  // Nobody answers: the entry lasts only the re-check window.
  const before = counters();
  dp.advanceClock(6);
  dp.poll(0);
  assert.equal(counters().expired - before.expired, 1, "the unverified entry expired");
  settle();
});

Deno.test("junk cannot fill the neighbour table for good: replies are not learned, a full table evicts", () => {
  const before = counters();
  const junk = (i: number) => `10.9.${i >> 8}.${i & 0xff}`;
  // 1,024 replies from one host, each for another address: nobody asked, nothing learned.
  for (let i = 0; i < 1024; i += 256) {
    for (let j = i; j < i + 256; j++) {
      dp.inject([buildFrame({
        eth: { src: ATTACKER_MAC, dst: NET.portMac },
        arp: {
          op: 2,
          senderMac: ATTACKER_MAC,
          senderIp: junk(j),
          targetMac: NET.portMac,
          targetIp: PORT_IP,
        },
      })], { queue: 0 });
    }
    while (dp.poll(0) > 0) {
      // drain
    }
  }
  assert.equal(counters().unsolicited - before.unsolicited, 1024, "every junk reply counted");
  // 1,100 requests for the VIP from as many senders do fill the table (each sender is learned,
  // unverified).
  const claim = (i: number) => `10.8.${i >> 8}.${i & 0xff}`;
  for (let i = 0; i < 1100; i += 256) {
    for (let j = i; j < Math.min(i + 256, 1100); j++) {
      dp.inject([buildFrame({
        eth: { src: ATTACKER_MAC, dst: BROADCAST },
        arp: {
          op: 1,
          senderMac: ATTACKER_MAC,
          senderIp: claim(j),
          targetMac: NO_MAC,
          targetIp: NET.vip,
        },
      })], { queue: 0 });
    }
    while (dp.poll(0) > 0) {
      // drain
    }
    dp.collect();
  }
  // A real server still resolves: its answer evicts an unverified entry.
  const ip = "10.0.0.52", mac = "02:5e:00:00:00:52";
  resolve(ip, mac);
  assert.ok(counters().evicted - before.evicted >= 1, "eviction counted");
  settle();
  // The junk goes away by itself (unverified entries last 5 s).
  dp.advanceClock(10);
  dp.poll(0);
  assert.ok(counters().expired - before.expired >= 1000, "the junk expired");
});

Deno.test("ICMP fragmentation needed from the client's path reaches a SYNPROXY real server with its own sequence numbers", () => {
  const RS = { address: NET.reals[0].address, port: 8080, weight: 1 };
  dp.apply(oneService({ synproxy: true, reals: [RS] }));
  const cport = nextPort++, isn = 1000, rsIsn = 7000;
  // The SYNPROXY handshake: cookie SYN-ACK, the client's ACK, the real server's SYN-ACK.
  dp.inject([fromClient({
    tcp: {
      srcPort: cport,
      dstPort: 80,
      seq: isn,
      flags: "S",
      options: [{ kind: "mss", value: 1460 }],
    },
  })], { queue: 0 });
  dp.poll(0);
  const cookie = parseFrame(dp.collect()[0]!).tcp!.seq;
  dp.inject([fromClient({
    tcp: { srcPort: cport, dstPort: 80, seq: isn + 1, ack: u32(cookie + 1), flags: "A" },
  })], { queue: 0 });
  dp.poll(0);
  const syn = parseFrame(dp.collect()[0]!);
  const lport = syn.tcp!.srcPort;
  const delta = u32(syn.tcp!.seq - isn);
  const owner = dp.lipOwner(NET.lips[0], lport);
  dp.inject([fromReal(0, {
    tcp: { srcPort: 8080, dstPort: lport, seq: rsIsn, ack: u32(isn + 1 + delta), flags: "SA" },
  })], { queue: owner });
  dp.poll(owner);
  assert.equal(dp.collect().length, 1, "the kept ACK goes to the real server");
  // The real server's first data byte (seq 7001) reached the client as cookie + 1; a router on
  // the client's path quotes it.
  const quoted = (src: string, dst: string, sport: number, dport: number, seq: number) =>
    ipv4Packet(
      { src, dst, dontFragment: true, ttl: 60, id: 77 },
      6,
      tcpSegment({ srcPort: sport, dstPort: dport, seq, ack: 1, flags: "A" }, { src, dst }),
    ).subarray(0, 28);
  const router = "203.0.113.1";
  dp.inject([fromClient(
    { icmp: icmpFragNeeded(1400, quoted(NET.vip, NET.client, 80, cport, u32(cookie + 1))) },
    { src: router },
  )], { queue: owner });
  dp.poll(owner);
  const out = dp.collect();
  assert.equal(out.length, 1, "one ICMP error to the real server");
  const p = parseFrame(out[0]!);
  assert.equal(p.icmp?.quote?.seq, rsIsn + 1, "the quote carries the real server's own sequence");
  assertFrames(out, [
    toReal(0, {
      icmp: icmpFragNeeded(1400, quoted(RS.address, NET.lips[0], 8080, lport, rsIsn + 1)),
    }, { id: p.ipv4!.id, ttl: 64 }),
  ], "frag needed to the real server");
});

Deno.test("ICMP errors from the client's path find the session on whichever worker owns it", () => {
  dp.apply(oneService({ reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }] }));
  const router = "203.0.113.1";
  const quoted = (src: string, dst: string, sport: number, dport: number) =>
    ipv4Packet(
      { src, dst, ttl: 60, id: 9 },
      6,
      tcpSegment({ srcPort: sport, dstPort: dport, seq: 5000, ack: 1, flags: "A" }, { src, dst }),
    ).subarray(0, 28);
  for (const [sessionWorker, errorWorker] of [[0, 1], [1, 0]] as const) {
    const cport = nextPort++;
    dp.inject([fromClient({ tcp: { srcPort: cport, dstPort: 80, seq: 1, flags: "S" } })], {
      queue: sessionWorker,
    });
    dp.poll(sessionWorker);
    const lport = parseFrame(dp.collect()[0]!).tcp!.srcPort;
    const before = counters();
    dp.inject([fromClient(
      { icmp: icmpFragNeeded(1300, quoted(NET.vip, NET.client, 80, cport)) },
      { src: router },
    )], { queue: errorWorker });
    dp.poll(errorWorker);
    dp.poll(sessionWorker);
    const out = dp.collect();
    assert.equal(out.length, 1, `session on worker ${sessionWorker}, error on ${errorWorker}`);
    const p = parseFrame(out[0]!);
    assertFrames(out, [
      toReal(0, {
        icmp: icmpFragNeeded(1300, quoted(NET.reals[0].address, NET.lips[0], 8080, lport)),
      }, { id: p.ipv4!.id, ttl: 64 }),
    ], "frag needed to the real server");
    assert.equal(counters().noSession - before.noSession, 0, "nothing dropped on the way");
  }
  // An error about no session at all goes round once and is dropped once.
  const before = counters();
  dp.inject([fromClient(
    { icmp: icmpFragNeeded(1300, quoted(NET.vip, NET.client, 80, 9)) },
    { src: router },
  )], { queue: 0 });
  for (let i = 0; i < 3; i++) {
    dp.poll(0);
    dp.poll(1);
  }
  assertFrames(dp.collect(), [], "nothing sent");
  const after = counters();
  assert.equal(after.noSession - before.noSession, 1, "dropped once as no_session");
  assert.equal(after.translated, before.translated);
});
