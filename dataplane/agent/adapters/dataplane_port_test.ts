import assert from "node:assert/strict";
import { countersOf, dataPlanePort } from "./dataplane_port.ts";
import type { DataPlaneStats, WorkerStats } from "../../binding/types.ts";
import type { DataPlaneConfig } from "../../binding/config.ts";

function worker(i: number, n: number): WorkerStats {
  return {
    worker: i,
    packetsIn: n,
    packetsOut: 2 * n,
    bytesIn: 100 * n,
    bytesOut: 200 * n,
    sessionsNew: n,
    sessionsActive: n,
    handoffsOut: 0,
    handoffsIn: 0,
    toaInserted: 0,
    toaFailed: 0,
    toaForged: 0,
    synCookiesSent: 3 * n,
    synCookiesValid: n,
    synCookiesInvalid: 0,
    synproxyRsRetransmits: 0,
    synproxyRsFailures: 0,
    arpReplies: 0,
    icmpTranslated: 0,
    ignored: 0,
    sessionsClosing: i,
    arpUnsolicited: 0,
    arpConflicts: 0,
    neighExpired: 0,
    neighEvicted: 0,
    neighRefused: 0,
    syncRecordsSent: 5 * n,
    syncDatagramsSent: n,
    syncRecordsReceived: 7 * n,
    syncDatagramsReceived: 2 * n,
    syncLost: i,
    recordsActive: 6 * n,
    recordsFull: 0,
    recordsExpired: n,
    forwardedOut: 8 * n,
    forwardedIn: 9 * n,
    sessionsAdopted: 0,
    drops: {},
  };
}

Deno.test("countersOf() sums the workers and keeps drops by reason", () => {
  const stats: DataPlaneStats = {
    workers: [worker(0, 1), worker(1, 4)],
    services: [],
    drops: { bad_tcp_checksum: 2 },
  };
  assert.deepEqual(countersOf(stats), {
    sessions: 4,
    sessionsClosing: 1,
    packetsIn: 5,
    packetsOut: 10,
    bytesIn: 500,
    bytesOut: 1000,
    drops: { bad_tcp_checksum: 2 },
    synCookies: { sent: 15, valid: 5, invalid: 0 },
    sync: {
      recordsSent: 25,
      datagramsSent: 5,
      recordsReceived: 35,
      datagramsReceived: 10,
      lost: 1,
      recordsActive: 30,
      recordsFull: 0,
      recordsExpired: 5,
      forwardedOut: 40,
      forwardedIn: 45,
    },
  });
});

Deno.test("dataPlanePort() applies through the data plane and surfaces its refusal", async () => {
  const applied: DataPlaneConfig[] = [];
  const port = dataPlanePort({
    apply(c) {
      if (c.services.length > 1) throw new RangeError("too many");
      applied.push(c);
    },
    stats: () => ({ workers: [], services: [], drops: {} }),
    requestSync: () => {
      throw new Error("sync is off");
    },
    peers: () => [],
    takeOver: () => {
      throw new Error("sync is off");
    },
  });
  const c: DataPlaneConfig = { services: [], localAddresses: ["10.0.0.1"] };
  await port.apply(c);
  assert.deepEqual(applied, [c]);
  await assert.rejects(
    () => port.apply({ services: [{}, {}] as never, localAddresses: [] }),
    RangeError,
  );
  assert.equal((await port.counters()).sessions, 0);
  await assert.rejects(() => port.requestSync(), /sync is off/);
  assert.deepEqual(await port.peers(), []);
});
