/**
 * The agent's control API as a Hono app (paths and bodies in `dataplane/agent/api.ts`), built
 * from an {@linkcode Agent}. `main.ts` serves it on a root-only Unix socket.
 *
 * @module
 */
import { Hono } from "hono";
import { AGENT_PATHS } from "../api.ts";
import { type Agent, type AgentConfig, AgentError } from "../agent.ts";

/** Options of the control app. */
export interface AgentAppOptions {
  /** Called by POST /v1/restart after the answer is sent (the process exits; systemd or the lab restarts it). */
  restart: () => void;
}

/** Builds the control app. */
export function createAgentApp(agent: Agent, opts: AgentAppOptions): Hono {
  const app = new Hono();
  app.onError((e, c) => {
    const status = e instanceof AgentError ? e.status : 500;
    return c.json({ error: e.message }, status);
  });
  app.get(AGENT_PATHS.status, async (c) => c.json(await agent.status()));
  app.get(AGENT_PATHS.config, (c) => {
    const config = agent.currentConfig();
    return config ? c.json(config) : c.json({ error: "No configuration applied yet" }, 404);
  });
  app.post(AGENT_PATHS.apply, async (c) => {
    let body: AgentConfig;
    try {
      body = await c.req.json<AgentConfig>();
    } catch (e) {
      throw new AgentError(`Cannot apply configuration: the body is not JSON`, 400, { cause: e });
    }
    return c.json(await agent.apply(body));
  });
  app.post(AGENT_PATHS.drain, async (c) => c.json(await agent.drain()));
  app.post(AGENT_PATHS.undrain, async (c) => c.json(await agent.undrain()));
  app.post(AGENT_PATHS.restart, (c) => {
    setTimeout(opts.restart, 50);
    return c.json({ restarting: true });
  });
  app.notFound((c) => c.json({ error: `No such agent call: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
