/**
 * The node agent's core: it owns the node's desired configuration, the health of its real
 * servers and its drain state, and keeps the data plane and BIRD in line with them.
 *
 * Every change (apply, drain, undrain, a health transition) runs one at a time and is applied
 * in two steps, data plane then routing; when the routing step fails the data plane is put
 * back, so a node is never left half-configured. What was applied is persisted and re-applied
 * when the agent restarts; a saved state that cannot be read, validated or re-applied leaves
 * the node idle and degraded (the status says why) instead of stopping the agent, so lvsctl
 * can still reach it and repair it.
 *
 * With session sync on, a node that starts (or is told to sync for the first time) asks its peers
 * for their sessions and announces its LIPs at once but its VIPs only once every peer answered or
 * a bounded wait passed (`sync_gate.ts`), so the flows the router hashes to it find their owners.
 *
 * I/O goes through the injected ports; see `main.ts` for the real ones.
 *
 * @module
 */
import type { DataPlaneConfig } from "../binding/config.ts";
import type { PeerStats } from "../binding/types.ts";
import { type Effective, effectiveConfig } from "./effective.ts";
import { type HealthMonitor, type HealthState, systemTimers, type Timers } from "./health.ts";
import { SnapshotWait } from "./snapshot_wait.ts";
import { StandbyWatch, type Takeover } from "./standby_watch.ts";
import type { AgentState, StateStore } from "./adapters/store.ts";
import { type AgentConfig, checkAgentConfig } from "./agent_config.ts";
import { AgentError } from "./agent_error.ts";
import type { LeaseView } from "./lease.ts";
import { errorText } from "../../routing/errors.ts";

/** How long a (re)joining node waits for its peers' snapshots by default (ms). */
export const DEFAULT_SYNC_WAIT_MS = 3000;
/** How often the agent looks at the peers while it waits (ms). */
export const SYNC_POLL_MS = 100;

export type { AgentConfig } from "./agent_config.ts";
export { checkAgentConfig } from "./agent_config.ts";
export { AgentError } from "./agent_error.ts";

/** Counters the data plane reports, summed over workers. */
export interface DataPlaneCounters {
  /** Live sessions (not closing). */
  sessions: number;
  /** Sessions in TIME_WAIT or CLOSE (IPVS's InActConn). */
  sessionsClosing?: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  drops: Record<string, number>;
  synCookies: { sent: number; valid: number; invalid: number };
  /** Session sync counters (zero while sync is off); absent from data planes before sync. */
  sync?: SyncCounters;
}

/** Session sync counters, summed over workers. */
export interface SyncCounters {
  /** Ownership records this node sent (each to every peer). */
  recordsSent: number;
  datagramsSent: number;
  /** Peers' records this node applied. */
  recordsReceived: number;
  datagramsReceived: number;
  /** Datagrams missing in the peers' sequences (healed by the periodic refresh). */
  lost: number;
  /** Peers' sessions this node holds records of. */
  recordsActive: number;
  /** Records refused because the record table was full. */
  recordsFull: number;
  /** Records dropped because their owner stopped refreshing them. */
  recordsExpired: number;
  /** Client frames this node forwarded to the peer that owns their session. */
  forwardedOut: number;
  /** Frames peers forwarded to this node (it owns their sessions). */
  forwardedIn: number;
}

/** Session sync as `status()` reports it (present when the configuration turns sync on). */
export interface SyncStatus extends SyncCounters {
  /** The node has its peers' sessions (or waited for them long enough): its VIPs may be up. */
  synced: boolean;
  /** Peers that had not answered the snapshot request when the wait ran out (node addresses). */
  unanswered: string[];
  /** What the data plane knows of each peer. */
  peers: PeerStats[];
  /** Why the peers could not be read, if they could not. */
  error?: string;
  /** Other nodes' LIPs this node stands by for, and whether it carries them now. */
  standby?: Array<{ lip: string; owner: string; acting: boolean }>;
  /** The takeovers this agent made (newest last, at most 20). */
  takeovers?: Takeover[];
}

/** The data plane as the agent uses it. */
export interface DataPlanePort {
  /** Publishes a configuration snapshot atomically; throws when it is refused. */
  apply(config: DataPlaneConfig): Promise<void>;
  counters(): Promise<DataPlaneCounters>;
  /** Asks every peer for a full snapshot of its sessions; rejects when sync is off. */
  requestSync(): Promise<void>;
  /** What the data plane knows of each peer (empty when sync is off). */
  peers(): Promise<PeerStats[]>;
  /** Takes over a LIP this node stands by for (its owner is gone); rejects for any other. */
  takeOver(lip: string): Promise<void>;
}

/** Routing state for status reports. */
export interface RoutingStatus {
  /** OSPF adjacency to the upstream router: "Full", "Init", "down", ... */
  adjacency: string;
  neighbor: string;
  /** Stub networks this node's BIRD announces now. */
  advertised: string[];
  error?: string;
}

/** BIRD as the agent uses it. */
export interface RoutingPort {
  /** Renders and safely reloads BIRD (check, configure with timeout, confirm). */
  announce(routes: { vips: string[]; lips: string[]; standbyLips?: string[] }): Promise<void>;
  status(): Promise<RoutingStatus>;
  /** The stub networks each of these routers announces now (reachable routers only). */
  announcedBy(routerIds: string[]): Promise<Map<string, string[]>>;
}

/** What `status()` reports. */
export interface AgentStatus {
  node: string;
  /** The agent's release version. */
  release: string;
  config: { version: string; hash: string; appliedAt: string } | null;
  drained: boolean;
  /** Its sessions handed to its LIPs' standby (a rolling upgrade): LIPs withdrawn. */
  handedOver?: boolean;
  advertisedVips: string[];
  withdrawnVips: Effective["withdrawnVips"];
  counters: DataPlaneCounters | null;
  countersError?: string;
  routing: RoutingStatus;
  health: Array<{ key: string; up: boolean; lastError: string; changedAt: number }>;
  /** The last error of a background re-apply (after a health change), if any. */
  lastError?: string;
  /**
   * Why the node is degraded, when it is: it may not forward or announce what it was told (a
   * saved state it could not restore at start). A successful apply clears it.
   */
  degraded?: string;
  /** Session sync; absent when the configuration does not turn it on. */
  sync?: SyncStatus;
  /** The rollout lease on this node (added by the control API; absent from older agents). */
  lease?: LeaseView;
}

/** Everything the agent needs. */
export interface AgentDeps {
  node: string;
  release: string;
  dataplane: DataPlanePort;
  routing: RoutingPort;
  store: StateStore<AgentConfig>;
  /** Builds the health monitor; the agent passes its change callback. */
  health: (onChange: (key: string, state: HealthState) => void) => HealthMonitor;
  now?: () => Date;
  /** How long a (re)joining node waits for its peers' snapshots (default 3000 ms). */
  syncWaitMs?: number;
  /**
   * Timers of that wait, of the standby watch and of the retries of a saved configuration that
   * failed to re-apply at start (default: the system's).
   */
  timers?: Timers;
}

/** The data plane's snapshot while the agent has no configuration it can run. */
const IDLE: DataPlaneConfig = { localAddresses: [], services: [] };

/** Milliseconds between retries of a saved configuration that failed to re-apply at start. */
export const RESTORE_RETRY_MS = 5000;

/** The node agent. Create with {@linkcode Agent.start}. */
export class Agent {
  #config: AgentConfig | undefined;
  #drained = false;
  #appliedAt = "";
  #effective: Effective | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #monitor: HealthMonitor;
  #lastError: string | undefined;
  #degraded: string | undefined;
  /** The saved state a failed start retries, until it or another configuration is applied. */
  #pending: AgentState<AgentConfig> | undefined;
  #retry: unknown;
  #stopped = false;
  /** The wait for the peers' snapshots while it runs (the VIPs are held back meanwhile). */
  #wait: SnapshotWait | null = null;
  #watch: StandbyWatch | null = null;
  /** Handed over to the standby (until undrain or a restart, which resyncs and takes back). */
  #handedOver = false;
  #unanswered: string[] = [];

  private constructor(private readonly deps: AgentDeps) {
    this.#monitor = deps.health(() => {
      // A health transition re-derives weights and routes; errors surface in status().
      void this.#serial(() => this.#reconcile()).catch((e) => {
        this.#lastError = `re-apply after a health change failed: ${errorText(e)}`;
      });
    });
  }

  /**
   * Creates the agent and re-applies the persisted state, if any. It does not throw: a saved
   * state it cannot read, validate or re-apply leaves the data plane idle and the node degraded
   * (`status().degraded` says why), so the caller still serves the control API and
   * `lvsctl deploy` can repair the node. A valid saved configuration that failed to re-apply
   * (BIRD not up yet, say) is retried every {@linkcode RESTORE_RETRY_MS} ms meanwhile.
   */
  static async start(deps: AgentDeps): Promise<Agent> {
    const agent = new Agent(deps);
    await agent.#serial(() => agent.#restore());
    return agent;
  }

  /**
   * Applies a new configuration: validates it, publishes it to the data plane and BIRD, and
   * persists it. Returns the status afterwards. A refused or failed apply changes nothing.
   */
  apply(config: AgentConfig): Promise<AgentStatus> {
    return this.#serial(async () => {
      checkAgentConfig(config);
      await this.#install(config, this.#drained, this.#now());
      return this.#statusNow();
    });
  }

  /** Withdraws this node's VIPs (LIPs stay announced so existing sessions keep working). */
  drain(): Promise<AgentStatus> {
    return this.#setDrained(true);
  }

  /** Announces this node's VIPs (and, after a hand-over, its LIPs) again. */
  undrain(): Promise<AgentStatus> {
    this.#handedOver = false;
    return this.#setDrained(false);
  }

  /**
   * Hands this node's sessions to the standby of its LIPs (a rolling upgrade, after the drain):
   * the node stays drained and withdraws its LIPs, so the router sends their traffic to the
   * standby, which holds every session in full and carries it on. A restart then resyncs and
   * takes the LIPs back.
   */
  handOver(): Promise<AgentStatus> {
    this.#handedOver = true;
    return this.#setDrained(true);
  }

  /** The configuration applied last (what lvsctl pushed), or null before the first apply. */
  currentConfig(): AgentConfig | null {
    return this.#config ?? null;
  }

  /** The node's current state. */
  status(): Promise<AgentStatus> {
    return this.#statusNow();
  }

  /** Resolves once every operation queued so far has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    await this.#queue;
  }

  /**
   * Stops health checking, the sync wait, the standby watch and retries (the data plane and BIRD
   * keep running).
   */
  stop(): void {
    this.#stopped = true;
    this.#monitor.stop();
    this.#wait?.cancel();
    this.#watch?.stop();
    this.#watch = null;
    if (this.#retry !== undefined) (this.deps.timers ?? systemTimers).clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  async #restore(): Promise<void> {
    let saved: AgentState<AgentConfig> | undefined;
    try {
      saved = await this.deps.store.load();
    } catch (e) {
      // Not knowing whether the node was drained, it stays out of the router.
      return await this.#idle(`the saved state is unreadable: ${errorText(e)}`, true);
    }
    if (!saved) {
      // Announce the (empty) route set so BIRD runs with a known configuration.
      try {
        await this.deps.routing.announce({ vips: [], lips: [] });
      } catch (e) {
        this.#degraded = `BIRD refused the empty route set at start: ${errorText(e)}`;
      }
      return;
    }
    try {
      checkAgentConfig(saved.config);
    } catch (e) {
      return await this.#idle(
        `the saved configuration ${saved.version} in ${this.deps.store.path} is invalid: ${
          errorText(e)
        }`,
        saved.drained,
      );
    }
    await this.#restoreSaved(saved, saved.drained);
  }

  /** Re-applies a saved state; on failure idles, degraded, and retries it later. */
  async #restoreSaved(saved: AgentState<AgentConfig>, drained: boolean): Promise<void> {
    try {
      await this.#install(saved.config, drained, saved.appliedAt);
      return;
    } catch (e) {
      await this.#idle(
        `re-applying the saved configuration ${saved.version} failed (retried every ${
          RESTORE_RETRY_MS / 1000
        } s): ${errorText(e)}`,
        drained,
      );
    }
    this.#pending = saved;
    if (this.#stopped) return;
    const timers = this.deps.timers ?? systemTimers;
    this.#retry = timers.setTimeout(() => {
      this.#retry = undefined;
      void this.#serial(async () => {
        // A configuration applied meanwhile wins; a drain or undrain meanwhile is kept.
        if (this.#pending === saved) await this.#restoreSaved(saved, this.#drained);
      });
    }, RESTORE_RETRY_MS);
  }

  /** No configuration the node can run: data plane idle, no route, degraded with the reason. */
  async #idle(reason: string, drained: boolean): Promise<void> {
    const problems = [reason];
    try {
      await this.deps.dataplane.apply(IDLE);
    } catch (e) {
      problems.push(`idling the data plane failed too: ${errorText(e)}`);
    }
    try {
      await this.deps.routing.announce({ vips: [], lips: [] });
    } catch (e) {
      problems.push(`withdrawing every route failed too: ${errorText(e)}`);
    }
    this.#config = undefined;
    this.#effective = undefined;
    this.#drained = drained;
    this.#monitor.setTargets([]);
    // No configuration: no wait for the peers' snapshots and no LIP to stand by for.
    this.#wait?.cancel();
    this.#wait = null;
    this.#watchStandby();
    this.#degraded = `${problems.join("; ")}; the data plane is idle${
      drained ? " and the node drained" : ""
    }: apply a configuration (lvsctl deploy) to repair the node`;
  }

  #now(): string {
    return (this.deps.now?.() ?? new Date()).toISOString();
  }

  #setDrained(drained: boolean): Promise<AgentStatus> {
    return this.#serial(async () => {
      if (!this.#config) {
        if (drained === this.#drained) return this.#statusNow();
        this.#drained = drained;
        return this.#statusNow();
      }
      await this.#install(this.#config, drained, this.#appliedAt);
      return this.#statusNow();
    });
  }

  /** Runs `fn` after every operation queued before it. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #healthMap(): Map<string, boolean> {
    return new Map([...this.#monitor.states()].map(([k, s]) => [k, s.up]));
  }

  async #install(config: AgentConfig, drained: boolean, appliedAt: string): Promise<void> {
    const sync = config.dataplane.sync;
    // A node joins when it starts with sync on or is told to sync for the first time; it holds
    // its VIPs back until the wait for its peers' sessions ends.
    const joining = sync !== undefined &&
      (this.#wait !== null || this.#config?.dataplane.sync === undefined);
    const next = effectiveConfig(config.dataplane, this.#healthMap(), {
      drained,
      syncing: joining,
      handedOver: this.#handedOver,
    });
    const previous = this.#effective;
    try {
      await this.deps.dataplane.apply(next.dataplane);
    } catch (e) {
      throw new AgentError(
        `Cannot apply configuration ${config.version}: the data plane refused it: ${errorText(e)}`,
        400,
        { cause: e },
      );
    }
    const startWait = joining && this.#wait === null;
    let requestError: string | undefined;
    if (startWait) {
      // After the apply: the data plane knows its peers now. A refused request still ends in
      // the bounded wait; the reason shows in status().
      await this.deps.dataplane.requestSync().catch((e) => {
        requestError = `Cannot ask the peers for their sessions: ${errorText(e)}`;
      });
    }
    try {
      await this.deps.routing.announce({
        vips: next.advertisedVips,
        lips: next.advertisedLips,
        ...(next.advertisedStandbyLips.length > 0
          ? { standbyLips: next.advertisedStandbyLips }
          : {}),
      });
    } catch (e) {
      await this.#rollBack(config, previous, `BIRD refused the routes: ${errorText(e)}`, e);
    }
    const state: AgentState<AgentConfig> = {
      version: config.version,
      hash: config.hash,
      config,
      drained,
      appliedAt,
    };
    await this.deps.store.save(state);
    this.#config = config;
    this.#drained = drained;
    this.#appliedAt = appliedAt;
    this.#effective = next;
    this.#lastError = requestError;
    this.#degraded = undefined;
    this.#pending = undefined;
    this.#monitor.setTargets(config.checks);
    if (startWait) this.#startWait();
    if (sync === undefined && this.#wait !== null) {
      this.#wait.cancel();
      this.#wait = null;
    }
    this.#watchStandby();
  }

  /** Watches the owners of the LIPs this node stands by for (none: no watch). */
  #watchStandby(): void {
    const standby = this.#config?.dataplane.sync?.standby ?? [];
    if (standby.length === 0) {
      this.#watch?.stop();
      this.#watch = null;
      return;
    }
    this.#watch ??= new StandbyWatch({
      standby: () => this.#config?.dataplane.sync?.standby ?? [],
      announcedBy: (ids) => this.deps.routing.announcedBy(ids),
      takeOver: (lip) => this.deps.dataplane.takeOver(lip),
      pollMs: 250,
      timers: this.deps.timers ?? systemTimers,
    });
  }

  #startWait(): void {
    this.#unanswered = [];
    this.#wait = new SnapshotWait({
      peers: () => this.deps.dataplane.peers(),
      expected: () => this.#config?.dataplane.sync?.peers.map((p) => p.node) ?? [],
      waitMs: this.deps.syncWaitMs ?? DEFAULT_SYNC_WAIT_MS,
      pollMs: SYNC_POLL_MS,
      timers: this.deps.timers ?? systemTimers,
      onOpen: (verdict) => {
        void this.#serial(async () => {
          this.#wait = null;
          this.#unanswered = [...verdict.answering, ...verdict.unheard];
          await this.#reconcile();
        }).catch((e) => {
          this.#lastError = `announcing the VIPs after the peers' snapshots failed: ${
            errorText(e)
          }`;
        });
      },
    });
  }

  /**
   * Puts the data plane back to what it ran before `config` (idle when nothing ran) after BIRD
   * refused the routes, and throws. When the data plane refuses that too, the two disagree: the
   * node is degraded and the error says so.
   */
  async #rollBack(
    config: AgentConfig,
    previous: Effective | undefined,
    reason: string,
    cause: unknown,
  ): Promise<never> {
    const what = `Cannot apply configuration ${config.version}: ${reason}`;
    const back = previous && this.#config ? `configuration ${this.#config.version}` : "idle";
    try {
      await this.deps.dataplane.apply(previous?.dataplane ?? IDLE);
    } catch (e) {
      const failed = `putting the data plane back to ${back} failed too: ${errorText(e)}`;
      this.#effective = undefined;
      this.#degraded =
        `configuration ${config.version}: ${reason}; ${failed}; the data plane and BIRD disagree: apply a configuration (lvsctl deploy) to repair the node`;
      throw new AgentError(`${what}; ${failed}; the node is degraded`, 500, { cause });
    }
    throw new AgentError(what, 500, { cause });
  }

  async #reconcile(): Promise<void> {
    if (this.#config) await this.#install(this.#config, this.#drained, this.#appliedAt);
  }

  async #statusNow(): Promise<AgentStatus> {
    let counters: DataPlaneCounters | null = null;
    let syncCounters: SyncCounters | undefined;
    let countersError: string | undefined;
    try {
      ({ sync: syncCounters, ...counters } = await this.deps.dataplane.counters());
    } catch (e) {
      countersError = errorText(e);
    }
    let routing: RoutingStatus;
    try {
      routing = await this.deps.routing.status();
    } catch (e) {
      routing = { adjacency: "unknown", neighbor: "", advertised: [], error: errorText(e) };
    }
    const status: AgentStatus = {
      node: this.deps.node,
      release: this.deps.release,
      config: this.#config
        ? { version: this.#config.version, hash: this.#config.hash, appliedAt: this.#appliedAt }
        : null,
      drained: this.#drained,
      ...(this.#handedOver ? { handedOver: true } : {}),
      advertisedVips: this.#effective?.advertisedVips ?? [],
      withdrawnVips: this.#effective?.withdrawnVips ?? [],
      counters,
      routing,
      health: [...this.#monitor.states()].map(([key, s]) => ({
        key,
        up: s.up,
        lastError: s.lastError,
        changedAt: s.changedAt,
      })),
    };
    if (countersError !== undefined) status.countersError = countersError;
    if (this.#config?.dataplane.sync) status.sync = await this.#syncStatus(syncCounters);
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    if (this.#degraded !== undefined) status.degraded = this.#degraded;
    return status;
  }

  async #syncStatus(counters: SyncCounters | undefined): Promise<SyncStatus> {
    const status: SyncStatus = {
      synced: this.#wait === null,
      unanswered: [...this.#unanswered],
      peers: [],
      ...(counters ?? NO_SYNC_COUNTERS),
    };
    try {
      status.peers = await this.deps.dataplane.peers();
    } catch (e) {
      status.error = `Cannot read the sync peers: ${errorText(e)}`;
    }
    const standby = this.#config?.dataplane.sync?.standby ?? [];
    if (standby.length > 0) {
      status.standby = standby.map((x) => ({
        ...x,
        acting: this.#watch?.taken.has(x.lip) ?? false,
      }));
      status.takeovers = (this.#watch?.takeovers ?? []).slice(-20);
    }
    return status;
  }
}

/** Sync counters all at zero (a data plane that reports none). */
export const NO_SYNC_COUNTERS: Readonly<SyncCounters> = {
  recordsSent: 0,
  datagramsSent: 0,
  recordsReceived: 0,
  datagramsReceived: 0,
  lost: 0,
  recordsActive: 0,
  recordsFull: 0,
  recordsExpired: 0,
  forwardedOut: 0,
  forwardedIn: 0,
};
