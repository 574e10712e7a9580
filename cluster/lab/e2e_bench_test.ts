import assert from "node:assert/strict";
import {
  type E2eIdle,
  e2eRatios,
  type E2eRun,
  formatE2eTable,
  kernelPeerCommands,
  machineShares,
  parsePidStat,
  parseProcStat,
  parseWrkOutput,
  renderKernelFullnat,
  renderNginxConfig,
  wrkArgs,
  wrkDurationMs,
} from "./e2e_bench.ts";

/** wrk 4.1.0's output as printed in the lab (keep-alive run, no socket errors). */
const WRK_KEEPALIVE = `Running 15s test @ http://10.77.100.1:80/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.02ms    3.61ms  58.25ms   89.12%
    Req/Sec    10.72k     1.43k   14.51k    68.33%
  Latency Distribution
     50%    2.01ms
     75%    3.40ms
     90%    6.13ms
     99%   17.80ms
  320215 requests in 15.02s, 48.86MB read
Requests/sec:  21319.27
Transfer/sec:      3.25MB
`;

/** A run with socket errors, non-2xx answers and latencies in µs and seconds. */
const WRK_ERRORS = `Running 15s test @ http://10.77.100.1:80/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us    1.20s    2.00s    99.00%
    Req/Sec     2.71k   300.12     3.40k    70.00%
  Latency Distribution
     50%  640.00us
     75%  900.00us
     90%    1.50ms
     99%    1.20s
  81234 requests in 15.00s, 12.01MB read
  Socket errors: connect 3, read 17, write 0, timeout 42
  Non-2xx or 3xx responses: 5
Requests/sec:   5415.60
Transfer/sec:    820.05KB
`;

Deno.test("parseWrkOutput() reads requests, req/s and the latency percentiles", () => {
  assert.deepEqual(parseWrkOutput(WRK_KEEPALIVE), {
    requests: 320215,
    seconds: 15.02,
    requestsPerSecond: 21319.27,
    latencyMs: { p50: 2.01, p90: 6.13, p99: 17.8 },
    errors: { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx: 0,
  });
});

Deno.test("parseWrkOutput() reads socket errors, non-2xx answers and every time unit", () => {
  const r = parseWrkOutput(WRK_ERRORS);
  assert.deepEqual(r.errors, { connect: 3, read: 17, write: 0, timeout: 42 });
  assert.equal(r.non2xx, 5);
  assert.equal(r.latencyMs.p50, 0.64);
  assert.equal(r.latencyMs.p90, 1.5);
  assert.equal(r.latencyMs.p99, 1200);
  assert.equal(r.requestsPerSecond, 5415.6);
});

Deno.test("parseWrkOutput() refuses output without the latency distribution", () => {
  const noLatency = WRK_KEEPALIVE.replace(
    / {2}Latency Distribution[\s\S]*?(?= {2}\d+ requests)/,
    "",
  );
  assert.throws(() => parseWrkOutput(noLatency), SyntaxError);
  assert.throws(() => parseWrkOutput("unable to connect to 10.77.100.1:80"), SyntaxError);
});

Deno.test("wrkDurationMs() converts wrk's units and rejects anything else", () => {
  assert.equal(wrkDurationMs("2.00m"), 120_000);
  assert.equal(wrkDurationMs("15.00s"), 15_000);
  assert.throws(() => wrkDurationMs("3 ms"), SyntaxError);
});

Deno.test("wrkArgs() adds Connection: close only for the new-connection shape", () => {
  const opts = { threads: 2, connections: 64, seconds: 15 };
  assert.deepEqual(wrkArgs("keepalive", "http://v/", opts), [
    "wrk",
    "-t2",
    "-c64",
    "-d15s",
    "--latency",
    "http://v/",
  ]);
  assert.deepEqual(wrkArgs("close", "http://v/", opts).slice(5), [
    "-H",
    "Connection: close",
    "http://v/",
  ]);
});

Deno.test("renderKernelFullnat() DNATs the VIP by a client hash and SNATs to the LIP", () => {
  const text = renderKernelFullnat({
    vip: "10.77.100.1",
    port: 80,
    reals: [
      { address: "10.77.0.101", port: 80 },
      { address: "10.77.0.102", port: 8080 },
    ],
    lips: ["10.77.200.1"],
  });
  assert.equal(
    text,
    [
      "# Kernel FULLNAT peer of the end-to-end benchmark. Generated: do not edit.",
      "table ip lvsbench {",
      "  chain prerouting {",
      "    type nat hook prerouting priority dstnat; policy accept;",
      "    ip daddr 10.77.100.1 tcp dport 80 dnat ip addr . port to jhash ip saddr . tcp sport " +
      "mod 2 seed 0x4d61676c map { 0 : 10.77.0.101 . 80, 1 : 10.77.0.102 . 8080 }",
      "  }",
      "  chain postrouting {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      "    ct status dnat ip daddr { 10.77.0.101, 10.77.0.102 } snat ip to 10.77.200.1",
      "  }",
      "}",
      "",
    ].join("\n"),
  );
});

Deno.test("renderKernelFullnat() spreads over several LIPs and refuses empty pools", () => {
  const text = renderKernelFullnat({
    vip: "10.0.0.1",
    port: 443,
    reals: [{ address: "10.0.1.1", port: 443 }],
    lips: ["10.0.2.1", "10.0.2.2"],
    seed: 7,
  });
  assert.match(
    text,
    /snat ip to jhash ip saddr \. tcp sport mod 2 seed 0x7 map \{ 0 : 10\.0\.2\.1, 1 : 10\.0\.2\.2 \}/,
  );
  assert.throws(
    () => renderKernelFullnat({ vip: "10.0.0.1", port: 80, reals: [], lips: ["10.0.2.1"] }),
    RangeError,
  );
  assert.throws(
    () =>
      renderKernelFullnat({
        vip: "10.0.0.1",
        port: 80,
        reals: [{ address: "10.0.1.1", port: 80 }],
        lips: [],
      }),
    RangeError,
  );
});

Deno.test("kernelPeerCommands() turns forwarding on in the node and loads the ruleset last", () => {
  const cmds = kernelPeerCommands("lvl-node1", "eth0", "/run/x.nft");
  assert.ok(cmds.every((c) => c.slice(0, 4).join(" ") === "ip netns exec lvl-node1"));
  assert.ok(cmds.some((c) => c.includes("net.ipv4.ip_forward=1")));
  assert.ok(cmds.some((c) => c.includes("net.ipv4.conf.eth0.rp_filter=0")));
  assert.deepEqual(cmds.at(-1), ["ip", "netns", "exec", "lvl-node1", "nft", "-f", "/run/x.nft"]);
});

Deno.test("renderNginxConfig() is one worker, keep-alive, no access log, files in its dir", () => {
  const text = renderNginxConfig({ name: "rs1", listen: "10.77.0.101:80", dir: "/run/d" });
  assert.match(text, /^worker_processes 1;$/m);
  assert.match(text, /^ {2}access_log off;$/m);
  assert.match(text, /^ {2}keepalive_timeout 65s;$/m);
  assert.match(text, /^ {4}listen 10\.77\.0\.101:80;$/m);
  assert.match(text, /return 200 "rs1\\n";/);
  const paths = [...text.matchAll(/(?:^|\s)(\/\S+?);/g)].map((m) => m[1]!);
  assert.ok(paths.length >= 6, paths.join(" "));
  assert.ok(paths.every((p) => p.startsWith("/run/d/")), paths.join(" "));
});

Deno.test("parsePidStat() counts fields after the command name, spaces and all", () => {
  const stat = "4242 (deno (agent) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 " +
    "9 0 100 1000000 5000 18446744073709551615";
  assert.deepEqual(parsePidStat(stat), { utime: 1234, stime: 567 });
  assert.throws(() => parsePidStat("1 (x) S"), SyntaxError);
});

Deno.test("parseProcStat() and machineShares() give busy and softirq shares", () => {
  const a = parseProcStat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n");
  const b = parseProcStat("cpu  300 0 150 900 50 0 100 0 0 0\n");
  assert.deepEqual(a, { total: 1000, idle: 850, softirq: 0 });
  assert.deepEqual(machineShares(a, b), { busyPercent: 80, softirqPercent: 20 });
  assert.deepEqual(machineShares(a, a), { busyPercent: 0, softirqPercent: 0 });
  assert.throws(() => parseProcStat("intr 1 2 3\n"), SyntaxError);
});

function run(mode: E2eRun["mode"], shape: E2eRun["shape"], rps: number, dp?: number): E2eRun {
  return {
    mode,
    shape,
    wrk: {
      requests: rps * 15,
      seconds: 15,
      requestsPerSecond: rps,
      latencyMs: { p50: 1.234, p90: 12.34, p99: 123.4 },
      errors: { connect: 1, read: 2, write: 0, timeout: 0 },
      non2xx: 0,
    },
    nodes: [{
      name: "node1",
      cpuPercent: 20.4,
      ...(dp !== undefined ? { dataplanePercent: dp } : {}),
    }],
    machine: { busyPercent: 99.6, softirqPercent: 25.2 },
  };
}

Deno.test("e2eRatios() divides the data plane's req/s by the kernel's, per shape", () => {
  const runs = [
    run("dataplane", "keepalive", 30000, 18),
    run("kernel", "keepalive", 20000),
    run("dataplane", "close", 5000, 20),
  ];
  assert.deepEqual(e2eRatios(runs), { keepalive: 1.5, close: null });
});

Deno.test("formatE2eTable() lists every run with node CPU and the ratios", () => {
  const runs = [run("dataplane", "keepalive", 21132.4, 16.2), run("kernel", "keepalive", 31035)];
  const text = formatE2eTable({
    machine: "m",
    port: "af_packet",
    wrk: { threads: 2, connections: 64, seconds: 15 },
    idle: [],
    runs,
    ratios: e2eRatios(runs),
  });
  assert.equal(
    text,
    [
      "mode                 shape       req/s  p50 ms  p90 ms  p99 ms  errors  node1 %cpu  machine busy %  softirq %",
      "-------------------  ---------  ------  ------  ------  ------  ------  ----------  --------------  ---------",
      "dataplane/af_packet  keepalive  21,132    1.23    12.3   123.4       3  20 (dp 16)             100         25",
      "kernel               keepalive  31,035    1.23    12.3   123.4       3          20             100         25",
      "",
      "data plane (af_packet) / kernel, req/s: keepalive 0.68x, close n/a",
    ].join("\n"),
  );
});

Deno.test("formatE2eTable() puts each mode's idle phase before its runs, with no wrk figures", () => {
  const runs = [run("dataplane", "close", 5000, 20), run("kernel", "close", 4000)];
  const idle = (mode: E2eIdle["mode"], dp?: number): E2eIdle => ({
    mode,
    seconds: 30,
    nodes: [{
      name: "node1",
      cpuPercent: 3.4,
      ...(dp !== undefined ? { dataplanePercent: dp } : {}),
    }],
    machine: { busyPercent: 7.6, softirqPercent: 0.4 },
  });
  const text = formatE2eTable({
    machine: "m",
    port: "af_xdp",
    wrk: { threads: 2, connections: 64, seconds: 15 },
    idle: [idle("kernel"), idle("dataplane", 2.6)],
    runs,
    ratios: e2eRatios(runs),
  });
  assert.equal(
    text,
    [
      "mode              shape     req/s  p50 ms  p90 ms  p99 ms  errors  node1 %cpu  machine busy %  softirq %",
      "----------------  --------  -----  ------  ------  ------  ------  ----------  --------------  ---------",
      "kernel            idle 30s      -       -       -       -       -           3               8          0",
      "kernel            close     4,000    1.23    12.3   123.4       3          20             100         25",
      "dataplane/af_xdp  idle 30s      -       -       -       -       -    3 (dp 3)               8          0",
      "dataplane/af_xdp  close     5,000    1.23    12.3   123.4       3  20 (dp 20)             100         25",
      "",
      "data plane (af_xdp) / kernel, req/s: keepalive n/a, close 1.25x",
    ].join("\n"),
  );
});
