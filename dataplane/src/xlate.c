/* The translate stage: FULLNAT translation of a session's packets in both directions (the TCP
 * state machine, TTL, addresses and ports, the ISN shift, TOA insertion and removal of a TOA the
 * client wrote, the MSS in the real server's SYN-ACK, timestamps in the SYN, SACK blocks,
 * incremental checksums) and the shifts an earlier stage handed over in p->shift. It decides
 * where a packet goes (p->dst); the send stage sends it. Worker threads only. */
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
#include "hdr.h"
#include "dp_pvt.h"
#include "tcpopt.h"
#include "worker_pvt.h"

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

/* The checksum delta of rewriting the IPv4 addresses (the L4 pseudo-header shares it). */
static inline uint64_t
addr_delta(const struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst)
{
	return csum_delta32(csum_delta32(0, ip->src_addr, src), ip->dst_addr, dst);
}

/* Rewrite the IPv4 addresses, updating the IP checksum and (when l4csum is given) the L4
 * checksum's pseudo-header part. */
static inline void
ip_rewrite(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst, void *l4csum)
{
	uint64_t d = addr_delta(ip, src, dst);
	csum_apply(&ip->hdr_checksum, d);
	if (l4csum != NULL)
		csum_apply(l4csum, d);
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
	unsigned doff = hdr_tcp_len(th);
	uint8_t opts[TCPOPT_SPACE];
	int n = tcpopt_build_with_toa(hdr_tcp_opts(th), doff - HDR_TCP_LEN, w->dp->toa_kind,
				      c->cport, c->caddr, opts);
	if (n < 0)
		return false;
	int grow = (int)HDR_TCP_LEN + n - (int)doff;
	if (rte_be_to_cpu_16(ip->total_length) + grow > (int)mtu)
		return false;
	unsigned hdrs = HDR_ETH_LEN + HDR_IPV4_LEN + HDR_TCP_LEN; /* moved part */
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
	ip = (struct rte_ipv4_hdr *)(start + HDR_ETH_LEN);
	th = pkt_tcp(ip);
	memcpy(th + 1, opts, (size_t)n);
	th->data_off = hdr_tcp_data_off(HDR_TCP_LEN + (unsigned)n);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->total_length) + grow));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*ipp = ip;
	*thp = th;
	return true;
}

/* TOA towards the real server: the node's own while the session waits for the real server's first
 * answer, and never one the client wrote, in any segment and on any service (a real server's TOA
 * module would take it for the client's address). A forged TOA is replaced by ours while we
 * insert, else overwritten with NOPs. Returns true when the options changed. */
static bool
toa_in(struct fnat_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr **ipp,
       struct rte_tcp_hdr **thp, const struct fnat_conn *c, unsigned pidx)
{
	struct rte_tcp_hdr *th = *thp;
	unsigned olen = hdr_tcp_len(th) - HDR_TCP_LEN;
	bool forged = olen > 0 && tcpopt_has(hdr_tcp_opts(th), olen, w->dp->toa_kind);
	if (forged)
		w->stats.toa_forged++;
	if ((c->flags & FNAT_CONN_F_TOA_PENDING) &&
	    !(th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG))) {
		if (toa_insert(w, m, ipp, thp, c, port_mtu(w, pidx))) {
			w->stats.toa_inserted++;
			return true;
		}
		w->stats.toa_failed++;
	}
	return forged && tcpopt_strip(hdr_tcp_opts(th), olen, w->dp->toa_kind);
}

/* Rewrites a UDP datagram's addresses and ports; a zero checksum (none) stays zero. */
static inline void
udp_rewrite(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	void *ck = uh->dgram_cksum ? (void *)&uh->dgram_cksum : NULL;
	ip_rewrite(ip, src, dst, ck);
	if (ck) {
		csum_replace2(ck, uh->src_port, sport);
		csum_replace2(ck, uh->dst_port, dport);
		csum_udp_fix(ck);
	}
	uh->src_port = sport;
	uh->dst_port = dport;
}

/* Rewrites a TCP segment's addresses, ports, sequence and acknowledgement numbers (all network
 * order): incrementally, or with a full checksum when its options changed. */
static inline void
tcp_rewrite(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th, uint32_t src, uint32_t dst,
	    uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, bool full)
{
	uint64_t a = addr_delta(ip, src, dst);
	if (!full) {
		/* Addresses (pseudo header), sequence numbers and ports: one fold. */
		uint64_t d = csum_delta32(a, th->sent_seq, seq);
		d = csum_delta32(d, th->recv_ack, ack);
		d = csum_delta16(d, th->src_port, sport);
		d = csum_delta16(d, th->dst_port, dport);
		csum_apply(&th->cksum, d);
	}
	th->sent_seq = seq;
	th->recv_ack = ack;
	th->src_port = sport;
	th->dst_port = dport;
	csum_apply(&ip->hdr_checksum, a);
	ip->src_addr = src;
	ip->dst_addr = dst;
	if (full) {
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
}

/* Client→RS acknowledgements move down by the handed shift: the acknowledgement number
 * (checksum updated), SACK blocks and (tsecr != 0) TSecr. Returns true when options changed
 * (full checksum needed). */
static bool
shift_acks(struct rte_tcp_hdr *th, unsigned doff, uint32_t ack, uint32_t tsecr)
{
	if (!(th->tcp_flags & RTE_TCP_ACK_FLAG))
		return false;
	uint32_t nack = rte_cpu_to_be_32(rte_be_to_cpu_32(th->recv_ack) - ack);
	csum_replace4(&th->cksum, th->recv_ack, nack);
	th->recv_ack = nack;
	if (doff <= HDR_TCP_LEN)
		return false;
	uint8_t *opt = hdr_tcp_opts(th);
	bool changed = tcpopt_shift_sack(opt, doff - HDR_TCP_LEN, (uint32_t)-ack);
	if (tsecr != 0)
		changed |= tcpopt_shift_ts(opt, doff - HDR_TCP_LEN, 0, (uint32_t)-tsecr);
	return changed;
}

/* Client → real server (after xlate_hop). */
int
xlate_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	struct fnat_conn *c = p->c;
	struct rte_ipv4_hdr *ip = p->ip;
	uint32_t bytes = rte_pktmbuf_pkt_len(p->m);
	p->dst = c->raddr;
	if (c->proto == IPPROTO_UDP) {
		udp_rewrite(ip, c->laddr, c->raddr, c->lport, c->rport);
		conn_touch(w, s, c);
		count_in(w, c, bytes);
		return PKT_CONTINUE;
	}
	struct rte_tcp_hdr *th = pkt_tcp(ip);
	uint8_t f = th->tcp_flags;
	unsigned doff = hdr_tcp_len(th);
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint32_t plen = rte_be_to_cpu_16(ip->total_length) - HDR_IPV4_LEN - doff;
	uint8_t old_state = c->state;
	tcp_state_in(c, f);
	state_changed(w, old_state, c->state);
	c->c_seq_end = seq + plen + !!(f & RTE_TCP_SYN_FLAG) + !!(f & RTE_TCP_FIN_FLAG);
	if (f & RTE_TCP_ACK_FLAG)
		c->c_ack = rte_be_to_cpu_32(th->recv_ack);
	bool full = false;
	/* The client's MSS goes unchanged: room for TOA is made in the other direction. */
	if ((f & RTE_TCP_SYN_FLAG) && !(f & RTE_TCP_ACK_FLAG) && doff > HDR_TCP_LEN) {
		const struct fnat_svc *svc = svc_of(s, c);
		if (svc != NULL && (svc->flags & FNAT_SVC_F_STRIP_TS))
			full |= tcpopt_strip(hdr_tcp_opts(th), doff - HDR_TCP_LEN, TCPOPT_TS);
	}
	if (p->shift.acks)
		full |= shift_acks(th, doff, p->shift.ack, p->shift.tsecr);
	uint32_t nseq = rte_cpu_to_be_32(seq + c->seq_delta);
	full |= toa_in(w, p->m, &ip, &th, c, p->pidx);
	p->ip = ip;
	tcp_rewrite(ip, th, c->laddr, c->raddr, c->lport, c->rport, nseq, th->recv_ack, full);
	conn_touch(w, s, c);
	count_in(w, c, bytes);
	return PKT_CONTINUE;
}

/* Real server → client (after xlate_hop). */
int
xlate_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	struct fnat_conn *c = p->c;
	struct rte_ipv4_hdr *ip = p->ip;
	uint32_t bytes = rte_pktmbuf_pkt_len(p->m);
	p->dst = c->caddr;
	if (c->proto == IPPROTO_UDP) {
		udp_rewrite(ip, c->vaddr, c->caddr, c->vport, c->cport);
		conn_touch(w, s, c);
		count_out(w, c, bytes);
		return PKT_CONTINUE;
	}
	struct rte_tcp_hdr *th = pkt_tcp(ip);
	uint8_t f = th->tcp_flags;
	unsigned doff = hdr_tcp_len(th);
	uint8_t old_state = c->state;
	tcp_state_out(c, f);
	state_changed(w, old_state, c->state);
	if (!(f & RTE_TCP_SYN_FLAG))
		c->flags &= (uint8_t)~FNAT_CONN_F_TOA_PENDING;
	bool full = false;
	/* The client's segments grow by TOA: the MSS it is told leaves the room. (Under SYNPROXY
	 * the real server's SYN-ACK stays with the node, whose own SYN-ACK left it.) */
	if ((f & RTE_TCP_SYN_FLAG) && doff > HDR_TCP_LEN) {
		const struct fnat_svc *svc = svc_of(s, c);
		if (svc != NULL && (svc->flags & FNAT_SVC_F_TOA))
			full |= tcpopt_lower_mss(hdr_tcp_opts(th), doff - HDR_TCP_LEN, TOA_LEN);
	}
	if ((f & RTE_TCP_ACK_FLAG) && doff > HDR_TCP_LEN)
		full |= tcpopt_shift_sack(hdr_tcp_opts(th), doff - HDR_TCP_LEN,
					  (uint32_t)-c->seq_delta);
	if (p->shift.tsval != 0 && doff > HDR_TCP_LEN)
		full |= tcpopt_shift_ts(hdr_tcp_opts(th), doff - HDR_TCP_LEN, p->shift.tsval, 0);
	uint32_t nack = th->recv_ack;
	if (f & RTE_TCP_ACK_FLAG)
		nack = rte_cpu_to_be_32(rte_be_to_cpu_32(th->recv_ack) - c->seq_delta);
	uint32_t nseq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) + p->shift.seq);
	tcp_rewrite(ip, th, c->vaddr, c->caddr, c->vport, c->cport, nseq, nack, full);
	conn_touch(w, s, c);
	count_out(w, c, bytes);
	return PKT_CONTINUE;
}
