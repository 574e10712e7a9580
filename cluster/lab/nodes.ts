/**
 * The lab's machines come alive: in every node namespace an sshd on the management address (host
 * key generated for the lab, pinned in the lab's known_hosts), the agent supervisor running the
 * node's current release (first release: this checkout) with the DPDK data plane on
 * `net_af_xdp` with the XDP filter (or, with LVS_LAB_PORT=af_packet, `net_af_packet`) over the
 * node's uplink, and in every real-server namespace the lab HTTP real
 * server. lvsctl then reaches the nodes exactly as in production: SSH to the management address,
 * the agent's socket through stream-local forwarding.
 *
 * Everything runs inside the lab's namespaces and writes under the lab's state directory, so
 * `labDown` (which kills every process in the namespaces and removes the directory) removes it.
 *
 * @module
 */
import type { LabModel, LabNode } from "./topology.ts";
import { type Host, must, RealHost } from "./netns.ts";
import type { NodeFile } from "../../dataplane/agent/api.ts";
import { pollUntil } from "../../routing/poll.ts";

/** Where the lab keeps the SSH material lvsctl uses (fixed, so fixtures/lab.yaml can name it). */
function labSshPaths(model: LabModel): { dir: string; key: string; knownHosts: string } {
  const dir = `${model.stateDir}/ssh`;
  return { dir, key: `${dir}/id_ed25519`, knownHosts: `${dir}/known_hosts` };
}

/** The agent's files for one node. */
export function labAgentPaths(model: LabModel, node: LabNode): {
  root: string;
  nodeFile: string;
  socket: string;
  stateDir: string;
  log: string;
} {
  const base = `${model.stateDir}/${node.namespace}/agent`;
  return {
    root: base,
    nodeFile: `${base}/node.json`,
    socket: `${base}/agent.sock`,
    stateDir: `${base}/state`,
    log: `${base}/agent.log`,
  };
}

/** How a lab node's data plane reaches its uplink (see `cluster/spec/vdev.ts`). */
export type LabPort = "af_packet" | "af_xdp";

/**
 * The port kind of the lab's nodes: `LVS_LAB_PORT` (af_packet or af_xdp), af_xdp when unset.
 * AF_XDP with the XDP filter (native XDP on the veth) is the default: in the lab it served more
 * requests per second than af_packet, for about the same CPU per request (README, "bench e2e");
 * af_packet stays selectable.
 */
export function labPort(env: string | undefined = Deno.env.get("LVS_LAB_PORT")): LabPort {
  if (env === undefined || env === "" || env === "af_xdp") return "af_xdp";
  if (env === "af_packet") return "af_packet";
  throw new Error(`LVS_LAB_PORT must be af_packet or af_xdp, got ${JSON.stringify(env)}`);
}

/** The vdev of a lab node's data plane on `uplink`. */
export function labVdev(uplink: string, port: LabPort): string {
  return port === "af_xdp"
    ? `net_af_xdp0,iface=${uplink},start_queue=0,queue_count=1,xdp_prog=fnat`
    : `net_af_packet0,iface=${uplink},qpairs=1`;
}

/** The node file the lab writes for a node (data plane on the uplink, BIRD already running). */
function labNodeFile(model: LabModel, node: LabNode, port: LabPort = labPort()): NodeFile {
  const p = labAgentPaths(model, node);
  const prefixLen = model.segment.split("/")[1] ?? "24";
  const { vips: _v, lips: _l, drained: _d, ...routing } = node.routing;
  return {
    node: node.name,
    socket: p.socket,
    stateDir: p.stateDir,
    dataplane: {
      eal: {
        lcores: "0,1",
        noHuge: true,
        noPci: true,
        memoryMb: 256,
        vdevs: [labVdev(node.uplink, port)],
      },
      workers: 1,
      portAddress: `${node.address}/${prefixLen}`,
      gateway: model.router.address,
      sessionsPerWorker: 262144,
    },
    bird: {
      socket: node.bird.socket,
      config: node.bird.config,
      routing,
      confirmTimeoutS: 30,
    },
  };
}

/** The sshd configuration of a node (keys only, root by key, stream-local forwarding, SFTP). */
function sshdConfig(opts: {
  listen: string;
  hostKey: string;
  authorizedKeys: string;
  pidFile: string;
}): string {
  return [
    `ListenAddress ${opts.listen}`,
    "Port 22",
    `HostKey ${opts.hostKey}`,
    `PidFile ${opts.pidFile}`,
    `AuthorizedKeysFile ${opts.authorizedKeys}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "AllowStreamLocalForwarding yes",
    "X11Forwarding no",
    "MaxSessions 16",
    "Subsystem sftp internal-sftp",
    "",
  ].join("\n");
}

async function sh(host: Host, argv: string[]): Promise<string> {
  return await must(host, argv);
}

/** Starts a long-lived process in a namespace, detached, output to a log file. */
async function spawnIn(host: Host, ns: string, argv: string[], log: string): Promise<void> {
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  await sh(host, [
    "ip",
    "netns",
    "exec",
    ns,
    "sh",
    "-c",
    `setsid ${quoted} </dev/null >>'${log}' 2>&1 &`,
  ]);
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  if (!await pollUntil(async () => (await fn().catch(() => false)) || null, ms, 200)) {
    throw new Error(`Cannot start the lab: ${what} within ${ms / 1000} s`);
  }
}

/** Asks an agent socket for its status (the root namespace shares the filesystem). */
export async function agentStatus(socket: string): Promise<Record<string, unknown>> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch("http://agent/v1/status", {
      client,
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) throw new Error(`agent answered ${res.status}`);
    return await res.json();
  } finally {
    client.close();
  }
}

/** Starts (or restarts) one lab real server in its namespace. */
export async function startLabRealServer(
  model: LabModel,
  name: string,
  opts: { host?: Host; log?: (msg: string) => void; repo?: string } = {},
): Promise<void> {
  const host = opts.host ?? new RealHost();
  const repo = opts.repo ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const rs = model.realServers.find((r) => r.name === name);
  if (!rs) throw new Error(`No real server ${name} in the lab`);
  const ns = model.namespaces.find((n) => n.name === rs.namespace)!;
  const iface = ns.interfaces.find((i) => i.kind === "veth")?.name ?? "eth0";
  const address = rs.address.split("/")[0]!;
  await spawnIn(host, rs.namespace, [
    Deno.execPath(),
    "run",
    "-A",
    `${repo}/cluster/lab/realserver/main.ts`,
    "--name",
    rs.name,
    "--listen",
    `${address}:80`,
    "--iface",
    iface,
  ], `${ns.stateDir}/realserver.log`);
  opts.log?.(`${rs.name}: HTTP real server on ${address}:80`);
}

/** Options of `startLabNodes`. */
export interface LabNodesOptions {
  host?: Host;
  log?: (msg: string) => void;
  /** The checkout every node runs as its first release. */
  repoRoot?: string;
  /**
   * Start the lab's HTTP real server in every real-server namespace (default true); false leaves
   * the namespaces empty for a caller that runs its own servers there (the end-to-end benchmark).
   */
  realServers?: boolean;
  /** How every node's data plane reaches its uplink (default `labPort()`: LVS_LAB_PORT). */
  port?: LabPort;
}

/** Starts sshd, the agents (data planes) and the real servers of a lab that `labUp` built. */
export async function startLabNodes(model: LabModel, opts: LabNodesOptions = {}): Promise<void> {
  const host = opts.host ?? new RealHost();
  const log = opts.log ?? (() => {});
  const repo = opts.repoRoot ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const deno = Deno.execPath();
  const port = opts.port ?? labPort();
  const ssh = labSshPaths(model);
  await Deno.mkdir(ssh.dir, { recursive: true, mode: 0o700 });
  await Deno.remove(ssh.key).catch(() => {});
  await Deno.remove(`${ssh.key}.pub`).catch(() => {});
  await sh(host, [
    "ssh-keygen",
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "lvsctl@lab",
    "-f",
    ssh.key,
  ]);
  const clientPub = await Deno.readTextFile(`${ssh.key}.pub`);
  await Deno.mkdir("/run/sshd", { recursive: true });
  const known: string[] = [];

  for (const node of model.nodes) {
    if (!node.mgmtAddress) {
      throw new Error(`Cannot start ${node.name}: the lab has no management network for SSH`);
    }
    const dir = `${model.stateDir}/${node.namespace}/sshd`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const hostKey = `${dir}/ssh_host_ed25519_key`;
    await Deno.remove(hostKey).catch(() => {});
    await Deno.remove(`${hostKey}.pub`).catch(() => {});
    await sh(host, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", node.name, "-f", hostKey]);
    const pub = (await Deno.readTextFile(`${hostKey}.pub`)).trim().split(/\s+/);
    known.push(`${node.mgmtAddress} ${pub[0]} ${pub[1]}`);
    await Deno.writeTextFile(`${dir}/authorized_keys`, clientPub);
    const cfg = `${dir}/sshd_config`;
    await Deno.writeTextFile(
      cfg,
      sshdConfig({
        listen: node.mgmtAddress.split("/")[0]!,
        hostKey,
        authorizedKeys: `${dir}/authorized_keys`,
        pidFile: `${dir}/sshd.pid`,
      }),
    );
    await sh(host, [
      "ip",
      "netns",
      "exec",
      node.namespace,
      "/usr/sbin/sshd",
      "-f",
      cfg,
      "-E",
      `${dir}/sshd.log`,
    ]);

    // The agent: node root with `current` → the first release (this checkout).
    const p = labAgentPaths(model, node);
    await Deno.mkdir(`${p.root}/releases`, { recursive: true });
    await Deno.remove(`${p.root}/current`).catch(() => {});
    await Deno.symlink(repo, `${p.root}/current`);
    await Deno.writeTextFile(
      p.nodeFile,
      JSON.stringify(labNodeFile(model, node, port), null, 2) + "\n",
    );
    await spawnIn(host, node.namespace, [
      deno,
      "run",
      "-A",
      `${repo}/dataplane/agent/supervisor.ts`,
      "--root",
      p.root,
      "--",
      "--node-file",
      p.nodeFile,
    ], p.log);
    log(`${node.name}: sshd on ${node.mgmtAddress}, agent starting (log ${p.log})`);
  }
  await Deno.writeTextFile(ssh.knownHosts, known.join("\n") + "\n");

  if (opts.realServers !== false) {
    for (const rs of model.realServers) {
      await startLabRealServer(model, rs.name, { host, log, repo });
    }
  }

  for (const node of model.nodes) {
    const p = labAgentPaths(model, node);
    await waitFor(`${node.name}'s agent answers on ${p.socket}`, async () => {
      await agentStatus(p.socket);
      return true;
    }, 60_000);
  }
  log("every agent answers");
}
