/**
 * The lab's real server: an HTTP server that answers `GET /whoami` with the TCP peer it saw
 * (the load balancer's LIP:lport under FULLNAT) and the client address and port it learned
 * from that connection's TOA option, `GET /health` with 200, and anything else with a short
 * body naming the server. Run inside a real-server namespace:
 *
 *     deno run -A cluster/lab/realserver/main.ts --name rs1 --listen 10.0.0.21:80 --iface eth0
 *
 * @module
 */
import { startSniffer } from "./sniffer.ts";
import { type ToaObservation, ToaTable } from "./toa.ts";
import { pollUntil } from "../../../routing/poll.ts";
import { errorText } from "../../../routing/errors.ts";

/** Options of one real server. */
export interface RealServerOptions {
  name: string;
  hostname: string;
  port: number;
  /** Interface to capture TOA on; none: /whoami reports toa null. */
  iface?: string;
  toaKind?: number;
}

/** The /whoami answer. */
export interface WhoAmI {
  server: string;
  peer: { address: string; port: number };
  toa: ToaObservation["client"] | null;
}

async function lookupWithGrace(
  table: ToaTable,
  peer: { address: string; port: number },
  graceMs: number,
): Promise<ToaObservation | undefined> {
  // The first ACK (which carries TOA) reaches tcpdump's pipe a moment after the kernel
  // delivered the request, so give the capture a short grace period.
  return await pollUntil(() => table.lookup(peer, Date.now()), graceMs, 10) ?? undefined;
}

/** Starts the server; resolves once it listens (and the capture runs, when asked for). */
export async function startRealServer(
  opts: RealServerOptions,
): Promise<{ port: number; shutdown(): Promise<void> }> {
  const table = new ToaTable();
  const sniffer = opts.iface ? startSniffer(opts.iface, opts.port, table, opts.toaKind) : undefined;
  await sniffer?.ready;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: opts.hostname, port: opts.port, signal: ac.signal, onListen: () => {} },
    async (req, info) => {
      const path = new URL(req.url).pathname;
      if (path === "/health") return new Response("ok\n");
      if (path === "/whoami") {
        const peer = { address: info.remoteAddr.hostname, port: info.remoteAddr.port };
        const obs = sniffer ? await lookupWithGrace(table, peer, 500) : undefined;
        const body: WhoAmI = { server: opts.name, peer, toa: obs?.client ?? null };
        return Response.json(body);
      }
      return new Response(`${opts.name}\n`);
    },
  );
  return {
    port: server.addr.port,
    async shutdown() {
      ac.abort();
      await server.finished;
      await sniffer?.stop();
    },
  };
}

function parseArgs(args: string[]): RealServerOptions {
  const get = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const name = get("--name");
  const listen = get("--listen");
  if (!name || !listen) {
    throw new TypeError(
      "usage: main.ts --name NAME --listen ADDR:PORT [--iface IF] [--toa-kind N]",
    );
  }
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(listen);
  if (!m) throw new TypeError(`--listen must be ADDR:PORT, got '${listen}'`);
  const opts: RealServerOptions = { name, hostname: m[1]!, port: Number(m[2]) };
  const iface = get("--iface");
  if (iface) opts.iface = iface;
  const kind = get("--toa-kind");
  if (kind) opts.toaKind = Number(kind);
  return opts;
}

if (import.meta.main) {
  try {
    const server = await startRealServer(parseArgs(Deno.args));
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(sig, () => void server.shutdown().then(() => Deno.exit(0)));
    }
  } catch (e) {
    console.error(errorText(e));
    Deno.exit(1);
  }
}
