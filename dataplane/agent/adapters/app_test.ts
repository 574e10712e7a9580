import assert from "node:assert/strict";
import { Agent, type AgentConfig } from "../agent.ts";
import { createAgentApp } from "./app.ts";
import { FakeDataPlane, FakeRouting, ManualTimers } from "../_testing.ts";
import { HealthMonitor } from "../health.ts";
import { StateStore } from "./store.ts";
import { LeaseStore } from "./lease_store.ts";
import { LeaseKeeper } from "../lease_keeper.ts";

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

async function setup(existingDir?: string) {
  const dir = existingDir ?? await Deno.makeTempDir();
  const clock = { now: 1_800_000_000_000 };
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
  const lease = await LeaseKeeper.open(new LeaseStore(`${dir}/lease.json`), () => clock.now);
  const app = createAgentApp(agent, { restart: () => restarts++, lease });
  return {
    app,
    dir,
    clock,
    restarts: () => restarts,
    /** Stops the agent and keeps its state directory (a restart reopens it). */
    stop() {
      agent.stop();
    },
    async done() {
      agent.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A JSON POST, with the lease token header when `token` is given. */
function post(app: { request: (p: string, i: RequestInit) => Response | Promise<Response> }) {
  return (path: string, body?: unknown, token?: number | string) =>
    app.request(path, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { "x-lvs-lease-token": String(token) }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
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

Deno.test("agent API: the rollout lease is taken, renewed and released; another holder gets 409 naming the holder", async () => {
  const t = await setup();
  try {
    const p = post(t.app);
    const a = await p("/v1/lease/acquire", { holder: "alice", ttlMs: 60_000 });
    assert.equal(a.status, 200);
    assert.deepEqual(await a.json(), {
      holder: "alice",
      token: 1,
      ttlMs: 60_000,
      expiresAt: t.clock.now + 60_000,
    });
    t.clock.now += 30_000;
    const busy = await p("/v1/lease/acquire", { holder: "bob", ttlMs: 60_000 });
    assert.equal(busy.status, 409);
    const body = await busy.json();
    assert.match(body.error, /held by "alice" \(token 1\) for 30 s more/);
    assert.equal(body.lease.holder, "alice");
    const renewed = await p("/v1/lease/renew", { holder: "alice", token: 1, ttlMs: 60_000 });
    assert.equal((await renewed.json()).expiresAt, t.clock.now + 60_000);
    const view = await (await t.app.request("/v1/lease")).json();
    assert.equal(view.held, true);
    const status = await (await t.app.request("/v1/status")).json();
    assert.deepEqual(status.lease, view, "the status carries the lease too");
    assert.equal(view.token, 1);
    assert.equal(view.now, t.clock.now);
    const rel = await (await p("/v1/lease/release", { holder: "alice", token: 1 })).json();
    assert.equal(rel.released, true);
    assert.equal(rel.lease.held, false);
    const b = await (await p("/v1/lease/acquire", { holder: "bob", ttlMs: 60_000 })).json();
    assert.equal(b.token, 2, "the token keeps growing after a release");
    const bad = await p("/v1/lease/acquire", { holder: "", ttlMs: 60_000 });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /"holder" must be a non-empty printable string/);
  } finally {
    await t.done();
  }
});

Deno.test("agent API: drain, undrain, apply and restart with a stale lease token get 409 naming the holder; without a token they run", async () => {
  const t = await setup();
  try {
    const p = post(t.app);
    await (await p("/v1/lease/acquire", { holder: "alice", ttlMs: 60_000 })).body?.cancel();
    assert.equal((await p("/v1/drain", undefined, 1)).status, 200, "the current token passes");
    t.clock.now += 61_000; // alice was paused past her expiry; bob takes over
    await (await p("/v1/lease/acquire", { holder: "bob", ttlMs: 60_000 })).body?.cancel();
    for (
      const [path, body] of [
        ["/v1/drain", undefined],
        ["/v1/undrain", undefined],
        ["/v1/apply", config],
        ["/v1/restart", undefined],
      ] as const
    ) {
      const res = await p(path, body, 1);
      assert.equal(res.status, 409, path);
      const err = await res.json();
      assert.match(
        err.error,
        new RegExp(
          `Refused POST ${path}: lease token 1 is stale; the rollout lease is held by "bob" \\(token 2\\)`,
        ),
      );
      assert.equal(err.lease.holder, "bob");
    }
    assert.equal(t.restarts(), 0);
    assert.equal((await (await t.app.request("/v1/status")).json()).drained, true, "nothing ran");
    const res = await p("/v1/undrain", undefined, 2);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).drained, false);
    assert.equal((await p("/v1/drain")).status, 200, "a caller outside any rollout is not fenced");
    const malformed = await p("/v1/drain", undefined, "two");
    assert.equal(malformed.status, 400);
    assert.match((await malformed.json()).error, /must be a positive whole number, got "two"/);
  } finally {
    await t.done();
  }
});

Deno.test("agent API: the lease survives an agent restart and its tokens keep growing", async () => {
  const first = await setup();
  try {
    const p = post(first.app);
    await (await p("/v1/lease/acquire", { holder: "alice", ttlMs: 600_000 })).body?.cancel();
    first.stop();
    const second = await setup(first.dir);
    second.clock.now = first.clock.now + 1000;
    const view = await (await second.app.request("/v1/lease")).json();
    assert.equal(view.holder, "alice");
    assert.equal(view.held, true);
    const busy = await post(second.app)("/v1/lease/acquire", { holder: "bob", ttlMs: 60_000 });
    assert.equal(busy.status, 409);
    await busy.body?.cancel();
    assert.equal((await post(second.app)("/v1/drain", undefined, 1)).status, 200);
    second.stop();
  } finally {
    await first.done();
  }
});

Deno.test("agent API: an unreadable lease file refuses lease calls and fenced actions with its path; plain calls still run", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/lease.json`, "");
  const t = await setup(dir);
  try {
    const p = post(t.app);
    const acq = await p("/v1/lease/acquire", { holder: "bob", ttlMs: 60_000 });
    assert.equal(acq.status, 500);
    assert.match(
      (await acq.json()).error,
      new RegExp(`the lease file cannot be read .*remove ${dir}/lease\\.json`),
    );
    const fenced = await p("/v1/drain", undefined, 1);
    assert.equal(fenced.status, 500);
    await fenced.body?.cancel();
    assert.equal((await p("/v1/drain")).status, 200);
  } finally {
    await t.done();
  }
});
