import assert from "node:assert/strict";
import { ClusterFileError, parseClusterFile } from "./cluster_file.ts";

const LAB = Deno.readTextFileSync(new URL("../fixtures/lab.yaml", import.meta.url));
const PROD = Deno.readTextFileSync(new URL("../fixtures/cluster-production.yaml", import.meta.url));

function problems(text: string): string[] {
  try {
    parseClusterFile(text, "c.yaml");
  } catch (e) {
    assert.ok(e instanceof ClusterFileError, `a ClusterFileError, got ${e}`);
    return e.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
  }
  return [];
}

const base = `cluster: t
nodes:
  - name: n1
    address: 10.0.0.11
    ssh: { host: 10.0.1.11, key: /k, knownHosts: /kh }
    lips: [10.0.0.100]
    ospf: { interface: eth0 }
    dataplane: { vdev: net_null0, portAddress: 10.0.0.11/24 }
vips:
  - address: 192.0.2.10
    port: 80
    reals:
      - { address: 10.0.0.21, port: 8080, weight: 1 }
`;

Deno.test("parseClusterFile() reads the lab's and the production example's files", () => {
  const lab = parseClusterFile(LAB, "lab.yaml");
  assert.equal(lab.nodes.length, 3);
  assert.equal(lab.vips[0]!.reals[0]!.check?.type, "http");
  assert.equal(parseClusterFile(PROD, "production.yaml").nodes.length >= 2, true);
  const b = parseClusterFile(base);
  assert.equal(b.vips[0]!.scheduler, "wrr");
  assert.equal(b.vips[0]!.toa, true);
  assert.equal(b.nodes[0]!.ssh.port, 22);
  assert.equal(b.nodes[0]!.agent.socket, "/run/lvs-agent/agent.sock");
});

const catalogue: Array<[string, string, string[]]> = [
  ["unknown key", base.replace("    port: 80\n", "    port: 80\n    prot: tcp\n"), [
    '12:5 vips[0]: unknown key "prot" (expected one of',
  ]],
  ["bad address", base.replace("192.0.2.10", "192.0.2.300"), [
    '10:14 vips[0]: "address" "192.0.2.300" is not an IPv4 address',
  ]],
  ["weight out of range", base.replace("weight: 1 }", "weight: 70000 }"), [
    '13:51 vips[0].reals[0]: "weight" must be a whole number in 0..65535, got 70000',
  ]],
  ["bad scheduler", base.replace("    port: 80\n", "    port: 80\n    scheduler: lc\n"), [
    '12:16 vips[0]: "scheduler" must be one of rr, wrr, wlc, mh, got "lc"',
  ]],
  [
    "duplicate VIP",
    base + `  - address: 192.0.2.10
    port: 80
    reals: []
`,
    ["14:5 vips[1]: VIP 192.0.2.10:80/tcp is defined twice"],
  ],
  ["no host key pinning", base.replace(", knownHosts: /kh", ""), [
    '5:10 node n1.ssh: a pinned "hostKey" or a "knownHosts" file is required',
  ]],
  [
    "LIP overlap",
    base.replace(
      "vips:",
      `  - name: n2
    address: 10.0.0.12
    ssh: { host: 10.0.1.12, key: /k, knownHosts: /kh }
    lips: [10.0.0.100]
    ospf: { interface: eth0 }
    dataplane: { vdev: net_null0, portAddress: 10.0.0.12/24 }
vips:`,
    ),
    ["12:11 node n2: LIP 10.0.0.100 is also node n1's"],
  ],
  ["bad health check", base.replace("weight: 1 }", "weight: 1, check: { type: ping } }"), [
    '13:69 vips[0].reals[0].check: "type" must be tcp or http, got "ping"',
  ]],
  ["YAML syntax", base.replace("    port: 80\n", "    port: [80\n"), ["12:5 Flow sequence"]],
];

for (const [name, text, expected] of catalogue) {
  Deno.test(`parseClusterFile() reports ${name} with its position`, () => {
    const got = problems(text);
    for (const e of expected) {
      assert.ok(got.some((g) => g.startsWith(e)), `expected "${e}" in:\n${got.join("\n")}`);
    }
  });
}

Deno.test("parseClusterFile() reports every problem at once", () => {
  const text = base.replace("192.0.2.10", "x").replace("weight: 1 }", "weight: -1 }")
    .replace("name: n1", "name: N1");
  assert.ok(problems(text).length >= 3, problems(text).join("\n"));
});
