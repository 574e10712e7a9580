import assert from "node:assert/strict";
import {
  AUDIT_FIELD_LIMITS,
  AuditLogError,
  boundedEntry,
  FileAuditLog,
  MemoryAuditLog,
} from "./audit.ts";
import type { AuditEntry, AuditLog } from "./fleet.ts";

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  time: new Date(1_790_000_000_000 + i * 1000).toISOString(),
  who: i % 2 ? "alice" : "bob",
  action: "drain",
  target: `node${i}`,
  result: "ok",
  via: "api",
  ...extra,
});

/** The conformance suite every AuditLog passes. */
async function conformance(t: Deno.TestContext, make: () => Promise<AuditLog>) {
  await t.step("recent() is newest first and honours the limit", async () => {
    const log = await make();
    for (let i = 1; i <= 5; i++) await log.append(entry(i));
    assert.deepEqual((await log.recent(3)).map((e) => e.target), ["node5", "node4", "node3"]);
    assert.equal((await log.recent(100)).length, 5);
    assert.deepEqual(await log.recent(0), []);
  });
  await t.step(
    "entries come back exactly as appended, text with quotes and newlines included",
    async () => {
      const log = await make();
      const e = entry(1, {
        result: "error",
        message: 'agent said "no"\nsecond line',
        remote: "127.0.0.1:5555",
      });
      await log.append(e);
      assert.deepEqual(await log.recent(1), [e]);
    },
  );
  await t.step("an empty log has no entries", async () => {
    assert.deepEqual(await (await make()).recent(10), []);
  });
}

Deno.test("MemoryAuditLog passes the audit log conformance suite", async (t) => {
  await conformance(t, () => Promise.resolve(new MemoryAuditLog()));
});

Deno.test("FileAuditLog passes the audit log conformance suite", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "h5-audit-" });
  let n = 0;
  try {
    await conformance(t, () => Promise.resolve(new FileAuditLog(`${dir}/audit-${n++}.jsonl`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileAuditLog writes one JSON object per line to a 0600 file and skips a torn line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "h5-audit-" });
  try {
    const path = `${dir}/audit.jsonl`;
    const log = new FileAuditLog(path);
    await log.append(entry(1));
    await log.append(entry(2));
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.length, 3);
    assert.equal(lines[2], "");
    assert.deepEqual(JSON.parse(lines[0]!), entry(1));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await Deno.writeTextFile(path, '{"time":"torn', { append: true });
    await log.append(entry(3));
    assert.deepEqual((await log.recent(10)).map((e) => e.target), ["node3", "node2", "node1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileAuditLog.recent() reads only the tail of a large log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "h5-audit-" });
  try {
    const path = `${dir}/audit.jsonl`;
    const lines = Array.from(
      { length: 3000 },
      (_, i) => JSON.stringify(entry(i, { message: "x".repeat(100) })),
    );
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    const recent = await new FileAuditLog(path).recent(5);
    assert.deepEqual(recent.map((e) => e.target), [
      "node2999",
      "node2998",
      "node2997",
      "node2996",
      "node2995",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileAuditLog reports a file it cannot write with the path and the reason", async () => {
  const log = new FileAuditLog("/nonexistent-h5-dir/audit.jsonl");
  await assert.rejects(() => log.append(entry(1)), (err: unknown) => {
    assert.ok(err instanceof AuditLogError);
    assert.equal(err.name, "AuditLogError");
    assert.equal(err.path, "/nonexistent-h5-dir/audit.jsonl");
    assert.match(err.message, /Cannot append to the audit log \/nonexistent-h5-dir\/audit.jsonl: /);
    assert.ok(err.cause instanceof Deno.errors.NotFound);
    return true;
  });
});

Deno.test("boundedEntry() caps every text field and says how much it cut", () => {
  const e = entry(1, {
    who: "w".repeat(100),
    action: "a".repeat(65),
    target: "t".repeat(2048),
    message: "m".repeat(5000),
    remote: "r".repeat(64),
  });
  const b = boundedEntry(e);
  assert.equal(b.who, `${"w".repeat(64)}… (36 more characters)`);
  assert.equal(b.action, `${"a".repeat(64)}… (1 more characters)`);
  assert.equal(b.target, `${"t".repeat(AUDIT_FIELD_LIMITS.target)}… (1920 more characters)`);
  assert.equal(b.message!.length, AUDIT_FIELD_LIMITS.message + "… (4488 more characters)".length);
  assert.equal(b.remote, e.remote, "a field within its limit is kept as it is");
  assert.deepEqual(boundedEntry(entry(2)), entry(2));
  assert.ok(!("message" in boundedEntry(entry(3))), "absent fields stay absent");
});

Deno.test("FileAuditLog rotates by size, keeps N files, and recent() reads on into the rotated ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "h5-audit-" });
  try {
    const path = `${dir}/audit.jsonl`;
    const log = new FileAuditLog(path, { maxBytes: 2048, keep: 2 });
    const line = JSON.stringify(entry(0, { message: "x".repeat(300) })).length + 1;
    const perFile = Math.floor(2048 / line);
    const total = perFile * 5 + 1;
    for (let i = 0; i < total; i++) await log.append(entry(i, { message: "x".repeat(300) }));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]);
    for (const n of names) assert.ok(Deno.statSync(`${dir}/${n}`).size <= 2048, n);
    const recent = await log.recent(1000);
    assert.equal(recent.length, 2 * perFile + 1, "the current file and the two kept");
    assert.deepEqual(
      recent.map((e) => e.target),
      Array.from({ length: recent.length }, (_, i) => `node${total - 1 - i}`),
      "newest first, without gaps",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileAuditLog refuses nonsense rotation settings", () => {
  assert.throws(() => new FileAuditLog("/x", { maxBytes: 10 }), /at least 1024, got 10/);
  assert.throws(() => new FileAuditLog("/x", { keep: 0 }), /1 to 100 rotated files, got 0/);
});
