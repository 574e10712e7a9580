/**
 * Integration: `BirdRouting` passes the agent's routing port conformance suite (the one the
 * agent's `FakeRouting` passes) against a real BIRD 2: a two-node lab in network namespaces,
 * created and removed by the test, whose router is node1's OSPF neighbour (BIRD shows a node's
 * router LSA, and so what it announces, once the adjacency is up). Needs root; run under the
 * shared lab lock (`flock /tmp/lab.lock`).
 */
import assert from "node:assert/strict";
import { labDown, labUp, loadLabModel } from "../cluster/lab/network.ts";
import { listNamespaces, RealHost } from "../cluster/lab/netns.ts";
import { BirdRouting } from "../routing/bird/bird_routing.ts";
import { routingPortConformance } from "../dataplane/agent/routing_port_conformance.ts";
import { freshTestLab } from "./_test_lab.ts";

const IS_ROOT = Deno.uid() === 0;

Deno.test({
  name: "BirdRouting over a real BIRD 2 passes the routing port conformance suite",
  ignore: !IS_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const { prefix, stateRoot } = await freshTestLab("lrp");
  const model = await loadLabModel({
    prefix,
    stateDir: stateRoot,
    nodes: 2,
    realServers: 1,
    management: false,
    hello: 1,
    dead: 4,
  });
  try {
    await labUp(model);
    const [n1, n2] = [model.nodes[0]!, model.nodes[1]!];
    await routingPortConformance(t, {
      port: new BirdRouting({
        base: n1.routing,
        configPath: n1.bird.config,
        socket: n1.bird.socket,
      }),
      routerId: n1.address,
      neighbor: model.router.address,
      // node2 keeps announcing what the lab gave it: its VIP and its LIP.
      other: {
        routerId: n2.address,
        announces: [...n2.routing.vips, ...n2.routing.lips].map((a) => `${a}/32`),
      },
      // A router LSA is originated at most every 5 s (MinLSInterval), then SPF runs.
      settleMs: 20_000,
    });
  } finally {
    await labDown(prefix, stateRoot);
    assert.deepEqual(await listNamespaces(new RealHost(), prefix), [], "namespaces left behind");
    await Deno.remove(stateRoot, { recursive: true }).catch(() => {});
  }
});
