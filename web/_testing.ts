/**
 * Test helpers: a dashboard over a {@link MemoryFleet} with a hand-driven clock, and login.
 *
 * @module
 */
import { createApp, type DashboardDeps } from "./app.ts";
import { MemoryAuditLog } from "./audit.ts";
import { MemoryFleet } from "./memory_fleet.ts";

/** The operator token used in tests. */
export const TOKEN = "test-token-0123456789abcdef";
/** The second operator's token. */
export const TOKEN_BOB = "bob-token-abcdef0123456789";
/** Origin of requests made with `app.request("/...")`. */
export const ORIGIN = "http://localhost";

/** A dashboard over an in-memory fleet; `clock.now` is moved by hand (and by `sleep`). */
export function setup(extra: Partial<DashboardDeps> = {}) {
  const clock = { now: 1_790_000_000_000 };
  const fleet = new MemoryFleet({ clock: () => clock.now, drainMs: 2000, stepMs: 1000 });
  const audit = new MemoryAuditLog();
  const app = createApp({
    reader: fleet,
    actions: fleet,
    audit,
    operators: [{ name: "alice", token: TOKEN }, { name: "bob", token: TOKEN_BOB }],
    clock: () => clock.now,
    sleep: (ms) => {
      clock.now += ms;
      return Promise.resolve();
    },
    ...extra,
  });
  return { app, fleet, audit, clock };
}

/** Logs in through the form; returns the cookie header and the page's CSRF token. */
export async function login(
  app: ReturnType<typeof createApp>,
  token = TOKEN,
): Promise<{ cookie: string; csrf: string }> {
  const res = await app.request("/login", {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  const set = res.headers.get("set-cookie") ?? "";
  const cookie = set.split(";")[0]!;
  const page = await (await app.request("/", { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)?.[1];
  if (!csrf) throw new Error("the dashboard page carries no CSRF token");
  return { cookie, csrf };
}

/** Headers of an authenticated API call. */
export function bearer(token = TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
