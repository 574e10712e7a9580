import assert from "node:assert/strict";
import type { AgentStatus, Service } from "../../dataplane/agent/api.ts";
import { fleetSnapshot, type NodeObservation, nodeState, rolloutLease } from "./fleet_view.ts";
import { checkSnapshot } from "../../web/conformance.ts";

const svc: Service = {
  vip: "10.10.10.10",
  port: 80,
  protocol: "tcp",
  scheduler: "mh",
  reals: [{ address: "10.0.0.21", port: 80, weight: 5 }, {
    address: "10.0.0.22",
    port: 80,
    weight: 5,
  }],
};

function status(over: Partial<AgentStatus> = {}): AgentStatus {
  return {
    node: "lb1",
    release: "1.0.0",
    config: { version: "1", hash: "sha256:" + "a".repeat(64), appliedAt: "2026-11-25T00:00:00Z" },
    drained: false,
    advertisedVips: ["10.10.10.10"],
    withdrawnVips: [],
    counters: {
      sessions: 4,
      packetsIn: 100,
      packetsOut: 90,
      bytesIn: 1,
      bytesOut: 1,
      drops: { no_session: 2 },
      synCookies: { sent: 0, valid: 0, invalid: 0 },
    },
    routing: { adjacency: "Full", neighbor: "10.0.0.1", advertised: ["10.10.10.10/32"] },
    health: [{
      key: "10.10.10.10:80/tcp/10.0.0.22:80",
      up: false,
      lastError: "refused",
      changedAt: 1,
    }],
    ...over,
  };
}

const obs = (name: string, s?: AgentStatus): NodeObservation =>
  s
    ? { name, address: "10.0.0.11", status: s }
    : { name, address: "10.0.0.12", error: "connect timeout" };

Deno.test("fleetSnapshot() shows reachable and unreachable nodes, health and effective weights", () => {
  const snap = fleetSnapshot({
    cluster: "lab",
    takenAt: 1000,
    desiredHash: "sha256:" + "a".repeat(64),
    services: [svc],
    nodes: [obs("lb1", status()), obs("lb2")],
    rollouts: [],
    rates: new Map([["lb1", { ppsIn: 10, ppsOut: 9 }]]),
  });
  checkSnapshot(snap);
  const [lb1, lb2] = snap.nodes;
  assert.equal(lb1?.state, "active");
  assert.equal(lb1?.stats?.ppsIn, 10);
  assert.equal(lb1?.ospf?.vipsAdvertised, true);
  assert.equal(lb2?.state, "down");
  assert.equal(lb2?.error, "connect timeout");
  const reals = snap.vips[0]!.reals;
  assert.deepEqual(reals[0]!.health, [{ node: "lb1", up: true, weight: 5, detail: null }]);
  assert.deepEqual(reals[1]!.health, [{ node: "lb1", up: false, weight: 0, detail: "refused" }]);
  assert.equal(snap.vips[0]!.toa, true, "TOA defaults on for TCP");
});

Deno.test("nodeState() tells draining (sessions left) from drained, and upgrading from both", () => {
  const drained = status({ drained: true });
  assert.equal(nodeState(obs("lb1", drained), []), "draining");
  assert.equal(
    nodeState(obs("lb1", { ...drained, counters: { ...drained.counters!, sessions: 0 } }), []),
    "drained",
  );
  const rollout = {
    id: "r1",
    release: "2",
    batchSize: 1,
    state: "running" as const,
    startedBy: "op",
    startedAt: 0,
    updatedAt: 0,
    error: null,
    nodes: [{
      node: "lb1",
      step: "restarting" as const,
      message: null,
      startedAt: 0,
      finishedAt: null,
    }],
  };
  assert.equal(nodeState(obs("lb1", drained), [rollout]), "upgrading");
  assert.equal(nodeState(obs("lb1", drained), [{ ...rollout, state: "halted" }]), "draining");
});

Deno.test("fleetSnapshot() shows why a degraded node is degraded", () => {
  const snap = fleetSnapshot({
    cluster: "lab",
    takenAt: 1000,
    desiredHash: null,
    services: [svc],
    nodes: [obs("lb1", status({ degraded: "rolling back failed", lastError: "older" }))],
    rollouts: [],
    rates: new Map(),
  });
  assert.equal(snap.nodes[0]?.error, "degraded: rolling back failed");
});

Deno.test("fleetSnapshot() shows each node's sync with peers by name, and the forwarding rates", () => {
  const sync: NonNullable<AgentStatus["sync"]> = {
    synced: true,
    unanswered: [],
    peers: [{
      node: "10.0.0.12",
      snapshotWorkers: 2,
      peerWorkers: 2,
      datagramsReceived: 9,
      recordsReceived: 30,
      forwardedOut: 4,
      forwardedIn: 6,
      lastHeardMs: 100,
    }],
    recordsSent: 40,
    datagramsSent: 8,
    recordsReceived: 30,
    datagramsReceived: 9,
    lost: 1,
    recordsActive: 25,
    recordsFull: 0,
    recordsExpired: 2,
    forwardedOut: 4,
    forwardedIn: 6,
  };
  const snap = fleetSnapshot({
    cluster: "lab",
    takenAt: 1000,
    desiredHash: null,
    services: [svc],
    nodes: [obs("lb1", status({ sync, drained: true })), {
      name: "lb2",
      address: "10.0.0.12",
      status: status(),
    }],
    rollouts: [],
    rates: new Map(),
    forwardRates: new Map([["lb1", { ppsIn: 12, ppsOut: 0 }]]),
  });
  assert.deepEqual(checkSnapshot(snap), []);
  const [lb1, lb2] = snap.nodes;
  assert.equal(lb1?.state, "draining");
  assert.deepEqual(lb1?.sync, {
    synced: true,
    unanswered: [],
    records: 25,
    recordsSent: 40,
    recordsReceived: 30,
    lost: 1,
    forwardedOut: 4,
    forwardedIn: 6,
    forwardedOutPerSecond: 0,
    forwardedInPerSecond: 12,
    peers: [{ node: "lb2", heard: true, forwardedOut: 4, forwardedIn: 6 }],
  });
  assert.equal(lb2?.sync, null, "a node that reports no sync");
});

Deno.test("rolloutLease() names the holder the most nodes report, with the least time left on their own clocks", () => {
  const held = (holder: string, expiresAt: number, now: number) => ({
    holder,
    token: 3,
    acquiredAt: 0,
    expiresAt,
    held: expiresAt > now,
    now,
  });
  const obs = (name: string, lease?: ReturnType<typeof held>): NodeObservation => ({
    name,
    address: "10.0.0.1",
    status: status(lease ? { lease } : {}),
  });
  assert.equal(
    rolloutLease([obs("a"), obs("b"), { name: "c", address: "x", error: "down" }]),
    null,
  );
  assert.equal(rolloutLease([obs("a", held("alice", 1000, 1000))]), null, "expired is not held");
  assert.deepEqual(
    rolloutLease([
      obs("a", held("alice", 60_000, 1000)),
      obs("b", held("alice", 500_000, 470_000)),
      obs("c", held("bob", 9_000, 1000)),
    ]),
    { holder: "alice", nodes: ["a", "b"], expiresInMs: 30_000 },
  );
});
