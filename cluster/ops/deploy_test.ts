import assert from "node:assert/strict";
import { deploy, mapLimit } from "./deploy.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
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
