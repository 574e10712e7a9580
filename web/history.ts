/**
 * The dashboard's own short memory: per-node samples of packets per second and sessions over the
 * last minutes, kept in fixed-size ring buffers and filled by sampling the fleet reader. The clock
 * is injected, so tests decide what "now" is.
 *
 * @example
 * ```ts
 * const history = new FleetHistory({ clock: Date.now });
 * history.record(await reader.read());
 * history.series("node1"); // [{ t, ppsIn, ppsOut, sessions }, ...] oldest first
 * ```
 *
 * @module
 */
import type { FleetSnapshot } from "./fleet.ts";

/** One sample of one node. Figures are null while the node did not report them (a gap). */
export interface Sample {
  /** Epoch milliseconds from the injected clock. */
  t: number;
  ppsIn: number | null;
  ppsOut: number | null;
  sessions: number | null;
}

/** Options of {@link FleetHistory}. */
export interface HistoryOptions {
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** How far back samples are kept (default 10 minutes). */
  windowMs?: number;
  /** Minimum spacing of samples (default 1 s); more frequent records are ignored. */
  intervalMs?: number;
}

/** Fixed-capacity ring of samples, oldest overwritten first. */
class Ring {
  readonly #buf: (Sample | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#buf = new Array(capacity);
  }

  push(s: Sample): void {
    this.#buf[this.#next] = s;
    this.#next = (this.#next + 1) % this.#buf.length;
    this.#size = Math.min(this.#size + 1, this.#buf.length);
  }

  last(): Sample | undefined {
    if (this.#size === 0) return undefined;
    return this.#buf[(this.#next - 1 + this.#buf.length) % this.#buf.length];
  }

  /** Samples oldest first. */
  toArray(): Sample[] {
    const out: Sample[] = [];
    const cap = this.#buf.length;
    for (let i = 0; i < this.#size; i++) {
      const s = this.#buf[(this.#next - this.#size + i + cap) % cap];
      if (s !== undefined) out.push(s);
    }
    return out;
  }
}

/** Per-node time series of pps and sessions over a sliding window. */
export class FleetHistory {
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly #clock: () => number;
  readonly #rings = new Map<string, Ring>();
  #lastRecord = -Infinity;

  constructor(options: HistoryOptions) {
    this.#clock = options.clock;
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(this.windowMs > 0) || !(this.intervalMs > 0)) {
      throw new RangeError(
        `Cannot create a fleet history: window and interval must be positive (got ${this.windowMs} ms and ${this.intervalMs} ms)`,
      );
    }
  }

  /** Ring capacity: one window of samples plus one. */
  get capacity(): number {
    return Math.ceil(this.windowMs / this.intervalMs) + 1;
  }

  /**
   * Records one sample per node from the snapshot, unless the previous record is less than
   * 90 % of the interval old (several readers may call this). Returns whether it recorded.
   */
  record(snapshot: Pick<FleetSnapshot, "nodes">): boolean {
    const t = this.#clock();
    if (t - this.#lastRecord < this.intervalMs * 0.9) return false;
    this.#lastRecord = t;
    for (const node of snapshot.nodes) {
      let ring = this.#rings.get(node.name);
      if (ring === undefined) {
        ring = new Ring(this.capacity);
        this.#rings.set(node.name, ring);
      }
      const s = node.reachable ? node.stats : null;
      ring.push({
        t,
        ppsIn: s?.ppsIn ?? null,
        ppsOut: s?.ppsOut ?? null,
        sessions: s?.sessions ?? null,
      });
    }
    // Forget nodes that left the fleet once their last sample fell out of the window.
    for (const [name, ring] of this.#rings) {
      const last = ring.last();
      if (last === undefined || t - last.t > this.windowMs) this.#rings.delete(name);
    }
    return true;
  }

  /** Names of nodes with samples, in first-seen order. */
  nodes(): string[] {
    return [...this.#rings.keys()];
  }

  /** The node's samples within the window ending now, oldest first. */
  series(node: string): Sample[] {
    const from = this.#clock() - this.windowMs;
    return (this.#rings.get(node)?.toArray() ?? []).filter((s) => s.t >= from);
  }
}
