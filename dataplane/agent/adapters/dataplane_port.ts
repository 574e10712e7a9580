/**
 * The agent's `DataPlanePort` over the real `DataPlane` (FFI): apply a snapshot (session sync
 * included), read counters summed over the workers, ask the peers for their sessions and read
 * what the data plane knows of them.
 *
 * @module
 */
import type { DataPlaneConfig } from "../../binding/config.ts";
import type { DataPlaneStats, PeerStats } from "../../binding/types.ts";
import type { DataPlaneCounters, DataPlanePort } from "../agent.ts";

/** What the adapter needs from a data plane (the `DataPlane` class has it). */
export interface DataPlaneLike {
  apply(config: DataPlaneConfig): void;
  stats(): DataPlaneStats;
  requestSync(): void;
  peers(): PeerStats[];
  takeOver(lip: string): void;
}

/** Sums worker counters into the agent's view. */
export function countersOf(stats: DataPlaneStats): DataPlaneCounters {
  const sum = (f: (w: DataPlaneStats["workers"][number]) => number) =>
    stats.workers.reduce((a, w) => a + f(w), 0);
  return {
    // Live sessions, as a drain waits for them; closing ones (TIME_WAIT, CLOSE) apart.
    sessions: sum((w) => w.sessionsActive - w.sessionsClosing),
    sessionsClosing: sum((w) => w.sessionsClosing),
    packetsIn: sum((w) => w.packetsIn),
    packetsOut: sum((w) => w.packetsOut),
    bytesIn: sum((w) => w.bytesIn),
    bytesOut: sum((w) => w.bytesOut),
    drops: { ...stats.drops },
    synCookies: {
      sent: sum((w) => w.synCookiesSent),
      valid: sum((w) => w.synCookiesValid),
      invalid: sum((w) => w.synCookiesInvalid),
    },
    sync: {
      recordsSent: sum((w) => w.syncRecordsSent),
      datagramsSent: sum((w) => w.syncDatagramsSent),
      recordsReceived: sum((w) => w.syncRecordsReceived),
      datagramsReceived: sum((w) => w.syncDatagramsReceived),
      lost: sum((w) => w.syncLost),
      recordsActive: sum((w) => w.recordsActive),
      recordsFull: sum((w) => w.recordsFull),
      recordsExpired: sum((w) => w.recordsExpired),
      forwardedOut: sum((w) => w.forwardedOut),
      forwardedIn: sum((w) => w.forwardedIn),
    },
  };
}

/** Adapts a data plane to the agent's port. */
export function dataPlanePort(dp: DataPlaneLike): DataPlanePort {
  return {
    // deno-lint-ignore require-await
    async apply(config) {
      dp.apply(config);
    },
    // deno-lint-ignore require-await
    async counters() {
      return countersOf(dp.stats());
    },
    // deno-lint-ignore require-await
    async requestSync() {
      dp.requestSync();
    },
    // deno-lint-ignore require-await
    async peers() {
      return dp.peers();
    },
    // deno-lint-ignore require-await
    async takeOver(lip: string) {
      dp.takeOver(lip);
    },
  };
}
