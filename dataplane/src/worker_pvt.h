/* The packet path's shared parts: the pipeline's packet context and verdicts, and the helpers
 * its stages share. Worker threads only. */
#ifndef FNAT_WORKER_PVT_H
#define FNAT_WORKER_PVT_H

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "csum.h"
#include "dp_pvt.h"
#include "fnat.h"
#include "hdr.h"

/* ---- the pipeline (worker.c runs it) ----
 *
 * Every stage takes the packet's context and returns a verdict the worker acts on: PKT_CONTINUE
 * (on to the next stage), PKT_SEND (p->m is ready for p->dst: straight to the send stage),
 * PKT_CONSUMED (the stage took the packet: answered, forwarded, kept or freed it),
 * PKT_RESUME (SYNPROXY: a client packet it kept resumes client→RS in p->m, in place of the
 * consumed one) or PKT_DROP(reason) (negative; the worker drops and counts it under reason).
 * A stage never calls a later stage: what comes next is the worker's to decide. Packets a stage
 * makes itself (an RST, the SYN towards a real server, ARP, ICMP) go out through output.c. */
enum pkt_verdict {
	PKT_CONTINUE = 0,
	PKT_SEND = 1,
	PKT_CONSUMED = 2,
	PKT_RESUME = 3,
};
/* A drop verdict and back (reason 0, a truncated Ethernet header, is a reason too). */
#define PKT_DROP(reason) (-1 - (int)(reason))
#define PKT_DROP_REASON(v) ((int)(-1 - (v)))

enum pkt_kind { PKT_DONE, PKT_IN, PKT_OUT };

/* Sequence-space shifts the translate stage applies as given, on top of the session's ISN
 * shift: it does not know why they are there. The SYNPROXY stage sets them for every TCP
 * packet (zero outside SYNPROXY). They are handed over per packet rather than read by xlate.c
 * from the session because only SYNPROXY knows when its session fields hold a shift (while it
 * waits for the real server, sp_delta holds the cookie instead). */
struct pkt_shift {
	bool acks;       /* client→RS: acknowledgement and SACK blocks move down by ack */
	uint32_t ack;
	uint32_t tsecr;  /* client→RS (with acks): TSecr moves down by tsecr (0: unchanged) */
	uint32_t seq;    /* RS→client: the sequence number moves up by seq */
	uint32_t tsval;  /* RS→client: TSval moves up by tsval (0: unchanged) */
};

/* One packet on its way through the pipeline. */
struct pkt {
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;
	const struct fnat_svc *svc; /* PKT_IN: the service of its VIP:port */
	struct fnat_conn *c;        /* the session, from the lookup on (NULL: none yet) */
	struct fnat_key key;
	uint64_t hash;              /* fnat_key_hash of key */
	struct fnat_conn *cand;     /* the burst lookup's signature match, prefetched */
	uint32_t cand_ref;
	uint32_t dst;               /* where the send stage sends m (network order) */
	struct pkt_shift shift;
	uint16_t pidx;              /* the port index it came in on (and goes out of) */
	uint8_t kind;               /* enum pkt_kind */
	uint8_t tcp_flags;
};

/* The TCP header of a packet the pipeline validated (IPv4 without options). */
static inline struct rte_tcp_hdr *
pkt_tcp(const struct rte_ipv4_hdr *ip)
{
	return (struct rte_tcp_hdr *)(uintptr_t)(ip + 1);
}

/* Closing sessions (TIME_WAIT, CLOSE) are counted apart, like IPVS's InActConn: a drain waits
 * for the others. Call with the state before a change. */
static inline bool
state_closing(uint8_t s)
{
	return s == FNAT_S_TIME_WAIT || s == FNAT_S_CLOSE;
}

/* ---- stages in other files, in pipeline order (owner: sync.h; SYNPROXY: synproxy.h) ---- */

/* session.c: the session stage, client→VIP: a new session for a SYN (or any UDP datagram),
 * a closing one given up for a new SYN on its tuple; SYNPROXY services create theirs in the
 * SYNPROXY stage. Inline in front: most packets have a session that is not closing, and
 * nothing to do here. */
int session_in_slow(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p);
static inline int
session_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	if (p->c != NULL && (p->key.proto != IPPROTO_TCP || !state_closing(p->c->state)))
		return PKT_CONTINUE;
	return session_in_slow(w, s, p);
}

/** Remove a session, give back its port, fix the counters. */
void session_free(struct fnat_worker *w, struct fnat_conn *c);

/* The session stage's check after SYNPROXY: a session whose real server left the
 * configuration goes with it when its service says so (expire-on-remove). */
static inline int
session_serving(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	if ((p->c->flags & FNAT_CONN_F_EXPIRE_ON_REMOVE) && !s->real_live[conn_rs_id(p->c)]) {
		session_free(w, p->c);
		return PKT_DROP(FNAT_DROP_NO_REAL);
	}
	return PKT_CONTINUE;
}

/* The translate stage's first step, inline (every forwarded packet takes it): the hop, TTL
 * decremented with the checksum updated. */
static inline int
xlate_hop(struct pkt *p)
{
	struct rte_ipv4_hdr *ip = p->ip;
	if (ip->time_to_live <= 1)
		return PKT_DROP(FNAT_DROP_TTL_EXCEEDED);
	uint16_t old = *(uint16_t *)&ip->time_to_live;
	ip->time_to_live--;
	csum_replace2(&ip->hdr_checksum, old, *(uint16_t *)&ip->time_to_live);
	return PKT_CONTINUE;
}

/* xlate.c: the FULLNAT translation in each direction (after xlate_hop); it sets p->dst. */
int xlate_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p);
int xlate_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p);


/** Queue a finished frame for TX on a port (flushed at the end of the loop). */
void output_tx_frame(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m);
/** Fill in the MACs for an IPv4 destination and queue the frame; -reason when unresolved
 * (the caller still owns m then). */
int output_send(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m, uint32_t dst);
/** The same through a given on-link next hop (a peer node: sync datagrams, forwarded frames). */
int output_send_via(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m, uint32_t nh);
/** Send an ARP request for target on a port, broadcast or to a known MAC (a re-check); at
 * most one per target per second per worker, and remembered for output_arp_asked(). */
void output_arp_ask(struct fnat_worker *w, unsigned pidx, uint32_t target, const uint8_t *unicast);
/** Whether any worker asked for target recently enough that a reply answers it. Worker 0. */
bool output_arp_asked(const struct fnat_dp *dp, uint32_t target, uint64_t now);
/** Pass a packet to the worker that owns it. Consumes m. */
void output_handoff(struct fnat_worker *w, struct rte_mbuf *m, uint32_t owner);
/** Schedule a real server, take a LIP port and create an indexed session (`hash`: the key's
 * fnat_key_hash); NULL + reason. */
struct fnat_conn *session_create(struct fnat_worker *w, const struct fnat_snapshot *s,
				 const struct fnat_svc *svc, const struct fnat_key *k,
				 uint64_t hash, int *reason);
/** Carry on a session another node created, from its record (full state): the session is
 * indexed on this worker with this node's service and real-server ids; lip_id is this node's
 * id of its LIP, or FNAT_LIP_FOREIGN. NULL + reason when it cannot be. */
struct fnat_conn *session_adopt(struct fnat_worker *w, const struct fnat_snapshot *s,
				const struct fnat_conn *rec, uint16_t lip_id, int *reason);
/** Let go of an adopted session another node claimed back (no DEL record: it lives on). */
void session_hand_back(struct fnat_worker *w, struct fnat_conn *c);
/** A session can hold one packet while it waits (SYNPROXY keeps the client's ACK there until
 * the real server answers): a per-worker slot named by c->aux, FNAT_CONN_F_SP_WAIT_RS set while
 * it holds one (the holder sets and clears the flag; freeing the session frees the packet).
 * session_hold needs a free slot (w->sp_free_n > 0); session_held looks (NULL: none);
 * session_unhold takes the packet back and frees the slot. */
void session_hold(struct fnat_worker *w, struct fnat_conn *c, struct rte_mbuf *m);
struct rte_mbuf *session_held(const struct fnat_worker *w, const struct fnat_conn *c);
struct rte_mbuf *session_unhold(struct fnat_worker *w, struct fnat_conn *c);
/** An established session that times out: RST to both sides, so neither keeps a half-open
 * socket (the real server would otherwise hold it until its own keepalive). */
void session_rst_both(struct fnat_worker *w, const struct fnat_conn *c);
/** Mark a port of this node's LIP lip_id busy (in use elsewhere) or free again. */
void session_lport_busy_set(struct fnat_worker *w, uint16_t lip_id, uint16_t lport_be, bool busy);
/** An Ethernet + IPv4 frame with l4len bytes of room for the L4 header (TTL 64, fresh id). */
struct rte_mbuf *output_make_ipv4(struct fnat_worker *w, uint32_t src, uint32_t dst, uint8_t proto,
				  unsigned l4len);
/** A bare TCP segment; seq/ack in host order, addresses and ports network order. */
struct rte_mbuf *output_make_tcp(struct fnat_worker *w, uint32_t src, uint32_t dst, uint16_t sport,
				 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
				 uint16_t window);
/** The ISN a new session's SYN gets towards the real server (secure, per LIP:lport). */
uint32_t session_isn(const struct fnat_worker *w, const struct fnat_conn *c);

/** Registers the mbuf field and flag of ICMP errors going round the workers (control
 * thread, at create). 0 or -errno. */
int icmp_arp_round_init(struct fnat_dp *dp);
/** ARP (worker 0) and ICMP for a VIP or LIP. Consume m. */
void icmp_arp_handle_arp(struct fnat_worker *w, struct rte_mbuf *m, unsigned pidx);
void icmp_arp_handle_icmp(struct fnat_worker *w, const struct fnat_snapshot *s, struct rte_mbuf *m,
			  struct rte_ipv4_hdr *ip, unsigned pidx, bool to_lip);

/* ---- small helpers of the packet path ---- */

/* Frames the worker is done with are freed in bulk at the end of the loop (one mempool put per
 * burst instead of one per frame: floods are mostly drops). */
static inline void
discard(struct fnat_worker *w, struct rte_mbuf *m)
{
	if (w->n_discard == RTE_DIM(w->discard))
		output_discard_flush(w);
	w->discard[w->n_discard++] = m;
}

static inline void
drop(struct fnat_worker *w, struct rte_mbuf *m, int reason)
{
	w->stats.drops[reason]++;
	discard(w, m);
}

/* A packet that is not ours to handle (another protocol, address or message type). */
static inline void
ignore(struct fnat_worker *w, struct rte_mbuf *m)
{
	w->stats.ignored++;
	discard(w, m);
}

/* Sends a packet the data plane made itself (RST, SYN to a real server) towards dst on the
 * first port; a NULL m (allocation failed) or an unresolved next hop sends nothing. */
static inline void
send_own(struct fnat_worker *w, struct rte_mbuf *m, uint32_t dst)
{
	if (m != NULL && output_send(w, 0, m, dst) < 0)
		rte_pktmbuf_free(m);
}

/* A port's MTU (the Ethernet default when it is not configured). */
static inline unsigned
port_mtu(const struct fnat_worker *w, unsigned pidx)
{
	unsigned mtu = w->dp->opts.ports[pidx].mtu;
	return mtu ? mtu : RTE_ETHER_MTU;
}

static inline const struct fnat_svc *
svc_of(const struct fnat_snapshot *s, const struct fnat_conn *c)
{
	uint16_t i = s->svc_by_id[c->svc_id];
	if (i == 0)
		return NULL;
	const struct fnat_svc *svc = &s->svcs[i - 1];
	/* An id is reused only after its sessions are gone, so a match is the same service. */
	return svc;
}

static inline uint32_t
timeout_of(const struct fnat_snapshot *s, const struct fnat_conn *c)
{
	static const uint8_t to_of_state[FNAT_S_MAX] = {
		[FNAT_S_NONE] = FNAT_TO_CLOSE,         [FNAT_S_SYN_SENT] = FNAT_TO_SYN_SENT,
		[FNAT_S_SYN_RECV] = FNAT_TO_SYN_RECV,   [FNAT_S_ESTABLISHED] = FNAT_TO_ESTABLISHED,
		[FNAT_S_FIN_WAIT] = FNAT_TO_FIN_WAIT,   [FNAT_S_CLOSE_WAIT] = FNAT_TO_CLOSE_WAIT,
		[FNAT_S_LAST_ACK] = FNAT_TO_LAST_ACK,   [FNAT_S_TIME_WAIT] = FNAT_TO_TIME_WAIT,
		[FNAT_S_CLOSE] = FNAT_TO_CLOSE,         [FNAT_S_UDP] = FNAT_TO_UDP,
	};
	unsigned t = to_of_state[c->state];
	const struct fnat_svc *svc = svc_of(s, c);
	return svc != NULL ? svc->timeout_ms[t] : snapshot_default_timeout_ms(t);
}

static inline void
conn_touch(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c)
{
	c->expire = (uint32_t)(w->now_ms + timeout_of(s, c));
}

static inline void
count_in(struct fnat_worker *w, const struct fnat_conn *c, uint32_t bytes)
{
	w->stats.traffic.pkts_in++;
	w->stats.traffic.bytes_in += bytes;
	w->svc_ctr[c->svc_id].pkts_in++;
	w->svc_ctr[c->svc_id].bytes_in += bytes;
	w->rs_ctr[conn_rs_id(c)].pkts_in++;
	w->rs_ctr[conn_rs_id(c)].bytes_in += bytes;
}

static inline void
count_out(struct fnat_worker *w, const struct fnat_conn *c, uint32_t bytes)
{
	w->stats.traffic.pkts_out++;
	w->stats.traffic.bytes_out += bytes;
	w->svc_ctr[c->svc_id].pkts_out++;
	w->svc_ctr[c->svc_id].bytes_out += bytes;
	w->rs_ctr[conn_rs_id(c)].pkts_out++;
	w->rs_ctr[conn_rs_id(c)].bytes_out += bytes;
}


static inline void
state_changed(struct fnat_worker *w, uint8_t old, uint8_t now)
{
	if (state_closing(old) != state_closing(now))
		__atomic_fetch_add(&w->stats.sessions_closing, state_closing(now) ? 1 : (uint64_t)-1,
				   __ATOMIC_RELAXED);
}

#endif /* FNAT_WORKER_PVT_H */
