import assert from "node:assert/strict";
import type { AgentConfig } from "./agent.ts";
import { agentHarness, unheardPeer, withDir } from "./_testing.ts";
import type { PeerStats } from "../binding/types.ts";

const VIP = "10.10.10.10";
const LIP = "10.20.1.1";
const PEERS = ["10.0.0.12", "10.0.0.13"];
const config: AgentConfig = {
  version: "1",
  hash: "sha256:" + "ab".repeat(32),
  dataplane: {
    localAddresses: [LIP],
    services: [{
      vip: VIP,
      port: 80,
      protocol: "tcp",
      scheduler: "mh",
      reals: [{ address: "10.0.0.21", port: 80, weight: 1 }],
    }],
    sync: {
      node: "10.0.0.11",
      address: LIP,
      secret: "00112233445566778899aabbccddeeff",
      peers: PEERS.map((node, i) => ({ node, address: `10.20.1.${i + 2}` })),
    },
  },
  checks: [],
};
const { sync: _, ...unsynced } = config.dataplane;
const noSync: AgentConfig = { ...config, version: "0", dataplane: unsynced };

const answered = (node: string, workers: number, done = workers): PeerStats => ({
  ...unheardPeer(node),
  snapshotWorkers: done,
  peerWorkers: workers,
  datagramsReceived: 3,
  recordsReceived: 40,
  lastHeardMs: 1234,
});

/** Steps the hand-driven clock, one poll at a time, `ms` in all. */
async function pass(timers: { advance(ms: number): Promise<void> }, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) await timers.advance(100);
}

Deno.test("the first apply with sync asks the peers for their sessions and announces nothing until they answered", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir);
    const status = await agent.apply(config);
    assert.equal(dp.syncRequests, 1, "a snapshot was asked for");
    assert.deepEqual(dp.last?.sync, config.dataplane.sync, "the data plane syncs");
    // Nothing is announced until the peers answered: not even the LIPs (a restarted node's
    // sessions may be carried by its standby, whose replies must keep going there).
    assert.deepEqual(routing.last, { vips: [], lips: [] });
    assert.deepEqual(status.withdrawnVips, [{ vip: VIP, reason: "syncing" }]);
    assert.equal(status.sync?.synced, false);
    dp.peerStats.set(PEERS[0]!, answered(PEERS[0]!, 4));
    await pass(timers, 500);
    assert.deepEqual(routing.last?.vips, [], "one peer still unheard, the wait not over");
    dp.peerStats.set(PEERS[1]!, answered(PEERS[1]!, 2));
    await timers.advance(100);
    await agent.idle();
    assert.deepEqual(routing.last?.vips, [VIP], "the VIP announced");
    const after = await agent.status();
    assert.equal(after.sync?.synced, true);
    assert.deepEqual(after.sync?.unanswered, []);
    assert.deepEqual(after.withdrawnVips, []);
    assert.equal(dp.syncRequests, 1, "asked once");
    agent.stop();
  }));

Deno.test("a node whose peers were never heard announces its VIPs once the bounded wait passed", () =>
  withDir(async (dir) => {
    const { agent, routing, timers } = await agentHarness(dir, { syncWaitMs: 3000 });
    await agent.apply(config);
    await pass(timers, 2900);
    assert.deepEqual(routing.last?.vips, [], "still waiting at 2.9 s");
    await pass(timers, 200);
    await agent.idle();
    assert.deepEqual(routing.last?.vips, [VIP], "the VIP announced after the wait");
    const s = await agent.status();
    assert.equal(s.sync?.synced, true);
    assert.deepEqual(s.sync?.unanswered, PEERS, "the peers that never answered are named");
    agent.stop();
  }));

Deno.test("a peer still sending its snapshot holds the VIPs until the wait, then is reported", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir, { syncWaitMs: 1000 });
    dp.peerStats.set(PEERS[0]!, answered(PEERS[0]!, 4, 3));
    dp.peerStats.set(PEERS[1]!, answered(PEERS[1]!, 2));
    await agent.apply(config);
    await pass(timers, 900);
    assert.deepEqual(routing.last?.vips, []);
    await pass(timers, 200);
    await agent.idle();
    assert.deepEqual(routing.last?.vips, [VIP], "the VIP announced after the wait");
    assert.deepEqual((await agent.status()).sync?.unanswered, [PEERS[0]]);
    agent.stop();
  }));

Deno.test("a restarted agent with sync asks again and holds its VIPs and LIPs back", () =>
  withDir(async (dir) => {
    const first = await agentHarness(dir);
    await first.agent.apply(config);
    first.agent.stop();
    const second = await agentHarness(dir);
    assert.equal(second.dp.syncRequests, 1);
    assert.deepEqual(second.routing.announced, [{ vips: [], lips: [] }]);
    for (const p of PEERS) second.dp.peerStats.set(p, answered(p, 1));
    await second.timers.advance(100);
    await second.agent.idle();
    assert.deepEqual(second.routing.last?.vips, [VIP]);
    second.agent.stop();
  }));

Deno.test("an apply that keeps sync on does not wait again; one that turns it off announces at once", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir);
    await agent.apply(noSync);
    assert.deepEqual(routing.last?.vips, [VIP]);
    assert.equal(dp.syncRequests, 0);
    assert.equal((await agent.status()).sync, undefined, "no sync block while sync is off");
    await agent.apply(config);
    assert.deepEqual(routing.last?.vips, [], "turning sync on holds the VIPs");
    await agent.apply(noSync);
    assert.deepEqual(routing.last?.vips, [VIP], "turning it off again ends the wait");
    await agent.apply(config);
    for (const p of PEERS) dp.peerStats.set(p, answered(p, 1));
    await timers.advance(100);
    await agent.idle();
    assert.deepEqual(routing.last?.vips, [VIP], "the VIP announced");
    await agent.apply({ ...config, version: "2" });
    assert.deepEqual(routing.last?.vips, [VIP], "a node in sync stays announced");
    assert.equal(dp.syncRequests, 2, "asked once per time sync was turned on");
    agent.stop();
  }));

Deno.test("a drained node stays withdrawn after the wait; undrain then announces", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir);
    await agent.apply(config);
    await agent.drain();
    for (const p of PEERS) dp.peerStats.set(p, answered(p, 1));
    await timers.advance(100);
    await agent.idle();
    assert.deepEqual(routing.last, { vips: [], lips: [LIP] }, "synced: LIPs, no VIP (drained)");
    assert.deepEqual((await agent.status()).withdrawnVips, [{ vip: VIP, reason: "drained" }]);
    await agent.undrain();
    assert.deepEqual(routing.last?.vips, [VIP]);
    agent.stop();
  }));

Deno.test("status() reports sync: peers, records held, frames forwarded each way, synced", () =>
  withDir(async (dir) => {
    const { agent, dp, timers } = await agentHarness(dir);
    await agent.apply(config);
    const p0 = { ...answered(PEERS[0]!, 1), forwardedOut: 5, forwardedIn: 7 };
    dp.peerStats.set(PEERS[0]!, p0);
    dp.peerStats.set(PEERS[1]!, answered(PEERS[1]!, 1));
    dp.syncCounters = {
      ...dp.syncCounters,
      recordsActive: 12,
      recordsSent: 30,
      recordsReceived: 44,
      lost: 1,
      forwardedOut: 5,
      forwardedIn: 7,
    };
    await timers.advance(100);
    await agent.idle();
    const s = await agent.status();
    assert.deepEqual(s.sync, {
      synced: true,
      unanswered: [],
      peers: [p0, answered(PEERS[1]!, 1)],
      ...dp.syncCounters,
    });
    assert.ok(s.counters && !("sync" in s.counters), "sync counters are reported once, in sync");
    agent.stop();
  }));

Deno.test("a refused snapshot request is reported and the bounded wait still ends", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir, { syncWaitMs: 500 });
    dp.requestSync = () => Promise.reject(new Error("ENOTCONN"));
    const s = await agent.apply(config);
    assert.match(s.lastError ?? "", /Cannot ask the peers for their sessions: ENOTCONN/);
    await pass(timers, 600);
    await agent.idle();
    assert.deepEqual(routing.last?.vips, [VIP], "the VIP announced after the wait");
    agent.stop();
  }));

Deno.test("a standby takes its peer's LIP over when the peer's routes vanish, and says so", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir);
    const owner = PEERS[0]!;
    const standbyLip = "10.20.1.2";
    const withStandby: AgentConfig = {
      ...config,
      dataplane: {
        ...config.dataplane,
        sync: { ...config.dataplane.sync!, standby: [{ lip: standbyLip, owner }] },
      },
    };
    for (const p of PEERS) dp.peerStats.set(p, answered(p, 1));
    routing.others.set(owner, [`${standbyLip}/32`]);
    await agent.apply(withStandby);
    await pass(timers, 1000);
    await agent.idle();
    assert.deepEqual(routing.last?.standbyLips, [standbyLip], "announced above the owner's cost");
    assert.deepEqual(dp.takenOver, [], "the owner still announces it");
    routing.others.delete(owner); // the owner is lost: BFD takes it out of the graph
    await pass(timers, 500);
    assert.deepEqual(dp.takenOver, [standbyLip]);
    const s = (await agent.status()).sync!;
    assert.deepEqual(s.standby, [{ lip: standbyLip, owner, acting: true }]);
    assert.equal(s.takeovers?.[0]?.lip, standbyLip);
    agent.stop();
  }));

Deno.test("handOver() drains and withdraws the LIPs for the standby; undrain brings them back", () =>
  withDir(async (dir) => {
    const { agent, dp, routing, timers } = await agentHarness(dir);
    for (const p of PEERS) dp.peerStats.set(p, answered(p, 1));
    await agent.apply(config);
    await pass(timers, 200);
    await agent.idle();
    assert.deepEqual(routing.last, { vips: [VIP], lips: [LIP] });
    const s = await agent.handOver();
    assert.equal(s.drained, true);
    assert.equal(s.handedOver, true);
    assert.deepEqual(routing.last, { vips: [], lips: [] }, "the standby carries them now");
    await agent.undrain();
    assert.deepEqual(routing.last, { vips: [VIP], lips: [LIP] });
    assert.equal((await agent.status()).handedOver, undefined);
    agent.stop();
  }));
