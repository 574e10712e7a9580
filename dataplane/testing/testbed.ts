/**
 * The addresses and frame shortcuts shared by the data plane's FFI tests: one port (one-arm), a
 * client behind a gateway, a VIP, two LIPs and three real servers on the port's link. Also the
 * assertion that compares frames byte for byte and, on a mismatch, says what differs in words.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  badChecksums,
  buildFrame,
  describeFrame,
  type IcmpSpec,
  type Ipv4Spec,
  parseFrame,
  type TcpSpec,
  toHex,
  type UdpSpec,
} from "./packet.ts";
import type { DataPlaneConfig, Service } from "../binding/config.ts";
import { DataPlane } from "../binding/dataplane.ts";
import type { DataPlaneOptions } from "../binding/types.ts";

/** The test network. MACs are locally administered; addresses are documentation ranges. */
export const NET = {
  /** The data plane port's MAC. */
  portMac: "02:fa:00:00:00:01",
  /** The router in front of the clients. */
  gatewayMac: "02:c1:00:00:00:01",
  gatewayIp: "10.0.0.1",
  client: "198.51.100.7",
  client2: "198.51.100.8",
  vip: "192.0.2.10",
  lips: ["10.0.0.100", "10.0.0.101"],
  reals: [
    { address: "10.0.0.11", mac: "02:5e:00:00:00:11" },
    { address: "10.0.0.12", mac: "02:5e:00:00:00:12" },
    { address: "10.0.0.13", mac: "02:5e:00:00:00:13" },
  ],
} as const;

/** The data plane port's own address on the link (for ARP resolution of next hops). */
export const PORT_IP = "10.0.0.2";

/** A frame from a client (through the gateway) to the VIP. */
export function fromClient(
  l4: { tcp: TcpSpec } | { udp: UdpSpec } | { icmp: IcmpSpec },
  ip: Partial<Ipv4Spec> = {},
): Uint8Array {
  const eth = { src: NET.gatewayMac, dst: NET.portMac };
  return buildFrame({ eth, ip: { src: NET.client, dst: NET.vip, ...ip }, ...l4 } as never);
}

/** A frame from a real server to a LIP. */
export function fromReal(
  real: number,
  l4: { tcp: TcpSpec } | { udp: UdpSpec } | { icmp: IcmpSpec },
  ip: Partial<Ipv4Spec> = {},
): Uint8Array {
  const r = NET.reals[real]!;
  const eth = { src: r.mac, dst: NET.portMac };
  return buildFrame({ eth, ip: { src: r.address, dst: NET.lips[0], ...ip }, ...l4 } as never);
}

/** What the data plane sends to a real server (port MAC → real server MAC). */
export function toReal(
  real: number,
  l4: { tcp: TcpSpec } | { udp: UdpSpec } | { icmp: IcmpSpec },
  ip: Partial<Ipv4Spec> = {},
): Uint8Array {
  const r = NET.reals[real]!;
  const eth = { src: NET.portMac, dst: r.mac };
  return buildFrame({ eth, ip: { src: NET.lips[0], dst: r.address, ...ip }, ...l4 } as never);
}

/** What the data plane sends back to a client (port MAC → gateway MAC, VIP → client). */
export function toClient(
  l4: { tcp: TcpSpec } | { udp: UdpSpec } | { icmp: IcmpSpec },
  ip: Partial<Ipv4Spec> = {},
): Uint8Array {
  const eth = { src: NET.portMac, dst: NET.gatewayMac };
  return buildFrame({ eth, ip: { src: NET.vip, dst: NET.client, ...ip }, ...l4 } as never);
}

/** Asserts that every checksum in the frame verifies. */
function assertChecksums(frame: Uint8Array, what = "frame"): void {
  assert.deepEqual(
    badChecksums(parseFrame(frame)),
    [],
    `${what}: bad checksum in ${describeFrame(frame)}`,
  );
}

/**
 * Asserts that two lists of frames are equal byte for byte. On a mismatch the message shows both
 * frames as tcpdump-like summaries and hex, so a failure says what the data plane did.
 */
export function assertFrames(actual: Uint8Array[], expected: Uint8Array[], what: string): void {
  const show = (fs: Uint8Array[]) =>
    fs.map((f) => `  ${describeFrame(f)}\n  ${toHex(f)}`).join("\n");
  const same = actual.length === expected.length &&
    actual.every((f, i) => toHex(f) === toHex(expected[i]!));
  if (!same) {
    assert.fail(`${what}: frames differ\nactual:\n${show(actual)}\nexpected:\n${show(expected)}`);
  }
  actual.forEach((f) => assertChecksums(f, what));
}

/** A configuration with one TCP service on VIP:80 (rr) and the first LIP; fields overridable. */
export function oneService(service: Partial<Service> = {}): DataPlaneConfig {
  return {
    localAddresses: [NET.lips[0]],
    services: [{
      vip: NET.vip,
      port: 80,
      protocol: "tcp",
      scheduler: "rr",
      reals: [],
      ...service,
    }],
  };
}

/**
 * Brings up the EAL (once per process: each test file runs in its own process) with an
 * in-memory test port (RX fed by `inject`, TX read by `collect`) and a data plane with two
 * workers on it, in test mode unless told otherwise. The clients' gateway and the real servers
 * are static neighbours, so no test depends on ARP timing.
 */
export function bringUp(
  opts: {
    testMode?: boolean;
    workers?: number;
    sessionsPerWorker?: number;
    synproxy?: DataPlaneOptions["synproxy"];
    /** More EAL virtual devices after net_null0 (e.g. a device whose name a test needs taken). */
    extraVdevs?: string[];
  } = {},
): DataPlane {
  const workers = opts.workers ?? 2;
  DataPlane.initEal({
    lcores: "0@0,1@0,2@1",
    noHuge: true,
    noPci: true,
    memoryMb: 256,
    vdevs: ["net_null0", ...(opts.extraVdevs ?? [])],
  });
  const port = DataPlane.createTestPort("fnat_test0", workers);
  return DataPlane.create({
    ports: [port],
    workers,
    sessionsPerWorker: opts.sessionsPerWorker ?? 65536,
    ...(opts.synproxy ? { synproxy: opts.synproxy } : {}),
    testMode: opts.testMode ?? true,
    portMacs: [NET.portMac],
    portAddresses: [`${PORT_IP}/24`],
    gateway: NET.gatewayIp,
    neighbours: [
      { address: NET.gatewayIp, mac: NET.gatewayMac },
      ...NET.reals.map((r) => ({ address: r.address, mac: r.mac })),
    ],
  });
}
