/**
 * The agent's control API as a Hono app (paths and bodies in `dataplane/agent/api.ts`), built
 * from an {@linkcode Agent} and its {@linkcode LeaseKeeper}. `main.ts` serves it on a root-only
 * Unix socket.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { AGENT_PATHS, FENCED_PATHS, LEASE_TOKEN_HEADER } from "../api.ts";
import { type Agent, type AgentConfig, AgentError } from "../agent.ts";
import { LeaseConflictError } from "../lease.ts";
import type { LeaseKeeper } from "../lease_keeper.ts";

/** Options of the control app. */
export interface AgentAppOptions {
  /** Called by POST /v1/restart after the answer is sent (the process exits; systemd or the lab restarts it). */
  restart: () => void;
  /** The node's rollout lease: its calls, and the fencing of apply, drain, undrain and restart. */
  lease: LeaseKeeper;
}

/** The JSON body of a request; AgentError(400) naming `what` when it is not JSON. */
async function jsonBody<T>(c: Context, what: string): Promise<T> {
  try {
    return await c.req.json<T>();
  } catch (e) {
    throw new AgentError(`Cannot ${what}: the body is not JSON`, 400, { cause: e });
  }
}

/** Builds the control app. */
export function createAgentApp(agent: Agent, opts: AgentAppOptions): Hono {
  const { lease } = opts;
  const app = new Hono();
  app.onError((e, c) => {
    if (e instanceof LeaseConflictError) return c.json({ error: e.message, lease: e.lease }, 409);
    const status = e instanceof AgentError ? e.status : 500;
    return c.json({ error: e.message }, status);
  });
  for (const path of FENCED_PATHS) {
    app.use(path, async (c, next) => {
      lease.fence(c.req.header(LEASE_TOKEN_HEADER), `${c.req.method} ${c.req.path}`);
      await next();
    });
  }
  app.get(AGENT_PATHS.status, async (c) => {
    const status = await agent.status();
    try {
      status.lease = lease.view();
    } catch {
      // An unreadable lease file: the lease calls say so; the status still answers.
    }
    return c.json(status);
  });
  app.get(AGENT_PATHS.config, (c) => {
    const config = agent.currentConfig();
    return config ? c.json(config) : c.json({ error: "No configuration applied yet" }, 404);
  });
  app.post(AGENT_PATHS.apply, async (c) => {
    const body = await jsonBody<AgentConfig>(c, "apply configuration");
    return c.json(await agent.apply(body));
  });
  app.post(AGENT_PATHS.drain, async (c) => c.json(await agent.drain()));
  app.post(AGENT_PATHS.undrain, async (c) => c.json(await agent.undrain()));
  app.post(AGENT_PATHS.handover, async (c) => c.json(await agent.handOver()));
  app.post(AGENT_PATHS.restart, (c) => {
    setTimeout(opts.restart, 50);
    return c.json({ restarting: true });
  });
  app.get(AGENT_PATHS.lease, (c) => c.json(lease.view()));
  app.post(AGENT_PATHS.leaseAcquire, async (c) => {
    return c.json(await lease.acquire(await jsonBody(c, "take the rollout lease")));
  });
  app.post(AGENT_PATHS.leaseRenew, async (c) => {
    return c.json(await lease.renew(await jsonBody(c, "renew the rollout lease")));
  });
  app.post(AGENT_PATHS.leaseRelease, async (c) => {
    return c.json(await lease.release(await jsonBody(c, "release the rollout lease")));
  });
  app.notFound((c) => c.json({ error: `No such agent call: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
