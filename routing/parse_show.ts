/**
 * Parsers of BIRD 2 `show ...` replies (pure), tested against output captured from the real
 * daemon under `fixtures/bird/`.
 *
 * @module
 */
import { type BirdReply, linesWithCode } from "./bird_reply.ts";

/** One row of `show protocols`. */
export interface ProtocolRow {
  name: string;
  proto: string;
  table: string;
  /** "up", "down", "start", "stop", "flush", ... */
  state: string;
  since: string;
  info: string;
}

/**
 * Parses `show protocols` (codes 2002 header, 1002 rows).
 *
 * @example
 * ```ts
 * parseProtocols(await bird.command("show protocols")).find((p) => p.name === "lvs")?.info; // "Running"
 * ```
 */
export function parseProtocols(reply: BirdReply): ProtocolRow[] {
  const rows: ProtocolRow[] = [];
  for (const line of linesWithCode(reply, 1002)) {
    const t = line.trim().split(/\s+/);
    if (t.length < 4) continue;
    const [name, proto, table, state] = t as [string, string, string, string];
    let rest = t.slice(4);
    let since = rest[0] ?? "";
    rest = rest.slice(1);
    if (/^\d{4}-\d\d-\d\d$/.test(since) && /^\d\d:\d\d/.test(rest[0] ?? "")) {
      since = `${since} ${rest[0]}`;
      rest = rest.slice(1);
    }
    rows.push({ name, proto, table, state, since, info: rest.join(" ") });
  }
  return rows;
}

/** One row of `show ospf neighbors`. */
export interface OspfNeighbor {
  /** The OSPF protocol instance the row belongs to. */
  protocol: string;
  routerId: string;
  priority: number;
  /** Adjacency state: "Full", "2-Way", "Init", "ExStart", "Exchange", "Loading", "Down". */
  state: string;
  /** The neighbour's role on the segment: "DR", "BDR", "Other", "PtP". */
  role: string;
  /** Seconds until the neighbour is declared dead. */
  deadTime: number;
  interface: string;
  address: string;
}

/** Parses `show ospf neighbors` (code 1013). */
export function parseOspfNeighbors(reply: BirdReply): OspfNeighbor[] {
  const out: OspfNeighbor[] = [];
  let protocol = "";
  for (const line of linesWithCode(reply, 1013)) {
    const p = /^(\S+):$/.exec(line.trim());
    if (p) {
      protocol = p[1]!;
      continue;
    }
    const m =
      /^\s*(\d+\.\d+\.\d+\.\d+)\s+(\d+)\s+([^\s/]+)(?:\/(\S+))?\s+([\d.]+)\s+(\S+)\s+(\S+)\s*$/
        .exec(line);
    if (!m) continue;
    out.push({
      protocol,
      routerId: m[1]!,
      priority: Number(m[2]),
      state: m[3]!,
      role: m[4] ?? "",
      deadTime: Number(m[5]),
      interface: m[6]!,
      address: m[7]!,
    });
  }
  return out;
}

/** A router in `show ospf state`: what its router LSA announces. */
export interface OspfStateRouter {
  routerId: string;
  /** SPF distance from the reporting router; null when unreachable. */
  distance: number | null;
  /** Transit networks it is attached to. */
  networks: Array<{ prefix: string; metric: number }>;
  /** Stub networks it announces (VIPs and LIPs on nodes). */
  stubnets: Array<{ prefix: string; metric: number }>;
  /** External routes (`external ... metric2 ...`) it announces. */
  externals: Array<{ prefix: string; metric: number }>;
}

/** An area in `show ospf state`. */
export interface OspfStateArea {
  area: string;
  routers: OspfStateRouter[];
  networks: Array<{ prefix: string; dr: string; routers: string[] }>;
}

/** Parses `show ospf state` (code 1016): per area, every router with its stub networks. */
export function parseOspfState(reply: BirdReply): OspfStateArea[] {
  const areas: OspfStateArea[] = [];
  let area: OspfStateArea | undefined;
  let router: OspfStateRouter | undefined;
  let net: OspfStateArea["networks"][number] | undefined;
  for (const raw of linesWithCode(reply, 1016)) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^area (\S+)$/.exec(line))) {
      area = { area: m[1]!, routers: [], networks: [] };
      areas.push(area);
      router = net = undefined;
    } else if (!area) {
      continue;
    } else if (/^\trouter \S+$/.test(raw)) {
      router = {
        routerId: line.split(/\s+/)[1]!,
        distance: null,
        networks: [],
        stubnets: [],
        externals: [],
      };
      area.routers.push(router);
      net = undefined;
    } else if (/^\tnetwork \S+$/.test(raw)) {
      net = { prefix: line.split(/\s+/)[1]!, dr: "", routers: [] };
      area.networks.push(net);
      router = undefined;
    } else if (net) {
      if ((m = /^dr (\S+)$/.exec(line))) net.dr = m[1]!;
      else if ((m = /^router (\S+)$/.exec(line))) net.routers.push(m[1]!);
    } else if (router) {
      if ((m = /^distance (\d+)$/.exec(line))) router.distance = Number(m[1]);
      else if ((m = /^(network|stubnet) (\S+) metric (\d+)/.exec(line))) {
        (m[1] === "network" ? router.networks : router.stubnets).push({
          prefix: m[2]!,
          metric: Number(m[3]),
        });
      } else if ((m = /^external (\S+) metric2? (\d+)/.exec(line))) {
        router.externals.push({ prefix: m[1]!, metric: Number(m[2]) });
      }
    }
  }
  return areas;
}

/** What one router announces, from a parsed `show ospf state` (all areas): its stub networks
 * and its externals (a node's VIPs are externals, its LIPs stub networks). */
export function announcedOf(areas: OspfStateArea[], routerId: string): string[] {
  return areas.flatMap((a) => a.routers.filter((r) => r.routerId === routerId))
    .flatMap((r) => [...r.stubnets, ...r.externals].map((s) => s.prefix));
}

/** The stub networks one router announces, from a parsed `show ospf state` (all areas). */
export function stubnetsOf(areas: OspfStateArea[], routerId: string): string[] {
  return areas.flatMap((a) => a.routers.filter((r) => r.routerId === routerId))
    .flatMap((r) => r.stubnets.map((s) => s.prefix));
}

/** One LSA header of `show ospf lsadb`. */
export interface OspfLsa {
  area: string;
  /** LSA type as BIRD prints it ("0001" router, "0002" network, "4005" external, ...). */
  type: string;
  lsId: string;
  router: string;
  sequence: string;
  age: number;
  checksum: string;
}

/** Parses `show ospf lsadb` (code 1017): every LSA header, with its area. */
export function parseOspfLsadb(reply: BirdReply): OspfLsa[] {
  const out: OspfLsa[] = [];
  let area = "";
  for (const raw of linesWithCode(reply, 1017)) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(?:Area|Global) ?(\S*)$/.exec(line))) area = m[1] || "global";
    else if (
      (m = /^([0-9a-f]{4})\s+(\S+)\s+(\S+)\s+([0-9a-f]{8})\s+(\d+)\s+([0-9a-f]{4})$/.exec(line))
    ) {
      out.push({
        area,
        type: m[1]!,
        lsId: m[2]!,
        router: m[3]!,
        sequence: m[4]!,
        age: Number(m[5]),
        checksum: m[6]!,
      });
    }
  }
  return out;
}

/** One next hop of a route. */
export interface RouteNextHop {
  /** Gateway address; absent for device routes ("dev eth0"). */
  gateway?: string;
  interface: string;
  /** ECMP weight (present on multipath routes). */
  weight?: number;
}

/** One route of `show route`. */
export interface Route {
  prefix: string;
  table: string;
  /** "unicast", "blackhole", "unreachable", "prohibit". */
  type: string;
  protocol: string;
  since: string;
  /** The selected (best, `*`) route for its prefix. */
  primary: boolean;
  /** The rest of the summary line, e.g. "I (150/20) [10.77.0.13]". */
  info: string;
  nextHops: RouteNextHop[];
  /** Attributes of `show route all` ("Type", "OSPF.metric1", ...). */
  attributes: Record<string, string>;
}

/**
 * Parses `show route [all]` (code 1007 routes and next hops, 1008/1012 attributes), including
 * multipath routes with one `via ... weight N` line per next hop.
 *
 * @example
 * ```ts
 * parseRoutes(await bird.command("show route 10.77.100.1/32"))[0]?.nextHops.length; // 3
 * ```
 */
export function parseRoutes(reply: BirdReply): Route[] {
  const routes: Route[] = [];
  let table = "";
  let prefix = "";
  let route: Route | undefined;
  for (const { code, text } of reply.lines) {
    let m: RegExpExecArray | null;
    if (code === 1007) {
      if ((m = /^Table (\S+):$/.exec(text))) {
        table = m[1]!;
        continue;
      }
      if (
        (m =
          /^(\S+)?\s+(unicast|blackhole|unreachable|prohibit)\s+\[(\S+) ([^\]]+)\]\s*(\*)?\s*(.*)$/
            .exec(text))
      ) {
        if (m[1]) prefix = m[1];
        route = {
          prefix,
          table,
          type: m[2]!,
          protocol: m[3]!,
          since: m[4]!,
          primary: m[5] === "*",
          info: m[6]!.trim(),
          nextHops: [],
          attributes: {},
        };
        routes.push(route);
        continue;
      }
      if (!route) continue;
      if ((m = /^\s*via (\S+) on (\S+)(?: weight (\d+))?/.exec(text))) {
        route.nextHops.push({
          gateway: m[1]!,
          interface: m[2]!,
          ...(m[3] !== undefined ? { weight: Number(m[3]) } : {}),
        });
      } else if ((m = /^\s*dev (\S+)(?: weight (\d+))?/.exec(text))) {
        route.nextHops.push({
          interface: m[1]!,
          ...(m[2] !== undefined ? { weight: Number(m[2]) } : {}),
        });
      }
    } else if ((code === 1008 || code === 1012) && route) {
      if ((m = /^\s*([^:]+):\s*(.*)$/.exec(text))) route.attributes[m[1]!.trim()] = m[2]!.trim();
    }
  }
  return routes;
}

/** One BFD session of `show bfd sessions`. */
export interface BfdSession {
  address: string;
  interface: string;
  state: string;
  since: string;
  interval: number;
  timeout: number;
}

/** Parses `show bfd sessions` (code 1020). */
export function parseBfdSessions(reply: BirdReply): BfdSession[] {
  const out: BfdSession[] = [];
  for (const line of linesWithCode(reply, 1020)) {
    const m = /^\s*(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s+(\S+)\s+(.+?)\s+([\d.]+)\s+([\d.]+)\s*$/.exec(
      line,
    );
    if (m) {
      out.push({
        address: m[1]!,
        interface: m[2]!,
        state: m[3]!,
        since: m[4]!,
        interval: Number(m[5]),
        timeout: Number(m[6]),
      });
    }
  }
  return out;
}
