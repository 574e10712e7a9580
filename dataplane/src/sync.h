/* Session sync between nodes (connection continuity, DESIGN.md section 9): ownership records
 * sent by the workers over the node's port, a per-worker table of the peers' records, and
 * forwarding of client frames to the node that owns their session.
 *
 * Wire format (version 1), the UDP payload of a sync datagram, all fields network order:
 *
 *   header (32 bytes)  magic "FNSY", version, type, sender worker, sender node address,
 *                      sender's worker count, record count, epoch (the sender's start, ms since
 *                      the Unix epoch), sequence number (per sender worker), argument
 *   records            count × (op, len, ...): `len` is the record's own length, so a newer
 *                      sender may append fields (full session state, part 2) that an older
 *                      receiver skips
 *   MAC (8 bytes)      SipHash-2-4 under the cluster secret over header and records
 *
 * A receiver takes a datagram only from a configured peer, with a valid MAC, and only if it is
 * newer than the last one of that sender worker's stream (epoch, then sequence): forged and
 * replayed datagrams are dropped and counted. Worker threads, except where noted. */
#ifndef FNAT_SYNC_H
#define FNAT_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "conn.h"
#include "dp_pvt.h"

#define FNAT_SYNC_MAGIC 0x464e5359u /* "FNSY" */
#define FNAT_SYNC_VERSION 1
#define FNAT_SYNC_PORT_DEFAULT 1000
#define FNAT_SYNC_REFRESH_MS_DEFAULT 10000u
#define FNAT_SYNC_FLUSH_US_DEFAULT 2000u
#define FNAT_SYNC_MAC_LEN 8
/* Records per datagram: the payload stays below 1,400 bytes, so a datagram never needs
 * fragmenting on a 1,500-byte segment. */
#define FNAT_SYNC_MAX_RECORDS 21
/* A receiver keeps a record this many refresh periods without hearing it again. */
#define FNAT_SYNC_RECORD_LIFETIMES 3

enum fnat_sync_type {
	FNAT_SYNC_T_RECORDS = 1, /* ownership records */
	FNAT_SYNC_T_REQUEST = 2, /* "send me every session you own" (arg: request id) */
	FNAT_SYNC_T_END = 3,     /* this worker has sent all it owns (arg: the request answered) */
};

enum fnat_sync_op {
	FNAT_SYNC_OP_ADD = 1, /* the sender owns this session (created, or refreshed) */
	FNAT_SYNC_OP_DEL = 2, /* the session ended */
};

struct fnat_sync_hdr {
	uint32_t magic;
	uint8_t version;
	uint8_t type;
	uint16_t worker;
	uint32_t node;
	uint16_t n_workers;
	uint16_t count;
	uint64_t epoch;
	uint32_t seq;
	uint32_t arg;
} __rte_packed;
_Static_assert(sizeof(struct fnat_sync_hdr) == 32, "the sync header is 32 bytes on the wire");

/* One record (version 1: 64 bytes; addresses and ports as on the wire, numbers network order):
 * the ownership part, then the full state another node needs to carry the connection on when
 * it takes the LIP over (the ISN shift, the SYNPROXY and timestamp deltas, the client's
 * sequence position for RSTs, TOA still pending or not, the session's remaining timeout). */
struct fnat_sync_rec {
	uint8_t op;
	uint8_t len;
	uint8_t proto;
	uint8_t state;
	uint32_t caddr, vaddr;
	uint16_t cport, vport;
	uint32_t laddr;
	uint16_t lport, rport;
	uint32_t raddr;
	uint32_t owner;  /* the owner's node address */
	uint32_t ttl_ms; /* how long to keep it without a refresh */
	/* full state */
	uint32_t seq_delta;
	uint32_t c_seq_end;
	uint32_t c_ack;
	uint32_t sp_delta;
	uint32_t ts_delta;
	uint32_t expire_in_ms; /* the session's own remaining timeout */
	uint8_t flags;         /* FNAT_CONN_F_* */
	uint8_t dup_acks;
	uint16_t pad;
} __rte_packed;
_Static_assert(sizeof(struct fnat_sync_rec) == 64, "a version 1 record is 64 bytes");
/* The ownership part: what a receiver needs at the least (a shorter record is malformed). */
#define FNAT_SYNC_REC_MIN 36

#define FNAT_SYNC_PAYLOAD_MAX                                                              \
	(sizeof(struct fnat_sync_hdr) + FNAT_SYNC_MAX_RECORDS * sizeof(struct fnat_sync_rec) + \
	 FNAT_SYNC_MAC_LEN)

/* The configuration the workers read (published under RCU like a snapshot). */
struct fnat_sync_state {
	struct fnat_sync_conf conf;
	uint64_t key[2];
	uint16_t port_be;
	uint32_t refresh_ms, flush_ms, record_ttl_ms;
	uint8_t slot[FNAT_MAX_PEERS]; /* conf.peers[i] → peer slot (stable per node address) */
};

/* One sender worker's stream, as a receiving worker last took it. */
struct fnat_sync_stream {
	uint64_t epoch;
	uint32_t seq;
	uint32_t pad;
};

/* What a worker knows of one peer slot (the control thread sums them). */
struct fnat_sync_peer_ctr {
	uint64_t datagrams_received, records_received, forwarded_out, forwarded_in;
	uint64_t last_heard_ms;
	uint64_t end_mask_req; /* high 32 bits: our request id; low: the peer's workers that
				* answered it (read by the control thread) */
	uint32_t n_workers;    /* the peer's worker count */
	uint32_t pad;
};

/* A worker's sync state (part of struct fnat_worker). */
struct fnat_sync_worker {
	struct fnat_conn_table rt; /* the peers' records (single writer: this worker) */
	bool rt_ready;
	uint32_t rt_scan_pos;
	uint64_t rt_last_scan_ms;
	struct rte_ring *in;       /* verified datagrams another worker received */
	/* the datagram being filled */
	uint8_t tx[FNAT_SYNC_PAYLOAD_MAX];
	uint16_t tx_count;
	uint64_t tx_since_ms;
	uint32_t tx_seq;
	/* the sweep that announces every live session again (refresh, or a peer's request) */
	bool sweep_active;
	uint32_t sweep_pos;
	uint32_t sweep_req;        /* the request id this sweep answers (0: periodic) */
	uint32_t sweep_seen_gen;
	uint64_t sweep_start_ms;
	uint32_t req_sent_gen;     /* worker 0: our own requests sent */
	uint32_t takeover_seen_gen; /* the last takeover this worker swept its records for */
	/* peers' MACs, to recognise frames a peer forwarded (rebuilt when neighbours change) */
	uint32_t mac_gen;
	const struct fnat_sync_state *mac_state;
	uint64_t peer_mac[FNAT_MAX_PEERS]; /* by index in conf.peers; 0 = unknown */
	struct fnat_sync_stream streams[FNAT_MAX_PEERS][FNAT_MAX_WORKERS];
	struct fnat_sync_peer_ctr peer[FNAT_MAX_PEERS];
	uint64_t peer_epoch[FNAT_MAX_PEERS]; /* the start of each peer as this worker knows it */
};

/* Control thread: free what fnat_sync_set allocated (at destroy). */
void sync_free(struct fnat_dp *dp);
/* The time now in ms since the Unix epoch: a data plane's epoch in its datagrams. */
uint64_t sync_epoch_now(void);

static inline const struct fnat_sync_state *
sync_state(const struct fnat_dp *dp)
{
	return __atomic_load_n(&dp->sync, __ATOMIC_ACQUIRE);
}

/* A session this worker created or ended: queue its record for every peer. */
void sync_record(struct fnat_worker *w, const struct fnat_conn *c, enum fnat_sync_op op);

/* The flags a standby must have right to carry a connection on: TOA still to insert or not,
 * and SYNPROXY's handshake with the real server done (its deltas known). */
#define FNAT_SYNC_FLAGS_THAT_MATTER                                                        \
	(FNAT_CONN_F_TOA_PENDING | FNAT_CONN_F_SYNPROXY | FNAT_CONN_F_SP_WAIT_RS |          \
	 FNAT_CONN_F_SP_RS_SYNACK)

/* After a packet: a session whose state changed in a way a standby cannot work out itself is
 * announced again (TOA done, the real server's SYN-ACK seen under SYNPROXY: the deltas). TCP
 * state steps are not: a standby that adopts a session runs the state machine itself from the
 * next packet on, and the periodic refresh carries the state too. This keeps a connection at
 * three records (created, TOA done, ended): the sync's cost on new connections. */
static inline void
sync_changed(struct fnat_worker *w, const struct fnat_conn *c, uint8_t state, uint8_t flags)
{
	(void)state;
	if (unlikely(((c->flags ^ flags) & FNAT_SYNC_FLAGS_THAT_MATTER) != 0) &&
	    sync_state(w->dp) != NULL && c->proto != 0)
		sync_record(w, c, FNAT_SYNC_OP_ADD);
}

/* A sync datagram for this node (dst = the sync address, dport = the sync port). Consumes m. */
void sync_receive(struct fnat_worker *w, const struct fnat_sync_state *ss, struct rte_mbuf *m,
		  struct rte_ipv4_hdr *ip);

/* Whether addr is another node's LIP this node stands by for. */
bool sync_is_standby_lip(const struct fnat_sync_state *ss, uint32_t addr);

/* A client frame without a local session. A peer's record names it: the frame is forwarded
 * to the owner (*consumed), or, when its LIP is one this node now acts for (the owner is
 * gone), the session is adopted here and returned. No record: NULL, not consumed. A frame a
 * peer forwarded here is never forwarded again: it is dropped (forwarded_no_session). */
struct fnat_conn *sync_client_miss(struct fnat_worker *w, const struct fnat_snapshot *s,
				   const struct fnat_sync_state *ss, struct rte_mbuf *m,
				   const struct fnat_key *k, unsigned pidx, bool *consumed);

/* A real server's frame to a LIP without a local session: the session is adopted from a
 * peer's record when the LIP is this node's own (handed back) or one it stands by for (its
 * owner is gone: the router sends the LIP here now). NULL when no record names it. */
struct fnat_conn *sync_server_miss(struct fnat_worker *w, const struct fnat_snapshot *s,
				   const struct fnat_sync_state *ss, const struct fnat_key *k);

/* Whether a client frame came from a peer (forwarded to us); counts it. */
void sync_count_forwarded_in(struct fnat_worker *w, const struct fnat_sync_state *ss,
			     const struct rte_mbuf *m);

/* Once per loop: datagrams other workers received, the sweep, record expiry, and a flush of
 * the part-filled datagram when it is old enough (every poll in test mode). */
void sync_poll(struct fnat_worker *w);

#endif /* FNAT_SYNC_H */
