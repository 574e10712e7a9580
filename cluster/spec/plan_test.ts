import assert from "node:assert/strict";
import { diffServices, type Observed, planDeploy } from "./plan.ts";
import type { AgentConfig, Service } from "../../dataplane/agent/api.ts";

const svc = (
  port: number,
  reals: Array<[string, number]>,
  extra: Partial<Service> = {},
): Service => ({
  vip: "10.0.0.1",
  port,
  protocol: "tcp",
  scheduler: "mh",
  reals: reals.map(([address, weight]) => ({ address, port: 80, weight })),
  ...extra,
});
const cfg = (hash: string, services: Service[], lips = ["10.1.0.1"]): AgentConfig => ({
  version: "v",
  hash,
  dataplane: { services, localAddresses: lips },
  checks: [],
});

Deno.test("diffServices() lists removals, additions, modifications and weight changes", () => {
  const from = [svc(80, [["10.2.0.1", 1], ["10.2.0.2", 1]]), svc(81, [])];
  const to = [
    svc(80, [["10.2.0.1", 5], ["10.2.0.3", 1]], { synproxy: true }),
    svc(82, [["10.2.0.9", 1]]),
  ];
  assert.deepEqual(diffServices(from, to), [
    "remove VIP 10.0.0.1:81/tcp mh",
    "modify VIP 10.0.0.1:80/tcp mh -> 10.0.0.1:80/tcp mh synproxy",
    "remove real 10.2.0.2:80 from 10.0.0.1:80/tcp",
    "weight of 10.2.0.1:80 in 10.0.0.1:80/tcp: 1 -> 5",
    "add real 10.2.0.3:80 weight 1 to 10.0.0.1:80/tcp",
    "add VIP 10.0.0.1:82/tcp mh with 1 real servers",
  ]);
});

Deno.test("planDeploy() marks in-sync, changed, new and unreachable nodes", () => {
  const want = cfg("sha256:b", [svc(80, [["10.2.0.1", 1]])]);
  const desired = new Map([["a", want], ["b", want], ["c", want], ["d", want]]);
  const plan = planDeploy(
    desired,
    new Map([
      ["a", { kind: "config", config: want }],
      ["b", { kind: "config", config: cfg("sha256:a", [svc(80, [["10.2.0.1", 2]])]) }],
      ["c", { kind: "config", config: null }],
      ["d", { kind: "unreachable", error: "connect refused" }],
    ]),
  );
  assert.deepEqual(plan.nodes.map((n) => [n.node, n.action]), [
    ["a", "in-sync"],
    ["b", "apply"],
    ["c", "apply"],
    ["d", "unreachable"],
  ]);
  assert.deepEqual(plan.nodes[1]!.changes, ["weight of 10.2.0.1:80 in 10.0.0.1:80/tcp: 2 -> 1"]);
  assert.deepEqual(plan.nodes[2]!.changes, [
    "add VIP 10.0.0.1:80/tcp mh with 1 real servers",
    "LIPs (none) -> 10.1.0.1",
  ]);
  assert.equal(plan.nodes[3]!.error, "connect refused");
});

Deno.test("planDeploy() shows a sync change in words and plans an apply for it", () => {
  const sync = {
    node: "10.0.0.11",
    address: "10.1.0.1",
    secret: "0123456789abcdef0123456789abcdef",
    peers: [{ node: "10.0.0.12", address: "10.1.0.2" }],
  };
  const have = cfg("sha256:a", []);
  have.dataplane.sync = sync;
  const want = cfg("sha256:b", []);
  want.dataplane.sync = { ...sync, secret: "f".repeat(32) };
  const off = cfg("sha256:c", []);
  const plan = planDeploy(
    new Map([["a", want], ["b", off], ["c", want]]),
    new Map<string, Observed>([
      ["a", { kind: "config", config: have }],
      ["b", { kind: "config", config: have }],
      ["c", { kind: "config", config: null }],
    ]),
  );
  assert.deepEqual(plan.nodes.map((n) => [n.action, n.changes]), [
    ["apply", ["sync secret changed"]],
    ["apply", ["sync off (was 10.0.0.11 from 10.1.0.1, port 1000, refresh 10 s, peers 10.0.0.12)"]],
    ["apply", [
      "LIPs (none) -> 10.1.0.1",
      "sync on: 10.0.0.11 from 10.1.0.1, port 1000, refresh 10 s, peers 10.0.0.12",
    ]],
  ]);
});
