import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  describeRefusal,
  entryMatches,
  hashKnownHostsName,
  keyFingerprint,
  knownHostsLine,
  knownHostsName,
  matchPattern,
  parseKnownHosts,
  parsePublicKey,
  preferredHostKeyTypes,
  verifyHostKey,
} from "./known_hosts.ts";

// Captured from ssh-keygen 9.2 (keys a, b: ed25519; c: ecdsa; r: rsa), with the fingerprints
// `ssh-keygen -lf` printed for them.
const A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIroWL8SB+Zk4nTEa/pHGq22rRZoSl0x8Q9ONdzJkpAX a";
const B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJuL0u83aASEC0ySYNtxcsN8G1mSRViC+25tM06y6x9a b";
const C = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDA6dsld8bSGH9" +
  "jaxxDu/GjpL+gv3j7c5w3p1SNfIYMKVMPCrWWPpjJWycPQux+H5DSpRFckFUf1ZS7rib9gGHA= c";
const R =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCK9a5ML3hP/oEvUtNASQhufFZxZxBKtwmQlKj0uDdFFWn4Mp6" +
  "j0wISeBfYL+tUo7dxaVlggK3EH41vov3ZNf83w5g6/cYhkbZXwrkCC5qL5CVlSLB08+aADc80cCw0wwNgM9SLbFS/QFDT" +
  "Brg/ce89UBxg8siaAEgauEquur2KV4uVqyFau0l6xyW2ZzhnkoT/HFXVeytNFZ0xsCa9fQtQwGFnSxa/apAH4KpJAdYev" +
  "GKKfe2q/B37Vn8USKfEWoQuV+geGRTMVzAgXk6ycL/RMbV6CX0AbdDlC6nAErTRvgFke2pIOUzDyxI26vqKoP5BNCTttUg" +
  "T/pQ9p/7GdIyN r";
const FP = {
  a: "SHA256:Qm8p8PilH1eJdS5BYHi9E5HE2d9WRk41JtYIXP97cqo",
  b: "SHA256:QrEMbas/NjduJeeBDtH0KnLSob4mYD+DRDH5oVTfz74",
  c: "SHA256:l6qONZSL+FJsbl849xINO4ZtSphLT61pggeBRHsLcLE",
  r: "SHA256:hTWZg/OqV0Q+hvttZQK+Jke2BVr4ae7vPAL7EUXVBbY",
};
const key = (line: string) => line.split(" ").slice(0, 2).join(" ");

// `ssh-keygen -H` of: "10.9.0.2 <A>", "[10.9.0.2]:2222 <B>", "node3.lab <C>".
const HASHED = [
  `|1|jlecnLMkKjAK0Jr1lncUhmcsOJA=|LLumZDUyCYWBQhTynqOy5zxqYYM= ${key(A)}`,
  `|1|8CA0uO6hTGjacpI4rUguhQZB4B8=|bm9eQOjz8JyDGsR9Ylj/t/EYVWI= ${key(B)}`,
  `|1|8ufiNAlY9Hc6XbGhnC6lXXcZTCw=|fgF5C7Zo+BLkYHdw3pfI7UADV34= ${key(C)}`,
].join("\n");

Deno.test("keyFingerprint() prints what ssh-keygen -lf prints", () => {
  assert.equal(keyFingerprint(parsePublicKey(A).blob), FP.a);
  assert.equal(keyFingerprint(parsePublicKey(B).blob), FP.b);
  assert.equal(keyFingerprint(parsePublicKey(C).blob), FP.c);
  assert.equal(keyFingerprint(parsePublicKey(R).blob), FP.r);
});

Deno.test("parsePublicKey() rejects a type that disagrees with the blob and bad base64", () => {
  assert.throws(() => parsePublicKey(`ssh-rsa ${A.split(" ")[1]}`), /ssh-ed25519/);
  assert.throws(() => parsePublicKey("ssh-ed25519 not*base64"), SyntaxError);
  assert.throws(() => parsePublicKey("ssh-ed25519"), /expected "<type> <base64>"/);
  assert.equal(parsePublicKey(`  ${A}  `).type, "ssh-ed25519");
});

Deno.test("knownHostsName() brackets non-standard ports", () => {
  assert.equal(knownHostsName("10.0.0.1", 22), "10.0.0.1");
  assert.equal(knownHostsName("10.0.0.1", 2222), "[10.0.0.1]:2222");
});

Deno.test("matchPattern() handles *, ? and case like OpenSSH", () => {
  const cases: Array<[string, string, boolean]> = [
    ["node1.lab", "*.lab", true],
    ["node1.lab", "node?.lab", true],
    ["node10.lab", "node?.lab", false],
    ["NODE1.LAB", "node1.lab", true],
    ["[10.0.0.1]:2222", "[10.0.0.*]:2222", true],
    ["[10.0.0.1]:2222", "10.0.0.1", false],
    ["abc", "a*c*", true],
    ["abc", "*b", false],
    ["", "*", true],
  ];
  for (const [name, pat, want] of cases) {
    assert.equal(matchPattern(name, pat), want, `${name} ~ ${pat}`);
  }
});

Deno.test("hashed entries written by ssh-keygen -H match their host and port only", () => {
  const entries = parseKnownHosts(HASHED);
  assert.equal(entries.length, 3);
  const [e1, e2, e3] = entries as [typeof entries[0], typeof entries[0], typeof entries[0]];
  assert.equal(e1.hosts.kind, "hashed");
  assert.ok(entryMatches(e1, "10.9.0.2", 22));
  assert.ok(!entryMatches(e1, "10.9.0.2", 2222));
  assert.ok(entryMatches(e2, "10.9.0.2", 2222));
  assert.ok(!entryMatches(e2, "10.9.0.2", 22));
  assert.ok(entryMatches(e3, "node3.lab", 22));
  assert.ok(!entryMatches(e3, "node4.lab", 22));
});

Deno.test("hashKnownHostsName() reproduces ssh-keygen -H for the same salt", () => {
  const salt = new Uint8Array(Buffer.from("8CA0uO6hTGjacpI4rUguhQZB4B8=", "base64"));
  assert.equal(
    hashKnownHostsName("[10.9.0.2]:2222", salt),
    "|1|8CA0uO6hTGjacpI4rUguhQZB4B8=|bm9eQOjz8JyDGsR9Ylj/t/EYVWI=",
  );
});

Deno.test("knownHostsLine() writes plain and hashed lines that parse and match back", () => {
  assert.equal(knownHostsLine("10.9.0.2", 22, A), `10.9.0.2 ${key(A)}`);
  const salt = new Uint8Array(Buffer.from("8CA0uO6hTGjacpI4rUguhQZB4B8=", "base64"));
  assert.equal(knownHostsLine("10.9.0.2", 2222, B, { hash: true, salt }), HASHED.split("\n")[1]);
  const random = parseKnownHosts(knownHostsLine("node1", 2200, parsePublicKey(C), { hash: true }));
  assert.equal(random.length, 1);
  assert.ok(entryMatches(random[0]!, "node1", 2200));
  assert.ok(!entryMatches(random[0]!, "node1", 22));
});

Deno.test("parseKnownHosts() skips comments, CA lines and junk, keeps @revoked and line numbers", () => {
  const text = [
    "# comment",
    "",
    `10.0.0.1,node1 ${key(A)} comment here`,
    `@cert-authority *.lab ${key(B)}`,
    "garbage",
    `node2 ssh-ed25519 !!!`,
    `@revoked * ${key(C)}`,
    `!10.0.0.9,10.0.0.* ${key(B)}`,
  ].join("\n");
  const entries = parseKnownHosts(text);
  assert.deepEqual(entries.map((e) => [e.line, e.revoked]), [[3, false], [7, true], [8, false]]);
  assert.ok(entryMatches(entries[0]!, "node1", 22));
  assert.ok(entryMatches(entries[2]!, "10.0.0.5", 22));
  assert.ok(!entryMatches(entries[2]!, "10.0.0.9", 22), "negation wins");
});

Deno.test("verifyHostKey() accepts the pinned key and refuses another one with both fingerprints", () => {
  const pinned = { kind: "pinned" as const, key: parsePublicKey(A) };
  assert.deepEqual(verifyHostKey(parsePublicKey(A).blob, pinned).ok, true);
  const v = verifyHostKey(parsePublicKey(B).blob, pinned);
  assert.ok(!v.ok);
  assert.equal(v.reason, "changed");
  const msg = describeRefusal(v);
  assert.match(msg, new RegExp(`offered ssh-ed25519 ${escape(FP.b)}`));
  assert.match(msg, new RegExp(`pinned hostKey is ssh-ed25519 ${escape(FP.a)}`));
});

Deno.test("verifyHostKey() with known_hosts: accepted, unknown host, changed key, revoked key", () => {
  const entries = parseKnownHosts(HASHED + `\n@revoked [10.9.0.2]:2222 ${key(A)}\n`);
  const kh = (host: string, port: number) => ({
    kind: "knownHosts" as const,
    file: "/etc/lvs/known_hosts",
    entries,
    host,
    port,
  });
  const ok = verifyHostKey(parsePublicKey(B).blob, kh("10.9.0.2", 2222));
  assert.deepEqual(ok.ok && ok.line, 2);

  const unknown = verifyHostKey(parsePublicKey(B).blob, kh("10.9.0.3", 2222));
  assert.ok(!unknown.ok && unknown.reason === "unknown");
  assert.match(describeRefusal(unknown), /has no key for \[10\.9\.0\.3\]:2222/);
  assert.match(describeRefusal(unknown), new RegExp(escape(FP.b)));

  const changed = verifyHostKey(parsePublicKey(R).blob, kh("10.9.0.2", 22));
  assert.ok(!changed.ok && changed.reason === "changed");
  const msg = describeRefusal(changed);
  assert.match(msg, new RegExp(`offered ssh-rsa ${escape(FP.r)}`));
  assert.match(
    msg,
    new RegExp(`expects ssh-ed25519 ${escape(FP.a)} \\(line 1\\) for 10\\.9\\.0\\.2`),
  );

  const revoked = verifyHostKey(parsePublicKey(A).blob, kh("10.9.0.2", 2222));
  assert.ok(!revoked.ok && revoked.reason === "revoked");
  assert.match(describeRefusal(revoked), /@revoked/);
});

Deno.test("preferredHostKeyTypes() asks for the types we know, RSA as its SHA-2 variants first", () => {
  assert.deepEqual(preferredHostKeyTypes({ kind: "pinned", key: parsePublicKey(R) }), [
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
  ]);
  const entries = parseKnownHosts(`h ${key(C)}\nh ${key(A)}\nother ${key(R)}`);
  assert.deepEqual(
    preferredHostKeyTypes({ kind: "knownHosts", file: "f", entries, host: "h", port: 22 }),
    ["ecdsa-sha2-nistp256", "ssh-ed25519"],
  );
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
