/**
 * `deno task bench [--json] [--only NAME,...] [--quick]`: runs the data plane's C benchmark
 * (`build/fnat_bench`, one process and one worker per scenario) and prints a table, or with
 * `--json` one object `{"machine": ..., "scenarios": [...]}` on stdout.
 *
 * `deno task bench e2e [...]`: the end-to-end benchmark in the lab (data plane against the
 * kernel's own FULLNAT, nginx and wrk), `cluster/lab/e2e_bench_run.ts`, run as its own process
 * (the data plane does not import the cluster side). Run it under `flock /tmp/lab.lock`.
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
  note?: string;
}

/** A scenario: the benchmark's arguments. */
export interface Scenario {
  name: string;
  args: string[];
  quickArgs: string[];
}

export const SCENARIOS: Scenario[] = [
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
];

/** Parses the last JSON line the benchmark printed. */
export function parseResult(stdout: string): ScenarioResult {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (line === undefined) throw new SyntaxError(`No result line in: ${stdout.slice(0, 200)}`);
  return JSON.parse(line) as ScenarioResult;
}

/** A plain-text table of results. */
export function formatTable(results: ScenarioResult[]): string {
  const head = ["scenario", "Mpps/core", "conn/s/core", "sessions", "B/session", "seconds"];
  const rows = results.map((r) => [
    r.name,
    r.mpps_per_core?.toFixed(2) ?? "",
    r.connections_per_second_per_core?.toLocaleString("en-US") ?? "",
    r.sessions?.toLocaleString("en-US") ?? "",
    r.bytes_per_session?.toString() ?? "",
    r.seconds.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n");
}

async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.osRelease()}`;
}

/** The end-to-end benchmark's entry file. */
export const E2E_BENCH = new URL("../cluster/lab/e2e_bench_run.ts", import.meta.url).pathname;

if (import.meta.main && Deno.args[0] === "e2e") {
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", E2E_BENCH, ...Deno.args.slice(1)],
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
