/* Schedulers: rr skips weight 0, wrr follows weights, wlc balances, Maglev tables are identical
 * for the same set in any order and move about 1/N of their entries when one real goes. */
#include <stdlib.h>

#include "check.h"
#include "sched.h"

static struct sched_real
real(uint32_t i, uint32_t weight)
{
	return (struct sched_real){ .addr = 0x0a000000u + i, .port = 8080, .weight = weight };
}

static void
test_rr_skips_weight_zero(void)
{
	struct sched_real r[3] = { real(1, 1), real(2, 0), real(3, 5) };
	uint32_t cur = 0;
	int seen[3] = { 0 };
	for (int i = 0; i < 10; i++)
		seen[sched_rr(r, 3, &cur)]++;
	CHECK_EQ(seen[0], 5);
	CHECK_EQ(seen[1], 0);
	CHECK_EQ(seen[2], 5);
	struct sched_real none[1] = { real(1, 0) };
	CHECK_EQ(sched_rr(none, 1, &cur), -1);
}

static void
test_wrr_follows_weights_smoothly(void)
{
	struct sched_real r[3] = { real(1, 5), real(2, 1), real(3, 1) };
	int64_t cur[3] = { 0 };
	int seen[3] = { 0 };
	int prev = -1, longest = 0, run = 0;
	for (int i = 0; i < 70; i++) {
		int k = sched_wrr(r, 3, cur);
		seen[k]++;
		run = k == prev ? run + 1 : 1;
		longest = run > longest ? run : longest;
		prev = k;
	}
	CHECK_EQ(seen[0], 50);
	CHECK_EQ(seen[1], 10);
	CHECK_EQ(seen[2], 10);
	CHECK(longest <= 4); /* smooth: never five of the heavy one in a row */
}

static void
test_wlc_prefers_least_loaded_per_weight(void)
{
	struct sched_real r[3] = { real(1, 1), real(2, 2), real(3, 0) };
	uint64_t active[3] = { 3, 5, 0 };
	/* (3+1)/1 = 4 vs (5+1)/2 = 3: the second; the third has weight 0. */
	CHECK_EQ(sched_wlc(r, 3, active), 1);
	active[1] = 9;
	CHECK_EQ(sched_wlc(r, 3, active), 0);
}

static uint16_t *
build(const struct sched_real *r, uint32_t n)
{
	uint16_t *t = malloc(FNAT_MAGLEV_M * sizeof(*t));
	CHECK(t != NULL);
	CHECK_EQ(sched_maglev_build(r, n, t), 0);
	return t;
}

static void
test_maglev_same_set_same_table_any_order(void)
{
	struct sched_real a[5], b[5];
	for (uint32_t i = 0; i < 5; i++) {
		a[i] = real(i + 1, 1);
		b[4 - i] = real(i + 1, 1);
	}
	uint16_t *ta = build(a, 5), *tb = build(b, 5);
	uint32_t diff = 0, counts[5] = { 0 };
	for (uint32_t j = 0; j < FNAT_MAGLEV_M; j++) {
		CHECK(ta[j] != FNAT_MAGLEV_EMPTY);
		if (a[ta[j]].addr != b[tb[j]].addr)
			diff++;
		counts[ta[j]]++;
	}
	CHECK_EQ(diff, 0);
	for (int i = 0; i < 5; i++) /* balanced within 1% */
		CHECK(counts[i] > FNAT_MAGLEV_M / 5 * 99 / 100 &&
		      counts[i] < FNAT_MAGLEV_M / 5 * 101 / 100);
	free(ta);
	free(tb);
}

static void
test_maglev_removal_moves_about_one_nth(void)
{
	enum { N = 10 };
	struct sched_real all[N], rest[N - 1];
	for (uint32_t i = 0; i < N; i++)
		all[i] = real(i + 1, 1);
	for (uint32_t i = 0, k = 0; i < N; i++)
		if (i != 3)
			rest[k++] = all[i];
	uint16_t *t1 = build(all, N), *t2 = build(rest, N - 1);
	uint32_t moved = 0, lost = 0;
	for (uint32_t j = 0; j < FNAT_MAGLEV_M; j++) {
		uint32_t before = all[t1[j]].addr, after = rest[t2[j]].addr;
		if (before != after)
			moved++;
		if (before == all[3].addr)
			lost++;
	}
	double frac = (double)moved / FNAT_MAGLEV_M;
	printf("  maglev: removing 1 of %d moved %.2f%% of entries (%.2f%% had to)\n", N,
	       100.0 * frac, 100.0 * lost / FNAT_MAGLEV_M);
	CHECK(moved >= lost);
	CHECK(frac < 1.5 / N); /* about 1/N: the removed real's share plus a little */
	free(t1);
	free(t2);
}

static void
test_maglev_weights_are_proportional(void)
{
	struct sched_real r[3] = { real(1, 2), real(2, 1), real(3, 0) };
	uint16_t *t = build(r, 3);
	uint32_t counts[3] = { 0 };
	for (uint32_t j = 0; j < FNAT_MAGLEV_M; j++)
		counts[t[j]]++;
	CHECK_EQ(counts[2], 0);
	double share = (double)counts[0] / FNAT_MAGLEV_M;
	CHECK(share > 0.65 && share < 0.69);
	free(t);
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "rr skips weight 0", test_rr_skips_weight_zero },
		{ "wrr follows weights smoothly", test_wrr_follows_weights_smoothly },
		{ "wlc prefers the least loaded per weight", test_wlc_prefers_least_loaded_per_weight },
		{ "maglev: same set, same table in any order", test_maglev_same_set_same_table_any_order },
		{ "maglev: removing one of N moves about 1/N", test_maglev_removal_moves_about_one_nth },
		{ "maglev: weights are proportional", test_maglev_weights_are_proportional },
	};
	return check_run("sched", cases, sizeof(cases) / sizeof(cases[0]));
}
