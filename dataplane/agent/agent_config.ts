/**
 * What lvsctl pushes to a node's agent, and its validation. A configuration is checked whole
 * (shape, the data plane part, every field of every health check) before the agent applies or
 * saves any of it, so a bad push is refused and never persisted. Pure.
 *
 * @module
 */
import { type DataPlaneConfig, validateConfig } from "../binding/config.ts";
import type { HealthCheck } from "./health.ts";
import { healthTargetsProblem } from "./health_validate.ts";
import { AgentError } from "./agent_error.ts";
import { errorText } from "../../routing/errors.ts";

/** A configuration pushed by lvsctl. */
export interface AgentConfig {
  /** Operator-visible version of the cluster configuration (e.g. a counter or a date). */
  version: string;
  /** Content hash of the VIP set, identical on every node for the same VIPs. */
  hash: string;
  dataplane: DataPlaneConfig;
  /** Health checks by real key (see `serviceRealKey`); reals without one are always up. */
  checks: Array<{ key: string; address: string; port: number; check: HealthCheck }>;
}

/**
 * Checks a whole AgentConfig: its shape, the data plane part and every field of every health
 * check; throws AgentError(400) naming the field and the value.
 *
 * @example
 * ```ts
 * checkAgentConfig(JSON.parse(body)); // throws before anything is applied
 * ```
 */
export function checkAgentConfig(config: AgentConfig): void {
  if (typeof config?.version !== "string" || config.version === "") {
    throw new AgentError("Cannot apply configuration: version must be a non-empty string", 400);
  }
  const refuse = (message: string, cause?: unknown): never => {
    throw new AgentError(
      `Cannot apply configuration ${config.version}: ${message}`,
      400,
      cause === undefined ? undefined : { cause },
    );
  };
  if (typeof config.hash !== "string" || !/^sha256:[0-9a-f]{64}$/.test(config.hash)) {
    refuse(`hash must be sha256:<64 hex>, got '${config.hash}'`);
  }
  if (!config.dataplane || !Array.isArray(config.checks)) {
    refuse("dataplane and checks are required");
  }
  try {
    validateConfig(config.dataplane);
  } catch (e) {
    refuse(errorText(e), e);
  }
  const problem = healthTargetsProblem(config.checks);
  if (problem !== null) refuse(problem);
}
