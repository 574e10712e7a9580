import assert from "node:assert/strict";
import { AuditLogError, FileAuditLog, MemoryAuditLog } from "./audit.ts";
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
