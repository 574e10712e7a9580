/**
 * The dashboard's I/O shell: serves {@link createDashboard}'s app with `Deno.serve` (HTTPS when
 * given a certificate and key; then session cookies are `Secure`) and samples the fleet into the
 * history on a timer, so the charts fill even while nobody watches. The sampler reads through the
 * app's fleet cache (`fleet_cache.ts`), so it shares reads with the pages and live streams. Plain HTTP is served only on a
 * loopback address (or a tunnel to it) unless the caller says `insecure`: operator tokens and
 * session cookies must not cross a network in clear text.
 *
 * @example
 * ```ts
 * const server = serveDashboard({
 *   port: 8080,
 *   deps: { reader, actions, audit: new FileAuditLog("audit.jsonl"), operators },
 * });
 * console.log(server.url); // http://127.0.0.1:8080/
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { createDashboard, type Dashboard, type DashboardDeps } from "./app.ts";
import { FleetHistory } from "./history.ts";

/** Options of {@link serveDashboard}. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to listen on (default `127.0.0.1`: the dashboard is for localhost or a tunnel). */
  hostname?: string;
  deps: DashboardDeps;
  /** How often the fleet is sampled into the history (default: the history's interval). */
  sampleIntervalMs?: number;
  /** Called once the socket listens. */
  onListen?: (url: string) => void;
  /** PEM certificate (chain) and private key: serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Serve plain HTTP on a non-loopback address anyway (tokens and cookies in clear text). */
  insecure?: boolean;
}

/** Whether `hostname` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why the dashboard must not listen on `hostname` as asked, or null when it may: plain HTTP on
 * a non-loopback address is refused unless `insecure`.
 */
export function plainHttpRefusal(
  hostname: string,
  port: number,
  o: { tls: boolean; insecure: boolean },
): string | null {
  if (o.tls || o.insecure || isLoopback(hostname)) return null;
  return `Refusing to serve the dashboard on ${hostname}:${port} over plain HTTP: operator ` +
    `tokens and session cookies would cross the network in clear text. Name a certificate and ` +
    `key in the cluster file (dashboard.tls: { cert, key }), listen on a loopback address ` +
    `(127.0.0.1) behind an SSH tunnel, or pass --insecure`;
}

/** A running dashboard. */
export interface DashboardServer {
  /** `http://host:port/` (`https://` with TLS). */
  url: string;
  port: number;
  history: FleetHistory;
  /** Stops sampling, closes live streams and the socket. */
  shutdown(): Promise<void>;
}

/** Host values a browser sends for this listener; null for a wildcard address (any host). */
function hostsFor(hostname: string, port: number): string[] | null {
  if (hostname === "0.0.0.0" || hostname === "::" || hostname === "[::]") return null;
  const names = hostname === "127.0.0.1" || hostname === "localhost"
    ? ["127.0.0.1", "localhost"]
    : hostname === "::1"
    ? ["[::1]", "localhost"]
    : [hostname.includes(":") ? `[${hostname}]` : hostname];
  return names.map((n) => `${n}:${port}`);
}

/**
 * Serves the dashboard on `hostname:port`. Throws RangeError for plain HTTP on a non-loopback
 * address without `insecure` (see {@link plainHttpRefusal}).
 */
export function serveDashboard(options: ServeOptions): DashboardServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const refusal = plainHttpRefusal(hostname, options.port, {
    tls: options.tls !== undefined,
    insecure: options.insecure ?? false,
  });
  if (refusal !== null) throw new RangeError(refusal);
  const scheme = options.tls ? "https" : "http";
  const clock = options.deps.clock ?? (() => Date.now());
  const history = options.deps.history ?? new FleetHistory({ clock });
  const every = options.sampleIntervalMs ?? history.intervalMs;
  const stop = new AbortController();
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  // Assigned right after Deno.serve returns, before any request can be handled.
  const ref: { dashboard?: Dashboard } = {};
  const server = Deno.serve({
    port: options.port,
    hostname,
    signal: stop.signal,
    ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    onListen: (addr) => options.onListen?.(`${scheme}://${urlHost}:${addr.port}/`),
  }, (req, info) => {
    const a = info.remoteAddr as Deno.NetAddr;
    return ref.dashboard!.app.fetch(req, { remote: `${a.hostname}:${a.port}` });
  });
  const port = server.addr.port;
  // Refuse other Host names (DNS rebinding) unless the caller chose its own list.
  const allowedHosts = options.deps.allowedHosts ?? hostsFor(hostname, port);
  const dashboard = ref.dashboard = createDashboard({
    ...options.deps,
    secureCookies: options.deps.secureCookies ?? options.tls !== undefined,
    history,
    shutdownSignal: stop.signal,
    ...(allowedHosts === null ? {} : { allowedHosts }),
  });

  // The sampler: one read per interval keeps the ten-minute history complete (the cache records
  // each read it makes into the history).
  const timer = setInterval(() => {
    dashboard.fleet.read().then((s) => {
      if (s.snapshot === null) console.error(`dashboard: sampling the fleet failed: ${s.error}`);
    });
  }, every);

  return {
    url: `${scheme}://${urlHost}:${port}/`,
    port,
    history,
    async shutdown() {
      clearInterval(timer);
      stop.abort();
      await server.finished;
    },
  };
}
