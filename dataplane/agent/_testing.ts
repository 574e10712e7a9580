/**
 * Test doubles for the agent: hand-driven timers, recording fakes of the data plane and routing
 * ports, and an agent built on them. Not part of the public API.
 *
 * @module
 */
import { type DataPlaneConfig, validateConfig } from "../binding/config.ts";
import type { PeerStats } from "../binding/types.ts";
import {
  Agent,
  type AgentConfig,
  type DataPlaneCounters,
  type DataPlanePort,
  NO_SYNC_COUNTERS,
  type RoutingPort,
  type RoutingStatus,
  type SyncCounters,
} from "./agent.ts";
import { HealthMonitor, type ProbeResult, type Timers } from "./health.ts";
import { StateStore } from "./adapters/store.ts";
import { pollUntil } from "../../routing/poll.ts";
import { type NodeRouting, validateNodeRouting } from "../../routing/model.ts";

/** Timers driven by hand: `advance()` runs every due callback and lets probes settle. */
export class ManualTimers implements Timers {
  t = 0;
  #next = 1;
  #due = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#due.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.#due.delete(id as number);
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (const [id, d] of [...this.#due]) {
      if (d.at <= this.t) {
        this.#due.delete(id);
        d.fn();
      }
    }
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
  pending(): number {
    return this.#due.size;
  }
}

/** A peer as the data plane lists it before it was heard. */
export function unheardPeer(node: string): PeerStats {
  return {
    node,
    snapshotWorkers: 0,
    peerWorkers: 0,
    datagramsReceived: 0,
    recordsReceived: 0,
    forwardedOut: 0,
    forwardedIn: 0,
    lastHeardMs: 0,
  };
}

/**
 * Records every snapshot it is given and refuses what the data plane refuses (`validateConfig`);
 * `failNext` makes the next apply throw. With sync on, `peers()` lists every configured peer:
 * as scripted in `peerStats` (by node), else never heard.
 */
export class FakeDataPlane implements DataPlanePort {
  applied: DataPlaneConfig[] = [];
  failNext: string | undefined;
  sessions = 0;
  /** What `peers()` reports of a peer, by its node address (scripted by the test). */
  peerStats = new Map<string, PeerStats>();
  /** How often `requestSync()` was called. */
  syncRequests = 0;
  syncCounters: SyncCounters = { ...NO_SYNC_COUNTERS };
  apply(config: DataPlaneConfig): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      return Promise.reject(new Error(msg));
    }
    try {
      validateConfig(config);
    } catch (e) {
      return Promise.reject(e);
    }
    this.applied.push(structuredClone(config));
    return Promise.resolve();
  }
  requestSync(): Promise<void> {
    if (!this.last?.sync) {
      return Promise.reject(new Error("Cannot ask peers for sessions: sync is off"));
    }
    this.syncRequests++;
    return Promise.resolve();
  }
  /** LIPs taken over, in order. */
  takenOver: string[] = [];
  takeOver(lip: string): Promise<void> {
    if (!this.last?.sync) return Promise.reject(new Error("Cannot take over: sync is off"));
    if (!(this.last.sync.standby ?? []).some((x) => x.lip === lip)) {
      return Promise.reject(new Error(`Cannot take over LIP ${lip}: ENOENT (not a standby LIP)`));
    }
    this.takenOver.push(lip);
    return Promise.resolve();
  }
  peers(): Promise<PeerStats[]> {
    const peers = this.last?.sync?.peers ?? [];
    return Promise.resolve(
      peers.map((p) => structuredClone(this.peerStats.get(p.node) ?? unheardPeer(p.node))),
    );
  }
  counters(): Promise<DataPlaneCounters> {
    return Promise.resolve({
      sessions: this.sessions,
      packetsIn: 0,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      drops: {},
      synCookies: { sent: 0, valid: 0, invalid: 0 },
      sync: { ...this.syncCounters },
    });
  }
  get last(): DataPlaneConfig | undefined {
    return this.applied.at(-1);
  }
}

/** The routing model the fake checks announcements against, as `BirdRouting` renders them. */
const FAKE_NODE_ROUTING: Omit<NodeRouting, "vips" | "lips" | "standbyLips"> = {
  node: "fake",
  routerId: "10.0.0.2",
  uplink: { name: "eth0", hello: 10, dead: 40, cost: 10, priority: 0, bfd: false },
  drained: false,
};

/**
 * Records every announcement; `failNext` makes the next one throw (as BIRD refusing it). Held to
 * `BirdRouting` by the routing port conformance suite: it refuses what BIRD's configuration
 * cannot carry (RangeError, the last announcement kept), reports the node's VIPs, LIPs and
 * standby LIPs as /32 stub networks, and `announcedBy` gives its own stub networks for its own
 * router id.
 */
export class FakeRouting implements RoutingPort {
  announced: Array<{ vips: string[]; lips: string[]; standbyLips?: string[] }> = [];
  failNext: string | undefined;
  #advertised: string[] = [];
  constructor(readonly routerId = FAKE_NODE_ROUTING.routerId) {}
  announce(routes: { vips: string[]; lips: string[]; standbyLips?: string[] }): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      return Promise.reject(new Error(msg));
    }
    let valid;
    try {
      valid = validateNodeRouting({
        ...FAKE_NODE_ROUTING,
        routerId: this.routerId,
        vips: routes.vips,
        lips: routes.lips,
        standbyLips: routes.standbyLips ?? [],
      });
    } catch (e) {
      return Promise.reject(e);
    }
    this.announced.push(structuredClone(routes));
    this.#advertised = [...valid.vips, ...valid.lips, ...valid.standbyLips];
    return Promise.resolve();
  }
  /** What other routers announce, by router id (scripted by the test). */
  others = new Map<string, string[]>();
  announcedBy(routerIds: string[]): Promise<Map<string, string[]>> {
    return Promise.resolve(
      new Map(
        routerIds.map((id) => [
          id,
          [...(id === this.routerId ? this.#advertised : this.others.get(id) ?? [])],
        ]),
      ),
    );
  }
  status(): Promise<RoutingStatus> {
    return Promise.resolve({
      adjacency: "Full",
      neighbor: "10.0.0.1",
      advertised: [...this.#advertised],
    });
  }
  get last(): { vips: string[]; lips: string[]; standbyLips?: string[] } | undefined {
    return this.announced.at(-1);
  }
}

/**
 * An agent on the fakes, its state in `dir`, hand-driven timers for health checks and the sync
 * wait; real servers whose address is in `down` fail their checks.
 */
export async function agentHarness(
  dir: string,
  opts: { down?: Set<string>; syncWaitMs?: number } = {},
) {
  const dp = new FakeDataPlane();
  const routing = new FakeRouting();
  const timers = new ManualTimers();
  const down = opts.down ?? new Set<string>();
  const prober = (t: { address: string }): Promise<ProbeResult> =>
    Promise.resolve(
      down.has(t.address) ? { ok: false, error: "refused" } : { ok: true, error: "" },
    );
  const agent = await Agent.start({
    node: "lb1",
    release: "1.0.0",
    dataplane: dp,
    routing,
    store: new StateStore<AgentConfig>(`${dir}/state.json`),
    health: (onChange) => new HealthMonitor(onChange, prober, timers),
    now: () => new Date("2026-11-25T00:00:00Z"),
    timers,
    ...(opts.syncWaitMs !== undefined ? { syncWaitMs: opts.syncWaitMs } : {}),
  });
  return { agent, dp, routing, timers };
}

/** Waits (bounded) until `cond` holds: re-applies after a health change do file I/O. */
export async function eventually(cond: () => boolean, what: string): Promise<void> {
  await pollUntil(() => cond() || null, { timeoutMs: 5000, everyMs: 5, what });
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
