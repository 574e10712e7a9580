/**
 * Time as the operations see it: the current time, a pause, and a repeating timer. Passed in,
 * so rollouts and their lease renewal run in tests on a hand-driven clock (`_testing.ts`).
 *
 * @module
 */

/** The clock an operation runs on. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
  /**
   * Calls `fn` every `ms` milliseconds until the returned function is called. A call that is
   * still running when the next one is due is not overlapped: that tick is skipped.
   */
  every(ms: number, fn: () => Promise<void>): () => void;
}

/** The real clock: `Date.now` and timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  every(ms, fn) {
    let running = false;
    const id = setInterval(() => {
      if (running) return;
      running = true;
      fn().catch(() => {}).finally(() => (running = false));
    }, ms);
    return () => clearInterval(id);
  },
};
