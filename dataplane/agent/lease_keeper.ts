/**
 * The agent's rollout lease: the pure rules of `lease.ts` over a persisted state. Every change
 * is saved before it is answered (a restarted agent keeps the holder and the token), and
 * changes run one at a time. A lease file that cannot be read (torn, empty, not a lease) is not
 * taken for a free lease: the keeper refuses every lease call and every fenced action with the
 * file's path until an operator removes it; the data plane keeps serving meanwhile.
 *
 * @example
 * ```ts
 * const keeper = await LeaseKeeper.open(new LeaseStore(`${stateDir}/lease.json`));
 * const grant = await keeper.acquire({ holder: "lvsctl r1", ttlMs: 60_000 });
 * keeper.fence(String(grant.token), "POST /v1/drain");
 * ```
 *
 * @module
 */
import { AgentError } from "./agent.ts";
import {
  acquireLease,
  checkFence,
  FREE_LEASE,
  type LeaseGrant,
  type LeaseState,
  type LeaseView,
  leaseView,
  releaseLease,
  renewLease,
} from "./lease.ts";
import { errorText } from "../../routing/errors.ts";

/** Where the lease is persisted (`adapters/lease_store.ts`, or a test double). */
export interface LeaseStorePort {
  readonly path: string;
  load(): Promise<LeaseState | undefined>;
  save(state: LeaseState): Promise<void>;
}

/** One node's lease, persisted. Create with {@linkcode LeaseKeeper.open}. */
export class LeaseKeeper {
  #state: LeaseState;
  #broken: string | null;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: LeaseStorePort,
    private readonly now: () => number,
    state: LeaseState,
    broken: string | null,
  ) {
    this.#state = state;
    this.#broken = broken;
  }

  /** Loads the persisted lease; an unreadable file leaves the keeper refusing (see the module). */
  static async open(store: LeaseStorePort, now: () => number = Date.now): Promise<LeaseKeeper> {
    try {
      return new LeaseKeeper(store, now, (await store.load()) ?? { ...FREE_LEASE }, null);
    } catch (e) {
      const why = errorText(e);
      return new LeaseKeeper(
        store,
        now,
        { ...FREE_LEASE },
        `the lease file cannot be read (${why}); after making sure no rollout runs, remove ${store.path} and restart the agent`,
      );
    }
  }

  #check(what: string): void {
    if (this.#broken !== null) throw new AgentError(`Cannot ${what}: ${this.#broken}`, 500);
  }

  /** The lease now. */
  view(): LeaseView {
    this.#check("read the rollout lease");
    return leaseView(this.#state, this.now());
  }

  /** Takes the lease (see `acquireLease`). */
  acquire(body: unknown): Promise<LeaseGrant> {
    return this.#change("take the rollout lease", (s, now) => {
      const r = acquireLease(s, body, now);
      return { state: r.state, answer: r.grant };
    });
  }

  /** Renews the lease (see `renewLease`). */
  renew(body: unknown): Promise<LeaseGrant> {
    return this.#change("renew the rollout lease", (s, now) => {
      const r = renewLease(s, body, now);
      return { state: r.state, answer: r.grant };
    });
  }

  /** Releases the lease (see `releaseLease`). */
  release(body: unknown): Promise<{ released: boolean; lease: LeaseView }> {
    return this.#change("release the rollout lease", (s, now) => {
      const r = releaseLease(s, body, now);
      return { state: r.state, answer: { released: r.released, lease: leaseView(r.state, now) } };
    });
  }

  /** The fencing check of a rollout action (see `checkFence`); throws when it is refused. */
  fence(header: string | undefined, action: string): void {
    if (header === undefined) return;
    this.#check(`check the lease token of ${action}`);
    checkFence(this.#state, header, this.now(), action);
  }

  #change<T>(
    what: string,
    step: (s: LeaseState, now: number) => { state: LeaseState; answer: T },
  ): Promise<T> {
    const run = async (): Promise<T> => {
      this.#check(what);
      const { state, answer } = step(this.#state, this.now());
      if (state !== this.#state) {
        try {
          await this.store.save(state);
        } catch (e) {
          throw new AgentError(
            `Cannot ${what}: the lease cannot be saved to ${this.store.path}: ${errorText(e)}`,
            500,
            { cause: e },
          );
        }
        this.#state = state;
      }
      return answer;
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }
}
