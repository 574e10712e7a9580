/**
 * The contract every `ReleaseReader` keeps, run by the real reader's test and the fake's, so
 * pure tests that use the fake see what a rollout sees with the real one.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ReleaseEntry } from "../../dataplane/agent/api.ts";
import type { ReleaseReader } from "./release_reader.ts";

/** A release to make: its VERSION (null: none), members, and what its manifest says. */
export interface ReleaseSpec {
  version: string | null;
  /** Members besides `./` and `./VERSION`. */
  entries: ReleaseEntry[];
  manifest: "matching" | "none" | "other";
}

/** Makes `spec` where the reader under test reads it; returns the reader and the path. */
export type MakeRelease = (spec: ReleaseSpec) => Promise<{ reader: ReleaseReader; path: string }>;

/** Runs the contract as steps of `t`. */
export async function releaseReaderConformance(t: Deno.TestContext, make: MakeRelease) {
  const entries: ReleaseEntry[] = [
    { path: "./dataplane/", type: "dir", mode: 0o755 },
    { path: "./dataplane/main.ts", type: "file", mode: 0o755 },
    { path: "./dataplane/up", type: "symlink", link: "../VERSION", mode: 0o777 },
    { path: "./etc", type: "symlink", link: "/etc", mode: 0o777 },
  ];
  await t.step("reads VERSION, every member and a matching manifest", async () => {
    const { reader, path } = await make({ version: "2.0.0", entries, manifest: "matching" });
    const r = await reader.read(path);
    assert.equal(r.version, "2.0.0");
    assert.match(r.sha256, /^[0-9a-f]{64}$/);
    assert.equal(r.recordedSha256, r.sha256);
    for (const e of entries) {
      const got = r.entries.find((x) => x.path === e.path);
      assert.deepEqual(got && [got.type, got.link, got.mode], [e.type, e.link, e.mode], e.path);
    }
  });
  await t.step("a missing manifest is null; another tarball's is told apart", async () => {
    const none = await make({ version: "2.0.0", entries, manifest: "none" });
    assert.equal((await none.reader.read(none.path)).recordedSha256, null);
    const other = await make({ version: "2.0.0", entries, manifest: "other" });
    const r = await other.reader.read(other.path);
    assert.notEqual(r.recordedSha256, r.sha256);
    assert.match(r.recordedSha256 ?? "", /^[0-9a-f]{64}$/);
  });
  await t.step("no VERSION reads as null; an empty one as ''", async () => {
    const none = await make({ version: null, entries, manifest: "matching" });
    assert.equal((await none.reader.read(none.path)).version, null);
    const empty = await make({ version: "", entries, manifest: "matching" });
    assert.equal((await empty.reader.read(empty.path)).version, "");
  });
  await t.step("a missing file is an error naming the path", async () => {
    const { reader, path } = await make({ version: "1", entries, manifest: "matching" });
    await assert.rejects(reader.read(`${path}.missing`), /Cannot read release .*\.missing/);
  });
}
