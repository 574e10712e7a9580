/* The libFuzzer harness of the packet path: shared between the input decoder and frame builders
 * (fnat_fuzz.c), the checksums and the sent-frame oracle (fuzz_frame.c), and the state checks
 * and reset (fuzz_state.c). */
#ifndef FNAT_FUZZ_H
#define FNAT_FUZZ_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_pvt.h"

#define FUZZ_WORKERS 3
#define FUZZ_PORTS 2
#define FUZZ_SESSIONS 64      /* per worker: small, so a full table is reachable */
#define FUZZ_FRAME_MAX 2304   /* an mbuf's data room and TOA's growth into the headroom */

/* Addresses in network order. */
#define FUZZ_IP(a, b, c, d) RTE_BE32((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

/** A fatal finding: print what is wrong and abort (libFuzzer saves the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- fuzz_frame.c: frames in and out ---- */

/** Recompute the IPv4 header checksum and the TCP/UDP/ICMP checksum of an Ethernet frame as
 * far as its lengths allow (both left alone when the frame is too short for them). */
void frame_fix_checksums(uint8_t *f, unsigned len);

/** Abort unless a frame the data plane sent is well formed: it leaves with the MAC of the port
 * it is sent on, the IPv4 total length matches the frame, every checksum verifies (the data
 * plane only forwards frames that did, and makes its own), the TTL is not 0, and it goes from
 * one of our addresses to somebody else's. */
void frame_check_sent(const uint8_t *f, unsigned len, unsigned pidx);

/* ---- fnat_fuzz.c: the fuzz network ---- */

/** A VIP or LIP of any configuration the harness applies. */
bool fuzz_addr_ours(uint32_t addr);

/** A port's MAC address. */
const uint8_t *fuzz_port_mac(unsigned pidx);

/* ---- fuzz_state.c: invariants and the reset between inputs ---- */

/** Remember the data plane's state right after the base configuration was applied. */
void state_init(struct fnat_dp *dp);

/** Abort when a worker's sessions, index, counters, port pools or SYNPROXY slots disagree. */
void state_check(struct fnat_dp *dp);

/** Free every session through the data plane's own path, check that nothing leaked (mbufs,
 * ports, SYNPROXY slots, index entries), and put every worker back to its initial state so
 * that the next input runs exactly as it would in a fresh process. */
void state_reset(struct fnat_dp *dp);

#endif /* FNAT_FUZZ_H */
