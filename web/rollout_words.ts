/**
 * The words of a rolling upgrade, defined once: the orchestrator's rollout (`cluster/ops/rollout.ts`)
 * writes them into its saved state and `lvsctl upgrade --json`, the dashboard shows them (pill
 * classes `step-<word>` and `ro-<word>`, `data-step`, `data-state`) and `/metrics` labels rollouts
 * with them. Here because `web/` imports nothing outside itself and `cluster/` may import `web/`.
 *
 * A rollout state saved by an earlier release used other words for two of them: the step
 * `gating` (now `health-gate`) and the status `done` (now `completed`). {@link rolloutStep} and
 * {@link rolloutStatus} read both.
 *
 * @example
 * ```ts
 * rolloutStep("gating"); // "health-gate"
 * rolloutStatus("done"); // "completed"
 * ROLLOUT_STEPS.includes("undraining"); // true
 * ```
 *
 * @module
 */

/**
 * Where one node is in a rolling upgrade, in the order a node goes through them (`failed` ends a
 * node at any step). The orchestrator's health gate includes the undrain and the watch after it;
 * the in-memory fleet shows `undraining` apart.
 */
export const ROLLOUT_STEPS = [
  "pending",
  "draining",
  "shipping",
  "restarting",
  "health-gate",
  "undraining",
  "done",
  "failed",
] as const;

/** Where one node is in a rolling upgrade (see {@link ROLLOUT_STEPS}). */
export type RolloutStep = typeof ROLLOUT_STEPS[number];

/** Every state of a whole rolling upgrade, in display order. */
export const ROLLOUT_STATUSES = ["running", "halted", "completed"] as const;

/** State of a whole rolling upgrade: it runs, it stopped at a failed node, or every node is done. */
export type RolloutStatus = typeof ROLLOUT_STATUSES[number];

/** Words of a state saved by an earlier release, and today's word for each. */
const OLD_STEPS: Readonly<Record<string, RolloutStep>> = { gating: "health-gate" };
const OLD_STATUSES: Readonly<Record<string, RolloutStatus>> = { done: "completed" };

function known<T extends string>(
  what: string,
  words: readonly T[],
  old: Readonly<Record<string, T>>,
  word: unknown,
): T {
  if (typeof word === "string") {
    if ((words as readonly string[]).includes(word)) return word as T;
    if (Object.hasOwn(old, word)) return old[word]!;
  }
  throw new RangeError(
    `Cannot read the rollout ${what} ${JSON.stringify(word)}: it is none of ${words.join(", ")}`,
  );
}

/** A node's step from a saved state, today's word or an earlier release's; RangeError otherwise. */
export function rolloutStep(word: unknown): RolloutStep {
  return known("step", ROLLOUT_STEPS, OLD_STEPS, word);
}

/** A rollout's status from a saved state, today's word or an earlier release's; RangeError otherwise. */
export function rolloutStatus(word: unknown): RolloutStatus {
  return known("status", ROLLOUT_STATUSES, OLD_STATUSES, word);
}
