import assert from "node:assert/strict";
import { ActionError, hashVerdict, type NodeView, realKey, vipKey } from "./fleet.ts";

const node = (name: string, configHash: string | null): NodeView => ({
  name,
  address: "10.0.0.1",
  state: "active",
  version: "1",
  configHash,
  reachable: configHash !== null,
  error: configHash === null ? "timeout" : null,
  ospf: null,
  stats: null,
  sync: null,
});

Deno.test("hashVerdict() flags nodes whose config hash differs from the fleet's", () => {
  const cases: [string, (string | null)[], string | null, string | null, string[], number][] = [
    ["all identical", ["a", "a", "a"], null, "a", [], 1],
    ["one differs from the majority", ["a", "b", "a"], null, "a", ["n2"], 2],
    ["a tie flags every node", ["a", "b"], null, null, ["n1", "n2"], 2],
    ["the desired hash wins over the majority", ["a", "a", "b"], "b", "b", ["n1", "n2"], 2],
    ["unknown hashes are not mismatches", ["a", null, "a"], null, "a", [], 1],
    ["no hash at all", [null, null], null, null, [], 0],
  ];
  for (const [name, hashes, desired, expected, mismatched, distinct] of cases) {
    const v = hashVerdict({
      desiredConfigHash: desired,
      nodes: hashes.map((h, i) => node(`n${i + 1}`, h)),
    });
    assert.equal(v.expected, expected, name);
    assert.deepEqual([...v.mismatched].sort(), mismatched, name);
    assert.equal(v.distinct, distinct, name);
  }
});

Deno.test("vipKey() and realKey() name services the way metrics and tables show them", () => {
  assert.equal(vipKey({ address: "10.0.0.100", port: 80, protocol: "tcp" }), "10.0.0.100:80/tcp");
  assert.equal(realKey({ address: "10.0.1.1", port: 8080 }), "10.0.1.1:8080");
});

Deno.test("ActionError carries a status (default 500), a name and a cause", () => {
  const cause = new Error("ECONNREFUSED");
  const e = new ActionError("Cannot drain node1: agent unreachable", { status: 502, cause });
  assert.equal(e.name, "ActionError");
  assert.equal(e.status, 502);
  assert.equal(e.cause, cause);
  assert.equal(new ActionError("x").status, 500);
});
