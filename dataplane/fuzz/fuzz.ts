/**
 * Builds and runs the packet-path fuzzer (`make -C dataplane fuzz`: libFuzzer with ASan and
 * UBSan) for a time budget, and reports executions, executions per second, edges covered and
 * crashes. Crash inputs are written to `dataplane/fuzz/crashes/`, where `fuzz_test.ts` replays
 * them; the corpus grows in `dataplane/build-fuzz/corpus/` from one run to the next, seeded by
 * `seeds.ts` and by the saved crash inputs. Each run of the command line appends its summary to
 * `dataplane/build-fuzz/runs.jsonl` (the totals of a campaign run in chunks).
 *
 *     deno run -A dataplane/fuzz/fuzz.ts [--seconds N] [--json]
 *     deno run -A dataplane/fuzz/fuzz.ts --replay [FILE...]   (default: every saved crash)
 *
 * @example
 * ```ts
 * await buildFuzzer();
 * const r = await runFuzzer({ seconds: 30 });
 * console.log(r.executions, r.execPerSec, r.edges, r.crashes);
 * ```
 *
 * @module
 */

import { writeSeeds } from "./seeds.ts";

const DATAPLANE = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The harness binary `make fuzz` builds. */
const FUZZER = `${DATAPLANE}/build-fuzz/fnat_fuzz`;
/** Where crash inputs are kept (and replayed from). */
const CRASHES = `${DATAPLANE}/fuzz/crashes`;
const BUILD = `${DATAPLANE}/build-fuzz`;

/** The Debian packages the fuzz and sanitizer builds need besides the data plane's own. */
const FUZZ_PACKAGES = ["clang", "libclang-rt-14-dev"] as const;

/** What a libFuzzer run printed, in numbers. */
export interface FuzzStats {
  /** Inputs executed. */
  executions: number;
  /** Executions per second over the run. */
  execPerSec: number;
  /** Edges (code blocks) covered, libFuzzer's `cov:`. */
  edges: number;
  /** Coverage features, libFuzzer's `ft:`. */
  features: number;
  /** Inputs in the corpus at the end. */
  corpus: number;
  /** Files libFuzzer wrote a crashing (or leaking, timing out, out-of-memory) input to. */
  crashes: string[];
  /** The sanitizer's or harness's one-line reason, when it stopped on a finding. */
  reason?: string;
}

/** A finished run: the stats plus its wall time and exit code. */
export interface FuzzRun extends FuzzStats {
  seconds: number;
  exitCode: number;
}

/** Reads executions, rate, edges, corpus size and crash files from libFuzzer's output. */
export function parseLibFuzzerOutput(text: string): FuzzStats {
  const s: FuzzStats = {
    executions: 0,
    execPerSec: 0,
    edges: 0,
    features: 0,
    corpus: 0,
    crashes: [],
  };
  // Status lines: "#123456	pulse  cov: 812 ft: 3000 corp: 200/30Kb lim: 4096 exec/s: 2500 rss: ..."
  for (
    const m of text.matchAll(
      /^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)\/.*?exec\/s: (\d+)/gm,
    )
  ) {
    s.executions = Number(m[1]);
    s.edges = Number(m[2]);
    s.features = Number(m[3]);
    s.corpus = Number(m[4]);
    s.execPerSec = Number(m[5]);
  }
  const done = /^Done (\d+) runs in (\d+) second/m.exec(text);
  if (done) s.executions = Number(done[1]);
  const units = /^stat::number_of_executed_units: (\d+)/m.exec(text);
  if (units) s.executions = Number(units[1]);
  const rate = /^stat::average_exec_per_sec:\s+(\d+)/m.exec(text);
  if (rate) s.execPerSec = Number(rate[1]);
  for (const m of text.matchAll(/Test unit written to (\S+)/g)) s.crashes.push(m[1]!);
  const reason = /^(?:.*invariant violated: .*|.*runtime error: .*|SUMMARY: .*)$/m.exec(text);
  if (reason) s.reason = reason[0];
  return s;
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** Builds the harness (`make -s -C dataplane fuzz`); throws with the compiler's output. */
export async function buildFuzzer(): Promise<void> {
  const r = await run("make", ["-s", "-C", DATAPLANE, "fuzz"]);
  if (r.code !== 0) {
    throw new Error(
      `Cannot build the fuzzer: make fuzz failed (exit ${r.code}); it needs the Debian ` +
        `packages ${FUZZ_PACKAGES.join(" ")}\n${r.text}`,
    );
  }
}

/** Sanitizer settings of every run: stop at the first finding with a stack trace. */
const SANITIZER_ENV = {
  ASAN_OPTIONS: "detect_leaks=1",
  UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
};

/** Options of one fuzzing run. */
export interface FuzzOptions {
  /** Time budget (libFuzzer's -max_total_time). */
  seconds: number;
  /** The corpus directory that grows (default `dataplane/build-fuzz/corpus`). */
  corpus?: string;
  /** Where crash inputs go (default `dataplane/fuzz/crashes`). */
  crashes?: string;
  /** Where the seeds are written first (default `dataplane/build-fuzz/seeds`). */
  seeds?: string;
  /** A JSON-lines file the run's summary is appended to. */
  journal?: string;
  /** Largest input (bytes). */
  maxLen?: number;
  /** Receives libFuzzer's output as it comes (default: discarded). */
  log?: (chunk: string) => void;
}

/** Runs the built harness for `seconds` (from the corpus, the seeds and the saved crashes). */
export async function runFuzzer(o: FuzzOptions): Promise<FuzzRun> {
  const corpus = o.corpus ?? `${BUILD}/corpus`;
  const crashes = o.crashes ?? CRASHES;
  const seeds = o.seeds ?? `${BUILD}/seeds`;
  await Deno.mkdir(corpus, { recursive: true });
  await Deno.mkdir(crashes, { recursive: true });
  await Deno.remove(seeds, { recursive: true }).catch(() => {});
  await writeSeeds(seeds);
  const args = [
    `-max_total_time=${o.seconds}`,
    `-max_len=${o.maxLen ?? 4096}`,
    "-timeout=20",
    "-rss_limit_mb=4096",
    "-print_final_stats=1",
    `-artifact_prefix=${crashes}/`,
    corpus,
    seeds,
    CRASHES,
  ];
  const started = performance.now();
  const child = new Deno.Command(FUZZER, {
    args,
    env: SANITIZER_ENV,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      const s = dec.decode(chunk, { stream: true });
      text += s;
      o.log?.(s);
    }
  };
  const [status] = await Promise.all([child.status, drain(child.stdout), drain(child.stderr)]);
  const seconds = (performance.now() - started) / 1000;
  const r = { ...parseLibFuzzerOutput(text), seconds, exitCode: status.code };
  if (o.journal) {
    const line = JSON.stringify({ date: new Date().toISOString(), ...r }) + "\n";
    await Deno.writeTextFile(o.journal, line, { append: true });
  }
  return r;
}

/** One replayed input: did it run through, and what the harness said. */
export interface Replay {
  file: string;
  ok: boolean;
  output: string;
}

/** The saved crash inputs (every file of `dataplane/fuzz/crashes/` but dotfiles and READMEs). */
export function savedCrashes(dir = CRASHES): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && !e.name.startsWith(".") && !e.name.endsWith(".md"))
      .map((e) => `${dir}/${e.name}`)
      .sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Runs each input once through the built harness, one process each. */
export async function replayInputs(files: readonly string[]): Promise<Replay[]> {
  const out: Replay[] = [];
  for (const file of files) {
    const r = await run(FUZZER, ["-runs=1", file], SANITIZER_ENV);
    out.push({ file, ok: r.code === 0, output: r.text });
  }
  return out;
}

function report(r: FuzzRun): string {
  const crash = r.crashes.length === 0
    ? "0 crashes"
    : `${r.crashes.length} crash(es): ${r.crashes.join(", ")}${r.reason ? `\n  ${r.reason}` : ""}`;
  return `fuzz: ${r.executions} executions in ${r.seconds.toFixed(0)} s ` +
    `(${r.execPerSec}/s), ${r.edges} edges covered, ${r.features} features, ` +
    `corpus ${r.corpus}, ${crash}`;
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => args.includes(name);
  const value = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (!Number.isFinite(v) || v <= 0) {
      console.error(`fuzz: ${name} wants a positive number, got "${args[i + 1]}"`);
      Deno.exit(2);
    }
    return v;
  };
  try {
    await buildFuzzer();
    if (flag("--replay")) {
      const files = args.filter((a) => !a.startsWith("--"));
      const results = await replayInputs(files.length > 0 ? files : savedCrashes());
      for (const r of results) {
        console.log(`${r.ok ? "ok  " : "CRASH"} ${r.file}`);
        if (!r.ok) console.log(r.output);
      }
      Deno.exit(results.every((r) => r.ok) ? 0 : 1);
    }
    const verbose = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s));
    const r = await runFuzzer({
      seconds: value("--seconds", 60),
      journal: `${BUILD}/runs.jsonl`,
      ...(flag("--verbose") ? { log: verbose } : {}),
    });
    console.log(flag("--json") ? JSON.stringify(r) : report(r));
    Deno.exit(r.crashes.length === 0 && r.exitCode === 0 ? 0 : 1);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
