/**
 * Quoting an argv list into one command line for the remote user's POSIX shell (SSH `exec`
 * passes a single string to `$SHELL -c`). Each item becomes exactly one word, with no
 * expansion of `$`, backquotes, globs, `~`, quotes or newlines.
 *
 * @example
 * ```ts
 * shellCommandLine(["systemctl", "restart", "lvs-agent"]); // "systemctl restart lvs-agent"
 * shellCommandLine(["echo", "it's $HOME"]);               // "echo 'it'\\''s $HOME'"
 * ```
 *
 * @module
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument: left bare when it only has safe characters, else single-quoted. */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) {
    throw new TypeError(`Cannot pass an argument containing a NUL byte: ${JSON.stringify(arg)}`);
  }
  if (arg !== "" && SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Quotes every item and joins them with spaces; throws `TypeError` for an empty argv. */
export function shellCommandLine(argv: readonly string[]): string {
  if (argv.length === 0 || argv[0] === "") {
    throw new TypeError("Cannot run an empty command: argv needs at least the program name");
  }
  return argv.map(shellQuote).join(" ");
}
