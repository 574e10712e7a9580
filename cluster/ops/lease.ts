/**
 * The cluster-wide rollout lease: one rollout at a time across every operator's lvsctl and every
 * dashboard, because it is held on the nodes themselves (each agent keeps a lease with a fencing
 * token, `dataplane/agent/lease.ts`), not in anybody's home directory.
 *
 * 1. Acquire: ask every node's agent for its lease in parallel. Holding it on a majority of the
 *    cluster file's nodes is holding the cluster lease (two runs can never both have a
 *    majority); with fewer, what was taken is given back and the run is refused, naming the
 *    holder the agents reported.
 * 2. Renew: a timer renews every node's lease each third of its time to live, whatever step the
 *    rollout is in (a drain of a day, a five-minute upload). A node whose lease was lost but is
 *    free is taken again; when fewer than a majority stay renewed, the lease is lost and the
 *    rollout stops at its next step.
 * 3. Fence: every drain, undrain, apply and restart a rollout sends carries that node's token;
 *    the agent refuses a stale one with 409 naming the current holder, so a holder paused past
 *    its expiry cannot act after someone else took over.
 * 4. Release at the end. A holder that died is taken over once its lease expired on the nodes.
 *
 * @example
 * ```ts
 * const lease = await acquireClusterLease({ transport, nodes: cluster.nodes, holder: "lvsctl r1" });
 * try {
 *   await drainNode(transport, node, { headers: await lease.fence(node) });
 * } finally {
 *   await lease.release();
 * }
 * ```
 *
 * @module
 */
import {
  AGENT_PATHS,
  type AgentErrorBody,
  LEASE_TOKEN_HEADER,
  type LeaseGrant,
} from "../../dataplane/agent/api.ts";
import type { NodeSpec } from "../spec/cluster_file.ts";
import { endpointOf } from "../transport/endpoint.ts";
import type { NodeTransport } from "../transport/transport.ts";
import { type Clock, realClock } from "./clock.ts";
import { errorText } from "../../routing/errors.ts";

/** The lease could not be taken or kept. */
export class LeaseError extends Error {
  override name = "LeaseError";
}

/** Another holder has the lease on enough nodes that this run cannot have a majority. */
export class LeaseBusyError extends LeaseError {
  override name = "LeaseBusyError";
  constructor(message: string, readonly holders: string[]) {
    super(message);
  }
}

/** The lease was lost while the rollout ran (expired, or taken over after expiry). */
export class LeaseLostError extends LeaseError {
  override name = "LeaseLostError";
}

/** How many nodes of `total` are a majority. */
export function majorityOf(total: number): number {
  return Math.floor(total / 2) + 1;
}

/** One node's answer to an acquire or renew. */
export type LeaseReply =
  | { node: string; ok: true; grant: LeaseGrant }
  | { node: string; ok: false; holder: string | null; error: string };

/**
 * Why a run did not get a majority, from the nodes' answers: the holders the agents named
 * (most nodes first) and one line per refusing node.
 */
export function refusalMessage(
  what: string,
  replies: LeaseReply[],
  total: number,
): { message: string; holders: string[] } {
  const granted = replies.filter((r) => r.ok).length;
  const refused = replies.filter((r): r is Extract<LeaseReply, { ok: false }> => !r.ok);
  const byHolder = new Map<string, string[]>();
  for (const r of refused) {
    if (r.holder !== null) byHolder.set(r.holder, [...(byHolder.get(r.holder) ?? []), r.node]);
  }
  const holders = [...byHolder.entries()].sort((a, b) => b[1].length - a[1].length);
  const who = holders.length > 0
    ? `the rollout lease is held by ${
      holders.map(([h, nodes]) => `"${h}" on ${nodes.join(", ")}`).join(" and ")
    }; `
    : "";
  const message =
    `${what}: ${who}got it on ${granted} of ${total} nodes, a majority needs ${
      majorityOf(total)
    }. A lease is taken over only after it expires (its holder renews it while it runs). ` +
    refused.map((r) => `${r.node}: ${r.error}`).join("; ");
  return { message, holders: holders.map(([h]) => h) };
}

/** What {@linkcode acquireClusterLease} needs. */
export interface ClusterLeaseOptions {
  transport: NodeTransport;
  /** Every node of the cluster file (the majority is counted over all of them). */
  nodes: NodeSpec[];
  /** Who holds it, as others see it: see {@linkcode describeHolder}. */
  holder: string;
  /** Time to live on the agents (default 60 s); renewed every third of it. */
  ttlMs?: number;
  clock?: Clock;
}

/** A rollout's holder description: `lvsctl upgrade r1 by alice@ops1 pid 42`. */
export function describeHolder(what: string): string {
  let user = "unknown";
  let host = "unknown";
  try {
    user = Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? `uid ${Deno.uid() ?? "?"}`;
  } catch { /* no env or sys permission */ }
  try {
    host = Deno.hostname();
  } catch { /* no sys permission */ }
  return `${what} by ${user}@${host} pid ${Deno.pid}`;
}

/** Takes the cluster lease on a majority of `nodes` and starts renewing it; see the module. */
export async function acquireClusterLease(o: ClusterLeaseOptions): Promise<ClusterLease> {
  const lease = new ClusterLease(o);
  const replies = await Promise.all(o.nodes.map((n) => lease.take(n)));
  if (lease.heldOn < majorityOf(o.nodes.length)) {
    await lease.release();
    const { message, holders } = refusalMessage(
      `Cannot take the cluster's rollout lease for "${o.holder}"`,
      replies,
      o.nodes.length,
    );
    throw holders.length > 0 ? new LeaseBusyError(message, holders) : new LeaseError(message);
  }
  lease.startRenewing();
  return lease;
}

/** A held cluster lease. Made by {@linkcode acquireClusterLease}. */
export class ClusterLease {
  readonly holder: string;
  readonly ttlMs: number;
  /** Per node: its token and when it expires at the latest (our clock, measured from sending). */
  readonly #held = new Map<string, { token: number; expiresAt: number }>();
  readonly #o: ClusterLeaseOptions;
  readonly #clock: Clock;
  #stop: (() => void) | null = null;
  #lost: string | null = null;

  constructor(o: ClusterLeaseOptions) {
    this.#o = o;
    this.holder = o.holder;
    this.ttlMs = o.ttlMs ?? 60_000;
    this.#clock = o.clock ?? realClock;
  }

  /** Nodes whose lease this run holds now. */
  get heldOn(): number {
    const now = this.#clock.now();
    return [...this.#held.values()].filter((h) => h.expiresAt > now).length;
  }

  /** Why the lease was lost, or null while it is held. */
  get lost(): string | null {
    return this.#lost;
  }

  /** Each held node's fencing token. */
  tokens(): Map<string, number> {
    return new Map([...this.#held].map(([n, h]) => [n, h.token]));
  }

  /** Throws LeaseLostError once the lease is lost. */
  assertHeld(): void {
    if (this.#lost !== null) throw new LeaseLostError(this.#lost);
  }

  /**
   * The headers that fence a rollout action on `node`: its lease token. A node whose lease this
   * run does not hold (it was unreachable when the lease was taken) is asked for it first.
   */
  async fence(node: NodeSpec): Promise<Record<string, string>> {
    this.assertHeld();
    let held = this.#held.get(node.name);
    if (!held) {
      const r = await this.take(node);
      if (!r.ok) {
        throw new LeaseError(
          `Cannot act on ${node.name}: the rollout does not hold its lease (${r.error})`,
        );
      }
      held = this.#held.get(node.name)!;
    }
    return { [LEASE_TOKEN_HEADER]: String(held.token) };
  }

  /**
   * Checks with `node`'s agent that the lease is still this run's (a renewal there) before a
   * step the agent cannot fence itself (shipping a release over SFTP and switching to it).
   */
  async confirm(node: NodeSpec): Promise<void> {
    this.assertHeld();
    const held = this.#held.get(node.name);
    const r = held ? await this.#renew(node, held.token) : await this.take(node);
    if (!r.ok) {
      throw new LeaseError(
        `Cannot go on with ${node.name}: the rollout lease there is not ours (${r.error})`,
      );
    }
  }

  /** Asks one node for its lease; remembers the grant. */
  async take(node: NodeSpec): Promise<LeaseReply> {
    return await this.#call(node, AGENT_PATHS.leaseAcquire, {
      holder: this.holder,
      ttlMs: this.ttlMs,
    });
  }

  #renew(node: NodeSpec, token: number): Promise<LeaseReply> {
    return this.#call(node, AGENT_PATHS.leaseRenew, {
      holder: this.holder,
      token,
      ttlMs: this.ttlMs,
    });
  }

  async #call(node: NodeSpec, path: string, body: unknown): Promise<LeaseReply> {
    const sentAt = this.#clock.now();
    try {
      const reply = await this.#o.transport.agent(endpointOf(node), "POST", path, body, {
        timeoutMs: Math.max(1000, Math.floor(this.ttlMs / 3)),
      });
      if (reply.status === 200) {
        const grant = reply.body as LeaseGrant;
        this.#held.set(node.name, { token: grant.token, expiresAt: sentAt + this.ttlMs });
        return { node: node.name, ok: true, grant };
      }
      const b = reply.body as Partial<AgentErrorBody> | null;
      if (reply.status === 409) this.#held.delete(node.name);
      const holder = reply.status === 409 && b?.lease?.held ? b.lease.holder : null;
      const error = reply.status === 404
        ? `its agent has no lease API (404): it runs a release older than cluster-wide leases`
        : `${reply.status} ${b?.error ?? JSON.stringify(reply.body)}`;
      return { node: node.name, ok: false, holder, error };
    } catch (e) {
      return { node: node.name, ok: false, holder: null, error: errorText(e) };
    }
  }

  /**
   * One renewal round over every node (the timer runs it): renew what is held, take again
   * what was lost but is free; the lease is lost when fewer than a majority stay held.
   */
  async renew(): Promise<void> {
    if (this.#lost !== null) return;
    const replies = await Promise.all(this.#o.nodes.map(async (n) => {
      const held = this.#held.get(n.name);
      if (held) {
        const r = await this.#renew(n, held.token);
        if (r.ok || this.#held.has(n.name)) return r; // renewed, or unreachable: expiry stands
      }
      return await this.take(n);
    }));
    const total = this.#o.nodes.length;
    if (this.heldOn < majorityOf(total)) {
      this.#lost = refusalMessage(
        `The rollout lost the cluster's lease ("${this.holder}")`,
        replies,
        total,
      ).message;
      this.#stopTimer();
    }
  }

  /** Starts the renewal timer (every third of the time to live). */
  startRenewing(): void {
    this.#stop ??= this.#clock.every(Math.floor(this.ttlMs / 3), () => this.renew());
  }

  #stopTimer(): void {
    this.#stop?.();
    this.#stop = null;
  }

  /** Stops renewing and gives every held node's lease back (errors ignored: it expires). */
  async release(): Promise<void> {
    this.#stopTimer();
    const held = [...this.#held];
    this.#held.clear();
    const byName = new Map(this.#o.nodes.map((n) => [n.name, n]));
    await Promise.all(held.map(async ([name, h]) => {
      const n = byName.get(name);
      if (!n) return;
      await this.#o.transport.agent(endpointOf(n), "POST", AGENT_PATHS.leaseRelease, {
        holder: this.holder,
        token: h.token,
      }, { timeoutMs: 10_000 }).catch(() => {});
    }));
  }
}
