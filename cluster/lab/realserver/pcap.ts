/**
 * A streaming reader of the classic pcap format (`tcpdump -U -w -`): feed it bytes as they
 * arrive and it returns every complete record. Pure: no I/O.
 *
 * @module
 */

/** One captured frame. */
export interface PcapRecord {
  /** Capture time in microseconds since the epoch. */
  timeUs: number;
  /** The captured bytes (possibly truncated to the snap length). */
  data: Uint8Array;
  /** The frame's length on the wire. */
  originalLength: number;
}

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/** Incremental pcap parser. Throws SyntaxError on a bad magic number or an absurd record. */
export class PcapReader {
  #buf = new Uint8Array(0);
  #little: boolean | undefined;
  #nanos = false;
  /** Link-layer type from the global header (1 = Ethernet), once read. */
  linkType: number | undefined;

  /** Appends bytes and returns the records completed by them. */
  push(chunk: Uint8Array): PcapRecord[] {
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf);
    merged.set(chunk, this.#buf.length);
    let off = 0;
    const out: PcapRecord[] = [];
    const view = new DataView(merged.buffer, merged.byteOffset, merged.byteLength);
    if (this.#little === undefined) {
      if (merged.length < GLOBAL_HEADER) {
        this.#buf = merged;
        return out;
      }
      const magic = view.getUint32(0, false);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.#little = false;
      else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.#little = true;
      else throw new SyntaxError(`Not a pcap stream: magic 0x${magic.toString(16)}`);
      this.#nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
      this.linkType = view.getUint32(20, this.#little);
      off = GLOBAL_HEADER;
    }
    const le = this.#little;
    while (merged.length - off >= RECORD_HEADER) {
      const sec = view.getUint32(off, le);
      const frac = view.getUint32(off + 4, le);
      const incl = view.getUint32(off + 8, le);
      const orig = view.getUint32(off + 12, le);
      if (incl > 262144) throw new SyntaxError(`pcap record at byte ${off} claims ${incl} bytes`);
      if (merged.length - off - RECORD_HEADER < incl) break;
      const start = off + RECORD_HEADER;
      out.push({
        timeUs: sec * 1e6 + (this.#nanos ? Math.floor(frac / 1000) : frac),
        data: merged.slice(start, start + incl),
        originalLength: orig,
      });
      off = start + incl;
    }
    this.#buf = merged.slice(off);
    return out;
  }
}
