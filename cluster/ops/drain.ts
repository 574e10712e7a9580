/**
 * Waiting for a drained node to empty: read its status until its VIPs are withdrawn and its live
 * sessions fell to the threshold, or until the time is up; report each look (sessions falling,
 * frames still forwarded to it) and the outcome. `lvsctl drain` and the rolling upgrade use it;
 * the clock and sleep are injected.
 *
 * @module
 */
import type { AgentStatus } from "../../dataplane/agent/api.ts";
import type { NodeSpec } from "../spec/cluster_file.ts";
import { drainLine, forwardedInSince, liveSessions } from "../spec/drain_progress.ts";
import { nodeStatus } from "../transport/endpoint.ts";
import type { NodeTransport } from "../transport/transport.ts";
import { pollUntil } from "../../routing/poll.ts";

/** What the watch needs. */
export interface DrainWatch {
  transport: NodeTransport;
  node: NodeSpec;
  /** The cluster's VIPs as the node's routing reports them (`a.b.c.d/32`). */
  vips: ReadonlySet<string>;
  /** Done when at most this many live sessions remain. */
  threshold: number;
  /** Give up waiting after this long (ms). */
  timeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Between two looks (ms, default 1000). */
  pollMs?: number;
  /** Each look's line (see `drainLine`). */
  onProgress?: (line: string, status: AgentStatus) => void | Promise<void>;
}

/** How the watch ended. */
export interface DrainResult {
  /** The last status read. */
  status: AgentStatus;
  /** The node's VIPs are withdrawn from the router. */
  withdrawn: boolean;
  /** Live sessions fell to the threshold. */
  settled: boolean;
  /** Live sessions at the end. */
  remaining: number;
  /** Frames peers forwarded to the node during the watch; null without sync. */
  forwardedIn: number | null;
  waitedMs: number;
}

/** Watches from `first` (the drain call's answer) until drained or `timeoutMs` passed. */
export async function watchDrain(first: AgentStatus, w: DrainWatch): Promise<DrainResult> {
  const start = w.now();
  const withdrawn = (s: AgentStatus) => !s.routing.advertised.some((a) => w.vips.has(a));
  const settled = (s: AgentStatus) => liveSessions(s) <= w.threshold;
  let prev = first;
  let forwarded: number | null = first.sync ? 0 : null;
  await pollUntil(async (look) => {
    if (look > 0) {
      const cur = await nodeStatus(w.transport, w.node);
      const fwd = forwardedInSince(prev, cur);
      if (fwd !== null) forwarded = (forwarded ?? 0) + fwd;
      await w.onProgress?.(drainLine(w.node.name, prev, cur), cur);
      prev = cur;
    }
    return (withdrawn(prev) && settled(prev)) || null;
  }, { timeoutMs: w.timeoutMs, everyMs: w.pollMs ?? 1000, now: w.now, sleep: w.sleep });
  return {
    status: prev,
    withdrawn: withdrawn(prev),
    settled: settled(prev),
    remaining: liveSessions(prev),
    forwardedIn: forwarded,
    waitedMs: w.now() - start,
  };
}
