/**
 * The agent's persistent state: the last configuration it applied (with its version and
 * content hash) and whether the node is drained, so a restarted agent comes back exactly as it
 * was. Writes are atomic (temporary file, fsync, rename): a crash leaves the old state or the
 * new one, never half of either.
 *
 * @module
 */

/** The persisted state. `config` is opaque here: the agent validates it when it loads it. */
export interface AgentState<C> {
  version: string;
  hash: string;
  config: C;
  drained: boolean;
  appliedAt: string;
}

/** Reads and writes one state file. */
export class StateStore<C> {
  constructor(readonly path: string) {}

  /** The saved state, or undefined when none was ever saved. Throws SyntaxError if corrupt. */
  async load(): Promise<AgentState<C> | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new SyntaxError(`Agent state ${this.path} is not valid JSON`, { cause: e });
    }
    const s = parsed as Partial<AgentState<C>>;
    if (
      typeof s !== "object" || s === null || typeof s.version !== "string" ||
      typeof s.hash !== "string" || typeof s.drained !== "boolean" || !("config" in s)
    ) {
      throw new SyntaxError(`Agent state ${this.path} lacks version, hash, drained or config`);
    }
    return s as AgentState<C>;
  }

  /** Saves atomically; the directory must exist. */
  save(state: AgentState<C>): Promise<void> {
    return writeJsonAtomic(this.path, state);
  }
}

/**
 * Writes `value` as JSON to `path` atomically (a 0600 temporary file beside it, fsynced, renamed
 * over it): a crash leaves the old content or the new, never half of either. The directory must
 * exist.
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
