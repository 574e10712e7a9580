import assert from "node:assert/strict";
import type { DataPlaneConfig } from "../binding/config.ts";
import { effectiveConfig, serviceRealKey } from "./effective.ts";

const desired: DataPlaneConfig = {
  localAddresses: ["10.20.1.1", "10.20.1.2"],
  services: [
    {
      vip: "10.10.10.10",
      port: 80,
      protocol: "tcp",
      scheduler: "wrr",
      reals: [
        { address: "10.0.0.21", port: 80, weight: 3 },
        { address: "10.0.0.22", port: 80, weight: 1 },
      ],
    },
    {
      vip: "10.10.10.11",
      port: 53,
      protocol: "udp",
      scheduler: "rr",
      reals: [{ address: "10.0.0.23", port: 53, weight: 1 }],
    },
  ],
};
const rs = (vip: number, i: number) => {
  const s = desired.services[vip]!;
  return serviceRealKey(s, s.reals[i]!);
};

Deno.test("effectiveConfig() gives a failed real server weight 0 and keeps the others", () => {
  const eff = effectiveConfig(desired, new Map([[rs(0, 0), false], [rs(0, 1), true]]), {
    drained: false,
  });
  assert.deepEqual(eff.dataplane.services[0]!.reals.map((r) => r.weight), [0, 1]);
  assert.deepEqual(eff.advertisedVips, ["10.10.10.10", "10.10.10.11"]);
  assert.equal(desired.services[0]!.reals[0]!.weight, 3, "the input is not changed");
});

Deno.test("effectiveConfig() withdraws a VIP whose real servers are all down, keeping LIPs", () => {
  const eff = effectiveConfig(desired, new Map([[rs(1, 0), false]]), { drained: false });
  assert.deepEqual(eff.advertisedVips, ["10.10.10.10"]);
  assert.deepEqual(eff.withdrawnVips, [{ vip: "10.10.10.11", reason: "no healthy real server" }]);
  assert.deepEqual(eff.advertisedLips, ["10.20.1.1", "10.20.1.2"]);
  assert.equal(eff.dataplane.services.length, 2, "the service stays so its sessions finish");
});

Deno.test("effectiveConfig() withdraws every VIP of a drained node but keeps forwarding", () => {
  const eff = effectiveConfig(desired, new Map(), { drained: true });
  assert.deepEqual(eff.advertisedVips, []);
  assert.deepEqual(eff.withdrawnVips.map((w) => w.reason), ["drained", "drained"]);
  assert.deepEqual(eff.advertisedLips, desired.localAddresses);
  assert.deepEqual(eff.dataplane.services, desired.services);
});

Deno.test("effectiveConfig() counts an operator weight of 0 like a failed check", () => {
  const zero: DataPlaneConfig = {
    ...desired,
    services: [{ ...desired.services[1]!, reals: [{ address: "10.0.0.23", port: 53, weight: 0 }] }],
  };
  assert.deepEqual(effectiveConfig(zero, new Map(), { drained: false }).advertisedVips, []);
});

Deno.test("effectiveConfig() holds every VIP and LIP of a syncing node back, keeping forwarding", () => {
  const eff = effectiveConfig(desired, new Map([[rs(1, 0), false]]), {
    drained: false,
    syncing: true,
  });
  assert.deepEqual(eff.advertisedVips, []);
  assert.deepEqual(eff.withdrawnVips, [
    { vip: "10.10.10.10", reason: "syncing" },
    { vip: "10.10.10.11", reason: "syncing" },
  ]);
  assert.deepEqual(eff.advertisedLips, [], "LIPs wait for the resync too");
  assert.equal(eff.dataplane.services.length, 2);
  assert.deepEqual(
    effectiveConfig(desired, new Map(), { drained: false }).advertisedLips,
    desired.localAddresses,
  );
  const both = effectiveConfig(desired, new Map(), { drained: true, syncing: true });
  assert.deepEqual(both.withdrawnVips.map((w) => w.reason), ["drained", "drained"]);
});
