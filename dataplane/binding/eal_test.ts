import assert from "node:assert/strict";
import { ealArgs, hasHugepages, resolveVdev, XDP_FILTER } from "./eal.ts";

Deno.test("ealArgs() builds a quiet per-process EAL without hugepages when there are none", () => {
  assert.deepEqual(ealArgs({ vdevs: ["net_ring0"], noPci: true }), [
    "fnat",
    "--no-shconf",
    "--no-telemetry",
    "--log-level=lib.eal:error",
    "--no-huge",
    "-m",
    "256",
    "-l",
    "0",
    "--no-pci",
    "--vdev=net_ring0",
  ]);
});

Deno.test("ealArgs() uses hugepages when present and maps lcores onto cores with --lcores", () => {
  const a = ealArgs({ lcores: "0@0,1@0,2@1", extra: ["--huge-unlink"] }, true);
  assert.ok(!a.includes("--no-huge"));
  assert.ok(!a.includes("-m"));
  assert.ok(a.includes("--lcores=0@0,1@0,2@1"));
  assert.equal(a.at(-1), "--huge-unlink");
  assert.deepEqual(ealArgs({ lcores: "0-2", memoryMb: 512 }, true).slice(4), [
    "-m",
    "512",
    "-l",
    "0-2",
  ]);
});

Deno.test("hasHugepages() reads HugePages_Total from /proc/meminfo", () => {
  assert.equal(hasHugepages("MemTotal: 1 kB\nHugePages_Total:       0\n"), false);
  assert.equal(hasHugepages("HugePages_Total:     512\nHugePages_Free: 512\n"), true);
  assert.equal(hasHugepages(""), false);
});

Deno.test("ealArgs() gives xdp_prog=fnat the path of this checkout's XDP filter", () => {
  const args = ealArgs({ vdevs: ["net_af_xdp0,iface=eth0,xdp_prog=fnat"], noPci: true });
  assert.equal(args.at(-1), `--vdev=net_af_xdp0,iface=eth0,xdp_prog=${XDP_FILTER}`);
  assert.match(XDP_FILTER, /\/dataplane\/build\/fnat_xdp\.o$/);
  assert.equal(resolveVdev("net_af_packet0,iface=eth0"), "net_af_packet0,iface=eth0");
  assert.equal(
    resolveVdev("net_af_xdp0,xdp_prog=/x.o,iface=e", "/y.o"),
    "net_af_xdp0,xdp_prog=/x.o,iface=e",
  );
});
