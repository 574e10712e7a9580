/**
 * `deno task bench synflood-lab [--seconds S] [--rate R] [--json] [--keep]`: SYNPROXY under a
 * real flood in the lab. Brings the lab up, deploys fixtures/lab.yaml with SYNPROXY on its VIP,
 * then for S seconds at once: `hping3 --flood --rand-source -S -p 80 <VIP>` from the lab's
 * client namespace, the load client making R new connections a second to the same VIP, and
 * tcpdump in every real-server namespace counting the SYNs that reach a real server. Reports
 * the legitimate connections that succeeded, the SYNs the real servers saw (only the legitimate
 * ones should get there), the flood rate offered (hping3's count) and absorbed (the nodes'
 * syncookie counters through their agents), and each node's CPU (its namespace's processes,
 * from /proc/<pid>/stat). Takes the lab down again (unless --keep).
 *
 * Traffic stays in the lab: before flooding it checks that the router namespace has no default
 * route and that the client's default route, if any, is the lab router (a cookie SYN-ACK to a
 * random source dies at the router).
 * Run only under the lab lock: `flock /tmp/lab.lock deno task bench synflood-lab`.
 *
 * @module
 */
import { parse, stringify } from "yaml";
import { LAB_CLUSTER_FILE } from "./cluster.ts";
import { parseDeployOutput } from "./deploy_scale.ts";

const PREFIX = "lvl-";
const VIP = "10.77.100.1";
const NODES = ["node1", "node2", "node3"];
const REAL_SERVERS = ["rs1", "rs2", "rs3"];
/** The lab router's address on the client side (fixtures/lab-topology.yaml: clientNet .1). */
const ROUTER_CLIENT_SIDE = "10.77.1.1";

/** The lab's cluster file with SYNPROXY on every VIP. */
export function synproxyClusterFile(base: string): string {
  const doc = parse(base) as { vips?: Record<string, unknown>[] };
  if (!doc.vips?.length) throw new TypeError("The base cluster file has no VIP");
  doc.vips = doc.vips.map((v) => ({ ...v, synproxy: true }));
  return stringify(doc, { lineWidth: 0 });
}

/**
 * Why the flood could leave the lab, or null: the router must have no default route, and the
 * client none or one through the lab router (`routerAddress`, its client-side address).
 */
export function floodEscape(
  clientDefault: string,
  routerDefault: string,
  routerAddress: string,
): string | null {
  if (routerDefault.trim() !== "") {
    return `the router has a default route (${routerDefault.trim()})`;
  }
  const c = clientDefault.trim();
  if (c === "") return null;
  if (c.split("\n").every((l) => l.startsWith(`default via ${routerAddress} `))) return null;
  return `the client has a default route other than the lab router ${routerAddress} (${c})`;
}

/** hping3's closing statistics: packets it transmitted (and received answers). */
export function parseHping(stderr: string): { transmitted: number; received: number } {
  const m = stderr.match(/(\d+) packets transmitted, (\d+) packets received/);
  if (!m) throw new SyntaxError(`No hping3 statistics in: ${stderr.slice(-300)}`);
  return { transmitted: Number(m[1]), received: Number(m[2]) };
}

/** utime + stime of a /proc/<pid>/stat line, in clock ticks (the command may hold spaces). */
export function statTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): utime and stime are fields 14 and 15.
  const ut = Number(rest[11]), st = Number(rest[12]);
  if (!Number.isFinite(ut) || !Number.isFinite(st)) throw new SyntaxError(`Bad stat: ${stat}`);
  return ut + st;
}

/** tcpdump's closing "N packets dropped by kernel" (0 when absent). */
export function capturedDropped(stderr: string): number {
  const m = stderr.match(/(\d+) packets? dropped by kernel/);
  return m ? Number(m[1]) : 0;
}

/** Tcp PassiveOpens of a /proc/net/snmp text (the namespace's TCP connections opened by a SYN). */
export function passiveOpens(snmp: string): number {
  const lines = snmp.split("\n").filter((l) => l.startsWith("Tcp:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const i = names.indexOf("PassiveOpens");
  const v = Number(values[i]);
  if (i < 0 || !Number.isFinite(v)) throw new SyntaxError("No Tcp PassiveOpens in /proc/net/snmp");
  return v;
}

/** Lines tcpdump printed for packets (not its banner or its closing counts). */
export function countPacketLines(out: string): number {
  return out.split("\n").filter((l) => /^\d\d:\d\d:\d\d\.\d+ /.test(l)).length;
}

/** What one run measured. */
export interface SynfloodResult {
  seconds: number;
  legit: { attempted: number; failed: number; succeededPct: number };
  synsAtRealServers: number;
  /** SYNs tcpdump saw but the kernel dropped before it read them (the count above misses them) */
  synsMissedByCapture: number;
  /** connections the real servers' kernels opened from a SYN (Tcp PassiveOpens): exact */
  passiveOpensAtRealServers: number;
  flood: { sent: number; offeredPps: number; absorbedPps: number };
  syncookiesSent: number;
  nodeCpuPct: Record<string, number>;
}

/** The figures from the raw counts. Cookies answer legitimate SYNs too: those are taken off. */
export function summarize(raw: {
  seconds: number;
  attempted: number;
  failed: number;
  synsAtRealServers: number;
  synsMissedByCapture: number;
  passiveOpensAtRealServers: number;
  hpingSent: number;
  cookiesSent: number;
  cpuTicks: Record<string, number>;
  ticksPerSecond: number;
}): SynfloodResult {
  const s = raw.seconds;
  const cpu: Record<string, number> = {};
  for (const [n, t] of Object.entries(raw.cpuTicks)) {
    cpu[n] = Math.round(t / raw.ticksPerSecond / s * 1000) / 10;
  }
  return {
    seconds: s,
    legit: {
      attempted: raw.attempted,
      failed: raw.failed,
      succeededPct: raw.attempted === 0
        ? 0
        : Math.round((raw.attempted - raw.failed) / raw.attempted * 1000) / 10,
    },
    synsAtRealServers: raw.synsAtRealServers,
    synsMissedByCapture: raw.synsMissedByCapture,
    passiveOpensAtRealServers: raw.passiveOpensAtRealServers,
    flood: {
      sent: raw.hpingSent,
      offeredPps: Math.round(raw.hpingSent / s),
      absorbedPps: Math.round(Math.max(0, raw.cookiesSent - raw.attempted) / s),
    },
    syncookiesSent: raw.cookiesSent,
    nodeCpuPct: cpu,
  };
}

/** A plain-text report. */
export function formatSynflood(r: SynfloodResult): string {
  return [
    `seconds                      ${r.seconds}`,
    `legitimate connections       ${r.legit.attempted - r.legit.failed} of ${r.legit.attempted} ` +
    `(${r.legit.succeededPct}%)`,
    `SYNs at the real servers     ${r.synsAtRealServers} (tcpdump; ${r.synsMissedByCapture} ` +
    `dropped by the capture), ${r.passiveOpensAtRealServers} passive opens (kernel)`,
    `flood offered (hping3)       ${r.flood.offeredPps} SYN/s (${r.flood.sent} sent)`,
    `flood absorbed (syncookies)  ${r.flood.absorbedPps} SYN/s`,
    `node CPU (% of one core)     ${
      Object.entries(r.nodeCpuPct).map(([n, c]) => `${n} ${c}`).join(", ")
    }`,
  ].join("\n");
}

const ROOT = new URL("../..", import.meta.url).pathname;
const dec = new TextDecoder();

async function output(cmd: string, args: string[]): Promise<string> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!o.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(o.stderr).trim()}`);
  return dec.decode(o.stdout);
}

async function deno(args: string[], quiet: boolean): Promise<{ ok: boolean; stdout: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: quiet ? "piped" : "inherit",
  }).output();
  return { ok: o.success, stdout: dec.decode(o.stdout) };
}

async function nodeTicks(node: string): Promise<number> {
  const pids = (await output("ip", ["netns", "pids", `${PREFIX}${node}`])).split(/\s+/)
    .filter(Boolean);
  let t = 0;
  for (const p of pids) {
    t += await Deno.readTextFile(`/proc/${p}/stat`).then(statTicks).catch(() => 0);
  }
  return t;
}

async function cookiesSent(node: string): Promise<number> {
  const socket = `/run/lvs-lab/${PREFIX}/${PREFIX}${node}/agent/agent.sock`;
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch("http://agent/v1/status", {
      client,
      signal: AbortSignal.timeout(3000),
    });
    const s = await res.json() as { counters?: { synCookies?: { sent?: number } } };
    return s.counters?.synCookies?.sent ?? 0;
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const json = args.includes("--json");
  const num = (f: string, d: number) => (args.includes(f) ? Number(args[args.indexOf(f) + 1]) : d);
  const seconds = num("--seconds", 20);
  const rate = num("--rate", 50);
  const log = (m: string) => console.error(`synflood-lab: ${m}`);
  const file = await Deno.makeTempFile({ prefix: "lvs-synflood-", suffix: ".yaml" });
  await Deno.writeTextFile(file, synproxyClusterFile(await Deno.readTextFile(LAB_CLUSTER_FILE)));
  let code = 1;
  try {
    log("lab up");
    if (!(await deno(["run", "-A", "cluster/lab/main.ts", "up"], json)).ok) {
      throw new Error("lab up failed");
    }
    log(`deploying SYNPROXY on ${VIP}`);
    const d = parseDeployOutput(
      (await deno(["run", "-A", "cluster/lvsctl.ts", "deploy", "--cluster", file, "--json"], true))
        .stdout,
    );
    if (!d.ok) throw new Error(`deploy failed: ${JSON.stringify(d.nodes)}`);
    const defaultRoute = (ns: string) =>
      output("ip", ["netns", "exec", `${PREFIX}${ns}`, "ip", "route", "show", "default"]);
    const escape = floodEscape(
      await defaultRoute("client"),
      await defaultRoute("router"),
      ROUTER_CLIENT_SIDE,
    );
    if (escape !== null) throw new Error(`The flood could leave the lab: ${escape}`);
    const dumps = REAL_SERVERS.map((rs) =>
      new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          `${PREFIX}${rs}`,
          "tcpdump",
          "-i",
          "any",
          "-n",
          "-l",
          "-q",
          "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn()
    );
    const opens = () =>
      Promise.all(
        REAL_SERVERS.map(async (rs) =>
          passiveOpens(
            await output("ip", ["netns", "exec", `${PREFIX}${rs}`, "cat", "/proc/net/snmp"]),
          )
        ),
      ).then((v) => v.reduce((a, b) => a + b, 0));
    await new Promise((r) => setTimeout(r, 1000)); // tcpdump attached
    const ticks0 = Object.fromEntries(
      await Promise.all(NODES.map(async (n) => [n, await nodeTicks(n)])),
    );
    const cookies0 = await Promise.all(NODES.map(cookiesSent));
    const opens0 = await opens();
    log(`${seconds} s: hping3 flood + ${rate} new connections/s`);
    const hping = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        `${PREFIX}client`,
        "timeout",
        "-s",
        "INT",
        String(seconds),
        "hping3",
        "--flood",
        "--rand-source",
        "-S",
        "-p",
        "80",
        VIP,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const load = await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        `${PREFIX}client`,
        Deno.execPath(),
        "run",
        "-A",
        `${ROOT}cluster/lab/load_client.ts`,
        "--target",
        `${VIP}:80`,
        "--long",
        "0",
        "--rate",
        String(rate),
        "--seconds",
        String(seconds),
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const h = await hping.output();
    const ticks1 = Object.fromEntries(
      await Promise.all(NODES.map(async (n) => [n, await nodeTicks(n)])),
    );
    const cookies1 = await Promise.all(NODES.map(cookiesSent));
    await new Promise((r) => setTimeout(r, 1000));
    const opens1 = await opens();
    let syns = 0, missed = 0;
    for (const p of dumps) {
      p.kill("SIGINT");
      const o = await p.output();
      syns += countPacketLines(dec.decode(o.stdout));
      missed += capturedDropped(dec.decode(o.stderr));
    }
    const summary = JSON.parse(dec.decode(load.stdout).trim().split("\n").at(-1) ?? "{}") as {
      new?: { attempted: number; failed: number };
    };
    const result = summarize({
      seconds,
      attempted: summary.new?.attempted ?? 0,
      failed: summary.new?.failed ?? 0,
      synsAtRealServers: syns,
      synsMissedByCapture: missed,
      passiveOpensAtRealServers: opens1 - opens0,
      hpingSent: parseHping(dec.decode(h.stdout) + dec.decode(h.stderr)).transmitted,
      cookiesSent: cookies1.reduce((a, c, i) => a + c - cookies0[i]!, 0),
      cpuTicks: Object.fromEntries(NODES.map((n) => [n, ticks1[n]! - ticks0[n]!])),
      ticksPerSecond: Number(await output("getconf", ["CLK_TCK"])),
    });
    if (json) console.log(JSON.stringify(result));
    else console.log(formatSynflood(result));
    code = 0;
  } finally {
    if (!args.includes("--keep")) {
      log("lab down");
      await deno(["run", "-A", "cluster/lab/main.ts", "down"], true);
    }
    await Deno.remove(file);
  }
  Deno.exit(code);
}
