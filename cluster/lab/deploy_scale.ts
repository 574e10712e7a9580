/**
 * `deno task bench deploy-scale [--vips N] [--reals M] [--json] [--keep]`: `lvsctl deploy` of a
 * large cluster file to the lab's three nodes. Brings the lab up (`deno task lab up`, which
 * deploys fixtures/lab.yaml), writes a cluster file of the same shape with N VIPs of M real
 * servers each (the lab's VIP first, as in fixtures/lab.yaml; then generated ones without health
 * checks), deploys it with `lvsctl deploy --json`, prints the time per node and in all (a table,
 * or one JSON object with --json), and takes the lab down again (unless --keep).
 *
 * lvsctl's time per node ends when the node's BIRD advertises every VIP (or the verify times out).
 * Alongside, every agent's status is polled through its socket: `configuredMs` is when the node
 * first reported the new configuration (its data plane and its BIRD configuration both installed),
 * from the start of lvsctl.
 *
 * A node announces its VIPs as OSPF externals (one LSA each); when they were stub links of its
 * one router-LSA (16-bit length: 5,455 links) BIRD sent a malformed LSA beyond ~5,450 VIPs.
 *
 * The lab is shared: run it only under the lab lock, `flock /tmp/lab.lock deno task bench
 * deploy-scale`.
 *
 * @module
 */
import { parse, stringify } from "yaml";
import { LAB_CLUSTER_FILE } from "./cluster.ts";

/** The scale: 10,000 VIPs of 8 real servers (a data plane takes 131,072 real-server ids). */
const DEFAULT_VIPS = 10_000;

/** The lab's real servers (fixtures/lab.yaml): every generated VIP uses them, on several ports. */
const LAB_REALS = ["10.77.0.101", "10.77.0.102", "10.77.0.103"];

/** The i-th generated VIP (i from 0): 10.77.101.0 onwards, clear of the lab's other ranges. */
export function generatedVip(i: number): string {
  const n = (10 << 24 | 77 << 16 | 101 << 8) + i;
  if (i < 0 || n > (10 << 24 | 77 << 16 | 199 << 8 | 255)) {
    throw new RangeError(`VIP ${i} is outside 10.77.101.0-10.77.199.255`);
  }
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * The cluster file text: `base` (a cluster file's YAML) with its VIP list replaced by `vips`
 * VIPs of `reals` real servers each. The base's first VIP stays first (its real servers are
 * padded to `reals` on other ports); real server r of a generated VIP is LAB_REALS[r % 3] on port
 * 80 + floor(r / 3), so every (address, port) of one VIP is distinct.
 */
export function scaleClusterFile(base: string, vips: number, reals: number): string {
  if (!Number.isInteger(vips) || vips < 1 || !Number.isInteger(reals) || reals < 1) {
    throw new RangeError(`Cannot generate ${vips} VIPs of ${reals} real servers`);
  }
  const doc = parse(base) as Record<string, unknown>;
  const first = (doc.vips as Record<string, unknown>[] | undefined)?.[0];
  if (first === undefined) throw new TypeError("The base cluster file has no VIP");
  const realAt = (r: number) => ({
    address: LAB_REALS[r % LAB_REALS.length]!,
    port: 80 + Math.floor(r / LAB_REALS.length),
    weight: 1,
  });
  const firstReals = [...(first.reals as Record<string, unknown>[])].slice(0, reals);
  for (let r = firstReals.length; r < reals; r++) firstReals.push(realAt(r));
  const out: Record<string, unknown>[] = [{ ...first, reals: firstReals }];
  for (let i = 0; i < vips - 1; i++) {
    out.push({
      address: generatedVip(i),
      port: 80,
      protocol: "tcp",
      scheduler: "wrr",
      reals: Array.from({ length: reals }, (_, r) => realAt(r)),
    });
  }
  doc.vips = out;
  return stringify(doc, { lineWidth: 0 });
}

/** One run's figures. */
export interface DeployScaleResult {
  vips: number;
  reals: number;
  fileBytes: number;
  ok: boolean;
  /** lvsctl deploy's own figure for the whole deploy (ms) */
  ms: number;
  /** the lvsctl process from start to exit (ms): loading and checking the file included */
  wallMs: number;
  nodes: {
    node: string;
    ok: boolean;
    ms: number;
    error?: string;
    /** when the node's agent first reported the new configuration (ms from lvsctl's start) */
    configuredMs?: number;
  }[];
}

/** One look at a node's agent: when (ms from lvsctl's start) and the hash it reported. */
export interface HashSample {
  node: string;
  at: number;
  hash: string | null;
}

/** The first time each node reported `hash` (absent: never seen). */
export function firstReported(samples: HashSample[], hash: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.hash === hash && (out[s.node] === undefined || s.at < out[s.node]!)) out[s.node] = s.at;
  }
  return out;
}

/** Reads `lvsctl deploy --json` output (its last JSON line). */
export function parseDeployOutput(stdout: string): {
  ok: boolean;
  hash: string;
  ms: number;
  nodes: { node: string; ok: boolean; ms: number; error?: string }[];
} {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (line === undefined) {
    throw new SyntaxError(`No JSON in lvsctl output: ${stdout.slice(0, 200)}`);
  }
  const r = JSON.parse(line) as {
    ok: boolean;
    hash?: string;
    ms: number;
    nodes: { node: string; ok: boolean; ms: number; error?: string }[];
  };
  if (typeof r.ms !== "number" || !Array.isArray(r.nodes)) {
    throw new SyntaxError(`Not a deploy result: ${line.slice(0, 200)}`);
  }
  return {
    ok: r.ok,
    hash: r.hash ?? "",
    ms: r.ms,
    nodes: r.nodes.map((n) => ({
      node: n.node,
      ok: n.ok,
      ms: n.ms,
      ...(n.error ? { error: n.error } : {}),
    })),
  };
}

/** An error cut to `max` characters (BIRD's list of missing VIPs runs to thousands). */
export function shortError(error: string, max = 160): string {
  return error.length <= max ? error : `${error.slice(0, max)}... (${error.length} characters)`;
}

/** A plain-text table: one row per node, then the whole deploy. */
export function formatDeployTable(r: DeployScaleResult): string {
  const rows = [
    ["node", "result", "configured ms", "ms"],
    ...r.nodes.map((n) => [
      n.node,
      n.ok ? "ok" : `FAILED: ${shortError(n.error ?? "?")}`,
      n.configuredMs === undefined ? "-" : String(n.configuredMs),
      String(n.ms),
    ]),
    ["all", r.ok ? "ok" : "FAILED", "", String(r.ms)],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `${row[0]!.padEnd(w[0]!)}  ${row[1]!.padEnd(w[1]!)}  ${row[2]!.padStart(w[2]!)}  ${
      row[3]!.padStart(w[3]!)
    }`;
  return [
    `${r.vips} VIPs x ${r.reals} real servers (${r.fileBytes} bytes of YAML); ` +
    `lvsctl ran ${r.wallMs} ms`,
    ...rows.map(line),
  ].join("\n");
}

const ROOT = new URL("../..", import.meta.url).pathname;

async function run(args: string[], quiet = false): Promise<{ ok: boolean; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: quiet ? "piped" : "inherit",
  }).output();
  return { ok: out.success, stdout: new TextDecoder().decode(out.stdout) };
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** The hash a node's agent reports now (through its socket; null when it does not answer). */
async function agentHash(socket: string): Promise<string | null> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch("http://agent/v1/status", {
      client,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return null;
    return ((await res.json()) as { config?: { hash?: string } | null }).config?.hash ?? null;
  } catch {
    return null;
  } finally {
    client.close();
  }
}

/** The agent socket of every node of a cluster file (`defaults.agent.socket`, `{node}`). */
export function agentSockets(base: string): Record<string, string> {
  const doc = parse(base) as {
    defaults?: { agent?: { socket?: string } };
    nodes?: { name: string; agent?: { socket?: string } }[];
  };
  return Object.fromEntries((doc.nodes ?? []).map((n) => {
    const socket = n.agent?.socket ?? doc.defaults?.agent?.socket;
    if (socket === undefined) throw new TypeError(`No agent socket for ${n.name}`);
    return [n.name, socket.replaceAll("{node}", n.name)];
  }));
}

if (import.meta.main) {
  const args = Deno.args;
  const json = args.includes("--json");
  const vips = flag(args, "--vips", DEFAULT_VIPS);
  const reals = flag(args, "--reals", 8);
  const base = await Deno.readTextFile(LAB_CLUSTER_FILE);
  const text = scaleClusterFile(base, vips, reals);
  const file = await Deno.makeTempFile({ prefix: "lvs-deploy-scale-", suffix: ".yaml" });
  await Deno.writeTextFile(file, text);
  const log = (m: string) => console.error(`deploy-scale: ${m}`);
  let code = 1;
  try {
    log("lab up");
    if (!(await run(["run", "-A", "cluster/lab/main.ts", "up"], json)).ok) {
      throw new Error("lab up failed");
    }
    log(`deploying ${vips} VIPs x ${reals} real servers`);
    const t0 = Date.now();
    const samples: HashSample[] = [];
    let polling = true;
    const pollers = Object.entries(agentSockets(base)).map(async ([node, socket]) => {
      while (polling) {
        const hash = await agentHash(socket);
        samples.push({ node, at: Date.now() - t0, hash });
        await new Promise((r) => setTimeout(r, 250));
      }
    });
    const out = await run([
      "run",
      "-A",
      "cluster/lvsctl.ts",
      "deploy",
      "--cluster",
      file,
      "--json",
    ]);
    const wallMs = Date.now() - t0;
    polling = false;
    await Promise.all(pollers);
    const { hash, ...d } = parseDeployOutput(out.stdout);
    const configured = firstReported(samples, hash);
    const result: DeployScaleResult = {
      vips,
      reals,
      fileBytes: new TextEncoder().encode(text).length,
      ...d,
      nodes: d.nodes.map((n) => ({
        ...n,
        ...(configured[n.node] !== undefined ? { configuredMs: configured[n.node]! } : {}),
      })),
      wallMs,
    };
    if (json) console.log(JSON.stringify(result));
    else console.log(formatDeployTable(result));
    code = result.ok ? 0 : 1;
  } finally {
    if (!args.includes("--keep")) {
      log("lab down");
      await run(["run", "-A", "cluster/lab/main.ts", "down"], true);
    }
    await Deno.remove(file);
  }
  Deno.exit(code);
}
