/**
 * Keeps the agent running from the node's current release, as systemd does in production
 * (`Restart=always`): it runs `<root>/current/dataplane/agent/main.ts`, and when the agent
 * exits (a restart asked for by a rolling upgrade, or a crash) it starts it again from
 * whatever `current` points at then. Quick successive crashes back off up to 5 s.
 *
 *     deno run -A dataplane/agent/supervisor.ts --root /srv/lvs -- --config /etc/lvs/agent.json
 *
 * @module
 */

/** Delay before the next start: none after a long run, doubling after quick crashes. */
export function restartDelay(previousMs: number, ranMs: number): number {
  if (ranMs >= 10_000) return 100;
  return Math.min(5_000, Math.max(100, previousMs * 2));
}

/** The agent entry inside one release directory. */
export function agentEntry(release: string): string {
  return `${release}/dataplane/agent/main.ts`;
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
    const release = await Deno.realPath(`${root}/current`);
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
