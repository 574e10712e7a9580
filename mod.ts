/**
 * lvs-cluster: an OSPF/ECMP-scaled DPDK FULLNAT load-balancer cluster, orchestrated from Deno.
 *
 * Public API: re-exports only.
 *
 * @module
 */
export { cStringArray, DataPlaneError, openLibrary, symbols } from "./dataplane/ffi.ts";
export { DataPlane, type InjectTarget } from "./dataplane/dataplane.ts";
export { type DataPlaneConfig, type Service, validateConfig } from "./dataplane/config.ts";
export type {
  DataPlaneOptions,
  DataPlaneStats,
  EalOptions,
  Session,
  WorkerStats,
} from "./dataplane/types.ts";
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
export { effectiveConfig, realKey } from "./dataplane/agent/effective.ts";
export {
  type AgentReply,
  type CallOptions,
  type ExecResult,
  type NodeEndpoint,
  type NodeTransport,
  TransportError,
} from "./cluster/transport.ts";
export { SshTransport, type SshTransportOptions } from "./cluster/ssh_transport.ts";
export {
  describeRefusal,
  keyFingerprint,
  knownHostsLine,
  parseKnownHosts,
  parsePublicKey,
  verifyHostKey,
} from "./cluster/known_hosts.ts";
export { type ConformanceTarget, transportConformance } from "./cluster/transport_conformance.ts";
export { conformanceAgent } from "./cluster/transport_conformance_agent.ts";
export {
  type ClusterFile,
  ClusterFileError,
  loadClusterFile,
  type NodeSpec,
  parseClusterFile,
  type VipSpec,
} from "./cluster/cluster_file.ts";
export { nodeConfigs, vipSetHash } from "./cluster/node_config.ts";
export { type DeployPlan, planDeploy } from "./cluster/plan.ts";
export { deploy, type DeployResult } from "./cluster/deploy.ts";
export {
  resumeRollout,
  RolloutHaltedError,
  type RolloutState,
  startRollout,
} from "./cluster/rollout.ts";
export { acquireLease, LeaseBusyError } from "./cluster/lease.ts";
export { ClusterFleet } from "./cluster/dashboard_fleet.ts";
export { FakeTransport } from "./cluster/fake_transport.ts";
export { runCli as lvsctl } from "./cluster/lvsctl.ts";
export { BirdRouting } from "./routing/bird_routing.ts";
export { BirdClient, withBird } from "./routing/bird_client.ts";
export { BirdConnectionError, BirdError } from "./routing/bird_reply.ts";
export { renderNodeConfig, renderRouterConfig } from "./routing/render.ts";
export { safeReconfigure } from "./routing/reconfigure.ts";
export type { BfdTiming, NodeRouting, OspfInterface, RouterRouting } from "./routing/model.ts";
export { labDown, LabError, labStatus, labUp, loadLabModel } from "./cluster/lab.ts";
export { startLab } from "./cluster/lab_cluster.ts";
