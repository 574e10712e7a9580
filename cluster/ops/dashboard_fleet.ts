/**
 * The dashboard's ports (`web/fleet.ts`) over the real fleet: reads are every node's agent
 * status through the transport (SSH in production), actions are the same drain, undrain and
 * rolling upgrade lvsctl runs. A rollout started here rolls out only a release offered by the
 * configured releases directory (`release_dir.ts`). One instance per dashboard process.
 *
 * @module
 */
import type { ClusterFile, NodeSpec } from "../spec/cluster_file.ts";
import { drainNode, fleetStatuses, undrainNode } from "../transport/endpoint.ts";
import { fleetSnapshot, type NodeObservation } from "../spec/fleet_view.ts";
import { configHash, serviceOf } from "../spec/node_config.ts";
import {
  loadRolloutState,
  resumeRollout,
  type RolloutDeps,
  RolloutHaltedError,
  type RolloutState,
  startRollout,
} from "./rollout.ts";
import { describeHolder, LeaseBusyError, LeaseError } from "./lease.ts";
import { offeredRelease } from "./release_dir.ts";
import type { NodeTransport } from "../transport/transport.ts";
import {
  ActionError,
  type ActionPort,
  type FleetReader,
  type FleetSnapshot,
  type RolloutRequest,
  type RolloutView,
} from "../../web/fleet.ts";
import { RateMeter } from "../../web/rates.ts";
import { errorText } from "../../routing/errors.ts";

/** What the adapter needs. */
export interface ClusterFleetOptions {
  cluster: ClusterFile;
  transport: NodeTransport;
  /** Where rollouts keep their state (shared with `lvsctl upgrade`; the lease is on the nodes). */
  stateDir: string;
  clock?: () => number;
  /** Per-call deadline of a status read (default 3 s: an unreachable node shows as down). */
  readTimeoutMs?: number;
  /** Rollout tuning passed through to every rollout this dashboard runs. */
  rollout?: Pick<
    RolloutDeps,
    "watchSeconds" | "requireTraffic" | "clock" | "leaseTtlMs" | "releases"
  >;
  /**
   * The directory whose releases (tarballs with a manifest) may be rolled out; a request names
   * one of them. Without it, the dashboard starts no rollout.
   */
  releasesDir?: string;
}

/** A rollout's state as the dashboard shows it. */
export function rolloutView(s: RolloutState, startedBy: string): RolloutView {
  return {
    id: s.id,
    release: `${s.version} (${s.release})`,
    batchSize: s.batch,
    state: s.status,
    startedBy,
    startedAt: s.startedAt,
    updatedAt: s.updatedAt,
    error: s.status === "halted" ? s.error ?? "halted" : null,
    nodes: s.nodes.map((n) => ({
      node: n.node,
      step: n.step,
      message: n.degraded ? `${n.error}; degraded: ${n.degraded}` : n.error ?? null,
      startedAt: n.startedAt ?? null,
      finishedAt: n.finishedAt ?? null,
    })),
  };
}

/** FleetReader and ActionPort over a cluster file and a transport. */
export class ClusterFleet implements FleetReader, ActionPort {
  #rates = new RateMeter();
  /** Frames forwarded by each node (as "out") and to it (as "in"), per second. */
  #forwardRates = new RateMeter();
  #hash: Promise<string>;
  #current: { state: RolloutState; startedBy: string; running: boolean } | null = null;
  #past: RolloutView[] = [];
  #background: Promise<unknown> = Promise.resolve();

  constructor(readonly options: ClusterFleetOptions) {
    this.#hash = configHash(options.cluster);
  }

  get #now(): number {
    return (this.options.clock ?? Date.now)();
  }

  async read(): Promise<FleetSnapshot> {
    const { cluster, transport } = this.options;
    const statuses = await fleetStatuses(transport, cluster.nodes, {
      timeoutMs: this.options.readTimeoutMs ?? 3000,
    });
    const takenAt = this.#now;
    const rates = new Map<string, { ppsIn: number; ppsOut: number }>();
    const forwardRates = new Map<string, { ppsIn: number; ppsOut: number }>();
    const nodes: NodeObservation[] = cluster.nodes.map((n) => {
      const s = statuses.get(n.name);
      if (!s || s instanceof Error) {
        return { name: n.name, address: n.address, error: s?.message ?? "no answer" };
      }
      rates.set(
        n.name,
        this.#rates.update(n.name, {
          t: takenAt,
          packetsIn: s.counters?.packetsIn ?? 0,
          packetsOut: s.counters?.packetsOut ?? 0,
        }),
      );
      if (s.sync) {
        forwardRates.set(
          n.name,
          this.#forwardRates.update(n.name, {
            t: takenAt,
            packetsIn: s.sync.forwardedIn,
            packetsOut: s.sync.forwardedOut,
          }),
        );
      }
      return { name: n.name, address: n.address, status: s };
    });
    if (this.#current === null) {
      // A rollout started by lvsctl (or an earlier dashboard) shows too.
      const saved = await loadRolloutState(this.options.stateDir).catch(() => null);
      if (saved) this.#current = { state: saved, startedBy: "lvsctl", running: false };
    }
    const rollouts = [
      ...(this.#current ? [rolloutView(this.#current.state, this.#current.startedBy)] : []),
      ...this.#past,
    ];
    return fleetSnapshot({
      cluster: cluster.cluster,
      takenAt,
      desiredHash: await this.#hash,
      services: cluster.vips.map(serviceOf),
      nodes,
      rollouts,
      rates,
      forwardRates,
    });
  }

  #node(name: string) {
    const n = this.options.cluster.nodes.find((x) => x.name === name);
    if (!n) {
      throw new ActionError(`No node ${name} in cluster ${this.options.cluster.cluster}`, {
        status: 404,
      });
    }
    return n;
  }

  drain(node: string, _actor: string): Promise<void> {
    return this.#nodeAction("drain", node, drainNode);
  }

  undrain(node: string, _actor: string): Promise<void> {
    return this.#nodeAction("undrain", node, undrainNode);
  }

  async #nodeAction(
    verb: string,
    node: string,
    act: (t: NodeTransport, n: NodeSpec) => Promise<unknown>,
  ): Promise<void> {
    const n = this.#node(node);
    try {
      await act(this.options.transport, n);
    } catch (e) {
      throw new ActionError(`Cannot ${verb} ${node}: ${errorText(e)}`, {
        status: 502,
        cause: e,
      });
    }
  }

  /** Runs a rollout in the background; resolves once it has started (or failed to start). */
  #launch(run: (onProgress: (s: RolloutState) => void) => Promise<RolloutState>, actor: string) {
    return new Promise<RolloutView>((resolve, reject) => {
      let started = false;
      const onProgress = (s: RolloutState) => {
        this.#current = {
          state: structuredClone(s),
          startedBy: actor,
          running: s.status === "running",
        };
        if (!started) {
          started = true;
          resolve(rolloutView(this.#current.state, actor));
        }
      };
      const done = run(onProgress).then(
        (s) => {
          this.#current = { state: structuredClone(s), startedBy: actor, running: false };
        },
        (e) => {
          if (e instanceof RolloutHaltedError) {
            this.#current = { state: structuredClone(e.state), startedBy: actor, running: false };
          }
          if (!started) {
            started = true;
            reject(
              e instanceof LeaseBusyError
                ? new ActionError(e.message, { status: 409, cause: e })
                : e instanceof LeaseError
                ? new ActionError(e.message, { status: 503, cause: e })
                : new ActionError(`Cannot start the rollout: ${errorText(e)}`, {
                  status: 400,
                  cause: e,
                }),
            );
          }
        },
      );
      this.#background = Promise.all([this.#background, done]);
    });
  }

  /** Resolves once no rollout this instance started is still running (for shutdown and tests). */
  async idle(): Promise<void> {
    await this.#background;
  }

  #refuseWhileRunning(): void {
    if (this.#current?.running) {
      throw new ActionError(`Rollout ${this.#current.state.id} is running; one at a time`, {
        status: 409,
      });
    }
  }

  async startRollout(request: RolloutRequest, actor: string): Promise<RolloutView> {
    this.#refuseWhileRunning();
    let release: string;
    try {
      release = await offeredRelease(this.options.releasesDir, request.release);
    } catch (e) {
      throw new ActionError(`Cannot start the rollout: ${errorText(e)}`, {
        status: 400,
        cause: e,
      });
    }
    this.#refuseWhileRunning(); // one may have started while the directory was read
    if (this.#current) {
      this.#past.unshift(rolloutView(this.#current.state, this.#current.startedBy));
    }
    this.#current = null;
    const { cluster, transport, stateDir } = this.options;
    return this.#launch((onProgress) =>
      startRollout(
        {
          ...this.options.rollout,
          cluster,
          transport,
          stateDir,
          holder: describeHolder(`dashboard (${actor})`),
          onProgress: (s) => onProgress(s),
        },
        { release, ...(request.batchSize ? { batch: request.batchSize } : {}) },
      ), actor);
  }

  getRollout(id: string): Promise<RolloutView | null> {
    if (this.#current?.state.id === id) {
      return Promise.resolve(rolloutView(this.#current.state, this.#current.startedBy));
    }
    return Promise.resolve(this.#past.find((r) => r.id === id) ?? null);
  }

  resumeRollout(id: string, actor: string): Promise<RolloutView> {
    if (this.#current?.state.id !== id) {
      return Promise.reject(new ActionError(`No rollout ${id} to resume`, { status: 404 }));
    }
    if (this.#current.running) {
      return Promise.reject(new ActionError(`Rollout ${id} is running`, { status: 409 }));
    }
    const { cluster, transport, stateDir } = this.options;
    return this.#launch(
      (onProgress) =>
        resumeRollout({
          ...this.options.rollout,
          cluster,
          transport,
          stateDir,
          holder: describeHolder(`dashboard (${actor})`),
          onProgress: (s) => onProgress(s),
        }),
      actor,
    );
  }
}
