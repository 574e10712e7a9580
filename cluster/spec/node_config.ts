/**
 * From the cluster file to what each node's agent applies: the same VIP set on every node (so
 * every node reports the same content hash), the node's own LIPs, its session sync (itself and
 * every other node as a peer), and the health checks keyed by real server. Pure.
 *
 * @example
 * ```ts
 * const configs = nodeConfigs(cluster);
 * configs.get("node1")!.hash === configs.get("node2")!.hash; // true
 * ```
 *
 * @module
 */
import {
  type AgentConfig,
  type HealthCheck,
  type Service,
  serviceRealKey,
  type SyncConfig,
  type Timeouts,
} from "../../dataplane/agent/api.ts";
import type { CheckSpec, ClusterFile, NodeSpec, VipSpec } from "./cluster_file.ts";

/** The data plane service of a VIP. */
export function serviceOf(v: VipSpec): Service {
  return {
    vip: v.address,
    port: v.port,
    protocol: v.protocol,
    scheduler: v.scheduler,
    reals: v.reals.map((r) => ({ address: r.address, port: r.port, weight: r.weight })),
    toa: v.toa,
    stripTimestamps: v.stripTimestamps,
    expireOnRealRemoval: v.expireOnRealRemoval,
    synproxy: v.synproxy,
    timeouts: v.timeouts as Timeouts,
  };
}

/** The agent's form of a check (milliseconds). */
export function healthCheckOf(c: CheckSpec): HealthCheck {
  const common = {
    intervalMs: c.interval * 1000,
    timeoutMs: c.timeout * 1000,
    rise: c.rise,
    fall: c.fall,
  };
  return c.type === "http"
    ? { kind: "http", path: c.path ?? "/", expectStatus: c.expect ?? 200, ...common }
    : { kind: "tcp", ...common };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${
      Object.keys(o).filter((k) => o[k] !== undefined).sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(value);
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${[...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The VIP set in canonical order (services by key, reals by address:port). */
export function canonicalVips(cluster: ClusterFile): unknown {
  const key = (v: VipSpec) => `${v.address}:${v.port}/${v.protocol}`;
  return [...cluster.vips].sort((a, b) => key(a).localeCompare(key(b))).map((v) => ({
    ...serviceOf(v),
    reals: [...v.reals].sort((a, b) =>
      `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`)
    ).map((r) => ({ ...r, check: r.check ? healthCheckOf(r.check) : null })),
  }));
}

/** A node's identity in session sync: its address (the owner id) and its sync address. */
function syncMember(n: NodeSpec): { node: string; address: string } {
  return { node: n.address, address: n.lips[0]! };
}

/**
 * The node that stands by for `node`'s LIPs: its `standby`, else the next node in the file
 * (the first for the last); none in a cluster of one.
 */
export function standbyOf(cluster: ClusterFile, node: NodeSpec): NodeSpec | undefined {
  if (cluster.nodes.length < 2) return undefined;
  if (node.standby) return cluster.nodes.find((n) => n.name === node.standby);
  const i = cluster.nodes.findIndex((n) => n.name === node.name);
  return cluster.nodes[(i + 1) % cluster.nodes.length];
}

/** The LIPs `node` stands by for, with their owners' addresses. */
function standbyLipsOf(cluster: ClusterFile, node: NodeSpec): { lip: string; owner: string }[] {
  return cluster.nodes.filter((o) =>
    o.name !== node.name && standbyOf(cluster, o)?.name === node.name
  )
    .flatMap((o) => o.lips.map((lip) => ({ lip, owner: o.address })));
}

/**
 * A node's session sync (undefined when the cluster file has no `sync:` block): the node is its
 * address, it sends from its first LIP, every other node is a peer (address, first LIP), and it
 * stands by for the LIPs of the nodes whose standby it is.
 */
export function syncConfigOf(cluster: ClusterFile, node: NodeSpec): SyncConfig | undefined {
  if (!cluster.sync) return undefined;
  const { secret, port, refreshSeconds } = cluster.sync;
  const standby = standbyLipsOf(cluster, node);
  return {
    ...syncMember(node),
    port,
    secret,
    refreshSeconds,
    peers: cluster.nodes.filter((n) => n.name !== node.name).map(syncMember),
    ...(standby.length > 0 ? { standby } : {}),
  };
}

/**
 * The content hash of the configuration every node shares: the VIP set and, with sync on, the sync
 * settings, secret and members (a changed secret or a node more is a configuration change).
 * Identical on every node; without sync it is the hash of the VIP set alone, as before sync.
 */
export function configHash(cluster: ClusterFile): Promise<string> {
  const vips = canonicalVips(cluster);
  if (!cluster.sync) return sha256(canonicalJson(vips));
  const { secret, port, refreshSeconds } = cluster.sync;
  const members = cluster.nodes.map((n) => ({
    ...syncMember(n),
    standby: standbyOf(cluster, n)?.address ?? null,
  })).sort((a, b) => a.node.localeCompare(b.node));
  return sha256(canonicalJson({ vips, sync: { secret, port, refreshSeconds, members } }));
}

/** Every node's configuration, by node name. */
export async function nodeConfigs(cluster: ClusterFile): Promise<Map<string, AgentConfig>> {
  const hash = await configHash(cluster);
  const version = `${cluster.cluster}-${hash.slice(7, 19)}`;
  const services = cluster.vips.map(serviceOf);
  const checks = cluster.vips.flatMap((v) =>
    v.reals.filter((r) => r.check !== undefined).map((r) => ({
      key: serviceRealKey({ vip: v.address, port: v.port, protocol: v.protocol }, r),
      address: r.address,
      port: r.port,
      check: healthCheckOf(r.check!),
    }))
  );
  return new Map(cluster.nodes.map((n) => {
    const sync = syncConfigOf(cluster, n);
    return [n.name, {
      version,
      hash,
      dataplane: { services, localAddresses: n.lips, ...(sync ? { sync } : {}) },
      checks,
    }];
  }));
}
