/**
 * Operator authentication and cross-site request protection.
 *
 * - API clients send `Authorization: Bearer <token>`; browsers never add that header on their own,
 *   so bearer requests need no CSRF token.
 * - The browser logs in once with the token; the dashboard answers with a signed session cookie
 *   (`HttpOnly; SameSite=Strict`). Every state-changing request authenticated by that cookie must
 *   come from the dashboard's own origin (Origin or Referer equals the request's origin,
 *   `Sec-Fetch-Site` is not cross-site) and carry the session's CSRF token (form field `_csrf` or
 *   header `X-CSRF-Token`).
 *
 * Session cookies are signed: HMAC-SHA256 over (operator, token fingerprint, session id, expiry),
 * keyed with a per-process secret. A cookie is honoured only while its session is in the
 * server-side {@link SessionTable}: logging out or revoking a session ends it at once, also for a
 * copied cookie. Rotating an operator's token ends that operator's sessions.
 *
 * @example
 * ```ts
 * const auth = new Auth({ operators: [{ name: "alice", token }], clock: Date.now });
 * const cookie = await auth.issueSession("alice");
 * (await auth.verifySession(cookie))?.operator; // "alice"
 * ```
 *
 * @module
 */

import { SessionTable } from "./sessions.ts";

/** An operator allowed to act, with the token that proves it. */
export interface OperatorToken {
  name: string;
  /** At least 16 characters. */
  token: string;
}

/** A verified browser session. */
export interface Session {
  operator: string;
  /** Random session id; the CSRF token is derived from it. */
  sid: string;
  /** Expiry, epoch milliseconds. */
  expires: number;
}

/** Options of {@link Auth}. */
export interface AuthOptions {
  operators: readonly OperatorToken[];
  /** HMAC key for sessions and CSRF tokens; random when absent (sessions end with the process). */
  secret?: Uint8Array;
  clock: () => number;
  /** Session lifetime (default 12 hours). */
  sessionTtlMs?: number;
  /** The live sessions (default: a new table on the same clock). */
  sessions?: SessionTable;
}

/** Minimum operator token length. */
const MIN_TOKEN_LENGTH = 16;

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Checks bearer tokens, signs and verifies session cookies, derives CSRF tokens. */
export class Auth {
  readonly #operators: readonly OperatorToken[];
  readonly #clock: () => number;
  readonly #ttl: number;
  readonly #key: Promise<CryptoKey>;
  /** The live sessions: a cookie whose session is not here is not honoured. */
  readonly sessions: SessionTable;

  constructor(options: AuthOptions) {
    if (options.operators.length === 0) {
      throw new RangeError("Cannot start the dashboard: no operator token is configured");
    }
    const seen = new Set<string>();
    for (const op of options.operators) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(op.name)) {
        throw new RangeError(
          `Cannot accept operator "${op.name}": names are 1-64 letters, digits, ".", "_", "@", "-"`,
        );
      }
      if (op.token.length < MIN_TOKEN_LENGTH) {
        throw new RangeError(
          `Cannot accept the token of operator ${op.name}: it must be at least ${MIN_TOKEN_LENGTH} characters (got ${op.token.length})`,
        );
      }
      if (seen.has(op.name)) throw new RangeError(`Operator ${op.name} is listed twice`);
      seen.add(op.name);
    }
    this.#operators = options.operators;
    this.#clock = options.clock;
    this.#ttl = options.sessionTtlMs ?? 12 * 3600_000;
    this.sessions = options.sessions ?? new SessionTable({ clock: options.clock });
    const secret = options.secret ?? crypto.getRandomValues(new Uint8Array(32));
    this.#key = crypto.subtle.importKey(
      "raw",
      secret as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  /** The operator whose token this is, or null. Checks every token (no early exit). */
  operatorForToken(token: string): string | null {
    let found: string | null = null;
    for (const op of this.#operators) {
      if (timingSafeEqual(op.token, token) && found === null) found = op.name;
    }
    return found;
  }

  /** The operator named by an `Authorization: Bearer` header, or null. */
  operatorForBearer(header: string | undefined): string | null {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? "");
    return m ? this.operatorForToken(m[1]!) : null;
  }

  async #mac(text: string): Promise<string> {
    const sig = await crypto.subtle.sign("HMAC", await this.#key, enc.encode(text));
    return b64url(new Uint8Array(sig));
  }

  async #fingerprint(operator: string): Promise<string> {
    const op = this.#operators.find((o) => o.name === operator);
    return op ? (await this.#mac(`fp:${op.name}:${op.token}`)).slice(0, 16) : "";
  }

  /** A new signed session cookie value for the operator, recorded in the session table. */
  async issueSession(operator: string, remote?: string): Promise<string> {
    const sid = b64url(crypto.getRandomValues(new Uint8Array(16)));
    const expires = this.#clock() + this.#ttl;
    const body = b64url(enc.encode(JSON.stringify({
      o: operator,
      f: await this.#fingerprint(operator),
      s: sid,
      e: expires,
    })));
    const cookie = `${body}.${await this.#mac(`session:${body}`)}`;
    this.sessions.add({ sid, operator, expires, remote: remote ?? null });
    return cookie;
  }

  /**
   * The session in a cookie value, or null when forged, expired, logged out or revoked, or its
   * token was rotated.
   */
  async verifySession(cookie: string | undefined): Promise<Session | null> {
    if (!cookie) return null;
    const [body, mac, extra] = cookie.split(".");
    if (body === undefined || mac === undefined || extra !== undefined) return null;
    if (!timingSafeEqual(await this.#mac(`session:${body}`), mac)) return null;
    const raw = fromB64url(body);
    if (raw === null) return null;
    let p: { o?: unknown; f?: unknown; s?: unknown; e?: unknown };
    try {
      p = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      return null;
    }
    if (typeof p.o !== "string" || typeof p.s !== "string" || typeof p.e !== "number") return null;
    if (p.e <= this.#clock()) return null;
    if (p.f !== await this.#fingerprint(p.o) || p.f === "") return null;
    if (this.sessions.touch(p.s) === null) return null;
    return { operator: p.o, sid: p.s, expires: p.e };
  }

  /** The CSRF token bound to a session. */
  csrfToken(session: Session): Promise<string> {
    return this.#mac(`csrf:${session.sid}`);
  }

  /** True when the token is the session's CSRF token. */
  async verifyCsrf(session: Session, token: string | undefined): Promise<boolean> {
    if (!token) return false;
    return timingSafeEqual(await this.csrfToken(session), token);
  }
}

/**
 * Checks that a state-changing browser request comes from the dashboard's own origin: its Origin
 * header (or, without one, its Referer) must equal the origin of the request URL, and
 * `Sec-Fetch-Site`, when sent, must not say `cross-site` or `same-site`. Returns null when it
 * does, else the reason for refusing.
 */
export function crossSiteReason(req: Request): string | null {
  const own = new URL(req.url).origin;
  const site = req.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return `Sec-Fetch-Site is ${site}`;
  }
  const origin = req.headers.get("origin");
  if (origin !== null) {
    return origin === own ? null : `Origin ${origin} is not ${own}`;
  }
  const referer = req.headers.get("referer");
  if (referer !== null) {
    let from: string;
    try {
      from = new URL(referer).origin;
    } catch {
      return `Referer ${referer} is not a URL`;
    }
    return from === own ? null : `Referer origin ${from} is not ${own}`;
  }
  return "neither Origin nor Referer was sent";
}

/**
 * Operators from the environment: `LVS_DASHBOARD_TOKEN` (at least 16 characters), named by
 * `LVS_DASHBOARD_OPERATOR` (default `operator`). Empty when the token is not set.
 *
 * @example
 * ```ts
 * operatorsFromEnv((k) => Deno.env.get(k)); // [{ name: "operator", token: "..." }]
 * ```
 */
export function operatorsFromEnv(get: (name: string) => string | undefined): OperatorToken[] {
  const token = get("LVS_DASHBOARD_TOKEN")?.trim();
  if (!token) return [];
  return [{ name: get("LVS_DASHBOARD_OPERATOR")?.trim() || "operator", token }];
}
