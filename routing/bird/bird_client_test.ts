import assert from "node:assert/strict";
import { BirdClient, withBird } from "./bird_client.ts";
import { BirdConnectionError, BirdError } from "../bird_reply.ts";

/** A stand-in BIRD on a Unix socket that answers from a table (wire text as BIRD sends it). */
async function fakeDaemon(
  answers: Record<string, string | null>,
  fn: (path: string) => Promise<void>,
  greeting = "0001 BIRD 2.0.12 ready.\n",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lvs-birdc-" });
  const path = `${dir}/bird.ctl`;
  const listener = Deno.listen({ transport: "unix", path });
  const conns: Deno.Conn[] = [];
  const serve = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const enc = new TextEncoder(), dec = new TextDecoder();
        await conn.write(enc.encode(greeting));
        const buf = new Uint8Array(4096);
        let pending = "";
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          pending += dec.decode(buf.subarray(0, n));
          let nl;
          while ((nl = pending.indexOf("\n")) >= 0) {
            const cmd = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            const a = answers[cmd];
            if (a === null) continue; // stay silent: the client's deadline must fire
            // Split the answer in two writes to exercise reassembly across reads.
            const text = a ?? "9001 syntax error\n";
            const half = Math.floor(text.length / 2);
            await conn.write(enc.encode(text.slice(0, half)));
            await conn.write(enc.encode(text.slice(half)));
          }
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  try {
    await fn(path);
  } finally {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await serve;
    await Deno.remove(dir, { recursive: true });
  }
}

const PROTOCOLS = "2002-Name       Proto      Table      State  Since         Info\n" +
  "1002-device1    Device     ---        up     02:33:54.538  \n" +
  " upstream   OSPF       master4    up     02:33:54.538  Running\n" +
  "0000 \n";

Deno.test("BirdClient reads the greeting and a multi-line reply split across reads", async () => {
  await fakeDaemon({ "show protocols": PROTOCOLS }, async (path) => {
    await withBird(path, async (bird) => {
      assert.equal(bird.greeting, "BIRD 2.0.12 ready.");
      const r = await bird.command("show protocols");
      assert.equal(r.code, 0);
      assert.deepEqual(r.lines.map((l) => l.code), [2002, 1002, 1002, 0]);
      assert.equal(
        r.lines[2]?.text,
        "upstream   OSPF       master4    up     02:33:54.538  Running",
      );
    });
  });
});

Deno.test("BirdClient raises BirdError with code and response and stays usable", async () => {
  await fakeDaemon({
    "show route 1.2.3.4/32": "8001 Network not found\n",
    "show status": "0013 Daemon is up and running\n",
  }, async (path) => {
    await withBird(path, async (bird) => {
      await assert.rejects(bird.command("show route 1.2.3.4/32"), (e: unknown) => {
        assert.ok(e instanceof BirdError);
        assert.equal(e.code, 8001);
        assert.equal(e.response, "Network not found");
        return true;
      });
      assert.equal((await bird.command("show status")).code, 13);
    });
  });
});

Deno.test("BirdClient serialises concurrent commands on one connection", async () => {
  await fakeDaemon({ "a": "0013 A\n", "b": "0003 B\n" }, async (path) => {
    await withBird(path, async (bird) => {
      const [a, b] = await Promise.all([bird.command("a"), bird.command("b")]);
      assert.equal(a.lines[0]?.text, "A");
      assert.equal(b.lines[0]?.text, "B");
    });
  });
});

Deno.test("BirdClient closes the connection when a command misses its deadline", async () => {
  await fakeDaemon({ "show status": null }, async (path) => {
    const bird = await BirdClient.connect(path);
    await assert.rejects(bird.command("show status", { timeoutMs: 100 }), (e: unknown) => {
      assert.ok(e instanceof BirdConnectionError);
      assert.match(e.message, /no answer within 100 ms/);
      return true;
    });
    await assert.rejects(bird.command("show status"), /connection .* is closed/);
    bird.close();
  });
});

Deno.test("BirdClient refuses a daemon whose greeting is not 0001", async () => {
  await fakeDaemon({}, async (path) => {
    await assert.rejects(BirdClient.connect(path), /expected greeting 0001, got 9999/);
  }, "9999 go away\n");
});

Deno.test("BirdClient reports a missing socket as BirdConnectionError", async () => {
  await assert.rejects(
    BirdClient.connect("/nonexistent/lvs-test/bird.ctl", { timeoutMs: 500 }),
    (e: unknown) =>
      e instanceof BirdConnectionError && /Cannot connect to BIRD at \/nonexistent/.test(e.message),
  );
});

Deno.test("BirdClient rejects a command containing a newline", async () => {
  await fakeDaemon({}, async (path) => {
    await withBird(path, async (bird) => {
      await assert.rejects(bird.command("show status\nconfigure"), TypeError);
    });
  });
});
