import assert from "node:assert/strict";
import { Auth, crossSiteReason, operatorsFromEnv, timingSafeEqual } from "./auth.ts";

const clock = { now: 1_790_000_000_000 };
const make = (token = "alice-token-0123456789") =>
  new Auth({
    operators: [{ name: "alice", token }],
    clock: () => clock.now,
    secret: new Uint8Array(32).fill(1),
  });

Deno.test("Auth refuses no operators, short tokens, bad names and duplicates", () => {
  assert.throws(() => new Auth({ operators: [], clock: Date.now }), /no operator token/);
  assert.throws(
    () => new Auth({ operators: [{ name: "a", token: "short" }], clock: Date.now }),
    /at least 16 characters \(got 5\)/,
  );
  assert.throws(
    () => new Auth({ operators: [{ name: "a b", token: "x".repeat(16) }], clock: Date.now }),
    RangeError,
  );
  assert.throws(
    () =>
      new Auth({
        operators: [{ name: "a", token: "x".repeat(16) }, { name: "a", token: "y".repeat(16) }],
        clock: Date.now,
      }),
    /listed twice/,
  );
});

Deno.test("Auth maps bearer headers to operators", () => {
  const a = make();
  assert.equal(a.operatorForBearer("Bearer alice-token-0123456789"), "alice");
  assert.equal(a.operatorForBearer("bearer   alice-token-0123456789 "), "alice");
  assert.equal(a.operatorForBearer("Bearer alice-token-012345678"), null);
  assert.equal(a.operatorForBearer("Basic alice-token-0123456789"), null);
  assert.equal(a.operatorForBearer(undefined), null);
});

Deno.test("Auth sessions verify, and forged, tampered or expired ones do not", async () => {
  const a = make();
  const cookie = await a.issueSession("alice");
  const s = await a.verifySession(cookie);
  assert.equal(s?.operator, "alice");
  const [body, mac] = cookie.split(".") as [string, string];
  const forged = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/")));
  forged.o = "mallory";
  const forgedBody = btoa(JSON.stringify(forged)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
  assert.equal(await a.verifySession(`${forgedBody}.${mac}`), null);
  assert.equal(await a.verifySession(`${body}.${mac.slice(0, -2)}AA`), null);
  assert.equal(await a.verifySession(`${body}`), null);
  assert.equal(await a.verifySession(`${cookie}.x`), null);
  assert.equal(await make("other-token-0123456789").verifySession(cookie), null, "token rotated");
  clock.now += 12 * 3600_000;
  assert.equal(await a.verifySession(cookie), null, "expired");
});

Deno.test("Auth CSRF tokens are bound to their session", async () => {
  const a = make();
  const s1 = (await a.verifySession(await a.issueSession("alice")))!;
  const s2 = (await a.verifySession(await a.issueSession("alice")))!;
  const t1 = await a.csrfToken(s1);
  assert.equal(await a.verifyCsrf(s1, t1), true);
  assert.equal(await a.verifyCsrf(s2, t1), false);
  assert.equal(await a.verifyCsrf(s1, undefined), false);
  assert.equal(await a.verifyCsrf(s1, ""), false);
});

Deno.test("crossSiteReason() accepts only the request's own origin", () => {
  const req = (headers: Record<string, string>) =>
    new Request("http://127.0.0.1:8080/api/x", { method: "POST", headers });
  assert.equal(crossSiteReason(req({ origin: "http://127.0.0.1:8080" })), null);
  assert.equal(crossSiteReason(req({ referer: "http://127.0.0.1:8080/" })), null);
  assert.equal(
    crossSiteReason(req({ origin: "http://127.0.0.1:8080", "sec-fetch-site": "same-origin" })),
    null,
  );
  assert.match(
    crossSiteReason(req({ origin: "http://localhost:8080" }))!,
    /Origin http:\/\/localhost:8080 is not/,
  );
  assert.match(crossSiteReason(req({ origin: "null" }))!, /Origin null/);
  assert.match(
    crossSiteReason(req({ origin: "http://127.0.0.1:8080", "sec-fetch-site": "same-site" }))!,
    /same-site/,
  );
  assert.match(crossSiteReason(req({ referer: "not a url" }))!, /not a URL/);
  assert.match(crossSiteReason(req({}))!, /neither Origin nor Referer/);
});

Deno.test("timingSafeEqual() compares whole strings", () => {
  assert.equal(timingSafeEqual("abc", "abc"), true);
  assert.equal(timingSafeEqual("abc", "abd"), false);
  assert.equal(timingSafeEqual("abc", "abcd"), false);
  assert.equal(timingSafeEqual("", ""), true);
});

Deno.test("operatorsFromEnv() reads the token and the operator name", () => {
  const env = (vars: Record<string, string>) => (k: string) => vars[k];
  assert.deepEqual(operatorsFromEnv(env({})), []);
  assert.deepEqual(operatorsFromEnv(env({ LVS_DASHBOARD_TOKEN: " t0ken-0123456789abcdef " })), [
    { name: "operator", token: "t0ken-0123456789abcdef" },
  ]);
  assert.deepEqual(
    operatorsFromEnv(
      env({ LVS_DASHBOARD_TOKEN: "t0ken-0123456789abcdef", LVS_DASHBOARD_OPERATOR: "alice" }),
    ),
    [{ name: "alice", token: "t0ken-0123456789abcdef" }],
  );
});
