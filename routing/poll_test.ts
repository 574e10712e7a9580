import assert from "node:assert/strict";
import { PollTimeoutError, pollUntil, sleep } from "./poll.ts";

/** A hand-driven clock: `sleep` moves the time and records each pause. */
function fakeClock() {
  const c = {
    t: 1000,
    pauses: [] as number[],
    now: () => c.t,
    sleep: (ms: number) => {
      c.pauses.push(ms);
      c.t += ms;
      return Promise.resolve();
    },
  };
  return c;
}

Deno.test("pollUntil() returns the check's value as soon as it holds, without another pause", async () => {
  const clock = fakeClock();
  let looks = 0;
  const v = await pollUntil(() => (++looks === 3 ? { ready: looks } : null), {
    timeoutMs: 10_000,
    everyMs: 200,
    now: clock.now,
    sleep: clock.sleep,
  });
  assert.deepEqual(v, { ready: 3 });
  assert.deepEqual(clock.pauses, [200, 200], "two pauses between three looks");
});

Deno.test("pollUntil() awaits an async check and takes false and 0 as values (only null/undefined wait)", async () => {
  assert.equal(await pollUntil(() => Promise.resolve(false), 1000), false);
  assert.equal(await pollUntil(() => 0, 1000), 0);
  let looks = 0;
  assert.equal(await pollUntil(() => (++looks < 3 ? undefined : "up"), 5000, 1), "up");
});

Deno.test("pollUntil() without `what` resolves null once the time is up, after one last look", async () => {
  const clock = fakeClock();
  let looks = 0;
  const v = await pollUntil(() => void looks++, {
    timeoutMs: 1000,
    everyMs: 300,
    now: clock.now,
    sleep: clock.sleep,
  });
  assert.equal(v, null);
  // Looks at 0, 300, 600, 900 and 1200 ms: the last one past the deadline.
  assert.equal(looks, 5);
  assert.deepEqual(clock.pauses, [300, 300, 300, 300]);
});

Deno.test("pollUntil() with `what` throws a PollTimeoutError naming what it waited for and how long", async () => {
  const clock = fakeClock();
  const err = await pollUntil(() => null, {
    timeoutMs: 2500,
    what: "the agent socket",
    now: clock.now,
    sleep: clock.sleep,
  }).then(() => assert.fail("no timeout"), (e: unknown) => e);
  assert.ok(err instanceof PollTimeoutError);
  assert.equal(err.message, "Timed out after 2.5 s waiting for the agent socket");
  assert.equal(err.what, "the agent socket");
  assert.equal(err.timeoutMs, 2500);
});

Deno.test("pollUntil() waits on the real clock by default", async () => {
  const t0 = performance.now();
  assert.equal(await pollUntil(() => null, 60, 10), null);
  assert.ok(performance.now() - t0 >= 60);
  await assert.rejects(
    pollUntil(() => null, { timeoutMs: 20, what: "nothing" }),
    /^PollTimeoutError: Timed out after 0\.02 s waiting for nothing$/,
  );
});

Deno.test("pollUntil() lets an error thrown by the check end the wait", async () => {
  const clock = fakeClock();
  let looks = 0;
  await assert.rejects(
    pollUntil(() => {
      if (++looks === 2) throw new Error("lease lost");
      return null;
    }, { timeoutMs: 10_000, what: "never", now: clock.now, sleep: clock.sleep }),
    /lease lost/,
  );
  assert.equal(looks, 2);
  await assert.rejects(pollUntil(() => Promise.reject(new TypeError("bad")), 1000), TypeError);
});

Deno.test("pollUntil() numbers its looks from 0, so a caller can judge a first answer it holds", async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  let status = "applying";
  const v = await pollUntil(async (look) => {
    seen.push(look);
    if (look > 0) status = await Promise.resolve(look === 2 ? "done" : "applying");
    return status === "done" ? status : null;
  }, { timeoutMs: 5000, now: clock.now, sleep: clock.sleep });
  assert.equal(v, "done");
  assert.deepEqual(seen, [0, 1, 2]);
});

Deno.test("sleep() resolves after the pause", async () => {
  const t0 = performance.now();
  await sleep(20);
  assert.ok(performance.now() - t0 >= 19);
});
