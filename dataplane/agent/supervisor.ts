/**
 * Keeps the agent running from the node's current release, as systemd does in production
 * (`Restart=always`): it runs `<root>/current/dataplane/agent/main.ts`, and when the agent
 * exits (a restart asked for by a rolling upgrade, or a crash) it starts it again from
 * whatever `current` points at then. Quick successive crashes back off up to 5 s. It records
 * the release it starts as `<root>/running` (a switch never prunes it) and, should `current`
 * lead nowhere, starts `previous` rather than stop.
 *
 *     deno run -A dataplane/agent/supervisor.ts --root /srv/lvs -- --config /etc/lvs/agent.json
 *
 * @module
 */
import { errorText } from "../../routing/errors.ts";

/** Delay before the next start: none after a long run, doubling after quick crashes. */
export function restartDelay(previousMs: number, ranMs: number): number {
  if (ranMs >= 10_000) return 100;
  return Math.min(5_000, Math.max(100, previousMs * 2));
}

/** The agent entry inside one release directory. */
export function agentEntry(release: string): string {
  return `${release}/dataplane/agent/main.ts`;
}

/** The release to start: where `current` leads, else where `previous` leads (with a note why). */
export async function pickRelease(root: string): Promise<{ release: string; note?: string }> {
  const resolve = (name: string) => Deno.realPath(`${root}/${name}`).catch(() => null);
  const current = await resolve("current");
  if (current !== null) return { release: current };
  const previous = await resolve("previous");
  if (previous === null) {
    throw new Error(`No release to start in ${root}: neither current nor previous leads to one`);
  }
  return {
    release: previous,
    note: `current (${root}/current) does not lead to a release; starting previous, ${previous}`,
  };
}

/** Points `<root>/running` at the release being started (atomically: a new link, renamed). */
export async function markRunning(root: string, release: string): Promise<void> {
  const tmp = `${root}/running.new`;
  await Deno.remove(tmp).catch(() => {});
  await Deno.symlink(release, tmp);
  await Deno.rename(tmp, `${root}/running`);
}

async function supervise(root: string, args: string[]): Promise<void> {
  let stopping = false;
  let child: Deno.ChildProcess | undefined;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => {
      stopping = true;
      try {
        child?.kill("SIGTERM");
      } catch {
        // already exited
      }
    });
  }
  let delay = 100;
  while (!stopping) {
    const started = Date.now();
    // Resolve the link now, so the agent runs from one release even if it is switched later.
    let release: string;
    try {
      const pick = await pickRelease(root);
      if (pick.note) console.error(`supervisor: ${pick.note}`);
      release = pick.release;
    } catch (e) {
      delay = restartDelay(delay, 0);
      console.error(`supervisor: ${errorText(e)}; trying again in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      continue;
    }
    await markRunning(root, release).catch((e) =>
      console.error(`supervisor: cannot record ${release} as running: ${errorText(e)}`)
    );
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", agentEntry(release), ...args],
      cwd: release,
      stdin: "null",
    }).spawn();
    const status = await child.status;
    if (stopping) break;
    const ran = Date.now() - started;
    delay = restartDelay(delay, ran);
    console.error(
      `supervisor: agent exited with code ${status.code} after ${ran} ms; restarting in ${delay} ms`,
    );
    await new Promise((r) => setTimeout(r, delay));
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--root");
  const root = i >= 0 ? Deno.args[i + 1] : undefined;
  const sep = Deno.args.indexOf("--");
  if (!root) {
    console.error("usage: supervisor.ts --root DIR [-- AGENT ARGS...]");
    Deno.exit(2);
  }
  await supervise(root, sep >= 0 ? Deno.args.slice(sep + 1) : []);
}
