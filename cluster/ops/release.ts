/**
 * Releases: what a rolling upgrade ships to a node. A release is a gzipped tarball of the
 * project's tracked files, the built data plane library, the npm dependencies the agent needs
 * (so a node never needs a registry) and a `VERSION` file, every member owned by 0:0 (root
 * runs it on every node). Its sha256 is recorded beside it (`<file>.sha256`,
 * `release_manifest.ts`); a rollout ships only a tarball that matches it, and every node
 * checks the upload against it before it unpacks into `releases/<version>/` and switches the
 * `current` link, and the supervisor restarts the agent from it.
 *
 *     deno run -A cluster/ops/release.ts --version 1.4.2 [--out FILE]
 *
 * @module
 */
import { checkReleaseVersion } from "../../dataplane/agent/api.ts";
import { manifestPath, writeManifest } from "./release_manifest.ts";
import { checkRelease } from "./release_check.ts";
import { TarReleaseReader } from "./release_reader.ts";

/** A built release. */
export interface Release {
  path: string;
  version: string;
  sha256: string;
  bytes: number;
  /** The manifest written beside it: `<path>.sha256`. */
  manifest: string;
}

async function run(cmd: string, args: string[], cwd = "."): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * What `make -C dataplane` builds that a node runs and git does not track: the data plane
 * library and the XDP filter an AF_XDP port loads (a vdev's `xdp_prog=fnat` names the release's
 * own `dataplane/build/fnat_xdp.o`).
 */
const RELEASE_BUILD_FILES = ["dataplane/build/libfnat.so", "dataplane/build/fnat_xdp.o"];

/**
 * Builds a release tarball from the repository at `repo` (which must have been built: every
 * {@link RELEASE_BUILD_FILES} member is included), writes its manifest, and checks it as a
 * rollout will (a tree a node would refuse, such as a link out of it, fails here).
 */
export async function buildRelease(
  opts: { repo: string; version: string; out: string },
): Promise<Release> {
  checkReleaseVersion(opts.version);
  for (const f of RELEASE_BUILD_FILES) {
    try {
      await Deno.stat(`${opts.repo}/${f}`);
    } catch {
      throw new Error(
        `Cannot build release ${opts.version}: ${opts.repo}/${f} is missing (run 'deno task build')`,
      );
    }
  }
  const tracked = (await run("git", ["ls-files", "-z"], opts.repo)).split("\0").filter((f) => f);
  const stage = await Deno.makeTempDir({ prefix: "lvs-release-" });
  try {
    const list = [...tracked, ...RELEASE_BUILD_FILES];
    // Copy through tar so modes and links survive; node_modules minus the browser driver.
    await Deno.writeTextFile(`${stage}.list`, list.join("\n") + "\n");
    await run("bash", [
      "-c",
      `set -o pipefail; tar -C "$1" -cf - -T "$2" | tar -C "$3" -xf - && ` +
      `if [ -d "$1/node_modules" ]; then tar -C "$1" --exclude='*playwright-core*' -cf - node_modules | tar -C "$3" -xf -; fi`,
      "release",
      opts.repo,
      `${stage}.list`,
      stage,
    ]);
    await Deno.writeTextFile(`${stage}/VERSION`, opts.version + "\n");
    // Root unpacks it on every node: no member may carry the builder's uid.
    await run("tar", [
      "-C",
      stage,
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "-czf",
      opts.out,
      ".",
    ]);
  } finally {
    await Deno.remove(stage, { recursive: true });
    await Deno.remove(`${stage}.list`).catch(() => {});
  }
  const sha256 = await writeManifest(opts.out);
  checkRelease(opts.out, await new TarReleaseReader().read(opts.out));
  const st = await Deno.stat(opts.out);
  return {
    path: opts.out,
    version: opts.version,
    sha256,
    bytes: st.size,
    manifest: manifestPath(opts.out),
  };
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const version = arg("--version");
  if (!version) {
    console.error("usage: deno run -A cluster/ops/release.ts --version V [--out FILE]");
    Deno.exit(2);
  }
  const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const out = arg("--out") ?? `${Deno.cwd()}/lvs-release-${version}.tar.gz`;
  const r = await buildRelease({ repo, version, out });
  console.log(
    `${r.path}: release ${r.version}, ${r.bytes} bytes, sha256 ${r.sha256} (in ${r.manifest})`,
  );
}
