/**
 * A recording fake of `BirdCommander` for tests: remembers every command and answers from a
 * handler that returns BIRD's wire text (or throws).
 *
 * @module
 */
import type { BirdCommander } from "./bird_client.ts";
import { type BirdReply, checkReply, parseReplies } from "../bird_reply.ts";

/** Answers a command with BIRD's raw reply text, e.g. "0003 Reconfigured\n". */
export type FakeHandler = (cmd: string) => string;

/** The replies a healthy BIRD 2.0.12 gives to the reconfiguration commands (captured). */
export function healthyBird(cmd: string): string {
  if (cmd.startsWith("configure check")) {
    return `0002-Reading configuration from ${cmd.split('"')[1]}\n0020 Configuration OK\n`;
  }
  if (cmd.startsWith("configure confirm")) return "0018 Reconfiguration confirmed\n";
  if (cmd.startsWith("configure undo")) return "0021-Undo requested\n0003 Reconfigured\n";
  if (cmd.startsWith("configure ")) {
    const t = /timeout (\d+)/.exec(cmd)?.[1];
    return `0002-Reading configuration from ${cmd.split('"')[1]}\n` +
      (t ? `0022-Undo scheduled in ${t} s\n` : "") + "0003 Reconfigured\n";
  }
  if (cmd === "show status") return "1000-BIRD 2.0.12\n0013 Daemon is up and running\n";
  return "9001 syntax error, unexpected CF_SYM_UNDEFINED\n";
}

/**
 * Records commands; replies come from `handler` and go through the same `checkReply` as the
 * real client, so 8xxx/9xxx become `BirdError`.
 */
export class RecordingBird implements BirdCommander {
  readonly commands: string[] = [];
  constructor(readonly handler: FakeHandler = healthyBird) {}

  command(cmd: string): Promise<BirdReply> {
    this.commands.push(cmd);
    try {
      const [reply] = parseReplies(this.handler(cmd));
      if (!reply) throw new Error(`fake BIRD has no reply for ${cmd}`);
      return Promise.resolve(checkReply(cmd, reply));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
