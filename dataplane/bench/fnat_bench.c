/* fnat_bench: feeds pre-built frames through the real packet path in memory (a test port's
 * RX ring, as a NIC's descriptor ring would be, then rx_burst → classify → session → translate
 * → tx_burst into the TX ring) on one worker, and prints one JSON object per scenario.
 *
 * usage: fnat_bench SCENARIO [SESSIONS]
 *   baseline_l2fwd | established | new_connections | synflood | ackflood |
 *   new_connections_synproxy | sessions_memory | config_scale VIPS REALS_PER_VIP FLOWS
 *
 * Frames are marked with good IP/L4 checksums the way a NIC's RX offload marks them; every
 * scenario pays the same generation cost (template copy + a few stores per frame), so the
 * baseline is the in-run ceiling.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "dp_pvt.h"
#include "fnat.h"

#define BURST 32

static struct fnat_dp *dp;
static uint16_t port;
static struct rte_ring *rx, *tx;
static uint32_t bench_lips; /* LIPs configured by setup() */
static bool lip_formula;

static const uint8_t PORT_MAC[6] = { 0x02, 0xfa, 0, 0, 0, 1 };
static const uint8_t GW_MAC[6] = { 0x02, 0xc1, 0, 0, 0, 1 };
static const uint8_t RS_MAC[6] = { 0x02, 0x5e, 0, 0, 0, 0x11 };
#define VIP RTE_BE32(0xc000020a)     /* 192.0.2.10 */
#define RIP RTE_BE32(0x0a00000b)     /* 10.0.0.11 */
#define GW RTE_BE32(0x0a000001)
#define LIP_BASE 0x0a640000u         /* 10.100.0.0 + i */
#define CLIENT_BASE 0x0b000000u      /* 11.0.0.0 + i / 60000 */

/* Session i's client tuple. */
static inline uint32_t
caddr_of(uint32_t i)
{
	return rte_cpu_to_be_32(CLIENT_BASE + i / 60000);
}
static inline uint16_t
cport_of(uint32_t i)
{
	return rte_cpu_to_be_16((uint16_t)(1024 + i % 60000));
}

static double
now_s(void)
{
	return (double)rte_get_tsc_cycles() / (double)rte_get_tsc_hz();
}

/* A measured window's start: wall time and this thread's CPU time. Rates are per CPU second of
 * the worker thread ("per core"), so a benchmark that shares its core with other work on a
 * busy machine still reports what one core does; cpu_share in the output says how much of the
 * wall time the thread ran. */
struct mark {
	double wall, cpu;
};

static double
thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct mark
mark_now(void)
{
	return (struct mark){ now_s(), thread_cpu_s() };
}

static uint64_t
rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;
	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A 64-byte TCP frame: Ethernet + IPv4 + TCP + 10 bytes of payload. */
#define FRAME_LEN 64
static void
make_tcp_frame(uint8_t *f, const uint8_t *src_mac, uint32_t saddr, uint32_t daddr,
	       uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
	       unsigned payload)
{
	memset(f, 0, FRAME_LEN);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)f;
	memcpy(&eh->dst_addr, PORT_MAC, 6);
	memcpy(&eh->src_addr, src_mac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 20 + payload));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = saddr;
	ip->dst_addr = daddr;
	/* Checksums are left to the NIC model: frames are marked RX_*_CKSUM_GOOD (frame_mbuf) as
	 * a NIC's RX offload would, so the data plane does not verify them and the generator does
	 * not compute them in the timed loops. */
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
}

static inline struct rte_mbuf *
frame_mbuf(struct rte_mbuf *m, const uint8_t *f, unsigned len)
{
	rte_pktmbuf_reset(m);
	char *p = rte_pktmbuf_append(m, (uint16_t)len);
	rte_memcpy(p, f, len);
	m->port = port;
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return m;
}

/* Push a burst through the worker and return what came out (caller frees). */
/* Sync datagrams the data plane sent (scenarios with session sync): counted and freed, so the
 * scenarios see only the frames they drive. */
static uint64_t sync_frames, sync_bytes;

static unsigned
take_tx(struct rte_mbuf **out, unsigned cap)
{
	unsigned got = rte_ring_dequeue_burst(tx, (void **)out, cap, NULL), kept = 0;
	for (unsigned j = 0; j < got; j++) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(out[j], struct rte_ipv4_hdr *,
								  sizeof(struct rte_ether_hdr));
		if (ip->next_proto_id == IPPROTO_UDP) {
			sync_frames++;
			sync_bytes += rte_pktmbuf_pkt_len(out[j]);
			rte_pktmbuf_free(out[j]);
		} else {
			out[kept++] = out[j];
		}
	}
	return kept;
}

static unsigned
run_burst(struct rte_mbuf **in, unsigned n, struct rte_mbuf **out)
{
	unsigned q = rte_ring_enqueue_burst(rx, (void **)in, n, NULL);
	if (q < n)
		rte_pktmbuf_free_bulk(&in[q], n - q);
	fnat_poll(dp, 0);
	return take_tx(out, BURST * 4);
}

static void
setup(uint32_t sessions, uint32_t n_lips, uint32_t flags, uint32_t time_wait)
{
	struct fnat_options o;
	memset(&o, 0, sizeof(o));
	o.flags = FNAT_OPT_F_TEST_MODE;
	o.n_workers = 1;
	o.sessions_per_worker = sessions;
	o.n_ports = 1;
	o.ports[0].port_id = port;
	o.ports[0].set_mac = 1;
	memcpy(o.ports[0].mac, PORT_MAC, 6);
	o.gateway = GW;
	o.neigh[0].addr = GW;
	memcpy(o.neigh[0].mac, GW_MAC, 6);
	o.neigh[1].addr = RIP;
	memcpy(o.neigh[1].mac, RS_MAC, 6);
	/* Two peer nodes (session sync scenarios): 10.0.0.2 and 10.0.0.3. */
	for (unsigned i = 0; i < 2; i++) {
		o.neigh[2 + i].addr = GW + rte_cpu_to_be_32(2 + i);
		memcpy(o.neigh[2 + i].mac, RS_MAC, 6);
		o.neigh[2 + i].mac[5] = (uint8_t)(0x20 + i);
	}
	o.n_neigh = 4;
	int rc = fnat_create(&o, &dp);
	if (rc < 0) {
		fprintf(stderr, "fnat_create: %s\n", strerror(-rc));
		exit(1);
	}
	struct fnat_service_conf svc;
	memset(&svc, 0, sizeof(svc));
	svc.vip = VIP;
	svc.port = 80;
	svc.proto = FNAT_PROTO_TCP;
	svc.sched = FNAT_SCHED_RR;
	svc.flags = flags;
	svc.n_reals = 1;
	svc.timeouts[FNAT_TO_TIME_WAIT] = time_wait;
	struct fnat_real_conf real = { .addr = RIP, .port = 8080, .weight = 1 };
	bench_lips = n_lips;
	uint32_t *lips = calloc(n_lips, sizeof(*lips));
	for (uint32_t i = 0; i < n_lips; i++)
		lips[i] = rte_cpu_to_be_32(LIP_BASE + i + 1);
	rc = fnat_apply(dp, &svc, 1, &real, 1, lips, n_lips);
	free(lips);
	if (rc < 0) {
		fprintf(stderr, "fnat_apply: %s\n", strerror(-rc));
		exit(1);
	}
}

static struct rte_mempool *
pool(void)
{
	return dp->pool;
}

static inline struct rte_tcp_hdr *
tcp_of(struct rte_mbuf *m)
{
	return (struct rte_tcp_hdr *)(rte_pktmbuf_mtod_offset(m, uint8_t *, 14) + 20);
}

/* n fresh mbufs, or the benchmark stops: a pool that runs dry is a leak. */
static void
alloc_burst(struct rte_mbuf **in, unsigned n)
{
	if (rte_pktmbuf_alloc_bulk(pool(), in, n) != 0) {
		fprintf(stderr, "mbuf pool empty\n");
		exit(1);
	}
}

/* ---- scenarios ---- */

struct result {
	const char *name;
	double mpps, cps, seconds, cpu_share;
	uint64_t packets, sessions, bytes_per_session, connections;
	const char *note;
};

/* The window since m: its wall seconds, and the CPU seconds rates are computed from. */
static double
window(struct result *r, struct mark m)
{
	struct mark e = mark_now();
	double cpu = e.cpu - m.cpu, wall = e.wall - m.wall;
	r->seconds = wall;
	r->cpu_share = wall > 0 ? cpu / wall : 0;
	return cpu > 0 ? cpu : wall;
}

static void
print_result(const struct result *r)
{
	printf("{\"name\":\"%s\"", r->name);
	if (r->mpps > 0)
		printf(",\"mpps_per_core\":%.3f", r->mpps);
	if (r->cps > 0)
		printf(",\"connections_per_second_per_core\":%.0f", r->cps);
	if (r->sessions > 0)
		printf(",\"sessions\":%lu", (unsigned long)r->sessions);
	if (r->bytes_per_session > 0)
		printf(",\"bytes_per_session\":%lu", (unsigned long)r->bytes_per_session);
	if (r->packets > 0)
		printf(",\"packets\":%lu", (unsigned long)r->packets);
	if (r->connections > 0)
		printf(",\"connections\":%lu", (unsigned long)r->connections);
	printf(",\"seconds\":%.3f", r->seconds);
	if (r->cpu_share > 0)
		printf(",\"cpu_share\":%.2f", r->cpu_share);
	if (r->note != NULL)
		printf(",\"note\":\"%s\"", r->note);
	printf("}\n");
}

/* Per-session LIP and LIP port, learned from the translated SYNs. With one worker the
 * allocation is deterministic (LIPs in turn, each LIP's ports in order); when every session
 * matches that formula the generator computes it instead of reading these arrays, so it adds no
 * cache miss of its own (a NIC would not either). */
static uint32_t *s_lip;
static uint16_t *s_lport;

static inline uint32_t
lip_of(uint32_t i)
{
	return lip_formula ? rte_cpu_to_be_32(LIP_BASE + 1 + i % bench_lips) : s_lip[i];
}
static inline uint16_t
lport_of(uint32_t i)
{
	return lip_formula ? rte_cpu_to_be_16((uint16_t)(FNAT_LPORT_MIN + i / bench_lips)) :
			     s_lport[i];
}

/* Open n sessions through the packet path: SYN, SYN-ACK, ACK (with TOA), and a reply from the
 * real server (which ends TOA insertion), so data packets afterwards are plain. */
static void
open_sessions(uint32_t n)
{
	s_lip = malloc(sizeof(*s_lip) * n);
	s_lport = malloc(sizeof(*s_lport) * n);
	uint8_t f[FRAME_LEN];
	struct rte_mbuf *in[BURST], *out[BURST * 4];
	for (uint32_t base = 0; base < n; base += BURST) {
		unsigned k = RTE_MIN((uint32_t)BURST, n - base);
		for (int phase = 0; phase < 4; phase++) {
			alloc_burst(in, k);
			for (unsigned j = 0; j < k; j++) {
				uint32_t i = base + j;
				switch (phase) {
				case 0:
					make_tcp_frame(f, GW_MAC, caddr_of(i), VIP, cport_of(i),
						       RTE_BE16(80), 1000, 0, RTE_TCP_SYN_FLAG, 0);
					break;
				case 1:
					make_tcp_frame(f, RS_MAC, RIP, s_lip[i], RTE_BE16(8080),
						       s_lport[i], 5000, 0,
						       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
					break;
				case 2:
					make_tcp_frame(f, GW_MAC, caddr_of(i), VIP, cport_of(i),
						       RTE_BE16(80), 1001, 5001, RTE_TCP_ACK_FLAG, 0);
					break;
				default:
					make_tcp_frame(f, RS_MAC, RIP, s_lip[i], RTE_BE16(8080),
						       s_lport[i], 5001, 0,
						       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
				}
				frame_mbuf(in[j], f, phase == 3 ? FRAME_LEN : 54);
			}
			unsigned got = run_burst(in, k, out);
			if (phase == 0) {
				if (got != k) {
					fprintf(stderr, "open: %u of %u SYNs forwarded at %u\n", got, k,
						base);
					exit(1);
				}
				for (unsigned j = 0; j < got; j++) {
					struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
						out[j], struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
					struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
					s_lip[base + j] = ip->src_addr;
					s_lport[base + j] = th->src_port;
				}
			}
			rte_pktmbuf_free_bulk(out, got);
		}
	}
	lip_formula = true;
	for (uint32_t i = 0; i < n && lip_formula; i++)
		lip_formula = s_lip[i] == rte_cpu_to_be_32(LIP_BASE + 1 + i % bench_lips) &&
			      s_lport[i] == rte_cpu_to_be_16((uint16_t)(FNAT_LPORT_MIN + i / bench_lips));
	fprintf(stderr, "LIP ports %s the allocation formula\n", lip_formula ? "follow" : "do not follow");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static inline uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Data packets of random sessions, random direction. l2fwd: swap MACs instead of the data
 * plane (same generation, same rings). */
static struct result
traffic(const char *name, uint32_t n, uint64_t packets, bool l2fwd)
{
	uint8_t fin[FRAME_LEN], fout[FRAME_LEN];
	make_tcp_frame(fin, GW_MAC, 0, VIP, 0, RTE_BE16(80), 2000, 5011,
		       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
	make_tcp_frame(fout, RS_MAC, RIP, 0, RTE_BE16(8080), 0, 5011, 2000,
		       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
	struct rte_mbuf *in[BURST], *out[BURST * 4];
	uint64_t done = 0, forwarded = 0;
	struct mark t0 = mark_now();
	while (done < packets) {
		if (rte_pktmbuf_alloc_bulk(pool(), in, BURST) != 0)
			break;
		for (unsigned j = 0; j < BURST; j++) {
			uint64_t r = rng();
			uint32_t i = (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
			struct rte_mbuf *m = in[j];
			uint8_t *p;
			if (r & 1) {
				frame_mbuf(m, fin, FRAME_LEN);
				p = rte_pktmbuf_mtod(m, uint8_t *);
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
				ip->src_addr = caddr_of(i);
				((struct rte_tcp_hdr *)(ip + 1))->src_port = cport_of(i);
			} else {
				frame_mbuf(m, fout, FRAME_LEN);
				p = rte_pktmbuf_mtod(m, uint8_t *);
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
				ip->dst_addr = lip_of(i);
				((struct rte_tcp_hdr *)(ip + 1))->dst_port = lport_of(i);
			}
		}
		unsigned got;
		if (l2fwd) {
			unsigned q = rte_ring_enqueue_burst(rx, (void **)in, BURST, NULL);
			uint16_t nrx = rte_eth_rx_burst(port, 0, in, BURST);
			RTE_SET_USED(q);
			for (unsigned j = 0; j < nrx; j++) {
				struct rte_ether_hdr *eh = rte_pktmbuf_mtod(in[j], struct rte_ether_hdr *);
				struct rte_ether_addr t = eh->dst_addr;
				eh->dst_addr = eh->src_addr;
				eh->src_addr = t;
			}
			uint16_t ntx = rte_eth_tx_burst(port, 0, in, nrx);
			if (ntx < nrx)
				rte_pktmbuf_free_bulk(&in[ntx], nrx - ntx);
			got = rte_ring_dequeue_burst(tx, (void **)out, BURST * 4, NULL);
		} else {
			got = run_burst(in, BURST, out);
		}
		forwarded += got;
		rte_pktmbuf_free_bulk(out, got);
		done += BURST;
	}
	struct result r = { .name = name, .packets = done, .sessions = l2fwd ? 0 : n };
	r.mpps = (double)done / window(&r, t0) / 1e6;
	if (forwarded != done) {
		fprintf(stderr, "%s: %lu of %lu packets came out\n", name, (unsigned long)forwarded,
			(unsigned long)done);
		r.note = "some packets were not forwarded (see stderr)";
	}
	return r;
}

/* Lets TIME_WAIT (1 s) pass on the test clock so the sweep frees closed sessions; anything the
 * sweep sends (it should send nothing: every connection closed) is reported. */
static void
pass_time_wait(struct rte_mbuf **out)
{
	fnat_clock_advance(dp, 2000000000ull);
	fnat_poll(dp, 0);
	unsigned extra;
	while (sync_frames > 0 && rte_ring_count(tx) > BURST * 4)
		rte_pktmbuf_free_bulk(out, take_tx(out, BURST * 4)); /* the DEL records */
	extra = take_tx(out, BURST * 4);
	for (unsigned j = 0; j < extra; j++) {
		struct rte_tcp_hdr *th = tcp_of(out[j]);
		fprintf(stderr, "after expiry: flags %#x sport %u dport %u\n", th->tcp_flags,
			rte_be_to_cpu_16(th->src_port), rte_be_to_cpu_16(th->dst_port));
	}
	rte_pktmbuf_free_bulk(out, extra);
}

static struct result
connections_result(const char *name, struct mark t0, uint64_t done)
{
	struct result r = { .name = name, .connections = done };
	r.cps = (double)done / window(&r, t0);
	r.sessions = fnat_session_count(dp);
	return r;
}

/* Full connections: SYN, SYN-ACK, ACK, data each way, FIN each way, last ACK; the sessions
 * go to TIME_WAIT (1 s) and the test clock is advanced so the sweep frees them. */
static struct result
connections(const char *name, uint64_t total)
{
	uint8_t f[FRAME_LEN];
	struct rte_mbuf *in[BURST], *out[BURST * 4];
	uint32_t lip[BURST];
	uint16_t lport[BURST];
	uint64_t done = 0;
	uint32_t cp = 0;
	struct mark t0 = mark_now();
	while (done < total) {
		for (int phase = 0; phase < 8; phase++) {
			alloc_burst(in, BURST);
			for (unsigned j = 0; j < BURST; j++) {
				uint32_t i = cp + j;
				uint32_t ca = caddr_of(i % 3000000);
				uint16_t cpo = cport_of(i % 3000000);
				unsigned len = 54;
				switch (phase) {
				case 0: /* SYN */
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1000, 0,
						       RTE_TCP_SYN_FLAG, 0);
					break;
				case 1: /* SYN-ACK */
					make_tcp_frame(f, RS_MAC, RIP, lip[j], RTE_BE16(8080), lport[j],
						       5000, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
					break;
				case 2: /* ACK */
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1001, 5001,
						       RTE_TCP_ACK_FLAG, 0);
					break;
				case 3: /* request */
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1001, 5001,
						       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
					len = FRAME_LEN;
					break;
				case 4: /* response */
					make_tcp_frame(f, RS_MAC, RIP, lip[j], RTE_BE16(8080), lport[j],
						       5001, 0, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
					len = FRAME_LEN;
					break;
				case 5: /* client FIN */
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1011, 5011,
						       RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 0);
					break;
				case 6: /* server FIN */
					make_tcp_frame(f, RS_MAC, RIP, lip[j], RTE_BE16(8080), lport[j],
						       5011, 0, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 0);
					break;
				default: /* last ACK */
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1012, 5012,
						       RTE_TCP_ACK_FLAG, 0);
				}
				frame_mbuf(in[j], f, len);
			}
			unsigned got = run_burst(in, BURST, out);
			if (phase == 0) {
				if (got != BURST) {
					fprintf(stderr, "%s: %u of %u SYNs forwarded\n", name, got, BURST);
					exit(1);
				}
				for (unsigned j = 0; j < got; j++) {
					struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
						out[j], struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
					lip[j] = ip->src_addr;
					lport[j] = ((struct rte_tcp_hdr *)(ip + 1))->src_port;
				}
			}
			rte_pktmbuf_free_bulk(out, got);
		}
		cp += BURST;
		done += BURST;
		if (done % 65536 == 0)
			pass_time_wait(out);
	}
	return connections_result(name, t0, done);
}

/* A Linux-like SYN with options (MSS, SACK-permitted, timestamps, NOP, wscale): 74 bytes. */
#define SYN_LEN 74
static void
make_syn_frame(uint8_t *f, uint32_t saddr, uint16_t sport, uint32_t isn)
{
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					  1, 3, 3, 7 };
	memset(f, 0, SYN_LEN);
	make_tcp_frame(f, GW_MAC, saddr, VIP, sport, RTE_BE16(80), isn, 0, RTE_TCP_SYN_FLAG, 0);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	ip->total_length = rte_cpu_to_be_16(60);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->data_off = 10 << 4;
	memcpy(th + 1, opts, 20);
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
}

/* Spoofed SYNs (answered with cookies) or random ACKs (rejected) from random sources. */
static struct result
flood(const char *name, uint64_t packets, bool syn)
{
	uint8_t f[SYN_LEN];
	if (syn)
		make_syn_frame(f, 0, 0, 1);
	else
		make_tcp_frame(f, GW_MAC, 0, VIP, 0, RTE_BE16(80), 1, 1, RTE_TCP_ACK_FLAG, 0);
	unsigned len = syn ? SYN_LEN : 54;
	struct rte_mbuf *in[BURST], *out[BURST * 4];
	uint64_t done = 0, answered = 0;
	struct mark t0 = mark_now();
	while (done < packets) {
		if (rte_pktmbuf_alloc_bulk(pool(), in, BURST) != 0)
			break;
		for (unsigned j = 0; j < BURST; j++) {
			uint64_t r = rng();
			frame_mbuf(in[j], f, len);
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(in[j], struct rte_ipv4_hdr *, 14);
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
			ip->src_addr = (uint32_t)r;
			th->src_port = (uint16_t)(r >> 32);
			th->sent_seq = (uint32_t)(r >> 16);
			if (!syn)
				th->recv_ack = (uint32_t)(r >> 24);
		}
		unsigned got = run_burst(in, BURST, out);
		answered += got;
		rte_pktmbuf_free_bulk(out, got);
		done += BURST;
	}
	struct result r = { .name = name, .packets = done };
	r.mpps = (double)done / window(&r, t0) / 1e6;
	r.sessions = fnat_session_count(dp);
	/* A forged ACK passes a 21-bit cookie MAC with probability 2^-21 (Linux: 2^-24 or so):
	 * a handful per ten million is expected; more would be a bug. */
	if (!syn)
		r.sessions = answered;
	if (syn ? answered != done : answered > done / 100000) {
		fprintf(stderr, "%s: %lu answers for %lu packets\n", name, (unsigned long)answered,
			(unsigned long)done);
		r.note = "unexpected answers (see stderr)";
	}
	return r;
}

/* Full connections through SYNPROXY: SYN → cookie SYN-ACK, ACK → SYN to the real server, its
 * SYN-ACK → kept ACK, data each way, FIN each way, last ACK. */
static struct result
connections_synproxy(const char *name, uint64_t total)
{
	uint8_t f[SYN_LEN];
	struct rte_mbuf *in[BURST], *out[BURST * 4];
	uint32_t cookie[BURST], lip[BURST], rsseq[BURST];
	uint16_t lport[BURST];
	uint64_t done = 0;
	uint32_t cp = 0;
	struct mark t0 = mark_now();
	while (done < total) {
		for (int phase = 0; phase < 8; phase++) {
			alloc_burst(in, BURST);
			for (unsigned j = 0; j < BURST; j++) {
				uint32_t i = (cp + j) % 3000000;
				uint32_t ca = caddr_of(i);
				uint16_t cpo = cport_of(i);
				unsigned len = 54;
				uint32_t ck = cookie[j];
				switch (phase) {
				case 0:
					make_syn_frame(f, ca, cpo, 1000);
					len = SYN_LEN;
					break;
				case 1:
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1001, ck + 1,
						       RTE_TCP_ACK_FLAG, 0);
					break;
				case 2:
					make_tcp_frame(f, RS_MAC, RIP, lip[j], RTE_BE16(8080), lport[j],
						       7000, rsseq[j] + 1,
						       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
					break;
				case 3:
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1001, ck + 1,
						       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
					len = FRAME_LEN;
					break;
				case 4:
					make_tcp_frame(f, RS_MAC, RIP, lip[j], RTE_BE16(8080), lport[j],
						       7001, rsseq[j] + 11,
						       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
					len = FRAME_LEN;
					break;
				case 5:
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1011, ck + 11,
						       RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 0);
					break;
				case 6:
					make_tcp_frame(f, RS_MAC, RIP, lip[j], RTE_BE16(8080), lport[j],
						       7011, rsseq[j] + 12,
						       RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 0);
					break;
				default:
					make_tcp_frame(f, GW_MAC, ca, VIP, cpo, RTE_BE16(80), 1012, ck + 12,
						       RTE_TCP_ACK_FLAG, 0);
					break;
				}
				frame_mbuf(in[j], f, len);
			}
			unsigned got = run_burst(in, BURST, out);
			if ((phase == 0 || phase == 1) && got != BURST) {
				fprintf(stderr, "%s: phase %d: %u of %u answered\n", name, phase, got,
					BURST);
				exit(1);
			}
			for (unsigned j = 0; j < got && (phase == 0 || phase == 1); j++) {
				struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
					out[j], struct rte_ipv4_hdr *, 14);
				struct rte_tcp_hdr *th = tcp_of(out[j]);
				if (phase == 0) {
					cookie[j] = rte_be_to_cpu_32(th->sent_seq);
				} else {
					lip[j] = ip->src_addr;
					lport[j] = th->src_port;
					rsseq[j] = rte_be_to_cpu_32(th->sent_seq);
				}
			}
			rte_pktmbuf_free_bulk(out, got);
		}
		cp += BURST;
		done += BURST;
		if (done % 65536 == 0)
			pass_time_wait(out);
	}
	return connections_result(name, t0, done);
}

static struct result
sessions_memory(uint32_t n)
{
	struct result r = { .name = "sessions_40m_memory", .sessions = n };
	uint64_t before = rss_bytes();
	double t0 = now_s();
	struct fnat_conn_table t;
	if (conn_table_init(&t, n, 7) < 0) {
		r.note = "not enough memory for the table";
		return r;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct fnat_conn c = { 0 };
		c.caddr = caddr_of(i);
		c.cport = cport_of(i);
		c.vaddr = VIP;
		c.vport = RTE_BE16(80);
		c.laddr = rte_cpu_to_be_32(LIP_BASE + 1 + i / 64000);
		c.lport = rte_cpu_to_be_16((uint16_t)(1024 + i % 64000));
		c.raddr = RIP;
		c.rport = RTE_BE16(8080);
		c.proto = 6;
		c.state = FNAT_S_ESTABLISHED;
		struct fnat_key k;
		fnat_conn_key(&c, FNAT_DIR_IN, &k);
		if (conn_insert(&t, &c, fnat_key_hash(&k, t.seed)) == NULL) {
			fprintf(stderr, "insert failed at %u\n", i);
			r.note = "the index refused a session";
			break;
		}
	}
	r.seconds = now_s() - t0;
	uint64_t grown = rss_bytes() - before;
	/* All memory the sessions take: the larger of what the table reserved and what the
	 * process actually grew by. */
	uint64_t bytes = RTE_MAX((uint64_t)t.bytes, grown);
	r.bytes_per_session = (bytes + n - 1) / n;
	conn_table_free(&t);
	return r;
}

/* Session sync to n_peers peers on the port's link (static neighbours, so nothing waits for
 * ARP); the peers never answer. */
static void
sync_on(uint32_t n_peers)
{
	struct fnat_sync_conf c;
	memset(&c, 0, sizeof(c));
	c.node = GW + rte_cpu_to_be_32(1);
	c.addr = rte_cpu_to_be_32(LIP_BASE + 1);
	memset(c.key, 0x5a, sizeof(c.key));
	c.n_peers = n_peers;
	for (uint32_t i = 0; i < n_peers; i++) {
		c.peers[i].node = GW + rte_cpu_to_be_32(2 + i);
		c.peers[i].addr = rte_cpu_to_be_32(LIP_BASE + 1000 + i);
	}
	int rc = fnat_sync_set(dp, &c);
	if (rc < 0) {
		fprintf(stderr, "fnat_sync_set: %s\n", strerror(-rc));
		exit(1);
	}
}

/* What sync cost on the wire: bytes per connection to each peer, records per connection. */
static const char *
sync_note(uint64_t connections, uint32_t n_peers)
{
	static char note[160];
	struct fnat_worker_stats ws[1];
	struct fnat_service_stats ss[4];
	struct fnat_real_stats rs[4];
	uint32_t cnt[3];
	uint64_t records = 0;
	if (fnat_stats(dp, ws, 1, ss, 4, rs, 4, cnt) == 0)
		records = ws[0].sync_records_sent;
	snprintf(note, sizeof(note),
		 "records %.2f per connection, %.1f wire bytes per connection per peer (%lu frames)",
		 (double)records / (double)connections,
		 (double)sync_bytes / (double)n_peers / (double)connections,
		 (unsigned long)sync_frames);
	return note;
}

/* ---- config_scale: a large configuration applied while established flows keep flowing ----
 *
 * Not in test mode: the worker runs on its own lcore (as in production), the control thread
 * (main) calls fnat_apply, and a generator pthread plays the NIC and the network: it feeds
 * packets of established sessions into the port's RX ring, drains its TX ring and counts what
 * came out. A probe SYN per generator round, to a service whose answer changes with the new
 * snapshot, shows when the worker runs on it. */

#define CS_VIP_BASE 0x64400000u    /* 100.64.0.0 + i: the services' VIPs */
#define CS_REAL_BASE 0xac100000u   /* 172.16.0.0 + 8 i + r: their real servers (via GW) */
#define CS_PROBE_VIP 0xc0000263u   /* 192.0.2.99: the probe service */
#define CS_PROBE_REAL 0x0a0a0000u  /* 10.10.0.0 + r: its real servers */
#define CS_LIPS 4
#define CS_INFLIGHT 1024           /* frames the generator has in the rings at most */

struct cs_flow {
	uint32_t raddr, laddr;
	uint16_t rport, lport;
};

static struct {
	struct cs_flow *flows;
	uint32_t n_flows;
	volatile bool stop, paused; /* paused: the generator only drains */
	volatile uint32_t probe_want; /* 0: no probe; else the probe real's index (+1) that
				       * shows the new snapshot */
	volatile uint64_t probe_seen_tsc;
	volatile uint64_t sent, received, probes;
} cs;

/* Moves one burst: generator side only. Returns frames taken from TX. */
static unsigned
cs_drain(struct rte_mbuf **out)
{
	unsigned got = rte_ring_dequeue_burst(tx, (void **)out, BURST * 4, NULL);
	uint64_t est = 0;
	for (unsigned j = 0; j < got; j++) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(out[j], struct rte_ipv4_hdr *, 14);
		uint32_t d = rte_be_to_cpu_32(ip->dst_addr);
		if ((d & 0xffffff00u) == CS_PROBE_REAL) {
			uint32_t want = cs.probe_want;
			if (want != 0 && d - CS_PROBE_REAL == want - 1 && cs.probe_seen_tsc == 0)
				cs.probe_seen_tsc = rte_get_tsc_cycles();
		} else {
			est++;
		}
	}
	rte_pktmbuf_free_bulk(out, got);
	__atomic_fetch_add(&cs.received, est, __ATOMIC_RELAXED);
	return got;
}

static void *
cs_generator(void *arg)
{
	RTE_SET_USED(arg);
	uint8_t fin[FRAME_LEN], fout[FRAME_LEN], fsyn[FRAME_LEN];
	make_tcp_frame(fin, GW_MAC, 0, VIP, 0, RTE_BE16(80), 2000, 5011,
		       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 10);
	make_tcp_frame(fout, RS_MAC, 0, 0, 0, 0, 5011, 2000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
		       10);
	make_tcp_frame(fsyn, GW_MAC, 0, rte_cpu_to_be_32(CS_PROBE_VIP), 0, RTE_BE16(80), 1, 0,
		       RTE_TCP_SYN_FLAG, 0);
	struct rte_mbuf *in[BURST + 1], *out[BURST * 4];
	uint32_t probe_port = 0;
	uint64_t next_probe = 0, probe_gap = rte_get_tsc_hz() / 20000; /* 50 µs apart */
	while (!cs.stop) {
		cs_drain(out);
		if (cs.paused || (int64_t)(cs.sent - cs.received) > CS_INFLIGHT) {
			rte_pause();
			continue;
		}
		bool probe = cs.probe_want != 0 && cs.probe_seen_tsc == 0 &&
			     rte_get_tsc_cycles() >= next_probe;
		if (probe)
			next_probe = rte_get_tsc_cycles() + probe_gap;
		unsigned k = BURST + (probe ? 1 : 0);
		if (rte_pktmbuf_alloc_bulk(pool(), in, k) != 0) {
			rte_pause();
			continue;
		}
		for (unsigned j = 0; j < BURST; j++) {
			uint64_t r = rng();
			uint32_t i = (uint32_t)(((r >> 32) * (uint64_t)cs.n_flows) >> 32);
			const struct cs_flow *fl = &cs.flows[i];
			struct rte_mbuf *m = in[j];
			struct rte_ipv4_hdr *ip;
			if (r & 1) {
				frame_mbuf(m, fin, FRAME_LEN);
				ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
				ip->src_addr = caddr_of(i);
				((struct rte_tcp_hdr *)(ip + 1))->src_port = cport_of(i);
			} else {
				frame_mbuf(m, fout, FRAME_LEN);
				ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
				ip->src_addr = fl->raddr;
				ip->dst_addr = fl->laddr;
				struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
				th->src_port = fl->rport;
				th->dst_port = fl->lport;
			}
		}
		if (probe) { /* a new client each time: a SYN of a new session */
			frame_mbuf(in[BURST], fsyn, 54);
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(in[BURST],
									  struct rte_ipv4_hdr *, 14);
			ip->src_addr = rte_cpu_to_be_32(0x0c000000u + probe_port / 60000);
			((struct rte_tcp_hdr *)(ip + 1))->src_port =
				rte_cpu_to_be_16((uint16_t)(1024 + probe_port % 60000));
			probe_port++;
		}
		unsigned q = rte_ring_enqueue_burst(rx, (void **)in, k, NULL);
		if (q < k)
			rte_pktmbuf_free_bulk(&in[q], k - q);
		unsigned est = RTE_MIN(q, (unsigned)BURST);
		__atomic_fetch_add(&cs.sent, est, __ATOMIC_RELAXED);
		if (probe && q == k)
			cs.probes++;
	}
	return NULL;
}

/* Control thread: enqueue k frames and wait (1 s at most) for `want` to come out. */
static unsigned
cs_exchange(struct rte_mbuf **in, unsigned k, struct rte_mbuf **out, unsigned want)
{
	if (rte_ring_enqueue_burst(rx, (void **)in, k, NULL) != k) {
		fprintf(stderr, "config_scale: RX ring full\n");
		exit(1);
	}
	unsigned got = 0;
	double t0 = now_s();
	while (got < want && now_s() - t0 < 1.0)
		got += rte_ring_dequeue_burst(tx, (void **)&out[got], BURST * 4 - got, NULL);
	return got;
}

/* Open n sessions to the first service (its 8 real servers in turn): SYN, SYN-ACK, ACK, and a
 * reply (which ends TOA insertion). */
static void
cs_open(uint32_t n)
{
	cs.flows = calloc(n, sizeof(*cs.flows));
	cs.n_flows = n;
	uint8_t f[FRAME_LEN];
	struct rte_mbuf *in[BURST], *out[BURST * 4];
	for (uint32_t base = 0; base < n; base += BURST) {
		unsigned k = RTE_MIN((uint32_t)BURST, n - base);
		for (int phase = 0; phase < 4; phase++) {
			alloc_burst(in, k);
			for (unsigned j = 0; j < k; j++) {
				uint32_t i = base + j;
				const struct cs_flow *fl = &cs.flows[i];
				if (phase == 0 || phase == 2)
					make_tcp_frame(f, GW_MAC, caddr_of(i), VIP, cport_of(i),
						       RTE_BE16(80), phase ? 1001 : 1000,
						       phase ? 5001 : 0,
						       phase ? RTE_TCP_ACK_FLAG : RTE_TCP_SYN_FLAG, 0);
				else
					make_tcp_frame(f, RS_MAC, fl->raddr, fl->laddr, fl->rport,
						       fl->lport, phase == 1 ? 5000 : 5001,
						       phase == 1 ? 0 : 1001,
						       phase == 1 ? RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG :
								    RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
						       phase == 3 ? 10 : 0);
				frame_mbuf(in[j], f, phase == 3 ? FRAME_LEN : 54);
			}
			unsigned got = cs_exchange(in, k, out, k);
			if (got != k) {
				fprintf(stderr, "config_scale: open phase %d: %u of %u out at %u\n",
					phase, got, k, base);
				exit(1);
			}
			for (unsigned j = 0; j < got && phase == 0; j++) {
				struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
					out[j], struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
				struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
				/* Frames leave in order: the j-th SYN in is the j-th out. */
				cs.flows[base + j] = (struct cs_flow){ ip->dst_addr, ip->src_addr,
								       th->dst_port, th->src_port };
			}
			rte_pktmbuf_free_bulk(out, got);
		}
	}
}

/* The configuration: service 0 is the established flows' (VIP:80, 8 real servers), the probe
 * service (probe_weights) and n_vips - 2 more, each with reals_per_vip real servers. */
struct cs_config {
	struct fnat_service_conf *svcs;
	struct fnat_real_conf *reals;
	uint32_t n_svcs, n_reals;
	uint32_t lips[CS_LIPS];
};

static void
cs_config_make(struct cs_config *c, uint32_t n_vips, uint32_t per_vip)
{
	c->n_svcs = n_vips;
	c->n_reals = n_vips * per_vip;
	c->svcs = calloc(n_vips, sizeof(*c->svcs));
	c->reals = calloc(c->n_reals, sizeof(*c->reals));
	for (uint32_t i = 0; i < n_vips; i++) {
		struct fnat_service_conf *s = &c->svcs[i];
		s->vip = i == 0 ? VIP :
			 i == 1 ? rte_cpu_to_be_32(CS_PROBE_VIP) : rte_cpu_to_be_32(CS_VIP_BASE + i);
		s->port = 80;
		s->proto = FNAT_PROTO_TCP;
		s->sched = FNAT_SCHED_RR;
		s->flags = FNAT_SVC_F_TOA;
		s->first_real = i * per_vip;
		s->n_reals = per_vip;
		for (uint32_t r = 0; r < per_vip; r++) {
			struct fnat_real_conf *rc = &c->reals[i * per_vip + r];
			rc->addr = i == 1 ? rte_cpu_to_be_32(CS_PROBE_REAL + r) :
					    rte_cpu_to_be_32(CS_REAL_BASE + i * per_vip + r);
			rc->port = 8080;
			/* the probe service: only its first real server takes new sessions */
			rc->weight = i == 1 && r > 0 ? 0 : 1;
		}
	}
	for (uint32_t l = 0; l < CS_LIPS; l++)
		c->lips[l] = rte_cpu_to_be_32(LIP_BASE + 1 + l);
}

static int
cs_apply(const struct cs_config *c, uint32_t n_svcs)
{
	uint32_t n_reals = n_svcs == c->n_svcs ? c->n_reals : c->svcs[n_svcs - 1].first_real +
								  c->svcs[n_svcs - 1].n_reals;
	return fnat_apply(dp, c->svcs, n_svcs, c->reals, n_reals, c->lips, CS_LIPS);
}

struct cs_figures {
	double apply_ms, switch_ms;
	uint64_t sent, lost, snapshot_bytes;
};

/* One apply under traffic: the probe shows the switch (probe real index + 1 = probe_want). */
static struct cs_figures
cs_measure(const struct cs_config *c, uint32_t probe_want)
{
	struct cs_figures f = { 0 };
	uint64_t hz = rte_get_tsc_hz();
	/* Counters are reset while the generator is paused and the rings are empty. */
	cs.probe_seen_tsc = 0;
	cs.sent = cs.received = 0;
	cs.paused = false;
	rte_delay_us_sleep(100000); /* steady traffic first */
	cs.probe_want = probe_want;
	uint64_t t0 = rte_get_tsc_cycles();
	int rc = cs_apply(c, c->n_svcs);
	uint64_t t1 = rte_get_tsc_cycles();
	if (rc < 0) {
		fprintf(stderr, "config_scale: fnat_apply: %s\n", strerror(-rc));
		exit(1);
	}
	/* The control thread sleeps while it waits: the machine may have fewer cores than the
	 * three busy threads (worker, generator, control). */
	while (cs.probe_seen_tsc == 0 && rte_get_tsc_cycles() - t1 < 2 * hz)
		rte_delay_us_sleep(100);
	uint64_t seen = cs.probe_seen_tsc;
	rte_delay_us_sleep(100000); /* steady traffic after */
	cs.paused = true;
	uint64_t tp = rte_get_tsc_cycles();
	while (cs.received < cs.sent && rte_get_tsc_cycles() - tp < hz / 2)
		rte_delay_us_sleep(100);
	rte_delay_us_sleep(10000); /* late frames: then the rings are empty (or lost) */
	cs.probe_want = 0;
	f.apply_ms = (double)(t1 - t0) * 1e3 / (double)hz;
	f.switch_ms = seen == 0 ? -1 : (double)(seen - t0) * 1e3 / (double)hz;
	f.sent = cs.sent;
	f.lost = cs.sent - cs.received;
	f.snapshot_bytes = snapshot_bytes(dp->snap);
	return f;
}

static void
config_scale(uint32_t n_vips, uint32_t per_vip, uint32_t n_flows)
{
	if (n_vips < 2 || per_vip < 2) {
		fprintf(stderr, "config_scale: at least 2 VIPs of 2 real servers\n");
		exit(2);
	}
	struct fnat_options o;
	memset(&o, 0, sizeof(o));
	o.n_workers = 1;
	o.sessions_per_worker = n_flows + n_flows / 4 + (1u << 18); /* and the probes' */
	o.n_ports = 1;
	o.ports[0].port_id = port;
	o.ports[0].set_mac = 1;
	memcpy(o.ports[0].mac, PORT_MAC, 6);
	o.gateway = GW;
	o.neigh[0].addr = GW;
	memcpy(o.neigh[0].mac, GW_MAC, 6);
	o.n_neigh = 1;
	int rc = fnat_create(&o, &dp);
	if (rc < 0) {
		fprintf(stderr, "fnat_create: %s\n", strerror(-rc));
		exit(1);
	}
	struct cs_config c;
	cs_config_make(&c, n_vips, per_vip);
	/* Before: the flows' service alone. */
	if ((rc = cs_apply(&c, 1)) < 0 || (rc = fnat_start(dp)) < 0) {
		fprintf(stderr, "config_scale: %s\n", strerror(-rc));
		exit(1);
	}
	double t0 = now_s();
	cs_open(n_flows);
	fprintf(stderr, "config_scale: opened %u sessions in %.2f s\n", n_flows, now_s() - t0);
	pthread_t gen;
	cs.paused = true;
	if (pthread_create(&gen, NULL, cs_generator, NULL) != 0) {
		fprintf(stderr, "config_scale: pthread_create failed\n");
		exit(1);
	}
	/* The full configuration: the probe's first real server (index 0) answers once the
	 * worker runs on it. */
	struct cs_figures full = cs_measure(&c, 1);
	/* Incremental: one real server's weight (the probe's second, 0 → 1): round robin sends
	 * one of the next two probe SYNs to it. */
	c.reals[c.svcs[1].first_real + 1].weight = 1;
	struct cs_figures incr = cs_measure(&c, 2);
	cs.stop = true;
	pthread_join(gen, NULL);
	struct fnat_worker_stats ws[1];
	static struct fnat_service_stats ss[FNAT_MAX_SERVICES];
	static struct fnat_real_stats rs[FNAT_MAX_REALS];
	uint32_t cnt[3];
	uint64_t drops = 0;
	fnat_stop(dp);
	if (fnat_stats(dp, ws, 1, ss, FNAT_MAX_SERVICES, rs, FNAT_MAX_REALS, cnt) == 0)
		for (uint32_t i = 0; i < FNAT_DROP_MAX; i++)
			if (ws[0].drops[i] && i != FNAT_DROP_NO_SERVICE) {
				drops += ws[0].drops[i];
				fprintf(stderr, "drop %s: %lu\n", fnat_drop_name(i),
					(unsigned long)ws[0].drops[i]);
			}
	printf("{\"name\":\"config_scale\",\"vips\":%u,\"reals\":%u,\"flows\":%u,"
	       "\"apply_ms\":%.2f,\"switch_ms\":%.2f,\"packets\":%lu,\"lost\":%lu,"
	       "\"snapshot_bytes\":%lu,\"incr_apply_ms\":%.2f,\"incr_switch_ms\":%.2f,"
	       "\"incr_packets\":%lu,\"incr_lost\":%lu,\"incr_snapshot_bytes\":%lu,"
	       "\"drops\":%lu,\"seconds\":%.3f}\n",
	       c.n_svcs, c.n_reals, n_flows, full.apply_ms, full.switch_ms,
	       (unsigned long)full.sent, (unsigned long)full.lost,
	       (unsigned long)full.snapshot_bytes, incr.apply_ms, incr.switch_ms,
	       (unsigned long)incr.sent, (unsigned long)incr.lost,
	       (unsigned long)incr.snapshot_bytes, (unsigned long)drops, now_s() - t0);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SCENARIO [SESSIONS]\n", argv[0]);
		return 2;
	}
	const char *sc = argv[1];
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000000;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fnatbench%d", getpid());
	/* config_scale runs a worker lcore (1) besides the control thread's (0). */
	bool live = strcmp(sc, "config_scale") == 0;
	char *eal[] = { "fnat_bench", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry",
			"-m", "1024", "-l", live ? "0,1" : "0", "--log-level=lib.eal:error", prefix };
	if (fnat_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	int p = fnat_test_port_create("bench0", 1);
	if (p < 0) {
		fprintf(stderr, "test port: %s\n", strerror(-p));
		return 1;
	}
	port = (uint16_t)p;
	rx = dp_test_port_ring(port, 0, false);
	tx = dp_test_port_ring(port, 0, true);
	uint32_t lips = n / 60000 + 2;
	struct result r;
	bool with_sync = strcmp(sc, "established_sync") == 0;
	if (strcmp(sc, "baseline_l2fwd") == 0 || strcmp(sc, "established") == 0 || with_sync) {
		setup(n + n / 8 + 1024, lips, FNAT_SVC_F_TOA | FNAT_SVC_F_STRIP_TS, 0);
		/* With session sync to two peers: every packet also passes the owner stage. */
		if (with_sync)
			sync_on(2);
		double t0 = now_s();
		open_sessions(n);
		fprintf(stderr, "opened %u sessions in %.1f s\n", n, now_s() - t0);
		bool l2 = strcmp(sc, "baseline_l2fwd") == 0;
		char *name = malloc(64);
		if (l2)
			snprintf(name, 64, "baseline_l2fwd");
		else
			snprintf(name, 64, "established_%s%s", n >= 10000000 ? "10m" :
							      (n >= 1000000 ? "1m" : "small"),
				 with_sync ? "_sync" : "");
		r = traffic(name, n, argc > 3 ? strtoull(argv[3], NULL, 10) : 20000000, l2);
	} else if (strcmp(sc, "new_connections") == 0) {
		setup(1u << 21, 64, FNAT_SVC_F_TOA | FNAT_SVC_F_STRIP_TS, 1);
		r = connections("new_connections", n);
	} else if (strcmp(sc, "new_connections_sync") == 0) {
		/* The same with session sync to two peers: an ADD record per connection at its
		 * SYN and a DEL when it ends, flushed once per poll (a burst). */
		setup(1u << 21, 64, FNAT_SVC_F_TOA | FNAT_SVC_F_STRIP_TS, 1);
		sync_on(2);
		r = connections("new_connections_sync", n);
		r.note = sync_note(r.connections, 2);
	} else if (strcmp(sc, "synflood") == 0 || strcmp(sc, "ackflood") == 0) {
		setup(1u << 16, 4, FNAT_SVC_F_TOA | FNAT_SVC_F_STRIP_TS | FNAT_SVC_F_SYNPROXY, 0);
		r = flood(sc, argc > 3 ? strtoull(argv[3], NULL, 10) : 20000000,
			  strcmp(sc, "synflood") == 0);
	} else if (strcmp(sc, "new_connections_synproxy") == 0) {
		setup(1u << 21, 64, FNAT_SVC_F_TOA | FNAT_SVC_F_STRIP_TS | FNAT_SVC_F_SYNPROXY, 1);
		r = connections_synproxy(sc, n);
	} else if (strcmp(sc, "sessions_40m_memory") == 0) {
		r = sessions_memory(n);
	} else if (live) {
		/* config_scale VIPS REALS_PER_VIP FLOWS: prints its own figures */
		config_scale(n, argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 8,
			     argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 10000);
		return 0;
	} else {
		fprintf(stderr, "unknown scenario %s\n", sc);
		return 2;
	}
	print_result(&r);
	if (getenv("FNAT_BENCH_DROPS") != NULL) {
		struct fnat_worker_stats ws[1];
		struct fnat_service_stats ss[4];
		struct fnat_real_stats rs[4];
		uint32_t cnt[3];
		if (fnat_stats(dp, ws, 1, ss, 4, rs, 4, cnt) == 0)
			for (uint32_t i = 0; i < FNAT_DROP_MAX; i++)
				if (ws[0].drops[i])
					fprintf(stderr, "drop %s: %lu\n", fnat_drop_name(i),
						(unsigned long)ws[0].drops[i]);
	}
	return 0;
}
