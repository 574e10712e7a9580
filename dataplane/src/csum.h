/* Incremental Internet checksum updates (RFC 1624) on 16-bit words in memory order, so values
 * are passed exactly as they sit in the packet (network order) and no byte swapping is needed. */
#ifndef FNAT_CSUM_H
#define FNAT_CSUM_H

#include <stdint.h>
#include <string.h>

#include <rte_ip.h>

static inline uint16_t
csum_fold32(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Several field changes gathered into one sum (~old + new for each, RFC 1624 eqn. 3) and
 * applied to a checksum with one fold: one's-complement addition is the same over 16- and
 * 32-bit words (2^16 and 2^32 are both 1 modulo 2^16 - 1), so 32-bit fields go in whole. */
static inline uint64_t
csum_delta16(uint64_t acc, uint16_t old, uint16_t new)
{
	return acc + (uint16_t)~old + new;
}

static inline uint64_t
csum_delta32(uint64_t acc, uint32_t old, uint32_t new)
{
	return acc + (uint32_t)~old + new;
}

/* HC' = ~(~HC + sum of the deltas). */
static inline void
csum_apply(void *csum, uint64_t acc)
{
	uint16_t c;
	memcpy(&c, csum, 2);
	acc += (uint16_t)~c;
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	c = (uint16_t)~csum_fold32((uint32_t)acc);
	memcpy(csum, &c, 2);
}

/* HC' = ~(~HC + ~m + m') for a 16-bit field. */
static inline void
csum_replace2(void *csum, uint16_t old, uint16_t new)
{
	uint16_t c;
	memcpy(&c, csum, 2);
	uint32_t sum = (uint16_t)~c;
	sum += (uint16_t)~old;
	sum += new;
	c = (uint16_t)~csum_fold32(sum);
	memcpy(csum, &c, 2);
}

/* The same for a 32-bit field (two words in memory order). */
static inline void
csum_replace4(void *csum, uint32_t old, uint32_t new)
{
	uint16_t c;
	memcpy(&c, csum, 2);
	uint32_t sum = (uint16_t)~c;
	sum += (uint16_t)~(old & 0xffff);
	sum += (uint16_t)~(old >> 16);
	sum += new & 0xffff;
	sum += new >> 16;
	c = (uint16_t)~csum_fold32(sum);
	memcpy(csum, &c, 2);
}

/* A UDP checksum of 0 means "none": an update that lands on 0 is sent as 0xffff. */
static inline void
csum_udp_fix(void *csum)
{
	uint16_t c;
	memcpy(&c, csum, 2);
	if (c == 0) {
		c = 0xffff;
		memcpy(csum, &c, 2);
	}
}

/* Verifies a TCP/UDP checksum including the IPv4 pseudo header. */
static inline int
csum_l4_ok(const void *ip_hdr, const void *l4, unsigned l4len)
{
	uint32_t sum = rte_raw_cksum(l4, l4len);
	sum += rte_ipv4_phdr_cksum((const struct rte_ipv4_hdr *)ip_hdr, 0);
	return csum_fold32(sum) == 0xffff;
}

#endif /* FNAT_CSUM_H */
