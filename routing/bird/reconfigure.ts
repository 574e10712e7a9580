/**
 * Safe BIRD reconfiguration (adapter: writes files, talks to BIRD through a `BirdCommander`).
 *
 * 1. write the new text to `<config>.new`;
 * 2. `configure check "<config>.new"` (a refused file changes nothing);
 * 3. `configure "<config>.new" timeout N` (BIRD undoes it by itself after N s unless confirmed);
 * 4. verify (caller's check, by default `show status`); on failure `configure undo`;
 * 5. `configure confirm`, then rename `<config>.new` over `<config>` so a restart uses it.
 *
 * @module
 */
import type { BirdCommander } from "./bird_client.ts";
import { BirdError, replyText } from "../bird_reply.ts";
import { errorText } from "../errors.ts";

/** Options for `safeReconfigure`. */
export interface ReconfigureOptions {
  /** The daemon's configuration file (the one given to `bird -c`). */
  configPath: string;
  /** The new configuration text. */
  text: string;
  /** Seconds before BIRD rolls back an unconfirmed configuration (default 30). */
  timeoutS?: number;
  /** Extra check after `configure ... timeout`; throw to roll back. */
  verify?: (bird: BirdCommander) => Promise<void>;
}

/** What `safeReconfigure` did. */
export interface ReconfigureResult {
  /** False when the text was identical to the current file (nothing sent to BIRD). */
  changed: boolean;
  /** BIRD's reply to the `configure` command. */
  reply: string;
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/**
 * Pushes a new configuration to a running BIRD so that a refused or unhealthy configuration
 * leaves the previous one in place. Throws `BirdError` (with BIRD's message) when BIRD refuses.
 *
 * @example
 * ```ts
 * await withBird(sock, (bird) => safeReconfigure(bird, { configPath, text: renderNodeConfig(m) }));
 * ```
 */
export async function safeReconfigure(
  bird: BirdCommander,
  opts: ReconfigureOptions,
): Promise<ReconfigureResult> {
  const { configPath, text } = opts;
  const timeoutS = opts.timeoutS ?? 30;
  if (/["\n]/.test(configPath)) {
    throw new TypeError(
      `Cannot reconfigure BIRD: config path ${
        JSON.stringify(configPath)
      } contains a quote or newline`,
    );
  }
  if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 3600) {
    throw new RangeError(`Cannot reconfigure BIRD: timeout ${timeoutS} s must be 1-3600`);
  }
  if ((await readOrEmpty(configPath)) === text) return { changed: false, reply: "" };
  const next = `${configPath}.new`;
  await Deno.writeTextFile(next, text);
  try {
    await bird.command(`configure check "${next}"`);
    const reply = await bird.command(`configure "${next}" timeout ${timeoutS}`, {
      timeoutMs: 30_000,
    });
    try {
      if (opts.verify) await opts.verify(bird);
      else await bird.command("show status");
    } catch (e) {
      await bird.command("configure undo").catch(() => {/* the timeout undoes it anyway */});
      if (e instanceof BirdError) throw e;
      throw new BirdError(
        `Cannot reconfigure BIRD with ${configPath}: verification failed, rolled back: ${
          errorText(e)
        }`,
        0,
        "",
        { cause: e },
      );
    }
    await bird.command("configure confirm");
    await Deno.rename(next, configPath);
    return { changed: true, reply: replyText(reply) };
  } catch (e) {
    await Deno.remove(next).catch(() => {});
    throw e;
  }
}
