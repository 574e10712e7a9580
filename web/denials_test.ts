import assert from "node:assert/strict";
import { type Denial, DenialAggregator, OTHER_SOURCES } from "./denials.ts";

const T0 = 1_800_000_000_000;
const denial = (source: string, action = "drain", target = "node1"): Denial => ({
  source,
  action,
  target,
  message: "send an operator token or log in",
  via: "api",
});

Deno.test("DenialAggregator records a source's first refusal at once and the rest as one summary when its minute is over", () => {
  const agg = new DenialAggregator();
  const first = agg.note(denial("192.0.2.1"), T0);
  assert.equal(first.length, 1);
  assert.equal(first[0]!.remote, "192.0.2.1");
  assert.equal(first[0]!.action, "drain");
  for (let i = 0; i < 30; i++) assert.deepEqual(agg.note(denial("192.0.2.1"), T0 + i), []);
  for (let i = 0; i < 7; i++) agg.note(denial("192.0.2.1", "login", "dashboard"), T0 + 100);
  assert.deepEqual(agg.due(T0 + 59_999), [], "not before the minute is over");
  const [summary, ...rest] = agg.due(T0 + 60_000);
  assert.deepEqual(rest, []);
  assert.equal(summary!.action, "denials");
  assert.equal(summary!.count, 37);
  assert.equal(summary!.target, "192.0.2.1");
  assert.equal(summary!.time, new Date(T0 + 60_000).toISOString());
  assert.match(
    summary!.message!,
    /^37 more anonymous requests refused from 192\.0\.2\.1 within 60 s \(drain ×30, login ×7\); last: login dashboard: send an operator token/,
  );
  assert.equal(agg.sources, 0);
  assert.equal(agg.note(denial("192.0.2.1"), T0 + 61_000).length, 1, "a new minute, a new first");
});

Deno.test("DenialAggregator writes nothing more for a source that stopped after one refusal", () => {
  const agg = new DenialAggregator();
  agg.note(denial("192.0.2.1"), T0);
  assert.deepEqual(agg.due(T0 + 120_000), []);
});

Deno.test("DenialAggregator follows at most maxSources addresses; the rest share one bucket", () => {
  const agg = new DenialAggregator({ maxSources: 3 });
  let written = 0;
  for (let i = 0; i < 1000; i++) written += agg.note(denial(`198.51.100.${i % 250}`), T0).length;
  assert.equal(written, 4, "three addresses and the shared bucket");
  assert.equal(agg.sources, 4);
  const summaries = agg.due(T0, true);
  const other = summaries.find((e) => e.target === OTHER_SOURCES)!;
  assert.equal(other.count, 1000 - 4 - 3 * 3);
  assert.equal(other.remote, undefined);
});
