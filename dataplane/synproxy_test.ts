/**
 * SYNPROXY through the FFI test entry with two workers: cookie SYN-ACKs with echoed options, the
 * real server's handshake with the cookie's options, shifted sequence numbers (SACK included),
 * floods that create nothing, bad/replayed/expired ACKs, reuse from TIME_WAIT, RS RST and RS
 * timeout. Every frame is compared byte for byte.
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

const dp = bringUp();
const u32 = (n: number) => n >>> 0;
const enc = (s: string) => new TextEncoder().encode(s);
const RS = { address: NET.reals[0].address, port: 8080, weight: 1 };
const apply = (s: Partial<Service> = {}) =>
  dp.apply(oneService({ synproxy: true, reals: [RS], ...s }));
apply();

const LINUX_SYN: TcpOption[] = [
  { kind: "mss", value: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamp", value: 111, echo: 0 },
  { kind: "nop" },
  { kind: "wscale", shift: 7 },
];

let nextPort = 50000;
type Seg = Omit<TcpSpec, "srcPort" | "dstPort">;

/** Polls a worker until its queues are empty. */
function drain(worker: number): void {
  while (dp.poll(worker) > 0) {
    // keep polling
  }
}

class Client {
  cookie = 0;
  lport = 0;
  delta = 0;
  constructor(readonly cport = nextPort++, readonly worker = 0, readonly isn = 1000) {}
  send(tcp: Seg): Uint8Array[] {
    dp.inject([fromClient({ tcp: { srcPort: this.cport, dstPort: 80, ...tcp } })], {
      queue: this.worker,
    });
    drain(this.worker);
    return dp.collect();
  }
  fromRs(tcp: Seg): Uint8Array[] {
    dp.inject([fromReal(0, { tcp: { srcPort: 8080, dstPort: this.lport, ...tcp } })], {
      queue: this.worker,
    });
    dp.poll(this.worker);
    return dp.collect();
  }
  /** SYN → cookie SYN-ACK; returns it and remembers the cookie. */
  syn(options: TcpOption[] = LINUX_SYN): Uint8Array {
    const out = this.send({ seq: this.isn, flags: "S", window: 64240, options });
    assert.equal(out.length, 1, "one SYN-ACK");
    this.cookie = parseFrame(out[0]!).tcp!.seq;
    return out[0]!;
  }
  /** The client's ACK of the cookie → the data plane's SYN to the real server. */
  ack(payload?: Uint8Array): Uint8Array[] {
    const out = this.send({
      seq: this.isn + 1,
      ack: u32(this.cookie + 1),
      flags: payload ? "PA" : "A",
      window: 502,
      ...(payload ? { payload } : {}),
    });
    if (out.length === 1) {
      const p = parseFrame(out[0]!);
      this.lport = p.tcp!.srcPort;
      this.delta = u32(p.tcp!.seq - this.isn);
    }
    return out;
  }
  toReal(tcp: Seg): Uint8Array {
    return toReal(0, { tcp: { ...tcp, srcPort: this.lport, dstPort: 8080 } }, { ttl: 63 });
  }
  toClient(tcp: Seg): Uint8Array {
    return toClient({ tcp: { ...tcp, srcPort: 80, dstPort: this.cport } }, { ttl: 63 });
  }
}

/** What a cookie SYN-ACK must look like (from the VIP, DF, TTL 64, our window). */
function synAck(c: Client, frame: Uint8Array, options: TcpOption[]): Uint8Array {
  const id = parseFrame(frame).ipv4!.id;
  return toClient({
    tcp: {
      srcPort: 80,
      dstPort: c.cport,
      seq: c.cookie,
      ack: c.isn + 1,
      flags: "SA",
      window: 65535,
      options,
    },
  }, { id, dontFragment: true, ttl: 64 });
}

function stats() {
  const s = dp.stats();
  const sum = (f: (w: typeof s.workers[0]) => number) => s.workers.reduce((a, w) => a + f(w), 0);
  return {
    sent: sum((w) => w.synCookiesSent),
    valid: sum((w) => w.synCookiesValid),
    invalid: sum((w) => w.synCookiesInvalid),
    retransmits: sum((w) => w.synproxyRsRetransmits),
    failures: sum((w) => w.synproxyRsFailures),
    drops: s.drops,
  };
}

/** Runs the whole handshake; returns the client with lport/delta known. */
function connect(c = new Client(), rsIsn = 7000): Client {
  c.syn();
  const syn = c.ack();
  assert.equal(syn.length, 1, "SYN to the real server");
  const kept = c.fromRs({ seq: rsIsn, ack: u32(c.isn + 1 + c.delta), flags: "SA" });
  assert.equal(kept.length, 1, "the kept ACK goes to the real server");
  return c;
}

Deno.test("a full handshake through SYNPROXY, then data both ways with shifted sequence numbers", () => {
  const before = stats();
  const c = new Client();
  const sa = c.syn();
  // MSS: 1500 − 40 − 8 (TOA); timestamps not promised (the service strips them); SACK and
  // window scale echoed.
  assertFrames([sa], [
    synAck(c, sa, [
      { kind: "mss", value: 1452 },
      { kind: "nop" },
      { kind: "nop" },
      {
        kind: "sackPermitted",
      },
      { kind: "nop" },
      { kind: "wscale", shift: 7 },
    ]),
  ], "cookie SYN-ACK");
  assert.equal(dp.sessionCount(), 0, "no session for a SYN");

  const req = enc("GET / HTTP/1.0\r\n\r\n");
  const syn = c.ack(req);
  // The SYN to the real server carries what the cookie recorded: the client's MSS 1460 (room for
  // TOA is in the MSS the SYN-ACK gave the client), SACK, wscale 7.
  assertFrames(syn, [
    toReal(0, {
      tcp: {
        srcPort: c.lport,
        dstPort: 8080,
        seq: u32(c.isn + c.delta),
        flags: "S",
        window: 502,
        options: [
          { kind: "mss", value: 1460 },
          { kind: "nop" },
          { kind: "nop" },
          {
            kind: "sackPermitted",
          },
          { kind: "nop" },
          { kind: "wscale", shift: 7 },
        ],
      },
    }, { id: parseFrame(syn[0]!).ipv4!.id, dontFragment: true, ttl: 64 }),
  ], "SYN to the real server");
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport)?.state, "syn_sent");

  // The real server's SYN-ACK stays here; the kept ACK (with its data and TOA) goes on.
  const rsIsn = 900000;
  const kept = c.fromRs({ seq: rsIsn, ack: u32(c.isn + 1 + c.delta), flags: "SA" });
  const sp = u32(c.cookie - rsIsn);
  assertFrames(kept, [
    c.toReal({
      seq: u32(c.isn + 1 + c.delta),
      ack: rsIsn + 1,
      flags: "PA",
      window: 502,
      payload: req,
      options: [{ kind: "toa", port: c.cport, address: NET.client }],
    }),
  ], "kept ACK with TOA");

  // The real server answers: its sequence numbers shifted into the cookie's space.
  const resp = enc("HTTP/1.0 200 OK\r\n");
  assertFrames(
    c.fromRs({
      seq: rsIsn + 1,
      ack: u32(c.isn + 1 + req.length + c.delta),
      flags: "PA",
      payload: resp,
    }),
    [c.toClient({
      seq: u32(rsIsn + 1 + sp),
      ack: c.isn + 1 + req.length,
      flags: "PA",
      payload: resp,
    })],
    "response",
  );
  // The client's acknowledgement and SACK blocks go back into the real server's space.
  const sack = (a: number, b: number): TcpOption[] => [{ kind: "nop" }, { kind: "nop" }, {
    kind: "sack",
    blocks: [[a, b]],
  }];
  const cseq = c.isn + 1 + req.length;
  assertFrames(
    c.send({
      seq: cseq,
      ack: u32(c.cookie + 1 + resp.length),
      flags: "A",
      options: sack(u32(c.cookie + 100), u32(c.cookie + 200)),
    }),
    [c.toReal({
      seq: u32(cseq + c.delta),
      ack: rsIsn + 1 + resp.length,
      flags: "A",
      options: sack(rsIsn + 100, rsIsn + 200),
    })],
    "client ACK with SACK",
  );
  const after = stats();
  assert.equal(after.sent - before.sent, 1);
  assert.equal(after.valid - before.valid, 1);
});

Deno.test("SYN-ACK options follow what the client offered", () => {
  // Nothing offered: only our MSS.
  const bare = new Client();
  const f1 = bare.syn([]);
  assertFrames([f1], [synAck(bare, f1, [{ kind: "mss", value: 1452 }])], "bare SYN");
  // With timestamps kept by the service: echoed with the client's value.
  apply({ stripTimestamps: false });
  const ts = new Client();
  const f2 = ts.syn(LINUX_SYN);
  const echoed = parseFrame(f2).tcp!.options.find((o) => o.kind === "timestamp");
  assert.ok(echoed && echoed.kind === "timestamp" && echoed.echo === 111, "TS echo");
  assertFrames([f2], [
    synAck(ts, f2, [
      { kind: "mss", value: 1452 },
      { kind: "sackPermitted" },
      echoed,
      { kind: "nop" },
      { kind: "wscale", shift: 7 },
    ]),
  ], "SYN with timestamps");
  apply();
});

Deno.test("a flood of spoofed SYNs creates no session and reaches no real server", () => {
  const before = stats();
  const sessions = dp.sessionCount();
  for (let i = 0; i < 500; i++) {
    dp.inject([
      fromClient({ tcp: { srcPort: 1024 + i, dstPort: 80, seq: i * 7919, flags: "S" } }, {
        src: `203.0.113.${i % 250 + 1}`,
      }),
    ], { queue: i % 2 });
    if (i % 100 === 99) [0, 1].forEach(drain);
  }
  const out = dp.collect();
  assert.equal(out.length, 500, "500 SYN-ACKs");
  assert.ok(out.every((f) => parseFrame(f).ipv4!.src === NET.vip), "all from the VIP");
  assert.equal(dp.sessionCount(), sessions);
  assert.equal(stats().sent - before.sent, 500);
});

Deno.test("random, replayed and expired ACKs are dropped and counted", () => {
  const before = stats();
  const sessions = dp.sessionCount();
  // Random ACKs (an ACK flood).
  for (let i = 0; i < 50; i++) {
    const c = new Client();
    assertFrames(c.send({ seq: 1 + i, ack: u32(i * 2654435761), flags: "A" }), [], "random ACK");
  }
  // A valid cookie replayed from another port, and with another ISN.
  const c = new Client();
  c.syn();
  const other = new Client(c.cport + 10000);
  assertFrames(
    other.send({ seq: c.isn + 1, ack: u32(c.cookie + 1), flags: "A" }),
    [],
    "other port",
  );
  assertFrames(c.send({ seq: c.isn + 2, ack: u32(c.cookie + 1), flags: "A" }), [], "other ISN");
  // RST and FIN floods without a session.
  assertFrames(c.send({ seq: 5, ack: 5, flags: "RA" }), [], "RST");
  // A FIN-ACK is checked as a cookie ACK (a client may close with its third segment).
  assertFrames(c.send({ seq: 5, ack: 5, flags: "FA" }), [], "FIN");
  // The cookie expires after its minute and the next.
  dp.advanceClock(180);
  assertFrames(c.ack(), [], "expired cookie");
  const after = stats();
  assert.equal(after.invalid - before.invalid, 54);
  assert.equal(
    (after.drops["synproxy_bad_ack"] ?? 0) - (before.drops["synproxy_bad_ack"] ?? 0),
    54,
  );
  assert.equal((after.drops["no_session"] ?? 0) - (before.drops["no_session"] ?? 0), 1, "RST");
  assert.equal(dp.sessionCount(), sessions);
});

Deno.test("a legitimate connection succeeds in the middle of a SYN flood", () => {
  const flood = (n: number, from: number) => {
    for (let i = 0; i < n; i++) {
      dp.inject([fromClient({ tcp: { srcPort: from + i, dstPort: 80, seq: i, flags: "S" } }, {
        src: `203.0.113.${i % 250 + 1}`,
      })], { queue: 1 });
    }
  };
  const c = new Client(nextPort++, 1);
  const sessions = dp.sessionCount();
  flood(100, 2000);
  dp.inject([fromClient({ tcp: { srcPort: c.cport, dstPort: 80, seq: c.isn, flags: "S" } })], {
    queue: 1,
  });
  flood(100, 3000);
  drain(1);
  const mine = dp.collect().filter((f) => parseFrame(f).tcp!.dstPort === c.cport);
  assert.equal(mine.length, 1, "our SYN-ACK among the flood's");
  c.cookie = parseFrame(mine[0]!).tcp!.seq;
  flood(100, 4000);
  dp.inject([fromClient({
    tcp: { srcPort: c.cport, dstPort: 80, seq: c.isn + 1, ack: u32(c.cookie + 1), flags: "A" },
  })], { queue: 1 });
  drain(1);
  const toRs = dp.collect().filter((f) => parseFrame(f).ipv4!.dst === NET.reals[0].address);
  assert.equal(toRs.length, 1, "exactly our SYN reaches the real server");
  assert.equal(dp.sessionCount(), sessions + 1);
});

Deno.test("a new cookie ACK reuses a tuple whose session is in TIME_WAIT", () => {
  const c = connect();
  const rsIsn = 7000;
  // Close: client FIN, server FIN, last ACK.
  c.send({ seq: c.isn + 1, ack: u32(c.cookie + 1), flags: "FA" });
  c.fromRs({ seq: rsIsn + 1, ack: u32(c.isn + 2 + c.delta), flags: "FA" });
  c.send({ seq: c.isn + 2, ack: u32(c.cookie + 2), flags: "A" });
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport)?.state, "time_wait");
  // Same tuple, new connection.
  const again = new Client(c.cport, 0, 500000);
  again.syn();
  assert.equal(again.ack().length, 1, "SYN to the real server for the reused tuple");
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport)?.state, "syn_sent");
});

Deno.test("a real server's RST during the handshake resets the client", () => {
  const before = stats();
  const c = new Client();
  c.syn();
  c.ack();
  const out = c.fromRs({ seq: 0, ack: u32(c.isn + 1 + c.delta), flags: "RA" });
  assertFrames(out, [
    toClient({
      tcp: {
        srcPort: 80,
        dstPort: c.cport,
        seq: u32(c.cookie + 1),
        ack: c.isn + 1,
        flags: "RA",
        window: 0,
      },
    }, { id: parseFrame(out[0]!).ipv4!.id, ttl: 64 }),
  ], "RST to the client");
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport), undefined);
  assert.equal(stats().failures - before.failures, 1);
});

Deno.test("a silent real server gets the SYN again, then the client gets an RST", () => {
  const before = stats();
  const c = new Client();
  c.syn();
  const first = c.ack();
  for (let i = 0; i < 3; i++) {
    dp.advanceClock(2 ** (i + 1));
    dp.poll(0);
    const again = dp.collect().filter((f) => parseFrame(f).tcp?.srcPort === c.lport);
    assert.equal(again.length, 1, `retransmission ${i + 1}`);
    assert.deepEqual(parseFrame(again[0]!).tcp, parseFrame(first[0]!).tcp, "the same SYN");
  }
  dp.advanceClock(16);
  dp.poll(0);
  const rst = dp.collect().filter((f) => parseFrame(f).tcp?.dstPort === c.cport);
  assert.equal(rst.length, 1);
  const p = parseFrame(rst[0]!);
  assert.equal(p.ipv4!.dst, NET.client);
  assert.equal(p.tcp!.flags, "RA");
  const after = stats();
  assert.ok(after.retransmits - before.retransmits >= 3);
  assert.ok(after.failures - before.failures >= 1);
  assert.equal(dp.sessions().find((s) => s.clientPort === c.cport), undefined);
});

Deno.test("an ACK storm on a SYNPROXY session is cut off and counted", () => {
  const c = connect();
  const before = dp.stats().drops["synproxy_ack_storm"] ?? 0;
  const ack = { seq: c.isn + 1, ack: u32(c.cookie + 1), flags: "A" };
  let forwarded = 0;
  for (let i = 0; i < 40; i++) forwarded += c.send(ack).length;
  assert.equal(forwarded, 17, "the first ACK and 16 repeats pass, the storm does not");
  assert.equal((dp.stats().drops["synproxy_ack_storm"] ?? 0) - before, 23);
  // A new acknowledgement passes again.
  assert.equal(c.send({ ...ack, ack: u32(c.cookie + 2) }).length, 1);
});
