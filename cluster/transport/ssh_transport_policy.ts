/**
 * The pure rules of the SSH transport: which connection failures are worth retrying, how long
 * to back off between attempts, and a FIFO limit on calls in flight.
 *
 * @module
 */
import type { TransportError } from "./transport.ts";

/** What went wrong while connecting, as observed from the SSH client. */
export interface ConnectFailure {
  /**
   * ssh2's error level: `client-socket`, `client-timeout`, `client-dns`, `handshake`,
   * `protocol`, `client-authentication`; `client-config` when the options were refused.
   */
  level?: string | undefined;
  /** Socket error code (`ECONNREFUSED`, ...) or SSH disconnect reason number. */
  code?: string | number | undefined;
  /** The client library's description of the failure. */
  message: string;
  /** The host key verifier refused the offered key. */
  hostKeyRefused: boolean;
  /** Key exchange finished (so the failure happened during user authentication or later). */
  handshakeDone: boolean;
}

/** How a connection failure is reported and whether another attempt may help. */
export interface Classification {
  /** The `TransportError` kind to report. */
  kind: TransportError["kind"];
  /** Whether another connection attempt may succeed. */
  retry: boolean;
}

/** Socket errors that another attempt may cure (peer restarting, route flapping, overload). */
const TRANSIENT = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EPIPE",
  "EAI_AGAIN",
]);

/**
 * Classifies a failed connection attempt. Host key refusals and authentication failures are
 * never retried (retrying cannot fix them and hammering a node with a wrong key gets it
 * banned); network failures and handshake timeouts are.
 */
export function classifyConnectFailure(f: ConnectFailure): Classification {
  if (f.hostKeyRefused) return { kind: "hostkey", retry: false };
  if (f.level === "client-authentication") return { kind: "auth", retry: false };
  if (f.level === "client-timeout") return { kind: "timeout", retry: true };
  if (f.level === "client-socket" || f.level === "client-dns") {
    return { kind: "connect", retry: typeof f.code === "string" && TRANSIENT.has(f.code) };
  }
  if (f.level === "handshake" || f.level === "protocol" || f.level === "client-config") {
    // Algorithm mismatch or a broken peer: the next attempt would fail the same way.
    return { kind: "connect", retry: false };
  }
  // A disconnect or close without a socket error: before key exchange it is usually sshd's
  // MaxStartups shedding load (retry); after it, the server ended authentication.
  return f.handshakeDone ? { kind: "auth", retry: false } : { kind: "connect", retry: true };
}

/** Backoff settings: the first delay and the cap, in milliseconds. */
export interface Backoff {
  /** Delay ceiling before the first retry (halved to doubled by jitter rules). */
  baseMs: number;
  /** Largest delay ceiling. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 for the first retry): exponential, capped, with
 * "equal jitter" (half fixed, half random) so that many nodes do not retry in lockstep.
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, b: Backoff, random: () => number): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** At most `limit` holders at once; waiters are served first come, first served. */
export class Limiter {
  #active = 0;
  #queue: Array<() => void> = [];
  /** Creates a limiter for `limit` holders at once (an integer >= 1). */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Concurrency limit must be an integer >= 1, got ${limit}`);
    }
  }
  /** Calls in flight. */
  get active(): number {
    return this.#active;
  }
  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }
  /** Runs `fn` when a slot is free and releases the slot when it settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.#active--;
    }
  }
}
