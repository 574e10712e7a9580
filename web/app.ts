/**
 * The dashboard as a Hono app, built only from injected dependencies (no global state), so tests
 * drive it with `app.request()` and the orchestrator plugs in its own fleet reader and actions.
 *
 * Routes:
 * - `GET /` the dashboard (session cookie; otherwise a redirect to `/login`), `GET|POST /login`,
 *   `POST /logout`, `GET /assets/app.css`, `GET /assets/app.js`
 * - `GET /events` server-sent events: one `fleet` event per interval with every page region
 * - `GET /api/fleet`, `GET /api/history`, `GET /api/audit`, `POST /api/nodes/{name}/drain`,
 *   `POST /api/nodes/{name}/undrain`, `POST /api/rollouts`, `GET /api/rollouts/{id}`,
 *   `POST /api/rollouts/{id}/resume` — bearer token or session cookie (+ CSRF); 401 otherwise
 * - `GET /metrics` Prometheus text exposition (public unless `metricsPublic: false`)
 *
 * @example
 * ```ts
 * const app = createApp({ reader, actions, audit, operators: [{ name: "ops", token }] });
 * const res = await app.request("/api/fleet", { headers: { authorization: `Bearer ${token}` } });
 * ```
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { APP_CSS, APP_JS } from "./assets.ts";
import { Auth, crossSiteReason, type OperatorToken, type Session } from "./auth.ts";
import type { ActionPort, AuditEntry, AuditLog, FleetReader, FleetSnapshot } from "./fleet.ts";
import { ActionError } from "./fleet.ts";
import { FleetHistory } from "./history.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { renderDashboard, renderLogin, renderResult } from "./page.ts";
import { clockTime, type RegionName, REGIONS, renderRegions } from "./render.ts";
import { type Sleep, sseStream, timerSleep } from "./sse.ts";

/** Everything the dashboard is built from. */
export interface DashboardDeps {
  reader: FleetReader;
  actions: ActionPort;
  audit: AuditLog;
  /** Operators and their tokens (at least one). */
  operators: readonly OperatorToken[];
  /** Epoch milliseconds (default `Date.now`). */
  clock?: () => number;
  /** Time series the page charts; filled by every fleet read (default: 10 minutes at 1 s). */
  history?: FleetHistory;
  /** Key for session cookies and CSRF tokens (default: random per app). */
  sessionSecret?: Uint8Array;
  /** Interval between server-sent events (default 1000 ms). */
  eventIntervalMs?: number;
  /** Timer used between events (default real timers). */
  sleep?: Sleep;
  /** Accepted `Host` values, e.g. `["127.0.0.1:8080", "localhost:8080"]` (default: any). */
  allowedHosts?: readonly string[];
  /** Mark the session cookie `Secure` (default: only when the request is https). */
  secureCookies?: boolean;
  /** Serve `/metrics` without a token (default true, as Prometheus exporters do). */
  metricsPublic?: boolean;
  /** Ends every live stream when aborted (the server is shutting down). */
  shutdownSignal?: AbortSignal;
}

/** Who is making a request and how they proved it. */
interface Principal {
  operator: string;
  via: "api" | "ui";
  session: Session | null;
}

/** The fleet as last read, or why it could not be. */
interface FleetState {
  snapshot: FleetSnapshot | null;
  error: string | null;
  audit: AuditEntry[];
}

const COOKIE = "lvs_session";
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ROLLOUT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Builds the dashboard app. Throws RangeError when no usable operator token is configured. */
export function createApp(deps: DashboardDeps): Hono {
  const clock = deps.clock ?? (() => Date.now());
  const history = deps.history ?? new FleetHistory({ clock });
  const interval = deps.eventIntervalMs ?? 1000;
  const sleep = deps.sleep ?? timerSleep;
  const auth = new Auth({
    operators: deps.operators,
    clock,
    ...(deps.sessionSecret ? { secret: deps.sessionSecret } : {}),
  });
  const counts = new Map<string, number>();
  const loginFailures = new Map<string, number[]>();
  let eventSeq = 0;
  let cache: { at: number; state: Promise<FleetState> } | null = null;

  const count = (action: string, result: string) => {
    const k = `${action}\u0000${result}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };

  /** Reads the fleet and the audit tail; concurrent callers within half an interval share one read. */
  function fleetState(): Promise<FleetState> {
    const now = clock();
    if (cache !== null && now - cache.at < Math.min(500, interval / 2)) return cache.state;
    const state = (async (): Promise<FleetState> => {
      let snapshot: FleetSnapshot | null = null;
      let error: string | null = null;
      try {
        snapshot = await deps.reader.read();
        history.record(snapshot);
      } catch (err) {
        error = `Cannot read the fleet state: ${message(err)}`;
      }
      let audit: AuditEntry[] = [];
      try {
        audit = await deps.audit.recent(10);
      } catch (err) {
        error = [error, `Cannot read the audit log: ${message(err)}`].filter((x) => x).join(" · ");
      }
      return { snapshot, error, audit };
    })();
    cache = { at: now, state };
    return state;
  }

  async function principal(c: Context): Promise<Principal | "bad-bearer" | null> {
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const op = auth.operatorForBearer(header);
      return op === null ? "bad-bearer" : { operator: op, via: "api", session: null };
    }
    const session = await auth.verifySession(getCookie(c, COOKIE));
    return session === null ? null : { operator: session.operator, via: "ui", session };
  }

  const unauthorized = (c: Context, why: string) => {
    c.header("WWW-Authenticate", 'Bearer realm="lvs-dashboard"');
    return c.json({ error: `Authentication required: ${why}` }, 401);
  };

  const remote = (c: Context): string | undefined =>
    (c.env as { remote?: string } | undefined)?.remote;

  async function record(entry: Omit<AuditEntry, "time">): Promise<void> {
    await deps.audit.append({ time: new Date(clock()).toISOString(), ...entry });
  }

  async function deny(
    c: Context,
    action: string,
    target: string,
    who: string,
    status: 401 | 403,
    why: string,
  ) {
    count(action, "denied");
    const r = remote(c);
    try {
      await record({
        who,
        action,
        target,
        result: "denied",
        message: why,
        via: "ui",
        ...(r ? { remote: r } : {}),
      });
    } catch (err) {
      console.error(`dashboard: cannot record a denied ${action}: ${message(err)}`);
    }
    if (status === 401) return unauthorized(c, why);
    return c.json({ error: `Refused: ${why}` }, 403);
  }

  /** Authenticates a state-changing request and reads its fields (form or JSON). */
  async function authorizeAction(
    c: Context,
    action: string,
    target: string,
  ): Promise<{ p: Principal; fields: Record<string, string> } | Response> {
    const p = await principal(c);
    if (p === "bad-bearer") {
      return deny(c, action, target, "anonymous", 401, "the bearer token is not valid");
    }
    if (p === null) {
      return deny(c, action, target, "anonymous", 401, "send an operator token or log in");
    }
    const fields: Record<string, string> = {};
    const type = c.req.header("content-type") ?? "";
    try {
      if (type.includes("application/json")) {
        const body = await c.req.json();
        if (body !== null && typeof body === "object") {
          for (const [k, v] of Object.entries(body)) {
            if (v !== null && v !== undefined) fields[k] = String(v);
          }
        }
      } else if (type.includes("form")) {
        for (const [k, v] of Object.entries(await c.req.parseBody())) {
          if (typeof v === "string") fields[k] = v;
        }
      }
    } catch (err) {
      return c.json({
        error: `Cannot ${action} ${target}: the request body is not valid (${message(err)})`,
      }, 400);
    }
    if (p.via === "ui") {
      const why = crossSiteReason(c.req.raw);
      if (why !== null) {
        return deny(c, action, target, p.operator, 403, `cross-site request (${why})`);
      }
      const token = c.req.header("x-csrf-token") ?? fields["_csrf"];
      if (!(await auth.verifyCsrf(p.session!, token))) {
        return deny(c, action, target, p.operator, 403, "the CSRF token is missing or wrong");
      }
    }
    return { p, fields };
  }

  /** Runs an action between a `requested` and a final audit entry and answers JSON or HTML. */
  async function perform(
    c: Context,
    p: Principal,
    action: string,
    target: string,
    label: string,
    run: () => Promise<{ message: string; body?: Record<string, unknown>; status?: 200 | 201 }>,
  ): Promise<Response> {
    const r = remote(c);
    const base = { who: p.operator, action, target, via: p.via, ...(r ? { remote: r } : {}) };
    const html = p.via === "ui" && !(c.req.header("accept") ?? "").includes("application/json");
    const fail = (status: number, text: string) => {
      count(action, "error");
      return html
        ? c.html(renderResult(false, text), status as 400)
        : c.json({ error: text }, status as 400);
    };
    try {
      await record({ ...base, result: "requested" });
    } catch (err) {
      return fail(
        503,
        `${label} was not started: the audit log cannot be written (${message(err)})`,
      );
    }
    let out: { message: string; body?: Record<string, unknown>; status?: 200 | 201 };
    try {
      out = await run();
    } catch (err) {
      const text = `${label} failed: ${message(err)}`;
      try {
        await record({ ...base, result: "error", message: text });
      } catch (auditErr) {
        return fail(
          err instanceof ActionError ? err.status : 502,
          `${text} (and the audit log cannot be written: ${message(auditErr)})`,
        );
      }
      return fail(err instanceof ActionError ? err.status : 502, text);
    } finally {
      cache = null;
    }
    count(action, "ok");
    let text = out.message;
    try {
      await record({ ...base, result: "ok", message: out.message });
    } catch (err) {
      text += ` (but the audit log cannot be written: ${message(err)})`;
    }
    if (html) return c.html(renderResult(true, text));
    return c.json({ ok: true, message: text, ...out.body }, out.status ?? 200);
  }

  const app = new Hono();

  app.use("*", async (c, next) => {
    const host = new URL(c.req.url).host;
    if (deps.allowedHosts !== undefined && !deps.allowedHosts.includes(host)) {
      return c.text(`Host ${host} is not served here`, 421);
    }
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "same-origin");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });

  app.onError((err, c) => {
    console.error(`dashboard: ${c.req.method} ${c.req.path}: ${err.stack ?? err}`);
    return c.json({ error: `Internal error: ${message(err)}` }, 500);
  });

  app.get("/assets/app.css", (c) => {
    c.header("Cache-Control", "max-age=300");
    return c.body(APP_CSS, 200, { "Content-Type": "text/css; charset=utf-8" });
  });
  app.get("/assets/app.js", (c) => {
    c.header("Cache-Control", "max-age=300");
    return c.body(APP_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });

  app.get("/login", async (c) => {
    if (await auth.verifySession(getCookie(c, COOKIE))) return c.redirect("/", 303);
    return c.html(renderLogin(null));
  });

  app.post("/login", async (c) => {
    const key = remote(c)?.replace(/:\d+$/, "") ?? "unknown";
    const now = clock();
    const recent = (loginFailures.get(key) ?? []).filter((t) => now - t < 60_000);
    loginFailures.set(key, recent);
    const why = crossSiteReason(c.req.raw);
    if (why !== null) {
      await deny(c, "login", "dashboard", "anonymous", 403, `cross-site request (${why})`);
      return c.html(renderLogin(`Refused: cross-site request (${why}).`), 403);
    }
    if (recent.length >= 10) {
      return c.html(renderLogin("Too many failed logins from this address; wait a minute."), 429);
    }
    let token = "";
    try {
      const body = await c.req.parseBody();
      token = typeof body["token"] === "string" ? body["token"].trim() : "";
    } catch (err) {
      return c.html(renderLogin(`The login form could not be read: ${message(err)}`), 400);
    }
    const op = auth.operatorForToken(token);
    if (op === null) {
      recent.push(now);
      await deny(c, "login", "dashboard", "anonymous", 401, "wrong operator token");
      return c.html(renderLogin("That operator token is not valid."), 401);
    }
    setCookie(c, COOKIE, await auth.issueSession(op), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: deps.secureCookies ?? new URL(c.req.url).protocol === "https:",
    });
    count("login", "ok");
    await record({ who: op, action: "login", target: "dashboard", result: "ok", via: "ui" });
    return c.redirect("/", 303);
  });

  app.post("/logout", async (c) => {
    const a = await authorizeAction(c, "logout", "dashboard");
    if (a instanceof Response) return a;
    deleteCookie(c, COOKIE, { path: "/" });
    await record({
      who: a.p.operator,
      action: "logout",
      target: "dashboard",
      result: "ok",
      via: a.p.via,
    });
    return c.redirect("/login", 303);
  });

  app.get("/", async (c) => {
    const session = await auth.verifySession(getCookie(c, COOKIE));
    if (session === null) return c.redirect("/login", 303);
    const state = await fleetState();
    const csrf = await auth.csrfToken(session);
    const regions = renderRegions({ ...state, history, now: clock(), csrf });
    return c.html(renderDashboard({
      cluster: state.snapshot?.cluster ?? "unknown cluster",
      operator: session.operator,
      csrf,
      regions,
      time: clockTime(clock()),
    }));
  });

  app.get("/events", async (c) => {
    const p = await principal(c);
    if (p === null || p === "bad-bearer") return unauthorized(c, "log in to receive live updates");
    const csrf = p.session ? await auth.csrfToken(p.session) : "";
    const sent: Partial<Record<RegionName, string>> = {};
    const stream = sseStream({
      intervalMs: interval,
      sleep,
      // A client that goes away cancels the stream; the server's shutdown ends every stream.
      ...(deps.shutdownSignal ? { signal: deps.shutdownSignal } : {}),
      preamble: "retry: 3000\n\n",
      next: async () => {
        const state = await fleetState();
        const all = renderRegions({ ...state, history, now: clock(), csrf });
        // Only the regions that changed since this client's previous event (all of them first).
        const regions: Partial<typeof all> = {};
        for (const k of REGIONS) if (all[k] !== sent[k]) regions[k] = sent[k] = all[k];
        return {
          id: String(++eventSeq),
          event: "fleet",
          data: JSON.stringify({ time: clockTime(clock()), error: state.error, regions }),
        };
      },
    });
    return new Response(stream, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
      },
    });
  });

  const api = new Hono();
  api.use("*", async (c, next) => {
    if (c.req.method !== "GET") return next();
    const p = await principal(c);
    if (p === "bad-bearer") return unauthorized(c, "the bearer token is not valid");
    if (p === null) return unauthorized(c, "send an operator token or log in");
    return next();
  });

  api.get("/fleet", async (c) => {
    const state = await fleetState();
    if (state.snapshot === null) return c.json({ error: state.error }, 503);
    return c.json({ ...state.snapshot, error: state.error });
  });

  api.get("/history", (c) =>
    c.json({
      windowMs: history.windowMs,
      intervalMs: history.intervalMs,
      nodes: Object.fromEntries(history.nodes().map((n) => [n, history.series(n)])),
    }));

  api.get("/audit", async (c) => {
    const limit = Math.min(1000, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
    try {
      return c.json({ entries: await deps.audit.recent(limit) });
    } catch (err) {
      return c.json({ error: `Cannot read the audit log: ${message(err)}` }, 503);
    }
  });

  for (const action of ["drain", "undrain"] as const) {
    api.post(`/nodes/:name/${action}`, async (c) => {
      const name = c.req.param("name");
      const a = await authorizeAction(c, action, name);
      if (a instanceof Response) return a;
      const label = `${action === "drain" ? "Drain" : "Undrain"} of ${name}`;
      return perform(c, a.p, action, name, label, async () => {
        if (!NODE_NAME.test(name)) {
          throw new ActionError(`"${name}" is not a node name (letters, digits, ".", "_", "-")`, {
            status: 400,
          });
        }
        const { snapshot } = await fleetState();
        if (snapshot !== null && !snapshot.nodes.some((n) => n.name === name)) {
          throw new ActionError(
            `no node ${name} in the fleet (nodes: ${snapshot.nodes.map((n) => n.name).join(", ")})`,
            { status: 404 },
          );
        }
        await deps.actions[action](name, a.p.operator);
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
    const a = await authorizeAction(c, "rollout.start", "fleet");
    if (a instanceof Response) return a;
    const release = (a.fields["release"] ?? "").trim();
    const batchRaw = (a.fields["batchSize"] ?? "").trim();
    return perform(
      c,
      a.p,
      "rollout.start",
      release || "(none)",
      `Rolling upgrade to ${release || "(no release)"}`,
      async () => {
        // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
        if (release === "" || release.length > 1024 || /[\x00-\x1f\x7f]/.test(release)) {
          throw new ActionError(
            "the release must be 1-1024 printable characters (a path or a version)",
            { status: 400 },
          );
        }
        const request: { release: string; batchSize?: number } = { release };
        if (batchRaw !== "") {
          const n = Number(batchRaw);
          if (!Number.isInteger(n) || n < 1 || n > 64) {
            throw new ActionError(
              `the batch size must be a whole number from 1 to 64 (got ${batchRaw})`,
              { status: 400 },
            );
          }
          request.batchSize = n;
        }
        const rollout = await deps.actions.startRollout(request, a.p.operator);
        return {
          message:
            `Rollout ${rollout.id} of ${rollout.release} started (batch ${rollout.batchSize}).`,
          body: { rollout },
          status: 201,
        };
      },
    );
  });

  api.get("/rollouts/:id", async (c) => {
    const id = c.req.param("id");
    if (!ROLLOUT_ID.test(id)) return c.json({ error: `"${id}" is not a rollout id` }, 400);
    try {
      const rollout = await deps.actions.getRollout(id);
      if (rollout === null) return c.json({ error: `No rollout ${id}` }, 404);
      return c.json({ rollout });
    } catch (err) {
      return c.json(
        { error: `Cannot read rollout ${id}: ${message(err)}` },
        err instanceof ActionError ? err.status : 502,
      );
    }
  });

  api.post("/rollouts/:id/resume", async (c) => {
    const id = c.req.param("id");
    const a = await authorizeAction(c, "rollout.resume", id);
    if (a instanceof Response) return a;
    return perform(c, a.p, "rollout.resume", id, `Resume of rollout ${id}`, async () => {
      if (!ROLLOUT_ID.test(id)) {
        throw new ActionError(`"${id}" is not a rollout id`, { status: 400 });
      }
      const rollout = await deps.actions.resumeRollout(id, a.p.operator);
      return { message: `Rollout ${rollout.id} resumed.`, body: { rollout } };
    });
  });

  app.route("/api", api);

  app.get("/metrics", async (c) => {
    if (deps.metricsPublic === false) {
      const p = await principal(c);
      if (p === null || p === "bad-bearer") {
        return unauthorized(c, "metrics need an operator token");
      }
    }
    const state = await fleetState();
    const actions = [...counts].map(([k, n]) => {
      const [action, result] = k.split("\u0000") as [string, string];
      return { action, result, count: n };
    });
    return c.body(
      renderMetrics(state.snapshot, { fleetUp: state.snapshot !== null, actions }),
      200,
      {
        "Content-Type": METRICS_CONTENT_TYPE,
      },
    );
  });

  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
