/**
 * The contract of the dashboard's ports, as checks any implementation can run: the in-memory
 * fleet runs them in `memory_fleet_test.ts`; the orchestrator's adapter runs the same suite in the
 * lab. {@link checkSnapshot} lists what is wrong with a snapshot (empty when nothing is).
 *
 * @example
 * ```ts
 * Deno.test("orchestrator ports pass the dashboard conformance suite", async (t) => {
 *   await portConformance(t, async () => {
 *     const fleet = await labFleet();
 *     return { reader: fleet, actions: fleet, settle: () => fleet.waitForConvergence() };
 *   });
 * });
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ActionError,
  type ActionPort,
  type FleetReader,
  type FleetSnapshot,
  NODE_STATES,
} from "./fleet.ts";

/** Problems in a snapshot: duplicate names, unknown states, negative or non-finite figures, ... */
export function checkSnapshot(s: FleetSnapshot): string[] {
  const out: string[] = [];
  const num = (where: string, v: number) => {
    if (!Number.isFinite(v) || v < 0) out.push(`${where} is ${v}, not a finite number >= 0`);
  };
  const names = new Set<string>();
  for (const n of s.nodes) {
    if (names.has(n.name)) out.push(`node ${n.name} appears twice`);
    names.add(n.name);
    if (!NODE_STATES.includes(n.state)) out.push(`node ${n.name} has state ${n.state}`);
    if (!n.reachable && n.error === null) {
      out.push(`node ${n.name} is unreachable without a reason`);
    }
    if (!n.reachable && n.state !== "down") {
      out.push(`node ${n.name} is unreachable but ${n.state}`);
    }
    const st = n.stats;
    if (st) {
      for (const k of ["sessions", "ppsIn", "ppsOut", "packetsIn", "packetsOut"] as const) {
        num(`${n.name}.${k}`, st[k]);
      }
      for (const [reason, v] of Object.entries(st.drops)) num(`${n.name}.drops.${reason}`, v);
      for (const [k, v] of Object.entries(st.synCookies)) num(`${n.name}.synCookies.${k}`, v);
    }
    const sy = n.sync;
    if (sy) {
      for (
        const k of [
          "records",
          "recordsSent",
          "recordsReceived",
          "lost",
          "forwardedOut",
          "forwardedIn",
          "forwardedOutPerSecond",
          "forwardedInPerSecond",
        ] as const
      ) num(`${n.name}.sync.${k}`, sy[k]);
      for (const p of sy.peers) {
        num(`${n.name}.sync.peers.${p.node}.forwardedOut`, p.forwardedOut);
        num(`${n.name}.sync.peers.${p.node}.forwardedIn`, p.forwardedIn);
      }
    }
  }
  const vips = new Set<string>();
  for (const v of s.vips) {
    const key = `${v.address}:${v.port}/${v.protocol}`;
    if (vips.has(key)) out.push(`VIP ${key} appears twice`);
    vips.add(key);
    for (const r of v.reals) {
      num(`${key} real ${r.address}:${r.port} weight`, r.weight);
      for (const h of r.health) {
        if (!names.has(h.node)) {
          out.push(`${key} real ${r.address}:${r.port} has health from unknown node ${h.node}`);
        }
      }
    }
  }
  for (const r of s.rollouts) {
    for (const p of r.nodes) {
      if (!names.has(p.node)) out.push(`rollout ${r.id} names unknown node ${p.node}`);
    }
    if (r.state === "halted" && r.error === null) {
      out.push(`rollout ${r.id} halted without a reason`);
    }
  }
  return out;
}

/** What the conformance suite drives. */
export interface PortsUnderTest {
  reader: FleetReader;
  actions: ActionPort;
  /** Waits until effects of the last action show in reads (a no-op or a short poll). */
  settle(): Promise<void>;
  /** A release the rollout step may start; the step is skipped without one (it upgrades nodes). */
  rolloutRelease?: string;
}

/** Polls `read()` until `ok(snapshot)` or `attempts` settles have passed. */
async function until(
  p: PortsUnderTest,
  ok: (s: FleetSnapshot) => boolean,
  what: string,
  attempts = 60,
): Promise<FleetSnapshot> {
  let s = await p.reader.read();
  for (let i = 0; i < attempts && !ok(s); i++) {
    await p.settle();
    s = await p.reader.read();
  }
  assert.ok(ok(s), `timed out waiting until ${what}`);
  return s;
}

/**
 * The suite: a healthy fleet reads cleanly; drain withdraws a node's VIPs and undrain restores
 * them; actions on unknown nodes and rollouts fail with a reason; one rollout at a time.
 * `make` is called once per step with a fresh fleet of at least two active nodes.
 */
export async function portConformance(
  t: Deno.TestContext,
  make: () => Promise<PortsUnderTest>,
): Promise<void> {
  await t.step("read() returns a consistent snapshot", async () => {
    const p = await make();
    const s = await p.reader.read();
    assert.deepEqual(checkSnapshot(s), []);
    assert.ok(s.nodes.length >= 2, "at least two nodes");
    assert.ok(s.nodes.every((n) => n.state === "active" && n.reachable));
  });
  await t.step("drain withdraws the node's VIPs and undrain announces them again", async () => {
    const p = await make();
    const node = (await p.reader.read()).nodes[0]!.name;
    await p.actions.drain(node, "conformance");
    const drained = await until(p, (s) => {
      const n = s.nodes.find((x) => x.name === node)!;
      return n.state === "drained" && n.ospf?.vipsAdvertised === false;
    }, `${node} is drained with its VIPs withdrawn`);
    assert.deepEqual(checkSnapshot(drained), []);
    assert.ok(drained.nodes.filter((n) => n.name !== node).every((n) => n.state === "active"));
    await p.actions.undrain(node, "conformance");
    await until(p, (s) => {
      const n = s.nodes.find((x) => x.name === node)!;
      return n.state === "active" && n.ospf?.vipsAdvertised === true;
    }, `${node} is active with its VIPs announced`);
  });
  await t.step("actions on an unknown node or rollout fail with a reason", async () => {
    const p = await make();
    await assert.rejects(() => p.actions.drain("no-such-node", "conformance"), (e: unknown) => {
      assert.ok(e instanceof Error && e.message.includes("no-such-node"), String(e));
      if (e instanceof ActionError) assert.equal(e.status, 404);
      return true;
    });
    assert.equal(await p.actions.getRollout("no-such-rollout"), null);
    await assert.rejects(
      () => p.actions.resumeRollout("no-such-rollout", "conformance"),
      /no-such-rollout/,
    );
  });
  const probe = await make();
  const release = probe.rolloutRelease;
  if (release === undefined) return;
  await t.step("a rollout lists every node and excludes a second one (lease)", async () => {
    const p = await make();
    const s = await p.reader.read();
    const r = await p.actions.startRollout({ release, batchSize: 1 }, "conformance");
    assert.equal(r.state, "running");
    assert.equal(r.startedBy, "conformance");
    assert.deepEqual(r.nodes.map((n) => n.node).sort(), s.nodes.map((n) => n.name).sort());
    assert.equal((await p.actions.getRollout(r.id))?.id, r.id);
    await assert.rejects(
      () => p.actions.startRollout({ release }, "conformance"),
      (e: unknown) => e instanceof ActionError && e.status === 409,
    );
  });
}
