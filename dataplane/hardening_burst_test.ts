/**
 * Hardening of the packet path through the FFI with one worker: packets of one new flow in one
 * burst make one session (UDP, TCP, SYNPROXY).
 */
import assert from "node:assert/strict";
import { parseFrame } from "./packet.ts";
import { bringUp, fromClient, NET, oneService } from "./testbed.ts";

const dp = bringUp({ workers: 1 });
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
