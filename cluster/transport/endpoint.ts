/**
 * How lvsctl reaches a node of the cluster file: its SSH endpoint and agent socket, and the
 * agent calls everything else builds on (status, drain, undrain, apply), with agent refusals
 * turned into errors that name the node.
 *
 * @module
 */
import { errorText } from "../../routing/errors.ts";
import type { NodeSpec } from "../spec/cluster_file.ts";
import type { CallOptions, NodeEndpoint, NodeTransport } from "./transport.ts";
import { TransportError } from "./transport.ts";
import { AGENT_PATHS, type AgentConfig, type AgentStatus } from "../../dataplane/agent/api.ts";
import type { Observed } from "../spec/plan.ts";

/** The transport endpoint of a node. */
export function endpointOf(n: NodeSpec): NodeEndpoint {
  return {
    name: n.name,
    host: n.ssh.host,
    port: n.ssh.port,
    user: n.ssh.user,
    keyFile: n.ssh.key,
    ...(n.ssh.hostKey ? { hostKey: n.ssh.hostKey } : {}),
    ...(n.ssh.knownHosts ? { knownHosts: n.ssh.knownHosts } : {}),
    agentSocket: n.agent.socket,
  };
}

/** Calls the agent and returns its JSON body; a non-2xx answer throws with the agent's error. */
export async function agentCall<T>(
  transport: NodeTransport,
  node: NodeSpec,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<T> {
  const reply = await transport.agent(endpointOf(node), method, path, body, opts);
  if (reply.status < 200 || reply.status > 299) {
    const msg = (reply.body as { error?: string } | null)?.error ?? JSON.stringify(reply.body);
    throw new TransportError(
      node.name,
      "agent",
      `${node.name}: ${method} ${path}: ${reply.status} ${msg}`,
    );
  }
  return reply.body as T;
}

/** A node's status. */
export function nodeStatus(
  t: NodeTransport,
  n: NodeSpec,
  opts?: CallOptions,
): Promise<AgentStatus> {
  return agentCall<AgentStatus>(t, n, "GET", AGENT_PATHS.status, undefined, opts);
}

/** Drains a node (withdraws its VIPs; LIPs stay). */
export function drainNode(t: NodeTransport, n: NodeSpec, opts?: CallOptions): Promise<AgentStatus> {
  return agentCall<AgentStatus>(t, n, "POST", AGENT_PATHS.drain, undefined, opts);
}

/** Hands a drained node's sessions to its LIPs' standby (withdraws the LIPs). */
export function handOverNode(
  t: NodeTransport,
  n: NodeSpec,
  opts?: CallOptions,
): Promise<AgentStatus> {
  return agentCall<AgentStatus>(t, n, "POST", AGENT_PATHS.handover, undefined, opts);
}

/** Undrains a node. */
export function undrainNode(
  t: NodeTransport,
  n: NodeSpec,
  opts?: CallOptions,
): Promise<AgentStatus> {
  return agentCall<AgentStatus>(t, n, "POST", AGENT_PATHS.undrain, undefined, opts);
}

/** Applies a configuration on a node (atomic on the node). */
export function applyNode(
  t: NodeTransport,
  n: NodeSpec,
  config: AgentConfig,
  opts?: CallOptions,
): Promise<AgentStatus> {
  return agentCall<AgentStatus>(t, n, "POST", AGENT_PATHS.apply, config, opts);
}

/** Every node's status (or the error reaching it), in parallel. */
export async function fleetStatuses(
  t: NodeTransport,
  nodes: NodeSpec[],
  opts?: CallOptions,
): Promise<Map<string, AgentStatus | Error>> {
  const results = await Promise.all(nodes.map(async (n): Promise<[string, AgentStatus | Error]> => {
    try {
      return [n.name, await nodeStatus(t, n, opts)];
    } catch (e) {
      return [n.name, e instanceof Error ? e : new Error(String(e))];
    }
  }));
  return new Map(results);
}

/**
 * Every node's applied configuration (null before its first apply), or the error reaching it,
 * in parallel: what `planDeploy` compares the cluster file with.
 */
export async function observedConfigs(
  t: NodeTransport,
  nodes: NodeSpec[],
  opts?: CallOptions,
): Promise<Map<string, Observed>> {
  const results = await Promise.all(nodes.map(async (n): Promise<[string, Observed]> => {
    try {
      const reply = await t.agent(endpointOf(n), "GET", AGENT_PATHS.config, undefined, opts);
      if (reply.status === 404) return [n.name, { kind: "config", config: null }];
      if (reply.status < 200 || reply.status > 299) {
        const msg = (reply.body as { error?: string } | null)?.error ??
          JSON.stringify(reply.body);
        throw new Error(`${n.name}: GET ${AGENT_PATHS.config}: ${reply.status} ${msg}`);
      }
      return [n.name, { kind: "config", config: reply.body as AgentConfig }];
    } catch (e) {
      return [n.name, { kind: "unreachable", error: errorText(e) }];
    }
  }));
  return new Map(results);
}
