/**
 * SshTransport refusals that happen before any packet is sent (argument checks, host key and
 * private key configuration). The network behaviour is tested against a real sshd in
 * `tests/ssh_transport_test.ts`.
 */
import assert from "node:assert/strict";
import { SshTransport } from "./ssh_transport.ts";
import { type NodeEndpoint, TransportError } from "./transport.ts";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIroWL8SB+Zk4nTEa/pHGq22rRZoSl0x8Q9ONdzJkpAX";

async function keygen(dir: string, name: string, passphrase = ""): Promise<string> {
  const path = `${dir}/${name}`;
  const out = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", passphrase, "-C", "lhc", "-f", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return path;
}

/** A node on a port nothing listens on: these tests must fail before connecting. */
function endpoint(over: Partial<NodeEndpoint>): NodeEndpoint {
  return {
    name: "node-unit",
    host: "127.0.0.1",
    port: 9,
    user: "root",
    keyFile: "/nonexistent/key",
    hostKey: HOST_KEY,
    agentSocket: "/run/lvs-agent/agent.sock",
    ...over,
  };
}

async function refusal(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TransportError, `expected TransportError, got ${e}`);
    assert.equal(e.node, "node-unit");
    return e;
  }
  assert.fail("the call succeeded");
}

Deno.test("SshTransport rejects nonsense options", () => {
  assert.throws(() => new SshTransport({ concurrency: 0 }), RangeError);
  assert.throws(() => new SshTransport({ timeoutMs: 0 }), RangeError);
});

Deno.test("argument errors reject with built-in errors before any connection", async () => {
  const t = new SshTransport();
  const node = endpoint({});
  await assert.rejects(() => t.exec(node, []), TypeError);
  await assert.rejects(() => t.exec(node, ["echo", "a\0b"]), TypeError);
  await assert.rejects(() => t.agent(node, "GET", "/v1/status with space"), TypeError);
  await assert.rejects(() => t.agent(node, "POST", "/v1/apply", { n: 1n }), TypeError);
  await assert.rejects(() => t.upload(node, "/etc/hostname", "/opt/lvs/"), TypeError);
  await t.close();
});

Deno.test("a node without hostKey or knownHosts is refused: unverified host keys never pass", async () => {
  const t = new SshTransport();
  const { hostKey: _, ...rest } = endpoint({});
  const e = await refusal(t.exec(rest, ["true"]));
  assert.equal(e.kind, "hostkey");
  assert.match(e.message, /neither hostKey nor knownHosts/);
  await t.close();
});

Deno.test("an unreadable known_hosts file or a malformed pinned key is a hostkey error", async () => {
  const t = new SshTransport();
  const { hostKey: _, ...rest } = endpoint({});
  const missing = await refusal(
    t.exec({ ...rest, knownHosts: "/nonexistent/known_hosts" }, ["true"]),
  );
  assert.equal(missing.kind, "hostkey");
  assert.match(missing.message, /\/nonexistent\/known_hosts/);
  const bad = await refusal(t.exec(endpoint({ hostKey: "ssh-ed25519 !!!" }), ["true"]));
  assert.equal(bad.kind, "hostkey");
  assert.match(bad.message, /not base64/);
  await t.close();
});

Deno.test("a missing, garbled or passphrase-protected private key is an auth error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lhc-unit-" });
  const t = new SshTransport();
  try {
    const missing = await refusal(t.exec(endpoint({}), ["true"]));
    assert.equal(missing.kind, "auth");
    assert.match(missing.message, /Cannot read the private key file \/nonexistent\/key/);

    await Deno.writeTextFile(`${dir}/garbage`, "not a key\n");
    const garbage = await refusal(t.exec(endpoint({ keyFile: `${dir}/garbage` }), ["true"]));
    assert.equal(garbage.kind, "auth");
    assert.match(garbage.message, /garbage/);

    const locked = await keygen(dir, "locked", "secret phrase");
    const e = await refusal(t.exec(endpoint({ keyFile: locked }), ["true"]));
    assert.equal(e.kind, "auth");
    assert.match(e.message, /passphrase/);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uploading a local file that does not exist is an io error naming it", async () => {
  const t = new SshTransport();
  const e = await refusal(t.upload(endpoint({}), "/nonexistent/release.tar", "/opt/lvs/r.tar"));
  assert.equal(e.kind, "io");
  assert.match(e.message, /\/nonexistent\/release\.tar/);
  await t.close();
});
