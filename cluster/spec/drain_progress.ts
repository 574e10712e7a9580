/**
 * What a drain prints while it waits: the node's live sessions falling and, with session sync,
 * the frames its peers still forward to it (it keeps serving its sessions through them); and at
 * the end how many sessions remained. Pure: two status reads in, words out.
 *
 * @example
 * ```ts
 * drainLine("node1", before, now);
 * // "node1: 120 live sessions (-30); 45 frames forwarded to it since the last look; advertises 10.77.200.1/32"
 * ```
 *
 * @module
 */
import type { AgentStatus } from "../../dataplane/agent/api.ts";

/** Live sessions a status reports (0 when it has no counters). */
export function liveSessions(s: AgentStatus): number {
  return s.counters?.sessions ?? 0;
}

/**
 * Frames peers forwarded to the node between two reads; null without sync. A counter that went
 * back (the data plane restarted) counts from zero.
 */
export function forwardedInSince(prev: AgentStatus, cur: AgentStatus): number | null {
  if (!cur.sync) return null;
  const before = prev.sync?.forwardedIn ?? 0;
  return cur.sync.forwardedIn >= before ? cur.sync.forwardedIn - before : cur.sync.forwardedIn;
}

/** One progress line: sessions (with the change since `prev`), frames forwarded, routes. */
export function drainLine(node: string, prev: AgentStatus, cur: AgentStatus): string {
  const n = liveSessions(cur);
  const d = n - liveSessions(prev);
  const parts = [
    `${node}: ${n} live session${n === 1 ? "" : "s"}${d === 0 ? "" : ` (${d > 0 ? "+" : ""}${d})`}`,
  ];
  const fwd = forwardedInSince(prev, cur);
  if (fwd !== null) {
    parts.push(
      fwd > 0 ? `${fwd} frames forwarded to it since the last look` : "no frames forwarded to it",
    );
  }
  parts.push(`advertises ${cur.routing.advertised.join(",") || "nothing"}`);
  return parts.join("; ");
}

/** How a drain ended. */
export interface DrainOutcome {
  /** Sessions fell to the threshold (else the wait ran out). */
  settled: boolean;
  /** Seconds waited. */
  waitedS: number;
  /** Frames forwarded to the node during the whole wait; null without sync. */
  forwardedIn: number | null;
}

/** The final report: sessions that remained, and the frames forwarded to the node meanwhile. */
export function drainSummary(node: string, last: AgentStatus, o: DrainOutcome): string {
  const n = liveSessions(last);
  const parts = [
    `${node}: drained; ${n} live session${n === 1 ? "" : "s"} remained${
      o.settled ? "" : ` after ${o.waitedS} s`
    }`,
  ];
  if (o.forwardedIn !== null) {
    parts.push(`${o.forwardedIn} frames were forwarded to it by its peers while it drained`);
  }
  return parts.join("; ");
}
