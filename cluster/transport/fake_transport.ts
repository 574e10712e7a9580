/**
 * A recording fake of the fleet behind `NodeTransport`: every node has an in-memory agent
 * (status, config, apply, drain, undrain, restart into a shipped release, and the rollout lease
 * with its fencing, by the agent's own pure lease rules) and a file system for uploads; every
 * call is recorded. Scriptable failures: a node down, a refused apply, a node whose new release
 * never passes the health gate. Scriptable traffic: how client frames reach a serving node
 * (directly, or only by session sync forwarding), and a drained node's sessions falling while its
 * peers forward its flows' frames to it. It also answers the transport conformance contract
 * (echo, false, cat; `/v1/echo`, `/v1/headers`), so it passes `transportConformance`.
 *
 * @module
 */
import {
  acquireLease,
  AGENT_PATHS,
  type AgentConfig,
  AgentError,
  type AgentStatus,
  checkFence,
  FENCED_PATHS,
  FREE_LEASE,
  LEASE_TOKEN_HEADER,
  LeaseConflictError,
  type LeaseState,
  leaseView,
  NO_SYNC_COUNTERS,
  releaseLease,
  renewLease,
  SWITCH_SCRIPT,
} from "../../dataplane/agent/api.ts";
import { conformanceAgent } from "./transport_conformance_agent.ts";
import {
  type AgentReply,
  type CallOptions,
  type ExecResult,
  type NodeEndpoint,
  type NodeTransport,
  TransportError,
} from "./transport.ts";

/** One fake node. */
export class FakeNode {
  release = "1.0.0";
  config: AgentConfig | null = null;
  drained = false;
  sessions = 0;
  packetsIn = 0;
  drops: Record<string, number> = {};
  adjacency = "Full";
  up = true;
  /** The next restart comes back with this OSPF state (a release that fails its gate). */
  adjacencyAfterRestart = "Full";
  refuseApply: string | null = null;
  /** What the agent reports as `degraded` (null: not degraded). */
  degraded: string | null = null;
  /**
   * How client frames reach the node while it serves (every status read is a moment of traffic):
   * "direct" (packets in rise), "forwards" (it forwards them to the sessions' owners: forwarded
   * out rises, packets in do not), "forwarded" (peers forward frames of its sessions to it), or
   * "none".
   */
  traffic: "direct" | "forwards" | "forwarded" | "none" = "direct";
  /** While drained: sessions that end at every status read. */
  sessionsEndPerRead = 0;
  /** While drained with sessions left: frames its peers forward to it at every status read. */
  forwardedInPerRead = 0;
  /** Session sync totals (reported when the applied configuration turns sync on). */
  records = 0;
  forwardedOut = 0;
  forwardedIn = 0;
  files = new Map<string, Uint8Array>();
  /** The rollout lease as this node's agent keeps it. */
  lease: LeaseState = { ...FREE_LEASE };
  #shipped: string | null = null;
  /** Handed its sessions to its standby: its LIPs are withdrawn until it restarts. */
  handedOver = false;
  /** Whether another node handed over a LIP (the transport tells; a standby acts for it). */
  handedOverLip: (lip: string) => boolean = () => false;

  constructor(readonly name: string) {}

  status(): AgentStatus {
    // A serving node takes traffic: every read sees more of it.
    if (!this.drained) {
      if (this.traffic === "direct") this.packetsIn += 10;
      if (this.traffic === "forwards") this.forwardedOut += 10;
      if (this.traffic === "forwarded") this.forwardedIn += 10;
    } else {
      if (this.sessions > 0) this.forwardedIn += this.forwardedInPerRead;
      this.sessions = Math.max(0, this.sessions - this.sessionsEndPerRead);
    }
    const vips = this.config?.dataplane.services.map((s) => `${s.vip}/32`) ?? [];
    const lips = this.config?.dataplane.localAddresses.map((l) => `${l}/32`) ?? [];
    return {
      node: this.name,
      release: this.release,
      config: this.config
        ? { version: this.config.version, hash: this.config.hash, appliedAt: "t" }
        : null,
      drained: this.drained,
      advertisedVips: this.drained ? [] : vips.map((v) => v.replace("/32", "")),
      withdrawnVips: [],
      counters: {
        sessions: this.sessions,
        packetsIn: this.packetsIn,
        packetsOut: this.packetsIn,
        bytesIn: 0,
        bytesOut: 0,
        drops: { ...this.drops },
        synCookies: { sent: 0, valid: 0, invalid: 0 },
      },
      routing: {
        adjacency: this.adjacency,
        neighbor: "10.0.0.1",
        advertised: [...(this.drained ? [] : vips), ...(this.handedOver ? [] : lips)],
      },
      health: [],
      ...(this.degraded === null ? {} : { degraded: this.degraded }),
      ...(this.config?.dataplane.sync ? { sync: this.#sync(this.config.dataplane.sync) } : {}),
    };
  }

  /** Sync status: every forwarded frame counted against the first peer. */
  #sync(sync: NonNullable<AgentConfig["dataplane"]["sync"]>): NonNullable<AgentStatus["sync"]> {
    return {
      synced: true,
      unanswered: [],
      peers: sync.peers.map((p, i) => ({
        node: p.node,
        snapshotWorkers: 1,
        peerWorkers: 1,
        datagramsReceived: 0,
        recordsReceived: 0,
        forwardedOut: i === 0 ? this.forwardedOut : 0,
        forwardedIn: i === 0 ? this.forwardedIn : 0,
        lastHeardMs: 1,
      })),
      ...NO_SYNC_COUNTERS,
      recordsActive: this.records,
      forwardedOut: this.forwardedOut,
      forwardedIn: this.forwardedIn,
      ...(sync.standby?.length
        ? {
          standby: sync.standby.map((x) => ({ ...x, acting: this.handedOverLip(x.lip) })),
          takeovers: [],
        }
        : {}),
    };
  }

  ship(version: string): void {
    this.#shipped = version;
  }

  restart(): void {
    this.handedOver = false; // a restarted node resyncs and takes its LIPs back
    if (this.#shipped !== null) this.release = this.#shipped;
    this.#shipped = null;
    this.adjacency = this.adjacencyAfterRestart;
  }
}

/** The fake transport over a set of fake nodes. */
export class FakeTransport implements NodeTransport {
  readonly nodes = new Map<string, FakeNode>();
  readonly calls: string[] = [];
  /** The agents' clock (epoch ms) for lease expiry; tests share theirs. */
  clock: () => number = Date.now;

  constructor(names: string[]) {
    for (const n of names) this.nodes.set(n, new FakeNode(n));
    const handedOver = (lip: string) =>
      [...this.nodes.values()].some((o) =>
        o.handedOver && (o.config?.dataplane.localAddresses ?? []).includes(lip)
      );
    for (const n of this.nodes.values()) n.handedOverLip = handedOver;
  }

  node(name: string): FakeNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no fake node ${name}`);
    return n;
  }

  #reach(ep: NodeEndpoint): FakeNode {
    const n = this.nodes.get(ep.name);
    if (!n || !n.up) throw new TransportError(ep.name, "connect", `${ep.name}: connection refused`);
    return n;
  }

  async agent(
    ep: NodeEndpoint,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    opts?: CallOptions,
  ): Promise<AgentReply> {
    this.calls.push(`${ep.name} ${method} ${path}`);
    const n = this.#reach(ep);
    try {
      return await this.#answer(n, method, path, body, opts?.headers ?? {});
    } catch (e) {
      if (!(e instanceof AgentError)) throw e;
      const lease = e instanceof LeaseConflictError ? { lease: e.lease } : {};
      return { status: e.status, body: { error: e.message, ...lease } };
    }
  }

  async #answer(
    n: FakeNode,
    method: "GET" | "POST",
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<AgentReply> {
    const ok = (b: unknown): AgentReply => ({ status: 200, body: b });
    const now = this.clock();
    if (method === "POST" && (FENCED_PATHS as readonly string[]).includes(path)) {
      const token = Object.entries(headers).find(([k]) => k.toLowerCase() === LEASE_TOKEN_HEADER);
      checkFence(n.lease, token?.[1], now, `${method} ${path}`);
    }
    switch (`${method} ${path}`) {
      case `GET ${AGENT_PATHS.lease}`:
        return ok(leaseView(n.lease, now));
      case `POST ${AGENT_PATHS.leaseAcquire}`: {
        const r = acquireLease(n.lease, body, now);
        n.lease = r.state;
        return ok(r.grant);
      }
      case `POST ${AGENT_PATHS.leaseRenew}`: {
        const r = renewLease(n.lease, body, now);
        n.lease = r.state;
        return ok(r.grant);
      }
      case `POST ${AGENT_PATHS.leaseRelease}`: {
        const r = releaseLease(n.lease, body, now);
        n.lease = r.state;
        return ok({ released: r.released, lease: leaseView(r.state, now) });
      }
      case "GET /v1/status":
        // (`version` too: the transport conformance contract reads it)
        return ok({ ...n.status(), lease: leaseView(n.lease, now), version: n.release });
      case "GET /v1/config":
        return n.config
          ? ok(n.config)
          : { status: 404, body: { error: "No configuration applied yet" } };
      case "POST /v1/apply":
        if (n.refuseApply) return { status: 500, body: { error: n.refuseApply } };
        n.config = body as AgentConfig;
        return ok(n.status());
      case "POST /v1/drain":
        n.drained = true;
        return ok(n.status());
      case "POST /v1/undrain":
        n.drained = false;
        n.handedOver = false;
        return ok(n.status());
      case "POST /v1/handover":
        n.drained = true;
        n.handedOver = true;
        return ok(n.status());
      case "POST /v1/restart":
        n.restart();
        return ok({ restarting: true });
    }
    const res = await conformanceAgent(
      new Request(`http://agent${path}`, {
        method,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    return { status: res.status, body: await res.json() };
  }

  async upload(ep: NodeEndpoint, localPath: string, remotePath: string): Promise<void> {
    this.calls.push(`${ep.name} upload ${remotePath}`);
    const n = this.#reach(ep);
    n.files.set(remotePath, await Deno.readFile(localPath));
  }

  exec(ep: NodeEndpoint, argv: string[]): Promise<ExecResult> {
    this.calls.push(`${ep.name} exec ${argv[0]}`);
    let n: FakeNode;
    try {
      n = this.#reach(ep);
    } catch (e) {
      return Promise.reject(e);
    }
    const done = (code: number, stdout = "", stderr = "") =>
      Promise.resolve({ code, stdout, stderr });
    if (argv[0] === "sh" && argv[2] === SWITCH_SCRIPT) return this.#switch(n, argv, done);
    if (argv[0] === "echo") return done(0, argv.slice(1).join(" ") + "\n");
    if (argv[0] === "false") return done(1);
    if (argv[0] === "cat") {
      const f = n.files.get(argv[1]!);
      return f
        ? done(0, new TextDecoder().decode(f))
        : done(1, "", `cat: ${argv[1]}: No such file`);
    }
    return done(127, "", `${argv[0]}: not found`);
  }

  /** What SWITCH_SCRIPT answers: the upload must be there and match the sha256 it is given. */
  async #switch(
    n: FakeNode,
    argv: string[],
    done: (code: number, stdout?: string, stderr?: string) => Promise<ExecResult>,
  ): Promise<ExecResult> {
    const [root, version, sum] = [argv[4]!, argv[5]!, argv[6] ?? ""];
    const tarball = `${root}/releases/${version}.tar.gz`;
    const bytes = n.files.get(tarball);
    if (!bytes) return done(1, "", `switch to release '${version}': ${tarball} is missing`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
    const got = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    if (got !== sum) {
      return done(
        1,
        "",
        `switch to release '${version}': ${tarball} has sha256 ${got}, expected ${sum}`,
      );
    }
    n.ship(version);
    return done(0);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
