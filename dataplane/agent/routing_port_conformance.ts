/**
 * The contract of the agent's {@linkcode RoutingPort}, as steps any implementation runs: the
 * agent's recording fake (`_testing.ts`) in `_testing_test.ts`, and `BirdRouting` over a real
 * BIRD 2 in network namespaces with an upstream router as its OSPF neighbour in
 * `tests/routing_port_conformance_test.ts`. What a real BIRD announces is read back from its
 * OSPF state (the router LSA's stub networks), so a step may wait up to `settleMs` for it.
 *
 * @example
 * ```ts
 * Deno.test("FakeRouting passes the routing port conformance suite", (t) =>
 *   routingPortConformance(t, {
 *     port: fake, routerId: "10.0.0.2", neighbor: "10.0.0.1",
 *     other: { routerId: "10.0.0.3", announces: ["10.0.0.103/32"] }, settleMs: 0,
 *   }));
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import type { RoutingPort } from "./agent.ts";

/** A port under test, with what its surroundings are. The steps share it, in order. */
export interface RoutingUnderTest {
  port: RoutingPort;
  /** The router id of the node the port drives. */
  routerId: string;
  /** The router id of its upstream neighbour (what `status().neighbor` names). */
  neighbor: string;
  /** Another reachable router and the stub networks it announces (a.b.c.d/32), fixed. */
  other: { routerId: string; announces: string[] };
  /** How long an announcement may take to show (0: at once). */
  settleMs: number;
}

/** Addresses the suite announces (documentation ranges: no lab uses them). */
export const ROUTING_CONFORMANCE_NET = {
  vips: ["192.0.2.10", "192.0.2.11"],
  lip: "198.51.100.1",
  standbyLip: "198.51.100.2",
  /** A router id no router has. */
  nobody: "192.0.2.254",
} as const;

const N = ROUTING_CONFORMANCE_NET;
const sorted = (xs: string[]) => [...xs].sort();
const host = (a: string) => `${a}/32`;

/** Waits until `read()` gives `want` (compared as sorted lists), at most `ms`. */
async function settles(
  read: () => Promise<string[]>,
  want: string[],
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  let got = sorted(await read());
  while (JSON.stringify(got) !== JSON.stringify(sorted(want)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    got = sorted(await read());
  }
  assert.deepEqual(got, sorted(want), `${what} (after ${ms} ms)`);
}

/** The suite. */
export async function routingPortConformance(
  t: Deno.TestContext,
  u: RoutingUnderTest,
): Promise<void> {
  const { port } = u;
  const advertised = async () => (await port.status()).advertised;

  await t.step("status() names the upstream router, adjacency Full", async () => {
    const deadline = Date.now() + Math.max(u.settleMs, 0) * 3;
    let s = await port.status();
    while (s.adjacency !== "Full" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      s = await port.status();
    }
    assert.equal(s.adjacency, "Full", JSON.stringify(s));
    assert.equal(s.neighbor, u.neighbor);
  });

  await t.step("announce() then status() reports exactly the VIPs and LIPs, as /32", async () => {
    await port.announce({ vips: [...N.vips], lips: [N.lip] });
    await settles(advertised, [...N.vips, N.lip].map(host), u.settleMs, "VIPs and LIP");
  });

  await t.step("a drained node (no VIPs) announces its LIPs only", async () => {
    await port.announce({ vips: [], lips: [N.lip] });
    await settles(advertised, [host(N.lip)], u.settleMs, "LIP only");
  });

  await t.step("standby LIPs are announced beside the node's own", async () => {
    await port.announce({ vips: [N.vips[0]], lips: [N.lip], standbyLips: [N.standbyLip] });
    await settles(
      advertised,
      [N.vips[0], N.lip, N.standbyLip].map(host),
      u.settleMs,
      "VIP, LIP and standby LIP",
    );
  });

  await t.step("announce() refuses what BIRD cannot announce and keeps the last", async () => {
    const before = [N.vips[0], N.lip, N.standbyLip].map(host);
    for (
      const bad of [
        { vips: ["192.0.2.300"], lips: [N.lip] },
        { vips: [N.lip], lips: [N.lip] },
        { vips: [N.vips[0], N.vips[0]], lips: [N.lip] },
        { vips: [], lips: [N.lip], standbyLips: [N.lip] },
      ]
    ) {
      await assert.rejects(() => port.announce(bad), RangeError, JSON.stringify(bad));
    }
    await settles(advertised, before, 0, "unchanged");
  });

  await t.step("announce() takes a /32 as well as a bare address", async () => {
    await port.announce({ vips: [host(N.vips[1])], lips: [host(N.lip)] });
    await settles(advertised, [N.vips[1], N.lip].map(host), u.settleMs, "normalised");
  });

  await t.step(
    "announcedBy() gives every router asked: its own, another's, none for an unknown one",
    async () => {
      const ids = [u.routerId, u.other.routerId, N.nobody];
      const read = async () => {
        const m = await port.announcedBy(ids);
        assert.deepEqual(sorted([...m.keys()]), sorted(ids), "one entry per router asked");
        return m;
      };
      await settles(
        async () => (await read()).get(u.routerId)!,
        [N.vips[1], N.lip].map(host),
        u.settleMs,
        "its own announcements",
      );
      const m = await read();
      assert.deepEqual(sorted(m.get(u.other.routerId)!), sorted(u.other.announces));
      assert.deepEqual(m.get(N.nobody), []);
      assert.deepEqual(await port.announcedBy([]), new Map());
    },
  );
}
