import assert from "node:assert/strict";
import { deploy, mapLimit } from "./deploy.ts";
import { type ClusterFile, parseClusterFile } from "../spec/cluster_file.ts";
import { DeletionGuardError } from "../spec/deletion_guard.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import type { AgentReply, NodeEndpoint, NodeTransport } from "../transport/transport.ts";
import { TransportError } from "../transport/transport.ts";
import type { AgentConfig } from "../../dataplane/agent/api.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);

/** Nodes that apply what they get and advertise the VIPs; some refuse or are unreachable. */
class Nodes implements NodeTransport {
  applied = new Map<string, AgentConfig>();
  calls: string[] = [];
  constructor(readonly refuse = new Set<string>(), readonly down = new Set<string>()) {}
  agent(node: NodeEndpoint, method: "GET" | "POST", path: string, body?: unknown) {
    this.calls.push(`${node.name} ${method} ${path}`);
    if (this.down.has(node.name)) {
      return Promise.reject(new TransportError(node.name, "connect", `${node.name}: refused`));
    }
    if (method === "GET" && path === "/v1/config") {
      const c = this.applied.get(node.name);
      return Promise.resolve(
        c ? { status: 200, body: c } : { status: 404, body: { error: "No configuration" } },
      );
    }
    if (method === "POST" && path === "/v1/apply") {
      if (this.refuse.has(node.name)) {
        return Promise.resolve({ status: 500, body: { error: "BIRD refused: syntax error" } });
      }
      this.applied.set(node.name, body as AgentConfig);
    }
    const c = this.applied.get(node.name);
    const status = {
      node: node.name,
      release: "1",
      config: c ? { version: c.version, hash: c.hash, appliedAt: "now" } : null,
      drained: false,
      advertisedVips: [],
      withdrawnVips: [],
      counters: null,
      routing: { adjacency: "Full", neighbor: "1", advertised: c ? ["10.77.100.1/32"] : [] },
      health: [],
    };
    return Promise.resolve({ status: 200, body: status } as AgentReply);
  }
  upload() {
    return Promise.reject(new Error("not used"));
  }
  exec() {
    return Promise.reject(new Error("not used"));
  }
  close() {
    return Promise.resolve();
  }
}

Deno.test("deploy() pushes the same hash to every node and verifies it", async () => {
  const t = new Nodes();
  const r = await deploy(LAB, t, { sleep: () => Promise.resolve() });
  assert.equal(r.ok, true, JSON.stringify(r.nodes));
  assert.deepEqual(r.nodes.map((n) => n.hash), [r.hash, r.hash, r.hash]);
  assert.deepEqual([...t.applied.keys()].sort(), ["node1", "node2", "node3"]);
  assert.deepEqual(t.applied.get("node2")!.dataplane.localAddresses, ["10.77.200.2"]);
});

Deno.test("deploy() reports a refusing and an unreachable node and is not ok", async () => {
  const t = new Nodes(new Set(["node2"]), new Set(["node3"]));
  const r = await deploy(LAB, t, { sleep: () => Promise.resolve(), verifyTimeoutMs: 0 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.nodes.map((n) => [n.node, n.ok]), [["node1", true], ["node2", false], [
    "node3",
    false,
  ]]);
  assert.match(r.nodes[1]!.error!, /BIRD refused/);
  assert.match(r.nodes[2]!.error!, /refused/);
});

/** The lab with `n` VIPs (ports 80, 81, ...) and `maxDeletionShare`. */
function withVips(n: number, maxDeletionShare = 0.5): ClusterFile {
  const v = LAB.vips[0]!;
  return {
    ...LAB,
    vips: Array.from({ length: n }, (_, i) => ({ ...v, port: v.port + i })),
    deploy: { maxDeletionShare },
  };
}

/** Nodes that hold the configuration of `cluster` already. */
async function holding(cluster: ClusterFile): Promise<Nodes> {
  const t = new Nodes();
  for (const [name, c] of await nodeConfigs(cluster)) t.applied.set(name, c);
  return t;
}

const applies = (t: Nodes) => t.calls.filter((c) => c.endsWith("POST /v1/apply"));
const fast = { sleep: () => Promise.resolve() };

Deno.test("deploy() refuses a push removing 3 of 4 VIPs and pushes nothing", async () => {
  const t = await holding(withVips(4));
  const before = new Map(t.applied);
  await assert.rejects(
    () => deploy(withVips(1), t, fast),
    (e: unknown) => {
      assert.ok(e instanceof DeletionGuardError);
      assert.match(e.message, /node1 would remove 3 of 4 VIPs \(75%\)/);
      assert.match(e.message, /over the limit of 50% \(deploy\.maxDeletionShare 0\.5/);
      return true;
    },
  );
  assert.deepEqual(applies(t), [], "no node was asked to apply");
  assert.deepEqual(t.applied, before);
});

Deno.test("deploy() with allowDeletions pushes a push removing 3 of 4 VIPs", async () => {
  const t = await holding(withVips(4));
  const r = await deploy(withVips(1), t, { ...fast, allowDeletions: true });
  assert.equal(r.ok, true, JSON.stringify(r.nodes));
  assert.equal(applies(t).length, 3);
  assert.equal(t.applied.get("node1")!.dataplane.services.length, 1);
});

Deno.test("deploy() pushes a small removal, and a large one the cluster file allows", async () => {
  const t = await holding(withVips(4));
  const r = await deploy(withVips(3), t, fast);
  assert.equal(r.ok, true, JSON.stringify(r.nodes));
  assert.equal(t.applied.get("node2")!.dataplane.services.length, 3);
  assert.deepEqual(
    r.plan.nodes[0]!.changes.flatMap((c) => c.subject === "vip" ? [[c.kind, c.vip]] : []),
    [["remove", "10.77.100.1:83/tcp"]],
  );
  const r2 = await deploy(withVips(1, 1), t, fast);
  assert.equal(r2.ok, true, JSON.stringify(r2.nodes));
  assert.equal(t.applied.get("node2")!.dataplane.services.length, 1);
});

Deno.test("deploy() to empty nodes is never refused, even at maxDeletionShare 0", async () => {
  const t = new Nodes();
  const r = await deploy(withVips(4, 0), t, fast);
  assert.equal(r.ok, true, JSON.stringify(r.nodes));
  assert.equal(applies(t).length, 3);
});

Deno.test("deploy() does not push to a node whose configuration it cannot read", async () => {
  let reads = 0;
  const t = await holding(withVips(4));
  const agent = t.agent.bind(t);
  t.agent = (node, method, path, body) => {
    if (node.name === "node2" && path === "/v1/config" && reads++ === 0) {
      return Promise.reject(new TransportError("node2", "connect", "node2: timed out"));
    }
    return agent(node, method, path, body);
  };
  const r = await deploy(withVips(1), t, fast).catch((e) => e);
  assert.ok(r instanceof DeletionGuardError, "the nodes it read would lose too much");
  const ok = await deploy(withVips(4), t, fast);
  assert.deepEqual(ok.nodes.map((n) => n.ok), [true, true, true]);
  reads = 0;
  const small = await deploy(withVips(3), t, fast);
  assert.deepEqual(small.nodes.map((n) => [n.node, n.ok]), [
    ["node1", true],
    ["node2", false],
    ["node3", true],
  ]);
  assert.match(small.nodes[1]!.error!, /not pushed: cannot read its configuration.*timed out/);
  assert.equal(t.applied.get("node2")!.dataplane.services.length, 4, "node2 untouched");
});

Deno.test("mapLimit() keeps order and never runs more than the limit", async () => {
  let running = 0, peak = 0;
  const out = await mapLimit([1, 2, 3, 4, 5], 2, async (x) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return x * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10]);
  assert.equal(peak, 2);
});
