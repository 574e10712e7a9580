import assert from "node:assert/strict";
import { parseLoadArgs, runLoad, takeResponse } from "./load_client.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("takeResponse() waits for the whole body and says how many bytes it took", () => {
  const r = "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nrs1\n";
  assert.equal(takeResponse(enc(r.slice(0, 30))), null);
  assert.equal(takeResponse(enc(r.slice(0, r.length - 1))), null);
  assert.deepEqual(takeResponse(enc(r + "HTTP/1.1")), { used: r.length, status: 200 });
  assert.throws(() => takeResponse(enc("HTTP/1.1 200 OK\r\n\r\n")), /Content-Length/);
});

Deno.test("parseLoadArgs() reads the target and bounds every number", () => {
  const o = parseLoadArgs(["--target", "10.77.100.1:80", "--long", "1000", "--rate", "200"]);
  assert.deepEqual([o.host, o.port, o.long, o.rate, o.seconds], ["10.77.100.1", 80, 1000, 200, 10]);
  assert.throws(() => parseLoadArgs(["--target", "x"]), /host:port/);
  assert.throws(() => parseLoadArgs(["--target", "a:1", "--long", "-1"]), /--long/);
});

Deno.test("runLoad() keeps long-lived connections and opens new ones against a loopback server", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("ok\n"),
  );
  try {
    const s = await runLoad({
      host: "127.0.0.1",
      port: server.addr.port,
      long: 20,
      rate: 20,
      seconds: 2,
      timeoutMs: 2000,
      path: "/",
    });
    assert.equal(s.long.opened, 20);
    assert.equal(s.long.broken, 0, JSON.stringify(s.reasons));
    assert.ok(s.long.requests >= 20, `${s.long.requests} requests`);
    assert.ok(s.new.attempted >= 20);
    assert.equal(s.new.failed, 0, JSON.stringify(s.reasons));
  } finally {
    await server.shutdown();
  }
});

Deno.test("runLoad() counts connections that break when the server goes away", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    () => new Response("ok\n"),
  );
  setTimeout(() => ac.abort(), 1200);
  const s = await runLoad({
    host: "127.0.0.1",
    port: server.addr.port,
    long: 10,
    rate: 0,
    seconds: 3,
    timeoutMs: 500,
    path: "/",
  });
  await server.finished;
  assert.equal(s.long.opened, 10);
  assert.equal(s.long.broken, 10, JSON.stringify(s));
});
