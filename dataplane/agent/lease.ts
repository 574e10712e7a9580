/**
 * The rollout lease as one agent keeps it, as pure functions over its state: acquire, renew,
 * release and the fencing check every rollout action passes. lvsctl and the dashboard take the
 * lease on a majority of nodes (`cluster/ops/lease.ts`), so two operators on two machines see
 * each other's rollouts; the agent persists the state (`adapters/lease_store.ts`) so that a
 * restart neither frees the lease nor reuses a fencing token.
 *
 * The fencing token grows by one at every acquire and never goes back (a release keeps it), so
 * a holder that was paused past its expiry still carries its old token, and every drain,
 * undrain, apply or restart it sends is refused with 409 naming the current holder.
 *
 * Times are the agent's own clock (epoch milliseconds): a caller asks for a time to live, never
 * for an absolute expiry, so clock skew between the operator's machine and the node is harmless.
 *
 * @example
 * ```ts
 * const { state, grant } = acquireLease(FREE_LEASE, { holder: "lvsctl r1", ttlMs: 60_000 }, Date.now());
 * checkFence(state, String(grant.token), Date.now(), "POST /v1/drain"); // passes
 * ```
 *
 * @module
 */
import { AgentError } from "./agent.ts";

/** The lease on one node. `token` only grows; `holder` is null when nobody holds it. */
export interface LeaseState {
  holder: string | null;
  /** The fencing token of the last acquire (0: never acquired). */
  token: number;
  /** When the holder acquired it (agent clock, epoch ms), null when free. */
  acquiredAt: number | null;
  /** When it expires unless renewed (agent clock, epoch ms), null when free. */
  expiresAt: number | null;
}

/** What `GET /v1/lease` answers: the state, whether it is held now, and the agent's clock. */
export interface LeaseView extends LeaseState {
  held: boolean;
  /** The agent's clock when it answered, so callers can compute what is left without skew. */
  now: number;
}

/** What a successful acquire or renew answers. */
export interface LeaseGrant {
  holder: string;
  token: number;
  ttlMs: number;
  /** Agent clock, epoch ms. */
  expiresAt: number;
}

/** Body of `POST /v1/lease/acquire`. */
export interface LeaseAcquireRequest {
  /** Who takes it, as shown to others: `lvsctl r1 by alice@ops1 pid 42`. */
  holder: string;
  ttlMs: number;
}

/** Body of `POST /v1/lease/renew`. */
export interface LeaseRenewRequest extends LeaseAcquireRequest {
  token: number;
}

/** Body of `POST /v1/lease/release`. */
export interface LeaseReleaseRequest {
  holder: string;
  token: number;
}

/** The state of a node whose lease was never taken. */
export const FREE_LEASE: Readonly<LeaseState> = Object.freeze({
  holder: null,
  token: 0,
  acquiredAt: null,
  expiresAt: null,
});

/** Bounds of a lease's time to live. */
export const LEASE_TTL_MS = { min: 1000, max: 3_600_000 } as const;

/** Longest holder description. */
const MAX_HOLDER_LENGTH = 200;

/** The lease is held by someone else, or a token is stale; `lease` is the current state. */
export class LeaseConflictError extends AgentError {
  override name = "LeaseConflictError";
  constructor(message: string, readonly lease: LeaseView) {
    super(message, 409);
  }
}

/** Whether someone holds the lease at `now`. */
export function leaseHeld(s: LeaseState, now: number): boolean {
  return s.holder !== null && s.expiresAt !== null && s.expiresAt > now;
}

/** The lease as `GET /v1/lease` answers it. */
export function leaseView(s: LeaseState, now: number): LeaseView {
  return { ...s, held: leaseHeld(s, now), now };
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}

/** `"alice" (token 4) for 55 s more` / `"alice" (token 4), expired 3 s ago`. */
export function describeLease(s: LeaseState, now: number): string {
  if (s.holder === null || s.expiresAt === null) {
    return `nobody (free since token ${s.token} was released)`;
  }
  const left = s.expiresAt - now;
  return left > 0
    ? `"${s.holder}" (token ${s.token}) for ${seconds(left)} s more`
    : `"${s.holder}" (token ${s.token}), expired ${seconds(-left)} s ago`;
}

function checkHolder(holder: unknown, what: string): string {
  // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
  if (typeof holder !== "string" || holder === "" || /[\x00-\x1f\x7f]/.test(holder)) {
    throw new AgentError(
      `Cannot ${what}: "holder" must be a non-empty printable string, got ${
        JSON.stringify(holder)
      }`,
      400,
    );
  }
  if (holder.length > MAX_HOLDER_LENGTH) {
    throw new AgentError(
      `Cannot ${what}: "holder" is ${holder.length} characters, at most ${MAX_HOLDER_LENGTH}`,
      400,
    );
  }
  return holder;
}

function checkTtl(ttl: unknown, what: string): number {
  if (
    typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < LEASE_TTL_MS.min ||
    ttl > LEASE_TTL_MS.max
  ) {
    throw new AgentError(
      `Cannot ${what}: "ttlMs" must be a whole number of milliseconds in ` +
        `${LEASE_TTL_MS.min}..${LEASE_TTL_MS.max}, got ${JSON.stringify(ttl)}`,
      400,
    );
  }
  return ttl;
}

function checkToken(token: unknown, what: string): number {
  if (typeof token !== "number" || !Number.isSafeInteger(token) || token < 1) {
    throw new AgentError(
      `Cannot ${what}: "token" must be a positive whole number, got ${JSON.stringify(token)}`,
      400,
    );
  }
  return token;
}

function fields(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AgentError(`Cannot ${what}: the body must be a JSON object`, 400);
  }
  return body as Record<string, unknown>;
}

/**
 * Takes the lease for `holder` when nobody holds it or its holder's time ran out; the new token
 * is the last one plus one. Throws `LeaseConflictError` (409) naming the holder otherwise (even
 * when the holder has the same name: a holder keeps its lease by renewing it with its token),
 * and `AgentError` (400) for a malformed request.
 */
export function acquireLease(
  s: LeaseState,
  body: unknown,
  now: number,
): { state: LeaseState; grant: LeaseGrant } {
  const what = "take the rollout lease";
  const f = fields(body, what);
  const holder = checkHolder(f.holder, what);
  const ttlMs = checkTtl(f.ttlMs, what);
  // Held is held, whoever asks: two runs describing themselves alike must not share it.
  if (leaseHeld(s, now)) {
    throw new LeaseConflictError(
      `Cannot take the rollout lease for "${holder}": it is held by ${describeLease(s, now)}; ` +
        `it can be taken over only once it expires`,
      leaseView(s, now),
    );
  }
  const token = s.token + 1;
  const expiresAt = now + ttlMs;
  return {
    state: { holder, token, acquiredAt: now, expiresAt },
    grant: { holder, token, ttlMs, expiresAt },
  };
}

/**
 * Extends the lease of the holder of `token` by `ttlMs` from now. A token that is not the
 * current one, or a lease that already expired, is refused (409): the caller lost the lease and
 * must acquire it again, with a new token.
 */
export function renewLease(
  s: LeaseState,
  body: unknown,
  now: number,
): { state: LeaseState; grant: LeaseGrant } {
  const what = "renew the rollout lease";
  const f = fields(body, what);
  const holder = checkHolder(f.holder, what);
  const ttlMs = checkTtl(f.ttlMs, what);
  const token = checkToken(f.token, what);
  if (s.token !== token || s.holder !== holder) {
    throw new LeaseConflictError(
      `Cannot renew the rollout lease for "${holder}" with token ${token}: the lease is now held by ` +
        describeLease(s, now),
      leaseView(s, now),
    );
  }
  if (!leaseHeld(s, now)) {
    throw new LeaseConflictError(
      `Cannot renew the rollout lease for "${holder}" with token ${token}: it expired ` +
        `${seconds(now - (s.expiresAt ?? now))} s ago; acquire it again`,
      leaseView(s, now),
    );
  }
  const expiresAt = now + ttlMs;
  return { state: { ...s, expiresAt }, grant: { holder, token, ttlMs, expiresAt } };
}

/**
 * Frees the lease when `token` is the current one (the token is kept, so the next acquire
 * gets a larger one). Releasing a lease one no longer holds changes nothing and is not an
 * error: `released` says which happened.
 */
export function releaseLease(
  s: LeaseState,
  body: unknown,
  _now: number,
): { state: LeaseState; released: boolean } {
  const what = "release the rollout lease";
  const f = fields(body, what);
  const holder = checkHolder(f.holder, what);
  const token = checkToken(f.token, what);
  if (s.token !== token || s.holder !== holder) return { state: s, released: false };
  return {
    state: { holder: null, token: s.token, acquiredAt: null, expiresAt: null },
    released: true,
  };
}

/**
 * The fencing check of a rollout action (`action` as `POST /v1/drain`). `header` is the value
 * of the lease token header: absent for a caller outside any rollout (passes), else it must be
 * the current token of an unexpired lease. Throws `LeaseConflictError` (409) naming the
 * current holder, or `AgentError` (400) for a header that is not a token.
 */
export function checkFence(
  s: LeaseState,
  header: string | undefined,
  now: number,
  action: string,
): void {
  if (header === undefined) return;
  if (!/^[1-9][0-9]{0,15}$/.test(header)) {
    throw new AgentError(
      `Refused ${action}: the lease token header must be a positive whole number, got ${
        JSON.stringify(header.slice(0, 40))
      }`,
      400,
    );
  }
  const token = Number(header);
  if (token !== s.token || s.holder === null) {
    throw new LeaseConflictError(
      `Refused ${action}: lease token ${token} is stale; the rollout lease is held by ` +
        describeLease(s, now),
      leaseView(s, now),
    );
  }
  if (!leaseHeld(s, now)) {
    throw new LeaseConflictError(
      `Refused ${action}: lease token ${token} of "${s.holder}" expired ${
        seconds(now - (s.expiresAt ?? now))
      } s ago; its rollout lost the lease`,
      leaseView(s, now),
    );
  }
}

/** Checks a persisted lease state; throws SyntaxError naming `where` when it is not one. */
export function parseLeaseState(value: unknown, where: string): LeaseState {
  const s = value as Partial<LeaseState> | null;
  const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  const ok = typeof s === "object" && s !== null && num(s.token) && s.token! >= 0 &&
    Number.isInteger(s.token) &&
    (s.holder === null
      ? s.acquiredAt === null && s.expiresAt === null
      : typeof s.holder === "string" && num(s.acquiredAt) && num(s.expiresAt));
  if (!ok) {
    throw new SyntaxError(
      `${where} is not a lease state (holder, token, acquiredAt, expiresAt): ${
        JSON.stringify(value).slice(0, 200)
      }`,
    );
  }
  return {
    holder: s!.holder!,
    token: s!.token!,
    acquiredAt: s!.acquiredAt!,
    expiresAt: s!.expiresAt!,
  };
}
