/**
 * C struct layouts on the TypeScript side of the FFI seam. A layout is declared field by field in
 * C order; offsets, sizes and alignment follow the System V x86-64 / AArch64 rules (natural
 * alignment, the struct padded to its largest member), so the numbers are computed here, not
 * copied from C, and `abi_test.ts` compares them with the library's own `offsetof`/`sizeof`.
 *
 * @example
 * ```ts
 * const point = defineStruct("fnat_point", [["x", "u32"], ["y", "u64"]]);
 * point.size;            // 16
 * point.fields.y.offset; // 8
 * const buf = new Uint8Array(point.size);
 * point.write(buf, { x: 1, y: 2 });
 * point.read(buf).y;     // 2
 * ```
 *
 * @module
 */

/** Scalar C types. `be16`/`be32` are `rte_be16_t`/`rte_be32_t`: stored in network byte order. */
export type Scalar = "u8" | "u16" | "u32" | "u64" | "i32" | "i64" | "be16" | "be32" | "ptr";

/** A field's type: a scalar, a nested struct, or a fixed array of either. */
export type FieldType =
  // deno-lint-ignore no-explicit-any
  Scalar | StructLayout<any> | { array: Scalar | StructLayout<any>; length: number };

/** One placed field. */
export interface Field {
  name: string;
  type: FieldType;
  offset: number;
  size: number;
  align: number;
}

/** The JavaScript value of a field: numbers for scalars (u64 too, exact below 2^53). */
export type FieldValue = number | Record<string, unknown> | FieldValue[];

/** A laid-out struct with a reader and a writer over byte buffers. */
export interface StructLayout<F extends string> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly fields: Record<F, Field>;
  readonly order: readonly F[];
  /** Reads every field at `offset` (numbers, nested objects, arrays). */
  read(buf: Uint8Array, offset?: number): Record<F, FieldValue>;
  /** Writes the given fields at `offset`; absent fields are left as they are (zero when new). */
  write(buf: Uint8Array, value: Partial<Record<F, unknown>>, offset?: number): void;
}

const SCALAR_SIZE: Record<Scalar, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  i32: 4,
  i64: 8,
  be16: 2,
  be32: 4,
  ptr: 8,
};

function sizeAlign(t: FieldType): { size: number; align: number } {
  if (typeof t === "string") return { size: SCALAR_SIZE[t], align: SCALAR_SIZE[t] };
  if ("array" in t) {
    const e = sizeAlign(t.array);
    return { size: e.size * t.length, align: e.align };
  }
  return { size: t.size, align: t.align };
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

function readScalar(dv: DataView, off: number, t: Scalar): number {
  switch (t) {
    case "u8":
      return dv.getUint8(off);
    case "u16":
      return dv.getUint16(off, true);
    case "be16":
      return dv.getUint16(off, false);
    case "u32":
      return dv.getUint32(off, true);
    case "be32":
      return dv.getUint32(off, false);
    case "i32":
      return dv.getInt32(off, true);
    case "u64":
    case "ptr":
      return Number(dv.getBigUint64(off, true));
    case "i64":
      return Number(dv.getBigInt64(off, true));
  }
}

function writeScalar(dv: DataView, off: number, t: Scalar, v: unknown): void {
  if (typeof v !== "number" && typeof v !== "bigint") {
    throw new TypeError(`Cannot write ${String(v)} into a ${t} field: expected a number`);
  }
  const n = Number(v);
  switch (t) {
    case "u8":
      return dv.setUint8(off, n);
    case "u16":
      return dv.setUint16(off, n, true);
    case "be16":
      return dv.setUint16(off, n, false);
    case "u32":
      return dv.setUint32(off, n, true);
    case "be32":
      return dv.setUint32(off, n, false);
    case "i32":
      return dv.setInt32(off, n, true);
    case "u64":
    case "ptr":
      return dv.setBigUint64(off, BigInt(v), true);
    case "i64":
      return dv.setBigInt64(off, BigInt(v), true);
  }
}

function readType(dv: DataView, buf: Uint8Array, off: number, t: FieldType): FieldValue {
  if (typeof t === "string") return readScalar(dv, off, t);
  if ("array" in t) {
    const step = sizeAlign(t.array).size;
    return Array.from({ length: t.length }, (_, i) => readType(dv, buf, off + i * step, t.array));
  }
  return t.read(buf, off) as Record<string, unknown>;
}

function writeType(dv: DataView, buf: Uint8Array, off: number, t: FieldType, v: unknown): void {
  if (typeof t === "string") return writeScalar(dv, off, t, v);
  if ("array" in t) {
    if (!Array.isArray(v) || v.length > t.length) {
      throw new TypeError(`Cannot write into an array of ${t.length}: got ${String(v)}`);
    }
    const step = sizeAlign(t.array).size;
    v.forEach((x, i) => writeType(dv, buf, off + i * step, t.array, x));
    return;
  }
  t.write(buf, v as Record<string, unknown>, off);
}

/**
 * Lays out a C struct from its fields in declaration order.
 * `__rte_cache_aligned` and other explicit alignments are given with `opts.align`.
 */
export function defineStruct<F extends string>(
  name: string,
  fields: readonly (readonly [F, FieldType])[],
  opts: { align?: number } = {},
): StructLayout<F> {
  let off = 0;
  let align = opts.align ?? 1;
  const placed = {} as Record<F, Field>;
  for (const [fname, type] of fields) {
    const sa = sizeAlign(type);
    off = roundUp(off, sa.align);
    placed[fname] = { name: fname, type, offset: off, size: sa.size, align: sa.align };
    off += sa.size;
    align = Math.max(align, sa.align);
  }
  const size = roundUp(off, align);
  const order = fields.map(([f]) => f);
  const dvOf = (buf: Uint8Array) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    name,
    size,
    align,
    fields: placed,
    order,
    read(buf, offset = 0) {
      const dv = dvOf(buf);
      const out = {} as Record<F, FieldValue>;
      for (const f of order) {
        out[f] = readType(dv, buf, offset + placed[f].offset, placed[f].type);
      }
      return out;
    },
    write(buf, value, offset = 0) {
      const dv = dvOf(buf);
      for (const f of order) {
        const v = value[f];
        if (v !== undefined) writeType(dv, buf, offset + placed[f].offset, placed[f].type, v);
      }
    },
  };
}

/** Reads a NUL-terminated string from a fixed `char[n]` field's bytes. */
export function readCString(bytes: readonly number[] | Uint8Array): string {
  const arr = Uint8Array.from(bytes);
  const end = arr.indexOf(0);
  return new TextDecoder().decode(end < 0 ? arr : arr.subarray(0, end));
}
