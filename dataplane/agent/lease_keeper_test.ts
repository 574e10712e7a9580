import assert from "node:assert/strict";
import { LeaseKeeper, type LeaseStorePort } from "./lease_keeper.ts";
import type { LeaseState } from "./lease.ts";

/** A store in memory; `failSaves` makes saves throw as a full disk would. */
class MemoryLeaseStore implements LeaseStorePort {
  readonly path = "/state/lease.json";
  saved: LeaseState[] = [];
  failSaves = false;
  load(): Promise<LeaseState | undefined> {
    return Promise.resolve(this.saved.at(-1));
  }
  save(state: LeaseState): Promise<void> {
    if (this.failSaves) return Promise.reject(new Error("No space left on device"));
    this.saved.push(state);
    return Promise.resolve();
  }
}

Deno.test("LeaseKeeper saves every change before answering; a failed save changes nothing", async () => {
  const store = new MemoryLeaseStore();
  let now = 1000;
  const keeper = await LeaseKeeper.open(store, () => now);
  const grant = await keeper.acquire({ holder: "alice", ttlMs: 60_000 });
  assert.equal(store.saved.at(-1)?.token, grant.token);
  store.failSaves = true;
  now += 61_000;
  await assert.rejects(
    keeper.acquire({ holder: "bob", ttlMs: 60_000 }),
    /Cannot take the rollout lease: the lease cannot be saved to \/state\/lease\.json: No space left/,
  );
  assert.equal(keeper.view().holder, "alice", "the refused takeover left the lease as it was");
  store.failSaves = false;
  assert.equal((await keeper.acquire({ holder: "bob", ttlMs: 60_000 })).token, 2);
});

Deno.test("LeaseKeeper runs concurrent acquires one at a time: exactly one holder wins", async () => {
  const keeper = await LeaseKeeper.open(new MemoryLeaseStore(), () => 1000);
  const results = await Promise.allSettled(
    ["alice", "bob", "carol"].map((holder) => keeper.acquire({ holder, ttlMs: 60_000 })),
  );
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "rejected"]);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /held by "alice"/);
});
