/* SYNPROXY: SYNs to a synproxy service are answered here with a syncookie SYN-ACK; no session
 * and no memory until the client's ACK proves the cookie. Then a session is created, the ACK is
 * kept, and a SYN carrying the options the cookie recorded goes to the scheduled real server.
 * Its SYN-ACK fixes the sequence delta (cookie ISN − real server ISN) and, with timestamps, the
 * TSval delta (our SYN-ACK's clock − the real server's) and releases the kept ACK; from then on
 * the real server's sequence numbers and TSval are shifted towards the client and the client's
 * acknowledgements (SACK blocks, TSecr) back.
 *
 * The cookie (the SYN-ACK's ISN) is laid out as
 *
 *    31 30 29     27 26        23  22   21  20                                           0
 *   +-----+---------+------------+----+----+---------------------------------------------+
 *   | min |   MSS   |  wscale    |SACK| TS |                    MAC                      |
 *   +-----+---------+------------+----+----+---------------------------------------------+
 *    \____________ options (9 bits) ______/
 *
 *   min      the minute counter modulo 4
 *   options  what the client's SYN offered: MSS index into mss_table (3 bits), window scale
 *            (4 bits, 15 = none), SACK-permitted (1), timestamps (1)
 *   MAC      SipHash-2-4 of (4-tuple, client ISN, minute, options) under a per-minute key
 *            derived from a getrandom() master secret (so keys rotate every minute)
 * and is valid for the minute it was made and the one after.
 *
 * In the pipeline this is the SYNPROXY stage (after the session stage, before translate): it
 * consumes what the handshake needs, and hands translate the sequence and timestamp shifts of
 * its sessions as plain numbers (struct pkt_shift).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "csum.h"
#include "hdr.h"
#include "siphash.h"
#include "sync.h"
#include "synproxy.h"
#include "tcpopt.h"
#include "worker_pvt.h"

#define SP_RS_TIMEOUT_MS 1000u  /* first SYN retransmission to the real server */
#define SP_RS_RETRIES 3
#define SP_ACK_STORM 16         /* identical ACKs tolerated in a row */
#define SP_WINDOW 65535
#define SP_WSCALE_DEFAULT 7     /* our window scale when not configured (Linux's usual) */
#define SP_MINUTE_MS 60000u

/* The cookie's fields (see the drawing above). */
#define COOKIE_MINUTE_SHIFT 30
#define COOKIE_MINUTE_MASK 3u
#define COOKIE_OPTS_SHIFT 21
#define COOKIE_OPTS_MASK 0x1ffu
#define COOKIE_MAC_MASK 0x1fffffu  /* bits 20..0 */
/* The options field (9 bits). */
#define OPTS_MSS_SHIFT 6
#define OPTS_MSS_MASK 7u
#define OPTS_WSCALE_SHIFT 2
#define OPTS_WSCALE_MASK 15u
#define OPTS_WSCALE_NONE 15u
#define OPTS_SACK_SHIFT 1
#define OPTS_TS_SHIFT 0

static const uint16_t mss_table[8] = { 536, 1220, 1300, 1380, 1420, 1440, 1452, 1460 };

static uint32_t
cookie_mac(const struct fnat_dp *dp, const struct fnat_key *k, uint32_t isn, uint64_t minute,
	   uint32_t opts)
{
	/* The minute's key: the master secret hashed with the minute number. */
	uint64_t mk[2] = { dp->cookie_key[0] ^ minute, dp->cookie_key[1] };
	uint64_t m[3] = {
		(uint64_t)k->src << 32 | k->dst,
		(uint64_t)k->sport << 48 | (uint64_t)k->dport << 32 | isn,
		minute << 16 | opts,
	};
	return (uint32_t)siphash24(mk, m, 3) & COOKIE_MAC_MASK;
}

static uint32_t
cookie_make(const struct fnat_dp *dp, const struct fnat_key *k, uint32_t isn, uint64_t minute,
	    uint32_t opts)
{
	return (uint32_t)(minute & COOKIE_MINUTE_MASK) << COOKIE_MINUTE_SHIFT |
	       opts << COOKIE_OPTS_SHIFT | cookie_mac(dp, k, isn, minute, opts);
}

/* Returns the options the cookie recorded, or -1 when it is not valid now. */
static int
cookie_check(const struct fnat_dp *dp, const struct fnat_key *k, uint32_t isn, uint32_t cookie,
	     uint64_t now_minute)
{
	uint32_t opts = (cookie >> COOKIE_OPTS_SHIFT) & COOKIE_OPTS_MASK;
	for (uint64_t age = 0; age < 2 && age <= now_minute; age++) {
		uint64_t minute = now_minute - age;
		if ((minute & COOKIE_MINUTE_MASK) != cookie >> COOKIE_MINUTE_SHIFT)
			continue;
		if (cookie_mac(dp, k, isn, minute, opts) == (cookie & COOKIE_MAC_MASK))
			return (int)opts;
	}
	return -1;
}

static uint32_t
opts_encode(const struct tcpopt_syn *o)
{
	uint32_t mi = 0;
	for (uint32_t i = 0; i < RTE_DIM(mss_table); i++)
		if (o->mss == 0 ? mss_table[i] <= TCPOPT_MSS_DEFAULT : mss_table[i] <= o->mss)
			mi = i;
	uint32_t ws = o->wscale < 0 ? OPTS_WSCALE_NONE : (uint32_t)o->wscale;
	return mi << OPTS_MSS_SHIFT | ws << OPTS_WSCALE_SHIFT |
	       (uint32_t)o->sack_perm << OPTS_SACK_SHIFT | (uint32_t)o->ts << OPTS_TS_SHIFT;
}

static void
opts_decode(uint32_t v, struct tcpopt_syn *o)
{
	memset(o, 0, sizeof(*o));
	o->mss = mss_table[(v >> OPTS_MSS_SHIFT) & OPTS_MSS_MASK];
	uint32_t ws = (v >> OPTS_WSCALE_SHIFT) & OPTS_WSCALE_MASK;
	o->wscale = ws == OPTS_WSCALE_NONE ? -1 : (int8_t)ws;
	o->sack_perm = (v >> OPTS_SACK_SHIFT) & 1;
	o->ts = (v >> OPTS_TS_SHIFT) & 1;
}

/* Writes SYN/SYN-ACK options; returns their length (a multiple of 4). */
static unsigned
write_syn_opts(uint8_t *p, uint16_t mss, const struct tcpopt_syn *o, uint8_t wscale,
	       uint32_t tsval, uint32_t tsecr)
{
	unsigned n = 0;
	p[n++] = TCPOPT_MSS;
	p[n++] = TCPOLEN_MSS;
	p[n++] = (uint8_t)(mss >> 8);
	p[n++] = (uint8_t)mss;
	if (o->ts) {
		if (o->sack_perm) {
			p[n++] = TCPOPT_SACK_PERM;
			p[n++] = TCPOLEN_SACK_PERM;
		} else {
			p[n++] = TCPOPT_NOP;
			p[n++] = TCPOPT_NOP;
		}
		p[n++] = TCPOPT_TS;
		p[n++] = TCPOLEN_TS;
		uint32_t v = rte_cpu_to_be_32(tsval), e = rte_cpu_to_be_32(tsecr);
		memcpy(&p[n], &v, 4);
		memcpy(&p[n + 4], &e, 4);
		n += 8;
	} else if (o->sack_perm) {
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_SACK_PERM;
		p[n++] = TCPOLEN_SACK_PERM;
	}
	if (o->wscale >= 0) {
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_WSCALE;
		p[n++] = TCPOLEN_WSCALE;
		p[n++] = wscale;
	}
	return n;
}

static inline uint64_t
minute_of(const struct fnat_worker *w)
{
	return w->now_ms / SP_MINUTE_MS;
}

static inline bool
strips_ts(const struct fnat_svc *svc)
{
	return svc != NULL && (svc->flags & FNAT_SVC_F_STRIP_TS);
}

/* The client's SYN becomes our cookie SYN-ACK, in place: PKT_SEND to the client. */
static int
answer_syn(struct fnat_worker *w, struct pkt *p)
{
	const struct fnat_svc *svc = p->svc;
	struct rte_mbuf *m = p->m;
	struct rte_ipv4_hdr *ip = p->ip;
	struct rte_tcp_hdr *th = pkt_tcp(ip);
	struct tcpopt_syn o;
	tcpopt_parse_syn(hdr_tcp_opts(th), hdr_tcp_len(th) - HDR_TCP_LEN, &o);
	if (strips_ts(svc))
		o.ts = false; /* the real server will not see timestamps: do not promise them */
	const struct fnat_options *opt = &w->dp->opts;
	/* Window scale: ours (Linux's usual 7 by default) when the client offered one; 15 turns it
	 * off for both sides (the cookie then records none, so the real server is not offered it
	 * either). The real server's own scale is not rewritten (as in DPVS and the kernel's
	 * FULLNAT): configure the real servers' scale to match. */
	uint8_t ws = opt->sp_wscale == 0 ? SP_WSCALE_DEFAULT : opt->sp_wscale;
	if (ws > TCPOPT_WSCALE_MAX)
		o.wscale = -1;
	uint8_t ttl = opt->sp_ttl == 0 ? HDR_IPV4_TTL : opt->sp_ttl;
	uint32_t opts = opts_encode(&o);
	uint32_t isn = rte_be_to_cpu_32(th->sent_seq);
	uint32_t cookie = cookie_make(w->dp, &p->key, isn, minute_of(w), opts);
	/* Our MSS: what the port carries, less the room TOA takes in the client's segments on
	 * their way to the real server. */
	uint16_t mss = (uint16_t)(port_mtu(w, p->pidx) - HDR_IPV4_LEN - HDR_TCP_LEN -
				  ((svc->flags & FNAT_SVC_F_TOA) ? TOA_LEN : 0));
	if (opt->sp_mss != 0 && opt->sp_mss < mss)
		mss = opt->sp_mss;
	uint8_t optbuf[TCPOPT_SPACE];
	unsigned olen = write_syn_opts(optbuf, mss, &o, ws, (uint32_t)w->now_ms, o.ts_val);
	unsigned thlen = HDR_TCP_LEN + olen;
	unsigned want = HDR_ETH_LEN + HDR_IPV4_LEN + thlen;
	if (rte_pktmbuf_pkt_len(m) > want)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - want));
	else if (rte_pktmbuf_append(m, (uint16_t)(want - rte_pktmbuf_pkt_len(m))) == NULL)
		return PKT_DROP(FNAT_DROP_TOO_BIG);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, HDR_ETH_LEN);
	th = pkt_tcp(ip);
	/* Header fields are computed in registers and both checksums summed from those values:
	 * re-reading freshly written 16-bit fields with wide loads stalls store forwarding, which
	 * was the largest cost of a SYN flood. */
	uint32_t client = ip->src_addr, vip = ip->dst_addr;
	uint16_t cport = th->src_port, vport = th->dst_port;
	uint32_t seq_be = rte_cpu_to_be_32(cookie), ack_be = rte_cpu_to_be_32(isn + 1);
	uint8_t data_off = hdr_tcp_data_off(thlen);
	uint16_t offflags = rte_cpu_to_be_16((uint16_t)(data_off << 8 |
							 (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)));
	uint16_t win = rte_cpu_to_be_16(SP_WINDOW);
	uint16_t tot = rte_cpu_to_be_16((uint16_t)(HDR_IPV4_LEN + thlen));
	uint16_t id = rte_cpu_to_be_16(w->ip_id++);
	uint16_t frag = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	uint16_t ttl_proto = rte_cpu_to_be_16((uint16_t)(ttl << 8 | IPPROTO_TCP));
	uint32_t addr_sum = (vip & 0xffff) + (vip >> 16) + (client & 0xffff) + (client >> 16);
	uint32_t isum = rte_cpu_to_be_16(HDR_IPV4_VERSION_IHL << 8) + tot + id + frag + ttl_proto +
			addr_sum;
	uint32_t tsum = addr_sum + rte_cpu_to_be_16(IPPROTO_TCP) +
			rte_cpu_to_be_16((uint16_t)thlen) + vport + cport + (seq_be & 0xffff) +
			(seq_be >> 16) + (ack_be & 0xffff) + (ack_be >> 16) + offflags + win;
	for (unsigned i = 0; i < olen; i += 2) {
		uint16_t v;
		memcpy(&v, &optbuf[i], 2);
		tsum += v;
	}
	memcpy(th + 1, optbuf, olen);
	th->src_port = vport;
	th->dst_port = cport;
	th->sent_seq = seq_be;
	th->recv_ack = ack_be;
	th->data_off = data_off;
	th->tcp_flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;
	th->rx_win = win;
	th->tcp_urp = 0;
	th->cksum = (uint16_t)~csum_fold32(tsum);
	ip->src_addr = vip;
	ip->dst_addr = client;
	ip->version_ihl = HDR_IPV4_VERSION_IHL;
	ip->type_of_service = 0;
	ip->total_length = tot;
	ip->packet_id = id;
	ip->fragment_offset = frag;
	ip->time_to_live = ttl;
	ip->hdr_checksum = (uint16_t)~csum_fold32(isum);
	w->stats.syncookies_sent++;
	p->ip = ip;
	p->dst = client;
	return PKT_SEND;
}

/* The SYN to the real server, with the options the cookie recorded. */
static void
send_rs_syn(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_conn *c,
	    uint32_t client_isn, const struct tcpopt_syn *o, uint32_t tsval, uint16_t window)
{
	const struct fnat_svc *svc = svc_of(s, c);
	struct tcpopt_syn ro = *o;
	if (strips_ts(svc))
		ro.ts = false;
	uint8_t optbuf[TCPOPT_SPACE];
	/* The client's MSS as the cookie recorded it: TOA's room is in the MSS our SYN-ACK gave
	 * the client, not in what the real server may send. */
	uint8_t ws = (uint8_t)(o->wscale < 0 ? 0 : o->wscale);
	unsigned olen = write_syn_opts(optbuf, o->mss, &ro, ws, tsval, 0);
	struct rte_mbuf *m = output_make_ipv4(w, c->laddr, c->raddr, IPPROTO_TCP,
					      HDR_TCP_LEN + olen);
	if (m == NULL)
		return;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, HDR_ETH_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	struct rte_tcp_hdr *th = pkt_tcp(ip);
	th->src_port = c->lport;
	th->dst_port = c->rport;
	th->sent_seq = rte_cpu_to_be_32(client_isn + c->seq_delta);
	th->recv_ack = 0;
	th->data_off = hdr_tcp_data_off(HDR_TCP_LEN + olen);
	th->tcp_flags = RTE_TCP_SYN_FLAG;
	th->rx_win = rte_cpu_to_be_16(window);
	th->tcp_urp = 0;
	memcpy(th + 1, optbuf, olen);
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	send_own(w, m, c->raddr);
}

/* Sends (or re-sends) the SYN of a waiting session from its kept ACK and the options its
 * cookie recorded (kept in sp_delta until the real server answers). */
static void
rs_syn_from_ack(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_conn *c)
{
	struct rte_mbuf *ack = session_held(w, c);
	if (ack == NULL)
		return;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(ack, struct rte_ipv4_hdr *, HDR_ETH_LEN);
	struct rte_tcp_hdr *th = pkt_tcp(ip);
	struct tcpopt_syn o;
	opts_decode((c->sp_delta >> COOKIE_OPTS_SHIFT) & COOKIE_OPTS_MASK, &o);
	struct tcpopt_syn ts;
	tcpopt_parse_syn(hdr_tcp_opts(th), hdr_tcp_len(th) - HDR_TCP_LEN, &ts);
	send_rs_syn(w, s, c, rte_be_to_cpu_32(th->sent_seq) - 1, &o, ts.ts_val,
		    rte_be_to_cpu_16(th->rx_win));
}

static void
rst_to_client(struct fnat_worker *w, const struct fnat_conn *c)
{
	/* The client's view: our next sequence number is cookie + 1. */
	send_own(w, output_make_tcp(w, c->vaddr, c->caddr, c->vport, c->cport, c->c_ack,
				    c->c_seq_end, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0),
		 c->caddr);
}

/* A client ACK with a valid cookie: session, kept ACK, SYN to the real server. */
static int
accept_ack(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	struct rte_tcp_hdr *th = pkt_tcp(p->ip);
	/* The pool has room for FNAT_SP_KEPT ACKs per worker (pool_size): keeping one more would
	 * take mbufs RX needs, and a slow real server would then stop every VIP of the node. */
	if (w->sp_free_n == 0)
		return PKT_DROP(FNAT_DROP_SYNPROXY_KEPT_FULL);
	int reason;
	struct fnat_conn *c = session_create(w, s, p->svc, &p->key, p->hash, &reason);
	if (c == NULL)
		return PKT_DROP(reason);
	p->c = c;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint32_t ack = rte_be_to_cpu_32(th->recv_ack);
	uint32_t client_isn = seq - 1;
	c->flags |= FNAT_CONN_F_SYNPROXY | FNAT_CONN_F_SP_WAIT_RS;
	c->state = FNAT_S_SYN_SENT;
	c->sp_delta = ack - 1; /* the cookie, until the real server's ISN is known */
	c->c_ack = ack;
	c->c_seq_end = seq;
	/* The same ISN shift as without SYNPROXY (a reused LIP:lport stays acceptable). */
	c->seq_delta = session_isn(w, c) - client_isn;
	session_hold(w, c, p->m);
	c->sp_retries = 0;
	c->expire = (uint32_t)(w->now_ms + SP_RS_TIMEOUT_MS);
	rs_syn_from_ack(w, s, c);
	sync_record(w, c, FNAT_SYNC_OP_ADD); /* peers learn the owner at once (not seconds later) */
	w->stats.syncookies_valid++;
	return PKT_CONSUMED;
}

/* The options a client's ACK proves with its acknowledgement (our cookie + 1), or -1. */
static int
ack_cookie(const struct fnat_worker *w, const struct fnat_key *k, const struct rte_tcp_hdr *th)
{
	return cookie_check(w->dp, k, rte_be_to_cpu_32(th->sent_seq) - 1,
			    rte_be_to_cpu_32(th->recv_ack) - 1, minute_of(w));
}

static inline bool
is_pure_ack(uint8_t f)
{
	return (f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) ==
	       RTE_TCP_ACK_FLAG;
}

int
synproxy_service_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	struct rte_tcp_hdr *th = pkt_tcp(p->ip);
	uint8_t f = th->tcp_flags;
	struct fnat_conn *c = p->c;
	if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) == RTE_TCP_SYN_FLAG) {
		/* A live non-synproxy session from before the flag was set keeps working: its SYN
		 * is forwarded. Otherwise a cookie SYN-ACK: for a new client, and the same cookie
		 * again for a SYN retransmitted on a synproxy session. */
		if (c != NULL && !(c->flags & FNAT_CONN_F_SYNPROXY))
			return PKT_CONTINUE;
		return answer_syn(w, p);
	}
	if (c != NULL && is_pure_ack(f) && state_closing(c->state) &&
	    rte_be_to_cpu_32(th->sent_seq) != c->c_seq_end) {
		/* Session reuse: a valid cookie ACK on a closing tuple starts a new session. (An
		 * ACK that continues the old connection's sequence is its last ACK again, not a
		 * new handshake: never tried as a cookie, which a 21-bit MAC would accept once in
		 * two million.) */
		if (ack_cookie(w, &p->key, th) >= 0) {
			session_free(w, c);
			p->c = NULL;
			return accept_ack(w, s, p);
		}
	}
	if (c == NULL) {
		if (!(f & RTE_TCP_ACK_FLAG) || (f & (RTE_TCP_RST_FLAG | RTE_TCP_SYN_FLAG))) {
			/* RST and FIN floods without a session reach nobody. */
			return PKT_DROP(FNAT_DROP_NO_SESSION);
		}
		if (ack_cookie(w, &p->key, th) < 0) {
			w->stats.syncookies_invalid++;
			return PKT_DROP(FNAT_DROP_SYNPROXY_BAD_ACK);
		}
		return accept_ack(w, s, p);
	}
	if (!(c->flags & FNAT_CONN_F_SYNPROXY))
		return PKT_CONTINUE;
	if (c->flags & FNAT_CONN_F_SP_WAIT_RS) {
		/* More from the client before the real server answered: it will retransmit. */
		ignore(w, p->m);
		return PKT_CONSUMED;
	}
	/* ACK storm: the same segment (seq, ack, checksum) again and again. */
	if (is_pure_ack(f)) {
		uint32_t h = th->sent_seq ^ (th->recv_ack * 0x9e3779b1u) ^ ((uint32_t)th->cksum << 7);
		if (h == c->ack_hash) {
			if (c->dup_acks >= SP_ACK_STORM)
				return PKT_DROP(FNAT_DROP_SYNPROXY_ACK_STORM);
			c->dup_acks++;
		} else {
			c->ack_hash = h;
			c->dup_acks = 0;
		}
	}
	return PKT_CONTINUE;
}

/* The timestamp offset of a session: the client took the TSval of our SYN-ACK (echoed in its
 * kept ACK) for the server's clock, so the real server's (in its SYN-ACK) is moved onto it. 0 when
 * either side has no timestamps (none were negotiated). */
static uint32_t
ts_delta_of(const struct rte_tcp_hdr *rs_synack, const struct rte_mbuf *ack)
{
	struct tcpopt_syn rs, cl;
	tcpopt_parse_syn(hdr_tcp_opts(rs_synack), hdr_tcp_len(rs_synack) - HDR_TCP_LEN, &rs);
	if (!rs.ts || ack == NULL)
		return 0;
	const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(ack, const struct rte_tcp_hdr *,
								HDR_ETH_LEN + HDR_IPV4_LEN);
	tcpopt_parse_syn(hdr_tcp_opts(th), hdr_tcp_len(th) - HDR_TCP_LEN, &cl);
	return cl.ts ? cl.ts_ecr - rs.ts_val : 0;
}

int
synproxy_wait_out(struct fnat_worker *w, struct pkt *p)
{
	struct fnat_conn *c = p->c;
	struct rte_tcp_hdr *th = pkt_tcp(p->ip);
	uint8_t f = th->tcp_flags;
	if (f & RTE_TCP_RST_FLAG) {
		w->stats.synproxy_rs_failures++;
		rst_to_client(w, c);
		session_free(w, c);
		discard(w, p->m);
		return PKT_CONSUMED;
	}
	if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) ||
	    rte_be_to_cpu_32(th->recv_ack) != c->c_seq_end + c->seq_delta) {
		ignore(w, p->m);
		return PKT_CONSUMED;
	}
	/* The real server's ISN fixes the delta; its SYN-ACK stays here; the kept ACK goes. */
	uint32_t cookie = c->sp_delta;
	c->sp_delta = cookie - rte_be_to_cpu_32(th->sent_seq);
	c->flags &= (uint8_t)~FNAT_CONN_F_SP_WAIT_RS;
	c->flags |= FNAT_CONN_F_SP_RS_SYNACK;
	c->state = FNAT_S_ESTABLISHED;
	struct rte_mbuf *ack = session_unhold(w, c);
	c->ts_delta = ts_delta_of(th, ack); /* aux is free from now on */
	discard(w, p->m);
	if (ack == NULL)
		return PKT_CONSUMED;
	p->m = ack;
	p->ip = rte_pktmbuf_mtod_offset(ack, struct rte_ipv4_hdr *, HDR_ETH_LEN);
	synproxy_shift_in(p);
	return PKT_RESUME;
}

bool
synproxy_timer(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c)
{
	if ((int32_t)(c->expire - (uint32_t)w->now_ms) > 0)
		return true;
	if (c->sp_retries < SP_RS_RETRIES) {
		c->sp_retries++;
		w->stats.synproxy_rs_retransmits++;
		rs_syn_from_ack(w, s, c);
		c->expire = (uint32_t)(w->now_ms + (SP_RS_TIMEOUT_MS << c->sp_retries));
		return true;
	}
	w->stats.synproxy_rs_failures++;
	rst_to_client(w, c);
	return false;
}
