/**
 * The FFI seam to libfnat: one `symbols` object keyed by the exact C names, mirroring
 * `include/fnat.h`. Set `FNAT_LIB` to load the library from another path.
 *
 * @module
 */

/** Default location of the built library, next to this file. */
export const DEFAULT_LIBRARY_PATH: string =
  new URL("../build/libfnat.so", import.meta.url).pathname;

/** The exported C functions, parameter by parameter. */
export const symbols = {
  /** const char *fnat_version(void) */
  fnat_version: { parameters: [], result: "pointer" },
  /** int fnat_eal_init(int argc, char **argv) */
  fnat_eal_init: { parameters: ["i32", "buffer"], result: "i32" },
  /** uint16_t fnat_port_count(void) */
  fnat_port_count: { parameters: [], result: "u16" },
  /** int fnat_test_port_create(const char *name, uint16_t queues) */
  fnat_test_port_create: { parameters: ["buffer", "u16"], result: "i32" },
  /** int fnat_create(const struct fnat_options *opts, struct fnat_dp **out) */
  fnat_create: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int fnat_start(struct fnat_dp *dp) */
  fnat_start: { parameters: ["pointer"], result: "i32" },
  /** int fnat_stop(struct fnat_dp *dp) */
  fnat_stop: { parameters: ["pointer"], result: "i32" },
  /** void fnat_destroy(struct fnat_dp *dp) */
  fnat_destroy: { parameters: ["pointer"], result: "void" },
  /** int fnat_apply(dp, const struct fnat_service_conf *svcs, uint32_t n_svcs,
   *                 const struct fnat_real_conf *reals, uint32_t n_reals,
   *                 const uint32_t *lips, uint32_t n_lips) */
  fnat_apply: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  /** int fnat_stats(dp, struct fnat_worker_stats *w, uint32_t w_cap,
   *                 struct fnat_service_stats *s, uint32_t s_cap,
   *                 struct fnat_real_stats *r, uint32_t r_cap, uint32_t *n_out) */
  fnat_stats: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
  /** uint64_t fnat_session_count(struct fnat_dp *dp) */
  fnat_session_count: { parameters: ["pointer"], result: "u64" },
  /** int fnat_sessions(dp, struct fnat_session_info *out, uint32_t cap) */
  fnat_sessions: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  /** int fnat_lip_owner(dp, uint32_t lip, uint16_t port) */
  fnat_lip_owner: { parameters: ["pointer", "u32", "u16"], result: "i32" },
  /** const char *fnat_drop_name(uint32_t reason) */
  fnat_drop_name: { parameters: ["u32"], result: "pointer" },
  /** int fnat_inject(dp, uint16_t port, uint16_t queue, const uint8_t *frame, uint32_t len) */
  fnat_inject: { parameters: ["pointer", "u16", "u16", "buffer", "u32"], result: "i32" },
  /** int fnat_poll(dp, uint32_t worker) */
  fnat_poll: { parameters: ["pointer", "u32"], result: "i32" },
  /** int fnat_collect(dp, uint16_t port, uint8_t *buf, uint32_t cap, uint32_t *lens,
   *                   uint32_t max) */
  fnat_collect: {
    parameters: ["pointer", "u16", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  /** void fnat_clock_advance(dp, uint64_t ns) */
  fnat_clock_advance: { parameters: ["pointer", "u64"], result: "void" },
  /** int fnat_sync_set(dp, const struct fnat_sync_conf *conf) */
  fnat_sync_set: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int fnat_sync_request(dp) */
  fnat_sync_request: { parameters: ["pointer"], result: "i32" },
  /** int fnat_sync_take_over(dp, uint32_t lip) */
  fnat_sync_take_over: { parameters: ["pointer", "u32"], result: "i32" },
  /** int fnat_sync_status(dp, struct fnat_peer_stats *out, uint32_t cap) */
  fnat_sync_status: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  /** int fnat_abi(char *buf, uint32_t cap) */
  fnat_abi: { parameters: ["buffer", "u32"], result: "i32" },
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
