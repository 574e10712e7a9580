/**
 * Integration: SshTransport against a real OpenSSH sshd in its own network namespace, reached
 * from the root namespace over a veth pair, with a Deno HTTP server on a Unix socket standing in
 * for the agent's control socket. Needs root. Everything is removed in `finally`.
 */
import assert from "node:assert/strict";
import { SshTransport } from "../cluster/transport/ssh_transport.ts";
import { transportConformance } from "../cluster/transport/transport_conformance.ts";
import { type NodeEndpoint, TransportError } from "../cluster/transport/transport.ts";
import { must, namespacePids, processAlive, RealHost, signal } from "../cluster/lab/netns.ts";
import { pollUntil } from "../routing/poll.ts";

const IS_ROOT = Deno.uid() === 0;
const host = new RealHost();

const AGENT =
  new URL("../cluster/transport/transport_conformance_agent.ts", import.meta.url).pathname;

interface Lab {
  ns: string;
  vethRoot: string;
  dir: string;
  nsAddr: string;
  blackhole: string;
  port: number;
  sshd: Deno.ChildProcess | null;
  stub: Deno.ChildProcess | null;
  sshdLog: string;
  node: NodeEndpoint;
  hostPub: string;
}

function labAddresses(): { rootAddr: string; nsAddr: string; blackhole: string } {
  const r = crypto.getRandomValues(new Uint8Array(2));
  const base = (r[1]! & 63) * 4;
  const net = `10.251.${r[0]}`;
  return {
    rootAddr: `${net}.${base + 1}`,
    nsAddr: `${net}.${base + 2}`,
    blackhole: `10.252.${r[0]}.${base + 1}`,
  };
}

async function sshKeygen(path: string, type = "ed25519"): Promise<void> {
  await must(host, ["ssh-keygen", "-q", "-t", type, "-N", "", "-C", "lhc", "-f", path]);
}

async function fingerprint(pubFile: string): Promise<string> {
  const out = await must(host, ["ssh-keygen", "-lf", pubFile]);
  return out.split(" ")[1]!;
}

/** Starts argv with stdout and stderr appended to `logFile` (kept for failure diagnosis). */
function spawn(argv: string[], logFile: string): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1', "sh", logFile, ...argv],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Random bytes of any length (getRandomValues gives at most 64 KiB per call). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

async function setUp(): Promise<Lab> {
  const id = crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16).padStart(4, "0");
  const ns = `lhc${id}`;
  const { rootAddr, nsAddr, blackhole } = labAddresses();
  const dir = await Deno.makeTempDir({ prefix: "lhc-ssh-" });
  const lab: Lab = {
    ns,
    vethRoot: `lhc${id}r`,
    dir,
    nsAddr,
    blackhole,
    port: 20000 + (Number.parseInt(id, 16) % 20000),
    sshd: null,
    stub: null,
    sshdLog: `${dir}/sshd.log`,
    node: {} as NodeEndpoint,
    hostPub: "",
  };
  try {
    await must(host, ["ip", "netns", "add", ns]);
    await must(host, [
      "ip",
      "link",
      "add",
      lab.vethRoot,
      "type",
      "veth",
      "peer",
      "name",
      `lhc${id}n`,
    ]);
    await must(host, ["ip", "link", "set", `lhc${id}n`, "netns", ns]);
    await must(host, ["ip", "addr", "add", `${rootAddr}/30`, "dev", lab.vethRoot]);
    await must(host, ["ip", "link", "set", lab.vethRoot, "up"]);
    // An address routed onto the link that nobody owns: ARP goes unanswered (a dead node).
    await must(host, ["ip", "route", "add", `${blackhole}/32`, "dev", lab.vethRoot]);
    const inNs = ["ip", "netns", "exec", ns];
    await must(host, [...inNs, "ip", "addr", "add", `${nsAddr}/30`, "dev", `lhc${id}n`]);
    await must(host, [...inNs, "ip", "link", "set", `lhc${id}n`, "up"]);
    await must(host, [...inNs, "ip", "link", "set", "lo", "up"]);

    await sshKeygen(`${dir}/host_ed25519`);
    await sshKeygen(`${dir}/host_ecdsa`, "ecdsa");
    await sshKeygen(`${dir}/host_rsa`, "rsa");
    await sshKeygen(`${dir}/other_host_ed25519`);
    await sshKeygen(`${dir}/client`);
    await sshKeygen(`${dir}/stranger`);
    await Deno.copyFile(`${dir}/client.pub`, `${dir}/authorized_keys`);
    await Deno.mkdir("/run/sshd", { recursive: true });
    await Deno.writeTextFile(
      `${dir}/sshd_config`,
      [
        `ListenAddress ${nsAddr}:${lab.port}`,
        `HostKey ${dir}/host_ed25519`,
        `HostKey ${dir}/host_ecdsa`,
        `HostKey ${dir}/host_rsa`,
        `PidFile ${dir}/sshd.pid`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AllowStreamLocalForwarding yes",
        "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    lab.sshd = spawn(
      [...inNs, "/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/sshd_config`],
      lab.sshdLog,
    );
    const sock = `${dir}/agent.sock`;
    // The agent stand-in: the conformance contract served on a Unix socket.
    lab.stub = spawn(
      [...inNs, Deno.execPath(), "run", "-A", "--no-config", "--no-lock", AGENT, sock],
      `${dir}/stub.log`,
    );
    const ready = await pollUntil(async () => {
      try {
        (await Deno.connect({ hostname: nsAddr, port: lab.port })).close();
        await Deno.stat(sock);
        return true;
      } catch {
        return null;
      }
    }, 15_000);
    assert.ok(ready, `sshd or the agent stub did not come up:\n${await logs(lab)}`);
    lab.hostPub = (await Deno.readTextFile(`${dir}/host_ed25519.pub`)).trim();
    lab.node = {
      name: "node-lhc",
      host: nsAddr,
      port: lab.port,
      user: "root",
      keyFile: `${dir}/client`,
      hostKey: lab.hostPub,
      agentSocket: sock,
    };
    return lab;
  } catch (e) {
    await tearDown(lab);
    throw e;
  }
}

async function logs(lab: Lab): Promise<string> {
  const read = (f: string) => Deno.readTextFile(f).catch(() => "");
  return `--- sshd\n${await read(lab.sshdLog)}\n--- stub\n${await read(`${lab.dir}/stub.log`)}`;
}

async function tearDown(lab: Lab): Promise<void> {
  for (const child of [lab.sshd, lab.stub]) {
    if (!child) continue;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  // Whatever still runs in the namespace (sshd session children, the stub's deno).
  for (const pid of await namespacePids(host, lab.ns)) signal(pid, "SIGKILL");
  await Promise.all([lab.sshd?.status, lab.stub?.status]);
  await pollUntil(async () => (await namespacePids(host, lab.ns)).length === 0 || null, 5000);
  await host.run(["ip", "link", "del", lab.vethRoot]);
  await host.run(["ip", "netns", "del", lab.ns]);
  await Deno.remove(lab.dir, { recursive: true }).catch(() => {});
}

/** Asserts a rejection is a TransportError of one of `kinds` and returns it. */
async function rejectsWith(
  p: Promise<unknown>,
  kinds: TransportError["kind"][],
): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TransportError, `expected TransportError, got ${e}`);
    assert.ok(
      kinds.includes(e.kind),
      `expected kind ${kinds.join("|")}, got ${e.kind}: ${e.message}`,
    );
    return e;
  }
  assert.fail(`expected a TransportError of kind ${kinds.join("|")}, the call succeeded`);
}

function count(text: string, re: RegExp): number {
  return (text.match(new RegExp(re.source, "g")) ?? []).length;
}

Deno.test({
  name: "SshTransport against a real sshd in a network namespace",
  ignore: !IS_ROOT,
}, async (t) => {
  const lab = await setUp();
  const transport = new SshTransport({ timeoutMs: 10_000 });
  let failed = false;
  const step = async (name: string, fn: (t: Deno.TestContext) => Promise<void>) => {
    if (!(await t.step(name, fn))) failed = true;
  };
  try {
    const node = lab.node;
    const marker = `${lab.dir}/executed`;

    await step("GET /v1/status through stream-local forwarding", async () => {
      const r = await transport.agent(node, "GET", "/v1/status");
      assert.equal(r.status, 200);
      assert.equal((r.body as { version: string }).version, "conformance-1");
    });

    await step("POST with a JSON body is echoed", async () => {
      const r = await transport.agent(node, "POST", "/v1/echo", { vips: ["10.0.0.1:80/tcp"] });
      assert.deepEqual(r, { status: 200, body: { echo: { vips: ["10.0.0.1:80/tcp"] } } });
    });

    await step("a chunked non-2xx answer is decoded and returned", async () => {
      const r = await transport.agent(node, "GET", "/v1/chunked");
      assert.equal(r.status, 503);
      assert.equal((r.body as { parts: string[] }).parts.length, 50);
    });

    await step(
      "a POST past its deadline is not retried and says its outcome is unknown",
      async () => {
        const e = await rejectsWith(
          transport.agent(node, "POST", "/v1/hang", { apply: 1 }, { timeoutMs: 700 }),
          ["timeout"],
        );
        assert.match(e.message, /the request was sent, whether it took effect is unknown/);
      },
    );

    await step("calls reuse one SSH connection", async () => {
      await transport.close();
      const before = count(await Deno.readTextFile(lab.sshdLog), /Accepted publickey/);
      for (let i = 0; i < 5; i++) await transport.agent(node, "GET", "/v1/status");
      await transport.exec(node, ["true"]);
      const after = count(await Deno.readTextFile(lab.sshdLog), /Accepted publickey/);
      assert.equal(after - before, 1, await logs(lab));
    });

    await step("upload writes the file atomically, creating parent directories", async () => {
      const local = `${lab.dir}/release.tar`;
      const data = randomBytes(1_500_000);
      await Deno.writeFile(local, data);
      await Deno.chmod(local, 0o640);
      const remote = `${lab.dir}/remote/releases/1.2.3/release.tar`;
      await transport.upload(node, local, remote);
      assert.deepEqual(await Deno.readFile(remote), data);
      assert.equal((await Deno.stat(remote)).mode! & 0o777, 0o640);
      const left = [...Deno.readDirSync(`${lab.dir}/remote/releases/1.2.3`)].map((e) => e.name);
      assert.deepEqual(left, ["release.tar"], "no temporary file is left behind");
    });

    await step("an upload cut by its deadline leaves no temporary file", async () => {
      const local = `${lab.dir}/big.bin`;
      await Deno.writeFile(local, new Uint8Array(48 * 1024 * 1024));
      const dir = `${lab.dir}/remote/big`;
      await transport.upload(node, `${lab.dir}/client.pub`, `${dir}/small`);
      const r = await transport.upload(node, local, `${dir}/big.bin`, { timeoutMs: 300 })
        .then(() => "done", (e: unknown) => e);
      console.log(`48 MiB upload with a 300 ms deadline: ${r === "done" ? "finished" : "cut"}`);
      if (r !== "done") {
        assert.ok(r instanceof TransportError && r.kind === "timeout", String(r));
        assert.match(r.message, /while uploading|while connecting|while opening/);
      }
      const clean = await pollUntil(() => {
        const names = [...Deno.readDirSync(dir)].map((e) => e.name);
        return names.some((n) => n.includes(".tmp-")) ? null : true;
      }, 5000);
      assert.ok(clean, "a .tmp- file was left behind");
      await Deno.remove(local);
    });

    await step("exec returns stdout, stderr and the exit code", async () => {
      const r = await transport.exec(node, ["sh", "-c", "echo out; echo err >&2; exit 7"]);
      assert.deepEqual(r, { code: 7, stdout: "out\n", stderr: "err\n" });
      const hostile = await transport.exec(node, ["echo", `$(touch ${marker})`, "a;b", "`id`"]);
      assert.equal(hostile.stdout, `$(touch ${marker}) a;b \`id\`\n`);
      await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "argv was interpreted");
    });

    await step("a command past its deadline fails with kind timeout", async () => {
      const e = await rejectsWith(
        transport.exec(node, ["sleep", "30"], { timeoutMs: 800 }),
        ["timeout"],
      );
      assert.match(e.message, /node-lhc.*800 ms \(while running the command\)/);
      // The remote process got SIGTERM rather than running on.
      const sleeping = await pollUntil(async () => {
        const pids = await namespacePids(host, lab.ns);
        const left = pids.filter((pid) => {
          const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
          return cmd.startsWith("sleep 30");
        });
        return left.length === 0 ? true : null;
      }, 5000);
      assert.ok(sleeping, "the timed-out command is still running on the node");
      // The connection is still usable afterwards.
      assert.equal((await transport.exec(node, ["echo", "after"])).stdout, "after\n");
    });

    await step("an unknown host key is refused before anything runs", async () => {
      const kh = `${lab.dir}/known_hosts_empty`;
      await Deno.writeTextFile(kh, `10.9.9.9 ${lab.hostPub}\n`);
      const fresh = new SshTransport();
      try {
        const { hostKey: _, ...rest } = node;
        const e = await rejectsWith(
          fresh.exec({ ...rest, knownHosts: kh }, ["touch", marker]),
          ["hostkey"],
        );
        const fp = await fingerprint(`${lab.dir}/host_ed25519.pub`);
        assert.ok(e.message.includes(fp), e.message);
        assert.ok(e.message.includes(`[${lab.nsAddr}]:${lab.port}`), e.message);
        assert.match(e.message, /has no key for/);
      } finally {
        await fresh.close();
      }
      await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "the command ran");
    });

    await step("a changed host key is refused with both fingerprints", async () => {
      const fresh = new SshTransport();
      try {
        const pinned = (await Deno.readTextFile(`${lab.dir}/other_host_ed25519.pub`)).trim();
        const e = await rejectsWith(
          fresh.exec({ ...node, hostKey: pinned }, ["touch", marker]),
          ["hostkey"],
        );
        assert.ok(e.message.includes(await fingerprint(`${lab.dir}/host_ed25519.pub`)), e.message);
        assert.ok(
          e.message.includes(await fingerprint(`${lab.dir}/other_host_ed25519.pub`)),
          e.message,
        );
        assert.match(e.message, /changed/);
        // A live connection verified against the old pin is not reused for the new one.
        await transport.agent(node, "GET", "/v1/status");
        await rejectsWith(transport.exec({ ...node, hostKey: pinned }, ["touch", marker]), [
          "hostkey",
        ]);
        assert.equal((await transport.agent(node, "GET", "/v1/status")).status, 200);
      } finally {
        await fresh.close();
      }
      await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "the command ran");
    });

    await step("a hashed known_hosts entry for [host]:port is accepted", async () => {
      const kh = `${lab.dir}/known_hosts_hashed`;
      await Deno.writeTextFile(kh, `[${lab.nsAddr}]:${lab.port} ${lab.hostPub}\n`);
      await must(host, ["ssh-keygen", "-H", "-f", kh]);
      assert.match(await Deno.readTextFile(kh), /^\|1\|/);
      const fresh = new SshTransport();
      try {
        const { hostKey: _, ...rest } = node;
        const r = await fresh.agent({ ...rest, knownHosts: kh }, "GET", "/v1/status");
        assert.equal(r.status, 200);
      } finally {
        await fresh.close();
      }
    });

    await step(
      "a pinned ECDSA or RSA key is negotiated even though the node prefers ed25519",
      async () => {
        for (const type of ["ecdsa", "rsa"]) {
          const fresh = new SshTransport();
          try {
            const pinned = (await Deno.readTextFile(`${lab.dir}/host_${type}.pub`)).trim();
            const r = await fresh.exec({ ...node, hostKey: pinned }, ["echo", type]);
            assert.equal(r.stdout, `${type}\n`);
          } finally {
            await fresh.close();
          }
        }
      },
    );

    await step("a client key the node does not know is refused with kind auth", async () => {
      const fresh = new SshTransport();
      try {
        const e = await rejectsWith(
          fresh.exec({ ...node, keyFile: `${lab.dir}/stranger` }, ["touch", marker]),
          ["auth"],
        );
        assert.match(e.message, /stranger/);
      } finally {
        await fresh.close();
      }
      await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "the command ran");
    });

    await step("a missing agent socket fails with kind agent", async () => {
      const e = await rejectsWith(
        transport.agent({ ...node, agentSocket: `${lab.dir}/nope.sock` }, "GET", "/v1/status"),
        ["agent"],
      );
      assert.match(e.message, /nope\.sock/);
    });

    await step("a dropped connection is reopened on the next call", async () => {
      await transport.agent(node, "GET", "/v1/status");
      const main = Number((await Deno.readTextFile(`${lab.dir}/sshd.pid`)).trim());
      const sessions = (await namespacePids(host, lab.ns)).filter((pid) => {
        const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        return pid !== main && cmd.startsWith("sshd");
      });
      assert.ok(sessions.length > 0, "an sshd session process exists");
      for (const pid of sessions) signal(pid, "SIGKILL");
      await pollUntil(() => sessions.some(processAlive) ? null : true, 5000);
      const r = await transport.agent(node, "GET", "/v1/status");
      assert.equal(r.status, 200);
    });

    await step("an unreachable node fails with kind connect or timeout", async () => {
      const fresh = new SshTransport({ backoff: { baseMs: 50, maxMs: 200 } });
      try {
        const dead = { ...node, name: "node-dead", host: lab.blackhole };
        const t0 = performance.now();
        const e = await rejectsWith(
          fresh.agent(dead, "GET", "/v1/status", undefined, { timeoutMs: 1500 }),
          ["connect", "timeout"],
        );
        const ms = performance.now() - t0;
        assert.match(e.message, /node-dead/);
        // Loose sanity bound only (shared machine): the deadline is honoured, not 20 s defaults.
        assert.ok(ms < 1500 + 5000, `took ${ms} ms`);
        console.log(`unreachable node refused after ${ms.toFixed(0)} ms: ${e.kind}: ${e.message}`);
        const refused = await rejectsWith(
          fresh.exec({ ...node, name: "node-closed", port: lab.port + 1 }, ["true"], {
            timeoutMs: 3000,
          }),
          ["connect", "timeout"],
        );
        assert.match(refused.message, /node-closed/);
        // A call that joins another call's connection attempt keeps its own, longer deadline.
        const [short, long] = await Promise.all([
          rejectsWith(fresh.exec(dead, ["true"], { timeoutMs: 400 }), ["connect", "timeout"]),
          rejectsWith(fresh.exec(dead, ["true"], { timeoutMs: 2500 }), ["connect", "timeout"]),
        ]);
        assert.match(short.message, /within (39\d|400) ms/);
        assert.doesNotMatch(long.message, /within (39\d|400) ms/, long.message);
        if (refused.kind === "connect") {
          assert.match(refused.message, /ECONNREFUSED.*\(attempt [2-9]\)/, "retried with backoff");
        }
      } finally {
        await fresh.close();
      }
    });

    await step("concurrency caps calls in flight", async () => {
      const narrow = new SshTransport({ concurrency: 2 });
      try {
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, narrow.load.active)), 5);
        const runs = await Promise.all(
          Array.from({ length: 8 }, () => narrow.exec(node, ["sleep", "0.2"])),
        );
        clearInterval(sampler);
        assert.ok(runs.every((r) => r.code === 0));
        assert.equal(peak, 2);
      } finally {
        await narrow.close();
      }
      // Beyond sshd's MaxSessions (10) per connection the node would refuse channels; the
      // per-node limit keeps a wide global limit from hitting that.
      const wide = new SshTransport({ concurrency: 32 });
      try {
        const runs = await Promise.all(
          Array.from(
            { length: 16 },
            (_, i) => wide.exec(node, ["sh", "-c", `sleep 0.3; echo ${i}`]),
          ),
        );
        assert.deepEqual(runs.map((r) => r.stdout), runs.map((_, i) => `${i}\n`));
      } finally {
        await wide.close();
      }
    });

    await step("figures (printed, not asserted)", async () => {
      const fresh = new SshTransport();
      try {
        let t0 = performance.now();
        await fresh.agent(node, "GET", "/v1/status");
        const first = performance.now() - t0;
        const laps: number[] = [];
        for (let i = 0; i < 50; i++) {
          t0 = performance.now();
          await fresh.agent(node, "GET", "/v1/status");
          laps.push(performance.now() - t0);
        }
        laps.sort((a, b) => a - b);
        const local = `${lab.dir}/figure.bin`;
        await Deno.writeFile(local, randomBytes(16 * 1024 * 1024));
        t0 = performance.now();
        await fresh.upload(node, local, `${lab.dir}/remote/figure.bin`, { timeoutMs: 60_000 });
        const upMs = performance.now() - t0;
        console.log(
          `first agent call (connect + auth + request): ${first.toFixed(0)} ms; ` +
            `agent GET on the reused connection: median ${laps[25]!.toFixed(1)} ms, ` +
            `p90 ${laps[45]!.toFixed(1)} ms; ` +
            `16 MiB SFTP upload: ${upMs.toFixed(0)} ms (${(16 / (upMs / 1000)).toFixed(1)} MiB/s)`,
        );
        await Deno.remove(local);
      } finally {
        await fresh.close();
      }
    });

    await step("conformance suite", async (t2) => {
      await transportConformance(t2, {
        transport,
        node,
        scratchDir: `${lab.dir}/scratch`,
        unreachable: { ...node, name: "node-gone", host: lab.blackhole },
        unreachableTimeoutMs: 1500,
      });
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await transport.close();
    if (failed) console.error(await logs(lab));
    await tearDown(lab);
    assert.deepEqual(await namespacePids(host, lab.ns), []);
    assert.ok(!(await host.run(["ip", "netns", "list"])).stdout.includes(lab.ns), "namespace left");
  }
});
