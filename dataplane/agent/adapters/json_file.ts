/**
 * The agent's JSON state files (`state.json`, `lease.json`): read whole, written atomically.
 * A missing file is "nothing saved yet"; an empty, torn or otherwise unparsable one is an error
 * naming the file, never taken for an empty state.
 *
 * @module
 */

/**
 * The parsed content of the JSON file at `path`, or undefined when the file does not exist.
 * Throws SyntaxError `<what> <path> is not valid JSON (<n> bytes)` when it cannot be parsed;
 * other read errors (permissions, a directory) pass through.
 *
 * @example
 * ```ts
 * const raw = await readJsonFile("/var/lib/lvs/lease.json", "The lease file");
 * if (raw === undefined) console.log("no lease saved yet");
 * ```
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${what} ${path} is not valid JSON (${text.length} bytes)`, {
      cause: e,
    });
  }
}

/**
 * Writes `value` as JSON to `path` atomically (a 0600 temporary file beside it, fsynced, renamed
 * over it): a crash leaves the old content or the new, never half of either. The directory must
 * exist.
 *
 * @example
 * ```ts
 * await writeJsonAtomic("/var/lib/lvs/lease.json", { holder: "alice", token: 1 });
 * ```
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
}
