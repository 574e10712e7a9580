import assert from "node:assert/strict";
import { listReleases, offeredRelease } from "./release_dir.ts";

async function withReleases(fn: (dir: string, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "release-dir-" });
  const dir = `${root}/releases`;
  try {
    await Deno.mkdir(dir);
    for (const name of ["lvs-1.0.tar.gz", "lvs-2.0.tar.gz"]) {
      await Deno.writeTextFile(`${dir}/${name}`, name);
      await Deno.writeTextFile(`${dir}/${name}.sha256`, `${"0".repeat(64)}  ${name}\n`);
    }
    await Deno.writeTextFile(`${dir}/unbuilt.tar.gz`, "no manifest");
    await Deno.writeTextFile(`${root}/elsewhere.tar.gz`, "x");
    await Deno.writeTextFile(`${root}/elsewhere.tar.gz.sha256`, "x");
    await Deno.symlink(`${root}/elsewhere.tar.gz`, `${dir}/link.tar.gz`);
    await Deno.writeTextFile(`${dir}/link.tar.gz.sha256`, "x");
    await fn(dir, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("listReleases() offers the tarballs of the directory that have a manifest", () =>
  withReleases(async (dir) => {
    assert.deepEqual(await listReleases(dir), ["lvs-1.0.tar.gz", "lvs-2.0.tar.gz"]);
  }));

Deno.test("offeredRelease() resolves an offered release by name or by its path", () =>
  withReleases(async (dir) => {
    const real = await Deno.realPath(dir);
    assert.equal(await offeredRelease(dir, "lvs-2.0.tar.gz"), `${real}/lvs-2.0.tar.gz`);
    assert.equal(await offeredRelease(dir, `${dir}/lvs-1.0.tar.gz`), `${real}/lvs-1.0.tar.gz`);
  }));

Deno.test("offeredRelease() refuses any other path with what is offered and where", () =>
  withReleases(async (dir, root) => {
    const offered = "offered: lvs-1.0.tar.gz, lvs-2.0.tar.gz";
    for (
      const bad of [
        "/etc/passwd",
        `${root}/elsewhere.tar.gz`,
        "../elsewhere.tar.gz",
        `${dir}/../elsewhere.tar.gz`,
        "link.tar.gz",
        "unbuilt.tar.gz",
        "lvs-1.0.tar.gz.sha256",
        "missing.tar.gz",
        "",
      ]
    ) {
      await assert.rejects(
        offeredRelease(dir, bad),
        (e) =>
          e instanceof RangeError &&
          e.message.startsWith(`Release '${bad}' is not offered: the dashboard rolls out only`) &&
          e.message.includes(`releases with a manifest in ${dir}`) && e.message.includes(offered),
        bad,
      );
    }
    await assert.rejects(
      offeredRelease(undefined, "/srv/lvs-1.0.tar.gz"),
      /Release '\/srv\/lvs-1\.0\.tar\.gz' is not offered: no releases directory is configured \(dashboard\.releases in the cluster file, or lvsctl dashboard --releases DIR\)/,
    );
  }));
