/**
 * Reading the TOA option as a real server sees it: the load balancer puts the client's
 * address and port into a TCP option (kind 254 by default, length 8: kind, length, port,
 * IPv4 address, network byte order) in the first packets of a FULLNAT connection. In
 * production a kernel module on the real server exposes it through getpeername(); the lab's
 * real servers read it from captured frames instead. Pure: no I/O.
 *
 * @module
 */

/** What a TOA option carried, and the connection (as the real server sees it) it arrived on. */
export interface ToaObservation {
  /** The TCP peer of the real server: the load balancer's LIP and local port. */
  peer: { address: string; port: number };
  /** The real server's own address and port. */
  local: { address: string; port: number };
  /** The client's address and port from the option. */
  client: { address: string; port: number };
}

function ipv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/**
 * Extracts the TOA option from one Ethernet frame carrying IPv4/TCP, or returns undefined
 * when the frame is not IPv4/TCP, is truncated, or has no well-formed option of `kind`.
 *
 * @example
 * ```ts
 * const obs = toaFromFrame(frame, 254);
 * if (obs) console.log(`${obs.peer.address}:${obs.peer.port} is ${obs.client.address}`);
 * ```
 */
export function toaFromFrame(frame: Uint8Array, kind = 254): ToaObservation | undefined {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let off = 12;
  if (frame.length < off + 2) return undefined;
  let etherType = v.getUint16(off);
  off += 2;
  if (etherType === 0x8100) { // one VLAN tag
    if (frame.length < off + 4) return undefined;
    etherType = v.getUint16(off + 2);
    off += 4;
  }
  if (etherType !== 0x0800 || frame.length < off + 20) return undefined;
  const ihl = (frame[off]! & 0x0f) * 4;
  if (frame[off]! >> 4 !== 4 || ihl < 20 || frame[off + 9] !== 6) return undefined;
  const src = ipv4(frame, off + 12);
  const dst = ipv4(frame, off + 16);
  const tcp = off + ihl;
  if (frame.length < tcp + 20) return undefined;
  const dataOffset = (frame[tcp + 12]! >> 4) * 4;
  if (dataOffset < 20 || frame.length < tcp + dataOffset) return undefined;
  for (let o = tcp + 20; o < tcp + dataOffset;) {
    const k = frame[o]!;
    if (k === 0) break; // end of option list
    if (k === 1) { // NOP
      o++;
      continue;
    }
    const len = frame[o + 1];
    if (len === undefined || len < 2 || o + len > tcp + dataOffset) return undefined;
    if (k === kind && len === 8) {
      return {
        peer: { address: src, port: v.getUint16(tcp) },
        local: { address: dst, port: v.getUint16(tcp + 2) },
        client: { address: ipv4(frame, o + 4), port: v.getUint16(o + 2) },
      };
    }
    o += len;
  }
  return undefined;
}

/**
 * Remembers the latest TOA per peer (LIP:lport) with a bounded size and age, so a real
 * server can answer "who is really behind this connection".
 */
export class ToaTable {
  #map = new Map<string, { obs: ToaObservation; at: number }>();

  constructor(private readonly maxEntries = 65536, private readonly maxAgeMs = 600_000) {}

  /** Records an observation seen at `now` (ms). */
  record(obs: ToaObservation, now: number): void {
    const key = `${obs.peer.address}:${obs.peer.port}`;
    this.#map.delete(key); // re-insert so iteration order is age order
    this.#map.set(key, { obs, at: now });
    while (this.#map.size > this.maxEntries) {
      const oldest = this.#map.keys().next().value;
      if (oldest === undefined) break;
      this.#map.delete(oldest);
    }
  }

  /** The client behind `peer`, if a fresh-enough TOA was seen for it. */
  lookup(peer: { address: string; port: number }, now: number): ToaObservation | undefined {
    const e = this.#map.get(`${peer.address}:${peer.port}`);
    if (!e || now - e.at > this.maxAgeMs) return undefined;
    return e.obs;
  }

  /** Entries currently held. */
  get size(): number {
    return this.#map.size;
  }
}
