import assert from "node:assert/strict";
import { formatSse, sseStream } from "./sse.ts";
import { bearer, login, setup } from "./_testing.ts";

/** One parsed event stream frame. */
interface Frame {
  fields: [string, string][];
}

/** Splits an event stream into frames, checking the framing rules it relies on. */
function parseFrames(text: string): Frame[] {
  assert.ok(text.endsWith("\n\n"), "the stream ends on a frame boundary");
  return text.slice(0, -2).split("\n\n").map((block) => ({
    fields: block.split("\n").map((line): [string, string] => {
      const m = /^(id|event|data|retry): (.*)$/.exec(line);
      assert.ok(m, `not an SSE field line: ${JSON.stringify(line)}`);
      return [m[1]!, m[2]!];
    }),
  }));
}

async function readFrames(body: ReadableStream<Uint8Array>, count: number): Promise<Frame[]> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let text = "";
  try {
    while ((text.match(/\n\n/g) ?? []).length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel();
  }
  return parseFrames(text);
}

Deno.test("formatSse() frames id, event and one data line per payload line, then a blank line", () => {
  assert.equal(
    formatSse({ id: "7", event: "fleet", data: '{"a":1}' }),
    'id: 7\nevent: fleet\ndata: {"a":1}\n\n',
  );
  assert.equal(formatSse({ data: "one\ntwo\r\nthree" }), "data: one\ndata: two\ndata: three\n\n");
  assert.equal(formatSse({ retry: 3000, data: "" }), "retry: 3000\ndata: \n\n");
  assert.throws(() => formatSse({ id: "1\n2", data: "x" }), SyntaxError);
  assert.throws(() => formatSse({ event: "a\rb", data: "x" }), /line break/);
});

Deno.test("sseStream() sends the first event at once, then one per tick, and stops on abort", async () => {
  const ticks: number[] = [];
  const stop = new AbortController();
  let n = 0;
  const stream = sseStream({
    intervalMs: 1000,
    sleep: (ms) => {
      ticks.push(ms);
      if (ticks.length === 2) stop.abort();
      return Promise.resolve();
    },
    signal: stop.signal,
    next: () => Promise.resolve({ id: String(++n), data: `tick ${n}` }),
  });
  const chunks: string[] = [];
  for await (const c of stream) chunks.push(new TextDecoder().decode(c));
  assert.deepEqual(chunks, ["id: 1\ndata: tick 1\n\n", "id: 2\ndata: tick 2\n\n"]);
  assert.deepEqual(ticks, [1000, 1000]);
});

Deno.test("GET /events streams fleet events: retry hint, increasing ids, JSON regions that change", async () => {
  const { app } = setup();
  const res = await app.request("/events", { headers: bearer() });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const frames = await readFrames(res.body!, 4);
  assert.deepEqual(frames[0]!.fields, [["retry", "3000"]]);
  const events = frames.slice(1, 4);
  assert.equal(events.length, 3);
  const ids: number[] = [];
  const payloads: { time: string; error: string | null; regions: Record<string, string> }[] = [];
  for (const f of events) {
    assert.deepEqual(f.fields.map(([k]) => k).slice(0, 2), ["id", "event"]);
    assert.equal(f.fields[1]![1], "fleet");
    ids.push(Number(f.fields[0]![1]));
    const data = f.fields.filter(([k]) => k === "data").map(([, v]) => v).join("\n");
    payloads.push(JSON.parse(data));
  }
  assert.deepEqual(ids, [ids[0]!, ids[0]! + 1, ids[0]! + 2]);
  const every = ["audit", "banner", "charts", "nodes", "rollouts", "sessions", "summary", "vips"];
  assert.deepEqual(
    Object.keys(payloads[0]!.regions).sort(),
    every,
    "the first event has every region",
  );
  for (const p of payloads.slice(1)) {
    assert.ok(!("vips" in p.regions), "later events leave out regions that did not change");
    assert.ok("nodes" in p.regions && "charts" in p.regions, "and carry those that did");
  }
  for (const p of payloads) {
    assert.equal(p.error, null);
    assert.match(p.regions["nodes"]!, /<tr data-node="node1"/);
  }
  assert.notEqual(
    payloads[0]!.regions["nodes"],
    payloads[2]!.regions["nodes"],
    "counters move between events",
  );
  assert.notEqual(payloads[0]!.time, payloads[2]!.time);
});

Deno.test("GET /events with a session carries the session's CSRF token in the action forms", async () => {
  const { app } = setup();
  const { cookie, csrf } = await login(app);
  const res = await app.request("/events", { headers: { cookie } });
  const [, first] = await readFrames(res.body!, 2);
  const data = JSON.parse(first!.fields.find(([k]) => k === "data")![1]);
  assert.ok(data.regions.nodes.includes(`name="_csrf" value="${csrf}"`));
});

Deno.test("GET /events reports a fleet that cannot be read inside the event, not by dropping it", async () => {
  const { app, fleet } = setup();
  fleet.setUnreadable(new Error("orchestrator lease store unreachable"));
  const res = await app.request("/events", { headers: bearer() });
  const [, first] = await readFrames(res.body!, 2);
  const data = JSON.parse(first!.fields.find(([k]) => k === "data")![1]);
  assert.match(data.error, /orchestrator lease store unreachable/);
  assert.match(data.regions.banner, /Fleet state unavailable/);
});
