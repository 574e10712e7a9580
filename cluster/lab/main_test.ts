import assert from "node:assert/strict";
import { formatStatus, parseLabArgs } from "./main.ts";
import type { LabStatus } from "./network.ts";

Deno.test("parseLabArgs() reads the command, valued and boolean options", () => {
  assert.deepEqual(parseLabArgs(["up", "--nodes", "5", "--prefix=lvq-", "--no-bfd"]), {
    command: "up",
    positional: [],
    flags: { nodes: "5", prefix: "lvq-", "no-bfd": true },
  });
  assert.deepEqual(parseLabArgs(["drain", "node2"]), {
    command: "drain",
    positional: ["node2"],
    flags: {},
  });
  assert.deepEqual(parseLabArgs(["status", "--json"]).flags, { json: true });
});

Deno.test("parseLabArgs() rejects unknown options and missing values", () => {
  assert.throws(() => parseLabArgs(["up", "--bogus"]), /Unknown option --bogus/);
  assert.throws(() => parseLabArgs(["up", "--nodes"]), /Option --nodes needs a value/);
});

Deno.test("formatStatus() shows namespaces, nodes and next hops per VIP", () => {
  const s: LabStatus = {
    prefix: "lvl-",
    stateDir: "/run/lvs-lab/lvl-",
    up: true,
    vips: ["10.77.100.1"],
    namespaces: [{
      name: "lvl-router",
      role: "router",
      exists: true,
      interfaces: [{ name: "eth1", addresses: ["10.77.0.1/24"] }],
    }],
    router: {
      namespace: "lvl-router",
      address: "10.77.0.1",
      clientAddress: "10.77.1.1",
      bird: "running",
      neighbors: [],
      nextHops: { "10.77.100.1": [{ gateway: "10.77.0.11", interface: "eth1" }] },
      kernelNextHops: {},
    },
    nodes: [{
      name: "node1",
      namespace: "lvl-node1",
      address: "10.77.0.11",
      uplink: "eth0",
      lips: ["10.77.200.1"],
      bird: "running",
      drained: true,
    }],
    realServers: [],
    client: { namespace: "lvl-client", address: "10.77.1.10", gateway: "10.77.1.1" },
  };
  const text = formatStatus(s);
  assert.match(text, /lab lvl-: up/);
  assert.match(text, /\+ lvl-router\s+router\s+eth1 10\.77\.0\.1\/24/);
  assert.match(text, /node node1: 10\.77\.0\.11 bird running, drained, LIPs 10\.77\.200\.1/);
  assert.match(text, /VIP 10\.77\.100\.1: 1 next hops 10\.77\.0\.11/);
});
