/**
 * Benchmark: how long a drain and an undrain take to reach the upstream router. Builds a lab
 * (3 nodes, own prefix, own state directory), then `runs` times drains node2 and undrains it,
 * measuring from the drain/undrain call until the router's route to the VIP has one next hop
 * fewer/more, as BIRD sees it and in the router's kernel FIB. Also times `labUp` (until the
 * kernel route has every next hop) and `labDown`. Prints a table and one JSON line.
 *
 *   deno run -A cluster/lab/drain_timing.ts [--runs 5] [--settle-ms 6000] [--hello 1] [--dead 4]
 *     [--no-bfd] [--crash] [--prefix ldt-] [--nodes 3]
 *
 * `--crash` also kills the last node's BIRD (SIGKILL) `runs` times and measures until the router
 * drops it: BFD's detection time with BFD on, the OSPF dead interval without.
 *
 * `--settle-ms` is the pause after each change before the next one: OSPF lets a router originate
 * its router LSA at most once per MinLSInterval (5 s), so a change made sooner than that after
 * the previous one waits for the interval (the figure is then mostly that wait).
 *
 * @module
 */
import {
  birdNextHops,
  kernelNextHops,
  killBird,
  labDown,
  labUp,
  loadLabModel,
  setNodeDrained,
  startBird,
  waitForNextHops,
} from "./network.ts";
import { RealHost } from "./netns.ts";
import { pollUntil } from "../../routing/poll.ts";
import { withBird } from "../../routing/bird/bird_client.ts";
import { parseBfdSessions } from "../../routing/parse_show.ts";
import type { LabModel } from "./topology.ts";

/** One drain or undrain measurement, in milliseconds from the call. */
export interface Sample {
  /** The reconfigure call (check, configure with timeout, confirm) returned. */
  commandMs: number;
  /** BIRD on the router has the new next-hop count. */
  birdMs: number;
  /** The router's kernel route has the new next-hop count. */
  kernelMs: number;
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError("Cannot take the median of no samples");
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The report the benchmark prints. */
export interface DrainTimingReport {
  settings: {
    nodes: number;
    hello: number;
    dead: number;
    /** The router's DR wait and the retransmit interval (seconds; null = BIRD's default). */
    routerWait: number | null;
    retransmit: number | null;
    bfd: { intervalMs: number; multiplier: number } | null;
    settleMs: number;
    runs: number;
  };
  labUpMs: number;
  convergeMs: number;
  labDownMs: number;
  drain: Sample[];
  undrain: Sample[];
  /** With `--crash`: SIGKILL of node3's BIRD until the router drops it (BFD or dead interval). */
  crash?: Sample[];
  median: { drain: Sample; undrain: Sample; crash?: Sample };
}

function medians(xs: Sample[]): Sample {
  return {
    commandMs: median(xs.map((x) => x.commandMs)),
    birdMs: median(xs.map((x) => x.birdMs)),
    kernelMs: median(xs.map((x) => x.kernelMs)),
  };
}

/** Builds the report from raw samples (pure). */
export function buildReport(
  settings: DrainTimingReport["settings"],
  times: { labUpMs: number; convergeMs: number; labDownMs: number },
  drain: Sample[],
  undrain: Sample[],
  crash: Sample[] = [],
): DrainTimingReport {
  return {
    settings,
    ...times,
    drain,
    undrain,
    ...(crash.length ? { crash } : {}),
    median: {
      drain: medians(drain),
      undrain: medians(undrain),
      ...(crash.length ? { crash: medians(crash) } : {}),
    },
  };
}

/** The human-readable table (pure). */
export function formatTable(r: DrainTimingReport): string {
  const s = r.settings;
  const f = (ms: number) => ms.toFixed(0).padStart(8);
  const lines = [
    `drain/undrain timing: ${s.nodes} nodes, OSPF hello ${s.hello} s dead ${s.dead} s wait ${
      s.routerWait ?? "default"
    } retransmit ${s.retransmit ?? "default"}, BFD ${
      s.bfd ? `${s.bfd.intervalMs} ms x ${s.bfd.multiplier}` : "off"
    }, ${s.runs} runs, ${s.settleMs} ms between changes`,
    `lab up ${f(r.labUpMs)} ms + OSPF convergence ${f(r.convergeMs)} ms; lab down ${
      f(r.labDownMs)
    } ms`,
    "  run  change    command ms  router BIRD ms  router kernel ms",
  ];
  const row = (run: string, what: string, x: Sample) =>
    `  ${run.padStart(3)}  ${what.padEnd(8)}  ${f(x.commandMs)}      ${f(x.birdMs)}        ${
      f(x.kernelMs)
    }`;
  r.drain.forEach((d, i) => {
    lines.push(row(String(i + 1), "drain", d));
    const u = r.undrain[i];
    if (u) lines.push(row(String(i + 1), "undrain", u));
  });
  r.crash?.forEach((c, i) => lines.push(row(String(i + 1), "crash", c)));
  lines.push(row("med", "drain", r.median.drain), row("med", "undrain", r.median.undrain));
  if (r.median.crash) lines.push(row("med", "crash", r.median.crash));
  return lines.join("\n");
}

/** Options of the benchmark. */
export interface TimingOptions {
  runs: number;
  settleMs: number;
  hello: number;
  dead: number;
  nodes: number;
  bfd: boolean;
  /** Also measure a node's BIRD crashing (SIGKILL) until the router drops it. */
  crash: boolean;
  prefix: string;
}

/** Parses the command line (pure); throws `TypeError` naming a bad option or value. */
export function parseTimingArgs(args: string[]): TimingOptions {
  const o: TimingOptions = {
    runs: 5,
    settleMs: 6000,
    hello: 1,
    dead: 4,
    nodes: 3,
    bfd: true,
    crash: false,
    prefix: "ldt-",
  };
  const numeric: Record<string, "runs" | "settleMs" | "hello" | "dead" | "nodes"> = {
    "--runs": "runs",
    "--settle-ms": "settleMs",
    "--hello": "hello",
    "--dead": "dead",
    "--nodes": "nodes",
  };
  for (let i = 0; i < args.length; i++) {
    const k = args[i]!;
    if (k === "--no-bfd") o.bfd = false;
    else if (k === "--crash") o.crash = true;
    else if (k === "--prefix") o.prefix = args[++i] ?? "";
    else if (numeric[k]) {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 0) {
        throw new TypeError(`Option ${k} needs a non-negative integer, got ${args[i]}`);
      }
      o[numeric[k]] = v;
    } else throw new TypeError(`Unknown option ${k}`);
  }
  if (o.runs < 1) throw new TypeError("Option --runs needs at least 1");
  if (o.nodes < 2) throw new TypeError("Option --nodes needs at least 2 (node2 is drained)");
  return o;
}

/** Waits until the router's BFD session to `address` is Up. */
async function routerBfdUp(model: LabModel, address: string, timeoutMs: number) {
  return await pollUntil(async () => {
    const reply = await withBird(model.router.bird.socket, (b) => b.command("show bfd sessions"))
      .catch(() => null);
    const up = reply &&
      parseBfdSessions(reply).some((x) => x.address === address && x.state === "Up");
    return up ? true : null;
  }, timeoutMs);
}

/** Runs one change and polls the router until the VIP has `want` next hops in BIRD and kernel. */
async function measure(
  model: LabModel,
  vip: string,
  want: number,
  change: () => Promise<void>,
  timeoutMs = 30_000,
): Promise<Sample> {
  const t0 = performance.now();
  await change();
  const commandMs = performance.now() - t0;
  let birdMs = -1, kernelMs = -1;
  // The bound counts from before the change, like the times.
  const reached = await pollUntil(async () => {
    const [b, k] = await Promise.all([
      birdMs < 0 ? birdNextHops(model, vip) : Promise.resolve(null),
      kernelMs < 0 ? kernelNextHops(model, vip) : Promise.resolve(null),
    ]);
    const at = performance.now() - t0;
    if (b && b.length === want) birdMs = at;
    if (k && k.length === want) kernelMs = at;
    return (birdMs >= 0 && kernelMs >= 0) || null;
  }, { timeoutMs: timeoutMs - commandMs, everyMs: 5 });
  if (!reached) {
    throw new Error(`Router did not reach ${want} next hops for ${vip} within ${timeoutMs} ms`);
  }
  return { commandMs, birdMs, kernelMs };
}

async function main(args: string[]): Promise<void> {
  const o = parseTimingArgs(args);
  const { runs, settleMs, hello, dead, nodes, bfd, prefix, crash: crashToo } = o;
  const stateRoot = await Deno.makeTempDir({ prefix: "lvs-drain-timing-" });
  const model = await loadLabModel({
    prefix,
    stateDir: stateRoot,
    nodes,
    realServers: 0,
    management: false,
    hello,
    dead,
    ...(bfd ? {} : { bfd: false }),
  });
  const vip = model.vips[0]!;
  const cleanup = async () => {
    await labDown(prefix, stateRoot);
    await Deno.remove(stateRoot, { recursive: true }).catch(() => {});
  };
  const onSignal = () => cleanup().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let labDownMs = 0;
  try {
    let t = performance.now();
    await labUp(model);
    const labUpMs = performance.now() - t;
    t = performance.now();
    if (!await waitForNextHops(model, vip, nodes, 60_000, undefined)) {
      throw new Error(`Router did not reach ${nodes} next hops for ${vip} within 60 s`);
    }
    const convergeMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, settleMs));
    const drain: Sample[] = [], undrain: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      drain.push(await measure(model, vip, nodes - 1, () => setNodeDrained(model, "node2", true)));
      await new Promise((r) => setTimeout(r, settleMs));
      undrain.push(await measure(model, vip, nodes, () => setNodeDrained(model, "node2", false)));
      await new Promise((r) => setTimeout(r, settleMs));
    }
    const crash: Sample[] = [];
    const victim = model.nodes[nodes - 1]!;
    for (let i = 0; crashToo && i < runs; i++) {
      if (bfd && !await routerBfdUp(model, victim.address, 30_000)) {
        throw new Error(`The router's BFD session to ${victim.address} is not up`);
      }
      crash.push(await measure(model, vip, nodes - 1, () => killBird(victim.bird)));
      await startBird(new RealHost(), victim.namespace, victim.bird);
      if (!await waitForNextHops(model, vip, nodes, 60_000)) {
        throw new Error(`${victim.name} did not come back after its BIRD restarted`);
      }
      // The router (DR) re-originated its network LSA; let MinLSInterval (5 s) pass.
      await new Promise((r) => setTimeout(r, Math.max(settleMs, 5500)));
    }
    t = performance.now();
    await labDown(prefix, stateRoot);
    labDownMs = performance.now() - t;
    const report = buildReport(
      {
        nodes,
        hello,
        dead,
        routerWait: model.router.routing.interfaces[0]?.wait ?? null,
        retransmit: model.router.routing.interfaces[0]?.retransmit ?? null,
        bfd: bfd ? model.router.routing.bfd ?? null : null,
        settleMs,
        runs,
      },
      { labUpMs, convergeMs, labDownMs },
      drain,
      undrain,
      crash,
    );
    console.log(formatTable(report));
    console.log(JSON.stringify(report));
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  if (Deno.uid() !== 0) {
    console.error("drain_timing: needs root (network namespaces)");
    Deno.exit(1);
  }
  await main(Deno.args);
}
