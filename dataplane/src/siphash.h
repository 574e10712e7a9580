/* SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit PRF, used for syncookies and for the
 * MAC of sync datagrams. Pure functions; any thread. */
#ifndef FNAT_SIPHASH_H
#define FNAT_SIPHASH_H

#include <stdint.h>
#include <string.h>


#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                           \
	do {                                                                               \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                   \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                       \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                       \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                   \
	} while (0)

/* SipHash's state: init from the key, one compression per 8-byte word, the final block. */
struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline struct sip_state
sip_init(const uint64_t key[2])
{
	return (struct sip_state){ 0x736f6d6570736575ull ^ key[0], 0x646f72616e646f6dull ^ key[1],
				   0x6c7967656e657261ull ^ key[0], 0x7465646279746573ull ^ key[1] };
}

static inline void
sip_word(struct sip_state *s, uint64_t m)
{
	uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;
	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	*s = (struct sip_state){ v0, v1, v2, v3 };
}

/* The last block (`b`: the message length in its top byte, the tail bytes below) and the
 * four finalisation rounds. */
static inline uint64_t
sip_finish(struct sip_state *s, uint64_t b)
{
	sip_word(s, b);
	uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2 ^ 0xff, v3 = s->v3;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Over n 64-bit words (syncookies). */
static inline uint64_t
siphash24(const uint64_t key[2], const uint64_t *m, unsigned n)
{
	struct sip_state s = sip_init(key);
	for (unsigned i = 0; i < n; i++)
		sip_word(&s, m[i]);
	return sip_finish(&s, (uint64_t)(n * 8) << 56);
}

/* Over bytes (sync datagrams): little-endian words, the tail zero-padded into the last block
 * with the byte length, so messages of different lengths never collide. */
static inline uint64_t
siphash24_bytes(const uint64_t key[2], const uint8_t *p, size_t len)
{
	struct sip_state s = sip_init(key);
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m;
		memcpy(&m, p + i, 8);
		sip_word(&s, m);
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = full; i < len; i++)
		b |= (uint64_t)p[i] << (8 * (i - full));
	return sip_finish(&s, b);
}

#endif /* FNAT_SIPHASH_H */
