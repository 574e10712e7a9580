import assert from "node:assert/strict";
import { TarReleaseReader } from "./release_reader.ts";
import { StaticReleaseReader } from "./fake_release_reader.ts";
import { releaseReaderConformance, type ReleaseSpec } from "./release_reader_conformance.ts";
import { manifestPath, renderManifest, writeManifest } from "./release_manifest.ts";
import { tarGz, type TarMember } from "../../dataplane/agent/_tar_testing.ts";

/** A real tarball of the spec, with the manifest it asks for. */
async function makeTarball(dir: string, spec: ReleaseSpec): Promise<string> {
  const path = `${dir}/${crypto.randomUUID()}.tar.gz`;
  const members: TarMember[] = [{ path: "./", type: "dir" }];
  if (spec.version !== null) members.push({ path: "./VERSION", content: `${spec.version}\n` });
  for (const e of spec.entries) {
    members.push({
      path: e.path,
      type: e.type as NonNullable<TarMember["type"]>,
      mode: e.mode,
      ...(e.link === undefined ? {} : { link: e.link }),
    });
  }
  await Deno.writeFile(path, await tarGz(members));
  if (spec.manifest === "matching") await writeManifest(path);
  if (spec.manifest === "other") {
    await Deno.writeTextFile(manifestPath(path), renderManifest("0".repeat(64), path));
  }
  return path;
}

Deno.test("TarReleaseReader passes the release reader contract over real tarballs", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "release-reader-" });
  try {
    const reader = new TarReleaseReader();
    await releaseReaderConformance(
      t,
      async (spec) => ({ reader, path: await makeTarball(dir, spec) }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StaticReleaseReader passes the release reader contract", async (t) => {
  let i = 0;
  await releaseReaderConformance(t, (spec) => {
    const sha256 = (i++).toString(16).padStart(64, "a");
    const path = `/releases/r${i}.tar.gz`;
    const reader = new StaticReleaseReader().add(path, {
      version: spec.version,
      sha256,
      entries: [
        { path: "./", type: "dir", mode: 0o755 },
        ...(spec.version === null
          ? []
          : [{ path: "./VERSION", type: "file" as const, mode: 0o644 }]),
        ...spec.entries,
      ],
      recordedSha256: spec.manifest === "matching"
        ? sha256
        : spec.manifest === "other"
        ? "0".repeat(64)
        : null,
    });
    return Promise.resolve({ reader, path });
  });
});

Deno.test("TarReleaseReader says a file that is not a gzipped tarball is not one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
    await assert.rejects(
      new TarReleaseReader().read(`${dir}/notes.txt`),
      /Cannot read release .*notes\.txt: not a gzipped tarball/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
