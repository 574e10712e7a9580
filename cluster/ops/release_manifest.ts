/**
 * The manifest a release build writes beside its tarball: `<tarball>.sha256`, one line in
 * `sha256sum`'s format (`<64 hex>  <file name>`), so `sha256sum -c` checks it by hand too. A
 * rollout refuses a tarball without one or whose bytes no longer match it, and every node
 * checks the uploaded bytes against it before it unpacks them.
 *
 * @example
 * ```ts
 * const sha = await writeManifest("/srv/releases/lvs-1.2.0.tar.gz"); // writes ...tar.gz.sha256
 * (await readManifest("/srv/releases/lvs-1.2.0.tar.gz")) === sha;   // true
 * ```
 *
 * @module
 */

/** Where the manifest of a tarball lives. */
export function manifestPath(tarball: string): string {
  return `${tarball}.sha256`;
}

/** The sha256 of a file's bytes, as 64 lowercase hex digits. */
export async function sha256File(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The manifest's text for a tarball with this sha256. */
export function renderManifest(sha256: string, tarball: string): string {
  return `${sha256}  ${tarball.slice(tarball.lastIndexOf("/") + 1)}\n`;
}

/** The sha256 a manifest records; throws SyntaxError naming the manifest when it is not one. */
export function parseManifest(text: string, path: string): string {
  const m = /^([0-9a-f]{64}) [ *]\S/.exec(text);
  if (!m) {
    throw new SyntaxError(
      `Release manifest ${path} is not '<sha256>  <file name>': ${
        JSON.stringify(text.slice(0, 80))
      }`,
    );
  }
  return m[1]!;
}

/** Computes a tarball's sha256 and writes its manifest; returns the sha256. */
export async function writeManifest(tarball: string): Promise<string> {
  const sha256 = await sha256File(tarball);
  await Deno.writeTextFile(manifestPath(tarball), renderManifest(sha256, tarball));
  return sha256;
}

/** The sha256 recorded beside a tarball, or null when it has no manifest. */
export async function readManifest(tarball: string): Promise<string | null> {
  const path = manifestPath(tarball);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return parseManifest(text, path);
}
