import assert from "node:assert/strict";
import { LeaseStore } from "./lease_store.ts";

Deno.test("LeaseStore saves atomically (0600) and loads what it saved; none yet is undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new LeaseStore(`${dir}/lease.json`);
    assert.equal(await store.load(), undefined);
    const state = { holder: "alice", token: 3, acquiredAt: 1, expiresAt: 60_001 };
    await store.save(state);
    assert.deepEqual(await store.load(), state);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["lease.json"]);
    assert.equal(Deno.statSync(`${dir}/lease.json`).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LeaseStore refuses an empty, torn or foreign file instead of taking it for a free lease", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/lease.json`;
    const store = new LeaseStore(path);
    for (
      const [text, re] of [
        ["", /lease\.json is not valid JSON \(0 bytes\)/],
        ['{"holder":"alice","tok', /is not valid JSON \(22 bytes\)/],
        ['{"holder":"alice"}', /lease\.json is not a lease state/],
      ] as const
    ) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(
        store.load(),
        (e: unknown) => e instanceof SyntaxError && re.test(e.message),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
