import assert from "node:assert/strict";
import { snapshotGate } from "./sync_gate.ts";
import type { PeerStats } from "../binding/types.ts";

const peer = (node: string, snapshotWorkers: number, peerWorkers: number): PeerStats => ({
  node,
  snapshotWorkers,
  peerWorkers,
  datagramsReceived: peerWorkers > 0 ? 1 : 0,
  recordsReceived: 0,
  forwardedOut: 0,
  forwardedIn: 0,
  lastHeardMs: peerWorkers > 0 ? 5 : 0,
});

const EXPECTED = ["10.0.0.12", "10.0.0.13"];

Deno.test("snapshotGate() opens once every peer answered with all its workers", () => {
  assert.deepEqual(
    snapshotGate(EXPECTED, [peer("10.0.0.12", 4, 4), peer("10.0.0.13", 2, 2)], false),
    { open: true, answering: [], unheard: [] },
  );
  assert.deepEqual(
    snapshotGate(EXPECTED, [peer("10.0.0.12", 3, 4), peer("10.0.0.13", 2, 2)], false),
    { open: false, answering: ["10.0.0.12"], unheard: [] },
  );
  assert.deepEqual(snapshotGate([], [], false), { open: true, answering: [], unheard: [] });
});

Deno.test("snapshotGate() waits for peers never heard until the wait has passed", () => {
  const peers = [peer("10.0.0.12", 4, 4), peer("10.0.0.13", 0, 0)];
  assert.deepEqual(snapshotGate(EXPECTED, peers, false), {
    open: false,
    answering: [],
    unheard: ["10.0.0.13"],
  });
  assert.equal(snapshotGate(EXPECTED, peers, true).open, true, "a first node comes up alone");
  assert.deepEqual(
    snapshotGate(EXPECTED, [peer("10.0.0.12", 4, 4)], false).unheard,
    ["10.0.0.13"],
    "a peer the data plane does not list is unheard",
  );
});

Deno.test("snapshotGate() is bounded: after the wait a peer still answering does not hold the VIPs", () => {
  const v = snapshotGate(EXPECTED, [peer("10.0.0.12", 1, 4), peer("10.0.0.13", 0, 0)], true);
  assert.deepEqual(v, { open: true, answering: ["10.0.0.12"], unheard: ["10.0.0.13"] });
});
