/* The fuzzer's oracles beyond the sanitizers, and the reset between inputs.
 *
 * Oracles: after every input each worker's sessions must be found from both directions (and be
 * the only match), the index must hold exactly two entries per session, and the counters, LIP
 * port pools and SYNPROXY slots must agree with the sessions that exist. After the reset frees
 * every session, every mbuf must be back in the pool exactly once (a leak or a double free).
 *
 * The reset makes inputs independent (a crash found after a million inputs replays alone): the
 * secrets and hash seeds are fixed at start, and every piece of state an input can change is put
 * back as it was right after start (session table, port pools in their original order, SYNPROXY
 * slots, scheduler cursors, learned neighbours, counters, the clock).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_mempool.h>

#include "fuzz.h"
#include "worker_pvt.h"

/* The ids the fuzz configurations can use: counters outside are never touched. */
#define SVC_IDS 16
#define REAL_IDS 64

static uint64_t clock0;

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fnat_fuzz: invariant violated: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/* The port the i-th entry of a fresh pool holds (pools list a worker's ports in order). */
static uint16_t
pool_port(uint32_t n_workers, uint32_t w, uint32_t i)
{
	uint32_t first = FNAT_LPORT_MIN + (w + n_workers - FNAT_LPORT_MIN % n_workers) % n_workers;
	return (uint16_t)(first + i * n_workers);
}

static uint64_t
worker_rng0(uint32_t id)
{
	return 0x2545f4914f6cdd1dull ^ (0x5eed0000u + id);
}

void
state_init(struct fnat_dp *dp)
{
	/* Fixed secrets and seeds: cookies, ISNs and hash placement repeat run after run. */
	dp->isn_key[0] = 0x0123456789abcdefull;
	dp->isn_key[1] = 0xfedcba9876543210ull;
	dp->cookie_key[0] = 0x0f1e2d3c4b5a6978ull;
	dp->cookie_key[1] = 0x8796a5b4c3d2e1f0ull;
	for (uint32_t i = 0; i < dp->n_workers; i++) {
		struct fnat_worker *w = dp->workers[i];
		w->ct.seed = 0x5eed0000u + i; /* the table is empty: nothing is indexed yet */
		w->ct.rng = worker_rng0(i);
		w->ip_id = (uint16_t)(0x1000 * (i + 1));
		for (uint32_t l = 0; l < dp->n_lip_ids; l++) {
			const struct fnat_port_pool *p = dp->lip_pools[l][i];
			for (uint32_t k = 0; k < p->cap; k++)
				if (p->ports[k] != pool_port(dp->n_workers, i, k))
					fuzz_fail("harness: pool %u/%u does not list ports in order", l, i);
		}
	}
	clock0 = dp->test_clock_ms;
}

static void
check_key(struct fnat_worker *w, struct fnat_conn *c, int dir)
{
	struct fnat_key k;
	int got = -1;
	fnat_conn_key(c, dir, &k);
	struct fnat_conn *f = conn_lookup(&w->ct, &k, fnat_key_hash(&k, w->ct.seed), &got);
	if (f != c || got != dir)
		fuzz_fail("worker %u: session %u (%s key) is found as %s%ld dir %d: two sessions "
			  "share a key or the index lost one", w->id, conn_index(&w->ct, c),
			  dir == FNAT_DIR_IN ? "IN" : "OUT", f == NULL ? "nothing" : "session ",
			  f == NULL ? 0L : (long)conn_index(&w->ct, f), got);
}

static void
check_worker(struct fnat_dp *dp, struct fnat_worker *w)
{
	uint32_t live = 0, closing = 0, waiting = 0;
	uint32_t per_lip[FNAT_MAX_LIPS] = { 0 };
	uint64_t per_svc[SVC_IDS] = { 0 }, per_real[REAL_IDS] = { 0 };
	for (uint32_t i = 0; i < w->ct.hwm; i++) {
		struct fnat_conn *c = &w->ct.conns[i];
		if (c->proto == 0)
			continue;
		live++;
		closing += state_closing(c->state);
		if (c->svc_id >= SVC_IDS || conn_rs_id(c) >= REAL_IDS || c->lip_id >= dp->n_lip_ids)
			fuzz_fail("worker %u: session %u has ids svc %u real %u lip %u", w->id, i,
				  c->svc_id, conn_rs_id(c), c->lip_id);
		per_svc[c->svc_id]++;
		per_real[conn_rs_id(c)]++;
		per_lip[c->lip_id]++;
		if (c->flags & FNAT_CONN_F_SP_WAIT_RS) {
			waiting++;
			if (c->aux >= FNAT_SP_KEPT || w->sp_kept[c->aux] == NULL)
				fuzz_fail("worker %u: waiting session %u has no kept ACK", w->id, i);
		}
		check_key(w, c, FNAT_DIR_IN);
		check_key(w, c, FNAT_DIR_OUT);
	}
	uint32_t slots = 0;
	for (uint32_t b = 0; b <= w->ct.bucket_mask; b++)
		for (int s = 0; s < FNAT_BUCKET_SLOTS; s++)
			slots += w->ct.buckets[b].s[s].ref != FNAT_CONN_NONE;
	if (slots != 2 * live)
		fuzz_fail("worker %u: %u index entries for %u sessions", w->id, slots, live);
	if (live != w->ct.active || live != w->stats.traffic.sessions_active)
		fuzz_fail("worker %u: %u sessions, table says %u, counter says %lu", w->id, live,
			  w->ct.active, (unsigned long)w->stats.traffic.sessions_active);
	if (closing != w->stats.sessions_closing)
		fuzz_fail("worker %u: %u closing sessions, counter says %lu", w->id, closing,
			  (unsigned long)w->stats.sessions_closing);
	if (waiting != FNAT_SP_KEPT - w->sp_free_n)
		fuzz_fail("worker %u: %u sessions wait for a real server, %u SYNPROXY slots taken",
			  w->id, waiting, FNAT_SP_KEPT - w->sp_free_n);
	for (uint32_t i = 0; i < SVC_IDS; i++)
		if (w->svc_ctr[i].sessions_active != per_svc[i])
			fuzz_fail("worker %u: service id %u has %lu sessions, counter says %lu", w->id,
				  i, (unsigned long)per_svc[i],
				  (unsigned long)w->svc_ctr[i].sessions_active);
	for (uint32_t i = 0; i < REAL_IDS; i++)
		if (w->rs_ctr[i].sessions_active != per_real[i])
			fuzz_fail("worker %u: real id %u has %lu sessions, counter says %lu", w->id, i,
				  (unsigned long)per_real[i],
				  (unsigned long)w->rs_ctr[i].sessions_active);
	for (uint32_t l = 0; l < dp->n_lip_ids; l++) {
		const struct fnat_port_pool *p = dp->lip_pools[l][w->id];
		if (p->count + per_lip[l] != p->cap)
			fuzz_fail("worker %u: LIP id %u has %u free ports and %u sessions of %u", w->id,
				  l, p->count, per_lip[l], p->cap);
	}
}

void
state_check(struct fnat_dp *dp)
{
	for (uint32_t i = 0; i < dp->n_workers; i++)
		check_worker(dp, dp->workers[i]);
	/* The control thread's views of the same state agree with it. */
	static struct fnat_session_info info[FNAT_MAX_WORKERS * 64];
	uint64_t count = fnat_session_count(dp);
	int n = fnat_sessions(dp, info, RTE_DIM(info));
	if (n < 0 || (uint64_t)n != RTE_MIN(count, (uint64_t)RTE_DIM(info)))
		fuzz_fail("fnat_sessions listed %d of %lu sessions", n, (unsigned long)count);
	for (int i = 0; i < n; i++)
		if (info[i].state >= FNAT_S_MAX || info[i].worker >= dp->n_workers)
			fuzz_fail("fnat_sessions: session %d has state %u on worker %u", i,
				  info[i].state, info[i].worker);
	static struct fnat_worker_stats ws[FNAT_MAX_WORKERS];
	static struct fnat_service_stats ss[SVC_IDS];
	static struct fnat_real_stats rs[REAL_IDS];
	uint32_t counts[3];
	int rc = fnat_stats(dp, ws, RTE_DIM(ws), ss, RTE_DIM(ss), rs, RTE_DIM(rs), counts);
	if (rc < 0)
		fuzz_fail("fnat_stats: %d (counts %u %u %u)", rc, counts[0], counts[1], counts[2]);
}

/* Free mbufs in the pool, caches included, without rte_mempool_avail_count()'s cap at the
 * pool's size (an mbuf freed twice shows up as one too many). */
static unsigned
pool_free_exact(const struct rte_mempool *mp)
{
	unsigned n = rte_mempool_get_ops(mp->ops_index)->get_count(mp);
	if (mp->cache_size != 0)
		for (unsigned lc = 0; lc < RTE_MAX_LCORE; lc++)
			n += mp->local_cache[lc].len;
	return n;
}

static void
reset_worker(struct fnat_dp *dp, struct fnat_worker *w)
{
	for (uint32_t i = 0; i < w->arp_wait_n; i++)
		rte_pktmbuf_free(w->arp_wait[i].m);
	w->arp_wait_n = 0;
	for (uint32_t i = 0; i < w->ct.hwm; i++)
		if (w->ct.conns[i].proto != 0)
			session_free(w, &w->ct.conns[i]);
	output_discard_flush(w);
	/* Every session is gone: whatever is still taken leaked. */
	check_worker(dp, w);
	if (w->sp_free_n != FNAT_SP_KEPT)
		fuzz_fail("worker %u: %u SYNPROXY slots leaked", w->id, FNAT_SP_KEPT - w->sp_free_n);
	/* (An ACK still kept in a free slot is an mbuf leak: the pool count below finds it.) */

	/* Back to the state of a fresh worker. */
	w->ct.hwm = 0;
	w->ct.free_head = FNAT_CONN_NONE;
	w->ct.rng = worker_rng0(w->id);
	for (uint32_t l = 0; l < dp->n_lip_ids; l++) {
		/* A full FIFO pool that gave out k ports got them back in entries 0..k-1. */
		struct fnat_port_pool *p = dp->lip_pools[l][w->id];
		for (uint32_t k = 0; k < p->head; k++)
			p->ports[k] = pool_port(dp->n_workers, w->id, k);
		p->head = 0;
	}
	/* Each valid cookie took one slot from the top of the free stack. */
	uint64_t taken = RTE_MIN(w->stats.syncookies_valid, (uint64_t)FNAT_SP_KEPT);
	for (uint32_t i = FNAT_SP_KEPT - (uint32_t)taken; i < FNAT_SP_KEPT; i++)
		w->sp_free[i] = FNAT_SP_KEPT - 1 - i;
	memset(&w->stats, 0, sizeof(w->stats));
	memset(w->svc_ctr, 0, SVC_IDS * sizeof(*w->svc_ctr));
	memset(w->rs_ctr, 0, REAL_IDS * sizeof(*w->rs_ctr));
	w->scan_pos = 0;
	w->lip_cursor = 0;
	w->last_scan_ms = 0;
	w->ip_id = (uint16_t)(0x1000 * (w->id + 1));
	memset(w->nh_cache, 0, sizeof(w->nh_cache));
	memset(w->arp_asked, 0, sizeof(w->arp_asked));
}

void
state_reset(struct fnat_dp *dp)
{
	for (uint32_t i = 0; i < dp->n_workers; i++)
		reset_worker(dp, dp->workers[i]);
	unsigned free_now = pool_free_exact(dp->pool);
	if (free_now != dp->pool->size)
		fuzz_fail("%u mbufs free of %u after every session was freed: %s", free_now,
			  dp->pool->size, free_now < dp->pool->size ? "a leak" : "a double free");
	/* Scheduler cursors of the running snapshot. */
	struct fnat_snapshot *s = dp->snap;
	for (uint32_t i = 0; i < s->n_workers * RTE_MAX(s->n_svcs, 1u); i++)
		s->sched[i].rr_cursor = 0;
	memset(s->wrr, 0, sizeof(int64_t) * s->n_workers * RTE_MAX(s->n_reals, 1u));
	/* Learned neighbours are forgotten; static ones come back. */
	memset(dp->neigh, 0, sizeof(dp->neigh));
	for (uint32_t i = 0; i < dp->opts.n_neigh; i++)
		neigh_add_static(dp, dp->opts.neigh[i].addr, dp->opts.neigh[i].mac);
	dp->test_clock_ms = clock0;
}
