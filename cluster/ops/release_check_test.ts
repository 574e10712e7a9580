import assert from "node:assert/strict";
import { checkRelease, ReleaseError } from "./release_check.ts";
import { minimalEntries } from "./fake_release_reader.ts";
import type { ReleaseContents } from "./release_reader.ts";

const SHA = "ab".repeat(32);
const good: ReleaseContents = {
  version: "2.0.0",
  entries: minimalEntries(),
  sha256: SHA,
  recordedSha256: SHA,
};

Deno.test("checkRelease() passes a release with a safe VERSION, a matching manifest, safe members", () => {
  assert.deepEqual(checkRelease("/srv/r.tar.gz", good), {
    path: "/srv/r.tar.gz",
    version: "2.0.0",
    sha256: SHA,
  });
});

Deno.test("checkRelease() reports every problem at once, with the path", () => {
  const cases: Array<[Partial<ReleaseContents>, RegExp]> = [
    [{ version: "" }, /Invalid release version ''/],
    [{ version: "../x" }, /Invalid release version '\.\.\/x'/],
    [{ version: null }, /it has no VERSION file/],
    [{ recordedSha256: null }, /no manifest \/srv\/r\.tar\.gz\.sha256 recording its sha256/],
    [{ recordedSha256: "cd".repeat(32) }, /its sha256 is (ab){32}, not the (cd){32} its manifest/],
    [
      { entries: [...minimalEntries(), { path: "./x", type: "symlink", link: "/", mode: 0o777 }] },
      /\.\/x: a symbolic link to \/, outside the release/,
    ],
    [
      { entries: [...minimalEntries(), { path: "./null", type: "char", mode: 0o666 }] },
      /\.\/null: a character device/,
    ],
  ];
  for (const [change, message] of cases) {
    assert.throws(
      () => checkRelease("/srv/r.tar.gz", { ...good, ...change }),
      (e) =>
        e instanceof ReleaseError &&
        /^Cannot roll out release \/srv\/r\.tar\.gz: /.test(e.message) && message.test(e.message),
      String(message),
    );
  }
  const many = Array.from(
    { length: 14 },
    (_, i) => ({ path: `/abs${i}`, type: "file" as const, mode: 0o644 }),
  );
  const err = (() => {
    try {
      checkRelease("r", { ...good, version: "", entries: many });
    } catch (e) {
      return e as ReleaseError;
    }
  })();
  assert.equal(err?.problems.length, 12);
  assert.equal(err?.problems.at(-1), "and 4 more refused members");
});
