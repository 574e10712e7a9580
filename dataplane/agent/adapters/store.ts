/**
 * The agent's persistent state: the last configuration it applied (with its version and
 * content hash) and whether the node is drained, so a restarted agent comes back exactly as it
 * was. Writes are atomic (temporary file, fsync, rename): a crash leaves the old state or the
 * new one, never half of either.
 *
 * @module
 */
import { readJsonFile, writeJsonAtomic } from "./json_file.ts";

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
    const parsed = await readJsonFile(this.path, "Agent state");
    if (parsed === undefined) return undefined;
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
