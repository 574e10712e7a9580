import assert from "node:assert/strict";
import type { AgentStatus } from "../../dataplane/agent/api.ts";
import { syncLine, syncViewOf } from "./sync_view.ts";

const NAMES = new Map([["10.77.0.11", "node1"], ["10.77.0.12", "node2"], ["10.77.0.13", "node3"]]);

const peer = (node: string, out: number, inn: number, heard = true) => ({
  node,
  snapshotWorkers: heard ? 1 : 0,
  peerWorkers: heard ? 1 : 0,
  datagramsReceived: 0,
  recordsReceived: 0,
  forwardedOut: out,
  forwardedIn: inn,
  lastHeardMs: heard ? 10 : 0,
});

const status = (sync?: AgentStatus["sync"]): AgentStatus => ({
  node: "node1",
  release: "1",
  config: null,
  drained: false,
  advertisedVips: [],
  withdrawnVips: [],
  counters: null,
  routing: { adjacency: "Full", neighbor: "", advertised: [] },
  health: [],
  ...(sync ? { sync } : {}),
});

const SYNC: NonNullable<AgentStatus["sync"]> = {
  synced: true,
  unanswered: [],
  peers: [peer("10.77.0.12", 5, 7), peer("10.77.0.13", 0, 0, false)],
  recordsSent: 100,
  datagramsSent: 10,
  recordsReceived: 80,
  datagramsReceived: 9,
  lost: 0,
  recordsActive: 12,
  recordsFull: 0,
  recordsExpired: 0,
  forwardedOut: 5,
  forwardedIn: 7,
};

Deno.test("syncViewOf() names the peers, keeps the totals and takes the rates", () => {
  assert.equal(syncViewOf(status(), NAMES), null, "no sync reported: null");
  assert.deepEqual(syncViewOf(status(SYNC), NAMES, { ppsIn: 3, ppsOut: 4 }), {
    synced: true,
    unanswered: [],
    records: 12,
    recordsSent: 100,
    recordsReceived: 80,
    lost: 0,
    forwardedOut: 5,
    forwardedIn: 7,
    forwardedOutPerSecond: 4,
    forwardedInPerSecond: 3,
    peers: [
      { node: "node2", heard: true, forwardedOut: 5, forwardedIn: 7 },
      { node: "node3", heard: false, forwardedOut: 0, forwardedIn: 0 },
    ],
  });
  const unknown = syncViewOf(status({ ...SYNC, peers: [peer("10.9.9.9", 1, 1)] }), NAMES);
  assert.equal(unknown?.peers[0]?.node, "10.9.9.9", "a peer not in the cluster file by address");
});

Deno.test("syncLine() says synced or waiting, records held and frames per peer", () => {
  assert.equal(syncLine("node1", null), "node1 sync: off");
  assert.equal(
    syncLine("node1", syncViewOf(status(SYNC), NAMES)),
    "node1 sync: synced; 12 records held; frames forwarded out/in: node2 5/7, node3 0/0 (never heard)",
  );
  const waiting = { ...SYNC, synced: false, unanswered: ["10.77.0.13"], lost: 2 };
  assert.equal(
    syncLine("node1", syncViewOf(status(waiting), NAMES)),
    "node1 sync: WAITING for its peers' sessions (VIPs held back); 12 records held; " +
      "joined without the sessions of node3; frames forwarded out/in: node2 5/7, " +
      "node3 0/0 (never heard); 2 datagrams lost",
  );
});
