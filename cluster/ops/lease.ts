/**
 * A cluster-wide lease: one rollout at a time. The lease is a JSON file (holder, pid, host,
 * expiry) created atomically (`createNew`) or taken over only when its expiry has passed; the
 * holder renews it while it works and removes it at the end.
 *
 * @module
 */

/** What the lease file holds. */
export interface LeaseRecord {
  holder: string;
  pid: number;
  host: string;
  acquiredAt: number;
  expiresAt: number;
}

/** Another holder has the lease. */
export class LeaseBusyError extends Error {
  override name = "LeaseBusyError";
  constructor(readonly record: LeaseRecord, now: number) {
    super(
      `Another rollout holds the cluster lease: ${record.holder} (pid ${record.pid} on ${record.host}), ` +
        `for ${Math.max(0, Math.round((record.expiresAt - now) / 1000))} s more`,
    );
  }
}

/** A held lease. */
export interface Lease {
  readonly record: LeaseRecord;
  renew(): Promise<void>;
  release(): Promise<void>;
}

async function read(path: string): Promise<LeaseRecord | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as LeaseRecord;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof SyntaxError) return null; // a torn write: treat as expired
    throw e;
  }
}

/**
 * Takes the lease at `path` for `ttlMs`, or throws `LeaseBusyError` when another holder's lease
 * has not expired.
 */
export async function acquireLease(
  path: string,
  holder: string,
  ttlMs: number,
  now: () => number = Date.now,
): Promise<Lease> {
  const make = (): LeaseRecord => ({
    holder,
    pid: Deno.pid,
    host: Deno.hostname(),
    acquiredAt: now(),
    expiresAt: now() + ttlMs,
  });
  let record = make();
  try {
    await Deno.writeTextFile(path, JSON.stringify(record), { createNew: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    const other = await read(path);
    if (other && other.expiresAt > now() && !(other.holder === holder && other.pid === Deno.pid)) {
      throw new LeaseBusyError(other, now());
    }
    // Expired (or ours): take it over with an atomic rename.
    record = make();
    const tmp = `${path}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(record));
    await Deno.rename(tmp, path);
  }
  return {
    get record() {
      return record;
    },
    async renew() {
      const cur = await read(path);
      if (cur && (cur.holder !== holder || cur.pid !== Deno.pid)) {
        throw new LeaseBusyError(cur, now());
      }
      record = { ...record, expiresAt: now() + ttlMs };
      const tmp = `${path}.${Deno.pid}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(record));
      await Deno.rename(tmp, path);
    },
    async release() {
      const cur = await read(path);
      if (cur && cur.holder === holder && cur.pid === Deno.pid) {
        await Deno.remove(path).catch(() => {});
      }
    },
  };
}
