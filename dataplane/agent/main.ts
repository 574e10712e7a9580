/**
 * `lvs-agent`: the node agent program. It reads the node file, brings up DPDK and the data plane
 * on the node's ports with its worker lcores, drives the node's BIRD, runs the real-server health
 * checks, re-applies the last configuration it persisted, keeps the rollout lease (persisted beside
 * its state), and serves the control API on a Unix socket only root can open. The supervisor (`supervisor.ts`) runs it from the current release.
 *
 *     deno run -A dataplane/agent/main.ts --node-file /etc/lvs-agent/node.json
 *
 * @module
 */
import { DataPlane } from "../binding/dataplane.ts";
import { dataPlanePort } from "./adapters/dataplane_port.ts";
import { HealthMonitor } from "./health.ts";
import { parseNodeFile } from "./node_file.ts";
import { type AgentService, startAgentService } from "./adapters/control_service.ts";
import { StateStore } from "./adapters/store.ts";
import { LeaseStore } from "./adapters/lease_store.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { BirdRouting } from "../../routing/bird/bird_routing.ts";
import { readReleaseVersion } from "./release.ts";
import type { AgentConfig } from "./agent.ts";
import { errorText } from "../../routing/errors.ts";

/** The release this agent runs from: the VERSION file of the tree it was started in. */
async function releaseVersion(): Promise<string> {
  const root = new URL("../../", import.meta.url).pathname;
  try {
    return await readReleaseVersion(root);
  } catch {
    return "dev";
  }
}

async function main(args: string[]): Promise<void> {
  const i = args.indexOf("--node-file");
  const path = i >= 0 ? args[i + 1] : undefined;
  if (path === undefined) {
    console.error("usage: lvs-agent --node-file PATH");
    Deno.exit(2);
  }
  const nf = parseNodeFile(await Deno.readTextFile(path), path);
  await Deno.mkdir(nf.stateDir, { recursive: true, mode: 0o700 });

  DataPlane.initEal(nf.dataplane.eal);
  const dp = DataPlane.create({
    ports: nf.dataplane.ports ?? [0],
    workers: nf.dataplane.workers,
    portAddresses: [nf.dataplane.portAddress],
    ...(nf.dataplane.gateway ? { gateway: nf.dataplane.gateway } : {}),
    ...(nf.dataplane.sessionsPerWorker
      ? { sessionsPerWorker: nf.dataplane.sessionsPerWorker }
      : {}),
    ...(nf.dataplane.neighbours ? { neighbours: nf.dataplane.neighbours } : {}),
    ...(nf.dataplane.toaKind ? { toaKind: nf.dataplane.toaKind } : {}),
  });
  dp.start();

  const routing = new BirdRouting({
    base: { ...nf.bird.routing, vips: [], lips: [], drained: false },
    configPath: nf.bird.config,
    socket: nf.bird.socket,
    ...(nf.bird.confirmTimeoutS ? { confirmTimeoutS: nf.bird.confirmTimeoutS } : {}),
  });
  const ref: { service?: AgentService } = {};
  const exit = async (code: number) => {
    await ref.service?.server.shutdown().catch(() => {});
    try {
      dp.stop();
    } catch {
      // not running
    }
    Deno.exit(code);
  };
  // A saved state the agent cannot restore leaves it degraded, never without its socket.
  ref.service = await startAgentService({
    deps: {
      node: nf.node,
      release: await releaseVersion(),
      dataplane: dataPlanePort(dp),
      routing,
      store: new StateStore<AgentConfig>(`${nf.stateDir}/state.json`),
      health: (onChange) => new HealthMonitor(onChange),
      ...(nf.syncWaitMs !== undefined ? { syncWaitMs: nf.syncWaitMs } : {}),
    },
    lease: await LeaseKeeper.open(new LeaseStore(`${nf.stateDir}/lease.json`)),
    socket: nf.socket,
    restart: () => void exit(0),
  });
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => void exit(0));
  }
  console.error(`lvs-agent ${nf.node}: serving on ${nf.socket}`);
  const { degraded } = await ref.service.agent.status();
  if (degraded !== undefined) console.error(`lvs-agent ${nf.node}: degraded: ${degraded}`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`lvs-agent: ${errorText(e)}`);
    Deno.exit(1);
  }
}
