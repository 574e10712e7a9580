/**
 * Seesaw's guard against a push that deletes too much: counts, per node, how many of its VIPs
 * and of its real servers a plan removes, and which of those counts go over the share the
 * cluster file allows (`deploy.maxDeletionShare`). Pure; `lvsctl deploy` refuses the whole push
 * when any count does, unless `--allow-deletions` is given. A node that holds nothing yet (a
 * first deploy) or that could not be read has nothing counted.
 *
 * @example
 * ```ts
 * const over = excessiveDeletions(plan, 0.5);
 * if (over.length > 0) throw new DeletionGuardError(over, 0.5);
 * // "Refusing to deploy: node1 would remove 3 of 4 VIPs (75%), over the limit of 50% ..."
 * ```
 *
 * @module
 */
import type { DeployPlan } from "./plan.ts";

/** How many of a node's VIPs or real servers a plan removes. */
export interface DeletionCount {
  node: string;
  subject: "vip" | "real";
  removed: number;
  /** How many the node holds now. */
  of: number;
}

/**
 * Per node that holds something, the VIPs and the real servers (over all its VIPs) the plan
 * removes; the real servers of a removed VIP count as removed.
 */
export function deletionCounts(plan: DeployPlan): DeletionCount[] {
  const out: DeletionCount[] = [];
  for (const n of plan.nodes) {
    if (n.current === null) continue;
    let vips = 0, reals = 0;
    for (const c of n.changes) {
      if (c.subject === "vip" && c.kind === "remove") {
        vips++;
        reals += c.from.reals.length;
      } else if (c.subject === "real" && c.kind === "remove") reals++;
    }
    out.push({ node: n.node, subject: "vip", removed: vips, of: n.current.vips });
    out.push({ node: n.node, subject: "real", removed: reals, of: n.current.reals });
  }
  return out;
}

/** The counts of `plan` that remove more than `maxShare` (0..1) of what a node holds. */
export function excessiveDeletions(plan: DeployPlan, maxShare: number): DeletionCount[] {
  return deletionCounts(plan).filter((d) => d.of > 0 && d.removed / d.of > maxShare);
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/**
 * What goes over the limit, in words: `node1 would remove 3 of 4 VIPs (75%), over the limit of
 * 50% (deploy.maxDeletionShare 0.5 in the cluster file)`.
 */
export function describeDeletions(excessive: DeletionCount[], maxShare: number): string {
  return `${
    excessive.map((d) =>
      `${d.node} would remove ${d.removed} of ${d.of} ${
        d.subject === "vip" ? "VIPs" : "real servers"
      } (${pct(d.removed / d.of)})`
    ).join("; ")
  }, over the limit of ${pct(maxShare)} (deploy.maxDeletionShare ${maxShare} in the cluster file)`;
}

/** A push refused because it removes too much; nothing was pushed. */
export class DeletionGuardError extends Error {
  override name = "DeletionGuardError";
  constructor(readonly excessive: DeletionCount[], readonly maxShare: number) {
    super(
      `Refusing to deploy: ${describeDeletions(excessive, maxShare)}; nothing was pushed. ` +
        `Re-run with --allow-deletions if this is intended.`,
    );
  }
}
