import assert from "node:assert/strict";
import { diffServices, type Observed, planDeploy } from "./plan.ts";
import { describeChange, planLines } from "./plan_render.ts";
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
  assert.deepEqual(diffServices(from, to).map(describeChange), [
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
  assert.deepEqual(plan.nodes[1]!.changes.map(describeChange), [
    "weight of 10.2.0.1:80 in 10.0.0.1:80/tcp: 2 -> 1",
  ]);
  assert.deepEqual(plan.nodes[2]!.changes.map(describeChange), [
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
  assert.deepEqual(plan.nodes.map((n) => [n.action, n.changes.map(describeChange)]), [
    ["apply", ["sync secret changed"]],
    ["apply", ["sync off (was 10.0.0.11 from 10.1.0.1, port 1000, refresh 10 s, peers 10.0.0.12)"]],
    ["apply", [
      "LIPs (none) -> 10.1.0.1",
      "sync on: 10.0.0.11 from 10.1.0.1, port 1000, refresh 10 s, peers 10.0.0.12",
    ]],
  ]);
});

Deno.test("diffServices() returns each change as data: subject, kind, VIP, real, from and to", () => {
  const from = [svc(80, [["10.2.0.1", 1], ["10.2.0.2", 1]]), svc(81, [["10.2.0.5", 1]])];
  const to = [svc(80, [["10.2.0.1", 5]], { scheduler: "rr" })];
  const { reals: _, ...was } = from[0]!;
  assert.deepEqual(diffServices(from, to), [
    { subject: "vip", kind: "remove", vip: "10.0.0.1:81/tcp", from: from[1] },
    {
      subject: "vip",
      kind: "modify",
      vip: "10.0.0.1:80/tcp",
      from: was,
      to: { ...was, scheduler: "rr" },
    },
    { subject: "real", kind: "remove", vip: "10.0.0.1:80/tcp", real: "10.2.0.2:80", from: 1 },
    {
      subject: "real",
      kind: "reweight",
      vip: "10.0.0.1:80/tcp",
      real: "10.2.0.1:80",
      from: 1,
      to: 5,
    },
  ]);
});

Deno.test("planDeploy() names the node of each change and counts what the node holds now", () => {
  const want = cfg("sha256:b", [svc(80, [["10.2.0.1", 1]])]);
  const plan = planDeploy(
    new Map([["a", want], ["b", want], ["c", want]]),
    new Map<string, Observed>([
      ["a", {
        kind: "config",
        config: cfg("sha256:a", [svc(80, [["10.2.0.1", 1], ["10.2.0.2", 1]]), svc(81, [])]),
      }],
      ["b", { kind: "config", config: null }],
      ["c", { kind: "unreachable", error: "refused" }],
    ]),
  );
  assert.deepEqual(plan.nodes.map((n) => n.current), [
    { vips: 2, reals: 2 },
    { vips: 0, reals: 0 },
    null,
  ]);
  assert.deepEqual(plan.nodes[0]!.changes.map((c) => [c.node, c.subject, c.kind]), [
    ["a", "vip", "remove"],
    ["a", "real", "remove"],
  ]);
});

Deno.test("planDeploy() of a node differing only in its hash says so; planLines() prints the plan", () => {
  const want = cfg("sha256:b", []);
  const plan = planDeploy(
    new Map([["a", want], ["b", want]]),
    new Map<string, Observed>([
      ["a", { kind: "config", config: cfg("sha256:a", []) }],
      ["b", { kind: "unreachable", error: "connect refused" }],
    ]),
  );
  assert.deepEqual(plan.nodes[0]!.changes, [
    { node: "a", subject: "config", kind: "modify", from: "sha256:a", to: "sha256:b" },
  ]);
  assert.deepEqual(planLines(plan), [
    "desired configuration sha256:b",
    "a: apply",
    "  configuration version/hash only",
    "b: unreachable (connect refused)",
  ]);
});
