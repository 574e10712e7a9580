import assert from "node:assert/strict";
import { compact, downsample, niceCeil, renderChart } from "./chart.ts";

Deno.test("niceCeil() rounds up to 1, 2 or 5 times a power of ten", () => {
  assert.deepEqual([0, 0.5, 1, 3, 7, 12, 180, 2600, 5001].map(niceCeil), [
    1,
    1,
    1,
    5,
    10,
    20,
    200,
    5000,
    10000,
  ]);
});

Deno.test("compact() shortens large figures for axes and cells", () => {
  assert.deepEqual([0, 950, 9999, 12_345, 1_250_000, 3.25, 7_000_000_000].map(compact), [
    "0",
    "950",
    "9999",
    "12.3k",
    "1.3M",
    "3.3",
    "7G",
  ]);
});

Deno.test("downsample() keeps at most one point per bucket, the last one, and keeps gaps", () => {
  const pts = Array.from(
    { length: 600 },
    (_, i) => ({ t: i * 1000, v: i % 100 === 50 ? null : i }),
  );
  const out = downsample(pts, 0, 600_000, 100);
  assert.ok(out.length <= 101);
  assert.equal(out.at(-1)!.t, 599_000);
  assert.deepEqual(downsample(pts.slice(0, 10), 0, 600_000, 100), pts.slice(0, 10));
});

Deno.test("renderChart() draws one path per series and breaks lines at gaps", () => {
  const svg = renderChart({
    title: "Packets/s in",
    from: 0,
    to: 10_000,
    series: [
      {
        name: "node1",
        points: [{ t: 0, v: 10 }, { t: 1000, v: 20 }, { t: 2000, v: null }, { t: 3000, v: 30 }],
      },
      { name: "node<2>", points: [{ t: 0, v: 5 }, { t: 9000, v: 5 }] },
    ],
  }).value;
  const paths = [...svg.matchAll(/<path class="line (s\d)" d="([^"]+)">/g)];
  assert.deepEqual(paths.map((m) => m[1]), ["s0", "s1"]);
  assert.equal((paths[0]![2]!.match(/M/g) ?? []).length, 2, "a gap starts a new subpath");
  assert.match(svg, /<title>node&lt;2&gt;<\/title>/);
  assert.match(svg, />50</, "the y axis tops out at the nice ceiling of 30");
  assert.match(svg, /aria-label="Packets\/s in"/);
});

Deno.test("renderChart() says it is still collecting when there is no sample", () => {
  assert.match(renderChart({ title: "x", from: 0, to: 1, series: [] }).value, /collecting samples/);
});
