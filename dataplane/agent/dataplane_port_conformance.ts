/**
 * The contract of the agent's {@linkcode DataPlanePort}, as steps any implementation runs: the
 * agent's recording fake (`_testing.ts`) in `_testing_test.ts`, the adapter over the real data
 * plane (FFI) in `adapters/dataplane_port_ffi_test.ts`.
 *
 * @example
 * ```ts
 * Deno.test("FakeDataPlane passes the data plane port conformance suite", (t) =>
 *   dataPlanePortConformance(t, () => Promise.resolve({ port: new FakeDataPlane() })));
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import type { DataPlaneConfig, SyncConfig } from "../binding/config.ts";
import type { DataPlanePort } from "./agent.ts";

/** A port under test; `done` releases it. */
export interface PortUnderTest {
  port: DataPlanePort;
  done?: () => void | Promise<void>;
}

/** Addresses of the suite: the node's LIP and two peers. */
const CONFORMANCE_NET = {
  lip: "10.0.0.100",
  node: "10.0.0.2",
  peers: [
    { node: "10.0.0.3", address: "10.0.0.103" },
    { node: "10.0.0.4", address: "10.0.0.104" },
  ],
} as const;

const SYNC: SyncConfig = {
  node: CONFORMANCE_NET.node,
  address: CONFORMANCE_NET.lip,
  secret: "00112233445566778899aabbccddeeff",
  peers: CONFORMANCE_NET.peers.map((p) => ({ ...p })),
};

const base = (sync?: SyncConfig): DataPlaneConfig => ({
  localAddresses: [CONFORMANCE_NET.lip],
  services: [{
    vip: "192.0.2.10",
    port: 80,
    protocol: "tcp",
    scheduler: "rr",
    reals: [{ address: "10.0.0.11", port: 80, weight: 1 }],
  }],
  ...(sync ? { sync } : {}),
});

async function step(
  t: Deno.TestContext,
  name: string,
  make: () => Promise<PortUnderTest>,
  fn: (port: DataPlanePort) => Promise<void>,
): Promise<void> {
  await t.step(name, async () => {
    const p = await make();
    try {
      await fn(p.port);
    } finally {
      await p.done?.();
    }
  });
}

/** The suite. `make` gives a fresh port (nothing applied yet) for every step. */
export async function dataPlanePortConformance(
  t: Deno.TestContext,
  make: () => Promise<PortUnderTest>,
): Promise<void> {
  await step(t, "counters() reports whole numbers, sync counters at zero", make, async (port) => {
    await port.apply(base());
    const c = await port.counters();
    for (const k of ["sessions", "packetsIn", "packetsOut", "bytesIn", "bytesOut"] as const) {
      assert.ok(Number.isInteger(c[k]) && c[k] >= 0, `${k} is ${c[k]}`);
    }
    assert.ok(c.sync, "sync counters are reported");
    for (const [k, v] of Object.entries(c.sync)) assert.equal(v, 0, `sync.${k}`);
  });
  await step(
    t,
    "with sync off peers() is empty and requestSync() is refused",
    make,
    async (port) => {
      await port.apply(base());
      assert.deepEqual(await port.peers(), []);
      await assert.rejects(() => port.requestSync());
    },
  );
  await step(
    t,
    "with sync on peers() lists only configured peers, none heard",
    make,
    async (port) => {
      await port.apply(base(SYNC));
      await port.requestSync();
      const peers = await port.peers();
      const configured: string[] = CONFORMANCE_NET.peers.map((p) => p.node);
      for (const p of peers) {
        assert.ok(configured.includes(p.node), `peer ${p.node} is configured`);
        assert.equal(p.peerWorkers, 0, `${p.node} was never heard`);
        assert.equal(p.lastHeardMs, 0);
      }
      await port.apply(base());
      assert.deepEqual(await port.peers(), [], "sync turned off again");
    },
  );
  await step(t, "takeOver() takes a standby LIP and refuses any other", make, async (port) => {
    const standby = [{ lip: "10.0.0.250", owner: CONFORMANCE_NET.peers[0]!.node }];
    await port.apply(base({ ...SYNC, standby }));
    await port.takeOver("10.0.0.250");
    await assert.rejects(() => port.takeOver("10.0.0.251"), /ENOENT/);
    await port.apply(base());
    await assert.rejects(() => port.takeOver("10.0.0.250"), "sync off");
  });
  await step(t, "apply() refuses a sync the data plane cannot run", make, async (port) => {
    await assert.rejects(
      () => port.apply(base({ ...SYNC, address: "10.0.0.99" })),
      /local address/,
    );
    await assert.rejects(() => port.apply(base({ ...SYNC, secret: "abc" })), /32 hex digits/);
    await assert.rejects(() => port.apply(base({ ...SYNC, port: 1024 })), /1\.\.1023/);
  });
}
