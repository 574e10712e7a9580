/**
 * Validation of health checks as they arrive from lvsctl: JSON, so every field is checked for
 * its type as well as its range. The agent refuses a configuration with a bad check before it
 * applies or saves anything, and the monitor refuses one before it schedules it. Pure.
 *
 * @example
 * ```ts
 * healthCheckProblem({ kind: "tcp", intervalMs: 1000, timeoutMs: 500, rise: 0, fall: 2 });
 * // "rise must be a positive integer, got 0"
 * ```
 *
 * @module
 */
import { isIpv4 } from "../../routing/ipv4.ts";
import type { HealthCheck, HealthTarget } from "./health.ts";

/** The largest delay a timer takes (setTimeout's limit), in milliseconds. */
const MAX_MS = 2 ** 31 - 1;

/** A value as a message shows it: strings quoted, `undefined` spelled out. */
function shown(v: unknown): string {
  return v === undefined ? "undefined" : JSON.stringify(v) ?? String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The first problem of one check (`null` when it is valid), naming the field and its value. */
export function healthCheckProblem(c: unknown): string | null {
  if (!isObject(c)) return `check must be an object, got ${shown(c)}`;
  if (c.kind !== "tcp" && c.kind !== "http") {
    return `kind must be tcp or http, got ${shown(c.kind)}`;
  }
  for (const name of ["intervalMs", "timeoutMs", "rise", "fall"]) {
    const v = c[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      return `${name} must be a positive integer, got ${shown(v)}`;
    }
    if (name.endsWith("Ms") && v > MAX_MS) return `${name} must be at most ${MAX_MS}, got ${v}`;
  }
  if (c.delayMs !== undefined) {
    const d = c.delayMs;
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > MAX_MS) {
      return `delayMs must be a non-negative integer of at most ${MAX_MS}, got ${shown(d)}`;
    }
  }
  if ((c.timeoutMs as number) > (c.intervalMs as number)) {
    return `timeoutMs (${c.timeoutMs}) must not exceed intervalMs (${c.intervalMs})`;
  }
  if (c.kind === "http") {
    if (typeof c.path !== "string") return `path must be a string, got ${shown(c.path)}`;
    if (!c.path.startsWith("/")) return `path must start with '/', got ${shown(c.path)}`;
    // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
    if (/[\s\x00-\x1f\x7f]/.test(c.path)) {
      return `path must not contain spaces or control characters, got ${shown(c.path)}`;
    }
    const s = c.expectStatus;
    if (typeof s !== "number" || !Number.isInteger(s) || s < 100 || s > 599) {
      return `expectStatus must be 100-599, got ${shown(s)}`;
    }
  }
  return null;
}

/** Throws RangeError naming the field and value when a check is invalid. */
export function validateHealthCheck(c: unknown): asserts c is HealthCheck {
  const problem = healthCheckProblem(c);
  if (problem !== null) throw new RangeError(`Invalid health check: ${problem}`);
}

/**
 * The first problem of a list of targets (`null` when every one is valid): each must be an
 * object with a non-empty `key` (unique in the list), an IPv4 `address`, a `port` of 1-65535
 * and a valid `check`. The message starts with the target it is about.
 */
export function healthTargetsProblem(targets: unknown): string | null {
  if (!Array.isArray(targets)) return `checks must be an array, got ${shown(targets)}`;
  const keys = new Set<string>();
  for (const [i, t] of targets.entries()) {
    if (!isObject(t)) return `checks[${i}] must be an object, got ${shown(t)}`;
    if (typeof t.key !== "string" || t.key === "") {
      return `checks[${i}]: key must be a non-empty string, got ${shown(t.key)}`;
    }
    const where = `check ${t.key}`;
    if (keys.has(t.key)) return `${where} is listed twice`;
    keys.add(t.key);
    if (typeof t.address !== "string" || !isIpv4(t.address)) {
      return `${where}: address must be an IPv4 address, got ${shown(t.address)}`;
    }
    const p = t.port;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) {
      return `${where}: port must be 1-65535, got ${shown(p)}`;
    }
    const problem = healthCheckProblem(t.check);
    if (problem !== null) return `${where}: ${problem}`;
  }
  return null;
}

/** Throws RangeError when a list of targets is invalid (see {@linkcode healthTargetsProblem}). */
export function validateHealthTargets(targets: unknown): asserts targets is HealthTarget[] {
  const problem = healthTargetsProblem(targets);
  if (problem !== null) throw new RangeError(`Invalid health checks: ${problem}`);
}
