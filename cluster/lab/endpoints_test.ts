import assert from "node:assert/strict";
import { buildLabModel, parseLabTopology } from "./topology.ts";
import {
  findLabNode,
  inNamespace,
  labClientEndpoints,
  labNodeEndpoints,
  labRealServerEndpoints,
  labRouterEndpoints,
  labStateDir,
  managementConflict,
} from "./endpoints.ts";

const TEXT = Deno.readTextFileSync(new URL("../../fixtures/lab-topology.yaml", import.meta.url));
const model = buildLabModel(parseLabTopology(TEXT), { prefix: "lhe0001-", stateDir: "/tmp/x" });

Deno.test("labNodeEndpoints() gives a node's uplink, gateway, management address and files", () => {
  assert.deepEqual(labNodeEndpoints(model, "node2"), {
    name: "node2",
    namespace: "lhe0001-node2",
    stateDir: "/tmp/x/lhe0001-/lhe0001-node2",
    uplink: {
      interface: "eth0",
      address: "10.77.0.12",
      cidr: "10.77.0.12/24",
      prefixLength: 24,
      gateway: "10.77.0.1",
    },
    management: {
      interface: "mgmt0",
      address: "10.77.250.12",
      cidr: "10.77.250.12/24",
      prefixLength: 24,
      hostAddress: "10.77.250.1",
    },
    bird: model.nodes[1]!.bird,
  });
  assert.equal(labNodeEndpoints(model, model.nodes[0]!).uplink.address, "10.77.0.11");
  assert.equal(labNodeEndpoints(model, "lhe0001-node3").name, "node3");
  const bare = buildLabModel(parseLabTopology(TEXT), { prefix: "lhe0001-", management: false });
  assert.equal(labNodeEndpoints(bare, "node1").management, undefined);
});

Deno.test("findLabNode() names the nodes there are when one is missing", () => {
  assert.throws(() => findLabNode(model, "node9"), /no node node9 \(have node1, node2, node3\)/);
});

Deno.test("labRouterEndpoints(), labClientEndpoints() and labRealServerEndpoints() read the model", () => {
  const r = labRouterEndpoints(model);
  assert.equal(r.namespace, "lhe0001-router");
  assert.deepEqual([r.clientSide.interface, r.clientSide.cidr], ["eth0", "10.77.1.1/24"]);
  assert.deepEqual([r.segmentSide.interface, r.segmentSide.address], ["eth1", "10.77.0.1"]);
  assert.deepEqual(labClientEndpoints(model).link, {
    interface: "eth0",
    address: "10.77.1.10",
    cidr: "10.77.1.10/24",
    prefixLength: 24,
    gateway: "10.77.1.1",
  });
  assert.deepEqual(
    labRealServerEndpoints(model).map((x) => [x.name, x.namespace, x.link.address, x.link.gateway]),
    [
      ["rs1", "lhe0001-rs1", "10.77.0.101", "10.77.0.1"],
      ["rs2", "lhe0001-rs2", "10.77.0.102", "10.77.0.1"],
      ["rs3", "lhe0001-rs3", "10.77.0.103", "10.77.0.1"],
    ],
  );
});

Deno.test("labStateDir() and inNamespace() build paths and argv", () => {
  assert.equal(labStateDir("lvl-", "/run/lvs-lab/"), "/run/lvs-lab/lvl-");
  assert.equal(labStateDir(model.prefix, "/tmp/x"), model.stateDir);
  assert.deepEqual(inNamespace("lvl-node1", ["ss", "-tln"]), [
    "ip",
    "netns",
    "exec",
    "lvl-node1",
    "ss",
    "-tln",
  ]);
  assert.throws(() => inNamespace("lvl-node1", []), TypeError);
});

Deno.test("managementConflict() refuses a management subnet another root interface uses", () => {
  const other = [{ ifname: "lvl-mgmt", local: "10.77.250.1", prefixlen: 24 }];
  assert.match(
    managementConflict(model, other) ?? "",
    /Cannot build lab lhe0001-: its management subnet 10\.77\.250\.0\/24 overlaps 10\.77\.250\.1\/24 on lvl-mgmt .*--no-management/,
  );
  assert.equal(
    managementConflict(model, [{ ifname: "lhe0001-mgmt", local: "10.77.250.1", prefixlen: 24 }]),
    null,
  );
  assert.equal(
    managementConflict(model, [{ ifname: "eth0", local: "192.0.2.2", prefixlen: 24 }]),
    null,
  );
  assert.notEqual(
    managementConflict(model, [{ ifname: "eth0", local: "10.77.0.1", prefixlen: 16 }]),
    null,
  );
  const bare = buildLabModel(parseLabTopology(TEXT), { management: false });
  assert.equal(managementConflict(bare, other), null);
});
