/**
 * One behaviour suite for every {@linkcode NodeTransport} (the SSH transport against a real
 * sshd, the recording fake in memory), in the spirit of Hono's shared router tests.
 *
 * The node under test must follow the conformance contract:
 *
 * | call | answer |
 * | --- | --- |
 * | agent `GET /v1/status` | 200, a JSON object with a string `version` |
 * | agent `POST /v1/echo` with a JSON body | 200, `{ "echo": <the body> }` |
 * | agent `GET /v1/missing` | 404, `{ "error": <string> }` (returned, not thrown) |
 * | agent `GET /v1/headers` | 200, `{ "headers": { name: value } }`: the request's headers, names lower-case |
 * | exec `["echo", ...words]` | code 0, stdout `words.join(" ") + "\n"` |
 * | exec `["false"]` | code 1 (returned, not thrown) |
 * | exec `["cat", path]` | code 0, the file's content (after an upload to `path`) |
 *
 * `transport_conformance_agent.ts` implements the agent rows (serve it on the node's agent
 * socket, or call its handler from a fake).
 *
 * @example
 * ```ts
 * Deno.test("SshTransport conforms", async (t) => {
 *   await transportConformance(t, { transport, node, scratchDir: "/tmp/lhc-scratch" });
 * });
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { type NodeEndpoint, type NodeTransport, TransportError } from "./transport.ts";

/** What the suite exercises. */
export interface ConformanceTarget {
  /** The implementation under test. */
  transport: NodeTransport;
  /** A node that follows the contract in the module documentation. */
  node: NodeEndpoint;
  /** A directory on the node the suite may create files under. */
  scratchDir: string;
  /** Optional: a node every call to which must fail with a TransportError naming it. */
  unreachable?: NodeEndpoint;
  /** Deadline passed to calls on `unreachable` (default 3000 ms). */
  unreachableTimeoutMs?: number;
}

/** Runs the conformance steps as `t.step`s; the caller closes the transport afterwards. */
export async function transportConformance(
  t: Deno.TestContext,
  target: ConformanceTarget,
): Promise<void> {
  const { transport: tr, node } = target;

  await t.step("agent GET /v1/status answers 200 with a version", async () => {
    const r = await tr.agent(node, "GET", "/v1/status");
    assert.equal(r.status, 200);
    assert.equal(typeof (r.body as { version?: unknown }).version, "string");
  });

  await t.step("agent POST carries a JSON body both ways, byte for byte", async () => {
    const body = {
      text: 'naïve ☃ \u0000 "quoted" \\ 𝄞',
      list: Array.from({ length: 3000 }, (_, i) => ({ i, name: `vip-${i}` })),
      nested: { a: [1, 2.5, -3, true, null] },
    };
    const r = await tr.agent(node, "POST", "/v1/echo", body);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { echo: body });
  });

  await t.step("agent calls carry the caller's extra headers", async () => {
    const r = await tr.agent(node, "GET", "/v1/headers", undefined, {
      headers: { "X-Lvs-Lease-Token": "42" },
    });
    assert.equal(r.status, 200);
    assert.equal(
      (r.body as { headers: Record<string, string> }).headers["x-lvs-lease-token"],
      "42",
    );
  });

  await t.step("a non-2xx agent answer is returned, not thrown", async () => {
    const r = await tr.agent(node, "GET", "/v1/missing");
    assert.equal(r.status, 404);
    assert.equal(typeof (r.body as { error?: unknown }).error, "string");
  });

  await t.step("exec passes every argv item as one word and returns exit codes", async () => {
    const words = ["a b", "it's", "$HOME", "`id`", "*", "-n"];
    const r = await tr.exec(node, ["echo", ...words]);
    // `echo -n` as a later word is printed, not taken as an option.
    assert.deepEqual(r, { code: 0, stdout: words.join(" ") + "\n", stderr: "" });
    const f = await tr.exec(node, ["false"]);
    assert.equal(f.code, 1);
  });

  await t.step(
    "upload creates parents, replaces the target and leaves the content intact",
    async () => {
      const local = await Deno.makeTempFile({ prefix: "lhc-conformance-" });
      try {
        const remote = `${target.scratchDir}/conformance/a/b/release.bin`;
        const first = new Uint8Array(200_000);
        for (let off = 0; off < first.length; off += 65536) {
          crypto.getRandomValues(first.subarray(off, off + 65536));
        }
        await Deno.writeFile(local, first);
        await tr.upload(node, local, remote);
        const cat1 = await tr.exec(node, ["cat", remote]);
        assert.equal(cat1.code, 0);
        assert.equal(cat1.stdout, new TextDecoder().decode(first));
        await Deno.writeTextFile(local, "second version\n");
        await tr.upload(node, local, remote);
        assert.equal((await tr.exec(node, ["cat", remote])).stdout, "second version\n");
      } finally {
        await Deno.remove(local).catch(() => {});
      }
    },
  );

  await t.step("many calls in parallel all succeed", async () => {
    const replies = await Promise.all(
      Array.from(
        { length: 24 },
        (_, i) =>
          i % 2 === 0
            ? tr.agent(node, "GET", "/v1/status").then((r) => r.status)
            : tr.exec(node, ["echo", String(i)]).then((r) => (r.stdout === `${i}\n` ? 200 : 0)),
      ),
    );
    assert.deepEqual(replies, Array(24).fill(200));
  });

  await t.step("close() ends connections and a later call opens a new one", async () => {
    await tr.close();
    const r = await tr.agent(node, "GET", "/v1/status");
    assert.equal(r.status, 200);
  });

  const bad = target.unreachable;
  if (bad) {
    await t.step(
      "every call to an unreachable node fails with a TransportError naming it",
      async () => {
        const opts = { timeoutMs: target.unreachableTimeoutMs ?? 3000 };
        const isNamed = (e: unknown) => {
          assert.ok(e instanceof TransportError, `expected a TransportError, got ${e}`);
          assert.equal(e.node, bad.name);
          assert.ok(e.message.includes(bad.name), e.message);
          return true;
        };
        await assert.rejects(() => tr.agent(bad, "GET", "/v1/status", undefined, opts), isNamed);
        await assert.rejects(() => tr.exec(bad, ["true"], opts), isNamed);
      },
    );
  }
}
