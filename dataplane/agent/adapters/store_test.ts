import assert from "node:assert/strict";
import { StateStore } from "./store.ts";

Deno.test("StateStore saves atomically and loads what it saved; none yet is undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore<{ vips: string[] }>(`${dir}/state.json`);
    assert.equal(await store.load(), undefined);
    const state = {
      version: "7",
      hash: "sha256:ab",
      config: { vips: ["10.10.10.10"] },
      drained: true,
      appliedAt: "2026-11-25T00:00:00.000Z",
    };
    await store.save(state);
    assert.deepEqual(await store.load(), state);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]);
    assert.equal(Deno.statSync(`${dir}/state.json`).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateStore refuses a corrupt or incomplete file with the path in the message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore(`${dir}/state.json`);
    await Deno.writeTextFile(`${dir}/state.json`, "{not json");
    await assert.rejects(store.load(), /state\.json is not valid JSON/);
    await Deno.writeTextFile(`${dir}/state.json`, '{"version":"1"}');
    await assert.rejects(store.load(), /lacks version, hash, drained or config/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
