import assert from "node:assert/strict";
import { buildReport, formatTable, median, parseTimingArgs } from "./drain_timing.ts";

Deno.test("median() takes the middle sample, or the mean of the middle two", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

Deno.test("parseTimingArgs() reads defaults and options, rejects bad ones", () => {
  assert.deepEqual(parseTimingArgs([]), {
    runs: 5,
    settleMs: 6000,
    hello: 1,
    dead: 4,
    nodes: 3,
    bfd: true,
    crash: false,
    prefix: "ldt-",
  });
  assert.equal(parseTimingArgs(["--crash"]).crash, true);
  const o = parseTimingArgs(["--runs", "3", "--no-bfd", "--prefix", "lhet-", "--settle-ms", "0"]);
  assert.equal(o.runs, 3);
  assert.equal(o.bfd, false);
  assert.equal(o.prefix, "lhet-");
  assert.equal(o.settleMs, 0);
  assert.throws(() => parseTimingArgs(["--runs", "x"]), /--runs needs a non-negative integer/);
  assert.throws(() => parseTimingArgs(["--nodes", "1"]), /at least 2/);
  assert.throws(() => parseTimingArgs(["--bogus"]), /Unknown option --bogus/);
});

Deno.test("buildReport() takes per-column medians and formatTable() states the settings", () => {
  const r = buildReport(
    {
      nodes: 3,
      hello: 1,
      dead: 4,
      routerWait: 2,
      retransmit: null,
      bfd: { intervalMs: 100, multiplier: 3 },
      settleMs: 6000,
      runs: 3,
    },
    { labUpMs: 900, convergeMs: 11000, labDownMs: 300 },
    [
      { commandMs: 5, birdMs: 990, kernelMs: 995 },
      { commandMs: 7, birdMs: 1010, kernelMs: 1012 },
      { commandMs: 6, birdMs: 980, kernelMs: 1001 },
    ],
    [
      { commandMs: 5, birdMs: 900, kernelMs: 905 },
      { commandMs: 5, birdMs: 950, kernelMs: 951 },
      { commandMs: 5, birdMs: 920, kernelMs: 925 },
    ],
  );
  assert.deepEqual(r.median.drain, { commandMs: 6, birdMs: 990, kernelMs: 1001 });
  assert.deepEqual(r.median.undrain, { commandMs: 5, birdMs: 920, kernelMs: 925 });
  const t = formatTable(r);
  assert.match(
    t,
    /OSPF hello 1 s dead 4 s wait 2 retransmit default, BFD 100 ms x 3, 3 runs, 6000 ms between/,
  );
  assert.match(t, /med\s+drain\s+6\s+990\s+1001/);
  assert.equal(t.split("\n").length, 3 + 6 + 2);
  assert.equal(r.crash, undefined);
  const c = buildReport(r.settings, r, r.drain, r.undrain, [
    { commandMs: 1, birdMs: 300, kernelMs: 310 },
  ]);
  assert.deepEqual(c.median.crash, { commandMs: 1, birdMs: 300, kernelMs: 310 });
  assert.match(formatTable(c), /med\s+crash\s+1\s+300\s+310/);
});
