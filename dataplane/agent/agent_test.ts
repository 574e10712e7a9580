import assert from "node:assert/strict";
import { Agent, type AgentConfig, AgentError, RESTORE_RETRY_MS } from "./agent.ts";
import {
  agentHarness,
  eventually,
  FakeDataPlane,
  FakeRouting,
  ManualTimers,
  withDir,
} from "./_testing.ts";
import { HealthMonitor } from "./health.ts";
import { StateStore } from "./adapters/store.ts";
import { serviceRealKey } from "./effective.ts";

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
    key: serviceRealKey(service, r),
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

Deno.test("Agent.apply() refuses a bad health check before anything is applied or saved", () =>
  withDir(async (dir) => {
    const { agent, dp, routing } = await harness(dir);
    await agent.apply(config);
    const store = new StateStore<AgentConfig>(`${dir}/state.json`);
    const saved = await store.load();
    const before = [dp.applied.length, routing.announced.length];
    const key = config.checks[0]!.key;
    const cases: Array<[string, (c: Record<string, unknown>) => void, RegExp]> = [
      [
        "rise 0",
        (c) => (c.check = { ...check, rise: 0 }),
        /rise must be a positive integer, got 0/,
      ],
      ["fall as text", (c) => (c.check = { ...check, fall: "2" }), /fall must be .*got "2"/],
      ["interval", (c) => (c.check = { ...check, intervalMs: 0.5 }), /intervalMs must be/],
      [
        "kind",
        (c) => (c.check = { ...check, kind: "icmp" }),
        /kind must be tcp or http, got "icmp"/,
      ],
      ["delay", (c) => (c.check = { ...check, delayMs: -1 }), /delayMs must be .*got -1/],
      [
        "http path",
        (c) => (c.check = { ...check, kind: "http", expectStatus: 200 }),
        /path must be a string, got undefined/,
      ],
      [
        "http expect",
        (c) => (c.check = { ...check, kind: "http", path: "/", expectStatus: "200" }),
        /expectStatus must be 100-599, got "200"/,
      ],
      ["no check", (c) => delete c.check, /check must be an object, got undefined/],
      [
        "address",
        (c) => (c.address = "10.0.0.300"),
        /address must be an IPv4 address, got "10.0.0.300"/,
      ],
      ["port", (c) => (c.port = 70000), /port must be 1-65535, got 70000/],
      ["key", (c) => (c.key = ""), /key must be a non-empty string/],
    ];
    for (const [name, spoil, message] of cases) {
      const bad = structuredClone(config);
      bad.version = `bad ${name}`;
      spoil(bad.checks[0] as unknown as Record<string, unknown>);
      await assert.rejects(
        agent.apply(bad),
        (e) =>
          e instanceof AgentError && e.status === 400 && message.test(e.message) &&
          e.message.includes(`bad ${name}`),
        name,
      );
    }
    const twice = structuredClone(config);
    twice.checks.push(structuredClone(twice.checks[0]!));
    await assert.rejects(agent.apply(twice), new RegExp(`check ${key} is listed twice`));
    await assert.rejects(
      agent.apply({ ...config, checks: [null] } as unknown as AgentConfig),
      /checks\[0\] must be an object/,
    );
    assert.deepEqual([dp.applied.length, routing.announced.length], before, "nothing applied");
    assert.deepEqual(await store.load(), saved, "nothing saved");
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

Deno.test("a failed data plane rollback is an error and leaves the node degraded until a good apply", () =>
  withDir(async (dir) => {
    const { agent, dp, routing } = await harness(dir);
    await agent.apply(config);
    const v2 = structuredClone(config);
    v2.version = "2";
    v2.dataplane.services[0]!.reals.pop();
    // BIRD refuses the routes, and then the data plane refuses the previous snapshot.
    const announce = routing.announce.bind(routing);
    routing.failNext = "syntax error";
    routing.announce = (r) => {
      if (routing.failNext) dp.failNext = "port 0 is gone";
      return announce(r);
    };
    await assert.rejects(
      agent.apply(v2),
      (e) =>
        e instanceof AgentError && e.status === 500 &&
        /BIRD refused the routes: syntax error; putting the data plane back to configuration 1 failed too: port 0 is gone; the node is degraded/
          .test(e.message),
    );
    const status = await agent.status();
    assert.match(
      status.degraded ?? "",
      /configuration 2: BIRD refused the routes: syntax error; putting the data plane back to configuration 1 failed too: port 0 is gone/,
    );
    assert.equal(status.config?.version, "1", "the configuration BIRD still runs");
    const repaired = await agent.apply(v2);
    assert.equal(repaired.degraded, undefined);
    assert.equal(repaired.config?.version, "2");
    agent.stop();
  }));

Deno.test("a first apply that BIRD refuses puts the data plane back to idle", () =>
  withDir(async (dir) => {
    const { agent, dp, routing } = await harness(dir);
    routing.failNext = "syntax error";
    await assert.rejects(agent.apply(config), /BIRD refused the routes: syntax error/);
    assert.deepEqual(dp.last, { localAddresses: [], services: [] });
    const status = await agent.status();
    assert.equal(status.config, null);
    assert.equal(status.degraded, undefined);
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

Deno.test("a corrupt saved state starts the agent idle, drained and degraded; a good apply repairs it", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/state.json`, '{"version": "1", "hash": tru');
    const { agent, dp, routing } = await harness(dir);
    const status = await agent.status();
    assert.match(status.degraded ?? "", /state\.json is not valid JSON/);
    assert.match(status.degraded ?? "", /apply a configuration \(lvsctl deploy\)/);
    assert.equal(status.config, null);
    assert.equal(status.drained, true, "not knowing, it stays out of the router");
    assert.deepEqual(dp.last, { localAddresses: [], services: [] }, "the data plane idles");
    assert.deepEqual(routing.last, { vips: [], lips: [] });
    const repaired = await agent.apply(config);
    assert.equal(repaired.degraded, undefined);
    assert.equal(repaired.config?.version, "1");
    assert.equal(
      (await new StateStore<AgentConfig>(`${dir}/state.json`).load())?.config.version,
      "1",
      "the good configuration replaced the corrupt file",
    );
    agent.stop();
  }));

Deno.test("a saved configuration that fails validation or is refused starts the agent degraded", () =>
  withDir(async (dir) => {
    const store = new StateStore<AgentConfig>(`${dir}/state.json`);
    const bad = structuredClone(config);
    bad.version = "7";
    bad.checks[0]!.check = { ...check, rise: 0 };
    await store.save({ version: "7", hash: HASH, config: bad, drained: false, appliedAt: "t" });
    const first = await harness(dir);
    const s1 = await first.agent.status();
    assert.match(
      s1.degraded ?? "",
      /saved configuration 7 .*rise must be a positive integer, got 0/,
    );
    assert.equal(s1.drained, false, "the saved drain state is kept");
    assert.deepEqual(first.dp.last, { localAddresses: [], services: [] });
    first.agent.stop();

    await store.save({ version: "1", hash: HASH, config, drained: true, appliedAt: "t" });
    const dp = new FakeDataPlane();
    dp.failNext = "no such port";
    const timers = new ManualTimers();
    const second = await Agent.start({
      node: "lb1",
      release: "1.0.0",
      dataplane: dp,
      routing: new FakeRouting(),
      store,
      health: (onChange) =>
        new HealthMonitor(onChange, () => Promise.resolve({ ok: true, error: "" }), timers),
      timers,
    });
    const s2 = await second.status();
    assert.match(
      s2.degraded ?? "",
      /re-applying the saved configuration 1 failed \(retried every 5 s\): .*refused it: no such port/,
    );
    assert.equal(s2.config, null);
    assert.equal(s2.drained, true);
    assert.deepEqual(dp.last, { localAddresses: [], services: [] });
    // The data plane takes it on the next try: the node comes back as it was saved.
    await timers.advance(RESTORE_RETRY_MS);
    await eventually(() => second.currentConfig() !== null, "the saved configuration retried");
    const s3 = await second.status();
    assert.equal(s3.degraded, undefined);
    assert.equal(s3.config?.version, "1");
    assert.equal(s3.drained, true);
    second.stop();
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
