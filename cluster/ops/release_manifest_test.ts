import assert from "node:assert/strict";
import {
  manifestPath,
  parseManifest,
  readManifest,
  renderManifest,
  sha256File,
  writeManifest,
} from "./release_manifest.ts";

Deno.test("writeManifest() records the sha256 beside the tarball in sha256sum's format", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tarball = `${dir}/lvs-1.0.tar.gz`;
    await Deno.writeTextFile(tarball, "bytes");
    assert.equal(await readManifest(tarball), null);
    const sha = await writeManifest(tarball);
    assert.equal(sha, await sha256File(tarball));
    assert.equal(await Deno.readTextFile(manifestPath(tarball)), `${sha}  lvs-1.0.tar.gz\n`);
    assert.equal(await readManifest(tarball), sha);
    const check = await new Deno.Command("sha256sum", {
      args: ["-c", "lvs-1.0.tar.gz.sha256"],
      cwd: dir,
    })
      .output();
    assert.ok(check.success, "sha256sum -c accepts it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseManifest() refuses what is not '<sha256>  <name>', naming the manifest", () => {
  const sha = "ab".repeat(32);
  assert.equal(parseManifest(renderManifest(sha, "/x/r.tar.gz"), "m"), sha);
  assert.equal(parseManifest(`${sha} *r.tar.gz\n`, "m"), sha);
  for (const bad of ["", "AB".repeat(32) + "  r", `${sha}`, "ab  r"]) {
    assert.throws(
      () => parseManifest(bad, "/x/r.tar.gz.sha256"),
      /manifest \/x\/r\.tar\.gz\.sha256 is not/,
    );
  }
});
