/* Schedulers: see sched.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

/* A fixed, seedless mix: the table must not depend on the node it is built on. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Reals are visited in (address, port) order, so the table does not depend on the order the
 * configuration lists them in. */
static const struct sched_real *sort_base;
static int
by_addr_port(const void *a, const void *b)
{
	const struct sched_real *x = &sort_base[*(const uint32_t *)a];
	const struct sched_real *y = &sort_base[*(const uint32_t *)b];
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->port - (int)y->port;
}

int
sched_maglev_build(const struct sched_real *reals, uint32_t n, uint16_t *table)
{
	const uint32_t m = FNAT_MAGLEV_M;
	uint32_t *order = calloc(n ? n : 1, sizeof(*order));
	if (order == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	sort_base = reals; /* control thread only */
	qsort(order, n, sizeof(*order), by_addr_port);
	for (uint32_t j = 0; j < m; j++)
		table[j] = FNAT_MAGLEV_EMPTY;
	uint32_t *offset = calloc(n ? n : 1, sizeof(*offset));
	uint32_t *skip = calloc(n ? n : 1, sizeof(*skip));
	uint32_t *next = calloc(n ? n : 1, sizeof(*next));
	uint64_t *credit = calloc(n ? n : 1, sizeof(*credit));
	if (offset == NULL || skip == NULL || next == NULL || credit == NULL) {
		free(offset);
		free(skip);
		free(next);
		free(credit);
		free(order);
		return -ENOMEM;
	}
	uint32_t max_w = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t id = (uint64_t)reals[i].addr << 16 | reals[i].port;
		offset[i] = (uint32_t)(mix64(id ^ 0x6d61676c65763031ull) % m);
		skip[i] = (uint32_t)(mix64(id ^ 0x736b697070696e67ull) % (m - 1)) + 1;
		if (reals[i].weight > max_w)
			max_w = reals[i].weight;
	}
	uint32_t filled = 0;
	while (max_w > 0 && filled < m) {
		for (uint32_t oi = 0; oi < n && filled < m; oi++) {
			uint32_t i = order[oi];
			if (reals[i].weight == 0)
				continue;
			/* Weighted turns: a real claims a slot each time its credit reaches max_w. */
			credit[i] += reals[i].weight;
			if (credit[i] < max_w)
				continue;
			credit[i] -= max_w;
			uint32_t c;
			do {
				c = (uint32_t)(((uint64_t)offset[i] + (uint64_t)next[i] * skip[i]) % m);
				next[i]++;
			} while (table[c] != FNAT_MAGLEV_EMPTY);
			table[c] = (uint16_t)i;
			filled++;
		}
	}
	free(offset);
	free(skip);
	free(next);
	free(credit);
	free(order);
	return 0;
}

int
sched_rr(const struct sched_real *reals, uint32_t n, uint32_t *cursor)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (*cursor + k) % n;
		if (reals[i].weight > 0) {
			*cursor = i + 1;
			return (int)i;
		}
	}
	return -1;
}

int
sched_wrr(const struct sched_real *reals, uint32_t n, int64_t *cur)
{
	int64_t total = 0;
	int best = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (reals[i].weight == 0)
			continue;
		cur[i] += reals[i].weight;
		total += reals[i].weight;
		if (best < 0 || cur[i] > cur[best])
			best = (int)i;
	}
	if (best >= 0)
		cur[best] -= total;
	return best;
}

int
sched_wlc(const struct sched_real *reals, uint32_t n, const uint64_t *active)
{
	int best = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (reals[i].weight == 0)
			continue;
		/* (a+1)/w < (b+1)/v  <=>  (a+1)*v < (b+1)*w, in integers. */
		if (best < 0 || (active[i] + 1) * reals[best].weight <
					(active[best] + 1) * reals[i].weight)
			best = (int)i;
	}
	return best;
}
