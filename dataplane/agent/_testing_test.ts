import { FakeDataPlane } from "./_testing.ts";
import { dataPlanePortConformance } from "./dataplane_port_conformance.ts";

Deno.test("FakeDataPlane passes the data plane port conformance suite", (t) =>
  dataPlanePortConformance(t, () => Promise.resolve({ port: new FakeDataPlane() })));
