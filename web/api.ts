/**
 * The JSON API, mounted at `/api`: everything the page shows, and the operator actions.
 * Reads need a bearer token or a session; actions go through the {@link Gate} (CSRF for
 * sessions, audit around each action).
 *
 * @module
 */
import { Hono } from "hono";
import { ActionError, type ActionPort, type AuditLog, type FleetSnapshot } from "./fleet.ts";
import type { Gate } from "./gate.ts";
import { errorText } from "../routing/errors.ts";
import type { FleetHistory } from "./history.ts";
import type { SessionTable } from "./sessions.ts";

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ROLLOUT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SESSION_ID = /^[0-9a-f]{18}$/;

/** What the API is built from. */
export interface ApiDeps {
  gate: Gate;
  actions: ActionPort;
  audit: AuditLog;
  history: FleetHistory;
  /** The (shared, briefly cached) fleet read. */
  fleetState(): Promise<{ snapshot: FleetSnapshot | null; error: string | null }>;
  /** The dashboard's live browser sessions. */
  sessions: SessionTable;
}

/** Parses the release and batch size of a rollout request; throws ActionError(400) on bad input. */
function rolloutRequest(
  release: string,
  batchRaw: string,
): { release: string; batchSize?: number } {
  // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
  if (release === "" || release.length > 1024 || /[\x00-\x1f\x7f]/.test(release)) {
    throw new ActionError("the release must be 1-1024 printable characters (a path or a version)", {
      status: 400,
    });
  }
  if (batchRaw === "") return { release };
  const n = Number(batchRaw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new ActionError(`the batch size must be a whole number from 1 to 64 (got ${batchRaw})`, {
      status: 400,
    });
  }
  return { release, batchSize: n };
}

/** The `/api` routes. */
export function createApi(d: ApiDeps): Hono {
  const { gate } = d;
  const api = new Hono();
  api.use("*", async (c, next) => {
    if (c.req.method !== "GET") return next();
    const p = await gate.principal(c);
    if (p === "bad-bearer") return gate.unauthorized(c, "the bearer token is not valid");
    if (p === null) return gate.unauthorized(c, "send an operator token or log in");
    return next();
  });

  api.get("/fleet", async (c) => {
    const state = await d.fleetState();
    if (state.snapshot === null) return c.json({ error: state.error }, 503);
    return c.json({ ...state.snapshot, error: state.error });
  });

  api.get("/history", (c) =>
    c.json({
      windowMs: d.history.windowMs,
      intervalMs: d.history.intervalMs,
      nodes: Object.fromEntries(d.history.nodes().map((n) => [n, d.history.series(n)])),
    }));

  api.get("/audit", async (c) => {
    const limit = Math.min(1000, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
    try {
      await gate.flushDenials();
      return c.json({ entries: await d.audit.recent(limit) });
    } catch (err) {
      return c.json({ error: `Cannot read the audit log: ${errorText(err)}` }, 503);
    }
  });

  for (const action of ["drain", "undrain"] as const) {
    api.post(`/nodes/:name/${action}`, async (c) => {
      const name = c.req.param("name");
      const a = await gate.authorize(c, action, name);
      if (a instanceof Response) return a;
      const label = `${action === "drain" ? "Drain" : "Undrain"} of ${name}`;
      return gate.perform(c, a.p, action, name, label, async () => {
        if (!NODE_NAME.test(name)) {
          throw new ActionError(`"${name}" is not a node name (letters, digits, ".", "_", "-")`, {
            status: 400,
          });
        }
        const { snapshot } = await d.fleetState();
        if (snapshot !== null && !snapshot.nodes.some((n) => n.name === name)) {
          throw new ActionError(
            `no node ${name} in the fleet (nodes: ${snapshot.nodes.map((n) => n.name).join(", ")})`,
            { status: 404 },
          );
        }
        await d.actions[action](name, a.p.operator);
        return {
          message: action === "drain"
            ? `${name} is draining: its VIPs are being withdrawn from the router.`
            : `${name} is undrained: its VIPs are announced again.`,
          body: { node: name, action },
        };
      });
    });
  }

  api.post("/rollouts", async (c) => {
    const a = await gate.authorize(c, "rollout.start", "fleet");
    if (a instanceof Response) return a;
    const release = (a.fields["release"] ?? "").trim();
    const batchRaw = (a.fields["batchSize"] ?? "").trim();
    const label = `Rolling upgrade to ${release || "(no release)"}`;
    return gate.perform(c, a.p, "rollout.start", release || "(none)", label, async () => {
      const rollout = await d.actions.startRollout(rolloutRequest(release, batchRaw), a.p.operator);
      return {
        message:
          `Rollout ${rollout.id} of ${rollout.release} started (batch ${rollout.batchSize}).`,
        body: { rollout },
        status: 201,
      };
    });
  });

  api.get("/rollouts/:id", async (c) => {
    const id = c.req.param("id");
    if (!ROLLOUT_ID.test(id)) return c.json({ error: `"${id}" is not a rollout id` }, 400);
    try {
      const rollout = await d.actions.getRollout(id);
      if (rollout === null) return c.json({ error: `No rollout ${id}` }, 404);
      return c.json({ rollout });
    } catch (err) {
      return c.json(
        { error: `Cannot read rollout ${id}: ${errorText(err)}` },
        err instanceof ActionError ? err.status : 502,
      );
    }
  });

  api.post("/rollouts/:id/resume", async (c) => {
    const id = c.req.param("id");
    const a = await gate.authorize(c, "rollout.resume", id);
    if (a instanceof Response) return a;
    return gate.perform(c, a.p, "rollout.resume", id, `Resume of rollout ${id}`, async () => {
      if (!ROLLOUT_ID.test(id)) {
        throw new ActionError(`"${id}" is not a rollout id`, { status: 400 });
      }
      const rollout = await d.actions.resumeRollout(id, a.p.operator);
      return { message: `Rollout ${rollout.id} resumed.`, body: { rollout } };
    });
  });

  api.get("/sessions", async (c) => {
    const p = await gate.principal(c);
    const own = p !== null && p !== "bad-bearer" && p.session
      ? d.sessions.idOf(p.session.sid)
      : null;
    return c.json({ sessions: d.sessions.list().map((s) => ({ ...s, current: s.id === own })) });
  });

  api.post("/sessions/:id/revoke", async (c) => {
    const id = c.req.param("id");
    const a = await gate.authorize(c, "session.revoke", id);
    if (a instanceof Response) return a;
    return gate.perform(c, a.p, "session.revoke", id, `Revocation of session ${id}`, () => {
      if (!SESSION_ID.test(id)) {
        throw new ActionError(`"${id}" is not a session id (18 hex digits)`, { status: 400 });
      }
      const s = d.sessions.revoke(id);
      if (s === null) {
        throw new ActionError(`no live session ${id} (it ended or was revoked)`, {
          status: 404,
        });
      }
      return Promise.resolve({
        message: `The session of ${s.operator} from ${
          s.remote ?? "an unknown address"
        } is revoked: its cookie no longer works.`,
        body: { session: s },
      });
    });
  });

  return api;
}
