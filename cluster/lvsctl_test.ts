import assert from "node:assert/strict";
import { dashboardFleetOptions, formatStatus, runCli } from "./lvsctl.ts";
import type { NodeTransport } from "./transport/transport.ts";
import { TransportError } from "./transport/transport.ts";
import { FakeTransport } from "./transport/fake_transport.ts";
import { endpointOf, fleetStatuses } from "./transport/endpoint.ts";
import { loadClusterFile, parseClusterFile } from "./spec/cluster_file.ts";
import { nodeConfigs } from "./spec/node_config.ts";
import { buildRelease } from "./ops/release.ts";
import { ManualClock } from "./ops/_testing.ts";

const LAB_FILE = new URL("../fixtures/lab.yaml", import.meta.url).pathname;

function harness() {
  const out: string[] = [], err: string[] = [];
  const calls: string[] = [];
  const unreachable: NodeTransport = {
    agent: (n, m, p) => {
      calls.push(`${n.name} ${m} ${p}`);
      return Promise.reject(new TransportError(n.name, "connect", `${n.name}: connection refused`));
    },
    upload: () => Promise.reject(new Error("unexpected")),
    exec: () => Promise.reject(new Error("unexpected")),
    close: () => Promise.resolve(),
  };
  return {
    out,
    err,
    calls,
    run: (args: string[]) =>
      runCli(args, {
        io: { out: (s) => out.push(s), err: (s) => err.push(s) },
        transport: () => unreachable,
      }),
  };
}

Deno.test("lvsctl validate: ok for the lab's file, exit 2 with positions for a bad one", async () => {
  const h = harness();
  assert.equal(await h.run(["validate"]), 0);
  assert.match(h.out.join("\n"), /ok \(3 nodes, 1 VIPs\)/);
  const bad = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      bad,
      "cluster: x\nnodes: []\nvips:\n  - address: 1.2.3\n    port: 99999\n",
    );
    assert.equal(await h.run(["validate", "--cluster", bad]), 2);
    const text = h.err.join("\n");
    assert.match(text, /:4:\d+: vips\[0\]: "address" "1.2.3" is not an IPv4 address/);
    assert.match(text, /:5:\d+: vips\[0\]: "port" must be a whole number in 1..65535/);
    // An invalid file reaches no node.
    assert.equal(await h.run(["deploy", "--cluster", bad]), 2);
    assert.deepEqual(h.calls, []);
  } finally {
    await Deno.remove(bad);
  }
});

Deno.test("lvsctl --help lists every command; each command has its own help", async () => {
  const h = harness();
  assert.equal(await h.run(["--help"]), 0);
  for (const c of ["validate", "plan", "deploy", "status", "drain", "undrain"]) {
    assert.match(h.out.join("\n"), new RegExp(`\\b${c}\\b`));
    assert.equal(await h.run([c, "--help"]), 0);
  }
});

Deno.test("lvsctl plan and status report unreachable nodes; deploy exits 1", async () => {
  const h = harness();
  assert.equal(await h.run(["plan"]), 0);
  assert.match(h.out.join("\n"), /node1: unreachable \(node1: connection refused\)/);
  assert.equal(await h.run(["status"]), 1);
  assert.match(h.out.join("\n"), /node2\s+down/);
  assert.equal(await h.run(["deploy", "--json"]), 1);
  const r = JSON.parse(h.out.at(-1)!);
  assert.equal(r.ok, false);
  assert.equal(r.nodes.length, 3);
});

Deno.test("lvsctl status shows a degraded node and says why", async () => {
  const lab = await loadClusterFile(new URL("../fixtures/lab.yaml", import.meta.url).pathname);
  const fake = new FakeTransport(lab.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(lab)) fake.node(name).config = cfg;
  fake.node("node2").degraded = "the saved state is unreadable: state.json is not valid JSON";
  const out: string[] = [];
  const code = await runCli(["status"], {
    io: { out: (s) => out.push(s), err: () => {} },
    transport: () => fake,
  });
  assert.equal(code, 0);
  assert.match(out.join("\n"), /^node2\s+degraded\s/m);
  assert.match(out.join("\n"), /^node1\s+active\s/m);
  assert.match(
    out.join("\n"),
    /WARNING: node2 is degraded: the saved state is unreadable: state\.json is not valid JSON/,
  );
});

Deno.test("lvsctl dashboard offers the releases of --releases, else of dashboard.releases", async () => {
  const lab = await loadClusterFile(new URL("../fixtures/lab.yaml", import.meta.url).pathname);
  const t = new FakeTransport([]);
  const withDir = { ...lab, dashboard: { ...lab.dashboard, releases: "/srv/lvs/releases" } };
  assert.equal(dashboardFleetOptions(lab, t, { stateDir: "/s" }).releasesDir, undefined);
  assert.equal(
    dashboardFleetOptions(withDir, t, { stateDir: "/s" }).releasesDir,
    "/srv/lvs/releases",
  );
  assert.equal(
    dashboardFleetOptions(withDir, t, { stateDir: "/s", releases: "/tmp/r" }).releasesDir,
    "/tmp/r",
  );
  const out: string[] = [];
  await runCli(["dashboard", "--help"], {
    io: { out: (s) => out.push(s), err: () => {} },
    transport: () => t,
  });
  assert.match(out.join("\n"), /--releases <dir>/);
});

Deno.test("lvsctl plan shows a node's sync change in words, never the secret", async () => {
  const cluster = await loadClusterFile(LAB_FILE);
  const fake = new FakeTransport(cluster.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(cluster)) {
    const { sync: _, ...dataplane } = cfg.dataplane;
    fake.node(name).config = { ...cfg, hash: "sha256:" + "0".repeat(64), dataplane };
  }
  const out: string[] = [];
  const code = await runCli(["plan", "--cluster", LAB_FILE], {
    io: { out: (s) => out.push(s), err: (s) => out.push(s) },
    transport: () => fake,
  });
  assert.equal(code, 0);
  const text = out.join("\n");
  assert.ok(
    text.includes(
      "node1: apply\n  sync on: 10.77.0.11 from 10.77.200.1, port 1000, refresh 10 s, " +
        "peers 10.77.0.12, 10.77.0.13",
    ),
    text,
  );
  assert.ok(!text.includes(cluster.sync!.secret), "the secret is never printed");
});

Deno.test("lvsctl status prints a sync line per node: records held, frames forwarded per peer", async () => {
  const cluster = await loadClusterFile(LAB_FILE);
  const fake = new FakeTransport(cluster.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(cluster)) fake.node(name).config = cfg;
  Object.assign(fake.node("node1"), { records: 12, forwardedOut: 5, forwardedIn: 7 });
  fake.node("node3").up = false;
  const out: string[] = [];
  const code = await runCli(["status", "--cluster", LAB_FILE], {
    io: { out: (s) => out.push(s), err: (s) => out.push(s) },
    transport: () => fake,
  });
  assert.equal(code, 1, "a node is down");
  const lines = out.join("\n").split("\n");
  assert.ok(
    lines.includes(
      "node1 sync: synced; 12 records held; frames forwarded out/in: node2 5/7, node3 0/0; " +
        "standby for node3's 10.77.200.3",
    ),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => l.startsWith("node2 sync: synced; 0 records held;")));
  assert.ok(lines.includes("node3 sync: unknown (down)"));
});

Deno.test("lvsctl drain prints sessions falling and frames forwarded, then how many remained", async () => {
  const cluster = await loadClusterFile(LAB_FILE);
  const fake = new FakeTransport(cluster.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(cluster)) fake.node(name).config = cfg;
  Object.assign(fake.node("node2"), {
    sessions: 25,
    sessionsEndPerRead: 10,
    forwardedInPerRead: 4,
  });
  let now = 0;
  const run = async (args: string[]) => {
    const out: string[] = [], err: string[] = [];
    const code = await runCli(args, {
      io: { out: (s) => out.push(s), err: (s) => err.push(s) },
      transport: () => fake,
      now: () => now,
      sleep: (ms) => Promise.resolve(void (now += ms)),
    });
    return { code, out, err };
  };
  const done = await run(["drain", "node2", "--cluster", LAB_FILE]);
  assert.equal(done.code, 0);
  assert.deepEqual(done.err, [
    "node2: 5 live sessions (-10); 4 frames forwarded to it since the last look; advertises 10.77.200.2/32",
    "node2: 0 live sessions (-5); 4 frames forwarded to it since the last look; advertises 10.77.200.2/32",
  ]);
  assert.deepEqual(done.out, [
    "node2: drained; 0 live sessions remained; 8 frames were forwarded to it by its peers while " +
    "it drained (advertises 10.77.200.2/32)",
  ]);

  Object.assign(fake.node("node3"), { sessions: 9, forwardedInPerRead: 2 });
  const timedOut = await run(["drain", "node3", "--cluster", LAB_FILE, "--timeout", "1", "--json"]);
  assert.equal(timedOut.code, 0, "sessions left after the timeout: a warning, not a failure");
  assert.deepEqual(JSON.parse(timedOut.out[0]!).drain, {
    settled: false,
    waitedS: 1,
    forwardedIn: 4,
    remaining: 9,
  });
});

Deno.test("lvsctl upgrade: two concurrent runs from two state directories, one upgrades and the other exits 1 naming the holder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lvsctl-upgrade-" });
  try {
    const lab = parseClusterFile(
      await Deno.readTextFile(new URL("../fixtures/lab.yaml", import.meta.url)),
      "lab.yaml",
    );
    const fake = new FakeTransport(lab.nodes.map((n) => n.name));
    for (const [name, cfg] of await nodeConfigs(lab)) fake.node(name).config = cfg;
    const clock = new ManualClock();
    fake.clock = clock.now;
    // Both runs ask every node before either hears back, as two machines racing would.
    const agent = fake.agent.bind(fake);
    const waiting: Array<() => void> = [];
    let open = false;
    fake.agent = async (ep, method, path, body, opts) => {
      if (path === "/v1/lease/acquire" && !open) {
        if (waiting.length < 5) await new Promise<void>((go) => waiting.push(go));
        else {
          open = true;
          waiting.forEach((go) => go());
        }
      }
      return agent(ep, method, path, body, opts);
    };
    const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
    const rel = await buildRelease({ repo, version: "2.0.0-cli", out: `${dir}/rel.tar.gz` });
    const run = async (state: string) => {
      const out: string[] = [], err: string[] = [];
      const code = await runCli(
        ["upgrade", "--release", rel.path, "--state-dir", `${dir}/${state}`],
        {
          io: { out: (s) => out.push(s), err: (s) => err.push(s) },
          transport: () => fake,
          clock,
        },
      );
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const [a, b] = await Promise.all([run("alice"), run("bob")]);
    assert.deepEqual([a.code, b.code].sort(), [0, 1]);
    const [won, lost] = a.code === 0 ? [a, b] : [b, a];
    assert.match(won.out, /every node runs 2\.0\.0-cli/);
    assert.match(
      lost.err,
      /Cannot take the cluster's rollout lease for ".*": the rollout lease is held by "lvsctl by .+ pid \d+ \(rollout r[0-9a-z]+\)" on node\d(, node\d)*; got it on [01] of 3 nodes, a majority needs 2/,
    );
    assert.deepEqual([...fake.nodes.values()].map((n) => n.release), [
      "2.0.0-cli",
      "2.0.0-cli",
      "2.0.0-cli",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lvsctl upgrade --resume --json continues a state an earlier release saved and prints the shared words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lvsctl-upgrade-" });
  try {
    const lab = parseClusterFile(
      await Deno.readTextFile(new URL("../fixtures/lab.yaml", import.meta.url)),
      "lab.yaml",
    );
    const fake = new FakeTransport(lab.nodes.map((n) => n.name));
    for (const [name, cfg] of await nodeConfigs(lab)) fake.node(name).config = cfg;
    const clock = new ManualClock();
    fake.clock = clock.now;
    const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
    const rel = await buildRelease({ repo, version: "2.0.0-old", out: `${dir}/rel.tar.gz` });
    fake.node("node1").release = "2.0.0-old";
    // The words of the release before: node2 stopped at its health gate ("gating").
    await Deno.mkdir(`${dir}/state`);
    await Deno.writeTextFile(
      `${dir}/state/rollout.json`,
      JSON.stringify({
        id: "r1",
        release: rel.path,
        version: "2.0.0-old",
        sha256: rel.sha256,
        batch: 1,
        status: "halted",
        startedAt: 0,
        updatedAt: 0,
        error: "node2: OSPF adjacency Init",
        nodes: [
          { node: "node1", step: "done" },
          { node: "node2", step: "gating" },
          { node: "node3", step: "pending" },
        ],
      }),
    );
    const out: string[] = [], err: string[] = [];
    const code = await runCli(
      ["upgrade", "--resume", "--json", "--state-dir", `${dir}/state`],
      { io: { out: (s) => out.push(s), err: (s) => err.push(s) }, transport: () => fake, clock },
    );
    assert.equal(code, 0, err.join("\n"));
    const state = JSON.parse(out.join("\n"));
    assert.equal(state.status, "completed");
    assert.deepEqual(state.nodes.map((n: { step: string }) => n.step), ["done", "done", "done"]);
    assert.ok(!fake.calls.includes("node1 POST /v1/drain"), "node1 was done already");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lvsctl dashboard refuses plain HTTP on a non-loopback address without --insecure, and names a TLS file it cannot read", async () => {
  const h = harness();
  const dir = await Deno.makeTempDir({ prefix: "lvsctl-dash-" });
  const before = Deno.env.get("LVS_DASHBOARD_TOKEN");
  Deno.env.set("LVS_DASHBOARD_TOKEN", "dashboard-token-0123456789");
  try {
    const args = ["dashboard", "--state-dir", `${dir}/state`];
    assert.equal(await h.run([...args, "--listen", "0.0.0.0:18080"]), 2);
    assert.match(
      h.err.join("\n"),
      /Refusing to serve the dashboard on 0\.0\.0\.0:18080 over plain HTTP: .*\(dashboard\.tls: \{ cert, key \}.* or pass --insecure/,
    );
    assert.equal(await h.run([...args, "--listen", "10.9.8.7"]), 2);
    assert.match(h.err.at(-1)!, /--listen must be host:port, got "10\.9\.8\.7"/);
    const file = `${dir}/tls.yaml`;
    const lab = await Deno.readTextFile(new URL("../fixtures/lab.yaml", import.meta.url));
    await Deno.writeTextFile(
      file,
      `${lab.trimEnd()}\n  tls: { cert: ${dir}/missing.crt, key: ${dir}/missing.key }\n`,
    );
    assert.equal(await h.run([...args, "--cluster", file, "--listen", "0.0.0.0:18080"]), 2);
    assert.match(
      h.err.at(-1)!,
      new RegExp(
        `Cannot read the dashboard's TLS cert ${dir}/missing\\.crt \\(dashboard\\.tls\\.cert\\)`,
      ),
    );
    assert.deepEqual(h.calls, [], "no node was asked");
  } finally {
    if (before === undefined) Deno.env.delete("LVS_DASHBOARD_TOKEN");
    else Deno.env.set("LVS_DASHBOARD_TOKEN", before);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lvsctl status names the holder of the rollout lease", async () => {
  const lab = parseClusterFile(
    await Deno.readTextFile(new URL("../fixtures/lab.yaml", import.meta.url)),
    "lab.yaml",
  );
  const fake = new FakeTransport(lab.nodes.map((n) => n.name));
  fake.clock = () => 1_000_000;
  await fake.agent(endpointOf(lab.nodes[0]!), "POST", "/v1/lease/acquire", {
    holder: "lvsctl by bob@ops2 pid 7 (rollout r9)",
    ttlMs: 60_000,
  });
  const text = formatStatus(lab, await fleetStatuses(fake, lab.nodes));
  assert.match(
    text,
    /rollout lease: held by "lvsctl by bob@ops2 pid 7 \(rollout r9\)" on node1 for 60 s more/,
  );
});

Deno.test("lvsctl deploy refuses to remove 3 of 4 VIPs (exit 1, nothing pushed) unless --allow-deletions", async () => {
  const lab = await loadClusterFile(LAB_FILE);
  const v = lab.vips[0]!;
  const four = { ...lab, vips: [0, 1, 2, 3].map((i) => ({ ...v, port: v.port + i })) };
  const fake = new FakeTransport(lab.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(four)) fake.node(name).config = cfg;
  const out: string[] = [], err: string[] = [];
  const run = (args: string[]) =>
    runCli([...args, "--cluster", LAB_FILE], {
      io: { out: (s) => out.push(s), err: (s) => err.push(s) },
      transport: () => fake,
    });
  const applies = () => fake.calls.filter((c) => c.endsWith("POST /v1/apply"));

  assert.equal(await run(["plan"]), 0);
  assert.ok(out.includes("  remove VIP 10.77.100.1:81/tcp mh"), out.join("\n"));
  assert.match(out.at(-1)!, /^WARNING: deploy refuses this push without --allow-deletions: /);

  assert.equal(await run(["deploy"]), 1);
  assert.match(
    err.at(-1)!,
    /^Refusing to deploy: node1 would remove 3 of 4 VIPs \(75%\); .*over the limit of 50% \(deploy\.maxDeletionShare 0\.5 in the cluster file\); nothing was pushed/,
  );
  assert.deepEqual(applies(), []);
  assert.equal(fake.node("node1").config!.dataplane.services.length, 4);

  assert.equal(await run(["deploy", "--allow-deletions"]), 0, err.join("\n"));
  assert.equal(applies().length, 3);
  assert.equal(fake.node("node1").config!.dataplane.services.length, 1);
});
