/**
 * A scripted in-memory fleet implementing both dashboard ports ({@link FleetReader} and
 * {@link ActionPort}): counters move with the injected clock, drains withdraw a node's VIPs and
 * its sessions fall while its peers forward their frames to it (session sync), rollouts step node
 * by node and can halt and resume. Every port call is
 * recorded in `calls`. For tests, demos and the browser test; the orchestrator supplies the real
 * ports.
 *
 * @example
 * ```ts
 * const fleet = new MemoryFleet({ nodes: 3 });
 * await fleet.drain("node2", "alice");
 * fleet.nextHops(); // ["node1", "node3"]
 * ```
 *
 * @module
 */
import {
  ActionError,
  type ActionPort,
  type FleetReader,
  type FleetSnapshot,
  type NodeState,
  type NodeView,
  type RolloutNodeProgress,
  type RolloutRequest,
  type RolloutView,
  type SyncView,
  type VipView,
} from "./fleet.ts";
import { ROLLOUT_STEPS, type RolloutStep } from "./rollout_words.ts";

/** Options of {@link MemoryFleet}. */
export interface MemoryFleetOptions {
  /** Number of nodes `node1`..`nodeN` (default 3). */
  nodes?: number;
  clock?: () => number;
  /** Time a drain takes to reach `drained` (default 2 s). */
  drainMs?: number;
  /** Time each rollout step takes (default 400 ms). */
  stepMs?: number;
  version?: string;
  configHash?: string;
}

/** One recorded port call. */
export interface RecordedCall {
  method: "read" | "drain" | "undrain" | "startRollout" | "getRollout" | "resumeRollout";
  args: unknown[];
}

interface NodeSim {
  name: string;
  address: string;
  state: NodeState;
  version: string;
  configHash: string;
  reachable: boolean;
  error: string | null;
  advertised: boolean;
  sessions: number;
  packetsIn: number;
  packetsOut: number;
  ppsIn: number;
  ppsOut: number;
  drops: Record<string, number>;
  cookies: { sent: number; valid: number; invalid: number };
  drainStarted: number | null;
  sync: SyncSim;
}

/** A node's session sync: totals, and frames forwarded per peer. */
interface SyncSim {
  records: number;
  recordsSent: number;
  recordsReceived: number;
  lost: number;
  forwardedOutPerSecond: number;
  forwardedInPerSecond: number;
  /** Frames forwarded to / from each peer (totals), by peer name. */
  out: Map<string, number>;
  in: Map<string, number>;
}

/** The steps a node goes through after `pending`, in order (`failed` ends it anywhere). */
const STEPS: readonly RolloutStep[] = ROLLOUT_STEPS.filter((s) =>
  s !== "pending" && s !== "failed"
);

/** Version string from a release path: `/srv/lvs-1.4.2.tar.gz` → `1.4.2`. */
export function releaseVersion(release: string): string {
  const m = /(\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+?)?)(?:\.tar\.gz|\.tgz|\.tar)?$/.exec(release);
  return m ? m[1]! : release;
}

/** In-memory fleet with scripted behaviour; see the module doc. */
export class MemoryFleet implements FleetReader, ActionPort {
  readonly calls: RecordedCall[] = [];
  /** Nodes whose upgrade fails its health gate. */
  readonly failUpgradeOn = new Set<string>();
  readonly #clock: () => number;
  readonly #drainMs: number;
  readonly #stepMs: number;
  readonly #nodes: NodeSim[];
  readonly #rollouts: { view: RolloutView & { nodes: RolloutNodeProgress[] }; stepAt: number }[] =
    [];
  readonly #failNext = new Map<string, Error>();
  #last: number;
  #unreadable: Error | null = null;
  vips: VipView[];

  constructor(options: MemoryFleetOptions = {}) {
    this.#clock = options.clock ?? (() => Date.now());
    this.#drainMs = options.drainMs ?? 2000;
    this.#stepMs = options.stepMs ?? 400;
    this.#last = this.#clock();
    const n = options.nodes ?? 3;
    this.#nodes = Array.from({ length: n }, (_, i) => ({
      name: `node${i + 1}`,
      address: `10.99.0.${11 + i}`,
      state: "active",
      version: options.version ?? "1.0.0",
      configHash: options.configHash ?? "9f2c4e71a0b3d58e6c1f",
      reachable: true,
      error: null,
      advertised: true,
      sessions: 400 + 60 * i,
      packetsIn: 1_000_000 * (i + 1),
      packetsOut: 990_000 * (i + 1),
      ppsIn: 0,
      ppsOut: 0,
      drops: { no_session: 12 + i, bad_checksum: i, ttl_exceeded: 0 },
      cookies: { sent: 5000 + i * 100, valid: 4900 + i * 100, invalid: 3 + i },
      drainStarted: null,
      sync: {
        records: 0,
        recordsSent: 50_000 * (i + 1),
        recordsReceived: 100_000 * (i + 1),
        lost: i,
        forwardedOutPerSecond: 0,
        forwardedInPerSecond: 0,
        out: new Map(),
        in: new Map(),
      },
    }));
    const names = this.#nodes.map((x) => x.name);
    const health = (up: boolean, w: number) =>
      names.map((node) => ({
        node,
        up,
        weight: up ? w : 0,
        detail: up ? "HTTP 200 in 2 ms" : "connect: refused",
      }));
    this.vips = [{
      address: "10.99.100.1",
      port: 80,
      protocol: "tcp",
      scheduler: "wrr",
      synproxy: true,
      toa: true,
      reals: [
        { address: "10.99.1.21", port: 8080, weight: 100, health: health(true, 100) },
        { address: "10.99.1.22", port: 8080, weight: 100, health: health(true, 100) },
        { address: "10.99.1.23", port: 8080, weight: 50, health: health(true, 50) },
      ],
    }, {
      address: "10.99.100.2",
      port: 53,
      protocol: "udp",
      scheduler: "rr",
      synproxy: false,
      toa: false,
      reals: [{ address: "10.99.1.31", port: 53, weight: 1, health: health(true, 1) }],
    }];
  }

  /** Names of nodes the upstream router would use as next hops (reachable, VIPs announced). */
  nextHops(): string[] {
    this.#advance();
    return this.#nodes.filter((n) => n.reachable && n.advertised).map((n) => n.name);
  }

  /** Makes the next call of `method` reject with `error`. */
  failNext(method: RecordedCall["method"], error: Error): void {
    this.#failNext.set(method, error);
  }

  /** Makes a node unreachable (error text shown) or reachable again (error null). */
  setUnreachable(node: string, error: string | null): void {
    const n = this.#node(node);
    n.reachable = error === null;
    n.error = error;
    n.state = error === null ? (n.advertised ? "active" : "drained") : "down";
  }

  /** Sets the config hash a node reports. */
  setConfigHash(node: string, hash: string): void {
    this.#node(node).configHash = hash;
  }

  /** Makes every read reject with `error` (null: readable again). */
  setUnreadable(error: Error | null): void {
    this.#unreadable = error;
  }

  #node(name: string): NodeSim {
    const n = this.#nodes.find((x) => x.name === name);
    if (!n) throw new ActionError(`no node ${name} in the fleet`, { status: 404 });
    return n;
  }

  #call(method: RecordedCall["method"], args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.#failNext.get(method);
    if (err) {
      this.#failNext.delete(method);
      throw err;
    }
    this.#advance();
  }

  /** Moves the simulation to the clock's time. */
  #advance(): void {
    const now = this.#clock();
    const dt = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    for (const [i, n] of this.#nodes.entries()) {
      if (!n.reachable) {
        n.ppsIn = n.ppsOut = 0;
        continue;
      }
      // Slow daily-like swell plus a little jitter: smooth enough to read on a 10-minute chart.
      const wave = 1 + 0.2 * Math.sin(now / 95_000 + i * 1.7) + 0.06 * Math.sin(now / 17_000 + i) +
        0.02 * Math.sin(now / 1_900 + i * 3);
      const carrying = n.advertised && n.state !== "upgrading";
      const base = carrying ? (1800 + 350 * i) * wave : n.sessions * 0.8;
      n.ppsIn = Math.max(0, base);
      n.ppsOut = Math.max(0, base * 0.97);
      n.packetsIn += Math.round(n.ppsIn * dt);
      n.packetsOut += Math.round(n.ppsOut * dt);
      n.drops["no_session"] = (n.drops["no_session"] ?? 0) + Math.round(dt * (carrying ? 1 : 0));
      n.cookies.sent += Math.round(n.ppsIn * dt * 0.02);
      n.cookies.valid += Math.round(n.ppsIn * dt * 0.0195);
      if (carrying) n.sessions = Math.round((420 + 90 * i) * wave);
      else n.sessions = Math.floor(n.sessions * Math.exp(-dt * 3000 / this.#drainMs));
      if (n.state === "draining" && n.drainStarted !== null) {
        if (n.sessions === 0 || now - n.drainStarted >= this.#drainMs) {
          n.state = "drained";
          n.sessions = 0;
        }
      }
    }
    this.#advanceSync(dt);
    for (const r of this.#rollouts) this.#stepRollout(r, now);
  }

  /**
   * Session sync: every node holds records of its peers' sessions; the router hashes some frames
   * of each node's flows to other nodes, which forward them to the owner: a few while it carries
   * traffic, all of a drained node's (it keeps serving its sessions through its peers).
   */
  #advanceSync(dt: number): void {
    const live = this.#nodes.filter((n) => n.reachable);
    const carrying = (n: NodeSim) => n.advertised && n.state !== "upgrading";
    for (const n of live) n.sync.forwardedOutPerSecond = 0;
    for (const n of live) {
      const s = n.sync;
      s.records = live.filter((o) => o !== n).reduce((a, o) => a + o.sessions, 0);
      s.recordsSent += Math.round(n.sessions * dt * 0.05);
      s.recordsReceived += Math.round(s.records * dt * 0.05);
      const forwarders = live.filter((o) => o !== n && carrying(o));
      // A node out of the router's next hops gets its live sessions' frames from its peers.
      const own = carrying(n) ? n.ppsIn * 0.01 : n.sessions * 0.4;
      const rate = forwarders.length === 0 ? 0 : own;
      s.forwardedInPerSecond = rate;
      for (const f of forwarders) {
        const frames = Math.round((rate / forwarders.length) * dt);
        s.in.set(f.name, (s.in.get(f.name) ?? 0) + frames);
        f.sync.out.set(n.name, (f.sync.out.get(n.name) ?? 0) + frames);
        f.sync.forwardedOutPerSecond += rate / forwarders.length;
      }
    }
  }

  #syncView(n: NodeSim): SyncView {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return {
      synced: true,
      unanswered: [],
      records: n.sync.records,
      recordsSent: n.sync.recordsSent,
      recordsReceived: n.sync.recordsReceived,
      lost: n.sync.lost,
      forwardedOut: sum(n.sync.out),
      forwardedIn: sum(n.sync.in),
      forwardedOutPerSecond: n.sync.forwardedOutPerSecond,
      forwardedInPerSecond: n.sync.forwardedInPerSecond,
      peers: this.#nodes.filter((o) => o !== n).map((o) => ({
        node: o.name,
        heard: o.reachable,
        forwardedOut: n.sync.out.get(o.name) ?? 0,
        forwardedIn: n.sync.in.get(o.name) ?? 0,
      })),
    };
  }

  #stepRollout(
    r: { view: RolloutView & { nodes: RolloutNodeProgress[] }; stepAt: number },
    now: number,
  ): void {
    while (r.view.state === "running" && now - r.stepAt >= this.#stepMs) {
      r.stepAt += this.#stepMs;
      const batch = r.view.nodes.filter((p) => p.step !== "done" && p.step !== "failed").slice(
        0,
        r.view.batchSize,
      );
      if (batch.length === 0) {
        r.view = { ...r.view, state: "completed", updatedAt: r.stepAt };
        return;
      }
      for (const p of batch) {
        const n = this.#node(p.node);
        const next = p.step === "pending" ? "draining" : STEPS[STEPS.indexOf(p.step) + 1] ?? "done";
        if (next === "health-gate" && this.failUpgradeOn.has(n.name)) {
          p.step = "failed";
          p.message = "health gate: probe through 10.99.100.1:80 timed out after 5 s";
          p.finishedAt = r.stepAt;
          n.state = "drained";
          r.view = {
            ...r.view,
            state: "halted",
            error:
              `${n.name} failed its health gate; it stays drained, the other nodes keep serving`,
            updatedAt: r.stepAt,
          };
          return;
        }
        p.step = next;
        p.startedAt ??= r.stepAt;
        p.message = {
          draining: "withdrawing VIPs, waiting for sessions",
          shipping: "copying the release over SFTP",
          restarting: "restarting lvs-agent",
          "health-gate": "config hash, OSPF Full, real servers healthy",
          undraining: "announcing VIPs again",
          done: `running ${releaseVersion(r.view.release)}`,
        }[next as Exclude<RolloutStep, "pending" | "failed">] ?? null;
        if (next === "draining") {
          [n.state, n.advertised, n.drainStarted] = ["draining", false, r.stepAt];
        }
        if (next === "shipping" || next === "restarting" || next === "health-gate") {
          n.state = "upgrading";
        }
        if (next === "restarting") n.version = releaseVersion(r.view.release);
        if (next === "undraining") [n.state, n.advertised] = ["active", true];
        if (next === "done") p.finishedAt = r.stepAt;
      }
      r.view = { ...r.view, updatedAt: r.stepAt };
    }
  }

  read(): Promise<FleetSnapshot> {
    try {
      this.#call("read", []);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#unreadable) return Promise.reject(this.#unreadable);
    const vipPrefixes = this.vips.map((v) => `${v.address}/32`);
    const nodes: NodeView[] = this.#nodes.map((n) => ({
      name: n.name,
      address: n.address,
      state: n.state,
      version: n.reachable ? n.version : null,
      configHash: n.reachable ? n.configHash : null,
      reachable: n.reachable,
      error: n.error,
      ospf: n.reachable
        ? {
          adjacency: "Full",
          neighbor: "10.99.0.1",
          advertised: n.advertised ? vipPrefixes : [],
          vipsAdvertised: n.advertised,
        }
        : null,
      stats: n.reachable
        ? {
          sessions: n.sessions,
          ppsIn: n.ppsIn,
          ppsOut: n.ppsOut,
          packetsIn: n.packetsIn,
          packetsOut: n.packetsOut,
          drops: { ...n.drops },
          synCookies: { ...n.cookies },
        }
        : null,
      sync: n.reachable ? this.#syncView(n) : null,
    }));
    return Promise.resolve({
      cluster: "memory-lab",
      takenAt: this.#clock(),
      desiredConfigHash: null,
      nodes,
      vips: structuredClone(this.vips),
      rollouts: this.#rollouts.map((r) => structuredClone(r.view)).reverse(),
    });
  }

  drain(node: string, actor: string): Promise<void> {
    return this.#act("drain", [node, actor], () => {
      const n = this.#node(node);
      if (!n.reachable) {
        throw new ActionError(`${node} is unreachable (${n.error})`, { status: 502 });
      }
      if (n.state !== "active") {
        throw new ActionError(`${node} is ${n.state}, not active`, { status: 409 });
      }
      [n.state, n.advertised, n.drainStarted] = ["draining", false, this.#clock()];
    });
  }

  undrain(node: string, actor: string): Promise<void> {
    return this.#act("undrain", [node, actor], () => {
      const n = this.#node(node);
      if (!n.reachable) {
        throw new ActionError(`${node} is unreachable (${n.error})`, { status: 502 });
      }
      if (n.state !== "drained" && n.state !== "draining") {
        throw new ActionError(`${node} is ${n.state}, not drained`, { status: 409 });
      }
      [n.state, n.advertised, n.drainStarted] = ["active", true, null];
    });
  }

  startRollout(request: RolloutRequest, actor: string): Promise<RolloutView> {
    return this.#act("startRollout", [request, actor], () => {
      const busy = this.#rollouts.find((r) => r.view.state !== "completed");
      if (busy) {
        throw new ActionError(
          `rollout ${busy.view.id} is ${busy.view.state}; resume or finish it first`,
          {
            status: 409,
          },
        );
      }
      const now = this.#clock();
      const view = {
        id: `r${this.#rollouts.length + 1}`,
        release: request.release,
        batchSize: request.batchSize ?? 1,
        state: "running" as const,
        startedBy: actor,
        startedAt: now,
        updatedAt: now,
        error: null,
        nodes: this.#nodes.map((n) => ({
          node: n.name,
          step: "pending" as RolloutStep,
          message: null,
          startedAt: null,
          finishedAt: null,
        })),
      };
      this.#rollouts.push({ view, stepAt: now });
      return structuredClone(view);
    });
  }

  getRollout(id: string): Promise<RolloutView | null> {
    return this.#act("getRollout", [id], () => {
      const r = this.#rollouts.find((x) => x.view.id === id);
      return r ? structuredClone(r.view) : null;
    });
  }

  resumeRollout(id: string, actor: string): Promise<RolloutView> {
    return this.#act("resumeRollout", [id, actor], () => {
      const r = this.#rollouts.find((x) => x.view.id === id);
      if (!r) throw new ActionError(`no rollout ${id}`, { status: 404 });
      if (r.view.state !== "halted") {
        throw new ActionError(`rollout ${id} is ${r.view.state}, not halted`, { status: 409 });
      }
      for (const p of r.view.nodes) {
        if (p.step === "failed") [p.step, p.message] = ["pending", "retrying"];
      }
      r.view = { ...r.view, state: "running", error: null, updatedAt: this.#clock() };
      r.stepAt = this.#clock();
      return structuredClone(r.view);
    });
  }

  #act<T>(method: RecordedCall["method"], args: unknown[], fn: () => T): Promise<T> {
    try {
      this.#call(method, args);
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
