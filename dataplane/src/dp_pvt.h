/* Private structures of the data plane: the configuration snapshot, workers and the data plane
 * itself. Shared by the control side (dp.c, snapshot.c) and the packet path (worker.c). */
#ifndef FNAT_DP_PVT_H
#define FNAT_DP_PVT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "conn.h"
#include "fnat.h"
#include "sched.h"

#define FNAT_BURST 32
#define FNAT_TX_BUF 64
#define FNAT_LPORT_MIN 1024u
#define FNAT_NEIGH_SLOTS 1024u
#define FNAT_NEIGH_REACHABLE_MS 30000u /* an answered neighbour is used without asking again */
#define FNAT_NEIGH_PROBE_MS 5000u      /* then used while asked again; unanswered, it expires */
#define FNAT_ARP_RETRY_MS 1000u        /* one request per target per second per worker */
#define FNAT_ARP_ANSWER_MS 2000u       /* a reply answers a request sent this recently */
#define FNAT_ARP_ASKED_SETS 64u        /* requests remembered per worker: sets of 4 targets */
#define FNAT_ARP_ASKED_WAYS 4u
#define FNAT_DEFAULT_SESSIONS (1u << 20)
#define FNAT_CLOCK_START_MS 1000u /* the data plane's clock at start (0 stays "never") */
#define FNAT_SP_KEPT 16384u /* SYNPROXY ACKs kept per worker (the mbuf pool has room for them) */
/* The snapshot's address map: a value with FNAT_ADDR_LIP set is a LIP (its index in the low
 * bits); otherwise the index + 1 of a service on that VIP. */
#define FNAT_ADDR_LIP 0x8000u
#define FNAT_ADDR_INDEX 0x7fffu
/* Seeds of the snapshot's two open-addressing maps (any fixed values: not secret). */
#define FNAT_ADDR_MAP_SEED 0x5ca1ab1eu
#define FNAT_SVC_MAP_SEED 0xfeedu
#define FNAT_LIP_FOREIGN 0xffffu /* lip_id of an adopted session on another node's LIP */

/* ---- configuration snapshot (immutable once published) ---- */

struct fnat_svc {
	uint32_t vip;       /* network order */
	uint16_t port;      /* network order */
	uint8_t proto, sched;
	uint32_t flags;
	uint16_t id;        /* stable across snapshots while the service (or a session) lives */
	uint16_t pad;
	uint32_t first_real, n_reals; /* into fnat_snapshot.reals / sreals */
	uint32_t timeout_ms[FNAT_TO_MAX];
	uint16_t *maglev;   /* FNAT_MAGLEV_M entries (mh only) */
};

struct fnat_real {
	uint32_t addr;      /* network order */
	uint16_t port;      /* network order */
	uint32_t id;        /* stable id: counters and sessions refer to it */
	uint32_t weight;
};

struct fnat_lip {
	uint32_t addr;      /* network order */
	uint16_t id;        /* index into fnat_dp.lip_pools */
};

/* Scheduler state of one worker for one service (written by that worker only). */
struct fnat_sched_state {
	uint32_t rr_cursor;
	uint32_t pad;
	int64_t *wrr_cur;   /* n_reals entries */
} __rte_cache_aligned;

struct fnat_snapshot {
	uint32_t n_svcs, n_reals, n_lips, n_workers;
	struct fnat_svc *svcs;
	struct fnat_real *reals;
	struct sched_real *sreals;    /* the same reals in scheduler form */
	struct fnat_lip *lips;
	/* open-addressing maps, value = index + 1, 0 = empty */
	uint32_t svc_mask;
	uint16_t *svc_map;            /* (vip, port, proto) → service */
	uint32_t addr_mask;
	uint32_t *addr_keys;          /* VIPs and LIPs */
	uint16_t *addr_vals;          /* bit 15: LIP; else service index of any service + 1 */
	uint16_t svc_by_id[FNAT_MAX_SERVICES];  /* id → index + 1 */
	uint8_t real_live[FNAT_MAX_REALS];      /* id present in this snapshot */
	struct fnat_sched_state *sched;         /* [n_workers][n_svcs] */
	int64_t *wrr;                           /* [n_workers][n_reals] */
};

/* ---- LIP port slices ---- */

/* The free ports of one LIP that one worker owns: a FIFO (a port freed goes to the back, which
 * keeps a reused LIP:lport away from a real server's TIME_WAIT as long as possible). */
struct fnat_port_pool {
	uint32_t head, count, cap;
	uint16_t ports[];
};

/* ---- neighbours (ARP) ---- */

/* One slot; see neigh.c for the rules and the lock-free reading. */
struct fnat_neigh {
	uint32_t addr;      /* 0 = empty, UINT32_MAX = deleted; written after mac and stale_ms */
	uint32_t pad;
	uint64_t mac;       /* bit 63 valid, low 48 bits the MAC bytes; written atomically */
	uint64_t stale_ms;  /* dp clock from which it must be re-verified; UINT64_MAX: static */
};

enum neigh_state { NEIGH_NONE, NEIGH_STALE, NEIGH_REACHABLE };

/* Where worker 0 heard an address's MAC. */
enum neigh_source {
	NEIGH_ANSWER, /* a reply to a request of ours */
	NEIGH_CLAIM,  /* the sender of a request for one of our addresses */
	NEIGH_HEARD,  /* any other ARP message: nothing is learned from it */
};

/* What neigh_learn did. */
enum neigh_verdict {
	NEIGH_LEARNED,   /* a new entry */
	NEIGH_CONFIRMED, /* an answer confirmed the known MAC */
	NEIGH_KEPT,      /* nothing changed (the table is full only with neigh_refused counted) */
	NEIGH_CONFLICT,  /* another MAC for a static entry: ignored */
	NEIGH_RECHECK,   /* another MAC for a learned entry: kept, due for re-verification */
};

/* ---- session sync (sync.h) ---- */

struct fnat_sync_state;
struct fnat_sync_worker;

/* ---- workers ---- */

struct fnat_txq {
	uint16_t n;
	struct rte_mbuf *m[FNAT_TX_BUF];
};

/* A frame waiting for its next hop's ARP answer. */
struct fnat_arp_wait {
	struct rte_mbuf *m;
	uint32_t nh;
	uint64_t since_ms;
	uint16_t pidx;
};

struct fnat_worker {
	uint32_t id;
	struct fnat_dp *dp;
	struct fnat_conn_table ct;
	struct rte_ring *handoff;     /* packets other workers received for this one */
	struct fnat_txq txq[FNAT_MAX_PORTS];
	uint64_t now_ms;
	uint32_t scan_pos;
	uint32_t lip_cursor;
	uint64_t last_scan_ms;
	uint16_t ip_id;
	uint32_t idle_loops;
	/* next-hop MACs recently used (valid while the table's generation is unchanged and the
	 * clock is before until, when the entry must be re-verified) */
	struct {
		uint32_t addr;
		uint32_t gen;
		uint8_t mac[8];
		uint64_t until;
	} nh_cache[8];
	struct rte_mbuf *discard[2 * FNAT_BURST]; /* freed in bulk by output_discard_flush */
	uint32_t n_discard;
	struct fnat_arp_wait arp_wait[64];
	uint32_t arp_wait_n;
	/* ARP requests recently sent: (ms << 32 | target) words, written by this worker only;
	 * worker 0 reads them to tell answers from unsolicited replies (output.c) */
	uint64_t arp_asked[FNAT_ARP_ASKED_SETS * FNAT_ARP_ASKED_WAYS];
	uint64_t neigh_scan_ms; /* worker 0: the last expiry sweep of the neighbour table */
	struct fnat_worker_stats stats;
	struct fnat_traffic *svc_ctr; /* [FNAT_MAX_SERVICES] */
	struct fnat_traffic *rs_ctr;  /* [FNAT_MAX_REALS] */
	/* SYNPROXY: client ACKs kept while the real server's handshake runs (conn.aux = slot) */
	struct rte_mbuf **sp_kept;
	uint32_t *sp_free;
	uint32_t sp_free_n;
	/* a session listing the control thread asks for (dump.c); atomic */
	struct fnat_dump_req *dump_slot;
	/* session sync: records, the datagram being filled, peers (sync.c) */
	struct fnat_sync_worker *sync;
	/* Ports of this node's own LIPs in use elsewhere (a peer holds the session, or this
	 * worker adopted it): port_alloc skips them. One 8 KiB bitmap per LIP id, made on first
	 * use; NULL = none busy. */
	uint64_t *lport_busy[FNAT_MAX_LIPS];
} __rte_cache_aligned;

/* ---- the data plane ---- */

/* Stable ids. An id is `used` while the published snapshot has it (`live`) or, retired, while
 * sessions may still refer to it; see registry_prune() in snapshot.c. */
struct fnat_registry_svc {
	bool used, live;
	uint32_t vip;
	uint16_t port;
	uint8_t proto;
};

struct fnat_registry_real {
	bool used, live;
	uint16_t svc_id;
	uint32_t addr;
	uint16_t port;
};

struct fnat_dp {
	struct fnat_options opts;
	bool test_mode;
	bool running;
	uint32_t instance;            /* number of this data plane in the process (for names) */
	uint32_t n_workers;
	unsigned worker_lcore[FNAT_MAX_WORKERS];
	struct rte_mempool *pool;
	uint16_t rxq_count[FNAT_MAX_PORTS];
	uint8_t toa_kind;
	struct fnat_snapshot *snap;   /* published with release, read with acquire */
	struct rte_rcu_qsbr *qs;
	struct fnat_worker *workers[FNAT_MAX_WORKERS];
	volatile bool stop;
	/* clock */
	uint64_t tsc_hz, tsc_start;
	volatile uint64_t test_clock_ms;
	/* stable ids (control thread) */
	struct fnat_registry_svc reg_svc[FNAT_MAX_SERVICES];
	struct fnat_registry_real reg_real[FNAT_MAX_REALS];
	uint32_t lip_addr[FNAT_MAX_LIPS];              /* ever configured; never reused */
	uint32_t n_lip_ids;
	struct fnat_port_pool *lip_pools[FNAT_MAX_LIPS][FNAT_MAX_WORKERS];
	/* neighbours: worker 0 learns and expires them, everybody reads */
	struct fnat_neigh neigh[FNAT_NEIGH_SLOTS];
	uint32_t neigh_gen; /* bumped on every change: workers' next-hop caches compare it */
	/* client-side ICMP errors going round the workers: the mbuf field holding the worker that
	 * received it, and the ol_flags bit saying the field is set (icmp_arp.c) */
	int icmp_origin_off;
	uint64_t icmp_round_flag;
	/* ISN shift and syncookie master secrets (from getrandom) */
	uint64_t isn_key[2];
	uint64_t cookie_key[2];
	/* session sync: the configuration (RCU, NULL = off), stable peer slots, snapshot requests */
	struct fnat_sync_state *sync;
	uint32_t peer_slot_node[FNAT_MAX_PEERS]; /* node address of each slot; 0 = free */
	uint64_t sync_epoch;             /* this instance's start (ms since the Unix epoch) */
	uint32_t sync_req_id;            /* our latest request (fnat_sync_request) */
	uint32_t sync_req_gen;           /* bumped by fnat_sync_request; worker 0 sends it */
	uint32_t sync_sweep_gen;         /* bumped when a peer asks: every worker sweeps */
	uint32_t sync_sweep_req;         /* the request id that sweep answers */
	uint32_t sync_acting[FNAT_MAX_STANDBY]; /* standby LIPs whose traffic came here (0 = free) */
	uint32_t sync_takeover_gen;      /* bumped when one more LIP is acted for */
	/* the XDP filter of each af_xdp port (xdp_filter.c); on = our program is on the port */
	struct {
		bool on;
		int addrs_fd, conf_fd;
		uint32_t arp_sip; /* sender address of our ARP requests (a LIP); 0 = the port's */
	} xdp[FNAT_MAX_PORTS];
	/* test ports: rx rings to inject into, tx rings to collect from */
	struct rte_ring *test_rx[FNAT_MAX_PORTS][FNAT_MAX_WORKERS];
	struct rte_ring *test_tx[FNAT_MAX_PORTS][FNAT_MAX_WORKERS];
};

/* snapshot.c */
int snapshot_build(struct fnat_dp *dp, const struct fnat_service_conf *svcs, uint32_t n_svcs,
		   const struct fnat_real_conf *reals, uint32_t n_reals, const uint32_t *lips,
		   uint32_t n_lips, struct fnat_snapshot **out);
void snapshot_free(struct fnat_snapshot *s);
/* Bytes a snapshot holds (its arrays, maps, Maglev tables and per-worker scheduler state). */
size_t snapshot_bytes(const struct fnat_snapshot *s);
/* Publish a built snapshot and free the previous one once no worker reads it. */
void snapshot_publish(struct fnat_dp *dp, struct fnat_snapshot *next);
uint32_t snapshot_default_timeout_ms(unsigned which);

/* xdp_filter.c: the AF_XDP port's exception path (control thread, except arp_sip) */
/* Before an af_xdp port starts: our filter still on its interface belongs to a data plane that
 * died without closing the port (SIGKILL); one data plane per port, so it is removed (else
 * DPDK's attach refuses: "XDP program already attached"). Someone else's program stays. */
int xdp_filter_clear_stale(struct fnat_dp *dp, unsigned pidx);
int xdp_filter_attach(struct fnat_dp *dp, unsigned pidx);
int xdp_filter_update(struct fnat_dp *dp);
void xdp_filter_close(struct fnat_dp *dp);
/* Any thread: the sender address of the data plane's ARP requests on a port. */
uint32_t xdp_filter_arp_sip(const struct fnat_dp *dp, unsigned pidx);

/* worker.c */
int worker_loop(void *arg);
unsigned worker_poll_once(struct fnat_worker *w);
/* The data plane's clock in ms (the test clock in test mode). */
uint64_t worker_now_ms(const struct fnat_dp *dp);

/* output.c: the end of a poll */
void output_tx_flush(struct fnat_worker *w);
void output_arp_wait_flush(struct fnat_worker *w);
void output_discard_flush(struct fnat_worker *w);

/* dump.c: session listings. The control thread posts a request and collects it; the worker
 * serves it from its loop (dump_take + dump_finish). */
struct fnat_dump_req;
/** Copy up to cap of this worker's sessions (the worker, or anyone while it is stopped). */
uint32_t dump_sessions(struct fnat_worker *w, struct fnat_session_info *out, uint32_t cap);
/** Control: ask a worker for up to cap sessions; NULL when out of memory. The worker's slot must
 * be empty (every request is collected before the next is posted). */
struct fnat_dump_req *dump_post(struct fnat_worker *w, uint32_t cap);
/** Control: wait up to timeout_cycles for the worker's answer, copy it to out and free the
 * request; returns the count, or -ETIMEDOUT with out untouched (the request is then freed here
 * or by the worker; nothing writes into out later). */
int dump_collect(struct fnat_worker *w, struct fnat_dump_req *req, uint64_t timeout_cycles,
		 struct fnat_session_info *out);
/** Worker: the request posted to it, if any. */
struct fnat_dump_req *dump_take(struct fnat_worker *w);
/** Worker: fill a taken request and hand it back; false when the control thread had given up
 * (the request is freed then). */
bool dump_finish(struct fnat_worker *w, struct fnat_dump_req *req);
/** Worker: take and finish a posted request (once per loop). */
void dump_serve(struct fnat_worker *w);

/* dp.c: the rings behind a test port (benchmarks feed them directly, as a NIC would) */
struct rte_ring *dp_test_port_ring(uint16_t port, uint16_t queue, bool tx);

/* neigh.c */
/* The MAC of addr at now: REACHABLE (*fresh_until: when it must be re-verified), STALE (use
 * it, but ask again) or NONE (unknown or expired). Any thread. */
enum neigh_state neigh_lookup(const struct fnat_dp *dp, uint32_t addr, uint64_t now,
			      uint8_t mac[6], uint64_t *fresh_until);
/* A static entry (control thread, before the workers run). */
void neigh_add_static(struct fnat_dp *dp, uint32_t addr, const uint8_t mac[6]);
/* Worker 0: what an ARP message from addr with mac teaches; known receives the kept MAC for
 * NEIGH_RECHECK. Counts evictions and refusals. */
enum neigh_verdict neigh_learn(struct fnat_worker *w, uint32_t addr, const uint8_t mac[6],
			       enum neigh_source src, uint8_t known[6]);
/* Worker 0: remove expired entries (counted in neigh_expired). */
void neigh_expire_scan(struct fnat_worker *w);

/* Owner worker of a LIP port. */
static inline uint32_t
lport_owner(uint32_t n_workers, uint16_t port_host)
{
	return port_host % n_workers;
}

static inline const struct fnat_snapshot *
dp_snapshot(const struct fnat_dp *dp)
{
	return __atomic_load_n(&dp->snap, __ATOMIC_ACQUIRE);
}

/* Address lookup in a snapshot: 0 = not ours; FNAT_ADDR_LIP = a LIP (FNAT_ADDR_INDEX bits
 * its index); else any service index + 1 with this VIP. */
static inline uint16_t
snap_addr(const struct fnat_snapshot *s, uint32_t addr)
{
	uint32_t i = rte_hash_crc_4byte(addr, FNAT_ADDR_MAP_SEED) & s->addr_mask;
	for (;;) {
		if (s->addr_keys[i] == addr)
			return s->addr_vals[i];
		if (s->addr_keys[i] == 0)
			return 0;
		i = (i + 1) & s->addr_mask;
	}
}

static inline const struct fnat_svc *
snap_svc(const struct fnat_snapshot *s, uint32_t vip, uint16_t port, uint8_t proto)
{
	uint32_t i = rte_hash_crc_4byte(vip ^ ((uint32_t)port << 8 | proto), FNAT_SVC_MAP_SEED) & s->svc_mask;
	for (;;) {
		uint16_t v = s->svc_map[i];
		if (v == 0)
			return NULL;
		const struct fnat_svc *svc = &s->svcs[v - 1];
		if (svc->vip == vip && svc->port == port && svc->proto == proto)
			return svc;
		i = (i + 1) & s->svc_mask;
	}
}

#endif /* FNAT_DP_PVT_H */
