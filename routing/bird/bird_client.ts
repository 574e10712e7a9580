/**
 * The BIRD control-socket client (I/O adapter): speaks BIRD's protocol over its Unix socket
 * directly (no `birdc`), one command at a time, with deadlines.
 *
 * @module
 */
import { BirdConnectionError, type BirdReply, checkReply, ReplyReader } from "../bird_reply.ts";

/** Options for `BirdClient.connect`. */
export interface BirdConnectOptions {
  /** Deadline for connecting and reading the greeting, in ms (default 2000). */
  timeoutMs?: number;
}

/** Anything that can run BIRD commands (the real client, or a recording fake). */
export interface BirdCommander {
  /** Sends one command and returns its reply; throws `BirdError` on 8xxx/9xxx. */
  command(cmd: string, opts?: { timeoutMs?: number }): Promise<BirdReply>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function deadline<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new BirdConnectionError(`${what}: no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * A connection to one BIRD daemon's control socket.
 *
 * @example
 * ```ts
 * const bird = await BirdClient.connect("/run/bird/bird.ctl");
 * try {
 *   const reply = await bird.command("show protocols");
 * } finally {
 *   bird.close();
 * }
 * ```
 */
export class BirdClient implements BirdCommander {
  #conn: Deno.UnixConn;
  #buf = "";
  #reader = new ReplyReader();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** The greeting line, e.g. "BIRD 2.0.12 ready.". */
  greeting = "";

  private constructor(conn: Deno.UnixConn, readonly path: string) {
    this.#conn = conn;
  }

  /** Connects and reads the `0001` greeting within the deadline. */
  static async connect(path: string, opts: BirdConnectOptions = {}): Promise<BirdClient> {
    const ms = opts.timeoutMs ?? 2000;
    let conn: Deno.UnixConn;
    try {
      conn = await deadline(
        Deno.connect({ transport: "unix", path }),
        ms,
        `Cannot connect to BIRD at ${path}`,
        () => {},
      );
    } catch (e) {
      if (e instanceof BirdConnectionError) throw e;
      throw new BirdConnectionError(`Cannot connect to BIRD at ${path}: ${String(e)}`, {
        cause: e,
      });
    }
    const client = new BirdClient(conn, path);
    try {
      const hello = await deadline(
        client.#readReply(),
        ms,
        `Cannot read BIRD greeting at ${path}`,
        () => client.close(),
      );
      if (hello.code !== 1) {
        throw new BirdConnectionError(
          `Cannot use BIRD at ${path}: expected greeting 0001, got ${hello.code}`,
        );
      }
      client.greeting = hello.lines[0]?.text ?? "";
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /**
   * Sends one command and collects the reply; throws `BirdError` for 8xxx/9xxx replies and
   * `BirdConnectionError` when the deadline passes (the connection is then closed).
   */
  command(cmd: string, opts: { timeoutMs?: number } = {}): Promise<BirdReply> {
    if (/[\n\r]/.test(cmd)) {
      return Promise.reject(
        new TypeError(`Cannot send BIRD command ${JSON.stringify(cmd)}: it contains a newline`),
      );
    }
    const run = async () => {
      if (this.#closed) {
        throw new BirdConnectionError(`Cannot send "${cmd}": connection to ${this.path} is closed`);
      }
      const ms = opts.timeoutMs ?? 5000;
      const reply = await deadline(
        (async () => {
          await this.#writeAll(encoder.encode(cmd + "\n"));
          return await this.#readReply();
        })(),
        ms,
        `BIRD command "${cmd}" at ${this.path}`,
        () => this.close(),
      );
      return checkReply(cmd, reply);
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  async #readReply(): Promise<BirdReply> {
    const chunk = new Uint8Array(16384);
    for (;;) {
      let nl: number;
      while ((nl = this.#buf.indexOf("\n")) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        const reply = this.#reader.push(line);
        if (reply) return reply;
      }
      const n = await this.#conn.read(chunk);
      if (n === null) {
        throw new BirdConnectionError(`BIRD at ${this.path} closed the connection mid-reply`);
      }
      this.#buf += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  }
}

/** Connects, runs `fn`, and always closes the connection. */
export async function withBird<T>(
  path: string,
  fn: (bird: BirdClient) => Promise<T>,
  opts: BirdConnectOptions = {},
): Promise<T> {
  const bird = await BirdClient.connect(path, opts);
  try {
    return await fn(bird);
  } finally {
    bird.close();
  }
}
