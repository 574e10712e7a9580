/**
 * Host commands for the lab (I/O adapter): run `ip`/`sysctl`/`bird` argv lists, list network
 * namespaces and the processes inside them, signal processes.
 *
 * @module
 */

/** Result of one host command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the lab needs from the host; `RealHost` runs commands, tests may record them. */
export interface Host {
  /** Runs argv and returns its result (never throws for a non-zero exit). */
  run(argv: string[]): Promise<CommandResult>;
}

/** Raised when a host command fails: names the command and its stderr. */
export class HostCommandError extends Error {
  override name = "HostCommandError";
  constructor(readonly argv: string[], readonly result: CommandResult, options?: ErrorOptions) {
    super(
      `Command failed (exit ${result.code}): ${argv.join(" ")}: ${
        (result.stderr || result.stdout).trim()
      }`,
      options,
    );
  }
}

/** Runs commands on this machine with `Deno.Command`. */
export class RealHost implements Host {
  async run(argv: string[]): Promise<CommandResult> {
    const [cmd, ...args] = argv;
    if (!cmd) throw new TypeError("Cannot run an empty command");
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
      .output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }
}

/** Runs argv and throws `HostCommandError` unless it exits 0; returns stdout. */
export async function must(host: Host, argv: string[]): Promise<string> {
  const r = await host.run(argv);
  if (r.code !== 0) throw new HostCommandError(argv, r);
  return r.stdout;
}

/** Names of the network namespaces whose names start with `prefix`. */
export async function listNamespaces(host: Host, prefix: string): Promise<string[]> {
  const r = await host.run(["ip", "-j", "netns", "list"]);
  if (r.code !== 0 || r.stdout.trim() === "") return [];
  const list = JSON.parse(r.stdout) as Array<{ name: string }>;
  return list.map((n) => n.name).filter((n) => n.startsWith(prefix)).sort();
}

/** Process ids running inside a namespace (empty when it does not exist). */
export async function namespacePids(host: Host, ns: string): Promise<number[]> {
  const r = await host.run(["ip", "netns", "pids", ns]);
  if (r.code !== 0) return [];
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger);
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Sends a signal, ignoring processes that are already gone. */
export function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* gone */ }
}
