import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  capturedDropped,
  countPacketLines,
  floodEscape,
  formatSynflood,
  parseHping,
  passiveOpens,
  statTicks,
  summarize,
  synproxyClusterFile,
} from "./synflood_lab.ts";
import { LAB_CLUSTER_FILE } from "./cluster.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";

Deno.test("synproxyClusterFile() turns SYNPROXY on for the lab's VIPs and stays valid", () => {
  const text = synproxyClusterFile(Deno.readTextFileSync(LAB_CLUSTER_FILE));
  const doc = parse(text) as { vips: { synproxy: boolean }[] };
  assert.ok(doc.vips.every((v) => v.synproxy === true));
  assert.ok(parseClusterFile(text).vips.every((v) => v.synproxy));
});

Deno.test("parseHping() reads hping3's closing statistics", () => {
  const out = "HPING 10.77.100.1 (eth0 10.77.100.1): S set, 40 headers + 0 data bytes\n" +
    "hping in flood mode, no replies will be shown\n\n--- 10.77.100.1 hping statistic ---\n" +
    "1234567 packets transmitted, 0 packets received, 100% packet loss\n";
  assert.deepEqual(parseHping(out), { transmitted: 1234567, received: 0 });
  assert.throws(() => parseHping("hping3: command not found"), SyntaxError);
});

Deno.test("statTicks() adds utime and stime, even with spaces in the command", () => {
  const f = Array.from({ length: 50 }, (_, i) => String(i + 3));
  f[11] = "700"; // field 14
  f[12] = "45"; // field 15
  assert.equal(statTicks(`4242 (deno (agent) x) ${f.join(" ")}`), 745);
  assert.throws(() => statTicks("4242 (x) R"), SyntaxError);
});

Deno.test("countPacketLines() counts tcpdump's packet lines only", () => {
  const out = "13:01:02.123456 IP 10.77.200.1.1024 > 10.77.0.101.80: tcp 0\n" +
    "13:01:02.223456 IP 10.77.200.2.1025 > 10.77.0.101.80: tcp 0\n\n";
  assert.equal(countPacketLines(out), 2);
});

Deno.test("summarize() takes the legitimate SYNs off the cookies and rates per second", () => {
  const r = summarize({
    seconds: 10,
    attempted: 500,
    failed: 5,
    synsAtRealServers: 495,
    synsMissedByCapture: 3,
    passiveOpensAtRealServers: 498,
    hpingSent: 1_000_000,
    cookiesSent: 800_500,
    cpuTicks: { node1: 500, node2: 0 },
    ticksPerSecond: 100,
  });
  assert.equal(r.legit.succeededPct, 99);
  assert.equal(r.flood.offeredPps, 100_000);
  assert.equal(r.flood.absorbedPps, 80_000);
  assert.deepEqual(r.nodeCpuPct, { node1: 50, node2: 0 });
  assert.match(formatSynflood(r), /legitimate connections\s+495 of 500 \(99%\)/);
  assert.match(
    formatSynflood(r),
    /SYNs at the real servers\s+495 \(tcpdump; 3 dropped by the capture\), 498 passive opens/,
  );
});

Deno.test("floodEscape() allows a client default route through the lab router only", () => {
  assert.equal(floodEscape("", "", "10.77.1.1"), null);
  assert.equal(floodEscape("default via 10.77.1.1 dev eth0 \n", "", "10.77.1.1"), null);
  assert.match(
    floodEscape("default via 10.77.1.1 dev eth0", "default via 10.0.0.1 dev x", "10.77.1.1")!,
    /router has a default route/,
  );
  assert.match(
    floodEscape("default via 192.168.1.1 dev eth0", "", "10.77.1.1")!,
    /client has a default route/,
  );
  assert.match(floodEscape("default via 10.77.1.10 dev eth0", "", "10.77.1.1")!, /client/);
});

Deno.test("capturedDropped() and passiveOpens() read tcpdump's and the kernel's counts", () => {
  assert.equal(
    capturedDropped(
      "2786 packets captured\n2990 packets received by filter\n204 packets dropped by kernel\n",
    ),
    204,
  );
  assert.equal(capturedDropped("tcpdump: listening on any\n"), 0);
  const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\n" +
    "Tcp: 1 200 120000 -1 7 3001 0\n";
  assert.equal(passiveOpens(snmp), 3001);
  assert.throws(() => passiveOpens("Ip: x\nIp: 1\n"), SyntaxError);
});
