import assert from "node:assert/strict";
import { PcapReader } from "./pcap.ts";

function stream(little: boolean, frames: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const g = new DataView(new ArrayBuffer(24));
  g.setUint32(0, 0xa1b2c3d4, little);
  g.setUint16(4, 2, little);
  g.setUint16(6, 4, little);
  g.setUint32(16, 262144, little);
  g.setUint32(20, 1, little);
  parts.push(new Uint8Array(g.buffer));
  frames.forEach((f, i) => {
    const h = new DataView(new ArrayBuffer(16));
    h.setUint32(0, 100 + i, little);
    h.setUint32(4, 5, little);
    h.setUint32(8, f.length, little);
    h.setUint32(12, f.length + 10, little);
    parts.push(new Uint8Array(h.buffer), f);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

Deno.test("PcapReader returns whole records however the stream is split, in both byte orders", () => {
  for (const little of [true, false]) {
    const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(60).fill(7), new Uint8Array([9])];
    const bytes = stream(little, frames);
    for (const step of [1, 7, 16, 1000]) {
      const r = new PcapReader();
      const got = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...r.push(bytes.slice(i, i + step)));
      assert.equal(r.linkType, 1);
      assert.deepEqual(got.map((g) => [...g.data]), frames.map((f) => [...f]));
      assert.equal(got[1]?.timeUs, 101 * 1e6 + 5);
      assert.equal(got[2]?.originalLength, 11);
    }
  }
});

Deno.test("PcapReader rejects a stream that is not pcap", () => {
  assert.throws(() => new PcapReader().push(new Uint8Array(24).fill(0x41)), /Not a pcap stream/);
});
