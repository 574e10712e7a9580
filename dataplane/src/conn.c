/* Per-worker session table: see conn.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "conn.h"

/* Homes for cap sessions: the table is full at cap sessions, a load of at most 4/5 of the home
 * slots, where two-choice cuckoo with two slots per bucket still places nearly every insert
 * on a short path (its threshold is near 0.9). */
#define HOME_LOAD_NUM 4
#define HOME_LOAD_DEN 5

static uint32_t
table_homes(uint32_t cap)
{
	uint64_t slots = ((uint64_t)cap * HOME_LOAD_DEN + HOME_LOAD_NUM - 1) / HOME_LOAD_NUM;
	uint64_t homes = (slots + FNAT_HOME_CONNS - 1) / FNAT_HOME_CONNS;
	return (uint32_t)(homes < 2 ? 2 : homes);
}

/* Server-side index buckets: one entry per session at a load of at most 3/4. */
static uint32_t
table_buckets(uint32_t cap)
{
	uint64_t slots = (uint64_t)cap * 4 / 3 + FNAT_BUCKET_SLOTS;
	uint64_t buckets = (slots + FNAT_BUCKET_SLOTS - 1) / FNAT_BUCKET_SLOTS;
	return (uint32_t)rte_align64pow2(buckets < 2 ? 2 : buckets);
}

size_t
conn_table_bytes(uint32_t cap)
{
	return (size_t)table_homes(cap) * FNAT_HOME_CONNS * sizeof(struct fnat_conn) +
	       (size_t)table_buckets(cap) * sizeof(struct fnat_bucket);
}

/* Big anonymous mappings: not DMA memory, so not from the EAL's (possibly small) heap. Huge
 * pages are asked for when transparent ones are available. */
static void *
big_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	/* Fault it all in now (the memory is the configured bound anyway): no page faults and
	 * page clearing on the packet path later. */
	(void)madvise(p, bytes, MADV_POPULATE_WRITE);
	return p;
}

int
conn_table_init(struct fnat_conn_table *t, uint32_t cap, uint32_t seed)
{
	if (cap == 0 || cap > (1u << 30))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	uint32_t homes = table_homes(cap);
	uint32_t nb = table_buckets(cap);
	t->conns = big_alloc((size_t)homes * FNAT_HOME_CONNS * sizeof(struct fnat_conn));
	t->buckets = big_alloc((size_t)nb * sizeof(struct fnat_bucket));
	t->homes = homes;
	t->slots = homes * FNAT_HOME_CONNS;
	t->bucket_mask = nb - 1;
	if (t->conns == NULL || t->buckets == NULL) {
		conn_table_free(t);
		return -ENOMEM;
	}
	/* Empty index slots have pos = FNAT_CONN_NONE: 0xff bytes. Free sessions are zero
	 * (proto 0): the fresh mapping already is. */
	memset(t->buckets, 0xff, (size_t)nb * sizeof(struct fnat_bucket));
	t->cap = cap;
	t->seed = seed;
	t->rng = 0x2545f4914f6cdd1dull ^ seed;
	t->bytes = conn_table_bytes(cap);
	return 0;
}

void
conn_table_free(struct fnat_conn_table *t)
{
	if (t->conns != NULL)
		munmap(t->conns, (size_t)t->slots * sizeof(struct fnat_conn));
	if (t->buckets != NULL)
		munmap(t->buckets, (size_t)(t->bucket_mask + 1) * sizeof(struct fnat_bucket));
	t->conns = NULL;
	t->buckets = NULL;
}

static inline uint64_t
hash_of(const struct fnat_conn_table *t, const struct fnat_conn *c, int dir)
{
	struct fnat_key k;
	fnat_conn_key(c, dir, &k);
	return fnat_key_hash(&k, t->seed);
}

static inline uint32_t
rng_next(struct fnat_conn_table *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return (uint32_t)t->rng;
}

/* ---- the server-side index ---- */

static inline uint32_t
alt_bucket(const struct fnat_conn_table *t, uint32_t b, uint32_t sig)
{
	return (b ^ (sig * 0x5bd1e995u)) & t->bucket_mask;
}

static int
bucket_free_slot(const struct fnat_bucket *b)
{
	for (int i = 0; i < FNAT_BUCKET_SLOTS; i++)
		if (b->s[i].pos == FNAT_CONN_NONE)
			return i;
	return -1;
}

/* Insert (sig, pos) into one of its two buckets, displacing entries to their alternate bucket
 * along a bounded random walk when both are full (cuckoo hashing). A walk that gives up is
 * undone step by step, so a failed insert never loses an existing entry. */
#define CUCKOO_STEPS 64
static int
index_add(struct fnat_conn_table *t, uint64_t hash, uint32_t pos)
{
	struct {
		uint32_t b;
		int i;
	} path[CUCKOO_STEPS];
	uint32_t sig = (uint32_t)(hash >> 32);
	uint32_t b = (uint32_t)hash & t->bucket_mask;
	for (int step = 0; step < CUCKOO_STEPS; step++) {
		uint32_t b2 = alt_bucket(t, b, sig);
		int i = bucket_free_slot(&t->buckets[b]);
		if (i < 0) {
			i = bucket_free_slot(&t->buckets[b2]);
			if (i >= 0)
				b = b2;
		}
		if (i >= 0) {
			t->buckets[b].s[i].sig = sig;
			t->buckets[b].s[i].pos = pos;
			return 0;
		}
		/* Both full: evict a random entry of b; it moves on to its alternate bucket. */
		int v = (int)(rng_next(t) % FNAT_BUCKET_SLOTS);
		struct fnat_slot victim = t->buckets[b].s[v];
		t->buckets[b].s[v].sig = sig;
		t->buckets[b].s[v].pos = pos;
		path[step].b = b;
		path[step].i = v;
		sig = victim.sig;
		pos = victim.pos;
		b = alt_bucket(t, b, sig);
	}
	/* Undo: each slot on the path gets back the entry it held; (sig, pos) carried at the
	 * end is exactly the entry evicted by the last step. */
	for (int step = CUCKOO_STEPS - 1; step >= 0; step--) {
		struct fnat_slot *s = &t->buckets[path[step].b].s[path[step].i];
		struct fnat_slot cur = *s;
		s->sig = sig;
		s->pos = pos;
		sig = cur.sig;
		pos = cur.pos;
	}
	return -ENOSPC;
}

/* The index slot that holds pos for a hash, or NULL. */
static struct fnat_slot *
index_slot(struct fnat_conn_table *t, uint64_t hash, uint32_t pos)
{
	uint32_t sig = (uint32_t)(hash >> 32);
	uint32_t b1 = (uint32_t)hash & t->bucket_mask;
	uint32_t bs[2] = { b1, alt_bucket(t, b1, sig) };
	for (int j = 0; j < 2; j++) {
		struct fnat_bucket *b = &t->buckets[bs[j]];
		for (int i = 0; i < FNAT_BUCKET_SLOTS; i++)
			if (b->s[i].pos == pos && b->s[i].sig == sig)
				return &b->s[i];
	}
	return NULL;
}

/* ---- homes ---- */

static inline bool
slot_free(const struct fnat_conn_table *t, uint32_t pos)
{
	return t->conns[pos].proto == 0;
}

/* The home a session at pos does not live in (its other choice). */
static uint32_t
other_home(const struct fnat_conn_table *t, uint32_t pos)
{
	uint32_t home[2];
	conn_homes(t, hash_of(t, &t->conns[pos], FNAT_DIR_IN), home);
	return home[0] == pos / FNAT_HOME_CONNS ? home[1] : home[0];
}

static int
home_free_slot(const struct fnat_conn_table *t, uint32_t home)
{
	for (int i = 0; i < FNAT_HOME_CONNS; i++)
		if (slot_free(t, home * FNAT_HOME_CONNS + (uint32_t)i))
			return (int)(home * FNAT_HOME_CONNS + (uint32_t)i);
	return -1;
}

/* Move the session at from into the free slot to; its index entry follows it. */
static void
move_session(struct fnat_conn_table *t, uint32_t from, uint32_t to)
{
	struct fnat_slot *s = index_slot(t, hash_of(t, &t->conns[from], FNAT_DIR_OUT), from);
	t->conns[to] = t->conns[from];
	t->conns[from].proto = 0;
	t->conns[from].state = 0;
	if (s != NULL)
		s->pos = to;
}

/* A free slot in one of the homes, made by moving sessions to their other home when both are
 * full: a breadth-first search over homes (each reached once) for the shortest chain of moves
 * that ends in a free slot, carried out from its free end, so a search that finds no room
 * changes nothing. Returns the slot or -1. */
#define ROOM_SEARCH_HOMES 512
static int
make_room(struct fnat_conn_table *t, const uint32_t home[2])
{
	for (int j = 0; j < 2; j++) {
		int pos = home_free_slot(t, home[j]);
		if (pos >= 0)
			return pos;
	}
	struct {
		uint32_t home;
		uint32_t from;   /* the slot whose session would move into this home */
		int32_t parent;  /* the queue entry holding that slot's home; -1 for a root */
	} q[ROOM_SEARCH_HOMES];
	uint32_t n = 0;
	for (int j = 0; j < 2; j++)
		q[n++] = (typeof(q[0])){ home[j], FNAT_CONN_NONE, -1 };
	for (uint32_t e = 0; e < n; e++) {
		for (uint32_t i = 0; i < FNAT_HOME_CONNS; i++) {
			uint32_t v = q[e].home * FNAT_HOME_CONNS + i;
			uint32_t next = other_home(t, v);
			int room = home_free_slot(t, next);
			if (room >= 0) {
				/* Carry it out: v to the free slot, then each parent's slot into
				 * the one just vacated, back to a root home. */
				move_session(t, v, (uint32_t)room);
				uint32_t hole = v;
				for (int32_t a = (int32_t)e; q[a].parent >= 0; a = q[a].parent) {
					move_session(t, q[a].from, hole);
					hole = q[a].from;
				}
				return (int)hole;
			}
			bool seen = false;
			for (uint32_t s = 0; s < n && !seen; s++)
				seen = q[s].home == next;
			if (!seen && n < ROOM_SEARCH_HOMES)
				q[n++] = (typeof(q[0])){ next, v, (int32_t)e };
		}
	}
	return -1;
}

struct fnat_conn *
conn_insert(struct fnat_conn_table *t, const struct fnat_conn *src, uint64_t h_in)
{
	if (t->active >= t->cap)
		return NULL;
	uint32_t home[2];
	conn_homes(t, h_in, home);
	int pos = make_room(t, home);
	if (pos < 0)
		return NULL;
	struct fnat_conn *c = &t->conns[pos];
	*c = *src;
	if (index_add(t, hash_of(t, c, FNAT_DIR_OUT), (uint32_t)pos) < 0) {
		c->proto = 0;
		c->state = 0;
		return NULL;
	}
	t->active++;
	t->inserts++;
	return c;
}

void
conn_remove(struct fnat_conn_table *t, struct fnat_conn *c)
{
	uint32_t pos = (uint32_t)(c - t->conns);
	struct fnat_slot *s = index_slot(t, hash_of(t, c, FNAT_DIR_OUT), pos);
	if (s != NULL) {
		s->pos = FNAT_CONN_NONE;
		s->sig = UINT32_MAX;
	}
	c->proto = 0;
	c->state = 0;
	t->active--;
}

struct fnat_conn *
conn_find(const struct fnat_conn_table *t, const struct fnat_key *k, uint64_t hash, int dir)
{
	if (dir == FNAT_DIR_IN) {
		uint32_t home[2];
		conn_homes(t, hash, home);
		for (int j = 0; j < 2; j++)
			for (uint32_t i = 0; i < FNAT_HOME_CONNS; i++) {
				struct fnat_conn *c = &t->conns[home[j] * FNAT_HOME_CONNS + i];
				if (conn_key_matches(c, FNAT_DIR_IN, k))
					return c;
			}
		return NULL;
	}
	uint32_t sig = (uint32_t)(hash >> 32);
	uint32_t b1 = (uint32_t)hash & t->bucket_mask;
	uint32_t bs[2] = { b1, alt_bucket(t, b1, sig) };
	for (int j = 0; j < 2; j++) {
		const struct fnat_bucket *b = &t->buckets[bs[j]];
		for (int i = 0; i < FNAT_BUCKET_SLOTS; i++) {
			if (b->s[i].sig != sig || b->s[i].pos == FNAT_CONN_NONE)
				continue;
			struct fnat_conn *c = &t->conns[b->s[i].pos];
			if (conn_key_matches(c, FNAT_DIR_OUT, k))
				return c;
		}
	}
	return NULL;
}

struct fnat_conn *
conn_lookup(const struct fnat_conn_table *t, const struct fnat_key *k, uint64_t hash, int *dir)
{
	for (int d = FNAT_DIR_IN; d <= FNAT_DIR_OUT; d++) {
		struct fnat_conn *c = conn_find(t, k, hash, d);
		if (c != NULL) {
			*dir = d;
			return c;
		}
	}
	return NULL;
}
