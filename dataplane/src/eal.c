/* EAL bring-up and library identity. */
#include <errno.h>
#include <stdbool.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "fnat.h"

#define FNAT_VERSION "0.2.0"

static bool eal_ready;

const char *fnat_version(void)
{
	return FNAT_VERSION;
}

int fnat_eal_init(int argc, char **argv)
{
	if (argc < 1 || argv == NULL)
		return -EINVAL;
	if (eal_ready)
		return -EALREADY;
	/* rte_eal_init may permute argv; it is the caller's scratch copy. */
	if (rte_eal_init(argc, argv) < 0)
		return rte_errno > 0 ? -rte_errno : -EINVAL;
	eal_ready = true;
	return 0;
}

uint16_t fnat_port_count(void)
{
	return eal_ready ? rte_eth_dev_count_avail() : 0;
}
