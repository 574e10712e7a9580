/**
 * A full session table refuses new flows with a counter and leaves existing sessions alone;
 * memory is bounded by the configured table size.
 */
import assert from "node:assert/strict";
import { parseFrame } from "./testing/packet.ts";
import { bringUp, fromClient, fromReal, NET, oneService } from "./testing/testbed.ts";

const dp = bringUp({ sessionsPerWorker: 4 });
dp.apply(oneService({ reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }] }));

Deno.test("a full table refuses the next flow, counts it, and existing flows keep working", () => {
  const opened: { cport: number; lport: number }[] = [];
  for (let i = 0; i < 4; i++) {
    dp.inject([fromClient({ tcp: { srcPort: 30000 + i, dstPort: 80, seq: 1, flags: "S" } })], {
      queue: 0,
    });
    dp.poll(0);
    const out = dp.collect();
    assert.equal(out.length, 1);
    opened.push({ cport: 30000 + i, lport: parseFrame(out[0]!).tcp!.srcPort });
  }
  const before = dp.stats().drops["table_full"] ?? 0;
  dp.inject([fromClient({ tcp: { srcPort: 31000, dstPort: 80, seq: 1, flags: "S" } })], {
    queue: 0,
  });
  dp.poll(0);
  assert.deepEqual(dp.collect(), [], "the fifth flow is refused");
  assert.equal((dp.stats().drops["table_full"] ?? 0) - before, 1);
  assert.equal(dp.sessionCount(), 4);
  // Every existing session still forwards both ways.
  for (const o of opened) {
    dp.inject([
      fromReal(0, { tcp: { srcPort: 8080, dstPort: o.lport, seq: 9, ack: 2, flags: "SA" } }),
    ], {
      queue: dp.lipOwner(NET.lips[0], o.lport),
    });
    dp.poll(0);
    dp.poll(1);
    const out = dp.collect();
    assert.equal(out.length, 1, `session of ${o.cport} still translates`);
    assert.equal(parseFrame(out[0]!).tcp!.dstPort, o.cport);
  }
});
