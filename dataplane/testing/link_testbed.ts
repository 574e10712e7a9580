/**
 * The real thing on a link, for the live port tests (`af_packet_test.ts`, `af_xdp_test.ts`): the
 * data plane with a worker thread on a DPDK virtual device over a veth,
 * a kernel TCP client and the lab's HTTP real server in network namespaces on one bridge
 * (one-arm). Requests to the VIP succeed; the real server sees a LIP:lport as its peer and the
 * client's own address and port in TOA; ARP for the VIP is answered by the data plane.
 *
 * Runs as root (network namespaces); everything it creates is removed in `finally`.
 */
import assert from "node:assert/strict";
import { DataPlane } from "../binding/dataplane.ts";
import { pollUntil } from "../../routing/poll.ts";

let P = "";
let NS = { sw: "", client: "", rs: "" };
let DP_IF = "";
const NET = {
  client: "10.91.0.10",
  rs: "10.91.0.20",
  port: "10.91.0.2",
  lip: "10.91.0.100",
  vip: "10.91.100.1",
};
const ROOT = new URL("../..", import.meta.url).pathname;

async function sh(cmd: string[], check = true): Promise<string> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (check && !out.success) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}
const inNs = (ns: string, cmd: string[]) => sh(["ip", "netns", "exec", ns, ...cmd]);

async function teardown(): Promise<void> {
  for (const ns of Object.values(NS)) {
    const pids = (await sh(["ip", "netns", "pids", ns], false)).split(/\s+/).filter(Boolean);
    for (const pid of pids) await sh(["kill", "-9", pid], false);
    await sh(["ip", "netns", "del", ns], false);
  }
  await sh(["ip", "link", "del", DP_IF], false);
}

async function setup(): Promise<void> {
  await teardown();
  for (const ns of Object.values(NS)) await sh(["ip", "netns", "add", ns]);
  await inNs(NS.sw, ["ip", "link", "add", "br0", "type", "bridge"]);
  await inNs(NS.sw, ["ip", "link", "set", "br0", "up"]);
  // The data plane's port stays in this (the test's) namespace: af_packet binds here.
  await sh(["ip", "link", "add", DP_IF, "type", "veth", "peer", "name", "dp", "netns", NS.sw]);
  for (const [ns, name] of [[NS.client, "c"], [NS.rs, "rs"]] as const) {
    await sh([
      "ip",
      "link",
      "add",
      `${P}${name}`,
      "type",
      "veth",
      "peer",
      "name",
      name,
      "netns",
      NS.sw,
    ]);
    await sh(["ip", "link", "set", `${P}${name}`, "netns", ns, "name", "eth0"]);
  }
  for (const port of ["dp", "c", "rs"]) {
    await inNs(NS.sw, ["ip", "link", "set", port, "master", "br0"]);
    await inNs(NS.sw, ["ip", "link", "set", port, "up"]);
  }
  await sh(["ip", "link", "set", DP_IF, "up"]);
  // Kernel checksum offload would leave partial checksums in frames a packet socket sees.
  await sh(["ethtool", "-K", DP_IF, "tx", "off", "rx", "off"], false);
  for (const [ns, addr] of [[NS.client, NET.client], [NS.rs, NET.rs]] as const) {
    await inNs(ns, ["ip", "link", "set", "lo", "up"]);
    await inNs(ns, ["ip", "addr", "add", `${addr}/24`, "dev", "eth0"]);
    await inNs(ns, ["ip", "link", "set", "eth0", "up"]);
    await inNs(ns, ["ethtool", "-K", "eth0", "tx", "off"]);
  }
  // The client reaches the VIP through the data plane's port (an upstream router's job in the lab).
  await inNs(NS.client, ["ip", "route", "add", `${NET.vip}/32`, "via", NET.lip]);
}

/** The XDP filter the data plane's AF_XDP port runs with `xdp_prog=` (`make -C dataplane`). */
const XDP_PROG = `${ROOT}dataplane/build/fnat_xdp.o`;

/** Three ICMP echoes to argv[1] (the image has no ping): prints "<n> replies". */
const PING = `
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
n = 0
for seq in range(3):
    h = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + b"fnat-ping"
    h = h[:2] + struct.pack("!H", csum(h + b"\\0")) + h[4:]
    s.sendto(h, (sys.argv[1], 0))
    try:
        while True:
            r, a = s.recvfrom(2048)
            t, _, _, i, q = struct.unpack("!BBHHH", r[20:28])
            if a[0] == sys.argv[1] and t == 0 and i == 0x4242 and q == seq:
                n += 1
                break
    except socket.timeout:
        pass
print(n, "replies")
`;

/** The id of the XDP program on `iface` (`ip link` shows "prog/xdp id N"), "" when none. */
async function xdpProgId(iface: string): Promise<string> {
  const out = await sh(["ip", "-d", "link", "show", "dev", iface]);
  return /prog\/xdp id (\d+)/.exec(out)?.[1] ?? "";
}

/** The kernel's side of the port (XDP filter only): the node's own address answers ping and
 * TCP from the kernel while the data plane takes the VIP's traffic. */
async function checkKernelPath(): Promise<void> {
  await sh(["ip", "addr", "add", `${NET.port}/24`, "dev", DP_IF]);
  const server = new Deno.Command("python3", {
    args: ["-m", "http.server", "--bind", NET.port, "18080"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const ping = await inNs(NS.client, ["python3", "-c", PING, NET.port]);
    assert.equal(ping.trim(), "3 replies", `ping to the node's own address: ${ping}`);
    let body = "";
    for (let i = 0; i < 50 && !body; i++) {
      body = await inNs(NS.client, [
        "curl",
        "-sS",
        "--max-time",
        "3",
        `http://${NET.port}:18080/`,
      ]).catch(() => "");
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(body, /Directory listing/, "TCP to the node's own address reaches the kernel");
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
}

/**
 * Registers the test for one PMD; `prefix` names this run's namespaces (max 5 characters).
 * `xdpFilter` (net_af_xdp only): the port runs the data plane's XDP filter, and the test also
 * checks that the kernel keeps the node's own traffic on the same port.
 */
export function linkTest(
  pmd: "net_af_packet" | "net_af_xdp",
  prefix: string,
  opts: { xdpFilter?: boolean } = {},
): void {
  P = `${prefix}${Deno.pid % 10000}`;
  NS = { sw: `${P}-sw`, client: `${P}-c`, rs: `${P}-rs` };
  DP_IF = `${P}dp`;
  const vdev = pmd === "net_af_packet"
    ? `net_af_packet0,iface=${DP_IF},qpairs=1`
    : `net_af_xdp0,iface=${DP_IF},start_queue=0,queue_count=1` +
      (opts.xdpFilter ? `,xdp_prog=${XDP_PROG}` : "");
  const what = opts.xdpFilter ? `${pmd} with the XDP filter` : pmd;
  Deno.test({
    name: `requests to the VIP through ${what} reach the real server with TOA and come back`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      await setup();
      let rs: Deno.ChildProcess | undefined;
      let dp: DataPlane | undefined;
      try {
        rs = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            NS.rs,
            Deno.execPath(),
            "run",
            "-A",
            `${ROOT}cluster/lab/realserver/main.ts`,
            "--name",
            "rs1",
            "--listen",
            `${NET.rs}:80`,
            "--iface",
            "eth0",
          ],
          stdout: "null",
          stderr: "inherit",
        }).spawn();
        let staleId = "";
        if (opts.xdpFilter) {
          // A data plane killed with SIGKILL leaves its filter on the interface; the next one
          // must take the port all the same (fnat_create removes our stale program).
          await sh(["ip", "link", "set", "dev", DP_IF, "xdpdrv", "obj", XDP_PROG, "sec", "xdp"]);
          staleId = await xdpProgId(DP_IF);
          assert.notEqual(staleId, "", "the stale filter is on the interface");
        }
        DataPlane.initEal({
          lcores: "0,1",
          noHuge: true,
          noPci: true,
          memoryMb: 256,
          vdevs: [vdev],
        });
        dp = DataPlane.create({
          ports: [0],
          workers: 1,
          portAddresses: [`${NET.port}/24`],
          sessionsPerWorker: 65536,
        });
        if (opts.xdpFilter) {
          const id = await xdpProgId(DP_IF);
          assert.ok(id !== "" && id !== staleId, `a fresh filter replaced the stale one (${id})`);
        }
        dp.apply({
          localAddresses: [NET.lip],
          services: [{
            vip: NET.vip,
            port: 80,
            protocol: "tcp",
            scheduler: "rr",
            reals: [{ address: NET.rs, port: 80, weight: 1 }],
          }],
        });
        dp.start();
        // Wait for the real server to listen.
        await pollUntil(
          async () => {
            const ok = await inNs(NS.rs, ["sh", "-c", "ss -ltn | grep -c ':80 '"]).catch(() => "0");
            return Number(ok.trim()) > 0 || null;
          },
          10_000,
          100,
        );
        const seen: { peer: string; toa: string }[] = [];
        for (let i = 0; i < 5; i++) {
          const body = await inNs(NS.client, [
            "curl",
            "-sS",
            "--max-time",
            "10",
            "--local-port",
            String(41000 + i),
            `http://${NET.vip}/whoami`,
          ]);
          const who = JSON.parse(body);
          seen.push({
            peer: who.peer.address,
            toa: who.toa ? `${who.toa.address}:${who.toa.port}` : "none",
          });
          assert.equal(who.server, "rs1");
          assert.equal(who.peer.address, NET.lip, "the real server's peer is the LIP");
          assert.deepEqual(
            who.toa,
            { address: NET.client, port: 41000 + i },
            "TOA carries the client",
          );
        }
        const stats = dp.stats();
        assert.ok(
          stats.workers[0]!.toaInserted >= 5,
          `TOA inserted: ${stats.workers[0]!.toaInserted}`,
        );
        assert.ok(stats.workers[0]!.arpReplies >= 1, "the client's ARP for the LIP was answered");
        assert.deepEqual(
          Object.keys(stats.drops).filter((d) => !["neigh_unresolved", "no_session"].includes(d)),
          [],
          `no malformed drops: ${JSON.stringify(stats.drops)}`,
        );
        if (opts.xdpFilter) {
          const ignoredBefore = dp.stats().workers[0]!.ignored;
          await checkKernelPath();
          // The kernel's frames never reached the data plane (af_packet would count them).
          assert.equal(
            dp.stats().workers[0]!.ignored,
            ignoredBefore,
            "the data plane saw none of the kernel's frames",
          );
          // Requests through the VIP still work with the kernel using the port too.
          const who = JSON.parse(
            await inNs(NS.client, ["curl", "-sS", "--max-time", "10", `http://${NET.vip}/whoami`]),
          );
          assert.equal(who.peer.address, NET.lip);
        }
      } finally {
        try {
          dp?.stop();
        } catch {
          // already stopped
        }
        rs?.kill("SIGKILL");
        await rs?.status;
        await teardown();
      }
    },
  });
}
