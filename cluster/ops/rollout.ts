/**
 * The rolling upgrade (`lvsctl upgrade --release PATH [--batch N] [--resume]`), node by node:
 *
 * 1. take the cluster-wide lease on a majority of the nodes' agents (`lease.ts`): one rollout at a
 *    time across every operator and dashboard; a timer renews it for the whole rollout, and every
 *    drain, undrain and restart carries the node's fencing token;
 * 2. drain the node (its VIPs leave the router, its LIPs stay so sessions finish) and wait until
 *    its sessions fall below the policy's threshold or the drain timeout passes;
 * 3. ship the release: upload the tarball over SFTP; the node checks its sha256 and its members,
 *    unpacks it into `<root>/releases/<version>` and switches `<root>/current` atomically
 *    (`SWITCH_SCRIPT`);
 * 4. restart the agent (its supervisor starts the new release) and wait until it answers with
 *    the new version;
 * 5. health gate: the configuration hash the node re-applied equals the desired one, OSPF is
 *    Full, every real server is healthy; then undrain and watch a few seconds: traffic reaches
 *    the node (packets in, or with session sync frames forwarded to it or by it to the sessions'
 *    owners: new flows are not required) and its drop counters do not rise;
 * 6. next batch. On the first failure the rollout halts with that node drained and the others
 *    serving; the state is saved and `resume` continues from that node.
 *
 * Before any of it, the release is read (`ReleaseReader`) and checked (`checkRelease`): its
 * manifest's sha256, its VERSION and every member; a release that fails is refused before
 * anything is uploaded.
 *
 * @module
 */
import { AGENT_PATHS, SWITCH_SCRIPT } from "../../dataplane/agent/api.ts";
import type { ClusterFile, NodeSpec } from "../spec/cluster_file.ts";
import {
  agentCall,
  drainNode,
  endpointOf,
  handOverNode,
  nodeStatus,
  undrainNode,
} from "../transport/endpoint.ts";
import { acquireClusterLease, type ClusterLease, describeHolder } from "./lease.ts";
import { type Clock, realClock } from "./clock.ts";
import { type CheckedRelease, checkRelease } from "./release_check.ts";
import { type ReleaseReader, TarReleaseReader } from "./release_reader.ts";
import { nodeConfigs, standbyOf } from "../spec/node_config.ts";
import { drainSummary } from "../spec/drain_progress.ts";
import { watchDrain } from "./drain.ts";
import { badDrops, trafficSigns } from "../spec/rollout_gate.ts";
import type { NodeTransport } from "../transport/transport.ts";
import {
  type RolloutStatus,
  rolloutStatus,
  type RolloutStep,
  rolloutStep,
} from "../../web/rollout_words.ts";
import { errorText } from "../../routing/errors.ts";
import { pollUntil } from "../../routing/poll.ts";

/** One node's progress. */
export interface NodeRollout {
  node: string;
  step: RolloutStep;
  error?: string;
  /** Why a failed node is degraded: it could not be drained again, so it may still serve. */
  degraded?: string;
  startedAt?: number;
  finishedAt?: number;
}

/** A rollout's saved state. */
export interface RolloutState {
  id: string;
  release: string;
  version: string;
  /** The sha256 of the release tarball, checked at the start and by every node. */
  sha256: string;
  batch: number;
  status: RolloutStatus;
  startedAt: number;
  updatedAt: number;
  error?: string;
  nodes: NodeRollout[];
}

/** A rollout stopped at a failed node. */
export class RolloutHaltedError extends Error {
  override name = "RolloutHaltedError";
  constructor(readonly state: RolloutState) {
    const degraded = state.nodes.filter((n) => n.degraded !== undefined).map((n) => n.node);
    const left = degraded.length === 0
      ? "the failed node is drained, the others serve. Fix it"
      : `${degraded.join(", ")} could not be drained again: ${
        degraded.length === 1 ? "it is" : "they are"
      } degraded and may still take traffic; the others serve. Check and fix ${
        degraded.length === 1 ? "it" : "them"
      }`;
    super(
      `Rollout ${state.id} halted: ${
        state.error ?? "a node failed"
      }; ${left} and run: lvsctl upgrade --resume`,
    );
  }
}

/** What a rollout needs. */
export interface RolloutDeps {
  cluster: ClusterFile;
  transport: NodeTransport;
  /** Directory for the rollout state, kept for `--resume` (default ~/.lvsctl). */
  stateDir: string;
  /** Who runs it, as other operators see the lease holder (default: user@host and pid). */
  holder?: string;
  /** Time to live of the lease on the agents (default 60 s; renewed every third of it). */
  leaseTtlMs?: number;
  clock?: Clock;
  onProgress?: (state: RolloutState, message: string) => void;
  /** Seconds the post-undrain watch lasts (default 3). */
  watchSeconds?: number;
  /** Fail the gate when the node took no traffic during the watch (default true). */
  requireTraffic?: boolean;
  /** Reads release tarballs (default: {@linkcode TarReleaseReader}). */
  releases?: ReleaseReader;
}

/** The default state directory. */
export function defaultStateDir(): string {
  return `${Deno.env.get("HOME") ?? "/root"}/.lvsctl`;
}

/** Reads and checks the release at `path` (see `checkRelease`); throws ReleaseError. */
export async function readCheckedRelease(
  deps: Pick<RolloutDeps, "releases">,
  path: string,
): Promise<CheckedRelease> {
  return checkRelease(path, await (deps.releases ?? new TarReleaseReader()).read(path));
}

const stateFile = (dir: string) => `${dir}/rollout.json`;

/** The last rollout's state, or null; one saved by an earlier release reads in today's words. */
export async function loadRolloutState(dir: string): Promise<RolloutState | null> {
  try {
    const s = JSON.parse(await Deno.readTextFile(stateFile(dir))) as RolloutState;
    return {
      ...s,
      status: rolloutStatus(s.status),
      nodes: s.nodes.map((n) => ({ ...n, step: rolloutStep(n.step) })),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof RangeError) throw new RangeError(`${stateFile(dir)}: ${e.message}`);
    throw e;
  }
}

async function saveState(dir: string, s: RolloutState): Promise<void> {
  const tmp = `${stateFile(dir)}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(s, null, 2));
  await Deno.rename(tmp, stateFile(dir));
}

class Runner {
  #lease: ClusterLease | undefined;
  readonly clock: Clock;
  constructor(readonly deps: RolloutDeps, readonly state: RolloutState) {
    this.clock = deps.clock ?? realClock;
  }

  get now() {
    return this.clock.now();
  }
  sleep(ms: number) {
    return this.clock.sleep(ms);
  }
  async progress(message: string) {
    this.state.updatedAt = this.now;
    await saveState(this.deps.stateDir, this.state);
    this.deps.onProgress?.(this.state, message);
  }

  async lease(): Promise<void> {
    await Deno.mkdir(this.deps.stateDir, { recursive: true });
    this.#lease = await acquireClusterLease({
      transport: this.deps.transport,
      nodes: this.deps.cluster.nodes,
      holder: `${this.deps.holder ?? describeHolder("lvsctl")} (rollout ${this.state.id})`,
      ...(this.deps.leaseTtlMs ? { ttlMs: this.deps.leaseTtlMs } : {}),
      clock: this.clock,
    });
  }
  async unlease(): Promise<void> {
    await this.#lease?.release();
  }

  /** The call options that fence an action on `n` with the lease token (see `lease.ts`). */
  async fenced(n: NodeSpec): Promise<{ headers: Record<string, string> }> {
    if (!this.#lease) throw new Error("the rollout acts without its lease");
    return { headers: await this.#lease.fence(n) };
  }

  /** Throws once the lease is lost (checked at every step and in every wait). */
  held(): void {
    this.#lease?.assertHeld();
  }

  async waitFor<T>(what: string, ms: number, fn: () => Promise<T | null>): Promise<T> {
    let last = "";
    const v = await pollUntil(async () => {
      this.held(); // a lost lease ends the wait: pollUntil lets the error through
      try {
        return await fn();
      } catch (e) {
        last = errorText(e);
        return null;
      }
    }, { timeoutMs: ms, everyMs: 500, now: () => this.now, sleep: (pause) => this.sleep(pause) });
    if (v === null) {
      throw new Error(
        `${what} did not happen within ${Math.round(ms / 1000)} s${last ? ` (${last})` : ""}`,
      );
    }
    return v;
  }

  /**
   * With session sync, the sessions still open after the drain go to the standby of the node's
   * LIPs before the restart: the node withdraws its LIPs, the router sends their traffic to the
   * standby (which announced them at a higher cost all along), and the standby, which holds every
   * session in full, carries them on. The rollout waits until the standby says it acts for every
   * LIP (or a bound passes: then the restart costs those sessions, and it says so).
   */
  async handOver(n: NodeSpec, sessions: number): Promise<void> {
    const { transport, cluster } = this.deps;
    const standby = cluster.sync ? standbyOf(cluster, n) : undefined;
    if (!standby) return;
    await this.progress(`${n.name}: handing ${sessions} open sessions to ${standby.name}`);
    await handOverNode(transport, n, await this.fenced(n));
    const acting = await this.waitFor(
      `${standby.name} carrying ${n.name}'s LIPs`,
      15_000,
      async () => {
        this.held();
        const s = await nodeStatus(transport, standby);
        const mine = (s.sync?.standby ?? []).filter((x) => n.lips.includes(x.lip));
        return mine.length === n.lips.length && mine.every((x) => x.acting) ? s : null;
      },
    ).catch(() => {
      this.held(); // a lost lease stops the rollout; a standby that did not confirm does not
      return null;
    });
    await this.progress(
      acting
        ? `${n.name}: ${standby.name} carries its LIPs ${n.lips.join(", ")}`
        : `${n.name}: ${standby.name} did not confirm it carries ${n.lips.join(", ")}; going on`,
    );
  }

  /**
   * One node's upgrade, stage by stage: drain (and hand its sessions to the standby), ship the
   * release, restart the agent into it, pass the health gate, undrain and watch traffic return.
   * Any stage throws to halt the rollout at this node.
   */
  async upgradeNode(n: NodeSpec, nr: NodeRollout, hash: string): Promise<void> {
    const vips = new Set(this.deps.cluster.vips.map((v) => `${v.address}/32`));
    nr.startedAt = this.now;
    await this.drain(n, nr, vips);
    await this.ship(n, nr);
    await this.restart(n, nr);
    await this.healthGate(n, nr, hash);
    await this.undrainAndWatch(n, vips);
    nr.step = "done";
    nr.finishedAt = this.now;
    await this.progress(`${n.name}: done (release ${this.state.version})`);
  }

  /** Stage 1: the node withdraws its VIPs and its sessions drain (or hand over to its standby). */
  async drain(n: NodeSpec, nr: NodeRollout, vips: Set<string>): Promise<void> {
    const { transport, cluster } = this.deps;
    const policy = cluster.rollout;
    nr.step = "draining";
    await this.progress(`${n.name}: draining`);
    await drainNode(transport, n, await this.fenced(n));
    await this.waitFor(`${n.name}: VIP withdrawal`, 30_000, async () => {
      const s = await nodeStatus(transport, n);
      return s.routing.advertised.some((a) => vips.has(a)) ? null : s;
    });
    const drained = await watchDrain(await nodeStatus(transport, n), {
      transport,
      node: n,
      vips,
      threshold: policy.sessionThreshold,
      timeoutMs: policy.drainTimeout * 1000,
      now: () => this.now,
      sleep: async (ms) => {
        this.held(); // the lease's timer renews it; a lost lease stops the rollout here
        await this.sleep(ms);
      },
      onProgress: (line) => this.progress(line),
    });
    const summary = drainSummary(n.name, drained.status, {
      settled: drained.settled,
      waitedS: Math.round(drained.waitedMs / 1000),
      forwardedIn: drained.forwardedIn,
    });
    await this.progress(drained.settled ? summary : `${summary}; going on`);
    await this.handOver(n, drained.status.counters?.sessions ?? 0);
  }

  /** Stage 2: upload the release tarball; the node checks it and switches `current` to it. */
  async ship(n: NodeSpec, nr: NodeRollout): Promise<void> {
    const { transport } = this.deps;
    nr.step = "shipping";
    await this.progress(`${n.name}: shipping release ${this.state.version}`);
    await this.#lease?.confirm(n);
    const remote = `${n.agent.root}/releases/${this.state.version}.tar.gz`;
    await transport.upload(endpointOf(n), this.state.release, remote, { timeoutMs: 300_000 });
    const r = await transport.exec(
      endpointOf(n),
      ["sh", "-c", SWITCH_SCRIPT, "switch", n.agent.root, this.state.version, this.state.sha256],
      { timeoutMs: 120_000 },
    );
    if (r.code !== 0) {
      throw new Error(`${n.name}: the node refused to switch to the release: ${r.stderr.trim()}`);
    }
    this.held();
  }

  /** Stage 3: restart the agent and wait until it answers as the new release. */
  async restart(n: NodeSpec, nr: NodeRollout): Promise<void> {
    const { transport, cluster } = this.deps;
    const policy = cluster.rollout;
    nr.step = "restarting";
    await this.progress(`${n.name}: restarting the agent`);
    await agentCall(transport, n, "POST", AGENT_PATHS.restart, undefined, await this.fenced(n));
    await this.waitFor(
      `${n.name}: the agent answering as ${this.state.version}`,
      policy.healthGateTimeout * 1000,
      async () => {
        const s = await nodeStatus(transport, n, { timeoutMs: 5000 });
        return s.release === this.state.version ? s : null;
      },
    );
  }

  /** Stage 4: the node runs the desired configuration, OSPF is Full, every real server is up. */
  async healthGate(n: NodeSpec, nr: NodeRollout, hash: string): Promise<void> {
    const { transport, cluster } = this.deps;
    const policy = cluster.rollout;
    nr.step = "health-gate";
    await this.progress(`${n.name}: health gate`);
    const gateDeadlineMs = policy.healthGateTimeout * 1000;
    await this.waitFor(
      `${n.name}: health gate (config hash, OSPF Full, real servers up)`,
      gateDeadlineMs,
      async () => {
        const s = await nodeStatus(transport, n);
        if (s.config?.hash !== hash) {
          throw new Error(
            `config ${s.config?.hash ?? "(none)"} is not ${hash}`,
          );
        }
        if (s.routing.adjacency !== "Full") {
          throw new Error(`OSPF adjacency ${s.routing.adjacency}`);
        }
        const down = s.health.filter((h) => !h.up).map((h) => h.key);
        if (down.length > 0) throw new Error(`real servers down: ${down.join(", ")}`);
        return s;
      },
    );
  }

  /**
   * Stage 5: undrain, wait for the VIPs to be announced again, and watch a few seconds: traffic
   * must reach the node and its drop counters must not rise.
   */
  async undrainAndWatch(n: NodeSpec, vips: Set<string>): Promise<void> {
    const { transport, cluster } = this.deps;
    const policy = cluster.rollout;
    const gateDeadlineMs = policy.healthGateTimeout * 1000;
    const before = await undrainNode(transport, n, await this.fenced(n));
    await this.waitFor(`${n.name}: VIPs announced again`, 30_000, async () => {
      const s = await nodeStatus(transport, n);
      return s.routing.advertised.some((a) => vips.has(a)) ? s : null;
    });
    const watchMs = (this.deps.watchSeconds ?? 3) * 1000;
    const watchEnd = this.now + Math.max(watchMs, 0);
    let after = before;
    const requireTraffic = this.deps.requireTraffic ?? true;
    for (;;) {
      await this.sleep(500);
      this.held();
      after = await nodeStatus(transport, n);
      // Directly or by forwarding: under long-lived flows only, the router's hash brings the
      // node frames of flows owned elsewhere, and it forwards them (no new flow needed).
      const traffic = trafficSigns(before, after).length > 0;
      if (badDrops(after) > badDrops(before)) {
        throw new Error(
          `${n.name}: drop counters rose after undrain: ${JSON.stringify(after.counters?.drops)}`,
        );
      }
      if (this.now >= watchEnd && (traffic || !requireTraffic)) break;
      if (this.now >= watchEnd + gateDeadlineMs) {
        throw new Error(
          `${n.name}: took no traffic (no packets in, no frames forwarded to or by it) within ${policy.healthGateTimeout} s after undrain`,
        );
      }
    }
  }

  async run(): Promise<RolloutState> {
    const { cluster, transport } = this.deps;
    const hash = (await nodeConfigs(cluster)).values().next().value?.hash ?? "";
    this.state.status = "running";
    delete this.state.error;
    await this.progress(`rollout ${this.state.id}: release ${this.state.version}`);
    const todo = this.state.nodes.filter((x) => x.step !== "done");
    for (let i = 0; i < todo.length; i += this.state.batch) {
      const batch = todo.slice(i, i + this.state.batch);
      const results = await Promise.allSettled(batch.map((nr) => {
        const spec = cluster.nodes.find((x) => x.name === nr.node);
        if (!spec) return Promise.reject(new Error(`node ${nr.node} is not in the cluster file`));
        return this.upgradeNode(spec, nr, hash);
      }));
      const failed = results.map((r, j) => [r, batch[j]!] as const).filter(([r]) =>
        r.status === "rejected"
      );
      if (failed.length > 0) {
        for (const [r, nr] of failed) {
          nr.step = "failed";
          nr.error = String(
            (r as PromiseRejectedResult).reason?.message ?? (r as PromiseRejectedResult).reason,
          );
          nr.finishedAt = this.now;
          // Leave it drained: the others keep serving. A node that cannot be drained is named.
          const spec = cluster.nodes.find((x) => x.name === nr.node);
          if (spec) {
            try {
              await drainNode(transport, spec, await this.fenced(spec));
            } catch (e) {
              nr.degraded = `draining it again failed: ${errorText(e)}`;
            }
          }
        }
        this.state.status = "halted";
        this.state.error = failed.map(([, nr]) =>
          `${nr.node}: ${nr.error}${nr.degraded ? ` (degraded: ${nr.degraded})` : ""}`
        ).join("; ");
        await this.progress(`halted: ${this.state.error}`);
        throw new RolloutHaltedError(this.state);
      }
    }
    this.state.status = "completed";
    await this.progress(`rollout ${this.state.id} done: every node runs ${this.state.version}`);
    return this.state;
  }
}

/** Runs a rollout while holding the cluster's rollout lease. */
async function runLeased(deps: RolloutDeps, state: RolloutState): Promise<RolloutState> {
  const runner = new Runner(deps, state);
  await runner.lease();
  try {
    return await runner.run();
  } finally {
    await runner.unlease();
  }
}

/**
 * The nodes a rollout upgrades, in the cluster file's order: all of them, or the named ones
 * (a canary); an unknown name is an error. The others keep their release; the configuration
 * every node is checked against stays the whole cluster's.
 */
export function rolloutNodes(cluster: ClusterFile, names?: string[]): ClusterFile["nodes"] {
  if (names === undefined) return cluster.nodes;
  const unknown = names.filter((n) => !cluster.nodes.some((x) => x.name === n));
  if (unknown.length > 0) {
    throw new RangeError(
      `Cannot upgrade ${unknown.join(", ")}: not a node of ${cluster.cluster} (${
        cluster.nodes.map((n) => n.name).join(", ")
      })`,
    );
  }
  return cluster.nodes.filter((n) => names.includes(n.name));
}

/**
 * Starts a rolling upgrade to the release tarball at `release` (of the named `nodes`, or all);
 * the release is read and checked before anything is leased or uploaded.
 */
export async function startRollout(
  deps: RolloutDeps,
  opts: { release: string; batch?: number; nodes?: string[] },
): Promise<RolloutState> {
  // Nothing is uploaded, nothing is even leased, before the release passes its checks.
  const { version, sha256 } = await readCheckedRelease(deps, opts.release);
  const now = (deps.clock ?? realClock).now();
  const state: RolloutState = {
    id: `r${now.toString(36)}`,
    release: opts.release,
    version,
    sha256,
    batch: Math.max(1, opts.batch ?? deps.cluster.rollout.batch),
    status: "running",
    startedAt: now,
    updatedAt: now,
    nodes: rolloutNodes(deps.cluster, opts.nodes).map((n) => ({ node: n.name, step: "pending" })),
  };
  return runLeased(deps, state);
}

/** Resumes the halted rollout saved in the state directory, from the node that failed. */
export async function resumeRollout(deps: RolloutDeps): Promise<RolloutState> {
  const state = await loadRolloutState(deps.stateDir);
  if (!state) throw new Error(`No rollout to resume in ${deps.stateDir}`);
  if (state.status === "completed") throw new Error(`Rollout ${state.id} is already done`);
  const release = await readCheckedRelease(deps, state.release);
  if (release.sha256 !== state.sha256 || release.version !== state.version) {
    throw new Error(
      `Cannot resume rollout ${state.id}: release ${state.release} changed since it started ` +
        `(now ${release.version}, sha256 ${release.sha256}; was ${state.version}, sha256 ${
          state.sha256 ?? "unknown"
        }): start a new rollout`,
    );
  }
  for (const n of state.nodes) {
    if (n.step !== "done") {
      n.step = "pending";
      delete n.error;
      delete n.degraded;
    }
  }
  return runLeased(deps, state);
}
