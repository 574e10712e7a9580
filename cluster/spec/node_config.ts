/**
 * From the cluster file to what each node's agent applies: the same VIP set on every node (so
 * every node reports the same content hash), the node's own LIPs, and the health checks keyed by
 * real server. Pure.
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
  realKey,
  type Service,
  type Timeouts,
} from "../../dataplane/agent/api.ts";
import type { CheckSpec, ClusterFile, VipSpec } from "./cluster_file.ts";

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

/** The content hash of the VIP set (identical on every node for the same VIPs). */
export function vipSetHash(cluster: ClusterFile): Promise<string> {
  return sha256(canonicalJson(canonicalVips(cluster)));
}

/** Every node's configuration, by node name. */
export async function nodeConfigs(cluster: ClusterFile): Promise<Map<string, AgentConfig>> {
  const hash = await vipSetHash(cluster);
  const version = `${cluster.cluster}-${hash.slice(7, 19)}`;
  const services = cluster.vips.map(serviceOf);
  const checks = cluster.vips.flatMap((v) =>
    v.reals.filter((r) => r.check !== undefined).map((r) => ({
      key: realKey({ vip: v.address, port: v.port, protocol: v.protocol }, r),
      address: r.address,
      port: r.port,
      check: healthCheckOf(r.check!),
    }))
  );
  return new Map(cluster.nodes.map((n) => [n.name, {
    version,
    hash,
    dataplane: { services, localAddresses: n.lips },
    checks,
  }]));
}
