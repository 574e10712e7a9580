/**
 * What a node actually runs, derived from what it was told and what it observes: real servers
 * that fail their health check get weight 0 (no new sessions, existing ones finish), a VIP
 * with no healthy real server is withdrawn from BIRD (so the router sends its traffic to
 * the peers), and a drained node withdraws every VIP while keeping its LIPs announced so
 * replies for existing sessions still come back. A node that (re)joins a syncing cluster holds its
 * VIPs back too until its peers have sent their sessions (their LIPs' replies must reach it, so
 * its LIPs are announced at once). Pure.
 *
 * @module
 */
import {
  type DataPlaneConfig,
  type RealServer,
  type Service,
  serviceKey,
} from "../binding/config.ts";

/** The identity of one real server of one service, `vip:port/proto/rs:port`: the key of its health
 * check and health state (the dashboard's `realKey` is the bare `rs:port`). */
export function serviceRealKey(
  s: Pick<Service, "vip" | "port" | "protocol">,
  r: Pick<RealServer, "address" | "port">,
): string {
  return `${serviceKey(s)}/${r.address}:${r.port}`;
}

/** Why a VIP is not announced: the operator drained the node, no real server can take a new
 * session, or the node waits for its peers' sessions before it takes flows. */
export type WithdrawReason = "drained" | "no healthy real server" | "syncing";

/** What holds every VIP of the node back. */
export interface Hold {
  /** The operator drained the node. */
  drained: boolean;
  /** The node waits for its peers' snapshots (session sync) before it announces VIPs. */
  syncing?: boolean;
  /** The node handed its sessions to its standby (a rolling upgrade): its LIPs are withdrawn. */
  handedOver?: boolean;
}

/** What the agent applies: the data plane snapshot and the routes BIRD announces. */
export interface Effective {
  dataplane: DataPlaneConfig;
  /** VIPs (addresses) announced as OSPF stub networks. */
  advertisedVips: string[];
  /** VIPs withheld, with the reason. */
  withdrawnVips: Array<{ vip: string; reason: WithdrawReason }>;
  /** LIPs announced (always all of them, drained or not). */
  advertisedLips: string[];
  /** Other nodes' LIPs this node stands by for (announced at a higher cost). */
  advertisedStandbyLips: string[];
}

/**
 * Computes the effective configuration.
 *
 * @param desired the configuration pushed by lvsctl
 * @param isUp health of each real by {@linkcode serviceRealKey}; a real without an entry counts as up
 * @param hold whether the node is drained, or waits for its peers' sessions
 *
 * @example
 * ```ts
 * const isUp = new Map([["10.10.10.10:80/tcp/10.0.0.21:80", false]]);
 * const eff = effectiveConfig(desired, isUp, { drained: false });
 * eff.advertisedVips; // VIPs that still have a healthy real server
 * ```
 */
export function effectiveConfig(
  desired: DataPlaneConfig,
  isUp: ReadonlyMap<string, boolean>,
  hold: Hold,
): Effective {
  const services = desired.services.map((s) => ({
    ...s,
    reals: s.reals.map((
      r,
    ) => (isUp.get(serviceRealKey(s, r)) === false ? { ...r, weight: 0 } : { ...r })),
  }));
  // A VIP may carry several services (ports/protocols): it stays announced while any of them
  // can take a new session, since withdrawing the /32 would take all of them away.
  const usable = new Map<string, boolean>();
  for (const s of services) {
    const ok = s.reals.some((r) => r.weight > 0);
    usable.set(s.vip, (usable.get(s.vip) ?? false) || ok);
  }
  const advertisedVips: string[] = [];
  const withdrawnVips: Effective["withdrawnVips"] = [];
  for (const [vip, ok] of [...usable].sort(([a], [b]) => a.localeCompare(b))) {
    if (hold.drained) withdrawnVips.push({ vip, reason: "drained" });
    else if (hold.syncing) withdrawnVips.push({ vip, reason: "syncing" });
    else if (!ok) withdrawnVips.push({ vip, reason: "no healthy real server" });
    else advertisedVips.push(vip);
  }
  return {
    dataplane: { ...desired, services },
    advertisedVips,
    withdrawnVips,
    // A node that (re)starts announces no LIP until it has resynced: replies to sessions its
    // standby carries for it must keep going to the standby until then.
    // Handed over (a rolling upgrade): the LIPs go to the standby, which carries the sessions.
    advertisedLips: hold.syncing || hold.handedOver ? [] : [...desired.localAddresses],
    advertisedStandbyLips: hold.syncing ? [] : (desired.sync?.standby ?? []).map((x) => x.lip),
  };
}
