import assert from "node:assert/strict";
import { parseClusterFile } from "./cluster_file.ts";
import { canonicalJson, canonicalVips, configHash, nodeConfigs } from "./node_config.ts";
import { checkAgentConfig } from "../../dataplane/agent/api.ts";

const LAB = Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url));

Deno.test("nodeConfigs() gives every node the same VIP set and hash, and its own LIPs", async () => {
  const cluster = parseClusterFile(LAB, "lab.yaml");
  const configs = await nodeConfigs(cluster);
  const [a, b] = [configs.get("node1")!, configs.get("node2")!];
  assert.equal(a.hash, b.hash);
  assert.match(a.hash, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(a.dataplane.services, b.dataplane.services);
  assert.deepEqual(a.dataplane.localAddresses, ["10.77.200.1"]);
  assert.deepEqual(b.dataplane.localAddresses, ["10.77.200.2"]);
  assert.equal(a.checks.length, 3);
  assert.equal(a.checks[0]!.key, "10.77.100.1:80/tcp/10.77.0.101:80");
  assert.deepEqual(a.checks[0]!.check, {
    kind: "http",
    path: "/health",
    expectStatus: 200,
    intervalMs: 1000,
    timeoutMs: 1000,
    rise: 2,
    fall: 2,
  });
  for (const c of configs.values()) checkAgentConfig(c);
});

Deno.test("configHash() ignores listing order and sees every change", async () => {
  const cluster = parseClusterFile(LAB, "lab.yaml");
  const h = await configHash(cluster);
  const reordered = {
    ...cluster,
    vips: [{ ...cluster.vips[0]!, reals: [...cluster.vips[0]!.reals].reverse() }],
  };
  assert.equal(await configHash(reordered), h);
  const reweighted = {
    ...cluster,
    vips: [{
      ...cluster.vips[0]!,
      reals: cluster.vips[0]!.reals.map((r, i) => ({ ...r, weight: i })),
    }],
  };
  assert.notEqual(await configHash(reweighted), h);
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
});

Deno.test("nodeConfigs() gives each node its sync: itself, its first LIP, every other node as a peer", async () => {
  const cluster = parseClusterFile(LAB, "lab.yaml");
  const configs = await nodeConfigs(cluster);
  const secret = cluster.sync!.secret;
  assert.deepEqual(configs.get("node2")!.dataplane.sync, {
    node: "10.77.0.12",
    address: "10.77.200.2",
    port: 1000,
    secret,
    refreshSeconds: 10,
    peers: [
      { node: "10.77.0.11", address: "10.77.200.1" },
      { node: "10.77.0.13", address: "10.77.200.3" },
    ],
    // node1's standby is the next node in the file: node2 holds node1's LIP in reserve.
    standby: [{ lip: "10.77.200.1", owner: "10.77.0.11" }],
  });
  assert.deepEqual(configs.get("node1")!.dataplane.sync!.standby, [
    { lip: "10.77.200.3", owner: "10.77.0.13" },
  ], "the ring closes: node1 stands by for the last node");
  for (const c of configs.values()) checkAgentConfig(c);
  const off = await nodeConfigs({ ...cluster, sync: undefined } as never);
  assert.equal(off.get("node1")!.dataplane.sync, undefined);
  assert.ok(!("sync" in off.get("node1")!.dataplane), "no sync key when sync is off");
});

Deno.test("configHash() is the VIP set's hash without sync, and sees every sync change with it", async () => {
  const cluster = parseClusterFile(LAB, "lab.yaml");
  const { sync, ...withoutSync } = cluster;
  const h = await configHash(cluster);
  assert.equal(
    await configHash(withoutSync),
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(canonicalJson(canonicalVips(cluster))),
    ).then((d) =>
      `sha256:${[...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("")}`
    ),
    "a cluster without sync keeps the hash it had before sync",
  );
  assert.notEqual(await configHash(withoutSync), h, "turning sync on is a change");
  const changed = [
    { ...cluster, sync: { ...sync!, secret: "f".repeat(32) } },
    { ...cluster, sync: { ...sync!, port: 1001 } },
    { ...cluster, sync: { ...sync!, refreshSeconds: 30 } },
    { ...cluster, nodes: cluster.nodes.slice(0, 2) },
    {
      ...cluster,
      nodes: cluster.nodes.map((n, i) => i === 0 ? { ...n, lips: ["10.77.200.9"] } : n),
    },
  ];
  for (const c of changed) assert.notEqual(await configHash(c), h);
  const reordered = { ...cluster, nodes: [...cluster.nodes].reverse() };
  assert.notEqual(await configHash(reordered), h, "the order makes the standby ring");
  const named = (nodes: typeof cluster.nodes) =>
    nodes.map((n, i) => ({ ...n, standby: cluster.nodes[(i + 1) % 3]!.name }));
  const pinned = { ...cluster, nodes: named(cluster.nodes) };
  assert.equal(
    await configHash({ ...pinned, nodes: [...pinned.nodes].reverse() }),
    await configHash(pinned),
    "with every standby named, the order of the nodes does not matter",
  );
  const configs = await nodeConfigs(cluster);
  assert.equal(configs.get("node1")!.hash, h);
});
