/* Per-worker session table: a fixed array of 64-byte sessions and a bucketised cuckoo index
 * that finds a session from either direction (IN: client→VIP, OUT: real server→LIP).
 *
 * Single writer (the owning worker), no locks. Memory is allocated once, bounded by the table's
 * capacity: 64 bytes per session plus 8 bytes per index slot, with 2 entries per session at
 * a load of at most 3/4 (see conn_table_bytes()). Expiry is a sweep over the session array
 * (conn_table_scan), not a timer wheel, so a session needs no timer links.
 */
#ifndef FNAT_CONN_H
#define FNAT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

#include "fnat.h"

/* fnat_conn.flags */
#define FNAT_CONN_F_TOA_PENDING (1u << 0) /* insert TOA until the real server answered */
#define FNAT_CONN_F_CLIENT_FIN (1u << 1)
#define FNAT_CONN_F_RS_FIN (1u << 2)
#define FNAT_CONN_F_SYNPROXY (1u << 3)    /* created by SYNPROXY: sequence numbers shifted */
#define FNAT_CONN_F_SP_WAIT_RS (1u << 4)  /* SYNPROXY: waiting for the real server's SYN-ACK */
#define FNAT_CONN_F_EXPIRE_ON_REMOVE (1u << 5)
#define FNAT_CONN_F_SP_RS_SYNACK (1u << 6) /* SYNPROXY: saw the real server's SYN-ACK */
#define FNAT_CONN_F_ADOPTED (1u << 7)      /* taken over from a peer's record: its LIP port was
					    * never taken from this node's pool */

#define FNAT_CONN_NONE UINT32_MAX

/** One session, exactly one cache line. Addresses network order, ports network order. */
struct fnat_conn {
	uint32_t caddr, vaddr, laddr, raddr;
	uint16_t cport, vport, lport, rport;
	uint32_t seq_delta;  /* added to client sequence numbers towards the real server */
	uint32_t c_seq_end;  /* client's next sequence number (client space) */
	uint32_t c_ack;      /* client's last acknowledgement (real-server space) */
	uint32_t expire;     /* ms tick at which the session expires */
	uint16_t svc_id, rs_id_lo; /* rs_id: see conn_rs_id() */
	uint8_t proto, state, flags, dup_acks;
	uint32_t sp_delta;   /* SYNPROXY: cookie ISN − real server ISN */
	uint32_t ack_hash;   /* SYNPROXY: hash of the last (seq, ack) for ACK-storm detection */
	uint16_t lip_id;
	uint8_t sp_retries;
	uint8_t rs_id_hi;    /* real-server ids have more than 16 bits (FNAT_MAX_REALS) */
	union {
		/* free-list link when free; SYNPROXY pending slot while waiting for the RS */
		uint32_t aux;
		/* SYNPROXY once the real server answered: our SYN-ACK's TSval − the real
		 * server's (0 without timestamps) */
		uint32_t ts_delta;
	};
} __rte_aligned(64);

_Static_assert(sizeof(struct fnat_conn) == 64, "a session is one cache line");
_Static_assert(FNAT_MAX_REALS <= (1u << 24), "a session keeps 24 bits of real-server id");

/** The session's real-server id (its counters' index; stable across snapshots). */
static inline uint32_t
conn_rs_id(const struct fnat_conn *c)
{
	return (uint32_t)c->rs_id_hi << 16 | c->rs_id_lo;
}

static inline void
conn_set_rs_id(struct fnat_conn *c, uint32_t id)
{
	c->rs_id_lo = (uint16_t)id;
	c->rs_id_hi = (uint8_t)(id >> 16);
}

/** Index slot: signature and (session index << 1 | direction). */
struct fnat_slot {
	uint32_t sig;
	uint32_t ref;
};

#define FNAT_BUCKET_SLOTS 8
struct fnat_bucket {
	struct fnat_slot s[FNAT_BUCKET_SLOTS];
} __rte_aligned(64);

enum { FNAT_DIR_IN = 0, FNAT_DIR_OUT = 1 };

/** A lookup key: (src, dst, sport, dport, proto) as seen on the wire. */
struct fnat_key {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};

struct fnat_conn_table {
	struct fnat_conn *conns;
	struct fnat_bucket *buckets;
	uint32_t cap;         /* sessions */
	uint32_t bucket_mask;
	uint32_t free_head;   /* free list through conn.aux */
	uint32_t active;
	uint32_t hwm;         /* highest index ever used + 1 (the sweep's end) */
	uint32_t inserts;     /* sessions indexed so far (wraps): a burst's lookups made before
			       * it changed are stale for keys they did not find */
	uint32_t seed;
	size_t bytes;         /* memory held by the table */
	uint64_t rng;         /* cuckoo victim choice */
};

/** 64-bit hash of a key: low bits pick the bucket, high 32 bits are the signature. */
static inline uint64_t
fnat_key_hash(const struct fnat_key *k, uint32_t seed)
{
	uint64_t a = ((uint64_t)k->src << 32) | k->dst;
	uint32_t p = ((uint32_t)k->sport << 16) | k->dport;
	uint32_t h1 = rte_hash_crc_8byte(a, seed ^ k->proto);
	h1 = rte_hash_crc_4byte(p, h1);
	uint32_t h2 = rte_hash_crc_4byte(h1, seed + 0x9e3779b9u);
	h2 = rte_hash_crc_8byte(a, h2);
	return ((uint64_t)(h2 | 1u) << 32) | h1; /* signature never 0 */
}

/** The key a session is found by in one direction. */
static inline void
fnat_conn_key(const struct fnat_conn *c, int dir, struct fnat_key *k)
{
	if (dir == FNAT_DIR_IN) {
		k->src = c->caddr;
		k->dst = c->vaddr;
		k->sport = c->cport;
		k->dport = c->vport;
	} else {
		k->src = c->raddr;
		k->dst = c->laddr;
		k->sport = c->rport;
		k->dport = c->lport;
	}
	k->proto = c->proto;
}

/** Memory a table of cap sessions takes (sessions and index). */
size_t conn_table_bytes(uint32_t cap);

/** Allocate a table for cap sessions (1 .. 2^31). Returns 0 or -ENOMEM/-EINVAL. */
int conn_table_init(struct fnat_conn_table *t, uint32_t cap, uint32_t seed);
void conn_table_free(struct fnat_conn_table *t);

/** Insert a copy of a filled session, found by both its keys from now on; h_in is the hash of
 * its IN key (the packet path has it). Returns the session in the table, or NULL when the table
 * is full (cap sessions, or no index slot along a bounded displacement path: then nothing
 * changed). */
struct fnat_conn *conn_insert(struct fnat_conn_table *t, const struct fnat_conn *src,
			      uint64_t h_in);

/** Remove a session from the index and give it back to the free list. */
void conn_remove(struct fnat_conn_table *t, struct fnat_conn *c);

/** Find a session by a wire key; *dir receives the direction that matched. */
struct fnat_conn *conn_lookup(const struct fnat_conn_table *t, const struct fnat_key *k,
			      uint64_t hash, int *dir);

/** Prefetch the buckets a key hashes to (before conn_lookup of a burst). */
static inline void
conn_prefetch(const struct fnat_conn_table *t, uint64_t hash)
{
	/* Only the primary bucket: inserts try it first, so at the table's load nearly every
	 * entry is there, and prefetching both would fill the miss queue for little gain. */
	rte_prefetch0(&t->buckets[(uint32_t)hash & t->bucket_mask]);
}

/** The slots of a bucket whose signature is sig, one bit per slot (lowest slot first): four
 * 16-byte compares instead of a loop whose exit branch mispredicts at a random slot. */
static inline uint32_t
conn_bucket_matches(const struct fnat_bucket *b, uint32_t sig)
{
	const __m128i want = _mm_set1_epi32((int)sig);
	const __m128i *v = (const __m128i *)b->s;
	uint32_t m = 0;
	for (int q = 0; q < FNAT_BUCKET_SLOTS / 2; q++) {
		/* Lanes: sig, ref of slot 2q, then of slot 2q + 1; keep the sig lanes. */
		int lanes = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_load_si128(v + q),
									       want)));
		m |= (uint32_t)((lanes & 1) | ((lanes >> 1) & 2)) << (2 * q);
	}
	return m;
}

/** The first session whose signature matches in either bucket (NULL if none), without
 * touching any session: stage two of a burst prefetches it before the key is compared. */
static inline struct fnat_conn *
conn_candidate(const struct fnat_conn_table *t, uint64_t hash, uint32_t *ref_out)
{
	uint32_t sig = (uint32_t)(hash >> 32);
	uint32_t b1 = (uint32_t)hash & t->bucket_mask;
	uint32_t bs[2] = { b1, (b1 ^ (sig * 0x5bd1e995u)) & t->bucket_mask };
	for (int j = 0; j < 2; j++) {
		const struct fnat_bucket *b = &t->buckets[bs[j]];
		for (uint32_t m = conn_bucket_matches(b, sig); m != 0; m &= m - 1) {
			uint32_t ref = b->s[__builtin_ctz(m)].ref;
			if (ref != FNAT_CONN_NONE) { /* an empty slot's sig is all ones too */
				*ref_out = ref;
				return &t->conns[ref >> 1];
			}
		}
	}
	return NULL;
}

/** Whether a session is the one a key names in a direction. */
static inline bool
conn_key_matches(const struct fnat_conn *c, int dir, const struct fnat_key *k)
{
	if (c->proto != k->proto)
		return false;
	if (dir == FNAT_DIR_IN)
		return c->caddr == k->src && c->vaddr == k->dst && c->cport == k->sport &&
		       c->vport == k->dport;
	return c->raddr == k->src && c->laddr == k->dst && c->rport == k->sport &&
	       c->lport == k->dport;
}

static inline uint32_t
conn_index(const struct fnat_conn_table *t, const struct fnat_conn *c)
{
	return (uint32_t)(c - t->conns);
}

#endif /* FNAT_CONN_H */
