/**
 * A recording fake of the fleet behind `NodeTransport`: every node has an in-memory agent
 * (status, config, apply, drain, undrain, restart into a shipped release) and a file system for
 * uploads; every call is recorded. Scriptable failures: a node down, a refused apply, a node
 * whose new release never passes the health gate. It also answers the transport conformance
 * contract (echo, false, cat; `/v1/echo`), so it passes `transportConformance`.
 *
 * @module
 */
import type { AgentConfig, AgentStatus } from "../../dataplane/agent/api.ts";
import { conformanceAgent } from "./transport_conformance_agent.ts";
import { SWITCH_SCRIPT } from "../../dataplane/agent/api.ts";
import {
  type AgentReply,
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
  files = new Map<string, Uint8Array>();
  #shipped: string | null = null;
  constructor(readonly name: string) {}

  status(): AgentStatus {
    // A serving node takes traffic: every read sees more packets.
    if (!this.drained) this.packetsIn += 10;
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
        advertised: [...(this.drained ? [] : vips), ...lips],
      },
      health: [],
      ...(this.degraded === null ? {} : { degraded: this.degraded }),
    };
  }

  ship(version: string): void {
    this.#shipped = version;
  }

  restart(): void {
    if (this.#shipped !== null) this.release = this.#shipped;
    this.#shipped = null;
    this.adjacency = this.adjacencyAfterRestart;
  }
}

/** The fake transport over a set of fake nodes. */
export class FakeTransport implements NodeTransport {
  readonly nodes = new Map<string, FakeNode>();
  readonly calls: string[] = [];

  constructor(names: string[]) {
    for (const n of names) this.nodes.set(n, new FakeNode(n));
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
  ): Promise<AgentReply> {
    this.calls.push(`${ep.name} ${method} ${path}`);
    const n = this.#reach(ep);
    const ok = (b: unknown): AgentReply => ({ status: 200, body: b });
    switch (`${method} ${path}`) {
      case "GET /v1/status":
        // (`version` too: the transport conformance contract reads it)
        return ok({ ...n.status(), version: n.release });
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
        return ok(n.status());
      case "POST /v1/restart":
        n.restart();
        return ok({ restarting: true });
    }
    const res = await conformanceAgent(
      new Request(`http://agent${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
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
