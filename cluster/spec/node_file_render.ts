/**
 * The agent's node file (`dataplane/agent/node_file.ts`) for a node of the cluster file: its data
 * plane (vdev, lcores, workers, address, gateway) and its BIRD model (router id, area, uplink
 * with hello/dead/cost/BFD). `lvsctl node-file NODE` prints it for installing the agent. Pure.
 *
 * @module
 */
import type { NodeSpec } from "./cluster_file.ts";
import type { NodeFile } from "../../dataplane/agent/api.ts";

/** Where BIRD lives on a node unless the installer says otherwise (Debian's bird2 package). */
const BIRD_DEFAULTS = { socket: "/run/bird/bird.ctl", config: "/etc/bird/bird.conf" };

/** Renders the node file of `node`. */
export function renderNodeFile(
  node: NodeSpec,
  bird: { socket: string; config: string } = BIRD_DEFAULTS,
): NodeFile {
  const virtual = /^net_/.test(node.dataplane.vdev);
  return {
    node: node.name,
    socket: node.agent.socket,
    stateDir: `${node.agent.root}/state`,
    dataplane: {
      eal: {
        lcores: node.dataplane.lcores,
        ...(virtual
          ? { vdevs: [node.dataplane.vdev], noPci: true }
          : { extra: [`-a`, node.dataplane.vdev] }),
      },
      workers: node.dataplane.workers,
      portAddress: node.dataplane.portAddress,
      ...(node.dataplane.gateway ? { gateway: node.dataplane.gateway } : {}),
    },
    bird: {
      socket: bird.socket,
      config: bird.config,
      routing: {
        node: node.name,
        routerId: node.address,
        area: node.ospf.area,
        uplink: {
          name: node.ospf.interface,
          hello: node.ospf.hello,
          dead: node.ospf.dead,
          cost: node.ospf.cost,
          priority: 0, // never the DR: the upstream router is
          bfd: node.ospf.bfd,
        },
        ...(node.ospf.bfd ? { bfd: { intervalMs: 100, multiplier: 3 } } : {}),
      },
    },
  };
}
