import assert from "node:assert/strict";
import { agentEntry, markRunning, pickRelease, restartDelay } from "./supervisor.ts";

Deno.test("restartDelay() backs off quick crashes up to 5 s and resets after a long run", () => {
  assert.equal(restartDelay(100, 50), 200);
  assert.equal(restartDelay(4000, 50), 5000);
  assert.equal(restartDelay(5000, 50), 5000);
  assert.equal(restartDelay(5000, 60_000), 100);
});

Deno.test("agentEntry() names the agent inside a release directory", () => {
  assert.equal(agentEntry("/srv/lvs/releases/2"), "/srv/lvs/releases/2/dataplane/agent/main.ts");
});

Deno.test("pickRelease() starts current, falls back to previous when current dangles, and says why", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/releases/1`, { recursive: true });
    await Deno.mkdir(`${root}/releases/2`, { recursive: true });
    await Deno.symlink(`${root}/releases/2`, `${root}/current`);
    await Deno.symlink(`${root}/releases/1`, `${root}/previous`);
    assert.deepEqual(await pickRelease(root), {
      release: await Deno.realPath(`${root}/releases/2`),
    });
    await Deno.remove(`${root}/releases/2`);
    const fallback = await pickRelease(root);
    assert.equal(fallback.release, await Deno.realPath(`${root}/releases/1`));
    assert.match(fallback.note ?? "", /current .* does not lead to a release; starting previous/);
    await Deno.remove(`${root}/releases/1`);
    await assert.rejects(
      pickRelease(root),
      /No release to start in .*: neither current nor previous leads to one/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("markRunning() points <root>/running at the started release, replacing the last one", async () => {
  const root = await Deno.makeTempDir();
  try {
    await markRunning(root, `${root}/releases/1`);
    await markRunning(root, `${root}/releases/2`);
    assert.equal(await Deno.readLink(`${root}/running`), `${root}/releases/2`);
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["running"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
