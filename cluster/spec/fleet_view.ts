/**
 * Turns what the orchestrator knows (the desired services, what each node's agent reports,
 * the rollouts) into the dashboard's view of the fleet. Pure: the caller collects the agents'
 * statuses and counter rates.
 *
 * @module
 */
import { type AgentStatus, type Service, serviceRealKey } from "../../dataplane/agent/api.ts";
import type {
  FleetSnapshot,
  NodeState,
  NodeView,
  RealHealthOnNode,
  RolloutLeaseView,
  RolloutView,
  VipView,
} from "../../web/fleet.ts";
import type { RolloutStep } from "../../web/rollout_words.ts";
import { type ForwardRates, syncViewOf } from "./sync_view.ts";

/** One node as observed: its agent's status, or why it could not be read. */
export interface NodeObservation {
  name: string;
  address: string;
  status?: AgentStatus;
  error?: string;
}

/** Everything the view is made from. */
export interface FleetInput {
  cluster: string;
  takenAt: number;
  desiredHash: string | null;
  /** The desired services, with their flags. */
  services: readonly Service[];
  nodes: readonly NodeObservation[];
  rollouts: readonly RolloutView[];
  /** Packets per second per node (see RateMeter). */
  rates: ReadonlyMap<string, { ppsIn: number; ppsOut: number }>;
  /** Frames per second forwarded by each node (`ppsOut`) and to it (`ppsIn`), by node. */
  forwardRates?: ReadonlyMap<string, ForwardRates>;
}

const UPGRADE_STEPS: ReadonlySet<RolloutStep> = new Set([
  "shipping",
  "restarting",
  "health-gate",
  "draining",
  "undraining",
]);

/** The state a node shows: down, upgrading, draining (sessions left), drained or active. */
export function nodeState(
  obs: NodeObservation,
  rollouts: readonly RolloutView[],
): NodeState {
  if (!obs.status) return "down";
  const upgrading = rollouts.some((r) =>
    r.state === "running" &&
    r.nodes.some((n) => n.node === obs.name && UPGRADE_STEPS.has(n.step))
  );
  if (upgrading) return "upgrading";
  if (obs.status.drained) return (obs.status.counters?.sessions ?? 0) > 0 ? "draining" : "drained";
  return "active";
}

function nodeView(
  obs: NodeObservation,
  input: FleetInput,
  names: ReadonlyMap<string, string>,
): NodeView {
  const s = obs.status;
  const rate = input.rates.get(obs.name) ?? { ppsIn: 0, ppsOut: 0 };
  return {
    name: obs.name,
    address: obs.address,
    state: nodeState(obs, input.rollouts),
    version: s?.release ?? null,
    configHash: s?.config?.hash ?? null,
    reachable: s !== undefined,
    error: s
      ? (s.degraded !== undefined
        ? `degraded: ${s.degraded}`
        : s.lastError ?? s.countersError ?? s.routing.error ?? null)
      : (obs.error ?? "unreachable"),
    ospf: s
      ? {
        adjacency: s.routing.adjacency,
        neighbor: s.routing.neighbor || null,
        // VIP stub networks only (the node's LIPs stay announced while drained).
        advertised: s.routing.advertised.filter((a) =>
          input.services.some((v) => a.replace(/\/32$/, "") === v.vip)
        ),
        vipsAdvertised: s.advertisedVips.length > 0,
      }
      : null,
    stats: s?.counters
      ? {
        sessions: s.counters.sessions,
        ppsIn: rate.ppsIn,
        ppsOut: rate.ppsOut,
        packetsIn: s.counters.packetsIn,
        packetsOut: s.counters.packetsOut,
        drops: s.counters.drops,
        synCookies: s.counters.synCookies,
      }
      : null,
    sync: s ? syncViewOf(s, names, input.forwardRates?.get(obs.name)) : null,
  };
}

function vipView(svc: Service, nodes: readonly NodeObservation[]): VipView {
  return {
    address: svc.vip,
    port: svc.port,
    protocol: svc.protocol,
    scheduler: svc.scheduler,
    synproxy: svc.synproxy ?? false,
    toa: svc.toa ?? svc.protocol === "tcp",
    reals: svc.reals.map((r) => {
      const key = serviceRealKey(svc, r);
      const health: RealHealthOnNode[] = nodes.filter((n) => n.status).map((n) => {
        const h = n.status!.health.find((x) => x.key === key);
        const up = h?.up ?? true;
        return {
          node: n.name,
          up,
          weight: up ? r.weight : 0,
          detail: h && !h.up ? h.lastError || "down" : null,
        };
      });
      return { address: r.address, port: r.port, weight: r.weight, health };
    }),
  };
}

/**
 * Who holds the rollout lease, from the nodes' statuses: the holder with the most nodes, with
 * the shortest time left among them (agent clocks: each node's own `now`); null when nobody does.
 */
export function rolloutLease(nodes: readonly NodeObservation[]): RolloutLeaseView | null {
  const by = new Map<string, { nodes: string[]; left: number }>();
  for (const n of nodes) {
    const l = n.status?.lease;
    if (!l?.held || l.holder === null || l.expiresAt === null) continue;
    const h = by.get(l.holder) ?? { nodes: [], left: Infinity };
    h.nodes.push(n.name);
    h.left = Math.min(h.left, l.expiresAt - l.now);
    by.set(l.holder, h);
  }
  const top = [...by].sort((a, b) => b[1].nodes.length - a[1].nodes.length)[0];
  return top ? { holder: top[0], nodes: top[1].nodes, expiresInMs: top[1].left } : null;
}

/** Builds the dashboard's snapshot. */
export function fleetSnapshot(input: FleetInput): FleetSnapshot {
  const names = new Map(input.nodes.map((n) => [n.address, n.name]));
  return {
    cluster: input.cluster,
    takenAt: input.takenAt,
    desiredConfigHash: input.desiredHash,
    nodes: input.nodes.map((n) => nodeView(n, input, names)),
    vips: input.services.map((s) => vipView(s, input.nodes)),
    rollouts: input.rollouts,
    lease: rolloutLease(input.nodes),
  };
}
