/**
 * Several data planes in one process, each a node of a cluster on one segment, joined by the
 * test: frames a node sends to another node's MAC (sync datagrams, forwarded client frames) are
 * delivered to that node; everything else leaves the segment and is returned to the test. All
 * nodes share the VIP, the gateway and the real servers of `testbed.ts`; each has its own MAC,
 * address and LIP, and knows the others' MACs as static neighbours (no test depends on ARP).
 *
 * @module
 */
import { DataPlane } from "../binding/dataplane.ts";
import type { DataPlaneConfig, SyncConfig } from "../binding/config.ts";
import { NET } from "./testbed.ts";
import { formatMac } from "./packet.ts";

/** One node of the test cluster. */
export interface TestNode {
  name: string;
  dp: DataPlane;
  mac: string;
  address: string;
  lip: string;
  port: number;
  workers: number;
}

/** The cluster secret of the tests (32 hex digits). */
export const SECRET = "00112233445566778899aabbccddeeff";

let ealUp = false;

/** Brings up the EAL once, with room for several nodes' pools. */
function eal(): void {
  if (ealUp) return;
  DataPlane.initEal({
    lcores: "0@0,1@0,2@1",
    noHuge: true,
    noPci: true,
    memoryMb: 1024,
    vdevs: ["net_null0"],
  });
  ealUp = true;
}

/** Creates node `i` (1-based: MAC 02:fa:00:00:01:0i, address 10.0.0.(1+i), LIP 10.0.0.(99+i)). */
export function makeNode(i: number, opts: { workers?: number; name?: string } = {}): TestNode {
  eal();
  const workers = opts.workers ?? 1;
  const name = opts.name ?? `fnat_node${i}`;
  const mac = `02:fa:00:00:01:${i.toString(16).padStart(2, "0")}`;
  const address = `10.0.0.${1 + i}`;
  const port = DataPlane.createTestPort(name, workers);
  const others = [1, 2, 3, 4, 5, 6].filter((j) => j !== i).map((j) => ({
    address: `10.0.0.${1 + j}`,
    mac: `02:fa:00:00:01:${j.toString(16).padStart(2, "0")}`,
  }));
  const dp = DataPlane.create({
    ports: [port],
    workers,
    sessionsPerWorker: 4096,
    testMode: true,
    portMacs: [mac],
    portAddresses: [`${address}/24`],
    gateway: NET.gatewayIp,
    neighbours: [
      { address: NET.gatewayIp, mac: NET.gatewayMac },
      ...NET.reals.map((r) => ({ address: r.address, mac: r.mac })),
      ...others,
    ],
  });
  return { name, dp, mac, address, lip: `10.0.0.${99 + i}`, port, workers };
}

/** The sync configuration of `node` with `peers` (and any overrides). */
export function syncOf(node: TestNode, peers: TestNode[], over: Partial<SyncConfig> = {}) {
  return {
    node: node.address,
    address: node.lip,
    secret: SECRET,
    peers: peers.map((p) => ({ node: p.address, address: p.lip })),
    ...over,
  } satisfies SyncConfig;
}

/** One TCP service on the VIP with real server 0 (port 8080) and the node's own LIP. */
export function serviceOf(node: TestNode, sync?: SyncConfig): DataPlaneConfig {
  return {
    localAddresses: [node.lip],
    services: [{
      vip: NET.vip,
      port: 80,
      protocol: "tcp",
      scheduler: "rr",
      reals: [{ address: NET.reals[0].address, port: 8080, weight: 1 }],
    }],
    ...(sync ? { sync } : {}),
  };
}

/** Destination MAC of a frame. */
export function dstMac(frame: Uint8Array): string {
  return formatMac(frame, 0);
}

/**
 * Polls every worker of every node and carries node-to-node frames until the segment is quiet;
 * returns what each node sent off the segment (to the gateway or a real server), by node name.
 */
export function pump(nodes: TestNode[], rounds = 8): Map<string, Uint8Array[]> {
  const out = new Map<string, Uint8Array[]>(nodes.map((n) => [n.name, []]));
  const byMac = new Map(nodes.map((n) => [n.mac, n]));
  for (let r = 0; r < rounds; r++) {
    let moved = 0;
    for (const n of nodes) {
      for (let w = 0; w < n.workers; w++) moved += n.dp.poll(w);
      for (const f of n.dp.collect()) {
        const to = byMac.get(dstMac(f));
        if (to) {
          to.dp.inject([f]);
          moved++;
        } else out.get(n.name)!.push(f);
      }
    }
    if (moved === 0) break;
  }
  return out;
}
