import assert from "node:assert/strict";
import type { AuditEntry, FleetSnapshot } from "./fleet.ts";
import { FleetCache } from "./fleet_cache.ts";
import { FleetHistory } from "./history.ts";
import { MemoryAuditLog } from "./audit.ts";

function counting() {
  const clock = { now: 1_000_000 };
  const counts = { reads: 0, audits: 0, flushes: 0 };
  const ctl = { fail: false };
  const audit = new MemoryAuditLog();
  const recent = audit.recent.bind(audit);
  audit.recent = (limit: number): Promise<AuditEntry[]> => {
    counts.audits++;
    return recent(limit);
  };
  const history = new FleetHistory({ clock: () => clock.now });
  const cache = new FleetCache({
    reader: {
      read: () => {
        counts.reads++;
        return ctl.fail
          ? Promise.reject(new Error("down"))
          : Promise.resolve({ takenAt: counts.reads, nodes: [] } as unknown as FleetSnapshot);
      },
    },
    audit,
    history,
    clock: () => clock.now,
    ttlMs: 500,
    beforeAudit: () => {
      counts.flushes++;
      return Promise.resolve();
    },
  });
  return { cache, clock, counts, ctl, audit };
}

Deno.test("FleetCache shares one read of the fleet and the audit tail within its time to live", async () => {
  const { cache, clock, counts } = counting();
  const [a, b] = await Promise.all([cache.read(), cache.read()]);
  assert.equal(a, b);
  assert.deepEqual(counts, { reads: 1, audits: 1, flushes: 1 });
  clock.now += 499;
  assert.equal(await cache.read(), a);
  assert.equal(counts.reads, 1);
  clock.now += 1;
  assert.equal((await cache.read()).snapshot?.takenAt, 2);
  assert.deepEqual(counts, { reads: 2, audits: 2, flushes: 2 });
});

Deno.test("FleetCache keeps no read that failed to reach the fleet: the next caller tries again", async () => {
  const { cache, counts, ctl } = counting();
  ctl.fail = true;
  const failed = await cache.read();
  assert.equal(failed.snapshot, null);
  assert.equal(failed.error, "Cannot read the fleet state: down");
  ctl.fail = false;
  const ok = await cache.read();
  assert.equal(counts.reads, 2, "a failed read is not cached");
  assert.equal(ok.error, null);
  assert.equal(await cache.read(), ok, "a good one is");
});

Deno.test("FleetCache.forget() makes the next read ask the fleet (after an action)", async () => {
  const { cache, counts } = counting();
  const first = await cache.read();
  cache.forget();
  const second = await cache.read();
  assert.notEqual(second, first);
  assert.equal(counts.reads, 2);
});

Deno.test("FleetCache reports an unreadable audit log beside the snapshot and keeps the read", async () => {
  const { cache, counts, audit } = counting();
  audit.recent = () => Promise.reject(new Error("disk gone"));
  const s = await cache.read();
  assert.notEqual(s.snapshot, null);
  assert.equal(s.error, "Cannot read the audit log: disk gone");
  await cache.read();
  assert.equal(counts.reads, 1);
});
