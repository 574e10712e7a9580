/**
 * `deno task bench e2e [--json] [--port af_packet|af_xdp] [--idle S] [--seconds N] [--threads T]
 * [--connections C] [--profile FILE]`: the end-to-end benchmark in the lab (adapter). Run it
 * under `flock /tmp/lab.lock`.
 *
 * 1. The whole lab (`startLab`: agents with the data plane on `--port`, default the lab's
 *    `labPort()`, fixtures/lab.yaml deployed over SSH) with nginx as the real servers; first
 *    `--idle` seconds (default 30, 0: none) with no traffic, then wrk from the client namespace
 *    against the VIP, keep-alive and a new connection per request (`Connection: close`).
 * 2. The same network without the data plane (`startLab({ dataplane: false })`): every node does
 *    FULLNAT in the kernel (nftables DNAT to the same reals, SNAT to its LIP, conntrack) behind
 *    the same BIRD ECMP announcements; the same idle phase and two wrk runs.
 * 3. Requests per second, latency percentiles, CPU per node (and of its data-plane process) and
 *    the machine's busy and softirq shares, idle and under load, and the data plane's ratio to
 *    the kernel: a table, or one JSON object with `--json`.
 *
 * Everything runs in the lab's namespaces; the lab is removed at the end, also on failure.
 * `--profile FILE`: after the data plane's runs, `perf record -g` of node1's data-plane process
 * for 10 s under the keep-alive load; the report goes to FILE (its first 60 lines to stderr).
 *
 * @module
 */
import { LAB_CLUSTER_FILE, type LabNetwork, startLab } from "./cluster.ts";
import { type LabPort, labPort } from "./nodes.ts";
import { DEFAULT_TOPOLOGY, labDown } from "./network.ts";
import { type LabModel, parseLabTopology } from "./topology.ts";
import { must, namespacePids, RealHost } from "./netns.ts";
import { inNamespace } from "./endpoints.ts";
import { loadClusterFile } from "../spec/cluster_file.ts";
import {
  type E2eIdle,
  type E2eMode,
  type E2eNodeCpu,
  e2eRatios,
  type E2eReport,
  type E2eRun,
  type E2eShape,
  formatE2eTable,
  kernelPeerCommands,
  machineShares,
  parsePidStat,
  parseProcStat,
  parseWrkOutput,
  renderKernelFullnat,
  renderNginxConfig,
  wrkArgs,
} from "./e2e_bench.ts";

/** Options of `runE2eBench`. */
export interface E2eOptions {
  /** The data plane's port kind. */
  port: LabPort;
  /** Seconds of the idle phase before each mode's load (0: none). */
  idleSeconds: number;
  seconds: number;
  threads: number;
  connections: number;
  /** Where to write node1's data-plane profile (perf report); none: no profile. */
  profile?: string;
  log: (msg: string) => void;
}

const SHAPES: E2eShape[] = ["keepalive", "close"];
const host = new RealHost();

async function clockTicks(): Promise<number> {
  const out = await must(host, ["getconf", "CLK_TCK"]).catch(() => "100");
  return Number(out.trim()) || 100;
}

async function pidTicks(pid: number): Promise<number | null> {
  try {
    const s = parsePidStat(await Deno.readTextFile(`/proc/${pid}/stat`));
    return s.utime + s.stime;
  } catch {
    return null;
  }
}

/** The process of a node namespace that has the data plane library mapped, or null. */
async function dataplanePid(namespace: string): Promise<number | null> {
  for (const pid of await namespacePids(host, namespace)) {
    const maps = await Deno.readTextFile(`/proc/${pid}/maps`).catch(() => "");
    if (maps.includes("libfnat")) return pid;
  }
  return null;
}

/** Starts nginx in every real-server namespace (config, pid and logs in its state dir). */
async function startNginx(
  model: LabModel,
  reals: Array<{ address: string; port: number }>,
  log: (m: string) => void,
): Promise<void> {
  for (const rs of model.realServers) {
    const port = reals.find((r) => r.address === rs.address)?.port ?? 80;
    const ns = model.namespaces.find((n) => n.name === rs.namespace)!;
    const dir = `${ns.stateDir}/nginx`;
    await Deno.mkdir(dir, { recursive: true });
    const conf = `${dir}/nginx.conf`;
    await Deno.writeTextFile(
      conf,
      renderNginxConfig({ name: rs.name, listen: `${rs.address}:${port}`, dir }),
    );
    await must(
      host,
      inNamespace(rs.namespace, ["nginx", "-e", `${dir}/nginx-error.log`, "-p", dir, "-c", conf]),
    );
    log(`${rs.name}: nginx on ${rs.address}:${port} (config ${conf})`);
  }
}

/** Waits until requests to the VIP from the client reach every real server. */
async function waitForReals(lab: LabNetwork, url: string, names: string[]): Promise<void> {
  const seen = new Set<string>();
  const deadline = performance.now() + 60_000;
  while (seen.size < names.length) {
    if (performance.now() > deadline) {
      throw new Error(
        `Cannot benchmark: ${url} reached only ${[...seen].join(", ") || "nothing"} of ${
          names.join(", ")
        } within 60 s`,
      );
    }
    const body = await lab.client(["curl", "-s", "--max-time", "1", url]).catch(() => "");
    if (names.includes(body.trim())) seen.add(body.trim());
    else await new Promise((r) => setTimeout(r, 200));
  }
}

/** Makes every node of a network-only lab the kernel FULLNAT peer. */
async function startKernelPeer(
  lab: LabNetwork,
  vip: { address: string; port: number; reals: Array<{ address: string; port: number }> },
  log: (m: string) => void,
): Promise<void> {
  for (const node of lab.model.nodes) {
    const ns = lab.model.namespaces.find((n) => n.name === node.namespace)!;
    const file = `${ns.stateDir}/kernel-fullnat.nft`;
    await Deno.writeTextFile(
      file,
      renderKernelFullnat({
        vip: vip.address,
        port: vip.port,
        reals: vip.reals.map((r) => ({ address: r.address, port: r.port })),
        lips: node.lips,
      }),
    );
    for (const argv of kernelPeerCommands(node.namespace, node.uplink, file)) {
      await must(host, argv);
    }
    log(`${node.name}: kernel FULLNAT (nftables ${file}), SNAT to ${node.lips.join(", ")}`);
  }
}

/**
 * Runs `work` and measures the CPU meanwhile: per node, its namespace's processes and its
 * data-plane process (from /proc/<pid>/stat), and the machine's busy and softirq shares
 * (/proc/stat).
 */
async function withCpu<T>(
  lab: LabNetwork,
  mode: E2eMode,
  hz: number,
  work: () => Promise<T>,
): Promise<{ result: T; nodes: E2eNodeCpu; machine: E2eRun["machine"] }> {
  const nodes = await Promise.all(lab.model.nodes.map(async (n) => ({
    name: n.name,
    pids: await namespacePids(host, n.namespace),
    dp: mode === "dataplane" ? await dataplanePid(n.namespace) : null,
  })));
  const ticks = async () =>
    await Promise.all(nodes.map(async (n) => {
      const per = await Promise.all(n.pids.map(pidTicks));
      return {
        all: per.reduce<number>((a, b) => a + (b ?? 0), 0),
        dp: n.dp === null ? null : await pidTicks(n.dp),
      };
    }));
  const before = await ticks();
  const machineBefore = parseProcStat(await Deno.readTextFile("/proc/stat"));
  const t0 = performance.now();
  const result = await work();
  const wall = (performance.now() - t0) / 1000;
  const after = await ticks();
  const machineAfter = parseProcStat(await Deno.readTextFile("/proc/stat"));
  const pct = (t: number) => (100 * t) / hz / wall;
  return {
    result,
    nodes: nodes.map((n, i) => {
      const b = before[i]!, a = after[i]!;
      return {
        name: n.name,
        cpuPercent: pct(a.all - b.all),
        ...(a.dp !== null && b.dp !== null ? { dataplanePercent: pct(a.dp - b.dp) } : {}),
      };
    }),
    machine: machineShares(machineBefore, machineAfter),
  };
}

/** One wrk run with the CPU the nodes and the machine used meanwhile. */
async function measure(
  lab: LabNetwork,
  mode: E2eMode,
  shape: E2eShape,
  url: string,
  opts: E2eOptions,
  hz: number,
): Promise<E2eRun> {
  const { result: out, nodes, machine } = await withCpu(
    lab,
    mode,
    hz,
    () => lab.client(wrkArgs(shape, url, opts)),
  );
  opts.log(`wrk said:\n${out.trimEnd()}`);
  return { mode, shape, wrk: parseWrkOutput(out), nodes, machine };
}

/** `seconds` with no traffic, and the CPU the nodes and the machine used meanwhile. */
async function measureIdle(
  lab: LabNetwork,
  mode: E2eMode,
  seconds: number,
  hz: number,
): Promise<E2eIdle> {
  const { nodes, machine } = await withCpu(
    lab,
    mode,
    hz,
    () => new Promise((r) => setTimeout(r, seconds * 1000)),
  );
  return { mode, seconds, nodes, machine };
}

/** `perf record -g` of node1's data plane for 10 s under keep-alive load; the report's text. */
async function profileDataplane(lab: LabNetwork, url: string, opts: E2eOptions): Promise<string> {
  const node = lab.model.nodes[0]!;
  const pid = await dataplanePid(node.namespace);
  if (pid === null) throw new Error(`Cannot profile: no data-plane process in ${node.namespace}`);
  const tmp = await Deno.makeTempDir({ prefix: "lvs-e2e-perf-" });
  try {
    const argv = inNamespace(
      lab.model.client.namespace,
      wrkArgs("keepalive", url, { ...opts, seconds: 14 }),
    );
    const load = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 2000));
      opts.log(`perf record -g -p ${pid} (${node.name}'s data plane) for 10 s`);
      await must(host, [
        "perf",
        "record",
        "-q",
        "-g",
        "-p",
        String(pid),
        "-o",
        `${tmp}/perf.data`,
        "--",
        "sleep",
        "10",
      ]);
    } finally {
      await load.status;
    }
    const report = await must(host, ["perf", "report", "--stdio", "-i", `${tmp}/perf.data`]);
    const byDso = await must(host, [
      "perf",
      "report",
      "--stdio",
      "--no-children",
      "--sort",
      "dso",
      "-g",
      "none",
      "-i",
      `${tmp}/perf.data`,
    ]);
    return `${report}\n\n# by DSO (self time)\n${byDso}`;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Runs both modes, each in its own lab that is removed before the next starts. */
async function runE2eBench(opts: E2eOptions): Promise<E2eReport> {
  const cluster = await loadClusterFile(LAB_CLUSTER_FILE);
  const vip = cluster.vips[0];
  if (!vip) throw new Error(`Cannot benchmark: ${LAB_CLUSTER_FILE} has no VIP`);
  const url = `http://${vip.address}:${vip.port}/`;
  const hz = await clockTicks();
  const runs: E2eRun[] = [];
  const idle: E2eIdle[] = [];
  for (const mode of ["dataplane", "kernel"] as const) {
    opts.log(`${mode}: building the lab${mode === "dataplane" ? ` (port ${opts.port})` : ""}`);
    const realServers = (model: LabModel) => startNginx(model, vip.reals, opts.log);
    const lab = mode === "dataplane"
      ? await startLab({ log: opts.log, realServers, port: opts.port })
      : await startLab({ log: opts.log, dataplane: false, realServers });
    try {
      if (mode === "kernel") await startKernelPeer(lab, vip, opts.log);
      await waitForReals(lab, url, lab.model.realServers.map((r) => r.name));
      if (opts.idleSeconds > 0) {
        opts.log(`${mode}: idle for ${opts.idleSeconds} s (no traffic)`);
        const i = await measureIdle(lab, mode, opts.idleSeconds, hz);
        opts.log(
          `${mode} idle: machine busy ${i.machine.busyPercent.toFixed(1)} %, softirq ${
            i.machine.softirqPercent.toFixed(1)
          } %`,
        );
        idle.push(i);
      }
      opts.log(`${mode}: every real server answers through ${url}; warming up for 3 s`);
      await lab.client(wrkArgs("keepalive", url, { ...opts, seconds: 3 }));
      for (const shape of SHAPES) {
        opts.log(`${mode}: wrk ${shape} for ${opts.seconds} s`);
        const r = await measure(lab, mode, shape, url, opts, hz);
        opts.log(
          `${mode} ${shape}: ${Math.round(r.wrk.requestsPerSecond)} req/s, p99 ${
            r.wrk.latencyMs.p99.toFixed(2)
          } ms`,
        );
        runs.push(r);
      }
      if (mode === "dataplane" && opts.profile) {
        const text = await profileDataplane(lab, url, opts);
        await Deno.writeTextFile(opts.profile, text);
        opts.log(`profile written to ${opts.profile}; its head:`);
        for (const line of text.split("\n").slice(0, 60)) opts.log(`  ${line}`);
      }
    } finally {
      opts.log(`${mode}: removing the lab`);
      await lab.close();
    }
  }
  return {
    machine: await machine(),
    port: opts.port,
    wrk: { threads: opts.threads, connections: opts.connections, seconds: opts.seconds },
    idle,
    runs,
    ratios: e2eRatios(runs),
  };
}

async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.osRelease()}`;
}

/**
 * Parses the command line; throws `TypeError` on an unknown option or a bad value. The port
 * kind defaults to `defaultPort` (the lab's: LVS_LAB_PORT, else its default).
 */
export function parseE2eArgs(
  args: string[],
  defaultPort: LabPort = labPort(),
): Omit<E2eOptions, "log"> & { json: boolean } {
  const out: Omit<E2eOptions, "log"> & { json: boolean } = {
    json: false,
    port: defaultPort,
    idleSeconds: 30,
    seconds: 15,
    threads: 2,
    connections: 64,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new TypeError(`Option ${a} needs a value`);
      return v;
    };
    const int = (min = 1) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) {
        throw new TypeError(
          `Option ${a} needs a ${min === 0 ? "non-negative" : "positive"} integer`,
        );
      }
      return n;
    };
    if (a === "--json") out.json = true;
    else if (a === "--port") {
      const v = value();
      if (v !== "af_packet" && v !== "af_xdp") {
        throw new TypeError(`Option --port needs af_packet or af_xdp, got ${JSON.stringify(v)}`);
      }
      out.port = v;
    } else if (a === "--idle") out.idleSeconds = int(0);
    else if (a === "--seconds") out.seconds = int();
    else if (a === "--threads") out.threads = int();
    else if (a === "--connections") out.connections = int();
    else if (a === "--profile") out.profile = value();
    else throw new TypeError(`Unknown option ${a}`);
  }
  return out;
}

if (import.meta.main) {
  const topo = parseLabTopology(await Deno.readTextFile(DEFAULT_TOPOLOGY), DEFAULT_TOPOLOGY);
  const down = () => labDown(topo.prefix, topo.stateDir).catch(() => {});
  const onSignal = () => {
    console.error("bench e2e: interrupted; removing the lab");
    down().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 0;
  try {
    const args = parseE2eArgs(Deno.args);
    const report = await runE2eBench({ ...args, log: (m) => console.error(`bench e2e: ${m}`) });
    if (args.json) console.log(JSON.stringify(report));
    else {
      console.log(`machine: ${report.machine}`);
      console.log(
        `wrk -t${report.wrk.threads} -c${report.wrk.connections} -d${report.wrk.seconds}s --latency`,
      );
      console.log(formatE2eTable(report));
    }
  } catch (e) {
    console.error(`bench e2e: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  } finally {
    await down();
  }
  Deno.exit(code);
}
