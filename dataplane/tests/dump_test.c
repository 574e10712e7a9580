/* Session listings with running workers (dump.c), one interleaving of the control thread and a
 * worker at a time: an answer in time is copied, and a request the control thread gives up on
 * (before or after the worker took it) never writes into the caller's buffer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dp_pvt.h"

#define SESSIONS 3
#define CAP 8
#define UNTOUCHED 0xa5

static struct fnat_dp dp = { .test_mode = true, .test_clock_ms = 1000 };

/* A worker whose table holds SESSIONS sessions (client ports 1000, 1001, ...). */
static struct fnat_worker *
worker_new(void)
{
	struct fnat_worker *w = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*w));
	memset(w, 0, sizeof(*w));
	w->dp = &dp;
	CHECK_EQ(conn_table_init(&w->ct, 64, 1), 0);
	for (uint16_t i = 0; i < SESSIONS; i++) {
		struct fnat_conn c = { 0 };
		c.proto = 6;
		c.state = FNAT_S_ESTABLISHED;
		c.cport = rte_cpu_to_be_16((uint16_t)(1000 + i));
		c.lport = c.cport;
		c.expire = 5000;
		struct fnat_key k;
		fnat_conn_key(&c, FNAT_DIR_IN, &k);
		CHECK(conn_insert(&w->ct, &c, fnat_key_hash(&k, w->ct.seed)) != NULL);
	}
	return w;
}

static void
worker_del(struct fnat_worker *w)
{
	CHECK(w->dump_slot == NULL);
	conn_table_free(&w->ct);
	free(w);
}

static bool
untouched(const struct fnat_session_info *out)
{
	const uint8_t *p = (const uint8_t *)out;
	for (size_t i = 0; i < CAP * sizeof(*out); i++)
		if (p[i] != UNTOUCHED)
			return false;
	return true;
}

static void
answered_in_time_is_copied(void)
{
	struct fnat_worker *w = worker_new();
	struct fnat_session_info out[CAP];
	struct fnat_dump_req *req = dump_post(w, CAP);
	CHECK(req != NULL);
	dump_serve(w);
	CHECK_EQ(dump_collect(w, req, 0, out), SESSIONS);
	/* In table order, which follows the hash: each session once. */
	uint32_t seen = 0;
	for (uint16_t i = 0; i < SESSIONS; i++) {
		CHECK(out[i].cport >= 1000 && out[i].cport < 1000 + SESSIONS);
		seen |= 1u << (out[i].cport - 1000);
		CHECK_EQ(out[i].state, FNAT_S_ESTABLISHED);
		CHECK_EQ(out[i].expires_in_ms, 4000);
	}
	CHECK_EQ(seen, (1u << SESSIONS) - 1);
	worker_del(w);
}

static void
not_taken_is_taken_back(void)
{
	struct fnat_worker *w = worker_new();
	struct fnat_session_info out[CAP];
	memset(out, UNTOUCHED, sizeof(out));
	struct fnat_dump_req *req = dump_post(w, CAP);
	CHECK_EQ(dump_collect(w, req, 0, out), -ETIMEDOUT);
	/* The worker's next loop finds nothing to answer. */
	CHECK(dump_take(w) == NULL);
	dump_serve(w);
	CHECK(untouched(out));
	worker_del(w);
}

static void
abandoned_while_filled_is_freed_by_the_worker(void)
{
	struct fnat_worker *w = worker_new();
	struct fnat_session_info out[CAP];
	memset(out, UNTOUCHED, sizeof(out));
	struct fnat_dump_req *req = dump_post(w, CAP);
	/* The worker has taken the request and is still copying when the deadline passes. */
	struct fnat_dump_req *taken = dump_take(w);
	CHECK(taken == req);
	CHECK_EQ(dump_collect(w, req, 0, out), -ETIMEDOUT);
	/* It finishes after the call returned: into the request, which it then frees. */
	CHECK(!dump_finish(w, taken));
	CHECK(untouched(out));
	worker_del(w);
}

static void
finished_before_the_deadline_check_is_used(void)
{
	struct fnat_worker *w = worker_new();
	struct fnat_session_info out[CAP];
	struct fnat_dump_req *req = dump_post(w, 2);
	CHECK(dump_finish(w, dump_take(w)));
	/* A deadline already passed: the completed answer wins over giving up. */
	CHECK_EQ(dump_collect(w, req, 0, out), 2);
	CHECK_EQ(out[1].cport, 1001);
	worker_del(w);
}

TEST_MAIN("dump", CASE(answered_in_time_is_copied), CASE(not_taken_is_taken_back),
	  CASE(abandoned_while_filled_is_freed_by_the_worker),
	  CASE(finished_before_the_deadline_check_is_used))
