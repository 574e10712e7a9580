import assert from "node:assert/strict";
import { ClusterFleet, rolloutView } from "./dashboard_fleet.ts";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import { buildRelease } from "./release.ts";
import { portConformance } from "../../web/conformance.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);

Deno.test({
  name: "ClusterFleet passes the dashboard's port conformance suite over the fake fleet",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "dash-fleet-" });
    try {
      const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
      const rel = await buildRelease({ repo, version: "3.0.0-test", out: `${dir}/rel.tar.gz` });
      let i = 0;
      const fleets: ClusterFleet[] = [];
      await portConformance(t, async () => {
        const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
        for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
        const fleet = new ClusterFleet({
          cluster: LAB,
          transport: fake,
          stateDir: `${dir}/s${i++}`,
          rollout: { watchSeconds: 0 },
        });
        fleets.push(fleet);
        return {
          reader: fleet,
          actions: fleet,
          settle: () => new Promise((r) => setTimeout(r, 10)),
          rolloutRelease: rel.path,
        };
      });
      // Rollouts run on in the background and write their state into dir.
      await Promise.all(fleets.map((f) => f.idle()));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ClusterFleet shows an unreachable node as down with the transport's reason", async () => {
  const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
  fake.node("node3").up = false;
  const fleet = new ClusterFleet({ cluster: LAB, transport: fake, stateDir: "/nonexistent" });
  const s = await fleet.read();
  const n3 = s.nodes.find((n) => n.name === "node3")!;
  assert.equal(n3.reachable, false);
  assert.match(n3.error ?? "", /connection refused/);
  assert.equal(s.nodes.filter((n) => n.state === "active").length, 2);
});

Deno.test("rolloutView() names a failed node that could not be drained again as degraded", () => {
  const view = rolloutView({
    id: "r1",
    release: "/srv/releases/lvs-2.tar.gz",
    version: "2",
    sha256: "ab".repeat(32),
    batch: 1,
    status: "halted",
    startedAt: 0,
    updatedAt: 0,
    error: "node2: gate failed (degraded: draining it again failed: refused)",
    nodes: [{
      node: "node2",
      step: "failed",
      error: "gate failed",
      degraded: "draining it again failed: refused",
    }],
  }, "alice");
  assert.equal(view.nodes[0]!.message, "gate failed; degraded: draining it again failed: refused");
  assert.match(view.error ?? "", /degraded: draining it again failed/);
});
