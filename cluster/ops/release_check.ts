/**
 * Whether a release tarball may be rolled out, judged from what a `ReleaseReader` read: its
 * manifest must record the sha256 of its bytes, its VERSION must be a safe directory name, and
 * every member must be one a node accepts (`releaseEntryProblems`). Every problem is reported
 * at once. Pure; runs before anything is uploaded.
 *
 * @example
 * ```ts
 * const release = checkRelease(path, await new TarReleaseReader().read(path));
 * release.version; release.sha256; // what the nodes get and verify
 * ```
 *
 * @module
 */
import { checkReleaseVersion, releaseEntryProblems } from "../../dataplane/agent/api.ts";
import type { ReleaseContents } from "./release_reader.ts";
import { manifestPath } from "./release_manifest.ts";
import { errorText } from "../../routing/errors.ts";

/** A release a rollout may ship, with what every node verifies. */
export interface CheckedRelease {
  path: string;
  version: string;
  sha256: string;
}

/** A release that must not be rolled out; `problems` lists every reason. */
export class ReleaseError extends Error {
  override name = "ReleaseError";
  constructor(readonly path: string, readonly problems: string[]) {
    super(`Cannot roll out release ${path}: ${problems.join("; ")}`);
  }
}

/** Refused members named in the message; the rest are counted. */
const NAMED = 10;

/** Checks what was read of the release at `path`; throws ReleaseError with every problem. */
export function checkRelease(path: string, r: ReleaseContents): CheckedRelease {
  const problems: string[] = [];
  if (r.recordedSha256 === null) {
    problems.push(
      `it has no manifest ${
        manifestPath(path)
      } recording its sha256 (build releases with cluster/ops/release.ts)`,
    );
  } else if (r.recordedSha256 !== r.sha256) {
    problems.push(
      `its sha256 is ${r.sha256}, not the ${r.recordedSha256} its manifest recorded at build time`,
    );
  }
  if (r.version === null) problems.push("it has no VERSION file");
  else {
    try {
      checkReleaseVersion(r.version);
    } catch (e) {
      problems.push(errorText(e));
    }
  }
  const refused = releaseEntryProblems(r.entries);
  problems.push(...refused.slice(0, NAMED));
  if (refused.length > NAMED) problems.push(`and ${refused.length - NAMED} more refused members`);
  if (problems.length > 0) throw new ReleaseError(path, problems);
  return { path, version: r.version!, sha256: r.sha256 };
}
