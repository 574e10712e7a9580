// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The data plane's exception path on AF_XDP: an XDP program on the node's port that gives the
 * data plane (through its AF_XDP socket) only the frames it owns, and everything else to the
 * kernel, so BIRD (OSPF, BFD), sshd and the node's own traffic keep working on the same port.
 *
 * To the data plane (XDP_REDIRECT into xsks_map at the frame's queue):
 *   - IPv4 to one of its addresses (fnat_addrs: VIPs, LIPs, LIPs it stands by for), whatever
 *     the protocol: TCP/UDP for services and replies from real servers, ICMP to them, session
 *     sync datagrams (sent LIP to LIP), frames a peer forwards;
 *   - UDP to the session-sync port (fnat_xdp_conf), whatever the address;
 *   - ARP whose target is one of its addresses (requests for a VIP/LIP, and the answers to the
 *     data plane's own requests, which it sends from a LIP on this port).
 * Everything else passes: ARP for the node's address, OSPF, BFD, SSH, ping to the node, IPv6.
 * A frame for the data plane on a queue without a socket (the data plane not running) passes
 * too, as on af_packet, where the kernel sees every frame.
 *
 * Built by dataplane/Makefile (clang -target bpf) into build/fnat_xdp.o; DPDK's net_af_xdp PMD
 * loads it (vdev argument xdp_prog=) and puts its sockets into xsks_map; src/xdp_filter.c finds
 * fnat_addrs and fnat_xdp_conf on the interface and fills them at every apply. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fnat_xdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FNAT_XDP_ADDRS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} fnat_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fnat_xdp_conf);
} fnat_xdp_conf SEC(".maps");

/* An Ethernet/IPv4 ARP message (linux/if_arp.h pulls in libc headers, not for BPF). */
struct arp_ipv4 {
	__be16 ar_hrd, ar_pro;
	__u8 ar_hln, ar_pln;
	__be16 ar_op;
	unsigned char sha[ETH_ALEN];
	__be32 sip;
	unsigned char tha[ETH_ALEN];
	__be32 tip;
} __attribute__((packed));

static __always_inline int
ours(__be32 addr)
{
	__u32 key = addr;
	return bpf_map_lookup_elem(&fnat_addrs, &key) != NULL;
}

static __always_inline int
to_dataplane(struct xdp_md *ctx)
{
	/* No socket on this queue: the kernel gets the frame (lower bits = the fallback). */
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int
fnat_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		struct arp_ipv4 *arp = (void *)(eth + 1);
		if ((void *)(arp + 1) > end || arp->ar_pro != bpf_htons(ETH_P_IP) ||
		    arp->ar_hln != ETH_ALEN || arp->ar_pln != 4)
			return XDP_PASS;
		return ours(arp->tip) ? to_dataplane(ctx) : XDP_PASS;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (ours(ip->daddr))
		return to_dataplane(ctx);
	if (ip->protocol != IPPROTO_UDP || ip->ihl < 5)
		return XDP_PASS;
	__u32 zero = 0;
	struct fnat_xdp_conf *conf = bpf_map_lookup_elem(&fnat_xdp_conf, &zero);
	if (conf == NULL || conf->sync_port == 0)
		return XDP_PASS;
	/* Only a first fragment carries the UDP header. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return XDP_PASS;
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	return udp->dest == bpf_htons(conf->sync_port) ? to_dataplane(ctx) : XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
