/**
 * DPDK EAL arguments from typed options (pure), for `DataPlane.initEal()`.
 *
 * @module
 */

import type { EalOptions } from "./types.ts";

/** True when the machine has hugepages reserved (`HugePages_Total` in /proc/meminfo above 0). */
export function hasHugepages(meminfo: string): boolean {
  const m = /^HugePages_Total:\s+(\d+)/m.exec(meminfo);
  return m !== null && Number(m[1]) > 0;
}

/** The data plane's XDP filter of this checkout (`make -C dataplane` builds it). */
export const XDP_FILTER = new URL("../build/fnat_xdp.o", import.meta.url).pathname;

/** A vdev with `xdp_prog=fnat` names this release's XDP filter ({@link XDP_FILTER}). */
export function resolveVdev(vdev: string, xdpFilter = XDP_FILTER): string {
  return vdev.split(",").map((kv) => kv === "xdp_prog=fnat" ? `xdp_prog=${xdpFilter}` : kv)
    .join(",");
}

/**
 * Builds the EAL argument vector (argv[0] included). Always per-process and quiet: no shared
 * config files, no telemetry socket, so several data planes (lab nodes, test files) coexist.
 *
 * @example
 * ```ts
 * ealArgs({ noHuge: true, vdevs: ["net_ring0"] });
 * // ["fnat", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:error", "--no-huge",
 * //  "-m", "256", "-l", "0", "--vdev=net_ring0"]
 * ```
 */
export function ealArgs(opts: EalOptions, hugepages = false): string[] {
  const args = ["fnat", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:error"];
  const noHuge = opts.noHuge ?? !hugepages;
  if (noHuge) args.push("--no-huge");
  if (opts.memoryMb !== undefined || noHuge) args.push("-m", String(opts.memoryMb ?? 256));
  const lcores = opts.lcores ?? "0";
  // A plain list ("0-2") is `-l`; a mapping onto physical cores ("0@0,1@1") needs `--lcores`.
  if (/[@(]/.test(lcores)) args.push(`--lcores=${lcores}`);
  else args.push("-l", lcores);
  if (opts.noPci) args.push("--no-pci");
  for (const v of opts.vdevs ?? []) args.push(`--vdev=${resolveVdev(v)}`);
  args.push(...(opts.extra ?? []));
  return args;
}
