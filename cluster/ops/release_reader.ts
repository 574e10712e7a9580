/**
 * What a rollout reads from a release tarball before it uploads anything: its VERSION, the
 * listing of its members, the sha256 of its bytes and the sha256 its build recorded. The
 * `ReleaseReader` port has the real implementation here ({@linkcode TarReleaseReader}: GNU tar
 * and the manifest beside the tarball) and a fake for pure tests (`fake_release_reader.ts`);
 * both pass `releaseReaderConformance`. `checkRelease` (`release_check.ts`) judges what they
 * read.
 *
 * @module
 */
import {
  parseTarListing,
  type ReleaseEntry,
  TAR_LISTING_OPTIONS,
} from "../../dataplane/agent/api.ts";
import { readManifest, sha256File } from "./release_manifest.ts";
import { errorText } from "../../routing/errors.ts";

/** What a release tarball holds, as read. */
export interface ReleaseContents {
  /** Its VERSION file, trimmed; null when it has none. */
  version: string | null;
  /** Every member, as listed. */
  entries: ReleaseEntry[];
  /** The sha256 of the tarball's bytes. */
  sha256: string;
  /** The sha256 its manifest recorded at build time; null when it has no manifest. */
  recordedSha256: string | null;
}

/** Reads a release tarball; rejects with an Error naming the path when it cannot. */
export interface ReleaseReader {
  read(path: string): Promise<ReleaseContents>;
}

async function tar(path: string, args: readonly string[], members: string[] = []) {
  const out = await new Deno.Command("tar", {
    args: [...args, "--file", path, ...members],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: out.success,
    text: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr).trim(),
  };
}

/** Reads tarballs with GNU tar, and the manifest beside them. */
export class TarReleaseReader implements ReleaseReader {
  async read(path: string): Promise<ReleaseContents> {
    try {
      await Deno.stat(path);
    } catch (e) {
      throw new Error(`Cannot read release ${path}: ${errorText(e)}`, { cause: e });
    }
    const listing = await tar(path, TAR_LISTING_OPTIONS);
    if (!listing.ok) {
      throw new Error(`Cannot read release ${path}: not a gzipped tarball (${listing.err})`);
    }
    const entries = parseTarListing(listing.text);
    const name = ["./VERSION", "VERSION"].find((n) => entries.some((e) => e.path === n));
    let version: string | null = null;
    if (name !== undefined) {
      const v = await tar(path, ["--extract", "--gzip", "--to-stdout"], [name]);
      if (!v.ok) throw new Error(`Cannot read ${name} from release ${path}: ${v.err}`);
      version = v.text.trim();
    }
    return {
      version,
      entries,
      sha256: await sha256File(path),
      recordedSha256: await readManifest(path),
    };
  }
}
