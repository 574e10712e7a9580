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
#include "sync.h"
#include "synproxy.h"
#include "tcpopt.h"
#include "worker_pvt.h"

uint64_t
worker_now_ms(const struct fnat_dp *dp)
{
	if (dp->test_mode)
		return dp->test_clock_ms;
	return (rte_get_tsc_cycles() - dp->tsc_start) * 1000 / dp->tsc_hz + 1000;
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
			output_handoff(w, m, 0);
		else
			icmp_arp_handle_arp(w, m, pidx);
		return;
	}
	if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		ignore(w, m);
		return;
	}
	unsigned ihl;
	struct rte_ipv4_hdr *ip = parse_ipv4(w, m, &ihl);
	if (ip == NULL)
		return;
	uint16_t a = snap_addr(s, ip->dst_addr);
	const struct fnat_sync_state *ss = a == 0 ? sync_state(w->dp) : NULL;
	bool standby = ss != NULL && sync_is_standby_lip(ss, ip->dst_addr);
	if (a == 0 && !standby) {
		ignore(w, m);
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
		ignore(w, m);
		return;
	}
	bool to_lip = (a & FNAT_ADDR_LIP) != 0 || standby;
	if (to_lip && ip->next_proto_id == IPPROTO_UDP) {
		/* Sync datagrams from the peers come to this node's sync address (a LIP) on a
		 * port below every LIP port. */
		const struct fnat_sync_state *ss = sync_state(w->dp);
		if (ss != NULL && ip->dst_addr == ss->conf.addr &&
		    ((uint16_t *)(ip + 1))[1] == ss->port_be) {
			sync_receive(w, ss, m, ip);
			return;
		}
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		icmp_arp_handle_icmp(w, s, m, ip, pidx, to_lip);
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
			output_handoff(w, m, owner);
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

/* Stage 3: session lookup (or creation) and translation. `inserts` is the session table's
 * insert count when stage two looked for the burst's candidates. */
static void
forward(struct fnat_worker *w, const struct fnat_snapshot *s, struct pctx *p, unsigned pidx,
	uint32_t inserts)
{
	int dir, v;
	struct fnat_conn *c;
	if (p->cand == NULL) {
		/* No signature matched in either bucket at stage two: no session then. An earlier
		 * packet of this burst may have created it since (two packets of one new flow),
		 * and a second session would take a second LIP port. */
		c = w->ct.inserts == inserts ? NULL :
			conn_lookup(&w->ct, &p->key, p->hash, &dir);
	} else if (conn_key_matches(p->cand, (int)(p->cand_ref & 1), &p->key)) {
		c = p->cand;
		dir = (int)(p->cand_ref & 1);
	} else {
		c = conn_lookup(&w->ct, &p->key, p->hash, &dir);
	}
	const struct fnat_sync_state *ss = sync_state(w->dp);
	if (p->kind == P_OUT) {
		/* A LIP this node took over (or got back): the session comes from a record. */
		if (c == NULL && ss != NULL)
			c = sync_server_miss(w, s, ss, &p->key);
		if (c == NULL) {
			drop(w, p->m, FNAT_DROP_NO_SESSION);
			return;
		}
		uint8_t state = c->state, flags = c->flags;
		v = xlate_out(w, s, c, p->m, p->ip, pidx);
		if (v < 0)
			drop(w, p->m, -v);
		else
			sync_changed(w, c, state, flags);
		return;
	}
	if (unlikely(ss != NULL)) {
		/* Owner stage: a flow the router moved here from its owner (a drain, a node
		 * added or lost, a re-hash) goes back to the owner, retransmitted SYNs too; one
		 * whose owner is gone and whose LIP this node took over is carried on here. */
		if (c == NULL) {
			bool consumed;
			c = sync_client_miss(w, s, ss, p->m, &p->key, pidx, &consumed);
			if (consumed)
				return;
		} else {
			sync_count_forwarded_in(w, ss, p->m);
		}
	}
	if (p->key.proto == IPPROTO_TCP) {
		/* A new SYN on a closing tuple starts a new session (the client reused its port). */
		if (c != NULL && is_pure_syn(p->tcp_flags) && state_closing(c->state)) {
			session_free(w, c);
			c = NULL;
		}
		if (p->svc->flags & FNAT_SVC_F_SYNPROXY) {
			v = synproxy_in(w, s, p->svc, &c, p->m, p->ip, &p->key, p->hash, pidx);
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
			c = session_create(w, s, p->svc, &p->key, p->hash, &v);
			if (c == NULL) {
				drop(w, p->m, v);
				return;
			}
			c->seq_delta = session_isn(w, c) -
				       rte_be_to_cpu_32(((struct rte_tcp_hdr *)(p->ip + 1))->sent_seq);
			/* Peers learn the owner at once (not seconds later), with the ISN shift. */
			sync_record(w, c, FNAT_SYNC_OP_ADD);
		}
	} else if (c == NULL) {
		c = session_create(w, s, p->svc, &p->key, p->hash, &v);
		if (c == NULL) {
			drop(w, p->m, v);
			return;
		}
		sync_record(w, c, FNAT_SYNC_OP_ADD);
	}
	if ((c->flags & FNAT_CONN_F_EXPIRE_ON_REMOVE) && !s->real_live[c->rs_id]) {
		session_free(w, c);
		drop(w, p->m, FNAT_DROP_NO_REAL);
		return;
	}
	uint8_t state = c->state, flags = c->flags;
	v = xlate_in(w, s, c, p->m, p->ip, pidx);
	if (v < 0)
		drop(w, p->m, -v);
	else
		sync_changed(w, c, state, flags);
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
		/* Stage three: translate, in order. A candidate found above is compared with
		 * the key again (an earlier packet may have freed it); a miss is rechecked only
		 * when earlier packets created sessions. */
		uint32_t inserts = w->ct.inserts;
		for (unsigned i = 0; i < k; i++)
			if (ctx[i].kind != P_DONE)
				forward(w, s, &ctx[i], pidx, inserts);
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
	w->now_ms = worker_now_ms(dp);
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
	for (unsigned i = 0, j; i < n; i = j) {
		/* Runs of packets from the same port go through the pipeline together. */
		for (j = i + 1; j < n && pkts[j]->port == pkts[i]->port; j++)
			;
		worker_process_burst(w, &pkts[i], j - i, (uint16_t)port_index(dp, pkts[i]->port));
	}
	w->stats.handoffs_in += n;
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
	/* Worker 0 owns the neighbour table: forget entries that stopped answering. */
	if (w->id == 0 && w->now_ms - w->neigh_scan_ms >= 1000) {
		neigh_expire_scan(w);
		w->neigh_scan_ms = w->now_ms;
	}
	sync_poll(w);
	if (w->arp_wait_n > 0)
		output_arp_wait_flush(w);
	output_discard_flush(w);
	output_tx_flush(w);
	return total;
}

int
worker_loop(void *arg)
{
	struct fnat_worker *w = arg;
	struct fnat_dp *dp = w->dp;
	rte_rcu_qsbr_thread_register(dp->qs, w->id);
	rte_rcu_qsbr_thread_online(dp->qs, w->id);
	uint32_t idle = 0;
	uint64_t win_start = 0, win_pkts = 0, last_win_pkts = 0;
	while (!__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE)) {
		unsigned n = worker_poll_once(w);
		dump_serve(w); /* a quiet point: no packet of this worker is half done */
		rte_rcu_qsbr_quiescent(dp->qs, w->id);
		win_pkts += n;
		if (w->now_ms - win_start >= 100) {
			last_win_pkts = win_pkts;
			win_pkts = 0;
			win_start = w->now_ms;
		}
		if (n > 0) {
			idle = 0;
			continue;
		}
		/* Idle back-off by recent load: after 64 empty polls, sleep 10 µs when the last
		 * 100 ms brought more than 1000 packets, 100 µs above 100, else 1 ms (a node with
		 * only routing chatter costs about 1% of a core; the first packet after silence
		 * waits at most 1 ms). Offline for RCU while asleep, so an apply never waits. */
		if (++idle < 64)
			continue;
		uint32_t us = last_win_pkts > 1000 ? 10 : last_win_pkts > 100 ? 100 : 1000;
		rte_rcu_qsbr_thread_offline(dp->qs, w->id);
		struct timespec ts = { 0, (long)us * 1000 };
		nanosleep(&ts, NULL);
		rte_rcu_qsbr_thread_online(dp->qs, w->id);
	}
	rte_rcu_qsbr_thread_offline(dp->qs, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qs, w->id);
	return 0;
}
