/**
 * Continuity when a node is lost, through the FFI test entry: A owns sessions (plain TCP with
 * TOA still pending or done, SYNPROXY with timestamps kept, UDP); B stands by for A's LIP and
 * holds every session's full state; C is a third peer. A is destroyed; the router sends A's LIP
 * to B, and the client's frames to B and C. B carries every connection on exactly as A would
 * have: the frames it sends are A's reference frames byte for byte (but for its own MAC). The
 * reference is what A itself sent for the same frames just before it was destroyed, while its
 * peers were not told about them (so B holds the state those frames met at A).
 */
import assert from "node:assert/strict";
import { parseFrame, type TcpOption, toHex } from "./testing/packet.ts";
import { fromClient, fromReal, NET } from "./testing/testbed.ts";
import { dstMac, makeNode, pump, syncOf, type TestNode } from "./testing/cluster_testbed.ts";
import type { DataPlaneConfig, SyncConfig } from "./binding/config.ts";

const RS = { address: NET.reals[0].address, port: 8080, weight: 1 };
function config(n: TestNode, sync: SyncConfig): DataPlaneConfig {
  return {
    localAddresses: [n.lip],
    services: [
      { vip: NET.vip, port: 80, protocol: "tcp", scheduler: "rr", reals: [RS] },
      {
        vip: NET.vip,
        port: 81,
        protocol: "tcp",
        scheduler: "rr",
        synproxy: true,
        stripTimestamps: false,
        reals: [RS],
      },
      { vip: NET.vip, port: 53, protocol: "udp", scheduler: "rr", reals: [RS] },
    ],
    sync,
  };
}

const a = makeNode(1);
const b = makeNode(2, { workers: 2 });
const c = makeNode(3);
a.dp.apply(config(a, syncOf(a, [b, c])));
b.dp.apply(config(b, syncOf(b, [a, c], { standby: [{ lip: a.lip, owner: a.address }] })));
c.dp.apply(config(c, syncOf(c, [a, b])));
let nodes = [a, b, c];

const u32 = (n: number) => n >>> 0;
const enc = (s: string) => new TextEncoder().encode(s);
const macByte = (n: TestNode) => parseInt(n.mac.slice(-2), 16);

/** Addresses a frame to `node` (the router's or the real server's choice). */
function to(node: TestNode, f: Uint8Array): Uint8Array {
  f.set([0x02, 0xfa, 0, 0, 1, macByte(node)], 0);
  return f;
}

type Seg = Parameters<typeof fromClient>[0];
const client = (tcp: NonNullable<Extract<Seg, { tcp: unknown }>["tcp"]>) => fromClient({ tcp });
const server = (tcp: NonNullable<Extract<Seg, { tcp: unknown }>["tcp"]>) =>
  fromReal(0, { tcp }, { dst: a.lip });

/** Delivers a frame to a node and carries the cluster's frames until quiet. */
function send(node: TestNode, f: Uint8Array): Uint8Array[] {
  node.dp.inject([to(node, f)]);
  return pump(nodes).get(node.name)!;
}

const LINUX_SYN: TcpOption[] = [
  { kind: "mss", value: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamp", value: 111, echo: 0 },
  { kind: "nop" },
  { kind: "wscale", shift: 7 },
];

/** A plain TCP flow through A up to the real server's SYN-ACK (TOA still pending). */
function plainFlow(cport: number) {
  const syn = send(a, client({ srcPort: cport, dstPort: 80, seq: 1000, flags: "S" }));
  const p = parseFrame(syn[0]!).tcp!;
  send(
    a,
    server({ srcPort: 8080, dstPort: p.srcPort, seq: 7000, ack: u32(p.seq + 1), flags: "SA" }),
  );
  return { cport, lport: p.srcPort };
}

/** A SYNPROXY flow through A: cookie handshake, the real server's handshake, TOA sent. */
function synproxyFlow(cport: number) {
  const sa = send(
    a,
    client({ srcPort: cport, dstPort: 81, seq: 3000, flags: "S", options: LINUX_SYN }),
  );
  const cookie = parseFrame(sa[0]!).tcp!;
  const tsval = (cookie.options.find((o) => o.kind === "timestamp") as { value: number }).value;
  const rsSyn = send(
    a,
    client({
      srcPort: cport,
      dstPort: 81,
      seq: 3001,
      ack: u32(cookie.seq + 1),
      flags: "A",
      options: [{ kind: "nop" }, { kind: "nop" }, { kind: "timestamp", value: 112, echo: tsval }],
    }),
  );
  const s = parseFrame(rsSyn[0]!).tcp!;
  send(
    a,
    server({
      srcPort: 8080,
      dstPort: s.srcPort,
      seq: 90000,
      ack: u32(s.seq + 1),
      flags: "SA",
      options: [{ kind: "mss", value: 1460 }, { kind: "nop" }, { kind: "nop" }, {
        kind: "timestamp",
        value: 5_000_000,
        echo: 112,
      }],
    }),
  );
  return { cport, lport: s.srcPort, cookie: cookie.seq, rsIsn: 90000, tsval };
}

// Sessions on A, fully replicated to B and C.
const f1 = plainFlow(42001); // will carry data both ways (TOA sent, then ended)
const f2 = plainFlow(42002); // TOA still pending when A is lost
const f3 = synproxyFlow(42003);
send(
  a,
  client({ srcPort: 42001, dstPort: 80, seq: 1001, ack: 7001, flags: "PA", payload: enc("one") }),
);
const udp = send(a, fromClient({ udp: { srcPort: 42004, dstPort: 53, payload: enc("q1") } }));
const udpLport = parseFrame(udp[0]!).udp!.srcPort;
// A fifth flow ends on A before A is lost: its replica goes too.
const f5 = plainFlow(42005);
send(a, client({ srcPort: 42005, dstPort: 80, seq: 1001, flags: "R" }));
a.dp.advanceClock(15);
pump(nodes);

/** The frames the test drives after A is lost, in order: [where it arrives, frame]. */
const SCRIPT: Array<["lip" | "vip", () => Uint8Array]> = [
  // The real server speaks first on f1: the router now sends A's LIP to B.
  [
    "lip",
    () =>
      server({
        srcPort: 8080,
        dstPort: f1.lport,
        seq: 7001,
        ack: u32(0),
        flags: "PA",
        payload: enc("hi"),
      }),
  ],
  // f2's client sends its first data: TOA is still to be inserted.
  [
    "vip",
    () =>
      client({
        srcPort: 42002,
        dstPort: 80,
        seq: 1001,
        ack: 7001,
        flags: "PA",
        payload: enc("two"),
      }),
  ],
  // f3 (SYNPROXY): client data, then the server's answer (sequence and timestamp deltas).
  ["vip", () =>
    client({
      srcPort: 42003,
      dstPort: 81,
      seq: 3001,
      ack: u32(f3.cookie + 1),
      flags: "PA",
      payload: enc("three"),
      options: [{ kind: "nop" }, { kind: "nop" }, {
        kind: "timestamp",
        value: 113,
        echo: f3.tsval,
      }],
    })],
  ["lip", () =>
    server({
      srcPort: 8080,
      dstPort: f3.lport,
      seq: 90001,
      ack: u32(0),
      flags: "PA",
      payload: enc("3"),
      options: [{ kind: "nop" }, { kind: "nop" }, {
        kind: "timestamp",
        value: 5_000_001,
        echo: 113,
      }],
    })],
  // UDP both ways.
  ["vip", () => fromClient({ udp: { srcPort: 42004, dstPort: 53, payload: enc("q2") } })],
  [
    "lip",
    () =>
      fromReal(0, { udp: { srcPort: 8080, dstPort: udpLport, payload: enc("a2") } }, {
        dst: a.lip,
      }),
  ],
];

// The reference: what A sends for the script, without telling its peers.
const reference: Uint8Array[][] = [];
{
  const peers = new Set([b.mac, c.mac]);
  for (const [, make] of SCRIPT) {
    a.dp.inject([to(a, make())]);
    a.dp.poll(0);
    reference.push(a.dp.collect().filter((f) => !peers.has(dstMac(f))));
  }
}

Deno.test("B holds every live session of A in full; an ended one is gone", () => {
  const s = b.dp.stats();
  for (const w of s.workers) assert.equal(w.recordsActive, 4, `worker ${w.worker}`);
  assert.equal(a.dp.sessionCount(), 4);
  void f5;
});

Deno.test("A is lost: B carries every connection on byte for byte, the peers forward to B", () => {
  a.dp.destroy();
  nodes = [b, c];
  SCRIPT.forEach(([where, make], i) => {
    // Client frames land on C half of the time (C's record must point at B by then).
    const at = where === "lip" ? b : i % 2 === 0 ? c : b;
    at.dp.inject([to(at, make())]);
    const out = pump(nodes);
    // Sync datagrams to the lost A go nowhere; the rest leaves the segment.
    const sent = [...out.get(b.name)!, ...out.get(c.name)!].filter((f) => dstMac(f) !== a.mac);
    const want = reference[i]!.map((f) => {
      const g = f.slice();
      g.set([0x02, 0xfa, 0, 0, 1, macByte(b)], 6); // B's own MAC as the source
      return g;
    });
    assert.deepEqual(
      sent.map(toHex),
      want.map(toHex),
      `step ${i} (${where}): B sends what A sent`,
    );
  });
  const sb = b.dp.stats();
  assert.equal(sb.workers.reduce((t, w) => t + w.sessionsAdopted, 0), 4, "all four adopted");
  assert.ok(c.dp.stats().workers[0]!.forwardedOut >= 1, "C forwarded client frames to B");
});

Deno.test("a replica of a session that ended on A is not carried on", () => {
  const before = b.dp.stats().drops.no_session ?? 0;
  b.dp.inject([to(b, server({ srcPort: 8080, dstPort: f5.lport, seq: 7001, ack: 1, flags: "A" }))]);
  pump(nodes);
  assert.equal(b.dp.stats().drops.no_session, before + 1);
});

Deno.test("B never allocates a port of A's LIP for its own new connections", () => {
  for (let i = 0; i < 20; i++) {
    const out = send(b, client({ srcPort: 43000 + i, dstPort: 80, seq: 1, flags: "S" }));
    const ip = parseFrame(out.at(-1)!).ipv4!;
    assert.equal(ip.src, b.lip);
  }
});

Deno.test("A comes back: it resyncs, never reuses a port B holds, and takes its sessions back", () => {
  const a2 = makeNode(1, { name: "fnat_node1b" }); // A's address, MAC and LIP, an empty table
  a2.dp.apply(config(a2, syncOf(a2, [b, c])));
  nodes = [a2, b, c];
  a2.dp.requestSync();
  pump(nodes);
  const peerB = a2.dp.peers().find((p) => p.node === b.address)!;
  assert.equal(peerB.snapshotWorkers, 2, "B's two workers answered");
  // New connections on A's LIP never take a port B still holds for A's old sessions.
  const held = new Set([f1.lport, f2.lport, f3.lport, udpLport]);
  for (let i = 0; i < 8; i++) {
    const out = send(a2, client({ srcPort: 44000 + i, dstPort: 80, seq: 1, flags: "S" }));
    const p = parseFrame(out.at(-1)!);
    assert.equal(p.ipv4!.src, a.lip);
    assert.ok(!held.has(p.tcp!.srcPort), `port ${p.tcp!.srcPort} is B's to carry`);
  }
  // The router sends A's LIP back to A: the real server's next segment of f1 hands it back.
  const r = send(a2, server({ srcPort: 8080, dstPort: f1.lport, seq: 7003, ack: 0, flags: "A" }));
  assert.equal(r.length, 1, "A carries f1 on");
  assert.equal(parseFrame(r[0]!).ipv4!.dst, NET.client);
  const adopted = a2.dp.stats().workers[0]!.sessionsAdopted;
  assert.equal(adopted, 1);
  // B let f1 go; a client frame of f1 that reaches B is forwarded to A now.
  const before = b.dp.stats().workers.reduce((t, w) => t + w.forwardedOut, 0);
  const out = send(b, client({ srcPort: 42001, dstPort: 80, seq: 1004, ack: 7003, flags: "A" }));
  assert.equal(out.length, 0);
  assert.equal(b.dp.stats().workers.reduce((t, w) => t + w.forwardedOut, 0), before + 1);
});

Deno.test("takeOver() refuses a LIP the node does not stand by for", () => {
  assert.throws(() => c.dp.takeOver(a.lip), /ENOENT/);
  b.dp.takeOver(a.lip); // already taken over: a no-op
});

Deno.test("a node whose first hundred ports are held elsewhere still allocates new ones", () => {
  // B carries A's sessions; a fresh A with 100 more held ports must skip them all at once.
  const a3 = makeNode(1, { name: "fnat_node1d" });
  const held = makeNode(6); // a peer that owns 100 sessions on A's LIP, as records say
  a3.dp.apply(config(a3, syncOf(a3, [held])));
  held.dp.apply(config(held, syncOf(held, [a3], { standby: [{ lip: a.lip, owner: a.address }] })));
  nodes = [a3, held];
  for (let i = 0; i < 100; i++) {
    send(a3, client({ srcPort: 46000 + i, dstPort: 80, seq: 1, flags: "S" }));
  }
  // A3 "restarts": a new instance learns from the holder (which adopted them) that they are busy.
  const a4 = makeNode(1, { name: "fnat_node1e" });
  a4.dp.apply(config(a4, syncOf(a4, [held])));
  held.dp.takeOver(a.lip);
  nodes = [a4, held];
  held.dp.inject([to(held, server({ srcPort: 8080, dstPort: 1024, seq: 1, ack: 1, flags: "A" }))]);
  pump(nodes);
  a4.dp.requestSync();
  pump(nodes);
  const out = send(a4, client({ srcPort: 47000, dstPort: 80, seq: 1, flags: "S" }));
  const p = parseFrame(out.at(-1)!);
  assert.equal(p.ipv4!.src, a.lip);
  assert.ok(p.tcp!.srcPort >= 1024 + 100, `a free port past the held ones: ${p.tcp!.srcPort}`);
  assert.equal(a4.dp.stats().drops.no_local_port, undefined);
});
