import assert from "node:assert/strict";
import {
  backoffDelay,
  classifyConnectFailure,
  type ConnectFailure,
  Limiter,
} from "./ssh_transport_policy.ts";

const base: ConnectFailure = { message: "x", hostKeyRefused: false, handshakeDone: false };

Deno.test("classifyConnectFailure() never retries host key or authentication failures", () => {
  assert.deepEqual(
    classifyConnectFailure({ ...base, level: "handshake", hostKeyRefused: true }),
    { kind: "hostkey", retry: false },
  );
  assert.deepEqual(
    classifyConnectFailure({ ...base, level: "client-authentication", handshakeDone: true }),
    { kind: "auth", retry: false },
  );
  assert.deepEqual(
    classifyConnectFailure({ ...base, handshakeDone: true, code: 2 }),
    { kind: "auth", retry: false },
  );
});

Deno.test("classifyConnectFailure() retries transient network failures and handshake timeouts", () => {
  const table: Array<[Partial<ConnectFailure>, string, boolean]> = [
    [{ level: "client-socket", code: "ECONNREFUSED" }, "connect", true],
    [{ level: "client-socket", code: "EHOSTUNREACH" }, "connect", true],
    [{ level: "client-socket", code: "EACCES" }, "connect", false],
    [{ level: "client-dns", code: "ENOTFOUND" }, "connect", false],
    [{ level: "client-timeout" }, "timeout", true],
    [{ level: "handshake" }, "connect", false],
    [{ level: "protocol" }, "connect", false],
    [{ level: "client-config" }, "connect", false],
    [{}, "connect", true],
  ];
  for (const [f, kind, retry] of table) {
    assert.deepEqual(classifyConnectFailure({ ...base, ...f }), { kind, retry }, JSON.stringify(f));
  }
});

Deno.test("backoffDelay() doubles up to the cap with equal jitter", () => {
  const b = { baseMs: 100, maxMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 9].map((a) => backoffDelay(a, b, () => 0)), [
    50,
    100,
    200,
    400,
    500,
    500,
  ]);
  assert.deepEqual([0, 1, 2, 3, 4].map((a) => backoffDelay(a, b, () => 0.999999)), [
    100,
    200,
    400,
    800,
    1000,
  ]);
});

Deno.test("Limiter keeps at most `limit` calls in flight and serves waiters in order", async () => {
  const lim = new Limiter(2);
  let inFlight = 0, peak = 0;
  const order: number[] = [];
  const gates: Array<() => void> = [];
  const calls = [0, 1, 2, 3, 4].map((i) =>
    lim.run(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      order.push(i);
      await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return i;
    })
  );
  for (let done = 0; done < 5; done++) {
    while (gates.length === 0) await new Promise((r) => setTimeout(r, 0));
    assert.ok(lim.active <= 2);
    gates.shift()!();
  }
  assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(lim.active, 0);
});

Deno.test("Limiter releases the slot when the call throws", async () => {
  const lim = new Limiter(1);
  await assert.rejects(() => lim.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await lim.run(() => Promise.resolve(7)), 7);
  assert.throws(() => new Limiter(0), RangeError);
});
