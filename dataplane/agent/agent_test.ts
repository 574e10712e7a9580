import assert from "node:assert/strict";
import { type AgentConfig, AgentError } from "./agent.ts";
import { agentHarness, eventually, withDir } from "./_testing.ts";
import { realKey } from "./effective.ts";

const HASH = "sha256:" + "ab".repeat(32);
const service = {
  vip: "10.10.10.10",
  port: 80,
  protocol: "tcp" as const,
  scheduler: "rr" as const,
  reals: [
    { address: "10.0.0.21", port: 80, weight: 1 },
    { address: "10.0.0.22", port: 80, weight: 1 },
  ],
};
const check = { kind: "tcp" as const, intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 2 };
const config: AgentConfig = {
  version: "1",
  hash: HASH,
  dataplane: { localAddresses: ["10.20.1.1"], services: [service] },
  checks: service.reals.map((r) => ({
    key: realKey(service, r),
    address: r.address,
    port: r.port,
    check,
  })),
};

const harness = (dir: string, down = new Set<string>()) => agentHarness(dir, { down });

Deno.test("Agent.apply() publishes to the data plane, announces VIP and LIPs, reports the hash", () =>
  withDir(async (dir) => {
    const { agent, dp, routing } = await harness(dir);
    const status = await agent.apply(config);
    assert.deepEqual(dp.last, config.dataplane);
    assert.deepEqual(routing.last, { vips: ["10.10.10.10"], lips: ["10.20.1.1"] });
    assert.deepEqual(status.config, {
      version: "1",
      hash: HASH,
      appliedAt: "2026-11-25T00:00:00.000Z",
    });
    assert.equal(status.routing.adjacency, "Full");
    agent.stop();
  }));

Deno.test("Agent.apply() refuses an invalid configuration and changes nothing", () =>
  withDir(async (dir) => {
    const { agent, dp, routing } = await harness(dir);
    await agent.apply(config);
    const before = [dp.applied.length, routing.announced.length];
    const bad = structuredClone(config);
    bad.version = "2";
    bad.dataplane.services[0]!.reals[0]!.weight = 70000;
    await assert.rejects(
      agent.apply(bad),
      (e) => e instanceof AgentError && e.status === 400 && /weight/.test(e.message),
    );
    await assert.rejects(agent.apply({ ...config, hash: "nope" }), /hash must be sha256/);
    assert.deepEqual([dp.applied.length, routing.announced.length], before);
    assert.equal((await agent.status()).config?.version, "1");
    agent.stop();
  }));

Deno.test("Agent.apply() puts the data plane back when BIRD refuses the routes", () =>
  withDir(async (dir) => {
    const { agent, dp, routing } = await harness(dir);
    await agent.apply(config);
    const v2 = structuredClone(config);
    v2.version = "2";
    v2.dataplane.services[0]!.reals.pop();
    routing.failNext = "syntax error";
    await assert.rejects(agent.apply(v2), /BIRD refused the routes: syntax error/);
    assert.deepEqual(dp.last, config.dataplane, "previous snapshot re-applied");
    assert.equal((await agent.status()).config?.version, "1");
    agent.stop();
  }));

Deno.test("Agent drain withdraws VIPs but keeps LIPs; undrain announces them again", () =>
  withDir(async (dir) => {
    const { agent, routing, dp } = await harness(dir);
    await agent.apply(config);
    const drained = await agent.drain();
    assert.equal(drained.drained, true);
    assert.deepEqual(routing.last, { vips: [], lips: ["10.20.1.1"] });
    assert.deepEqual(dp.last, config.dataplane, "the data plane keeps forwarding");
    await agent.undrain();
    assert.deepEqual(routing.last, { vips: ["10.10.10.10"], lips: ["10.20.1.1"] });
    agent.stop();
  }));

Deno.test("a restarted agent re-applies the persisted configuration and drain state", () =>
  withDir(async (dir) => {
    const first = await harness(dir);
    await first.agent.apply(config);
    await first.agent.drain();
    first.agent.stop();
    const second = await harness(dir);
    assert.deepEqual(second.dp.last, config.dataplane);
    assert.deepEqual(second.routing.last, { vips: [], lips: ["10.20.1.1"] });
    const status = await second.agent.status();
    assert.equal(status.drained, true);
    assert.equal(status.config?.hash, HASH);
    second.agent.stop();
  }));

Deno.test("a failing real server gets weight 0; all down withdraws the VIP; recovery restores it", () =>
  withDir(async (dir) => {
    const down = new Set<string>();
    const { agent, dp, routing, timers } = await harness(dir, down);
    await agent.apply(config);
    await timers.advance(0);
    down.add("10.0.0.21");
    await timers.advance(1000);
    await timers.advance(1000);
    const weights = () => dp.last?.services[0]?.reals.map((r) => r.weight).join(",");
    await eventually(() => weights() === "0,1", "failed real gets weight 0");
    assert.deepEqual(routing.last?.vips, ["10.10.10.10"]);
    down.add("10.0.0.22");
    await timers.advance(1000);
    await timers.advance(1000);
    await eventually(() => routing.last?.vips.length === 0, "VIP withdrawn when no real is up");
    await agent.idle(); // the routes are out; the agent records its state after saving it
    const status = await agent.status();
    assert.deepEqual(status.withdrawnVips, [{
      vip: "10.10.10.10",
      reason: "no healthy real server",
    }]);
    assert.equal(status.health.find((h) => h.key.endsWith("10.0.0.21:80"))?.lastError, "refused");
    down.clear();
    await timers.advance(1000);
    await eventually(() => routing.last?.vips.length === 1 && weights() === "1,1", "recovery");
    await agent.idle(); // the re-applies still save the state file into dir
    agent.stop();
  }));
