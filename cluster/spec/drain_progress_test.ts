import assert from "node:assert/strict";
import { type AgentStatus, NO_SYNC_COUNTERS } from "../../dataplane/agent/api.ts";
import { drainLine, drainSummary, forwardedInSince } from "./drain_progress.ts";

function status(sessions: number, forwardedIn?: number): AgentStatus {
  const s: AgentStatus = {
    node: "node2",
    release: "1",
    config: null,
    drained: true,
    advertisedVips: [],
    withdrawnVips: [],
    counters: {
      sessions,
      packetsIn: 0,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      drops: {},
      synCookies: { sent: 0, valid: 0, invalid: 0 },
    },
    routing: { adjacency: "Full", neighbor: "", advertised: ["10.77.200.2/32"] },
    health: [],
  };
  if (forwardedIn !== undefined) {
    s.sync = {
      synced: true,
      unanswered: [],
      peers: [],
      ...NO_SYNC_COUNTERS,
      forwardedIn,
    };
  }
  return s;
}

Deno.test("drainLine() shows live sessions falling and the frames still forwarded to the node", () => {
  assert.equal(
    drainLine("node2", status(40, 100), status(30, 145)),
    "node2: 30 live sessions (-10); 45 frames forwarded to it since the last look; " +
      "advertises 10.77.200.2/32",
  );
  assert.equal(
    drainLine("node2", status(1, 145), status(1, 145)),
    "node2: 1 live session; no frames forwarded to it; advertises 10.77.200.2/32",
  );
  assert.equal(
    drainLine("node2", status(3), status(5)),
    "node2: 5 live sessions (+2); advertises 10.77.200.2/32",
    "without sync, no forwarding figures",
  );
});

Deno.test("forwardedInSince() counts from zero after a counter reset and is null without sync", () => {
  assert.equal(forwardedInSince(status(0, 500), status(0, 20)), 20);
  assert.equal(forwardedInSince(status(0), status(0, 20)), 20, "sync turned on meanwhile");
  assert.equal(forwardedInSince(status(0, 5), status(0)), null);
});

Deno.test("drainSummary() says how many sessions remained and what was forwarded meanwhile", () => {
  assert.equal(
    drainSummary("node2", status(0, 0), { settled: true, waitedS: 4, forwardedIn: 120 }),
    "node2: drained; 0 live sessions remained; 120 frames were forwarded to it by its peers " +
      "while it drained",
  );
  assert.equal(
    drainSummary("node2", status(7), { settled: false, waitedS: 60, forwardedIn: null }),
    "node2: drained; 7 live sessions remained after 60 s",
  );
});
