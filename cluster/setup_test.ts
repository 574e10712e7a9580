import assert from "node:assert/strict";
import { DEBIAN_PACKAGES, missingPackages } from "./setup.ts";

Deno.test("missingPackages() lists what dpkg does not report as fully installed", () => {
  const out = [
    "bird2 install ok installed",
    "curl deinstall ok config-files",
    "dpdk-dev:amd64 install ok installed",
    "",
  ].join("\n");
  assert.deepEqual(missingPackages(out, ["bird2", "curl", "dpdk-dev", "tcpdump"]), [
    "curl",
    "tcpdump",
  ]);
});

Deno.test("the package list names the data plane, routing, SSH and browser dependencies", () => {
  for (const p of ["libdpdk-dev", "bird2", "openssh-server", "chromium", "iproute2"]) {
    assert.ok(DEBIAN_PACKAGES.includes(p), p);
  }
});
