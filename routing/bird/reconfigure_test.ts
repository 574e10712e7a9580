import assert from "node:assert/strict";
import { safeReconfigure } from "./reconfigure.ts";
import { healthyBird, RecordingBird } from "./fake_bird.ts";
import { BirdError } from "../bird_reply.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lvs-reconf-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("safeReconfigure() checks, configures with a timeout, verifies, confirms, then installs the file", async () => {
  await withDir(async (dir) => {
    const configPath = `${dir}/bird.conf`;
    await Deno.writeTextFile(configPath, "old\n");
    const bird = new RecordingBird();
    const r = await safeReconfigure(bird, { configPath, text: "new\n", timeoutS: 12 });
    assert.equal(r.changed, true);
    assert.deepEqual(bird.commands, [
      `configure check "${configPath}.new"`,
      `configure "${configPath}.new" timeout 12`,
      "show status",
      "configure confirm",
    ]);
    assert.equal(await Deno.readTextFile(configPath), "new\n");
    await assert.rejects(Deno.stat(`${configPath}.new`), Deno.errors.NotFound);
  });
});

Deno.test("safeReconfigure() sends nothing when the text equals the installed file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/bird.conf`, "same\n");
    const bird = new RecordingBird();
    assert.equal(
      (await safeReconfigure(bird, { configPath: `${dir}/bird.conf`, text: "same\n" })).changed,
      false,
    );
    assert.deepEqual(bird.commands, []);
  });
});

Deno.test("safeReconfigure() keeps the previous file and raises BIRD's error when the check fails", async () => {
  await withDir(async (dir) => {
    const configPath = `${dir}/bird.conf`;
    await Deno.writeTextFile(configPath, "old\n");
    const bird = new RecordingBird((cmd) =>
      cmd.startsWith("configure check")
        ? `0002-Reading configuration from x\n8002 ${configPath}.new:3:1 syntax error, unexpected '}'\n`
        : healthyBird(cmd)
    );
    await assert.rejects(
      safeReconfigure(bird, { configPath, text: "broken {\n" }),
      (e: unknown) => {
        assert.ok(e instanceof BirdError);
        assert.equal(e.code, 8002);
        assert.match(e.message, /syntax error, unexpected '}'/);
        return true;
      },
    );
    assert.deepEqual(bird.commands, [`configure check "${configPath}.new"`]);
    assert.equal(await Deno.readTextFile(configPath), "old\n");
    await assert.rejects(Deno.stat(`${configPath}.new`), Deno.errors.NotFound);
  });
});

Deno.test("safeReconfigure() undoes the change when verification fails", async () => {
  await withDir(async (dir) => {
    const configPath = `${dir}/bird.conf`;
    await Deno.writeTextFile(configPath, "old\n");
    const bird = new RecordingBird();
    await assert.rejects(
      safeReconfigure(bird, {
        configPath,
        text: "new\n",
        verify: () => Promise.reject(new Error("OSPF protocol lvs is down")),
      }),
      (e: unknown) =>
        e instanceof BirdError &&
        /verification failed, rolled back: OSPF protocol lvs is down/.test(e.message),
    );
    assert.deepEqual(bird.commands.slice(-1), ["configure undo"]);
    assert.ok(!bird.commands.includes("configure confirm"));
    assert.equal(await Deno.readTextFile(configPath), "old\n");
  });
});

Deno.test("safeReconfigure() rejects a quoted path and an out-of-range timeout before touching BIRD", async () => {
  const bird = new RecordingBird();
  await assert.rejects(safeReconfigure(bird, { configPath: '/tmp/a"b', text: "" }), TypeError);
  await assert.rejects(
    safeReconfigure(bird, { configPath: "/tmp/x", text: "", timeoutS: 0 }),
    RangeError,
  );
  assert.deepEqual(bird.commands, []);
});
