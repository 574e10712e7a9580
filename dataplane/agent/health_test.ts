import assert from "node:assert/strict";
import {
  type HealthCheck,
  HealthMonitor,
  type HealthState,
  httpProbe,
  initialHealth,
  nextHealth,
  type ProbeResult,
  tcpProbe,
  validateHealthCheck,
} from "./health.ts";
import { ManualTimers } from "./_testing.ts";

const tcp: HealthCheck = { kind: "tcp", intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 };
const FAIL: ProbeResult = { ok: false, error: "refused" };
const OK: ProbeResult = { ok: true, error: "" };

function apply(results: ProbeResult[], start: HealthState = initialHealth()): HealthState {
  return results.reduce((s, r, i) => nextHealth(s, r, tcp, i + 1), start);
}

Deno.test("nextHealth() turns a server down after `fall` consecutive failures, not before", () => {
  assert.equal(apply([FAIL, FAIL]).up, true);
  const down = apply([FAIL, FAIL, FAIL]);
  assert.equal(down.up, false);
  assert.equal(down.lastError, "refused");
  assert.equal(down.changedAt, 3);
});

Deno.test("nextHealth() needs `rise` consecutive successes to come back; a failure resets the streak", () => {
  const down = apply([FAIL, FAIL, FAIL]);
  assert.equal(apply([OK], down).up, false);
  assert.equal(apply([OK, FAIL, OK], down).up, false);
  const back = apply([OK, OK], down);
  assert.equal(back.up, true);
  assert.equal(back.lastError, "");
});

Deno.test("nextHealth() interleaved failures below `fall` never take a server down", () => {
  assert.equal(apply([FAIL, FAIL, OK, FAIL, FAIL, OK, FAIL]).up, true);
});

Deno.test("validateHealthCheck() rejects zero counts, timeout above interval and bad HTTP fields", () => {
  assert.throws(() => validateHealthCheck({ ...tcp, rise: 0 }), /rise must be a positive integer/);
  assert.throws(
    () => validateHealthCheck({ ...tcp, timeoutMs: 2000 }),
    /must not exceed intervalMs/,
  );
  assert.throws(
    () => validateHealthCheck({ ...tcp, kind: "http", path: "health", expectStatus: 200 }),
    /path must start with/,
  );
  assert.throws(
    () => validateHealthCheck({ ...tcp, kind: "http", path: "/", expectStatus: 99 }),
    /expectStatus must be 100-599/,
  );
});

Deno.test("tcpProbe() succeeds against a listening port and fails against a closed one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const accepting = (async () => {
    for await (const c of listener) c.close();
  })();
  try {
    assert.deepEqual(await tcpProbe({ address: "127.0.0.1", port }, tcp), OK);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
  const closed = await tcpProbe({ address: "127.0.0.1", port }, tcp);
  assert.equal(closed.ok, false);
  assert.match(closed.error, /refused/i);
});

Deno.test("httpProbe() checks the status code and names the mismatch", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => new Response("x", { status: new URL(req.url).pathname === "/ok" ? 200 : 503 }),
  );
  const port = server.addr.port;
  try {
    const http = (path: string): HealthCheck => ({ ...tcp, kind: "http", path, expectStatus: 200 });
    assert.deepEqual(await httpProbe({ address: "127.0.0.1", port }, http("/ok")), OK);
    const bad = await httpProbe({ address: "127.0.0.1", port }, http("/sick"));
    assert.equal(bad.ok, false);
    assert.match(bad.error, /answered 503, expected 200/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("HealthMonitor reports down after `fall` failed probes and up after `rise` good ones", async () => {
  const timers = new ManualTimers();
  const changes: Array<[string, boolean]> = [];
  let healthy = true;
  const monitor = new HealthMonitor(
    (key, s) => changes.push([key, s.up]),
    () => Promise.resolve(healthy ? OK : FAIL),
    timers,
  );
  monitor.setTargets([{ key: "rs1", address: "192.0.2.1", port: 80, check: tcp }]);
  await timers.advance(0);
  healthy = false;
  for (let i = 0; i < 3; i++) await timers.advance(1000);
  assert.deepEqual(changes, [["rs1", false]]);
  healthy = true;
  for (let i = 0; i < 2; i++) await timers.advance(1000);
  assert.deepEqual(changes, [["rs1", false], ["rs1", true]]);
  assert.equal(monitor.states().get("rs1")?.up, true);
  monitor.stop();
  assert.equal(timers.pending(), 0);
});

Deno.test("HealthMonitor.setTargets() keeps unchanged targets' state and drops removed ones", async () => {
  const timers = new ManualTimers();
  const monitor = new HealthMonitor(() => {}, () => Promise.resolve(FAIL), timers);
  const a = { key: "a", address: "192.0.2.1", port: 80, check: tcp };
  const b = { key: "b", address: "192.0.2.2", port: 80, check: tcp };
  monitor.setTargets([a, b]);
  for (let i = 0; i < 3; i++) await timers.advance(i === 0 ? 0 : 1000);
  assert.equal(monitor.states().get("a")?.up, false);
  monitor.setTargets([a]);
  assert.equal(monitor.states().get("a")?.up, false);
  assert.equal(monitor.states().has("b"), false);
  assert.throws(() => monitor.setTargets([{ ...a, check: { ...tcp, fall: 0 } }]), RangeError);
  assert.equal(monitor.states().get("a")?.up, false, "an invalid set changes nothing");
  monitor.stop();
});
