/**
 * Serves the dashboard over the scripted in-memory fleet, for a look without a lab:
 * `deno run -A web/demo.ts [--port 8080]`. The token is `LVS_DASHBOARD_TOKEN`, or a random one
 * printed at start. Actions act on the in-memory fleet only.
 *
 * @module
 */
import { MemoryAuditLog } from "./audit.ts";
import { operatorsFromEnv } from "./auth.ts";
import { FleetHistory } from "./history.ts";
import { MemoryFleet } from "./memory_fleet.ts";
import { serveDashboard } from "./server.ts";

if (import.meta.main) {
  const i = Deno.args.indexOf("--port");
  const port = i >= 0 ? Number(Deno.args[i + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`demo: --port must be 0-65535 (got ${Deno.args[i + 1]})`);
    Deno.exit(1);
  }
  let operators = operatorsFromEnv((k) => Deno.env.get(k));
  if (operators.length === 0) {
    const token = Array.from(
      crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0"),
    )
      .join("");
    operators = [{ name: "operator", token }];
    console.log(`demo: operator token ${token}`);
  }
  // Sample ten minutes of the simulated fleet first, so the charts are full from the start.
  let offset = -600_000;
  const clock = () => Date.now() + offset;
  const fleet = new MemoryFleet({ clock });
  const history = new FleetHistory({ clock });
  for (; offset < 0; offset += history.intervalMs) history.record(await fleet.read());
  offset = 0;
  serveDashboard({
    port,
    deps: { reader: fleet, actions: fleet, audit: new MemoryAuditLog(), operators, clock, history },
    onListen: (url) => console.log(`demo: dashboard on ${url} (in-memory fleet)`),
  });
}
