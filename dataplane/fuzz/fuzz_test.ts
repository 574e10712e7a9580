/**
 * The packet-path fuzzer (`fuzz.ts`): libFuzzer's output is read right, a short run (30 s) from
 * the seeds finds no crash, and every crash input kept in `dataplane/fuzz/crashes/` (the bugs the
 * fuzzer found) replays through the sanitized harness without one. Needs clang and
 * libclang-rt-14-dev.
 */
import assert from "node:assert/strict";
import {
  buildFuzzer,
  parseLibFuzzerOutput,
  replayInputs,
  runFuzzer,
  savedCrashes,
} from "./fuzz.ts";

// Trimmed from real runs of fnat_fuzz: one that ran its time, one that stopped on a finding.
const FINISHED = `INFO: Seed: 3621093015
INFO:       70 files found in /tmp/fz/seeds
#123\tINITED cov: 780 ft: 1548 corp: 105/886b exec/s: 0 rss: 251Mb
#8192\tpulse  cov: 800 ft: 1761 corp: 138/1509b lim: 37 exec/s: 455 rss: 380Mb
#9548\tDONE   cov: 812 ft: 1767 corp: 141/1594b lim: 42 exec/s: 454 rss: 404Mb
Done 9548 runs in 21 second(s)
stat::number_of_executed_units: 9548
stat::average_exec_per_sec:     454
stat::new_units_added:          55
`;
const CRASHED = `INFO: seed corpus: files: 1422 min: 1b max: 1518b total: 140895b rss: 244Mb
fnat_fuzz: invariant violated: worker 0: session 1 (IN key) is found as session 0 dir 0: two sessions share a key or the index lost one
==25858== ERROR: libFuzzer: deadly signal
SUMMARY: libFuzzer: deadly signal
MS: 0 ; base unit: 0000000000000000000000000000000000000000
artifact_prefix='/tmp/fz/sample-'; Test unit written to /tmp/fz/sample-crash-44af1af22c04501c0d12ce61469ec6450e5b8ba4
stat::number_of_executed_units: 917
stat::average_exec_per_sec:     0
`;

Deno.test("parseLibFuzzerOutput() reads executions, rate, edges, corpus and crash files", () => {
  assert.deepEqual(parseLibFuzzerOutput(FINISHED), {
    executions: 9548,
    execPerSec: 454,
    edges: 812,
    features: 1767,
    corpus: 141,
    crashes: [],
  });
  const c = parseLibFuzzerOutput(CRASHED);
  assert.equal(c.executions, 917);
  assert.deepEqual(c.crashes, ["/tmp/fz/sample-crash-44af1af22c04501c0d12ce61469ec6450e5b8ba4"]);
  assert.match(c.reason ?? "", /invariant violated: worker 0: session 1/);
});

Deno.test("a 30-second fuzz run of the packet path finds no crash", async () => {
  await buildFuzzer();
  const dir = await Deno.makeTempDir({ prefix: "fnat_fuzz_" });
  const r = await runFuzzer({
    seconds: 30,
    corpus: `${dir}/corpus`,
    crashes: `${dir}/crashes`,
    seeds: `${dir}/seeds`,
  });
  assert.deepEqual(
    r.crashes,
    [],
    `the fuzzer found a crash (${r.reason}); the input is kept in ${dir}/crashes`,
  );
  assert.equal(r.exitCode, 0, "libFuzzer ran its time");
  assert.ok(r.executions > 1000, `${r.executions} executions`);
  assert.ok(r.edges > 500, `${r.edges} edges covered`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("every saved crash input replays without a crash", async () => {
  await buildFuzzer();
  const results = await replayInputs(savedCrashes());
  for (const r of results) {
    assert.ok(r.ok, `${r.file} crashes the harness again:\n${r.output.slice(-3000)}`);
  }
});
