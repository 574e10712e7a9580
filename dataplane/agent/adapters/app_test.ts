import assert from "node:assert/strict";
import { Agent, type AgentConfig } from "../agent.ts";
import { createAgentApp } from "./app.ts";
import { FakeDataPlane, FakeRouting, ManualTimers } from "../_testing.ts";
import { HealthMonitor } from "../health.ts";
import { StateStore } from "./store.ts";

const config: AgentConfig = {
  version: "3",
  hash: "sha256:" + "cd".repeat(32),
  dataplane: {
    localAddresses: ["10.20.1.1"],
    services: [{
      vip: "10.10.10.10",
      port: 80,
      protocol: "tcp",
      scheduler: "mh",
      reals: [{ address: "10.0.0.21", port: 80, weight: 1 }],
    }],
  },
  checks: [],
};

async function setup() {
  const dir = await Deno.makeTempDir();
  const timers = new ManualTimers();
  const agent = await Agent.start({
    node: "lb2",
    release: "2.0.0",
    dataplane: new FakeDataPlane(),
    routing: new FakeRouting(),
    store: new StateStore<AgentConfig>(`${dir}/state.json`),
    health: (cb) => new HealthMonitor(cb, () => Promise.resolve({ ok: true, error: "" }), timers),
  });
  let restarts = 0;
  const app = createAgentApp(agent, { restart: () => restarts++ });
  return {
    app,
    restarts: () => restarts,
    async done() {
      agent.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("agent API: apply, status, drain and undrain round-trip as JSON", async () => {
  const t = await setup();
  try {
    const post = (path: string, body?: unknown) =>
      t.app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const applied = await post("/v1/apply", config);
    assert.equal(applied.status, 200);
    assert.equal((await applied.json()).config.hash, config.hash);
    const status = await (await t.app.request("/v1/status")).json();
    assert.equal(status.node, "lb2");
    assert.equal(status.release, "2.0.0");
    assert.deepEqual(status.advertisedVips, ["10.10.10.10"]);
    assert.equal((await (await post("/v1/drain")).json()).drained, true);
    assert.equal((await (await post("/v1/undrain")).json()).drained, false);
  } finally {
    await t.done();
  }
});

Deno.test("agent API: bad bodies answer 400 with the reason; unknown calls 404", async () => {
  const t = await setup();
  try {
    const notJson = await t.app.request("/v1/apply", { method: "POST", body: "{" });
    assert.equal(notJson.status, 400);
    assert.match((await notJson.json()).error, /not JSON/);
    const bad = await t.app.request("/v1/apply", {
      method: "POST",
      body: JSON.stringify({ ...config, dataplane: { ...config.dataplane, localAddresses: [] } }),
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /without local addresses/);
    const missing = await t.app.request("/v1/nope");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await t.done();
  }
});

Deno.test("agent API: restart answers first, then asks the supervisor to restart", async () => {
  const t = await setup();
  try {
    const res = await t.app.request("/v1/restart", { method: "POST" });
    assert.deepEqual(await res.json(), { restarting: true });
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(t.restarts(), 1);
  } finally {
    await t.done();
  }
});

Deno.test("agent API: GET /v1/config is 404 before the first apply, then the applied config", async () => {
  const t = await setup();
  try {
    assert.equal((await t.app.request("/v1/config")).status, 404);
    await t.app.request("/v1/apply", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(config),
    });
    const got = await t.app.request("/v1/config");
    assert.equal(got.status, 200);
    assert.deepEqual(await got.json(), config);
  } finally {
    await t.done();
  }
});
