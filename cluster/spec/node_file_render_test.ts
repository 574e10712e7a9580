import assert from "node:assert/strict";
import { parseClusterFile } from "./cluster_file.ts";
import { renderNodeFile } from "./node_file_render.ts";
import { parseNodeFile } from "../../dataplane/agent/api.ts";

const PROD = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/cluster-production.yaml", import.meta.url)),
  "cluster-production.yaml",
  { readSecretFile: () => "0123456789abcdef0123456789abcdef" },
);

Deno.test("renderNodeFile() gives the agent a node file it accepts, from the cluster file", () => {
  const nf = renderNodeFile(PROD.nodes[0]!);
  const parsed = parseNodeFile(JSON.stringify(nf), "lb1.json");
  assert.equal(parsed.node, "lb1");
  assert.equal(parsed.stateDir, "/var/lib/lvs-agent/state");
  assert.deepEqual(parsed.dataplane.eal, {
    lcores: "0-4",
    vdevs: ["net_af_xdp0,iface=ens1f0,queue_count=4,xdp_prog=fnat"],
    noPci: true,
  });
  assert.equal(parsed.dataplane.workers, 4);
  assert.equal(parsed.bird.routing.routerId, "10.20.0.11");
  assert.deepEqual(parsed.bird.routing.uplink, {
    name: "ens1f0",
    hello: 1,
    dead: 4,
    cost: 10,
    priority: 0,
    bfd: true,
  });
});
