/* Session sync between nodes: ownership records, the peers' record tables and forwarding to
 * the owner (see sync.h for the wire format and DESIGN.md section 9 for why).
 *
 * Every worker announces the sessions it creates to every peer (ADD) and withdraws them when
 * they end (DEL), in datagrams of up to FNAT_SYNC_MAX_RECORDS records flushed every few
 * milliseconds; it also announces every live session again once per refresh period (so a lost
 * datagram heals) and at once when a peer asks (a node that joins). Each worker keeps a full
 * copy of the peers' records in a table of its own (the same bounded cuckoo table as sessions,
 * single writer), so a client frame that misses the session table is looked up on the worker
 * that received it, whatever spread the flow over the workers. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "dp_pvt.h"
#include "siphash.h"
#include "sync.h"
#include "worker_pvt.h"

#define SYNC_RING_SIZE 1024
#define SYNC_SWEEP_BUDGET 1024 /* sessions announced per loop by a refresh sweep (live) */

/* ---- control thread ---- */

static bool
sync_conf_valid(const struct fnat_sync_conf *c)
{
	if (c->node == 0)
		return true;
	if (c->addr == 0 || c->port >= 1024 || c->n_peers > FNAT_MAX_PEERS)
		return false;
	for (uint32_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].node == 0 || c->peers[i].addr == 0 || c->peers[i].node == c->node)
			return false;
	if (c->n_standby > FNAT_MAX_STANDBY)
		return false;
	for (uint32_t i = 0; i < c->n_standby; i++)
		if (c->standby[i].lip == 0 || c->standby[i].owner == 0)
			return false;
	return true;
}

/* The slot of a peer's node address: the one it had, else a free one, else one whose node is
 * no longer configured (its counters start again from what that node left). */
static int
peer_slot(struct fnat_dp *dp, uint32_t node, const struct fnat_sync_conf *c)
{
	int free_slot = -1, stale = -1;
	for (int s = 0; s < FNAT_MAX_PEERS; s++) {
		if (dp->peer_slot_node[s] == node)
			return s;
		if (dp->peer_slot_node[s] == 0 && free_slot < 0)
			free_slot = s;
		bool configured = false;
		for (uint32_t i = 0; i < c->n_peers && !configured; i++)
			configured = c->peers[i].node == dp->peer_slot_node[s];
		if (!configured && stale < 0)
			stale = s;
	}
	int s = free_slot >= 0 ? free_slot : stale;
	if (s >= 0)
		dp->peer_slot_node[s] = node;
	return s;
}

/* The first enable: every worker's record table and its ring of datagrams from the others. */
static int
sync_tables_init(struct fnat_dp *dp, uint32_t cap)
{
	for (uint32_t i = 0; i < dp->n_workers; i++) {
		struct fnat_sync_worker *sw = dp->workers[i]->sync;
		if (sw->rt_ready)
			continue;
		uint32_t seed;
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint32_t)rte_rdtsc();
		int rc = conn_table_init(&sw->rt, cap, seed);
		if (rc < 0)
			return rc;
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "fnat_sync%u_%u", dp->instance, i);
		sw->in = rte_ring_create(name, SYNC_RING_SIZE, (int)rte_socket_id(), RING_F_SC_DEQ);
		if (sw->in == NULL) {
			conn_table_free(&sw->rt);
			return -ENOMEM;
		}
		sw->rt_ready = true;
	}
	return 0;
}

int
fnat_sync_set(struct fnat_dp *dp, const struct fnat_sync_conf *conf)
{
	if (dp == NULL || conf == NULL || !sync_conf_valid(conf))
		return -EINVAL;
	struct fnat_sync_state *next = NULL;
	if (conf->node != 0) {
		uint32_t cap = conf->records_per_worker ? conf->records_per_worker :
			       dp->opts.sessions_per_worker ? dp->opts.sessions_per_worker :
							      FNAT_DEFAULT_SESSIONS;
		int rc = sync_tables_init(dp, cap);
		if (rc < 0)
			return rc;
		next = rte_zmalloc("fnat_sync_state", sizeof(*next), RTE_CACHE_LINE_SIZE);
		if (next == NULL)
			return -ENOMEM;
		next->conf = *conf;
		memcpy(next->key, conf->key, sizeof(next->key));
		next->port_be = rte_cpu_to_be_16(conf->port ? conf->port : FNAT_SYNC_PORT_DEFAULT);
		next->refresh_ms = conf->refresh_ms ? conf->refresh_ms : FNAT_SYNC_REFRESH_MS_DEFAULT;
		uint32_t flush_us = conf->flush_us ? conf->flush_us : FNAT_SYNC_FLUSH_US_DEFAULT;
		next->flush_ms = (flush_us + 999) / 1000;
		next->record_ttl_ms = next->refresh_ms * FNAT_SYNC_RECORD_LIFETIMES + 1000;
		for (uint32_t i = 0; i < conf->n_peers; i++) {
			int s = peer_slot(dp, conf->peers[i].node, conf);
			if (s < 0) {
				rte_free(next);
				return -EINVAL;
			}
			next->slot[i] = (uint8_t)s;
		}
	}
	struct fnat_sync_state *prev = dp->sync;
	__atomic_store_n(&dp->sync, next, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(dp->qs, RTE_QSBR_THRID_INVALID);
	rte_free(prev);
	(void)xdp_filter_update(dp); /* standby LIPs and the sync port */
	return 0;
}

int
fnat_sync_request(struct fnat_dp *dp)
{
	if (sync_state(dp) == NULL)
		return -ENOTCONN;
	uint32_t id = 0;
	while (id == 0)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint32_t)rte_rdtsc();
	__atomic_store_n(&dp->sync_req_id, id, __ATOMIC_RELEASE);
	__atomic_fetch_add(&dp->sync_req_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

int
fnat_sync_status(struct fnat_dp *dp, struct fnat_peer_stats *out, uint32_t cap)
{
	const struct fnat_sync_state *ss = sync_state(dp);
	if (ss == NULL)
		return -ENOTCONN;
	uint32_t req = __atomic_load_n(&dp->sync_req_id, __ATOMIC_ACQUIRE);
	uint32_t n = RTE_MIN(cap, ss->conf.n_peers);
	for (uint32_t i = 0; i < n; i++) {
		unsigned s = ss->slot[i];
		struct fnat_peer_stats *o = &out[i];
		memset(o, 0, sizeof(*o));
		o->node = ss->conf.peers[i].node;
		uint32_t ends = 0;
		for (uint32_t k = 0; k < dp->n_workers; k++) {
			const struct fnat_sync_worker *sw = dp->workers[k]->sync;
			const struct fnat_sync_peer_ctr *p = &sw->peer[s];
			o->datagrams_received += __atomic_load_n(&p->datagrams_received,
								 __ATOMIC_RELAXED);
			o->records_received += __atomic_load_n(&p->records_received, __ATOMIC_RELAXED);
			o->forwarded_out += __atomic_load_n(&p->forwarded_out, __ATOMIC_RELAXED);
			o->forwarded_in += __atomic_load_n(&p->forwarded_in, __ATOMIC_RELAXED);
			o->last_heard_ms = RTE_MAX(o->last_heard_ms,
						   __atomic_load_n(&p->last_heard_ms, __ATOMIC_RELAXED));
			o->peer_workers = RTE_MAX(o->peer_workers,
						  __atomic_load_n(&p->n_workers, __ATOMIC_RELAXED));
			/* The end mask counts only for our current request. */
			uint64_t em = __atomic_load_n(&p->end_mask_req, __ATOMIC_ACQUIRE);
			if (req != 0 && (uint32_t)(em >> 32) == req)
				ends |= (uint32_t)em;
		}
		o->snapshot_workers = (uint32_t)__builtin_popcount(ends);
	}
	return (int)n;
}

void
sync_free(struct fnat_dp *dp)
{
	for (uint32_t i = 0; i < dp->n_workers; i++) {
		struct fnat_sync_worker *sw = dp->workers[i] ? dp->workers[i]->sync : NULL;
		if (sw == NULL || !sw->rt_ready)
			continue;
		conn_table_free(&sw->rt);
		struct rte_mbuf *m;
		while (rte_ring_dequeue(sw->in, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(sw->in);
		sw->rt_ready = false;
	}
	rte_free(dp->sync);
	dp->sync = NULL;
}

/* ---- sending ---- */

static inline struct fnat_sync_hdr *
tx_hdr(struct fnat_sync_worker *sw)
{
	return (struct fnat_sync_hdr *)sw->tx;
}

/* Seals the datagram in sw->tx (count records) and sends one copy to every peer. */
static void
tx_send(struct fnat_worker *w, const struct fnat_sync_state *ss, uint8_t type, uint32_t arg)
{
	struct fnat_sync_worker *sw = w->sync;
	struct fnat_sync_hdr *h = tx_hdr(sw);
	h->magic = rte_cpu_to_be_32(FNAT_SYNC_MAGIC);
	h->version = FNAT_SYNC_VERSION;
	h->type = type;
	h->worker = rte_cpu_to_be_16((uint16_t)w->id);
	h->node = ss->conf.node;
	h->n_workers = rte_cpu_to_be_16((uint16_t)w->dp->n_workers);
	h->count = rte_cpu_to_be_16(sw->tx_count);
	h->epoch = rte_cpu_to_be_64(w->dp->sync_epoch);
	h->seq = rte_cpu_to_be_32(++sw->tx_seq);
	h->arg = rte_cpu_to_be_32(arg);
	size_t body = sizeof(*h) + (size_t)sw->tx_count * sizeof(struct fnat_sync_rec);
	uint64_t mac = siphash24_bytes(ss->key, sw->tx, body);
	memcpy(sw->tx + body, &mac, FNAT_SYNC_MAC_LEN);
	size_t len = body + FNAT_SYNC_MAC_LEN;
	for (uint32_t i = 0; i < ss->conf.n_peers; i++) {
		const struct fnat_sync_peer *p = &ss->conf.peers[i];
		struct rte_mbuf *m = output_make_ipv4(w, ss->conf.addr, p->addr, IPPROTO_UDP,
						      (unsigned)(sizeof(struct rte_udp_hdr) + len));
		if (m == NULL)
			continue;
		struct rte_udp_hdr *uh = rte_pktmbuf_mtod_offset(
			m, struct rte_udp_hdr *, HDR_ETH_LEN + HDR_IPV4_LEN);
		uh->src_port = ss->port_be;
		uh->dst_port = ss->port_be;
		uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + len));
		uh->dgram_cksum = 0; /* the MAC covers the payload */
		memcpy(uh + 1, sw->tx, len);
		/* Through the peer's node address: its data plane listens on the sync address. */
		if (output_send_via(w, 0, m, p->node) < 0)
			rte_pktmbuf_free(m);
		else
			w->stats.sync_datagrams_sent++;
	}
	w->stats.sync_records_sent += sw->tx_count;
	sw->tx_count = 0;
}

static void
flush_records(struct fnat_worker *w, const struct fnat_sync_state *ss)
{
	if (w->sync->tx_count > 0)
		tx_send(w, ss, FNAT_SYNC_T_RECORDS, 0);
}

void
sync_record(struct fnat_worker *w, const struct fnat_conn *c, enum fnat_sync_op op)
{
	const struct fnat_sync_state *ss = sync_state(w->dp);
	if (ss == NULL || ss->conf.n_peers == 0)
		return;
	struct fnat_sync_worker *sw = w->sync;
	if (sw->tx_count == 0)
		sw->tx_since_ms = w->now_ms;
	struct fnat_sync_rec *r = (struct fnat_sync_rec *)(sw->tx + sizeof(struct fnat_sync_hdr)) +
				  sw->tx_count++;
	r->op = (uint8_t)op;
	r->len = sizeof(*r);
	r->proto = c->proto;
	r->state = c->state;
	r->caddr = c->caddr;
	r->vaddr = c->vaddr;
	r->cport = c->cport;
	r->vport = c->vport;
	r->laddr = c->laddr;
	r->lport = c->lport;
	r->rport = c->rport;
	r->raddr = c->raddr;
	r->owner = ss->conf.node;
	r->ttl_ms = rte_cpu_to_be_32(ss->record_ttl_ms);
	r->seq_delta = rte_cpu_to_be_32(c->seq_delta);
	r->c_seq_end = rte_cpu_to_be_32(c->c_seq_end);
	r->c_ack = rte_cpu_to_be_32(c->c_ack);
	r->sp_delta = rte_cpu_to_be_32(c->sp_delta);
	/* aux holds the SYNPROXY slot until the real server answered, the timestamp delta after */
	r->ts_delta = rte_cpu_to_be_32((c->flags & FNAT_CONN_F_SP_WAIT_RS) ? 0 : c->ts_delta);
	r->expire_in_ms = rte_cpu_to_be_32((uint32_t)RTE_MAX((int32_t)(c->expire - (uint32_t)w->now_ms), 0));
	r->flags = c->flags;
	r->dup_acks = c->dup_acks;
	r->pad = 0;
	if (sw->tx_count == FNAT_SYNC_MAX_RECORDS)
		flush_records(w, ss);
}

/* ---- receiving ---- */

static int
conf_peer_index(const struct fnat_sync_state *ss, uint32_t node)
{
	for (uint32_t i = 0; i < ss->conf.n_peers; i++)
		if (ss->conf.peers[i].node == node)
			return (int)i;
	return -1;
}

bool
sync_is_standby_lip(const struct fnat_sync_state *ss, uint32_t addr)
{
	for (uint32_t i = 0; i < ss->conf.n_standby; i++)
		if (ss->conf.standby[i].lip == addr)
			return true;
	return false;
}

static uint32_t
standby_owner(const struct fnat_sync_state *ss, uint32_t lip)
{
	for (uint32_t i = 0; i < ss->conf.n_standby; i++)
		if (ss->conf.standby[i].lip == lip)
			return ss->conf.standby[i].owner;
	return 0;
}

static bool
acting_for(const struct fnat_dp *dp, uint32_t lip)
{
	for (unsigned i = 0; i < FNAT_MAX_STANDBY; i++)
		if (__atomic_load_n(&dp->sync_acting[i], __ATOMIC_RELAXED) == lip)
			return true;
	return false;
}

/* The router sends a standby LIP's traffic here: its owner is gone. From now on this node
 * carries the LIP's sessions on; every worker adopts the ones in its slice at its next loop. */
/* The owner of a LIP this node acted for speaks again: it is back and takes its LIP over. */
static void
owner_back(struct fnat_dp *dp, uint32_t lip)
{
	for (unsigned i = 0; i < FNAT_MAX_STANDBY; i++) {
		uint32_t v = lip;
		__atomic_compare_exchange_n(&dp->sync_acting[i], &v, 0, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	}
}

/* This node's id of one of its own LIPs in the running snapshot, or FNAT_LIP_FOREIGN. */
static uint16_t
own_lip_id(const struct fnat_snapshot *s, uint32_t addr)
{
	uint16_t a = snap_addr(s, addr);
	return (a & FNAT_ADDR_LIP) ? s->lips[a & FNAT_ADDR_INDEX].id : FNAT_LIP_FOREIGN;
}

/* Control thread and workers alike: marks a standby LIP taken over. */
static void
act_for_dp(struct fnat_dp *dp, uint32_t lip)
{
	if (acting_for(dp, lip))
		return;
	for (unsigned i = 0; i < FNAT_MAX_STANDBY; i++) {
		uint32_t free_slot = 0;
		if (__atomic_compare_exchange_n(&dp->sync_acting[i], &free_slot, lip, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&dp->sync_takeover_gen, 1, __ATOMIC_RELEASE);
			return;
		}
		if (free_slot == lip)
			return;
	}
}

int
fnat_sync_take_over(struct fnat_dp *dp, uint32_t lip)
{
	const struct fnat_sync_state *ss = sync_state(dp);
	if (ss == NULL)
		return -ENOTCONN;
	if (!sync_is_standby_lip(ss, lip))
		return -ENOENT;
	act_for_dp(dp, lip);
	return 0;
}

/* A record in a worker's record table is a struct fnat_conn whose aux is the owner's node
 * address and whose ack_hash holds the session's timestamp delta (aux's other meaning). */
static inline void
record_state_set(struct fnat_conn *c, const struct fnat_sync_rec *r)
{
	c->seq_delta = rte_be_to_cpu_32(r->seq_delta);
	c->c_seq_end = rte_be_to_cpu_32(r->c_seq_end);
	c->c_ack = rte_be_to_cpu_32(r->c_ack);
	c->sp_delta = rte_be_to_cpu_32(r->sp_delta);
	c->ack_hash = rte_be_to_cpu_32(r->ts_delta);
	c->flags = r->flags;
	c->dup_acks = r->dup_acks;
}

static void
record_apply(struct fnat_worker *w, const struct fnat_sync_state *ss,
	     const struct fnat_sync_rec *r, unsigned slot)
{
	struct fnat_sync_worker *sw = w->sync;
	if (r->owner == ss->conf.node || (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP))
		return;
	struct fnat_key k = { r->caddr, r->vaddr, r->cport, r->vport, r->proto };
	int dir;
	struct fnat_conn *c = conn_lookup(&sw->rt, &k, fnat_key_hash(&k, sw->rt.seed), &dir);
	if (c != NULL && dir != FNAT_DIR_IN)
		c = NULL;
	sw->peer[slot].records_received++;
	w->stats.sync_records_received++;
	/* Ports of our own LIPs that a peer holds are busy here (never allocated twice). */
	const struct fnat_snapshot *snap = dp_snapshot(w->dp);
	uint16_t own = own_lip_id(snap, r->laddr);
	bool mine = lport_owner(w->dp->n_workers, rte_be_to_cpu_16(r->lport)) == w->id;
	if (r->op == FNAT_SYNC_OP_DEL) {
		if (c != NULL && c->aux == r->owner) {
			conn_remove(&sw->rt, c);
			if (own != FNAT_LIP_FOREIGN && mine)
				session_lport_busy_set(w, own, r->lport, false);
		}
		return;
	}
	if (r->op != FNAT_SYNC_OP_ADD)
		return;
	if (own != FNAT_LIP_FOREIGN && mine)
		session_lport_busy_set(w, own, r->lport, true);
	if (standby_owner(ss, r->laddr) == r->owner)
		owner_back(w->dp, r->laddr); /* the LIP's owner speaks: it is back */
	if (mine) {
		/* A session this node adopted, now claimed by another node (handed back to its
		 * LIP's owner): it is theirs again. */
		struct fnat_conn *l = conn_lookup(&w->ct, &k, fnat_key_hash(&k, w->ct.seed), &dir);
		if (l != NULL && dir == FNAT_DIR_IN && (l->flags & FNAT_CONN_F_ADOPTED) &&
		    l->laddr == r->laddr && l->lport == r->lport) {
			session_hand_back(w, l);
		}
	}
	uint32_t expire = (uint32_t)(w->now_ms + rte_be_to_cpu_32(r->ttl_ms));
	if (c == NULL || c->laddr != r->laddr || c->lport != r->lport || c->raddr != r->raddr ||
	    c->rport != r->rport) {
		if (c != NULL)
			conn_remove(&sw->rt, c); /* the tuple was reused: the new owner's wins */
		struct fnat_conn n = { 0 };
		n.caddr = r->caddr;
		n.vaddr = r->vaddr;
		n.cport = r->cport;
		n.vport = r->vport;
		n.laddr = r->laddr;
		n.lport = r->lport;
		n.raddr = r->raddr;
		n.rport = r->rport;
		n.proto = r->proto;
		c = conn_insert(&sw->rt, &n, fnat_key_hash(&k, sw->rt.seed));
		if (c == NULL) {
			w->stats.records_full++;
			return;
		}
	}
	/* A new record, a refresh, or an update of its state (or another node taking it over). */
	c->aux = r->owner;
	c->state = r->state;
	c->expire = expire;
	if (r->len >= sizeof(*r))
		record_state_set(c, r);
}

/* A peer that restarted owns none of the sessions it had: its records go (a standby that took
 * some over announced them as its own). Left, they would send a new connection that reuses a
 * client port to the restarted node, which has nothing for it. */
static void
forget_owner(struct fnat_worker *w, uint32_t node)
{
	struct fnat_conn_table *t = &w->sync->rt;
	const struct fnat_snapshot *s = dp_snapshot(w->dp);
	for (uint32_t i = 0; i < t->hwm; i++) {
		struct fnat_conn *r = &t->conns[i];
		if (r->proto == 0 || r->aux != node)
			continue;
		uint16_t own = own_lip_id(s, r->laddr);
		if (own != FNAT_LIP_FOREIGN)
			session_lport_busy_set(w, own, r->lport, false);
		conn_remove(t, r);
	}
	w->stats.records_active = t->active;
}

/* Applies the records of a verified datagram (every worker keeps every record). */
static void
records_apply(struct fnat_worker *w, const struct fnat_sync_state *ss, const uint8_t *p,
	      size_t body, unsigned slot)
{
	const struct fnat_sync_hdr *h = (const struct fnat_sync_hdr *)p;
	uint64_t epoch = rte_be_to_cpu_64(h->epoch);
	uint64_t *known = &w->sync->peer_epoch[slot];
	if (epoch > *known) {
		if (*known != 0)
			forget_owner(w, h->node);
		*known = epoch;
	}
	unsigned count = rte_be_to_cpu_16(h->count);
	size_t off = sizeof(*h);
	for (unsigned i = 0; i < count; i++) {
		const struct fnat_sync_rec *r = (const struct fnat_sync_rec *)(p + off);
		if (off + FNAT_SYNC_REC_MIN > body || r->len < FNAT_SYNC_REC_MIN || off + r->len > body) {
			w->stats.drops[FNAT_DROP_SYNC_MALFORMED]++;
			return;
		}
		record_apply(w, ss, r, slot);
		off += r->len; /* a newer sender's longer record: the fields we know come first */
	}
	w->stats.records_active = w->sync->rt.active;
}

/* The sync payload of a datagram that passed sync_receive's checks. */
static inline const uint8_t *
payload_of(const struct rte_mbuf *m, size_t *body)
{
	const struct rte_udp_hdr *uh = rte_pktmbuf_mtod_offset(
		m, const struct rte_udp_hdr *, HDR_ETH_LEN + HDR_IPV4_LEN);
	*body = rte_be_to_cpu_16(uh->dgram_len) - sizeof(*uh) - FNAT_SYNC_MAC_LEN;
	return (const uint8_t *)(uh + 1);
}

void
sync_receive(struct fnat_worker *w, const struct fnat_sync_state *ss, struct rte_mbuf *m,
	     struct rte_ipv4_hdr *ip)
{
	struct fnat_sync_worker *sw = w->sync;
	const struct rte_udp_hdr *uh = (const struct rte_udp_hdr *)(ip + 1);
	size_t len = rte_be_to_cpu_16(uh->dgram_len) - sizeof(*uh);
	const uint8_t *p = (const uint8_t *)(uh + 1);
	const struct fnat_sync_hdr *h = (const struct fnat_sync_hdr *)p;
	if (len < sizeof(*h) + FNAT_SYNC_MAC_LEN || h->magic != rte_cpu_to_be_32(FNAT_SYNC_MAGIC) ||
	    h->version != FNAT_SYNC_VERSION) {
		drop(w, m, FNAT_DROP_SYNC_MALFORMED);
		return;
	}
	size_t body = len - FNAT_SYNC_MAC_LEN;
	uint64_t mac;
	memcpy(&mac, p + body, sizeof(mac));
	int pi = conf_peer_index(ss, h->node);
	if (pi < 0 || siphash24_bytes(ss->key, p, body) != mac) {
		drop(w, m, FNAT_DROP_SYNC_AUTH);
		return;
	}
	unsigned slot = ss->slot[pi];
	uint16_t sender = rte_be_to_cpu_16(h->worker);
	uint64_t epoch = rte_be_to_cpu_64(h->epoch);
	uint32_t seq = rte_be_to_cpu_32(h->seq);
	if (sender >= FNAT_MAX_WORKERS) {
		drop(w, m, FNAT_DROP_SYNC_MALFORMED);
		return;
	}
	/* Newer than what this stream last gave: a later start (the peer restarted), or the same
	 * start and a later sequence number. Anything else is a replay. */
	struct fnat_sync_stream *st = &sw->streams[slot][sender];
	if (epoch < st->epoch || (epoch == st->epoch && (int32_t)(seq - st->seq) <= 0)) {
		drop(w, m, FNAT_DROP_SYNC_REPLAY);
		return;
	}
	if (epoch == st->epoch)
		w->stats.sync_lost += seq - st->seq - 1;
	st->epoch = epoch;
	st->seq = seq;
	struct fnat_sync_peer_ctr *pc = &sw->peer[slot];
	pc->datagrams_received++;
	pc->last_heard_ms = w->now_ms;
	pc->n_workers = rte_be_to_cpu_16(h->n_workers);
	w->stats.sync_datagrams_received++;
	struct fnat_dp *dp = w->dp;
	switch (h->type) {
	case FNAT_SYNC_T_RECORDS:
		/* Every worker keeps every record: the others get the datagram through their ring
		 * (one reference each), already verified. */
		for (uint32_t k = 0; k < dp->n_workers; k++) {
			if (k == w->id)
				continue;
			rte_mbuf_refcnt_update(m, 1);
			if (rte_ring_mp_enqueue(dp->workers[k]->sync->in, m) != 0) {
				rte_mbuf_refcnt_update(m, -1);
				w->stats.drops[FNAT_DROP_HANDOFF_FULL]++;
			}
		}
		records_apply(w, ss, p, body, slot);
		break;
	case FNAT_SYNC_T_REQUEST:
		/* Every worker sweeps its sessions and answers with an END. */
		__atomic_store_n(&dp->sync_sweep_req, rte_be_to_cpu_32(h->arg), __ATOMIC_RELEASE);
		__atomic_fetch_add(&dp->sync_sweep_gen, 1, __ATOMIC_RELEASE);
		break;
	case FNAT_SYNC_T_END: {
		uint32_t req = __atomic_load_n(&dp->sync_req_id, __ATOMIC_ACQUIRE);
		uint64_t em = __atomic_load_n(&pc->end_mask_req, __ATOMIC_RELAXED);
		if ((uint32_t)(em >> 32) != req)
			em = (uint64_t)req << 32;
		if (rte_be_to_cpu_32(h->arg) == req)
			em |= 1u << sender;
		__atomic_store_n(&pc->end_mask_req, em, __ATOMIC_RELEASE);
		break;
	}
	default:
		w->stats.drops[FNAT_DROP_SYNC_MALFORMED]++;
		break;
	}
	discard(w, m);
}

/* ---- forwarding ---- */

/* The index in conf.peers of the peer whose MAC sent this frame, or -1. The peers' MACs are
 * looked up again whenever the neighbour table or the configuration changed. */
static int
peer_of_frame(struct fnat_worker *w, const struct fnat_sync_state *ss, const struct rte_mbuf *m)
{
	struct fnat_sync_worker *sw = w->sync;
	uint32_t gen = __atomic_load_n(&w->dp->neigh_gen, __ATOMIC_ACQUIRE);
	if (sw->mac_gen != gen || sw->mac_state != ss) {
		for (uint32_t i = 0; i < ss->conf.n_peers; i++) {
			uint8_t mac[8] = { 0 };
			uint64_t until;
			sw->peer_mac[i] = 0;
			if (neigh_lookup(w->dp, ss->conf.peers[i].node, w->now_ms, mac, &until) !=
			    NEIGH_NONE)
				memcpy(&sw->peer_mac[i], mac, RTE_ETHER_ADDR_LEN);
		}
		sw->mac_gen = gen;
		sw->mac_state = ss;
	}
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t src = 0;
	memcpy(&src, &eh->src_addr, RTE_ETHER_ADDR_LEN);
	for (uint32_t i = 0; i < ss->conf.n_peers; i++)
		if (sw->peer_mac[i] == src)
			return (int)i;
	return -1;
}

void
sync_count_forwarded_in(struct fnat_worker *w, const struct fnat_sync_state *ss,
			const struct rte_mbuf *m)
{
	int pi = peer_of_frame(w, ss, m);
	if (pi >= 0) {
		w->sync->peer[ss->slot[pi]].forwarded_in++;
		w->stats.forwarded_in++;
	}
}

/* Adopts the session a record describes and drops the record (the session speaks for it). */
static struct fnat_conn *
adopt(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *rec)
{
	int reason;
	struct fnat_conn *c = session_adopt(w, s, rec, own_lip_id(s, rec->laddr), &reason);
	if (c == NULL) {
		w->stats.drops[reason]++;
		return NULL;
	}
	conn_remove(&w->sync->rt, rec);
	w->stats.records_active = w->sync->rt.active;
	return c;
}

static struct fnat_conn *
record_of(struct fnat_worker *w, const struct fnat_key *k, int want_dir)
{
	struct fnat_sync_worker *sw = w->sync;
	if (!sw->rt_ready || sw->rt.active == 0)
		return NULL;
	int dir;
	struct fnat_conn *r = conn_lookup(&sw->rt, k, fnat_key_hash(k, sw->rt.seed), &dir);
	return r != NULL && dir == want_dir ? r : NULL;
}

struct fnat_conn *
sync_client_miss(struct fnat_worker *w, const struct fnat_snapshot *s,
		 const struct fnat_sync_state *ss, struct rte_mbuf *m, const struct fnat_key *k,
		 unsigned pidx, bool *consumed)
{
	struct fnat_sync_worker *sw = w->sync;
	*consumed = false;
	struct fnat_conn *r = record_of(w, k, FNAT_DIR_IN);
	int from = peer_of_frame(w, ss, m);
	if (from >= 0) {
		sw->peer[ss->slot[from]].forwarded_in++;
		w->stats.forwarded_in++;
	}
	if (r != NULL && acting_for(w->dp, r->laddr)) {
		/* Its owner is gone and we carry its LIP now: the session lives on the worker that
		 * owns its LIP port (where the real server's frames arrive). */
		uint32_t owner = lport_owner(w->dp->n_workers, rte_be_to_cpu_16(r->lport));
		if (owner == w->id)
			return adopt(w, s, r);
		*consumed = true;
		output_handoff(w, m, owner);
		return NULL;
	}
	if (from >= 0) {
		/* Loop guard: a frame a peer forwarded is never forwarded again. */
		drop(w, m, FNAT_DROP_FORWARDED_NO_SESSION);
		*consumed = true;
		return NULL;
	}
	if (r == NULL)
		return NULL;
	int pi = conf_peer_index(ss, r->aux);
	if (pi < 0)
		return NULL; /* its owner left the cluster: the flow is nobody's now */
	/* Unchanged but for the Ethernet header: the owner translates it as its own. */
	*consumed = true;
	int v = output_send_via(w, pidx, m, r->aux);
	if (v < 0) {
		drop(w, m, -v);
		return NULL;
	}
	sw->peer[ss->slot[pi]].forwarded_out++;
	w->stats.forwarded_out++;
	return NULL;
}

struct fnat_conn *
sync_server_miss(struct fnat_worker *w, const struct fnat_snapshot *s,
		 const struct fnat_sync_state *ss, const struct fnat_key *k)
{
	struct fnat_conn *r = record_of(w, k, FNAT_DIR_OUT);
	if (r == NULL)
		return NULL;
	if (sync_is_standby_lip(ss, k->dst))
		act_for_dp(w->dp, k->dst);
	else if (own_lip_id(s, k->dst) == FNAT_LIP_FOREIGN)
		return NULL;
	return adopt(w, s, r);
}

/* After a takeover: every record of a LIP this node now acts for, in this worker's slice of
 * ports, becomes a session here (announced to the peers with this node as the owner). */
static void
takeover_sweep(struct fnat_worker *w, const struct fnat_snapshot *s)
{
	struct fnat_conn_table *t = &w->sync->rt;
	for (uint32_t i = 0; i < t->hwm; i++) {
		struct fnat_conn *r = &t->conns[i];
		if (r->proto != 0 && acting_for(w->dp, r->laddr) &&
		    lport_owner(w->dp->n_workers, rte_be_to_cpu_16(r->lport)) == w->id)
			adopt(w, s, r);
	}
}

/* ---- the loop's share ---- */

static void
sweep(struct fnat_worker *w, const struct fnat_sync_state *ss)
{
	struct fnat_sync_worker *sw = w->sync;
	struct fnat_dp *dp = w->dp;
	uint32_t gen = __atomic_load_n(&dp->sync_sweep_gen, __ATOMIC_ACQUIRE);
	if (gen != sw->sweep_seen_gen) {
		sw->sweep_seen_gen = gen;
		sw->sweep_req = __atomic_load_n(&dp->sync_sweep_req, __ATOMIC_ACQUIRE);
		sw->sweep_active = true;
		sw->sweep_pos = 0;
		sw->sweep_start_ms = w->now_ms;
	} else if (!sw->sweep_active && w->now_ms - sw->sweep_start_ms >= ss->refresh_ms) {
		sw->sweep_req = 0;
		sw->sweep_active = true;
		sw->sweep_pos = 0;
		sw->sweep_start_ms = w->now_ms;
	}
	if (!sw->sweep_active)
		return;
	const struct fnat_conn_table *t = &w->ct;
	uint32_t budget = dp->test_mode ? t->hwm : SYNC_SWEEP_BUDGET;
	for (uint32_t n = 0; n < budget && sw->sweep_pos < t->hwm; n++) {
		const struct fnat_conn *c = &t->conns[sw->sweep_pos++];
		if (c->proto != 0)
			sync_record(w, c, FNAT_SYNC_OP_ADD);
	}
	if (sw->sweep_pos < t->hwm)
		return;
	sw->sweep_active = false;
	if (sw->sweep_req != 0) {
		flush_records(w, ss);
		tx_send(w, ss, FNAT_SYNC_T_END, sw->sweep_req);
	}
}

static void
expire_records(struct fnat_worker *w)
{
	struct fnat_sync_worker *sw = w->sync;
	struct fnat_conn_table *t = &sw->rt;
	if (t->hwm == 0 || w->now_ms == sw->rt_last_scan_ms)
		return;
	uint64_t elapsed = w->now_ms - sw->rt_last_scan_ms;
	uint32_t budget = w->dp->test_mode ?
				  t->hwm :
				  (uint32_t)RTE_MIN((uint64_t)t->hwm * elapsed / 1000 + 16, (uint64_t)65536);
	sw->rt_last_scan_ms = w->now_ms;
	uint32_t now = (uint32_t)w->now_ms;
	for (uint32_t k = 0; k < budget && k < t->hwm; k++) {
		if (sw->rt_scan_pos >= t->hwm)
			sw->rt_scan_pos = 0;
		struct fnat_conn *c = &t->conns[sw->rt_scan_pos++];
		if (c->proto != 0 && (int32_t)(c->expire - now) <= 0) {
			uint16_t own = own_lip_id(dp_snapshot(w->dp), c->laddr);
			if (own != FNAT_LIP_FOREIGN)
				session_lport_busy_set(w, own, c->lport, false);
			conn_remove(t, c);
			w->stats.records_expired++;
		}
	}
	w->stats.records_active = t->active;
}

void
sync_poll(struct fnat_worker *w)
{
	const struct fnat_sync_state *ss = sync_state(w->dp);
	if (ss == NULL)
		return;
	struct fnat_sync_worker *sw = w->sync;
	struct rte_mbuf *in[FNAT_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(sw->in, (void **)in, FNAT_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		size_t body;
		const uint8_t *p = payload_of(in[i], &body);
		int pi = conf_peer_index(ss, ((const struct fnat_sync_hdr *)p)->node);
		if (pi >= 0)
			records_apply(w, ss, p, body, ss->slot[pi]);
		discard(w, in[i]);
	}
	struct fnat_dp *dp = w->dp;
	uint32_t req_gen = __atomic_load_n(&dp->sync_req_gen, __ATOMIC_ACQUIRE);
	if (w->id == 0 && req_gen != sw->req_sent_gen) {
		sw->req_sent_gen = req_gen;
		flush_records(w, ss);
		tx_send(w, ss, FNAT_SYNC_T_REQUEST, __atomic_load_n(&dp->sync_req_id,
								    __ATOMIC_ACQUIRE));
	}
	uint32_t tgen = __atomic_load_n(&dp->sync_takeover_gen, __ATOMIC_ACQUIRE);
	if (tgen != sw->takeover_seen_gen) {
		sw->takeover_seen_gen = tgen;
		takeover_sweep(w, dp_snapshot(dp));
	}
	sweep(w, ss);
	expire_records(w);
	if (sw->tx_count > 0 && (dp->test_mode || w->now_ms - sw->tx_since_ms >= ss->flush_ms))
		flush_records(w, ss);
}

/* The instance's start, in ms since the Unix epoch: a restarted node's datagrams are newer
 * than anything its previous life sent. */
uint64_t
sync_epoch_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
