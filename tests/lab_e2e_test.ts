/**
 * The lab end to end, as `deno task lab up` builds it: a client, an upstream router (OSPF, ECMP),
 * 3 nodes (sshd, lvs-agent with the DPDK data plane on AF_XDP, or af_packet with
 * LVS_LAB_PORT=af_packet, BIRD) and 3 HTTP real servers
 * in network namespaces; `fixtures/lab.yaml` deployed over SSH. Runs as root; the lab is removed
 * in `finally`, also when a step fails.
 */
import assert from "node:assert/strict";
import { LAB_CLUSTER_FILE, type RunningLab, startLab } from "../cluster/lab/cluster.ts";
import { labDashboardStatus, startLabDashboard } from "../cluster/lab/dashboard.ts";
import { processAlive } from "../cluster/lab/netns.ts";
import { startLabRealServer } from "../cluster/lab/nodes.ts";
import { drainNode, fleetStatuses, undrainNode } from "../cluster/transport/endpoint.ts";
import { runCli } from "../cluster/lvsctl.ts";
import { SshTransport } from "../cluster/transport/ssh_transport.ts";
import type { AgentStatus } from "../dataplane/agent/api.ts";
import { buildRelease } from "../cluster/ops/release.ts";
import { writeManifest } from "../cluster/ops/release_manifest.ts";
import { RolloutHaltedError, startRollout } from "../cluster/ops/rollout.ts";
import { pollUntil } from "../routing/poll.ts";

const isRoot = Deno.uid() === 0;

function until<T>(what: string, fn: () => Promise<T | null>, ms = 30_000): Promise<T> {
  return pollUntil(() => fn().catch(() => null), { timeoutMs: ms, everyMs: 200, what });
}

/** `n` requests from the client, each on a new connection; the /whoami answers. */
interface WhoAmI {
  failed?: boolean;
  error?: string;
  server: string;
  peer: { address: string; port: number };
  toa: { address: string; port: number } | null;
}

async function whoami(lab: RunningLab, n: number): Promise<WhoAmI[]> {
  const vip = lab.cluster.vips[0]!.address;
  const out = await lab.client([
    "sh",
    "-c",
    `for i in $(seq ${n}); do o=$(curl -sS --max-time 3 http://${vip}/whoami 2>&1) || o="curl exit $?: $o"; echo "$o"; done`,
  ]);
  // One line per request: the real server's JSON, or what curl said when it failed.
  return out.trim().split("\n").filter((l) => l !== "").map((l) => {
    try {
      return JSON.parse(l) as WhoAmI;
    } catch {
      return { failed: true, error: l, server: "", peer: { address: "", port: 0 }, toa: null };
    }
  });
}

async function statuses(lab: RunningLab): Promise<AgentStatus[]> {
  const m = await fleetStatuses(lab.transport, lab.cluster.nodes);
  return [...m.values()].map((s) => {
    if (s instanceof Error) throw s;
    return s;
  });
}

Deno.test({
  name:
    "lab: deploy, traffic with TOA over 3 nodes and 3 real servers, health, drain, SSH refusals",
  ignore: !isRoot,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const lab = await startLab();
    let dashboardPid: number | null = null;
    try {
      await t.step("deploy gives every node the same hash and the router 3 next hops", async () => {
        assert.equal(lab.deployed.ok, true);
        const hashes = new Set((await statuses(lab)).map((s) => s.config?.hash));
        assert.deepEqual([...hashes], [lab.deployed.hash]);
        assert.deepEqual(await lab.nextHops(), ["node1", "node2", "node3"]);
      });

      await t.step(
        "the lab's dashboard runs in the background with its own token (as lab up leaves it)",
        async () => {
          const listen = "127.0.0.1:18089";
          const d = await startLabDashboard(lab.model.stateDir, LAB_CLUSTER_FILE, listen);
          dashboardPid = d.pid;
          assert.equal(d.running, true);
          assert.ok(d.token && d.token.length >= 32, "a fresh operator token");
          assert.equal((await Deno.stat(d.tokenFile)).mode! & 0o777, 0o600);
          assert.ok((await Deno.stat(d.releases)).isDirectory, "its releases directory");
          const res = await fetch(`${d.url}api/fleet`, {
            headers: { authorization: `Bearer ${d.token}` },
          });
          assert.equal(res.status, 200);
          const fleet = await res.json() as { nodes: { name: string }[] };
          assert.deepEqual(fleet.nodes.map((n) => n.name), ["node1", "node2", "node3"]);
          const anon = await fetch(`${d.url}api/fleet`, { method: "POST" });
          await anon.body?.cancel();
          assert.notEqual(anon.status, 200, "no action without the token");
          assert.equal((await labDashboardStatus(lab.model.stateDir, listen)).running, true);
        },
      );

      await t.step(
        "200 requests succeed, spread over every node and real server, with TOA",
        async () => {
          const answers = await whoami(lab, 200);
          assert.equal(answers.filter((a) => a.failed).length, 0, "no request failed");
          const lips = new Map(lab.cluster.nodes.flatMap((n) => n.lips.map((l) => [l, n.name])));
          const nodes = new Set(answers.map((a) => lips.get(a.peer.address)));
          const servers = new Set(answers.map((a) => a.server));
          assert.deepEqual([...nodes].sort(), ["node1", "node2", "node3"], "every node forwards");
          assert.deepEqual([...servers].sort(), ["rs1", "rs2", "rs3"], "every real server serves");
          const client = lab.model.client.address.split("/")[0];
          assert.ok(
            answers.every((a) => a.toa?.address === client),
            `TOA carries the client ${client}: ${
              JSON.stringify(answers.find((a) => a.toa?.address !== client))
            }`,
          );
        },
      );

      await t.step(
        "a killed real server is marked down, gets nothing, and comes back",
        async () => {
          const rs = lab.model.realServers[0]!;
          const key = `${lab.cluster.vips[0]!.address}:80/tcp/${rs.address.split("/")[0]}:80`;
          await new Deno.Command("ip", { args: ["netns", "pids", rs.namespace], stdout: "piped" })
            .output().then(async (o) => {
              for (const pid of new TextDecoder().decode(o.stdout).split(/\s+/).filter(Boolean)) {
                await new Deno.Command("kill", { args: ["-9", pid] }).output();
              }
            });
          await until("every node to mark rs1 down", async () => {
            const s = await statuses(lab);
            return s.every((x) => x.health.find((h) => h.key === key)?.up === false) ? true : null;
          });
          const answers = await whoami(lab, 30);
          assert.equal(answers.filter((a) => a.failed).length, 0);
          assert.ok(
            answers.every((a) => a.server !== rs.name),
            "no new connection to the dead one",
          );
          await startLabRealServer(lab.model, rs.name);
          await until("every node to mark rs1 up again", async () => {
            const s = await statuses(lab);
            return s.every((x) => x.health.find((h) => h.key === key)?.up === true) ? true : null;
          });
          const again = await whoami(lab, 60);
          assert.ok(again.some((a) => a.server === rs.name), "rs1 serves again");
        },
      );

      await t.step("drain and undrain change the router's next hops", async () => {
        const node1 = lab.cluster.nodes[0]!;
        await drainNode(lab.transport, node1);
        await until(
          "2 next hops",
          async () => (await lab.nextHops()).join() === "node2,node3" ? true : null,
        );
        const during = await whoami(lab, 20);
        assert.equal(
          during.filter((a) => a.failed).length,
          0,
          "requests keep working while drained",
        );
        await undrainNode(lab.transport, node1);
        await until("3 next hops", async () => (await lab.nextHops()).length === 3 ? true : null);
      });

      await t.step("an unknown SSH host key is refused and that node is not touched", async () => {
        const before = (await statuses(lab))[0]!.config?.appliedAt;
        const file = await Deno.makeTempFile({ suffix: ".yaml" });
        try {
          const text = (await Deno.readTextFile(lab.clusterFile)).replace(
            "knownHosts: /run/lvs-lab/lvl-/ssh/known_hosts",
            "hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx8m1Yx3J1l5c8yB4tY1sQ6M2c9kQyU4Dq0n0d9Zr1X",
          );
          await Deno.writeTextFile(file, text);
          const err: string[] = [];
          const code = await runCli(["deploy", "--cluster", file], {
            io: { out: () => {}, err: (s) => err.push(s) },
            transport: () => new SshTransport({ timeoutMs: 10_000 }),
          });
          assert.equal(code, 1);
          assert.match(err.join("\n"), /node1.*host key/i);
          assert.equal((await statuses(lab))[0]!.config?.appliedAt, before, "node1 unchanged");
        } finally {
          await Deno.remove(file);
        }
      });

      await t.step("an invalid cluster file changes nothing on any node", async () => {
        const before = (await statuses(lab)).map((s) => s.config?.appliedAt);
        const file = await Deno.makeTempFile({ suffix: ".yaml" });
        try {
          const text = (await Deno.readTextFile(lab.clusterFile)).replace(
            "weight: 1",
            "weight: 99999",
          );
          await Deno.writeTextFile(file, text);
          const err: string[] = [];
          const code = await runCli(["deploy", "--cluster", file], {
            io: { out: () => {}, err: (s) => err.push(s) },
            transport: () => new SshTransport(),
          });
          assert.equal(code, 2);
          assert.match(err.join("\n"), /weight/);
          assert.deepEqual((await statuses(lab)).map((s) => s.config?.appliedAt), before);
        } finally {
          await Deno.remove(file);
        }
      });

      const dir = await Deno.makeTempDir({ prefix: "lvs-e2e-" });
      try {
        await t.step(
          "a rolling upgrade moves every node to a new release under client load",
          async () => {
            const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
            const rel = await buildRelease({
              repo,
              version: "0.9.0-e2e",
              out: `${dir}/good.tar.gz`,
            });
            const load = lab.startLoad(20);
            const t0 = Date.now();
            const state = await startRollout(
              { cluster: lab.cluster, transport: lab.transport, stateDir: `${dir}/state` },
              { release: rel.path },
            );
            const ms = Date.now() - t0;
            const { ok, failed } = await load.stop();
            console.log(
              `rolling upgrade of 3 nodes: ${ms} ms; client requests ok ${ok}, failed ${failed}`,
            );
            assert.equal(state.status, "completed");
            const s = await statuses(lab);
            assert.deepEqual(s.map((x) => x.release), ["0.9.0-e2e", "0.9.0-e2e", "0.9.0-e2e"]);
            assert.deepEqual(s.map((x) => x.drained), [false, false, false]);
            assert.ok(ok > 0, "the client was served during the upgrade");
            assert.deepEqual(await lab.nextHops(), ["node1", "node2", "node3"]);
          },
        );

        await t.step(
          "a release that fails its health gate halts with that node drained",
          async () => {
            // The same tree, but its agent cannot start: the node never passes the gate.
            const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
            await buildRelease({ repo, version: "1.0.0-broken", out: `${dir}/b.tar.gz` });
            await Deno.mkdir(`${dir}/b`);
            const sh = (cmd: string) => new Deno.Command("sh", { args: ["-c", cmd] }).output();
            await sh(
              `tar -xzf ${dir}/b.tar.gz -C ${dir}/b && printf 'Deno.exit(3);\\n' > ${dir}/b/dataplane/agent/main.ts && tar -C ${dir}/b -czf ${dir}/broken.tar.gz .`,
            );
            // A release build records its sha256; so does this hand-made one.
            await writeManifest(`${dir}/broken.tar.gz`);
            const cluster = {
              ...lab.cluster,
              rollout: { ...lab.cluster.rollout, healthGateTimeout: 10 },
            };
            const load = lab.startLoad(20);
            await assert.rejects(
              () =>
                startRollout(
                  { cluster, transport: lab.transport, stateDir: `${dir}/state2` },
                  { release: `${dir}/broken.tar.gz` },
                ),
              (e: Error) =>
                e instanceof RolloutHaltedError && e.state.nodes[0]!.step === "failed" &&
                e.state.nodes[1]!.step === "pending",
            );
            await until(
              "node1 out of the router's next hops",
              async () => (await lab.nextHops()).join() === "node2,node3" ? true : null,
            );
            const { failed } = await load.stop();
            const after = await whoami(lab, 30);
            assert.deepEqual(
              after.filter((a) => a.failed).map((a) => a.error),
              [],
              "the other nodes serve",
            );
            console.log(`halted rollout: ${failed} client requests failed while node1 went down`);
          },
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      await lab.close();
    }
    if (dashboardPid !== null) {
      assert.equal(processAlive(dashboardPid), false, "lab down stops the lab's dashboard");
    }
  },
});
