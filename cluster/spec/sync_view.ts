/**
 * A node's session sync as the operator reads it, from its agent's status: whether it has its
 * peers' sessions, the records it holds, and the frames forwarded each way per peer (peers named
 * as in the cluster file). The dashboard shows the view; `lvsctl status` prints `syncLine`. Pure.
 *
 * @example
 * ```ts
 * syncLine("node1", syncViewOf(status, new Map([["10.77.0.12", "node2"]])));
 * // "node1 sync: synced; 12 records held; frames forwarded out/in: node2 5/7"
 * ```
 *
 * @module
 */
import type { AgentStatus } from "../../dataplane/agent/api.ts";
import type { SyncView } from "../../web/fleet.ts";

/** Frames per second forwarded by the node (`ppsOut`) and to it (`ppsIn`), as last measured. */
export interface ForwardRates {
  ppsIn: number;
  ppsOut: number;
}

/**
 * The sync view of a node (null when its agent reports no sync: sync off, or a release before
 * sync). `names` maps node addresses to names.
 */
export function syncViewOf(
  status: AgentStatus,
  names: ReadonlyMap<string, string>,
  rates: ForwardRates = { ppsIn: 0, ppsOut: 0 },
): SyncView | null {
  const s = status.sync;
  if (!s) return null;
  const name = (address: string) => names.get(address) ?? address;
  return {
    synced: s.synced,
    unanswered: s.unanswered.map(name),
    records: s.recordsActive,
    recordsSent: s.recordsSent,
    recordsReceived: s.recordsReceived,
    lost: s.lost,
    forwardedOut: s.forwardedOut,
    forwardedIn: s.forwardedIn,
    forwardedOutPerSecond: rates.ppsOut,
    forwardedInPerSecond: rates.ppsIn,
    peers: s.peers.map((p) => ({
      node: name(p.node),
      heard: p.peerWorkers > 0 || p.lastHeardMs > 0,
      forwardedOut: p.forwardedOut,
      forwardedIn: p.forwardedIn,
    })),
    ...(s.standby
      ? { standby: s.standby.map((x) => ({ lip: x.lip, owner: name(x.owner), acting: x.acting })) }
      : {}),
    ...(s.takeovers
      ? { takeovers: s.takeovers.map((t) => ({ lip: t.lip, owner: name(t.owner), at: t.at })) }
      : {}),
  };
}

/** What a node stands by for, in words ("" when it stands by for nothing). */
function standbyWords(view: SyncView): string {
  const lips = view.standby ?? [];
  if (lips.length === 0) return "";
  const acting = lips.filter((x) => x.acting);
  const words = acting.length > 0
    ? `ACTING for ${acting.map((x) => `${x.owner}'s ${x.lip}`).join(", ")}`
    : `standby for ${lips.map((x) => `${x.owner}'s ${x.lip}`).join(", ")}`;
  const last = view.takeovers?.at(-1);
  return last
    ? `${words} (last takeover: ${last.owner}'s ${last.lip} at ${new Date(last.at).toISOString()})`
    : words;
}

/** One line of `lvsctl status` for a node's sync. */
export function syncLine(node: string, view: SyncView | null): string {
  if (view === null) return `${node} sync: off`;
  const state = view.synced ? "synced" : "WAITING for its peers' sessions (VIPs held back)";
  const parts = [`${node} sync: ${state}`, `${view.records} records held`];
  if (view.unanswered.length > 0) {
    parts.push(`joined without the sessions of ${view.unanswered.join(", ")}`);
  }
  const peers = view.peers.map((p) =>
    `${p.node} ${p.forwardedOut}/${p.forwardedIn}${p.heard ? "" : " (never heard)"}`
  );
  parts.push(`frames forwarded out/in: ${peers.join(", ") || "no peers"}`);
  if (view.lost > 0) parts.push(`${view.lost} datagram${view.lost === 1 ? "" : "s"} lost`);
  const standby = standbyWords(view);
  if (standby) parts.push(standby);
  return parts.join("; ");
}
