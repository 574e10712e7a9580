/**
 * A deploy plan in words: the one place that turns plan changes into the sentences `lvsctl plan`
 * prints (and anything else that shows a plan). Pure.
 *
 * @example
 * ```ts
 * describeChange({ subject: "real", kind: "remove", vip: "10.0.0.1:80/tcp", real: "10.2.0.2:80", from: 1 });
 * // "remove real 10.2.0.2:80 from 10.0.0.1:80/tcp"
 * planLines(plan); // ["desired configuration sha256:...", "node1: apply", "  add VIP ...", ...]
 * ```
 *
 * @module
 */
import type { ChangeBody, DeployPlan, VipSettings } from "./plan.ts";
import { describeSyncChange } from "./sync_diff.ts";

function describeVip(vip: string, s: VipSettings): string {
  return `${vip} ${s.scheduler}${s.synproxy ? " synproxy" : ""}${s.toa === false ? " no-toa" : ""}`;
}

/** One change in words. */
export function describeChange(c: ChangeBody): string {
  switch (c.subject) {
    case "vip":
      if (c.kind === "add") {
        return `add VIP ${describeVip(c.vip, c.to)} with ${c.to.reals.length} real servers`;
      }
      if (c.kind === "remove") return `remove VIP ${describeVip(c.vip, c.from)}`;
      return `modify VIP ${describeVip(c.vip, c.from)} -> ${describeVip(c.vip, c.to)}`;
    case "real":
      if (c.kind === "add") return `add real ${c.real} weight ${c.to} to ${c.vip}`;
      if (c.kind === "remove") return `remove real ${c.real} from ${c.vip}`;
      return `weight of ${c.real} in ${c.vip}: ${c.from} -> ${c.to}`;
    case "lips":
      return `LIPs ${c.from.join(",") || "(none)"} -> ${c.to.join(",") || "(none)"}`;
    case "checks":
      return `health checks: ${c.from} -> ${c.to}`;
    case "config":
      return "configuration version/hash only";
    case "sync":
    case "sync-peer":
      return describeSyncChange(c);
  }
}

/** The plan as `lvsctl plan` prints it: the desired hash, then each node and its changes. */
export function planLines(plan: DeployPlan): string[] {
  const out = [`desired configuration ${plan.hash}`];
  for (const n of plan.nodes) {
    out.push(`${n.node}: ${n.action}${n.error ? ` (${n.error})` : ""}`);
    for (const c of n.changes) out.push(`  ${describeChange(c)}`);
  }
  return out;
}
