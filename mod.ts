/**
 * lvs-cluster: an OSPF/ECMP-scaled DPDK FULLNAT load-balancer cluster, orchestrated from Deno.
 *
 * Public API: re-exports only.
 *
 * @module
 */
export { cStringArray, DataPlaneError, openLibrary, symbols } from "./dataplane/binding/ffi.ts";
export { DataPlane, type InjectTarget } from "./dataplane/binding/dataplane.ts";
export { type DataPlaneConfig, type Service, validateConfig } from "./dataplane/binding/config.ts";
export type {
  DataPlaneOptions,
  DataPlaneStats,
  EalOptions,
  Session,
  WorkerStats,
} from "./dataplane/binding/types.ts";
export {
  ActionError as DashboardActionError,
  type ActionPort,
  type AuditEntry,
  type AuditLog,
  checkSnapshot,
  createApp,
  type DashboardDeps,
  type DashboardServer,
  FileAuditLog,
  FleetHistory,
  type FleetReader,
  type FleetSnapshot,
  MemoryAuditLog,
  MemoryFleet,
  operatorsFromEnv,
  portConformance,
  RateMeter,
  renderMetrics,
  serveDashboard,
} from "./web/mod.ts";
export {
  type HealthCheck,
  HealthMonitor,
  type HealthState,
  nextHealth,
  realProber,
} from "./dataplane/agent/health.ts";
export { effectiveConfig, serviceRealKey } from "./dataplane/agent/effective.ts";
export {
  type AgentReply,
  type CallOptions,
  type ExecResult,
  type NodeEndpoint,
  type NodeTransport,
  TransportError,
} from "./cluster/transport/transport.ts";
export { SshTransport, type SshTransportOptions } from "./cluster/transport/ssh_transport.ts";
export {
  describeRefusal,
  keyFingerprint,
  knownHostsLine,
  parseKnownHosts,
  parsePublicKey,
  verifyHostKey,
} from "./cluster/transport/known_hosts.ts";
export {
  type ConformanceTarget,
  transportConformance,
} from "./cluster/transport/transport_conformance.ts";
export { conformanceAgent } from "./cluster/transport/transport_conformance_agent.ts";
export {
  type ClusterFile,
  ClusterFileError,
  loadClusterFile,
  type NodeSpec,
  parseClusterFile,
  type VipSpec,
} from "./cluster/spec/cluster_file.ts";
export { configHash, nodeConfigs } from "./cluster/spec/node_config.ts";
export { type DeployPlan, type PlanChange, planDeploy } from "./cluster/spec/plan.ts";
export { describeChange, planLines } from "./cluster/spec/plan_render.ts";
export { DeletionGuardError, excessiveDeletions } from "./cluster/spec/deletion_guard.ts";
export { deploy, type DeployResult } from "./cluster/ops/deploy.ts";
export {
  resumeRollout,
  RolloutHaltedError,
  type RolloutState,
  startRollout,
} from "./cluster/ops/rollout.ts";
export {
  acquireClusterLease,
  type ClusterLease,
  LeaseBusyError,
  LeaseError,
  LeaseLostError,
} from "./cluster/ops/lease.ts";
export { type Clock, realClock } from "./cluster/ops/clock.ts";
export { ClusterFleet } from "./cluster/ops/dashboard_fleet.ts";
export { FakeTransport } from "./cluster/transport/fake_transport.ts";
export { runCli as lvsctl } from "./cluster/lvsctl.ts";
export { BirdRouting } from "./routing/bird/bird_routing.ts";
export { BirdClient, withBird } from "./routing/bird/bird_client.ts";
export { BirdConnectionError, BirdError } from "./routing/bird_reply.ts";
export { renderNodeConfig, renderRouterConfig } from "./routing/render.ts";
export { safeReconfigure } from "./routing/bird/reconfigure.ts";
export type { BfdTiming, NodeRouting, OspfInterface, RouterRouting } from "./routing/model.ts";
export { labDown, LabError, labStatus, labUp, loadLabModel } from "./cluster/lab/network.ts";
export { startLab } from "./cluster/lab/cluster.ts";
