/**
 * FULLNAT over TCP through the FFI test entry, with two workers polled by the test: handshake,
 * data both ways with TOA, MSS, timestamps, the ISN shift and its reversal (SACK blocks too), FIN
 * and RST, and a reply that reaches the wrong worker. Every expected frame is spelled out.
 */
import assert from "node:assert/strict";
import { parseFrame, type TcpOption, type TcpSpec } from "./testing/packet.ts";
import {
  assertFrames,
  bringUp,
  fromClient,
  fromReal,
  NET,
  oneService,
  toClient,
  toReal,
} from "./testing/testbed.ts";

const dp = bringUp();
dp.apply(oneService({ reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }] }));

const CPORT = 40000;
const u32 = (n: number) => n >>> 0;
const enc = (s: string) => new TextEncoder().encode(s);

/** One client connection through the data plane, remembering what the SYN revealed. */
class Conn {
  lport = 0;
  delta = 0;
  constructor(readonly cport: number, readonly worker: number, readonly isn: number) {}

  /** Client → VIP: inject on this connection's worker, return what went out. */
  in(tcp: Omit<TcpSpec, "srcPort" | "dstPort">, ip = {}): Uint8Array[] {
    dp.inject([fromClient({ tcp: { srcPort: this.cport, dstPort: 80, ...tcp } }, ip)], {
      queue: this.worker,
    });
    dp.poll(this.worker);
    return dp.collect();
  }

  /** Real server → LIP:lport, injected on `worker` (the owner unless a test says otherwise). */
  out(tcp: Omit<TcpSpec, "srcPort" | "dstPort">, worker = this.worker): Uint8Array[] {
    dp.inject([fromReal(0, { tcp: { srcPort: 8080, dstPort: this.lport, ...tcp } })], {
      queue: worker,
    });
    for (let i = 0; i < 2; i++) for (const w of [worker, this.worker]) dp.poll(w);
    return dp.collect();
  }

  /** The frame the data plane must send to the real server for client seq/ack/options. */
  toReal(tcp: Omit<TcpSpec, "srcPort" | "dstPort">, ip = {}): Uint8Array {
    const seq = u32((tcp.seq ?? 0) + this.delta);
    return toReal(0, { tcp: { ...tcp, srcPort: this.lport, dstPort: 8080, seq } }, {
      ttl: 63,
      ...ip,
    });
  }

  /** The frame the data plane must send to the client for a real server's segment. */
  toClient(tcp: Omit<TcpSpec, "srcPort" | "dstPort">): Uint8Array {
    return toClient({ tcp: { ...tcp, srcPort: 80, dstPort: this.cport } }, { ttl: 63 });
  }

  toa(): TcpOption {
    return { kind: "toa", port: this.cport, address: NET.client };
  }

  /** SYN → RS; learns the LIP port and the ISN delta from the one frame that comes out. */
  handshake(): void {
    const sent = this.in({ seq: this.isn, flags: "S", window: 64240, options: SYN_OPTS });
    assert.equal(sent.length, 1, "the SYN goes to the real server");
    const p = parseFrame(sent[0]!);
    this.lport = p.tcp!.srcPort;
    this.delta = u32(p.tcp!.seq - this.isn);
    assertFrames(sent, [
      this.toReal({ seq: this.isn, flags: "S", window: 64240, options: SYN_OPTS_OUT }),
    ], "SYN");
    assertFrames(
      this.out({
        seq: 5000,
        ack: u32(this.isn + this.delta + 1),
        flags: "SA",
        options: SYNACK_OPTS,
      }),
      [this.toClient({ seq: 5000, ack: u32(this.isn + 1), flags: "SA", options: SYNACK_OPTS_OUT })],
      "SYN-ACK",
    );
  }
}

// Linux's SYN options: MSS, SACK-permitted, timestamps, NOP, window scale.
const SYN_OPTS: TcpOption[] = [
  { kind: "mss", value: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamp", value: 111, echo: 0 },
  { kind: "nop" },
  { kind: "wscale", shift: 7 },
];
// The client's MSS unchanged (its segments, not the real server's, need room for TOA);
// timestamps overwritten with NOPs in place.
const SYN_OPTS_OUT: TcpOption[] = [
  { kind: "mss", value: 1460 },
  { kind: "sackPermitted" },
  ...Array.from({ length: 10 }, () => ({ kind: "nop" as const })),
  { kind: "nop" },
  { kind: "wscale", shift: 7 },
];
const SYNACK_OPTS: TcpOption[] = [{ kind: "mss", value: 1460 }, { kind: "sackPermitted" }, {
  kind: "nop",
}, { kind: "wscale", shift: 7 }];
// The real server's MSS lowered by the 8 bytes of TOA: the client's segments leave the room.
const SYNACK_OPTS_OUT: TcpOption[] = [{ kind: "mss", value: 1452 }, ...SYNACK_OPTS.slice(1)];

Deno.test("TCP handshake, data with TOA, SACK blocks and FIN are translated byte for byte", () => {
  const c = new Conn(CPORT, 0, 1000);
  c.handshake();
  assert.notEqual(c.delta, 0, "the client ISN is shifted");
  assert.equal(dp.lipOwner(NET.lips[0], c.lport), 0, "the LIP port belongs to the worker");

  // First ACK: TOA right after the TCP header.
  const ack = { seq: 1001, ack: 5001, flags: "A", window: 502 };
  assertFrames(c.in(ack), [c.toReal({ ...ack, options: [c.toa()] })], "first ACK with TOA");

  // Data before the real server acknowledged anything: TOA again.
  const get = { ...ack, flags: "PA", payload: enc("GET / HTTP/1.0\r\n\r\n") };
  assertFrames(c.in(get), [c.toReal({ ...get, options: [c.toa()] })], "data with TOA");

  // The real server acknowledges the data and answers: ack shifted back.
  const reply = {
    seq: 5001,
    ack: u32(1001 + 18 + c.delta),
    flags: "PA",
    payload: enc("HTTP/1.0 200 OK\r\n"),
  };
  assertFrames(c.out(reply), [c.toClient({ ...reply, ack: 1019 })], "reply");

  // After the acknowledgement, client data carries no TOA.
  const more = { seq: 1019, ack: 5018, flags: "PA", payload: enc("more") };
  assertFrames(c.in(more), [c.toReal(more)], "data without TOA");

  // The real server's SACK blocks are in the client's sequence space: shifted back too.
  const sack: TcpOption[] = [{ kind: "nop" }, { kind: "nop" }, {
    kind: "sack",
    blocks: [[u32(1030 + c.delta), u32(1040 + c.delta)]],
  }];
  const sackOut: TcpOption[] = [{ kind: "nop" }, { kind: "nop" }, {
    kind: "sack",
    blocks: [[1030, 1040]],
  }];
  const dup = { seq: 5018, ack: u32(1023 + c.delta), flags: "A" };
  assertFrames(c.out({ ...dup, options: sack }), [
    c.toClient({ ...dup, ack: 1023, options: sackOut }),
  ], "SACK");

  // The client's SACK blocks are in the real server's space: untouched.
  const csack: TcpOption[] = [{ kind: "nop" }, { kind: "nop" }, {
    kind: "sack",
    blocks: [[6000, 6100]],
  }];
  const cdup = { seq: 1023, ack: 5018, flags: "A", options: csack };
  assertFrames(c.in(cdup), [c.toReal(cdup)], "client SACK");

  // FIN both ways, then the last ACK.
  const fin = { seq: 1023, ack: 5018, flags: "FA" };
  assertFrames(c.in(fin), [c.toReal(fin)], "client FIN");
  const rsFin = { seq: 5018, ack: u32(1024 + c.delta), flags: "FA" };
  assertFrames(c.out(rsFin), [c.toClient({ ...rsFin, ack: 1024 })], "server FIN");
  const last = { seq: 1024, ack: 5019, flags: "A" };
  assertFrames(c.in(last), [c.toReal(last)], "last ACK");
  const s = dp.sessions().find((x) => x.clientPort === CPORT);
  assert.equal(s?.state, "time_wait");
  assert.equal(dp.stats().workers[0]!.sessionsClosing, 1, "counted as closing (InActConn)");
});

Deno.test("a client RST is translated and closes the session", () => {
  const c = new Conn(CPORT + 1, 1, 0xfffffff0);
  c.handshake();
  assert.equal(dp.lipOwner(NET.lips[0], c.lport), 1);
  const rst = { seq: 0xfffffff1, ack: 5001, flags: "RA" };
  assertFrames(c.in(rst), [c.toReal(rst)], "RST");
  const s = dp.sessions().find((x) => x.clientPort === CPORT + 1);
  assert.ok(s === undefined || s.state === "close", `session after RST: ${JSON.stringify(s)}`);
});

Deno.test("a real server RST is translated back to the client", () => {
  const c = new Conn(CPORT + 2, 0, 77);
  c.handshake();
  const rst = { seq: 5001, ack: u32(78 + c.delta), flags: "RA" };
  assertFrames(c.out(rst), [c.toClient({ ...rst, ack: 78 })], "RST");
});

Deno.test("a reply that reaches the wrong worker is handed to its owner and still translated", () => {
  const c = new Conn(CPORT + 3, 1, 9000);
  c.handshake();
  const ack = { seq: 9001, ack: 5001, flags: "A" };
  assertFrames(c.in(ack), [c.toReal({ ...ack, options: [c.toa()] })], "ACK");
  const before = dp.stats().workers[0]!.handoffsOut;
  const data = { seq: 5001, ack: u32(9001 + c.delta), flags: "PA", payload: enc("hi") };
  // Injected on worker 0, owned by worker 1.
  assertFrames(c.out(data, 0), [c.toClient({ ...data, ack: 9001 })], "handed-off reply");
  assert.equal(dp.stats().workers[0]!.handoffsOut, before + 1, "counted as a handoff");
});

Deno.test("a SYN without timestamps keeps its options, its MSS included", () => {
  const c = new Conn(CPORT + 4, 0, 4242);
  const opts: TcpOption[] = [{ kind: "mss", value: 1400 }, { kind: "nop" }, { kind: "nop" }, {
    kind: "sackPermitted",
  }];
  const sent = c.in({ seq: 4242, flags: "S", options: opts });
  const p = parseFrame(sent[0]!);
  c.lport = p.tcp!.srcPort;
  c.delta = u32(p.tcp!.seq - 4242);
  assertFrames(sent, [
    c.toReal({ seq: 4242, flags: "S", options: opts }),
  ], "SYN");
});
