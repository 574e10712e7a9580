import assert from "node:assert/strict";
import { parseClusterFile } from "./cluster_file.ts";
import { canonicalJson, nodeConfigs, vipSetHash } from "./node_config.ts";
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

Deno.test("vipSetHash() ignores listing order and sees every change", async () => {
  const cluster = parseClusterFile(LAB, "lab.yaml");
  const h = await vipSetHash(cluster);
  const reordered = {
    ...cluster,
    vips: [{ ...cluster.vips[0]!, reals: [...cluster.vips[0]!.reals].reverse() }],
  };
  assert.equal(await vipSetHash(reordered), h);
  const reweighted = {
    ...cluster,
    vips: [{
      ...cluster.vips[0]!,
      reals: cluster.vips[0]!.reals.map((r, i) => ({ ...r, weight: i })),
    }],
  };
  assert.notEqual(await vipSetHash(reweighted), h);
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
});
