/**
 * Test helpers of the operations: a clock moved by hand. Not part of the public API.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

interface Repeat {
  at: number;
  ms: number;
  fn: () => Promise<void>;
  stopped: boolean;
}

/**
 * A {@linkcode Clock} whose time moves only when told: `sleep(ms)` moves it and runs every
 * repeating timer that falls due on the way (awaited, in time order), as a running process
 * would; `pause(ms)` moves it without running any, as a process frozen (SIGSTOP, a swapped-out
 * VM) would experience it.
 */
export class ManualClock implements Clock {
  t: number;
  #repeats: Repeat[] = [];

  constructor(start = 1_800_000_000_000) {
    this.t = start;
  }

  now = (): number => this.t;

  every = (ms: number, fn: () => Promise<void>): () => void => {
    const r: Repeat = { at: this.t + ms, ms, fn, stopped: false };
    this.#repeats.push(r);
    return () => {
      r.stopped = true;
      this.#repeats = this.#repeats.filter((x) => x !== r);
    };
  };

  sleep = async (ms: number): Promise<void> => {
    const until = this.t + ms;
    for (;;) {
      const due = this.#repeats.filter((r) => !r.stopped && r.at <= until)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      due.at += due.ms;
      await due.fn().catch(() => {});
    }
    this.t = until;
  };

  /** Moves the time without running any timer; the timers due meanwhile run at the next sleep. */
  pause(ms: number): void {
    this.t += ms;
  }

  /** Repeating timers not stopped yet. */
  get timers(): number {
    return this.#repeats.length;
  }
}
