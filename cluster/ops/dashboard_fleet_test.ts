import assert from "node:assert/strict";
import { ClusterFleet, rolloutView } from "./dashboard_fleet.ts";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import { portConformance } from "../../web/conformance.ts";
import { ActionError, hashVerdict } from "../../web/fleet.ts";
import { StaticReleaseReader } from "./fake_release_reader.ts";
import { writeManifest } from "./release_manifest.ts";
import { endpointOf } from "../transport/endpoint.ts";

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

Deno.test("ClusterFleet shows a rollout lvsctl saved, in the shared words, also one saved in an earlier release's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dash-fleet-" });
  try {
    const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
    for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
    const saved = (status: string, steps: string[]) =>
      Deno.writeTextFile(
        `${dir}/rollout.json`,
        JSON.stringify({
          id: "r7",
          release: "/srv/lvs-2.tar.gz",
          version: "2",
          sha256: "ab".repeat(32),
          batch: 1,
          status,
          startedAt: 1,
          updatedAt: 2,
          nodes: ["node1", "node2", "node3"].map((node, i) => ({ node, step: steps[i] })),
        }),
      );
    const shown = async () => {
      const fleet = new ClusterFleet({ cluster: LAB, transport: fake, stateDir: dir });
      const r = (await fleet.read()).rollouts[0]!;
      return [r.state, ...r.nodes.map((n) => n.step)];
    };
    await saved("running", ["done", "health-gate", "pending"]);
    assert.deepEqual(await shown(), ["running", "done", "health-gate", "pending"]);
    await saved("running", ["done", "gating", "pending"]); // an earlier release's words
    assert.deepEqual(await shown(), ["running", "done", "health-gate", "pending"]);
    await saved("done", ["done", "done", "done"]);
    assert.deepEqual(await shown(), ["completed", "done", "done", "done"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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

Deno.test("ClusterFleet's desired hash is the one the nodes apply, sync settings included", async () => {
  const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
  const configs = await nodeConfigs(LAB);
  for (const [name, cfg] of configs) fake.node(name).config = cfg;
  const s = await new ClusterFleet({ cluster: LAB, transport: fake, stateDir: "/nonexistent" })
    .read();
  assert.ok(LAB.sync, "the lab syncs");
  assert.equal(s.desiredConfigHash, configs.get("node1")!.hash);
  assert.deepEqual([...hashVerdict(s).mismatched], []);
});

Deno.test("ClusterFleet shows a drained node's live sessions and the frames still forwarded to it", async () => {
  const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
  const n2 = fake.node("node2");
  n2.sessions = 40;
  n2.sessionsEndPerRead = 10;
  n2.forwardedInPerRead = 30;
  let now = 1_000_000;
  const fleet = new ClusterFleet({
    cluster: LAB,
    transport: fake,
    stateDir: "/nonexistent",
    clock: () => now,
  });
  await fleet.drain("node2", "alice");
  await fleet.read();
  now += 1000;
  const s = await fleet.read();
  const node2 = s.nodes.find((n) => n.name === "node2")!;
  assert.equal(node2.state, "draining");
  assert.equal(node2.stats?.sessions, 10, "live sessions falling (40, 10 end at each read)");
  assert.equal(node2.sync?.forwardedInPerSecond, 30, "frames still forwarded to it");
  assert.equal(node2.sync?.peers[0]?.node, "node1", "peers by name");
  now += 1000;
  await fleet.read();
  now += 1000;
  const done = (await fleet.read()).nodes.find((n) => n.name === "node2")!;
  assert.equal(done.state, "drained");
  assert.equal(done.sync?.forwardedInPerSecond, 0, "no sessions left, nothing forwarded");
});

Deno.test("the dashboard shows the lvsctl run that holds the nodes' lease, and its rollout is refused with 409 naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dash-fleet-" });
  try {
    const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
    for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
    for (const n of LAB.nodes) {
      await fake.agent(endpointOf(n), "POST", "/v1/lease/acquire", {
        holder: "lvsctl by alice@ops1 pid 42 (rollout r1)",
        ttlMs: 60_000,
      });
    }
    const { releasesDir, releases, path } = await releasesIn(dir);
    const fleet = new ClusterFleet({
      cluster: LAB,
      transport: fake,
      stateDir: `${dir}/s`,
      releasesDir,
      rollout: { releases },
    });
    const seen = (await fleet.read()).lease;
    assert.equal(seen?.holder, "lvsctl by alice@ops1 pid 42 (rollout r1)");
    assert.deepEqual(seen?.nodes, ["node1", "node2", "node3"]);
    await assert.rejects(fleet.startRollout({ release: path }, "bob"), (e: unknown) => {
      assert.ok(e instanceof ActionError);
      assert.equal(e.status, 409);
      assert.match(e.message, /held by "lvsctl by alice@ops1 pid 42 \(rollout r1\)" on node1/);
      return true;
    });
    await fleet.idle();
    assert.ok(!fake.calls.some((c) => c.endsWith("POST /v1/drain")), "nothing was drained");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
