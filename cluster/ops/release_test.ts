import assert from "node:assert/strict";
import { buildRelease } from "./release.ts";
import { readManifest, sha256File } from "./release_manifest.ts";
import { TarReleaseReader } from "./release_reader.ts";
import { checkRelease } from "./release_check.ts";
import { checkReleaseVersion, readReleaseVersion } from "../../dataplane/agent/api.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("checkReleaseVersion() refuses names that are not safe directory names", () => {
  checkReleaseVersion("1.2.3+lab.2");
  for (const bad of ["", "../x", "a b", "-x", "x".repeat(65)]) {
    assert.throws(() => checkReleaseVersion(bad), /Invalid release version/, bad);
  }
});

Deno.test("buildRelease() packs the tracked tree, the library, the XDP filter and VERSION, owned by 0:0, with its manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rel = await buildRelease({ repo: REPO, version: "9.9.9-test", out: `${dir}/r.tar.gz` });
    assert.match(rel.sha256, /^[0-9a-f]{64}$/);
    assert.ok(rel.bytes > 0);
    assert.equal(rel.manifest, `${dir}/r.tar.gz.sha256`);
    assert.equal(await readManifest(rel.path), rel.sha256);
    assert.equal(await sha256File(rel.path), rel.sha256);
    const listing = await new Deno.Command("tar", {
      args: ["--list", "--verbose", "--gzip", "--numeric-owner", "--file", rel.path],
    }).output();
    const owners = new Set(
      new TextDecoder().decode(listing.stdout).trim().split("\n").map((l) => l.split(/\s+/)[1]),
    );
    assert.deepEqual([...owners], ["0/0"], "every member owned by root");
    assert.deepEqual(checkRelease(rel.path, await new TarReleaseReader().read(rel.path)), {
      path: rel.path,
      version: "9.9.9-test",
      sha256: rel.sha256,
    });
    await Deno.mkdir(`${dir}/x`);
    const tar = await new Deno.Command("tar", { args: ["-C", `${dir}/x`, "-xzf", rel.path] })
      .output();
    assert.ok(tar.success);
    assert.equal(await readReleaseVersion(`${dir}/x`), "9.9.9-test");
    for (
      const f of [
        "deno.json",
        "dataplane/build/libfnat.so",
        "dataplane/build/fnat_xdp.o",
        "dataplane/agent/agent.ts",
      ]
    ) {
      await Deno.stat(`${dir}/x/${f}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readReleaseVersion() falls back to deno.json's version", async () => {
  assert.match(await readReleaseVersion(REPO), /^\d+\.\d+\.\d+/);
});

/** A tiny git repository shaped like this one, its files owned by uid 1234 when we can. */
async function tinyRepo(dir: string, extra: (repo: string) => Promise<void> = async () => {}) {
  const repo = `${dir}/repo`;
  await Deno.mkdir(`${repo}/dataplane/build`, { recursive: true });
  await Deno.writeTextFile(`${repo}/deno.json`, '{ "version": "0.0.1" }\n');
  await Deno.writeTextFile(`${repo}/dataplane/build/libfnat.so`, "ELF");
  await Deno.writeTextFile(`${repo}/dataplane/build/fnat_xdp.o`, "ELF");
  await extra(repo);
  const git = (...args: string[]) => new Deno.Command("git", { args, cwd: repo }).output();
  await git("init", "-q");
  await git("add", "-A");
  if (Deno.uid() === 0) {
    // Not the repository's top or .git: git refuses a repository someone else owns.
    const files = [...Deno.readDirSync(repo)].map((e) => `${repo}/${e.name}`)
      .filter((p) => !p.endsWith("/.git"));
    await new Deno.Command("chown", { args: ["-R", "1234:1234", ...files] }).output();
    assert.equal(Deno.statSync(`${repo}/deno.json`).uid, 1234);
  }
  return repo;
}

Deno.test("buildRelease() makes every member 0:0 whoever owns the builder's files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const repo = await tinyRepo(dir);
    const rel = await buildRelease({ repo, version: "1.0.0", out: `${dir}/r.tar.gz` });
    const listing = await new Deno.Command("tar", {
      args: ["--list", "--verbose", "--gzip", "--numeric-owner", "--file", rel.path],
    }).output();
    const lines = new TextDecoder().decode(listing.stdout).trim().split("\n");
    assert.ok(lines.some((l) => l.endsWith("./deno.json")));
    assert.deepEqual([...new Set(lines.map((l) => l.split(/\s+/)[1]))], ["0/0"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildRelease() refuses a tree a node would refuse (a tracked link out of it)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const repo = await tinyRepo(dir, (r) => Deno.symlink("/etc/passwd", `${r}/passwd`));
    await assert.rejects(
      buildRelease({ repo, version: "1.0.0", out: `${dir}/r.tar.gz` }),
      /Cannot roll out release .*r\.tar\.gz: \.\/passwd: a symbolic link to \/etc\/passwd, outside the release/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildRelease() refuses a tree without the XDP filter an AF_XDP node loads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const repo = await tinyRepo(dir, (r) => Deno.remove(`${r}/dataplane/build/fnat_xdp.o`));
    await assert.rejects(
      () => buildRelease({ repo, version: "1.0.0", out: `${dir}/r.tar.gz` }),
      /Cannot build release 1\.0\.0: .*\/dataplane\/build\/fnat_xdp\.o is missing/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
