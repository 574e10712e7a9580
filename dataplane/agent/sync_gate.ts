/**
 * When a node that (re)joins a syncing cluster may announce its VIPs: once every peer has sent
 * its full snapshot (all its workers answered the node's request), or once the bounded wait has
 * passed; a peer never heard cannot answer, so after the wait it counts as answered (the first
 * node of a cluster comes up alone). Pure.
 *
 * @example
 * ```ts
 * snapshotGate(["10.0.0.12"], [{ node: "10.0.0.12", snapshotWorkers: 4, peerWorkers: 4, ... }], false);
 * // { open: true, answering: [], unheard: [] }
 * ```
 *
 * @module
 */
import type { PeerStats } from "../binding/types.ts";

/** The verdict on one look at the peers. */
export interface GateVerdict {
  /** The node may announce its VIPs. */
  open: boolean;
  /** Peers heard but not done answering (fewer finished workers than they have). */
  answering: string[];
  /** Peers never heard (no worker count yet, or absent from the data plane's list). */
  unheard: string[];
}

/** Whether a peer answered this node's snapshot request with all its workers. */
export function answered(p: PeerStats): boolean {
  return p.peerWorkers > 0 && p.snapshotWorkers === p.peerWorkers;
}

/**
 * Looks at the peers the node expects (their node addresses) in what the data plane reports.
 * `waitedOut`: the bounded wait has passed, so the node announces whatever the peers did.
 */
export function snapshotGate(
  expected: readonly string[],
  peers: readonly PeerStats[],
  waitedOut: boolean,
): GateVerdict {
  const byNode = new Map(peers.map((p) => [p.node, p]));
  const answering: string[] = [];
  const unheard: string[] = [];
  for (const node of expected) {
    const p = byNode.get(node);
    if (p === undefined || p.peerWorkers === 0) unheard.push(node);
    else if (!answered(p)) answering.push(node);
  }
  return {
    open: waitedOut || (answering.length === 0 && unheard.length === 0),
    answering,
    unheard,
  };
}
