/* TCP option handling for FULLNAT: validation, MSS clamping, stripping options (timestamps, a
 * TOA the client wrote), TOA insertion, SACK block and timestamp shifting. Pure functions over a
 * TCP header in memory. */
#ifndef FNAT_TCPOPT_H
#define FNAT_TCPOPT_H

#include <stdbool.h>
#include <stdint.h>

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8
/* Option lengths (kind and length bytes included). */
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_WSCALE 3
#define TCPOLEN_MSS 4
#define TCPOLEN_TS 10           /* kind, length, TSval (4), TSecr (4) */
#define TCPOLEN_SACK_BLOCK 8    /* each SACK block: left and right edge (4 each) */
#define TOA_LEN 8               /* kind, length, port (2), address (4) */
#define TCPOPT_SPACE 40         /* the option space: a data offset of 15 words less 20 */
#define TCPOPT_WSCALE_MAX 14    /* RFC 7323: a larger shift is taken as 14 */
#define TCPOPT_MSS_DEFAULT 536  /* RFC 879: the MSS without the option; no MSS goes below it */

/** Checks that every option fits the option space (kind, length >= 2, no overrun).
 * @return true when well formed. */
bool tcpopt_valid(const uint8_t *opt, unsigned len);

/** What a SYN offered. */
struct tcpopt_syn {
	uint16_t mss;      /* 0 = absent */
	int8_t wscale;     /* -1 = absent */
	bool sack_perm;
	bool ts;
	uint32_t ts_val, ts_ecr;
};

/** Reads MSS, window scale, SACK-permitted and timestamps from (valid) options. */
void tcpopt_parse_syn(const uint8_t *opt, unsigned len, struct tcpopt_syn *out);

/** Lowers the MSS option by `by` (not below 536). @return true when an MSS option changed. */
bool tcpopt_lower_mss(uint8_t *opt, unsigned len, uint16_t by);

/** Whether the (valid) options hold an option of this kind. */
bool tcpopt_has(const uint8_t *opt, unsigned len, uint8_t kind);

/** Overwrites every option of this kind with NOPs in place. @return true when one was found. */
bool tcpopt_strip(uint8_t *opt, unsigned len, uint8_t kind);

/** Adds `delta` to both edges of every SACK block (subtract by passing -delta).
 * @return true when a SACK option was changed. */
bool tcpopt_shift_sack(uint8_t *opt, unsigned len, uint32_t delta);

/** Adds val_delta to the TSval and ecr_delta to the TSecr of a timestamp option.
 * @return true when one was changed. */
bool tcpopt_shift_ts(uint8_t *opt, unsigned len, uint32_t val_delta, uint32_t ecr_delta);

/**
 * Builds the option area with TOA first: out = TOA(kind, port, addr) + the existing options less
 * any option of the TOA kind (one the client wrote is replaced, never passed on). When that
 * exceeds 40 bytes, NOPs are dropped too. Whatever follows an EOL is dropped and the result is
 * padded to a multiple of 4 with EOL.
 * @return the new option length (multiple of 4, <= 40), or -1 when TOA does not fit even then.
 */
int tcpopt_build_with_toa(const uint8_t *opt, unsigned len, uint8_t kind, uint16_t port_be,
			  uint32_t addr_be, uint8_t out[TCPOPT_SPACE]);

#endif /* FNAT_TCPOPT_H */
