import assert from "node:assert/strict";
import { RateMeter } from "./rates.ts";

Deno.test("RateMeter turns successive counter readings into packets per second", () => {
  const m = new RateMeter();
  assert.deepEqual(m.update("n1", { t: 0, packetsIn: 100, packetsOut: 90 }), {
    ppsIn: 0,
    ppsOut: 0,
  });
  assert.deepEqual(m.update("n1", { t: 2000, packetsIn: 4100, packetsOut: 3990 }), {
    ppsIn: 2000,
    ppsOut: 1950,
  });
  assert.deepEqual(m.update("n2", { t: 2000, packetsIn: 5, packetsOut: 5 }), {
    ppsIn: 0,
    ppsOut: 0,
  }, "keys are separate");
});

Deno.test("RateMeter reports zero after a counter reset or a reading that is not newer", () => {
  const m = new RateMeter();
  m.update("n1", { t: 1000, packetsIn: 9000, packetsOut: 9000 });
  assert.deepEqual(m.update("n1", { t: 2000, packetsIn: 10, packetsOut: 10 }), {
    ppsIn: 0,
    ppsOut: 0,
  });
  assert.deepEqual(m.update("n1", { t: 2000, packetsIn: 20, packetsOut: 20 }), {
    ppsIn: 0,
    ppsOut: 0,
  });
  assert.deepEqual(m.update("n1", { t: 3000, packetsIn: 1020, packetsOut: 520 }), {
    ppsIn: 1000,
    ppsOut: 500,
  });
  m.forget("n1");
  assert.deepEqual(m.update("n1", { t: 4000, packetsIn: 5000, packetsOut: 5000 }), {
    ppsIn: 0,
    ppsOut: 0,
  });
});
