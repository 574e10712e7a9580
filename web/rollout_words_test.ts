import assert from "node:assert/strict";
import { ROLLOUT_STATUSES, ROLLOUT_STEPS, rolloutStatus, rolloutStep } from "./rollout_words.ts";
import { APP_CSS } from "./assets.ts";

Deno.test("rolloutStep() and rolloutStatus() read today's words as themselves", () => {
  for (const w of ROLLOUT_STEPS) assert.equal(rolloutStep(w), w);
  for (const w of ROLLOUT_STATUSES) assert.equal(rolloutStatus(w), w);
});

Deno.test("rolloutStep() and rolloutStatus() read an earlier release's words as today's", () => {
  assert.equal(rolloutStep("gating"), "health-gate");
  assert.equal(rolloutStatus("done"), "completed");
});

Deno.test("rolloutStep() and rolloutStatus() refuse any other word, naming the known ones", () => {
  for (const w of ["completed", "Done", "", "toString", 3, null, undefined]) {
    assert.throws(
      () => rolloutStep(w),
      (e) =>
        e instanceof RangeError &&
        e.message.startsWith(`Cannot read the rollout step ${JSON.stringify(w)}`) &&
        e.message.includes("pending, draining, shipping, restarting, health-gate"),
      String(w),
    );
  }
  for (const w of ["gating", "health-gate", "failed", "hasOwnProperty"]) {
    assert.throws(() => rolloutStatus(w), /none of running, halted, completed/, w);
  }
});

Deno.test("the dashboard's stylesheet colours every word but pending", () => {
  for (const w of ROLLOUT_STEPS) {
    if (w !== "pending") assert.ok(APP_CSS.includes(`.pill.step-${w}`), `step ${w}`);
  }
  for (const w of ROLLOUT_STATUSES) assert.ok(APP_CSS.includes(`.pill.ro-${w}`), `status ${w}`);
});
