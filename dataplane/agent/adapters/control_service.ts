/**
 * The agent process's start: restore the agent from its saved state, then serve its control
 * API (fenced by the node's rollout lease) on the root-only socket. `Agent.start` does not fail
 * on a saved state it cannot read, validate or re-apply (the node starts idle and degraded), so
 * the socket always opens and lvsctl can see why (`status().degraded`) and repair the node with
 * a deploy.
 *
 * @module
 */
import { Agent, type AgentDeps } from "../agent.ts";
import type { LeaseKeeper } from "../lease_keeper.ts";
import { createAgentApp } from "./app.ts";
import { serveOnSocket, type SocketServer } from "./serve.ts";

/** A started agent and its control socket. */
export interface AgentService {
  agent: Agent;
  server: SocketServer;
}

/**
 * Starts the agent and serves its control API on `socket`.
 *
 * @example
 * ```ts
 * const lease = await LeaseKeeper.open(new LeaseStore(`${stateDir}/lease.json`));
 * const { agent, server } = await startAgentService({ deps, lease, socket, restart: () => exit(0) });
 * ```
 */
export async function startAgentService(
  opts: { deps: AgentDeps; lease: LeaseKeeper; socket: string; restart: () => void },
): Promise<AgentService> {
  const agent = await Agent.start(opts.deps);
  const app = createAgentApp(agent, { restart: opts.restart, lease: opts.lease });
  try {
    return { agent, server: await serveOnSocket(opts.socket, app.fetch) };
  } catch (e) {
    agent.stop();
    throw e;
  }
}
