/* The AF_XDP port's exception path, data-plane side (control thread).
 *
 * On a net_af_xdp port started with our XDP program (xdp/fnat_xdp.c, vdev argument
 * xdp_prog=.../fnat_xdp.o), the kernel hands the data plane only the frames for its own
 * addresses and the sync port; everything else stays with the kernel (BIRD, sshd). The program
 * learns those addresses from its map fnat_addrs, which this file fills: it finds the program
 * DPDK attached to the interface, takes its maps by name, and rewrites them whenever the
 * addresses change (a snapshot applied, the session-sync configuration set).
 *
 * Because ARP for the node's own address belongs to the kernel, the data plane's own ARP
 * requests on such a port name one of its LIPs as sender (xdp_filter_arp_sip): the answers come
 * back to a LIP, which the program gives to the data plane. On any other port, or an af_xdp
 * port without our program (DPDK's default program redirects everything), nothing changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <rte_ethdev.h>
#include <rte_log.h>

#include "dp_pvt.h"
#include "fnat_xdp.h"
#include "sync.h"

/* Finds the map called `name` among the maps the program `prog_fd` uses; an fd or -1. */
static int
map_of_prog(int prog_fd, const char *name)
{
	uint32_t ids[64];
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = RTE_DIM(ids);
	info.map_ids = (uint64_t)(uintptr_t)ids;
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
		return -1;
	uint32_t n = RTE_MIN(info.nr_map_ids, (uint32_t)RTE_DIM(ids));
	for (uint32_t i = 0; i < n; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		struct bpf_map_info mi;
		memset(&mi, 0, sizeof(mi));
		uint32_t mlen = sizeof(mi);
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0 && strcmp(mi.name, name) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

/* The XDP mode flag matching how a program is attached (what a detach must name). */
static uint32_t
mode_flag(uint8_t attach_mode)
{
	switch (attach_mode) {
	case XDP_ATTACHED_SKB:
		return XDP_FLAGS_SKB_MODE;
	case XDP_ATTACHED_HW:
		return XDP_FLAGS_HW_MODE;
	default:
		return XDP_FLAGS_DRV_MODE;
	}
}

/* The interface index under a net_af_xdp port (0: another driver, or no interface). */
static unsigned
afxdp_ifindex(uint16_t port)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0 || info.driver_name == NULL ||
	    strcmp(info.driver_name, "net_af_xdp") != 0)
		return 0;
	return info.if_index;
}

int
xdp_filter_clear_stale(struct fnat_dp *dp, unsigned pidx)
{
	uint16_t port = dp->opts.ports[pidx].port_id;
	unsigned ifindex = afxdp_ifindex(port);
	if (ifindex == 0)
		return 0;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query((int)ifindex, 0, &q) != 0 || q.prog_id == 0)
		return 0;
	int prog_fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (prog_fd < 0)
		return 0; /* gone meanwhile, or not ours to see: DPDK's attach tells */
	int addrs = map_of_prog(prog_fd, FNAT_XDP_ADDRS_MAP);
	if (addrs < 0) {
		/* Someone else's program: not ours to remove (DPDK's attach will fail, saying so). */
		close(prog_fd);
		return 0;
	}
	close(addrs);
	/* Exactly that program, in the mode it has: a program attached meanwhile stays. */
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = prog_fd);
	int rc = bpf_xdp_detach((int)ifindex, XDP_FLAGS_REPLACE | mode_flag(q.attach_mode), &o);
	close(prog_fd);
	if (rc != 0) {
		RTE_LOG(ERR, USER1,
			"fnat: port %u: cannot remove the stale XDP filter (program %u) from "
			"interface %u: %s\n",
			port, q.prog_id, ifindex, strerror(-rc));
		return rc;
	}
	RTE_LOG(WARNING, USER1,
		"fnat: port %u: removed a stale XDP filter (program %u) from interface %u, left by "
		"a data plane that did not close its port\n",
		port, q.prog_id, ifindex);
	return 0;
}

int
xdp_filter_attach(struct fnat_dp *dp, unsigned pidx)
{
	uint16_t port = dp->opts.ports[pidx].port_id;
	unsigned ifindex = afxdp_ifindex(port);
	if (ifindex == 0)
		return 0;
	uint32_t prog_id = 0;
	if (bpf_xdp_query_id((int)ifindex, 0, &prog_id) != 0 || prog_id == 0)
		return 0;
	int prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0) {
		RTE_LOG(ERR, USER1, "fnat: port %u: the XDP program %u: %s\n", port, prog_id,
			strerror(errno));
		return -errno;
	}
	int addrs = map_of_prog(prog_fd, FNAT_XDP_ADDRS_MAP);
	int conf = addrs < 0 ? -1 : map_of_prog(prog_fd, FNAT_XDP_CONF_MAP);
	close(prog_fd);
	if (addrs < 0) {
		/* Not our program (DPDK's own sends everything here): no filter to fill. */
		RTE_LOG(INFO, USER1, "fnat: port %u: XDP program %u has no %s map: not filtered\n",
			port, prog_id, FNAT_XDP_ADDRS_MAP);
		return 0;
	}
	if (conf < 0) {
		close(addrs);
		RTE_LOG(ERR, USER1, "fnat: port %u: XDP program %u has %s but no %s map\n", port,
			prog_id, FNAT_XDP_ADDRS_MAP, FNAT_XDP_CONF_MAP);
		return -ENOENT;
	}
	dp->xdp[pidx].on = true;
	dp->xdp[pidx].addrs_fd = addrs;
	dp->xdp[pidx].conf_fd = conf;
	RTE_LOG(INFO, USER1, "fnat: port %u: XDP filter (program %u) on interface %u\n", port,
		prog_id, ifindex);
	return xdp_filter_update(dp);
}

/* The addresses the program must give to the data plane, with their kinds; the count. */
static uint32_t
wanted(const struct fnat_dp *dp, uint32_t *keys, uint32_t *kinds, uint32_t cap)
{
	const struct fnat_snapshot *s = dp->snap;
	uint32_t n = 0;
#define ADD(a, k) \
	do { \
		if (n < cap) { \
			keys[n] = (a); \
			kinds[n++] = (k); \
		} \
	} while (0)
	for (uint32_t i = 0; s != NULL && i < s->n_svcs; i++)
		ADD(s->svcs[i].vip, FNAT_XDP_ADDR_VIP);
	for (uint32_t i = 0; s != NULL && i < s->n_lips; i++)
		ADD(s->lips[i].addr, FNAT_XDP_ADDR_LIP);
	const struct fnat_sync_state *ss = dp->sync;
	for (uint32_t i = 0; ss != NULL && i < ss->conf.n_standby; i++)
		ADD(ss->conf.standby[i].lip, FNAT_XDP_ADDR_STANDBY);
#undef ADD
	return n;
}

static bool
listed(const uint32_t *keys, uint32_t n, uint32_t k)
{
	for (uint32_t i = 0; i < n; i++)
		if (keys[i] == k)
			return true;
	return false;
}

int
xdp_filter_update(struct fnat_dp *dp)
{
	uint32_t cap = FNAT_MAX_SERVICES + FNAT_MAX_LIPS + FNAT_MAX_STANDBY;
	uint32_t *keys = NULL, *kinds = NULL;
	int rc = 0;
	for (unsigned p = 0; p < dp->opts.n_ports; p++) {
		if (!dp->xdp[p].on)
			continue;
		if (keys == NULL) {
			keys = calloc(cap, sizeof(*keys));
			kinds = calloc(cap, sizeof(*kinds));
			if (keys == NULL || kinds == NULL) {
				rc = -ENOMEM;
				break;
			}
		}
		uint32_t n = wanted(dp, keys, kinds, cap);
		int fd = dp->xdp[p].addrs_fd;
		/* New ones first, then the stale ones go: an address kept is never missing. */
		for (uint32_t i = 0; i < n; i++)
			if (bpf_map_update_elem(fd, &keys[i], &kinds[i], BPF_ANY) != 0 && rc == 0)
				rc = -errno;
		uint32_t k, next, stale[64];
		bool more = true;
		while (more) {
			/* Deleting while walking restarts the walk: collect a batch, then delete. */
			uint32_t ns = 0;
			int r = bpf_map_get_next_key(fd, NULL, &next);
			while (r == 0 && ns < RTE_DIM(stale)) {
				if (!listed(keys, n, next))
					stale[ns++] = next;
				k = next;
				r = bpf_map_get_next_key(fd, &k, &next);
			}
			for (uint32_t i = 0; i < ns; i++)
				(void)bpf_map_delete_elem(fd, &stale[i]);
			more = ns == RTE_DIM(stale);
		}
		const struct fnat_sync_state *ss = dp->sync;
		struct fnat_xdp_conf c = {
			.sync_port = ss == NULL ? 0 :
				     ss->conf.port ? ss->conf.port : FNAT_SYNC_PORT_DEFAULT,
		};
		uint32_t zero = 0;
		if (bpf_map_update_elem(dp->xdp[p].conf_fd, &zero, &c, BPF_ANY) != 0 && rc == 0)
			rc = -errno;
		/* The data plane asks ARP from its first LIP (0: none yet, the port's address). */
		const struct fnat_snapshot *s = dp->snap;
		__atomic_store_n(&dp->xdp[p].arp_sip, s != NULL && s->n_lips ? s->lips[0].addr : 0,
				 __ATOMIC_RELAXED);
	}
	free(keys);
	free(kinds);
	if (rc < 0)
		RTE_LOG(ERR, USER1, "fnat: filling the XDP filter's maps: %s\n", strerror(-rc));
	return rc;
}

uint32_t
xdp_filter_arp_sip(const struct fnat_dp *dp, unsigned pidx)
{
	uint32_t sip = __atomic_load_n(&dp->xdp[pidx].arp_sip, __ATOMIC_RELAXED);
	return sip != 0 ? sip : dp->opts.ports[pidx].addr;
}

void
xdp_filter_close(struct fnat_dp *dp)
{
	for (unsigned p = 0; p < FNAT_MAX_PORTS; p++) {
		if (!dp->xdp[p].on)
			continue;
		close(dp->xdp[p].addrs_fd);
		close(dp->xdp[p].conf_fd);
		dp->xdp[p].on = false;
	}
}
