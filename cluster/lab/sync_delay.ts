/**
 * How long after a session is created its ownership record is on the peers, measured on the
 * lab's wire: `deno run -A cluster/lab/sync_delay.ts [--seconds N] [--rate R]` (root, with the
 * lab up). It captures the lab's segment (the switch's bridge) while the load client opens R new
 * connections a second, then pairs each client SYN the router hands to a node with the first sync
 * datagram that node sends carrying that flow's record, and prints the delay's median, 99th
 * percentile and maximum (table and one JSON line).
 *
 * @module
 */
import { PcapReader, type PcapRecord } from "./realserver/pcap.ts";

const SYNC_PORT = 1000;
const REC_LEN = 64;
const HDR_LEN = 32;

/** The flows whose SYN the capture saw, by "caddr:cport", with the time the node got them. */
interface Syn {
  node: string;
  atUs: number;
}

const ip = (d: Uint8Array, o: number) => `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
const u16 = (d: Uint8Array, o: number) => (d[o]! << 8) | d[o + 1]!;

/** Delays (µs) from each flow's SYN to its record leaving the owner, from captured frames. */
function recordDelays(frames: PcapRecord[], vip: string): number[] {
  const syns = new Map<string, Syn>();
  const delays: number[] = [];
  for (const f of frames) {
    const d = f.data;
    if (d.length < 34 || u16(d, 12) !== 0x0800) continue;
    const ihl = (d[14]! & 15) * 4;
    const proto = d[23]!, src = ip(d, 26), dst = ip(d, 30);
    const l4 = 14 + ihl;
    if (proto === 6 && dst === vip && (d[l4 + 13]! & 0x12) === 0x02) {
      const key = `${src}:${u16(d, l4)}`;
      if (!syns.has(key)) syns.set(key, { node: ip(d, 30), atUs: f.timeUs });
    } else if (proto === 17 && u16(d, l4 + 2) === SYNC_PORT) {
      const p = l4 + 8;
      if (d[p + 5] !== 1) continue; // records
      const count = u16(d, p + 14);
      for (let i = 0; i < count; i++) {
        const r = p + HDR_LEN + i * REC_LEN;
        if (r + REC_LEN > d.length || d[r] !== 1) continue; // ADD
        const key = `${ip(d, r + 4)}:${u16(d, r + 12)}`;
        const syn = syns.get(key);
        if (syn) {
          delays.push(f.timeUs - syn.atUs);
          syns.delete(key);
        }
      }
    }
  }
  return delays;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

if (import.meta.main) {
  const arg = (f: string, d: string) => {
    const i = Deno.args.indexOf(f);
    return i >= 0 ? Deno.args[i + 1]! : d;
  };
  const seconds = Number(arg("--seconds", "10"));
  const rate = Number(arg("--rate", "200"));
  const vip = arg("--vip", "10.77.100.1");
  const dump = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      "lvl-sw",
      "tcpdump",
      "-i",
      "br0",
      "-U",
      "-s",
      "2000",
      "-w",
      "-",
      `(tcp[tcpflags] & tcp-syn != 0 and dst host ${vip}) or udp port ${SYNC_PORT}`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = new PcapReader();
  const frames: PcapRecord[] = [];
  const pump = (async () => {
    for await (const chunk of dump.stdout) frames.push(...reader.push(chunk));
  })();
  await new Promise((r) => setTimeout(r, 1000));
  const load = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      "lvl-client",
      Deno.execPath(),
      "run",
      "-A",
      new URL("./load_client.ts", import.meta.url).pathname,
      "--target",
      `${vip}:80`,
      "--rate",
      String(rate),
      "--seconds",
      String(seconds),
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  await new Promise((r) => setTimeout(r, 1000));
  dump.kill("SIGTERM");
  await dump.status;
  await pump;
  const delays = recordDelays(frames, vip).sort((a, b) => a - b);
  const out = {
    name: "sync_record_delay",
    flows: delays.length,
    median_ms: percentile(delays, 0.5) / 1000,
    p99_ms: percentile(delays, 0.99) / 1000,
    max_ms: (delays.at(-1) ?? 0) / 1000,
    load_ok: load.success,
  };
  console.log(
    `flows ${out.flows}  median ${out.median_ms.toFixed(2)} ms  p99 ${
      out.p99_ms.toFixed(2)
    } ms  max ${out.max_ms.toFixed(2)} ms`,
  );
  console.log(JSON.stringify(out));
}
