/**
 * @file fnat.h
 * libfnat: a DPDK FULLNAT data plane. The one public header.
 *
 * Conventions: control calls return 0 or a negative errno; functions that cannot fail
 * return void or a value. Each export states which thread may call it.
 */
#ifndef FNAT_H
#define FNAT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Library version string, e.g. "0.1.0". Any thread; never fails. */
const char *fnat_version(void);

/**
 * Initialise DPDK's EAL once for this process.
 *
 * @param argc  number of entries in argv (argv[0] is the program name)
 * @param argv  EAL arguments, e.g. {"fnat", "--no-huge", "--in-memory", "--vdev=net_null0"}
 * @return 0 on success; -EALREADY if the EAL is already initialised in this process;
 *         -EINVAL on a bad argument; another -errno from rte_eal_init otherwise.
 * Thread: the control thread only; NOT multi-thread safe.
 */
int fnat_eal_init(int argc, char **argv);

/**
 * Number of DPDK ethernet ports available after fnat_eal_init().
 * @return the count (0 when the EAL is not initialised). Control thread only.
 */
uint16_t fnat_port_count(void);

#ifdef __cplusplus
}
#endif

#endif /* FNAT_H */
