import assert from "node:assert/strict";
import { cStringArray, openLibrary } from "./ffi.ts";

Deno.test("libfnat loads through FFI, reports its version and brings up DPDK on virtual ports", () => {
  const lib = openLibrary();
  const version = Deno.UnsafePointerView.getCString(lib.fnat_version()!);
  assert.match(version, /^\d+\.\d+\.\d+$/);

  const args = [
    "fnat-test",
    "--no-huge",
    "--no-shconf",
    "--no-pci",
    "--no-telemetry",
    "-m",
    "128",
    "-l",
    "0",
    "--log-level=lib.eal:error",
    "--vdev=net_null0",
    "--vdev=net_ring0",
  ];
  const { argv, keep } = cStringArray(args);
  const rc = lib.fnat_eal_init(args.length, argv);
  assert.ok(keep.length === args.length);
  assert.equal(rc, 0, `fnat_eal_init returned ${rc}`);
  assert.equal(lib.fnat_port_count(), 2);
  // A second initialisation in the same process is refused, not repeated.
  assert.equal(lib.fnat_eal_init(args.length, cStringArray(args).argv), -114 /* -EALREADY */);
});
