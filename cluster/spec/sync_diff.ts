/**
 * What a deploy changes in a node's session sync, in words for `lvsctl plan`. Pure. The secret
 * is a key: a change says that it changed, never what it is.
 *
 * @example
 * ```ts
 * diffSync(undefined, want); // ["sync on: 10.0.0.11 from 10.0.0.100, port 1000, refresh 10 s, peers 10.0.0.12"]
 * diffSync(have, { ...have, secret: other }); // ["sync secret changed"]
 * ```
 *
 * @module
 */
import type { SyncConfig } from "../../dataplane/agent/api.ts";

function describe(s: SyncConfig): string {
  const peers = s.peers.map((p) => p.node).join(", ") || "none";
  return `${s.node} from ${s.address}, port ${s.port ?? 1000}, refresh ${
    s.refreshSeconds ?? 10
  } s, peers ${peers}`;
}

/** The changes that turn `from` into `to` (either undefined: sync off), removals first. */
export function diffSync(from: SyncConfig | undefined, to: SyncConfig | undefined): string[] {
  if (!from && !to) return [];
  if (!from) return [`sync on: ${describe(to!)}`];
  if (!to) return [`sync off (was ${describe(from)})`];
  const out: string[] = [];
  if (from.node !== to.node) out.push(`sync node address ${from.node} -> ${to.node}`);
  if (from.address !== to.address) out.push(`sync address ${from.address} -> ${to.address}`);
  if ((from.port ?? 1000) !== (to.port ?? 1000)) {
    out.push(`sync port ${from.port ?? 1000} -> ${to.port ?? 1000}`);
  }
  if ((from.refreshSeconds ?? 10) !== (to.refreshSeconds ?? 10)) {
    out.push(`sync refresh ${from.refreshSeconds ?? 10} s -> ${to.refreshSeconds ?? 10} s`);
  }
  if (from.secret.toLowerCase() !== to.secret.toLowerCase()) out.push("sync secret changed");
  const a = new Map(from.peers.map((p) => [p.node, p.address]));
  const b = new Map(to.peers.map((p) => [p.node, p.address]));
  for (const [node] of a) if (!b.has(node)) out.push(`sync peer ${node} removed`);
  for (const [node, address] of b) {
    const old = a.get(node);
    if (old === undefined) out.push(`sync peer ${node} added (sync address ${address})`);
    else if (old !== address) out.push(`sync peer ${node}: sync address ${old} -> ${address}`);
  }
  return out;
}
