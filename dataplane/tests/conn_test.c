/* Session table: both directions found, removal, capacity limits, a full table, churn at full
 * load, and that a failed insert loses no existing session. */
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

static struct fnat_conn *
insert(struct fnat_conn_table *t, uint32_t i)
{
	struct fnat_conn n = { 0 };
	fill(&n, i);
	struct fnat_key k;
	fnat_conn_key(&n, FNAT_DIR_IN, &k);
	return conn_insert(t, &n, fnat_key_hash(&k, t->seed));
}

static void
test_found_from_both_directions(void)
{
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, 1000, 42), 0);
	struct fnat_conn *c = insert(&t, 7);
	CHECK(c != NULL);
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
	struct fnat_conn gone = *c;
	conn_remove(&t, c);
	CHECK(find(&t, &gone, FNAT_DIR_IN, &dir) == NULL);
	CHECK(find(&t, &gone, FNAT_DIR_OUT, &dir) == NULL);
	CHECK_EQ(t.active, 0);
	conn_table_free(&t);
}

static void
test_capacity_is_a_hard_bound(void)
{
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, 100, 1), 0);
	struct fnat_conn *first = NULL;
	for (uint32_t i = 0; i < 100; i++) {
		struct fnat_conn *c = insert(&t, i);
		CHECK(c != NULL);
		if (i == 0)
			first = c;
	}
	CHECK(insert(&t, 100) == NULL);
	CHECK_EQ(t.active, 100);
	/* A removed session makes room for one more. */
	struct fnat_conn gone = { 0 };
	fill(&gone, 0);
	int dir;
	first = find(&t, &gone, FNAT_DIR_IN, &dir); /* it may have moved since */
	CHECK(first != NULL);
	conn_remove(&t, first);
	CHECK(insert(&t, 100) != NULL);
	CHECK(insert(&t, 101) == NULL);
	conn_table_free(&t);
}

/* Every session of a table filled to its capacity is found in both directions (many of the
 * index entries were displaced by later inserts). */
static void
test_full_table_every_session_found(void)
{
	enum { N = 200000 };
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, N, 99), 0);
	uint32_t failed = 0;
	for (uint32_t i = 0; i < N; i++)
		if (insert(&t, i) == NULL)
			failed++;
	CHECK_EQ(failed, 0);
	uint32_t missing = 0, live = 0;
	int dir;
	for (uint32_t i = 0; i < N; i++) {
		struct fnat_conn want = { 0 };
		fill(&want, i);
		struct fnat_conn *in = find(&t, &want, FNAT_DIR_IN, &dir);
		if (in == NULL || find(&t, &want, FNAT_DIR_OUT, &dir) != in)
			missing++;
	}
	for (uint32_t p = 0; p < t.hwm; p++)
		live += t.conns[p].proto != 0;
	CHECK_EQ(missing, 0);
	CHECK_EQ(live, N);
	printf("  conn: %u sessions in %zu bytes (%.1f bytes per session)\n", N, t.bytes,
	       (double)t.bytes / N);
	CHECK(t.bytes / N <= 128);
	conn_table_free(&t);
}

/* Inserts and removals mixed at full load: the table and a plain list of what should be in
 * it agree after every step. */
static void
test_churn_at_full_load(void)
{
	enum { N = 4096, ROUNDS = 40000 };
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, N, 3), 0);
	static bool in[4 * N];
	uint32_t n_in = 0, bad = 0;
	uint64_t r = 88172645463325252ull;
	for (uint32_t step = 0; step < ROUNDS; step++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		uint32_t i = (uint32_t)(r % (4 * N));
		int dir;
		struct fnat_conn want = { 0 };
		fill(&want, i);
		struct fnat_conn *c = find(&t, &want, FNAT_DIR_IN, &dir);
		if ((c != NULL) != in[i])
			bad++;
		if (c != NULL) {
			conn_remove(&t, c);
			in[i] = false;
			n_in--;
		} else if (insert(&t, i) != NULL) {
			in[i] = true;
			n_in++;
		} else if (n_in < N) {
			bad++; /* refused below capacity */
		}
	}
	for (uint32_t i = 0; i < 4 * N; i++) {
		struct fnat_conn want = { 0 };
		fill(&want, i);
		int dir;
		struct fnat_conn *c = find(&t, &want, FNAT_DIR_IN, &dir);
		if ((c != NULL) != in[i] || (c != NULL && find(&t, &want, FNAT_DIR_OUT, &dir) != c))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(t.active, n_in);
	conn_table_free(&t);
}

/* An index too small for the sessions (forced on purpose): inserts fail, nothing is lost. */
static void
test_failed_insert_keeps_existing_entries(void)
{
	struct fnat_conn_table t;
	CHECK_EQ(conn_table_init(&t, 64, 5), 0);
	uint32_t mask = t.bucket_mask;
	t.bucket_mask = 0; /* one index bucket of 8 slots for 64 sessions */
	uint32_t ok = 0;
	for (uint32_t i = 0; i < 64; i++) {
		if (insert(&t, i * 7919) == NULL)
			break;
		ok++;
	}
	CHECK(ok >= 1 && ok <= FNAT_BUCKET_SLOTS);
	int dir;
	uint32_t missing = 0, live = 0;
	for (uint32_t i = 0; i < ok; i++) {
		struct fnat_conn want = { 0 };
		fill(&want, i * 7919);
		struct fnat_conn *c = find(&t, &want, FNAT_DIR_IN, &dir);
		if (c == NULL || find(&t, &want, FNAT_DIR_OUT, &dir) != c)
			missing++;
	}
	for (uint32_t p = 0; p < t.hwm; p++)
		live += t.conns[p].proto != 0;
	CHECK_EQ(missing, 0);
	CHECK_EQ(live, ok);
	CHECK_EQ(t.active, ok);
	t.bucket_mask = mask;
	conn_table_free(&t);
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "found from both directions", test_found_from_both_directions },
		{ "capacity is a hard bound", test_capacity_is_a_hard_bound },
		{ "a full table finds every session", test_full_table_every_session_found },
		{ "churn at full load keeps the table exact", test_churn_at_full_load },
		{ "a failed insert keeps existing entries", test_failed_insert_keeps_existing_entries },
	};
	return check_run("conn", cases, sizeof(cases) / sizeof(cases[0]));
}
