/* Session table: both directions found, removal, capacity limits, a nearly full index, and
 * that a failed insert loses no existing entry. */
#include <stdlib.h>

#include "check.h"
#include "conn.h"

static void
fill(struct fnat_conn *c, uint32_t i)
{
	c->caddr = 0xc6336400u + i;
	c->vaddr = 0xc000020au;
	c->cport = (uint16_t)(1024 + i % 60000);
	c->vport = 80;
	c->laddr = 0x0a000064u + i / 60000;
	c->lport = (uint16_t)(1024 + i % 60000);
	c->raddr = 0x0a00000bu;
	c->rport = 8080;
	c->proto = 6;
	c->state = 1;
}

static struct fnat_conn *
find(struct fnat_conn_table *t, const struct fnat_conn *c, int dir, int *got)
{
	struct fnat_key k;
	fnat_conn_key(c, dir, &k);
	return conn_lookup(t, &k, fnat_key_hash(&k, t->seed), got);
}

static void
test_found_from_both_directions(void)
{
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, 1000, 42), 0);
	struct fnat_conn *c = conn_alloc(&t);
	fill(c, 7);
	CHECK_EQ(conn_insert(&t, c), 0);
	int dir = -1;
	CHECK(find(&t, c, FNAT_DIR_IN, &dir) == c);
	CHECK_EQ(dir, FNAT_DIR_IN);
	CHECK(find(&t, c, FNAT_DIR_OUT, &dir) == c);
	CHECK_EQ(dir, FNAT_DIR_OUT);
	struct fnat_conn other = *c;
	other.cport++;
	CHECK(find(&t, &other, FNAT_DIR_IN, &dir) == NULL);
	other = *c;
	other.proto = 17;
	CHECK(find(&t, &other, FNAT_DIR_OUT, &dir) == NULL);
	conn_remove(&t, c);
	CHECK(find(&t, c, FNAT_DIR_IN, &dir) == NULL);
	CHECK(find(&t, c, FNAT_DIR_OUT, &dir) == NULL);
	CHECK_EQ(t.active, 0);
	conn_table_free(&t);
}

static void
test_capacity_is_a_hard_bound(void)
{
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, 100, 1), 0);
	for (uint32_t i = 0; i < 100; i++) {
		struct fnat_conn *c = conn_alloc(&t);
		CHECK(c != NULL);
		fill(c, i);
		CHECK_EQ(conn_insert(&t, c), 0);
	}
	CHECK(conn_alloc(&t) == NULL);
	/* Freed sessions are reused. */
	struct fnat_conn *first = &t.conns[0];
	conn_remove(&t, first);
	CHECK(conn_alloc(&t) == first);
	conn_table_free(&t);
}

static void
test_full_table_every_session_found(void)
{
	enum { N = 200000 };
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, N, 99), 0);
	uint32_t failed = 0;
	for (uint32_t i = 0; i < N; i++) {
		struct fnat_conn *c = conn_alloc(&t);
		fill(c, i);
		if (conn_insert(&t, c) != 0)
			failed++;
	}
	CHECK_EQ(failed, 0);
	uint32_t missing = 0;
	int dir;
	for (uint32_t i = 0; i < N; i++) {
		if (find(&t, &t.conns[i], FNAT_DIR_IN, &dir) != &t.conns[i] ||
		    find(&t, &t.conns[i], FNAT_DIR_OUT, &dir) != &t.conns[i])
			missing++;
	}
	CHECK_EQ(missing, 0);
	printf("  conn: %u sessions in %zu bytes (%.1f bytes per session)\n", N, t.bytes,
	       (double)t.bytes / N);
	CHECK(t.bytes / N <= 128);
	conn_table_free(&t);
}

static void
test_failed_insert_keeps_existing_entries(void)
{
	/* A tiny index (2 buckets) overfilled on purpose: inserts fail, nothing is lost. */
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, 4, 5), 0);
	uint32_t cap = (t.bucket_mask + 1) * FNAT_BUCKET_SLOTS; /* slots */
	struct fnat_conn *extra = calloc(cap, sizeof(*extra));
	struct fnat_conn_table big = t;
	/* Use our own session array so more sessions than capacity can be indexed. */
	big.conns = extra;
	big.cap = cap;
	uint32_t ok = 0;
	for (uint32_t i = 0; i < cap; i++) {
		struct fnat_conn *c = &extra[i];
		fill(c, i * 7919);
		if (conn_insert(&big, c) == 0)
			ok++;
		else
			break;
	}
	int dir;
	uint32_t missing = 0;
	for (uint32_t i = 0; i < ok; i++)
		if (find(&big, &extra[i], FNAT_DIR_IN, &dir) != &extra[i] ||
		    find(&big, &extra[i], FNAT_DIR_OUT, &dir) != &extra[i])
			missing++;
	CHECK(ok < cap / 2 + 1);
	CHECK_EQ(missing, 0);
	free(extra);
	conn_table_free(&t);
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "found from both directions", test_found_from_both_directions },
		{ "capacity is a hard bound", test_capacity_is_a_hard_bound },
		{ "a full table finds every session", test_full_table_every_session_found },
		{ "a failed insert keeps existing entries", test_failed_insert_keeps_existing_entries },
	};
	return check_run("conn", cases, sizeof(cases) / sizeof(cases[0]));
}
