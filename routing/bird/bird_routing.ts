/**
 * A node's BIRD as the agent uses it (adapter): renders the node config for the routes to
 * announce and pushes it with `safeReconfigure`; reports the OSPF adjacency and the stub
 * networks this node's router LSA carries. Structurally implements the agent's `RoutingPort`.
 *
 * @module
 */
import { withBird } from "./bird_client.ts";
import { safeReconfigure } from "./reconfigure.ts";
import { NODE_OSPF_PROTOCOL, renderNodeConfig } from "../render.ts";
import type { NodeRouting } from "../model.ts";
import { announcedOf, parseOspfNeighbors, parseOspfState, parseProtocols } from "../parse_show.ts";

/** Routing status of a node (the shape of the agent's `RoutingStatus`). */
export interface NodeRoutingStatus {
  /** Best adjacency state towards the upstream router ("Full", "2-Way", ..., or "down"). */
  adjacency: string;
  /** Router id of that neighbour ("" when none). */
  neighbor: string;
  /** Stub networks (a.b.c.d/32) this node's router LSA announces now. */
  advertised: string[];
  error?: string;
}

/** Where a node's BIRD lives and how it is configured. */
export interface BirdRoutingOptions {
  /** The node's routing model; `vips`, `lips` and `drained` are replaced by `announce`. */
  base: NodeRouting;
  configPath: string;
  socket: string;
  /** Seconds before BIRD undoes an unconfirmed configuration (default 30). */
  confirmTimeoutS?: number;
}

const RANK = ["Full", "Loading", "Exchange", "ExStart", "2-Way", "Init", "Attempt", "Down"];

/**
 * Drives one node's BIRD.
 *
 * @example
 * ```ts
 * const routing = new BirdRouting({ base, configPath: "/etc/bird/bird.conf", socket: "/run/bird/bird.ctl" });
 * await routing.announce({ vips: ["10.77.100.1"], lips: ["10.77.200.1"] });
 * (await routing.status()).advertised; // ["10.77.100.1/32", "10.77.200.1/32"]
 * ```
 */
export class BirdRouting {
  constructor(readonly options: BirdRoutingOptions) {}

  /** Announces exactly these VIPs and LIPs (a drained node passes no VIPs). */
  async announce(
    routes: { vips: string[]; lips: string[]; standbyLips?: string[] },
  ): Promise<void> {
    const o = this.options;
    const text = renderNodeConfig({
      ...o.base,
      vips: routes.vips,
      lips: routes.lips,
      standbyLips: routes.standbyLips ?? [],
      drained: false,
    });
    await withBird(o.socket, (bird) =>
      safeReconfigure(bird, {
        configPath: o.configPath,
        text,
        timeoutS: o.confirmTimeoutS ?? 30,
        verify: async (b) => {
          const ospf = parseProtocols(await b.command("show protocols"))
            .find((p) => p.name === NODE_OSPF_PROTOCOL);
          if (!ospf || ospf.state !== "up") {
            throw new Error(
              `OSPF protocol ${NODE_OSPF_PROTOCOL} is ${
                ospf?.state ?? "missing"
              } after reconfigure`,
            );
          }
        },
      }));
  }

  /** The stub networks each of these routers announces now (BIRD's reachable routers). */
  announcedBy(routerIds: string[]): Promise<Map<string, string[]>> {
    return withBird(this.options.socket, async (bird) => {
      const areas = parseOspfState(await bird.command(`show ospf state ${NODE_OSPF_PROTOCOL}`));
      return new Map(routerIds.map((id) => [id, announcedOf(areas, id)]));
    });
  }

  /** Reads the adjacency and the announced stub networks from BIRD. */
  status(): Promise<NodeRoutingStatus> {
    const o = this.options;
    return withBird(o.socket, async (bird) => {
      const neighbors = parseOspfNeighbors(
        await bird.command(`show ospf neighbors ${NODE_OSPF_PROTOCOL}`),
      );
      const areas = parseOspfState(await bird.command(`show ospf state ${NODE_OSPF_PROTOCOL}`));
      // The upstream router is the DR on the segment (nodes run with priority 0).
      const best = neighbors.filter((n) => n.role === "DR" || n.priority > 0)
        .sort((a, b) => RANK.indexOf(a.state) - RANK.indexOf(b.state))[0] ??
        neighbors.sort((a, b) => RANK.indexOf(a.state) - RANK.indexOf(b.state))[0];
      return {
        adjacency: best?.state ?? "down",
        neighbor: best?.routerId ?? "",
        advertised: announcedOf(areas, o.base.routerId),
      };
    });
  }
}
