/**
 * Sessions and schedulers through the FFI test entry: rr spreads new sessions, weight 0 takes none,
 * a removed real server's sessions finish, and expiry (test clock) sends RST both ways.
 */
import assert from "node:assert/strict";
import { parseFrame } from "./testing/packet.ts";
import {
  assertFrames,
  bringUp,
  fromClient,
  fromReal,
  NET,
  oneService,
  toClient,
  toReal,
} from "./testing/testbed.ts";
import type { RealServer } from "./binding/config.ts";

const dp = bringUp();
const real = (i: number, weight = 1): RealServer => ({
  address: NET.reals[i]!.address,
  port: 8080,
  weight,
});

let nextPort = 30000;

/** Opens a connection with a SYN; returns the client port, real server index, LIP port and delta. */
function syn(queue: number) {
  const cport = nextPort++;
  dp.inject([fromClient({ tcp: { srcPort: cport, dstPort: 80, seq: 1, flags: "S" } })], { queue });
  dp.poll(queue);
  const out = dp.collect();
  assert.equal(out.length, 1, `SYN from ${cport} forwarded`);
  const p = parseFrame(out[0]!);
  const rs = NET.reals.findIndex((r) => r.address === p.ipv4!.dst);
  return { cport, rs, lport: p.tcp!.srcPort, delta: (p.tcp!.seq - 1) >>> 0, queue };
}

Deno.test("rr spreads new sessions evenly and weight 0 takes none", () => {
  dp.apply(oneService({ reals: [real(0), real(1), real(2, 0)] }));
  const counts = [0, 0, 0];
  for (let i = 0; i < 20; i++) counts[syn(i % 2).rs]!++;
  assert.deepEqual(counts, [10, 10, 0]);
  const stats = dp.stats().services[0]!;
  assert.deepEqual(stats.reals.map((r) => r.sessionsNew), [10, 10, 0]);
});

Deno.test("wrr follows the weights", () => {
  dp.apply(oneService({ scheduler: "wrr", reals: [real(0, 3), real(1, 1)] }));
  const counts = [0, 0, 0];
  for (let i = 0; i < 40; i++) counts[syn(i % 2).rs]!++;
  assert.deepEqual(counts, [30, 10, 0]);
});

Deno.test("mh sends one client tuple to the same real server across snapshots", () => {
  dp.apply(oneService({ scheduler: "mh", reals: [real(0), real(1), real(2)] }));
  const first = syn(0);
  dp.apply(oneService({ scheduler: "mh", reals: [real(0), real(1), real(2)] }));
  // The same client port again (the old session is still there: use a new tuple from the same table).
  const again = new Set<number>();
  for (let i = 0; i < 30; i++) again.add(syn(i % 2).rs);
  assert.equal(again.size, 3, "Maglev uses every real server");
  assert.ok(first.rs >= 0);
});

Deno.test("a removed real server's sessions finish; new ones go elsewhere", () => {
  dp.apply(oneService({ reals: [real(0)] }));
  const c = syn(0);
  assert.equal(c.rs, 0);
  dp.apply(oneService({ reals: [real(1)] }));
  // The removed server's SYN-ACK still reaches the client, the client's ACK still reaches it.
  dp.inject([
    fromReal(0, {
      tcp: { srcPort: 8080, dstPort: c.lport, seq: 700, ack: (2 + c.delta) >>> 0, flags: "SA" },
    }),
  ], {
    queue: 0,
  });
  dp.poll(0);
  assertFrames(dp.collect(), [
    toClient({ tcp: { srcPort: 80, dstPort: c.cport, seq: 700, ack: 2, flags: "SA" } }, {
      ttl: 63,
    }),
  ], "SYN-ACK from the removed server");
  dp.inject(
    [fromClient({ tcp: { srcPort: c.cport, dstPort: 80, seq: 2, ack: 701, flags: "A" } })],
    { queue: 0 },
  );
  dp.poll(0);
  assertFrames(dp.collect(), [toReal(0, {
    tcp: {
      srcPort: c.lport,
      dstPort: 8080,
      seq: (2 + c.delta) >>> 0,
      ack: 701,
      flags: "A",
      options: [{ kind: "toa", port: c.cport, address: NET.client }],
    },
  }, { ttl: 63 })], "ACK to the removed server");
  assert.equal(syn(1).rs, 1, "new sessions go to the remaining server");
});

Deno.test("packets of a new flow that arrive in one burst share one session", () => {
  // Found by the fuzzer: the burst's sessions were looked up before any of its packets was
  // forwarded, so the second datagram of a new UDP flow (or a SYN retransmitted right behind
  // the first) created a second session, from another LIP port to another real server.
  const config = oneService({ reals: [real(0), real(1)] });
  config.services.push({
    vip: NET.vip,
    port: 53,
    protocol: "udp",
    scheduler: "rr",
    reals: [{ ...real(0), port: 5353 }, { ...real(1), port: 5353 }],
  });
  dp.apply(config);
  const before = dp.sessionCount();
  const cport = nextPort++;
  const dgram = fromClient({ udp: { srcPort: cport, dstPort: 53, payload: Uint8Array.of(1) } });
  const first = fromClient({ tcp: { srcPort: cport, dstPort: 80, seq: 1, flags: "S" } });
  dp.inject([dgram, dgram, first, first], { queue: 0 });
  dp.poll(0);
  const out = dp.collect().map((f) => parseFrame(f));
  assert.equal(out.length, 4, "all four forwarded");
  const from = (p: (typeof out)[number]) =>
    `${p.ipv4!.src}:${p.udp?.srcPort ?? p.tcp!.srcPort} > ${p.ipv4!.dst}`;
  assert.equal(new Set(out.filter((p) => p.udp).map(from)).size, 1, "one UDP session");
  assert.equal(new Set(out.filter((p) => p.tcp).map(from)).size, 1, "one TCP session");
  assert.equal(dp.sessionCount() - before, 2, "two sessions in all");
});

Deno.test("an expired established session sends RST to both sides", () => {
  dp.apply(oneService({ reals: [real(0)], timeouts: { tcpEstablished: 60 } }));
  const c = syn(1);
  dp.inject([
    fromReal(0, {
      tcp: { srcPort: 8080, dstPort: c.lport, seq: 900, ack: (2 + c.delta) >>> 0, flags: "SA" },
    }),
  ], {
    queue: 1,
  });
  dp.inject(
    [fromClient({ tcp: { srcPort: c.cport, dstPort: 80, seq: 2, ack: 901, flags: "A" } })],
    { queue: 1 },
  );
  dp.poll(1);
  assert.equal(dp.collect().length, 2);
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport)?.state, "established");
  dp.advanceClock(59);
  dp.poll(1);
  assertFrames(dp.collect(), [], "nothing before the timeout");
  dp.advanceClock(2);
  dp.poll(1);
  const out = dp.collect();
  const byDst = (f: Uint8Array) => parseFrame(f).ipv4!.dst;
  out.sort((a, b) => byDst(a).localeCompare(byDst(b)));
  // Normalise the IP id the data plane chose before comparing.
  const ids = out.map((f) => parseFrame(f).ipv4!.id);
  assertFrames(out, [
    toReal(0, {
      tcp: {
        srcPort: c.lport,
        dstPort: 8080,
        seq: (2 + c.delta) >>> 0,
        ack: 901,
        flags: "RA",
        window: 0,
      },
    }, {
      ttl: 64,
      id: ids[0]!,
    }),
    toClient({ tcp: { srcPort: 80, dstPort: c.cport, seq: 901, ack: 2, flags: "RA", window: 0 } }, {
      ttl: 64,
      id: ids[1]!,
    }),
  ], "RST both ways");
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport), undefined, "session freed");
});
