/* The XDP filter program (build/fnat_xdp.o) run on frames with BPF_PROG_TEST_RUN: what it gives
 * the data plane (XDP_REDIRECT into its AF_XDP socket) and what it leaves to the kernel
 * (XDP_PASS). The program is loaded with libbpf as DPDK loads it; its address map is filled as
 * xdp_filter.c fills it; a real AF_XDP socket (on lo of a private network namespace, so runs in
 * parallel do not share a queue) sits in xsks_map, so a redirect is a real one.
 * Needs root (BPF, AF_XDP, unshare). */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "check.h"
#include "fnat_xdp.h"

#define NODE "10.0.0.11"
#define VIP "10.0.100.1"
#define LIP "10.0.200.1"
#define PEER "10.0.0.12"
#define SYNC_PORT 1000

static int prog_fd = -1, addrs_fd = -1, conf_fd = -1, xsks_fd = -1, lo_index;
static struct xsk_socket *xsk;
static struct xsk_umem *umem;
static struct bpf_object *obj;
static void *umem_area;
static struct xsk_ring_prod fq, txr;
static struct xsk_ring_cons cq, rxr;

static uint32_t
ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* ---- frames ---- */

struct frame {
	uint8_t b[128];
	uint32_t len;
};

static size_t
eth(uint8_t *b, uint16_t type)
{
	memset(b, 0xff, 6);
	const uint8_t src[6] = { 2, 0, 0, 0, 0, 1 };
	memcpy(b + 6, src, 6);
	b[12] = (uint8_t)(type >> 8);
	b[13] = (uint8_t)type;
	return 14;
}

static struct frame
arp(uint16_t op, const char *sip, const char *tip)
{
	struct frame f = { { 0 }, 0 };
	size_t o = eth(f.b, ETH_P_ARP);
	uint8_t *a = f.b + o;
	a[0] = 0, a[1] = 1;       /* Ethernet */
	a[2] = 0x08, a[3] = 0x00; /* IPv4 */
	a[4] = 6, a[5] = 4;
	a[6] = 0, a[7] = (uint8_t)op;
	const uint8_t sha[6] = { 2, 0, 0, 0, 0, 1 };
	memcpy(a + 8, sha, 6);
	uint32_t s = ip(sip), t = ip(tip);
	memcpy(a + 14, &s, 4);
	memcpy(a + 24, &t, 4);
	f.len = (uint32_t)(o + 28 + 18); /* padded to the Ethernet minimum */
	return f;
}

/* IPv4 with `proto`; for TCP/UDP, the ports at the start of the payload. */
static struct frame
ipv4(uint8_t proto, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct frame f = { { 0 }, 0 };
	size_t o = eth(f.b, ETH_P_IP);
	uint8_t *h = f.b + o;
	h[0] = 0x45;
	h[3] = 48;
	h[8] = 64;
	h[9] = proto;
	uint32_t s = ip(src), d = ip(dst);
	memcpy(h + 12, &s, 4);
	memcpy(h + 16, &d, 4);
	uint8_t *l4 = h + 20;
	l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
	if (proto == IPPROTO_TCP)
		l4[12] = 0x50, l4[13] = 0x02; /* SYN */
	if (proto == IPPROTO_UDP)
		l4[5] = 8 + 20;
	f.len = (uint32_t)(o + 48);
	return f;
}

static int
verdict(struct frame f)
{
	struct xdp_md ctx = { .data_end = f.len, .ingress_ifindex = (uint32_t)lo_index };
	uint8_t out[sizeof(f.b)];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.b, .data_size_in = f.len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int rc = bpf_prog_test_run_opts(prog_fd, &opts);
	if (rc != 0) {
		fprintf(stderr, "  bpf_prog_test_run_opts: %s\n", strerror(-rc));
		return -1;
	}
	return (int)opts.retval;
}

/* ---- set-up: the program as DPDK loads it, the maps as xdp_filter.c fills them ---- */

static void
die(const char *what)
{
	fprintf(stderr, "xdp_filter: cannot set up (%s): %s\n", what, strerror(errno));
	printf("xdp_filter: 0 passed, 1 failed\n");
	exit(1);
}

static void
setup(void)
{
	/* A private network namespace: its lo (up) carries the AF_XDP socket. */
	if (syscall(SYS_unshare, CLONE_NEWNET) != 0) /* DPDK's flags hide unshare() */
		die("unshare(CLONE_NEWNET)");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP;
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		die("lo up");
	close(s);
	lo_index = (int)if_nametoindex("lo");

	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		die("readlink");
	exe[n] = '\0';
	/* build/tests/x or build-asan/tests/x: the program is build/fnat_xdp.o */
	snprintf(path, sizeof(path), "%s/../../build/fnat_xdp.o", dirname(exe));
	obj = bpf_object__open_file(path, NULL);
	if (obj == NULL || bpf_object__load(obj) != 0)
		die(path);
	struct bpf_program *prog = bpf_object__next_program(obj, NULL); /* as DPDK: the first */
	prog_fd = prog ? bpf_program__fd(prog) : -1;
	xsks_fd = bpf_object__find_map_fd_by_name(obj, FNAT_XDP_XSKS_MAP);
	addrs_fd = bpf_object__find_map_fd_by_name(obj, FNAT_XDP_ADDRS_MAP);
	conf_fd = bpf_object__find_map_fd_by_name(obj, FNAT_XDP_CONF_MAP);
	if (prog_fd < 0 || xsks_fd < 0 || addrs_fd < 0 || conf_fd < 0)
		die("program or maps missing");

	size_t size = 4096 * 2048;
	umem_area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem_area == MAP_FAILED || xsk_umem__create(&umem, umem_area, size, &fq, &cq, NULL))
		die("umem");
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libbpf_flags = XSK_LIBBPF_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	int rc = xsk_socket__create(&xsk, "lo", 0, umem, &rxr, &txr, &cfg);
	if (rc != 0) {
		errno = -rc;
		die("AF_XDP socket on lo");
	}
	uint32_t q = 0;
	int fd = xsk_socket__fd(xsk);
	if (bpf_map_update_elem(xsks_fd, &q, &fd, BPF_ANY) != 0)
		die("xsks_map");

	const char *addrs[] = { VIP, LIP };
	uint32_t kinds[] = { FNAT_XDP_ADDR_VIP, FNAT_XDP_ADDR_LIP };
	for (int i = 0; i < 2; i++) {
		uint32_t a = ip(addrs[i]);
		if (bpf_map_update_elem(addrs_fd, &a, &kinds[i], BPF_ANY) != 0)
			die("fnat_addrs");
	}
	struct fnat_xdp_conf c = { .sync_port = SYNC_PORT };
	uint32_t zero = 0;
	if (bpf_map_update_elem(conf_fd, &zero, &c, BPF_ANY) != 0)
		die("fnat_xdp_conf");
}

/* ---- cases ---- */

static void
test_arp(void)
{
	CHECK_EQ(verdict(arp(1, PEER, NODE)), XDP_PASS);     /* who-has the node: the kernel's */
	CHECK_EQ(verdict(arp(2, PEER, NODE)), XDP_PASS);     /* an answer to the kernel */
	CHECK_EQ(verdict(arp(1, PEER, VIP)), XDP_REDIRECT);  /* who-has a VIP */
	CHECK_EQ(verdict(arp(1, PEER, LIP)), XDP_REDIRECT);  /* who-has a LIP */
	CHECK_EQ(verdict(arp(2, PEER, LIP)), XDP_REDIRECT);  /* an answer to the data plane */
	struct frame short_arp = arp(1, PEER, VIP);
	short_arp.len = 14 + 20;                              /* cut before the target address */
	CHECK_EQ(verdict(short_arp), XDP_PASS);
}

static void
test_vip_and_lip_traffic(void)
{
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "192.0.2.7", VIP, 40000, 80)), XDP_REDIRECT);
	CHECK_EQ(verdict(ipv4(IPPROTO_UDP, "192.0.2.7", VIP, 40000, 53)), XDP_REDIRECT);
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "10.0.0.101", LIP, 80, 5000)), XDP_REDIRECT);
	CHECK_EQ(verdict(ipv4(IPPROTO_ICMP, "10.0.0.101", LIP, 0x0800, 0)), XDP_REDIRECT);
}

static void
test_kernel_traffic(void)
{
	/* OSPF hello (protocol 89 to AllSPFRouters) and unicast OSPF to the node */
	CHECK_EQ(verdict(ipv4(89, "10.0.0.1", "224.0.0.5", 0, 0)), XDP_PASS);
	CHECK_EQ(verdict(ipv4(89, "10.0.0.1", NODE, 0, 0)), XDP_PASS);
	CHECK_EQ(verdict(ipv4(IPPROTO_UDP, "10.0.0.1", NODE, 49152, 3784)), XDP_PASS); /* BFD */
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "10.0.0.1", NODE, 50000, 22)), XDP_PASS);   /* SSH */
	CHECK_EQ(verdict(ipv4(IPPROTO_ICMP, "10.0.0.1", NODE, 0x0800, 0)), XDP_PASS);  /* ping */
	struct frame v6 = ipv4(IPPROTO_TCP, "10.0.0.1", NODE, 1, 2);
	v6.b[12] = 0x86, v6.b[13] = 0xdd;
	CHECK_EQ(verdict(v6), XDP_PASS);
}

static void
test_sync_port(void)
{
	CHECK_EQ(verdict(ipv4(IPPROTO_UDP, PEER, NODE, SYNC_PORT, SYNC_PORT)), XDP_REDIRECT);
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, PEER, NODE, 40000, SYNC_PORT)), XDP_PASS);
	struct fnat_xdp_conf off = { .sync_port = 0 };
	uint32_t zero = 0;
	bpf_map_update_elem(conf_fd, &zero, &off, BPF_ANY);
	CHECK_EQ(verdict(ipv4(IPPROTO_UDP, PEER, NODE, SYNC_PORT, SYNC_PORT)), XDP_PASS);
	struct fnat_xdp_conf on = { .sync_port = SYNC_PORT };
	bpf_map_update_elem(conf_fd, &zero, &on, BPF_ANY);
}

static void
test_the_map_decides(void)
{
	uint32_t vip = ip(VIP), kind = FNAT_XDP_ADDR_VIP;
	CHECK_EQ(bpf_map_delete_elem(addrs_fd, &vip), 0);
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "192.0.2.7", VIP, 40000, 80)), XDP_PASS);
	CHECK_EQ(verdict(arp(1, PEER, VIP)), XDP_PASS);
	CHECK_EQ(bpf_map_update_elem(addrs_fd, &vip, &kind, BPF_ANY), 0);
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "192.0.2.7", VIP, 40000, 80)), XDP_REDIRECT);
}

static void
test_no_socket_passes(void)
{
	/* The data plane not running (no socket on the queue): the kernel gets its frames. */
	uint32_t q = 0;
	CHECK_EQ(bpf_map_delete_elem(xsks_fd, &q), 0);
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "192.0.2.7", VIP, 40000, 80)), XDP_PASS);
	int fd = xsk_socket__fd(xsk);
	CHECK_EQ(bpf_map_update_elem(xsks_fd, &q, &fd, BPF_ANY), 0);
	CHECK_EQ(verdict(ipv4(IPPROTO_TCP, "192.0.2.7", VIP, 40000, 80)), XDP_REDIRECT);
}

int
main(void)
{
	setup();
	static const struct check_case cases[] = {
		{ "ARP: the node's own to the kernel, VIPs' and LIPs' to the data plane", test_arp },
		{ "IPv4 to a VIP or LIP goes to the data plane", test_vip_and_lip_traffic },
		{ "OSPF, BFD, SSH, ping to the node and IPv6 stay with the kernel",
		  test_kernel_traffic },
		{ "UDP to the sync port goes to the data plane", test_sync_port },
		{ "the address map decides", test_the_map_decides },
		{ "without a socket on the queue, frames pass", test_no_socket_passes },
	};
	int rc = check_run("xdp_filter", cases, sizeof(cases) / sizeof(cases[0]));
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	munmap(umem_area, 4096 * 2048);
	bpf_object__close(obj);
	return rc;
}
