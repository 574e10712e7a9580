/**
 * The dashboard's browser scenario against the real lab: 3 nodes with agents and data planes,
 * BIRD and the upstream router, reached over SSH through `ClusterFleet`; a client sends requests
 * so the counters move; drain and undrain clicked on the page change the router's next hops.
 * Artifact: `tests/artifacts/dashboard-lab-overview.png`.
 */
import { dashboardBrowserTest, type FleetHarness } from "./web_browser_test.ts";
import { startLab } from "../cluster/lab/cluster.ts";
import { ClusterFleet } from "../cluster/ops/dashboard_fleet.ts";
import { MemoryAuditLog } from "../web/mod.ts";
import type { LabLoad } from "../cluster/lab/cluster.ts";

async function labHarness(): Promise<FleetHarness> {
  const lab = await startLab();
  const stateDir = await Deno.makeTempDir({ prefix: "lvs-dash-" });
  const fleet = new ClusterFleet({ cluster: lab.cluster, transport: lab.transport, stateDir });
  let load: LabLoad | undefined;
  return {
    reader: fleet,
    actions: fleet,
    audit: new MemoryAuditLog(),
    nodes: lab.cluster.nodes.map((n) => n.name),
    nextHops: () => lab.nextHops(),
    startLoad() {
      load ??= lab.startLoad(20);
      return Promise.resolve();
    },
    async stopLoad() {
      await load?.stop();
      load = undefined;
    },
    async close() {
      await load?.stop();
      await lab.close();
      await Deno.remove(stateDir, { recursive: true });
    },
  };
}

if (Deno.uid() === 0) dashboardBrowserTest("lab", labHarness, "dashboard-lab-overview.png");
