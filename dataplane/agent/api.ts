/**
 * The lvs-agent control API contract, shared by the agent (`dataplane/agent/adapters/app.ts`, served on
 * a root-only Unix socket) and by lvsctl (which reaches the socket over SSH stream-local
 * forwarding). JSON over HTTP/1.1; errors answer `{ "error": message }` with a 4xx/5xx status.
 *
 * | method | path | body | answer |
 * | --- | --- | --- | --- |
 * | GET | /v1/status | | {@linkcode AgentStatus} |
 * | GET | /v1/config | | the {@linkcode AgentConfig} applied last (404 before the first) |
 * | POST | /v1/apply | {@linkcode AgentConfig} | AgentStatus after the apply |
 * | POST | /v1/drain | | AgentStatus |
 * | POST | /v1/undrain | | AgentStatus |
 * | POST | /v1/restart | | `{ "restarting": true }`, then the agent exits for its supervisor to restart it |
 * | POST | /v1/handover | | AgentStatus: drained, and the LIPs withdrawn so the standby carries its sessions |
 * | GET | /v1/lease | | {@linkcode LeaseView}: the rollout lease on this node |
 * | POST | /v1/lease/acquire | {@linkcode LeaseAcquireRequest} | {@linkcode LeaseGrant}; 409 while another holder's lease runs |
 * | POST | /v1/lease/renew | {@linkcode LeaseRenewRequest} | LeaseGrant; 409 for a stale token or an expired lease |
 * | POST | /v1/lease/release | {@linkcode LeaseReleaseRequest} | `{ released, lease }` |
 *
 * Fencing: a rollout sends its lease token in the {@linkcode LEASE_TOKEN_HEADER} header with
 * every apply, drain, undrain and restart ({@linkcode FENCED_PATHS}); the agent refuses a token
 * that is not the current one of an unexpired lease with 409 naming the current holder. A 409
 * about the lease carries the lease too: `{ "error": message, "lease": LeaseView }`.
 *
 * @module
 */
import type { LeaseView } from "./lease.ts";

export type {
  AgentConfig,
  AgentStatus,
  DataPlaneCounters,
  RoutingPort,
  RoutingStatus,
  SyncCounters,
  SyncStatus,
} from "./agent.ts";
export { NO_SYNC_COUNTERS } from "./agent.ts";
export { checkAgentConfig } from "./agent_config.ts";
export { AgentError } from "./agent_error.ts";
export {
  acquireLease,
  checkFence,
  describeLease,
  FREE_LEASE,
  LEASE_TTL_MS,
  type LeaseAcquireRequest,
  LeaseConflictError,
  type LeaseGrant,
  leaseHeld,
  type LeaseReleaseRequest,
  type LeaseRenewRequest,
  type LeaseState,
  type LeaseView,
  leaseView,
  releaseLease,
  renewLease,
} from "./lease.ts";
export { serviceRealKey } from "./effective.ts";
export type { HealthCheck } from "./health.ts";
export { type NodeFile, parseNodeFile } from "./node_file.ts";
export { checkReleaseVersion, readReleaseVersion } from "./release.ts";
export {
  parseTarListing,
  type ReleaseEntry,
  releaseEntryProblems,
  TAR_LISTING_OPTIONS,
} from "./release_entries.ts";
export { SWITCH_SCRIPT } from "./release_switch.ts";
export {
  type Scheduler,
  SCHEDULERS,
  type Service,
  serviceKey,
  type SyncConfig,
  type SyncPeer,
  TIMEOUT_KEYS,
  type Timeouts,
} from "../binding/config.ts";
export type { PeerStats } from "../binding/types.ts";

/** The API's paths. */
export const AGENT_PATHS = {
  status: "/v1/status",
  config: "/v1/config",
  apply: "/v1/apply",
  drain: "/v1/drain",
  undrain: "/v1/undrain",
  restart: "/v1/restart",
  handover: "/v1/handover",
  lease: "/v1/lease",
  leaseAcquire: "/v1/lease/acquire",
  leaseRenew: "/v1/lease/renew",
  leaseRelease: "/v1/lease/release",
} as const;

/** The header that carries a rollout's lease token (a positive whole number). */
export const LEASE_TOKEN_HEADER = "x-lvs-lease-token";

/** The calls the lease token fences: a stale token is refused on each of them. */
export const FENCED_PATHS = [
  AGENT_PATHS.apply,
  AGENT_PATHS.drain,
  AGENT_PATHS.undrain,
  AGENT_PATHS.restart,
  AGENT_PATHS.handover,
] as const;

/** The error body of a failed call. */
export interface AgentErrorBody {
  error: string;
  /** With a 409 about the rollout lease: the lease as the agent sees it. */
  lease?: LeaseView;
}

/** Default location of the agent's control socket on a node. */
export const DEFAULT_AGENT_SOCKET = "/run/lvs-agent/agent.sock";
