/**
 * Every malformed-frame class of issue 3 item 7 is dropped, counted under its reason, creates no
 * session, and leaves an established session working.
 */
import assert from "node:assert/strict";
import { parseFrame } from "./testing/packet.ts";
import { malformedFrames } from "./testing/malformed.ts";
import { assertFrames, bringUp, fromClient, NET, oneService, toReal } from "./testing/testbed.ts";

const dp = bringUp();
const config = oneService({ reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }] });
config.services.push({
  vip: NET.vip,
  port: 80,
  protocol: "udp",
  scheduler: "rr",
  reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }],
});
dp.apply(config);

const flow = {
  eth: { src: NET.gatewayMac, dst: NET.portMac },
  src: NET.client,
  dst: NET.vip,
  srcPort: 40000,
  dstPort: 80,
};

Deno.test("each malformed frame is dropped and counted by its reason, without a session", () => {
  for (const c of malformedFrames(flow)) {
    const before = dp.stats();
    const sessions = dp.sessionCount();
    dp.inject([c.frame], { queue: 0 });
    dp.poll(0);
    assertFrames(dp.collect(), [], `${c.name} (${c.description}) is dropped`);
    const after = dp.stats();
    assert.equal(
      (after.drops[c.class] ?? 0) - (before.drops[c.class] ?? 0),
      1,
      `${c.name}: drop counter "${c.class}" +1 (drops now ${JSON.stringify(after.drops)})`,
    );
    const total = (s: typeof after) => Object.values(s.drops).reduce((a, b) => a + b, 0);
    assert.equal(total(after) - total(before), 1, `${c.name}: exactly one drop counted`);
    assert.equal(dp.sessionCount(), sessions, `${c.name}: no session created`);
  }
});

Deno.test("malformed frames on an established flow do not disturb its session", () => {
  dp.inject([fromClient({ tcp: { srcPort: 40001, dstPort: 80, seq: 10, flags: "S" } })], {
    queue: 1,
  });
  dp.poll(1);
  const syn = parseFrame(dp.collect()[0]!);
  const lport = syn.tcp!.srcPort;
  const delta = (syn.tcp!.seq - 10) >>> 0;
  // A RST with a bad checksum, a truncated FIN and a RST fragment on the same tuple.
  for (const c of malformedFrames({ ...flow, srcPort: 40001 })) {
    if (!c.class.endsWith("tcp_checksum") && !c.class.startsWith("ipv4_fragment")) continue;
    dp.inject([c.frame], { queue: 1 });
  }
  dp.poll(1);
  assertFrames(dp.collect(), [], "malformed frames on the flow are dropped");
  const s = dp.sessions().find((x) => x.clientPort === 40001);
  assert.equal(s?.state, "syn_sent", "the session is untouched");
  // The flow still works: the next segment is forwarded.
  dp.inject([fromClient({ tcp: { srcPort: 40001, dstPort: 80, seq: 10, flags: "S" } })], {
    queue: 1,
  });
  dp.poll(1);
  assertFrames(dp.collect(), [
    toReal(0, { tcp: { srcPort: lport, dstPort: 8080, seq: (10 + delta) >>> 0, flags: "S" } }, {
      ttl: 63,
    }),
  ], "SYN retransmission still forwarded");
});
