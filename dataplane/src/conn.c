/* Per-worker session table: see conn.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "conn.h"

/* Index slots per session: two entries at a load of at most 3/4. */
static uint32_t
table_buckets(uint32_t cap)
{
	uint64_t slots = (uint64_t)cap * 8 / 3 + FNAT_BUCKET_SLOTS;
	uint64_t buckets = (slots + FNAT_BUCKET_SLOTS - 1) / FNAT_BUCKET_SLOTS;
	return (uint32_t)rte_align64pow2(buckets < 2 ? 2 : buckets);
}

size_t
conn_table_bytes(uint32_t cap)
{
	return (size_t)cap * sizeof(struct fnat_conn) +
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
	if (cap == 0 || cap > (1u << 31))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	uint32_t nb = table_buckets(cap);
	t->conns = big_alloc((size_t)cap * sizeof(struct fnat_conn));
	t->buckets = big_alloc((size_t)nb * sizeof(struct fnat_bucket));
	if (t->conns == NULL || t->buckets == NULL) {
		conn_table_free(t);
		return -ENOMEM;
	}
	/* Empty slots have ref = FNAT_CONN_NONE: 0xff bytes. Sessions are zero (state NONE) and
	 * enter the free list lazily (hwm): creating the table walks no session. */
	memset(t->buckets, 0xff, (size_t)nb * sizeof(struct fnat_bucket));
	t->cap = cap;
	t->bucket_mask = nb - 1;
	t->free_head = FNAT_CONN_NONE;
	t->seed = seed;
	t->rng = 0x2545f4914f6cdd1dull ^ seed;
	t->bytes = conn_table_bytes(cap);
	return 0;
}

void
conn_table_free(struct fnat_conn_table *t)
{
	if (t->conns != NULL)
		munmap(t->conns, (size_t)t->cap * sizeof(struct fnat_conn));
	if (t->buckets != NULL)
		munmap(t->buckets, (size_t)(t->bucket_mask + 1) * sizeof(struct fnat_bucket));
	t->conns = NULL;
	t->buckets = NULL;
}

/* A free session slot (the free list first, then never-used ones), or NULL when all are taken. */
static struct fnat_conn *
slot_take(struct fnat_conn_table *t)
{
	struct fnat_conn *c;
	if (t->free_head != FNAT_CONN_NONE) {
		c = &t->conns[t->free_head];
		t->free_head = c->aux;
	} else if (t->hwm < t->cap) {
		c = &t->conns[t->hwm++];
	} else {
		return NULL;
	}
	t->active++;
	return c;
}

/* Give a slot back to the free list. */
static void
slot_give(struct fnat_conn_table *t, struct fnat_conn *c)
{
	c->state = 0;
	c->proto = 0;
	c->aux = t->free_head;
	t->free_head = conn_index(t, c);
	t->active--;
}

static inline uint32_t
alt_bucket(const struct fnat_conn_table *t, uint32_t b, uint32_t sig)
{
	return (b ^ (sig * 0x5bd1e995u)) & t->bucket_mask;
}

static int
bucket_free_slot(const struct fnat_bucket *b)
{
	for (int i = 0; i < FNAT_BUCKET_SLOTS; i++)
		if (b->s[i].ref == FNAT_CONN_NONE)
			return i;
	return -1;
}

/* Insert (sig, ref) into one of its two buckets, displacing entries to their alternate bucket
 * along a bounded random walk when both are full (cuckoo hashing). A walk that gives up is
 * undone step by step, so a failed insert never loses an existing entry. */
#define CUCKOO_STEPS 64
static int
index_add(struct fnat_conn_table *t, uint64_t hash, uint32_t ref)
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
			t->buckets[b].s[i].ref = ref;
			return 0;
		}
		/* Both full: evict a random entry of b; it moves on to its alternate bucket. */
		t->rng ^= t->rng << 13;
		t->rng ^= t->rng >> 7;
		t->rng ^= t->rng << 17;
		int v = (int)(t->rng % FNAT_BUCKET_SLOTS);
		struct fnat_slot victim = t->buckets[b].s[v];
		t->buckets[b].s[v].sig = sig;
		t->buckets[b].s[v].ref = ref;
		path[step].b = b;
		path[step].i = v;
		sig = victim.sig;
		ref = victim.ref;
		b = alt_bucket(t, b, sig);
	}
	/* Undo: each slot on the path gets back the entry it held; (sig, ref) carried at the
	 * end is exactly the entry evicted by the last step. */
	for (int step = CUCKOO_STEPS - 1; step >= 0; step--) {
		struct fnat_slot *s = &t->buckets[path[step].b].s[path[step].i];
		struct fnat_slot cur = *s;
		s->sig = sig;
		s->ref = ref;
		sig = cur.sig;
		ref = cur.ref;
	}
	return -ENOSPC;
}

static void
index_del(struct fnat_conn_table *t, uint64_t hash, uint32_t ref)
{
	uint32_t sig = (uint32_t)(hash >> 32);
	uint32_t b1 = (uint32_t)hash & t->bucket_mask;
	uint32_t bs[2] = { b1, alt_bucket(t, b1, sig) };
	for (int j = 0; j < 2; j++) {
		struct fnat_bucket *b = &t->buckets[bs[j]];
		for (int i = 0; i < FNAT_BUCKET_SLOTS; i++) {
			if (b->s[i].ref == ref) {
				b->s[i].ref = FNAT_CONN_NONE;
				b->s[i].sig = UINT32_MAX;
				return;
			}
		}
	}
}

struct fnat_conn *
conn_insert(struct fnat_conn_table *t, const struct fnat_conn *src, uint64_t h_in)
{
	struct fnat_conn *c = slot_take(t);
	if (c == NULL)
		return NULL;
	*c = *src;
	struct fnat_key k;
	uint32_t idx = conn_index(t, c);
	fnat_conn_key(c, FNAT_DIR_OUT, &k);
	uint64_t h_out = fnat_key_hash(&k, t->seed);
	if (index_add(t, h_in, idx << 1 | FNAT_DIR_IN) < 0) {
		slot_give(t, c);
		return NULL;
	}
	if (index_add(t, h_out, idx << 1 | FNAT_DIR_OUT) < 0) {
		index_del(t, h_in, idx << 1 | FNAT_DIR_IN);
		slot_give(t, c);
		return NULL;
	}
	t->inserts++;
	return c;
}

void
conn_remove(struct fnat_conn_table *t, struct fnat_conn *c)
{
	struct fnat_key k;
	uint32_t idx = conn_index(t, c);
	fnat_conn_key(c, FNAT_DIR_IN, &k);
	index_del(t, fnat_key_hash(&k, t->seed), idx << 1 | FNAT_DIR_IN);
	fnat_conn_key(c, FNAT_DIR_OUT, &k);
	index_del(t, fnat_key_hash(&k, t->seed), idx << 1 | FNAT_DIR_OUT);
	slot_give(t, c);
}

struct fnat_conn *
conn_lookup(const struct fnat_conn_table *t, const struct fnat_key *k, uint64_t hash, int *dir)
{
	uint32_t sig = (uint32_t)(hash >> 32);
	uint32_t b1 = (uint32_t)hash & t->bucket_mask;
	uint32_t bs[2] = { b1, alt_bucket(t, b1, sig) };
	for (int j = 0; j < 2; j++) {
		const struct fnat_bucket *b = &t->buckets[bs[j]];
		for (uint32_t m = conn_bucket_matches(b, sig); m != 0; m &= m - 1) {
			uint32_t ref = b->s[__builtin_ctz(m)].ref;
			if (ref == FNAT_CONN_NONE)
				continue;
			struct fnat_conn *c = &t->conns[ref >> 1];
			if (conn_key_matches(c, (int)(ref & 1), k)) {
				*dir = (int)(ref & 1);
				return c;
			}
		}
	}
	return NULL;
}
