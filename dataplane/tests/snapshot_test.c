/* Stable ids across snapshots: an id that leaves the configuration while a worker still runs
 * the previous snapshot (and creates a session with it there) is not handed to another service
 * or real server until that session is gone, so no counter wraps. The interleaving is staged
 * the way fnat_apply() runs it: build, (the worker polls on the old snapshot), publish. */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "check.h"
#include "dp_pvt.h"
#include "fnat.h"

static struct fnat_dp *dp;
static uint16_t port;

#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static const uint8_t PORT_MAC[6] = { 0x02, 0xfa, 0, 0, 0, 1 };
static const uint8_t GW_MAC[6] = { 0x02, 0xc1, 0, 0, 0, 1 };

static void
setup(void)
{
	char *argv[] = { "snapshot_test", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry",
			 "-m", "128", "-l", "0", "--log-level=lib.eal:error", NULL };
	if (fnat_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		return;
	int id = fnat_test_port_create("ids0", 1);
	if (id < 0)
		return;
	port = (uint16_t)id;
	struct fnat_options o;
	memset(&o, 0, sizeof(o));
	o.flags = FNAT_OPT_F_TEST_MODE;
	o.n_workers = 1;
	o.sessions_per_worker = 1024;
	o.n_ports = 1;
	o.ports[0].port_id = port;
	o.ports[0].set_mac = 1;
	o.ports[0].prefix_len = 24;
	memcpy(o.ports[0].mac, PORT_MAC, 6);
	o.ports[0].addr = IP4(10, 0, 0, 2);
	o.gateway = IP4(10, 0, 0, 1);
	o.n_neigh = 4;
	o.neigh[0].addr = o.gateway;
	memcpy(o.neigh[0].mac, GW_MAC, 6);
	for (int i = 1; i < 4; i++) {
		o.neigh[i].addr = IP4(10, 0, 0, 10 + i);
		memcpy(o.neigh[i].mac, (uint8_t[6]){ 0x02, 0x5e, 0, 0, 0, (uint8_t)(0x10 + i) }, 6);
	}
	if (fnat_create(&o, &dp) < 0)
		dp = NULL;
}

/* A client's SYN to vip:80 through the gateway. */
static void
inject_syn(uint32_t vip, uint16_t cport)
{
	uint8_t f[sizeof(struct rte_ether_hdr) + 20 + 20];
	memset(f, 0, sizeof(f));
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)f;
	memcpy(&eh->dst_addr, PORT_MAC, 6);
	memcpy(&eh->src_addr, GW_MAC, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(40);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = IP4(198, 51, 100, 7);
	ip->dst_addr = vip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = rte_cpu_to_be_16(cport);
	th->dst_port = rte_cpu_to_be_16(80);
	th->sent_seq = rte_cpu_to_be_32(1);
	th->data_off = 5 << 4;
	th->tcp_flags = RTE_TCP_SYN_FLAG;
	th->rx_win = rte_cpu_to_be_16(65535);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	CHECK_EQ(fnat_inject(dp, port, 0, f, sizeof(f)), 0);
	CHECK_EQ(fnat_poll(dp, 0), 1);
}

static void
drain_tx(void)
{
	static uint8_t buf[64 * 2048];
	uint32_t lens[64];
	while (fnat_collect(dp, port, buf, sizeof(buf), lens, 64) > 0)
		;
}

static const uint32_t lips[] = { IP4(10, 0, 0, 100) };

static void
apply1(uint32_t vip, const struct fnat_real_conf *reals, uint32_t n_reals)
{
	struct fnat_service_conf s = { .vip = vip, .port = 80, .proto = FNAT_PROTO_TCP,
				       .sched = FNAT_SCHED_WLC, .n_reals = n_reals };
	CHECK_EQ(fnat_apply(dp, &s, 1, reals, n_reals, lips, 1), 0);
}

static void
ids_outlive_the_sessions_of_the_old_snapshot(void)
{
	CHECK(dp != NULL);
	if (dp == NULL)
		return;
	const struct fnat_real_conf ra = { IP4(10, 0, 0, 11), 8080, 0, 1 };
	apply1(IP4(192, 0, 2, 10), &ra, 1);
	uint16_t a_id = dp->snap->svcs[0].id, ra_id = dp->snap->reals[0].id;

	/* fnat_apply(): the next snapshot (without A) is built while the worker still runs the
	 * current one and creates a session of A with it; then it is published. */
	struct fnat_snapshot *next;
	CHECK_EQ(snapshot_build(dp, NULL, 0, NULL, 0, lips, 1, &next), 0);
	inject_syn(IP4(192, 0, 2, 10), 40000);
	CHECK_EQ(fnat_session_count(dp), 1);
	snapshot_publish(dp, next);
	drain_tx();

	/* A new service with new reals: none may take an id the live session refers to. */
	const struct fnat_real_conf rb[2] = { { IP4(10, 0, 0, 12), 8080, 0, 1 },
					      { IP4(10, 0, 0, 13), 8080, 0, 1 } };
	apply1(IP4(192, 0, 2, 20), rb, 2);
	CHECK(dp->snap->svcs[0].id != a_id);
	CHECK(dp->snap->reals[0].id != ra_id);
	CHECK(dp->snap->reals[1].id != ra_id);

	/* The session expires; B's counters stay at zero (they wrapped to 2^64 - 1 when B had
	 * A's id: the session's end was counted against B). */
	fnat_clock_advance(dp, 300ull * 1000000000ull);
	fnat_poll(dp, 0);
	drain_tx();
	CHECK_EQ(fnat_session_count(dp), 0);
	struct fnat_worker_stats ws;
	struct fnat_service_stats ss;
	struct fnat_real_stats rs[2];
	uint32_t n[3];
	CHECK_EQ(fnat_stats(dp, &ws, 1, &ss, 1, rs, 2, n), 0);
	CHECK_EQ(ss.traffic.sessions_active, 0);
	CHECK_EQ(rs[0].traffic.sessions_active, 0);
	CHECK_EQ(rs[1].traffic.sessions_active, 0);

	/* wlc spreads two new sessions over B's two reals (a wrapped count would pin both). */
	inject_syn(IP4(192, 0, 2, 20), 40001);
	inject_syn(IP4(192, 0, 2, 20), 40002);
	drain_tx();
	CHECK_EQ(fnat_stats(dp, &ws, 1, &ss, 1, rs, 2, n), 0);
	CHECK_EQ(rs[0].traffic.sessions_active, 1);
	CHECK_EQ(rs[1].traffic.sessions_active, 1);
}

static void
ids_come_back_once_their_sessions_are_gone(void)
{
	if (dp == NULL)
		return;
	/* A's ids have no session any more and left the configuration an apply ago: the next
	 * new service and real server take them again (the lowest free ids). */
	const struct fnat_real_conf rc = { IP4(10, 0, 0, 11), 9090, 0, 1 };
	apply1(IP4(192, 0, 2, 30), &rc, 1);
	CHECK_EQ(dp->snap->svcs[0].id, 0);
	CHECK_EQ(dp->snap->reals[0].id, 0);
	CHECK_EQ(dp->snap->n_svcs, 1);
}

int
main(void)
{
	setup();
	static const struct check_case cases[] = {
		CASE(ids_outlive_the_sessions_of_the_old_snapshot),
		CASE(ids_come_back_once_their_sessions_are_gone),
	};
	int rc = check_run("snapshot", cases, sizeof(cases) / sizeof(cases[0]));
	if (dp != NULL)
		fnat_destroy(dp);
	return rc;
}
