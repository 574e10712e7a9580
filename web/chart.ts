/**
 * Server-rendered SVG line charts for the dashboard's time series. Pure: series in, markup out.
 * Colours come from CSS classes `s0`..`s7` (one per series), so the page's stylesheet owns them.
 *
 * @example
 * ```ts
 * renderChart({
 *   title: "Packets/s in", from: now - 600_000, to: now,
 *   series: [{ name: "node1", points: [{ t: now - 1000, v: 120 }, { t: now, v: 180 }] }],
 * });
 * ```
 *
 * @module
 */
import { h, type Safe } from "./_html.ts";

/** One line of the chart. */
export interface ChartSeries {
  name: string;
  /** Points oldest first; a null value breaks the line (no data). */
  points: readonly { t: number; v: number | null }[];
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  /** Window start and end, epoch milliseconds. */
  from: number;
  to: number;
  series: readonly ChartSeries[];
}

const W = 560;
const H = 170;
const PAD = { left: 52, right: 12, top: 14, bottom: 24 };
const MAX_POINTS = 280;

/** Compact number for axes and tables: 950, 1.2k, 3.4M. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  return Number.isInteger(v) ? String(v) : trim(v);
}

function trim(v: number): string {
  return (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)).replace(/\.0$/, "");
}

/** Smallest 1/2/5 x 10^k at or above v (at least 1). */
export function niceCeil(v: number): number {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Keeps at most `max` points: the last point of each equal-width time bucket, gaps preserved. */
export function downsample(
  points: readonly { t: number; v: number | null }[],
  from: number,
  to: number,
  max = MAX_POINTS,
): { t: number; v: number | null }[] {
  if (points.length <= max) return [...points];
  const width = (to - from) / max;
  const out: { t: number; v: number | null }[] = [];
  let bucket = -1;
  for (const p of points) {
    const b = Math.floor((p.t - from) / width);
    if (b === bucket && out.length > 0) out[out.length - 1] = p;
    else out.push(p);
    bucket = b;
  }
  return out;
}

/** An SVG line chart with a y grid, time axis and one path per series. */
export function renderChart(spec: ChartSpec): Safe {
  const span = Math.max(1, spec.to - spec.from);
  const series = spec.series.map((s) => ({
    name: s.name,
    points: downsample(
      s.points.filter((p) => p.t >= spec.from && p.t <= spec.to),
      spec.from,
      spec.to,
    ),
  }));
  let max = 0;
  for (const s of series) for (const p of s.points) if (p.v !== null && p.v > max) max = p.v;
  const top = niceCeil(max);
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + ((t - spec.from) / span) * pw;
  const y = (v: number) => PAD.top + ph - (v / top) * ph;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const yy = y(top * f).toFixed(1);
    return h`<line class="grid" x1="${PAD.left}" x2="${
      W - PAD.right
    }" y1="${yy}" y2="${yy}"/><text class="axis" x="${
      PAD.left - 6
    }" y="${yy}" dy="3.5" text-anchor="end">${compact(top * f)}</text>`;
  });
  const minutes = Math.round(span / 60_000);
  const ticks = [0, 0.5, 1].map((f) => {
    const label = f === 1 ? "now" : `-${compact(Math.round(minutes * (1 - f) * 10) / 10)}m`;
    const anchor = f === 0 ? "start" : f === 1 ? "end" : "middle";
    return h`<text class="axis" x="${(PAD.left + f * pw).toFixed(1)}" y="${
      H - 6
    }" text-anchor="${anchor}">${label}</text>`;
  });
  const paths = series.map((s, i) => {
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (p.v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(p.t).toFixed(0)} ${y(p.v).toFixed(0)}`;
      pen = true;
    }
    return d === ""
      ? h``
      : h`<path class="line s${i % 8}" d="${d}"><title>${s.name}</title></path>`;
  });
  const empty = series.every((s) => s.points.length === 0)
    ? h`<text class="axis" x="${W / 2}" y="${
      H / 2
    }" text-anchor="middle">collecting samples…</text>`
    : h``;
  return h`<figure class="chart"><figcaption>${spec.title}</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${spec.title}">${grid}${ticks}${paths}${empty}</svg></figure>`;
}
