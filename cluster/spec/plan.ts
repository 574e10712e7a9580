/**
 * Desired versus observed: what `lvsctl deploy` would change on each node. Pure: it takes the
 * desired configurations and what each node reported (its applied configuration, or the error
 * reaching it) and returns per-node changes, VIPs and real servers added, removed or modified.
 *
 * @example
 * ```ts
 * const plan = planDeploy(desired, observed);
 * plan.nodes.find((n) => n.node === "node1")?.changes; // ["add VIP 10.0.0.1:80/tcp", ...]
 * ```
 *
 * @module
 */
import { type AgentConfig, type Service, serviceKey } from "../../dataplane/agent/api.ts";
import { canonicalJson } from "./node_config.ts";
import { diffSync } from "./sync_diff.ts";

/** What a node reported. */
export type Observed =
  | { kind: "config"; config: AgentConfig | null }
  | { kind: "unreachable"; error: string };

/** One node's part of the plan. */
export interface NodePlan {
  node: string;
  /** in-sync: nothing to do; apply: push the configuration; unreachable: cannot tell. */
  action: "in-sync" | "apply" | "unreachable";
  changes: string[];
  currentHash: string | null;
  desiredHash: string;
  error?: string;
}

/** The whole plan. */
export interface DeployPlan {
  hash: string;
  nodes: NodePlan[];
}

function describeService(s: Service): string {
  return `${serviceKey(s)} ${s.scheduler}${s.synproxy ? " synproxy" : ""}${
    s.toa === false ? " no-toa" : ""
  }`;
}

/** The changes that turn `from` into `to`, in words, deletions first. */
export function diffServices(from: Service[], to: Service[]): string[] {
  const a = new Map(from.map((s) => [serviceKey(s), s]));
  const b = new Map(to.map((s) => [serviceKey(s), s]));
  const out: string[] = [];
  for (const [k, s] of a) if (!b.has(k)) out.push(`remove VIP ${describeService(s)}`);
  for (const [k, s] of b) {
    const old = a.get(k);
    if (!old) {
      out.push(`add VIP ${describeService(s)} with ${s.reals.length} real servers`);
      continue;
    }
    const { reals: oldReals, ...oldRest } = old;
    const { reals: newReals, ...newRest } = s;
    if (canonicalJson(oldRest) !== canonicalJson(newRest)) {
      out.push(`modify VIP ${describeService(old)} -> ${describeService(s)}`);
    }
    const ra = new Map(oldReals.map((r) => [`${r.address}:${r.port}`, r]));
    const rb = new Map(newReals.map((r) => [`${r.address}:${r.port}`, r]));
    for (const [rk] of ra) if (!rb.has(rk)) out.push(`remove real ${rk} from ${k}`);
    for (const [rk, r] of rb) {
      const o = ra.get(rk);
      if (!o) out.push(`add real ${rk} weight ${r.weight} to ${k}`);
      else if (o.weight !== r.weight) {
        out.push(`weight of ${rk} in ${k}: ${o.weight} -> ${r.weight}`);
      }
    }
  }
  return out;
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
        currentHash: null,
        desiredHash: want.hash,
        error: seen.error,
      });
      continue;
    }
    const have = seen.config;
    const changes = diffServices(have?.dataplane.services ?? [], want.dataplane.services);
    const lipsHave = (have?.dataplane.localAddresses ?? []).join(",");
    const lipsWant = want.dataplane.localAddresses.join(",");
    if (lipsHave !== lipsWant) changes.push(`LIPs ${lipsHave || "(none)"} -> ${lipsWant}`);
    changes.push(...diffSync(have?.dataplane.sync, want.dataplane.sync));
    if (canonicalJson(have?.checks ?? []) !== canonicalJson(want.checks)) {
      changes.push(`health checks: ${have?.checks.length ?? 0} -> ${want.checks.length}`);
    }
    const inSync = have !== null && have.hash === want.hash && changes.length === 0;
    nodes.push({
      node,
      action: inSync ? "in-sync" : "apply",
      changes: inSync ? [] : changes.length > 0 ? changes : ["configuration version/hash only"],
      currentHash: have?.hash ?? null,
      desiredHash: want.hash,
    });
  }
  return { hash, nodes };
}
