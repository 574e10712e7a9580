import assert from "node:assert/strict";
import { diffSync } from "./sync_diff.ts";
import type { SyncConfig } from "../../dataplane/agent/api.ts";

const SECRET = "0123456789abcdef0123456789abcdef";
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
  assert.deepEqual(diffSync(undefined, undefined), []);
  assert.deepEqual(diffSync(undefined, sync), [
    "sync on: 10.0.0.11 from 10.0.0.100, port 1000, refresh 10 s, peers 10.0.0.12, 10.0.0.13",
  ]);
  assert.deepEqual(diffSync(sync, undefined), [
    "sync off (was 10.0.0.11 from 10.0.0.100, port 1000, refresh 10 s, peers 10.0.0.12, 10.0.0.13)",
  ]);
  assert.deepEqual(diffSync(sync, structuredClone(sync)), []);
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
  const got = diffSync(sync, to);
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
  assert.deepEqual(diffSync(sync, { ...sync, secret: SECRET.toUpperCase() }), [], "case only");
});
