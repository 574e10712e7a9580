/**
 * Real-server health checking in keepalived's vocabulary: a check runs every `intervalMs`
 * after an initial `delayMs`, each attempt bounded by `timeoutMs`; a server turns down after
 * `fall` consecutive failures and up again after `rise` consecutive successes. A down server
 * gets weight 0 in the data plane (no new sessions; existing sessions finish).
 *
 * The state machine ({@linkcode nextHealth}) is pure; probes ({@linkcode tcpProbe},
 * {@linkcode httpProbe}) and the scheduler ({@linkcode HealthMonitor}) are the I/O shell.
 *
 * @module
 */
import { validateHealthTargets } from "./health_validate.ts";
import { errorText } from "../../routing/errors.ts";

/** How one real server is checked. */
export type HealthCheck =
  | {
    kind: "tcp";
    intervalMs: number;
    timeoutMs: number;
    rise: number;
    fall: number;
    delayMs?: number;
  }
  | {
    kind: "http";
    path: string;
    expectStatus: number;
    intervalMs: number;
    timeoutMs: number;
    rise: number;
    fall: number;
    delayMs?: number;
  };

/** The health of one real server as the monitor tracks it. */
export interface HealthState {
  /** Whether the server may take new sessions. */
  up: boolean;
  /** Consecutive results agreeing with the last one (successes when ok, failures when not). */
  streak: number;
  /** Whether the last probe succeeded. */
  lastOk: boolean;
  /** Why the last probe failed, or "" after a success. */
  lastError: string;
  /** Total probes run. */
  probes: number;
  /** Milliseconds since the epoch of the last transition between up and down (0: never). */
  changedAt: number;
}

/**
 * A server starts up: keepalived's `inhibit_on_failure` style, so a fresh deploy takes traffic
 * at once and a dead server leaves after `fall` probes.
 */
export function initialHealth(): HealthState {
  return { up: true, streak: 0, lastOk: true, lastError: "", probes: 0, changedAt: 0 };
}

/** The result of one probe. */
export interface ProbeResult {
  ok: boolean;
  error: string;
}

/**
 * Applies one probe result: returns the new state (the input is not changed).
 *
 * @example
 * ```ts
 * let s = initialHealth();
 * for (let i = 0; i < 3; i++) s = nextHealth(s, { ok: false, error: "refused" }, { rise: 2, fall: 3 }, i);
 * s.up; // false
 * ```
 */
export function nextHealth(
  prev: HealthState,
  result: ProbeResult,
  limits: { rise: number; fall: number },
  now: number,
): HealthState {
  const streak = result.ok === prev.lastOk && prev.probes > 0 ? prev.streak + 1 : 1;
  let up = prev.up;
  if (prev.up && !result.ok && streak >= limits.fall) up = false;
  if (!prev.up && result.ok && streak >= limits.rise) up = true;
  return {
    up,
    streak,
    lastOk: result.ok,
    lastError: result.ok ? "" : result.error,
    probes: prev.probes + 1,
    changedAt: up === prev.up ? prev.changedAt : now,
  };
}

export { validateHealthCheck } from "./health_validate.ts";

/** A probe: checks one server once. Injected so the monitor is testable without sockets. */
export type Prober = (
  target: { address: string; port: number },
  check: HealthCheck,
) => Promise<ProbeResult>;

async function withTimeout<T>(
  ms: number,
  what: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([run(ctl.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** TCP connect check: success when the three-way handshake completes within the timeout. */
export async function tcpProbe(
  target: { address: string; port: number },
  check: HealthCheck,
): Promise<ProbeResult> {
  let conn: Deno.TcpConn | undefined;
  const connecting = Deno.connect({ hostname: target.address, port: target.port });
  try {
    conn = await withTimeout(
      check.timeoutMs,
      `connect ${target.address}:${target.port}`,
      () => connecting,
    );
    return { ok: true, error: "" };
  } catch (e) {
    // A connect that completes after the timeout must still be closed.
    connecting.then((c) => c.close(), () => {});
    return { ok: false, error: errorText(e) };
  } finally {
    conn?.close();
  }
}

/** HTTP GET check: success when the status equals `expectStatus` within the timeout. */
export async function httpProbe(
  target: { address: string; port: number },
  check: HealthCheck,
): Promise<ProbeResult> {
  if (check.kind !== "http") return tcpProbe(target, check);
  const url = `http://${target.address}:${target.port}${check.path}`;
  try {
    const status = await withTimeout(check.timeoutMs, `GET ${url}`, async (signal) => {
      const res = await fetch(url, { signal, headers: { "user-agent": "lvs-agent-health" } });
      await res.body?.cancel();
      return res.status;
    });
    return status === check.expectStatus
      ? { ok: true, error: "" }
      : { ok: false, error: `GET ${url} answered ${status}, expected ${check.expectStatus}` };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

/** The probe for a check's kind. */
export const realProber: Prober = (target, check) =>
  check.kind === "http" ? httpProbe(target, check) : tcpProbe(target, check);

/** One server the monitor watches; `key` is the caller's identity for it (e.g. "vip/rs:port"). */
export interface HealthTarget {
  key: string;
  address: string;
  port: number;
  check: HealthCheck;
}

/** Timer functions, injected so tests can drive time. */
export interface Timers {
  now(): number;
  /** Returns an opaque id for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The system clock and timers. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/**
 * Runs the checks of a set of targets on their intervals and reports every up/down change.
 * `setTargets` replaces the set: unchanged targets keep their state, new ones start up.
 */
export class HealthMonitor {
  #targets = new Map<string, { target: HealthTarget; state: HealthState; timer?: unknown }>();
  #stopped = false;

  constructor(
    private readonly onChange: (key: string, state: HealthState) => void,
    private readonly prober: Prober = realProber,
    private readonly timers: Timers = systemTimers,
  ) {}

  /** Replaces the watched set. Throws RangeError (and changes nothing) on an invalid target. */
  setTargets(targets: readonly HealthTarget[]): void {
    validateHealthTargets(targets);
    const wanted = new Map(targets.map((t) => [t.key, t]));
    for (const [key, entry] of this.#targets) {
      const next = wanted.get(key);
      if (!next || JSON.stringify(next) !== JSON.stringify(entry.target)) {
        if (entry.timer !== undefined) this.timers.clearTimeout(entry.timer);
        this.#targets.delete(key);
      }
    }
    for (const t of targets) {
      if (this.#targets.has(t.key)) continue;
      const entry: { target: HealthTarget; state: HealthState; timer?: unknown } = {
        target: t,
        state: initialHealth(),
      };
      this.#targets.set(t.key, entry);
      this.#schedule(t.key, t.check.delayMs ?? 0);
    }
  }

  /** The current state of every target, keyed as given. */
  states(): Map<string, HealthState> {
    return new Map([...this.#targets].map(([k, e]) => [k, e.state]));
  }

  /** Stops every timer; probes in flight finish but report nothing. */
  stop(): void {
    this.#stopped = true;
    for (const e of this.#targets.values()) {
      if (e.timer !== undefined) this.timers.clearTimeout(e.timer);
    }
    this.#targets.clear();
  }

  #schedule(key: string, ms: number): void {
    const entry = this.#targets.get(key);
    if (!entry || this.#stopped) return;
    entry.timer = this.timers.setTimeout(() => void this.#probe(key), ms);
  }

  async #probe(key: string): Promise<void> {
    const entry = this.#targets.get(key);
    if (!entry) return;
    const { target } = entry;
    let result: ProbeResult;
    try {
      result = await this.prober(target, target.check);
    } catch (e) {
      result = { ok: false, error: errorText(e) };
    }
    // The target may have been replaced or removed while the probe ran.
    if (this.#stopped || this.#targets.get(key) !== entry) return;
    const before = entry.state.up;
    entry.state = nextHealth(entry.state, result, target.check, this.timers.now());
    if (entry.state.up !== before) this.onChange(key, entry.state);
    this.#schedule(key, target.check.intervalMs);
  }
}
