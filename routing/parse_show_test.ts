import assert from "node:assert/strict";
import { parseReplies } from "./bird_reply.ts";
import {
  announcedOf,
  parseBfdSessions,
  parseOspfLsadb,
  parseOspfNeighbors,
  parseOspfState,
  parseProtocols,
  parseRoutes,
  stubnetsOf,
} from "./parse_show.ts";

/** A reply captured from the real BIRD 2.0.12 in the lab (routing/bird/capture_fixtures.ts). */
function fixture(name: string) {
  const text = Deno.readTextFileSync(new URL(`../fixtures/bird/${name}.txt`, import.meta.url));
  const replies = parseReplies(text);
  assert.equal(replies.length, 1, `${name} holds one reply`);
  return replies[0]!;
}

const VIP = "10.77.100.1/32";

Deno.test("parseProtocols() reads every row of the router's and a node's show protocols", () => {
  const router = parseProtocols(fixture("router_show_protocols"));
  assert.deepEqual(router.map((p) => [p.name, p.proto, p.table, p.state]), [
    ["device1", "Device", "---", "up"],
    ["kernel1", "Kernel", "master4", "up"],
    ["bfd1", "BFD", "---", "up"],
    ["upstream", "OSPF", "master4", "up"],
  ]);
  assert.equal(router[3]?.info, "Running");
  assert.equal(router[3]?.since, "02:33:54.538");
  const node = parseProtocols(fixture("node_show_protocols"));
  assert.deepEqual(node.find((p) => p.name === "lvs"), {
    name: "lvs",
    proto: "OSPF",
    table: "master4",
    state: "up",
    since: "02:33:54.542",
    info: "Running",
  });
  assert.equal(parseProtocols(fixture("router_show_protocols_all"))[0]?.name, "upstream");
});

Deno.test("parseOspfNeighbors() reads states and roles as the router and a node see them", () => {
  const router = parseOspfNeighbors(fixture("router_ospf_neighbors"));
  assert.deepEqual(router.map((n) => [n.protocol, n.routerId, n.state, n.role, n.interface]), [
    ["upstream", "10.77.0.11", "Full", "Other", "eth1"],
    ["upstream", "10.77.0.12", "Full", "Other", "eth1"],
    ["upstream", "10.77.0.13", "Full", "Other", "eth1"],
  ]);
  const node = parseOspfNeighbors(fixture("node_ospf_neighbors"));
  assert.deepEqual(node.map((n) => [n.routerId, n.priority, n.state, n.role]), [
    ["10.77.0.12", 0, "2-Way", "Other"],
    ["10.77.0.13", 0, "2-Way", "Other"],
    ["10.77.0.1", 100, "Full", "DR"],
  ]);
  assert.equal(node[2]?.deadTime, 3.638);
  assert.equal(parseOspfNeighbors(fixture("router_ospf_neighbors_one_down")).length, 2);
});

Deno.test("parseOspfState() tells which stub networks each router announces", () => {
  const areas = parseOspfState(fixture("router_ospf_state"));
  assert.equal(areas.length, 1);
  assert.equal(areas[0]?.area, "0.0.0.0");
  assert.deepEqual(stubnetsOf(areas, "10.77.0.11"), [VIP, "10.77.200.1/32"]);
  assert.deepEqual(stubnetsOf(areas, "10.77.0.1"), ["10.77.1.0/24"]);
  assert.equal(areas[0]?.routers.find((r) => r.routerId === "10.77.0.12")?.distance, 10);
  assert.deepEqual(areas[0]?.networks, [{
    prefix: "10.77.0.0/24",
    dr: "10.77.0.1",
    routers: ["10.77.0.1", "10.77.0.11", "10.77.0.12", "10.77.0.13"],
  }]);
});

Deno.test("parseOspfState() shows a drained node announcing its LIP but not the VIP", () => {
  const fromRouter = parseOspfState(fixture("router_ospf_state_drained"));
  assert.deepEqual(stubnetsOf(fromRouter, "10.77.0.12"), ["10.77.200.2/32"]);
  assert.deepEqual(stubnetsOf(fromRouter, "10.77.0.11"), [VIP, "10.77.200.1/32"]);
  const fromNode = parseOspfState(fixture("node_ospf_state_drained"));
  assert.deepEqual(stubnetsOf(fromNode, "10.77.0.12"), ["10.77.200.2/32"]);
  assert.equal(fromNode[0]?.routers.find((r) => r.routerId === "10.77.0.12")?.distance, 0);
});

Deno.test("parseOspfLsadb() lists the router and network LSAs per area", () => {
  const lsas = parseOspfLsadb(fixture("router_ospf_lsadb"));
  assert.equal(lsas.length, 5);
  assert.deepEqual(lsas.filter((l) => l.type === "0001").map((l) => l.router), [
    "10.77.0.1",
    "10.77.0.11",
    "10.77.0.12",
    "10.77.0.13",
  ]);
  assert.deepEqual(lsas[1], {
    area: "0.0.0.0",
    type: "0002",
    lsId: "10.77.0.1",
    router: "10.77.0.1",
    sequence: "80000001",
    age: 16,
    checksum: "6678",
  });
});

Deno.test("parseRoutes() reads a 3-way multipath route with weights", () => {
  const [r, ...rest] = parseRoutes(fixture("router_show_route_vip"));
  assert.equal(rest.length, 0);
  assert.equal(r?.prefix, VIP);
  assert.equal(r?.table, "master4");
  assert.equal(r?.protocol, "upstream");
  assert.equal(r?.primary, true);
  assert.equal(r?.info, "I (150/20) [10.77.0.13]");
  assert.deepEqual(r?.nextHops, [
    { gateway: "10.77.0.11", interface: "eth1", weight: 1 },
    { gateway: "10.77.0.12", interface: "eth1", weight: 1 },
    { gateway: "10.77.0.13", interface: "eth1", weight: 1 },
  ]);
});

Deno.test("parseRoutes() follows the route through drain (2 hops) and a dead node (1 hop)", () => {
  assert.deepEqual(
    parseRoutes(fixture("router_show_route_vip_drained"))[0]?.nextHops.map((h) => h.gateway),
    [
      "10.77.0.11",
      "10.77.0.13",
    ],
  );
  assert.deepEqual(parseRoutes(fixture("router_show_route_vip_single"))[0]?.nextHops, [
    { gateway: "10.77.0.11", interface: "eth1" },
  ]);
});

Deno.test("parseRoutes() reads a whole table with device routes and show route all attributes", () => {
  const all = parseRoutes(fixture("router_show_route"));
  assert.equal(all.length, 6);
  assert.deepEqual(all.find((r) => r.prefix === "10.77.0.0/24")?.nextHops, [{ interface: "eth1" }]);
  assert.equal(all.find((r) => r.prefix === VIP)?.nextHops.length, 3);
  const [withAttrs] = parseRoutes(fixture("router_show_route_vip_all"));
  assert.deepEqual(withAttrs?.attributes, {
    Type: "OSPF univ",
    "OSPF.metric1": "20",
    "OSPF.router_id": "10.77.0.13",
  });
  assert.equal(withAttrs?.nextHops.length, 3);
});

Deno.test("parseBfdSessions() reads session state and timers", () => {
  const s = parseBfdSessions(fixture("router_bfd_sessions"));
  assert.deepEqual(s.map((x) => [x.address, x.state]), [
    ["10.77.0.12", "Up"],
    ["10.77.0.13", "Up"],
    ["10.77.0.11", "Up"],
  ]);
  assert.equal(s[0]?.interval, 0.1);
  assert.equal(s[0]?.timeout, 0.3);
  assert.equal(parseBfdSessions(fixture("router_bfd_sessions_one_down")).length, 2);
});

Deno.test("announcedOf() gives a node's LIP stub networks and its VIP externals", () => {
  // Captured from BIRD 2.0.12 running a node's configuration (VIPs as type-1 externals).
  const areas = parseOspfState(fixture("node_ospf_state_externals"));
  assert.deepEqual(stubnetsOf(areas, "10.77.0.11"), ["10.77.0.0/24", "10.77.200.1/32"]);
  assert.deepEqual(announcedOf(areas, "10.77.0.11"), ["10.77.0.0/24", "10.77.200.1/32", VIP]);
  assert.deepEqual(areas[0]!.routers[0]!.externals, [{ prefix: VIP, metric: 10 }]);
  assert.deepEqual(announcedOf(areas, "10.77.0.12"), []);
});
