/**
 * The production {@linkcode NodeTransport}: SSH with `npm:ssh2`. Keys only; the host key is
 * checked against the node's pinned `hostKey` or its `knownHosts` file before anything is
 * sent; the agent's Unix socket is reached through OpenSSH stream-local forwarding
 * (`direct-streamlocal@openssh.com`), so the agent never listens on the network; releases are
 * copied over SFTP and renamed into place atomically.
 *
 * One connection per node is opened on first use and reused (and reopened after it drops). At
 * most `concurrency` calls run at once across all nodes (and at most `perNodeConcurrency` on
 * one node, below OpenSSH's `MaxSessions` of 10); each call has a deadline (`timeoutMs`)
 * that starts when it gets its slot. Connection attempts that fail for network reasons are
 * retried with exponential backoff inside the deadline; host key and authentication failures
 * are not, and no request is ever sent twice.
 *
 * @example
 * ```ts
 * const t = new SshTransport({ concurrency: 8 });
 * try {
 *   const { status, body } = await t.agent(node, "GET", "/v1/status");
 * } finally {
 *   await t.close();
 * }
 * ```
 *
 * @module
 */
import type { Client } from "ssh2";
import {
  type AgentReply,
  type CallOptions,
  type ExecResult,
  type NodeEndpoint,
  type NodeTransport,
  TransportError,
} from "./transport.ts";
import { decodeJsonBody, encodeRequest, httpExchange, jsonRequest } from "./http_over_stream.ts";
import { shellCommandLine } from "./ssh_transport_shell.ts";
import { type Backoff, Limiter } from "./ssh_transport_policy.ts";
import { connectNode, where } from "./ssh_transport_connect.ts";
import {
  channelDuplex,
  collectExec,
  openExec,
  openSftp,
  openStreamLocal,
  sftpAtomicWrite,
} from "./ssh_transport_io.ts";
import { errorText } from "../../routing/errors.ts";

/** Tuning for {@linkcode SshTransport}; every field has a production default. */
export interface SshTransportOptions {
  /** Calls in flight at once across all nodes (default 8). */
  concurrency?: number;
  /**
   * Calls in flight at once on one node (default 8): sshd refuses session channels beyond its
   * `MaxSessions` (10 by default) per connection.
   */
  perNodeConcurrency?: number;
  /** Default deadline of one call in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Extra connection attempts after a retryable failure (default 3). */
  connectRetries?: number;
  /** Backoff between connection attempts (default 250 ms doubling up to 4 s, jittered). */
  backoff?: Backoff;
  /** SSH keepalive interval in ms to notice dead connections (default 15 000; 0 = off). */
  keepaliveMs?: number;
  /** Largest stdout + stderr an `exec` may return (default 16 MiB). */
  maxOutputBytes?: number;
  /**
   * Also enforce `exec` deadlines on the node by running argv under coreutils
   * `timeout --kill-after=5s <deadline + 1 s>` (default true). sshd does not deliver SSH
   * `signal` requests to root sessions, so without this a command that outlives its deadline
   * keeps running on the node.
   */
  remoteTimeout?: boolean;
  /** Random source for backoff jitter (tests pass a fixed one). */
  random?: () => number;
}

/** What a call is doing, for the deadline's message. */
interface CallContext {
  signal: AbortSignal;
  /** `performance.now()` value by which the call must be done. */
  deadline: number;
  phase: string;
}

interface Conn {
  signature: string;
  client: Promise<Client>;
  alive: boolean;
  end(): void;
}

/** `e` as an I/O failure of `what` on a node (a TransportError already is one and stays as it is). */
function ioError(
  node: NodeEndpoint,
  what: string,
  e: unknown,
  detail = errorText(e),
): TransportError {
  if (e instanceof TransportError) return e;
  return new TransportError(node.name, "io", `Cannot ${what} on node ${node.name}: ${detail}`, {
    cause: e,
  });
}

/** {@linkcode NodeTransport} over SSH (see the module documentation). */
export class SshTransport implements NodeTransport {
  #conns = new Map<string, Conn>();
  #limiter: Limiter;
  #perNode = new Map<string, Limiter>();
  #perNodeLimit: number;
  #timeoutMs: number;
  #retries: number;
  #backoff: Backoff;
  #keepaliveMs: number;
  #maxOutput: number;
  #remoteTimeout: boolean;
  #random: () => number;
  #generation = 0;

  /** Creates a transport; no connection is opened before the first call. */
  constructor(opts: SshTransportOptions = {}) {
    this.#limiter = new Limiter(opts.concurrency ?? 8);
    this.#perNodeLimit = opts.perNodeConcurrency ?? 8;
    new Limiter(this.#perNodeLimit); // validates the value now rather than on first use
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#retries = opts.connectRetries ?? 3;
    this.#backoff = opts.backoff ?? { baseMs: 250, maxMs: 4_000 };
    this.#keepaliveMs = opts.keepaliveMs ?? 15_000;
    this.#maxOutput = opts.maxOutputBytes ?? 16 * 1024 * 1024;
    this.#remoteTimeout = opts.remoteTimeout ?? true;
    this.#random = opts.random ?? Math.random;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be > 0, got ${this.#timeoutMs}`);
    }
  }

  /** Calls in flight and waiting for a slot (for progress displays and tests). */
  get load(): { active: number; waiting: number } {
    let waiting = this.#limiter.waiting;
    for (const l of this.#perNode.values()) waiting += l.waiting;
    return { active: this.#limiter.active, waiting };
  }

  /**
   * Sends one HTTP request to the agent's socket through the node's SSH connection. Non-2xx
   * answers are returned; transport failures reject with a {@linkcode TransportError}. The
   * request is never sent twice: a timeout after sending says the outcome is unknown.
   */
  async agent(
    node: NodeEndpoint,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    opts?: CallOptions,
  ): Promise<AgentReply> {
    const req = jsonRequest(method, path, body);
    req.headers = { ...req.headers, ...opts?.headers };
    encodeRequest(req); // argument errors (bad path, unserializable body) throw here
    const what = `call ${method} ${path} on the agent`;
    return await this.#call(node, what, opts, async (ctx) => {
      const ch = await this.#openChannel(
        node,
        ctx,
        (c) => openStreamLocal(c, node.agentSocket),
        (e) =>
          new TransportError(
            node.name,
            "agent",
            `Cannot ${what} of node ${node.name}: the agent socket ${node.agentSocket} ` +
              `cannot be opened over SSH (${errorText(e)})`,
            { cause: e },
          ),
      );
      ctx.phase = "sending the request";
      try {
        const res = await httpExchange(channelDuplex(ch, ctx.signal), req, () => {
          ctx.phase = method === "GET"
            ? "waiting for the answer"
            : "waiting for the answer; the request was sent, whether it took effect is unknown";
        });
        return { status: res.status, body: decodeJsonBody(res) };
      } catch (e) {
        if (e instanceof TransportError) throw e;
        const bad = e instanceof SyntaxError || e instanceof RangeError;
        throw new TransportError(
          node.name,
          bad ? "agent" : "io",
          `Cannot ${what} of node ${node.name}: ${bad ? "bad HTTP answer" : "the stream failed"}` +
            ` (${ctx.phase}): ${errorText(e)}`,
          { cause: e },
        );
      }
    });
  }

  /**
   * Copies a local file to the node over SFTP: parents created (0755), written to
   * `<remotePath>.tmp-<random>` with the local file's mode, fsynced, renamed over the target.
   */
  async upload(
    node: NodeEndpoint,
    localPath: string,
    remotePath: string,
    opts?: CallOptions,
  ): Promise<void> {
    if (remotePath === "" || remotePath.endsWith("/")) {
      throw new TypeError(`Cannot upload to "${remotePath}": the remote path must name a file`);
    }
    const what = `upload ${localPath} to ${remotePath}`;
    return await this.#call(node, what, opts, async (ctx) => {
      let file: Deno.FsFile, mode: number;
      try {
        file = await Deno.open(localPath, { read: true });
        mode = ((await file.stat()).mode ?? 0o644) & 0o777;
      } catch (e) {
        throw new TransportError(node.name, "io", `Cannot ${what}: ${errorText(e)}`, { cause: e });
      }
      try {
        const sftp = await this.#openChannel(
          node,
          ctx,
          openSftp,
          (e) => ioError(node, what, e, `the SFTP subsystem cannot be started (${errorText(e)})`),
        );
        // On a deadline the upload stops between writes and removes its temporary file; the
        // session is ended after a grace period in case the server stopped answering.
        let grace: ReturnType<typeof setTimeout> | undefined;
        const onAbort = () => (grace = setTimeout(() => sftp.end(), 2000));
        ctx.signal.addEventListener("abort", onAbort, { once: true });
        ctx.phase = "uploading";
        try {
          await sftpAtomicWrite(sftp, remotePath, file, mode, ctx.signal);
        } catch (e) {
          throw ioError(node, what, e);
        } finally {
          ctx.signal.removeEventListener("abort", onAbort);
          clearTimeout(grace);
          sftp.end();
        }
      } finally {
        file.close();
      }
    });
  }

  /**
   * Runs argv on the node (each item quoted into one word for the remote shell) and returns
   * its exit code and output; a non-zero exit is a result, not an error. On the deadline the
   * remote process is sent SIGTERM (see `remoteTimeout`).
   */
  async exec(node: NodeEndpoint, argv: string[], opts?: CallOptions): Promise<ExecResult> {
    const line = shellCommandLine(argv);
    const what = `run ${line}`;
    const seconds = Math.ceil((opts?.timeoutMs ?? this.#timeoutMs) / 1000) + 1;
    const remote = this.#remoteTimeout
      ? shellCommandLine(["timeout", "--kill-after=5s", `${seconds}s`, ...argv])
      : line;
    return await this.#call(node, what, opts, async (ctx) => {
      const ch = await this.#openChannel(
        node,
        ctx,
        (c) => openExec(c, remote),
        (e) => ioError(node, what, e, `the server refused the session (${errorText(e)})`),
      );
      ctx.phase = "running the command";
      try {
        const r = await collectExec(ch, ctx.signal, this.#maxOutput);
        const dec = new TextDecoder();
        return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
      } catch (e) {
        throw ioError(node, what, e);
      }
    });
  }

  /**
   * Ends every connection (calls in flight fail) and waits until they are closed. The transport
   * stays usable: a later call opens a new connection.
   */
  async close(): Promise<void> {
    this.#generation++;
    const conns = [...this.#conns.values()];
    this.#conns.clear();
    await Promise.all(conns.map(async (c) => {
      const client = await c.client.catch(() => null);
      if (!client) return;
      await new Promise<void>((resolve) => {
        if (!c.alive) return resolve();
        client.once("close", () => resolve());
        c.end();
      });
    }));
  }

  /**
   * Runs one call under the per-node and global limits (the node's slot is taken first so that
   * a call queued behind its own node does not hold a global slot) and its deadline.
   */
  #call<T>(
    node: NodeEndpoint,
    what: string,
    opts: CallOptions | undefined,
    fn: (ctx: CallContext) => Promise<T>,
  ): Promise<T> {
    let nodeLimiter = this.#perNode.get(node.name);
    if (!nodeLimiter) this.#perNode.set(node.name, nodeLimiter = new Limiter(this.#perNodeLimit));
    return nodeLimiter.run(() =>
      this.#limiter.run(async () => {
        const ms = opts?.timeoutMs ?? this.#timeoutMs;
        const ac = new AbortController();
        const ctx: CallContext = {
          signal: ac.signal,
          deadline: performance.now() + ms,
          phase: "connecting",
        };
        let timer: ReturnType<typeof setTimeout> | undefined;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = new TransportError(
              node.name,
              "timeout",
              `Cannot ${what} on node ${node.name} (${where(node)}): no result within ${ms} ms ` +
                `(while ${ctx.phase})`,
            );
            ac.abort(err);
            reject(err);
          }, ms);
        });
        const work = fn(ctx);
        work.catch(() => {}); // settled later than the deadline: already reported as a timeout
        try {
          return await Promise.race([work, expired]);
        } finally {
          clearTimeout(timer);
        }
      })
    );
  }

  /**
   * Opens a channel on the node's connection. If the cached connection turns out to be dead
   * when the channel is opened (nothing was sent through it yet), it reconnects once. A call
   * that joined a connection attempt started by another call (with an earlier deadline) and
   * saw it fail for network reasons tries once more on its own deadline.
   */
  async #openChannel<C>(
    node: NodeEndpoint,
    ctx: CallContext,
    open: (c: Client) => Promise<C>,
    refused: (e: unknown) => TransportError,
  ): Promise<C> {
    let reopened = false, rejoined = false;
    for (;;) {
      ctx.phase = "connecting";
      const { conn, joined } = this.#connection(node, ctx.deadline);
      let client: Client;
      try {
        client = await conn.client;
      } catch (e) {
        const again = joined && !rejoined && e instanceof TransportError &&
          (e.kind === "connect" || e.kind === "timeout") && !ctx.signal.aborted &&
          performance.now() < ctx.deadline;
        if (!again) throw e;
        rejoined = true;
        continue;
      }
      if (ctx.signal.aborted) throw ctx.signal.reason;
      ctx.phase = "opening a channel";
      try {
        return await open(client);
      } catch (e) {
        const stale = !conn.alive || /Not connected|No response/i.test(errorText(e));
        if (stale && !reopened) {
          reopened = true;
          this.#drop(node.name, conn);
          continue;
        }
        throw refused(e);
      }
    }
  }

  #drop(name: string, conn: Conn): void {
    if (this.#conns.get(name) === conn) this.#conns.delete(name);
    conn.end();
  }

  /**
   * The node's connection: the cached one (`joined`, possibly still connecting), or a new one
   * (with retries up to `deadline`) when there is none or the endpoint changed.
   */
  #connection(node: NodeEndpoint, deadline: number): { conn: Conn; joined: boolean } {
    const signature = JSON.stringify([
      node.host,
      node.port,
      node.user,
      node.keyFile,
      node.hostKey ?? null,
      node.knownHosts ?? null,
    ]);
    const cur = this.#conns.get(node.name);
    if (cur && cur.signature === signature && cur.alive) return { conn: cur, joined: true };
    if (cur) this.#drop(node.name, cur);
    let client: Client | null = null;
    const generation = this.#generation;
    const conn: Conn = {
      signature,
      alive: true,
      client: connectNode(node, {
        deadline,
        retries: this.#retries,
        backoff: this.#backoff,
        random: this.#random,
        keepaliveMs: this.#keepaliveMs,
        current: () => generation === this.#generation,
        track: (c) => (client = c),
      }),
      end: () => {
        conn.alive = false;
        client?.end();
      },
    };
    this.#conns.set(node.name, conn);
    conn.client.then((c) => {
      c.on("close", () => this.#drop(node.name, conn));
      c.on("error", () => this.#drop(node.name, conn));
    }, () => this.#drop(node.name, conn));
    return { conn, joined: false };
  }
}
