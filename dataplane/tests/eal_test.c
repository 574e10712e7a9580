/* Library identity and EAL bring-up on virtual devices without hugepages. */
#include <errno.h>

#include "fnat.h"
#include "check.h"

static void version_is_semver(void)
{
	const char *v = fnat_version();
	int a, b, c;
	CHECK_EQ(sscanf(v, "%d.%d.%d", &a, &b, &c), 3);
}

static void eal_init_rejects_empty_args(void)
{
	CHECK_EQ(fnat_eal_init(0, NULL), -EINVAL);
}

static void eal_init_brings_up_null_ports_once(void)
{
	char *argv[] = { "eal_test", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry",
			 "-m", "64", "-l", "0", "--log-level=lib.eal:error",
			 "--vdev=net_null0", "--vdev=net_null1", NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	CHECK_EQ(fnat_eal_init(argc, argv), 0);
	CHECK_EQ(fnat_port_count(), 2);
	CHECK_EQ(fnat_eal_init(argc, argv), -EALREADY);
}

TEST_MAIN("eal", CASE(version_is_semver), CASE(eal_init_rejects_empty_args),
	  CASE(eal_init_brings_up_null_ports_once))
