/**
 * SSH host key checking (pure): parse pinned keys and OpenSSH `known_hosts` files (plain,
 * wildcard, negated, `[host]:port` and hashed `|1|salt|hash` entries, `@revoked` markers),
 * compute SHA256 fingerprints the way `ssh-keygen -lf` prints them, and decide whether an
 * offered host key is accepted. `ssh_transport.ts` calls {@linkcode verifyHostKey} from the
 * handshake and turns a refusal into a `TransportError` of kind `"hostkey"`.
 *
 * @example
 * ```ts
 * const entries = parseKnownHosts(Deno.readTextFileSync("/root/.ssh/known_hosts"));
 * const verdict = verifyHostKey(offeredBlob, { kind: "knownHosts", file: "known_hosts", entries, host: "10.0.0.2", port: 22 });
 * if (!verdict.ok) throw new Error(describeRefusal(verdict));
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";

/** A public key as SSH sends it: the algorithm name and the wire-format blob. */
export interface PublicKey {
  /** Key type from the blob, e.g. `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`. */
  type: string;
  /** The key in SSH wire format (what `known_hosts` carries in base64). */
  blob: Uint8Array;
}

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  /** `@revoked` keys are refused for the hosts they match; `@cert-authority` lines are skipped. */
  revoked: boolean;
  /** Host patterns (`host`, `[host]:port`, `*.lab`, `!bad`), or a hashed name. */
  hosts: { kind: "patterns"; patterns: string[] } | {
    kind: "hashed";
    salt: Uint8Array;
    hash: Uint8Array;
  };
  /** The host key this line records. */
  key: PublicKey;
}

/** What the offered key is checked against. */
export type HostKeyExpectation =
  | { kind: "pinned"; key: PublicKey }
  | { kind: "knownHosts"; file: string; entries: KnownHostEntry[]; host: string; port: number };

/** The outcome of {@linkcode verifyHostKey}. */
export type HostKeyVerdict =
  | { ok: true; offered: PublicKey; line?: number }
  | {
    ok: false;
    /** `unknown`: nothing known for the host; `changed`: other keys are; `revoked`: marked so. */
    reason: "unknown" | "changed" | "revoked";
    offered: PublicKey;
    /** The keys that would have been accepted (with their known_hosts line, if any). */
    expected: Array<{ key: PublicKey; line?: number }>;
    /** Where the expectation came from: `the pinned hostKey` or the known_hosts file name. */
    source: string;
    /** The name looked up in known_hosts (`host` or `[host]:port`). */
    lookup?: string;
  };

const dec = new TextDecoder();

/** Reads the algorithm name at the start of an SSH wire-format key blob. */
function keyTypeOfBlob(blob: Uint8Array): string {
  if (blob.length < 4) throw new SyntaxError("Cannot read an SSH key blob: shorter than 4 bytes");
  const len = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) {
    throw new SyntaxError(`Cannot read an SSH key blob: bad type length ${len}`);
  }
  return dec.decode(blob.subarray(4, 4 + len));
}

function fromBase64(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new SyntaxError(`Cannot decode ${what}: not base64: ${text.slice(0, 40)}`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/**
 * Parses a public key line `type base64 [comment]` (the format of `*.pub`, `hostKey` in the
 * cluster file and the key part of known_hosts). Throws `SyntaxError` when the base64 does not
 * decode or its embedded type differs from the written one.
 */
export function parsePublicKey(text: string): PublicKey {
  const [type, b64] = text.trim().split(/\s+/);
  if (!type || !b64) {
    throw new SyntaxError(
      `Cannot parse the public key "${text.trim().slice(0, 60)}": expected "<type> <base64>"`,
    );
  }
  const blob = fromBase64(b64, `the ${type} public key`);
  const inner = keyTypeOfBlob(blob);
  if (inner !== type) {
    throw new SyntaxError(`Cannot parse the public key: it says ${type} but the blob is ${inner}`);
  }
  return { type, blob };
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -lf` and `ssh` print it. */
export function keyFingerprint(blob: Uint8Array): string {
  const digest = createHash("sha256").update(blob).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** `ssh-ed25519 SHA256:...`: a key's type and fingerprint for messages. */
function describeKey(key: PublicKey): string {
  return `${key.type} ${keyFingerprint(key.blob)}`;
}

/** The name known_hosts stores for a host: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Parses a known_hosts file. Blank lines, comments, `@cert-authority` lines and lines that do
 * not parse are skipped (as OpenSSH does); `@revoked` lines are kept with `revoked: true`.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0]?.startsWith("#")) return;
    let revoked = false;
    if (fields[0]?.startsWith("@")) {
      if (fields[0] === "@revoked") revoked = true;
      else return; // @cert-authority: certificates are not supported
      fields.shift();
    }
    const [hostField, type, b64] = fields;
    if (!hostField || !type || !b64) return;
    let key: PublicKey;
    try {
      key = parsePublicKey(`${type} ${b64}`);
    } catch {
      return;
    }
    let hosts: KnownHostEntry["hosts"];
    if (hostField.startsWith("|1|")) {
      const [, , salt, hash] = hostField.split("|");
      try {
        hosts = {
          kind: "hashed",
          salt: fromBase64(salt ?? "", "a hashed host salt"),
          hash: fromBase64(hash ?? "", "a hashed host name"),
        };
      } catch {
        return;
      }
      if (hosts.salt.length !== 20 || hosts.hash.length !== 20) return;
    } else {
      hosts = { kind: "patterns", patterns: hostField.split(",").filter(Boolean) };
    }
    out.push({ line: i + 1, revoked, hosts, key });
  });
  return out;
}

/** OpenSSH-style glob: `*` any run, `?` one character, case-insensitive. */
export function matchPattern(name: string, pattern: string): boolean {
  const n = name.toLowerCase();
  const p = pattern.toLowerCase();
  // Iterative glob with single-star backtracking.
  let i = 0, j = 0, star = -1, mark = 0;
  while (i < n.length) {
    if (j < p.length && (p[j] === "?" || p[j] === n[i])) {
      i++;
      j++;
    } else if (j < p.length && p[j] === "*") {
      star = j++;
      mark = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++mark;
    } else return false;
  }
  while (j < p.length && p[j] === "*") j++;
  return j === p.length;
}

/** The `|1|salt|hash` form of a name (HMAC-SHA1 keyed by the salt), as `ssh-keygen -H` writes. */
export function hashKnownHostsName(name: string, salt: Uint8Array): string {
  const mac = createHmac("sha1", salt).update(name).digest("base64");
  return `|1|${Buffer.from(salt).toString("base64")}|${mac}`;
}

/**
 * One known_hosts line for `host`:`port` (what the lab writes for its nodes, from the host key
 * files it generated). With `hash`, the name is hashed like `ssh-keygen -H` (random salt unless
 * one is given).
 *
 * @example
 * ```ts
 * knownHostsLine("10.0.0.2", 2222, "ssh-ed25519 AAAA..."); // "[10.0.0.2]:2222 ssh-ed25519 AAAA..."
 * ```
 */
export function knownHostsLine(
  host: string,
  port: number,
  key: PublicKey | string,
  opts: { hash?: boolean; salt?: Uint8Array } = {},
): string {
  const k = typeof key === "string" ? parsePublicKey(key) : key;
  const name = knownHostsName(host, port);
  const hosts = opts.hash
    ? hashKnownHostsName(name, opts.salt ?? crypto.getRandomValues(new Uint8Array(20)))
    : name;
  return `${hosts} ${k.type} ${Buffer.from(k.blob).toString("base64")}`;
}

/** Whether a known_hosts entry applies to `host` on `port`. */
export function entryMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (entry.hosts.kind === "hashed") {
    const mac = createHmac("sha1", entry.hosts.salt).update(name).digest();
    return Buffer.from(mac).equals(Buffer.from(entry.hosts.hash));
  }
  let positive = false;
  for (const pat of entry.hosts.patterns) {
    if (pat.startsWith("!")) {
      if (matchPattern(name, pat.slice(1))) return false;
    } else if (matchPattern(name, pat)) positive = true;
  }
  return positive;
}

function sameKey(a: PublicKey, b: PublicKey): boolean {
  return a.type === b.type && Buffer.from(a.blob).equals(Buffer.from(b.blob));
}

/** Decides whether the offered host key blob is accepted under `expect`. */
export function verifyHostKey(offeredBlob: Uint8Array, expect: HostKeyExpectation): HostKeyVerdict {
  const offered: PublicKey = { type: keyTypeOfBlob(offeredBlob), blob: offeredBlob };
  if (expect.kind === "pinned") {
    if (sameKey(offered, expect.key)) return { ok: true, offered };
    return {
      ok: false,
      reason: "changed",
      offered,
      expected: [{ key: expect.key }],
      source: "the pinned hostKey",
    };
  }
  const lookup = knownHostsName(expect.host, expect.port);
  const matching = expect.entries.filter((e) => entryMatches(e, expect.host, expect.port));
  const revoked = matching.find((e) => e.revoked && sameKey(e.key, offered));
  const valid = matching.filter((e) => !e.revoked);
  const expected = valid.map((e) => ({ key: e.key, line: e.line }));
  if (revoked) {
    return { ok: false, reason: "revoked", offered, expected, source: expect.file, lookup };
  }
  const hit = valid.find((e) => sameKey(e.key, offered));
  if (hit) return { ok: true, offered, line: hit.line };
  return {
    ok: false,
    reason: valid.length === 0 ? "unknown" : "changed",
    offered,
    expected,
    source: expect.file,
    lookup,
  };
}

/** Key algorithms to prefer in the handshake so the server offers a key we can check. */
export function preferredHostKeyTypes(expect: HostKeyExpectation): string[] {
  const types = expect.kind === "pinned"
    ? [expect.key.type]
    : expect.entries.filter((e) => !e.revoked && entryMatches(e, expect.host, expect.port))
      .map((e) => e.key.type);
  const out: string[] = [];
  for (const t of types) {
    const algos = t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t];
    for (const a of algos) if (!out.includes(a)) out.push(a);
  }
  return out;
}

const VERIFY_HINT = "compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` run on the " +
  "node's console before trusting it";

/**
 * The human sentence for a refusal: what was offered and what was expected, by fingerprint,
 * and what the operator should do about it.
 */
export function describeRefusal(v: Extract<HostKeyVerdict, { ok: false }>): string {
  const offered = `the server offered ${describeKey(v.offered)}`;
  const known = v.expected.map((e) => `${describeKey(e.key)}${e.line ? ` (line ${e.line})` : ""}`)
    .join(", ");
  switch (v.reason) {
    case "revoked":
      return `${offered}, which ${v.source} marks @revoked for ${v.lookup}`;
    case "unknown":
      return `${offered}, but ${v.source} has no key for ${v.lookup}; ${VERIFY_HINT}, then ` +
        `add it there or pin it as hostKey in the cluster file`;
    case "changed":
      return `${offered}, but ${v.source} ${v.lookup === undefined ? "is" : "expects"} ${known}` +
        `${v.lookup === undefined ? "" : ` for ${v.lookup}`}: the host key changed (node ` +
        `reinstalled?) or the connection is intercepted; ${VERIFY_HINT}`;
  }
}
