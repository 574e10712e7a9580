/**
 * The lab's dashboard: `lab up` leaves `lvsctl dashboard` running in the background against the
 * lab's cluster file, with a fresh operator token, so a newcomer can open the page at once.
 * Everything it writes sits in `<lab state>/dashboard/` (token, pid, log, audit log, rollout
 * state, and `releases/`, the only place its rolling upgrades take a release from); `lab down` stops it with the lab's other daemons (its pid file and command line carry
 * the lab's directory) and removes the folder.
 *
 * @module
 */
import { processAlive, signal } from "./netns.ts";
import { pollUntil } from "../../routing/poll.ts";

const LVSCTL = new URL("../lvsctl.ts", import.meta.url).pathname;

/** Where the lab's dashboard keeps its files. */
export function labDashboardDir(labStateDir: string): string {
  return `${labStateDir}/dashboard`;
}

/** The dashboard of a lab, as `lab up` left it. */
export interface LabDashboard {
  running: boolean;
  pid: number | null;
  url: string;
  /** The operator token (also in `tokenFile`, mode 0600). */
  token: string | null;
  tokenFile: string;
  log: string;
  /** The directory whose release tarballs (with their manifest) the dashboard offers. */
  releases: string;
}

function files(labStateDir: string) {
  const dir = labDashboardDir(labStateDir);
  return {
    dir,
    token: `${dir}/token`,
    pid: `${dir}/dashboard.pid`,
    log: `${dir}/dashboard.log`,
    releases: `${dir}/releases`,
  };
}

async function readOr<T>(path: string, parse: (s: string) => T, fallback: T): Promise<T> {
  try {
    return parse((await Deno.readTextFile(path)).trim());
  } catch {
    return fallback;
  }
}

/** What runs (or ran) for the lab whose state is in `labStateDir`. */
export async function labDashboardStatus(
  labStateDir: string,
  listen: string,
): Promise<LabDashboard> {
  const f = files(labStateDir);
  const pid = await readOr(f.pid, (s) => Number(s) || null, null as number | null);
  return {
    running: pid !== null && processAlive(pid),
    pid,
    url: `http://${listen}/`,
    token: await readOr(f.token, (s) => s || null, null as string | null),
    tokenFile: f.token,
    log: f.log,
    releases: f.releases,
  };
}

/**
 * Starts `lvsctl dashboard` for the lab in the background (stopping one left by an earlier
 * `lab up`) and waits until it answers on `listen`. Throws with the log's tail when it does not.
 */
export async function startLabDashboard(
  labStateDir: string,
  clusterFile: string,
  listen: string,
  opts: { timeoutMs?: number } = {},
): Promise<LabDashboard> {
  const f = files(labStateDir);
  await stopLabDashboard(labStateDir);
  await Deno.mkdir(f.dir, { recursive: true, mode: 0o700 });
  await Deno.mkdir(f.releases, { recursive: true, mode: 0o700 });
  const token = crypto.randomUUID().replaceAll("-", "");
  await Deno.writeTextFile(f.token, `${token}\n`, { mode: 0o600 });
  // `sh -c 'exec ...'` keeps the pid and sends the output to the log; the child is not waited
  // for, so it outlives `lab up`. --state-dir puts the lab's directory on its command line.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$@" >>"$LOG" 2>&1 </dev/null',
      "sh",
      Deno.execPath(),
      "run",
      "-A",
      LVSCTL,
      "dashboard",
      "--cluster",
      clusterFile,
      "--listen",
      listen,
      "--state-dir",
      f.dir,
      "--releases",
      f.releases,
    ],
    env: { LOG: f.log, LVS_DASHBOARD_TOKEN: token, LVS_DASHBOARD_OPERATOR: "lab" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  await Deno.writeTextFile(f.pid, `${child.pid}\n`);
  const url = `http://${listen}/`;
  const up = await pollUntil(
    async () => {
      if (!processAlive(child.pid)) return false;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return true;
      } catch {
        return null;
      }
    },
    opts.timeoutMs ?? 30_000,
    200,
  );
  if (!up) {
    const log = await readOr(f.log, (s) => s.split("\n").slice(-10).join("\n"), "");
    await stopLabDashboard(labStateDir);
    throw new Error(`Cannot start the lab's dashboard on ${url}: ${log || "no output"}`);
  }
  return await labDashboardStatus(labStateDir, listen);
}

/** Stops the lab's dashboard if it runs; true when one was stopped. */
export async function stopLabDashboard(labStateDir: string): Promise<boolean> {
  const f = files(labStateDir);
  const pid = await readOr(f.pid, (s) => Number(s) || null, null as number | null);
  if (pid === null || !processAlive(pid)) return false;
  signal(pid, "SIGTERM");
  if (await pollUntil(() => !processAlive(pid) || null, 5000, 50)) return true;
  signal(pid, "SIGKILL");
  return true;
}
