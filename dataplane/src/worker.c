/* The packet path of one worker: a linear pipeline of stages, each a function that returns a
 * verdict (worker_pvt.h) this file acts on. No stage calls a later one.
 *
 *   receive      rx burst (worker_poll_once), and frames other workers handed over
 *   validate     Ethernet and the IPv4 header; for our addresses, fragments, options and the
 *                L4 header (malformed: dropped, counted by reason)
 *   classify     by destination: ARP (worker 0), VIP, LIP (or a standby LIP), sync datagram,
 *                ICMP, neither; a real server's reply that belongs to another worker goes to it
 *   lookup       the burst's session buckets prefetched, then the sessions (conn.c)
 *   owner        session sync: a client frame whose session a peer owns is forwarded to it; a
 *                session of a LIP this node took over is adopted (sync.c)
 *   session      a new session, or a closing one given up for a new SYN (session.c)
 *   SYNPROXY     syncookies and the real server's handshake (synproxy.c)
 *   translate    TTL, FULLNAT rewrite, TOA, shifts (xlate.c)
 *   send         next hop and TX buffer (output.c)
 *
 * A real server's reply loses its hop before SYNPROXY sees it (a SYN-ACK that cannot be
 * forwarded completes no handshake); a client's packet after it (a SYN to a SYNPROXY
 * service is answered whatever its TTL).
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
#include "hdr.h"
#include "sync.h"
#include "synproxy.h"
#include "tcpopt.h"
#include "worker_pvt.h"

#define EXPIRE_SCAN_MAX 65536u      /* sessions looked at per poll at most (live) */
#define EXPIRE_SCAN_MIN 16u         /* ... and at least, once the clock moved */
#define NEIGH_SCAN_MS 1000u         /* worker 0's sweep of the neighbour table */
#define IDLE_POLLS 64u              /* empty polls before the worker sleeps */
#define LOAD_WINDOW_MS 100u         /* the load the sleep is sized by */

uint64_t
worker_now_ms(const struct fnat_dp *dp)
{
	if (dp->test_mode)
		return dp->test_clock_ms;
	return (rte_get_tsc_cycles() - dp->tsc_start) * 1000 / dp->tsc_hz + FNAT_CLOCK_START_MS;
}

/* ---- validate and classify ---- */

/* Validates Ethernet + IPv4; trims padding. Returns the IPv4 header or NULL after dropping. */
static struct rte_ipv4_hdr *
parse_ipv4(struct fnat_worker *w, struct rte_mbuf *m, unsigned *ihl_out)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	if (len < HDR_ETH_LEN + HDR_IPV4_LEN) {
		drop(w, m, FNAT_DROP_TRUNCATED_IPV4);
		return NULL;
	}
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, HDR_ETH_LEN);
	uint32_t avail = len - HDR_ETH_LEN;
	if ((ip->version_ihl >> 4) != HDR_IPV4_VERSION) {
		drop(w, m, FNAT_DROP_BAD_IPV4_VERSION);
		return NULL;
	}
	unsigned ihl = hdr_ipv4_len(ip);
	if (ihl < HDR_IPV4_LEN) {
		drop(w, m, FNAT_DROP_BAD_IPV4_IHL);
		return NULL;
	}
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < HDR_IPV4_LEN || tot > avail) {
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

/* Validates the L4 header of a packet for us (IPv4 without options). Returns 0, a drop reason
 * (negative) or 1 for another protocol (not ours to translate). */
static int
check_l4(struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	unsigned l4len = rte_be_to_cpu_16(ip->total_length) - HDR_IPV4_LEN;
	void *l4 = (uint8_t *)ip + HDR_IPV4_LEN;
	bool l4_good = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	bool l4_bad = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD;
	if (ip->next_proto_id == IPPROTO_TCP) {
		if (l4len < HDR_TCP_LEN)
			return -FNAT_DROP_TRUNCATED_TCP;
		struct rte_tcp_hdr *th = l4;
		unsigned doff = hdr_tcp_len(th);
		if (doff < HDR_TCP_LEN || doff > l4len)
			return -FNAT_DROP_BAD_TCP_DATA_OFFSET;
		if (doff > HDR_TCP_LEN && !tcpopt_valid(hdr_tcp_opts(th), doff - HDR_TCP_LEN))
			return -FNAT_DROP_TCP_OPTIONS_OVERRUN;
		if (l4_bad || (!l4_good && !csum_l4_ok(ip, th, l4len)))
			return -FNAT_DROP_BAD_TCP_CHECKSUM;
		return 0;
	}
	if (ip->next_proto_id == IPPROTO_UDP) {
		if (l4len < HDR_UDP_LEN)
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
		if (l4len < HDR_ICMP_LEN || rte_raw_cksum(l4, l4len) != 0xffff)
			return -FNAT_DROP_BAD_ICMP;
		return 0;
	}
	return 1;
}

/* Validate (L2, L3): ARP goes to worker 0 (consumed); IPv4 continues with p->ip. */
static int
validate_l3(struct fnat_worker *w, struct pkt *p, unsigned *ihl)
{
	struct rte_mbuf *m = p->m;
	if (rte_pktmbuf_data_len(m) < HDR_ETH_LEN)
		return PKT_DROP(FNAT_DROP_TRUNCATED_ETHERNET);
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		if (w->id != 0)
			output_handoff(w, m, 0);
		else
			icmp_arp_handle_arp(w, m, p->pidx);
		return PKT_CONSUMED;
	}
	if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		ignore(w, m);
		return PKT_CONSUMED;
	}
	p->ip = parse_ipv4(w, m, ihl);
	return p->ip == NULL ? PKT_CONSUMED : PKT_CONTINUE; /* parse_ipv4 dropped it */
}

/* Classify by destination address: ours (a VIP, a LIP, a LIP this node stands by for) or not
 * (ignored). *to_lip: a LIP's. */
static int
classify_dst(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p, bool *to_lip)
{
	uint32_t dst = p->ip->dst_addr;
	uint16_t a = snap_addr(s, dst);
	const struct fnat_sync_state *ss = a == 0 ? sync_state(w->dp) : NULL;
	bool standby = ss != NULL && sync_is_standby_lip(ss, dst);
	if (a == 0 && !standby) {
		ignore(w, p->m);
		return PKT_CONSUMED;
	}
	*to_lip = (a & FNAT_ADDR_LIP) != 0 || standby;
	return PKT_CONTINUE;
}

/* Validate (what is for us): no fragments, no IPv4 options, a sound L4 header of a protocol
 * we translate. */
static int
validate_l4(struct fnat_worker *w, struct pkt *p, unsigned ihl)
{
	struct rte_ipv4_hdr *ip = p->ip;
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return PKT_DROP(FNAT_DROP_IPV4_FRAGMENT);
	if (ihl > HDR_IPV4_LEN)
		return PKT_DROP(FNAT_DROP_IPV4_OPTIONS);
	int v = check_l4(p->m, ip);
	if (v < 0)
		return PKT_DROP(-v);
	if (v > 0) {
		ignore(w, p->m);
		return PKT_CONSUMED;
	}
	return PKT_CONTINUE;
}

/* Classify the flow: sync datagrams and ICMP are consumed here; a LIP's packet goes to the
 * worker that owns its port, or is PKT_OUT here; a VIP's names its service (PKT_IN). */
static int
classify_flow(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p, bool to_lip)
{
	struct rte_ipv4_hdr *ip = p->ip;
	uint16_t *ports = (uint16_t *)(ip + 1);
	if (to_lip && ip->next_proto_id == IPPROTO_UDP) {
		/* Sync datagrams from the peers come to this node's sync address (a LIP) on a
		 * port below every LIP port. */
		const struct fnat_sync_state *ss = sync_state(w->dp);
		if (ss != NULL && ip->dst_addr == ss->conf.addr && ports[1] == ss->port_be) {
			sync_receive(w, ss, p->m, ip);
			return PKT_CONSUMED;
		}
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		icmp_arp_handle_icmp(w, s, p->m, ip, p->pidx, to_lip);
		return PKT_CONSUMED;
	}
	p->key.src = ip->src_addr;
	p->key.dst = ip->dst_addr;
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	p->key.proto = ip->next_proto_id;
	p->tcp_flags = ip->next_proto_id == IPPROTO_TCP ? pkt_tcp(ip)->tcp_flags : 0;
	if (to_lip) {
		uint32_t owner = lport_owner(w->dp->n_workers, rte_be_to_cpu_16(ports[1]));
		if (owner != w->id) {
			output_handoff(w, p->m, owner);
			return PKT_CONSUMED;
		}
		p->kind = PKT_OUT;
		return PKT_CONTINUE;
	}
	p->svc = snap_svc(s, ip->dst_addr, ports[1], ip->next_proto_id);
	if (p->svc == NULL)
		return PKT_DROP(FNAT_DROP_NO_SERVICE);
	p->kind = PKT_IN;
	return PKT_CONTINUE;
}

/* A verdict that ends a packet's way (anything but PKT_CONTINUE): a drop is dropped. */
static inline bool
finished(struct fnat_worker *w, struct pkt *p, int v)
{
	if (v == PKT_CONTINUE)
		return false;
	if (v < 0)
		drop(w, p->m, PKT_DROP_REASON(v));
	return true;
}

/* Burst step one, per packet: validate and classify. Packets that need nothing from the
 * session table (ARP, ICMP, foreign, malformed, another worker's) are finished here; the
 * others have their session bucket prefetched. */
static void
rx_stages(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	unsigned ihl = 0;
	bool to_lip = false;
	p->kind = PKT_DONE;
	if (finished(w, p, validate_l3(w, p, &ihl)) ||
	    finished(w, p, classify_dst(w, s, p, &to_lip)) ||
	    finished(w, p, validate_l4(w, p, ihl)) ||
	    finished(w, p, classify_flow(w, s, p, to_lip)))
		return; /* still PKT_DONE: classify_flow sets the kind only when it continues */
	p->hash = fnat_key_hash(&p->key, w->ct.seed);
	conn_prefetch(&w->ct, p->hash);
}

/* ---- owner and send ---- */

/* Owner, client→VIP: a flow the router moved here from its owner (a drain, a node added or
 * lost, a re-hash) goes back to the owner, retransmitted SYNs too; one whose owner is gone and
 * whose LIP this node took over is carried on here (p->c adopted). */
static int
owner_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p,
	 const struct fnat_sync_state *ss)
{
	if (p->c != NULL) {
		sync_count_forwarded_in(w, ss, p->m);
		return PKT_CONTINUE;
	}
	bool consumed;
	p->c = sync_client_miss(w, s, ss, p->m, &p->key, p->pidx, &consumed);
	return consumed ? PKT_CONSUMED : PKT_CONTINUE;
}

/* Owner, RS→LIP: a LIP this node took over (or got back): the session comes from a record. */
static int
owner_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p,
	  const struct fnat_sync_state *ss)
{
	if (p->c == NULL && ss != NULL)
		p->c = sync_server_miss(w, s, ss, &p->key);
	return p->c == NULL ? PKT_DROP(FNAT_DROP_NO_SESSION) : PKT_CONTINUE;
}

/* Send: the next hop's MAC and the TX buffer (or the wait for its ARP answer). */
static inline int
send_stage(struct fnat_worker *w, struct pkt *p)
{
	int v = output_send(w, p->pidx, p->m, p->dst);
	return v < 0 ? PKT_DROP(-v) : PKT_CONSUMED;
}

/* Hop, translate and send, client→RS; returns the last verdict. */
static int
forward_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	int v = xlate_hop(p);
	if (v == PKT_CONTINUE)
		v = xlate_in(w, s, p);
	if (v == PKT_CONTINUE)
		v = send_stage(w, p);
	return v;
}

/* ---- the stages after the lookup, per direction ---- */

static void
pipeline_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p,
	     const struct fnat_sync_state *ss)
{
	int v = owner_out(w, s, p, ss);
	if (finished(w, p, v))
		return;
	struct fnat_conn *c = p->c;
	uint8_t state = c->state, flags = c->flags;
	v = xlate_hop(p);
	if (v == PKT_CONTINUE && c->proto == IPPROTO_TCP)
		v = synproxy_out(w, p);
	if (v == PKT_RESUME) {
		/* The real server's SYN-ACK released the client's kept ACK: on to the real server.
		 * Whatever becomes of it, the session changed. */
		v = forward_in(w, s, p);
		if (v < 0)
			drop(w, p->m, PKT_DROP_REASON(v));
		sync_changed(w, c, state, flags);
		return;
	}
	if (v == PKT_CONTINUE)
		v = xlate_out(w, s, p);
	if (v == PKT_CONTINUE)
		v = send_stage(w, p);
	if (v < 0)
		drop(w, p->m, PKT_DROP_REASON(v));
	else
		sync_changed(w, c, state, flags);
}

static void
pipeline_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p,
	    const struct fnat_sync_state *ss)
{
	int v;
	if (unlikely(ss != NULL) && finished(w, p, owner_in(w, s, p, ss)))
		return;
	if (finished(w, p, session_in(w, s, p)))
		return;
	if (p->key.proto == IPPROTO_TCP) {
		v = synproxy_in(w, s, p);
		if (v == PKT_SEND)
			v = send_stage(w, p);
		if (finished(w, p, v))
			return;
	}
	if (finished(w, p, session_serving(w, s, p)))
		return;
	struct fnat_conn *c = p->c;
	uint8_t state = c->state, flags = c->flags;
	v = forward_in(w, s, p);
	if (v < 0)
		drop(w, p->m, PKT_DROP_REASON(v));
	else
		sync_changed(w, c, state, flags);
}

/* Burst step three, per packet: the lookup's answer, then owner to send. `inserts` is the
 * session table's insert count when step two looked for the burst's candidates. */
static void
forward(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p, uint32_t inserts)
{
	int dir;
	struct fnat_conn *c;
	if (p->cand == NULL) {
		/* No signature matched in either bucket at step two: no session then. An earlier
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
	p->c = c;
	const struct fnat_sync_state *ss = sync_state(w->dp);
	if (p->kind == PKT_OUT)
		pipeline_out(w, s, p, ss);
	else
		pipeline_in(w, s, p, ss);
}

static void
worker_process_burst(struct fnat_worker *w, struct rte_mbuf **pkts, unsigned n, uint16_t pidx)
{
	const struct fnat_snapshot *s = dp_snapshot(w->dp);
	struct pkt ctx[FNAT_BURST];
	for (unsigned off = 0; off < n; off += FNAT_BURST) {
		unsigned k = RTE_MIN(n - off, (unsigned)FNAT_BURST);
		for (unsigned i = 0; i < k; i++) {
			if (i + 1 < k)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[off + i + 1], void *));
			ctx[i].m = pkts[off + i];
			ctx[i].pidx = pidx;
			rx_stages(w, s, &ctx[i]);
		}
		/* Step two: the buckets are in cache now; find and prefetch the sessions. */
		for (unsigned i = 0; i < k; i++) {
			if (ctx[i].kind == PKT_DONE)
				continue;
			ctx[i].cand = conn_candidate(&w->ct, ctx[i].hash, &ctx[i].cand_ref);
			if (ctx[i].cand != NULL)
				rte_prefetch0(ctx[i].cand);
		}
		/* Step three: owner to send, in order. A candidate found above is compared with
		 * the key again (an earlier packet may have freed it); a miss is rechecked only
		 * when earlier packets created sessions. */
		uint32_t inserts = w->ct.inserts;
		for (unsigned i = 0; i < k; i++)
			if (ctx[i].kind != PKT_DONE)
				forward(w, s, &ctx[i], inserts);
	}
}

/* ---- the loop ---- */

/* The expiry sweep: a slice of the session table per poll. A session waiting for its real
 * server runs SYNPROXY's timer; an expired one (or one whose real server went, with
 * expire-on-remove) is freed, an established one with RSTs to both sides. */
static void
expire_scan(struct fnat_worker *w, uint32_t budget)
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
		bool removed = (c->flags & FNAT_CONN_F_EXPIRE_ON_REMOVE) && !s->real_live[conn_rs_id(c)];
		if (c->flags & FNAT_CONN_F_SP_WAIT_RS) {
			if (synproxy_timer(w, s, c))
				continue;
		}
		if ((int32_t)(c->expire - now) > 0 && !removed)
			continue;
		if (c->state == FNAT_S_ESTABLISHED)
			session_rst_both(w, c);
		session_free(w, c);
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
			expire_scan(w, w->ct.hwm);
			w->last_scan_ms = w->now_ms;
		}
	} else if (w->now_ms != w->last_scan_ms) {
		uint64_t elapsed = w->now_ms - w->last_scan_ms;
		uint64_t budget = (uint64_t)w->ct.hwm * elapsed / 1000 + EXPIRE_SCAN_MIN;
		expire_scan(w, (uint32_t)RTE_MIN(budget, (uint64_t)EXPIRE_SCAN_MAX));
		w->last_scan_ms = w->now_ms;
	}
	/* Worker 0 owns the neighbour table: forget entries that stopped answering. */
	if (w->id == 0 && w->now_ms - w->neigh_scan_ms >= NEIGH_SCAN_MS) {
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
		if (w->now_ms - win_start >= LOAD_WINDOW_MS) {
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
		if (++idle < IDLE_POLLS)
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
