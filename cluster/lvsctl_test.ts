import assert from "node:assert/strict";
import { runCli } from "./lvsctl.ts";
import type { NodeTransport } from "./transport/transport.ts";
import { TransportError } from "./transport/transport.ts";
import { FakeTransport } from "./transport/fake_transport.ts";
import { loadClusterFile } from "./spec/cluster_file.ts";
import { nodeConfigs } from "./spec/node_config.ts";

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
      "node1 sync: synced; 12 records held; frames forwarded out/in: node2 5/7, node3 0/0",
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
