import assert from "node:assert/strict";
import { type AgentStatus, NO_SYNC_COUNTERS } from "../../dataplane/agent/api.ts";
import { badDrops, trafficSigns } from "./rollout_gate.ts";

function status(
  packetsIn: number,
  drops: Record<string, number> = {},
  fwd?: { out: number; in: number },
): AgentStatus {
  return {
    node: "node1",
    release: "2",
    config: null,
    drained: false,
    advertisedVips: [],
    withdrawnVips: [],
    counters: {
      sessions: 0,
      packetsIn,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      drops,
      synCookies: { sent: 0, valid: 0, invalid: 0 },
    },
    routing: { adjacency: "Full", neighbor: "", advertised: [] },
    health: [],
    ...(fwd
      ? {
        sync: {
          synced: true,
          unanswered: [],
          peers: [],
          ...NO_SYNC_COUNTERS,
          forwardedOut: fwd.out,
          forwardedIn: fwd.in,
        },
      }
      : {}),
  };
}

Deno.test("trafficSigns() counts packets in, and frames forwarded to or by the node, as traffic", () => {
  assert.deepEqual(trafficSigns(status(10), status(20)), ["packets in"]);
  const idle = { out: 5, in: 5 };
  assert.deepEqual(trafficSigns(status(10, {}, idle), status(10, {}, { out: 9, in: 5 })), [
    "frames forwarded out",
  ]);
  assert.deepEqual(trafficSigns(status(10, {}, idle), status(10, {}, { out: 5, in: 6 })), [
    "frames forwarded in",
  ]);
  assert.deepEqual(trafficSigns(status(10, {}, idle), status(10, {}, idle)), []);
  assert.deepEqual(trafficSigns(status(10), status(10, {}, { out: 1, in: 0 })), [
    "frames forwarded out",
  ]);
});

Deno.test("badDrops() leaves out normal reasons, forwarded_no_session included, and counts the rest", () => {
  const drops = {
    no_session: 5,
    neigh_unresolved: 1,
    no_service: 1,
    forwarded_no_session: 9,
    sync_auth: 2,
    bad_tcp_checksum: 3,
  };
  assert.equal(badDrops(status(0, drops)), 5);
});
