/* Header lengths and header field helpers of the packet path. The data plane translates IPv4
 * without options only (others are dropped at validation), so an L4 header always starts
 * HDR_IPV4_LEN bytes into the IP header. */
#ifndef FNAT_HDR_H
#define FNAT_HDR_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#define HDR_ETH_LEN ((unsigned)sizeof(struct rte_ether_hdr)) /* 14: no VLAN tag */
#define HDR_IPV4_VERSION 4u
#define HDR_IPV4_LEN 20u       /* IPv4 without options (IHL 5) */
#define HDR_IPV4_VERSION_IHL 0x45 /* version 4, IHL 5: the first byte of a header we write */
#define HDR_IPV4_TTL 64        /* TTL of the packets the data plane makes itself */
#define HDR_TCP_LEN 20u        /* TCP without options */
#define HDR_UDP_LEN 8u
#define HDR_ICMP_LEN 8u        /* type, code, checksum and the 4-byte rest of the header */

/* The IPv4 header's length in bytes (IHL words). */
static inline unsigned
hdr_ipv4_len(const struct rte_ipv4_hdr *ip)
{
	return (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
}

/* The TCP header's length in bytes, options included (the data offset: 4-bit words). */
static inline unsigned
hdr_tcp_len(const struct rte_tcp_hdr *th)
{
	return (th->data_off >> 4) * 4u;
}

/* The data_off byte of a TCP header len bytes long (a multiple of 4). */
static inline uint8_t
hdr_tcp_data_off(unsigned len)
{
	return (uint8_t)((len / 4) << 4);
}

/* The options of a TCP header (hdr_tcp_len() - HDR_TCP_LEN bytes of them). */
static inline uint8_t *
hdr_tcp_opts(const struct rte_tcp_hdr *th)
{
	return (uint8_t *)(uintptr_t)(th + 1);
}

#endif /* FNAT_HDR_H */
