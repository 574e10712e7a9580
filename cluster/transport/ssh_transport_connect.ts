/**
 * Opening one SSH connection to a node (I/O adapter over `npm:ssh2`): keys only, the host key
 * checked against the pinned key or known_hosts before anything is sent, retryable failures
 * retried with backoff inside the deadline. Used by `ssh_transport.ts`.
 *
 * @module
 */
import { Client, type ServerHostKeyAlgorithm, utils } from "ssh2";
import { type NodeEndpoint, TransportError } from "./transport.ts";
import {
  describeRefusal,
  type HostKeyExpectation,
  type HostKeyVerdict,
  parseKnownHosts,
  parsePublicKey,
  preferredHostKeyTypes,
  verifyHostKey,
} from "./known_hosts.ts";
import { type Backoff, backoffDelay, classifyConnectFailure } from "./ssh_transport_policy.ts";
import { errorText } from "../../routing/errors.ts";
import { sleep } from "../../routing/poll.ts";

const BASE_HOSTKEY_ALGOS: ServerHostKeyAlgorithm[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/** `user@host:port` for messages. */
export function where(node: NodeEndpoint): string {
  return `${node.user}@${node.host}:${node.port}`;
}

/** Failures of one attempt that another attempt may cure (see `classifyConnectFailure`). */
const RETRYABLE = new WeakSet<object>();

/** How {@linkcode connectNode} connects. */
export interface ConnectOptions {
  /** `performance.now()` value after which no further attempt starts. */
  deadline: number;
  /** Extra attempts after a retryable failure. */
  retries: number;
  /** Delays between attempts. */
  backoff: Backoff;
  /** Jitter source in [0, 1). */
  random: () => number;
  /** SSH keepalive interval in ms (0 = off). */
  keepaliveMs: number;
  /** False once the owner closed: a connection completed afterwards is ended. */
  current: () => boolean;
  /** Told about each client created (so the owner can end one still connecting). */
  track: (c: Client) => void;
}

/**
 * Connects to a node with its key, checking its host key, retrying network failures with
 * backoff until `deadline`. Rejects with a {@linkcode TransportError} (`hostkey`, `auth`,
 * `connect` or `timeout`).
 */
export async function connectNode(node: NodeEndpoint, o: ConnectOptions): Promise<Client> {
  const expect = await hostKeyExpectation(node);
  const privateKey = await readPrivateKey(node);
  for (let attempt = 0;; attempt++) {
    const left = Math.floor(o.deadline - performance.now());
    try {
      if (left <= 0) {
        throw new TransportError(
          node.name,
          "timeout",
          `Cannot connect to node ${node.name} (${where(node)}): the deadline passed`,
        );
      }
      const client = await connectOnce(node, expect, privateKey, left, attempt, o);
      if (!o.current()) {
        client.end();
        throw new TransportError(
          node.name,
          "connect",
          `Transport closed while connecting to ${node.name}`,
        );
      }
      return client;
    } catch (e) {
      const wait = backoffDelay(attempt, o.backoff, o.random);
      const more = e instanceof TransportError && RETRYABLE.has(e) && attempt < o.retries &&
        performance.now() + wait < o.deadline && o.current();
      if (!more) throw e;
      await sleep(wait);
    }
  }
}

/** What the node's host key is checked against: its pinned key or its known_hosts file. */
export async function hostKeyExpectation(node: NodeEndpoint): Promise<HostKeyExpectation> {
  try {
    if (node.hostKey) return { kind: "pinned", key: parsePublicKey(node.hostKey) };
    if (node.knownHosts) {
      const text = await Deno.readTextFile(node.knownHosts);
      return {
        kind: "knownHosts",
        file: node.knownHosts,
        entries: parseKnownHosts(text),
        host: node.host,
        port: node.port,
      };
    }
  } catch (e) {
    throw new TransportError(
      node.name,
      "hostkey",
      `Cannot check the host key of node ${node.name}: ${errorText(e)}`,
      { cause: e },
    );
  }
  throw new TransportError(
    node.name,
    "hostkey",
    `Cannot connect to node ${node.name}: neither hostKey nor knownHosts is set, ` +
      `and unverified host keys are refused`,
  );
}

/** Reads and checks the node's private key (unencrypted OpenSSH or PEM). */
export async function readPrivateKey(node: NodeEndpoint): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(node.keyFile);
  } catch (e) {
    throw new TransportError(
      node.name,
      "auth",
      `Cannot read the private key file ${node.keyFile} for node ${node.name}: ${errorText(e)}`,
      { cause: e },
    );
  }
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error || (Array.isArray(parsed) && parsed.length === 0)) {
    const why = parsed instanceof Error ? parsed.message : "no key found";
    throw new TransportError(
      node.name,
      "auth",
      `Cannot use the private key file ${node.keyFile} for node ${node.name}: ${why}` +
        (/encrypt|passphrase/i.test(why) ? " (keys with a passphrase are not supported)" : ""),
    );
  }
  return text;
}

function connectOnce(
  node: NodeEndpoint,
  expect: HostKeyExpectation,
  privateKey: string,
  timeoutMs: number,
  attempt: number,
  o: ConnectOptions,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    o.track(client);
    let verdict: HostKeyVerdict | null = null;
    let unreadable: unknown = null;
    let handshakeDone = false;
    let settled = false;
    const fail = (err: { level?: string; code?: string | number; message: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      const c = classifyConnectFailure({
        level: err.level,
        code: err.code,
        message: err.message,
        hostKeyRefused: unreadable !== null || (verdict !== null && !verdict.ok),
        handshakeDone,
      });
      const tries = attempt > 0 ? ` (attempt ${attempt + 1})` : "";
      let text: string;
      switch (c.kind) {
        case "hostkey":
          text = `Refusing node ${node.name} (${node.host}:${node.port}): ${
            unreadable !== null
              ? `the host key it offered cannot be read (${errorText(unreadable)})`
              : describeRefusal(verdict as Extract<HostKeyVerdict, { ok: false }>)
          }; nothing was sent`;
          break;
        case "auth":
          text = `Cannot log in to node ${node.name} as ${where(node)} with the key ` +
            `${node.keyFile}: the server refused it (${err.message})`;
          break;
        case "timeout":
          text = `Cannot connect to node ${node.name} (${where(node)}): no SSH handshake ` +
            `within ${timeoutMs} ms${tries}`;
          break;
        default:
          text = `Cannot connect to node ${node.name} (${where(node)}): ${err.message}${tries}`;
      }
      const te = new TransportError(node.name, c.kind, text, { cause: err });
      if (c.retry) RETRYABLE.add(te);
      reject(te);
    };
    client.on("handshake", () => (handshakeDone = true));
    client.once("ready", () => {
      if (settled) return;
      settled = true;
      resolve(client);
    });
    client.on("error", (e: Error & { level?: string; code?: string | number }) => fail(e));
    client.on("close", () => fail({ message: "the connection closed during the handshake" }));
    const preferred = (preferredHostKeyTypes(expect) as ServerHostKeyAlgorithm[])
      .filter((a) => BASE_HOSTKEY_ALGOS.includes(a));
    try {
      client.connect({
        host: node.host,
        port: node.port,
        username: node.user,
        privateKey,
        authHandler: ["publickey"],
        tryKeyboard: false,
        readyTimeout: timeoutMs,
        keepaliveInterval: o.keepaliveMs,
        keepaliveCountMax: 3,
        algorithms: {
          serverHostKey: [
            ...preferred,
            ...BASE_HOSTKEY_ALGOS.filter((a) => !preferred.includes(a)),
          ],
        },
        hostVerifier: (key: Uint8Array) => {
          try {
            verdict = verifyHostKey(new Uint8Array(key), expect);
            return verdict.ok;
          } catch (e) {
            unreadable = e;
            return false;
          }
        },
      });
      // Requests are small and latency-bound: without TCP_NODELAY Nagle's algorithm holds
      // back our next packet until the server's delayed ACK, adding ~40 ms per exchange.
      client.setNoDelay(true);
    } catch (e) {
      fail({ level: "client-config", message: errorText(e) });
    }
  });
}
