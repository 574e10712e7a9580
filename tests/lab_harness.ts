/**
 * The running lab for integration tests (see `cluster/lab/cluster.ts`): the network, the node
 * services and `fixtures/lab.yaml` deployed over SSH, with the router's next hops by node name
 * and a client load that runs until stopped.
 *
 * @module
 */
import { type LabLoad, type RunningLab, startLab } from "../cluster/lab/cluster.ts";

/** What tests get. */
export interface LabForTest {
  lab: RunningLab;
  clusterFile: string;
  cluster: RunningLab["cluster"];
  transport: RunningLab["transport"];
  nextHops(): Promise<string[]>;
  /** Starts a client that keeps requesting the VIP. */
  startLoad(): Promise<void>;
  /** Stops it; returns how many requests succeeded and failed. */
  stopLoad(): Promise<{ ok: number; failed: number }>;
  close(): Promise<void>;
}

/** Builds the lab and deploys it; `close()` removes everything. */
export async function startLabForTest(): Promise<LabForTest> {
  const lab = await startLab();
  let load: LabLoad | undefined;
  return {
    lab,
    clusterFile: lab.clusterFile,
    cluster: lab.cluster,
    transport: lab.transport,
    nextHops: () => lab.nextHops(),
    startLoad() {
      load ??= lab.startLoad();
      return Promise.resolve();
    },
    async stopLoad() {
      const r = load ? await load.stop() : { ok: 0, failed: 0 };
      load = undefined;
      return r;
    },
    async close() {
      if (load) await load.stop();
      await lab.close();
    },
  };
}
