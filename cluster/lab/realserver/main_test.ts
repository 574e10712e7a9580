import assert from "node:assert/strict";
import { startRealServer, type WhoAmI } from "./main.ts";
import { startSniffer } from "./sniffer.ts";
import { ToaTable } from "./toa.ts";
import { pollUntil } from "../../../routing/poll.ts";

Deno.test("the real server answers /whoami with its TCP peer and /health with 200", async () => {
  const rs = await startRealServer({ name: "rs-test", hostname: "127.0.0.1", port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${rs.port}/whoami`);
    const body = (await res.json()) as WhoAmI;
    assert.equal(body.server, "rs-test");
    assert.equal(body.peer.address, "127.0.0.1");
    assert.ok(body.peer.port > 0);
    assert.equal(body.toa, null);
    const health = await fetch(`http://127.0.0.1:${rs.port}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await rs.shutdown();
  }
});

Deno.test("the sniffer reads tcpdump's live pcap stream on loopback", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const sniffer = startSniffer("lo", port, new ToaTable());
  try {
    await sniffer.ready;
    const serving = (async () => {
      const c = await listener.accept();
      const buf = new Uint8Array(16);
      await c.read(buf);
      c.close();
    })();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("hello"));
    await serving;
    conn.close();
    // Data packets to the port carry TCP timestamps, so they pass the options filter.
    await pollUntil(() => sniffer.frames() > 0 || null, 5000, 20);
    assert.ok(sniffer.frames() > 0, "no frame reached the pcap reader");
  } finally {
    listener.close();
    await sniffer.stop();
  }
});
