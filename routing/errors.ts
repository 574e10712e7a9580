/**
 * The text of a caught value, for messages and logs: every room of the project words its
 * failures with it (`Cannot apply configuration 7: ${errorText(e)}`).
 *
 * @example
 * ```ts
 * errorText(new Error("table full")); // "table full"
 * errorText("refused"); // "refused"
 * ```
 *
 * @module
 */

/** An `Error`'s message; anything else thrown (a string, a number, an object) as `String()`. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
