import assert from "node:assert/strict";
import { describeSyncChange, diffSync, type SyncChange } from "./sync_diff.ts";
import type { SyncConfig } from "../../dataplane/agent/api.ts";

const SECRET = "0123456789abcdef0123456789abcdef";
const words = (from: SyncConfig | undefined, to: SyncConfig | undefined): string[] =>
  diffSync(from, to).map(describeSyncChange);

const sync: SyncConfig = {
  node: "10.0.0.11",
  address: "10.0.0.100",
  port: 1000,
  secret: SECRET,
  refreshSeconds: 10,
  peers: [{ node: "10.0.0.12", address: "10.0.0.101" }, {
    node: "10.0.0.13",
    address: "10.0.0.102",
  }],
};

Deno.test("diffSync() says sync turns on or off, with the node, its address, port and peers", () => {
  assert.deepEqual(words(undefined, undefined), []);
  assert.deepEqual(words(undefined, sync), [
    "sync on: 10.0.0.11 from 10.0.0.100, port 1000, refresh 10 s, peers 10.0.0.12, 10.0.0.13",
  ]);
  assert.deepEqual(words(sync, undefined), [
    "sync off (was 10.0.0.11 from 10.0.0.100, port 1000, refresh 10 s, peers 10.0.0.12, 10.0.0.13)",
  ]);
  assert.deepEqual(words(sync, structuredClone(sync)), []);
});

Deno.test("diffSync() names each change, and a new secret without showing it", () => {
  const to: SyncConfig = {
    ...sync,
    address: "10.0.0.103",
    port: 999,
    refreshSeconds: 30,
    secret: "f".repeat(32),
    peers: [{ node: "10.0.0.12", address: "10.0.0.109" }, {
      node: "10.0.0.14",
      address: "10.0.0.104",
    }],
  };
  const got = words(sync, to);
  assert.deepEqual(got, [
    "sync address 10.0.0.100 -> 10.0.0.103",
    "sync port 1000 -> 999",
    "sync refresh 10 s -> 30 s",
    "sync secret changed",
    "sync peer 10.0.0.13 removed",
    "sync peer 10.0.0.12: sync address 10.0.0.101 -> 10.0.0.109",
    "sync peer 10.0.0.14 added (sync address 10.0.0.104)",
  ]);
  assert.ok(!got.join("\n").includes("ffff"), "the secret is never printed");
  assert.deepEqual(words(sync, { ...sync, secret: SECRET.toUpperCase() }), [], "case only");
});

Deno.test("diffSync() returns data: the secret is in none of it", () => {
  const to: SyncConfig = { ...sync, secret: "f".repeat(32), peers: [sync.peers[0]!] };
  const got: SyncChange[] = diffSync(sync, to);
  assert.deepEqual(got, [
    { subject: "sync", kind: "modify", setting: "secret" },
    { subject: "sync-peer", kind: "remove", peer: "10.0.0.13", from: "10.0.0.102" },
  ]);
  const on = JSON.stringify(diffSync(undefined, sync));
  assert.ok(!on.includes(SECRET), on);
  assert.deepEqual(diffSync(undefined, sync)[0], {
    subject: "sync",
    kind: "add",
    to: {
      node: "10.0.0.11",
      address: "10.0.0.100",
      port: 1000,
      refreshSeconds: 10,
      peers: ["10.0.0.12", "10.0.0.13"],
    },
  });
});
