import assert from "node:assert/strict";
import { vdevProblem } from "./vdev.ts";
import { ClusterFileError, parseClusterFile } from "./cluster_file.ts";

Deno.test("vdevProblem() takes AF_XDP with the filter, af_packet, PCI NICs and test devices", () => {
  for (
    const ok of [
      "net_af_xdp0,iface=eth0,xdp_prog=fnat",
      "net_af_xdp0,iface=ens1f0,start_queue=0,queue_count=4,xdp_prog=fnat",
      "net_af_xdp0,iface=eth0,xdp_prog=/opt/lvs/fnat_xdp.o",
      "net_af_packet0,iface=eth0,qpairs=1",
      "net_null0",
      "0000:3b:00.0",
      "3b:00.1",
    ]
  ) assert.equal(vdevProblem(ok), undefined, ok);
});

Deno.test("vdevProblem() says what is wrong with a port choice", () => {
  const cases: [string, RegExp][] = [
    ["eth0", /neither a PCI address nor a DPDK virtual device/],
    ["net_af_xdp0,xdp_prog=fnat", /net_af_xdp needs iface=/],
    ["net_af_packet0,qpairs=1", /net_af_packet needs iface=/],
    ["net_af_xdp0,iface=eth0", /needs xdp_prog=fnat .*OSPF and SSH included/],
    ["net_af_xdp0,iface=eth0,xdp_prog=fnat_xdp.o", /absolute path/],
    ["net_af_xdp0,iface=eth0,qpairs=1,xdp_prog=fnat", /net_af_xdp takes no "qpairs"/],
    ["net_af_packet0,iface=eth0,xdp_prog=fnat", /net_af_packet takes no "xdp_prog"/],
    ["net_af_packet0,iface", /"iface" is not key=value/],
  ];
  for (const [vdev, want] of cases) assert.match(vdevProblem(vdev) ?? "(none)", want, vdev);
});

Deno.test("parseClusterFile() reports a bad vdev at its line", () => {
  const text = `cluster: c
nodes:
  - name: n1
    address: 10.0.0.11
    ssh: { host: 10.0.0.11, key: /k }
    agent: { socket: /run/a.sock, root: /opt/a }
    ospf: { area: 0, interface: eth0 }
    dataplane: { vdev: "net_af_xdp0,iface=eth0", portAddress: 10.0.0.11/24 }
    lips: [10.0.0.101]
vips: []
`;
  let problems: string[] = [];
  try {
    parseClusterFile(text, "c.yaml");
  } catch (e) {
    assert.ok(e instanceof ClusterFileError, `a ClusterFileError, got ${e}`);
    problems = e.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
  }
  assert.ok(
    problems.some((p) => /8:\d+ node n1\.dataplane: "vdev" .*needs xdp_prog=fnat/.test(p)),
    problems.join("\n"),
  );
});
