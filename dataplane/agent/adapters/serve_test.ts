import assert from "node:assert/strict";
import { serveOnSocket } from "./serve.ts";

async function get(path: string, url: string): Promise<string> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
  try {
    const res = await fetch(url, { client });
    return await res.text();
  } finally {
    client.close();
  }
}

Deno.test("serveOnSocket() answers on a 0600 socket in a 0700 directory and replaces a stale one", async () => {
  const root = await Deno.makeTempDir();
  const path = `${root}/agent/agent.sock`;
  try {
    const first = await serveOnSocket(path, () => new Response("one"));
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(`${root}/agent`).mode! & 0o777, 0o700);
    assert.equal(await get(path, "http://agent/v1/status"), "one");
    await first.shutdown();
    // A crashed agent leaves its socket behind; the next one takes the path over.
    const l = Deno.listen({ path, transport: "unix" });
    l.close();
    const second = await serveOnSocket(path, () => new Response("two"));
    assert.equal(await get(path, "http://agent/"), "two");
    await second.shutdown();
    await Deno.writeTextFile(path, "not a socket");
    await assert.rejects(
      serveOnSocket(path, () => new Response()),
      /non-socket file is in the way/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
