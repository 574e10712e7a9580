import assert from "node:assert/strict";
import { toaFromFrame, ToaTable } from "./toa.ts";

/** Ethernet + IPv4 (20 bytes) + TCP with the given option bytes (padded to 4). */
function frame(options: number[]): Uint8Array {
  const opts = [...options];
  while (opts.length % 4) opts.push(0);
  const tcpLen = 20 + opts.length;
  const f = new Uint8Array(14 + 20 + tcpLen);
  f.set([0x08, 0x00], 12);
  f.set([0x45, 0, 0, 20 + tcpLen, 0, 0, 0x40, 0, 64, 6, 0, 0], 14);
  f.set([10, 20, 1, 1, 10, 0, 0, 21], 26); // LIP 10.20.1.1 -> RS 10.0.0.21
  const t = 34;
  f.set([0x13, 0x88, 0x00, 0x50], t); // 5000 -> 80
  f[t + 12] = (tcpLen / 4) << 4;
  f[t + 13] = 0x10; // ACK
  f.set(opts, t + 20);
  return f;
}

const TOA = [254, 8, 0x9c, 0x40, 192, 0, 2, 7]; // port 40000, 192.0.2.7

Deno.test("toaFromFrame() reads the client address and port and names the connection", () => {
  assert.deepEqual(toaFromFrame(frame([1, 1, ...TOA])), {
    peer: { address: "10.20.1.1", port: 5000 },
    local: { address: "10.0.0.21", port: 80 },
    client: { address: "192.0.2.7", port: 40000 },
  });
});

Deno.test("toaFromFrame() honours a configured kind (the original kernel used 200)", () => {
  const f = frame([200, 8, 0x9c, 0x40, 192, 0, 2, 7]);
  assert.equal(toaFromFrame(f), undefined);
  assert.equal(toaFromFrame(f, 200)?.client.address, "192.0.2.7");
});

Deno.test("toaFromFrame() rejects overrunning options, wrong length, non-TCP and truncation", () => {
  assert.equal(toaFromFrame(frame([254, 12, 0, 0])), undefined, "option overruns the header");
  assert.equal(toaFromFrame(frame([254, 6, 0, 0, 1, 2])), undefined, "TOA must be 8 bytes");
  assert.equal(toaFromFrame(frame([8, 10, 1, 2, 3, 4, 5, 6, 7, 8])), undefined, "no TOA at all");
  const udp = frame(TOA);
  udp[23] = 17;
  assert.equal(toaFromFrame(udp), undefined);
  assert.equal(toaFromFrame(frame(TOA).slice(0, 40)), undefined);
  assert.equal(toaFromFrame(new Uint8Array(5)), undefined);
});

Deno.test("ToaTable keeps the newest entry per peer, bounded in size and age", () => {
  const t = new ToaTable(2, 1000);
  const obs = (port: number, client: string) => ({
    peer: { address: "10.20.1.1", port },
    local: { address: "10.0.0.21", port: 80 },
    client: { address: client, port: 1 },
  });
  t.record(obs(1, "192.0.2.1"), 0);
  t.record(obs(1, "192.0.2.9"), 10);
  assert.equal(t.lookup({ address: "10.20.1.1", port: 1 }, 20)?.client.address, "192.0.2.9");
  t.record(obs(2, "192.0.2.2"), 20);
  t.record(obs(3, "192.0.2.3"), 30);
  assert.equal(t.size, 2);
  assert.equal(t.lookup({ address: "10.20.1.1", port: 1 }, 30), undefined, "oldest evicted");
  assert.equal(t.lookup({ address: "10.20.1.1", port: 3 }, 2000), undefined, "too old");
});
