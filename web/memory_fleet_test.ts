import assert from "node:assert/strict";
import { checkSnapshot, portConformance } from "./conformance.ts";
import { ActionError } from "./fleet.ts";
import { MemoryFleet, releaseVersion } from "./memory_fleet.ts";

function sim() {
  const c = { now: 1_790_000_000_000 };
  return { c, fleet: new MemoryFleet({ clock: () => c.now, drainMs: 2000, stepMs: 1000 }) };
}

Deno.test("MemoryFleet counters move with the clock", async () => {
  const { c, fleet } = sim();
  const a = (await fleet.read()).nodes[0]!.stats!;
  c.now += 5000;
  const b = (await fleet.read()).nodes[0]!.stats!;
  assert.ok(b.packetsIn > a.packetsIn);
  assert.ok(b.synCookies.sent > a.synCookies.sent);
});

Deno.test("MemoryFleet drain withdraws the next hop, drains sessions, and undrain restores it", async () => {
  const { c, fleet } = sim();
  await fleet.drain("node2", "alice");
  assert.deepEqual(fleet.nextHops(), ["node1", "node3"]);
  assert.equal((await fleet.read()).nodes[1]!.state, "draining");
  c.now += 2500;
  const n2 = (await fleet.read()).nodes[1]!;
  assert.equal(n2.state, "drained");
  assert.equal(n2.stats!.sessions, 0);
  assert.equal(n2.ospf!.vipsAdvertised, false);
  await assert.rejects(
    () => fleet.drain("node2", "alice"),
    (e) => e instanceof ActionError && e.status === 409,
  );
  await fleet.undrain("node2", "alice");
  assert.deepEqual(fleet.nextHops(), ["node1", "node2", "node3"]);
  assert.deepEqual(
    fleet.calls.filter((x) => x.method !== "read").map((x) => [x.method, ...x.args]),
    [
      ["drain", "node2", "alice"],
      ["drain", "node2", "alice"],
      ["undrain", "node2", "alice"],
    ],
  );
});

Deno.test("MemoryFleet rollout upgrades node by node, halts on a failed health gate and resumes", async () => {
  const { c, fleet } = sim();
  fleet.failUpgradeOn.add("node3");
  const r = await fleet.startRollout({ release: "/srv/lvs-1.2.0.tar.gz", batchSize: 2 }, "alice");
  assert.equal(r.batchSize, 2);
  c.now += 1000;
  const mid = (await fleet.read()).nodes;
  assert.deepEqual(mid.map((n) => n.state), ["draining", "draining", "active"]);
  c.now += 20_000;
  const halted = (await fleet.getRollout(r.id))!;
  assert.equal(halted.state, "halted");
  assert.deepEqual(halted.nodes.map((n) => n.step), ["done", "done", "failed"]);
  assert.deepEqual((await fleet.read()).nodes.map((n) => [n.state, n.version]), [
    ["active", "1.2.0"],
    ["active", "1.2.0"],
    ["drained", "1.2.0"], // restarted on the new release, then failed its gate
  ]);
  fleet.failUpgradeOn.clear();
  await fleet.resumeRollout(r.id, "bob");
  c.now += 20_000;
  assert.equal((await fleet.getRollout(r.id))!.state, "completed");
  assert.deepEqual((await fleet.read()).nodes.map((n) => n.version), ["1.2.0", "1.2.0", "1.2.0"]);
});

Deno.test("MemoryFleet failNext() makes one call fail", async () => {
  const { fleet } = sim();
  fleet.failNext("read", new Error("boom"));
  await assert.rejects(() => fleet.read(), /boom/);
  await fleet.read();
});

Deno.test("releaseVersion() reads the version from a release file name", () => {
  assert.equal(releaseVersion("/srv/releases/lvs-1.4.2.tar.gz"), "1.4.2");
  assert.equal(releaseVersion("lvs-2.0.tgz"), "2.0");
  assert.equal(releaseVersion("1.3.0-rc1"), "1.3.0-rc1");
  assert.equal(releaseVersion("nightly"), "nightly");
});

Deno.test("MemoryFleet passes the dashboard port conformance suite", async (t) => {
  await portConformance(t, () => {
    const { c, fleet } = sim();
    return Promise.resolve({
      reader: fleet,
      actions: fleet,
      settle: () => {
        c.now += 500;
        return Promise.resolve();
      },
      rolloutRelease: "/srv/lvs-9.9.9.tar.gz",
    });
  });
});

Deno.test("checkSnapshot() reports what a broken adapter would get wrong", async () => {
  const { fleet } = sim();
  const s = await fleet.read();
  const [n1, n2] = s.nodes;
  const broken = {
    ...s,
    nodes: [
      n1!,
      { ...n1!, state: "sleeping" as never },
      { ...n2!, reachable: false, error: null },
      { ...n2!, name: "node9", stats: { ...n2!.stats!, sessions: -1, ppsIn: NaN } },
    ],
  };
  assert.deepEqual(checkSnapshot(broken), [
    "node node1 appears twice",
    "node node1 has state sleeping",
    "node node2 is unreachable without a reason",
    "node node2 is unreachable but active",
    "node9.sessions is -1, not a finite number >= 0",
    "node9.ppsIn is NaN, not a finite number >= 0",
    "10.99.100.1:80/tcp real 10.99.1.21:8080 has health from unknown node node3",
    "10.99.100.1:80/tcp real 10.99.1.22:8080 has health from unknown node node3",
    "10.99.100.1:80/tcp real 10.99.1.23:8080 has health from unknown node node3",
    "10.99.100.2:53/udp real 10.99.1.31:53 has health from unknown node node3",
  ]);
});

Deno.test("MemoryFleet: a draining node's frames come forwarded by its peers until its sessions end", async () => {
  const { c, fleet } = sim();
  const before = await fleet.read();
  assert.ok(before.nodes.every((n) => n.sync !== null && n.sync.records > 0), "records held");
  await fleet.drain("node2", "alice");
  c.now += 300;
  await fleet.read();
  c.now += 300;
  const mid = await fleet.read();
  const n2 = mid.nodes[1]!;
  assert.equal(n2.state, "draining");
  assert.ok(n2.sync!.forwardedInPerSecond > 0, "frames still forwarded to the draining node");
  assert.ok(n2.sync!.forwardedIn > before.nodes[1]!.sync!.forwardedIn);
  const n1ToN2 = (s: typeof mid) => s.nodes[0]!.sync!.peers.find((p) => p.node === "node2")!;
  assert.ok(n1ToN2(mid).forwardedOut > n1ToN2(before).forwardedOut, "node1 forwards to node2");
  c.now += 5000;
  await fleet.read();
  c.now += 1000;
  const done = (await fleet.read()).nodes[1]!;
  assert.equal(done.state, "drained");
  assert.equal(done.sync!.forwardedInPerSecond, 0, "no sessions left, nothing forwarded");
  assert.deepEqual(checkSnapshot(await fleet.read()), []);
});

Deno.test("checkSnapshot() reports negative or non-finite sync figures", async () => {
  const { fleet } = sim();
  const s = await fleet.read();
  const n1 = s.nodes[0]!;
  const sync = { ...n1.sync!, records: -1, forwardedInPerSecond: Infinity };
  sync.peers = [{ ...sync.peers[0]!, forwardedOut: NaN }];
  assert.deepEqual(checkSnapshot({ ...s, nodes: [{ ...n1, sync }, ...s.nodes.slice(1)] }), [
    "node1.sync.records is -1, not a finite number >= 0",
    "node1.sync.forwardedInPerSecond is Infinity, not a finite number >= 0",
    "node1.sync.peers.node2.forwardedOut is NaN, not a finite number >= 0",
  ]);
});
