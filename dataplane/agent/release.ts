/**
 * A node's releases, as the agent's supervisor runs them: `<root>/releases/<version>/` holds an
 * unpacked release, `<root>/current` links to the one that runs. The orchestrator ships a tarball
 * to `<root>/releases/<version>.tar.gz` and switches with {@linkcode SWITCH_SCRIPT}.
 *
 * @module
 */

const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

/** Checks a release version string (it becomes a directory name on every node). */
export function checkReleaseVersion(version: string): void {
  if (!VERSION_RE.test(version)) {
    throw new RangeError(
      `Invalid release version '${version}': use 1-64 characters of letters, digits, '.', '+', '_', '-'`,
    );
  }
}

/** The version of the release a directory holds: its VERSION file, else deno.json's version. */
export async function readReleaseVersion(dir: string): Promise<string> {
  try {
    return (await Deno.readTextFile(`${dir}/VERSION`)).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`)) as { version?: string };
  return meta.version ?? "0.0.0";
}

/** The shell script that unpacks a release and switches `current` ($1 root, $2 version). */
export const SWITCH_SCRIPT = [
  "set -eu",
  'd="$1/releases/$2"',
  'rm -rf "$d.tmp"',
  'mkdir -p "$d.tmp"',
  'tar -xzf "$d.tar.gz" -C "$d.tmp"',
  'rm -rf "$d"',
  'mv "$d.tmp" "$d"',
  'ln -sfn "$d" "$1/current.new"',
  'mv -T "$1/current.new" "$1/current"',
].join("; ");
