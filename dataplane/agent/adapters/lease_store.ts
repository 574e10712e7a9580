/**
 * Where an agent keeps its rollout lease (`lease.json` in its state directory), so that a
 * restarted agent still knows who holds the lease and never hands out a fencing token twice.
 * Read and written like the agent's state (`json_file.ts`).
 *
 * @module
 */
import { type LeaseState, parseLeaseState } from "../lease.ts";
import { readJsonFile, writeJsonAtomic } from "./json_file.ts";

/** Reads and writes one lease file. */
export class LeaseStore {
  constructor(readonly path: string) {}

  /**
   * The saved lease, or undefined when none was ever saved. Throws SyntaxError naming the file
   * when it is empty, torn or not a lease: such a file is never taken for a free lease.
   */
  async load(): Promise<LeaseState | undefined> {
    const parsed = await readJsonFile(this.path, "The lease file");
    if (parsed === undefined) return undefined;
    return parseLeaseState(parsed, `The lease file ${this.path}`);
  }

  /** Saves atomically; the directory must exist. */
  save(state: LeaseState): Promise<void> {
    return writeJsonAtomic(this.path, state);
  }
}
