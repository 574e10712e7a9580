import assert from "node:assert/strict";
import { lipsToTakeOver, StandbyWatch } from "./standby_watch.ts";
import type { Timers } from "./health.ts";

const STANDBY = [{ lip: "10.77.200.1", owner: "10.77.0.11" }, {
  lip: "10.77.200.3",
  owner: "10.77.0.13",
}];

Deno.test("lipsToTakeOver() takes only LIPs whose owner was seen and stopped announcing them", () => {
  const announced = new Map([["10.77.0.13", ["10.77.200.3/32"]]]);
  assert.deepEqual(lipsToTakeOver(STANDBY, announced, new Set(), new Set()), [], "never seen");
  assert.deepEqual(
    lipsToTakeOver(STANDBY, announced, new Set(["10.77.200.1", "10.77.200.3"]), new Set()),
    [STANDBY[0]],
  );
  assert.deepEqual(
    lipsToTakeOver(STANDBY, announced, new Set(["10.77.200.1"]), new Set(["10.77.200.1"])),
    [],
    "already taken",
  );
});

/** Timers driven by hand. */
function manualTimers(): Timers & { fire(): Promise<void> } {
  let t = 0;
  let due: (() => void) | null = null;
  return {
    now: () => t,
    setTimeout: (fn: () => void) => {
      due = fn;
      return 1;
    },
    clearTimeout: () => {
      due = null;
    },
    async fire() {
      t += 500;
      const fn = due;
      due = null;
      fn?.();
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

Deno.test("StandbyWatch takes a LIP over when its owner's routes vanish, and again after it came back", async () => {
  const timers = manualTimers();
  let announced = new Map([["10.77.0.11", ["10.77.200.1/32"]], ["10.77.0.13", ["10.77.200.3/32"]]]);
  const taken: string[] = [];
  const watch = new StandbyWatch({
    standby: () => STANDBY,
    announcedBy: () => Promise.resolve(announced),
    takeOver: (lip) => {
      taken.push(lip);
      return Promise.resolve();
    },
    pollMs: 500,
    timers,
  });
  await timers.fire();
  assert.deepEqual(taken, [], "both owners announce their LIPs");
  announced = new Map([["10.77.0.13", ["10.77.200.3/32"]]]); // node1 lost
  await timers.fire();
  await timers.fire();
  assert.deepEqual(taken, ["10.77.200.1"], "taken over once");
  assert.deepEqual(watch.takeovers.map((t) => t.lip), ["10.77.200.1"]);
  announced = new Map([["10.77.0.11", ["10.77.200.1/32"]], ["10.77.0.13", ["10.77.200.3/32"]]]);
  await timers.fire(); // node1 back
  announced = new Map([["10.77.0.13", ["10.77.200.3/32"]]]);
  await timers.fire(); // lost again
  assert.deepEqual(taken, ["10.77.200.1", "10.77.200.1"]);
  watch.stop();
});
