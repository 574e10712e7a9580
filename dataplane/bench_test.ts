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
    cpu_share: 0.5,
  }]);
  const lines = t.split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /^established_1m\s+9\.51\s+1,000,000\s+2\.00\s+0\.50$/);
});

Deno.test("formatTable() shows config_scale's full and incremental apply side by side", () => {
  const r = parseResult(
    '{"name":"config_scale","vips":8192,"reals":65536,"flows":10000,"apply_ms":11.28,' +
      '"switch_ms":11.30,"packets":1151936,"lost":0,"snapshot_bytes":3539080,' +
      '"incr_apply_ms":11.00,"incr_switch_ms":11.15,"incr_packets":1367232,"incr_lost":2,' +
      '"incr_snapshot_bytes":3539080,"drops":0,"seconds":0.660}\n',
  );
  assert.equal(r.reals, 65536);
  const row = formatTable([r]).split("\n")[2]!;
  assert.match(row, /^config_scale\s+10,000\s+11\.3 \/ 11\.0\s+11\.3 \/ 11\.2\s+0 \/ 2\s+/);
  assert.match(row, /3539080 \/ 3539080\s+0\.66$/);
});
