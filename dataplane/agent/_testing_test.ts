import { FakeDataPlane, FakeRouting } from "./_testing.ts";
import { routingPortConformance } from "./routing_port_conformance.ts";
import { dataPlanePortConformance } from "./dataplane_port_conformance.ts";

Deno.test("FakeDataPlane passes the data plane port conformance suite", (t) =>
  dataPlanePortConformance(t, () => Promise.resolve({ port: new FakeDataPlane() })));

Deno.test("FakeRouting passes the routing port conformance suite", (t) => {
  const fake = new FakeRouting("10.0.0.2");
  fake.others.set("10.0.0.3", ["10.0.0.103/32"]);
  return routingPortConformance(t, {
    port: fake,
    routerId: "10.0.0.2",
    neighbor: "10.0.0.1",
    other: { routerId: "10.0.0.3", announces: ["10.0.0.103/32"] },
    settleMs: 0,
  });
});
