import assert from "node:assert/strict";
import { DEFAULT_LIBRARY_PATH, symbols } from "./ffi.ts";

/** The dynamic symbols libfnat.so defines (`nm -D --defined-only`). */
async function exported(path: string): Promise<string[]> {
  const out = await new Deno.Command("nm", { args: ["-D", "--defined-only", path] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim().split(/\s+/)[2])
    .filter((s): s is string => !!s).sort();
}

Deno.test("libfnat.so exports exactly the fnat_* API that the FFI binding declares", async () => {
  const names = await exported(DEFAULT_LIBRARY_PATH);
  assert.deepEqual(names.filter((n) => !n.startsWith("fnat_")), [], "only fnat_* is exported");
  assert.deepEqual(names, Object.keys(symbols).sort());
});
