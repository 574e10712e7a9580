/* TCP options and checksum helpers: validation, MSS, timestamps, TOA (with and without room),
 * SACK shifting, and incremental checksum updates equal to recomputation. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "check.h"
#include <rte_tcp.h>

#include "csum.h"
#include "tcpopt.h"

/* Linux SYN: MSS 1460, SACK-permitted, TS, NOP, wscale 7. */
static const uint8_t LINUX_SYN[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
				       1, 3, 3, 7 };

static void
test_validation(void)
{
	CHECK(tcpopt_valid(LINUX_SYN, sizeof(LINUX_SYN)));
	const uint8_t overrun[4] = { 2, 8, 1, 1 };
	CHECK(!tcpopt_valid(overrun, 4));
	const uint8_t zero_len[4] = { 2, 0, 1, 1 };
	CHECK(!tcpopt_valid(zero_len, 4));
	const uint8_t dangling[3] = { 1, 1, 2 };
	CHECK(!tcpopt_valid(dangling, 3));
	const uint8_t eol[4] = { 0, 99, 99, 99 };
	CHECK(tcpopt_valid(eol, 4));
}

static void
test_syn_parse_mss_and_ts(void)
{
	uint8_t o[20];
	memcpy(o, LINUX_SYN, 20);
	struct tcpopt_syn s;
	tcpopt_parse_syn(o, 20, &s);
	CHECK_EQ(s.mss, 1460);
	CHECK_EQ(s.wscale, 7);
	CHECK(s.sack_perm);
	CHECK(s.ts);
	CHECK_EQ(s.ts_val, 1);
	CHECK(tcpopt_lower_mss(o, 20, 8));
	CHECK_EQ(o[2] << 8 | o[3], 1452);
	CHECK(tcpopt_strip(o, 20, TCPOPT_TS));
	for (int i = 6; i < 16; i++)
		CHECK_EQ(o[i], TCPOPT_NOP);
	tcpopt_parse_syn(o, 20, &s);
	CHECK(!s.ts);
	const uint8_t small[4] = { 2, 4, 0x02, 0x1c }; /* 540: clamped at 536 */
	uint8_t c[4];
	memcpy(c, small, 4);
	CHECK(tcpopt_lower_mss(c, 4, 8));
	CHECK_EQ(c[2] << 8 | c[3], 536);
}

static void
test_toa_first_with_room(void)
{
	uint8_t out[40];
	const uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6 };
	int n = tcpopt_build_with_toa(ts, 12, 254, rte_cpu_to_be_16(40000), 0x076433c6, out);
	CHECK_EQ(n, 20);
	CHECK_EQ(out[0], 254);
	CHECK_EQ(out[1], 8);
	CHECK_EQ(out[2] << 8 | out[3], 40000);
	CHECK(memcmp(out + 8, ts, 12) == 0);
}

static void
test_toa_compacts_then_fails(void)
{
	uint8_t opts[36];
	/* 4 NOPs + TS(10) + NOP NOP + SACK with 2 blocks (18) + 2 NOPs = 36 bytes. */
	const uint8_t ts[10] = { 8, 10, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t sack[18] = { 5, 18 };
	memset(opts, 1, sizeof(opts));
	memcpy(opts + 4, ts, 10);
	memcpy(opts + 16, sack, 18);
	uint8_t out[40];
	int n = tcpopt_build_with_toa(opts, 36, 254, 1, 2, out);
	CHECK_EQ(n, 8 + 28 + 0); /* 8 + 10 + 18 = 36 */
	CHECK_EQ(out[8], 8);
	CHECK_EQ(out[18], 5);
	/* 36 bytes of real options leave no room for TOA. */
	uint8_t full[36] = { 5, 34 };
	n = tcpopt_build_with_toa(full, 36, 254, 1, 2, out);
	CHECK_EQ(n, -1);
}

/* A TOA the client wrote is never passed on: replaced by ours (in its place when it had the same
 * length, so a full-size segment does not grow), however it was laid out. */
static void
test_toa_replaces_the_clients(void)
{
	uint8_t out[40];
	const uint8_t forged_ts[20] = { 254, 8, 0, 1, 203, 0, 113, 66, 1, 1, 8, 10, 0, 0, 0, 5,
					0, 0, 0, 6 };
	int n = tcpopt_build_with_toa(forged_ts, 20, 254, rte_cpu_to_be_16(40000), 0x076433c6, out);
	CHECK_EQ(n, 20);
	const uint8_t ours[8] = { 254, 8, 0x9c, 0x40, 0xc6, 0x33, 0x64, 0x07 };
	CHECK(memcmp(out, ours, 8) == 0);
	CHECK(memcmp(out + 8, forged_ts + 8, 12) == 0);
	/* Another length, NOPs after it: dropped, EOL padding to a multiple of 4. */
	const uint8_t odd[8] = { 254, 6, 1, 2, 3, 4, 1, 1 };
	n = tcpopt_build_with_toa(odd, 8, 254, rte_cpu_to_be_16(40000), 0x076433c6, out);
	CHECK_EQ(n, 12);
	const uint8_t odd_out[12] = { 254, 8, 0x9c, 0x40, 0xc6, 0x33, 0x64, 0x07, 1, 1, 0, 0 };
	CHECK(memcmp(out, odd_out, 12) == 0);
	/* A full option space with a forged TOA: ours in its room, NOPs kept. */
	uint8_t full[40] = { 254, 8, 9, 9, 9, 9, 9, 9, 1, 1, 5, 26 };
	memset(full + 36, TCPOPT_NOP, 4);
	n = tcpopt_build_with_toa(full, 40, 254, rte_cpu_to_be_16(40000), 0x076433c6, out);
	CHECK_EQ(n, 40);
	CHECK(memcmp(out, ours, 8) == 0);
	CHECK(memcmp(out + 8, full + 8, 32) == 0);
	/* Two of them: both gone, one TOA left. */
	const uint8_t two[16] = { 254, 8, 1, 1, 1, 1, 1, 1, 254, 8, 2, 2, 2, 2, 2, 2 };
	n = tcpopt_build_with_toa(two, 16, 254, rte_cpu_to_be_16(40000), 0x076433c6, out);
	CHECK_EQ(n, 8);
	CHECK(memcmp(out, ours, 8) == 0);
}

static void
test_strip_a_kind(void)
{
	uint8_t o[20] = { 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 254, 8, 0, 1, 203, 0, 113, 66 };
	CHECK(tcpopt_has(o, 20, 254));
	CHECK(!tcpopt_has(o, 20, 200));
	CHECK(!tcpopt_strip(o, 20, 200));
	CHECK(tcpopt_strip(o, 20, 254));
	for (int i = 12; i < 20; i++)
		CHECK_EQ(o[i], TCPOPT_NOP);
	CHECK_EQ(o[2], TCPOPT_TS);
	CHECK(!tcpopt_has(o, 20, 254));
	/* After an EOL nothing is an option. */
	const uint8_t eol[12] = { 0, 0, 0, 0, 254, 8, 0, 1, 203, 0, 113, 66 };
	CHECK(!tcpopt_has(eol, 12, 254));
}

static void
test_sack_shift(void)
{
	uint8_t o[12] = { 1, 1, 5, 10, 0, 0, 0x03, 0xe8, 0, 0, 0x04, 0x00 };
	CHECK(tcpopt_shift_sack(o, 12, (uint32_t)-1000));
	CHECK_EQ(o[4] << 24 | o[5] << 16 | o[6] << 8 | o[7], 0);
	CHECK_EQ(o[8] << 24 | o[9] << 16 | o[10] << 8 | o[11], 24);
}

static void
test_ts_shift(void)
{
	uint8_t o[12] = { 1, 1, 8, 10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 5 };
	CHECK(tcpopt_shift_ts(o, 12, 0x20, (uint32_t)-5));
	const uint8_t want[12] = { 1, 1, 8, 10, 0, 0, 0, 0x10, 0, 0, 0, 0 };
	CHECK(memcmp(o, want, 12) == 0);
	/* Unaligned (one NOP before it) works the same. */
	uint8_t u[12] = { 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0 };
	CHECK(tcpopt_shift_ts(u, 12, 1, 1));
	CHECK_EQ(u[6], 2);
	CHECK_EQ(u[10], 3);
	const uint8_t none[4] = { 2, 4, 5, 0xb4 };
	uint8_t n[4];
	memcpy(n, none, 4);
	CHECK(!tcpopt_shift_ts(n, 4, 1, 1));
	CHECK(memcmp(n, none, 4) == 0);
}

static void
test_incremental_checksum_equals_recompute(void)
{
	uint8_t buf[20] = { 0x45, 0, 0, 40, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 198, 51, 100, 7,
			    192, 0, 2, 10 };
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uint32_t old = ip->src_addr, new = rte_cpu_to_be_32(0x0a000064);
	csum_replace4(&ip->hdr_checksum, old, new);
	ip->src_addr = new;
	uint16_t inc = ip->hdr_checksum;
	ip->hdr_checksum = 0;
	CHECK_EQ(inc, rte_ipv4_cksum(ip));
	ip->hdr_checksum = inc;
	uint16_t w = *(uint16_t *)&ip->time_to_live;
	ip->time_to_live--;
	csum_replace2(&ip->hdr_checksum, w, *(uint16_t *)&ip->time_to_live);
	inc = ip->hdr_checksum;
	ip->hdr_checksum = 0;
	CHECK_EQ(inc, rte_ipv4_cksum(ip));
}

/* Many fields changed at once and applied with one fold give a TCP checksum that verifies
 * (the segment sums to 0xffff with its pseudo header), over random segments and changes. */
static void
test_gathered_deltas_verify(void)
{
	uint8_t buf[60];
	uint64_t r = 0x9e3779b97f4a7c15ull;
	uint32_t bad = 0;
	for (int round = 0; round < 20000; round++) {
		for (unsigned i = 0; i < sizeof(buf); i++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			buf[i] = (uint8_t)r;
		}
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16(sizeof(buf));
		ip->next_proto_id = IPPROTO_TCP;
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
		th->data_off = 5 << 4;
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		/* New addresses, ports and sequence numbers from the random tail. */
		const uint32_t *n32 = (const uint32_t *)(buf + 40);
		const uint16_t *n16 = (const uint16_t *)(buf + 56);
		uint64_t a = csum_delta32(csum_delta32(0, ip->src_addr, n32[0]), ip->dst_addr, n32[1]);
		uint64_t d = csum_delta32(a, th->sent_seq, n32[2]);
		d = csum_delta32(d, th->recv_ack, n32[3]);
		d = csum_delta16(d, th->src_port, n16[0]);
		d = csum_delta16(d, th->dst_port, n16[1]);
		csum_apply(&th->cksum, d);
		csum_apply(&ip->hdr_checksum, a);
		ip->src_addr = n32[0];
		ip->dst_addr = n32[1];
		th->sent_seq = n32[2];
		th->recv_ack = n32[3];
		th->src_port = n16[0];
		th->dst_port = n16[1];
		/* The whole segment with its pseudo header sums to 0xffff. */
		bad += !csum_l4_ok(ip, th, sizeof(buf) - 20);
		bad += rte_ipv4_cksum(ip) != 0 && rte_ipv4_cksum(ip) != 0xffff;
	}
	CHECK_EQ(bad, 0);
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "options are validated", test_validation },
		{ "SYN options parsed, MSS lowered, timestamps stripped", test_syn_parse_mss_and_ts },
		{ "TOA goes first when there is room", test_toa_first_with_room },
		{ "TOA compacts NOPs, then fails without room", test_toa_compacts_then_fails },
		{ "TOA replaces one the client wrote", test_toa_replaces_the_clients },
		{ "options of a kind are found and overwritten with NOPs", test_strip_a_kind },
		{ "SACK blocks are shifted", test_sack_shift },
		{ "timestamps are shifted", test_ts_shift },
		{ "incremental checksums equal recomputation", test_incremental_checksum_equals_recompute },
		{ "gathered deltas give checksums that verify", test_gathered_deltas_verify },
	};
	return check_run("tcpopt", cases, sizeof(cases) / sizeof(cases[0]));
}
