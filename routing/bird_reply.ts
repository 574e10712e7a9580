/**
 * The BIRD control-socket reply format (pure): 4-digit codes, `-` and leading-space
 * continuation lines, `+` asynchronous lines, and the typed error for 8xxx/9xxx replies.
 *
 * @module
 */

/** One line of a reply, with the code it belongs to (continuations inherit it). */
export interface BirdLine {
  code: number;
  text: string;
}

/** A complete reply to one command. */
export interface BirdReply {
  /** The code of the final line (`NNNN ` with a space). */
  code: number;
  lines: BirdLine[];
  /** Asynchronous `+` lines that arrived while the reply was read. */
  async: string[];
}

/**
 * BIRD refused a command or a configuration: `code` is BIRD's reply code (8xxx run-time error,
 * 9xxx parse error) and `response` its full text.
 */
export class BirdError extends Error {
  override name = "BirdError";
  constructor(
    message: string,
    readonly code: number,
    readonly response: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The control socket could not be reached, closed early, spoke nonsense, or missed a deadline. */
export class BirdConnectionError extends Error {
  override name = "BirdConnectionError";
}

/** The text of every line of a reply, joined by newlines. */
export function replyText(reply: BirdReply): string {
  return reply.lines.map((l) => l.text).join("\n");
}

/** The lines of a reply that carry a given code. */
export function linesWithCode(reply: BirdReply, code: number): string[] {
  return reply.lines.filter((l) => l.code === code).map((l) => l.text);
}

/**
 * Incremental reply reader: feed it lines as they arrive; it returns the reply when the final
 * line has been seen.
 *
 * @example
 * ```ts
 * const r = new ReplyReader();
 * r.push("1002-device1    Device     ---        up     02:00:00");
 * r.push("0000 "); // -> { code: 0, lines: [...], async: [] }
 * ```
 */
export class ReplyReader {
  #lines: BirdLine[] = [];
  #async: string[] = [];
  #last = -1;

  /** Adds one line (without its newline); returns the reply when it is complete. */
  push(line: string): BirdReply | null {
    if (line.startsWith("+")) {
      this.#async.push(line.slice(1).replace(/^\d{4}[ -]/, ""));
      return null;
    }
    const m = /^(\d{4})([ -])(.*)$/.exec(line);
    if (m) {
      const code = Number(m[1]);
      this.#last = code;
      this.#lines.push({ code, text: m[3]! });
      if (m[2] === " ") {
        const reply = { code, lines: this.#lines, async: this.#async };
        this.#lines = [];
        this.#async = [];
        this.#last = -1;
        return reply;
      }
      return null;
    }
    if (line.startsWith(" ") && this.#last >= 0) {
      this.#lines.push({ code: this.#last, text: line.slice(1) });
      return null;
    }
    throw new BirdConnectionError(
      `Cannot read BIRD reply: unexpected line ${JSON.stringify(line)}`,
    );
  }
}

/** Throws `BirdError` when the reply (any line) carries an 8xxx or 9xxx code. */
export function checkReply(command: string, reply: BirdReply): BirdReply {
  const bad = reply.lines.find((l) => l.code >= 8000 && l.code <= 9999);
  if (bad) {
    const response = replyText(reply);
    const why = reply.lines.filter((l) => l.code >= 8000).map((l) => l.text).join("; ");
    throw new BirdError(
      `BIRD refused "${command}": ${why} (${bad.code})`,
      bad.code,
      response,
    );
  }
  return reply;
}

/**
 * Splits a whole captured session (lines as BIRD sent them) into replies; used by parsers' tests
 * and fixtures.
 */
export function parseReplies(text: string): BirdReply[] {
  const reader = new ReplyReader();
  const out: BirdReply[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const r = reader.push(line);
    if (r) out.push(r);
  }
  return out;
}
