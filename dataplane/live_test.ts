/**
 * Real worker threads (two lcores) polling net_ring ports: configuration snapshots swapped while
 * traffic flows lose no packet and break no session.
 */
import assert from "node:assert/strict";
import { parseFrame } from "./testing/packet.ts";
import { bringUp, fromClient, fromReal, NET, oneService } from "./testing/testbed.ts";
import type { DataPlaneConfig, RealServer } from "./binding/config.ts";
import { pollUntil } from "../routing/poll.ts";

const dp = bringUp({ testMode: false });
const real = (i: number, weight = 1): RealServer => ({
  address: NET.reals[i]!.address,
  port: 8080,
  weight,
});
const base = (): DataPlaneConfig => {
  const c = oneService({ reals: [real(0), real(1)] });
  c.services[0]!.protocol = "udp";
  return c;
};
const enc = (s: string) => new TextEncoder().encode(s);

/** Collects until `n` frames arrived (workers run on their own threads) or a generous deadline. */
async function collectN(n: number, what: string): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  await pollUntil(
    () => {
      got.push(...dp.collect());
      return got.length >= n || null;
    },
    20_000,
    5,
  );
  assert.equal(got.length, n, `${what}: ${got.length} of ${n} frames came out`);
  return got;
}

Deno.test({
  name: "snapshots applied under traffic lose no packet and move no session",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    dp.start();
    try {
      dp.apply(base());
      const FLOWS = 64;
      // Open the flows and remember which real server and LIP port each got.
      for (let i = 0; i < FLOWS; i++) {
        dp.inject([
          fromClient({ udp: { srcPort: 20000 + i, dstPort: 80, payload: enc(`open ${i}`) } }),
        ], {
          queue: i % 2,
        });
      }
      const opened = new Map<number, { rs: string; lport: number }>();
      for (const f of await collectN(FLOWS, "opening")) {
        const p = parseFrame(f);
        const i = Number(new TextDecoder().decode(p.udp!.payload).split(" ")[1]);
        opened.set(i, { rs: p.ipv4!.dst, lport: p.udp!.srcPort });
      }
      assert.equal(opened.size, FLOWS);
      // Running workers list their own sessions (each into a request it answers).
      assert.equal(dp.sessions().filter((x) => x.protocol === "udp").length, FLOWS);

      // Rounds of traffic both ways, a different snapshot applied in the middle of each round.
      const snapshots: DataPlaneConfig[] = [
        oneService({ reals: [real(0, 5), real(1, 1), real(2)] }),
        { ...base(), localAddresses: [NET.lips[0], NET.lips[1]] },
        (() => {
          const c = base();
          c.services.push({
            vip: "192.0.2.11",
            port: 443,
            protocol: "tcp",
            scheduler: "mh",
            reals: [real(2)],
          });
          return c;
        })(),
        { ...base(), services: [{ ...base().services[0]!, reals: [real(2)] }] },
        base(),
      ];
      for (const c of snapshots) if (c.services[0]) c.services[0].protocol = "udp";
      let sent = 0;
      for (const [round, snapshot] of snapshots.entries()) {
        for (let i = 0; i < FLOWS; i++) {
          const o = opened.get(i)!;
          const rs = NET.reals.findIndex((r) => r.address === o.rs);
          dp.inject([
            fromClient({ udp: { srcPort: 20000 + i, dstPort: 80, payload: enc(`in ${i}`) } }),
          ], {
            queue: i % 2,
          });
          dp.inject([
            fromReal(rs, { udp: { srcPort: 8080, dstPort: o.lport, payload: enc(`out ${i}`) } }),
          ], {
            queue: (i + 1) % 2,
          });
          sent += 2;
          if (i === FLOWS / 2) dp.apply(snapshot);
        }
        const out = await collectN(2 * FLOWS, `round ${round}`);
        for (const f of out) {
          const p = parseFrame(f);
          const [dir, n] = new TextDecoder().decode(p.udp!.payload).split(" ");
          const o = opened.get(Number(n))!;
          if (dir === "in") {
            assert.equal(p.ipv4!.dst, o.rs, `flow ${n} stays on its real server in round ${round}`);
            assert.equal(p.udp!.srcPort, o.lport, `flow ${n} keeps its LIP port`);
          } else {
            assert.equal(p.ipv4!.dst, NET.client);
            assert.equal(p.udp!.dstPort, 20000 + Number(n));
          }
        }
      }
      const s = dp.stats();
      assert.equal(
        Object.values(s.drops).reduce((a, b) => a + b, 0),
        0,
        `no drops: ${JSON.stringify(s.drops)}`,
      );
      assert.ok(sent > 0);
    } finally {
      dp.stop();
    }
  },
});
