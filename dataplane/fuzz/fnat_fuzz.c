/* fnat_fuzz: a libFuzzer harness that drives the data plane's real packet path in test mode.
 *
 * The data plane runs 3 workers on 2 test ports with six services (plain, SYNPROXY + TOA +
 * timestamp stripping, Maglev UDP, expire-on-remove UDP and TCP with TOA, SYNPROXY with short
 * timeouts), two LIPs, three real servers (two static neighbours, one learned by ARP) and a
 * gateway. An input is a sequence of records; each advances the clock, builds one frame (or
 * polls, or swaps the configuration), injects it on a port's RX queue and, unless held, polls
 * every worker until nothing moves (handoffs included) and collects what was sent:
 *
 *   record := hdr:u8 clock:u8 len:u16le body[len]
 *   hdr    := kind:4 | hold:1 | port:1 | queue:2       (queue modulo the 3 workers)
 *   clock  := 0 | 1..99 ms | 100..199 → (c-99) × 100 ms | 200..255 → (c-199)² s
 *
 * Kinds (dataplane/fuzz/records.ts encodes them for the seeds):
 *   0 raw     body is the Ethernet frame
 *   1 fixed   the same, with the IPv4 and L4 checksums recomputed (deep fields, valid sums)
 *   2 tcp_in  client → VIP segment      body: sel mods port flags seq:4 ack:4 win:2 optlen
 *   3 tcp_out real → LIP segment                  opts[optlen] paylen(×8)
 *   4 udp_in  client → VIP datagram     body: sel mods port paylen(×8)
 *   5 udp_out real → LIP datagram
 *   6 icmp    an ICMP message quoting a frame the data plane sent
 *             body: type code bits rest:4 paylen(×8)
 *   7 arp     body: op sender target mods addr:4
 *   8 reply   the peer's answer to a frame the data plane sent (real server's SYN-ACK, client's
 *             ACK to a cookie, ARP reply...)   body: bits flags delta optlen opts paylen(×8)
 *   9 apply   a configuration variant (the first of an input only)   body: variant
 *  10 poll    one poll of the queue's worker only
 *  11..15     raw, fixed, tcp_in, tcp_out, udp_in again
 *
 * After the last record the harness polls until idle, checks the state invariants, frees every
 * session and checks that nothing leaked (fuzz_state.c). Set FNAT_FUZZ_TRACE=1 to print each
 * record and every frame sent, FNAT_FUZZ_TWICE=1 to run every input twice and abort when the
 * frames sent differ (the reset between inputs missed some state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>

#if defined(__has_feature) && __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#else
#define __lsan_register_root_region(p, n) RTE_SET_USED(p) /* a build without ASan */
#endif

#include "fnat.h"
#include "fuzz.h"

#define TCP 6
#define UDP 17
#define ICMP 1
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10
#define HIST 16
#define APPLY_MAX 1 /* configuration swaps per input: each builds a snapshot (Maglev: ms) */

/* ---- the fuzz network ---- */

static const uint32_t clients[4] = { FUZZ_IP(10, 9, 1, 2), FUZZ_IP(198, 51, 100, 7),
				     FUZZ_IP(198, 51, 100, 8), FUZZ_IP(203, 0, 113, 9) };
static const uint32_t reals[4] = { FUZZ_IP(10, 0, 0, 11), FUZZ_IP(10, 0, 0, 12),
				   FUZZ_IP(10, 0, 0, 13), FUZZ_IP(10, 0, 0, 99) /* nobody's */ };
static const uint32_t lips[3] = { FUZZ_IP(10, 0, 0, 100), FUZZ_IP(10, 0, 0, 101),
				  FUZZ_IP(10, 0, 0, 102) };
#define VIP_A FUZZ_IP(10, 9, 2, 2) /* the fixtures' server */
#define VIP_B FUZZ_IP(10, 9, 1, 1)
#define GATEWAY FUZZ_IP(10, 0, 0, 1)
#define ROUTER FUZZ_IP(203, 0, 113, 1)
static const uint32_t port_addr[FUZZ_PORTS] = { FUZZ_IP(10, 0, 0, 2), FUZZ_IP(10, 9, 1, 254) };
static const uint8_t port_mac[FUZZ_PORTS][6] = { { 0x02, 0xfa, 0, 0, 0, 1 },
						 { 0x02, 0xfa, 0, 0, 0, 2 } };
static const uint8_t gw_mac[6] = { 0x02, 0xc1, 0, 0, 0, 1 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct fuzz_svc {
	uint32_t vip;
	uint16_t port;
	uint8_t proto, sched;
	uint32_t flags;
	uint8_t n, real[3];
	uint16_t weight[3];
	bool short_timeouts;
};

static const struct fuzz_svc svcs[] = {
	{ VIP_A, 8080, TCP, FNAT_SCHED_RR, 0, 2, { 0, 1 }, { 1, 1 }, false },
	{ VIP_A, 443, TCP, FNAT_SCHED_WRR, FNAT_SVC_F_SYNPROXY | FNAT_SVC_F_TOA | FNAT_SVC_F_STRIP_TS,
	  2, { 0, 1 }, { 3, 1 }, false },
	{ VIP_A, 9999, UDP, FNAT_SCHED_MH, 0, 3, { 0, 1, 2 }, { 1, 1, 1 }, false },
	{ VIP_B, 9997, UDP, FNAT_SCHED_RR, FNAT_SVC_F_EXPIRE_ON_REMOVE, 1, { 2 }, { 1 }, false },
	{ VIP_B, 80, TCP, FNAT_SCHED_WLC, FNAT_SVC_F_TOA | FNAT_SVC_F_EXPIRE_ON_REMOVE, 3,
	  { 0, 1, 2 }, { 1, 2, 0 }, false },
	{ VIP_A, 8443, TCP, FNAT_SCHED_RR, FNAT_SVC_F_SYNPROXY, 1, { 2 }, { 1 }, true },
};
#define N_SVCS RTE_DIM(svcs)

bool
fuzz_addr_ours(uint32_t addr)
{
	return addr == VIP_A || addr == VIP_B || addr == lips[0] || addr == lips[1] ||
	       addr == lips[2];
}

const uint8_t *
fuzz_port_mac(unsigned pidx)
{
	return port_mac[pidx];
}

static struct fnat_dp *dp;
static uint16_t port_id[FUZZ_PORTS];
static bool trace, twice;
static uint64_t sent_hash; /* of every frame sent during the input */

/* The MAC a host of the fuzz network answers ARP with. */
static void
mac_of(uint32_t addr, uint8_t mac[6])
{
	if (addr == GATEWAY) {
		memcpy(mac, gw_mac, 6);
		return;
	}
	const uint8_t *a = (const uint8_t *)&addr;
	uint8_t m[6] = { 0x02, 0x5e, a[0], a[1], a[2], a[3] };
	memcpy(mac, m, 6);
}

/* Variants: 0 base, 1 the plain TCP service removed, 2 the first real server removed everywhere,
 * 3 every weight 0, 4 the first LIP replaced by a third, 5 no services, 6 SYNPROXY and TOA
 * switched on or off on every TCP service (sessions made before continue under the new flags). */
#define VARIANTS 7
static void
config_apply(unsigned variant)
{
	struct fnat_service_conf sc[N_SVCS];
	struct fnat_real_conf rc[N_SVCS * 3];
	uint32_t n_svcs = 0, n_reals = 0;
	for (unsigned i = 0; i < N_SVCS && variant != 5; i++) {
		const struct fuzz_svc *v = &svcs[i];
		if (variant == 1 && i == 0)
			continue;
		struct fnat_service_conf *c = &sc[n_svcs++];
		memset(c, 0, sizeof(*c));
		c->vip = v->vip;
		c->port = v->port;
		c->proto = v->proto;
		c->sched = v->sched;
		c->flags = v->flags;
		if (variant == 6 && v->proto == TCP)
			c->flags ^= FNAT_SVC_F_SYNPROXY | FNAT_SVC_F_TOA;
		c->first_real = n_reals;
		for (unsigned r = 0; r < v->n; r++) {
			if (variant == 2 && v->real[r] == 0)
				continue;
			rc[n_reals++] = (struct fnat_real_conf){
				.addr = reals[v->real[r]],
				.port = v->port,
				.weight = variant == 3 ? 0 : v->weight[r],
			};
		}
		c->n_reals = n_reals - c->first_real;
		if (v->short_timeouts) {
			static const uint32_t to[FNAT_TO_MAX] = { 3, 3, 5, 2, 2, 2, 1, 1, 5 };
			memcpy(c->timeouts, to, sizeof(to));
		}
	}
	const uint32_t *l = variant == 4 ? &lips[1] : &lips[0];
	int rc_ = fnat_apply(dp, sc, n_svcs, rc, n_reals, l, 2);
	if (rc_ < 0)
		fuzz_fail("harness: configuration variant %u not applied: %s", variant,
			  strerror(-rc_));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	trace = getenv("FNAT_FUZZ_TRACE") != NULL;
	twice = getenv("FNAT_FUZZ_TWICE") != NULL;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fnatfuzz%d", getpid());
	char *eal[] = { "fnat_fuzz", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry",
			"-m", "512", "-l", "0", "--log-level=lib.eal:error", prefix };
	if (fnat_eal_init((int)RTE_DIM(eal), eal) < 0)
		fuzz_fail("harness: EAL init failed");
	for (unsigned p = 0; p < FUZZ_PORTS; p++) {
		char name[16];
		snprintf(name, sizeof(name), "fuzz%u", p);
		int id = fnat_test_port_create(name, FUZZ_WORKERS);
		if (id < 0)
			fuzz_fail("harness: test port: %s", strerror(-id));
		port_id[p] = (uint16_t)id;
	}
	struct fnat_options o;
	memset(&o, 0, sizeof(o));
	o.flags = FNAT_OPT_F_TEST_MODE;
	o.n_workers = FUZZ_WORKERS;
	o.sessions_per_worker = FUZZ_SESSIONS;
	o.n_ports = FUZZ_PORTS;
	for (unsigned p = 0; p < FUZZ_PORTS; p++) {
		o.ports[p].port_id = port_id[p];
		o.ports[p].set_mac = 1;
		o.ports[p].prefix_len = 24;
		memcpy(o.ports[p].mac, port_mac[p], 6);
		o.ports[p].addr = port_addr[p];
	}
	o.ports[1].mtu = 1400;
	o.sp_mss = 1300; /* below what port 0's MTU allows: the cap applies there */
	o.gateway = GATEWAY;
	const uint32_t statics[] = { GATEWAY, reals[0], reals[1] };
	for (unsigned i = 0; i < RTE_DIM(statics); i++) {
		o.neigh[i].addr = statics[i];
		mac_of(statics[i], o.neigh[i].mac);
	}
	o.n_neigh = RTE_DIM(statics);
	int rc = fnat_create(&o, &dp);
	if (rc < 0)
		fuzz_fail("harness: fnat_create: %s", strerror(-rc));
	/* The data plane lives in DPDK's heap, which LeakSanitizer does not scan: what it holds
	 * from malloc (snapshots, port pools) is reachable through it. */
	__lsan_register_root_region(dp, sizeof(*dp));
	config_apply(0);
	state_init(dp);
	return 0;
}

/* ---- reading an input ---- */

struct rd {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t
rd8(struct rd *r)
{
	return r->i < r->n ? r->p[r->i++] : 0;
}

static uint16_t
rd16(struct rd *r)
{
	uint16_t hi = rd8(r);
	return (uint16_t)(hi << 8 | rd8(r));
}

static uint32_t
rd32(struct rd *r)
{
	uint32_t hi = rd16(r);
	return hi << 16 | rd16(r);
}

/* Up to n bytes (fewer at the end of the input). */
static struct rd
rd_take(struct rd *r, size_t n)
{
	struct rd s = { r->p + r->i, RTE_MIN(n, r->n - r->i), 0 };
	r->i += s.n;
	return s;
}

static uint64_t
clock_ms(uint8_t c)
{
	if (c < 100)
		return c;
	if (c < 200)
		return (uint64_t)(c - 99) * 100;
	return (uint64_t)(c - 199) * (c - 199) * 1000;
}

/* ---- frames the data plane sent: the last HIST, newest first ---- */

static struct {
	uint8_t pidx;
	uint16_t len;
	uint8_t b[FUZZ_FRAME_MAX];
} hist[HIST];
static unsigned hist_next, hist_n;

static const uint8_t *
hist_get(unsigned age, unsigned *len, unsigned *pidx)
{
	if (age >= hist_n)
		return NULL;
	unsigned i = (hist_next + HIST - 1 - age) % HIST;
	*len = hist[i].len;
	*pidx = hist[i].pidx;
	return hist[i].b;
}

static void
collect(void)
{
	static uint8_t buf[64 * FUZZ_FRAME_MAX];
	uint32_t lens[64];
	for (unsigned p = 0; p < FUZZ_PORTS; p++) {
		int n;
		while ((n = fnat_collect(dp, port_id[p], buf, sizeof(buf), lens, 64)) > 0) {
			const uint8_t *f = buf;
			for (int i = 0; i < n; f += lens[i], i++) {
				frame_check_sent(f, lens[i], p);
				for (unsigned k = 0; k < lens[i]; k++)
					sent_hash = (sent_hash ^ f[k]) * 0x100000001b3ull;
				if (trace) {
					fprintf(stderr, "  sent port %u:", p);
					for (unsigned k = 0; k < lens[i] && k < 80; k++)
						fprintf(stderr, "%s%02x", k == 14 || k == 34 ? " " : "", f[k]);
					fprintf(stderr, "\n");
				}
				hist[hist_next].pidx = (uint8_t)p;
				hist[hist_next].len = (uint16_t)lens[i];
				memcpy(hist[hist_next].b, f, lens[i]);
				hist_next = (hist_next + 1) % HIST;
				hist_n = RTE_MIN(hist_n + 1, (unsigned)HIST);
			}
		}
		if (n < 0)
			fuzz_fail("harness: fnat_collect: %s", strerror(-n));
	}
}

/* Poll every worker until a whole round moves nothing, then take what they sent. */
static void
settle(void)
{
	for (unsigned round = 0;; round++) {
		int n = 0;
		for (uint32_t w = 0; w < FUZZ_WORKERS; w++)
			n += fnat_poll(dp, w);
		if (n == 0)
			break;
		/* A few thousand held frames need about 150 rounds; more is a handoff loop. */
		if (round == 512)
			fuzz_fail("packets still moving after 512 rounds of polls: a handoff loop");
	}
	collect();
}

/* ---- building frames ---- */

struct spec {
	uint8_t smac[6], dmac[6];
	uint32_t src, dst;      /* network order */
	uint8_t proto, ttl;
	uint16_t sport, dport;  /* host order */
	uint8_t flags;
	uint32_t seq, ack;      /* host order */
	uint16_t win;
	uint8_t opt[40];
	unsigned optlen;        /* padded with EOL to a multiple of 4 */
	struct rd icmp;         /* ICMP: the message from its type on (checksum recomputed) */
	unsigned paylen;
	bool bad_l4;            /* flip a bit of the L4 checksum */
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Options from the input: at most 40 bytes, padded with EOL. */
static void
spec_opts(struct spec *s, struct rd *r)
{
	struct rd o = rd_take(r, RTE_MIN(rd8(r), (uint8_t)40));
	memcpy(s->opt, o.p, o.n);
	s->optlen = (unsigned)RTE_ALIGN_CEIL(o.n, 4);
	memset(s->opt + o.n, 0, s->optlen - o.n);
}

static unsigned
build(uint8_t *f, const struct spec *s)
{
	unsigned l4hdr = s->proto == TCP ? 20 + s->optlen : s->proto == UDP ? 8 : s->icmp.n;
	unsigned pay = RTE_MIN(s->paylen, FUZZ_FRAME_MAX - 256u - l4hdr);
	unsigned tot = 20 + l4hdr + pay;
	memcpy(f, s->dmac, 6);
	memcpy(f + 6, s->smac, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, 0x4242);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = s->ttl;
	ip[9] = s->proto;
	memcpy(ip + 12, &s->src, 4);
	memcpy(ip + 16, &s->dst, 4);
	uint8_t *l4 = ip + 20;
	if (s->proto == TCP) {
		memset(l4, 0, 20);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((20 + s->optlen) / 4 << 4);
		l4[13] = s->flags;
		put16(l4 + 14, s->win);
		memcpy(l4 + 20, s->opt, s->optlen);
	} else if (s->proto == UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(8 + pay));
	} else {
		memcpy(l4, s->icmp.p, s->icmp.n);
	}
	for (unsigned i = 0; i < pay; i++)
		l4[l4hdr + i] = (uint8_t)(i * 31 + 7);
	frame_fix_checksums(f, 14 + tot);
	if (s->bad_l4)
		l4[s->proto == TCP ? 17 : s->proto == UDP ? 7 : 3] ^= 1;
	return 14 + tot;
}

/* The TCP header fields after the addressing bytes, then the payload length. */
static void
spec_tcp_fields(struct spec *s, struct rd *r)
{
	s->flags = rd8(r);
	s->seq = rd32(r);
	s->ack = rd32(r);
	s->win = rd16(r);
	spec_opts(s, r);
	s->paylen = rd8(r) * 8u;
}

/* tcp_in, tcp_out, udp_in, udp_out: sel mods port, then the protocol's fields. */
static void
spec_flow(struct spec *s, struct rd *r, uint8_t proto, bool in, unsigned pidx)
{
	uint8_t sel = rd8(r), mods = rd8(r), port = rd8(r);
	s->proto = proto;
	s->ttl = (mods & 1) ? 1 : 64;
	s->bad_l4 = (mods & 2) != 0;
	memcpy(s->dmac, port_mac[pidx], 6);
	s->win = 65535;
	const struct fuzz_svc *v = &svcs[((sel >> 2) & 7) % N_SVCS];
	if (in) {
		s->src = clients[sel & 3];
		s->dst = v->vip;
		s->sport = (uint16_t)(40000 + port);
		s->dport = v->port;
		memcpy(s->smac, gw_mac, 6);
	} else {
		s->src = reals[sel & 3];
		s->dst = lips[((sel >> 2) & 3) % 3];
		v = &svcs[((sel >> 4) & 7) % N_SVCS];
		s->sport = v->port;
		s->dport = (uint16_t)(1024 + port);
		mac_of(s->src, s->smac);
	}
	if (proto == TCP)
		spec_tcp_fields(s, r);
	else
		s->paylen = rd8(r) * 8u;
}

/* What a frame the data plane sent says, enough to answer or quote it. */
struct view {
	uint8_t smac[6], dmac[6];
	uint32_t src, dst;
	uint8_t proto, flags;
	uint16_t sport, dport;
	uint32_t seq, ack, tsval;
	unsigned paylen;
	bool arp;
};

static bool
view_of(const uint8_t *f, unsigned len, struct view *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->dmac, f, 6);
	memcpy(v->smac, f + 6, 6);
	if (f[12] == 0x08 && f[13] == 0x06 && len >= 42) {
		v->arp = true;
		memcpy(&v->src, f + 28, 4); /* sender protocol address */
		memcpy(&v->dst, f + 38, 4); /* target protocol address */
		v->flags = f[21];           /* opcode, low byte */
		return true;
	}
	if (len < 34 + 8)
		return false;
	const uint8_t *ip = f + 14, *l4 = f + 34;
	memcpy(&v->src, ip + 12, 4);
	memcpy(&v->dst, ip + 16, 4);
	v->proto = ip[9];
	v->sport = (uint16_t)(l4[0] << 8 | l4[1]);
	v->dport = (uint16_t)(l4[2] << 8 | l4[3]);
	unsigned l4len = len - 34;
	if (v->proto == TCP && l4len >= 20) {
		unsigned doff = (l4[12] >> 4) * 4u;
		v->seq = get32(l4 + 4);
		v->ack = get32(l4 + 8);
		v->flags = l4[13];
		v->paylen = l4len - doff;
		for (unsigned i = 20; i + 10 <= doff; i++)
			if (l4[i] == 8 && l4[i + 1] == 10)
				v->tsval = get32(l4 + i + 2);
	} else if (v->proto == UDP) {
		v->paylen = l4len - 8;
	}
	return true;
}

/* A real server's or client's natural answer options to a SYN: MSS, SACK, timestamps, scale. */
static void
synack_opts(struct spec *s, uint32_t tsecr)
{
	static const uint8_t o[20] = { 2, 4, 0x05, 0x78, 4, 2, 8, 10, 0, 0, 0, 0x11, 0, 0, 0, 0,
				       1, 3, 3, 7 };
	memcpy(s->opt, o, sizeof(o));
	put32(s->opt + 12, tsecr);
	s->optlen = sizeof(o);
}

static unsigned
build_arp(uint8_t *f, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
	  uint32_t tpa, const uint8_t *dmac)
{
	memcpy(f, dmac, 6);
	memcpy(f + 6, sha, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, sha, 6);
	memcpy(f + 28, &spa, 4);
	memcpy(f + 32, tha, 6);
	memcpy(f + 38, &tpa, 4);
	return 42;
}

/* reply: bits (0-3 age of the frame answered, 4 flags given, 5 seq += delta, 6 ack += delta,
 * 7 bad checksum), flags, delta, optlen, opts, paylen. */
static unsigned
build_reply(uint8_t *f, struct rd *r, unsigned *pidx)
{
	uint8_t bits = rd8(r), flags = rd8(r);
	int8_t delta = (int8_t)rd8(r);
	unsigned len;
	const uint8_t *e = hist_get(bits & 15, &len, pidx);
	struct view v;
	if (e == NULL || !view_of(e, len, &v))
		return 0;
	if (v.arp) {
		/* Our "who has" answered by its target. */
		uint8_t mac[6];
		mac_of(v.dst, mac);
		return build_arp(f, 2, mac, v.dst, v.smac, v.src, v.smac);
	}
	struct spec s = { .src = v.dst, .dst = v.src, .proto = v.proto, .ttl = 64,
			  .sport = v.dport, .dport = v.sport, .win = 65535,
			  .bad_l4 = (bits & 0x80) != 0 };
	memcpy(s.smac, v.dmac, 6);
	memcpy(s.dmac, v.smac, 6);
	if (v.proto == TCP) {
		if (v.flags & F_RST)
			return 0;
		s.seq = (v.flags & F_ACK) ? v.ack : 0x1000;
		s.ack = v.seq + v.paylen + !!(v.flags & F_SYN) + !!(v.flags & F_FIN);
		s.flags = (v.flags & F_SYN) ? ((v.flags & F_ACK) ? F_ACK : F_SYN | F_ACK) :
			  (v.flags & F_FIN) ? F_FIN | F_ACK : F_ACK;
		if (bits & 0x10)
			s.flags = flags;
		if (bits & 0x20)
			s.seq += (uint32_t)(int32_t)delta;
		if (bits & 0x40)
			s.ack += (uint32_t)(int32_t)delta;
		spec_opts(&s, r);
		if (s.optlen == 0 && (s.flags & F_SYN))
			synack_opts(&s, v.tsval);
	} else if (v.proto != UDP) {
		return 0;
	}
	s.paylen = rd8(r) * 8u;
	return build(f, &s);
}

/* icmp: type code bits (0-3 age of the quoted frame, 4 sent by the frame's peer (else a
 * router), 5 short quote, 6 bad checksum, 7 no quote: to a VIP, or a LIP with bit 4)
 * rest:4 paylen. */
static unsigned
build_icmp(uint8_t *f, struct rd *r, unsigned *pidx)
{
	uint8_t msg[8 + 64];
	uint8_t type = rd8(r), code = rd8(r), bits = rd8(r);
	msg[0] = type;
	msg[1] = code;
	msg[2] = msg[3] = 0;
	for (int i = 4; i < 8; i++)
		msg[i] = rd8(r);
	struct spec s = { .proto = ICMP, .ttl = 64, .bad_l4 = (bits & 0x40) != 0 };
	unsigned len, qlen = 0;
	const uint8_t *e = (bits & 0x80) ? NULL : hist_get(bits & 15, &len, pidx);
	struct view v;
	if (e != NULL && view_of(e, len, &v) && !v.arp) {
		qlen = RTE_MIN(len - 14, (bits & 0x20) ? 28u : 64u);
		memcpy(msg + 8, e + 14, qlen);
		s.dst = v.src;
		s.src = (bits & 0x10) ? v.dst : ROUTER;
	} else {
		s.src = clients[bits & 3];
		s.dst = (bits & 0x10) ? lips[0] : VIP_A;
	}
	memcpy(s.smac, gw_mac, 6);
	memcpy(s.dmac, port_mac[*pidx], 6); /* the port of the quoted frame, if any */
	s.icmp = (struct rd){ msg, 8 + qlen, 0 };
	s.paylen = rd8(r) * 8u;
	return build(f, &s);
}

/* Addresses an ARP message may name. */
static uint32_t
arp_addr(uint8_t sel, uint32_t random)
{
	const uint32_t t[16] = { clients[0], clients[1], reals[0], reals[1], reals[2], GATEWAY,
				 VIP_A, VIP_B, lips[0], lips[1], port_addr[0], port_addr[1], 0,
				 random, lips[2], reals[3] };
	return t[sel & 15];
}

/* arp: op sender target mods (0 bad hardware type, 1 bad address length, 2 truncated,
 * 3 padded to 60 bytes) addr:4 */
static unsigned
build_arp_msg(uint8_t *f, struct rd *r, unsigned pidx)
{
	uint8_t op = rd8(r), ssel = rd8(r), tsel = rd8(r), mods = rd8(r);
	uint32_t random;
	struct rd a = rd_take(r, 4);
	memset(&random, 0, 4);
	memcpy(&random, a.p, a.n);
	uint32_t spa = arp_addr(ssel, random), tpa = arp_addr(tsel, random);
	uint8_t sha[6], tha[6] = { 0 };
	mac_of(spa, sha);
	unsigned len = build_arp(f, op, sha, spa, tha, tpa, op == 1 ? bcast : port_mac[pidx]);
	if (mods & 1)
		f[15] = 6; /* IEEE 802 hardware */
	if (mods & 2)
		f[19] = 16;
	if (mods & 8) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	return (mods & 4) ? 34 : len;
}

/* ---- one input ---- */

enum kind { K_RAW, K_FIXED, K_TCP_IN, K_TCP_OUT, K_UDP_IN, K_UDP_OUT, K_ICMP, K_ARP, K_REPLY,
	    K_APPLY, K_POLL, K_MAX };

static const char *const kind_name[K_MAX] = { "raw", "fixed", "tcp_in", "tcp_out", "udp_in",
					      "udp_out", "icmp", "arp", "reply", "apply", "poll" };

static unsigned variant, applies;

static void
record(uint8_t hdr, struct rd *body)
{
	static uint8_t f[FUZZ_FRAME_MAX];
	enum kind k = (enum kind)((hdr >> 4) % K_MAX);
	unsigned pidx = (hdr >> 2) & 1, queue = (hdr & 3) % FUZZ_WORKERS, len = 0;
	bool hold = (hdr & 8) != 0;
	struct spec s;
	memset(&s, 0, sizeof(s));
	if (trace)
		fprintf(stderr, "record %s port %u queue %u%s, %zu bytes\n", kind_name[k], pidx,
			queue, hold ? " (held)" : "", body->n);
	switch (k) {
	case K_RAW:
	case K_FIXED:
		len = (unsigned)RTE_MIN(body->n, (size_t)FUZZ_FRAME_MAX);
		memcpy(f, body->p, len);
		if (k == K_FIXED)
			frame_fix_checksums(f, len);
		break;
	case K_TCP_IN:
	case K_TCP_OUT:
		spec_flow(&s, body, TCP, k == K_TCP_IN, pidx);
		len = build(f, &s);
		break;
	case K_UDP_IN:
	case K_UDP_OUT:
		spec_flow(&s, body, UDP, k == K_UDP_IN, pidx);
		len = build(f, &s);
		break;
	case K_ICMP:
		len = build_icmp(f, body, &pidx);
		break;
	case K_ARP:
		len = build_arp_msg(f, body, pidx);
		break;
	case K_REPLY:
		len = build_reply(f, body, &pidx);
		break;
	case K_APPLY:
		if (applies < APPLY_MAX) {
			applies++;
			variant = rd8(body) % VARIANTS;
			config_apply(variant);
		}
		return;
	case K_POLL:
		fnat_poll(dp, queue);
		collect();
		return;
	case K_MAX:
		break;
	}
	if (len > 0)
		(void)fnat_inject(dp, port_id[pidx], (uint16_t)queue, f, len);
	if (!hold)
		settle();
}

static void
run_input(const uint8_t *data, size_t size)
{
	struct rd in = { data, size, 0 };
	sent_hash = 0xcbf29ce484222325ull;
	hist_n = 0;
	applies = 0;
	variant = 0;
	while (in.i < in.n) {
		uint8_t hdr = rd8(&in), clk = rd8(&in);
		uint16_t lo = rd8(&in);
		size_t len = (size_t)(lo | rd8(&in) << 8);
		struct rd body = rd_take(&in, len);
		fnat_clock_advance(dp, clock_ms(clk) * 1000000u);
		record(hdr, &body);
	}
	settle();
	state_check(dp);
	state_reset(dp);
	if (variant != 0)
		config_apply(0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_input(data, size);
	if (twice) {
		uint64_t first = sent_hash;
		run_input(data, size);
		if (sent_hash != first)
			fuzz_fail("harness: the input sent other frames when run again");
	}
	return 0;
}
