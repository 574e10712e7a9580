/**
 * `lvsctl deploy`: push the cluster file's VIPs to every node and verify.
 *
 * 1. The file was validated before this runs (an invalid file pushes nothing).
 * 2. Every node is asked for the configuration it holds, and the deploy is planned (`plan.ts`).
 *    If the plan removes more than the cluster file's `deploy.maxDeletionShare` of any node's
 *    VIPs or of its real servers, nothing is pushed: `DeletionGuardError` (Seesaw's guard
 *    against a truncated or wrong file), unless `allowDeletions`. A node whose configuration
 *    cannot be read is not pushed either (what it would lose is unknown) and fails, unless
 *    `allowDeletions`.
 * 3. Every node's configuration is pushed in parallel (at most `concurrency` at once); the agent
 *    applies it atomically (data plane, then BIRD, rolled back together when BIRD refuses), so a
 *    node ends up with the old or the new configuration, never half of each.
 * 4. Then every node is asked again: it must report the VIP-set hash of this file and its BIRD
 *    must advertise each VIP (unless the node is drained), within `verifyTimeoutMs`.
 * 5. A node that failed is reported with its error; nodes that succeeded keep the new
 *    configuration (like a keepalived reload on the nodes it reached), and the result is not ok,
 *    so the caller exits non-zero and the operator re-runs deploy once the node is fixed.
 *
 * @module
 */
import type { AgentStatus } from "../../dataplane/agent/api.ts";
import type { ClusterFile, NodeSpec } from "../spec/cluster_file.ts";
import { applyNode, nodeStatus, observedConfigs } from "../transport/endpoint.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import { DeletionGuardError, excessiveDeletions } from "../spec/deletion_guard.ts";
import { type DeployPlan, planDeploy } from "../spec/plan.ts";
import type { NodeTransport } from "../transport/transport.ts";
import { errorText } from "../../routing/errors.ts";
import { pollUntil, sleep } from "../../routing/poll.ts";

/** One node's outcome. */
export interface NodeDeployResult {
  node: string;
  ok: boolean;
  /** The hash the node reports after the push (null if it could not be read). */
  hash: string | null;
  advertised: string[];
  drained: boolean;
  error?: string;
  ms: number;
}

/** The whole deploy. */
export interface DeployResult {
  ok: boolean;
  hash: string;
  version: string;
  nodes: NodeDeployResult[];
  ms: number;
  /** What the push was planned to change (from what the nodes reported before it). */
  plan: DeployPlan;
}

/** Options of `deploy`. */
export interface DeployOptions {
  concurrency?: number;
  /** How long nodes may take to report the hash and advertise the VIPs. */
  verifyTimeoutMs?: number;
  callTimeoutMs?: number;
  /** Push even when the plan removes more than `deploy.maxDeletionShare` (`--allow-deletions`). */
  allowDeletions?: boolean;
  onProgress?: (node: string, message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs async tasks with at most `limit` at once, in order of the input. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Whether a node's status shows the deploy done: the hash, and the VIPs advertised. */
export function verified(status: AgentStatus, hash: string, vips: string[]): string | null {
  if (status.config?.hash !== hash) {
    return `reports configuration ${status.config?.hash ?? "(none)"}, expected ${hash}`;
  }
  if (status.drained) return null;
  const adv = new Set(status.routing.advertised.map((a) => a.replace(/\/32$/, "")));
  // A VIP is withdrawn on purpose when none of its real servers is healthy.
  const withdrawn = new Set(status.withdrawnVips.map((w) => w.vip));
  const missing = vips.filter((v) => !adv.has(v) && !withdrawn.has(v));
  if (missing.length > 0) return `BIRD does not advertise ${missing.join(", ")} yet`;
  return null;
}

/**
 * Pushes the cluster file to every node and verifies; see the module doc. Throws
 * `DeletionGuardError`, having pushed nothing, when the push removes too much.
 */
export async function deploy(
  cluster: ClusterFile,
  transport: NodeTransport,
  opts: DeployOptions = {},
): Promise<DeployResult> {
  const t0 = Date.now();
  const progress = opts.onProgress ?? (() => {});
  const configs = await nodeConfigs(cluster);
  const first = configs.values().next().value;
  const hash = first?.hash ?? "";
  const version = first?.version ?? "";
  const vips = [...new Set(cluster.vips.map((v) => v.address))];
  const call = { timeoutMs: opts.callTimeoutMs ?? 30_000 };
  const plan = planDeploy(configs, await observedConfigs(transport, cluster.nodes, call));
  const share = cluster.deploy.maxDeletionShare;
  const excessive = excessiveDeletions(plan, share);
  if (excessive.length > 0 && !opts.allowDeletions) throw new DeletionGuardError(excessive, share);
  const unread = new Map(
    plan.nodes.filter((n) => n.action === "unreachable").map((n) => [n.node, n.error ?? ""]),
  );

  const nodes = await mapLimit(cluster.nodes, opts.concurrency ?? 8, async (n: NodeSpec) => {
    const started = Date.now();
    const result: NodeDeployResult = {
      node: n.name,
      ok: false,
      hash: null,
      advertised: [],
      drained: false,
      ms: 0,
    };
    try {
      if (unread.has(n.name) && !opts.allowDeletions) {
        throw new Error(
          `not pushed: cannot read its configuration to count what the push removes ` +
            `(${unread.get(n.name)})`,
        );
      }
      progress(n.name, "applying");
      // The apply answers with the node's status: the first look judges it, later ones read anew.
      let status = await applyNode(transport, n, configs.get(n.name)!, call);
      let problem = verified(status, hash, vips);
      await pollUntil(async (look) => {
        if (look > 0) {
          status = await nodeStatus(transport, n, call);
          problem = verified(status, hash, vips);
        }
        return problem === null || null;
      }, { timeoutMs: opts.verifyTimeoutMs ?? 30_000, everyMs: 250, sleep: opts.sleep ?? sleep });
      result.hash = status.config?.hash ?? null;
      result.advertised = status.routing.advertised;
      result.drained = status.drained;
      if (problem !== null) throw new Error(problem);
      result.ok = true;
      progress(n.name, "done");
    } catch (e) {
      result.error = errorText(e);
      progress(n.name, `failed: ${result.error}`);
    }
    result.ms = Date.now() - started;
    return result;
  });
  return {
    ok: nodes.every((n) => n.ok) && new Set(nodes.map((n) => n.hash)).size === 1,
    hash,
    version,
    nodes,
    ms: Date.now() - t0,
    plan,
  };
}
