/**
 * TOA and SYNPROXY timestamp hardening through the FFI test entry, one worker driven by the test.
 *
 * - Room for TOA is made where it is needed: the client's segments grow by the 8 bytes of TOA, so
 *   the MSS the client is told (the real server's SYN-ACK, or SYNPROXY's own) is lowered, while
 *   the client's MSS reaches the real server unchanged.
 * - A TOA the client wrote itself never reaches the real server (it would take the forged
 *   address for the client's): replaced by the node's own while TOA is inserted, overwritten
 *   with NOPs after that, in the SYN and on services without TOA too; counted as `toaForged`.
 * - SYNPROXY with timestamps kept: the client saw the node's clock in the cookie SYN-ACK, so the
 *   real server's TSval is offset to it and the client's TSecr back.
 *
 * Every frame is compared byte for byte.
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
import type { Service } from "./binding/config.ts";

const dp = bringUp({ workers: 1 });
const u32 = (n: number) => n >>> 0;
const RS = { address: NET.reals[0].address, port: 8080, weight: 1 };
const apply = (s: Partial<Service> = {}) => dp.apply(oneService({ reals: [RS], ...s }));

type Seg = Omit<TcpSpec, "srcPort" | "dstPort">;
const NOPS = (n: number): TcpOption[] => Array.from({ length: n }, () => ({ kind: "nop" }));
/** A TOA the client wrote, claiming to come from somewhere else. */
const FORGED: TcpOption = { kind: "toa", port: 1, address: "203.0.113.66" };
/** A payload that fills a 1,500-byte IP packet once TOA is in (1500 − 20 − 20 − 8). */
const FULL = new Uint8Array(1452).map((_, i) => i & 0xff);

let nextPort = 41000;

/** One client connection; learns the LIP port and the ISN shift from the SYN it causes. */
class Conn {
  readonly cport = nextPort++;
  lport = 0;
  delta = 0;
  cookie = 0;
  constructor(readonly isn = 1000) {}

  in(tcp: Seg): Uint8Array[] {
    dp.inject([fromClient({ tcp: { srcPort: this.cport, dstPort: 80, ...tcp } })]);
    while (dp.poll(0) > 0) {
      // until the queues are empty
    }
    return dp.collect();
  }

  out(tcp: Seg): Uint8Array[] {
    dp.inject([fromReal(0, { tcp: { srcPort: 8080, dstPort: this.lport, ...tcp } })]);
    dp.poll(0);
    return dp.collect();
  }

  /** Remembers the LIP port and the shift of the SYN to the real server in `sent`. */
  learn(sent: Uint8Array[]): void {
    assert.equal(sent.length, 1, "one SYN to the real server");
    const p = parseFrame(sent[0]!);
    this.lport = p.tcp!.srcPort;
    this.delta = u32(p.tcp!.seq - this.isn);
  }

  /** What the real server must get for a client segment (client sequence space). */
  toReal(tcp: Seg): Uint8Array {
    const seq = u32((tcp.seq ?? 0) + this.delta);
    return toReal(0, { tcp: { ...tcp, srcPort: this.lport, dstPort: 8080, seq } }, { ttl: 63 });
  }

  toClient(tcp: Seg): Uint8Array {
    return toClient({ tcp: { ...tcp, srcPort: 80, dstPort: this.cport } }, { ttl: 63 });
  }

  toa(): TcpOption {
    return { kind: "toa", port: this.cport, address: NET.client };
  }

  /** SYN → real server, SYN-ACK → client, both checked; MSS 1460 each way. */
  handshake(): void {
    const syn = {
      seq: this.isn,
      flags: "S",
      options: [{ kind: "mss", value: 1460 }] as TcpOption[],
    };
    const sent = this.in(syn);
    this.learn(sent);
    assertFrames(sent, [this.toReal(syn)], "the client's MSS reaches the real server unchanged");
    const synAck = { seq: 5000, ack: u32(this.isn + 1 + this.delta), flags: "SA" };
    assertFrames(
      this.out({ ...synAck, options: [{ kind: "mss", value: 1460 }] }),
      [this.toClient({ ...synAck, ack: this.isn + 1, options: [{ kind: "mss", value: 1452 }] })],
      "the real server's MSS reaches the client less the 8 bytes of TOA",
    );
  }
}

function worker() {
  return dp.stats().workers[0]!;
}

Deno.test("on a 1,500-byte path the real server's MSS is lowered and a full-size segment gets TOA", () => {
  apply();
  const c = new Conn();
  c.handshake();
  const before = worker();
  const data = { seq: c.isn + 1, ack: 5001, flags: "PA", payload: FULL };
  const out = c.in(data);
  assertFrames(out, [c.toReal({ ...data, options: [c.toa()] })], "full-size segment with TOA");
  assert.equal(parseFrame(out[0]!).ipv4!.totalLength, 1500, "exactly the MTU");
  assert.equal(worker().toaInserted - before.toaInserted, 1);
  assert.equal(worker().toaFailed - before.toaFailed, 0);
});

Deno.test("a TOA the client wrote in a full-size third ACK is replaced by the node's own", () => {
  apply();
  const c = new Conn();
  c.handshake();
  const before = worker();
  const ack = { seq: c.isn + 1, ack: 5001, flags: "PA", payload: FULL };
  const out = c.in({ ...ack, options: [FORGED] });
  assertFrames(out, [c.toReal({ ...ack, options: [c.toa()] })], "third ACK");
  assert.equal(parseFrame(out[0]!).ipv4!.totalLength, 1500);
  assert.equal(worker().toaForged - before.toaForged, 1, "counted");
  assert.equal(worker().toaInserted - before.toaInserted, 1);
});

Deno.test("a TOA the client wrote among other options leaves only the node's TOA", () => {
  apply();
  const c = new Conn();
  c.handshake();
  const before = worker();
  const sack: TcpOption = { kind: "sack", blocks: [[6000, 6100]] };
  const ack = { seq: c.isn + 1, ack: 5001, flags: "A" };
  assertFrames(
    c.in({ ...ack, options: [{ kind: "nop" }, { kind: "nop" }, sack, FORGED] }),
    [c.toReal({ ...ack, options: [c.toa(), { kind: "nop" }, { kind: "nop" }, sack] })],
    "one TOA, the node's",
  );
  assert.equal(worker().toaForged - before.toaForged, 1);
});

Deno.test("a TOA the client wrote after insertion ended is overwritten with NOPs", () => {
  apply();
  const c = new Conn();
  c.handshake();
  const ack = { seq: c.isn + 1, ack: 5001, flags: "A" };
  assertFrames(c.in(ack), [c.toReal({ ...ack, options: [c.toa()] })], "ACK with TOA");
  // The real server answers: TOA insertion ends.
  const reply = { seq: 5001, ack: u32(c.isn + 1 + c.delta), flags: "A" };
  assertFrames(c.out(reply), [c.toClient({ ...reply, ack: c.isn + 1 })], "reply");
  const before = worker();
  const data = { seq: c.isn + 1, ack: 5001, flags: "PA", payload: FULL };
  assertFrames(
    c.in({ ...data, options: [FORGED] }),
    [c.toReal({ ...data, options: NOPS(8) })],
    "data with a forged TOA",
  );
  assert.equal(worker().toaForged - before.toaForged, 1);
  assert.equal(worker().toaInserted - before.toaInserted, 0);
});

Deno.test("a TOA the client wrote in its SYN is overwritten with NOPs", () => {
  apply();
  const c = new Conn();
  const before = worker();
  const syn = { seq: c.isn, flags: "S" };
  const sent = c.in({ ...syn, options: [{ kind: "mss", value: 1460 }, FORGED] });
  c.learn(sent);
  assertFrames(
    sent,
    [c.toReal({ ...syn, options: [{ kind: "mss", value: 1460 }, ...NOPS(8)] })],
    "SYN",
  );
  assert.equal(worker().toaForged - before.toaForged, 1);
});

Deno.test("a TOA the client wrote is overwritten on a service without TOA too", () => {
  apply({ toa: false });
  const c = new Conn();
  const syn = { seq: c.isn, flags: "S" };
  c.learn(c.in(syn));
  c.out({ seq: 5000, ack: u32(c.isn + 1 + c.delta), flags: "SA" });
  const before = worker();
  const ack = { seq: c.isn + 1, ack: 5001, flags: "A" };
  assertFrames(
    c.in({ ...ack, options: [FORGED] }),
    [c.toReal({ ...ack, options: NOPS(8) })],
    "ACK",
  );
  assert.equal(worker().toaForged - before.toaForged, 1);
  apply();
});

Deno.test("SYNPROXY announces room for TOA to the client and gives the real server its MSS", () => {
  apply({ synproxy: true });
  const c = new Conn(80000);
  const synAck = c.in({ seq: c.isn, flags: "S", options: [{ kind: "mss", value: 1460 }] });
  assert.equal(synAck.length, 1, "one cookie SYN-ACK");
  const sa = parseFrame(synAck[0]!);
  c.cookie = sa.tcp!.seq;
  assert.deepEqual(sa.tcp!.options, [{ kind: "mss", value: 1452 }], "1500 − 40 − 8");
  const rsSyn = c.in({ seq: c.isn + 1, ack: u32(c.cookie + 1), flags: "A" });
  c.learn(rsSyn);
  assert.deepEqual(parseFrame(rsSyn[0]!).tcp!.options, [{ kind: "mss", value: 1460 }]);
  apply();
});

Deno.test("SYNPROXY keeping timestamps: room for TOA, the client's MSS, the server's clock offset", () => {
  apply({ synproxy: true, stripTimestamps: false });
  const c = new Conn(70000);
  // Cookie SYN-ACK: our MSS leaves room for TOA; our clock in TSval, the client's echoed.
  const synAck = c.in({
    seq: c.isn,
    flags: "S",
    window: 64240,
    options: [
      { kind: "mss", value: 1460 },
      { kind: "sackPermitted" },
      { kind: "timestamp", value: 111, echo: 0 },
      { kind: "nop" },
      { kind: "wscale", shift: 7 },
    ],
  });
  assert.equal(synAck.length, 1, "one cookie SYN-ACK");
  const sa = parseFrame(synAck[0]!);
  c.cookie = sa.tcp!.seq;
  const ts = sa.tcp!.options.find((o) => o.kind === "timestamp");
  assert.ok(ts?.kind === "timestamp");
  const ours = ts.value;
  assertFrames(synAck, [
    toClient({
      tcp: {
        srcPort: 80,
        dstPort: c.cport,
        seq: c.cookie,
        ack: c.isn + 1,
        flags: "SA",
        window: 65535,
        options: [
          { kind: "mss", value: 1452 },
          { kind: "sackPermitted" },
          { kind: "timestamp", value: ours, echo: 111 },
          { kind: "nop" },
          { kind: "wscale", shift: 7 },
        ],
      },
    }, { id: sa.ipv4!.id, dontFragment: true, ttl: 64 }),
  ], "cookie SYN-ACK");

  // The client's ACK: the SYN to the real server carries the client's own MSS.
  const ack = { seq: c.isn + 1, ack: u32(c.cookie + 1), flags: "A", window: 502 };
  const rsSyn = c.in({
    ...ack,
    options: [...NOPS(2), { kind: "timestamp", value: 112, echo: ours }],
  });
  c.learn(rsSyn);
  assertFrames(rsSyn, [
    toReal(0, {
      tcp: {
        srcPort: c.lport,
        dstPort: 8080,
        seq: u32(c.isn + c.delta),
        flags: "S",
        window: 502,
        options: [
          { kind: "mss", value: 1460 },
          { kind: "sackPermitted" },
          { kind: "timestamp", value: 112, echo: 0 },
          { kind: "nop" },
          { kind: "wscale", shift: 7 },
        ],
      },
    }, { id: parseFrame(rsSyn[0]!).ipv4!.id, dontFragment: true, ttl: 64 }),
  ], "SYN to the real server");

  // The real server's clock is far from ours (and wraps): the kept ACK echoes its own TSval.
  const rsIsn = 900000, rsTs = 0xfffffff0;
  const sp = u32(c.cookie - rsIsn);
  const kept = c.out({
    seq: rsIsn,
    ack: u32(c.isn + 1 + c.delta),
    flags: "SA",
    options: [
      { kind: "mss", value: 1460 },
      ...NOPS(2),
      { kind: "timestamp", value: rsTs, echo: 112 },
    ],
  });
  assertFrames(kept, [
    c.toReal({
      ...ack,
      ack: rsIsn + 1,
      options: [c.toa(), ...NOPS(2), { kind: "timestamp", value: 112, echo: rsTs }],
    }),
  ], "kept ACK: TOA, and the real server's TSval echoed");

  // Real server → client: TSval on the node's clock, as the SYN-ACK showed it.
  const resp = new TextEncoder().encode("HTTP/1.0 200 OK\r\n");
  const reply = { ack: u32(c.isn + 1 + c.delta), flags: "PA", payload: resp };
  assertFrames(
    c.out({
      ...reply,
      seq: rsIsn + 1,
      options: [...NOPS(2), { kind: "timestamp", value: u32(rsTs + 40), echo: 112 }],
    }),
    [c.toClient({
      ...reply,
      seq: u32(rsIsn + 1 + sp),
      ack: c.isn + 1,
      options: [...NOPS(2), { kind: "timestamp", value: u32(ours + 40), echo: 112 }],
    })],
    "reply with TSval offset",
  );

  // Client → real server: TSecr back on the real server's clock.
  const next = { seq: c.isn + 1, flags: "A" };
  assertFrames(
    c.in({
      ...next,
      ack: u32(c.cookie + 1 + resp.length),
      options: [...NOPS(2), { kind: "timestamp", value: 113, echo: u32(ours + 40) }],
    }),
    [c.toReal({
      ...next,
      ack: rsIsn + 1 + resp.length,
      options: [...NOPS(2), { kind: "timestamp", value: 113, echo: u32(rsTs + 40) }],
    })],
    "client ACK with TSecr offset back",
  );
  apply();
});
