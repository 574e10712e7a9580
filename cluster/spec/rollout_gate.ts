/**
 * The rolling upgrade's watch after undrain, as pure checks on two status reads: traffic reaches
 * the node (directly, or through session sync forwarding: new flows are not required), and its
 * drop counters do not rise for reasons that mean trouble.
 *
 * @example
 * ```ts
 * trafficSigns(before, after); // ["frames forwarded out"]: client frames reach it, owned elsewhere
 * badDrops(after) > badDrops(before); // the gate fails
 * ```
 *
 * @module
 */
import type { AgentStatus } from "../../dataplane/agent/api.ts";

/**
 * Drop reasons that are normal around an undrain: stray segments of flows nobody has
 * (`no_session`), next hops still being resolved, frames for services not configured, and frames
 * peers forward for sessions this node lost when it restarted (`forwarded_no_session`: the peers'
 * records of them expire once the node stops refreshing them).
 */
const NORMAL_DROPS: readonly string[] = [
  "no_session",
  "neigh_unresolved",
  "no_service",
  "forwarded_no_session",
];

/** Drops that count against a node (every reason but the normal ones), summed. */
export function badDrops(s: AgentStatus): number {
  return Object.entries(s.counters?.drops ?? {})
    .filter(([k]) => !NORMAL_DROPS.includes(k))
    .reduce((a, [, v]) => a + v, 0);
}

/**
 * What shows traffic reaching the node between two reads: packets in (flows hashed to it),
 * frames forwarded in (peers send it frames of its sessions), frames forwarded out (client frames
 * reach it and go on to the node that owns their session). Empty: no traffic.
 */
export function trafficSigns(before: AgentStatus, after: AgentStatus): string[] {
  const rose = (f: (s: AgentStatus) => number | undefined) => (f(after) ?? 0) > (f(before) ?? 0);
  const signs: string[] = [];
  if (rose((s) => s.counters?.packetsIn)) signs.push("packets in");
  if (rose((s) => s.sync?.forwardedIn)) signs.push("frames forwarded in");
  if (rose((s) => s.sync?.forwardedOut)) signs.push("frames forwarded out");
  return signs;
}
