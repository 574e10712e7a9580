import assert from "node:assert/strict";
import type { AgentStatus, Service } from "../../dataplane/agent/api.ts";
import { fleetSnapshot, type NodeObservation, nodeState } from "./fleet_view.ts";
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
