/**
 * `deno task bench [--json] [--only NAME,...] [--quick]`: runs the data plane's C benchmark
 * (`build/fnat_bench`, one process and one worker per scenario) and prints a table, or with
 * `--json` one object `{"machine": ..., "scenarios": [...]}` on stdout.
 *
 * Lab benchmarks (they build the network-namespace lab and take it down again; run them only
 * under the lab lock, `flock /tmp/lab.lock deno task bench ...`):
 *   `deno task bench deploy-scale [--vips N] [--reals M] [--json]`: cluster/lab/deploy_scale.ts
 *   `deno task bench synflood-lab [--seconds S] [--json]`: cluster/lab/synflood_lab.ts
 *   `deno task bench e2e [--port af_packet|af_xdp] [--idle S] [--seconds S] [--json]
 *   [--profile FILE]`: the data plane against the kernel's own FULLNAT (nftables), nginx and
 *   wrk, CPU idle and under load: cluster/lab/e2e_bench_run.ts
 *
 * @module
 */

/** One scenario's figures as the C benchmark prints them. */
export interface ScenarioResult {
  name: string;
  mpps_per_core?: number;
  connections_per_second_per_core?: number;
  sessions?: number;
  bytes_per_session?: number;
  packets?: number;
  connections?: number;
  seconds: number;
  /** Share of the wall time the worker thread ran (rates are per CPU second of it). */
  cpu_share?: number;
  note?: string;
  /** config_scale: the configuration applied (services, real servers) under `flows` sessions */
  vips?: number;
  reals?: number;
  flows?: number;
  /** config_scale: the fnat_apply call, ms; the probe seeing the worker on the new snapshot,
   * ms after the call; established packets sent and lost; bytes of the snapshot. `incr_`: the
   * same for a second apply that changes one real server's weight. */
  apply_ms?: number;
  switch_ms?: number;
  lost?: number;
  snapshot_bytes?: number;
  incr_apply_ms?: number;
  incr_switch_ms?: number;
  incr_packets?: number;
  incr_lost?: number;
  incr_snapshot_bytes?: number;
  drops?: number;
}

/** A scenario: the benchmark's arguments. */
export interface Scenario {
  name: string;
  args: string[];
  quickArgs: string[];
}

const SCENARIOS: Scenario[] = [
  {
    name: "baseline_l2fwd",
    args: ["baseline_l2fwd", "1000000", "30000000"],
    quickArgs: ["baseline_l2fwd", "100000", "2000000"],
  },
  {
    name: "established_1m",
    args: ["established", "1000000", "30000000"],
    quickArgs: ["established", "100000", "2000000"],
  },
  {
    name: "established_10m",
    args: ["established", "10000000", "30000000"],
    quickArgs: ["established", "200000", "2000000"],
  },
  {
    name: "new_connections",
    args: ["new_connections", "3000000"],
    quickArgs: ["new_connections", "100000"],
  },
  {
    name: "established_1m_sync",
    args: ["established_sync", "1000000", "30000000"],
    quickArgs: ["established_sync", "100000", "2000000"],
  },
  {
    name: "new_connections_sync",
    args: ["new_connections_sync", "3000000"],
    quickArgs: ["new_connections_sync", "100000"],
  },
  {
    name: "sessions_40m_memory",
    args: ["sessions_40m_memory", "40000000"],
    quickArgs: ["sessions_40m_memory", "1000000"],
  },
  {
    name: "synflood",
    args: ["synflood", "1000000", "30000000"],
    quickArgs: ["synflood", "1000", "2000000"],
  },
  {
    name: "ackflood",
    args: ["ackflood", "1000000", "30000000"],
    quickArgs: ["ackflood", "1000", "2000000"],
  },
  {
    name: "new_connections_synproxy",
    args: ["new_connections_synproxy", "2000000"],
    quickArgs: ["new_connections_synproxy", "100000"],
  },
  {
    // VIPS REALS_PER_VIP FLOWS: the 10,000 VIPs x 8 real servers (a snapshot holds up
    // to 131,072 real-server ids).
    name: "config_scale",
    args: ["config_scale", "10000", "8", "10000"],
    quickArgs: ["config_scale", "1000", "8", "2000"],
  },
];

/** Parses the last JSON line the benchmark printed. */
export function parseResult(stdout: string): ScenarioResult {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (line === undefined) throw new SyntaxError(`No result line in: ${stdout.slice(0, 200)}`);
  return JSON.parse(line) as ScenarioResult;
}

/** A plain-text table of results. */
export function formatTable(results: ScenarioResult[]): string {
  const head = [
    "scenario",
    "Mpps/core",
    "conn/s/core",
    "sessions",
    "B/session",
    "apply ms",
    "switch ms",
    "lost",
    "snapshot B",
    "seconds",
    "cpu share",
  ];
  // config_scale: "full / one weight" for each apply figure
  const pair = (a?: number, b?: number, digits = 0) =>
    a === undefined ? "" : `${a.toFixed(digits)} / ${b?.toFixed(digits) ?? "?"}`;
  const rows = results.map((r) => [
    r.name,
    r.mpps_per_core?.toFixed(2) ?? "",
    r.connections_per_second_per_core?.toLocaleString("en-US") ?? "",
    (r.sessions ?? r.flows)?.toLocaleString("en-US") ?? "",
    r.bytes_per_session?.toString() ?? "",
    pair(r.apply_ms, r.incr_apply_ms, 1),
    pair(r.switch_ms, r.incr_switch_ms, 1),
    pair(r.lost, r.incr_lost),
    pair(r.snapshot_bytes, r.incr_snapshot_bytes),
    r.seconds.toFixed(2),
    r.cpu_share?.toFixed(2) ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n");
}

async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.osRelease()}`;
}

/** Lab benchmarks: run as their own programs (the data plane does not import cluster/). */
const LAB_BENCHMARKS: Record<string, string> = {
  "deploy-scale": "../cluster/lab/deploy_scale.ts",
  "synflood-lab": "../cluster/lab/synflood_lab.ts",
  "e2e": "../cluster/lab/e2e_bench_run.ts",
};

if (import.meta.main && Deno.args[0] !== undefined && Deno.args[0] in LAB_BENCHMARKS) {
  const script = new URL(LAB_BENCHMARKS[Deno.args[0]]!, import.meta.url).pathname;
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...Deno.args.slice(1)],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(status.code);
}

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const quick = Deno.args.includes("--quick");
  const onlyArg = Deno.args.indexOf("--only");
  const only = onlyArg >= 0 ? Deno.args[onlyArg + 1]?.split(",") : undefined;
  const bin = new URL("./build/fnat_bench", import.meta.url).pathname;
  const results: ScenarioResult[] = [];
  let failed = false;
  for (const s of SCENARIOS) {
    if (only && !only.includes(s.name)) continue;
    const out = await new Deno.Command(bin, {
      args: quick ? s.quickArgs : s.args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      failed = true;
      console.error(`${s.name}: failed: ${new TextDecoder().decode(out.stderr).trim()}`);
      continue;
    }
    const r = parseResult(stdout);
    r.name = s.name;
    results.push(r);
    if (!json) console.error(`${s.name}: done`);
  }
  if (json) {
    console.log(JSON.stringify({ machine: await machine(), scenarios: results }));
  } else {
    console.log(`machine: ${await machine()}`);
    console.log(formatTable(results));
  }
  Deno.exit(failed ? 1 : 0);
}
