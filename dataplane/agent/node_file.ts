/**
 * The agent's node file: what is fixed for one node and needed before any configuration is pushed
 * (its name, the data plane's EAL and port options, BIRD's base model and paths, the control
 * socket and the state directory). Written once per node by the operator or the lab; lvsctl
 * pushes the VIPs later through the control API. `parseNodeFile` is pure and reports every
 * problem at once.
 *
 * @example
 * ```json
 * { "node": "node1", "socket": "/run/lvs-agent/agent.sock", "stateDir": "/var/lib/lvs-agent",
 *   "dataplane": { "eal": { "lcores": "0,1", "vdevs": ["net_af_packet0,iface=eth1,qpairs=1"] },
 *                  "workers": 1, "portAddress": "10.77.0.11/24", "gateway": "10.77.0.1" },
 *   "bird": { "socket": "/run/bird/bird.ctl", "config": "/etc/bird/bird.conf",
 *             "routing": { "node": "node1", "routerId": "10.77.0.11", "uplink": { ... } } } }
 * ```
 *
 * @module
 */
import type { EalOptions } from "../binding/types.ts";
import type { NodeRouting } from "../../routing/model.ts";
import { DEFAULT_AGENT_SOCKET } from "./api.ts";
import { errorText } from "../../routing/errors.ts";

/** The data plane part of a node file. */
export interface NodeDataPlane {
  eal: EalOptions;
  workers: number;
  /** DPDK port ids (default [0]: the first device of `eal.vdevs` or PCI). */
  ports?: number[];
  /** The node's address on the data port with its prefix, e.g. "10.77.0.11/24". */
  portAddress: string;
  gateway?: string;
  sessionsPerWorker?: number;
  neighbours?: { address: string; mac: string }[];
  toaKind?: number;
}

/** A parsed node file. */
export interface NodeFile {
  node: string;
  socket: string;
  stateDir: string;
  /**
   * With session sync on, how long the agent waits for its peers' sessions after it starts
   * before it announces its VIPs anyway (milliseconds, 0..600000; default 3000).
   */
  syncWaitMs?: number;
  dataplane: NodeDataPlane;
  bird: {
    socket: string;
    config: string;
    /** The routing model; its vips, lips and drained fields are set by the agent. */
    routing: Omit<NodeRouting, "vips" | "lips" | "drained">;
    confirmTimeoutS?: number;
  };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses and checks a node file; throws `TypeError` listing every problem with its path. */
export function parseNodeFile(text: string, file = "node file"): NodeFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot read ${file}: ${errorText(e)}`, { cause: e });
  }
  const problems: string[] = [];
  const need = (path: string, v: unknown, type: "string" | "number" | "object") => {
    const ok = type === "object"
      ? isObj(v)
      : type === "string"
      ? typeof v === "string"
      : typeof v === "number";
    if (!ok) problems.push(`${path}: expected ${type === "object" ? "an object" : `a ${type}`}`);
    return ok;
  };
  if (!need("(top)", raw, "object")) throw new TypeError(`Invalid ${file}: ${problems.join("; ")}`);
  const r = raw as Record<string, unknown>;
  need("node", r.node, "string");
  if (r.socket !== undefined) need("socket", r.socket, "string");
  need("stateDir", r.stateDir, "string");
  if (r.syncWaitMs !== undefined) {
    const v = r.syncWaitMs;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 600_000) {
      problems.push(`syncWaitMs: must be a whole number of milliseconds in 0..600000, got ${v}`);
    }
  }
  if (need("dataplane", r.dataplane, "object")) {
    const d = r.dataplane as Record<string, unknown>;
    need("dataplane.eal", d.eal, "object");
    need("dataplane.workers", d.workers, "number");
    if (typeof d.workers === "number" && (!Number.isInteger(d.workers) || d.workers < 1)) {
      problems.push("dataplane.workers: must be a whole number >= 1");
    }
    if (need("dataplane.portAddress", d.portAddress, "string")) {
      if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(d.portAddress as string)) {
        problems.push(`dataplane.portAddress: "${d.portAddress}" is not address/prefix`);
      }
    }
  }
  if (need("bird", r.bird, "object")) {
    const b = r.bird as Record<string, unknown>;
    need("bird.socket", b.socket, "string");
    need("bird.config", b.config, "string");
    if (need("bird.routing", b.routing, "object")) {
      const m = b.routing as Record<string, unknown>;
      need("bird.routing.routerId", m.routerId, "string");
      need("bird.routing.uplink", m.uplink, "object");
    }
  }
  if (problems.length > 0) throw new TypeError(`Invalid ${file}: ${problems.join("; ")}`);
  return {
    ...(r as unknown as NodeFile),
    socket: (r.socket as string | undefined) ?? DEFAULT_AGENT_SOCKET,
  };
}
