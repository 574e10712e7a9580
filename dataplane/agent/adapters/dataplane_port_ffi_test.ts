/**
 * The adapter over the real data plane (libfnat through FFI, test mode) passes the same port
 * conformance suite as the agent's fake. Needs the library with the session sync calls.
 */
import { bringUp } from "../../testing/testbed.ts";
import { dataPlanePort } from "./dataplane_port.ts";
import { dataPlanePortConformance } from "../dataplane_port_conformance.ts";
import type { DataPlane } from "../../binding/dataplane.ts";

Deno.test("dataPlanePort() over the FFI data plane passes the port conformance suite", async (t) => {
  let dp: DataPlane | undefined;
  await dataPlanePortConformance(t, () => {
    // One EAL and one data plane per process: every step starts from sync off.
    dp ??= bringUp({ workers: 1 });
    dp.apply({ services: [], localAddresses: [] });
    return Promise.resolve({ port: dataPlanePort(dp) });
  });
  dp?.destroy();
});
