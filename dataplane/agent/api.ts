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
 *
 * @module
 */
export type {
  AgentConfig,
  AgentStatus,
  DataPlaneCounters,
  RoutingPort,
  RoutingStatus,
} from "./agent.ts";
export { checkAgentConfig } from "./agent_config.ts";
export { realKey } from "./effective.ts";
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
  TIMEOUT_KEYS,
  type Timeouts,
} from "../binding/config.ts";

/** The API's paths. */
export const AGENT_PATHS = {
  status: "/v1/status",
  config: "/v1/config",
  apply: "/v1/apply",
  drain: "/v1/drain",
  undrain: "/v1/undrain",
  restart: "/v1/restart",
} as const;

/** The error body of a failed call. */
export interface AgentErrorBody {
  error: string;
}

/** Default location of the agent's control socket on a node. */
export const DEFAULT_AGENT_SOCKET = "/run/lvs-agent/agent.sock";
