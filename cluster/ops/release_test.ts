import assert from "node:assert/strict";
import { buildRelease } from "./release.ts";
import { checkReleaseVersion, readReleaseVersion } from "../../dataplane/agent/api.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("checkReleaseVersion() refuses names that are not safe directory names", () => {
  checkReleaseVersion("1.2.3+lab.2");
  for (const bad of ["", "../x", "a b", "-x", "x".repeat(65)]) {
    assert.throws(() => checkReleaseVersion(bad), /Invalid release version/, bad);
  }
});

Deno.test("buildRelease() packs the tracked tree, the library and VERSION", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rel = await buildRelease({ repo: REPO, version: "9.9.9-test", out: `${dir}/r.tar.gz` });
    assert.match(rel.sha256, /^[0-9a-f]{64}$/);
    assert.ok(rel.bytes > 0);
    await Deno.mkdir(`${dir}/x`);
    const tar = await new Deno.Command("tar", { args: ["-C", `${dir}/x`, "-xzf", rel.path] })
      .output();
    assert.ok(tar.success);
    assert.equal(await readReleaseVersion(`${dir}/x`), "9.9.9-test");
    for (const f of ["deno.json", "dataplane/build/libfnat.so", "dataplane/agent/agent.ts"]) {
      await Deno.stat(`${dir}/x/${f}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readReleaseVersion() falls back to deno.json's version", async () => {
  assert.match(await readReleaseVersion(REPO), /^\d+\.\d+\.\d+/);
});
