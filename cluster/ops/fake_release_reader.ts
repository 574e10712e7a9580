/**
 * A `ReleaseReader` for pure tests: it answers what it was given for each path, so a rollout
 * test needs no tarball, tar, git or C build. It passes `releaseReaderConformance` like the real
 * reader.
 *
 * @example
 * ```ts
 * const reader = new StaticReleaseReader();
 * reader.add("/srv/r.tar.gz", { version: "2.0.0", sha256: "ab".repeat(32) });
 * ```
 *
 * @module
 */
import type { ReleaseEntry } from "../../dataplane/agent/api.ts";
import type { ReleaseContents, ReleaseReader } from "./release_reader.ts";

/** The members of a minimal acceptable release. */
export function minimalEntries(): ReleaseEntry[] {
  return [
    { path: "./", type: "dir", mode: 0o755 },
    { path: "./VERSION", type: "file", mode: 0o644 },
    { path: "./dataplane/agent/main.ts", type: "file", mode: 0o644 },
  ];
}

/** Answers the contents registered for each path; any other path is missing. */
export class StaticReleaseReader implements ReleaseReader {
  readonly #releases = new Map<string, ReleaseContents>();
  readonly reads: string[] = [];

  /** Registers a release; entries default to a minimal valid tree, the manifest to a match. */
  add(
    path: string,
    r: Partial<ReleaseContents> & { sha256: string; version: string | null },
  ): this {
    this.#releases.set(path, {
      entries: minimalEntries(),
      recordedSha256: r.sha256,
      ...r,
    });
    return this;
  }

  read(path: string): Promise<ReleaseContents> {
    this.reads.push(path);
    const r = this.#releases.get(path);
    if (!r) {
      return Promise.reject(
        new Error(`Cannot read release ${path}: No such file or directory`),
      );
    }
    return Promise.resolve(structuredClone(r));
  }
}
