/**
 * Desired versus observed: what `lvsctl deploy` would change on each node. Pure: it takes the
 * desired configurations and what each node reported (its applied configuration, or the error
 * reaching it) and returns per-node changes as data (VIPs and real servers added, removed,
 * reweighted or modified; LIPs, sync and health checks), so callers can count and cap deletions
 * (`deletion_guard.ts`). `plan_render.ts` puts the changes in words.
 *
 * @example
 * ```ts
 * const plan = planDeploy(desired, observed);
 * plan.nodes.find((n) => n.node === "node1")?.changes[0];
 * // { node: "node1", subject: "vip", kind: "add", vip: "10.0.0.1:80/tcp", to: {...} }
 * ```
 *
 * @module
 */
import { type AgentConfig, type Service, serviceKey } from "../../dataplane/agent/api.ts";
import { canonicalJson } from "./node_config.ts";
import { diffSync, type SyncChange } from "./sync_diff.ts";

/** What a node reported. */
export type Observed =
  | { kind: "config"; config: AgentConfig | null }
  | { kind: "unreachable"; error: string };

/** A VIP's settings without its real servers. */
export type VipSettings = Omit<Service, "reals">;

/**
 * One change of a node's configuration, without the node. `vip` is the service key
 * (`10.0.0.1:80/tcp`), `real` the real server's `address:port`; `from`/`to` the old and new value.
 */
export type ChangeBody =
  /** A VIP with its real servers (`to.reals`) comes. */
  | { subject: "vip"; kind: "add"; vip: string; to: Service }
  /** A VIP with its real servers (`from.reals`) goes. */
  | { subject: "vip"; kind: "remove"; vip: string; from: Service }
  | { subject: "vip"; kind: "modify"; vip: string; from: VipSettings; to: VipSettings }
  | { subject: "real"; kind: "add"; vip: string; real: string; to: number }
  | { subject: "real"; kind: "remove"; vip: string; real: string; from: number }
  | { subject: "real"; kind: "reweight"; vip: string; real: string; from: number; to: number }
  | { subject: "lips"; kind: "modify"; from: string[]; to: string[] }
  /** The number of health checks (their settings are compared in full). */
  | { subject: "checks"; kind: "modify"; from: number; to: number }
  /** Nothing else differs: only the configuration's version or hash. */
  | { subject: "config"; kind: "modify"; from: string | null; to: string }
  | SyncChange;

/** One change of the plan: what changes on which node. */
export type PlanChange = ChangeBody & { node: string };

/** One node's part of the plan. */
export interface NodePlan {
  node: string;
  /** in-sync: nothing to do; apply: push the configuration; unreachable: cannot tell. */
  action: "in-sync" | "apply" | "unreachable";
  /** Deletions first. */
  changes: PlanChange[];
  /** What the node holds now (null when unreachable): VIPs, and real servers over all VIPs. */
  current: { vips: number; reals: number } | null;
  currentHash: string | null;
  desiredHash: string;
  error?: string;
}

/** The whole plan. */
export interface DeployPlan {
  hash: string;
  nodes: NodePlan[];
}

/** The changes that turn `from` into `to`, deletions first. */
export function diffServices(from: Service[], to: Service[]): ChangeBody[] {
  const a = new Map(from.map((s) => [serviceKey(s), s]));
  const b = new Map(to.map((s) => [serviceKey(s), s]));
  const out: ChangeBody[] = [];
  for (const [vip, s] of a) {
    if (!b.has(vip)) out.push({ subject: "vip", kind: "remove", vip, from: s });
  }
  for (const [vip, s] of b) {
    const old = a.get(vip);
    if (!old) {
      out.push({ subject: "vip", kind: "add", vip, to: s });
      continue;
    }
    const { reals: oldReals, ...oldRest } = old;
    const { reals: newReals, ...newRest } = s;
    if (canonicalJson(oldRest) !== canonicalJson(newRest)) {
      out.push({ subject: "vip", kind: "modify", vip, from: oldRest, to: newRest });
    }
    const ra = new Map(oldReals.map((r) => [`${r.address}:${r.port}`, r]));
    const rb = new Map(newReals.map((r) => [`${r.address}:${r.port}`, r]));
    for (const [real, r] of ra) {
      if (!rb.has(real)) out.push({ subject: "real", kind: "remove", vip, real, from: r.weight });
    }
    for (const [real, r] of rb) {
      const o = ra.get(real);
      if (!o) out.push({ subject: "real", kind: "add", vip, real, to: r.weight });
      else if (o.weight !== r.weight) {
        out.push({ subject: "real", kind: "reweight", vip, real, from: o.weight, to: r.weight });
      }
    }
  }
  return out;
}

/** The changes of one node's whole configuration (`have` null: nothing applied yet). */
function diffConfig(have: AgentConfig | null, want: AgentConfig): ChangeBody[] {
  const changes = diffServices(have?.dataplane.services ?? [], want.dataplane.services);
  const lipsHave = have?.dataplane.localAddresses ?? [];
  const lipsWant = want.dataplane.localAddresses;
  if (lipsHave.join(",") !== lipsWant.join(",")) {
    changes.push({ subject: "lips", kind: "modify", from: [...lipsHave], to: [...lipsWant] });
  }
  changes.push(...diffSync(have?.dataplane.sync, want.dataplane.sync));
  if (canonicalJson(have?.checks ?? []) !== canonicalJson(want.checks)) {
    changes.push({
      subject: "checks",
      kind: "modify",
      from: have?.checks.length ?? 0,
      to: want.checks.length,
    });
  }
  return changes;
}

/** Plans a deploy: per node, what would change. */
export function planDeploy(
  desired: Map<string, AgentConfig>,
  observed: Map<string, Observed>,
): DeployPlan {
  const nodes: NodePlan[] = [];
  let hash = "";
  for (const [node, want] of desired) {
    hash = want.hash;
    const seen = observed.get(node) ?? { kind: "unreachable", error: "no answer" } as Observed;
    if (seen.kind === "unreachable") {
      nodes.push({
        node,
        action: "unreachable",
        changes: [],
        current: null,
        currentHash: null,
        desiredHash: want.hash,
        error: seen.error,
      });
      continue;
    }
    const have = seen.config;
    const services = have?.dataplane.services ?? [];
    const changes = diffConfig(have, want);
    const inSync = have !== null && have.hash === want.hash && changes.length === 0;
    if (!inSync && changes.length === 0) {
      changes.push({ subject: "config", kind: "modify", from: have?.hash ?? null, to: want.hash });
    }
    nodes.push({
      node,
      action: inSync ? "in-sync" : "apply",
      changes: inSync ? [] : changes.map((c) => ({ ...c, node })),
      current: { vips: services.length, reals: services.reduce((n, s) => n + s.reals.length, 0) },
      currentHash: have?.hash ?? null,
      desiredHash: want.hash,
    });
  }
  return { hash, nodes };
}
