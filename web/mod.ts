/**
 * The web dashboard: a Hono app built from a fleet reader, an action port and an audit log, its
 * server shell, and the pieces it is made of.
 *
 * @module
 */
export { createApp, createDashboard, type Dashboard, type DashboardDeps } from "./app.ts";
export { FleetCache, type FleetCacheOptions, type FleetState } from "./fleet_cache.ts";
export {
  type DashboardServer,
  isLoopback,
  plainHttpRefusal,
  serveDashboard,
  type ServeOptions,
} from "./server.ts";
export {
  ActionError,
  type ActionPort,
  type AuditEntry,
  type AuditLog,
  type FleetReader,
  type FleetSnapshot,
  hashVerdict,
  type NodeState,
  type NodeStats,
  type NodeView,
  type OspfView,
  type PeerSyncView,
  type RealHealthOnNode,
  type RealView,
  type RolloutNodeProgress,
  type RolloutRequest,
  type RolloutView,
  type SynCookieCounters,
  type SyncView,
  type VipView,
} from "./fleet.ts";
export {
  ROLLOUT_STATUSES,
  ROLLOUT_STEPS,
  type RolloutStatus,
  rolloutStatus,
  type RolloutStep,
  rolloutStep,
} from "./rollout_words.ts";
export {
  AUDIT_FIELD_LIMITS,
  AuditLogError,
  boundedEntry,
  FileAuditLog,
  type FileAuditLogOptions,
  MemoryAuditLog,
} from "./audit.ts";
export { type Denial, DenialAggregator } from "./denials.ts";
export { SessionTable, type SessionView } from "./sessions.ts";
export { FleetHistory, type Sample } from "./history.ts";
export { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
export { operatorsFromEnv, type OperatorToken } from "./auth.ts";
export { checkSnapshot, portConformance, type PortsUnderTest } from "./conformance.ts";
export { MemoryFleet, type MemoryFleetOptions } from "./memory_fleet.ts";
export { type CounterReading, RateMeter, type Rates } from "./rates.ts";
