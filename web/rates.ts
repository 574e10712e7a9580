/**
 * Packet rates from successive counter readings, for fleet readers whose nodes report monotonic
 * totals only (the data plane's counters): keep the previous reading per node and derive pps.
 *
 * @example
 * ```ts
 * const meter = new RateMeter();
 * meter.update("node1", { t: 0, packetsIn: 0, packetsOut: 0 });
 * meter.update("node1", { t: 2000, packetsIn: 4000, packetsOut: 3900 }); // { ppsIn: 2000, ppsOut: 1950 }
 * ```
 *
 * @module
 */

/** One counter reading; `t` in epoch milliseconds. */
export interface CounterReading {
  t: number;
  packetsIn: number;
  packetsOut: number;
}

/** Per-second rates. */
export interface Rates {
  ppsIn: number;
  ppsOut: number;
}

/** Remembers the last reading per key and turns the next one into rates. */
export class RateMeter {
  readonly #last = new Map<string, CounterReading>();

  /**
   * Rates since the previous reading of `key`: zero for the first reading, and zero again after a
   * counter reset (a restarted data plane starts from 0) or a reading that is not newer.
   */
  update(key: string, cur: CounterReading): Rates {
    const prev = this.#last.get(key);
    this.#last.set(key, cur);
    if (prev === undefined || cur.t <= prev.t) return { ppsIn: 0, ppsOut: 0 };
    const dt = (cur.t - prev.t) / 1000;
    const rate = (a: number, b: number) => (b >= a ? (b - a) / dt : 0);
    return {
      ppsIn: rate(prev.packetsIn, cur.packetsIn),
      ppsOut: rate(prev.packetsOut, cur.packetsOut),
    };
  }

  /** Forgets a key (a node that left the fleet). */
  forget(key: string): void {
    this.#last.delete(key);
  }
}
