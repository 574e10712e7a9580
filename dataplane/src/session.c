/* Session life cycle on a worker: the session stage of the pipeline, scheduling, LIP ports,
 * creation, freeing, a packet held while a session waits, the ISN shift and the RSTs of an
 * expired established session. Worker threads only. */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include "csum.h"
#include "dp_pvt.h"
#include "sync.h"
#include "tcpopt.h"
#include "worker_pvt.h"

/* ---- sessions ---- */

static inline void
active_add(struct fnat_worker *w, const struct fnat_conn *c, int64_t d)
{
	/* Relaxed atomics: the control thread reads these for id reuse and stats. */
	__atomic_fetch_add(&w->stats.traffic.sessions_active, d, __ATOMIC_RELAXED);
	__atomic_fetch_add(&w->svc_ctr[c->svc_id].sessions_active, d, __ATOMIC_RELAXED);
	__atomic_fetch_add(&w->rs_ctr[conn_rs_id(c)].sessions_active, d, __ATOMIC_RELAXED);
}

static inline void
port_free(struct fnat_worker *w, uint16_t lip_id, uint16_t lport_be)
{
	struct fnat_port_pool *p = w->dp->lip_pools[lip_id][w->id];
	if (p->count < p->cap) {
		p->ports[(p->head + p->count) % p->cap] = rte_be_to_cpu_16(lport_be);
		p->count++;
	}
}

static inline bool
lport_busy(const struct fnat_worker *w, uint16_t lip_id, uint16_t port)
{
	const uint64_t *b = w->lport_busy[lip_id];
	return b != NULL && (b[port >> 6] >> (port & 63) & 1);
}

void
session_lport_busy_set(struct fnat_worker *w, uint16_t lip_id, uint16_t lport_be, bool busy)
{
	if (lip_id >= FNAT_MAX_LIPS)
		return;
	uint16_t port = rte_be_to_cpu_16(lport_be);
	uint64_t *b = w->lport_busy[lip_id];
	if (b == NULL) {
		if (!busy)
			return;
		/* Rare (a peer holds sessions of our LIP): made on the worker, once per LIP. */
		b = rte_zmalloc("fnat_lport_busy", 65536 / 8, RTE_CACHE_LINE_SIZE);
		if (b == NULL)
			return;
		w->lport_busy[lip_id] = b;
	}
	if (busy)
		b[port >> 6] |= 1ull << (port & 63);
	else
		b[port >> 6] &= ~(1ull << (port & 63));
}

void
session_hold(struct fnat_worker *w, struct fnat_conn *c, struct rte_mbuf *m)
{
	uint32_t slot = w->sp_free[--w->sp_free_n];
	w->sp_kept[slot] = m;
	c->aux = slot;
}

struct rte_mbuf *
session_held(const struct fnat_worker *w, const struct fnat_conn *c)
{
	return w->sp_kept[c->aux];
}

struct rte_mbuf *
session_unhold(struct fnat_worker *w, struct fnat_conn *c)
{
	struct rte_mbuf *m = w->sp_kept[c->aux];
	w->sp_kept[c->aux] = NULL;
	w->sp_free[w->sp_free_n++] = c->aux;
	return m;
}

/* A session going away frees the packet it holds. */
static void
unhold_freed(struct fnat_worker *w, struct fnat_conn *c)
{
	if (!(c->flags & FNAT_CONN_F_SP_WAIT_RS))
		return;
	rte_pktmbuf_free(session_unhold(w, c));
	c->flags &= (uint8_t)~FNAT_CONN_F_SP_WAIT_RS;
}

void
session_free(struct fnat_worker *w, struct fnat_conn *c)
{
	unhold_freed(w, c);
	sync_record(w, c, FNAT_SYNC_OP_DEL);
	state_changed(w, c->state, FNAT_S_NONE);
	active_add(w, c, -1);
	/* An adopted session's port never left this node's pool (or is another node's): only
	 * its busy mark goes. */
	if (c->flags & FNAT_CONN_F_ADOPTED)
		session_lport_busy_set(w, c->lip_id, c->lport, false);
	else
		port_free(w, c->lip_id, c->lport);
	conn_remove(&w->ct, c);
}

void
session_hand_back(struct fnat_worker *w, struct fnat_conn *c)
{
	unhold_freed(w, c);
	state_changed(w, c->state, FNAT_S_NONE);
	active_add(w, c, -1);
	conn_remove(&w->ct, c);
}

/* Choose a LIP and one of this worker's ports of it: LIPs in turn, FIFO ports. */
static int
port_alloc(struct fnat_worker *w, const struct fnat_snapshot *s, uint32_t *lip, uint16_t *lip_id,
	   uint16_t *port_be)
{
	for (uint32_t k = 0; k < s->n_lips; k++) {
		uint32_t i = (w->lip_cursor + k) % s->n_lips;
		uint16_t id = s->lips[i].id;
		struct fnat_port_pool *p = w->dp->lip_pools[id][w->id];
		/* A port another node (or an adopted session) holds goes to the back. After a
		 * restart the first ports are all busy (the standby carries their sessions): each
		 * moves back once, so allocations after it find a free one at the head. */
		uint32_t tries = 0;
		while (p->count > 0 && lport_busy(w, id, p->ports[p->head]) && tries++ < p->count) {
			p->ports[(p->head + p->count) % p->cap] = p->ports[p->head];
			p->head = (p->head + 1) % p->cap;
		}
		if (p->count == 0 || lport_busy(w, id, p->ports[p->head]))
			continue;
		uint16_t port = p->ports[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		w->lip_cursor = i + 1;
		*lip = s->lips[i].addr;
		*lip_id = s->lips[i].id;
		*port_be = rte_cpu_to_be_16(port);
		return 0;
	}
	return -FNAT_DROP_NO_LOCAL_PORT;
}

static int
schedule(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_svc *svc,
	 const struct fnat_key *k)
{
	const struct sched_real *r = &s->sreals[svc->first_real];
	struct fnat_sched_state *st = &s->sched[w->id * s->n_svcs + (uint32_t)(svc - s->svcs)];
	switch (svc->sched) {
	case FNAT_SCHED_RR:
		return sched_rr(r, svc->n_reals, &st->rr_cursor);
	case FNAT_SCHED_WRR:
		return sched_wrr(r, svc->n_reals, st->wrr_cur);
	case FNAT_SCHED_WLC: {
		uint64_t active[svc->n_reals ? svc->n_reals : 1];
		for (uint32_t i = 0; i < svc->n_reals; i++)
			active[i] = w->rs_ctr[s->reals[svc->first_real + i].id].sessions_active;
		return sched_wlc(r, svc->n_reals, active);
	}
	case FNAT_SCHED_MH: {
		/* The client's tuple only (no per-node seed): every node picks the same real. */
		uint64_t a = ((uint64_t)k->src << 32) | k->dst;
		uint32_t h = rte_hash_crc_8byte(a, 0x4d61676c);
		h = rte_hash_crc_4byte(((uint32_t)k->sport << 16) | k->dport, h ^ k->proto);
		uint16_t e = svc->maglev[h % FNAT_MAGLEV_M];
		return e == FNAT_MAGLEV_EMPTY ? -1 : e;
	}
	}
	return -1;
}

/* A keyed hash of the LIP:lport → RS tuple plus a clock, as Linux's secure ISN: a reused
 * LIP:lport gets a larger ISN than its previous incarnation, so the real server's TIME_WAIT
 * socket accepts the new SYN. */
uint32_t
session_isn(const struct fnat_worker *w, const struct fnat_conn *c)
{
	const uint64_t *key = w->dp->isn_key;
	uint32_t h = rte_hash_crc_8byte(((uint64_t)c->laddr << 32) | c->raddr, (uint32_t)key[0]);
	h = rte_hash_crc_4byte(((uint32_t)c->lport << 16) | c->rport, h ^ (uint32_t)(key[0] >> 32));
	h = rte_hash_crc_4byte(h, (uint32_t)key[1]);
	return h + (uint32_t)(w->now_ms * 250); /* 4 µs per increment, like the kernel */
}

struct fnat_conn *
session_create(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_svc *svc,
	       const struct fnat_key *k, uint64_t hash, int *reason)
{
	int ri = schedule(w, s, svc, k);
	if (ri < 0) {
		*reason = FNAT_DROP_NO_REAL;
		return NULL;
	}
	const struct fnat_real *rs = &s->reals[svc->first_real + (uint32_t)ri];
	uint32_t lip;
	uint16_t lip_id, lport;
	if (port_alloc(w, s, &lip, &lip_id, &lport) < 0) {
		*reason = FNAT_DROP_NO_LOCAL_PORT;
		return NULL;
	}
	struct fnat_conn n = { 0 };
	n.caddr = k->src;
	n.vaddr = k->dst;
	n.cport = k->sport;
	n.vport = k->dport;
	n.laddr = lip;
	n.lport = lport;
	n.lip_id = lip_id;
	n.raddr = rs->addr;
	n.rport = rs->port;
	n.proto = k->proto;
	n.svc_id = svc->id;
	conn_set_rs_id(&n, rs->id);
	n.state = k->proto == IPPROTO_UDP ? FNAT_S_UDP : FNAT_S_NONE;
	if (k->proto == IPPROTO_TCP && (svc->flags & FNAT_SVC_F_TOA))
		n.flags |= FNAT_CONN_F_TOA_PENDING;
	if (svc->flags & FNAT_SVC_F_EXPIRE_ON_REMOVE)
		n.flags |= FNAT_CONN_F_EXPIRE_ON_REMOVE;
	struct fnat_conn *c = conn_insert(&w->ct, &n, hash);
	if (c == NULL) {
		port_free(w, lip_id, lport);
		*reason = FNAT_DROP_TABLE_FULL;
		return NULL;
	}
	w->stats.traffic.sessions_new++;
	w->svc_ctr[c->svc_id].sessions_new++;
	w->rs_ctr[conn_rs_id(c)].sessions_new++;
	active_add(w, c, 1);
	return c;
}

struct fnat_conn *
session_adopt(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_conn *rec,
	      uint16_t lip_id, int *reason)
{
	const struct fnat_svc *svc = snap_svc(s, rec->vaddr, rec->vport, rec->proto);
	if (svc == NULL) {
		*reason = FNAT_DROP_NO_SERVICE;
		return NULL;
	}
	const struct fnat_real *rs = NULL;
	for (uint32_t i = 0; i < svc->n_reals && rs == NULL; i++) {
		const struct fnat_real *r = &s->reals[svc->first_real + i];
		if (r->addr == rec->raddr && r->port == rec->rport)
			rs = r;
	}
	if (rs == NULL) {
		*reason = FNAT_DROP_NO_REAL;
		return NULL;
	}
	struct fnat_conn n = *rec;
	n.svc_id = svc->id;
	conn_set_rs_id(&n, rs->id);
	n.lip_id = lip_id;
	n.ts_delta = rec->ack_hash; /* a record keeps the timestamp delta there (sync.c) */
	n.ack_hash = 0;
	n.sp_retries = 0;
	n.flags = (uint8_t)((rec->flags & ~FNAT_CONN_F_SP_WAIT_RS) | FNAT_CONN_F_ADOPTED);
	struct fnat_key k;
	fnat_conn_key(&n, FNAT_DIR_IN, &k);
	struct fnat_conn *c = conn_insert(&w->ct, &n, fnat_key_hash(&k, w->ct.seed));
	if (c == NULL) {
		*reason = FNAT_DROP_TABLE_FULL;
		return NULL;
	}
	session_lport_busy_set(w, lip_id, c->lport, true);
	state_changed(w, FNAT_S_NONE, c->state);
	active_add(w, c, 1);
	conn_touch(w, s, c);
	w->stats.sessions_adopted++;
	sync_record(w, c, FNAT_SYNC_OP_ADD); /* the peers forward its client frames here now */
	return c;
}

void
session_rst_both(struct fnat_worker *w, const struct fnat_conn *c)
{
	uint32_t srv = c->c_ack;        /* the server's next sequence number, client space */
	uint32_t cl = c->c_seq_end;     /* the client's next sequence number, client space */
	struct rte_mbuf *m = output_make_tcp(w, c->laddr, c->raddr, c->lport, c->rport,
					     cl + c->seq_delta, srv - c->sp_delta,
					     RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0);
	send_own(w, m, c->raddr);
	m = output_make_tcp(w, c->vaddr, c->caddr, c->vport, c->cport, srv, cl,
			    RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0);
	send_own(w, m, c->caddr);
}

/* ---- the session stage ---- */

static inline bool
is_pure_syn(uint8_t f)
{
	return (f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) ==
	       RTE_TCP_SYN_FLAG;
}

int
session_in_slow(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	int reason;
	if (p->key.proto == IPPROTO_TCP) {
		/* A new SYN on a closing tuple starts a new session (the client reused its
		 * port). */
		if (p->c != NULL && is_pure_syn(p->tcp_flags) && state_closing(p->c->state)) {
			session_free(w, p->c);
			p->c = NULL;
		}
		if ((p->svc->flags & FNAT_SVC_F_SYNPROXY) || p->c != NULL)
			return PKT_CONTINUE; /* SYNPROXY creates its sessions itself */
		if (!is_pure_syn(p->tcp_flags))
			return PKT_DROP(FNAT_DROP_NO_SESSION);
		p->c = session_create(w, s, p->svc, &p->key, p->hash, &reason);
		if (p->c == NULL)
			return PKT_DROP(reason);
		p->c->seq_delta = session_isn(w, p->c) - rte_be_to_cpu_32(pkt_tcp(p->ip)->sent_seq);
		/* Peers learn the owner at once (not seconds later), with the ISN shift. */
		sync_record(w, p->c, FNAT_SYNC_OP_ADD);
		return PKT_CONTINUE;
	}
	if (p->c == NULL) {
		p->c = session_create(w, s, p->svc, &p->key, p->hash, &reason);
		if (p->c == NULL)
			return PKT_DROP(reason);
		sync_record(w, p->c, FNAT_SYNC_OP_ADD);
	}
	return PKT_CONTINUE;
}
