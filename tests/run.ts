/**
 * The whole test suite in one command (`deno task test`): the data plane's C tests (built plainly
 * and again with ASan/UBSan: `make test asan-test`), then every Deno test (unit tests beside the
 * code, integration and browser tests under `tests/`). It ends with one plain line,
 * `tests: N passed, M failed`, and exits non-zero when anything failed.
 *
 * Extra arguments are passed to `deno test` (e.g. `deno task test --filter drain`).
 *
 * Test files under `dataplane/` run one per process: DPDK's EAL can be initialised only once in
 * a process, and each of those files brings it up with its own ports.
 *
 * @module
 */

/** Counts from one runner. */
export interface Tally {
  passed: number;
  failed: number;
  /** What failed, one line each (`file > test name`), repeated at the end of the run. */
  failures?: string[];
}

/** Sums every `N passed, M failed` line that a C test binary printed. */
export function tallyCOutput(output: string): Tally {
  const t: Tally = { passed: 0, failed: 0 };
  for (const m of output.matchAll(/^(?:\S+: )?(\d+) passed, (\d+) failed\s*$/gm)) {
    t.passed += Number(m[1]);
    t.failed += Number(m[2]);
  }
  return t;
}

/** Counts test cases in a `deno test --junit-path` report: a case with <failure> or <error> failed. */
export function tallyJunit(xml: string): Tally & { skipped: number; failures: string[] } {
  const t = { passed: 0, failed: 0, skipped: 0, failures: [] as string[] };
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[3] ?? "";
    if (/<(failure|error)\b/.test(body)) {
      t.failed++;
      t.failures.push(`${xmlAttr(m[1]!, "classname")} > ${xmlAttr(m[1]!, "name")}`);
    } else if (/<skipped\b/.test(body)) t.skipped++;
    else t.passed++;
  }
  return t;
}

function xmlAttr(attrs: string, name: string): string {
  const raw = new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1] ?? "?";
  return raw.replace(
    /&(apos|quot|lt|gt|amp);/g,
    (_, e: string) => ({ apos: "'", quot: '"', lt: "<", gt: ">", amp: "&" })[e]!,
  );
}

const ROOT = new URL("..", import.meta.url).pathname;
const ARTIFACTS = `${ROOT}tests/artifacts`;

async function runC(): Promise<Tally> {
  const child = new Deno.Command("make", {
    args: ["-s", "-C", `${ROOT}dataplane`, "test", "asan-test"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let out = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    const s = dec.decode(chunk, { stream: true });
    out += s;
    await Deno.stdout.write(new TextEncoder().encode(s));
  }
  const status = await child.status;
  const t = tallyCOutput(out);
  // A build error or a crashed binary prints no tally line: count it as a failure.
  if (!status.success && t.failed === 0) {
    t.failed = 1;
    t.failures = [`make test asan-test exited ${status.code}`];
  }
  t.failures = [...(t.failures ?? []), ...cFailures(out)];
  return t;
}

/** The C tests' own failure lines (`FAIL suite: name`). */
export function cFailures(output: string): string[] {
  return [...output.matchAll(/^FAIL .*$/gm)].map((m) => `C test: ${m[0]}`);
}

async function runDeno(
  files: string[],
  extra: string[],
  report: string,
  env: Record<string, string> = {},
): Promise<Tally> {
  await Deno.remove(report).catch(() => {});
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", `--junit-path=${report}`, ...extra, ...files],
    cwd: ROOT,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  let t: Tally = { passed: 0, failed: 0 };
  try {
    t = tallyJunit(await Deno.readTextFile(report));
  } catch {
    // No report: the run did not get as far as running tests (type error, bad module).
  }
  if (!status.success && t.failed === 0) {
    t.failed = 1;
    t.failures = [`${files.join(" ")}: deno test exited ${status.code} without a failed case`];
  }
  if (env.FNAT_LIB) t.failures = (t.failures ?? []).map((f) => `${f} (ASan build)`);
  return t;
}

async function findTests(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(rel: string): Promise<void> {
    for await (const e of Deno.readDir(`${ROOT}${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        const skip = ["node_modules", "build", "build-asan", "build-fuzz", "artifacts", ".git"];
        if (skip.includes(e.name)) continue;
        await walk(path);
      } else if (/_test\.ts$/.test(e.name)) {
        found.push(path);
      }
    }
  }
  await walk(dir);
  return found.sort();
}

/**
 * The data plane's test files that run a second time against the sanitized library: not the
 * fuzzer's own test, nor the kernel-link tests (`af_*_test.ts`: their helper processes would
 * inherit the preloaded sanitizer runtime; under it the XDP filter's link test hung).
 */
export function sanitizedRuns(isolated: string[]): string[] {
  return isolated.filter((f) =>
    !f.startsWith("dataplane/fuzz/") && !/^dataplane\/af_\w+_test\.ts$/.test(f)
  );
}

/** Builds libfnat under ASan/UBSan; the environment that loads it into a Deno test process. */
export async function sanitizedLibrary(): Promise<Record<string, string>> {
  const build = await new Deno.Command("make", {
    args: ["-s", "-C", `${ROOT}dataplane`, "build-asan/libfnat.so"],
    stderr: "inherit",
  }).output();
  if (!build.success) throw new Error("Cannot build dataplane/build-asan/libfnat.so");
  const rt = await new Deno.Command("clang", {
    args: ["-print-file-name=libclang_rt.asan-x86_64.so"],
    stdout: "piped",
  }).output();
  return {
    LD_PRELOAD: new TextDecoder().decode(rt.stdout).trim(),
    FNAT_LIB: `${ROOT}dataplane/build-asan/libfnat.so`,
    ASAN_OPTIONS: "detect_leaks=0:abort_on_error=1",
    UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
  };
}

if (import.meta.main) {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const total: Tally = { passed: 0, failed: 0 };
  const failures: string[] = [];
  const add = (t: Tally) => {
    total.passed += t.passed;
    total.failed += t.failed;
    failures.push(...(t.failures ?? []));
  };

  add(await runC());

  const all = await findTests("");
  const isolated = all.filter((f) => f.startsWith("dataplane/"));
  const shared = all.filter((f) => !f.startsWith("dataplane/"));
  for (const [i, f] of isolated.entries()) {
    add(await runDeno([f], Deno.args, `${ARTIFACTS}/junit-dataplane-${i}.xml`));
  }
  if (shared.length > 0) add(await runDeno(shared, Deno.args, `${ARTIFACTS}/junit.xml`));

  // The data plane's FFI tests again, against libfnat built with ASan/UBSan (Deno itself is
  // not instrumented: the sanitizer runtime is preloaded; leaks are the C tests' to find).
  const asan = await sanitizedLibrary();
  for (const [i, f] of sanitizedRuns(isolated).entries()) {
    add(await runDeno([f], Deno.args, `${ARTIFACTS}/junit-asan-${i}.xml`, asan));
  }

  // Named again here: a CI log is often read from its tail.
  for (const f of failures) console.log(`failed: ${f}`);
  console.log(`tests: ${total.passed} passed, ${total.failed} failed`);
  Deno.exit(total.failed === 0 ? 0 : 1);
}
