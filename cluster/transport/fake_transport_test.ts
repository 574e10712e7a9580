import { FakeTransport } from "./fake_transport.ts";
import { transportConformance } from "./transport_conformance.ts";

Deno.test("FakeTransport passes the transport conformance suite", async (t) => {
  const fake = new FakeTransport(["a", "down"]);
  fake.node("down").up = false;
  const ep = (name: string) => ({
    name,
    host: name,
    port: 22,
    user: "root",
    keyFile: "/k",
    knownHosts: "/kh",
    agentSocket: "/s",
  });
  await transportConformance(t, {
    transport: fake,
    node: ep("a"),
    scratchDir: "/tmp/fake-scratch",
    unreachable: ep("down"),
  });
});
