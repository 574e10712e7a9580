import assert from "node:assert/strict";
import { SessionTable } from "./sessions.ts";

Deno.test("SessionTable: live sessions are found and marked seen; ended, revoked and expired ones are not", () => {
  const clock = { now: 1000 };
  const t = new SessionTable({ clock: () => clock.now });
  const a = t.add({ sid: "sid-a", operator: "alice", expires: 10_000, remote: "192.0.2.5" });
  const b = t.add({ sid: "sid-b", operator: "bob", expires: 5_000 });
  assert.match(a.id, /^[0-9a-f]{18}$/);
  assert.deepEqual(t.list().map((s) => s.operator), ["bob", "alice"]);
  assert.ok(!JSON.stringify(t.list()).includes("sid-"), "the secret id never leaves the table");
  clock.now = 2000;
  assert.equal(t.touch("sid-a")?.lastSeenAt, 2000);
  assert.equal(t.idOf("sid-a"), a.id);
  assert.equal(t.revoke(b.id)?.operator, "bob");
  assert.equal(t.touch("sid-b"), null);
  assert.equal(t.revoke(b.id), null);
  assert.equal(t.end("sid-a"), true);
  assert.equal(t.alive("sid-a"), false);
  t.add({ sid: "sid-c", operator: "carol", expires: 3000 });
  clock.now = 3000;
  assert.equal(t.touch("sid-c"), null, "expired");
  assert.deepEqual(t.list(), []);
});

Deno.test("SessionTable keeps at most its capacity, dropping the oldest", () => {
  const t = new SessionTable({ clock: () => 0, capacity: 2 });
  for (const s of ["s1", "s2", "s3"]) t.add({ sid: s, operator: s, expires: 1000 });
  assert.deepEqual(t.list().map((s) => s.operator), ["s3", "s2"]);
  assert.equal(t.alive("s1"), false);
});
