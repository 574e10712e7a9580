import assert from "node:assert/strict";
import { ClusterFileError, parseClusterFile } from "./cluster_file.ts";

const LAB = Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url));
const PROD = Deno.readTextFileSync(
  new URL("../../fixtures/cluster-production.yaml", import.meta.url),
);

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
  assert.equal(lab.sync?.port, 1000, "the lab syncs sessions");
  const asked: string[] = [];
  const prod = parseClusterFile(PROD, "production.yaml", {
    readSecretFile: (p) => (asked.push(p), "0123456789abcdef0123456789abcdef\n"),
  });
  assert.equal(prod.nodes.length >= 2, true);
  assert.deepEqual(asked, ["/etc/lvsctl/sync.key"]);
  assert.equal(prod.sync?.secretFile, "/etc/lvsctl/sync.key");
  assert.equal(prod.dashboard.releases, "/srv/lvs/releases");
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
    ["12:12 node n2: LIP 10.0.0.100 is also node n1's"],
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

const withDefaults = `cluster: t
defaults:
  ssh: { port: 2222, user: lb, key: /k, knownHosts: /kh }
  agent: { socket: "/run/{node}/agent.sock", root: "/var/lib/{node}" }
  ospf: { interface: eth0, hello: 1, dead: 4, bfd: true }
  dataplane: { vdev: net_null0, workers: 2 }
nodes:
  - name: n1
    address: 10.0.0.11
    ssh: { host: 10.0.1.11 }
    lips: [10.0.0.100]
    dataplane: { portAddress: 10.0.0.11/24 }
  - name: n2
    address: 10.0.0.12
    ssh: { host: 10.0.1.12, port: 22 }
    lips: [10.0.0.101]
    ospf: { cost: 20 }
    dataplane: { portAddress: 10.0.0.12/24, workers: 4 }
vips: []
`;

Deno.test("parseClusterFile() fills node settings from defaults, overridden key by key", () => {
  const c = parseClusterFile(withDefaults);
  const [n1, n2] = c.nodes;
  assert.deepEqual(n1!.ssh, {
    host: "10.0.1.11",
    port: 2222,
    user: "lb",
    key: "/k",
    knownHosts: "/kh",
  });
  assert.equal(n2!.ssh.port, 22);
  assert.deepEqual(n1!.agent, { socket: "/run/n1/agent.sock", root: "/var/lib/n1" });
  assert.equal(n2!.agent.socket, "/run/n2/agent.sock");
  assert.deepEqual(n1!.ospf, {
    area: 0,
    interface: "eth0",
    cost: 10,
    hello: 1,
    dead: 4,
    bfd: true,
  });
  assert.equal(n2!.ospf.cost, 20);
  assert.equal(n2!.ospf.interface, "eth0");
  assert.equal(n1!.dataplane.workers, 2);
  assert.equal(n2!.dataplane.workers, 4);
  assert.equal(n2!.dataplane.vdev, "net_null0");
});

Deno.test("parseClusterFile() points at the line that holds a bad value, in defaults or in a node", () => {
  const inDefaults = problems(withDefaults.replace("port: 2222", "port: 99999"));
  // Both nodes inherit the bad port from line 3; n2 overrides it, so only n1 reports it.
  assert.deepEqual(inDefaults.filter((p) => p.includes('"port"')), [
    '3:16 node n1.ssh: "port" must be a whole number in 1..65535, got 99999',
  ]);
  const inNode = problems(withDefaults.replace("workers: 4", "workers: 40"));
  assert.deepEqual(inNode, [
    '18:54 node n2.dataplane: "workers" must be a whole number in 1..16, got 40',
  ]);
  const unknown = problems(withDefaults.replace("bfd: true }", "bfd: true, mtu: 1 }"));
  assert.ok(
    unknown.some((p) => p.startsWith('5:58 defaults.ospf: unknown key "mtu"')),
    unknown.join("\n"),
  );
});

Deno.test("parseClusterFile() reports duplicate names and LIPs even on nodes with other problems", () => {
  const text = base.replace(
    "vips:",
    `  - name: n1
    address: 10.0.0.12
    lips: [10.0.0.102, 10.0.0.102]
vips:`,
  );
  const got = problems(text);
  const want = [
    '9:11 nodes[1]: node name "n1" is used twice',
    "11:24 node n1: LIP 10.0.0.102 is listed twice",
    '9:5 node n1: "ssh" is required',
    '9:5 node n1: "ospf" is required',
    '9:5 node n1: "dataplane" is required',
  ];
  for (const w of want) assert.ok(got.includes(w), `expected "${w}" in:\n${got.join("\n")}`);
  assert.ok(!got.some((p) => p.includes("must be a mapping")), got.join("\n"));
});

Deno.test("parseClusterFile() reads dashboard.releases, an absolute directory", () => {
  assert.equal(parseClusterFile(base).dashboard.releases, undefined);
  const withDir = parseClusterFile(`${base}dashboard:\n  releases: /srv/lvs/releases\n`);
  assert.deepEqual(withDir.dashboard, { listen: "127.0.0.1:8080", releases: "/srv/lvs/releases" });
  assert.deepEqual(problems(`${base}dashboard:\n  releases: releases\n`), [
    `15:13 dashboard: "releases" must be an absolute directory path, got "releases"`,
  ]);
});

Deno.test("parseClusterFile() checks a node's standby names another node", () => {
  const two = base.replace(
    "vips:",
    `  - name: n2
    address: 10.0.0.12
    ssh: { host: 10.0.1.12, key: /k, knownHosts: /kh }
    lips: [10.0.0.101]
    standby: n1
    ospf: { interface: eth0 }
    dataplane: { vdev: net_null0, portAddress: 10.0.0.12/24 }
vips:`,
  );
  assert.equal(parseClusterFile(two).nodes[1]!.standby, "n1");
  const self = problems(two.replace("standby: n1", "standby: n2"));
  assert.ok(self.some((p) => p.includes('"standby" must name another node')), self.join("\n"));
  const unknown = problems(two.replace("standby: n1", "standby: n7"));
  assert.ok(unknown.some((p) => p.includes('"standby" "n7" is not a node')), unknown.join("\n"));
});

Deno.test("parseClusterFile() reads dashboard.tls and reports a half-given one with its position", () => {
  const tls = parseClusterFile(
    `${base}dashboard:\n  listen: 0.0.0.0:8443\n  tls: { cert: /etc/lvs/dash.crt, key: /etc/lvs/dash.key }\n`,
    "c.yaml",
  );
  assert.deepEqual(tls.dashboard, {
    listen: "0.0.0.0:8443",
    tls: { cert: "/etc/lvs/dash.crt", key: "/etc/lvs/dash.key" },
  });
  assert.equal(parseClusterFile(base, "c.yaml").dashboard.tls, undefined);
  const line = base.split("\n").length + 1;
  assert.deepEqual(problems(`${base}dashboard:\n  tls: { cert: /c, pem: /k }\n`), [
    `${line}:20 dashboard.tls: unknown key "pem" (expected one of cert, key)`,
    `${line}:8 dashboard.tls: "key" is required`,
  ]);
});

Deno.test("parseClusterFile() reads deploy.maxDeletionShare, 0.5 when absent", () => {
  assert.equal(parseClusterFile(base).deploy.maxDeletionShare, 0.5);
  assert.equal(
    parseClusterFile(`${base}deploy:\n  maxDeletionShare: 0.25\n`).deploy.maxDeletionShare,
    0.25,
  );
  assert.equal(
    parseClusterFile(`${base}deploy: { maxDeletionShare: 1 }\n`).deploy.maxDeletionShare,
    1,
  );
  assert.deepEqual(problems(`${base}deploy:\n  maxDeletionShare: 1.5\n`), [
    '15:21 deploy: "maxDeletionShare" must be a number in 0..1, got 1.5',
  ]);
  assert.deepEqual(problems(`${base}deploy:\n  maxDeletionShare: half\n`), [
    '15:21 deploy: "maxDeletionShare" must be a number in 0..1, got half',
  ]);
  assert.deepEqual(problems(`${base}deploy:\n  maxDeletions: 2\n`), [
    '15:3 deploy: unknown key "maxDeletions" (expected one of maxDeletionShare)',
  ]);
});
