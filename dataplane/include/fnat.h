/**
 * @file fnat.h
 * libfnat: a DPDK FULLNAT data plane. The one public header.
 *
 * Threads: one control thread (the caller of every function here, e.g. the agent's Deno thread
 * through FFI) and N worker lcores that run the packet path without locks. Unless a function
 * says otherwise it is NOT multi-thread safe and must be called from the control thread.
 *
 * Conventions: control calls return 0 or a negative errno; calls that cannot fail return void or
 * a value. Addresses are IPv4 in network byte order (`uint32_t` holding the wire bytes); ports
 * are host order. Every struct below crosses the FFI seam: `fnat_abi()` describes their layout
 * and a Deno test pins it against `dataplane/binding/wire.ts`.
 */
#ifndef FNAT_H
#define FNAT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libfnat is built with -fvisibility=hidden: only what this header declares is exported. */
#pragma GCC visibility push(default)

#define FNAT_MAX_PORTS 4        /**< ports per data plane */
#define FNAT_MAX_WORKERS 16     /**< worker lcores per data plane */
#define FNAT_MAX_NEIGH_CONF 64  /**< static neighbours in fnat_options */
#define FNAT_MAX_SERVICES 16384 /**< services per snapshot (and live service ids) */
#define FNAT_MAX_REALS 131072   /**< real servers per snapshot (and live real-server ids; ids
				 * of removed ones are held while their sessions last) */
#define FNAT_MAX_LIPS 1024      /**< local addresses per snapshot */
#define FNAT_MAX_PEERS 32       /**< other nodes a data plane syncs sessions with */
#define FNAT_MAX_STANDBY 64     /**< other nodes' LIPs a data plane stands by for */

/** fnat_options.flags */
#define FNAT_OPT_F_TEST_MODE (1u << 0) /**< no worker threads: fnat_poll() drives them */

/** Transport protocols (IP protocol numbers). */
#define FNAT_PROTO_TCP 6
#define FNAT_PROTO_UDP 17

/** Schedulers, in the order of dataplane/binding/config.ts SCHEDULERS. */
enum fnat_sched {
	FNAT_SCHED_RR = 0,  /**< round robin over reals with weight > 0 */
	FNAT_SCHED_WRR = 1, /**< smooth weighted round robin */
	FNAT_SCHED_WLC = 2, /**< weighted least connections (the worker's own sessions) */
	FNAT_SCHED_MH = 3,  /**< Maglev consistent hashing, identical tables on every node */
	FNAT_SCHED_MAX
};

/** fnat_service_conf.flags */
#define FNAT_SVC_F_TOA (1u << 0)             /**< insert the client address as a TCP option */
#define FNAT_SVC_F_STRIP_TS (1u << 1)        /**< strip TCP timestamps from the client's SYN */
#define FNAT_SVC_F_EXPIRE_ON_REMOVE (1u << 2) /**< expire sessions of a removed real server */
#define FNAT_SVC_F_SYNPROXY (1u << 3)        /**< answer SYNs with syncookies (SYNPROXY) */

/** Per-state timeouts, seconds; 0 = the IPVS-like default. Index of fnat_service_conf.timeouts. */
enum fnat_timeout {
	FNAT_TO_SYN_SENT,
	FNAT_TO_SYN_RECV,
	FNAT_TO_ESTABLISHED,
	FNAT_TO_FIN_WAIT,
	FNAT_TO_CLOSE_WAIT,
	FNAT_TO_LAST_ACK,
	FNAT_TO_TIME_WAIT,
	FNAT_TO_CLOSE,
	FNAT_TO_UDP,
	FNAT_TO_MAX
};

/** Session states as fnat_session_info.state reports them. */
enum fnat_state {
	FNAT_S_NONE,
	FNAT_S_SYN_SENT,
	FNAT_S_SYN_RECV,
	FNAT_S_ESTABLISHED,
	FNAT_S_FIN_WAIT,
	FNAT_S_CLOSE_WAIT,
	FNAT_S_LAST_ACK,
	FNAT_S_TIME_WAIT,
	FNAT_S_CLOSE,
	FNAT_S_UDP,
	FNAT_S_MAX
};

/** Drop reasons: the index of fnat_worker_stats.drops; names from fnat_drop_name(). */
enum fnat_drop {
	FNAT_DROP_TRUNCATED_ETHERNET,
	FNAT_DROP_TRUNCATED_IPV4,
	FNAT_DROP_BAD_IPV4_VERSION,
	FNAT_DROP_BAD_IPV4_IHL,
	FNAT_DROP_BAD_IPV4_TOTAL_LENGTH,
	FNAT_DROP_BAD_IPV4_CHECKSUM,
	FNAT_DROP_IPV4_OPTIONS,
	FNAT_DROP_IPV4_FRAGMENT,
	FNAT_DROP_TRUNCATED_TCP,
	FNAT_DROP_BAD_TCP_DATA_OFFSET,
	FNAT_DROP_TCP_OPTIONS_OVERRUN,
	FNAT_DROP_BAD_TCP_CHECKSUM,
	FNAT_DROP_TRUNCATED_UDP,
	FNAT_DROP_BAD_UDP_LENGTH,
	FNAT_DROP_BAD_UDP_CHECKSUM,
	FNAT_DROP_BAD_ICMP,          /**< ICMP too short or with a bad checksum */
	FNAT_DROP_BAD_ARP,           /**< ARP that is not Ethernet/IPv4 or too short */
	FNAT_DROP_NO_SERVICE,        /**< TCP/UDP to a VIP port without a service */
	FNAT_DROP_NO_SESSION,        /**< a non-SYN to a VIP, or a reply to a LIP, without session */
	FNAT_DROP_NO_REAL,           /**< no real server with weight > 0 */
	FNAT_DROP_TABLE_FULL,        /**< the worker's session table refused a new flow */
	FNAT_DROP_NO_LOCAL_PORT,     /**< the worker's slice of every LIP's ports is in use */
	FNAT_DROP_NEIGH_UNRESOLVED,  /**< next hop without a MAC yet (an ARP request was sent) */
	FNAT_DROP_TTL_EXCEEDED,
	FNAT_DROP_HANDOFF_FULL,      /**< the owner worker's ring was full */
	FNAT_DROP_TX_FULL,           /**< the port's TX queue did not take the frame */
	FNAT_DROP_TOO_BIG,           /**< a frame that would exceed the MTU after rewriting */
	FNAT_DROP_SYNPROXY_BAD_ACK,  /**< an ACK whose cookie does not validate */
	FNAT_DROP_SYNPROXY_ACK_STORM,
	FNAT_DROP_SYNPROXY_KEPT_FULL, /**< a valid cookie ACK refused: the worker already keeps as
				       * many ACKs for unanswered real servers as the mbuf pool
				       * holds room for (the client retransmits) */
	FNAT_DROP_SYNC_MALFORMED,    /**< a sync datagram of a wrong version, type or length */
	FNAT_DROP_SYNC_AUTH,         /**< a sync datagram whose MAC does not verify (or no sync) */
	FNAT_DROP_SYNC_REPLAY,       /**< a sync datagram older than one already taken (replay) */
	FNAT_DROP_FORWARDED_NO_SESSION, /**< a frame a peer forwarded here, without a session:
					 * never forwarded again (loop guard) */
	FNAT_DROP_MAX
};

/** A static neighbour: the MAC for an address (skips ARP for it). */
struct fnat_neigh_conf {
	uint32_t addr;  /**< network order */
	uint8_t mac[6];
	uint8_t pad[2];
};

/** A data-plane port. */
struct fnat_port_conf {
	uint16_t port_id;   /**< DPDK port id */
	uint8_t set_mac;    /**< 1: program mac[] into the port */
	uint8_t prefix_len; /**< length of the port's on-link prefix (0: only neighbours are on-link) */
	uint8_t mac[6];
	uint16_t mtu;       /**< 0 = 1500 */
	uint32_t addr;      /**< the node's own address on this port (network order; ARP source) */
};

/** How to create a data plane. */
struct fnat_options {
	uint32_t flags;               /**< FNAT_OPT_F_* */
	uint32_t n_workers;           /**< 1..FNAT_MAX_WORKERS */
	uint32_t sessions_per_worker; /**< session table size of each worker; 0 = 1 Mi */
	uint32_t n_ports;             /**< 1..FNAT_MAX_PORTS */
	struct fnat_port_conf ports[FNAT_MAX_PORTS];
	uint32_t gateway;             /**< next hop for off-link destinations (network order) */
	uint8_t toa_kind;             /**< TCP option kind of TOA; 0 = 254 */
	uint8_t sp_ttl;               /**< SYNPROXY: TTL of the SYN-ACK; 0 = 64 */
	uint8_t sp_wscale;            /**< SYNPROXY: window scale announced; 0 = 7, 15 = none */
	uint8_t pad;
	uint16_t sp_mss;              /**< SYNPROXY: largest MSS announced; 0 = from the MTU */
	uint16_t pad2;
	uint32_t n_neigh;
	struct fnat_neigh_conf neigh[FNAT_MAX_NEIGH_CONF];
};

/** One service of a configuration snapshot; its reals are reals[first_real .. +n_reals). */
struct fnat_service_conf {
	uint32_t vip;       /**< network order */
	uint16_t port;
	uint8_t proto;      /**< FNAT_PROTO_TCP or FNAT_PROTO_UDP */
	uint8_t sched;      /**< enum fnat_sched */
	uint32_t flags;     /**< FNAT_SVC_F_* */
	uint32_t first_real;
	uint32_t n_reals;
	uint32_t timeouts[FNAT_TO_MAX]; /**< seconds, 0 = default */
};

/** One real server. */
struct fnat_real_conf {
	uint32_t addr;   /**< network order */
	uint16_t port;
	uint16_t pad;
	uint32_t weight; /**< 0..65535; 0 = no new sessions */
};

/** Packets, bytes and sessions of one scope. */
struct fnat_traffic {
	uint64_t pkts_in;  /**< client → real server */
	uint64_t pkts_out; /**< real server → client */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t sessions_new;
	uint64_t sessions_active;
};

/** One worker's counters. */
struct fnat_worker_stats {
	struct fnat_traffic traffic;
	uint64_t handoffs_out; /**< packets passed to their owner worker */
	uint64_t handoffs_in;
	uint64_t toa_inserted;
	uint64_t toa_failed;
	uint64_t toa_forged; /**< client segments with an option of the TOA kind (never passed on) */
	uint64_t syncookies_sent;
	uint64_t syncookies_valid;
	uint64_t syncookies_invalid;
	uint64_t synproxy_rs_retransmits;
	uint64_t synproxy_rs_failures;
	uint64_t arp_replies;
	uint64_t icmp_translated;
	uint64_t ignored; /**< frames not for a VIP or LIP (left to the kernel on af_packet) */
	uint64_t sessions_closing; /**< of traffic.sessions_active: in TIME_WAIT or CLOSE (IPVS's InActConn) */
	uint64_t arp_unsolicited;  /**< ARP replies to no request of ours (not learned) */
	uint64_t arp_conflicts;    /**< ARP claiming another MAC for a neighbour, or our address */
	uint64_t neigh_expired;    /**< learned neighbours that stopped answering */
	uint64_t neigh_evicted;    /**< learned neighbours pushed out of a full table */
	uint64_t neigh_refused;    /**< request senders not learned: table full of verified ones */
	uint64_t sync_records_sent;      /**< ownership records this worker sent (to every peer) */
	uint64_t sync_datagrams_sent;    /**< datagrams (one per peer) */
	uint64_t sync_records_received;  /**< records applied to this worker's record table */
	uint64_t sync_datagrams_received; /**< verified datagrams this worker took from the port */
	uint64_t sync_lost;              /**< datagrams missing in a peer's sequence */
	uint64_t records_active;         /**< peers' sessions this worker holds records of */
	uint64_t records_full;           /**< records refused: the record table was full */
	uint64_t records_expired;        /**< records whose owner stopped refreshing them */
	uint64_t forwarded_out;          /**< client frames sent on to the session's owner */
	uint64_t forwarded_in;           /**< frames a peer forwarded here */
	uint64_t sessions_adopted;       /**< sessions taken over from a peer's records (a LIP this
					  * node stands by for, or its own LIP handed back) */
	uint64_t drops[FNAT_DROP_MAX];
};

/** One service's counters (summed over workers); its reals follow in the reals array. */
struct fnat_service_stats {
	struct fnat_traffic traffic;
	uint32_t vip;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
	uint32_t first_real;
	uint32_t n_reals;
};

/** One real server's counters (summed over workers). */
struct fnat_real_stats {
	struct fnat_traffic traffic;
	uint32_t addr;
	uint16_t port;
	uint16_t pad;
	uint32_t weight;
	uint32_t pad2;
};

/** One session as fnat_sessions() lists it. */
struct fnat_session_info {
	uint32_t caddr, vaddr, laddr, raddr; /**< network order */
	uint16_t cport, vport, lport, rport;
	uint8_t proto;
	uint8_t state;   /**< enum fnat_state */
	uint16_t worker;
	uint32_t expires_in_ms;
};

/** Another node of the cluster, for session sync and forwarding. */
struct fnat_sync_peer {
	uint32_t node; /**< its address on the segment (network order): owner id, L2 next hop */
	uint32_t addr; /**< where its data plane takes sync datagrams: one of its LIPs */
};

/** A LIP of another node that this node stands by for: it holds the owner's sessions in full
 * and, when the router sends it that LIP's traffic (the owner's routes are gone), carries them
 * on as the owner did. */
struct fnat_sync_standby {
	uint32_t lip;   /**< network order */
	uint32_t owner; /**< the owner's node address (network order) */
};

/**
 * Session sync (connection continuity): this node's identity, the cluster secret and its
 * peers. Every session this node creates is announced to every peer in an ownership record
 * (UDP from `addr` to each peer's `addr`, many records per datagram, MAC'd with `key`), and
 * withdrawn when it ends; a client frame for a VIP with no local session but a peer's record
 * is forwarded unchanged to the owner at layer 2.
 */
struct fnat_sync_conf {
	uint32_t node;          /**< this node's address (network order); 0 = sync off */
	uint32_t addr;          /**< this node's sync address (one of its LIPs) */
	uint16_t port;          /**< UDP port of sync datagrams, 1..1023 (never a LIP port); 0 = 1000 */
	uint16_t pad;
	uint32_t refresh_ms;    /**< every live session is announced again this often; 0 = 10000 */
	uint32_t flush_us;      /**< a part-filled datagram leaves after this long; 0 = 2000 */
	uint32_t records_per_worker; /**< record table size; 0 = sessions_per_worker (fixed
				      * at the first fnat_sync_set that enables sync) */
	uint8_t key[16];        /**< the cluster secret (SipHash-2-4 key of the datagrams' MAC) */
	uint32_t n_peers;
	struct fnat_sync_peer peers[FNAT_MAX_PEERS];
	uint32_t n_standby;
	struct fnat_sync_standby standby[FNAT_MAX_STANDBY];
};

/** What this node knows of one peer (summed over workers). */
struct fnat_peer_stats {
	uint32_t node;                /**< network order */
	uint32_t snapshot_workers;    /**< of the peer's workers, how many finished answering this
				       * node's last fnat_sync_request() */
	uint32_t peer_workers;        /**< the peer's worker count (0 until it was heard) */
	uint32_t pad;
	uint64_t datagrams_received;
	uint64_t records_received;
	uint64_t forwarded_out;       /**< frames this node forwarded to the peer */
	uint64_t forwarded_in;        /**< frames the peer forwarded to this node */
	uint64_t last_heard_ms;       /**< data plane clock of its last datagram; 0 = never */
};

/** The data plane (opaque). */
struct fnat_dp;

/** Library version string, e.g. "0.2.0". Any thread; never fails. */
const char *fnat_version(void);

/**
 * Initialise DPDK's EAL once for this process.
 *
 * @param argc  number of entries in argv (argv[0] is the program name)
 * @param argv  EAL arguments, e.g. {"fnat", "--no-huge", "--vdev=net_null0"}
 * @return 0 on success; -EALREADY if the EAL is already initialised in this process;
 *         -EINVAL on a bad argument; another -errno from rte_eal_init otherwise.
 * Thread: the control thread only; NOT multi-thread safe.
 */
int fnat_eal_init(int argc, char **argv);

/**
 * Number of DPDK ethernet ports available after fnat_eal_init().
 * @return the count (0 when the EAL is not initialised). Control thread only.
 */
uint16_t fnat_port_count(void);

/**
 * Create an in-memory test port whose RX queues are fed by fnat_inject() and whose TX queues are
 * drained by fnat_collect() (two separate rings per queue, unlike net_ring's loopback).
 *
 * @param name    a unique device name, 1 to 19 characters
 * @param queues  queue pairs (one per worker), 1..FNAT_MAX_WORKERS
 * @return the new port id (>= 0); -EINVAL on a bad argument; -ENOMEM; -EEXIST for a used name.
 *         A failed create leaves nothing behind (it can be retried).
 * Thread: control thread, after fnat_eal_init().
 */
int fnat_test_port_create(const char *name, uint16_t queues);

/**
 * Create the data plane: configure and start the ports (one RX and one TX queue per worker),
 * allocate every worker's session table (memory is bounded by sessions_per_worker) and install
 * an empty configuration. Workers do not run until fnat_start().
 *
 * @param opts  options; copied
 * @param out   receives the handle
 * @return 0; -EINVAL for bad options (bad port id, workers out of range, too few lcores or
 *         TX queues); -ENOMEM; -EBUSY if a data plane already exists in this process;
 *         another -errno from the port setup.
 * Thread: control thread.
 */
int fnat_create(const struct fnat_options *opts, struct fnat_dp **out);

/**
 * Launch the worker lcores (not in test mode).
 * @return 0; -EALREADY when running; -EINVAL in test mode; -errno from rte_eal_remote_launch.
 * Thread: control thread.
 */
int fnat_start(struct fnat_dp *dp);

/**
 * Stop the workers and wait for them to return.
 * @return 0; -EALREADY when not running. Thread: control thread.
 */
int fnat_stop(struct fnat_dp *dp);

/**
 * Stop and free everything, ports included. Thread: control thread.
 */
void fnat_destroy(struct fnat_dp *dp);

/**
 * Apply a configuration snapshot: build it, publish it with one atomic pointer swap, and free
 * the previous one after every worker passed a quiescent state. Sessions survive: those of a
 * removed real server continue (or expire at once with FNAT_SVC_F_EXPIRE_ON_REMOVE).
 *
 * @return 0; -EINVAL for a bad snapshot (unknown protocol or scheduler, real range out of
 *         bounds, duplicate service, zero address or port, services without LIPs); -E2BIG above
 *         the FNAT_MAX_* limits; -ENOMEM. On error the running snapshot is untouched.
 * Thread: control thread. Lock-free for the workers.
 */
int fnat_apply(struct fnat_dp *dp, const struct fnat_service_conf *svcs, uint32_t n_svcs,
	       const struct fnat_real_conf *reals, uint32_t n_reals, const uint32_t *lips,
	       uint32_t n_lips);

/**
 * Read every counter in one call: per worker, per service of the running snapshot and per real
 * server (in snapshot order). Counts written are returned through n_out[3] = {workers, services,
 * reals}.
 * @return 0; -ENOSPC when an array is too small (n_out still says how many are needed).
 * Thread: control thread; reads relaxed counters the workers write.
 */
int fnat_stats(struct fnat_dp *dp, struct fnat_worker_stats *w, uint32_t w_cap,
	       struct fnat_service_stats *s, uint32_t s_cap, struct fnat_real_stats *r,
	       uint32_t r_cap, uint32_t *n_out);

/** Number of live sessions over all workers. Thread: control thread. */
uint64_t fnat_session_count(struct fnat_dp *dp);

/**
 * List up to cap sessions. With running workers each worker copies its own table at its next
 * loop (a consistent view per worker) into a buffer of its own, which is copied to out; in test
 * mode the tables are read directly. Nothing writes into out after the call returns.
 * @return the number written (>= 0); -ETIMEDOUT when a worker did not answer in 1 s (out then
 *         holds the sessions of the workers before it); -ENOMEM.
 * Thread: control thread.
 */
int fnat_sessions(struct fnat_dp *dp, struct fnat_session_info *out, uint32_t cap);

/**
 * Which worker owns a LIP port (replies to it are processed there).
 * @return the worker index; -EINVAL for port 0. Any thread.
 */
int fnat_lip_owner(struct fnat_dp *dp, uint32_t lip, uint16_t port);

/** Name of a drop reason ("bad_tcp_checksum"), or NULL past FNAT_DROP_MAX. Any thread. */
const char *fnat_drop_name(uint32_t reason);

/**
 * Test entry: put one raw Ethernet frame on a test port's RX queue.
 * @return 0; -EINVAL (not a test port, bad queue, len 0 or > 9000); -ENOBUFS (ring or pool full).
 * Thread: control thread.
 */
int fnat_inject(struct fnat_dp *dp, uint16_t port, uint16_t queue, const uint8_t *frame,
		uint32_t len);

/**
 * Test mode: run one iteration of a worker on the calling thread (RX of its queues, its
 * handoff ring, its expiry scan, TX flush).
 * @return packets processed (>= 0); -EINVAL (bad worker, not test mode). Thread: control thread.
 */
int fnat_poll(struct fnat_dp *dp, uint32_t worker);

/**
 * Test entry: take the frames a test port transmitted, in order, packed back to back in buf.
 * @return the number of frames (>= 0), lens[i] each; -EINVAL when not a test port.
 * Thread: control thread.
 */
int fnat_collect(struct fnat_dp *dp, uint16_t port, uint8_t *buf, uint32_t cap, uint32_t *lens,
		 uint32_t max);

/**
 * Test mode: advance the data plane's clock (session expiry, cookies, ISN shift, neighbour
 * re-verification and expiry) by ns nanoseconds.
 * Thread: control thread.
 */
void fnat_clock_advance(struct fnat_dp *dp, uint64_t ns);

/**
 * Set (or change, or with node 0 turn off) session sync: published to the workers like a
 * snapshot. The first call that enables it allocates each worker's record table.
 * @return 0; -EINVAL (sync address or port 0 with a node, more than FNAT_MAX_PEERS peers, a peer
 *         with a zero address, port >= 1024); -ENOMEM.
 * Thread: control thread. Lock-free for the workers.
 */
int fnat_sync_set(struct fnat_dp *dp, const struct fnat_sync_conf *conf);

/**
 * Ask every peer for a full snapshot of its sessions (a node that joins or restarts does this
 * before it announces its VIPs); fnat_sync_status() counts the answers.
 * @return 0; -ENOTCONN when sync is off. Thread: control thread.
 */
int fnat_sync_request(struct fnat_dp *dp);

/**
 * Take over a standby LIP now: its owner is gone (the node's agent saw the owner's routes
 * vanish). Every session of that LIP this node holds a record of is carried on from here, and
 * the peers are told; also happens by itself on the first real-server frame the router sends
 * here for the LIP.
 * @return 0; -ENOTCONN when sync is off; -ENOENT when lip is not one this node stands by for.
 * Thread: control thread.
 */
int fnat_sync_take_over(struct fnat_dp *dp, uint32_t lip);

/**
 * Per peer: snapshot answers, datagrams and records received, frames forwarded each way.
 * @return the number of peers written (<= cap); -ENOTCONN when sync is off.
 * Thread: control thread; reads relaxed counters the workers write.
 */
int fnat_sync_status(struct fnat_dp *dp, struct fnat_peer_stats *out, uint32_t cap);

/**
 * Describe every struct that crosses the FFI seam as JSON:
 * {"structs": {"fnat_options": {"size": N, "align": N, "fields": {"flags": [offset, size], ...}}}}
 * @return the JSON length written (without NUL); -ENOSPC when cap is too small. Any thread.
 */
int fnat_abi(char *buf, uint32_t cap);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* FNAT_H */
