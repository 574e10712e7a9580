/**
 * Test doubles for the agent: hand-driven timers and recording fakes of the data plane and
 * routing ports. Not part of the public API.
 *
 * @module
 */
import type { DataPlaneConfig } from "../binding/config.ts";
import type { DataPlaneCounters, DataPlanePort, RoutingPort, RoutingStatus } from "./agent.ts";
import type { Timers } from "./health.ts";

/** Timers driven by hand: `advance()` runs every due callback and lets probes settle. */
export class ManualTimers implements Timers {
  t = 0;
  #next = 1;
  #due = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#due.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.#due.delete(id as number);
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (const [id, d] of [...this.#due]) {
      if (d.at <= this.t) {
        this.#due.delete(id);
        d.fn();
      }
    }
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
  pending(): number {
    return this.#due.size;
  }
}

/** Records every snapshot it is given; `failNext` makes the next apply throw. */
export class FakeDataPlane implements DataPlanePort {
  applied: DataPlaneConfig[] = [];
  failNext: string | undefined;
  sessions = 0;
  apply(config: DataPlaneConfig): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      return Promise.reject(new Error(msg));
    }
    this.applied.push(structuredClone(config));
    return Promise.resolve();
  }
  counters(): Promise<DataPlaneCounters> {
    return Promise.resolve({
      sessions: this.sessions,
      packetsIn: 0,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      drops: {},
      synCookies: { sent: 0, valid: 0, invalid: 0 },
    });
  }
  get last(): DataPlaneConfig | undefined {
    return this.applied.at(-1);
  }
}

/** Records every announcement; `failNext` makes the next one throw (as BIRD refusing it). */
export class FakeRouting implements RoutingPort {
  announced: Array<{ vips: string[]; lips: string[] }> = [];
  failNext: string | undefined;
  announce(routes: { vips: string[]; lips: string[] }): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      return Promise.reject(new Error(msg));
    }
    this.announced.push(structuredClone(routes));
    return Promise.resolve();
  }
  status(): Promise<RoutingStatus> {
    const last = this.announced.at(-1) ?? { vips: [], lips: [] };
    return Promise.resolve({
      adjacency: "Full",
      neighbor: "10.0.0.1",
      advertised: [...last.vips, ...last.lips].map((a) => `${a}/32`),
    });
  }
  get last(): { vips: string[]; lips: string[] } | undefined {
    return this.announced.at(-1);
  }
}
