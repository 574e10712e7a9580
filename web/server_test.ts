import assert from "node:assert/strict";
import type { FleetSnapshot } from "./fleet.ts";
import { sharedReader } from "./server.ts";

Deno.test("sharedReader() shares one read within its time to live and retries after a failure", async () => {
  const clock = { now: 0 };
  let reads = 0;
  let fail = false;
  const reader = sharedReader(
    {
      read: () => {
        reads++;
        return fail
          ? Promise.reject(new Error("down"))
          : Promise.resolve({ takenAt: reads } as unknown as FleetSnapshot);
      },
    },
    () => clock.now,
    500,
  );
  const [a, b] = await Promise.all([reader.read(), reader.read()]);
  assert.equal(reads, 1);
  assert.equal(a, b);
  clock.now += 499;
  await reader.read();
  assert.equal(reads, 1);
  clock.now += 1;
  await reader.read();
  assert.equal(reads, 2);
  fail = true;
  clock.now += 1000;
  await assert.rejects(() => reader.read(), /down/);
  await Promise.resolve();
  fail = false;
  await reader.read();
  assert.equal(reads, 4, "a failed read is not cached");
});
