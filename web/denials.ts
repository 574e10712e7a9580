/**
 * Anonymous refusals, aggregated before they reach the audit log: anyone who can reach the
 * dashboard can send refused requests, and one audit line per request would let them fill the
 * disk and bury the operators' entries.
 *
 * Per source address and per minute: the first refusal is recorded as it is (so a single failed
 * login shows at once, with its reason); the others are only counted, and when the minute is
 * over one `denials` summary with the count, the actions and the last reason is recorded. So a
 * source writes at most two entries a minute, whatever it sends. At most `maxSources` addresses
 * are followed; refusals from further addresses share one bucket (`other addresses`). Pure: the
 * time is passed in and the entries to record are returned.
 *
 * @example
 * ```ts
 * const agg = new DenialAggregator();
 * agg.note({ source: "10.0.0.9", action: "drain", target: "node1", message: "no token", via: "api" }, now);
 * // -> [the entry]; the next 999 within the minute -> []; then:
 * agg.due(now + 60_000); // -> [{ action: "denials", count: 999, ... }]
 * ```
 *
 * @module
 */
import type { AuditEntry } from "./fleet.ts";

/** One refused anonymous request. */
export interface Denial {
  /** Client address without its port (or `unknown`). */
  source: string;
  action: string;
  target: string;
  /** Why it was refused. */
  message: string;
  via: "api" | "ui";
}

/** Options of {@link DenialAggregator}. */
export interface DenialAggregatorOptions {
  /** Length of a source's window (default one minute). */
  windowMs?: number;
  /** Addresses followed one by one (default 1000). */
  maxSources?: number;
}

interface Window {
  start: number;
  /** Refusals counted but not recorded yet. */
  count: number;
  actions: Map<string, number>;
  last: Denial | null;
}

/** The bucket shared by addresses beyond `maxSources`. */
export const OTHER_SOURCES = "other addresses";

/** Aggregates anonymous refusals per source and minute; see the module. */
export class DenialAggregator {
  readonly windowMs: number;
  readonly maxSources: number;
  readonly #windows = new Map<string, Window>();

  constructor(options: DenialAggregatorOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxSources = options.maxSources ?? 1000;
  }

  /** Addresses followed now. */
  get sources(): number {
    return this.#windows.size;
  }

  /** Counts a refusal; returns what to record now (summaries that fell due, and this one if first). */
  note(d: Denial, now: number): AuditEntry[] {
    const out = this.due(now);
    let source = d.source;
    if (!this.#windows.has(source) && this.#windows.size >= this.maxSources) {
      source = OTHER_SOURCES;
    }
    const w = this.#windows.get(source);
    if (w === undefined) {
      this.#windows.set(source, { start: now, count: 0, actions: new Map(), last: null });
      out.push(entry(now, {
        who: "anonymous",
        action: d.action,
        target: d.target,
        result: "denied",
        message: d.message,
        via: d.via,
        ...(source === "unknown" ? {} : { remote: source }),
      }));
      return out;
    }
    w.count++;
    w.actions.set(d.action, (w.actions.get(d.action) ?? 0) + 1);
    w.last = d;
    return out;
  }

  /** Summaries of the windows that ended by `now` (all of them with `flushAll`). */
  due(now: number, flushAll = false): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (const [source, w] of this.#windows) {
      if (!flushAll && now - w.start < this.windowMs) continue;
      this.#windows.delete(source);
      if (w.count === 0 || w.last === null) continue;
      const actions = [...w.actions].sort((a, b) => b[1] - a[1])
        .map(([a, n]) => `${a} ×${n}`).join(", ");
      const seconds = Math.round(Math.min(now - w.start, this.windowMs) / 1000);
      out.push(entry(now, {
        who: "anonymous",
        action: "denials",
        target: source,
        result: "denied",
        message: `${w.count} more anonymous request${w.count === 1 ? "" : "s"} refused from ` +
          `${source} within ${seconds} s (${actions}); last: ${w.last.action} ${
            w.last.target.slice(0, 64)
          }: ${w.last.message}`,
        via: w.last.via,
        count: w.count,
        ...(source === "unknown" || source === OTHER_SOURCES ? {} : { remote: source }),
      }));
    }
    return out;
  }
}

function entry(now: number, e: Omit<AuditEntry, "time">): AuditEntry {
  return { time: new Date(now).toISOString(), ...e };
}
