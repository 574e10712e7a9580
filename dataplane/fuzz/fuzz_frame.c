/* Checksums of frames going into the data plane and the well-formedness oracle of frames coming
 * out. Written byte by byte, independently of the data plane's own checksum code, so that an
 * error there is not repeated here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement sum of big-endian 16-bit words (a trailing odd byte is padded). */
static uint32_t
sum16(const uint8_t *p, unsigned len, uint32_t acc)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		acc += get16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t
fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The TCP/UDP pseudo header's sum. */
static uint32_t
pseudo(const uint8_t *ip, uint8_t proto, unsigned l4len)
{
	return sum16(ip + 12, 8, 0) + proto + l4len;
}

/* Where an L4 protocol keeps its checksum, or -1 when the length cannot hold it. */
static int
l4_csum_offset(uint8_t proto, unsigned l4len)
{
	if (proto == 6)
		return l4len >= 20 ? 16 : -1;
	if (proto == 17)
		return l4len >= 8 ? 6 : -1;
	if (proto == 1)
		return l4len >= 4 ? 2 : -1;
	return -1;
}

void
frame_fix_checksums(uint8_t *f, unsigned len)
{
	if (len < 14 + 20 || get16(f + 12) != 0x0800)
		return;
	uint8_t *ip = f + 14;
	unsigned ihl = (ip[0] & 0xfu) * 4;
	if (ihl < 20 || 14 + ihl > len)
		return;
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, ihl, 0)));
	unsigned tot = get16(ip + 2);
	if (tot < ihl || 14 + tot > len)
		return;
	uint8_t *l4 = ip + ihl;
	unsigned l4len = tot - ihl;
	int off = l4_csum_offset(ip[9], l4len);
	if (off < 0)
		return;
	put16(l4 + off, 0);
	uint32_t acc = ip[9] == 1 ? 0 : pseudo(ip, ip[9], l4len);
	uint16_t c = (uint16_t)~fold(sum16(l4, l4len, acc));
	if (ip[9] == 17 && c == 0)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	put16(l4 + off, c);
}

static void
dump(const uint8_t *f, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", f[i], (i % 32 == 31) ? "\n" : "");
	fprintf(stderr, "\n");
}

static void
bad_frame(const uint8_t *f, unsigned len, unsigned pidx, const char *what)
{
	fprintf(stderr, "fnat_fuzz: frame sent on port %u (%u bytes):\n", pidx, len);
	dump(f, len);
	fuzz_fail("the data plane sent a frame with %s", what);
}

void
frame_check_sent(const uint8_t *f, unsigned len, unsigned pidx)
{
	if (len < 14)
		bad_frame(f, len, pidx, "no Ethernet header");
	if (memcmp(f + 6, fuzz_port_mac(pidx), 6) != 0)
		bad_frame(f, len, pidx, "a source MAC that is not its port's");
	if (get16(f + 12) == 0x0806) {
		if (len != 14 + 28)
			bad_frame(f, len, pidx, "an ARP message of the wrong size");
		return;
	}
	if (get16(f + 12) != 0x0800)
		bad_frame(f, len, pidx, "an EtherType other than IPv4 or ARP");
	const uint8_t *ip = f + 14;
	if (len < 14 + 20 || ip[0] != 0x45)
		bad_frame(f, len, pidx, "an IPv4 header that is not 20 bytes of version 4");
	unsigned tot = get16(ip + 2);
	if (14 + tot != len)
		bad_frame(f, len, pidx, "an IPv4 total length that is not the frame's");
	if (fold(sum16(ip, 20, 0)) != 0xffff)
		bad_frame(f, len, pidx, "a bad IPv4 header checksum");
	if (get16(ip + 6) & 0x3fff)
		bad_frame(f, len, pidx, "a fragment");
	if (ip[8] == 0)
		bad_frame(f, len, pidx, "TTL 0");
	uint32_t src, dst;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	if (!fuzz_addr_ours(src) || fuzz_addr_ours(dst))
		bad_frame(f, len, pidx, "a source that is no VIP or LIP, or such a destination");
	const uint8_t *l4 = ip + 20;
	unsigned l4len = tot - 20;
	int off = l4_csum_offset(ip[9], l4len);
	if (off < 0)
		bad_frame(f, len, pidx, "a truncated or unknown L4 header");
	if (ip[9] == 6 && ((l4[12] >> 4) * 4u < 20 || (l4[12] >> 4) * 4u > l4len))
		bad_frame(f, len, pidx, "a bad TCP data offset");
	if (ip[9] == 17 && get16(l4 + 4) != l4len)
		bad_frame(f, len, pidx, "a UDP length that is not the datagram's");
	if (ip[9] == 17 && get16(l4 + 6) == 0)
		return; /* no checksum: the client sent none */
	uint32_t acc = ip[9] == 1 ? 0 : pseudo(ip, ip[9], l4len);
	if (fold(sum16(l4, l4len, acc)) != 0xffff)
		bad_frame(f, len, pidx, "a bad L4 checksum");
}
