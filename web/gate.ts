/**
 * The gate every request passes: who is asking (bearer token or session cookie), whether a
 * state-changing request is allowed (same origin and CSRF token for cookie sessions), and the
 * audit trail around each action (`requested` before it runs, then `ok`, `error` or `denied`).
 * Every field recorded is capped in length; anonymous refusals are aggregated per source address
 * and minute (`denials.ts`) instead of being recorded one by one.
 *
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { type Auth, crossSiteReason, type Session } from "./auth.ts";
import { ActionError, type AuditEntry, type AuditLog } from "./fleet.ts";
import { boundedEntry } from "./audit.ts";
import { DenialAggregator } from "./denials.ts";
import { renderResult } from "./page.ts";
import { errorText } from "../routing/errors.ts";

/** Who is making a request and how they proved it. */
export interface Principal {
  operator: string;
  /** `api`: bearer token; `ui`: session cookie. */
  via: "api" | "ui";
  session: Session | null;
}

/** What an action reports when it succeeds. */
export interface ActionOutcome {
  message: string;
  body?: Record<string, unknown>;
  status?: 200 | 201;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = "lvs_session";

/** Authentication, CSRF protection, audit and action counters for one app. */
export class Gate {
  readonly #auth: Auth;
  readonly #audit: AuditLog;
  readonly #clock: () => number;
  readonly #afterAction: () => void;
  readonly #denials: DenialAggregator;
  /** Actions handled, by `action\0result`. */
  readonly counts = new Map<string, number>();

  constructor(
    o: {
      auth: Auth;
      audit: AuditLog;
      clock: () => number;
      afterAction: () => void;
      denials?: DenialAggregator;
    },
  ) {
    this.#auth = o.auth;
    this.#audit = o.audit;
    this.#clock = o.clock;
    this.#afterAction = o.afterAction;
    this.#denials = o.denials ?? new DenialAggregator();
  }

  count(action: string, result: string): void {
    const k = `${action}\u0000${result}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** The caller, `bad-bearer` for a wrong token, or null when the request carries no credential. */
  async principal(c: Context): Promise<Principal | "bad-bearer" | null> {
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const op = this.#auth.operatorForBearer(header);
      return op === null ? "bad-bearer" : { operator: op, via: "api", session: null };
    }
    const session = await this.#auth.verifySession(getCookie(c, SESSION_COOKIE));
    return session === null ? null : { operator: session.operator, via: "ui", session };
  }

  /** 401 with a Bearer challenge. */
  unauthorized(c: Context, why: string): Response {
    c.header("WWW-Authenticate", 'Bearer realm="lvs-dashboard"');
    return c.json({ error: `Authentication required: ${why}` }, 401);
  }

  /** Client address as the server shell passed it (`env.remote`). */
  remote(c: Context): string | undefined {
    return (c.env as { remote?: string } | undefined)?.remote;
  }

  /** The client's address without its port, `unknown` when the shell passed none. */
  source(c: Context): string {
    return this.remote(c)?.replace(/:\d+$/, "") ?? "unknown";
  }

  /** Appends an audit entry stamped with the clock, every field capped in length. */
  async record(entry: Omit<AuditEntry, "time">): Promise<void> {
    await this.flushDenials();
    await this.#audit.append(
      boundedEntry({ time: new Date(this.#clock()).toISOString(), ...entry }),
    );
  }

  /** Records the summaries of anonymous refusals whose minute is over (all with `all`). */
  async flushDenials(all = false): Promise<void> {
    for (const e of this.#denials.due(this.#clock(), all)) {
      await this.#audit.append(boundedEntry(e));
    }
  }

  /** Refuses a request, recording the refusal (a failure to record is logged, not hidden). */
  async deny(
    c: Context,
    action: string,
    target: string,
    who: string,
    status: 401 | 403,
    why: string,
  ): Promise<Response> {
    this.count(action, "denied");
    const r = this.remote(c);
    const via = c.req.header("authorization") === undefined ? "ui" : "api";
    try {
      if (who === "anonymous") {
        const denial = { source: this.source(c), action, target, message: why, via } as const;
        for (const e of this.#denials.note(denial, this.#clock())) {
          await this.#audit.append(boundedEntry(e));
        }
      } else {
        await this.record({
          who,
          action,
          target,
          result: "denied",
          message: why,
          via,
          ...(r ? { remote: r } : {}),
        });
      }
    } catch (err) {
      console.error(`dashboard: cannot record a denied ${action}: ${errorText(err)}`);
    }
    if (status === 401) return this.unauthorized(c, why);
    return c.json({ error: `Refused: ${why}` }, 403);
  }

  /**
   * Authenticates a state-changing request and reads its fields (JSON or form). Cookie sessions
   * must come from the app's own origin and carry the session's CSRF token.
   */
  async authorize(
    c: Context,
    action: string,
    target: string,
  ): Promise<{ p: Principal; fields: Record<string, string> } | Response> {
    const p = await this.principal(c);
    if (p === "bad-bearer") {
      return this.deny(c, action, target, "anonymous", 401, "the bearer token is not valid");
    }
    if (p === null) {
      return this.deny(c, action, target, "anonymous", 401, "send an operator token or log in");
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
        error: `Cannot ${action} ${target}: the request body is not valid (${errorText(err)})`,
      }, 400);
    }
    if (p.via === "ui") {
      const why = crossSiteReason(c.req.raw);
      if (why !== null) {
        return this.deny(c, action, target, p.operator, 403, `cross-site request (${why})`);
      }
      const token = c.req.header("x-csrf-token") ?? fields["_csrf"];
      if (!(await this.#auth.verifyCsrf(p.session!, token))) {
        return this.deny(c, action, target, p.operator, 403, "the CSRF token is missing or wrong");
      }
    }
    return { p, fields };
  }

  /**
   * Runs an action between a `requested` and a final audit entry and answers JSON, or an HTML
   * result page to a form posted without script. An action the audit log cannot record is not run.
   */
  async perform(
    c: Context,
    p: Principal,
    action: string,
    target: string,
    label: string,
    run: () => Promise<ActionOutcome>,
  ): Promise<Response> {
    const r = this.remote(c);
    const base = { who: p.operator, action, target, via: p.via, ...(r ? { remote: r } : {}) };
    const html = p.via === "ui" && !(c.req.header("accept") ?? "").includes("application/json");
    const fail = (status: number, text: string) => {
      this.count(action, "error");
      return html
        ? c.html(renderResult(false, text), status as 400)
        : c.json({ error: text }, status as 400);
    };
    try {
      await this.record({ ...base, result: "requested" });
    } catch (err) {
      return fail(
        503,
        `${label} was not started: the audit log cannot be written (${errorText(err)})`,
      );
    }
    let out: ActionOutcome;
    try {
      out = await run();
    } catch (err) {
      const status = err instanceof ActionError ? err.status : 502;
      const text = `${label} failed: ${errorText(err)}`;
      try {
        await this.record({ ...base, result: "error", message: text });
      } catch (auditErr) {
        return fail(
          status,
          `${text} (and the audit log cannot be written: ${errorText(auditErr)})`,
        );
      }
      return fail(status, text);
    } finally {
      this.#afterAction();
    }
    this.count(action, "ok");
    let text = out.message;
    try {
      await this.record({ ...base, result: "ok", message: out.message });
    } catch (err) {
      text += ` (but the audit log cannot be written: ${errorText(err)})`;
    }
    if (html) return c.html(renderResult(true, text));
    return c.json({ ok: true, message: text, ...out.body }, out.status ?? 200);
  }
}
