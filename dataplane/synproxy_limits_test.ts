/**
 * SYNPROXY's configured limits: the SYN-ACK's TTL, its largest MSS, and window scaling turned
 * off for both sides (the real server is then not offered it either).
 */
import assert from "node:assert/strict";
import { parseFrame, type TcpOption } from "./testing/packet.ts";
import { bringUp, fromClient, NET, oneService } from "./testing/testbed.ts";

const dp = bringUp({ synproxy: { ttl: 100, windowScale: null, maxMss: 1200 } });
dp.apply(oneService({
  synproxy: true,
  reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }],
}));

Deno.test("the SYN-ACK follows the configured TTL, MSS cap and no window scaling", () => {
  const offered: TcpOption[] = [
    { kind: "mss", value: 1460 },
    { kind: "sackPermitted" },
    { kind: "nop" },
    { kind: "wscale", shift: 7 },
  ];
  dp.inject([
    fromClient({ tcp: { srcPort: 45000, dstPort: 80, seq: 7, flags: "S", options: offered } }),
  ], {
    queue: 0,
  });
  dp.poll(0);
  const [sa] = dp.collect();
  const p = parseFrame(sa!);
  assert.equal(p.ipv4!.ttl, 100);
  assert.deepEqual(p.tcp!.options.filter((o) => o.kind !== "nop"), [
    { kind: "mss", value: 1200 },
    { kind: "sackPermitted" },
  ]);
  // The client's ACK: the SYN to the real server carries no window scale either.
  dp.inject([
    fromClient({
      tcp: { srcPort: 45000, dstPort: 80, seq: 8, ack: (p.tcp!.seq + 1) >>> 0, flags: "A" },
    }),
  ], { queue: 0 });
  dp.poll(0);
  const [syn] = dp.collect();
  const q = parseFrame(syn!);
  assert.equal(q.tcp!.flags, "S");
  assert.ok(!q.tcp!.options.some((o) => o.kind === "wscale"), JSON.stringify(q.tcp!.options));
  assert.ok(q.tcp!.options.some((o) => o.kind === "sackPermitted"));
});
