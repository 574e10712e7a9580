/**
 * Pins every struct that crosses the FFI seam: sizes, alignment and field offsets as
 * `codec.ts` lays them out must equal what the library's compiler says (`fnat_abi`).
 */
import assert from "node:assert/strict";
import { WIRE_STRUCTS } from "./codec.ts";
import { libraryAbi } from "./dataplane.ts";

Deno.test("every FFI struct has the library's size, alignment and field offsets", () => {
  const abi = libraryAbi().structs;
  assert.deepEqual(
    Object.keys(abi).sort(),
    WIRE_STRUCTS.map((s) => s.name).sort(),
    "the same set of structs on both sides",
  );
  for (const layout of WIRE_STRUCTS) {
    const c = abi[layout.name]!;
    assert.equal(layout.size, c.size, `${layout.name}: size`);
    assert.equal(layout.align, c.align, `${layout.name}: alignment`);
    for (const [field, [offset, size]] of Object.entries(c.fields)) {
      const f = layout.fields[field as keyof typeof layout.fields];
      assert.ok(f, `${layout.name}.${field} exists on the TypeScript side`);
      assert.equal(f.offset, offset, `${layout.name}.${field}: offset`);
      assert.equal(f.size, size, `${layout.name}.${field}: size`);
    }
  }
});
