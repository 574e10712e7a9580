/* ARP for VIPs and LIPs (worker 0 learns neighbours), ping to a VIP or LIP, and ICMP errors
 * about a session translated to the other side. Worker threads only, but icmp_arp_round_init. */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf_dyn.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "csum.h"
#include "dp_pvt.h"
#include "tcpopt.h"
#include "worker_pvt.h"

/* ICMP message types and codes (RFC 792) the data plane handles besides echo. */
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4       /* code of ICMP_DEST_UNREACH: fragmentation needed (RFC 1191) */
#define ICMP_SOURCE_QUENCH 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12
#define ICMP_NEXT_HOP_MTU_OFF 6  /* of a fragmentation-needed message: the next hop's MTU */
#define IPV4_MIN_MTU 576u        /* every IPv4 host accepts datagrams this large (RFC 791) */
#define ARP_PLEN_IPV4 4          /* an IPv4 address in an ARP message */
/* An ICMP error quotes the IPv4 header and at least the first 8 bytes of what it is about. */
#define ICMP_QUOTE_L4_LEN 8u

/* ---- ARP (worker 0) ---- */

/* Whether addr is one of ours: a VIP, a LIP or a port's own address. */
static bool
own_addr(const struct fnat_dp *dp, const struct fnat_snapshot *s, uint32_t addr)
{
	if (snap_addr(s, addr) != 0)
		return true;
	for (unsigned p = 0; p < dp->opts.n_ports; p++)
		if (dp->opts.ports[p].addr == addr)
			return true;
	return false;
}

/* What the sender of an ARP message teaches the neighbour table (see neigh.c), counted. */
static void
arp_learn(struct fnat_worker *w, const struct fnat_snapshot *s, const struct rte_arp_hdr *ah,
	  unsigned pidx, bool for_us)
{
	struct fnat_dp *dp = w->dp;
	uint32_t sip = ah->arp_data.arp_sip;
	const uint8_t *sha = ah->arp_data.arp_sha.addr_bytes;
	/* An address probe (RFC 5227) names no sender address; our own frames (the kernel's,
	 * sharing the port's MAC on af_packet) teach nothing either. */
	if (sip == 0 || memcmp(sha, dp->opts.ports[pidx].mac, RTE_ETHER_ADDR_LEN) == 0)
		return;
	if (own_addr(dp, s, sip)) {
		w->stats.arp_conflicts++; /* somebody else claims one of our addresses */
		return;
	}
	bool reply = ah->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	enum neigh_source src = reply && output_arp_asked(dp, sip, w->now_ms) ? NEIGH_ANSWER :
				for_us ? NEIGH_CLAIM : NEIGH_HEARD;
	uint8_t known[RTE_ETHER_ADDR_LEN];
	switch (neigh_learn(w, sip, sha, src, known)) {
	case NEIGH_RECHECK:
		/* Ask the known MAC directly: a spoofer elsewhere on the link does not see it. */
		output_arp_ask(w, pidx, sip, known);
		/* fall through */
	case NEIGH_CONFLICT:
		w->stats.arp_conflicts++;
		break;
	case NEIGH_KEPT:
		if (reply && src != NEIGH_ANSWER)
			w->stats.arp_unsolicited++;
		break;
	case NEIGH_LEARNED:
	case NEIGH_CONFIRMED:
		break;
	}
}

void
icmp_arp_handle_arp(struct fnat_worker *w, struct rte_mbuf *m, unsigned pidx)
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
	    ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != ARP_PLEN_IPV4) {
		drop(w, m, FNAT_DROP_BAD_ARP);
		return;
	}
	uint16_t op = rte_be_to_cpu_16(ah->arp_opcode);
	uint32_t sip = ah->arp_data.arp_sip, tip = ah->arp_data.arp_tip;
	const struct fnat_snapshot *s = dp_snapshot(dp);
	bool ours = snap_addr(s, tip) != 0;
	arp_learn(w, s, ah, pidx,
		  op == RTE_ARP_OP_REQUEST && (ours || tip == dp->opts.ports[pidx].addr));
	if (op != RTE_ARP_OP_REQUEST || !ours) {
		ignore(w, m);
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
	output_tx_frame(w, pidx, m);
}

/* ---- ICMP ---- */

/* Turns a received IPv4 header into the header of our answer, in place: fresh id, our TTL. */
static void
ip_answer(struct fnat_worker *w, struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst)
{
	ip->type_of_service = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = HDR_IPV4_TTL;
	ip->packet_id = rte_cpu_to_be_16(w->ip_id++);
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* The checksum of an ICMP message we changed, computed over all of it: an incremental update
 * gives 0x0000 for a message whose words sum to zero (an echo reply with id 0, sequence 0 and
 * no data), where only 0xffff verifies. */
static void
icmp_csum_set(struct rte_icmp_hdr *ic, unsigned l4len)
{
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, l4len);
}

static void
icmp_echo_reply(struct fnat_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, unsigned pidx)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	uint32_t me = ip->dst_addr, peer = ip->src_addr;
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_code = 0;
	icmp_csum_set(ic, rte_be_to_cpu_16(ip->total_length) - HDR_IPV4_LEN);
	ip_answer(w, ip, me, peer);
	int v = output_send(w, pidx, m, peer);
	if (v < 0)
		drop(w, m, -v);
}

int
icmp_arp_round_init(struct fnat_dp *dp)
{
	static const struct rte_mbuf_dynfield origin = {
		.name = "fnat_icmp_origin",
		.size = sizeof(uint32_t),
		.align = __alignof__(uint32_t),
	};
	static const struct rte_mbuf_dynflag round = { .name = "fnat_icmp_round" };
	int off = rte_mbuf_dynfield_register(&origin);
	int bit = rte_mbuf_dynflag_register(&round);
	if (off < 0 || bit < 0)
		return -rte_errno;
	dp->icmp_origin_off = off;
	dp->icmp_round_flag = 1ull << bit;
	return 0;
}

/* A client-side error names VIP:vport → client:cport, not our LIP port, so the worker that
 * received it cannot tell which worker has the session. It goes round the workers, starting
 * from the one that received it, until one finds the session (errors are rare and routers
 * rate-limit them: a few handoffs cost nothing). Returns false when every worker has looked. */
static bool
icmp_pass_round(struct fnat_worker *w, struct rte_mbuf *m)
{
	struct fnat_dp *dp = w->dp;
	uint32_t *origin = RTE_MBUF_DYNFIELD(m, dp->icmp_origin_off, uint32_t *);
	if (!(m->ol_flags & dp->icmp_round_flag)) {
		m->ol_flags |= dp->icmp_round_flag;
		*origin = w->id;
	}
	uint32_t next = (w->id + 1) % dp->n_workers;
	if (next == *origin)
		return false;
	output_handoff(w, m, next);
	return true;
}

/* Rewrites a quoted header into the packet the other side sent: addresses, ports and, for TCP,
 * the sequence number moved back into that side's space by shift. */
static void
quote_rewrite(struct rte_ipv4_hdr *in, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
	      uint32_t shift)
{
	uint16_t *ports = (uint16_t *)(in + 1);
	in->src_addr = src;
	in->dst_addr = dst;
	ports[0] = sport;
	ports[1] = dport;
	if (in->next_proto_id == IPPROTO_TCP) {
		/* Through the packed header type: the quoted sequence number sits at an offset of
		 * 2 modulo 4 in the frame, no place for a uint32_t load (UBSan under the fuzzer). */
		struct rte_tcp_hdr *qt = (struct rte_tcp_hdr *)(in + 1);
		qt->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(qt->sent_seq) - shift);
	}
	in->hdr_checksum = 0;
	in->hdr_checksum = rte_ipv4_cksum(in);
}

/* An ICMP error quoting one of our packets: find the session from the quoted header, rewrite
 * the quote to what the other side sent, and send the error there from the VIP (to a client) or
 * from the LIP (to a real server). */
static void
icmp_error(struct fnat_worker *w, const struct fnat_snapshot *s, struct rte_mbuf *m,
	   struct rte_ipv4_hdr *ip, unsigned pidx, bool to_lip)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	unsigned l4len = rte_be_to_cpu_16(ip->total_length) - HDR_IPV4_LEN;
	struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)(ic + 1);
	if (l4len < HDR_ICMP_LEN + HDR_IPV4_LEN + ICMP_QUOTE_L4_LEN ||
	    hdr_ipv4_len(in) != HDR_IPV4_LEN ||
	    (in->next_proto_id != IPPROTO_TCP && in->next_proto_id != IPPROTO_UDP)) {
		drop(w, m, FNAT_DROP_BAD_ICMP);
		return;
	}
	uint16_t *ports = (uint16_t *)(in + 1);
	if (to_lip) {
		/* The quote's source port is our LIP port: the worker owning it has the session. */
		uint32_t owner = lport_owner(w->dp->n_workers, rte_be_to_cpu_16(ports[0]));
		if (owner != w->id) {
			output_handoff(w, m, owner);
			return;
		}
	}
	/* We sent LIP:lport → RS:rport (the session's OUT key is the reverse) or VIP:vport →
	 * client:cport (the IN key is the reverse). */
	struct fnat_key k = {
		.proto = in->next_proto_id,
		.src = in->dst_addr,
		.dst = in->src_addr,
		.sport = ports[1],
		.dport = ports[0],
	};
	int dir;
	struct fnat_conn *c = conn_lookup(&w->ct, &k, fnat_key_hash(&k, w->ct.seed), &dir);
	if (c == NULL || dir != (to_lip ? FNAT_DIR_OUT : FNAT_DIR_IN)) {
		if (!to_lip && icmp_pass_round(w, m))
			return;
		drop(w, m, FNAT_DROP_NO_SESSION);
		return;
	}
	m->ol_flags &= ~w->dp->icmp_round_flag; /* ours again: no unknown flag on TX */
	const struct fnat_svc *svc = svc_of(s, c);
	uint32_t osrc, odst;
	if (to_lip) {
		/* Our segment carried the client's sequence number shifted by seq_delta. */
		quote_rewrite(in, c->caddr, c->vaddr, c->cport, c->vport, c->seq_delta);
		osrc = c->vaddr;
		odst = c->caddr;
		/* The client's segments get TOA on the way in: leave room for it. */
		if (ic->icmp_type == ICMP_DEST_UNREACH && ic->icmp_code == ICMP_FRAG_NEEDED &&
		    svc != NULL && (svc->flags & FNAT_SVC_F_TOA)) {
			uint16_t *mtu = (uint16_t *)((uint8_t *)ic + ICMP_NEXT_HOP_MTU_OFF);
			uint16_t v = rte_be_to_cpu_16(*mtu);
			if (v > IPV4_MIN_MTU + TOA_LEN)
				*mtu = rte_cpu_to_be_16((uint16_t)(v - TOA_LEN));
		}
	} else {
		/* Our segment carried the real server's sequence number shifted by sp_delta
		 * (SYNPROXY; 0 otherwise). */
		quote_rewrite(in, c->raddr, c->laddr, c->rport, c->lport, c->sp_delta);
		osrc = c->laddr;
		odst = c->raddr;
	}
	icmp_csum_set(ic, l4len);
	ip_answer(w, ip, osrc, odst);
	w->stats.icmp_translated++;
	int v = output_send(w, pidx, m, odst);
	if (v < 0)
		drop(w, m, -v);
}

void
icmp_arp_handle_icmp(struct fnat_worker *w, const struct fnat_snapshot *s, struct rte_mbuf *m,
		     struct rte_ipv4_hdr *ip, unsigned pidx, bool to_lip)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	switch (ic->icmp_type) {
	case RTE_IP_ICMP_ECHO_REQUEST:
		icmp_echo_reply(w, m, ip, pidx);
		return;
	case ICMP_DEST_UNREACH: /* fragmentation needed included */
	case ICMP_SOURCE_QUENCH:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAM_PROBLEM:
		icmp_error(w, s, m, ip, pidx, to_lip);
		return;
	default:
		ignore(w, m);
	}
}
