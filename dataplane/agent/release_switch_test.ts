import assert from "node:assert/strict";
import { LISTING_CHECK_AWK, SWITCH_SCRIPT } from "./release_switch.ts";
import { releaseMembers, tarGz, type TarMember } from "./_tar_testing.ts";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs the real script with sh, tar and awk, as lvsctl does on a node. */
async function runSwitch(root: string, version: string, sum: string) {
  const out = await new Deno.Command("sh", {
    args: ["-c", SWITCH_SCRIPT, "switch", root, version, sum],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Uploads a tarball of `members` as `version` (as lvsctl's SFTP upload does) and switches. */
async function ship(
  root: string,
  version: string,
  members: TarMember[] = releaseMembers(version),
  opts: { sum?: string } = {},
) {
  const bytes = await tarGz(members);
  await Deno.mkdir(`${root}/releases`, { recursive: true });
  await Deno.writeFile(`${root}/releases/${version}.tar.gz`, bytes);
  return runSwitch(root, version, opts.sum ?? await sha256(bytes));
}

const link = (path: string) => Deno.readLinkSync(path);
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "lvs-switch-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("SWITCH_SCRIPT unpacks a checked release owned by the node's user and switches current", () =>
  withRoot(async (root) => {
    const members = releaseMembers("1.0.0").map((m) => ({ ...m, uid: 1234, gid: 1234 }));
    const r = await ship(root, "1.0.0", members);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(link(`${root}/current`), Deno.realPathSync(`${root}/releases/1.0.0`));
    const file = Deno.statSync(`${root}/current/dataplane/agent.ts`);
    assert.equal(file.uid, Deno.uid(), "not the builder's uid 1234");
    assert.equal(file.mode! & 0o777, 0o755);
    assert.equal(Deno.readTextFileSync(`${root}/current/dataplane/VERSION.link`), "1.0.0\n");
    assert.deepEqual(names(`${root}/releases`), ["1.0.0", "1.0.0.sha256", "1.0.0.tar.gz"]);

    assert.equal((await ship(root, "2.0.0")).code, 0);
    assert.equal(link(`${root}/current`), Deno.realPathSync(`${root}/releases/2.0.0`));
    assert.equal(link(`${root}/previous`), Deno.realPathSync(`${root}/releases/1.0.0`));
  }));

Deno.test("SWITCH_SCRIPT keeps current, previous and the running release; prunes older ones", () =>
  withRoot(async (root) => {
    for (const v of ["1", "2", "3"]) assert.equal((await ship(root, v)).code, 0);
    assert.deepEqual(names(`${root}/releases`), [
      "2",
      "2.sha256",
      "2.tar.gz",
      "3",
      "3.sha256",
      "3.tar.gz",
    ]);
    // The supervisor still runs 2 (not restarted yet) when 4 and 5 arrive.
    Deno.symlinkSync(`${root}/releases/2`, `${root}/running`);
    for (const v of ["4", "5"]) assert.equal((await ship(root, v)).code, 0);
    assert.deepEqual(names(`${root}/releases`).filter((n) => !n.includes(".")), ["2", "4", "5"]);
    assert.equal(link(`${root}/current`), Deno.realPathSync(`${root}/releases/5`));
    assert.equal(link(`${root}/previous`), Deno.realPathSync(`${root}/releases/4`));
  }));

Deno.test("SWITCH_SCRIPT refuses an empty or unsafe version and deletes nothing", () =>
  withRoot(async (root) => {
    assert.equal((await ship(root, "1.0.0")).code, 0);
    const before = names(`${root}/releases`);
    for (const bad of ["", "-rf", ".", "..", "a/b", "a b", "x".repeat(65)]) {
      const r = await runSwitch(root, bad, "0".repeat(64));
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, /invalid release version/, bad);
      assert.deepEqual(names(`${root}/releases`), before, bad);
      assert.equal(link(`${root}/current`), Deno.realPathSync(`${root}/releases/1.0.0`));
    }
  }));

Deno.test("SWITCH_SCRIPT refuses a tarball whose sha256 is not the recorded one, before unpacking", () =>
  withRoot(async (root) => {
    assert.equal((await ship(root, "1")).code, 0);
    const r = await ship(root, "2", undefined, { sum: "ab".repeat(32) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /2\.tar\.gz has sha256 [0-9a-f]{64}, expected (ab){32}/);
    assert.ok(!names(`${root}/releases`).includes("2"));
    assert.equal(link(`${root}/current`), Deno.realPathSync(`${root}/releases/1`));
    assert.match((await runSwitch(root, "2", "nothex")).stderr, /invalid sha256 'nothex'/);
  }));

Deno.test("SWITCH_SCRIPT refuses absolute names, '..', links out, devices and setuid before unpacking", () =>
  withRoot(async (root) => {
    assert.equal((await ship(root, "1")).code, 0);
    const base = releaseMembers("2");
    const cases: Array<[TarMember, RegExp]> = [
      [{ path: "/etc/cron.d/lvs", content: "x" }, /\/etc\/cron\.d\/lvs: an absolute path/],
      [{ path: "./a/../../x", content: "x" }, /\.\/a\/\.\.\/\.\.\/x: a '\.\.' segment in the path/],
      [
        { path: "./etc", type: "symlink", link: "/etc" },
        /\.\/etc: a symbolic link to \/etc, outside the release/,
      ],
      [
        { path: "./dataplane/up", type: "symlink", link: "../../x" },
        /\.\/dataplane\/up: a symbolic link to \.\.\/\.\.\/x, outside the release/,
      ],
      [
        { path: "./h", type: "hardlink", link: "../x" },
        /\.\/h: a hard link to \.\.\/x, outside the release/,
      ],
      [{ path: "./null", type: "char" }, /\.\/null: not a file, directory or link \(type c\)/],
      [{ path: "./sda", type: "block" }, /\.\/sda: not a file, directory or link \(type b\)/],
      [{ path: "./p", type: "fifo" }, /\.\/p: not a file, directory or link \(type p\)/],
      [{ path: "./sh", content: "x", mode: 0o4755 }, /\.\/sh: setuid or setgid/],
    ];
    for (const [member, message] of cases) {
      const r = await ship(root, "2", [...base, member]);
      assert.notEqual(r.code, 0, member.path);
      assert.match(r.stderr, message, member.path);
      assert.match(r.stderr, /refused before unpacking/, member.path);
      assert.deepEqual(names(`${root}/releases`), ["1", "1.sha256", "1.tar.gz", "2.tar.gz"]);
      assert.equal(link(`${root}/current`), Deno.realPathSync(`${root}/releases/1`));
    }
  }));

Deno.test("SWITCH_SCRIPT refuses a link that leaves through another link, found on disk", () =>
  withRoot(async (root) => {
    const r = await ship(root, "2", [
      ...releaseMembers("2"),
      { path: "./a/", type: "dir" },
      { path: "./a/b/", type: "dir" },
      { path: "./a/b/up", type: "symlink", link: ".." },
      { path: "./x", type: "symlink", link: "a/b/up/../.." },
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\.\/x: a symbolic link to a\/b\/up\/\.\.\/\.\., outside the release/);
    assert.match(r.stderr, /refused after unpacking/);
    assert.deepEqual(names(`${root}/releases`), ["2.tar.gz"]);
  }));

Deno.test("SWITCH_SCRIPT re-ships the same release without unpacking; other content under its version is refused", () =>
  withRoot(async (root) => {
    assert.equal((await ship(root, "1")).code, 0);
    assert.equal((await ship(root, "2")).code, 0);
    Deno.writeTextFileSync(`${root}/releases/2/marker`, "kept");
    assert.equal((await ship(root, "2")).code, 0, "a resumed rollout ships it again");
    assert.equal(Deno.readTextFileSync(`${root}/current/marker`), "kept", "not unpacked again");
    assert.equal(link(`${root}/previous`), Deno.realPathSync(`${root}/releases/1`));
    const other = [...releaseMembers("2"), { path: "./extra", content: "other" }];
    const r = await ship(root, "2", other);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /releases\/2 is running or kept for a rollback and holds other content/);
    assert.equal(Deno.readTextFileSync(`${root}/current/marker`), "kept");
    const wrong = await ship(root, "3", releaseMembers("4"));
    assert.match(wrong.stderr, /the VERSION file in .*3\.tar\.gz does not say 3/);
  }));

Deno.test("LISTING_CHECK_AWK has no single quote (it sits between single quotes in the script)", () => {
  assert.ok(!LISTING_CHECK_AWK.includes("'"));
});
