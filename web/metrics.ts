/**
 * Prometheus text exposition (format 0.0.4) of a fleet snapshot. Pure: data in, text out.
 *
 * Families: node up/state/info, OSPF adjacency and VIP advertisement, sessions, packets and
 * packets-per-second, drops by reason, SYNPROXY cookies, session sync (records sent, received
 * and held, datagrams lost, frames forwarded to and from each peer), real-server health and weight
 * per node, rollouts, and the dashboard's own action counters. Labels: `node`, `vip`, `real`,
 * `reason`, `direction`, `peer`, `state`.
 *
 * @example
 * ```ts
 * const text = renderMetrics(await reader.read(), { actions: [] , fleetUp: true });
 * return new Response(text, { headers: { "content-type": METRICS_CONTENT_TYPE } });
 * ```
 *
 * @module
 */
import {
  type FleetSnapshot,
  hashVerdict,
  NODE_STATES,
  type NodeView,
  realKey,
  type RolloutView,
  type SyncView,
  vipKey,
  type VipView,
} from "./fleet.ts";
import { ROLLOUT_STATUSES } from "./rollout_words.ts";

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One counter of dashboard actions by kind and result. */
export interface ActionCount {
  action: string;
  result: string;
  count: number;
}

/** The dashboard's own figures, exported beside the fleet's. */
export interface DashboardFigures {
  /** False when the last fleet read failed (then `snapshot` is null). */
  fleetUp: boolean;
  actions: readonly ActionCount[];
}

type Labels = Record<string, string>;
type MetricType = "counter" | "gauge";

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Collects families and renders them with HELP and TYPE before their samples. */
class Exposition {
  readonly #out: string[] = [];

  family(name: string, type: MetricType, help: string, samples: [Labels, number][]): void {
    if (type === "counter" && !name.endsWith("_total")) {
      throw new RangeError(`Cannot export counter ${name}: counter names end in _total`);
    }
    this.#out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      this.#out.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
    }
  }

  text(): string {
    return this.#out.join("\n") + "\n";
  }
}

/** Renders the snapshot (null when the fleet could not be read) and the dashboard's figures. */
export function renderMetrics(snapshot: FleetSnapshot | null, figures: DashboardFigures): string {
  const x = new Exposition();
  dashboardFamilies(x, snapshot, figures);
  if (snapshot === null) return x.text();
  nodeFamilies(x, snapshot);
  dataPlaneFamilies(x, snapshot.nodes);
  syncFamilies(x, snapshot.nodes);
  realFamilies(x, snapshot.vips);
  rolloutFamilies(x, snapshot.rollouts);
  return x.text();
}

/** Whether the fleet could be read, and the actions this dashboard handled. */
function dashboardFamilies(
  x: Exposition,
  snapshot: FleetSnapshot | null,
  figures: DashboardFigures,
): void {
  x.family("lvs_dashboard_fleet_up", "gauge", "1 if the dashboard could read the fleet state.", [
    [{}, figures.fleetUp && snapshot !== null ? 1 : 0],
  ]);
  x.family(
    "lvs_dashboard_actions_total",
    "counter",
    "Operator actions handled by this dashboard, by action and result.",
    figures.actions.map((a) => [{ action: a.action, result: a.result }, a.count]),
  );
}

/** Each node's agent, lifecycle state, release and config hash, and its OSPF view. */
function nodeFamilies(x: Exposition, snapshot: FleetSnapshot): void {
  const nodes = snapshot.nodes;
  const verdict = hashVerdict(snapshot);
  x.family("lvs_node_up", "gauge", "1 if the node's agent answered.", [
    ...nodes.map((n): [Labels, number] => [{ node: n.name }, n.reachable ? 1 : 0]),
  ]);
  x.family(
    "lvs_node_state",
    "gauge",
    "Node lifecycle state: 1 for the current state, 0 for the others.",
    nodes.flatMap((n) =>
      NODE_STATES.map((s): [Labels, number] => [{ node: n.name, state: s }, n.state === s ? 1 : 0])
    ),
  );
  x.family(
    "lvs_node_info",
    "gauge",
    "Release version and applied config hash of the node (value always 1).",
    nodes.map((
      n,
    ) => [{ node: n.name, version: n.version ?? "", config_hash: n.configHash ?? "" }, 1]),
  );
  x.family(
    "lvs_node_config_mismatch",
    "gauge",
    "1 if the node's config hash differs from the fleet's expected hash.",
    nodes.map((n) => [{ node: n.name }, verdict.mismatched.has(n.name) ? 1 : 0]),
  );
  x.family(
    "lvs_fleet_config_hashes",
    "gauge",
    "Number of distinct config hashes across the fleet (1 when consistent).",
    [[{}, verdict.distinct]],
  );
  const ospf = nodes.filter((n) => n.ospf !== null);
  x.family(
    "lvs_node_ospf_adjacency_full",
    "gauge",
    "1 if the node's OSPF adjacency with the upstream router is Full.",
    ospf.map((n) => [{ node: n.name }, /^full/i.test(n.ospf!.adjacency) ? 1 : 0]),
  );
  x.family(
    "lvs_node_vips_advertised",
    "gauge",
    "1 if the node announces every router-facing VIP.",
    ospf.map((n) => [{ node: n.name }, n.ospf!.vipsAdvertised ? 1 : 0]),
  );
}

/** Sessions, packets, drops and SYNPROXY cookies of each node whose data plane reported. */
function dataPlaneFamilies(x: Exposition, nodes: readonly NodeView[]): void {
  const live = nodes.filter((n) => n.reachable && n.stats !== null);
  x.family(
    "lvs_node_sessions",
    "gauge",
    "Active FULLNAT sessions on the node.",
    live.map((n) => [{ node: n.name }, n.stats!.sessions]),
  );
  x.family(
    "lvs_node_packets_total",
    "counter",
    "Packets handled by the node's data plane, by direction.",
    live.flatMap((n): [Labels, number][] => [
      [{ node: n.name, direction: "in" }, n.stats!.packetsIn],
      [{ node: n.name, direction: "out" }, n.stats!.packetsOut],
    ]),
  );
  x.family(
    "lvs_node_packets_per_second",
    "gauge",
    "Packet rate of the node's data plane as last measured, by direction.",
    live.flatMap((n): [Labels, number][] => [
      [{ node: n.name, direction: "in" }, n.stats!.ppsIn],
      [{ node: n.name, direction: "out" }, n.stats!.ppsOut],
    ]),
  );
  x.family(
    "lvs_node_drops_total",
    "counter",
    "Packets dropped by the node's data plane, by reason.",
    live.flatMap((n) =>
      Object.entries(n.stats!.drops).sort(([a], [b]) => a.localeCompare(b)).map((
        [reason, v],
      ): [Labels, number] => [{ node: n.name, reason }, v])
    ),
  );
  for (
    const [key, help] of [
      ["sent", "SYNPROXY syncookies sent in SYN-ACKs."],
      ["valid", "ACKs that carried a valid SYNPROXY syncookie."],
      ["invalid", "ACKs whose SYNPROXY syncookie did not validate."],
    ] as const
  ) {
    x.family(
      `lvs_node_syncookies_${key}_total`,
      "counter",
      help,
      live.map((n) => [{ node: n.name }, n.stats!.synCookies[key]]),
    );
  }
}

/** Session sync of each node that runs it: records, losses, standby takeovers, forwarding. */
function syncFamilies(x: Exposition, nodes: readonly NodeView[]): void {
  const syncing = nodes.filter((n) => n.reachable && n.sync !== null);
  const perNode = (pick: (s: SyncView) => number) =>
    syncing.map((n): [Labels, number] => [{ node: n.name }, pick(n.sync!)]);
  x.family(
    "lvs_sync_synced",
    "gauge",
    "1 once the node has its peers' sessions (0 while a joining node holds its VIPs back).",
    perNode((s) => (s.synced ? 1 : 0)),
  );
  x.family(
    "lvs_sync_records_sent_total",
    "counter",
    "Session ownership records the node sent to its peers.",
    perNode((s) => s.recordsSent),
  );
  x.family(
    "lvs_sync_records_received_total",
    "counter",
    "Peers' session ownership records the node applied.",
    perNode((s) => s.recordsReceived),
  );
  x.family(
    "lvs_sync_lost_total",
    "counter",
    "Sync datagrams missing in the peers' sequences (healed by the periodic refresh).",
    perNode((s) => s.lost),
  );
  x.family(
    "lvs_records_active",
    "gauge",
    "Peers' sessions the node holds ownership records of.",
    perNode((s) => s.records),
  );
  x.family(
    "lvs_standby_acting",
    "gauge",
    "1 when the node carries another node's LIP it stands by for (its owner was lost), else 0.",
    syncing.flatMap((n) =>
      (n.sync!.standby ?? []).map((x): [Labels, number] => [
        { node: n.name, lip: x.lip, owner: x.owner },
        x.acting ? 1 : 0,
      ])
    ),
  );
  x.family(
    "lvs_takeovers_total",
    "counter",
    "LIP takeovers the node made since its agent started (a lost node's sessions carried on).",
    perNode((s) => s.takeovers?.length ?? 0),
  );
  x.family(
    "lvs_forwarded_frames_total",
    "counter",
    "Client frames forwarded to the node owning their session: out = this node sent them to " +
      "the peer, in = the peer sent them to this node.",
    syncing.flatMap((n) =>
      n.sync!.peers.flatMap((p): [Labels, number][] => [
        [{ node: n.name, direction: "out", peer: p.node }, p.forwardedOut],
        [{ node: n.name, direction: "in", peer: p.node }, p.forwardedIn],
      ])
    ),
  );
}

/** Real-server health and weight on each node, and the weight the cluster file gives. */
function realFamilies(x: Exposition, vips: readonly VipView[]): void {
  const realSamples = (pick: (h: { up: boolean; weight: number }) => number) =>
    vips.flatMap((v) =>
      v.reals.flatMap((r) =>
        r.health.map((h): [Labels, number] => [
          { node: h.node, vip: vipKey(v), real: realKey(r) },
          pick(h),
        ])
      )
    );
  x.family(
    "lvs_real_up",
    "gauge",
    "1 if the node's health check passes for the real server.",
    realSamples((h) => (h.up ? 1 : 0)),
  );
  x.family(
    "lvs_real_weight",
    "gauge",
    "Weight in effect for the real server on the node (0 while its check fails).",
    realSamples((h) => h.weight),
  );
  x.family(
    "lvs_real_configured_weight",
    "gauge",
    "Weight of the real server in the cluster file.",
    vips.flatMap((v) =>
      v.reals.map((r): [Labels, number] => [{ vip: vipKey(v), real: realKey(r) }, r.weight])
    ),
  );
}

/** Rollouts the orchestrator remembers, counted by status. */
function rolloutFamilies(x: Exposition, rollouts: readonly RolloutView[]): void {
  x.family(
    "lvs_rollouts",
    "gauge",
    "Rollouts the orchestrator remembers, by state.",
    ROLLOUT_STATUSES.map((s) => [{ state: s }, rollouts.filter((r) => r.state === s).length]),
  );
}
