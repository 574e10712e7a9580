/* Schedulers: rr, smooth wrr, wlc over the worker's own session counts, and Maglev consistent
 * hashing. The Maglev table depends only on the real servers' addresses, ports and weights, so
 * every node builds the same table for the same set. */
#ifndef FNAT_SCHED_H
#define FNAT_SCHED_H

#include <stdint.h>

/** Maglev table size: a prime well above 100 × the real servers of a service. */
#define FNAT_MAGLEV_M 65537u
#define FNAT_MAGLEV_EMPTY UINT16_MAX

/** The real-server view a scheduler needs. */
struct sched_real {
	uint32_t addr; /* network order */
	uint16_t port; /* host order */
	uint32_t weight;
};

/**
 * Fill table[FNAT_MAGLEV_M] with indexes into reals (weight 0 reals get no entry; all weight 0
 * leaves every entry FNAT_MAGLEV_EMPTY). Weights take turns proportionally to the largest.
 * @return 0 or -ENOMEM.
 */
int sched_maglev_build(const struct sched_real *reals, uint32_t n, uint16_t *table);

/** Round robin: the next real with weight > 0 after *cursor. @return index or -1. */
int sched_rr(const struct sched_real *reals, uint32_t n, uint32_t *cursor);

/** Smooth weighted round robin (nginx-style): cur[] holds the running weights. */
int sched_wrr(const struct sched_real *reals, uint32_t n, int64_t *cur);

/** Weighted least connections: minimises (active + 1) / weight. */
int sched_wlc(const struct sched_real *reals, uint32_t n, const uint64_t *active);

#endif /* FNAT_SCHED_H */
