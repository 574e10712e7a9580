/**
 * The I/O shell around {@linkcode toaFromFrame}: runs `tcpdump` on an interface, reads its pcap
 * stream and records every TOA option seen on packets to a local TCP port.
 *
 * @module
 */
import { PcapReader } from "./pcap.ts";
import { toaFromFrame, type ToaTable } from "./toa.ts";

/** A running capture. */
export interface Sniffer {
  /** Resolves once tcpdump reports that it is listening. */
  ready: Promise<void>;
  /** Frames parsed so far. */
  frames(): number;
  /** Stops tcpdump and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * The BPF filter: TCP to `port`, not a SYN, with options present (data offset above 5 words),
 * so only packets that can carry TOA cross into user space.
 */
function toaFilter(port: number): string {
  return `tcp dst port ${port} and (tcp[tcpflags] & tcp-syn) == 0 and (tcp[12] & 0xf0) > 0x50`;
}

/** Starts capturing on `iface` for TCP port `port`; observations go into `table`. */
export function startSniffer(
  iface: string,
  port: number,
  table: ToaTable,
  kind = 254,
  now: () => number = Date.now,
): Sniffer {
  const child = new Deno.Command("tcpdump", {
    // --immediate-mode: without it libpcap holds packets up to its 1 s buffer timeout.
    args: ["-i", iface, "-n", "-U", "--immediate-mode", "-s", "256", "-w", "-", toaFilter(port)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = new PcapReader();
  let frames = 0;
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    failReady = rej;
  });
  const stderr = (async () => {
    let text = "";
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += dec.decode(chunk, { stream: true });
      if (/listening on/.test(text)) markReady();
    }
    failReady(new Error(`tcpdump on ${iface} exited: ${text.trim()}`));
  })();
  const stdout = (async () => {
    for await (const chunk of child.stdout) {
      for (const rec of reader.push(chunk)) {
        frames++;
        const obs = toaFromFrame(rec.data, kind);
        if (obs) table.record(obs, now());
      }
    }
  })();
  return {
    ready,
    frames: () => frames,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await Promise.allSettled([stdout, stderr]);
      ready.catch(() => {});
    },
  };
}
