/**
 * The dashboard's view of the fleet and the ports it is built from.
 *
 * The dashboard never reaches the orchestrator directly: it reads a {@link FleetSnapshot} through a
 * {@link FleetReader}, performs operator actions through an {@link ActionPort} and records every
 * action in an {@link AuditLog}. The orchestrator (`cluster/`) implements the first two; `audit.ts`
 * has a JSON-lines file log and an in-memory one; `memory_fleet.ts` is a scripted in-memory fleet
 * that implements both ports for tests and demos.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * import { MemoryAuditLog } from "./audit.ts";
 * import { MemoryFleet } from "./memory_fleet.ts";
 * const fleet = new MemoryFleet();
 * const app = createApp({
 *   reader: fleet, actions: fleet, audit: new MemoryAuditLog(),
 *   operators: [{ name: "alice", token: "s3cret-token-0123456789" }],
 * });
 * ```
 *
 * @module
 */
import type { RolloutStatus, RolloutStep } from "./rollout_words.ts";

/** Lifecycle state of one load-balancer node, as the orchestrator sees it. */
export type NodeState = "active" | "draining" | "drained" | "upgrading" | "down";

/** Every {@link NodeState}, in display order. */
export const NODE_STATES: readonly NodeState[] = [
  "active",
  "draining",
  "drained",
  "upgrading",
  "down",
];

/** The node's OSPF view: adjacency to the upstream router and which VIPs it announces. */
export interface OspfView {
  /** Adjacency state with the upstream router as BIRD reports it, e.g. `Full`, `ExStart`, `Down`. */
  adjacency: string;
  /** Router id or address of the neighbour, when known. */
  neighbor: string | null;
  /** The VIP stub networks this node currently announces (e.g. `10.10.0.100/32`). */
  advertised: readonly string[];
  /** True when every router-facing VIP of the cluster is announced. */
  vipsAdvertised: boolean;
}

/** SYNPROXY syncookie counters (monotonic totals since the data plane started). */
export interface SynCookieCounters {
  sent: number;
  valid: number;
  invalid: number;
}

/** Live figures of one node's data plane. Counters are monotonic totals, rates are per second. */
export interface NodeStats {
  /** Active FULLNAT sessions. */
  sessions: number;
  /** Packets per second received from clients and real servers. */
  ppsIn: number;
  /** Packets per second transmitted. */
  ppsOut: number;
  /** Total packets received. */
  packetsIn: number;
  /** Total packets transmitted. */
  packetsOut: number;
  /** Dropped packets by reason (monotonic totals), e.g. `{ no_session: 3, bad_checksum: 1 }`. */
  drops: Readonly<Record<string, number>>;
  synCookies: SynCookieCounters;
}

/** What a node knows of one peer in session sync. */
export interface PeerSyncView {
  /** The peer's name (its address when the cluster file does not name it). */
  node: string;
  /** Whether the peer was ever heard. */
  heard: boolean;
  /** Frames this node forwarded to the peer, which owns their sessions (monotonic total). */
  forwardedOut: number;
  /** Frames the peer forwarded to this node, which owns their sessions (monotonic total). */
  forwardedIn: number;
}

/**
 * A node's part in session sync (connection continuity): it announces every session it creates
 * to its peers, holds records of theirs, and forwards a client frame it has no session for to the
 * peer that owns it. A drained node keeps serving its sessions through frames forwarded to it.
 */
export interface SyncView {
  /** False while a (re)joining node waits for its peers' sessions (its VIPs are held back). */
  synced: boolean;
  /** Peers that had not sent their sessions when the node's wait ran out (it announced anyway). */
  unanswered: readonly string[];
  /** Peers' sessions this node holds ownership records of. */
  records: number;
  /** Ownership records this node sent (monotonic total). */
  recordsSent: number;
  /** Peers' records this node applied (monotonic total). */
  recordsReceived: number;
  /** Sync datagrams missing in the peers' sequences (monotonic total). */
  lost: number;
  /** Frames this node forwarded to the owners of their sessions (monotonic total). */
  forwardedOut: number;
  /** Frames peers forwarded to this node (monotonic total). */
  forwardedIn: number;
  /** Frames per second forwarded by this node, as last measured. */
  forwardedOutPerSecond: number;
  /** Frames per second forwarded to this node, as last measured (a drained node still serving). */
  forwardedInPerSecond: number;
  peers: readonly PeerSyncView[];
  /** Other nodes' LIPs this node stands by for; `acting`: it carries them now (owner lost). */
  standby?: readonly { lip: string; owner: string; acting: boolean }[];
  /** Takeovers this node made (newest last): an event worth showing. */
  takeovers?: readonly { lip: string; owner: string; at: number }[];
}

/** One load-balancer node. */
export interface NodeView {
  name: string;
  /** Node (management) address. */
  address: string;
  state: NodeState;
  /** Release version the agent runs; null when unknown (node unreachable). */
  version: string | null;
  /** Content hash of the configuration the agent applied; null when unknown. */
  configHash: string | null;
  /** False when the orchestrator could not reach the node's agent. */
  reachable: boolean;
  /** Why the node is unreachable or unhealthy (shown to the operator as is); null when fine. */
  error: string | null;
  /** OSPF state; null when unknown. */
  ospf: OspfView | null;
  /** Data-plane figures; null when unknown. */
  stats: NodeStats | null;
  /** Session sync; null when it is off or unknown. */
  sync: SyncView | null;
}

/** Health of one real server as seen from one node (every node runs its own checks). */
export interface RealHealthOnNode {
  node: string;
  up: boolean;
  /** Weight in effect on that node (0 while the check fails). */
  weight: number;
  /** Last check result in words, e.g. `HTTP 200 in 3 ms` or `connect: refused`. */
  detail: string | null;
}

/** One real server behind a VIP. */
export interface RealView {
  address: string;
  port: number;
  /** Weight from the cluster file. */
  weight: number;
  /** Per-node health; empty when no node reported it. */
  health: readonly RealHealthOnNode[];
}

/** One virtual service. */
export interface VipView {
  address: string;
  port: number;
  protocol: "tcp" | "udp";
  scheduler: string;
  synproxy: boolean;
  toa: boolean;
  reals: readonly RealView[];
}

/** One node's line in a rollout. */
export interface RolloutNodeProgress {
  node: string;
  step: RolloutStep;
  /** Latest progress or failure message. */
  message: string | null;
  /** Epoch milliseconds. */
  startedAt: number | null;
  finishedAt: number | null;
}

/** A rolling upgrade, running or past. */
export interface RolloutView {
  id: string;
  /** The release being rolled out (path or version string). */
  release: string;
  batchSize: number;
  state: RolloutStatus;
  /** Operator who started it. */
  startedBy: string;
  startedAt: number;
  updatedAt: number;
  /** Why it halted; null otherwise. */
  error: string | null;
  nodes: readonly RolloutNodeProgress[];
}

/** Everything the dashboard shows, read at one moment. */
export interface FleetSnapshot {
  /** Cluster name from the cluster file. */
  cluster: string;
  /** Epoch milliseconds when the snapshot was taken. */
  takenAt: number;
  /** Hash of the configuration the cluster file asks for; null when not known. */
  desiredConfigHash: string | null;
  nodes: readonly NodeView[];
  vips: readonly VipView[];
  /** Recent rollouts, newest first. */
  rollouts: readonly RolloutView[];
  /** Who holds the cluster's rollout lease on the nodes now (any operator's run), if anyone. */
  lease?: RolloutLeaseView | null;
}

/** The rollout lease as the nodes report it. */
export interface RolloutLeaseView {
  /** As the holder describes itself: `lvsctl by alice@ops1 pid 42 (rollout r1)`. */
  holder: string;
  /** Nodes where this holder holds it. */
  nodes: readonly string[];
  /** Time left on the node with the least, milliseconds. */
  expiresInMs: number;
}

/** Reads the current state of the fleet. Implemented by the orchestrator. */
export interface FleetReader {
  /** The current snapshot. Rejects when the fleet state cannot be read at all. */
  read(): Promise<FleetSnapshot>;
}

/** Request to start a rolling upgrade. */
export interface RolloutRequest {
  /** Release to roll out (path of the release archive or version, as `lvsctl upgrade --release`). */
  release: string;
  /** Nodes upgraded at once; the cluster file's rollout policy when absent. */
  batchSize?: number;
}

/**
 * Operator actions. Implemented by the orchestrator. Each method resolves once the action has been
 * accepted (a drain resolves when the node starts draining, not when it is drained: progress shows
 * in later snapshots) and rejects with an error whose message the operator will read; throw an
 * {@link ActionError} to choose the HTTP status.
 */
export interface ActionPort {
  /** Withdraw the node's VIPs from the router and let its sessions drain. */
  drain(node: string, actor: string): Promise<void>;
  /** Announce the node's VIPs again. */
  undrain(node: string, actor: string): Promise<void>;
  /** Start a rolling upgrade; rejects (409) when one is already running (cluster-wide lease). */
  startRollout(request: RolloutRequest, actor: string): Promise<RolloutView>;
  /** A rollout by id; null when unknown. */
  getRollout(id: string): Promise<RolloutView | null>;
  /** Resume a halted rollout from the node that failed. */
  resumeRollout(id: string, actor: string): Promise<RolloutView>;
}

/** One line of the audit log. */
export interface AuditEntry {
  /** ISO 8601 time. */
  time: string;
  /** Operator name, or `anonymous` for a refused request. */
  who: string;
  /**
   * `drain`, `undrain`, `rollout.start`, `rollout.resume`, `login`, `logout`, `session.revoke`,
   * or `denials` for a summary of anonymous requests refused from one address.
   */
  action: string;
  /** Node name, rollout id or release. */
  target: string;
  /** `requested` before the action runs, then `ok`, `error` or `denied`. */
  result: "requested" | "ok" | "error" | "denied";
  /** Error or denial reason. */
  message?: string;
  /** Where the request came from: `api` (bearer token) or `ui` (session cookie). */
  via: "api" | "ui";
  /** Client address when known. */
  remote?: string;
  /** How many refused requests a `denials` summary stands for. */
  count?: number;
}

/** Append-only record of operator actions. */
export interface AuditLog {
  /** Append one entry; rejects when it could not be recorded durably. */
  append(entry: AuditEntry): Promise<void>;
  /** The newest entries, newest first. */
  recent(limit: number): Promise<AuditEntry[]>;
}

/** HTTP status an {@link ActionError} maps to. */
export type ActionStatus = 400 | 404 | 409 | 500 | 502 | 503;

/**
 * An operator action that could not be done. `status` picks the HTTP status; the message is
 * shown to the operator as is.
 *
 * @example
 * ```ts
 * throw new ActionError("Cannot drain node3: it is already draining", { status: 409 });
 * ```
 */
export class ActionError extends Error {
  override name = "ActionError";
  readonly status: ActionStatus;
  constructor(message: string, options: { status?: ActionStatus; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? 500;
  }
}

/** A node's config hash compared with the fleet. */
export interface HashVerdict {
  /** The hash nodes should have: the desired one, else the most common among reachable nodes. */
  expected: string | null;
  /** Names of nodes whose hash differs from `expected` (unknown hashes are not counted). */
  mismatched: ReadonlySet<string>;
  /** Number of distinct hashes among nodes that reported one. */
  distinct: number;
}

/**
 * Decides which nodes run a configuration other than the fleet's. With a desired hash the rule is
 * "equals the desired one"; without, "equals the hash most nodes run" (a tie flags every node).
 */
export function hashVerdict(
  snapshot: Pick<FleetSnapshot, "nodes" | "desiredConfigHash">,
): HashVerdict {
  const counts = new Map<string, number>();
  for (const n of snapshot.nodes) {
    if (n.configHash !== null) counts.set(n.configHash, (counts.get(n.configHash) ?? 0) + 1);
  }
  let expected = snapshot.desiredConfigHash;
  if (expected === null) {
    let best = 0;
    let tie = false;
    for (const [hash, count] of counts) {
      if (count > best) [expected, best, tie] = [hash, count, false];
      else if (count === best) tie = true;
    }
    if (tie && counts.size > 1) expected = null;
  }
  const mismatched = new Set<string>();
  for (const n of snapshot.nodes) {
    if (n.configHash === null) continue;
    if (expected === null ? counts.size > 1 : n.configHash !== expected) mismatched.add(n.name);
  }
  return { expected, mismatched, distinct: counts.size };
}

/** `address:port/protocol`, the key of a VIP in metrics, tables and the API. */
export function vipKey(vip: Pick<VipView, "address" | "port" | "protocol">): string {
  return `${vip.address}:${vip.port}/${vip.protocol}`;
}

/** `address:port`, the key of a real server. */
export function realKey(real: Pick<RealView, "address" | "port">): string {
  return `${real.address}:${real.port}`;
}
