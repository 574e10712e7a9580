import assert from "node:assert/strict";
import { cFailures, sanitizedRuns, tallyCOutput, tallyJunit } from "./run.ts";

Deno.test("tallyCOutput() sums every suite line and ignores other text", () => {
  const out = "ok   eal: a\neal: 3 passed, 0 failed\nFAIL conn: x\nconn: 10 passed, 2 failed\n";
  assert.deepEqual(tallyCOutput(out), { passed: 13, failed: 2 });
});

Deno.test("tallyJunit() counts failures, errors and skipped cases", () => {
  const xml = `<testsuites><testsuite>
    <testcase name="a" classname="x"></testcase>
    <testcase name="b" classname="x"><failure message="boom"/></testcase>
    <testcase name="c" classname="x"><skipped/></testcase>
    <testcase name="d" classname="x"/>
  </testsuite></testsuites>`;
  assert.deepEqual(tallyJunit(xml), {
    passed: 2,
    failed: 1,
    skipped: 1,
    failures: ["x > b"],
  });
});

Deno.test("the run names each failed case so a log's tail says what failed", () => {
  const xml = `<testsuites><testsuite>
    <testcase name="keeps &apos;every&apos; connection" classname="./tests/lab_test.ts" line="3">
      <failure message="timeout"/>
    </testcase>
    <testcase name="ok" classname="./tests/lab_test.ts"/>
  </testsuite></testsuites>`;
  assert.deepEqual(tallyJunit(xml).failures, ["./tests/lab_test.ts > keeps 'every' connection"]);
  const c = "ok   conn: a\nFAIL conn: lport wraps\nconn: 1 passed, 1 failed\n";
  assert.deepEqual(cFailures(c), ["C test: FAIL conn: lport wraps"]);
});

Deno.test("the sanitized rerun leaves out the fuzzer's test and every kernel-link test", () => {
  assert.deepEqual(
    sanitizedRuns([
      "dataplane/af_packet_test.ts",
      "dataplane/af_xdp_filter_test.ts",
      "dataplane/af_xdp_test.ts",
      "dataplane/fullnat_test.ts",
      "dataplane/fuzz/fuzz_test.ts",
      "dataplane/sync_test.ts",
    ]),
    ["dataplane/fullnat_test.ts", "dataplane/sync_test.ts"],
  );
});
