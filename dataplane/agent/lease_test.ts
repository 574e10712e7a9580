import assert from "node:assert/strict";
import {
  acquireLease,
  checkFence,
  FREE_LEASE,
  LeaseConflictError,
  type LeaseState,
  parseLeaseState,
  releaseLease,
  renewLease,
} from "./lease.ts";
import { AgentError } from "./agent.ts";

const T0 = 1_800_000_000_000;
const take = (s: LeaseState, holder: string, now: number, ttlMs = 60_000) =>
  acquireLease(s, { holder, ttlMs }, now);

Deno.test("acquireLease() grants a free lease with token 1 and refuses a second holder, naming the first", () => {
  const a = take(FREE_LEASE, "alice", T0);
  assert.deepEqual(a.grant, { holder: "alice", token: 1, ttlMs: 60_000, expiresAt: T0 + 60_000 });
  assert.throws(() => take(a.state, "bob", T0 + 59_000), (e: unknown) => {
    assert.ok(e instanceof LeaseConflictError);
    assert.equal(e.status, 409);
    assert.match(e.message, /held by "alice" \(token 1\) for 1 s more/);
    assert.equal(e.lease.holder, "alice");
    assert.equal(e.lease.held, true);
    return true;
  });
});

Deno.test("acquireLease() takes an expired lease over with a larger token; the token never goes back", () => {
  const a = take(FREE_LEASE, "alice", T0);
  const b = take(a.state, "bob", T0 + 60_000); // expired exactly now
  assert.equal(b.grant.token, 2);
  const released = releaseLease(b.state, { holder: "bob", token: 2 }, T0 + 61_000);
  assert.equal(released.released, true);
  assert.equal(released.state.holder, null);
  assert.equal(released.state.token, 2);
  assert.equal(take(released.state, "carol", T0 + 62_000).grant.token, 3);
  // A run that calls itself "alice" too does not share alice's lease.
  assert.throws(() => take(a.state, "alice", T0 + 1000), /held by "alice" \(token 1\)/);
});

Deno.test("renewLease() extends the current token and refuses a stale or expired one", () => {
  const a = take(FREE_LEASE, "alice", T0);
  const r = renewLease(a.state, { holder: "alice", token: 1, ttlMs: 60_000 }, T0 + 50_000);
  assert.equal(r.state.expiresAt, T0 + 110_000);
  assert.throws(
    () => renewLease(a.state, { holder: "alice", token: 1, ttlMs: 60_000 }, T0 + 60_001),
    /expired 0 s ago; acquire it again/,
  );
  const b = take(a.state, "bob", T0 + 70_000);
  assert.throws(
    () => renewLease(b.state, { holder: "alice", token: 1, ttlMs: 60_000 }, T0 + 70_001),
    (e: unknown) =>
      e instanceof LeaseConflictError &&
      /now held by "bob" \(token 2\) for 60 s more/.test(e.message),
  );
});

Deno.test("releaseLease() of a lease one no longer holds changes nothing", () => {
  const b = take(take(FREE_LEASE, "alice", T0).state, "bob", T0 + 61_000);
  const r = releaseLease(b.state, { holder: "alice", token: 1 }, T0 + 62_000);
  assert.equal(r.released, false);
  assert.equal(r.state, b.state);
});

Deno.test("checkFence() passes the current token and callers without one; refuses stale, expired and malformed tokens", () => {
  const a = take(FREE_LEASE, "alice", T0);
  checkFence(a.state, "1", T0 + 1, "POST /v1/drain");
  checkFence(a.state, undefined, T0 + 1, "POST /v1/drain");
  assert.throws(
    () => checkFence(a.state, "1", T0 + 60_000, "POST /v1/undrain"),
    /Refused POST \/v1\/undrain: lease token 1 of "alice" expired 0 s ago; its rollout lost the lease/,
  );
  const b = take(a.state, "bob", T0 + 90_000);
  assert.throws(
    () => checkFence(b.state, "1", T0 + 90_000, "POST /v1/restart"),
    (e: unknown) =>
      e instanceof LeaseConflictError && e.status === 409 &&
      /Refused POST \/v1\/restart: lease token 1 is stale; the rollout lease is held by "bob" \(token 2\)/
        .test(e.message),
  );
  const freed = releaseLease(b.state, { holder: "bob", token: 2 }, T0 + 91_000).state;
  assert.throws(() => checkFence(freed, "2", T0 + 91_000, "POST /v1/apply"), /held by nobody/);
  for (const bad of ["0", "-1", "1.5", "x", "", "99999999999999999"]) {
    assert.throws(
      () => checkFence(b.state, bad, T0, "POST /v1/drain"),
      (e: unknown) => e instanceof AgentError && e.status === 400,
      bad,
    );
  }
});

Deno.test("lease requests are validated: holder, ttlMs and token, with the value in the message", () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /body must be a JSON object/],
    [{ holder: "", ttlMs: 60_000 }, /"holder" must be a non-empty printable string, got ""/],
    [{ holder: "a\nb", ttlMs: 60_000 }, /"holder" must be a non-empty printable string/],
    [{ holder: "x".repeat(201), ttlMs: 60_000 }, /"holder" is 201 characters, at most 200/],
    [{ holder: "a", ttlMs: 10 }, /"ttlMs" must be .* in 1000\.\.3600000, got 10/],
    [{ holder: "a", ttlMs: "60000" }, /got "60000"/],
  ];
  for (const [body, re] of cases) {
    assert.throws(() => acquireLease(FREE_LEASE, body, T0), (e: unknown) => {
      assert.ok(e instanceof AgentError);
      assert.equal(e.status, 400);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(
    () => renewLease(FREE_LEASE, { holder: "a", ttlMs: 60_000, token: 0 }, T0),
    /"token" must be a positive whole number, got 0/,
  );
});

Deno.test("parseLeaseState() accepts saved states and refuses anything else, naming the file", () => {
  const held = take(FREE_LEASE, "alice", T0).state;
  assert.deepEqual(parseLeaseState(JSON.parse(JSON.stringify(held)), "f"), held);
  assert.deepEqual(parseLeaseState({ ...FREE_LEASE, token: 7 }, "f"), { ...FREE_LEASE, token: 7 });
  for (const bad of [null, {}, { ...held, token: -1 }, { ...held, expiresAt: null }, "x"]) {
    assert.throws(
      () => parseLeaseState(bad, "/s/lease.json"),
      /\/s\/lease\.json is not a lease state/,
    );
  }
});
