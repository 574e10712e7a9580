import assert from "node:assert/strict";
import { ClusterFleet, rolloutView } from "./dashboard_fleet.ts";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import { portConformance } from "../../web/conformance.ts";
import { ActionError } from "../../web/fleet.ts";
import { StaticReleaseReader } from "./fake_release_reader.ts";
import { writeManifest } from "./release_manifest.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);

/** A releases directory with one built-looking release, and a reader that describes it. */
async function releasesIn(dir: string) {
  const releasesDir = `${await Deno.realPath(dir)}/releases`;
  await Deno.mkdir(releasesDir);
  const path = `${releasesDir}/lvs-3.0.0.tar.gz`;
  await Deno.writeTextFile(path, "release 3.0.0-test");
  const sha256 = await writeManifest(path);
  const releases = new StaticReleaseReader().add(path, { version: "3.0.0-test", sha256 });
  return { releasesDir, releases, path };
}

Deno.test({
  name: "ClusterFleet passes the dashboard's port conformance suite over the fake fleet",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "dash-fleet-" });
    try {
      const { releasesDir, releases } = await releasesIn(dir);
      let i = 0;
      const fleets: ClusterFleet[] = [];
      await portConformance(t, async () => {
        const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
        for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
        const fleet = new ClusterFleet({
          cluster: LAB,
          transport: fake,
          stateDir: `${dir}/s${i++}`,
          releasesDir,
          rollout: { watchSeconds: 0, releases },
        });
        fleets.push(fleet);
        return {
          reader: fleet,
          actions: fleet,
          settle: () => new Promise((r) => setTimeout(r, 10)),
          rolloutRelease: "lvs-3.0.0.tar.gz",
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

Deno.test("ClusterFleet rolls out only releases from its releases directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dash-fleet-" });
  try {
    const { releasesDir, releases } = await releasesIn(dir);
    const fleet = (releasesDir?: string) => {
      const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
      const f = new ClusterFleet({
        cluster: LAB,
        transport: fake,
        stateDir: `${dir}/state`,
        ...(releasesDir ? { releasesDir } : {}),
        rollout: { releases },
      });
      return { f, fake };
    };
    const { f, fake } = fleet(releasesDir);
    for (const bad of ["/etc/passwd", "../x.tar.gz", `${releasesDir}/../rel.tar.gz`]) {
      await assert.rejects(
        f.startRollout({ release: bad }, "alice"),
        (e) =>
          e instanceof ActionError && e.status === 400 &&
          e.message.includes(`Release '${bad}' is not offered`) &&
          e.message.includes(`releases with a manifest in ${releasesDir}`) &&
          e.message.includes("offered: lvs-3.0.0.tar.gz"),
        bad,
      );
    }
    assert.deepEqual(fake.calls, [], "no node was touched");
    const none = fleet();
    await assert.rejects(
      none.f.startRollout({ release: `${releasesDir}/lvs-3.0.0.tar.gz` }, "alice"),
      (e) =>
        e instanceof ActionError && e.status === 400 &&
        /no releases directory is configured/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
