import assert from "node:assert/strict";
import { FleetHistory } from "./history.ts";
import { MemoryFleet } from "./memory_fleet.ts";

function clock(start = 1_790_000_000_000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

Deno.test("FleetHistory keeps one sample per interval and at most one window of them", async () => {
  const c = clock();
  const fleet = new MemoryFleet({ clock: c.fn });
  const h = new FleetHistory({ clock: c.fn, windowMs: 10_000, intervalMs: 1000 });
  assert.equal(h.capacity, 11);
  for (let i = 0; i < 30; i++) {
    assert.equal(h.record(await fleet.read()), true);
    assert.equal(
      h.record(await fleet.read()),
      false,
      "a second record in the same interval is ignored",
    );
    c.now += 1000;
  }
  c.now -= 1000;
  const s = h.series("node1");
  assert.equal(s.length, 11);
  assert.deepEqual(
    s.map((x) => x.t),
    Array.from({ length: 11 }, (_, i) => c.now - 10_000 + i * 1000),
  );
  assert.ok(s.every((x) => typeof x.ppsIn === "number" && typeof x.sessions === "number"));
  assert.deepEqual(h.nodes(), ["node1", "node2", "node3"]);
});

Deno.test("FleetHistory records gaps for unreachable nodes and ages samples out of the window", async () => {
  const c = clock();
  const fleet = new MemoryFleet({ clock: c.fn });
  const h = new FleetHistory({ clock: c.fn, windowMs: 5000, intervalMs: 1000 });
  h.record(await fleet.read());
  fleet.setUnreachable("node2", "timeout");
  c.now += 1000;
  h.record(await fleet.read());
  const s = h.series("node2");
  assert.equal(s.length, 2);
  assert.equal(s[1]!.ppsIn, null);
  assert.equal(s[1]!.sessions, null);
  c.now += 4500;
  assert.equal(h.series("node2").length, 1, "the first sample left the window");
  c.now += 10_000;
  assert.deepEqual(h.series("node2"), []);
});

Deno.test("FleetHistory forgets nodes that left the fleet once their samples are out of the window", () => {
  const c = clock();
  const h = new FleetHistory({ clock: c.fn, windowMs: 3000, intervalMs: 1000 });
  const node = (name: string) => ({
    name,
    address: "",
    state: "active" as const,
    version: null,
    configHash: null,
    reachable: true,
    error: null,
    ospf: null,
    stats: null,
    sync: null,
  });
  h.record({ nodes: [node("a"), node("b")] });
  for (let i = 0; i < 5; i++) {
    c.now += 1000;
    h.record({ nodes: [node("a")] });
  }
  assert.deepEqual(h.nodes(), ["a"]);
});

Deno.test("FleetHistory refuses a window or interval that is not positive", () => {
  assert.throws(() => new FleetHistory({ clock: Date.now, intervalMs: 0 }), RangeError);
  assert.throws(() => new FleetHistory({ clock: Date.now, windowMs: -1 }), /must be positive/);
});
