/* Building a configuration snapshot on the control thread: validation, stable ids for services,
 * real servers and LIPs, lookup maps, Maglev tables and per-worker scheduler state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "dp_pvt.h"

/* IPVS-like defaults, seconds. */
static const uint32_t default_timeouts_s[FNAT_TO_MAX] = {
	[FNAT_TO_SYN_SENT] = 120,   [FNAT_TO_SYN_RECV] = 60,  [FNAT_TO_ESTABLISHED] = 900,
	[FNAT_TO_FIN_WAIT] = 120,   [FNAT_TO_CLOSE_WAIT] = 60, [FNAT_TO_LAST_ACK] = 30,
	[FNAT_TO_TIME_WAIT] = 120,  [FNAT_TO_CLOSE] = 10,     [FNAT_TO_UDP] = 300,
};

/* Longest timeout: ticks are 32-bit milliseconds compared as signed differences. */
#define MAX_TIMEOUT_S (20u * 24 * 3600)

uint32_t
snapshot_default_timeout_ms(unsigned which)
{
	return default_timeouts_s[which] * 1000u;
}

void
snapshot_free(struct fnat_snapshot *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; i < s->n_svcs && s->svcs != NULL; i++)
		free(s->svcs[i].maglev);
	free(s->svcs);
	free(s->reals);
	free(s->sreals);
	free(s->lips);
	free(s->svc_map);
	free(s->addr_keys);
	free(s->addr_vals);
	rte_free(s->sched);
	rte_free(s->wrr);
	free(s);
}

size_t
snapshot_bytes(const struct fnat_snapshot *s)
{
	size_t svcs = s->n_svcs ? s->n_svcs : 1, reals = s->n_reals ? s->n_reals : 1;
	size_t b = sizeof(*s) + svcs * sizeof(*s->svcs) +
		   reals * (sizeof(*s->reals) + sizeof(*s->sreals)) +
		   (s->n_lips ? s->n_lips : 1) * sizeof(*s->lips) +
		   (s->svc_mask + 1) * sizeof(*s->svc_map) +
		   (s->addr_mask + 1) * (sizeof(*s->addr_keys) + sizeof(*s->addr_vals)) +
		   s->n_workers * (svcs * sizeof(*s->sched) + reals * sizeof(*s->wrr));
	for (uint32_t i = 0; i < s->n_svcs; i++)
		if (s->svcs[i].maglev != NULL)
			b += FNAT_MAGLEV_M * sizeof(uint16_t);
	return b;
}

void
snapshot_publish(struct fnat_dp *dp, struct fnat_snapshot *next)
{
	struct fnat_snapshot *prev = dp->snap;
	/* One pointer swap; workers pick it up at their next burst. */
	__atomic_store_n(&dp->snap, next, __ATOMIC_RELEASE);
	/* Wait until every online worker has passed a quiescent state: nobody reads prev. */
	rte_rcu_qsbr_synchronize(dp->qs, RTE_QSBR_THRID_INVALID);
	snapshot_free(prev);
}

static uint32_t
pow2_at_least(uint32_t n)
{
	uint32_t p = 16;
	while (p < n)
		p <<= 1;
	return p;
}

/* Stable ids: the same (vip, port, proto) keeps its service id, the same (service id, addr,
 * port) its real-server id; a new one takes the lowest free id. A build finds the taken ids
 * through two open-addressing indexes of the registry made at its start (a scan of every id per
 * service and per real server made a 10,000-service apply take seconds), and the free ones with
 * a cursor: during a build the free set only shrinks, so the lowest free id only grows. */
#define REG_SVC_SLOTS (2u * FNAT_MAX_SERVICES)
#define REG_REAL_SLOTS (2u * FNAT_MAX_REALS)
static struct {
	uint32_t svc[REG_SVC_SLOTS];   /* id + 1; 0 = empty */
	uint32_t real[REG_REAL_SLOTS]; /* id + 1; 0 = empty */
	uint32_t svc_free, real_free;  /* no free id below */
} reg_index;

static inline uint32_t
reg_svc_hash(uint32_t vip, uint16_t port, uint8_t proto)
{
	return rte_hash_crc_4byte(vip, (uint32_t)port << 8 | proto) & (REG_SVC_SLOTS - 1);
}

static inline uint32_t
reg_real_hash(uint16_t svc_id, uint32_t addr, uint16_t port)
{
	return rte_hash_crc_4byte(addr, (uint32_t)svc_id << 16 | port) & (REG_REAL_SLOTS - 1);
}

/* Indexes every taken id; of equal keys the lowest id is found, as a scan would. */
static void
reg_index_build(const struct fnat_dp *dp)
{
	memset(&reg_index, 0, sizeof(reg_index));
	for (uint32_t i = 0; i < FNAT_MAX_SERVICES; i++) {
		const struct fnat_registry_svc *r = &dp->reg_svc[i];
		if (!r->used)
			continue;
		uint32_t k = reg_svc_hash(r->vip, r->port, r->proto);
		while (reg_index.svc[k] != 0) {
			const struct fnat_registry_svc *o = &dp->reg_svc[reg_index.svc[k] - 1];
			if (o->vip == r->vip && o->port == r->port && o->proto == r->proto)
				break;
			k = (k + 1) & (REG_SVC_SLOTS - 1);
		}
		if (reg_index.svc[k] == 0)
			reg_index.svc[k] = i + 1;
	}
	for (uint32_t i = 0; i < FNAT_MAX_REALS; i++) {
		const struct fnat_registry_real *r = &dp->reg_real[i];
		if (!r->used)
			continue;
		uint32_t k = reg_real_hash(r->svc_id, r->addr, r->port);
		while (reg_index.real[k] != 0) {
			const struct fnat_registry_real *o = &dp->reg_real[reg_index.real[k] - 1];
			if (o->svc_id == r->svc_id && o->addr == r->addr && o->port == r->port)
				break;
			k = (k + 1) & (REG_REAL_SLOTS - 1);
		}
		if (reg_index.real[k] == 0)
			reg_index.real[k] = i + 1;
	}
}

static int
svc_id_for(struct fnat_dp *dp, const struct fnat_service_conf *c,
	   const struct fnat_registry_svc *taken)
{
	for (uint32_t k = reg_svc_hash(c->vip, c->port, c->proto); reg_index.svc[k] != 0;
	     k = (k + 1) & (REG_SVC_SLOTS - 1)) {
		const struct fnat_registry_svc *r = &dp->reg_svc[reg_index.svc[k] - 1];
		if (r->vip == c->vip && r->port == c->port && r->proto == c->proto)
			return (int)reg_index.svc[k] - 1;
	}
	uint32_t i = reg_index.svc_free;
	while (i < FNAT_MAX_SERVICES && (dp->reg_svc[i].used || taken[i].used))
		i++;
	reg_index.svc_free = i;
	return i < FNAT_MAX_SERVICES ? (int)i : -1;
}

static int
real_id_for(struct fnat_dp *dp, uint16_t svc_id, const struct fnat_real_conf *c,
	    const struct fnat_registry_real *taken)
{
	for (uint32_t k = reg_real_hash(svc_id, c->addr, c->port); reg_index.real[k] != 0;
	     k = (k + 1) & (REG_REAL_SLOTS - 1)) {
		const struct fnat_registry_real *r = &dp->reg_real[reg_index.real[k] - 1];
		if (r->svc_id == svc_id && r->addr == c->addr && r->port == c->port)
			return (int)reg_index.real[k] - 1;
	}
	uint32_t i = reg_index.real_free;
	while (i < FNAT_MAX_REALS && (dp->reg_real[i].used || taken[i].used))
		i++;
	reg_index.real_free = i;
	return i < FNAT_MAX_REALS ? (int)i : -1;
}

/* Active sessions of an id over all workers (relaxed reads; for a retired id the count only
 * falls, so a zero stays zero). */
static uint64_t
real_active(const struct fnat_dp *dp, uint32_t id)
{
	uint64_t n = 0;
	for (uint32_t w = 0; w < dp->n_workers; w++)
		n += __atomic_load_n(&dp->workers[w]->rs_ctr[id].sessions_active, __ATOMIC_RELAXED);
	return n;
}

static uint64_t
svc_active(const struct fnat_dp *dp, uint16_t id)
{
	uint64_t n = 0;
	for (uint32_t w = 0; w < dp->n_workers; w++)
		n += __atomic_load_n(&dp->workers[w]->svc_ctr[id].sessions_active, __ATOMIC_RELAXED);
	return n;
}

/* Frees the retired ids no session refers to any more. An id retires when a snapshot without
 * it is built; until that snapshot is published and every worker has passed a quiescent state
 * (the end of that fnat_apply), a worker may still create sessions with it from the previous
 * snapshot. So a retired id is examined only from the next build on: by then no new session
 * can get it, and a zero count means no session will ever count against it again. Ids of the
 * published snapshot (`live`) are never freed here. */
static void
registry_prune(struct fnat_dp *dp)
{
	for (int i = 0; i < FNAT_MAX_SERVICES; i++)
		if (dp->reg_svc[i].used && !dp->reg_svc[i].live && svc_active(dp, (uint16_t)i) == 0)
			dp->reg_svc[i] = (struct fnat_registry_svc){ 0 };
	for (int i = 0; i < FNAT_MAX_REALS; i++)
		if (dp->reg_real[i].used && !dp->reg_real[i].live &&
		    real_active(dp, (uint32_t)i) == 0)
			dp->reg_real[i] = (struct fnat_registry_real){ 0 };
}

static struct fnat_port_pool *
pool_create(uint32_t n_workers, uint32_t w)
{
	uint32_t cap = 0;
	for (uint32_t p = FNAT_LPORT_MIN; p <= 65535; p++)
		if (lport_owner(n_workers, (uint16_t)p) == w)
			cap++;
	struct fnat_port_pool *pool = malloc(sizeof(*pool) + cap * sizeof(uint16_t));
	if (pool == NULL)
		return NULL;
	pool->head = 0;
	pool->count = cap;
	pool->cap = cap;
	uint32_t i = 0;
	for (uint32_t p = FNAT_LPORT_MIN; p <= 65535; p++)
		if (lport_owner(n_workers, (uint16_t)p) == w)
			pool->ports[i++] = (uint16_t)p;
	return pool;
}

/* The id of a LIP address: ids are never reused, so a worker can always give a port back to
 * the pool of the LIP a session was created with, even after the LIP left the configuration. */
static int
lip_id_for(struct fnat_dp *dp, uint32_t addr)
{
	for (uint32_t i = 0; i < dp->n_lip_ids; i++)
		if (dp->lip_addr[i] == addr)
			return (int)i;
	if (dp->n_lip_ids >= FNAT_MAX_LIPS)
		return -E2BIG;
	uint32_t id = dp->n_lip_ids;
	for (uint32_t w = 0; w < dp->n_workers; w++) {
		dp->lip_pools[id][w] = pool_create(dp->n_workers, w);
		if (dp->lip_pools[id][w] == NULL)
			return -ENOMEM;
	}
	dp->lip_addr[id] = addr;
	/* Pools are complete before the id is published with the snapshot (release store). */
	dp->n_lip_ids++;
	return (int)id;
}

static int
validate(const struct fnat_service_conf *svcs, uint32_t n_svcs, const struct fnat_real_conf *reals,
	 uint32_t n_reals, const uint32_t *lips, uint32_t n_lips)
{
	if (n_svcs > FNAT_MAX_SERVICES || n_reals > FNAT_MAX_REALS || n_lips > FNAT_MAX_LIPS)
		return -E2BIG;
	if ((n_svcs > 0 && svcs == NULL) || (n_reals > 0 && reals == NULL) ||
	    (n_lips > 0 && lips == NULL))
		return -EINVAL;
	if (n_svcs > 0 && n_lips == 0)
		return -EINVAL;
	for (uint32_t i = 0; i < n_lips; i++) {
		if (lips[i] == 0)
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (lips[j] == lips[i])
				return -EINVAL;
	}
	uint32_t mask = pow2_at_least(n_svcs * 2) - 1;
	uint32_t *seen = calloc(mask + 1, sizeof(*seen));
	if (seen == NULL)
		return -ENOMEM;
	int rc = 0;
	for (uint32_t i = 0; i < n_svcs && rc == 0; i++) {
		const struct fnat_service_conf *c = &svcs[i];
		if (c->vip == 0 || c->port == 0 || c->sched >= FNAT_SCHED_MAX ||
		    (c->proto != FNAT_PROTO_TCP && c->proto != FNAT_PROTO_UDP) ||
		    (uint64_t)c->first_real + c->n_reals > n_reals) {
			rc = -EINVAL;
			break;
		}
		/* duplicates: through a map of the services seen so far (a pairwise check was
		 * most of an 8,192-service build) */
		uint32_t k = rte_hash_crc_4byte(c->vip, (uint32_t)c->port << 8 | c->proto) & mask;
		for (; seen[k] != 0; k = (k + 1) & mask) {
			const struct fnat_service_conf *o = &svcs[seen[k] - 1];
			if (o->vip == c->vip && o->port == c->port && o->proto == c->proto)
				rc = -EINVAL;
		}
		seen[k] = i + 1;
		for (uint32_t l = 0; l < n_lips; l++)
			if (lips[l] == c->vip)
				rc = -EINVAL;
		for (uint32_t r = c->first_real; r < c->first_real + c->n_reals && rc == 0; r++) {
			if (reals[r].addr == 0 || reals[r].port == 0 || reals[r].weight > 65535)
				rc = -EINVAL;
			for (uint32_t q = c->first_real; q < r; q++)
				if (reals[q].addr == reals[r].addr && reals[q].port == reals[r].port)
					rc = -EINVAL;
		}
	}
	free(seen);
	return rc;
}

static void
addr_put(struct fnat_snapshot *s, uint32_t addr, uint16_t val)
{
	uint32_t i = rte_hash_crc_4byte(addr, FNAT_ADDR_MAP_SEED) & s->addr_mask;
	while (s->addr_keys[i] != 0 && s->addr_keys[i] != addr)
		i = (i + 1) & s->addr_mask;
	if (s->addr_keys[i] == 0) {
		s->addr_keys[i] = addr;
		s->addr_vals[i] = val;
	}
}

/* The ids a snapshot being built takes (committed to the registry once it is complete). */
struct build_ids {
	struct fnat_registry_svc svc[FNAT_MAX_SERVICES];
	struct fnat_registry_real real[FNAT_MAX_REALS];
};

/* Build stage 1: an empty snapshot with room for the configuration (NULL: out of memory). */
static struct fnat_snapshot *
snapshot_alloc(uint32_t nw, uint32_t n_svcs, uint32_t n_reals, uint32_t n_lips)
{
	struct fnat_snapshot *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->n_workers = nw;
	s->svcs = calloc(n_svcs ? n_svcs : 1, sizeof(*s->svcs));
	s->reals = calloc(n_reals ? n_reals : 1, sizeof(*s->reals));
	s->sreals = calloc(n_reals ? n_reals : 1, sizeof(*s->sreals));
	s->lips = calloc(n_lips ? n_lips : 1, sizeof(*s->lips));
	s->svc_mask = pow2_at_least(n_svcs * 2) - 1;
	s->svc_map = calloc(s->svc_mask + 1, sizeof(*s->svc_map));
	s->addr_mask = pow2_at_least((n_svcs + n_lips) * 2) - 1;
	s->addr_keys = calloc(s->addr_mask + 1, sizeof(*s->addr_keys));
	s->addr_vals = calloc(s->addr_mask + 1, sizeof(*s->addr_vals));
	s->sched = rte_zmalloc("fnat_sched", sizeof(*s->sched) * nw * (n_svcs ? n_svcs : 1),
			       RTE_CACHE_LINE_SIZE);
	s->wrr = rte_zmalloc("fnat_wrr", sizeof(int64_t) * nw * (n_reals ? n_reals : 1),
			     RTE_CACHE_LINE_SIZE);
	if (s->svcs == NULL || s->reals == NULL || s->sreals == NULL || s->lips == NULL ||
	    s->svc_map == NULL || s->addr_keys == NULL || s->addr_vals == NULL ||
	    s->sched == NULL || s->wrr == NULL) {
		snapshot_free(s);
		return NULL;
	}
	return s;
}

/* Build stage 2, per service: its id, fields, real servers (from *r_out on), Maglev table and
 * map entries. 0 or -errno. */
static int
add_service(struct fnat_dp *dp, struct fnat_snapshot *s, uint32_t i,
	    const struct fnat_service_conf *c, const struct fnat_real_conf *reals, uint32_t *r_out,
	    struct build_ids *ids)
{
	int id = svc_id_for(dp, c, ids->svc);
	if (id < 0 || ids->svc[id].used)
		return -E2BIG;
	ids->svc[id] = (struct fnat_registry_svc){ true, true, c->vip, c->port, c->proto };
	struct fnat_svc *v = &s->svcs[i];
	v->vip = c->vip;
	v->port = rte_cpu_to_be_16(c->port);
	v->proto = c->proto;
	v->sched = c->sched;
	v->flags = c->flags;
	v->id = (uint16_t)id;
	v->first_real = *r_out;
	v->n_reals = c->n_reals;
	for (unsigned t = 0; t < FNAT_TO_MAX; t++) {
		uint32_t sec = c->timeouts[t] ? c->timeouts[t] : default_timeouts_s[t];
		v->timeout_ms[t] = (sec > MAX_TIMEOUT_S ? MAX_TIMEOUT_S : sec) * 1000u;
	}
	for (uint32_t r = 0; r < c->n_reals; r++, (*r_out)++) {
		const struct fnat_real_conf *rc = &reals[c->first_real + r];
		int rid = real_id_for(dp, (uint16_t)id, rc, ids->real);
		if (rid < 0 || ids->real[rid].used)
			return -E2BIG;
		ids->real[rid] = (struct fnat_registry_real){ true, true, (uint16_t)id, rc->addr,
							      rc->port };
		s->reals[*r_out] = (struct fnat_real){ rc->addr, rte_cpu_to_be_16(rc->port),
						       (uint32_t)rid, rc->weight };
		s->sreals[*r_out] = (struct sched_real){ rc->addr, rc->port, rc->weight };
		s->real_live[rid] = 1;
	}
	if (c->sched == FNAT_SCHED_MH) {
		v->maglev = malloc(FNAT_MAGLEV_M * sizeof(uint16_t));
		if (v->maglev == NULL ||
		    sched_maglev_build(&s->sreals[v->first_real], v->n_reals, v->maglev) < 0)
			return -ENOMEM;
	}
	s->n_svcs = i + 1;
	s->svc_by_id[id] = (uint16_t)(i + 1);
	uint32_t k = rte_hash_crc_4byte(v->vip ^ ((uint32_t)v->port << 8 | v->proto),
					FNAT_SVC_MAP_SEED) & s->svc_mask;
	while (s->svc_map[k] != 0)
		k = (k + 1) & s->svc_mask;
	s->svc_map[k] = (uint16_t)(i + 1);
	addr_put(s, v->vip, (uint16_t)(i + 1));
	return 0;
}

/* Build stage 3: the LIPs, with their stable ids. 0 or -errno. */
static int
add_lips(struct fnat_dp *dp, struct fnat_snapshot *s, const uint32_t *lips, uint32_t n_lips)
{
	for (uint32_t l = 0; l < n_lips; l++) {
		int id = lip_id_for(dp, lips[l]);
		if (id < 0)
			return id;
		s->lips[l] = (struct fnat_lip){ lips[l], (uint16_t)id };
		addr_put(s, lips[l], (uint16_t)(FNAT_ADDR_LIP | l));
	}
	s->n_lips = n_lips;
	return 0;
}

/* Build stage 4: each worker's WRR state of each service points into its row of s->wrr. */
static void
link_sched_state(struct fnat_snapshot *s, uint32_t total_reals)
{
	uint32_t row = total_reals ? total_reals : 1;
	for (uint32_t w = 0; w < s->n_workers; w++)
		for (uint32_t i = 0; i < s->n_svcs; i++)
			s->sched[w * s->n_svcs + i].wrr_cur = &s->wrr[w * row + s->svcs[i].first_real];
}

/* Build stage 5, once the snapshot is complete: commit the registry. Ids not in the new
 * snapshot retire (they stay taken, so their counters and timeouts stay attributable, until
 * registry_prune frees them). An id that starts a new life starts with zero counters (nobody
 * writes them now: no session refers to a free id). */
static void
registry_commit(struct fnat_dp *dp, const struct build_ids *ids)
{
	uint32_t nw = dp->n_workers;
	for (int i = 0; i < FNAT_MAX_SERVICES; i++)
		if (ids->svc[i].used && !dp->reg_svc[i].used)
			for (uint32_t w = 0; w < nw; w++)
				memset(&dp->workers[w]->svc_ctr[i], 0, sizeof(struct fnat_traffic));
	for (int i = 0; i < FNAT_MAX_REALS; i++)
		if (ids->real[i].used && !dp->reg_real[i].used)
			for (uint32_t w = 0; w < nw; w++)
				memset(&dp->workers[w]->rs_ctr[i], 0, sizeof(struct fnat_traffic));
	for (int i = 0; i < FNAT_MAX_SERVICES; i++) {
		if (ids->svc[i].used)
			dp->reg_svc[i] = ids->svc[i];
		else
			dp->reg_svc[i].live = false;
	}
	for (int i = 0; i < FNAT_MAX_REALS; i++) {
		if (ids->real[i].used)
			dp->reg_real[i] = ids->real[i];
		else
			dp->reg_real[i].live = false;
	}
}

int
snapshot_build(struct fnat_dp *dp, const struct fnat_service_conf *svcs, uint32_t n_svcs,
	       const struct fnat_real_conf *reals, uint32_t n_reals, const uint32_t *lips,
	       uint32_t n_lips, struct fnat_snapshot **out)
{
	int rc = validate(svcs, n_svcs, reals, n_reals, lips, n_lips);
	if (rc < 0)
		return rc;
	/* Reals used by the services (services may share none: each has its own range). */
	uint32_t total_reals = 0;
	for (uint32_t i = 0; i < n_svcs; i++)
		total_reals += svcs[i].n_reals;
	if (total_reals > FNAT_MAX_REALS)
		return -E2BIG;
	struct fnat_snapshot *s = snapshot_alloc(dp->n_workers, n_svcs, total_reals, n_lips);
	if (s == NULL)
		return -ENOMEM;
	/* Ids: those still taken stay with their service or real server (harmless if this build
	 * fails: a pruned id is free either way); the new snapshot's are collected here. (Static:
	 * too large for the stack; the control thread alone builds snapshots.) */
	registry_prune(dp);
	reg_index_build(dp);
	static struct build_ids ids;
	memset(&ids, 0, sizeof(ids));
	uint32_t r_out = 0;
	for (uint32_t i = 0; i < n_svcs && rc == 0; i++)
		rc = add_service(dp, s, i, &svcs[i], reals, &r_out, &ids);
	s->n_reals = r_out;
	if (rc == 0)
		rc = add_lips(dp, s, lips, n_lips);
	if (rc < 0) {
		snapshot_free(s);
		return rc;
	}
	link_sched_state(s, total_reals);
	registry_commit(dp, &ids);
	*out = s;
	return 0;
}
