/**
 * The whole lab as `deno task lab up` runs it and as the integration tests use it: the network
 * (lab.ts), the node services (lab_nodes.ts), then `lvsctl deploy` of `fixtures/lab.yaml`
 * through SSH exactly as in production. Plus what tests and the dashboard's lab test need: the
 * router's next hops by node, a client load generator, and teardown.
 *
 * @module
 */
import {
  DEFAULT_TOPOLOGY,
  kernelNextHops,
  labDown,
  labUp,
  type Log,
  waitForNextHops,
} from "./network.ts";
import { buildLabModel, type LabModel, parseLabTopology } from "./topology.ts";
import { type LabPort, startLabNodes, startLabRealServer } from "./nodes.ts";
import { type ClusterFile, loadClusterFile } from "../spec/cluster_file.ts";
import { deploy, type DeployResult } from "../ops/deploy.ts";
import { SshTransport } from "../transport/ssh_transport.ts";
import type { NodeTransport } from "../transport/transport.ts";
import { inNamespace } from "./endpoints.ts";

/** The lab's cluster file (prefix `lvl-`, paths under /run/lvs-lab/lvl-). */
export const LAB_CLUSTER_FILE = new URL("../../fixtures/lab.yaml", import.meta.url).pathname;

/** The lab's network as tests and benchmarks drive it: namespaces, BIRD, the client. */
export interface LabNetwork {
  model: LabModel;
  /** Names of the nodes the router currently sends the VIP to (kernel ECMP next hops). */
  nextHops(vip?: string): Promise<string[]>;
  /** Runs `argv` in the client namespace and returns stdout. */
  client(argv: string[]): Promise<string>;
  /** A client that keeps requesting `/whoami` from the VIP; counts successes and failures. */
  startLoad(intervalMs?: number): LabLoad;
  close(): Promise<void>;
}

/** A running lab with its fleet deployed. */
export interface RunningLab extends LabNetwork {
  cluster: ClusterFile;
  clusterFile: string;
  transport: NodeTransport;
  deployed: DeployResult;
}

/** Options of `startLab`. */
export interface StartLabOptions {
  log?: Log;
  nodes?: number;
  clusterFile?: string;
  /**
   * Run every node's agent with the data plane, sshd, and deploy the cluster file (default
   * true). `false` builds the same network with the nodes' BIRD announcing the VIPs and LIPs but
   * nothing else on the nodes: a peer (the kernel's own NAT, say) takes the data plane's place.
   */
  dataplane?: boolean;
  /** How every node's data plane reaches its uplink (default `labPort()`: LVS_LAB_PORT). */
  port?: LabPort;
  /**
   * Start the lab's HTTP real servers (default true); false leaves their namespaces empty; a
   * function starts the caller's own servers there once the network is up (before the agents,
   * whose health checks must find them for the VIPs to be announced).
   */
  realServers?: boolean | ((model: LabModel) => Promise<void>);
}

/** A running client load. */
export interface LabLoad {
  ok: number;
  failed: number;
  stop(): Promise<{ ok: number; failed: number }>;
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/**
 * Builds the lab (removing any previous one of the same prefix), starts sshd, agents and real
 * servers, and deploys the lab's cluster file over SSH. Tears everything down if a step fails.
 * With `dataplane: false`, only the network: namespaces, links, BIRD (see `StartLabOptions`).
 *
 * @example
 * ```ts
 * const net = await startLab({ dataplane: false, realServers: false });
 * try { await net.nextHops(); } finally { await net.close(); }
 * ```
 */
export function startLab(opts: StartLabOptions & { dataplane: false }): Promise<LabNetwork>;
export function startLab(opts?: StartLabOptions): Promise<RunningLab>;
export async function startLab(opts: StartLabOptions = {}): Promise<RunningLab | LabNetwork> {
  const log = opts.log ?? (() => {});
  const topology = parseLabTopology(await Deno.readTextFile(DEFAULT_TOPOLOGY), DEFAULT_TOPOLOGY);
  const model = buildLabModel(topology, opts.nodes ? { nodes: opts.nodes } : {});
  const stateRoot = model.stateDir.slice(0, -model.prefix.length - 1);
  const clusterFile = opts.clusterFile ?? LAB_CLUSTER_FILE;
  const withDataplane = opts.dataplane !== false;
  const cluster = withDataplane ? await loadClusterFile(clusterFile) : undefined;
  const transport = new SshTransport({ timeoutMs: 30_000 });
  try {
    await labUp(model, { log });
    const labRealServers = opts.realServers === undefined || opts.realServers === true;
    if (typeof opts.realServers === "function") await opts.realServers(model);
    let deployed: DeployResult | undefined;
    if (cluster) {
      await startLabNodes(model, {
        log,
        realServers: labRealServers,
        ...(opts.port ? { port: opts.port } : {}),
      });
      log(`deploying ${clusterFile} over SSH`);
      deployed = await deploy(cluster, transport, { verifyTimeoutMs: 60_000 });
      if (!deployed.ok) {
        throw new Error(
          `Cannot deploy the lab: ${
            deployed.nodes.filter((n) => !n.ok).map((n) => `${n.node}: ${n.error}`).join("; ")
          }`,
        );
      }
      log(`deployed ${deployed.hash} to ${deployed.nodes.length} nodes in ${deployed.ms} ms`);
    } else if (labRealServers) {
      for (const rs of model.realServers) await startLabRealServer(model, rs.name, { log });
    }
    const vip0 = cluster?.vips[0]?.address ?? model.vips[0]!;
    // OSPF adjacencies form in a few seconds (dead interval, DR election): wait until the
    // router spreads the VIP over every node.
    const converged = await waitForNextHops(model, vip0, model.nodes.length, 60_000);
    if (!converged) {
      throw new Error(
        `Cannot start the lab: the router has no ${model.nodes.length} next hops for ${vip0} after 60 s`,
      );
    }
    log(`the router sends ${vip0} to ${converged.kernel.map((h) => h.gateway).join(", ")}`);
    const byAddress = new Map(model.nodes.map((n) => [n.address, n.name]));
    const client = async (argv: string[]) => {
      const r = await run(inNamespace(model.client.namespace, argv));
      if (r.code !== 0) throw new Error(`${argv.join(" ")} in the client: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const network: LabNetwork = {
      model,
      async nextHops(vip = vip0) {
        const hops = await kernelNextHops(model, vip);
        return hops.map((h) => byAddress.get(h.gateway) ?? h.gateway).sort();
      },
      client,
      startLoad(intervalMs = 50) {
        const load: LabLoad = {
          ok: 0,
          failed: 0,
          stop: async () => {
            stopping = true;
            await loop;
            return { ok: load.ok, failed: load.failed };
          },
        };
        let stopping = false;
        const loop = (async () => {
          while (!stopping) {
            const r = await run(inNamespace(model.client.namespace, [
              "curl",
              "-s",
              "-o",
              "/dev/null",
              "-w",
              "%{http_code}",
              "--max-time",
              "3",
              `http://${vip0}/whoami`,
            ]));
            if (r.code === 0 && r.stdout === "200") load.ok++;
            else load.failed++;
            await new Promise((res) => setTimeout(res, intervalMs));
          }
        })();
        return load;
      },
      async close() {
        await transport.close();
        await labDown(model.prefix, stateRoot, { log });
      },
    };
    if (!cluster || !deployed) return network;
    return { ...network, cluster, clusterFile, transport, deployed };
  } catch (e) {
    await transport.close().catch(() => {});
    await labDown(model.prefix, stateRoot, { log }).catch(() => {});
    throw e;
  }
}
