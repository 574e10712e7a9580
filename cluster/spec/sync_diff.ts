/**
 * What a deploy changes in a node's session sync, as data for `lvsctl plan`, and its words. Pure.
 * The secret is a key: a change says that it changed, never what it is (the data carry no
 * secret either, so `lvsctl plan --json` cannot print it).
 *
 * @example
 * ```ts
 * diffSync(undefined, want).map(describeSyncChange);
 * // ["sync on: 10.0.0.11 from 10.0.0.100, port 1000, refresh 10 s, peers 10.0.0.12"]
 * diffSync(have, { ...have, secret: other }).map(describeSyncChange); // ["sync secret changed"]
 * ```
 *
 * @module
 */
import type { SyncConfig } from "../../dataplane/agent/api.ts";

/** A node's sync settings without the secret. */
export interface SyncView {
  node: string;
  address: string;
  port: number;
  refreshSeconds: number;
  /** The peers' node addresses. */
  peers: string[];
}

/** One setting of sync that can change on its own. */
export type SyncSetting = "node" | "address" | "port" | "refresh" | "secret";

/** One change of a node's sync. */
export type SyncChange =
  | { subject: "sync"; kind: "add"; to: SyncView }
  | { subject: "sync"; kind: "remove"; from: SyncView }
  /** `from`/`to` absent for the secret. */
  | { subject: "sync"; kind: "modify"; setting: SyncSetting; from?: string; to?: string }
  | { subject: "sync-peer"; kind: "add"; peer: string; to: string }
  | { subject: "sync-peer"; kind: "remove"; peer: string; from: string }
  | { subject: "sync-peer"; kind: "modify"; peer: string; from: string; to: string };

function viewOf(s: SyncConfig): SyncView {
  return {
    node: s.node,
    address: s.address,
    port: s.port ?? 1000,
    refreshSeconds: s.refreshSeconds ?? 10,
    peers: s.peers.map((p) => p.node),
  };
}

function describe(s: SyncView): string {
  return `${s.node} from ${s.address}, port ${s.port}, refresh ${s.refreshSeconds} s, peers ${
    s.peers.join(", ") || "none"
  }`;
}

/** The changes that turn `from` into `to` (either undefined: sync off), removals first. */
export function diffSync(
  from: SyncConfig | undefined,
  to: SyncConfig | undefined,
): SyncChange[] {
  if (!from && !to) return [];
  if (!from) return [{ subject: "sync", kind: "add", to: viewOf(to!) }];
  if (!to) return [{ subject: "sync", kind: "remove", from: viewOf(from) }];
  const out: SyncChange[] = [];
  const [a, b] = [viewOf(from), viewOf(to)];
  const settings: Array<[SyncSetting, string, string]> = [
    ["node", a.node, b.node],
    ["address", a.address, b.address],
    ["port", String(a.port), String(b.port)],
    ["refresh", String(a.refreshSeconds), String(b.refreshSeconds)],
  ];
  for (const [setting, was, now] of settings) {
    if (was !== now) out.push({ subject: "sync", kind: "modify", setting, from: was, to: now });
  }
  if (from.secret.toLowerCase() !== to.secret.toLowerCase()) {
    out.push({ subject: "sync", kind: "modify", setting: "secret" });
  }
  const pa = new Map(from.peers.map((p) => [p.node, p.address]));
  const pb = new Map(to.peers.map((p) => [p.node, p.address]));
  for (const [peer, address] of pa) {
    if (!pb.has(peer)) out.push({ subject: "sync-peer", kind: "remove", peer, from: address });
  }
  for (const [peer, address] of pb) {
    const old = pa.get(peer);
    if (old === undefined) out.push({ subject: "sync-peer", kind: "add", peer, to: address });
    else if (old !== address) {
      out.push({ subject: "sync-peer", kind: "modify", peer, from: old, to: address });
    }
  }
  return out;
}

const SETTING_WORDS: Record<Exclude<SyncSetting, "secret">, [string, string]> = {
  node: ["node address ", ""],
  address: ["address ", ""],
  port: ["port ", ""],
  refresh: ["refresh ", " s"],
};

/** One sync change in words, as `lvsctl plan` prints it. */
export function describeSyncChange(c: SyncChange): string {
  if (c.subject === "sync-peer") {
    if (c.kind === "add") return `sync peer ${c.peer} added (sync address ${c.to})`;
    if (c.kind === "remove") return `sync peer ${c.peer} removed`;
    return `sync peer ${c.peer}: sync address ${c.from} -> ${c.to}`;
  }
  if (c.kind === "add") return `sync on: ${describe(c.to)}`;
  if (c.kind === "remove") return `sync off (was ${describe(c.from)})`;
  if (c.setting === "secret") return "sync secret changed";
  const [name, unit] = SETTING_WORDS[c.setting];
  return `sync ${name}${c.from}${unit} -> ${c.to}${unit}`;
}
