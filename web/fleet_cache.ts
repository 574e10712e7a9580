/**
 * The dashboard's one cache of the fleet: the snapshot and the audit log's tail as last read.
 * Every page, live stream, API call and `/metrics` of an app reads through it, and so does the
 * server's sampler, so the orchestrator is asked about once per time to live, not once per
 * client. Each successful read is recorded into the history (which keeps one sample per interval).
 * An action makes the next read fresh ({@link FleetCache.forget}); a read that could not reach
 * the fleet is not kept (the next caller tries again).
 *
 * @example
 * ```ts
 * const cache = new FleetCache({ reader, audit, history, clock: Date.now, ttlMs: 500 });
 * const { snapshot, error, audit: recent } = await cache.read();
 * cache.forget(); // after a drain: the next read asks the fleet again
 * ```
 *
 * @module
 */
import type { AuditEntry, AuditLog, FleetReader, FleetSnapshot } from "./fleet.ts";
import { errorText } from "../routing/errors.ts";
import type { FleetHistory } from "./history.ts";

/** The fleet as last read, or why it could not be, and the newest audit entries. */
export interface FleetState {
  snapshot: FleetSnapshot | null;
  error: string | null;
  audit: AuditEntry[];
}

/** What a {@link FleetCache} reads from. */
export interface FleetCacheOptions {
  reader: FleetReader;
  audit: AuditLog;
  /** Filled by every successful read. */
  history: FleetHistory;
  clock: () => number;
  /** How long one read is shared, milliseconds. */
  ttlMs: number;
  /** Runs before the audit tail is read (the gate records pending refusal summaries). */
  beforeAudit?: () => Promise<void>;
  /** Entries of the audit tail kept (default 10). */
  auditEntries?: number;
}

/** One shared read of the fleet and the audit tail; see the module doc. */
export class FleetCache {
  readonly #o: FleetCacheOptions;
  #last: { at: number; state: Promise<FleetState> } | null = null;

  constructor(options: FleetCacheOptions) {
    this.#o = options;
  }

  /** The state read within the time to live, or a new read shared with concurrent callers. */
  read(): Promise<FleetState> {
    const now = this.#o.clock();
    if (this.#last !== null && now - this.#last.at < this.#o.ttlMs) return this.#last.state;
    const state = this.#load();
    const entry = { at: now, state };
    this.#last = entry;
    // A read that could not reach the fleet is not kept: the next caller tries again.
    state.then((s) => {
      if (s.snapshot === null && this.#last === entry) this.#last = null;
    });
    return state;
  }

  /** Drops the shared read: the next one asks the fleet (after an action changed it). */
  forget(): void {
    this.#last = null;
  }

  async #load(): Promise<FleetState> {
    let snapshot: FleetSnapshot | null = null;
    const errors: string[] = [];
    try {
      snapshot = await this.#o.reader.read();
      this.#o.history.record(snapshot);
    } catch (err) {
      errors.push(`Cannot read the fleet state: ${errorText(err)}`);
    }
    let audit: AuditEntry[] = [];
    try {
      await this.#o.beforeAudit?.();
      audit = await this.#o.audit.recent(this.#o.auditEntries ?? 10);
    } catch (err) {
      errors.push(`Cannot read the audit log: ${errorText(err)}`);
    }
    return { snapshot, error: errors.length === 0 ? null : errors.join(" · "), audit };
  }
}
