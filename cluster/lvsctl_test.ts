import assert from "node:assert/strict";
import { dashboardFleetOptions, runCli } from "./lvsctl.ts";
import type { NodeTransport } from "./transport/transport.ts";
import { TransportError } from "./transport/transport.ts";
import { FakeTransport } from "./transport/fake_transport.ts";
import { nodeConfigs } from "./spec/node_config.ts";
import { loadClusterFile } from "./spec/cluster_file.ts";

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
