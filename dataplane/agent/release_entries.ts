/**
 * What a release tarball may hold, as a node accepts it: files, directories and links only; no
 * absolute name, no `..` segment, no link that leads out of the release (followed through the
 * release's own links), no setuid or setgid bit. lvsctl checks a tarball's listing with
 * {@linkcode releaseEntryProblems} before it uploads anything; the node's switch script
 * (`release_switch.ts`) checks the same listing again before it unpacks and the unpacked links
 * on disk before it switches.
 *
 * The listing is GNU tar's `--list --verbose --quoting-style=c --numeric-owner`
 * ({@linkcode TAR_LISTING_OPTIONS}); {@linkcode parseTarListing} reads it. Pure.
 *
 * @example
 * ```ts
 * releaseEntryProblems(parseTarListing('lrwxrwxrwx 0/0 0 2026-01-01 00:00 "./x" -> "/etc"\n'));
 * // ["./x: a symbolic link to /etc, outside the release"]
 * ```
 *
 * @module
 */

/** One member of a release tarball. */
export interface ReleaseEntry {
  /** The member's name as stored, e.g. `./dataplane/agent/main.ts`. */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "socket" | "other";
  /** Where a symbolic link points, or the member a hard link names. */
  link?: string;
  /** Permission bits, with setuid 0o4000, setgid 0o2000 and sticky 0o1000. */
  mode: number;
}

/**
 * GNU tar options that list a gzipped tarball in the format {@linkcode parseTarListing} reads.
 * `--absolute-names` shows names and link targets as stored: without it tar hides a leading
 * `/` or `../` from the listing (it strips them again when unpacking, but a check must see them).
 */
export const TAR_LISTING_OPTIONS = [
  "--list",
  "--verbose",
  "--gzip",
  "--quoting-style=c",
  "--numeric-owner",
  "--absolute-names",
] as const;

const TYPES: Record<string, ReleaseEntry["type"]> = {
  "-": "file",
  d: "dir",
  l: "symlink",
  h: "hardlink",
  c: "char",
  b: "block",
  p: "fifo",
  s: "socket",
};

const C_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  t: 9,
  n: 10,
  v: 11,
  f: 12,
  r: 13,
  "\\": 92,
  '"': 34,
};

/** Reads a C-quoted string starting at `text[at]` (a `"`); returns it and the index after it. */
function readQuoted(text: string, at: number): { value: string; end: number } | null {
  if (text[at] !== '"') return null;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = at + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return { value: new TextDecoder().decode(new Uint8Array(bytes)), end: i + 1 };
    if (c !== "\\") {
      bytes.push(...enc.encode(c));
      continue;
    }
    const next = text[i + 1] ?? "";
    const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else if (next in C_ESCAPES) {
      bytes.push(C_ESCAPES[next]!);
      i += 1;
    } else return null;
  }
  return null;
}

/** Permission bits from `ls`-style letters (`rwsr-xr-x` → 0o4755). */
function modeOf(perm: string): number {
  const bit = (i: number, letters: string, special: number) => {
    const c = perm[i];
    if (c === letters[0]) return (1 << (8 - i));
    if (c === letters[1]) return (1 << (8 - i)) | special;
    if (c === letters[2]) return special;
    return 0;
  };
  let mode = 0;
  for (const i of [0, 1, 3, 4, 6, 7]) if (perm[i] !== "-") mode |= 1 << (8 - i);
  mode |= bit(2, "xsS", 0o4000) | bit(5, "xsS", 0o2000) | bit(8, "xtT", 0o1000);
  return mode;
}

/**
 * Parses GNU tar's verbose listing with C quoting (see {@linkcode TAR_LISTING_OPTIONS});
 * throws SyntaxError naming the line it cannot read.
 */
export function parseTarListing(text: string): ReleaseEntry[] {
  const out: ReleaseEntry[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const fail = () => {
      throw new SyntaxError(`Cannot read line ${n + 1} of the tar listing: ${line}`);
    };
    const start = line.indexOf('"');
    if (start < 10) fail();
    const name = readQuoted(line, start);
    if (!name) return fail();
    const entry: ReleaseEntry = {
      path: name.value,
      type: TYPES[line[0]!] ?? "other",
      mode: modeOf(line.slice(1, 10)),
    };
    const rest = line.slice(name.end);
    const arrow = rest.startsWith(" -> ") ? 4 : rest.startsWith(" link to ") ? 9 : -1;
    if (arrow > 0) {
      const link = readQuoted(rest, arrow);
      if (!link || link.end !== rest.length) fail();
      entry.link = link!.value;
    } else if (rest !== "") fail();
    out.push(entry);
  }
  return out;
}

function segments(path: string): string[] {
  return path.split("/").filter((s) => s !== "" && s !== ".");
}

/** Links deeper than this (or a loop) are refused, as the kernel's ELOOP limit does. */
const MAX_HOPS = 40;

/**
 * Follows `target` from the directory `from` through the release's own symbolic links:
 * "outside" when the walk leaves the release at any point, "loop" for a loop, else null.
 */
function escapes(
  links: ReadonlyMap<string, string>,
  from: string[],
  target: string,
): "outside" | "loop" | null {
  if (target.startsWith("/")) return "outside";
  const at = [...from];
  const todo = segments(target);
  let hops = 0;
  while (todo.length > 0) {
    const seg = todo.shift()!;
    if (seg === "..") {
      if (at.length === 0) return "outside";
      at.pop();
      continue;
    }
    at.push(seg);
    const link = links.get(at.join("/"));
    if (link === undefined) continue;
    if (++hops > MAX_HOPS) return "loop";
    at.pop();
    if (link.startsWith("/")) return "outside";
    todo.unshift(...segments(link));
  }
  return null;
}

const KIND: Record<string, string> = {
  char: "a character device",
  block: "a block device",
  fifo: "a FIFO",
  socket: "a socket",
  other: "not a file, directory or link",
};

/**
 * Every reason a node would refuse these entries, one message per problem, each naming the
 * entry (empty when the release is acceptable).
 */
export function releaseEntryProblems(entries: readonly ReleaseEntry[]): string[] {
  const problems: string[] = [];
  const links = new Map<string, string>();
  for (const e of entries) {
    if (e.type === "symlink" && e.link !== undefined) links.set(segments(e.path).join("/"), e.link);
  }
  for (const e of entries) {
    const where = e.path;
    if (e.path.startsWith("/")) problems.push(`${where}: an absolute path`);
    if (e.path.split("/").includes("..")) problems.push(`${where}: a '..' segment in the path`);
    if (KIND[e.type]) {
      problems.push(`${where}: ${KIND[e.type]}; a release holds only files, directories and links`);
    }
    if (e.mode & 0o6000) {
      problems.push(`${where}: setuid or setgid (mode ${(e.mode & 0o7777).toString(8)})`);
    }
    if (e.type === "symlink") {
      const dir = segments(e.path).slice(0, -1);
      const how = e.link ? escapes(links, dir, e.link) : "outside";
      if (how === "outside") {
        problems.push(`${where}: a symbolic link to ${e.link || "(nothing)"}, outside the release`);
      }
      if (how === "loop") {
        problems.push(`${where}: a symbolic link to ${e.link} that loops or chains too deep`);
      }
    }
    if (e.type === "hardlink") {
      const bad = !e.link || e.link.startsWith("/") || e.link.split("/").includes("..") ||
        escapes(links, [], e.link) !== null;
      if (bad) {
        problems.push(`${where}: a hard link to ${e.link || "(nothing)"}, outside the release`);
      }
    }
  }
  return problems;
}
