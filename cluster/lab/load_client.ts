/**
 * The lab's load client: both shapes of load a production load balancer carries, counted so
 * that a broken connection cannot hide.
 *
 * - Long-lived: `--long N` keep-alive HTTP connections, each sending one request a second for
 *   the whole run. A connection that errors, closes, or does not answer within `--timeout-ms`
 *   counts as broken (it is not reopened: a user's connection that broke stays broken).
 * - New: `--rate R` connections a second, each with one request (`Connection: close`). One that
 *   fails to connect or to answer in time counts as failed.
 *
 * Runs inside the lab's client namespace (`ip netns exec lvl-client deno run -A
 * cluster/lab/load_client.ts --target 10.77.100.1:80 --long 1000 --rate 200 --seconds 60`),
 * prints a progress line a second on stderr and one JSON summary on stdout. Bounded in time and
 * count; it only ever talks to `--target` (an address of the lab).
 *
 * @module
 */
import { errorText } from "../../routing/errors.ts";

/** What a run counted. */
export interface LoadSummary {
  seconds: number;
  long: { opened: number; broken: number; requests: number; failedToOpen: number };
  new: { attempted: number; failed: number };
  /** Why connections broke or failed (first 20 reasons, with counts). */
  reasons: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /**
   * New connections that failed or took over a second, as [start second, milliseconds or -1
   * for failed] (the first 2,000): when an outage began and when new connections were served
   * again.
   */
  impaired: Array<[number, number]>;
}

/** Command line options. */
export interface LoadOptions {
  host: string;
  port: number;
  long: number;
  rate: number;
  seconds: number;
  timeoutMs: number;
  path: string;
}

/** Parses `--target host:port --long N --rate R --seconds S [--timeout-ms T] [--path P]`. */
export function parseLoadArgs(args: string[]): LoadOptions {
  const get = (flag: string, dflt?: string) => {
    const i = args.indexOf(flag);
    const v = i >= 0 ? args[i + 1] : dflt;
    if (v === undefined) throw new TypeError(`load client: ${flag} is required`);
    return v;
  };
  const int = (flag: string, dflt: string, min: number, max: number) => {
    const v = Number(get(flag, dflt));
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`load client: ${flag} must be a whole number in ${min}..${max}`);
    }
    return v;
  };
  const target = get("--target");
  const m = /^([^:]+):(\d+)$/.exec(target);
  if (!m) throw new TypeError(`load client: --target must be host:port, got ${target}`);
  return {
    host: m[1]!,
    port: Number(m[2]),
    long: int("--long", "0", 0, 20000),
    rate: int("--rate", "0", 0, 5000),
    seconds: int("--seconds", "10", 1, 3600),
    timeoutMs: int("--timeout-ms", "3000", 100, 60000),
    path: get("--path", "/"),
  };
}

/**
 * Reads one HTTP/1.1 response from `buf` (headers and a Content-Length body). Returns the
 * bytes it took and the status, or null when more bytes are needed.
 */
export function takeResponse(buf: Uint8Array): { used: number; status: number } | null {
  const text = new TextDecoder("latin1").decode(buf);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? NaN);
  if (!Number.isInteger(status)) throw new SyntaxError("not an HTTP response");
  const len = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN);
  if (!Number.isInteger(len)) throw new SyntaxError("a response without Content-Length");
  const used = end + 4 + len;
  return buf.length >= used ? { used, status } : null;
}

class Counters {
  summary: LoadSummary = {
    seconds: 0,
    long: { opened: 0, broken: 0, requests: 0, failedToOpen: 0 },
    new: { attempted: 0, failed: 0 },
    reasons: {},
    latencyMs: { p50: 0, p99: 0, max: 0 },
    impaired: [],
  };
  t0 = Date.now();
  impaired(startMs: number, ms: number): void {
    if (this.summary.impaired.length < 2000) {
      this.summary.impaired.push([Math.round((startMs - this.t0) / 100) / 10, Math.round(ms)]);
    }
  }
  latencies: number[] = [];
  reason(r: string): void {
    const reasons = this.summary.reasons;
    if (r in reasons || Object.keys(reasons).length < 20) reasons[r] = (reasons[r] ?? 0) + 1;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** One request on an open connection; resolves with the status. */
async function request(
  conn: Deno.TcpConn,
  o: LoadOptions,
  close: boolean,
  pending: { buf: Uint8Array },
): Promise<number> {
  const req = `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}\r\n${
    close ? "Connection: close\r\n" : ""
  }\r\n`;
  await conn.write(new TextEncoder().encode(req));
  const chunk = new Uint8Array(4096);
  for (;;) {
    const got = takeResponse(pending.buf);
    if (got) {
      pending.buf = pending.buf.slice(got.used);
      return got.status;
    }
    const n = await conn.read(chunk);
    if (n === null) throw new Error("closed by the peer");
    const next = new Uint8Array(pending.buf.length + n);
    next.set(pending.buf);
    next.set(chunk.subarray(0, n), pending.buf.length);
    pending.buf = next;
  }
}

async function longLived(o: LoadOptions, c: Counters, until: number, startDelayMs: number) {
  await new Promise((r) => setTimeout(r, startDelayMs));
  let conn: Deno.TcpConn;
  try {
    conn = await withTimeout(
      Deno.connect({ hostname: o.host, port: o.port }),
      o.timeoutMs,
      "connect",
    );
  } catch (e) {
    c.summary.long.failedToOpen++;
    c.reason(`open: ${errorText(e)}`);
    return;
  }
  c.summary.long.opened++;
  const pending = { buf: new Uint8Array(0) };
  try {
    while (Date.now() < until) {
      const t0 = performance.now();
      const status = await withTimeout(request(conn, o, false, pending), o.timeoutMs, "request");
      if (status !== 200) throw new Error(`status ${status}`);
      c.latencies.push(performance.now() - t0);
      c.summary.long.requests++;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t0))));
    }
  } catch (e) {
    c.summary.long.broken++;
    c.reason(`long: ${errorText(e)}`);
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

async function oneShot(o: LoadOptions, c: Counters): Promise<void> {
  c.summary.new.attempted++;
  let conn: Deno.TcpConn | undefined;
  const start = Date.now();
  const t0 = performance.now();
  try {
    conn = await withTimeout(
      Deno.connect({ hostname: o.host, port: o.port }),
      o.timeoutMs,
      "connect",
    );
    const status = await withTimeout(
      request(conn, o, true, { buf: new Uint8Array(0) }),
      o.timeoutMs,
      "request",
    );
    if (status !== 200) throw new Error(`status ${status}`);
    const ms = performance.now() - t0;
    c.latencies.push(ms);
    if (ms > 1000) c.impaired(start, ms);
  } catch (e) {
    c.summary.new.failed++;
    c.reason(`new: ${errorText(e)}`);
    c.impaired(start, -1);
  } finally {
    try {
      conn?.close();
    } catch { /* already closed */ }
  }
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs the load; calls `progress` once a second. */
export async function runLoad(
  o: LoadOptions,
  progress: (s: LoadSummary) => void = () => {},
): Promise<LoadSummary> {
  const c = new Counters();
  const t0 = c.t0;
  const until = t0 + o.seconds * 1000;
  // Long-lived connections open over the first second (not all in one burst).
  const tasks: Promise<void>[] = [];
  for (let i = 0; i < o.long; i++) {
    tasks.push(longLived(o, c, until, Math.floor((i * 1000) / Math.max(1, o.long))));
  }
  const shots: Promise<void>[] = [];
  const tick = setInterval(() => {
    c.summary.seconds = (Date.now() - t0) / 1000;
    progress(c.summary);
  }, 1000);
  if (o.rate > 0) {
    const every = 1000 / o.rate;
    for (let k = 0; Date.now() < until; k++) {
      const due = t0 + k * every;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (Date.now() >= until) break;
      shots.push(oneShot(o, c));
    }
  }
  await Promise.all([...tasks, ...shots]);
  clearInterval(tick);
  const sorted = c.latencies.sort((x, y) => x - y);
  c.summary.seconds = (Date.now() - t0) / 1000;
  c.summary.latencyMs = {
    p50: Math.round(percentile(sorted, 0.5) * 10) / 10,
    p99: Math.round(percentile(sorted, 0.99) * 10) / 10,
    max: Math.round((sorted[sorted.length - 1] ?? 0) * 10) / 10,
  };
  return c.summary;
}

if (import.meta.main) {
  try {
    const o = parseLoadArgs(Deno.args);
    const s = await runLoad(o, (p) =>
      console.error(
        `load: ${
          p.seconds.toFixed(0)
        } s: long ${p.long.opened} open, ${p.long.broken} broken, ${p.long.requests} requests; new ${p.new.attempted}, ${p.new.failed} failed`,
      ));
    console.log(JSON.stringify(s));
  } catch (e) {
    console.error(errorText(e));
    Deno.exit(2);
  }
}
