/**
 * The agent's wait for its peers' snapshots: it looks at the data plane's peer list every
 * `pollMs` and calls `onOpen` once {@linkcode snapshotGate} opens (every peer answered, or
 * `waitMs` passed). Timers are injected so tests drive time by hand.
 *
 * @module
 */
import type { PeerStats } from "../binding/types.ts";
import { type GateVerdict, snapshotGate } from "./sync_gate.ts";
import type { Timers } from "./health.ts";

/** What the wait looks at and whom it tells. */
export interface SnapshotWaitOptions {
  /** The data plane's view of the peers. */
  peers: () => Promise<PeerStats[]>;
  /** The peers' node addresses the node expects answers from (read at every look). */
  expected: () => readonly string[];
  /** The bounded wait (ms): the gate opens when it has passed, whatever the peers did. */
  waitMs: number;
  /** How often to look (ms). */
  pollMs: number;
  timers: Timers;
  /** Called once, when the gate opens. */
  onOpen: (verdict: GateVerdict) => void;
}

/** One wait, started on construction; `cancel()` ends it without calling `onOpen`. */
export class SnapshotWait {
  readonly #since: number;
  #timer: unknown;
  #done = false;

  constructor(private readonly o: SnapshotWaitOptions) {
    this.#since = o.timers.now();
    this.#schedule();
  }

  /** Milliseconds since the wait started. */
  get elapsedMs(): number {
    return this.o.timers.now() - this.#since;
  }

  /** Ends the wait; `onOpen` is not called. */
  cancel(): void {
    this.#done = true;
    this.o.timers.clearTimeout(this.#timer);
  }

  #schedule(): void {
    this.#timer = this.o.timers.setTimeout(() => void this.#look(), this.o.pollMs);
  }

  async #look(): Promise<void> {
    let peers: PeerStats[] = [];
    try {
      peers = await this.o.peers();
    } catch {
      // Unreadable this time: look again; the bounded wait still ends it.
    }
    if (this.#done) return;
    const verdict = snapshotGate(this.o.expected(), peers, this.elapsedMs >= this.o.waitMs);
    if (!verdict.open) return this.#schedule();
    this.#done = true;
    this.o.onOpen(verdict);
  }
}
