/* TCP option handling: see tcpopt.h. */
#include <string.h>

#include <rte_byteorder.h>

#include "tcpopt.h"

/* The length of the option at i: 1 for a NOP, its length field for another kind, 0 when that is
 * below 2 or runs past the option space. */
static inline unsigned
opt_len(const uint8_t *opt, unsigned len, unsigned i)
{
	if (opt[i] == TCPOPT_NOP)
		return 1;
	if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
		return 0;
	return opt[i + 1];
}

/* Walks the options up to an EOL: the body runs for each (NOPs included) with its kind, offset i
 * and length olen; `continue` goes to the next one. A malformed option ends the walk. */
#define OPT_FOREACH(opt, len, i, kind, olen)                                                   \
	for (unsigned i = 0, olen = 0; i < (len); i += olen)                                  \
		if (((kind) = (opt)[i]) == TCPOPT_EOL || (olen = opt_len(opt, len, i)) == 0) { \
			break;                                                                     \
		} else

bool
tcpopt_valid(const uint8_t *opt, unsigned len)
{
	for (unsigned i = 0, olen; i < len && opt[i] != TCPOPT_EOL; i += olen)
		if ((olen = opt_len(opt, len, i)) == 0)
			return false;
	return true;
}

void
tcpopt_parse_syn(const uint8_t *opt, unsigned len, struct tcpopt_syn *out)
{
	uint8_t kind;
	memset(out, 0, sizeof(*out));
	out->wscale = -1;
	OPT_FOREACH(opt, len, i, kind, olen) {
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS)
			out->mss = (uint16_t)(opt[i + 2] << 8 | opt[i + 3]);
		else if (kind == TCPOPT_WSCALE && olen == TCPOLEN_WSCALE)
			out->wscale = (int8_t)(opt[i + 2] > TCPOPT_WSCALE_MAX ? TCPOPT_WSCALE_MAX :
									 opt[i + 2]);
		else if (kind == TCPOPT_SACK_PERM && olen == TCPOLEN_SACK_PERM)
			out->sack_perm = true;
		else if (kind == TCPOPT_TS && olen == TCPOLEN_TS) {
			out->ts = true;
			memcpy(&out->ts_val, &opt[i + 2], 4);
			memcpy(&out->ts_ecr, &opt[i + 6], 4);
			out->ts_val = rte_be_to_cpu_32(out->ts_val);
			out->ts_ecr = rte_be_to_cpu_32(out->ts_ecr);
		}
	}
}

bool
tcpopt_lower_mss(uint8_t *opt, unsigned len, uint16_t by)
{
	uint8_t kind;
	OPT_FOREACH(opt, len, i, kind, olen) {
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS) {
			uint16_t mss = (uint16_t)(opt[i + 2] << 8 | opt[i + 3]);
			uint16_t lowered = mss > TCPOPT_MSS_DEFAULT + by ? (uint16_t)(mss - by) :
									   TCPOPT_MSS_DEFAULT;
			if (lowered >= mss)
				return false;
			opt[i + 2] = (uint8_t)(lowered >> 8);
			opt[i + 3] = (uint8_t)lowered;
			return true;
		}
	}
	return false;
}

bool
tcpopt_has(const uint8_t *opt, unsigned len, uint8_t kind)
{
	uint8_t k;
	OPT_FOREACH(opt, len, i, k, olen) {
		if (k == kind)
			return true;
	}
	return false;
}

bool
tcpopt_strip(uint8_t *opt, unsigned len, uint8_t kind)
{
	uint8_t k;
	bool found = false;
	OPT_FOREACH(opt, len, i, k, olen) {
		if (k == kind) {
			memset(&opt[i], TCPOPT_NOP, olen);
			found = true;
		}
	}
	return found;
}

/* Adds delta to the big-endian 32-bit value at p (any alignment). */
static inline void
add_be32(uint8_t *p, uint32_t delta)
{
	uint32_t v;
	memcpy(&v, p, 4);
	v = rte_cpu_to_be_32(rte_be_to_cpu_32(v) + delta);
	memcpy(p, &v, 4);
}

bool
tcpopt_shift_sack(uint8_t *opt, unsigned len, uint32_t delta)
{
	uint8_t kind;
	bool found = false;
	OPT_FOREACH(opt, len, i, kind, olen) {
		if (kind != TCPOPT_SACK || olen < 2 + TCPOLEN_SACK_BLOCK ||
		    (olen - 2) % TCPOLEN_SACK_BLOCK != 0)
			continue;
		for (unsigned e = i + 2; e < i + olen; e += 4)
			add_be32(&opt[e], delta);
		found = true;
	}
	return found;
}

bool
tcpopt_shift_ts(uint8_t *opt, unsigned len, uint32_t val_delta, uint32_t ecr_delta)
{
	uint8_t kind;
	OPT_FOREACH(opt, len, i, kind, olen) {
		if (kind == TCPOPT_TS && olen == TCPOLEN_TS) {
			add_be32(&opt[i + 2], val_delta);
			add_be32(&opt[i + 6], ecr_delta);
			return true;
		}
	}
	return false;
}

int
tcpopt_build_with_toa(const uint8_t *opt, unsigned len, uint8_t kind, uint16_t port_be,
		      uint32_t addr_be, uint8_t out[TCPOPT_SPACE])
{
	out[0] = kind;
	out[1] = TOA_LEN;
	memcpy(&out[2], &port_be, 2);
	memcpy(&out[4], &addr_be, 4);
	/* The options as they are (alignment NOPs included) when they fit after TOA, else without
	 * the NOPs. Never an option of the TOA kind: only the client can have written that one. */
	for (int keep_nops = 1; keep_nops >= 0; keep_nops--) {
		unsigned n = TOA_LEN;
		uint8_t k;
		OPT_FOREACH(opt, len, i, k, olen) {
			if (k == kind || (k == TCPOPT_NOP && !keep_nops))
				continue;
			if (n + olen > TCPOPT_SPACE) {
				n = UINT32_MAX;
				break;
			}
			memcpy(&out[n], &opt[i], olen);
			n += olen;
		}
		if (n <= TCPOPT_SPACE) {
			while (n % 4 != 0)
				out[n++] = TCPOPT_EOL;
			return (int)n;
		}
	}
	return -1;
}
