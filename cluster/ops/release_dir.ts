/**
 * The releases a dashboard offers: the tarballs in one configured directory that have a
 * manifest (`<file>.sha256`, written by the release build). A rollout started from the
 * dashboard names one of them; any other path on the dashboard's host is refused, so a page
 * request can never make the fleet run an arbitrary file.
 *
 * @example
 * ```ts
 * await listReleases("/srv/lvs/releases");                    // ["lvs-1.4.2.tar.gz", ...]
 * await offeredRelease("/srv/lvs/releases", "lvs-1.4.2.tar.gz"); // its real path
 * await offeredRelease("/srv/lvs/releases", "/etc/passwd");     // RangeError
 * ```
 *
 * @module
 */
import { manifestPath } from "./release_manifest.ts";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isFile;
  } catch {
    return false;
  }
}

/** The names of the release tarballs in `dir` that have a manifest, sorted. */
export async function listReleases(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || e.name.endsWith(".sha256")) continue;
    if (await isFile(manifestPath(`${dir}/${e.name}`))) names.push(e.name);
  }
  return names.sort();
}

/**
 * The real path of the release `requested` names (a file name in `dir`, or a path that leads
 * straight to one), when `dir` offers it; throws RangeError saying what is offered otherwise.
 */
export async function offeredRelease(dir: string | undefined, requested: string): Promise<string> {
  const refuse = (why: string): never => {
    throw new RangeError(`Release '${requested}' is not offered: ${why}`);
  };
  if (dir === undefined) {
    return refuse(
      "no releases directory is configured (dashboard.releases in the cluster file, or lvsctl dashboard --releases DIR)",
    );
  }
  const offered = await listReleases(dir);
  const why = `the dashboard rolls out only releases with a manifest in ${dir} (offered: ${
    offered.join(", ") || "none"
  })`;
  const realDir = await Deno.realPath(dir);
  const candidate = requested.includes("/") ? requested : `${dir}/${requested}`;
  const real = await Deno.realPath(candidate).catch(() => null);
  if (real === null || requested === "") return refuse(why);
  const name = real.slice(real.lastIndexOf("/") + 1);
  if (real !== `${realDir}/${name}` || !offered.includes(name)) return refuse(why);
  return real;
}
