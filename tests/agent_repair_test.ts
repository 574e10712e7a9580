/**
 * Integration: an agent whose saved state is corrupt still opens its control socket, says why
 * it is degraded, and `deploy` (lvsctl's own code, through a transport that reaches the socket
 * directly instead of over SSH) repairs it. The agent runs with its recording data plane and
 * routing fakes; the socket, the HTTP API, the state file and the deploy are the real ones.
 */
import assert from "node:assert/strict";
import { startAgentService } from "../dataplane/agent/adapters/control_service.ts";
import { StateStore } from "../dataplane/agent/adapters/store.ts";
import { LeaseStore } from "../dataplane/agent/adapters/lease_store.ts";
import { LeaseKeeper } from "../dataplane/agent/lease_keeper.ts";
import {
  type AgentConfig,
  type AgentStatus,
  DEFAULT_SYNC_WAIT_MS,
  SYNC_POLL_MS,
} from "../dataplane/agent/agent.ts";
import { FakeDataPlane, FakeRouting, ManualTimers } from "../dataplane/agent/_testing.ts";
import { HealthMonitor } from "../dataplane/agent/health.ts";
import { parseClusterFile } from "../cluster/spec/cluster_file.ts";
import { deploy } from "../cluster/ops/deploy.ts";
import { nodeStatus, undrainNode } from "../cluster/transport/endpoint.ts";
import type {
  AgentReply,
  ExecResult,
  NodeEndpoint,
  NodeTransport,
} from "../cluster/transport/transport.ts";

/** Reaches each node's agent socket on this machine (what SSH stream-local forwarding does). */
class LocalSocketTransport implements NodeTransport {
  async agent(
    ep: NodeEndpoint,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<AgentReply> {
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: ep.agentSocket } });
    try {
      const res = await fetch(`http://agent${path}`, {
        method,
        client,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
      return { status: res.status, body: await res.json() };
    } finally {
      client.close();
    }
  }
  upload(): Promise<void> {
    return Promise.reject(new Error("LocalSocketTransport does not upload"));
  }
  exec(): Promise<ExecResult> {
    return Promise.reject(new Error("LocalSocketTransport does not run commands"));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("a corrupt state.json: the socket opens, status says why, a deploy repairs the node", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-repair-" });
  const socket = `${dir}/agent/agent.sock`;
  const lab = parseClusterFile(
    await Deno.readTextFile(new URL("../fixtures/lab.yaml", import.meta.url)),
    "lab.yaml",
  );
  const node = { ...lab.nodes[0]!, agent: { ...lab.nodes[0]!.agent, socket } };
  const cluster = { ...lab, nodes: [node] };
  await Deno.writeTextFile(`${dir}/state.json`, '{"version": "3", "config": {"dataplane"');
  const dp = new FakeDataPlane();
  const timers = new ManualTimers();
  const { agent, server } = await startAgentService({
    deps: {
      node: node.name,
      release: "1.0.0",
      dataplane: dp,
      routing: new FakeRouting(),
      store: new StateStore<AgentConfig>(`${dir}/state.json`),
      health: (onChange) =>
        new HealthMonitor(onChange, () => Promise.resolve({ ok: true, error: "" }), timers),
      timers,
    },
    lease: await LeaseKeeper.open(new LeaseStore(`${dir}/lease.json`)),
    socket,
    restart: () => {},
  });
  const transport = new LocalSocketTransport();
  try {
    const before: AgentStatus = await nodeStatus(transport, node);
    assert.match(before.degraded ?? "", /state\.json is not valid JSON/);
    assert.equal(before.config, null);

    const result = await deploy(cluster, transport, { sleep: () => Promise.resolve() });
    assert.equal(result.ok, true, JSON.stringify(result.nodes));
    const after = await nodeStatus(transport, node);
    assert.equal(after.degraded, undefined);
    assert.equal(after.config?.hash, result.hash);
    assert.equal(after.drained, true, "a node that lost its state comes back drained");
    const saved = await new StateStore<AgentConfig>(`${dir}/state.json`).load();
    assert.equal(saved?.hash, result.hash, "the deploy replaced the corrupt file");

    // The lab syncs sessions: the repaired node holds its VIPs back until its peers answered
    // or the bounded wait passed (here no peer runs, so the wait passes).
    assert.equal(after.sync?.synced, false);
    for (let t = 0; t < DEFAULT_SYNC_WAIT_MS; t += SYNC_POLL_MS) await timers.advance(SYNC_POLL_MS);
    await agent.idle();
    assert.equal((await nodeStatus(transport, node)).sync?.synced, true);
    const serving = await undrainNode(transport, node);
    assert.ok(serving.advertisedVips.length > 0);
    assert.ok(dp.last!.services.length > 0);
  } finally {
    agent.stop();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
