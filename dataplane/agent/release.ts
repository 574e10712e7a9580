/**
 * A node's releases, as the agent's supervisor runs them: `<root>/releases/<version>/` holds an
 * unpacked release (owned by root), `<root>/current` links to the one to run, `<root>/previous`
 * to the one before it and `<root>/running` to the one the supervisor started last. The
 * orchestrator ships a tarball to `<root>/releases/<version>.tar.gz` and switches with
 * `SWITCH_SCRIPT` (`release_switch.ts`), which checks it first (`release_entries.ts`) and
 * never deletes `current`, `previous` or `running`.
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
