import assert from "node:assert/strict";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import { loadRolloutState, resumeRollout, RolloutHaltedError, startRollout } from "./rollout.ts";
import { ReleaseError } from "./release_check.ts";
import { acquireLease, LeaseBusyError } from "./lease.ts";
import { StaticReleaseReader } from "./fake_release_reader.ts";
import { sha256File } from "./release_manifest.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);

/**
 * A fleet of fake nodes with the lab's configuration applied, a fake clock, and a release: a
 * small file the fake nodes receive, which the reader describes as release 2.0.0-test.
 */
async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "rollout-test-" });
  const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
  const rel = { path: `${dir}/rel.tar.gz` };
  await Deno.writeTextFile(rel.path, "release 2.0.0-test");
  const releases = new StaticReleaseReader().add(rel.path, {
    version: "2.0.0-test",
    sha256: await sha256File(rel.path),
  });
  let now = 1_000_000;
  const deps = {
    cluster: LAB,
    transport: fake,
    releases,
    stateDir: `${dir}/state`,
    now: () => now,
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
  };
  return { dir, fake, rel, releases, deps, advance: (ms: number) => (now += ms) };
}

Deno.test("startRollout() drains, ships, restarts, gates and undrains every node in turn", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const state = await startRollout(deps, { release: rel.path });
    assert.equal(state.status, "done");
    assert.deepEqual(state.nodes.map((n) => n.step), ["done", "done", "done"]);
    for (const n of fake.nodes.values()) {
      assert.equal(n.release, "2.0.0-test");
      assert.equal(n.drained, false);
    }
    // node1 was done (drained, shipped, restarted, undrained) before node2 was drained.
    const order = fake.calls.filter((c) => / POST \/v1\/(drain|undrain|restart)/.test(c))
      .map((c) => c.replace(" POST /v1/", ":"));
    assert.deepEqual(order.slice(0, 6), [
      "node1:drain",
      "node1:restart",
      "node1:undrain",
      "node2:drain",
      "node2:restart",
      "node2:undrain",
    ]);
    assert.ok(
      fake.calls.includes(`node1 upload ${LAB.nodes[0]!.agent.root}/releases/2.0.0-test.tar.gz`),
    );
    // The lease is released at the end.
    await (await acquireLease(`${deps.stateDir}/rollout.lease`, "other", 1000)).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node failing its health gate halts the rollout, drained; resume finishes it", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    fake.node("node2").adjacencyAfterRestart = "Init"; // its new release never forms OSPF
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError, String(err));
    assert.deepEqual(err.state.nodes.map((n) => n.step), ["done", "failed", "pending"]);
    assert.match(err.state.nodes[1]!.error!, /OSPF adjacency Init/);
    assert.equal(fake.node("node2").drained, true, "the failed node stays drained");
    assert.equal(fake.node("node1").drained, false);
    assert.equal(fake.node("node3").release, "1.0.0", "the rest is untouched");
    assert.equal((await loadRolloutState(deps.stateDir))?.status, "halted");

    fake.node("node2").adjacency = "Full"; // fixed by the operator
    fake.node("node2").adjacencyAfterRestart = "Full";
    const done = await resumeRollout(deps);
    assert.equal(done.status, "done");
    assert.deepEqual([...fake.nodes.values()].map((n) => n.release), [
      "2.0.0-test",
      "2.0.0-test",
      "2.0.0-test",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second rollout is refused while the lease is held, and taken over once it expired", async () => {
  const { dir, rel, deps, advance } = await setup();
  try {
    await Deno.mkdir(deps.stateDir, { recursive: true });
    const other = await acquireLease(
      `${deps.stateDir}/rollout.lease`,
      "someone else",
      60_000,
      deps.now,
    );
    await assert.rejects(() => startRollout(deps, { release: rel.path }), LeaseBusyError);
    void other;
    advance(120_000); // the other holder died without releasing
    const state = await startRollout(deps, { release: rel.path });
    assert.equal(state.status, "done");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drop counters rising after undrain fail the gate", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const n1 = fake.node("node1");
    const orig = n1.status.bind(n1);
    n1.status = () => {
      if (!n1.drained && n1.release === "2.0.0-test") {
        n1.drops.bad_tcp_checksum = (n1.drops.bad_tcp_checksum ?? 0) + 1;
      }
      return orig();
    };
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError);
    assert.match(err.state.nodes[0]!.error!, /drop counters rose/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a halted node that cannot be drained again is named degraded in the halt message and state", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const n2 = fake.node("node2");
    const restart = n2.restart.bind(n2);
    n2.restart = () => {
      restart();
      n2.up = false; // the new release never comes up: the node cannot be reached any more
    };
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError, String(err));
    const node2 = err.state.nodes[1]!;
    assert.equal(node2.step, "failed");
    assert.match(node2.degraded ?? "", /draining it again failed: node2: connection refused/);
    assert.match(err.state.error ?? "", /node2: .*degraded: draining it again failed/);
    assert.match(err.message, /node2 could not be drained again: it is degraded/);
    assert.doesNotMatch(err.message, /the failed node is drained/);
    assert.equal((await loadRolloutState(deps.stateDir))?.nodes[1]?.degraded, node2.degraded);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startRollout() refuses a release that fails its checks before anything is uploaded or leased", async () => {
  const { dir, fake, rel, releases, deps } = await setup();
  try {
    const sha256 = await sha256File(rel.path);
    const cases: Array<[Parameters<StaticReleaseReader["add"]>[1], RegExp]> = [
      [{ version: "", sha256 }, /Invalid release version ''/],
      [{ version: "../../..", sha256 }, /Invalid release version '\.\.\/\.\.\/\.\.'/],
      [{ version: null, sha256 }, /it has no VERSION file/],
      [{ version: "2", sha256, recordedSha256: null }, /no manifest .*rel\.tar\.gz\.sha256/],
      [
        { version: "2", sha256, recordedSha256: "0".repeat(64) },
        /not the 0{64} its manifest recorded/,
      ],
      [
        {
          version: "2",
          sha256,
          entries: [{ path: "./x", type: "symlink", link: "/", mode: 0o777 }],
        },
        /\.\/x: a symbolic link to \/, outside the release/,
      ],
    ];
    for (const [contents, message] of cases) {
      releases.add(rel.path, contents);
      await assert.rejects(
        startRollout(deps, { release: rel.path }),
        (e) => e instanceof ReleaseError && message.test(e.message),
        String(message),
      );
    }
    assert.deepEqual(fake.calls, [], "no node was drained, uploaded to or switched");
    assert.equal(await loadRolloutState(deps.stateDir), null, "no rollout was started");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node that receives other bytes than the checked release refuses to switch; the rollout halts", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const upload = fake.upload.bind(fake);
    fake.upload = async (ep, local, remote) => {
      await upload(ep, local, remote);
      if (ep.name === "node2") fake.node("node2").files.set(remote, new TextEncoder().encode("x"));
    };
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError, String(err));
    assert.deepEqual(err.state.nodes.map((n) => n.step), ["done", "failed", "pending"]);
    assert.match(
      err.state.nodes[1]!.error!,
      /node2: the node refused to switch to the release: .*has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/,
    );
    assert.equal(fake.node("node2").release, "1.0.0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resumeRollout() refuses a release file that changed since the rollout started", async () => {
  const { dir, fake, rel, releases, deps } = await setup();
  try {
    fake.node("node2").adjacencyAfterRestart = "Init";
    await assert.rejects(startRollout(deps, { release: rel.path }), RolloutHaltedError);
    await Deno.writeTextFile(rel.path, "another build");
    releases.add(rel.path, { version: "2.0.0-test", sha256: await sha256File(rel.path) });
    await assert.rejects(
      resumeRollout(deps),
      /Cannot resume rollout r\w+: release .*rel\.tar\.gz changed since it started .*start a new rollout/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
