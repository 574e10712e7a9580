/**
 * The end-to-end benchmark's pure parts (`deno task bench e2e`, run by `e2e_bench_run.ts`): wrk's
 * output parsed, the nginx real server's configuration, the kernel FULLNAT peer's nftables ruleset
 * and node commands, CPU shares from `/proc`, and the figures as a table and as JSON.
 *
 * @module
 */
import type { LabPort } from "./nodes.ts";

/** The two traffic shapes: keep-alive connections, and a new connection per request. */
export type E2eShape = "keepalive" | "close";
/** What does FULLNAT on the nodes: the data plane, or the kernel (nftables + conntrack). */
export type E2eMode = "dataplane" | "kernel";

/** What wrk reported for one run. */
export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Latency percentiles in milliseconds (wrk's `--latency` distribution). */
  latencyMs: { p50: number; p90: number; p99: number };
  /** Socket errors (zero when wrk printed no `Socket errors` line). */
  errors: { connect: number; read: number; write: number; timeout: number };
  /** Responses with a status other than 2xx or 3xx. */
  non2xx: number;
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/**
 * Parses one of wrk's durations ("812.00us", "1.20ms", "2.00s", "1.00m") into milliseconds.
 *
 * @example
 * ```ts
 * wrkDurationMs("812.00us"); // 0.812
 * ```
 */
export function wrkDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new SyntaxError(`Cannot parse wrk duration ${JSON.stringify(text)}`);
  return Number(m[1]) * TIME_UNITS[m[2]!]!;
}

/**
 * Parses wrk's output (run with `--latency`); throws `SyntaxError` when a figure is missing.
 *
 * @example
 * ```ts
 * const r = parseWrkOutput(stdout);
 * r.requestsPerSecond; // 41234.5
 * ```
 */
export function parseWrkOutput(stdout: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(stdout);
    if (!m) {
      throw new SyntaxError(`Cannot parse wrk output: no ${what} in: ${stdout.slice(0, 300)}`);
    }
    return m;
  };
  const total = need(/^\s*(\d+) requests in ([\d.]+\w+),/m, "'N requests in T' line");
  const rps = need(/^Requests\/sec:\s*([\d.]+)([kMGT]?)\s*$/m, "Requests/sec line");
  const pct = (p: number) =>
    wrkDurationMs(need(new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, "m"), `${p}% latency`)[1]!);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  return {
    requests: Number(total[1]),
    seconds: wrkDurationMs(total[2]!) / 1000,
    requestsPerSecond: Number(rps[1]) * SIZE_UNITS[rps[2]!]!,
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99) },
    errors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    non2xx: Number(non2xx?.[1] ?? 0),
  };
}

/** The wrk command line of a shape (run in the client namespace). */
export function wrkArgs(
  shape: E2eShape,
  url: string,
  opts: { threads: number; connections: number; seconds: number },
): string[] {
  return [
    "wrk",
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    "--latency",
    ...(shape === "close" ? ["-H", "Connection: close"] : []),
    url,
  ];
}

/**
 * nginx as a benchmark real server: one worker, keep-alive on, no access log, a small static
 * answer naming the server; every file it writes stays in `dir`.
 */
export function renderNginxConfig(opts: { name: string; listen: string; dir: string }): string {
  const d = opts.dir;
  return [
    `# nginx for the end-to-end benchmark (real server ${opts.name}). Generated: do not edit.`,
    "worker_processes 1;",
    `pid ${d}/nginx.pid;`,
    `error_log ${d}/nginx-error.log warn;`,
    "events {",
    "  worker_connections 4096;",
    "}",
    "http {",
    "  access_log off;",
    "  keepalive_timeout 65s;",
    // nginx closes a keep-alive connection after 1000 requests by default: the keep-alive shape
    // would then open a connection every 1000 requests per connection.
    "  keepalive_requests 10000000;",
    `  client_body_temp_path ${d}/client_body;`,
    `  proxy_temp_path ${d}/proxy;`,
    `  fastcgi_temp_path ${d}/fastcgi;`,
    `  uwsgi_temp_path ${d}/uwsgi;`,
    `  scgi_temp_path ${d}/scgi;`,
    "  server {",
    `    listen ${opts.listen};`,
    "    default_type text/plain;",
    `    location / { return 200 "${opts.name}\\n"; }`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The kernel FULLNAT peer of one node: the VIP's reals and the node's LIPs. */
export interface KernelFullnat {
  vip: string;
  port: number;
  reals: Array<{ address: string; port: number }>;
  lips: string[];
  /** jhash seed (the same on every node, so every node picks the same real for a client). */
  seed?: number;
}

/** The nftables table the kernel peer installs in each node namespace. */
const KERNEL_TABLE = "lvsbench";

/**
 * The nftables ruleset of the kernel peer: DNAT of VIP:port to a real chosen by a jhash of the
 * client's address and port (as the data plane's `mh` scheduler), then SNAT of that traffic to
 * the node's LIP (a jhash over the LIPs when there are several); conntrack undoes both on the
 * replies. Throws `RangeError` without reals or LIPs.
 *
 * @example
 * ```ts
 * renderKernelFullnat({
 *   vip: "10.77.100.1", port: 80, lips: ["10.77.200.1"],
 *   reals: [{ address: "10.77.0.101", port: 80 }, { address: "10.77.0.102", port: 80 }],
 * });
 * ```
 */
export function renderKernelFullnat(spec: KernelFullnat): string {
  if (spec.reals.length === 0) {
    throw new RangeError(`Cannot render the kernel peer for ${spec.vip}: no real servers`);
  }
  if (spec.lips.length === 0) {
    throw new RangeError(`Cannot render the kernel peer for ${spec.vip}: the node has no LIP`);
  }
  const seed = `0x${(spec.seed ?? 0x4d61676c).toString(16)}`;
  const hash = (n: number) => `jhash ip saddr . tcp sport mod ${n} seed ${seed}`;
  const reals = spec.reals.map((r, i) => `${i} : ${r.address} . ${r.port}`).join(", ");
  const snat = spec.lips.length === 1
    ? `snat ip to ${spec.lips[0]}`
    : `snat ip to ${hash(spec.lips.length)} map { ${
      spec.lips.map((l, i) => `${i} : ${l}`).join(", ")
    } }`;
  return [
    `# Kernel FULLNAT peer of the end-to-end benchmark. Generated: do not edit.`,
    `table ip ${KERNEL_TABLE} {`,
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    `    ip daddr ${spec.vip} tcp dport ${spec.port} dnat ip addr . port to ${
      hash(spec.reals.length)
    } map { ${reals} }`,
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ct status dnat ip daddr { ${
      [...new Set(spec.reals.map((r) => r.address))].join(", ")
    } } ${snat}`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/**
 * The commands that turn a lab node namespace (network and BIRD only) into the kernel peer:
 * forwarding on, no reverse-path filter or redirects on the one-armed uplink, the ruleset loaded.
 */
export function kernelPeerCommands(namespace: string, uplink: string, ruleset: string): string[][] {
  const sysctls = [
    "net.ipv4.ip_forward=1",
    "net.ipv4.conf.all.rp_filter=0",
    `net.ipv4.conf.${uplink}.rp_filter=0`,
    "net.ipv4.conf.all.send_redirects=0",
    `net.ipv4.conf.${uplink}.send_redirects=0`,
  ];
  return [
    ...sysctls.map((s) => ["ip", "netns", "exec", namespace, "sysctl", "-qw", s]),
    ["ip", "netns", "exec", namespace, "nft", "-f", ruleset],
  ];
}

/** User and system CPU time of a process in clock ticks, from `/proc/<pid>/stat`. */
export function parsePidStat(text: string): { utime: number; stime: number } {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the
  // last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after the name.
  const rest = text.slice(text.lastIndexOf(")") + 2).trim().split(/\s+/);
  const utime = Number(rest[11]), stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new SyntaxError(`Cannot parse /proc/<pid>/stat: ${text.slice(0, 120)}`);
  }
  return { utime, stime };
}

/** The machine's CPU counters (all CPUs, clock ticks) from `/proc/stat`. */
export interface MachineTicks {
  total: number;
  idle: number;
  softirq: number;
}

/** Parses the aggregate `cpu` line of `/proc/stat`. */
export function parseProcStat(text: string): MachineTicks {
  const line = text.split("\n").find((l) => /^cpu\s/.test(l));
  if (!line) throw new SyntaxError("Cannot parse /proc/stat: no aggregate cpu line");
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
  // counted in user and nice, so it is left out of the total.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, idle: (v[3] ?? 0) + (v[4] ?? 0), softirq: v[6] ?? 0 };
}

/** Busy and softirq shares (percent of the whole machine) between two `/proc/stat` readings. */
export function machineShares(
  before: MachineTicks,
  after: MachineTicks,
): { busyPercent: number; softirqPercent: number } {
  const total = after.total - before.total;
  if (total <= 0) return { busyPercent: 0, softirqPercent: 0 };
  return {
    busyPercent: 100 * (1 - (after.idle - before.idle) / total),
    softirqPercent: 100 * (after.softirq - before.softirq) / total,
  };
}

/**
 * Per node, percent of one core used by the processes in its namespace (data plane, agent,
 * BIRD, sshd); `dataplanePercent` is the data-plane process alone (absent for the kernel peer,
 * whose NAT runs in softirq and shows only in the machine's figures).
 */
export type E2eNodeCpu = Array<{ name: string; cpuPercent: number; dataplanePercent?: number }>;

/** One measured run: a mode, a shape, wrk's figures and the CPU used meanwhile. */
export interface E2eRun {
  mode: E2eMode;
  shape: E2eShape;
  wrk: WrkResult;
  nodes: E2eNodeCpu;
  machine: { busyPercent: number; softirqPercent: number };
}

/** The CPU a mode's lab used with no traffic (health checks, BIRD, the polling data plane). */
export interface E2eIdle {
  mode: E2eMode;
  seconds: number;
  nodes: E2eNodeCpu;
  machine: { busyPercent: number; softirqPercent: number };
}

/** The data plane's requests per second over the kernel peer's, per shape (null if either is missing). */
export function e2eRatios(runs: E2eRun[]): Record<E2eShape, number | null> {
  const rps = (mode: E2eMode, shape: E2eShape) =>
    runs.find((r) => r.mode === mode && r.shape === shape)?.wrk.requestsPerSecond;
  const ratio = (shape: E2eShape): number | null => {
    const d = rps("dataplane", shape), k = rps("kernel", shape);
    return d === undefined || k === undefined || k === 0 ? null : d / k;
  };
  return { keepalive: ratio("keepalive"), close: ratio("close") };
}

/** The whole report `--json` prints. */
export interface E2eReport {
  machine: string;
  /** The data plane's port kind in this report's `dataplane` runs. */
  port: LabPort;
  wrk: { threads: number; connections: number; seconds: number };
  /** Per mode, the idle phase before the load (none with `--idle 0`). */
  idle: E2eIdle[];
  runs: E2eRun[];
  /** Data plane ÷ kernel peer, requests per second, per shape. */
  ratios: Record<E2eShape, number | null>;
}

/** A plain-text table of the runs, then the ratios. */
export function formatE2eTable(report: E2eReport): string {
  const nodeNames = [
    ...new Set([...report.idle, ...report.runs].flatMap((r) => r.nodes.map((n) => n.name))),
  ];
  const head = [
    "mode",
    "shape",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "errors",
    ...nodeNames.map((n) => `${n} %cpu`),
    "machine busy %",
    "softirq %",
  ];
  const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
  const cpu = (nodes: E2eNodeCpu, m: E2eRun["machine"]) => [
    ...nodeNames.map((name) => {
      const n = nodes.find((x) => x.name === name);
      if (!n) return "";
      return n.dataplanePercent === undefined
        ? n.cpuPercent.toFixed(0)
        : `${n.cpuPercent.toFixed(0)} (dp ${n.dataplanePercent.toFixed(0)})`;
    }),
    m.busyPercent.toFixed(0),
    m.softirqPercent.toFixed(0),
  ];
  const mode = (m: E2eMode) => (m === "dataplane" ? `dataplane/${report.port}` : m);
  const runRow = (r: E2eRun) => {
    const e = r.wrk.errors;
    const errors = e.connect + e.read + e.write + e.timeout + r.wrk.non2xx;
    return [
      mode(r.mode),
      r.shape,
      Math.round(r.wrk.requestsPerSecond).toLocaleString("en-US"),
      ms(r.wrk.latencyMs.p50),
      ms(r.wrk.latencyMs.p90),
      ms(r.wrk.latencyMs.p99),
      errors.toLocaleString("en-US"),
      ...cpu(r.nodes, r.machine),
    ];
  };
  const idleRow = (i: E2eIdle) => [
    mode(i.mode),
    `idle ${i.seconds}s`,
    "-",
    "-",
    "-",
    "-",
    "-",
    ...cpu(i.nodes, i.machine),
  ];
  // Each mode's idle phase, then its runs.
  const modes = [
    ...new Set([...report.idle.map((i) => i.mode), ...report.runs.map((r) => r.mode)]),
  ];
  const rows = modes.flatMap((m) => [
    ...report.idle.filter((i) => i.mode === m).map(idleRow),
    ...report.runs.filter((r) => r.mode === m).map(runRow),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const ratio = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(2)}x`);
  return [
    fmt(head),
    fmt(widths.map((w) => "-".repeat(w))),
    ...rows.map(fmt),
    "",
    `data plane (${report.port}) / kernel, req/s: keepalive ${
      ratio(report.ratios.keepalive)
    }, close ${ratio(report.ratios.close)}`,
  ].join("\n");
}
