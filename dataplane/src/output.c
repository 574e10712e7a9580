/* Output: TX buffering, next hops and ARP requests, packets the data plane makes itself, and
 * handoff to the owner worker. Worker threads only. */
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
#include <rte_udp.h>

#include "csum.h"
#include "dp_pvt.h"
#include "tcpopt.h"
#include "worker_pvt.h"

/* ---- output ---- */

void
output_tx_frame(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m)
{
	struct fnat_txq *q = &w->txq[pidx];
	if (q->n == FNAT_TX_BUF)
		output_tx_flush(w);
	q->m[q->n++] = m;
}

void
output_tx_flush(struct fnat_worker *w)
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

/* The worker's set of remembered requests for target. */
static inline uint64_t *
asked_set(uint64_t *asked, uint32_t target)
{
	return &asked[(rte_hash_crc_4byte(target, 1) & (FNAT_ARP_ASKED_SETS - 1)) *
		      FNAT_ARP_ASKED_WAYS];
}

/* Whether a request for target may go now (one per target per second per worker); if so it is
 * remembered, replacing the oldest request of its set. */
static bool
arp_ask_due(struct fnat_worker *w, uint32_t target)
{
	uint64_t *set = asked_set(w->arp_asked, target);
	uint32_t now = (uint32_t)w->now_ms, oldest = 0;
	unsigned slot = 0;
	for (unsigned i = 0; i < FNAT_ARP_ASKED_WAYS; i++) {
		uint32_t age = set[i] == 0 ? UINT32_MAX : now - (uint32_t)(set[i] >> 32);
		if ((uint32_t)set[i] == target) {
			if (age < FNAT_ARP_RETRY_MS)
				return false;
			slot = i;
			break;
		}
		if (age >= oldest) {
			oldest = age;
			slot = i;
		}
	}
	/* One atomic word: worker 0 reads it while this worker writes it. */
	__atomic_store_n(&set[slot], (uint64_t)now << 32 | target, __ATOMIC_RELAXED);
	return true;
}

bool
output_arp_asked(const struct fnat_dp *dp, uint32_t target, uint64_t now)
{
	for (uint32_t k = 0; k < dp->n_workers; k++) {
		uint64_t *set = asked_set(dp->workers[k]->arp_asked, target);
		for (unsigned i = 0; i < FNAT_ARP_ASKED_WAYS; i++) {
			uint64_t v = __atomic_load_n(&set[i], __ATOMIC_RELAXED);
			if ((uint32_t)v == target &&
			    (uint32_t)now - (uint32_t)(v >> 32) < FNAT_ARP_ANSWER_MS)
				return true;
		}
	}
	return false;
}

void
output_arp_ask(struct fnat_worker *w, unsigned pidx, uint32_t target, const uint8_t *unicast)
{
	if (!arp_ask_due(w, target))
		return;
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
	if (unicast != NULL)
		memcpy(&eh->dst_addr, unicast, RTE_ETHER_ADDR_LEN);
	else
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
	ah->arp_data.arp_sip = xdp_filter_arp_sip(w->dp, pidx);
	memset(&ah->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	ah->arp_data.arp_tip = target;
	output_tx_frame(w, pidx, m);
}

/* Addresses a frame to the next hop's MAC from the port's and queues it. */
static void
eth_send(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m, const uint8_t mac[6])
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	memcpy(&eh->dst_addr, mac, RTE_ETHER_ADDR_LEN);
	memcpy(&eh->src_addr, w->dp->opts.ports[pidx].mac, RTE_ETHER_ADDR_LEN);
	output_tx_frame(w, pidx, m);
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
output_send(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m, uint32_t dst)
{
	const struct fnat_port_conf *pc = &w->dp->opts.ports[pidx];
	/* The next hop: the destination itself on the port's link (or without a gateway), else
	 * the gateway. Its MAC: a static neighbour or one learned by ARP. */
	uint32_t nh = (on_link(pc, dst) || w->dp->opts.gateway == 0) ? dst : w->dp->opts.gateway;
	return output_send_via(w, pidx, m, nh);
}

int
output_send_via(struct fnat_worker *w, unsigned pidx, struct rte_mbuf *m, uint32_t nh)
{
	/* A small per-worker cache of next hop → MAC in front of the shared table, good until
	 * the entry must be re-verified. */
	uint32_t gen = __atomic_load_n(&w->dp->neigh_gen, __ATOMIC_ACQUIRE);
	unsigned ci = (nh ^ (nh >> 16)) & (RTE_DIM(w->nh_cache) - 1);
	uint8_t mac[6];
	if (likely(w->nh_cache[ci].addr == nh && w->nh_cache[ci].gen == gen &&
		   w->now_ms < w->nh_cache[ci].until)) {
		memcpy(mac, w->nh_cache[ci].mac, RTE_ETHER_ADDR_LEN);
	} else {
		uint64_t until;
		switch (neigh_lookup(w->dp, nh, w->now_ms, mac, &until)) {
		case NEIGH_REACHABLE:
			w->nh_cache[ci].addr = nh;
			w->nh_cache[ci].gen = gen;
			w->nh_cache[ci].until = until;
			memcpy(w->nh_cache[ci].mac, mac, RTE_ETHER_ADDR_LEN);
			break;
		case NEIGH_STALE:
			/* Still used; its answer (to its known MAC) confirms it. */
			output_arp_ask(w, pidx, nh, mac);
			break;
		case NEIGH_NONE:
			output_arp_ask(w, pidx, nh, NULL);
			/* Hold the frame until the answer comes (or a second passes), so the
			 * first packets after a start or towards a new real server are not
			 * lost. */
			if (w->arp_wait_n == RTE_DIM(w->arp_wait))
				return -FNAT_DROP_NEIGH_UNRESOLVED;
			w->arp_wait[w->arp_wait_n++] = (struct fnat_arp_wait){ m, nh, w->now_ms,
									(uint16_t)pidx };
			return 0;
		}
	}
	eth_send(w, pidx, m, mac);
	return 0;
}


/* ---- packets the data plane makes itself ---- */

struct rte_mbuf *
output_make_ipv4(struct fnat_worker *w, uint32_t src, uint32_t dst, uint8_t proto, unsigned l4len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->pool);
	if (m == NULL)
		return NULL;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(HDR_ETH_LEN + HDR_IPV4_LEN +
								 l4len));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	ip->version_ihl = HDR_IPV4_VERSION_IHL;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(HDR_IPV4_LEN + l4len));
	ip->packet_id = rte_cpu_to_be_16(w->ip_id++);
	ip->fragment_offset = 0;
	ip->time_to_live = HDR_IPV4_TTL;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

/* A bare TCP segment (no options) ready for output_send; seq/ack host order. */
struct rte_mbuf *
output_make_tcp(struct fnat_worker *w, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window)
{
	struct rte_mbuf *m = output_make_ipv4(w, src, dst, IPPROTO_TCP, HDR_TCP_LEN);
	if (m == NULL)
		return NULL;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, HDR_ETH_LEN);
	struct rte_tcp_hdr *th = pkt_tcp(ip);
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = hdr_tcp_data_off(HDR_TCP_LEN);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(window);
	th->tcp_urp = 0;
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

/* ---- handoff ---- */

void
output_handoff(struct fnat_worker *w, struct rte_mbuf *m, uint32_t owner)
{
	if (rte_ring_mp_enqueue(w->dp->workers[owner]->handoff, m) != 0) {
		drop(w, m, FNAT_DROP_HANDOFF_FULL);
		return;
	}
	w->stats.handoffs_out++;
}

void
output_arp_wait_flush(struct fnat_worker *w)
{
	unsigned keep = 0;
	for (unsigned i = 0; i < w->arp_wait_n; i++) {
		struct fnat_arp_wait *a = &w->arp_wait[i];
		uint8_t mac[6];
		uint64_t until;
		if (neigh_lookup(w->dp, a->nh, w->now_ms, mac, &until) != NEIGH_NONE) {
			eth_send(w, a->pidx, a->m, mac);
		} else if (w->now_ms - a->since_ms > 1000) {
			w->stats.drops[FNAT_DROP_NEIGH_UNRESOLVED]++;
			rte_pktmbuf_free(a->m);
		} else {
			if (w->now_ms - a->since_ms >= 200)
				output_arp_ask(w, a->pidx, a->nh, NULL); /* rate-limited inside */
			w->arp_wait[keep++] = *a;
		}
	}
	w->arp_wait_n = keep;
}

void
output_discard_flush(struct fnat_worker *w)
{
	if (w->n_discard > 0) {
		rte_pktmbuf_free_bulk(w->discard, w->n_discard);
		w->n_discard = 0;
	}
}
