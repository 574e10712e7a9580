import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  agentSockets,
  firstReported,
  formatDeployTable,
  generatedVip,
  parseDeployOutput,
  scaleClusterFile,
  shortError,
} from "./deploy_scale.ts";
import { LAB_CLUSTER_FILE } from "./cluster.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";

Deno.test("generatedVip() counts up from 10.77.101.0 and stops before the LIPs", () => {
  assert.equal(generatedVip(0), "10.77.101.0");
  assert.equal(generatedVip(257), "10.77.102.1");
  assert.equal(generatedVip(99 * 256 - 1), "10.77.199.255");
  assert.throws(() => generatedVip(99 * 256), RangeError);
});

Deno.test("scaleClusterFile() keeps the lab file's shape with N VIPs of M real servers", () => {
  const base = Deno.readTextFileSync(LAB_CLUSTER_FILE);
  const text = scaleClusterFile(base, 50, 8);
  const doc = parse(text) as { vips: { address: string; reals: unknown[] }[]; nodes: unknown[] };
  assert.equal(doc.vips.length, 50);
  assert.equal(doc.vips[0]!.address, "10.77.100.1");
  assert.ok(doc.vips.every((v) => v.reals.length === 8));
  assert.equal(doc.nodes.length, 3);
  // The generated file is a valid cluster file: no duplicate VIPs or real servers.
  const c = parseClusterFile(text);
  assert.equal(c.vips.length, 50);
  for (const v of c.vips) {
    assert.equal(new Set(v.reals.map((r) => `${r.address}:${r.port}`)).size, 8);
  }
  assert.throws(() => scaleClusterFile(base, 0, 8), RangeError);
});

Deno.test("parseDeployOutput() reads lvsctl's JSON line; formatDeployTable() a row per node", () => {
  const d = parseDeployOutput(
    'note\n{"ok":false,"hash":"sha256:x","version":"1","ms":900,"nodes":[' +
      '{"node":"node1","ok":true,"hash":"h","advertised":[],"drained":false,"ms":800},' +
      '{"node":"node2","ok":false,"hash":null,"advertised":[],"drained":false,"ms":5,' +
      '"error":"E2BIG"}]}\n',
  );
  assert.equal(d.nodes.length, 2);
  assert.equal(d.hash, "sha256:x");
  const { hash: _h, ...rest } = d;
  const t = formatDeployTable({
    vips: 2,
    reals: 8,
    fileBytes: 10,
    wallMs: 1200,
    ...rest,
    nodes: [{ ...rest.nodes[0]!, configuredMs: 700 }, rest.nodes[1]!],
  });
  const lines = t.split("\n");
  assert.match(lines[0]!, /^2 VIPs x 8 real servers \(10 bytes of YAML\); lvsctl ran 1200 ms$/);
  assert.match(lines[2]!, /^node1\s+ok\s+700\s+800$/);
  assert.match(lines[3]!, /^node2\s+FAILED: E2BIG\s+-\s+5$/);
  assert.match(lines[4]!, /^all\s+FAILED\s+900$/);
  assert.throws(() => parseDeployOutput("error: boom"), SyntaxError);
});

Deno.test("firstReported() is the earliest look at which each node reported the hash", () => {
  const got = firstReported([
    { node: "node1", at: 100, hash: "old" },
    { node: "node1", at: 350, hash: "new" },
    { node: "node2", at: 400, hash: null },
    { node: "node1", at: 600, hash: "new" },
    { node: "node2", at: 900, hash: "new" },
    { node: "node3", at: 200, hash: "old" },
  ], "new");
  assert.deepEqual(got, { node1: 350, node2: 900 });
});

Deno.test("agentSockets() fills {node} in the lab file's agent socket", () => {
  const s = agentSockets(Deno.readTextFileSync(LAB_CLUSTER_FILE));
  assert.deepEqual(Object.keys(s), ["node1", "node2", "node3"]);
  assert.equal(s.node2, "/run/lvs-lab/lvl-/lvl-node2/agent/agent.sock");
});

Deno.test("shortError() cuts BIRD's long list", () => {
  assert.equal(shortError("short"), "short");
  const long = "BIRD does not advertise " + "10.77.101.1, ".repeat(500);
  const cut = shortError(long, 40);
  assert.equal(cut, `${long.slice(0, 40)}... (${long.length} characters)`);
});
