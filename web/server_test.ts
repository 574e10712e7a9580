import assert from "node:assert/strict";
import { isLoopback, plainHttpRefusal, serveDashboard } from "./server.ts";
import { MemoryFleet } from "./memory_fleet.ts";
import { MemoryAuditLog } from "./audit.ts";
import { TOKEN } from "./_testing.ts";

Deno.test("isLoopback() and plainHttpRefusal(): plain HTTP only on loopback unless insecure", () => {
  for (const h of ["127.0.0.1", "127.9.8.7", "::1", "[::1]", "localhost"]) {
    assert.equal(isLoopback(h), true, h);
    assert.equal(plainHttpRefusal(h, 8080, { tls: false, insecure: false }), null, h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.5", "192.0.2.1", "example.org", "128.0.0.1"]) {
    assert.equal(isLoopback(h), false, h);
    assert.match(
      plainHttpRefusal(h, 8080, { tls: false, insecure: false })!,
      new RegExp(
        `^Refusing to serve the dashboard on ${h.replace(/\./g, "\\.")}:8080 over plain HTTP`,
      ),
    );
    assert.equal(plainHttpRefusal(h, 8080, { tls: true, insecure: false }), null);
    assert.equal(plainHttpRefusal(h, 8080, { tls: false, insecure: true }), null);
  }
});

function deps() {
  const fleet = new MemoryFleet({});
  return {
    reader: fleet,
    actions: fleet,
    audit: new MemoryAuditLog(),
    operators: [{ name: "alice", token: TOKEN }],
  };
}

Deno.test("serveDashboard() refuses plain HTTP on a non-loopback address unless told insecure", async () => {
  assert.throws(
    () => serveDashboard({ port: 0, hostname: "0.0.0.0", deps: deps() }),
    (e: unknown) => e instanceof RangeError && /over plain HTTP/.test(e.message),
  );
  const server = serveDashboard({ port: 0, hostname: "0.0.0.0", insecure: true, deps: deps() });
  try {
    assert.match(server.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveDashboard() serves HTTPS with a certificate and key; the session cookie is Secure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dash-tls-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    const key = await Deno.readTextFile(`${dir}/key.pem`);
    const server = serveDashboard({ port: 0, tls: { cert, key }, deps: deps() });
    const client = Deno.createHttpClient({ caCerts: [cert] });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      const origin = server.url.replace(/\/$/, "");
      const res = await fetch(`${server.url}login`, {
        client,
        method: "POST",
        redirect: "manual",
        headers: { origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: TOKEN }),
      });
      await res.body?.cancel();
      assert.equal(res.status, 303);
      const cookie = res.headers.get("set-cookie") ?? "";
      assert.match(cookie, /^lvs_session=[^;]+;/);
      assert.match(cookie, /; Secure/);
      const api = await fetch(`${server.url}api/fleet`, {
        client,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(api.status, 200);
      await api.body?.cancel();
      // Plain HTTP to the TLS port gets no dashboard.
      await assert.rejects(
        fetch(`http://127.0.0.1:${server.port}/api/fleet`).then((r) => r.text()),
      );
    } finally {
      client.close();
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
