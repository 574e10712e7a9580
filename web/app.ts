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
 *   `POST /api/rollouts/{id}/resume`, `GET /api/sessions`, `POST /api/sessions/{id}/revoke` —
 *   bearer token or session cookie (+ CSRF); 401 otherwise
 *
 * - `GET /metrics` Prometheus text exposition (public unless `metricsPublic: false`)
 *
 * Sessions are kept server-side (`sessions.ts`): logout and revocation end a session at once,
 * also its live stream. Anonymous refusals reach the audit log aggregated per address and minute.
 * Every route reads the fleet through one {@link FleetCache}; {@link createDashboard} returns it
 * beside the app, so the server's sampler shares those reads.
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
import { createApi } from "./api.ts";
import { APP_CSS, APP_JS, FAVICON_SVG } from "./assets.ts";
import { Auth, crossSiteReason, type OperatorToken } from "./auth.ts";
import type { ActionPort, AuditLog, FleetReader } from "./fleet.ts";
import { FleetCache, type FleetState } from "./fleet_cache.ts";
import { Gate, SESSION_COOKIE } from "./gate.ts";
import { FleetHistory } from "./history.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { renderDashboard, renderLogin } from "./page.ts";
import { clockTime, type RegionName, REGIONS, renderRegions } from "./render.ts";
import { type Sleep, sseStream, timerSleep } from "./sse.ts";
import { errorText } from "../routing/errors.ts";

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

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The dashboard: its app and the fleet cache the app reads through. */
export interface Dashboard {
  app: Hono;
  /** The one shared fleet read; the server's sampler reads through it too. */
  fleet: FleetCache;
}

/** What the route stages share, built once per app from its dependencies. */
interface Parts {
  deps: DashboardDeps;
  clock: () => number;
  history: FleetHistory;
  /** Interval between server-sent events. */
  interval: number;
  sleep: Sleep;
  auth: Auth;
  gate: Gate;
  fleet: FleetCache;
}

/** Builds the dashboard app. Throws RangeError when no usable operator token is configured. */
export function createApp(deps: DashboardDeps): Hono {
  return createDashboard(deps).app;
}

/** Builds the dashboard app and its fleet cache (see {@link createApp}). */
export function createDashboard(deps: DashboardDeps): Dashboard {
  const parts = dashboardParts(deps);
  const app = new Hono();
  guardRoutes(app, deps);
  assetRoutes(app);
  loginRoutes(app, parts);
  logoutRoute(app, parts);
  pageRoute(app, parts);
  eventRoute(app, parts);
  app.route(
    "/api",
    createApi({
      gate: parts.gate,
      actions: deps.actions,
      audit: deps.audit,
      history: parts.history,
      fleetState: () => parts.fleet.read(),
      sessions: parts.auth.sessions,
    }),
  );
  metricsRoute(app, parts);
  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));
  return { app, fleet: parts.fleet };
}

/** Defaults, authentication, the gate and the fleet cache, wired to each other. */
function dashboardParts(deps: DashboardDeps): Parts {
  const clock = deps.clock ?? (() => Date.now());
  const history = deps.history ?? new FleetHistory({ clock });
  const interval = deps.eventIntervalMs ?? 1000;
  const auth = new Auth({
    operators: deps.operators,
    clock,
    ...(deps.sessionSecret ? { secret: deps.sessionSecret } : {}),
  });
  // Concurrent callers within half an event interval (at most 500 ms) share one read.
  const fleet: FleetCache = new FleetCache({
    reader: deps.reader,
    audit: deps.audit,
    history,
    clock,
    ttlMs: Math.min(500, interval / 2),
    beforeAudit: () => gate.flushDenials(),
  });
  const gate = new Gate({ auth, audit: deps.audit, clock, afterAction: () => fleet.forget() });
  // Summaries still counting when the server stops are recorded then.
  deps.shutdownSignal?.addEventListener("abort", () => {
    gate.flushDenials(true).catch((err) =>
      console.error(`dashboard: cannot record refused requests: ${errorText(err)}`)
    );
  }, { once: true });
  return { deps, clock, history, interval, sleep: deps.sleep ?? timerSleep, auth, gate, fleet };
}

/** Refuses other Host names, sets the security headers, and answers errors as JSON. */
function guardRoutes(app: Hono, deps: DashboardDeps): void {
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
    return c.json({ error: `Internal error: ${errorText(err)}` }, 500);
  });
}

/** The stylesheet, the script and the icon. */
function assetRoutes(app: Hono): void {
  app.get("/assets/app.css", (c) => {
    c.header("Cache-Control", "max-age=300");
    return c.body(APP_CSS, 200, { "Content-Type": "text/css; charset=utf-8" });
  });
  app.get("/assets/app.js", (c) => {
    c.header("Cache-Control", "max-age=300");
    return c.body(APP_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });

  app.get("/favicon.ico", (c) => {
    c.header("Cache-Control", "max-age=86400");
    return c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml" });
  });
}

/** The login form and its answer, with a lockout after ten failures a minute from one address. */
function loginRoutes(app: Hono, p: Parts): void {
  const { auth, gate, clock } = p;
  const loginFailures = new Map<string, number[]>();

  app.get("/login", async (c) => {
    if (await auth.verifySession(getCookie(c, SESSION_COOKIE))) return c.redirect("/", 303);
    return c.html(renderLogin(null));
  });

  app.post("/login", async (c) => {
    const key = gate.remote(c)?.replace(/:\d+$/, "") ?? "unknown";
    const now = clock();
    const recent = (loginFailures.get(key) ?? []).filter((t) => now - t < 60_000);
    if (recent.length === 0) loginFailures.delete(key);
    else loginFailures.set(key, recent);
    const why = crossSiteReason(c.req.raw);
    if (why !== null) {
      await gate.deny(c, "login", "dashboard", "anonymous", 403, `cross-site request (${why})`);
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
      return c.html(renderLogin(`The login form could not be read: ${errorText(err)}`), 400);
    }
    const op = auth.operatorForToken(token);
    if (op === null) {
      loginFailures.set(key, [...recent, now]);
      await gate.deny(c, "login", "dashboard", "anonymous", 401, "wrong operator token");
      return c.html(renderLogin("That operator token is not valid."), 401);
    }
    return await startSession(c, p, op);
  });
}

/** Records the login, then sets the session cookie (no audit line, no session). */
async function startSession(c: Context, p: Parts, op: string): Promise<Response> {
  const { auth, gate, deps } = p;
  try {
    await gate.record({ who: op, action: "login", target: "dashboard", result: "ok", via: "ui" });
  } catch (err) {
    // Every session starts with an audit line; without the log there is no session.
    return c.html(
      renderLogin(`Cannot log in: the audit log cannot be written (${errorText(err)}).`),
      503,
    );
  }
  gate.count("login", "ok");
  const from = gate.remote(c) === undefined ? undefined : gate.source(c);
  setCookie(c, SESSION_COOKIE, await auth.issueSession(op, from), {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    secure: deps.secureCookies ?? new URL(c.req.url).protocol === "https:",
  });
  return c.redirect("/", 303);
}

/** `POST /logout`: ends the session on the server and records it. */
function logoutRoute(app: Hono, p: Parts): void {
  const { auth, gate } = p;
  app.post("/logout", async (c) => {
    const a = await gate.authorize(c, "logout", "dashboard");
    if (a instanceof Response) return a;
    // The session ends on the server: a copy of the cookie stops working too.
    if (a.p.session) auth.sessions.end(a.p.session.sid);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    await gate.record({
      who: a.p.operator,
      action: "logout",
      target: "dashboard",
      result: "ok",
      via: a.p.via,
    }).catch((err) => console.error(`dashboard: cannot record a logout: ${errorText(err)}`));
    return c.redirect("/login", 303);
  });
}

/** Every page region, rendered from one fleet read for one viewer. */
function regionsFor(p: Parts, state: FleetState, csrf: string, sid: string | null) {
  return renderRegions({
    ...state,
    history: p.history,
    now: p.clock(),
    csrf,
    sessions: p.auth.sessions.list(),
    currentSession: sid === null ? null : p.auth.sessions.idOf(sid),
  });
}

/** `GET /`: the dashboard page for a session, else a redirect to the login. */
function pageRoute(app: Hono, p: Parts): void {
  const { auth, clock } = p;
  app.get("/", async (c) => {
    const session = await auth.verifySession(getCookie(c, SESSION_COOKIE));
    if (session === null) return c.redirect("/login", 303);
    const state = await p.fleet.read();
    const csrf = await auth.csrfToken(session);
    return c.html(renderDashboard({
      cluster: state.snapshot?.cluster ?? "unknown cluster",
      operator: session.operator,
      csrf,
      regions: regionsFor(p, state, csrf, session.sid),
      time: clockTime(clock()),
    }));
  });
}

/** `GET /events`: the page regions that changed, one event per interval, until the session ends. */
function eventRoute(app: Hono, p: Parts): void {
  const { auth, gate, clock, deps } = p;
  let eventSeq = 0;
  app.get("/events", async (c) => {
    const who = await gate.principal(c);
    if (who === null || who === "bad-bearer") {
      return gate.unauthorized(c, "log in to receive live updates");
    }
    const csrf = who.session ? await auth.csrfToken(who.session) : "";
    const sid = who.session?.sid ?? null;
    const sent: Partial<Record<RegionName, string>> = {};
    // A revoked or logged-out session's stream ends; so does every stream at shutdown.
    const ended = new AbortController();
    const signal = deps.shutdownSignal
      ? AbortSignal.any([deps.shutdownSignal, ended.signal])
      : ended.signal;
    const stream = sseStream({
      intervalMs: p.interval,
      sleep: p.sleep,
      signal,
      preamble: "retry: 3000\n\n",
      next: async () => {
        if (sid !== null && !auth.sessions.alive(sid)) {
          ended.abort();
          return { event: "ended", data: "the session ended (logged out or revoked)" };
        }
        const state = await p.fleet.read();
        const all = regionsFor(p, state, csrf, sid);
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
}

/** `GET /metrics`: the fleet and the dashboard's action counters (a token unless public). */
function metricsRoute(app: Hono, p: Parts): void {
  const { gate } = p;
  app.get("/metrics", async (c) => {
    if (p.deps.metricsPublic === false) {
      const who = await gate.principal(c);
      if (who === null || who === "bad-bearer") {
        return gate.unauthorized(c, "metrics need an operator token");
      }
    }
    const state = await p.fleet.read();
    const actions = [...gate.counts].map(([k, n]) => {
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
}
