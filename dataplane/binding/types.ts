/**
 * Public types of the `DataPlane` class: options, counters and sessions as TypeScript sees them.
 * The wire structs they are converted from live in `codec.ts`.
 *
 * @module
 */

/** How to bring up DPDK's EAL (once per process). */
export interface EalOptions {
  /** Logical cores, e.g. "0-2" (the first is the control thread). Default "0". */
  lcores?: string;
  /** Memory in MiB (with `noHuge`). Default 256. */
  memoryMb?: number;
  /** Run without hugepages. Default: true when the machine has none. */
  noHuge?: boolean;
  /** Virtual devices, e.g. "net_ring0", "net_af_packet0,iface=veth0". */
  vdevs?: string[];
  /** Skip PCI probing (tests, virtual ports only). Default false. */
  noPci?: boolean;
  /** More raw EAL arguments, appended last. */
  extra?: string[];
}

/** A static neighbour: the MAC for a next-hop address (skips ARP for it). */
export interface Neighbour {
  address: string;
  mac: string;
}

/** How to create a data plane on ports. */
export interface DataPlaneOptions {
  /** DPDK port ids; one port is one-arm (clients and real servers on the same link). */
  ports: number[];
  /** Worker lcores (1..N). */
  workers: number;
  /** Set each port's MAC (virtual ports; real NICs keep theirs when absent). */
  portMacs?: string[];
  /** The node's own IPv4 address on each port with its on-link prefix, e.g. "10.0.0.2/24"
   * (source of ARP requests; destinations inside the prefix are resolved directly). */
  portAddresses?: string[];
  /** IP MTU of the ports (default 1500). */
  mtu?: number;
  /** Where to send traffic for addresses not on the link (the clients' side). */
  gateway?: string;
  /** Static next hops. */
  neighbours?: Neighbour[];
  /** Maximum sessions per worker (memory is bounded by it). */
  sessionsPerWorker?: number;
  /** TCP option kind used for TOA (default 254; the original kernel module used 200). */
  toaKind?: number;
  /** What SYNPROXY's SYN-ACKs announce: TTL (default 64), window scale (default 7; null: none,
   * then neither side scales), largest MSS (default: the port MTU less headers and TOA). */
  synproxy?: { ttl?: number; windowScale?: number | null; maxMss?: number };
  /** Test mode: no worker threads; the test drives them with `poll()` and a manual clock. */
  testMode?: boolean;
}

/** Packets, bytes and sessions of one scope (worker, service or real server). */
export interface TrafficCounters {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  sessionsNew: number;
  sessionsActive: number;
}

/** One worker's counters. */
export interface WorkerStats extends TrafficCounters {
  worker: number;
  /** Packets received for another worker's session and handed to it through a ring. */
  handoffsOut: number;
  handoffsIn: number;
  toaInserted: number;
  toaFailed: number;
  /** Client segments that carried a TOA of their own: replaced or overwritten, never passed on. */
  toaForged: number;
  synCookiesSent: number;
  synCookiesValid: number;
  synCookiesInvalid: number;
  synproxyRsRetransmits: number;
  synproxyRsFailures: number;
  arpReplies: number;
  icmpTranslated: number;
  /** Frames for neither a VIP nor a LIP (the kernel's, on af_packet). */
  ignored: number;
  /** Of `sessionsActive`, those in TIME_WAIT or CLOSE (IPVS's InActConn). */
  sessionsClosing: number;
  /** ARP replies to no request of ours (not learned). */
  arpUnsolicited: number;
  /** ARP messages claiming another MAC for a known neighbour (re-verified, not learned) or
   * claiming one of our addresses. */
  arpConflicts: number;
  /** Learned neighbours forgotten after they stopped answering. */
  neighExpired: number;
  /** Learned neighbours pushed out of a full table. */
  neighEvicted: number;
  /** Request senders not learned because the table was full of verified neighbours. */
  neighRefused: number;
  /** Ownership records this worker sent (each to every peer). */
  syncRecordsSent: number;
  /** Sync datagrams this worker sent (one per peer). */
  syncDatagramsSent: number;
  /** Peers' records applied to this worker's record table. */
  syncRecordsReceived: number;
  /** Verified sync datagrams this worker took from the port. */
  syncDatagramsReceived: number;
  /** Sync datagrams missing in a peer's sequence (healed by the periodic refresh). */
  syncLost: number;
  /** Peers' sessions this worker holds records of. */
  recordsActive: number;
  /** Records refused because the record table was full. */
  recordsFull: number;
  /** Records dropped because their owner stopped refreshing them. */
  recordsExpired: number;
  /** Client frames forwarded to the peer that owns their session. */
  forwardedOut: number;
  /** Frames a peer forwarded to this node. */
  forwardedIn: number;
  /** Sessions taken over from a peer's records (a LIP this node stands by for, or its own LIP
   * handed back). */
  sessionsAdopted: number;
  /** Drops by reason (names as the library reports them). */
  drops: Record<string, number>;
}

/** One real server's counters. */
export interface RealStats extends TrafficCounters {
  address: string;
  port: number;
  weight: number;
}

/** One service's counters, with its real servers. */
export interface ServiceStats extends TrafficCounters {
  vip: string;
  port: number;
  protocol: "tcp" | "udp";
  reals: RealStats[];
}

/** Everything, read in one FFI call. `drops` sums the workers'. */
export interface DataPlaneStats {
  workers: WorkerStats[];
  services: ServiceStats[];
  drops: Record<string, number>;
}

/** TCP states (IPVS names) plus `udp` for UDP sessions. */
export type SessionState =
  | "none"
  | "syn_sent"
  | "syn_recv"
  | "established"
  | "fin_wait"
  | "close_wait"
  | "last_ack"
  | "time_wait"
  | "close"
  | "udp";

/** One session as listed by `sessions()`. */
export interface Session {
  worker: number;
  protocol: "tcp" | "udp";
  state: SessionState;
  clientAddress: string;
  clientPort: number;
  vip: string;
  vport: number;
  localAddress: string;
  localPort: number;
  realAddress: string;
  realPort: number;
  /** Seconds until expiry. */
  expiresIn: number;
}

/** What this node knows of one peer (session sync). */
export interface PeerStats {
  /** The peer's node address. */
  node: string;
  /** Of the peer's workers, how many finished answering this node's last snapshot request. */
  snapshotWorkers: number;
  /** The peer's worker count (0 until it was heard). */
  peerWorkers: number;
  datagramsReceived: number;
  recordsReceived: number;
  /** Frames this node forwarded to the peer (the peer owns their sessions). */
  forwardedOut: number;
  /** Frames the peer forwarded to this node. */
  forwardedIn: number;
  /** The data plane clock (ms) of its last datagram; 0 = never heard. */
  lastHeardMs: number;
}
