/**
 * The FFI seam to libfnat: one `symbols` object keyed by the exact C names, mirroring
 * `include/fnat.h`. Set `FNAT_LIB` to load the library from another path.
 *
 * @module
 */

/** Default location of the built library, next to this file. */
export const DEFAULT_LIBRARY_PATH: string = new URL("./build/libfnat.so", import.meta.url).pathname;

/** The exported C functions, parameter by parameter. */
export const symbols = {
  /** const char *fnat_version(void) */
  fnat_version: { parameters: [], result: "pointer" },
  /** int fnat_eal_init(int argc, char **argv) */
  fnat_eal_init: { parameters: ["i32", "buffer"], result: "i32" },
  /** uint16_t fnat_port_count(void) */
  fnat_port_count: { parameters: [], result: "u16" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's symbols. */
export type FnatSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** Raised when a libfnat call fails: the operation and the (positive) errno. */
export class DataPlaneError extends Error {
  override name = "DataPlaneError";
  constructor(
    readonly op: string,
    readonly errno: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

let loaded: Deno.DynamicLibrary<typeof symbols> | undefined;

/**
 * Opens libfnat once per process (DPDK's EAL is per process too) and returns its symbols.
 *
 * @example
 * ```ts
 * const lib = openLibrary();
 * console.log(Deno.UnsafePointerView.getCString(lib.fnat_version()!));
 * ```
 */
export function openLibrary(
  path: string = Deno.env.get("FNAT_LIB") ?? DEFAULT_LIBRARY_PATH,
): FnatSymbols {
  if (loaded) return loaded.symbols;
  try {
    loaded = Deno.dlopen(path, symbols);
  } catch (e) {
    throw new DataPlaneError(
      "dlopen",
      0,
      `Cannot load libfnat from ${path}: run 'deno task build' first`,
      { cause: e },
    );
  }
  return loaded.symbols;
}

/**
 * Packs strings into a C `char *argv[]`: returns the pointer array and keeps the string
 * buffers referenced in `keep` so they outlive the call.
 */
export function cStringArray(
  items: readonly string[],
): { argv: BigUint64Array; keep: Uint8Array[] } {
  const enc = new TextEncoder();
  const keep = items.map((s) => enc.encode(s + "\0"));
  const argv = new BigUint64Array(items.length + 1);
  keep.forEach((buf, i) => {
    argv[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  });
  return { argv, keep };
}
