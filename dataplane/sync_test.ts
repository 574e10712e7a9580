/**
 * Session sync between nodes through the FFI test entry: three data planes in one process on one
 * segment (cluster_testbed.ts). A flow created on one node whose client frames then reach another
 * (the router re-hashed) is forwarded to its owner and translated there; sync datagrams that are
 * forged or replayed are refused and counted; a full record table keeps what it has; a node that
 * joins asks for and gets every session its peers own.
 */
import assert from "node:assert/strict";
import { parseFrame, type TcpSpec } from "./testing/packet.ts";
import { fromClient, fromReal, NET } from "./testing/testbed.ts";
import { makeNode, pump, serviceOf, syncOf, type TestNode } from "./testing/cluster_testbed.ts";

const a = makeNode(1);
const b = makeNode(2, { workers: 2 });
a.dp.apply(serviceOf(a, syncOf(a, [b])));
b.dp.apply(serviceOf(b, syncOf(b, [a])));
const nodes = [a, b];

const u32 = (n: number) => n >>> 0;
let nextPort = 41000;

/** A client frame to the VIP, as the router sends it to `node` (worker queue `queue`). */
function clientTo(node: TestNode, tcp: TcpSpec, queue = 0): void {
  const f = fromClient({ tcp });
  f.set([0x02, 0xfa, 0, 0, 1, parseInt(node.mac.slice(-2), 16)], 0); // the router's choice
  node.dp.inject([f], { queue });
}

/** Opens a connection through `owner`: SYN out to the real server, its SYN-ACK back. */
function open(owner: TestNode, among = nodes) {
  const cport = nextPort++;
  clientTo(owner, { srcPort: cport, dstPort: 80, seq: 1000, flags: "S", window: 64240 });
  const syn = pump(among).get(owner.name)!;
  assert.equal(syn.length, 1, "the SYN goes to the real server");
  const p = parseFrame(syn[0]!);
  const lport = p.tcp!.srcPort;
  const rsIsn = 7000;
  const sa = fromReal(0, {
    tcp: { srcPort: 8080, dstPort: lport, seq: rsIsn, ack: u32(p.tcp!.seq + 1), flags: "SA" },
  }, { dst: owner.lip });
  sa.set([0x02, 0xfa, 0, 0, 1, parseInt(owner.mac.slice(-2), 16)], 0);
  owner.dp.inject([sa]);
  const back = pump(among).get(owner.name)!;
  assert.equal(back.length, 1, "the SYN-ACK goes to the client");
  return { cport, lport, delta: u32(p.tcp!.seq - 1000), rsIsn };
}

function stats(n: TestNode) {
  const s = n.dp.stats();
  const sum = (k: keyof (typeof s.workers)[0]) =>
    s.workers.reduce((t, w) => t + (w[k] as number), 0);
  return { s, sum, records: s.workers[0]!.recordsActive };
}

Deno.test("a flow created on A whose client frames reach B is forwarded to A and translated there", () => {
  const c = open(a);
  const s = stats(b).s;
  assert.ok(s.workers.every((w) => w.recordsActive >= 1), "each of B's workers holds A's record");
  // The router moved the flow to B: the third ACK with data arrives there, on either worker.
  for (const queue of [0, 1]) {
    const seq = queue === 0 ? 1001 : 1006;
    clientTo(b, {
      srcPort: c.cport,
      dstPort: 80,
      seq,
      ack: c.rsIsn + 1,
      flags: "PA",
      payload: new TextEncoder().encode("hello"),
    }, queue);
    const before = stats(b).sum("forwardedOut");
    const out = pump(nodes);
    assert.equal(out.get(b.name)!.length, 0, "B sends nothing off the segment");
    assert.equal(stats(b).sum("forwardedOut"), before + 1, "B forwarded it");
    const sent = out.get(a.name)!;
    assert.equal(sent.length, 1, "A translated the forwarded frame");
    const p = parseFrame(sent[0]!);
    assert.equal(p.eth.dst, NET.reals[0].mac);
    assert.equal(p.ipv4!.src, a.lip);
    assert.equal(p.ipv4!.dst, NET.reals[0].address);
    assert.equal(p.tcp!.srcPort, c.lport);
    assert.equal(p.tcp!.dstPort, 8080);
    assert.equal(p.tcp!.seq, u32(seq + c.delta), "A's ISN shift");
    assert.equal(new TextDecoder().decode(p.tcp!.payload), "hello");
    if (queue === 0) {
      assert.ok(
        p.tcp!.options.some((o) => o.kind === "toa" && o.address === NET.client),
        "A inserts TOA: it still owns the connection's state",
      );
    }
  }
  assert.ok(stats(a).sum("forwardedIn") >= 2, "A counted the frames B forwarded");
  const peerOfB = b.dp.peers().find((p) => p.node === a.address)!;
  assert.equal(peerOfB.forwardedOut, 2);
  // The reply direction never moved: the real server answers A's LIP.
  const r = fromReal(0, {
    tcp: {
      srcPort: 8080,
      dstPort: c.lport,
      seq: c.rsIsn + 1,
      ack: u32(1011 + c.delta),
      flags: "A",
    },
  }, { dst: a.lip });
  r.set([0x02, 0xfa, 0, 0, 1, 1], 0);
  a.dp.inject([r]);
  const toClient = pump(nodes).get(a.name)!;
  assert.equal(toClient.length, 1);
  assert.equal(parseFrame(toClient[0]!).tcp!.ack, 1011, "acknowledgement shifted back");
});

Deno.test("a SYN retransmitted after a re-hash goes to the owner, never into a second session", () => {
  const cport = nextPort++;
  clientTo(a, { srcPort: cport, dstPort: 80, seq: 500, flags: "S", window: 64240 });
  pump(nodes);
  const sessionsB = b.dp.sessionCount();
  clientTo(b, { srcPort: cport, dstPort: 80, seq: 500, flags: "S", window: 64240 });
  const out = pump(nodes);
  assert.equal(b.dp.sessionCount(), sessionsB, "B created no session");
  assert.equal(out.get(b.name)!.length, 0);
  assert.equal(out.get(a.name)!.length, 1, "A sent the SYN to the real server again");
});

Deno.test("a flow nobody has a record of is dropped and counted, never reset", () => {
  const before = b.dp.stats().drops.no_session ?? 0;
  clientTo(b, { srcPort: 60000, dstPort: 80, seq: 1, ack: 1, flags: "A" });
  const out = pump(nodes);
  assert.equal(out.get(b.name)!.length, 0, "no RST");
  assert.equal(b.dp.stats().drops.no_session, before + 1);
});

Deno.test("a frame a peer forwarded is never forwarded again (loop guard)", () => {
  const c = open(b); // B owns it; A holds B's record
  const f = fromClient({ tcp: { srcPort: c.cport, dstPort: 80, seq: 1001, ack: 1, flags: "A" } });
  f.set([0x02, 0xfa, 0, 0, 1, 1], 0); // to A ...
  f.set([0x02, 0xfa, 0, 0, 1, 2], 6); // ... from B: as if B had forwarded it
  a.dp.inject([f]);
  const out = pump(nodes);
  assert.equal(out.get(a.name)!.length + out.get(b.name)!.length, 0);
  assert.equal(a.dp.stats().drops.forwarded_no_session, 1);
});

Deno.test("an ended session withdraws its record", () => {
  const c = open(a);
  const recs = stats(b).records;
  // The client resets the connection on A: A's session ends, so does B's record.
  clientTo(a, { srcPort: c.cport, dstPort: 80, seq: 1001, flags: "R" });
  pump(nodes);
  a.dp.advanceClock(15); // the closing session expires
  pump(nodes);
  assert.equal(stats(b).records, recs - 1);
});

Deno.test("forged, replayed and malformed sync datagrams are refused and counted", () => {
  // Capture one real datagram of A's instead of delivering it.
  clientTo(a, { srcPort: nextPort++, dstPort: 80, seq: 9, flags: "S", window: 64240 });
  for (let w = 0; w < a.workers; w++) a.dp.poll(w);
  const frames = a.dp.collect();
  const sync = frames.find((f) => parseFrame(f).udp?.dstPort === 1000)!;
  assert.ok(sync, "A sent a sync datagram");
  const deliver = (f: Uint8Array) => {
    b.dp.inject([f]);
    pump(nodes);
  };
  const drops = () => b.dp.stats().drops;
  deliver(sync);
  const taken = stats(b).sum("syncDatagramsReceived");
  deliver(sync); // the same again: a replay
  assert.equal(drops().sync_replay, 1);
  const forged = sync.slice();
  forged[14 + 20 + 8 + 40] = forged[14 + 20 + 8 + 40]! ^ 1; // a bit of the first record
  deliver(forged);
  assert.equal(drops().sync_auth, 1, "a bad MAC");
  const wrongVersion = sync.slice();
  wrongVersion[14 + 20 + 8 + 4] = 9;
  deliver(wrongVersion);
  assert.equal(drops().sync_malformed, 1);
  assert.equal(stats(b).sum("syncDatagramsReceived"), taken, "none of them was taken");
  // A node that is not a peer, with the right secret: refused too.
  const c = makeNode(3);
  c.dp.apply(serviceOf(c, syncOf(c, [b])));
  clientTo(c, { srcPort: nextPort++, dstPort: 80, seq: 9, flags: "S", window: 64240 });
  pump([c, b]);
  assert.equal(drops().sync_auth, 2, "an unknown sender");
  c.dp.apply(serviceOf(c)); // sync off
});

Deno.test("a full record table refuses new records, counts them and keeps the ones it has", () => {
  const d = makeNode(4);
  d.dp.apply(serviceOf(d, syncOf(d, [a], { recordsPerWorker: 8 })));
  a.dp.apply(serviceOf(a, syncOf(a, [b, d])));
  const cs = Array.from({ length: 12 }, () => open(a, [a, b, d]));
  pump([a, b, d]);
  const s = stats(d);
  assert.equal(s.records, 8);
  assert.ok(
    s.sum("recordsFull") >= 4,
    "the 4 flows past the bound were refused (every update of them too)",
  );
  // The first flow's record stayed: D forwards it to A.
  clientTo(d, { srcPort: cs[0]!.cport, dstPort: 80, seq: 1001, ack: 7001, flags: "A" });
  pump([a, b, d]);
  assert.equal(stats(d).sum("forwardedOut"), 1);
  a.dp.apply(serviceOf(a, syncOf(a, [b])));
});

Deno.test("a node that joins asks its peers and gets every session they own", () => {
  const before = a.dp.sessionCount();
  assert.ok(before > 0);
  const e = makeNode(5);
  a.dp.apply(serviceOf(a, syncOf(a, [b, e])));
  e.dp.apply(serviceOf(e, syncOf(e, [a])));
  e.dp.requestSync();
  pump([a, b, e]);
  const peer = e.dp.peers()[0]!;
  assert.equal(peer.node, a.address);
  assert.equal(peer.peerWorkers, 1);
  assert.equal(peer.snapshotWorkers, 1, "A answered the request in full");
  assert.equal(stats(e).records, a.dp.sessionCount());
});

Deno.test("a peer that restarted owns none of its old sessions: their records go", () => {
  a.dp.apply(serviceOf(a, syncOf(a, [b])));
  const c = open(a); // A owns it; B holds the record
  const forwardedBefore = stats(b).sum("forwardedOut");
  const a2 = makeNode(1, { name: "fnat_node1r" }); // A again: same address, a new start
  a2.dp.apply(serviceOf(a2, syncOf(a2, [b])));
  clientTo(a2, { srcPort: 45000, dstPort: 80, seq: 1, flags: "S", window: 64240 });
  pump([a2, b]); // A's first datagram of its new life reaches B
  // The client reuses the port of the connection the old A had: B takes it as new.
  const before = b.dp.sessionCount();
  clientTo(b, { srcPort: c.cport, dstPort: 80, seq: 90, flags: "S", window: 64240 });
  const out = pump([a2, b]);
  assert.equal(b.dp.sessionCount(), before + 1, "B created the session");
  assert.equal(out.get(b.name)!.length, 1, "the SYN went to the real server");
  assert.equal(stats(b).sum("forwardedOut"), forwardedBefore, "nothing forwarded to the new A");
  a2.dp.apply(serviceOf(a2)); // sync off: it leaves the cluster
});
