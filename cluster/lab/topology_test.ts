import assert from "node:assert/strict";
import { buildLabModel, labCommands, parseLabTopology } from "./topology.ts";

const TEXT = Deno.readTextFileSync(new URL("../../fixtures/lab-topology.yaml", import.meta.url));

Deno.test("parseLabTopology() reads the lab fixture", () => {
  const t = parseLabTopology(TEXT);
  assert.equal(t.prefix, "lvl-");
  assert.equal(t.nodes, 3);
  assert.equal(t.realServers, 3);
  assert.deepEqual(t.vips, ["10.77.100.1"]);
  assert.deepEqual(t.ospf.bfd, { intervalMs: 100, multiplier: 3 });
  assert.equal(t.management?.subnet, "10.77.250.0/24");
});

Deno.test("parseLabTopology() lists every problem at once", () => {
  const bad = TEXT.replace("prefix: lvl-", "prefix: LVL")
    .replace("segment: 10.77.0.0/24", "segment: 10.77.0.5/16")
    .replace("nodes: 3", "nodes: 0")
    .replace("routerWait: 2", "routerWait: 1")
    .replace("vips: [10.77.100.1]", "vips: [10.77.100.300]") + "\nextra: 1\n";
  assert.throws(() => parseLabTopology(bad, "t.yaml"), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    for (
      const part of [
        "Invalid lab topology t.yaml",
        'unknown key "extra"',
        'prefix "LVL" must match',
        'segment "10.77.0.5/16" must be an IPv4 /24 network',
        "nodes 0 must be an integer 1-50",
        "ospf.routerWait 1 must be an integer 2-65535",
        'VIP "10.77.100.300" is not an IPv4 address',
      ]
    ) assert.ok(e.message.includes(part), `missing "${part}" in ${e.message}`);
    return true;
  });
  assert.throws(() => parseLabTopology("a: [", "t.yaml"), SyntaxError);
});

Deno.test("buildLabModel() names namespaces by prefix and role and addresses nodes from the segment", () => {
  const m = buildLabModel(parseLabTopology(TEXT), {
    prefix: "lrt0001-",
    stateDir: "/tmp/x",
    nodes: 4,
  });
  assert.equal(m.stateDir, "/tmp/x/lrt0001-");
  assert.deepEqual(m.namespaces.map((n) => [n.name, n.role]), [
    ["lrt0001-sw", "switch"],
    ["lrt0001-client", "client"],
    ["lrt0001-router", "router"],
    ["lrt0001-node1", "node"],
    ["lrt0001-node2", "node"],
    ["lrt0001-node3", "node"],
    ["lrt0001-node4", "node"],
    ["lrt0001-rs1", "realserver"],
    ["lrt0001-rs2", "realserver"],
    ["lrt0001-rs3", "realserver"],
  ]);
  assert.deepEqual(m.nodes.map((n) => [n.address, n.lips, n.mgmtAddress]), [
    ["10.77.0.11", ["10.77.200.1"], "10.77.250.11"],
    ["10.77.0.12", ["10.77.200.2"], "10.77.250.12"],
    ["10.77.0.13", ["10.77.200.3"], "10.77.250.13"],
    ["10.77.0.14", ["10.77.200.4"], "10.77.250.14"],
  ]);
  assert.equal(m.nodes[0]?.routing.routerId, "10.77.0.11");
  assert.equal(m.nodes[0]?.routing.uplink.priority, 0);
  assert.equal(m.nodes[0]?.bird.socket, "/tmp/x/lrt0001-/lrt0001-node1/bird.ctl");
  assert.equal(m.router.routing.interfaces[0]?.priority, 100);
  assert.equal(m.router.routing.interfaces[0]?.wait, 2);
  assert.equal(m.nodes[0]?.routing.uplink.wait, undefined);
  assert.equal(m.nodes[0]?.routing.uplink.retransmit, 2);
  assert.equal(m.router.routing.interfaces[0]?.retransmit, 2);
  assert.deepEqual(m.realServers.map((r) => r.address), [
    "10.77.0.101",
    "10.77.0.102",
    "10.77.0.103",
  ]);
  assert.deepEqual(m.client, {
    namespace: "lrt0001-client",
    address: "10.77.1.10",
    gateway: "10.77.1.1",
  });
  assert.equal(m.management?.hostInterface, "lrt0001-mgmt");
});

Deno.test("buildLabModel() sets the router's multipath hash policy, forwarding and no redirects", () => {
  const m = buildLabModel(parseLabTopology(TEXT));
  const router = m.namespaces.find((n) => n.role === "router")!;
  const s = Object.fromEntries(router.sysctls);
  assert.equal(s["net.ipv4.fib_multipath_hash_policy"], "1");
  assert.equal(s["net.ipv4.ip_forward"], "1");
  assert.equal(s["net.ipv4.conf.all.send_redirects"], "0");
  assert.equal(s["net.ipv4.conf.eth1.send_redirects"], "0");
  for (const rs of m.namespaces.filter((n) => n.role === "realserver")) {
    assert.deepEqual(rs.routes, [{ dst: "default", via: "10.77.0.1" }]);
  }
});

Deno.test("buildLabModel() without management, BFD or real servers", () => {
  const m = buildLabModel(parseLabTopology(TEXT), {
    management: false,
    bfd: false,
    realServers: 0,
    nodes: 1,
  });
  assert.equal(m.management, undefined);
  assert.equal(m.nodes[0]?.mgmtAddress, undefined);
  assert.equal(m.nodes[0]?.routing.bfd, undefined);
  assert.equal(m.nodes[0]?.routing.uplink.bfd, false);
  assert.equal(m.router.routing.interfaces[0]?.bfd, false);
  assert.equal(m.realServers.length, 0);
  assert.ok(!labCommands(m).some((c) => c.join(" ").includes("mgmt")));
  assert.throws(
    () => buildLabModel(parseLabTopology(TEXT), { prefix: "much-too-long-prefix-" }),
    /prefix/,
  );
  assert.throws(
    () => buildLabModel(parseLabTopology(TEXT), { nodes: 51 }),
    /nodes 51 must be 1-50/,
  );
});

Deno.test("labCommands() creates every veth pair once, with both ends in the model", () => {
  const m = buildLabModel(parseLabTopology(TEXT), { prefix: "lrt0002-" });
  const cmds = labCommands(m).map((c) => c.join(" "));
  const veths = cmds.filter((c) => c.includes("type veth"));
  // router-client, router-switch, 3 nodes x (uplink + mgmt), 3 real servers, host-switch mgmt.
  assert.equal(veths.length, 1 + 1 + 6 + 3 + 1);
  for (const ns of m.namespaces) {
    const names = ns.interfaces.map((i) => i.name);
    assert.equal(new Set(names).size, names.length, `duplicate interface in ${ns.name}`);
    for (const i of ns.interfaces) {
      assert.ok(i.name.length <= 15);
      if (!i.peer || i.peer.namespace === "") continue;
      const peer = m.namespaces.find((n) => n.name === i.peer!.namespace)?.interfaces.find((x) =>
        x.name === i.peer!.name
      );
      assert.deepEqual(peer?.peer, { namespace: ns.name, name: i.name });
    }
  }
  assert.ok(cmds.includes("ip link add lrt0002-mgmt type veth peer name host netns lrt0002-sw"));
  assert.ok(
    cmds.indexOf("ip netns add lrt0002-sw") < cmds.findIndex((c) => c.includes("type veth")),
  );
  assert.ok(
    cmds.includes("ip netns exec lrt0002-router sysctl -qw net.ipv4.fib_multipath_hash_policy=1"),
  );
  assert.ok(
    cmds.includes("ip -n lrt0002-sw link add br0 type bridge stp_state 0 mcast_snooping 0"),
  );
  assert.ok(cmds.includes("ip -n lrt0002-sw link set n1 master br0"));
  assert.ok(cmds.includes("ip -n lrt0002-rs1 route add default via 10.77.0.1"));
});

Deno.test("labCommands() turns TX checksum offload off on every veth of the client, router, nodes and real servers", () => {
  const m = buildLabModel(parseLabTopology(TEXT), { prefix: "lrt0003-", nodes: 2, realServers: 1 });
  const cmds = labCommands(m).map((c) => c.join(" "));
  const off = cmds.filter((c) => c.includes("ethtool"));
  assert.deepEqual(off.sort(), [
    "ip netns exec lrt0003-client ethtool -K eth0 tx off",
    "ip netns exec lrt0003-node1 ethtool -K eth0 tx off",
    "ip netns exec lrt0003-node1 ethtool -K mgmt0 tx off",
    "ip netns exec lrt0003-node2 ethtool -K eth0 tx off",
    "ip netns exec lrt0003-node2 ethtool -K mgmt0 tx off",
    "ip netns exec lrt0003-router ethtool -K eth0 tx off",
    "ip netns exec lrt0003-router ethtool -K eth1 tx off",
    "ip netns exec lrt0003-rs1 ethtool -K eth0 tx off",
  ]);
  // After the links exist.
  const lastLink = cmds.findLastIndex((c) => c.includes("type veth"));
  assert.ok(cmds.findIndex((c) => c.includes("ethtool")) > lastLink);
});
