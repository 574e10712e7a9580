/**
 * The standby's watch (connection continuity, part 2): for every LIP this node stands by for,
 * it looks every `pollMs` at what the owner's router announces in OSPF (BIRD's view of the
 * reachable routers). When the owner no longer announces the LIP (the node is lost: BFD takes
 * it out of the graph in about a second; or it handed the LIP over), the data plane takes the
 * LIP over at once, so client frames of its sessions are carried on here before any real
 * server speaks. A standby never takes a LIP its owner still announces.
 *
 * @module
 */
import type { Timers } from "./health.ts";

/** A LIP this node stands by for. */
export interface StandbyLip {
  lip: string;
  /** The owner's node address (its OSPF router id). */
  owner: string;
}

/** One takeover, as the agent reports it. */
export interface Takeover {
  lip: string;
  owner: string;
  /** When (ms since the epoch, the agent's clock). */
  at: number;
}

/**
 * The LIPs to take over now: those whose owner was seen announcing them (so a standby that
 * starts before OSPF has converged takes nothing), does not any more, and that are not taken
 * yet. `announced` maps a router id to the stub networks it announces (absent: unreachable).
 */
export function lipsToTakeOver(
  standby: readonly StandbyLip[],
  announced: ReadonlyMap<string, readonly string[]>,
  seen: ReadonlySet<string>,
  taken: ReadonlySet<string>,
): StandbyLip[] {
  return standby.filter((s) =>
    seen.has(s.lip) && !taken.has(s.lip) &&
    !(announced.get(s.owner) ?? []).includes(`${s.lip}/32`)
  );
}

/** What the watch needs. */
export interface StandbyWatchOptions {
  standby: () => readonly StandbyLip[];
  /** Stub networks each of these routers announces now (reachable routers only). */
  announcedBy: (routerIds: string[]) => Promise<Map<string, string[]>>;
  takeOver: (lip: string) => Promise<void>;
  pollMs: number;
  timers: Timers;
  onTakeover?: (t: Takeover) => void;
}

/** The watch, started on construction; `stop()` ends it. */
export class StandbyWatch {
  #timer: unknown;
  #stopped = false;
  readonly taken = new Set<string>();
  /** LIPs whose owner was seen announcing them. */
  readonly seen = new Set<string>();
  readonly takeovers: Takeover[] = [];

  constructor(private readonly o: StandbyWatchOptions) {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.o.timers.clearTimeout(this.#timer);
  }

  /** The owner announces a LIP again (it came back): it may be taken over again later. */
  release(lip: string): void {
    this.taken.delete(lip);
  }

  #schedule(): void {
    if (!this.#stopped) {
      this.#timer = this.o.timers.setTimeout(() => void this.look(), this.o.pollMs);
    }
  }

  /** One look (the timer calls it; tests may too). */
  async look(): Promise<void> {
    try {
      const standby = this.o.standby();
      if (standby.length > 0) {
        const owners = [...new Set(standby.map((s) => s.owner))];
        const announced = await this.o.announcedBy(owners);
        for (const s of standby) {
          if ((announced.get(s.owner) ?? []).includes(`${s.lip}/32`)) {
            this.seen.add(s.lip);
            this.release(s.lip); // announced by its owner (again)
          }
        }
        for (const s of lipsToTakeOver(standby, announced, this.seen, this.taken)) {
          await this.o.takeOver(s.lip);
          this.taken.add(s.lip);
          const t = { lip: s.lip, owner: s.owner, at: this.o.timers.now() };
          this.takeovers.push(t);
          this.o.onTakeover?.(t);
        }
      }
    } catch {
      // BIRD or the data plane did not answer this time: look again.
    } finally {
      this.#schedule();
    }
  }
}
