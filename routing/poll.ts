/**
 * Waiting for a condition: the one poll loop every room of the project uses (the agent's tests,
 * the operations, the lab, the lab tests). A check runs, then pauses, until it gives a value or
 * the time is up.
 *
 * @example
 * ```ts
 * // Resolves null after 2 s when the process is still there: the caller words the failure.
 * const gone = await pollUntil(() => processAlive(pid) ? null : true, 2000);
 * // Throws `Timed out after 30 s waiting for the agent socket` instead.
 * await pollUntil(() => exists(socket) || null, { timeoutMs: 30_000, what: "the agent socket" });
 * ```
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One look at the condition: a value once it holds, `null` or `undefined` while it does not.
 * `look` counts the looks from 0, so a caller that already holds a first observation (the answer
 * of the call it waits on) judges that one and reads anew only from look 1.
 */
export type PollCheck<T> = (look: number) => Promise<T | null | undefined> | T | null | undefined;

/** How long and how often to poll, and on which clock. */
export interface PollOptions {
  /** How long to keep looking, in milliseconds (the check runs at least once). */
  timeoutMs: number;
  /** Pause between two looks in milliseconds (default 50). */
  everyMs?: number;
  /**
   * What is awaited, in words. When given, a timeout throws {@linkcode PollTimeoutError} naming
   * it; without it, a timeout resolves `null`.
   */
  what?: string;
  /** The clock in milliseconds (default `performance.now`); callers with an injected clock pass it. */
  now?: () => number;
  /** The pause (default {@linkcode sleep}); callers with an injected clock pass theirs. */
  sleep?: (ms: number) => Promise<unknown>;
}

/** A {@linkcode pollUntil} given `what` ran out of time. */
export class PollTimeoutError extends Error {
  override name = "PollTimeoutError";
  /** What was awaited. */
  readonly what: string;
  /** How long it was awaited, in milliseconds. */
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number) {
    super(`Timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Runs `check` every `everyMs` until it gives a value other than `null`/`undefined` (then
 * resolves it, `false` and `0` included) or `timeoutMs` passes. On the timeout it resolves
 * `null`, or throws {@linkcode PollTimeoutError} when `what` is given. An error thrown by
 * `check` is not caught: it ends the wait (a check that may fail while waiting catches its own).
 */
export function pollUntil<T>(
  check: PollCheck<T>,
  timeoutMs: number,
  everyMs?: number,
): Promise<T | null>;
export function pollUntil<T>(
  check: PollCheck<T>,
  opts: PollOptions & { what: string },
): Promise<T>;
export function pollUntil<T>(check: PollCheck<T>, opts: PollOptions): Promise<T | null>;
export async function pollUntil<T>(
  check: PollCheck<T>,
  timeout: number | PollOptions,
  everyMs = 50,
): Promise<T | null> {
  const o: PollOptions = typeof timeout === "number" ? { timeoutMs: timeout, everyMs } : timeout;
  const now = o.now ?? (() => performance.now());
  const pause = o.sleep ?? sleep;
  const end = now() + o.timeoutMs;
  for (let look = 0;; look++) {
    const v = await check(look);
    if (v !== null && v !== undefined) return v;
    if (now() >= end) {
      if (o.what !== undefined) throw new PollTimeoutError(o.what, o.timeoutMs);
      return null;
    }
    await pause(o.everyMs ?? 50);
  }
}
