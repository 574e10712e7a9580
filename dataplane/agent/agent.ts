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
 * I/O goes through the injected ports; see `main.ts` for the real ones.
 *
 * @module
 */
import type { DataPlaneConfig } from "../binding/config.ts";
import { type Effective, effectiveConfig } from "./effective.ts";
import { type HealthMonitor, type HealthState, systemTimers, type Timers } from "./health.ts";
import type { AgentState, StateStore } from "./adapters/store.ts";
import { type AgentConfig, checkAgentConfig } from "./agent_config.ts";
import { AgentError } from "./agent_error.ts";

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
}

/** The data plane as the agent uses it. */
export interface DataPlanePort {
  /** Publishes a configuration snapshot atomically; throws when it is refused. */
  apply(config: DataPlaneConfig): Promise<void>;
  counters(): Promise<DataPlaneCounters>;
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
  announce(routes: { vips: string[]; lips: string[] }): Promise<void>;
  status(): Promise<RoutingStatus>;
}

/** What `status()` reports. */
export interface AgentStatus {
  node: string;
  /** The agent's release version. */
  release: string;
  config: { version: string; hash: string; appliedAt: string } | null;
  drained: boolean;
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
  /** Timers for retrying a saved configuration that failed to re-apply at start. */
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

  private constructor(private readonly deps: AgentDeps) {
    this.#monitor = deps.health(() => {
      // A health transition re-derives weights and routes; errors surface in status().
      void this.#serial(() => this.#reconcile()).catch((e) => {
        this.#lastError = `re-apply after a health change failed: ${errText(e)}`;
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

  /** Announces this node's VIPs again. */
  undrain(): Promise<AgentStatus> {
    return this.#setDrained(false);
  }

  /** The configuration applied last (what lvsctl pushed), or null before the first apply. */
  currentConfig(): AgentConfig | null {
    return this.#config ?? null;
  }

  /** The node's current state. */
  status(): Promise<AgentStatus> {
    return this.#statusNow();
  }

  /** Stops health checking and retries (the data plane and BIRD keep running). */
  stop(): void {
    this.#stopped = true;
    this.#monitor.stop();
    if (this.#retry !== undefined) (this.deps.timers ?? systemTimers).clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  async #restore(): Promise<void> {
    let saved: AgentState<AgentConfig> | undefined;
    try {
      saved = await this.deps.store.load();
    } catch (e) {
      // Not knowing whether the node was drained, it stays out of the router.
      return await this.#idle(`the saved state is unreadable: ${errText(e)}`, true);
    }
    if (!saved) {
      // Announce the (empty) route set so BIRD runs with a known configuration.
      try {
        await this.deps.routing.announce({ vips: [], lips: [] });
      } catch (e) {
        this.#degraded = `BIRD refused the empty route set at start: ${errText(e)}`;
      }
      return;
    }
    try {
      checkAgentConfig(saved.config);
    } catch (e) {
      return await this.#idle(
        `the saved configuration ${saved.version} in ${this.deps.store.path} is invalid: ${
          errText(e)
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
        } s): ${errText(e)}`,
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
      problems.push(`idling the data plane failed too: ${errText(e)}`);
    }
    try {
      await this.deps.routing.announce({ vips: [], lips: [] });
    } catch (e) {
      problems.push(`withdrawing every route failed too: ${errText(e)}`);
    }
    this.#config = undefined;
    this.#effective = undefined;
    this.#drained = drained;
    this.#monitor.setTargets([]);
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
    const next = effectiveConfig(config.dataplane, this.#healthMap(), drained);
    const previous = this.#effective;
    try {
      await this.deps.dataplane.apply(next.dataplane);
    } catch (e) {
      throw new AgentError(
        `Cannot apply configuration ${config.version}: the data plane refused it: ${errText(e)}`,
        400,
        { cause: e },
      );
    }
    try {
      await this.deps.routing.announce({ vips: next.advertisedVips, lips: next.advertisedLips });
    } catch (e) {
      await this.#rollBack(config, previous, `BIRD refused the routes: ${errText(e)}`, e);
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
    this.#lastError = undefined;
    this.#degraded = undefined;
    this.#pending = undefined;
    this.#monitor.setTargets(config.checks);
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
      const failed = `putting the data plane back to ${back} failed too: ${errText(e)}`;
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
    let countersError: string | undefined;
    try {
      counters = await this.deps.dataplane.counters();
    } catch (e) {
      countersError = errText(e);
    }
    let routing: RoutingStatus;
    try {
      routing = await this.deps.routing.status();
    } catch (e) {
      routing = { adjacency: "unknown", neighbor: "", advertised: [], error: errText(e) };
    }
    const status: AgentStatus = {
      node: this.deps.node,
      release: this.deps.release,
      config: this.#config
        ? { version: this.#config.version, hash: this.#config.hash, appliedAt: this.#appliedAt }
        : null,
      drained: this.#drained,
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
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    if (this.#degraded !== undefined) status.degraded = this.#degraded;
    return status;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
