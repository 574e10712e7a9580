import assert from "node:assert/strict";
import {
  parseTarListing,
  type ReleaseEntry,
  releaseEntryProblems,
  TAR_LISTING_OPTIONS,
} from "./release_entries.ts";
import { tarGz } from "./_tar_testing.ts";

/** GNU tar 1.34's listing of a tarball with every kind of member (captured). */
const CAPTURED = `drwxr-xr-x 0/0               0 2026-11-29 10:24 "./"
prw-r--r-- 0/0               0 2026-11-29 10:24 "./fifo"
lrwxrwxrwx 0/0               0 2026-11-29 10:24 "./abs" -> "/etc"
drwxr-xr-x 0/0               0 2026-11-29 10:24 "./sub/"
lrwxrwxrwx 0/0               0 2026-11-29 10:24 "./sub/l" -> "../VERSION"
-rw-r--r-- 0/0               3 2026-11-29 10:24 "./sub/a \\"q\\" b\\303\\251"
-rwSr--r-- 0/0               4 2026-11-29 10:24 "./hard"
hrwSr--r-- 0/0               0 2026-11-29 10:24 "./VERSION" link to "./hard"
crw-r--r-- 0/0             1,3 2026-11-29 10:24 "./null"
`;

Deno.test("parseTarListing() reads GNU tar's C-quoted verbose listing", () => {
  const e = parseTarListing(CAPTURED);
  assert.deepEqual(e.map((x) => [x.type, x.path, x.link]), [
    ["dir", "./", undefined],
    ["fifo", "./fifo", undefined],
    ["symlink", "./abs", "/etc"],
    ["dir", "./sub/", undefined],
    ["symlink", "./sub/l", "../VERSION"],
    ["file", './sub/a "q" bé', undefined],
    ["file", "./hard", undefined],
    ["hardlink", "./VERSION", "./hard"],
    ["char", "./null", undefined],
  ]);
  assert.equal(e[0]!.mode, 0o755);
  assert.equal(e[6]!.mode, 0o4644);
  assert.throws(() => parseTarListing("garbage\n"), /line 1 of the tar listing: garbage/);
  assert.throws(
    () => parseTarListing('-rw-r--r-- 0/0 3 2026-11-29 10:24 "./x" trailing\n'),
    /line 1/,
  );
});

Deno.test("parseTarListing() reads what the real tar lists of a crafted tarball", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${dir}/t.tar.gz`,
      await tarGz([
        { path: "./", type: "dir" },
        { path: "./a b\tc", content: "x", mode: 0o2755 },
        { path: "/etc/cron.d/x", content: "x" },
        { path: "./dev", type: "block" },
        { path: "./l", type: "symlink", link: "a b\tc" },
        { path: "./h", type: "hardlink", link: "../x" },
      ]),
    );
    const out = await new Deno.Command("tar", {
      args: [...TAR_LISTING_OPTIONS, "--file", `${dir}/t.tar.gz`],
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const e = parseTarListing(new TextDecoder().decode(out.stdout));
    assert.deepEqual(e.map((x) => [x.type, x.path, x.link, x.mode.toString(8)]), [
      ["dir", "./", undefined, "755"],
      ["file", "./a b\tc", undefined, "2755"],
      ["file", "/etc/cron.d/x", undefined, "644"],
      ["block", "./dev", undefined, "644"],
      ["symlink", "./l", "a b\tc", "777"],
      ["hardlink", "./h", "../x", "644"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const f = (path: string, mode = 0o644): ReleaseEntry => ({ path, type: "file", mode });
const l = (path: string, link: string): ReleaseEntry => ({
  path,
  type: "symlink",
  link,
  mode: 0o777,
});

Deno.test("releaseEntryProblems() accepts files, directories and links that stay inside", () => {
  assert.deepEqual(
    releaseEntryProblems([
      { path: "./", type: "dir", mode: 0o755 },
      f("./VERSION"),
      f("./node_modules/.deno/hono@4/node_modules/hono/index.js", 0o755),
      l("./node_modules/hono", ".deno/hono@4/node_modules/hono"),
      l("./node_modules/.deno/a@1/node_modules/b", "../../b@2/node_modules/b"),
      l("./node_modules/.bin/yaml", "../.deno/yaml@2/node_modules/yaml/bin.mjs"),
      l("./dangling", "nowhere/at/all"),
      { path: "./same", type: "hardlink", link: "./VERSION", mode: 0o644 },
      { path: "./tmp/", type: "dir", mode: 0o1777 },
    ]),
    [],
  );
});

Deno.test("releaseEntryProblems() names every entry a node refuses, and why", () => {
  const cases: Array<[ReleaseEntry[], string]> = [
    [[f("/etc/cron.d/x")], "/etc/cron.d/x: an absolute path"],
    [[f("./a/../../x")], "./a/../../x: a '..' segment in the path"],
    [[{ path: "./null", type: "char", mode: 0o666 }], "./null: a character device"],
    [[{ path: "./sda", type: "block", mode: 0o660 }], "./sda: a block device"],
    [[{ path: "./p", type: "fifo", mode: 0o644 }], "./p: a FIFO"],
    [[f("./sh", 0o4755)], "./sh: setuid or setgid (mode 4755)"],
    [[f("./sh", 0o2755)], "./sh: setuid or setgid (mode 2755)"],
    [[l("./x", "/etc")], "./x: a symbolic link to /etc, outside the release"],
    [[l("./a/x", "../../etc")], "./a/x: a symbolic link to ../../etc, outside the release"],
    [[l("./x", "")], "./x: a symbolic link to (nothing), outside the release"],
    // Each link stays inside on its own; followed through the first, the second leaves.
    [
      [l("./a/b/up", ".."), l("./x", "a/b/up/../..")],
      "./x: a symbolic link to a/b/up/../.., outside the release",
    ],
    [[l("./d", "/"), l("./y", "d/etc")], "./y: a symbolic link to d/etc, outside the release"],
    [[l("./m", "n"), l("./n", "m/x")], "./n: a symbolic link to m/x that loops or chains too deep"],
    [
      [{ path: "./h", type: "hardlink", link: "../x", mode: 0o644 }],
      "./h: a hard link to ../x, outside the release",
    ],
    [
      [{ path: "./h", type: "hardlink", link: "/etc/shadow", mode: 0o644 }],
      "./h: a hard link to /etc/shadow, outside the release",
    ],
  ];
  for (const [entries, want] of cases) {
    const got = releaseEntryProblems(entries);
    assert.ok(got.some((p) => p.startsWith(want)), `${want}\n  got: ${got.join(" | ")}`);
  }
});
