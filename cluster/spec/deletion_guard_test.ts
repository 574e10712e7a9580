import assert from "node:assert/strict";
import {
  deletionCounts,
  DeletionGuardError,
  describeDeletions,
  excessiveDeletions,
} from "./deletion_guard.ts";
import { type Observed, planDeploy } from "./plan.ts";
import type { AgentConfig, Service } from "../../dataplane/agent/api.ts";

const svc = (port: number, reals: string[]): Service => ({
  vip: "10.0.0.1",
  port,
  protocol: "tcp",
  scheduler: "mh",
  reals: reals.map((address) => ({ address, port: 80, weight: 1 })),
});
const cfg = (services: Service[]): AgentConfig => ({
  version: "v",
  hash: `sha256:${services.map((s) => s.port).join("-")}`,
  dataplane: { services, localAddresses: ["10.1.0.1"] },
  checks: [],
});
const four = [svc(80, ["a1", "a2"]), svc(81, ["b1"]), svc(82, ["c1"]), svc(83, ["d1"])];
const plan = (have: AgentConfig | null, want: AgentConfig) =>
  planDeploy(
    new Map([["n1", want]]),
    new Map<string, Observed>([["n1", { kind: "config", config: have }]]),
  );

Deno.test("deletionCounts() counts removed VIPs, and their real servers with the others", () => {
  const want = [{ ...four[0]!, reals: [four[0]!.reals[0]!] }];
  assert.deepEqual(deletionCounts(plan(cfg(four), cfg(want))), [
    { node: "n1", subject: "vip", removed: 3, of: 4 },
    { node: "n1", subject: "real", removed: 4, of: 5 },
  ]);
});

Deno.test("excessiveDeletions() flags removing 3 of 4 VIPs at 0.5, not 1 of 4, not at 0.75", () => {
  const threeGone = plan(cfg(four), cfg([four[0]!]));
  assert.deepEqual(excessiveDeletions(threeGone, 0.5).map((d) => [d.subject, d.removed, d.of]), [
    ["vip", 3, 4],
    ["real", 3, 5],
  ]);
  assert.deepEqual(excessiveDeletions(threeGone, 0.75), [], "exactly the share is allowed");
  assert.deepEqual(excessiveDeletions(plan(cfg(four), cfg(four.slice(1))), 0.5), []);
  assert.deepEqual(excessiveDeletions(threeGone, 1), []);
  assert.equal(excessiveDeletions(plan(cfg(four), cfg(four.slice(1))), 0).length, 2);
});

Deno.test("excessiveDeletions() never flags a first deploy or a node it could not read", () => {
  assert.deepEqual(excessiveDeletions(plan(null, cfg(four)), 0), []);
  assert.deepEqual(excessiveDeletions(plan(cfg([]), cfg(four)), 0), []);
  const unread = planDeploy(
    new Map([["n1", cfg([])]]),
    new Map<string, Observed>([["n1", { kind: "unreachable", error: "refused" }]]),
  );
  assert.deepEqual(deletionCounts(unread), []);
});

Deno.test("DeletionGuardError says how many of how many would go, and the limit", () => {
  const over = excessiveDeletions(plan(cfg(four), cfg([four[0]!])), 0.5);
  assert.equal(
    describeDeletions(over, 0.5),
    "n1 would remove 3 of 4 VIPs (75%); n1 would remove 3 of 5 real servers (60%), over the " +
      "limit of 50% (deploy.maxDeletionShare 0.5 in the cluster file)",
  );
  const e = new DeletionGuardError(over, 0.5);
  assert.match(e.message, /^Refusing to deploy: n1 would remove 3 of 4 VIPs/);
  assert.match(e.message, /nothing was pushed\. Re-run with --allow-deletions/);
});
