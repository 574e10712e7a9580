/**
 * Where an agent keeps its rollout lease (`lease.json` in its state directory), so that a
 * restarted agent still knows who holds the lease and never hands out a fencing token twice.
 * Writes are atomic like the agent's state (`store.ts`).
 *
 * @module
 */
import { type LeaseState, parseLeaseState } from "../lease.ts";
import { writeJsonAtomic } from "./store.ts";

/** Reads and writes one lease file. */
export class LeaseStore {
  constructor(readonly path: string) {}

  /**
   * The saved lease, or undefined when none was ever saved. Throws SyntaxError naming the file
   * when it is empty, torn or not a lease: such a file is never taken for a free lease.
   */
  async load(): Promise<LeaseState | undefined> {
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
      throw new SyntaxError(
        `The lease file ${this.path} is not valid JSON (${text.length} bytes)`,
        { cause: e },
      );
    }
    return parseLeaseState(parsed, `The lease file ${this.path}`);
  }

  /** Saves atomically; the directory must exist. */
  save(state: LeaseState): Promise<void> {
    return writeJsonAtomic(this.path, state);
  }
}
