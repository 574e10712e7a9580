import assert from "node:assert/strict";
import { DEBIAN_PACKAGES, installCommand, missingPackages } from "./setup.ts";

Deno.test("missingPackages() lists what dpkg does not report as fully installed", () => {
  const out = [
    "bird2 install ok installed",
    "curl deinstall ok config-files",
    "dpdk-dev:amd64 install ok installed",
    "",
  ].join("\n");
  assert.deepEqual(missingPackages(out, ["bird2", "curl", "dpdk-dev", "tcpdump"]), [
    "curl",
    "tcpdump",
  ]);
});

Deno.test("the package list names the data plane, routing, SSH, browser and benchmark dependencies", () => {
  for (
    const p of [
      "libdpdk-dev",
      "bird2",
      "openssh-server",
      "chromium",
      "iproute2",
      "nginx",
      "wrk",
      "nftables",
      "linux-perf",
    ]
  ) {
    assert.ok(DEBIAN_PACKAGES.includes(p), p);
  }
});

const ROOT = new URL("../..", import.meta.url).pathname;

/** The setup task's command line from deno.json, with `deno` replaced by this Deno binary. */
function setupTaskArgs(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
  const words = (tasks.setup.command as string).split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

/**
 * A PATH whose `dpkg-query` reports every package missing until the recording `apt-get` has been
 * asked to install them (then installed), so the install branch runs for real without touching the
 * machine. Every call of the stand-ins is appended to `calls`.
 */
async function standInPath(opts: { alreadyInstalled: boolean }): Promise<{
  dir: string;
  calls: string;
}> {
  const dir = await Deno.makeTempDir({ prefix: "setup-standin-" });
  const calls = `${dir}/calls`;
  const marker = `${dir}/installed`;
  if (opts.alreadyInstalled) await Deno.writeTextFile(marker, "");
  await Deno.writeTextFile(
    `${dir}/dpkg-query`,
    `#!/bin/sh
echo "dpkg-query $1 $2 $4 ..." >> "${calls}"
[ -e "${marker}" ] || exit 1
shift 3 # -W -f FORMAT
for p in "$@"; do echo "$p install ok installed"; done
`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(
    `${dir}/apt-get`,
    `#!/bin/sh
echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "${calls}"
case " $* " in *" install "*) touch "${marker}";; esac
`,
    { mode: 0o755 },
  );
  return { dir, calls };
}

async function runSetup(path: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: setupTaskArgs(),
    cwd: ROOT,
    env: { PATH: `${path}:${Deno.env.get("PATH")}` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test({
  name: "setup on a machine without the packages installs them with the task's own permissions",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const { dir, calls } = await standInPath({ alreadyInstalled: false });
    try {
      const r = await runSetup(dir);
      assert.equal(r.code, 0, r.out);
      const lines = (await Deno.readTextFile(calls)).trim().split("\n");
      const apt = lines.filter((l) => l.startsWith("apt-get"));
      assert.equal(apt.length, 2, lines.join("\n"));
      assert.match(apt[0]!, /^apt-get update\b.* DEBIAN_FRONTEND=noninteractive$/);
      assert.ok(apt[1]!.startsWith("apt-get install -y "), apt[1]);
      for (const p of DEBIAN_PACKAGES) assert.ok(apt[1]!.split(" ").includes(p), p);
      // Checked once before and once after the install.
      assert.equal(lines.filter((l) => l.startsWith("dpkg-query")).length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "setup on a ready machine asks dpkg once and installs nothing",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const { dir, calls } = await standInPath({ alreadyInstalled: true });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await runSetup(dir);
        assert.equal(r.code, 0, r.out);
      }
      const lines = (await Deno.readTextFile(calls)).trim().split("\n");
      assert.deepEqual(lines.filter((l) => l.startsWith("apt-get")), []);
      assert.equal(lines.filter((l) => l.startsWith("dpkg-query")).length, 2, lines.join("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("installCommand() names every missing package for a non-root user", () => {
  assert.equal(
    installCommand(["bird2", "wrk"]),
    "apt-get update && apt-get install -y bird2 wrk",
  );
});
