/* The packet path of one worker: a short pipeline of stages that each return a verdict.
 *
 *   rx burst → parse and validate (drop malformed, counted by reason) → classify by destination
 *   (VIP, LIP, ARP, neither) → hand a reply that belongs to another worker to its owner →
 *   prefetch the session buckets of the whole burst → look up / create the session → translate
 *   (FULLNAT, TOA, ISN shift, SACK) → next hop → tx buffer.
 *
 * Everything a worker writes (sessions, counters, port pools, scheduler state) is its own; the
 * configuration snapshot is read under RCU (quiescent state reported once per loop).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "csum.h"
#include "dp_pvt.h"
#include "synproxy.h"
#include "tcpopt.h"
#include "worker_pvt.h"

uint64_t
dp_now_ms(const struct fnat_dp *dp)
{
	if (dp->test_mode)
		return dp->test_clock_ms;
	return (rte_get_tsc_cycles() - dp->tsc_start) * 1000 / dp->tsc_hz + 1000;
}

/* ---- output ---- */

void
tx_frame(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m)
{
	struct fnat_txq *q = &w->txq[pidx];
	if (q->n == FNAT_TX_BUF)
		worker_tx_flush(w);
	q->m[q->n++] = m;
}

void
worker_tx_flush(struct fnat_worker *w)
{
	struct fnat_dp *dp = w->dp;
	for (unsigned p = 0; p < dp->opts.n_ports; p++) {
		struct fnat_txq *q = &w->txq[p];
		if (q->n == 0)
			continue;
		uint16_t sent = rte_eth_tx_burst(dp->opts.ports[p].port_id, (uint16_t)w->id, q->m, q->n);
		if (sent < q->n) {
			w->stats.drops[FNAT_DROP_TX_FULL] += q->n - sent;
			rte_pktmbuf_free_bulk(&q->m[sent], q->n - sent);
		}
		q->n = 0;
	}
}

static void
send_arp_request(struct fnat_worker *w, unsigned pidx, uint32_t target)
{
	/* Rate limit: one request per target per second per worker (a small direct-mapped
	 * memory of recent targets). */
	unsigned slot = rte_hash_crc_4byte(target, 1) % RTE_DIM(w->arp_last_addr);
	if (w->arp_last_addr[slot] == target && w->now_ms - w->arp_last_ms[slot] < 1000)
		return;
	w->arp_last_addr[slot] = target;
	w->arp_last_ms[slot] = w->now_ms;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->pool);
	if (m == NULL)
		return;
	const struct fnat_port_conf *pc = &w->dp->opts.ports[pidx];
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr));
	if (eh == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	memset(&eh->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(&eh->src_addr, pc->mac, RTE_ETHER_ADDR_LEN);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(&ah->arp_data.arp_sha, pc->mac, RTE_ETHER_ADDR_LEN);
	ah->arp_data.arp_sip = pc->addr;
	memset(&ah->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	ah->arp_data.arp_tip = target;
	tx_frame(w, pidx, m);
}

static bool
on_link(const struct fnat_port_conf *pc, uint32_t dst)
{
	if (pc->prefix_len == 0)
		return false;
	uint32_t mask = rte_cpu_to_be_32(pc->prefix_len >= 32 ? 0xffffffffu :
							       ~(0xffffffffu >> pc->prefix_len));
	return (dst & mask) == (pc->addr & mask);
}

int
l2_send(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m, uint32_t dst)
{
	const struct fnat_port_conf *pc = &w->dp->opts.ports[pidx];
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint8_t mac[6];
	uint32_t nh = dst;
	if (!neigh_get(w->dp, dst, mac)) {
		if (!on_link(pc, dst) && w->dp->opts.gateway != 0)
			nh = w->dp->opts.gateway;
		if (nh == dst || !neigh_get(w->dp, nh, mac)) {
			send_arp_request(w, pidx, nh);
			return -FNAT_DROP_NEIGH_UNRESOLVED;
		}
	}
	memcpy(&eh->dst_addr, mac, RTE_ETHER_ADDR_LEN);
	memcpy(&eh->src_addr, pc->mac, RTE_ETHER_ADDR_LEN);
	tx_frame(w, pidx, m);
	return 0;
}

static inline void
drop(struct fnat_worker *w, struct rte_mbuf *m, int reason)
{
	w->stats.drops[reason]++;
	rte_pktmbuf_free(m);
}

/* ---- ARP (worker 0) ---- */

static void
handle_arp(struct fnat_worker *w, struct rte_mbuf *m, unsigned pidx)
{
	struct fnat_dp *dp = w->dp;
	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr)) {
		drop(w, m, FNAT_DROP_BAD_ARP);
		return;
	}
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != 4) {
		drop(w, m, FNAT_DROP_BAD_ARP);
		return;
	}
	uint16_t op = rte_be_to_cpu_16(ah->arp_opcode);
	uint32_t sip = ah->arp_data.arp_sip, tip = ah->arp_data.arp_tip;
	const struct fnat_snapshot *s = dp_snapshot(dp);
	bool ours = snap_addr(s, tip) != 0;
	/* Learn the sender when it is talking to us or answering us (not every ARP on the link). */
	if (sip != 0 && (ours || op == RTE_ARP_OP_REPLY || tip == dp->opts.ports[pidx].addr))
		neigh_set(dp, sip, ah->arp_data.arp_sha.addr_bytes, false);
	if (op != RTE_ARP_OP_REQUEST || !ours) {
		w->stats.ignored++;
		rte_pktmbuf_free(m);
		return;
	}
	const uint8_t *mymac = dp->opts.ports[pidx].mac;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	ah->arp_data.arp_tha = ah->arp_data.arp_sha;
	ah->arp_data.arp_tip = sip;
	memcpy(&ah->arp_data.arp_sha, mymac, RTE_ETHER_ADDR_LEN);
	ah->arp_data.arp_sip = tip;
	eh->dst_addr = ah->arp_data.arp_tha;
	memcpy(&eh->src_addr, mymac, RTE_ETHER_ADDR_LEN);
	/* Trim any Ethernet padding so the reply is exactly the ARP message. */
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (uint32_t)(sizeof(*eh) + sizeof(*ah)));
	w->stats.arp_replies++;
	tx_frame(w, pidx, m);
}

/* ---- validation ---- */

/* Validates Ethernet + IPv4; trims padding. Returns the IPv4 header or NULL after dropping. */
static struct rte_ipv4_hdr *
parse_ipv4(struct fnat_worker *w, struct rte_mbuf *m, unsigned *ihl_out)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	if (len < sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr)) {
		drop(w, m, FNAT_DROP_TRUNCATED_IPV4);
		return NULL;
	}
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));
	uint32_t avail = len - (uint32_t)sizeof(struct rte_ether_hdr);
	if ((ip->version_ihl >> 4) != 4) {
		drop(w, m, FNAT_DROP_BAD_IPV4_VERSION);
		return NULL;
	}
	unsigned ihl = (ip->version_ihl & 0xf) * 4u;
	if (ihl < 20) {
		drop(w, m, FNAT_DROP_BAD_IPV4_IHL);
		return NULL;
	}
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < 20 || tot > avail) {
		drop(w, m, FNAT_DROP_BAD_IPV4_TOTAL_LENGTH);
		return NULL;
	}
	if (ihl > tot) {
		drop(w, m, FNAT_DROP_BAD_IPV4_IHL);
		return NULL;
	}
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	     rte_raw_cksum(ip, ihl) != 0xffff)) {
		drop(w, m, FNAT_DROP_BAD_IPV4_CHECKSUM);
		return NULL;
	}
	if (tot < avail)
		rte_pktmbuf_trim(m, avail - tot);
	*ihl_out = ihl;
	return ip;
}

/* Validates the L4 header of a packet for us. Returns 0 or a drop reason (negative). */
static int
check_l4(struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	unsigned l4len = rte_be_to_cpu_16(ip->total_length) - 20u;
	void *l4 = (uint8_t *)ip + 20;
	bool l4_good = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	bool l4_bad = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD;
	if (ip->next_proto_id == IPPROTO_TCP) {
		if (l4len < 20)
			return -FNAT_DROP_TRUNCATED_TCP;
		struct rte_tcp_hdr *th = l4;
		unsigned doff = (th->data_off >> 4) * 4u;
		if (doff < 20 || doff > l4len)
			return -FNAT_DROP_BAD_TCP_DATA_OFFSET;
		if (doff > 20 && !tcpopt_valid((uint8_t *)(th + 1), doff - 20))
			return -FNAT_DROP_TCP_OPTIONS_OVERRUN;
		if (l4_bad || (!l4_good && !csum_l4_ok(ip, th, l4len)))
			return -FNAT_DROP_BAD_TCP_CHECKSUM;
		return 0;
	}
	if (ip->next_proto_id == IPPROTO_UDP) {
		if (l4len < 8)
			return -FNAT_DROP_TRUNCATED_UDP;
		struct rte_udp_hdr *uh = l4;
		if (rte_be_to_cpu_16(uh->dgram_len) != l4len)
			return -FNAT_DROP_BAD_UDP_LENGTH;
		if (uh->dgram_cksum != 0 &&
		    (l4_bad || (!l4_good && !csum_l4_ok(ip, uh, l4len))))
			return -FNAT_DROP_BAD_UDP_CHECKSUM;
		return 0;
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		if (l4len < 8 || rte_raw_cksum(l4, l4len) != 0xffff)
			return -FNAT_DROP_BAD_ICMP;
		return 0;
	}
	return 1; /* another protocol: not ours to translate */
}

/* ---- sessions ---- */

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
	return svc != NULL ? svc->timeout_ms[t] : default_timeout_ms(t);
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
	w->rs_ctr[c->rs_id].pkts_in++;
	w->rs_ctr[c->rs_id].bytes_in += bytes;
}

static inline void
count_out(struct fnat_worker *w, const struct fnat_conn *c, uint32_t bytes)
{
	w->stats.traffic.pkts_out++;
	w->stats.traffic.bytes_out += bytes;
	w->svc_ctr[c->svc_id].pkts_out++;
	w->svc_ctr[c->svc_id].bytes_out += bytes;
	w->rs_ctr[c->rs_id].pkts_out++;
	w->rs_ctr[c->rs_id].bytes_out += bytes;
}

static inline void
active_add(struct fnat_worker *w, const struct fnat_conn *c, int64_t d)
{
	/* Relaxed atomics: the control thread reads these for id reuse and stats. */
	__atomic_fetch_add(&w->stats.traffic.sessions_active, d, __ATOMIC_RELAXED);
	__atomic_fetch_add(&w->svc_ctr[c->svc_id].sessions_active, d, __ATOMIC_RELAXED);
	__atomic_fetch_add(&w->rs_ctr[c->rs_id].sessions_active, d, __ATOMIC_RELAXED);
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

void
conn_free(struct fnat_worker *w, struct fnat_conn *c)
{
	synproxy_conn_freed(w, c);
	active_add(w, c, -1);
	port_free(w, c->lip_id, c->lport);
	conn_remove(&w->ct, c);
}

/* Choose a LIP and one of this worker's ports of it: LIPs in turn, FIFO ports. */
static int
port_alloc(struct fnat_worker *w, const struct fnat_snapshot *s, uint32_t *lip, uint16_t *lip_id,
	   uint16_t *port_be)
{
	for (uint32_t k = 0; k < s->n_lips; k++) {
		uint32_t i = (w->lip_cursor + k) % s->n_lips;
		struct fnat_port_pool *p = w->dp->lip_pools[s->lips[i].id][w->id];
		if (p->count == 0)
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
isn_target(const struct fnat_worker *w, const struct fnat_conn *c)
{
	const uint64_t *key = w->dp->isn_key;
	uint32_t h = rte_hash_crc_8byte(((uint64_t)c->laddr << 32) | c->raddr, (uint32_t)key[0]);
	h = rte_hash_crc_4byte(((uint32_t)c->lport << 16) | c->rport, h ^ (uint32_t)(key[0] >> 32));
	h = rte_hash_crc_4byte(h, (uint32_t)key[1]);
	return h + (uint32_t)(w->now_ms * 250); /* 4 µs per increment, like the kernel */
}

struct fnat_conn *
conn_create(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_svc *svc,
	    const struct fnat_key *k, int *reason)
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
	struct fnat_conn *c = conn_alloc(&w->ct);
	if (c == NULL) {
		port_free(w, lip_id, lport);
		*reason = FNAT_DROP_TABLE_FULL;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->caddr = k->src;
	c->vaddr = k->dst;
	c->cport = k->sport;
	c->vport = k->dport;
	c->laddr = lip;
	c->lport = lport;
	c->lip_id = lip_id;
	c->raddr = rs->addr;
	c->rport = rs->port;
	c->proto = k->proto;
	c->svc_id = svc->id;
	c->rs_id = rs->id;
	c->state = k->proto == IPPROTO_UDP ? FNAT_S_UDP : FNAT_S_NONE;
	if (k->proto == IPPROTO_TCP && (svc->flags & FNAT_SVC_F_TOA))
		c->flags |= FNAT_CONN_F_TOA_PENDING;
	if (svc->flags & FNAT_SVC_F_EXPIRE_ON_REMOVE)
		c->flags |= FNAT_CONN_F_EXPIRE_ON_REMOVE;
	if (conn_insert(&w->ct, c) < 0) {
		conn_release(&w->ct, c);
		port_free(w, lip_id, lport);
		*reason = FNAT_DROP_TABLE_FULL;
		return NULL;
	}
	w->stats.traffic.sessions_new++;
	w->svc_ctr[c->svc_id].sessions_new++;
	w->rs_ctr[c->rs_id].sessions_new++;
	active_add(w, c, 1);
	return c;
}

/* ---- TCP state machine (IPVS-like, per direction) ---- */

static void
tcp_state_in(struct fnat_conn *c, uint8_t f)
{
	if (f & RTE_TCP_RST_FLAG) {
		c->state = FNAT_S_CLOSE;
		return;
	}
	if ((f & RTE_TCP_SYN_FLAG) && !(f & RTE_TCP_ACK_FLAG)) {
		if (c->state == FNAT_S_NONE)
			c->state = FNAT_S_SYN_SENT;
		return;
	}
	if (f & RTE_TCP_FIN_FLAG) {
		c->flags |= FNAT_CONN_F_CLIENT_FIN;
		if (c->state == FNAT_S_CLOSE_WAIT)
			c->state = FNAT_S_LAST_ACK;
		else if (c->flags & FNAT_CONN_F_RS_FIN)
			c->state = FNAT_S_TIME_WAIT;
		else if (c->state <= FNAT_S_ESTABLISHED)
			c->state = FNAT_S_FIN_WAIT;
		return;
	}
	if ((f & RTE_TCP_ACK_FLAG) && c->state == FNAT_S_SYN_RECV)
		c->state = FNAT_S_ESTABLISHED;
}

static void
tcp_state_out(struct fnat_conn *c, uint8_t f)
{
	if (f & RTE_TCP_RST_FLAG) {
		c->state = FNAT_S_CLOSE;
		return;
	}
	if ((f & RTE_TCP_SYN_FLAG) && (f & RTE_TCP_ACK_FLAG)) {
		if (c->state == FNAT_S_SYN_SENT || c->state == FNAT_S_NONE)
			c->state = FNAT_S_SYN_RECV;
		return;
	}
	if (f & RTE_TCP_FIN_FLAG) {
		c->flags |= FNAT_CONN_F_RS_FIN;
		if (c->state == FNAT_S_FIN_WAIT)
			c->state = FNAT_S_TIME_WAIT;
		else if (c->state <= FNAT_S_ESTABLISHED)
			c->state = FNAT_S_CLOSE_WAIT;
		return;
	}
	if ((f & RTE_TCP_ACK_FLAG) && c->state == FNAT_S_LAST_ACK)
		c->state = FNAT_S_CLOSE;
}

/* ---- translation ---- */

static inline bool
ttl_dec(struct rte_ipv4_hdr *ip)
{
	if (ip->time_to_live <= 1)
		return false;
	uint16_t old = *(uint16_t *)&ip->time_to_live;
	ip->time_to_live--;
	csum_replace2(&ip->hdr_checksum, old, *(uint16_t *)&ip->time_to_live);
	return true;
}

/* Rewrite the IPv4 addresses, updating the IP checksum and (when l4csum is given) the L4
 * checksum's pseudo-header part. */
static inline void
ip_rewrite(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst, void *l4csum)
{
	csum_replace4(&ip->hdr_checksum, ip->src_addr, src);
	csum_replace4(&ip->hdr_checksum, ip->dst_addr, dst);
	if (l4csum != NULL) {
		csum_replace4(l4csum, ip->src_addr, src);
		csum_replace4(l4csum, ip->dst_addr, dst);
	}
	ip->src_addr = src;
	ip->dst_addr = dst;
}

/* Insert TOA right after the TCP header (options rebuilt with TOA first). The headers move 8
 * bytes towards the front of the buffer; the payload stays where it is. */
static bool
toa_insert(struct fnat_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr **ipp,
	   struct rte_tcp_hdr **thp, const struct fnat_conn *c, unsigned mtu)
{
	struct rte_ipv4_hdr *ip = *ipp;
	struct rte_tcp_hdr *th = *thp;
	unsigned doff = (th->data_off >> 4) * 4u;
	uint8_t opts[40];
	int n = tcpopt_build_with_toa((uint8_t *)(th + 1), doff - 20, w->dp->toa_kind, c->cport,
				      c->caddr, opts);
	if (n < 0)
		return false;
	int grow = 20 + n - (int)doff;
	if (rte_be_to_cpu_16(ip->total_length) + grow > (int)mtu)
		return false;
	unsigned hdrs = (unsigned)sizeof(struct rte_ether_hdr) + 20 + 20; /* moved part */
	uint8_t *old_start = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *start;
	if (grow > 0) {
		start = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)grow);
		if (start == NULL)
			return false;
		memmove(start, old_start, hdrs);
	} else if (grow < 0) {
		start = old_start - grow;
		memmove(start, old_start, hdrs);
		rte_pktmbuf_adj(m, (uint16_t)-grow);
	} else {
		start = old_start;
	}
	ip = (struct rte_ipv4_hdr *)(start + sizeof(struct rte_ether_hdr));
	th = (struct rte_tcp_hdr *)(ip + 1);
	memcpy(th + 1, opts, (size_t)n);
	th->data_off = (uint8_t)(((20 + n) / 4) << 4);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->total_length) + grow));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*ipp = ip;
	*thp = th;
	return true;
}

static inline unsigned
port_mtu(const struct fnat_worker *w, unsigned pidx)
{
	unsigned mtu = w->dp->opts.ports[pidx].mtu;
	return mtu ? mtu : RTE_ETHER_MTU;
}

/* Client → real server. */
int
xlate_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c,
	 struct rte_mbuf *m, struct rte_ipv4_hdr *ip, unsigned pidx)
{
	uint32_t bytes = rte_pktmbuf_pkt_len(m);
	if (!ttl_dec(ip))
		return -FNAT_DROP_TTL_EXCEEDED;
	if (c->proto == IPPROTO_UDP) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
		void *ck = uh->dgram_cksum ? (void *)&uh->dgram_cksum : NULL;
		ip_rewrite(ip, c->laddr, c->raddr, ck);
		if (ck) {
			csum_replace2(ck, uh->src_port, c->lport);
			csum_replace2(ck, uh->dst_port, c->rport);
			csum_udp_fix(ck);
		}
		uh->src_port = c->lport;
		uh->dst_port = c->rport;
		conn_touch(w, s, c);
		count_in(w, c, bytes);
		return l2_send(w, pidx, m, c->raddr);
	}
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t f = th->tcp_flags;
	unsigned doff = (th->data_off >> 4) * 4u;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint32_t plen = rte_be_to_cpu_16(ip->total_length) - 20u - doff;
	tcp_state_in(c, f);
	c->c_seq_end = seq + plen + !!(f & RTE_TCP_SYN_FLAG) + !!(f & RTE_TCP_FIN_FLAG);
	if (f & RTE_TCP_ACK_FLAG)
		c->c_ack = rte_be_to_cpu_32(th->recv_ack);
	bool full = false;
	if ((f & RTE_TCP_SYN_FLAG) && !(f & RTE_TCP_ACK_FLAG) && doff > 20) {
		const struct fnat_svc *svc = svc_of(s, c);
		uint8_t *opt = (uint8_t *)(th + 1);
		if (svc != NULL && (svc->flags & FNAT_SVC_F_TOA))
			full |= tcpopt_lower_mss(opt, doff - 20, TOA_LEN);
		if (svc != NULL && (svc->flags & FNAT_SVC_F_STRIP_TS))
			full |= tcpopt_strip_ts(opt, doff - 20);
	}
	if (c->flags & FNAT_CONN_F_SYNPROXY)
		full |= synproxy_in_ack(c, th, doff);
	uint32_t nseq = rte_cpu_to_be_32(seq + c->seq_delta);
	if ((c->flags & FNAT_CONN_F_TOA_PENDING) && !(f & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG))) {
		if (toa_insert(w, m, &ip, &th, c, port_mtu(w, pidx))) {
			w->stats.toa_inserted++;
			full = true;
		} else {
			w->stats.toa_failed++;
		}
	}
	if (full) {
		th->sent_seq = nseq;
		th->src_port = c->lport;
		th->dst_port = c->rport;
		ip_rewrite(ip, c->laddr, c->raddr, NULL);
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	} else {
		csum_replace4(&th->cksum, th->sent_seq, nseq);
		csum_replace2(&th->cksum, th->src_port, c->lport);
		csum_replace2(&th->cksum, th->dst_port, c->rport);
		th->sent_seq = nseq;
		th->src_port = c->lport;
		th->dst_port = c->rport;
		ip_rewrite(ip, c->laddr, c->raddr, &th->cksum);
	}
	conn_touch(w, s, c);
	count_in(w, c, bytes);
	return l2_send(w, pidx, m, c->raddr);
}

/* Real server → client. */
int
xlate_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c,
	  struct rte_mbuf *m, struct rte_ipv4_hdr *ip, unsigned pidx)
{
	uint32_t bytes = rte_pktmbuf_pkt_len(m);
	if (!ttl_dec(ip))
		return -FNAT_DROP_TTL_EXCEEDED;
	if (c->proto == IPPROTO_UDP) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
		void *ck = uh->dgram_cksum ? (void *)&uh->dgram_cksum : NULL;
		ip_rewrite(ip, c->vaddr, c->caddr, ck);
		if (ck) {
			csum_replace2(ck, uh->src_port, c->vport);
			csum_replace2(ck, uh->dst_port, c->cport);
			csum_udp_fix(ck);
		}
		uh->src_port = c->vport;
		uh->dst_port = c->cport;
		conn_touch(w, s, c);
		count_out(w, c, bytes);
		return l2_send(w, pidx, m, c->caddr);
	}
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t f = th->tcp_flags;
	unsigned doff = (th->data_off >> 4) * 4u;
	if (c->flags & FNAT_CONN_F_SYNPROXY) {
		int v = synproxy_out(w, s, c, m, ip, th, pidx);
		if (v != SYNPROXY_CONTINUE)
			return v;
		f = th->tcp_flags;
	}
	tcp_state_out(c, f);
	if (!(f & RTE_TCP_SYN_FLAG))
		c->flags &= (uint8_t)~FNAT_CONN_F_TOA_PENDING;
	bool full = false;
	if ((f & RTE_TCP_ACK_FLAG) && doff > 20)
		full = tcpopt_shift_sack((uint8_t *)(th + 1), doff - 20, (uint32_t)-c->seq_delta);
	uint32_t nack = th->recv_ack;
	if (f & RTE_TCP_ACK_FLAG)
		nack = rte_cpu_to_be_32(rte_be_to_cpu_32(th->recv_ack) - c->seq_delta);
	uint32_t nseq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) + c->sp_delta);
	if (full) {
		th->recv_ack = nack;
		th->sent_seq = nseq;
		th->src_port = c->vport;
		th->dst_port = c->cport;
		ip_rewrite(ip, c->vaddr, c->caddr, NULL);
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	} else {
		csum_replace4(&th->cksum, th->recv_ack, nack);
		csum_replace4(&th->cksum, th->sent_seq, nseq);
		csum_replace2(&th->cksum, th->src_port, c->vport);
		csum_replace2(&th->cksum, th->dst_port, c->cport);
		th->recv_ack = nack;
		th->sent_seq = nseq;
		th->src_port = c->vport;
		th->dst_port = c->cport;
		ip_rewrite(ip, c->vaddr, c->caddr, &th->cksum);
	}
	conn_touch(w, s, c);
	count_out(w, c, bytes);
	return l2_send(w, pidx, m, c->caddr);
}

/* ---- packets the data plane makes itself ---- */

struct rte_mbuf *
make_ipv4(struct fnat_worker *w, uint32_t src, uint32_t dst, uint8_t proto, unsigned l4len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->pool);
	if (m == NULL)
		return NULL;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(struct rte_ether_hdr) + 20 +
								 l4len));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	ip->version_ihl = 0x45;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + l4len));
	ip->packet_id = rte_cpu_to_be_16(w->ip_id++);
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

/* A bare TCP segment (no options) ready for l2_send; seq/ack host order. */
struct rte_mbuf *
make_tcp(struct fnat_worker *w, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
	 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window)
{
	struct rte_mbuf *m = make_ipv4(w, src, dst, IPPROTO_TCP, 20);
	if (m == NULL)
		return NULL;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(window);
	th->tcp_urp = 0;
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

/* An established session that times out: RST to both sides, so neither keeps a half-open
 * socket (the real server would otherwise hold it until its own keepalive). */
static void
send_rst_both(struct fnat_worker *w, const struct fnat_conn *c)
{
	uint32_t srv = c->c_ack;        /* the server's next sequence number, client space */
	uint32_t cl = c->c_seq_end;     /* the client's next sequence number, client space */
	struct rte_mbuf *m = make_tcp(w, c->laddr, c->raddr, c->lport, c->rport,
				      cl + c->seq_delta, srv - c->sp_delta,
				      RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0);
	if (m != NULL && l2_send(w, 0, m, c->raddr) < 0)
		rte_pktmbuf_free(m);
	m = make_tcp(w, c->vaddr, c->caddr, c->vport, c->cport, srv, cl,
		     RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0);
	if (m != NULL && l2_send(w, 0, m, c->caddr) < 0)
		rte_pktmbuf_free(m);
}

void
worker_expire_scan(struct fnat_worker *w, uint32_t budget)
{
	const struct fnat_snapshot *s = dp_snapshot(w->dp);
	struct fnat_conn_table *t = &w->ct;
	if (t->hwm == 0)
		return;
	uint32_t now = (uint32_t)w->now_ms;
	for (uint32_t k = 0; k < budget && k < t->hwm; k++) {
		if (w->scan_pos >= t->hwm)
			w->scan_pos = 0;
		struct fnat_conn *c = &t->conns[w->scan_pos++];
		if (c->proto == 0)
			continue;
		bool removed = (c->flags & FNAT_CONN_F_EXPIRE_ON_REMOVE) && !s->real_live[c->rs_id];
		if (c->flags & FNAT_CONN_F_SP_WAIT_RS) {
			if (synproxy_timer(w, s, c))
				continue;
		}
		if ((int32_t)(c->expire - now) > 0 && !removed)
			continue;
		if (c->state == FNAT_S_ESTABLISHED)
			send_rst_both(w, c);
		conn_free(w, c);
	}
}

/* ---- ICMP ---- */

static void
icmp_echo_reply(struct fnat_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, unsigned pidx)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	uint32_t me = ip->dst_addr, peer = ip->src_addr;
	csum_replace2(&ic->icmp_cksum, *(uint16_t *)&ic->icmp_type, (uint16_t)0);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_code = 0;
	ip->type_of_service = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->packet_id = rte_cpu_to_be_16(w->ip_id++);
	ip->src_addr = me;
	ip->dst_addr = peer;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	int v = l2_send(w, pidx, m, peer);
	if (v < 0)
		drop(w, m, -v);
}

/* An ICMP error quoting one of our packets: find the session from the quoted header, rewrite
 * the quote to what the other side sent, and send the error there from the VIP (to a client) or
 * from the LIP (to a real server). */
static void
icmp_error(struct fnat_worker *w, const struct fnat_snapshot *s, struct rte_mbuf *m,
	   struct rte_ipv4_hdr *ip, unsigned pidx, bool to_lip)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	unsigned l4len = rte_be_to_cpu_16(ip->total_length) - 20u;
	struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)(ic + 1);
	if (l4len < 8 + 20 + 8 || (in->version_ihl & 0xf) != 5 ||
	    (in->next_proto_id != IPPROTO_TCP && in->next_proto_id != IPPROTO_UDP)) {
		drop(w, m, FNAT_DROP_BAD_ICMP);
		return;
	}
	uint16_t *ports = (uint16_t *)(in + 1);
	struct fnat_key k = { .proto = in->next_proto_id };
	if (to_lip) {
		/* We sent LIP:lport → RS:rport; the session's OUT key is the reverse. */
		if (lport_owner(w->dp->n_workers, rte_be_to_cpu_16(ports[0])) != w->id) {
			handoff(w, m, lport_owner(w->dp->n_workers, rte_be_to_cpu_16(ports[0])));
			return;
		}
		k.src = in->dst_addr;
		k.dst = in->src_addr;
		k.sport = ports[1];
		k.dport = ports[0];
	} else {
		/* We sent VIP:vport → client:cport; the IN key is the reverse. */
		k.src = in->dst_addr;
		k.dst = in->src_addr;
		k.sport = ports[1];
		k.dport = ports[0];
	}
	int dir;
	struct fnat_conn *c = conn_lookup(&w->ct, &k, fnat_key_hash(&k, w->ct.seed), &dir);
	if (c == NULL) {
		drop(w, m, FNAT_DROP_NO_SESSION);
		return;
	}
	const struct fnat_svc *svc = svc_of(s, c);
	uint32_t osrc, odst;
	if (to_lip) {
		in->src_addr = c->caddr;
		in->dst_addr = c->vaddr;
		ports[0] = c->cport;
		ports[1] = c->vport;
		if (in->next_proto_id == IPPROTO_TCP) {
			uint32_t *seq = (uint32_t *)(ports + 2);
			*seq = rte_cpu_to_be_32(rte_be_to_cpu_32(*seq) - c->seq_delta);
		}
		osrc = c->vaddr;
		odst = c->caddr;
		/* The client's segments get TOA on the way in: leave room for it. */
		if (ic->icmp_type == 3 && ic->icmp_code == 4 && svc != NULL &&
		    (svc->flags & FNAT_SVC_F_TOA)) {
			uint16_t *mtu = (uint16_t *)((uint8_t *)ic + 6);
			uint16_t v = rte_be_to_cpu_16(*mtu);
			if (v > 576 + TOA_LEN)
				*mtu = rte_cpu_to_be_16((uint16_t)(v - TOA_LEN));
		}
	} else {
		in->src_addr = c->raddr;
		in->dst_addr = c->laddr;
		ports[0] = c->rport;
		ports[1] = c->lport;
		osrc = c->laddr;
		odst = c->raddr;
	}
	in->hdr_checksum = 0;
	in->hdr_checksum = rte_ipv4_cksum(in);
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, l4len);
	ip->type_of_service = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->packet_id = rte_cpu_to_be_16(w->ip_id++);
	ip->src_addr = osrc;
	ip->dst_addr = odst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	w->stats.icmp_translated++;
	int v = l2_send(w, pidx, m, odst);
	if (v < 0)
		drop(w, m, -v);
}

static void
handle_icmp(struct fnat_worker *w, const struct fnat_snapshot *s, struct rte_mbuf *m,
	    struct rte_ipv4_hdr *ip, unsigned pidx, bool to_lip)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	switch (ic->icmp_type) {
	case RTE_IP_ICMP_ECHO_REQUEST:
		icmp_echo_reply(w, m, ip, pidx);
		return;
	case 3:  /* destination unreachable (fragmentation needed included) */
	case 4:  /* source quench */
	case 11: /* time exceeded */
	case 12: /* parameter problem */
		icmp_error(w, s, m, ip, pidx, to_lip);
		return;
	default:
		w->stats.ignored++;
		rte_pktmbuf_free(m);
	}
}

/* ---- handoff ---- */

void
handoff(struct fnat_worker *w, struct rte_mbuf *m, uint32_t owner)
{
	if (rte_ring_mp_enqueue(w->dp->workers[owner]->handoff, m) != 0) {
		drop(w, m, FNAT_DROP_HANDOFF_FULL);
		return;
	}
	w->stats.handoffs_out++;
}

/* ---- the burst pipeline ---- */

enum pkind { P_DONE, P_IN, P_OUT };

struct pctx {
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;
	const struct fnat_svc *svc;
	struct fnat_key key;
	uint64_t hash;
	struct fnat_conn *cand; /* signature match found in stage two, prefetched */
	uint32_t cand_ref;
	uint8_t kind;
	uint8_t tcp_flags;
};

/* Stage 1: validate and classify one packet. Packets that need nothing from the session
 * table (ARP, ICMP, foreign, malformed, another worker's) are finished here. */
static void
classify(struct fnat_worker *w, const struct fnat_snapshot *s, struct pctx *p, unsigned pidx)
{
	struct rte_mbuf *m = p->m;
	p->kind = P_DONE;
	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr)) {
		drop(w, m, FNAT_DROP_TRUNCATED_ETHERNET);
		return;
	}
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		if (w->id != 0)
			handoff(w, m, 0);
		else
			handle_arp(w, m, pidx);
		return;
	}
	if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		w->stats.ignored++;
		rte_pktmbuf_free(m);
		return;
	}
	unsigned ihl;
	struct rte_ipv4_hdr *ip = parse_ipv4(w, m, &ihl);
	if (ip == NULL)
		return;
	uint16_t a = snap_addr(s, ip->dst_addr);
	if (a == 0) {
		w->stats.ignored++;
		rte_pktmbuf_free(m);
		return;
	}
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		drop(w, m, FNAT_DROP_IPV4_FRAGMENT);
		return;
	}
	if (ihl > 20) {
		drop(w, m, FNAT_DROP_IPV4_OPTIONS);
		return;
	}
	int v = check_l4(m, ip);
	if (v < 0) {
		drop(w, m, -v);
		return;
	}
	if (v > 0) {
		w->stats.ignored++;
		rte_pktmbuf_free(m);
		return;
	}
	bool to_lip = (a & 0x8000) != 0;
	if (ip->next_proto_id == IPPROTO_ICMP) {
		handle_icmp(w, s, m, ip, pidx, to_lip);
		return;
	}
	uint16_t *ports = (uint16_t *)(ip + 1);
	p->ip = ip;
	p->key.src = ip->src_addr;
	p->key.dst = ip->dst_addr;
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	p->key.proto = ip->next_proto_id;
	p->tcp_flags = ip->next_proto_id == IPPROTO_TCP ? ((struct rte_tcp_hdr *)(ip + 1))->tcp_flags : 0;
	if (to_lip) {
		uint32_t owner = lport_owner(w->dp->n_workers, rte_be_to_cpu_16(ports[1]));
		if (owner != w->id) {
			handoff(w, m, owner);
			return;
		}
		p->kind = P_OUT;
	} else {
		p->svc = snap_svc(s, ip->dst_addr, ports[1], ip->next_proto_id);
		if (p->svc == NULL) {
			drop(w, m, FNAT_DROP_NO_SERVICE);
			return;
		}
		p->kind = P_IN;
	}
	p->hash = fnat_key_hash(&p->key, w->ct.seed);
	conn_prefetch(&w->ct, p->hash);
}

static inline bool
is_pure_syn(uint8_t f)
{
	return (f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) ==
	       RTE_TCP_SYN_FLAG;
}

/* Stage 2: session lookup (or creation) and translation. */
static void
forward(struct fnat_worker *w, const struct fnat_snapshot *s, struct pctx *p, unsigned pidx)
{
	int dir, v;
	struct fnat_conn *c;
	if (p->cand != NULL && conn_key_matches(p->cand, (int)(p->cand_ref & 1), &p->key)) {
		c = p->cand;
		dir = (int)(p->cand_ref & 1);
	} else {
		c = conn_lookup(&w->ct, &p->key, p->hash, &dir);
	}
	if (p->kind == P_OUT) {
		if (c == NULL) {
			drop(w, p->m, FNAT_DROP_NO_SESSION);
			return;
		}
		v = xlate_out(w, s, c, p->m, p->ip, pidx);
		if (v < 0)
			drop(w, p->m, -v);
		return;
	}
	if (p->key.proto == IPPROTO_TCP) {
		/* A new SYN on a closing tuple starts a new session (the client reused its port). */
		if (c != NULL && is_pure_syn(p->tcp_flags) &&
		    (c->state == FNAT_S_TIME_WAIT || c->state == FNAT_S_CLOSE)) {
			conn_free(w, c);
			c = NULL;
		}
		if (p->svc->flags & FNAT_SVC_F_SYNPROXY) {
			v = synproxy_in(w, s, p->svc, &c, p->m, p->ip, &p->key, pidx);
			if (v != SYNPROXY_CONTINUE) {
				if (v < 0)
					drop(w, p->m, -v);
				return;
			}
		} else if (c == NULL) {
			if (!is_pure_syn(p->tcp_flags)) {
				drop(w, p->m, FNAT_DROP_NO_SESSION);
				return;
			}
			c = conn_create(w, s, p->svc, &p->key, &v);
			if (c == NULL) {
				drop(w, p->m, v);
				return;
			}
			c->seq_delta = isn_target(w, c) -
				       rte_be_to_cpu_32(((struct rte_tcp_hdr *)(p->ip + 1))->sent_seq);
		}
	} else if (c == NULL) {
		c = conn_create(w, s, p->svc, &p->key, &v);
		if (c == NULL) {
			drop(w, p->m, v);
			return;
		}
	}
	if ((c->flags & FNAT_CONN_F_EXPIRE_ON_REMOVE) && !s->real_live[c->rs_id]) {
		conn_free(w, c);
		drop(w, p->m, FNAT_DROP_NO_REAL);
		return;
	}
	v = xlate_in(w, s, c, p->m, p->ip, pidx);
	if (v < 0)
		drop(w, p->m, -v);
}

void
worker_process_burst(struct fnat_worker *w, struct rte_mbuf **pkts, unsigned n, uint16_t pidx)
{
	const struct fnat_snapshot *s = dp_snapshot(w->dp);
	struct pctx ctx[FNAT_BURST];
	for (unsigned off = 0; off < n; off += FNAT_BURST) {
		unsigned k = RTE_MIN(n - off, (unsigned)FNAT_BURST);
		for (unsigned i = 0; i < k; i++) {
			if (i + 1 < k)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[off + i + 1], void *));
			ctx[i].m = pkts[off + i];
			classify(w, s, &ctx[i], pidx);
		}
		/* Stage two: the buckets are in cache now; find and prefetch the sessions. */
		for (unsigned i = 0; i < k; i++) {
			if (ctx[i].kind == P_DONE)
				continue;
			ctx[i].cand = conn_candidate(&w->ct, ctx[i].hash, &ctx[i].cand_ref);
			if (ctx[i].cand != NULL)
				rte_prefetch0(ctx[i].cand);
		}
		/* Stage three: translate. */
		for (unsigned i = 0; i < k; i++)
			if (ctx[i].kind != P_DONE)
				forward(w, s, &ctx[i], pidx);
	}
}

static unsigned
port_index(const struct fnat_dp *dp, uint16_t port_id)
{
	for (unsigned i = 0; i < dp->opts.n_ports; i++)
		if (dp->opts.ports[i].port_id == port_id)
			return i;
	return 0;
}

unsigned
worker_poll_once(struct fnat_worker *w)
{
	struct fnat_dp *dp = w->dp;
	struct rte_mbuf *pkts[FNAT_BURST];
	unsigned total = 0;
	w->now_ms = dp_now_ms(dp);
	for (unsigned p = 0; p < dp->opts.n_ports; p++) {
		if (w->id >= dp->rxq_count[p])
			continue;
		uint16_t n = rte_eth_rx_burst(dp->opts.ports[p].port_id, (uint16_t)w->id, pkts,
					      FNAT_BURST);
		if (n > 0) {
			worker_process_burst(w, pkts, n, (uint16_t)p);
			total += n;
		}
	}
	/* Packets other workers received for this one (each keeps its port in m->port). */
	unsigned n = rte_ring_sc_dequeue_burst(w->handoff, (void **)pkts, FNAT_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		w->stats.handoffs_in++;
		worker_process_burst(w, &pkts[i], 1, (uint16_t)port_index(dp, pkts[i]->port));
	}
	total += n;
	/* Expiry sweep: in test mode the whole table each poll; live, a slice sized so the
	 * table is swept about once a second. */
	if (dp->test_mode) {
		/* Test clock: a full sweep whenever the clock moved (tests advance it on purpose). */
		if (w->now_ms != w->last_scan_ms) {
			worker_expire_scan(w, w->ct.hwm);
			w->last_scan_ms = w->now_ms;
		}
	} else if (w->now_ms != w->last_scan_ms) {
		uint64_t elapsed = w->now_ms - w->last_scan_ms;
		uint64_t budget = (uint64_t)w->ct.hwm * elapsed / 1000 + 16;
		worker_expire_scan(w, (uint32_t)RTE_MIN(budget, (uint64_t)65536));
		w->last_scan_ms = w->now_ms;
	}
	worker_tx_flush(w);
	return total;
}

/* Session dump for the control thread: copy this worker's sessions at a quiet point. */
static void
serve_dump(struct fnat_worker *w)
{
	if (__atomic_load_n(&w->dump_req, __ATOMIC_ACQUIRE) == 0)
		return;
	w->dump_n = worker_dump(w, w->dump_out, w->dump_cap);
	__atomic_store_n(&w->dump_req, 0, __ATOMIC_RELEASE);
}

int
worker_loop(void *arg)
{
	struct fnat_worker *w = arg;
	struct fnat_dp *dp = w->dp;
	rte_rcu_qsbr_thread_register(dp->qs, w->id);
	rte_rcu_qsbr_thread_online(dp->qs, w->id);
	uint32_t idle = 0;
	while (!__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE)) {
		unsigned n = worker_poll_once(w);
		serve_dump(w);
		rte_rcu_qsbr_quiescent(dp->qs, w->id);
		if (n > 0) {
			idle = 0;
			continue;
		}
		/* Idle back-off: after a run of empty polls, sleep in growing steps (up to 200 µs)
		 * and stay offline for RCU meanwhile, so an idle node costs almost no CPU and an
		 * apply never waits for a sleeper. */
		if (++idle < 64)
			continue;
		uint32_t us = idle < 1024 ? 10 : (idle < 4096 ? 50 : 200);
		rte_rcu_qsbr_thread_offline(dp->qs, w->id);
		struct timespec ts = { 0, (long)us * 1000 };
		nanosleep(&ts, NULL);
		rte_rcu_qsbr_thread_online(dp->qs, w->id);
	}
	rte_rcu_qsbr_thread_offline(dp->qs, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qs, w->id);
	return 0;
}
