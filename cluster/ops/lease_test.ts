import assert from "node:assert/strict";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { drainNode, endpointOf } from "../transport/endpoint.ts";
import { TransportError } from "../transport/transport.ts";
import {
  acquireClusterLease,
  LeaseBusyError,
  LeaseError,
  LeaseLostError,
  majorityOf,
  refusalMessage,
} from "./lease.ts";
import { ManualClock } from "./_testing.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);
const [N1, N2, N3] = LAB.nodes as [typeof LAB.nodes[0], typeof LAB.nodes[0], typeof LAB.nodes[0]];

function fleet() {
  const clock = new ManualClock();
  const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
  fake.clock = clock.now;
  const opts = (holder: string) => ({ transport: fake, nodes: LAB.nodes, holder, clock });
  /** Takes one node's lease as another run would (no renewal). */
  const take = async (node: typeof N1, holder: string) => {
    const r = await fake.agent(endpointOf(node), "POST", "/v1/lease/acquire", {
      holder,
      ttlMs: 60_000,
    });
    assert.equal(r.status, 200);
  };
  return { clock, fake, opts, take };
}

Deno.test("majorityOf() counts more than half", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(majorityOf), [1, 2, 2, 3, 3]);
});

Deno.test("refusalMessage() names the holders, the count and every refusal", () => {
  const { message, holders } = refusalMessage("Cannot take it", [
    { node: "n1", ok: false, holder: "bob", error: "409 held by bob" },
    { node: "n2", ok: false, holder: "bob", error: "409 held by bob" },
    { node: "n3", ok: false, holder: null, error: "n3: connection refused" },
  ], 3);
  assert.deepEqual(holders, ["bob"]);
  assert.match(message, /^Cannot take it: the rollout lease is held by "bob" on n1, n2; /);
  assert.match(message, /got it on 0 of 3 nodes, a majority needs 2/);
  assert.match(message, /n3: n3: connection refused$/);
});

Deno.test("acquireClusterLease() holds a majority; a node held by another run is fenced off, not acted on", async () => {
  const { clock, fake, opts, take } = fleet();
  await take(N3, "bob");
  const lease = await acquireClusterLease(opts("alice"));
  try {
    assert.deepEqual([...lease.tokens().keys()], ["node1", "node2"]);
    assert.deepEqual(await lease.fence(N1), { "x-lvs-lease-token": "1" });
    await assert.rejects(lease.fence(N3), (e: unknown) => {
      assert.ok(e instanceof LeaseError);
      assert.match(e.message, /Cannot act on node3: the rollout does not hold its lease/);
      assert.match(e.message, /held by "bob" \(token 1\)/);
      return true;
    });
    // Once bob's lease ran out, the next renewal round takes node3 as well.
    await clock.sleep(60_000);
    assert.equal(fake.node("node3").lease.holder, "alice");
    assert.deepEqual(await lease.fence(N3), { "x-lvs-lease-token": "2" });
  } finally {
    await lease.release();
  }
  for (const n of fake.nodes.values()) assert.equal(n.lease.holder, null);
});

Deno.test("acquireClusterLease() without a majority gives back what it took and names the holder", async () => {
  const { fake, opts, take } = fleet();
  await take(N1, "bob@ops2");
  await take(N2, "bob@ops2");
  await assert.rejects(acquireClusterLease(opts("alice")), (e: unknown) => {
    assert.ok(e instanceof LeaseBusyError);
    assert.deepEqual(e.holders, ["bob@ops2"]);
    assert.match(e.message, /Cannot take the cluster's rollout lease for "alice"/);
    assert.match(e.message, /held by "bob@ops2" on node1, node2; got it on 1 of 3 nodes/);
    return true;
  });
  assert.equal(fake.node("node3").lease.holder, null, "node3 was given back");
  assert.equal(fake.node("node3").lease.token, 1);
});

Deno.test("acquireClusterLease() with a majority unreachable is refused with each node's reason", async () => {
  const { fake, opts } = fleet();
  fake.node("node2").up = false;
  fake.node("node3").up = false;
  await assert.rejects(acquireClusterLease(opts("alice")), (e: unknown) => {
    assert.ok(e instanceof LeaseError && !(e instanceof LeaseBusyError));
    assert.match(e.message, /got it on 1 of 3 nodes, a majority needs 2/);
    assert.match(e.message, /node2: node2: connection refused; node3: node3: connection refused/);
    return true;
  });
  assert.equal(fake.node("node1").lease.holder, null);
});

Deno.test("agents whose release predates leases are named as such", async () => {
  const { fake, opts } = fleet();
  const agent = fake.agent.bind(fake);
  fake.agent = (ep, m, p, b, o) =>
    p.startsWith("/v1/lease")
      ? Promise.resolve({ status: 404, body: { error: `No such agent call: ${m} ${p}` } })
      : agent(ep, m, p, b, o);
  await assert.rejects(
    acquireClusterLease(opts("alice")),
    /node1: its agent has no lease API \(404\): it runs a release older than cluster-wide leases/,
  );
});

Deno.test("a holder paused past expiry loses its fencing token: the agents refuse its next action naming the new holder", async () => {
  const { clock, fake, opts } = fleet();
  const alice = await acquireClusterLease(opts("alice@ops1"));
  const headers = await alice.fence(N1);
  clock.pause(61_000); // alice's process is frozen: no renewal runs
  const bob = await acquireClusterLease(opts("bob@ops2"));
  try {
    await assert.rejects(drainNode(fake, N1, { headers }), (e: unknown) => {
      assert.ok(e instanceof TransportError);
      assert.equal(e.node, "node1");
      assert.match(
        e.message,
        /^node1: POST \/v1\/drain: 409 Refused POST \/v1\/drain: lease token 1 is stale; the rollout lease is held by "bob@ops2" \(token 2\) for 60 s more$/,
      );
      return true;
    });
    assert.equal(fake.node("node1").drained, false);
    // Alice wakes up: her next renewal round finds the lease gone and she stops.
    await clock.sleep(1);
    assert.match(
      alice.lost ?? "",
      /lost the cluster's lease \("alice@ops1"\): .*held by "bob@ops2"/,
    );
    assert.throws(() => alice.assertHeld(), LeaseLostError);
    await assert.rejects(alice.fence(N2), LeaseLostError);
    await alice.release(); // gives back nothing of bob's
    assert.equal(fake.node("node1").lease.holder, "bob@ops2");
  } finally {
    await bob.release();
  }
});

Deno.test("a lease whose holder dies expires on the agents and is taken over with larger tokens", async () => {
  const { clock, fake, opts } = fleet();
  const alice = await acquireClusterLease(opts("alice"));
  void alice; // alice's lvsctl is killed: neither renewed nor released
  await assert.rejects(acquireClusterLease(opts("bob")), /held by "alice" on node1, node2, node3/);
  clock.pause(60_000);
  const bob = await acquireClusterLease(opts("bob"));
  assert.deepEqual([...bob.tokens().values()], [2, 2, 2]);
  await bob.release();
  assert.ok([...fake.nodes.values()].every((n) => n.lease.holder === null));
});
