import assert from "node:assert/strict";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import {
  loadRolloutState,
  resumeRollout,
  RolloutHaltedError,
  rolloutNodes,
  startRollout,
} from "./rollout.ts";
import { LeaseBusyError } from "./lease.ts";
import { ReleaseError } from "./release_check.ts";
import { StaticReleaseReader } from "./fake_release_reader.ts";
import { sha256File } from "./release_manifest.ts";
import { ManualClock } from "./_testing.ts";
import { endpointOf } from "../transport/endpoint.ts";
import type { ClusterFile } from "../spec/cluster_file.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);

/**
 * A fleet of fake nodes with the lab's configuration applied, a hand-driven clock, and a release:
 * a small file the fake nodes receive, which the reader describes as release 2.0.0-test.
 */
async function setup(cluster: ClusterFile = LAB) {
  const dir = await Deno.makeTempDir({ prefix: "rollout-test-" });
  const fake = new FakeTransport(cluster.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(cluster)) fake.node(name).config = cfg;
  const rel = { path: `${dir}/rel.tar.gz` };
  await Deno.writeTextFile(rel.path, "release 2.0.0-test");
  const releases = new StaticReleaseReader().add(rel.path, {
    version: "2.0.0-test",
    sha256: await sha256File(rel.path),
  });
  const clock = new ManualClock();
  fake.clock = clock.now;
  const deps = { cluster, transport: fake, releases, stateDir: `${dir}/state`, clock };
  /** Takes every node's lease for `holder` as another operator's run would (no renewal). */
  const takeAll = async (holder: string) => {
    for (const n of cluster.nodes) {
      const r = await fake.agent(endpointOf(n), "POST", "/v1/lease/acquire", {
        holder,
        ttlMs: 60_000,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  };
  return { dir, fake, rel, releases, deps, clock, takeAll };
}

Deno.test("startRollout() drains, ships, restarts, gates and undrains every node in turn", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const state = await startRollout(deps, { release: rel.path });
    assert.equal(state.status, "completed");
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
    // The lease was taken on every node, renewed by its timer, and released at the end.
    for (const n of fake.nodes.values()) {
      assert.equal(n.lease.holder, null, `${n.name}'s lease is released`);
      assert.equal(n.lease.token, 1);
    }
    assert.equal(deps.clock.timers, 0, "the renewal timer stopped");
    assert.ok(fake.calls.includes("node1 POST /v1/lease/acquire"));
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
    assert.equal(done.status, "completed");
    assert.deepEqual([...fake.nodes.values()].map((n) => n.release), [
      "2.0.0-test",
      "2.0.0-test",
      "2.0.0-test",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rollout is refused while another holder's lease runs on the nodes, and takes it over once it expired", async () => {
  const { dir, fake, rel, deps, clock, takeAll } = await setup();
  try {
    await takeAll("bob on ops2"); // bob's lvsctl, on another machine, then died without releasing
    await assert.rejects(() => startRollout(deps, { release: rel.path }), (e: unknown) => {
      assert.ok(e instanceof LeaseBusyError);
      assert.match(e.message, /held by "bob on ops2" on node1, node2, node3/);
      assert.match(e.message, /got it on 0 of 3 nodes, a majority needs 2/);
      assert.match(e.message, /taken over only after it expires/);
      assert.deepEqual(e.holders, ["bob on ops2"]);
      return true;
    });
    assert.ok(!fake.calls.some((c) => / POST \/v1\/drain/.test(c)), "nothing was drained");
    clock.pause(60_000);
    const state = await startRollout(deps, { release: rel.path });
    assert.equal(state.status, "completed");
    assert.equal(fake.node("node1").lease.token, 2, "taken over with a new token");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two concurrent rollouts from two state directories: exactly one proceeds, the other is refused naming the holder", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    // Both runs ask every node before either hears back (as two machines racing would).
    const agent = fake.agent.bind(fake);
    const waiting: Array<() => void> = [];
    let open = false;
    fake.agent = async (ep, method, path, body, opts) => {
      if (path === "/v1/lease/acquire" && !open) {
        if (waiting.length < 5) await new Promise<void>((resolve) => waiting.push(resolve));
        else {
          open = true;
          waiting.forEach((go) => go());
        }
      }
      return agent(ep, method, path, body, opts);
    };
    const runs = await Promise.allSettled([
      startRollout({ ...deps, stateDir: `${dir}/alice`, holder: "alice@ops1" }, {
        release: rel.path,
      }),
      startRollout({ ...deps, stateDir: `${dir}/bob`, holder: "bob@ops2" }, {
        release: rel.path,
      }),
    ]);
    const done = runs.filter((r) => r.status === "fulfilled");
    const refused = runs.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(done.length, 1);
    assert.equal(refused.length, 1);
    const winner = runs[0]!.status === "fulfilled" ? "alice@ops1" : "bob@ops2";
    const err = refused[0]!.reason;
    assert.ok(err instanceof LeaseBusyError, String(err));
    assert.match(err.message, new RegExp(`held by "${winner} \\(rollout r[0-9a-z]+\\)"`));
    // Every node was drained, restarted and undrained exactly once: by the winner.
    for (const verb of ["drain", "restart", "undrain"]) {
      assert.equal(fake.calls.filter((c) => c.endsWith(` POST /v1/${verb}`)).length, 3, verb);
    }
    for (const n of fake.nodes.values()) assert.equal(n.lease.holder, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the lease is renewed by its timer through a drain far longer than its lifetime", async () => {
  const long = { ...LAB, rollout: { ...LAB.rollout, drainTimeout: 86_400 } };
  const { dir, fake, rel, deps, clock } = await setup(long);
  try {
    const n1 = fake.node("node1");
    const orig = n1.status.bind(n1);
    const tries: Array<Promise<{ status: number; body: unknown }>> = [];
    const start = clock.now();
    n1.status = () => {
      // Sessions linger for ten minutes (ten lease lifetimes); meanwhile another operator tries.
      n1.sessions = n1.drained && clock.now() - start < 600_000 ? 5 : 0;
      if (n1.sessions > 0 && (clock.now() - start) % 100_000 < 1000) {
        for (const n of LAB.nodes) {
          tries.push(
            fake.agent(endpointOf(n), "POST", "/v1/lease/acquire", {
              holder: "bob",
              ttlMs: 60_000,
            }),
          );
        }
      }
      return orig();
    };
    const state = await startRollout(deps, { release: rel.path });
    assert.equal(state.status, "completed");
    assert.ok(clock.now() - start > 600_000);
    const answers = await Promise.all(tries);
    assert.ok(answers.length >= 15, `bob tried ${answers.length} times during the drain`);
    for (const a of answers) {
      assert.equal(a.status, 409);
      assert.match((a.body as { error: string }).error, /held by ".+ \(rollout r[0-9a-z]+\)"/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rollout paused past its lease's expiry is refused by the agents once another holder took over", async () => {
  const { dir, fake, rel, deps, clock, takeAll } = await setup();
  try {
    const upload = fake.upload.bind(fake);
    fake.upload = async (ep, local, remote) => {
      await upload(ep, local, remote);
      if (ep.name === "node1") {
        clock.pause(90_000); // the operator's laptop slept during the upload
        await takeAll("bob@ops2");
      }
    };
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError, String(err));
    assert.equal(err.state.nodes[0]!.step, "failed");
    assert.match(
      err.state.nodes[0]!.error!,
      /node1: POST \/v1\/restart: 409 Refused POST \/v1\/restart: lease token 1 is stale; the rollout lease is held by "bob@ops2" \(token 2\)/,
    );
    assert.equal(fake.node("node1").release, "1.0.0", "the refused restart did not run");
    assert.equal(fake.node("node1").lease.holder, "bob@ops2", "bob's lease is untouched");
    assert.deepEqual(err.state.nodes.map((n) => n.step), ["failed", "pending", "pending"]);
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

Deno.test("a state saved by an earlier release (steps 'gating', status 'done') loads in today's words and resumes", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const sha256 = await sha256File(rel.path);
    // Written by the release before the words were shared with the dashboard: the process
    // stopped while node2 was at its health gate.
    const old = (status: string, steps: string[]) =>
      JSON.stringify({
        id: "r1",
        release: rel.path,
        version: "2.0.0-test",
        sha256,
        batch: 1,
        status,
        startedAt: 0,
        updatedAt: 0,
        nodes: ["node1", "node2", "node3"].map((node, i) => ({ node, step: steps[i] })),
      });
    await Deno.mkdir(deps.stateDir, { recursive: true });
    await Deno.writeTextFile(
      `${deps.stateDir}/rollout.json`,
      old("running", ["done", "gating", "pending"]),
    );
    const loaded = await loadRolloutState(deps.stateDir);
    assert.equal(loaded?.status, "running");
    assert.deepEqual(loaded?.nodes.map((n) => n.step), ["done", "health-gate", "pending"]);

    fake.node("node1").release = "2.0.0-test";
    const done = await resumeRollout(deps);
    assert.equal(done.status, "completed");
    assert.deepEqual(done.nodes.map((n) => n.step), ["done", "done", "done"]);
    assert.ok(!fake.calls.includes("node1 POST /v1/drain"), "a node done then is not redone");
    assert.equal(fake.node("node3").release, "2.0.0-test");
    const saved = JSON.parse(await Deno.readTextFile(`${deps.stateDir}/rollout.json`));
    assert.equal(saved.status, "completed", "saved again in today's words");

    await Deno.writeTextFile(
      `${deps.stateDir}/rollout.json`,
      old("done", ["done", "done", "done"]),
    );
    assert.equal((await loadRolloutState(deps.stateDir))?.status, "completed");
    await assert.rejects(resumeRollout(deps), /Rollout r1 is already done/);

    await Deno.writeTextFile(
      `${deps.stateDir}/rollout.json`,
      old("halted", ["done", "exploded", "pending"]),
    );
    await assert.rejects(
      loadRolloutState(deps.stateDir),
      (e) =>
        e instanceof RangeError && e.message.includes("rollout.json") &&
        e.message.includes('rollout step "exploded"'),
    );
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

Deno.test("a node that only forwards frames to their sessions' owners after undrain passes the gate", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    // Long-lived load only: no new flow; the flows the router hashes back to each upgraded node
    // belong to its peers, which it forwards them to (or its peers forward its own to it).
    for (const n of fake.nodes.values()) n.traffic = "forwards";
    fake.node("node3").traffic = "forwarded";
    const state = await startRollout(deps, { release: rel.path });
    assert.equal(state.status, "completed");
    assert.deepEqual(state.nodes.map((n) => n.step), ["done", "done", "done"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node no traffic reaches after undrain halts the rollout, saying what was looked for", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    fake.node("node1").traffic = "none";
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError, String(err));
    assert.match(
      err.state.nodes[0]!.error!,
      /node1: took no traffic \(no packets in, no frames forwarded to or by it\) within 30 s after undrain/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("frames forwarded for sessions lost in the restart do not fail the gate; sync_auth drops do", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    const n1 = fake.node("node1");
    const orig = n1.status.bind(n1);
    let reason = "forwarded_no_session";
    n1.status = () => {
      if (!n1.drained && n1.release === "2.0.0-test") {
        n1.drops[reason] = (n1.drops[reason] ?? 0) + 1;
      }
      return orig();
    };
    assert.equal((await startRollout(deps, { release: rel.path })).status, "completed");
    reason = "sync_auth"; // a node with another cluster secret
    n1.release = "1.0.0";
    const err = await startRollout(deps, { release: rel.path }).catch((e) => e);
    assert.ok(err instanceof RolloutHaltedError, String(err));
    assert.match(err.state.nodes[0]!.error!, /drop counters rose.*sync_auth/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the drain step reports sessions falling and frames forwarded, then what remained", async () => {
  const { dir, fake, rel, deps } = await setup();
  try {
    Object.assign(fake.node("node1"), {
      sessions: 30, // 5 end at every status read: the drain call's, the withdrawal check's, ...
      sessionsEndPerRead: 5,
      forwardedInPerRead: 3,
    });
    const messages: string[] = [];
    await startRollout({ ...deps, onProgress: (_s, m) => void messages.push(m) }, {
      release: rel.path,
    });
    const drain = messages.slice(
      messages.indexOf("node1: draining") + 1,
      messages.indexOf("node1: shipping release 2.0.0-test"),
    );
    const line = (n: number) =>
      `node1: ${n} live sessions (-5); 3 frames forwarded to it since the last look; ` +
      "advertises 10.77.200.1/32";
    assert.deepEqual(drain, [
      line(10),
      line(5),
      line(0),
      "node1: drained; 0 live sessions remained; 9 frames were forwarded to it by its peers " +
      "while it drained",
      // Then, before the restart, what is left goes to node1's standby (the next node).
      "node1: handing 0 open sessions to node2",
      "node1: node2 carries its LIPs 10.77.200.1",
    ]);
    const calls = fake.calls.filter((c) => c.startsWith("node1 "));
    const handover = calls.findIndex((c) => c.includes("/v1/handover"));
    assert.ok(handover >= 0 && handover < calls.findIndex((c) => c.includes("/v1/restart")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rolloutNodes() upgrades the named nodes only, in file order, and refuses unknown ones", () => {
  const c = parseClusterFile(
    Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
    "lab.yaml",
  );
  assert.deepEqual(rolloutNodes(c).map((n) => n.name), ["node1", "node2", "node3"]);
  assert.deepEqual(rolloutNodes(c, ["node3", "node1"]).map((n) => n.name), ["node1", "node3"]);
  assert.throws(() => rolloutNodes(c, ["node9"]), /Cannot upgrade node9: not a node of lab/);
});
