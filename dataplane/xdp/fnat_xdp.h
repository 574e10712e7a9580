/* What the XDP filter (fnat_xdp.c) and the data plane that fills its maps (src/xdp_filter.c)
 * share: the names and layouts of the maps. Plain C types only: included from BPF C too. */
#ifndef FNAT_XDP_H
#define FNAT_XDP_H

/* The AF_XDP sockets, keyed by queue index: the name and type DPDK's net_af_xdp PMD looks up
 * in a custom program (xdp_prog=) and fills with its sockets. */
#define FNAT_XDP_XSKS_MAP "xsks_map"
/* The data plane's IPv4 addresses (network order) → kind (FNAT_XDP_ADDR_*). */
#define FNAT_XDP_ADDRS_MAP "fnat_addrs"
#define FNAT_XDP_ADDRS_MAX 4096
/* One entry (key 0): struct fnat_xdp_conf. */
#define FNAT_XDP_CONF_MAP "fnat_xdp_conf"

#define FNAT_XDP_ADDR_VIP 1
#define FNAT_XDP_ADDR_LIP 2
#define FNAT_XDP_ADDR_STANDBY 3 /* another node's LIP this node stands by for */

struct fnat_xdp_conf {
	unsigned short sync_port; /* UDP port of session sync, host order; 0 = none */
	unsigned short pad;
};

#endif
