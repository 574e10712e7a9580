import assert from "node:assert/strict";
import { defineStruct, readCString } from "./wire.ts";

Deno.test("defineStruct() places fields with natural alignment and pads the tail", () => {
  const s = defineStruct("s", [["a", "u8"], ["b", "u32"], ["c", "u16"], ["d", "u64"], ["e", "u8"]]);
  assert.deepEqual(s.order.map((f) => s.fields[f].offset), [0, 4, 8, 16, 24]);
  assert.equal(s.size, 32);
  assert.equal(s.align, 8);
});

Deno.test("defineStruct() lays out nested structs, arrays and explicit alignment", () => {
  const inner = defineStruct("inner", [["x", "u16"], ["y", "u8"]]);
  assert.equal(inner.size, 4);
  const outer = defineStruct("outer", [["tag", "u8"], ["in", inner], ["arr", {
    array: "u32",
    length: 3,
  }], ["list", { array: inner, length: 2 }]], { align: 64 });
  assert.equal(outer.fields.in.offset, 2);
  assert.equal(outer.fields.arr.offset, 8);
  assert.equal(outer.fields.arr.size, 12);
  assert.equal(outer.fields.list.offset, 20);
  assert.equal(outer.size, 64);
});

Deno.test("StructLayout reads back what it wrote, big-endian fields in network order", () => {
  const inner = defineStruct("inner", [["x", "u16"], ["y", "u8"]]);
  const s = defineStruct("s", [["ip", "be32"], ["port", "be16"], ["n", "u64"], ["in", {
    array: inner,
    length: 2,
  }]]);
  const buf = new Uint8Array(s.size);
  s.write(buf, { ip: 0xc0000201, port: 80, n: 2 ** 40 + 3, in: [{ x: 7, y: 1 }, { x: 9, y: 2 }] });
  assert.deepEqual(Array.from(buf.subarray(0, 6)), [192, 0, 2, 1, 0, 80]);
  assert.deepEqual(s.read(buf), {
    ip: 0xc0000201,
    port: 80,
    n: 2 ** 40 + 3,
    in: [{ x: 7, y: 1 }, { x: 9, y: 2 }],
  });
  assert.throws(() => s.write(buf, { ip: "x" }), TypeError);
});

Deno.test("readCString() stops at the first NUL", () => {
  assert.equal(readCString(Uint8Array.of(104, 105, 0, 120)), "hi");
  assert.equal(readCString([104, 105]), "hi");
});
