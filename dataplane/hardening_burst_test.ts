/**
 * Hardening of the packet path and the test entries, through the FFI with one worker: packets of
 * one new flow in one burst make one session (UDP, TCP, SYNPROXY), SYNPROXY's kept ACKs never
 * empty the mbuf pool (more handshakes are refused and counted, other traffic flows), and a test
 * port whose creation fails part way leaves nothing behind.
 */
import assert from "node:assert/strict";
import { parseFrame } from "./testing/packet.ts";
import { bringUp, fromClient, NET, oneService } from "./testing/testbed.ts";
import { DataPlane } from "./binding/dataplane.ts";
import { DataPlaneError } from "./binding/ffi.ts";

/** A device name the EAL takes at start, so a test port of that name fails part way. */
const TAKEN = "fnat_tkn";
const dp = bringUp({ workers: 1, extraVdevs: [`net_ring_${TAKEN}`] });
const RS = { address: NET.reals[0].address, port: 8080, weight: 1 };
const config = oneService({ synproxy: true, reals: [RS] });
config.services.push(
  { vip: NET.vip, port: 53, protocol: "udp", scheduler: "rr", reals: [{ ...RS, port: 5353 }] },
  { vip: NET.vip, port: 81, protocol: "tcp", scheduler: "rr", reals: [RS] },
);
dp.apply(config);

const enc = (s: string) => new TextEncoder().encode(s);
const u32 = (n: number) => n >>> 0;

/** Polls the worker until its queues are empty. */
function drain(): void {
  while (dp.poll(0) > 0) {
    // keep polling
  }
}

function counters() {
  const s = dp.stats();
  return { valid: s.workers[0]!.synCookiesValid, drops: s.drops, sessions: dp.sessionCount() };
}

/** The errno a failing test port creation reports. */
function createError(name: string, queues = 1): number {
  try {
    DataPlane.createTestPort(name, queues);
  } catch (e) {
    if (e instanceof DataPlaneError) return e.errno;
    throw e;
  }
  assert.fail(`test port ${name} was created`);
}

const EINVAL = 22, EEXIST = 17;

Deno.test("two datagrams of a new UDP flow in one burst make one session", () => {
  const before = counters();
  const d = fromClient({ udp: { srcPort: 41000, dstPort: 53, payload: enc("query") } });
  dp.inject([d, d]);
  assert.equal(dp.poll(0), 2, "both in one burst");
  const out = dp.collect().map((f) => parseFrame(f));
  assert.equal(out.length, 2, "both forwarded");
  assert.equal(out[0]!.udp!.srcPort, out[1]!.udp!.srcPort, "on one LIP port");
  assert.equal(counters().sessions - before.sessions, 1, "one session");
});

Deno.test("a SYN and its retransmission in one burst make one session", () => {
  const before = counters();
  const syn = fromClient({ tcp: { srcPort: 41001, dstPort: 81, seq: 5, flags: "S" } });
  dp.inject([syn, syn]);
  assert.equal(dp.poll(0), 2, "both in one burst");
  const out = dp.collect().map((f) => parseFrame(f));
  assert.equal(out.length, 2, "both forwarded");
  assert.equal(out[0]!.tcp!.srcPort, out[1]!.tcp!.srcPort, "on one LIP port");
  assert.equal(counters().sessions - before.sessions, 1, "one session");
});

Deno.test("a cookie ACK and its request in one burst send the real server one SYN", () => {
  const before = counters();
  dp.inject([fromClient({ tcp: { srcPort: 41002, dstPort: 80, seq: 1000, flags: "S" } })]);
  drain();
  const [sa] = dp.collect();
  const cookie = parseFrame(sa!).tcp!.seq;
  const seg = { srcPort: 41002, dstPort: 80, seq: 1001, ack: u32(cookie + 1) };
  dp.inject([
    fromClient({ tcp: { ...seg, flags: "A" } }),
    fromClient({ tcp: { ...seg, flags: "PA", payload: enc("GET / HTTP/1.0\r\n\r\n") } }),
  ]);
  assert.equal(dp.poll(0), 2, "both in one burst");
  const out = dp.collect().map((f) => parseFrame(f));
  assert.deepEqual(out.map((p) => [p.ipv4!.dst, p.tcp!.flags]), [[RS.address, "S"]], "one SYN");
  const after = counters();
  assert.equal(after.sessions - before.sessions, 1, "one session");
  assert.equal(after.valid - before.valid, 1, "one accepted handshake");
});

Deno.test("a test port that fails part way can be created again: its rings were freed", () => {
  // The ethdev name is taken (the EAL made it): the rings made first are given back, so the
  // second attempt fails for the same reason, not for rings left over from the first.
  const attempts = [createError(TAKEN, 2), createError(TAKEN, 2)];
  assert.deepEqual(attempts, [EEXIST, EEXIST], "both attempts fail for the name in use");
  // A name too long for a DPDK device is refused before anything is made; the valid name
  // that shares its first 16 characters can then be created.
  const long = "fnat_long_name_x_23char";
  assert.equal(createError(long), EINVAL);
  assert.equal(createError(long), EINVAL);
  const port = DataPlane.createTestPort(long.slice(0, 16), 1);
  assert.ok(port >= 0);
  assert.equal(createError(long.slice(0, 16)), EEXIST, "a used name");
  assert.equal(createError("fnat_noqueue", 0), EINVAL);
  assert.ok(DataPlane.createTestPort("fnat_noqueue", 1) >= 0);
});

// Last: it leaves the worker's SYNPROXY slots full.
Deno.test("SYNPROXY refuses and counts handshakes beyond its kept ACKs; other traffic flows", () => {
  const KEPT = 16384, EXTRA = 100, BATCH = 1024;
  const before = counters();
  // ACKs earlier tests left waiting for the real server hold slots too.
  const held = dp.sessions().filter((s) => s.vport === 80 && s.state === "syn_sent").length;
  const accepted = KEPT - held, refused = EXTRA + held;
  const ip = { src: NET.client2 };
  for (let first = 0; first < accepted + refused; first += BATCH) {
    const ports = Array.from(
      { length: Math.min(BATCH, accepted + refused - first) },
      (_, i) => 1024 + first + i,
    );
    dp.inject(ports.map((p) => fromClient({ tcp: { srcPort: p, dstPort: 80, flags: "S" } }, ip)));
    drain();
    const cookies = new Map<number, number>();
    for (const f of dp.collect()) {
      const t = parseFrame(f).tcp!;
      cookies.set(t.dstPort, t.seq);
    }
    assert.equal(cookies.size, ports.length, `SYN-ACKs of batch ${first}`);
    dp.inject(
      ports.map((p) =>
        fromClient({
          tcp: { srcPort: p, dstPort: 80, seq: 1, ack: u32(cookies.get(p)! + 1), flags: "A" },
        }, ip)
      ),
    );
    drain();
    dp.collect();
  }
  const after = counters();
  assert.equal(after.valid - before.valid, accepted, "handshakes kept");
  assert.equal(
    (after.drops["synproxy_kept_full"] ?? 0) - (before.drops["synproxy_kept_full"] ?? 0),
    refused,
    "handshakes refused",
  );
  // The node still receives: a datagram to another service and a SYN get through.
  dp.inject([fromClient({ udp: { srcPort: 42000, dstPort: 53, payload: enc("still") } })]);
  dp.inject([fromClient({ tcp: { srcPort: 42001, dstPort: 80, seq: 9, flags: "S" } })]);
  drain();
  const out = dp.collect().map((f) => parseFrame(f));
  assert.deepEqual(out.map((p) => p.ipv4!.dst).sort(), [NET.client, RS.address].sort());
});
