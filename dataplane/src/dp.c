/* The control side: create, start, stop, apply, counters, sessions, and the test entries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <sys/mman.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_pvt.h"
#include "sync.h"
#include "worker_pvt.h"

#define RING_SIZE 4096
#define RX_DESC 1024
#define TX_DESC 1024
#define POOL_CACHE 256          /* mbufs in each lcore's cache of the pool */
#define POOL_SPARE 8191u        /* the per-lcore caches and frames in flight (pool_size) */
#define TOA_KIND_DEFAULT 254    /* RFC 6994's experimental option kind */

/* A live data plane runs on the process's lcores: one per process. Test-mode data planes (no
 * threads) may coexist, e.g. two nodes of a cluster in one test. */
static struct fnat_dp *the_dp;
static uint32_t n_instances; /* makes the names of rings and pools unique per instance */

static const char *const drop_names[FNAT_DROP_MAX] = {
	[FNAT_DROP_TRUNCATED_ETHERNET] = "truncated_ethernet",
	[FNAT_DROP_TRUNCATED_IPV4] = "truncated_ipv4",
	[FNAT_DROP_BAD_IPV4_VERSION] = "bad_ipv4_version",
	[FNAT_DROP_BAD_IPV4_IHL] = "bad_ipv4_ihl",
	[FNAT_DROP_BAD_IPV4_TOTAL_LENGTH] = "bad_ipv4_total_length",
	[FNAT_DROP_BAD_IPV4_CHECKSUM] = "bad_ipv4_checksum",
	[FNAT_DROP_IPV4_OPTIONS] = "ipv4_options",
	[FNAT_DROP_IPV4_FRAGMENT] = "ipv4_fragment",
	[FNAT_DROP_TRUNCATED_TCP] = "truncated_tcp",
	[FNAT_DROP_BAD_TCP_DATA_OFFSET] = "bad_tcp_data_offset",
	[FNAT_DROP_TCP_OPTIONS_OVERRUN] = "tcp_options_overrun",
	[FNAT_DROP_BAD_TCP_CHECKSUM] = "bad_tcp_checksum",
	[FNAT_DROP_TRUNCATED_UDP] = "truncated_udp",
	[FNAT_DROP_BAD_UDP_LENGTH] = "bad_udp_length",
	[FNAT_DROP_BAD_UDP_CHECKSUM] = "bad_udp_checksum",
	[FNAT_DROP_BAD_ICMP] = "bad_icmp",
	[FNAT_DROP_BAD_ARP] = "bad_arp",
	[FNAT_DROP_NO_SERVICE] = "no_service",
	[FNAT_DROP_NO_SESSION] = "no_session",
	[FNAT_DROP_NO_REAL] = "no_real",
	[FNAT_DROP_TABLE_FULL] = "table_full",
	[FNAT_DROP_NO_LOCAL_PORT] = "no_local_port",
	[FNAT_DROP_NEIGH_UNRESOLVED] = "neigh_unresolved",
	[FNAT_DROP_TTL_EXCEEDED] = "ttl_exceeded",
	[FNAT_DROP_HANDOFF_FULL] = "handoff_full",
	[FNAT_DROP_TX_FULL] = "tx_full",
	[FNAT_DROP_TOO_BIG] = "too_big",
	[FNAT_DROP_SYNPROXY_BAD_ACK] = "synproxy_bad_ack",
	[FNAT_DROP_SYNPROXY_ACK_STORM] = "synproxy_ack_storm",
	[FNAT_DROP_SYNPROXY_KEPT_FULL] = "synproxy_kept_full",
};

const char *
fnat_drop_name(uint32_t reason)
{
	return reason < FNAT_DROP_MAX ? drop_names[reason] : NULL;
}

/* ---- test ports ---- */

struct test_port {
	int port_id;
	uint16_t queues;
	struct rte_ring *rx[FNAT_MAX_WORKERS], *tx[FNAT_MAX_WORKERS];
};
static struct test_port test_ports[RTE_MAX_ETHPORTS];
static unsigned n_test_ports;

static struct test_port *
test_port_of(uint16_t port_id)
{
	for (unsigned i = 0; i < n_test_ports; i++)
		if (test_ports[i].port_id == port_id)
			return &test_ports[i];
	return NULL;
}

struct rte_ring *
dp_test_port_ring(uint16_t port, uint16_t queue, bool tx)
{
	struct test_port *tp = test_port_of(port);
	if (tp == NULL || queue >= tp->queues)
		return NULL;
	return tx ? tp->tx[queue] : tp->rx[queue];
}

static struct rte_ring *
test_ring_create(const char *name, const char *dir, uint16_t q)
{
	char rn[RTE_RING_NAMESIZE];
	snprintf(rn, sizeof(rn), "%s_%s%u", name, dir, q); /* fits: the name was checked */
	return rte_ring_create(rn, RING_SIZE, (int)rte_socket_id(), RING_F_SC_DEQ);
}

int
fnat_test_port_create(const char *name, uint16_t queues)
{
	/* The ring PMD names its device "net_ring_<name>" in a ring-name-sized buffer; a name
	 * that fits there also fits the rings' "<name>_rx<q>", so rings are never truncated
	 * into another port's. */
	char dev[RTE_RING_NAMESIZE];
	if (name == NULL || name[0] == '\0' ||
	    snprintf(dev, sizeof(dev), "net_ring_%s", name) >= (int)sizeof(dev) || queues == 0 ||
	    queues > FNAT_MAX_WORKERS || n_test_ports >= RTE_DIM(test_ports))
		return -EINVAL;
	struct test_port *tp = &test_ports[n_test_ports];
	memset(tp, 0, sizeof(*tp));
	int rc, id;
	for (uint16_t q = 0; q < queues; q++) {
		tp->rx[q] = test_ring_create(name, "rx", q);
		tp->tx[q] = tp->rx[q] == NULL ? NULL : test_ring_create(name, "tx", q);
		if (tp->tx[q] == NULL) {
			rc = rte_errno == EEXIST ? -EEXIST : -ENOMEM;
			goto err_rings;
		}
	}
	id = rte_eth_from_rings(name, tp->rx, queues, tp->tx, queues, rte_socket_id());
	if (id < 0) {
		/* The ring PMD reports any failure to make its device as EINVAL: tell a name
		 * in use apart. */
		uint16_t used;
		rc = rte_eth_dev_get_port_by_name(dev, &used) == 0 ? -EEXIST :
		     rte_errno ? -rte_errno : -ENOMEM;
		goto err_rings;
	}
	tp->port_id = id;
	tp->queues = queues;
	n_test_ports++;
	return id;
err_rings:
	/* Ring names are global: a failed create gives them all back, so it can be retried. */
	for (uint16_t q = 0; q < queues; q++) {
		rte_ring_free(tp->rx[q]);
		rte_ring_free(tp->tx[q]);
	}
	memset(tp, 0, sizeof(*tp));
	return rc;
}

/* ---- create / destroy ---- */

static int
port_setup(struct fnat_dp *dp, unsigned pidx)
{
	struct fnat_port_conf *pc = &dp->opts.ports[pidx];
	uint16_t port = pc->port_id;
	struct rte_eth_dev_info info;
	if (!rte_eth_dev_is_valid_port(port))
		return -EINVAL;
	int rc = rte_eth_dev_info_get(port, &info);
	if (rc < 0)
		return rc;
	if (info.max_tx_queues < dp->n_workers) {
		RTE_LOG(ERR, USER1, "fnat: port %u has %u TX queues, %u workers need one each\n",
			port, info.max_tx_queues, dp->n_workers);
		return -EINVAL;
	}
	uint16_t rxq = (uint16_t)RTE_MIN(dp->n_workers, (uint32_t)info.max_rx_queues);
	dp->rxq_count[pidx] = rxq;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	rc = xdp_filter_clear_stale(dp, pidx);
	if (rc < 0)
		return rc;
	rc = rte_eth_dev_configure(port, rxq, (uint16_t)dp->n_workers, &conf);
	if (rc < 0)
		return rc;
	uint16_t nb_rx = RX_DESC, nb_tx = TX_DESC;
	(void)rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rx, &nb_tx);
	for (uint16_t q = 0; q < rxq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rx, rte_eth_dev_socket_id(port), NULL,
					    dp->pool);
		if (rc < 0)
			return rc;
	}
	for (uint16_t q = 0; q < dp->n_workers; q++) {
		rc = rte_eth_tx_queue_setup(port, q, nb_tx, rte_eth_dev_socket_id(port), NULL);
		if (rc < 0)
			return rc;
	}
	if (pc->set_mac) {
		struct rte_ether_addr a;
		memcpy(a.addr_bytes, pc->mac, 6);
		rc = rte_eth_dev_default_mac_addr_set(port, &a);
		if (rc < 0 && rc != -ENOTSUP)
			return rc;
	} else {
		struct rte_ether_addr a;
		rte_eth_macaddr_get(port, &a);
		memcpy(pc->mac, a.addr_bytes, 6);
	}
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		return rc;
	/* af_packet and real NICs: we own the L2 address set; see frames for the VIPs. */
	(void)rte_eth_promiscuous_enable(port);
	/* af_xdp with our XDP program: only our frames come here; fill its address map. */
	return xdp_filter_attach(dp, pidx);
}

/* Per-id counters (every service and real-server id a worker may count): zeroed anonymous
 * pages, not DMA memory from the EAL heap; the pages of ids never used are never touched. */
static void *
counters_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void
counters_free(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes);
}

static void
worker_free(struct fnat_worker *w)
{
	if (w == NULL)
		return;
	conn_table_free(&w->ct);
	for (uint32_t i = 0; i < w->arp_wait_n; i++)
		rte_pktmbuf_free(w->arp_wait[i].m);
	rte_pktmbuf_free_bulk(w->discard, w->n_discard);
	rte_ring_free(w->handoff);
	counters_free(w->svc_ctr, sizeof(*w->svc_ctr) * FNAT_MAX_SERVICES);
	counters_free(w->rs_ctr, sizeof(*w->rs_ctr) * FNAT_MAX_REALS);
	if (w->sp_kept != NULL)
		for (uint32_t i = 0; i < FNAT_SP_KEPT; i++)
			rte_pktmbuf_free(w->sp_kept[i]);
	rte_free(w->sp_kept);
	rte_free(w->sp_free);
	rte_free(w->sync);
	for (uint32_t i = 0; i < FNAT_MAX_LIPS; i++)
		rte_free(w->lport_busy[i]);
	rte_free(w);
}

static int
worker_create(struct fnat_dp *dp, uint32_t id, uint32_t sessions)
{
	struct fnat_worker *w = rte_zmalloc("fnat_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (w == NULL)
		return -ENOMEM;
	dp->workers[id] = w;
	w->id = id;
	w->dp = dp;
	uint32_t seed;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint32_t)rte_rdtsc();
	int rc = conn_table_init(&w->ct, sessions, seed);
	if (rc < 0)
		return rc;
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "fnat_handoff%u_%u", dp->instance, id);
	w->handoff = rte_ring_create(name, RING_SIZE, (int)rte_socket_id(), RING_F_SC_DEQ);
	w->svc_ctr = counters_alloc(sizeof(*w->svc_ctr) * FNAT_MAX_SERVICES);
	w->rs_ctr = counters_alloc(sizeof(*w->rs_ctr) * FNAT_MAX_REALS);
	w->sync = rte_zmalloc("fnat_sync_worker", sizeof(*w->sync), RTE_CACHE_LINE_SIZE);
	w->sp_kept = rte_zmalloc("fnat_sp_kept", sizeof(*w->sp_kept) * FNAT_SP_KEPT, 0);
	w->sp_free = rte_zmalloc("fnat_sp_free", sizeof(*w->sp_free) * FNAT_SP_KEPT, 0);
	if (w->handoff == NULL || w->svc_ctr == NULL || w->rs_ctr == NULL || w->sync == NULL ||
	    w->sp_kept == NULL ||
	    w->sp_free == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < FNAT_SP_KEPT; i++)
		w->sp_free[i] = FNAT_SP_KEPT - 1 - i;
	w->sp_free_n = FNAT_SP_KEPT;
	w->ip_id = (uint16_t)(seed >> 16);
	return 0;
}

/* The mbufs that can be held at once: per worker and port, RX and TX descriptors and a ring's
 * worth (a test port's RX ring, the handoff ring); per worker, the ACKs SYNPROXY keeps while
 * real servers answer (a worker refuses handshakes beyond FNAT_SP_KEPT, so kept ACKs never take
 * what RX needs to refill); and 8191 for the per-lcore caches and frames in flight. */
static unsigned
pool_size(uint32_t n_workers, uint32_t n_ports)
{
	return POOL_SPARE + n_workers * ((RING_SIZE + RX_DESC + TX_DESC) * n_ports + FNAT_SP_KEPT);
}

/* Create stage 1: options this data plane can serve (it does not exist yet). 0 or -errno. */
static int
create_check(const struct fnat_options *opts, bool test_mode)
{
	if (the_dp != NULL && !test_mode)
		return -EBUSY;
	if (opts->n_workers == 0 || opts->n_workers > FNAT_MAX_WORKERS || opts->n_ports == 0 ||
	    opts->n_ports > FNAT_MAX_PORTS || opts->n_neigh > FNAT_MAX_NEIGH_CONF)
		return -EINVAL;
	if (!test_mode && rte_lcore_count() < opts->n_workers + 1) {
		RTE_LOG(ERR, USER1, "fnat: %u workers need %u lcores, EAL has %u\n",
			opts->n_workers, opts->n_workers + 1, rte_lcore_count());
		return -EINVAL;
	}
	return 0;
}

/* Create stage 2: the data plane's own fields: options, identity, clock and secrets. */
static int
create_identity(struct fnat_dp *dp, const struct fnat_options *opts, bool test_mode)
{
	dp->opts = *opts;
	dp->test_mode = test_mode;
	dp->n_workers = opts->n_workers;
	dp->toa_kind = opts->toa_kind ? opts->toa_kind : TOA_KIND_DEFAULT;
	dp->instance = n_instances++;
	dp->sync_epoch = sync_epoch_now();
	dp->tsc_hz = rte_get_tsc_hz();
	dp->tsc_start = rte_get_tsc_cycles();
	dp->test_clock_ms = FNAT_CLOCK_START_MS;
	if (getrandom(dp->isn_key, sizeof(dp->isn_key), 0) != sizeof(dp->isn_key) ||
	    getrandom(dp->cookie_key, sizeof(dp->cookie_key), 0) != sizeof(dp->cookie_key))
		return -EIO;
	return 0;
}

/* Create stage 3: the mbuf pool and the RCU state the workers report to. */
static int
create_memory(struct fnat_dp *dp)
{
	char pool_name[RTE_MEMPOOL_NAMESIZE];
	snprintf(pool_name, sizeof(pool_name), "fnat_pool%u", dp->instance);
	dp->pool = rte_pktmbuf_pool_create(pool_name, pool_size(dp->n_workers, dp->opts.n_ports),
					   POOL_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (dp->pool == NULL)
		return -ENOMEM;
	size_t qsz = rte_rcu_qsbr_get_memsize(dp->n_workers);
	dp->qs = rte_zmalloc("fnat_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (dp->qs == NULL || rte_rcu_qsbr_init(dp->qs, dp->n_workers) != 0)
		return -ENOMEM;
	return 0;
}

/* Create stage 4: the workers, and the lcores they will run on. */
static int
create_workers(struct fnat_dp *dp)
{
	uint32_t sessions = dp->opts.sessions_per_worker ? dp->opts.sessions_per_worker :
							     FNAT_DEFAULT_SESSIONS;
	for (uint32_t i = 0; i < dp->n_workers; i++) {
		int rc = worker_create(dp, i, sessions);
		if (rc < 0)
			return rc;
		/* Test mode: the control thread polls on the workers' behalf; registered and
		 * offline between polls, so an apply never waits for them. */
		if (dp->test_mode)
			rte_rcu_qsbr_thread_register(dp->qs, i);
	}
	if (!dp->test_mode) {
		unsigned lc, i = 0;
		RTE_LCORE_FOREACH_WORKER(lc) {
			if (i < dp->n_workers)
				dp->worker_lcore[i++] = lc;
		}
	}
	return 0;
}

/* Create stage 5: the first (empty) snapshot, the ICMP round field, static neighbours. */
static int
create_tables(struct fnat_dp *dp)
{
	int rc = snapshot_build(dp, NULL, 0, NULL, 0, NULL, 0, &dp->snap);
	if (rc < 0)
		return rc;
	rc = icmp_arp_round_init(dp);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < dp->opts.n_neigh; i++)
		neigh_add_static(dp, dp->opts.neigh[i].addr, dp->opts.neigh[i].mac);
	return 0;
}

/* Create stage 6: the ports. */
static int
create_ports(struct fnat_dp *dp)
{
	for (unsigned p = 0; p < dp->opts.n_ports; p++) {
		int rc = port_setup(dp, p);
		if (rc < 0) {
			RTE_LOG(ERR, USER1, "fnat: port %u setup failed: %s\n",
				dp->opts.ports[p].port_id, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Undoes what the create stages did (each part may be missing). */
static void
create_undo(struct fnat_dp *dp, const struct fnat_options *opts)
{
	xdp_filter_close(dp);
	for (unsigned p = 0; p < opts->n_ports; p++)
		if (rte_eth_dev_is_valid_port(opts->ports[p].port_id))
			(void)rte_eth_dev_stop(opts->ports[p].port_id);
	for (uint32_t i = 0; i < FNAT_MAX_WORKERS; i++)
		worker_free(dp->workers[i]);
	snapshot_free(dp->snap);
	rte_free(dp->qs);
	rte_mempool_free(dp->pool);
	rte_free(dp);
}

int
fnat_create(const struct fnat_options *opts, struct fnat_dp **out)
{
	if (opts == NULL || out == NULL)
		return -EINVAL;
	bool test_mode = (opts->flags & FNAT_OPT_F_TEST_MODE) != 0;
	int rc = create_check(opts, test_mode);
	if (rc < 0)
		return rc;
	struct fnat_dp *dp = rte_zmalloc("fnat_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL)
		return -ENOMEM;
	rc = create_identity(dp, opts, test_mode);
	if (rc == 0)
		rc = create_memory(dp);
	if (rc == 0)
		rc = create_workers(dp);
	if (rc == 0)
		rc = create_tables(dp);
	if (rc == 0)
		rc = create_ports(dp);
	if (rc < 0) {
		create_undo(dp, opts);
		return rc;
	}
	if (!test_mode)
		the_dp = dp;
	*out = dp;
	return 0;
}

int
fnat_start(struct fnat_dp *dp)
{
	if (dp->test_mode)
		return -EINVAL;
	if (dp->running)
		return -EALREADY;
	__atomic_store_n(&dp->stop, false, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < dp->n_workers; i++) {
		int rc = rte_eal_remote_launch(worker_loop, dp->workers[i], dp->worker_lcore[i]);
		if (rc < 0) {
			__atomic_store_n(&dp->stop, true, __ATOMIC_RELEASE);
			for (uint32_t j = 0; j < i; j++)
				rte_eal_wait_lcore(dp->worker_lcore[j]);
			return rc;
		}
	}
	dp->running = true;
	return 0;
}

int
fnat_stop(struct fnat_dp *dp)
{
	if (!dp->running)
		return -EALREADY;
	__atomic_store_n(&dp->stop, true, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < dp->n_workers; i++)
		rte_eal_wait_lcore(dp->worker_lcore[i]);
	dp->running = false;
	return 0;
}

void
fnat_destroy(struct fnat_dp *dp)
{
	if (dp == NULL)
		return;
	if (dp->running)
		fnat_stop(dp);
	for (unsigned p = 0; p < dp->opts.n_ports; p++)
		(void)rte_eth_dev_stop(dp->opts.ports[p].port_id);
	xdp_filter_close(dp);
	sync_free(dp);
	for (uint32_t i = 0; i < dp->n_workers; i++)
		worker_free(dp->workers[i]);
	for (uint32_t l = 0; l < dp->n_lip_ids; l++)
		for (uint32_t i = 0; i < dp->n_workers; i++)
			free(dp->lip_pools[l][i]);
	snapshot_free(dp->snap);
	rte_free(dp->qs);
	rte_mempool_free(dp->pool);
	if (the_dp == dp)
		the_dp = NULL;
	rte_free(dp);
}

/* ---- apply ---- */

int
fnat_apply(struct fnat_dp *dp, const struct fnat_service_conf *svcs, uint32_t n_svcs,
	   const struct fnat_real_conf *reals, uint32_t n_reals, const uint32_t *lips,
	   uint32_t n_lips)
{
	struct fnat_snapshot *next;
	int rc = snapshot_build(dp, svcs, n_svcs, reals, n_reals, lips, n_lips, &next);
	if (rc < 0)
		return rc;
	snapshot_publish(dp, next);
	/* The XDP filter's addresses follow (a failure is logged; the kernel keeps the rest). */
	(void)xdp_filter_update(dp);
	return 0;
}

/* ---- counters ---- */

static void
traffic_add(struct fnat_traffic *a, const struct fnat_traffic *b)
{
	a->pkts_in += __atomic_load_n(&b->pkts_in, __ATOMIC_RELAXED);
	a->pkts_out += __atomic_load_n(&b->pkts_out, __ATOMIC_RELAXED);
	a->bytes_in += __atomic_load_n(&b->bytes_in, __ATOMIC_RELAXED);
	a->bytes_out += __atomic_load_n(&b->bytes_out, __ATOMIC_RELAXED);
	a->sessions_new += __atomic_load_n(&b->sessions_new, __ATOMIC_RELAXED);
	a->sessions_active += __atomic_load_n(&b->sessions_active, __ATOMIC_RELAXED);
}

int
fnat_stats(struct fnat_dp *dp, struct fnat_worker_stats *w, uint32_t w_cap,
	   struct fnat_service_stats *s, uint32_t s_cap, struct fnat_real_stats *r, uint32_t r_cap,
	   uint32_t *n_out)
{
	const struct fnat_snapshot *snap = dp->snap; /* the control thread owns the pointer */
	n_out[0] = dp->n_workers;
	n_out[1] = snap->n_svcs;
	n_out[2] = snap->n_reals;
	if (w_cap < dp->n_workers || s_cap < snap->n_svcs || r_cap < snap->n_reals)
		return -ENOSPC;
	for (uint32_t i = 0; i < dp->n_workers; i++) {
		/* A relaxed copy: each counter is written by one worker only. */
		memcpy(&w[i], &dp->workers[i]->stats, sizeof(w[i]));
	}
	for (uint32_t i = 0; i < snap->n_svcs; i++) {
		const struct fnat_svc *v = &snap->svcs[i];
		memset(&s[i], 0, sizeof(s[i]));
		for (uint32_t k = 0; k < dp->n_workers; k++)
			traffic_add(&s[i].traffic, &dp->workers[k]->svc_ctr[v->id]);
		s[i].vip = v->vip;
		s[i].port = rte_be_to_cpu_16(v->port);
		s[i].proto = v->proto;
		s[i].first_real = v->first_real;
		s[i].n_reals = v->n_reals;
	}
	for (uint32_t i = 0; i < snap->n_reals; i++) {
		const struct fnat_real *x = &snap->reals[i];
		memset(&r[i], 0, sizeof(r[i]));
		for (uint32_t k = 0; k < dp->n_workers; k++)
			traffic_add(&r[i].traffic, &dp->workers[k]->rs_ctr[x->id]);
		r[i].addr = x->addr;
		r[i].port = rte_be_to_cpu_16(x->port);
		r[i].weight = x->weight;
	}
	return 0;
}

uint64_t
fnat_session_count(struct fnat_dp *dp)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < dp->n_workers; i++)
		n += __atomic_load_n(&dp->workers[i]->stats.traffic.sessions_active,
				     __ATOMIC_RELAXED);
	return n;
}

int
fnat_sessions(struct fnat_dp *dp, struct fnat_session_info *out, uint32_t cap)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < dp->n_workers && n < cap; i++) {
		struct fnat_worker *w = dp->workers[i];
		if (!dp->running) {
			n += dump_sessions(w, out + n, cap - n);
			continue;
		}
		/* The worker fills a buffer of the request, never out: a worker that misses the
		 * deadline cannot write into the caller's memory after we return. */
		struct fnat_dump_req *req = dump_post(w, cap - n);
		if (req == NULL)
			return -ENOMEM;
		int got = dump_collect(w, req, rte_get_tsc_hz(), out + n);
		if (got < 0)
			return got;
		n += (uint32_t)got;
	}
	return (int)n;
}

int
fnat_lip_owner(struct fnat_dp *dp, uint32_t lip, uint16_t port)
{
	RTE_SET_USED(lip);
	if (port == 0)
		return -EINVAL;
	return (int)lport_owner(dp->n_workers, port);
}

/* ---- test entries ---- */

int
fnat_inject(struct fnat_dp *dp, uint16_t port, uint16_t queue, const uint8_t *frame, uint32_t len)
{
	struct test_port *tp = test_port_of(port);
	if (tp == NULL || queue >= tp->queues || len == 0 || len > 9000 || frame == NULL)
		return -EINVAL;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	if (m == NULL)
		return -ENOBUFS;
	char *p = rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	memcpy(p, frame, len);
	m->port = port;
	if (rte_ring_mp_enqueue(tp->rx[queue], m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return 0;
}

int
fnat_poll(struct fnat_dp *dp, uint32_t worker)
{
	if (!dp->test_mode || worker >= dp->n_workers)
		return -EINVAL;
	struct fnat_worker *w = dp->workers[worker];
	rte_rcu_qsbr_thread_online(dp->qs, worker);
	unsigned n = worker_poll_once(w);
	rte_rcu_qsbr_quiescent(dp->qs, worker);
	rte_rcu_qsbr_thread_offline(dp->qs, worker);
	return (int)n;
}

int
fnat_collect(struct fnat_dp *dp, uint16_t port, uint8_t *buf, uint32_t cap, uint32_t *lens,
	     uint32_t max)
{
	RTE_SET_USED(dp);
	struct test_port *tp = test_port_of(port);
	if (tp == NULL)
		return -EINVAL;
	uint32_t n = 0, off = 0;
	for (uint16_t q = 0; q < tp->queues && n < max; q++) {
		struct rte_mbuf *m;
		while (n < max && rte_ring_sc_dequeue(tp->tx[q], (void **)&m) == 0) {
			uint32_t len = rte_pktmbuf_pkt_len(m);
			if (off + len > cap) {
				/* No room: put nothing back out of order; drop it loudly. */
				rte_pktmbuf_free(m);
				return -ENOSPC;
			}
			const void *data = rte_pktmbuf_read(m, 0, len, buf + off);
			if (data != buf + off)
				memcpy(buf + off, data, len);
			lens[n++] = len;
			off += len;
			rte_pktmbuf_free(m);
		}
	}
	return (int)n;
}

void
fnat_clock_advance(struct fnat_dp *dp, uint64_t ns)
{
	dp->test_clock_ms += ns / 1000000u;
}
