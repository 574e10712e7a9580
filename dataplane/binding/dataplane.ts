/**
 * `DataPlane`: the libfnat data plane with idiomatic TypeScript names over the FFI seam
 * (`ffi.ts`). Conversions between the public types and the C structs are in `codec.ts`.
 *
 * @example
 * ```ts
 * DataPlane.initEal({ lcores: "0-1", vdevs: ["net_af_packet0,iface=eth0"] });
 * const dp = DataPlane.create({ ports: [0], workers: 1, portAddresses: ["10.0.0.2/24"],
 *   gateway: "10.0.0.1" });
 * dp.apply({ localAddresses: ["10.0.0.100"], services: [...] });
 * dp.start();
 * console.log(dp.stats().drops);
 * ```
 *
 * @module
 */

import { cStringArray, DataPlaneError, type FnatSymbols, openLibrary } from "./ffi.ts";
import { type DataPlaneConfig, validateConfig } from "./config.ts";
import {
  addrWord,
  decodePeers,
  decodeSessions,
  decodeStats,
  encodeConfig,
  encodeOptions,
  encodeSync,
  MAX_PEERS,
  peerStats,
  realStats,
  serviceStats,
  sessionInfo,
  workerStats,
} from "./codec.ts";
import { ealArgs, hasHugepages } from "./eal.ts";
import type { DataPlaneOptions, DataPlaneStats, EalOptions, PeerStats, Session } from "./types.ts";

/** Where injected frames enter: a port and an rx queue (in test mode, queue i feeds worker i). */
export interface InjectTarget {
  port?: number;
  queue?: number;
}

const ERRNO: Record<number, string> = {
  1: "EPERM",
  5: "EIO",
  12: "ENOMEM",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  28: "ENOSPC",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  114: "EALREADY",
  107: "ENOTCONN",
  2: "ENOENT",
  7: "E2BIG",
};

function check(op: string, rc: number, what: string): number {
  if (rc >= 0) return rc;
  const errno = -rc;
  throw new DataPlaneError(op, errno, `Cannot ${what}: ${op} failed with ${ERRNO[errno] ?? errno}`);
}

let ealDone = false;

/** A DPDK FULLNAT data plane on some ports. One per process (DPDK's EAL is per process). */
export class DataPlane {
  #lib: FnatSymbols;
  #dp: Deno.PointerValue;
  #ports: number[];
  #workers: number;
  #maxSessions: number;
  #testPort: number;

  private constructor(lib: FnatSymbols, dp: Deno.PointerValue, opts: DataPlaneOptions) {
    this.#lib = lib;
    this.#dp = dp;
    this.#ports = opts.ports;
    this.#workers = opts.workers;
    this.#maxSessions = (opts.sessionsPerWorker ?? 1 << 20) * opts.workers;
    this.#testPort = opts.ports[0]!;
  }

  /** Brings up DPDK's EAL for this process; later calls are no-ops. */
  static initEal(opts: EalOptions): void {
    if (ealDone) return;
    const lib = openLibrary();
    let meminfo = "";
    try {
      meminfo = Deno.readTextFileSync("/proc/meminfo");
    } catch {
      // No /proc: assume no hugepages.
    }
    const args = ealArgs(
      { ...opts, extra: [`--file-prefix=fnat${Deno.pid}`, ...(opts.extra ?? [])] },
      hasHugepages(meminfo),
    );
    const { argv, keep } = cStringArray(args);
    check("fnat_eal_init", lib.fnat_eal_init(args.length, argv), `start DPDK (${args.join(" ")})`);
    void keep;
    ealDone = true;
  }

  /**
   * Creates an in-memory test port (RX fed by `inject`, TX read by `collect`) with one queue
   * pair per worker; returns its port id.
   */
  static createTestPort(name: string, queues: number): number {
    const lib = openLibrary();
    return check(
      "fnat_test_port_create",
      lib.fnat_test_port_create(new TextEncoder().encode(name + "\0"), queues),
      `create test port ${name}`,
    );
  }

  /** Creates the data plane on ports (after `initEal`). */
  static create(opts: DataPlaneOptions): DataPlane {
    const lib = openLibrary();
    const out = new BigUint64Array(1);
    check("fnat_create", lib.fnat_create(encodeOptions(opts), out), "create the data plane");
    return new DataPlane(lib, Deno.UnsafePointer.create(out[0]!), opts);
  }

  /** The number of workers. */
  get workers(): number {
    return this.#workers;
  }

  /** Launches the worker lcores. */
  start(): void {
    check("fnat_start", this.#lib.fnat_start(this.#dp), "start the workers");
  }

  /** Stops the workers (sessions stay). */
  stop(): void {
    check("fnat_stop", this.#lib.fnat_stop(this.#dp), "stop the workers");
  }

  /** Stops and frees everything. The object is unusable afterwards. */
  destroy(): void {
    this.#lib.fnat_destroy(this.#dp);
    this.#dp = null;
  }

  /** Validates and publishes a configuration snapshot atomically. */
  apply(config: DataPlaneConfig): void {
    validateConfig(config);
    const e = encodeConfig(config);
    check(
      "fnat_apply",
      this.#lib.fnat_apply(
        this.#dp,
        e.services,
        e.nServices,
        e.reals,
        e.nReals,
        new Uint8Array(e.lips.buffer),
        e.lips.length,
      ),
      `apply ${config.services.length} services`,
    );
    const sync = config.sync ? `sync with ${config.sync.peers.length} peers` : "turn sync off";
    check("fnat_sync_set", this.#lib.fnat_sync_set(this.#dp, encodeSync(config.sync)), sync);
  }

  /**
   * Asks every peer for a full snapshot of its sessions (before this node announces its VIPs);
   * `peers()` shows the answers arrive.
   */
  requestSync(): void {
    check("fnat_sync_request", this.#lib.fnat_sync_request(this.#dp), "ask peers for sessions");
  }

  /**
   * Takes over a LIP this node stands by for (its owner's routes are gone): every session of
   * it is carried on here from now on.
   */
  takeOver(lip: string): void {
    check(
      "fnat_sync_take_over",
      this.#lib.fnat_sync_take_over(this.#dp, addrWord(lip)),
      `take over LIP ${lip}`,
    );
  }

  /** What this node knows of each peer; empty when sync is off. */
  peers(): PeerStats[] {
    const buf = new Uint8Array(peerStats.size * MAX_PEERS);
    const n = this.#lib.fnat_sync_status(this.#dp, buf, MAX_PEERS);
    if (n === -107) return []; // ENOTCONN: sync off
    return decodePeers(buf, check("fnat_sync_status", n, "read the peers"));
  }

  /** Every counter, read in one FFI call. */
  stats(): DataPlaneStats {
    let caps = [this.#workers, 64, 512];
    for (;;) {
      const w = new Uint8Array(workerStats.size * caps[0]!);
      const s = new Uint8Array(serviceStats.size * caps[1]!);
      const r = new Uint8Array(realStats.size * caps[2]!);
      const n = new Uint32Array(3);
      const rc = this.#lib.fnat_stats(
        this.#dp,
        w,
        caps[0]!,
        s,
        caps[1]!,
        r,
        caps[2]!,
        new Uint8Array(n.buffer),
      );
      if (rc === -28) {
        caps = [n[0]!, n[1]!, n[2]!];
        continue;
      }
      check("fnat_stats", rc, "read counters");
      return decodeStats(w, n[0]!, s, n[1]!, r, n[2]!);
    }
  }

  /** Live sessions over all workers. */
  sessionCount(): number {
    return Number(this.#lib.fnat_session_count(this.#dp));
  }

  /** Lists sessions (at most `limit`). */
  sessions(limit = 100_000): Session[] {
    const cap = Math.min(limit, this.#maxSessions);
    const buf = new Uint8Array(sessionInfo.size * Math.max(1, cap));
    const n = check("fnat_sessions", this.#lib.fnat_sessions(this.#dp, buf, cap), "list sessions");
    return decodeSessions(buf, n);
  }

  /** The worker that owns a LIP port. */
  lipOwner(lip: string, port: number): number {
    return check(
      "fnat_lip_owner",
      this.#lib.fnat_lip_owner(this.#dp, addrWord(lip), port),
      `find the owner of ${lip}:${port}`,
    );
  }

  /** Puts raw frames on a test port's RX queue; returns how many were queued. */
  inject(frames: Uint8Array[], to: InjectTarget = {}): number {
    const port = to.port ?? this.#testPort;
    const queue = to.queue ?? 0;
    for (const f of frames) {
      check(
        "fnat_inject",
        this.#lib.fnat_inject(this.#dp, port, queue, f, f.length),
        `inject a ${f.length}-byte frame on port ${port} queue ${queue}`,
      );
    }
    return frames.length;
  }

  /** Test mode: runs one iteration of a worker; returns the packets it processed. */
  poll(worker: number): number {
    return check("fnat_poll", this.#lib.fnat_poll(this.#dp, worker), `poll worker ${worker}`);
  }

  /** Takes the frames a test port transmitted, in order. */
  collect(port = this.#testPort): Uint8Array[] {
    const out: Uint8Array[] = [];
    const max = 256;
    for (;;) {
      const buf = new Uint8Array(max * 2048);
      const lens = new Uint32Array(max);
      const n = check(
        "fnat_collect",
        this.#lib.fnat_collect(this.#dp, port, buf, buf.length, new Uint8Array(lens.buffer), max),
        `collect frames of port ${port}`,
      );
      let off = 0;
      for (let i = 0; i < n; i++) {
        out.push(buf.slice(off, off + lens[i]!));
        off += lens[i]!;
      }
      if (n < max) return out;
    }
  }

  /** Test mode: advances the data plane's clock. */
  advanceClock(seconds: number): void {
    this.#lib.fnat_clock_advance(this.#dp, BigInt(Math.round(seconds * 1e9)));
  }

  /** The ports this data plane runs on. */
  get ports(): number[] {
    return [...this.#ports];
  }
}

/** The library's own description of the FFI structs (for the ABI test). */
export function libraryAbi(): {
  structs: Record<string, { size: number; align: number; fields: Record<string, number[]> }>;
} {
  const lib = openLibrary();
  const buf = new Uint8Array(16384);
  const n = check("fnat_abi", lib.fnat_abi(buf, buf.length), "describe the ABI");
  return JSON.parse(new TextDecoder().decode(buf.subarray(0, n)));
}
