import assert from "node:assert/strict";
import { parseE2eArgs } from "./e2e_bench_run.ts";

Deno.test("parseE2eArgs() defaults to the lab's port kind and a 30 s idle phase", () => {
  assert.deepEqual(parseE2eArgs([], "af_packet"), {
    json: false,
    port: "af_packet",
    idleSeconds: 30,
    seconds: 15,
    threads: 2,
    connections: 64,
  });
  assert.equal(parseE2eArgs([], "af_xdp").port, "af_xdp");
});

Deno.test("parseE2eArgs() takes --port af_packet|af_xdp and --idle 0 (no idle phase)", () => {
  const o = parseE2eArgs(
    ["--port", "af_xdp", "--idle", "0", "--seconds", "5", "--json"],
    "af_packet",
  );
  assert.equal(o.port, "af_xdp");
  assert.equal(o.idleSeconds, 0);
  assert.equal(o.seconds, 5);
  assert.equal(o.json, true);
  assert.equal(parseE2eArgs(["--port", "af_packet"], "af_xdp").port, "af_packet");
});

Deno.test("parseE2eArgs() refuses an unknown port kind, a negative idle and a zero duration", () => {
  assert.throws(
    () => parseE2eArgs(["--port", "xdp"]),
    /--port needs af_packet or af_xdp, got "xdp"/,
  );
  assert.throws(() => parseE2eArgs(["--port"]), /--port needs a value/);
  assert.throws(() => parseE2eArgs(["--idle", "-1"]), /--idle needs a non-negative integer/);
  assert.throws(() => parseE2eArgs(["--seconds", "0"]), /--seconds needs a positive integer/);
  assert.throws(() => parseE2eArgs(["--bogus"]), /Unknown option --bogus/);
});
