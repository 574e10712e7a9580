import assert from "node:assert/strict";
import { formatTable, parseResult } from "./bench.ts";

Deno.test("parseResult() takes the benchmark's last JSON line", () => {
  const r = parseResult('opened 10 sessions\n{"name":"x","mpps_per_core":9.5,"seconds":1}\n');
  assert.equal(r.mpps_per_core, 9.5);
  assert.throws(() => parseResult("crashed"), SyntaxError);
});

Deno.test("formatTable() aligns one row per scenario", () => {
  const t = formatTable([{
    name: "established_1m",
    mpps_per_core: 9.51,
    sessions: 1e6,
    seconds: 2,
  }]);
  const lines = t.split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /^established_1m\s+9\.51\s+1,000,000\s+2\.00$/);
});
