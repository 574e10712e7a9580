/* fnat_abi(): the layout of every struct that crosses the FFI seam, from the compiler itself,
 * so the TypeScript side (dataplane/binding/wire.ts) can be pinned against it in a test. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fnat.h"

struct abi_out {
	char *buf;
	uint32_t cap, len;
	bool overflow;
};

static void
put(struct abi_out *o, const char *fmt, const char *name, size_t a, size_t b)
{
	int n = snprintf(o->buf + o->len, o->cap > o->len ? o->cap - o->len : 0, fmt, name, a, b);
	if (n < 0 || o->len + (uint32_t)n >= o->cap)
		o->overflow = true;
	else
		o->len += (uint32_t)n;
}

#define STRUCT_BEGIN(o, T, first)                                                          \
	put(o, first ? "\"%s\":{\"size\":%zu,\"align\":%zu,\"fields\":{" :                  \
		       ",\"%s\":{\"size\":%zu,\"align\":%zu,\"fields\":{",                   \
	    #T, sizeof(struct T), _Alignof(struct T))
#define FIELD(o, T, f, first)                                                               \
	put(o, first ? "\"%s\":[%zu,%zu]" : ",\"%s\":[%zu,%zu]", #f, offsetof(struct T, f),  \
	    sizeof(((struct T *)0)->f))
#define STRUCT_END(o) put(o, "%s}}", "", 0, 0)

int
fnat_abi(char *buf, uint32_t cap)
{
	if (buf == NULL || cap == 0)
		return -ENOSPC;
	struct abi_out o = { buf, cap, 0, false };
	buf[0] = '\0';
	put(&o, "{%s\"structs\":{", "", 0, 0);

	STRUCT_BEGIN(&o, fnat_neigh_conf, 1);
	FIELD(&o, fnat_neigh_conf, addr, 1);
	FIELD(&o, fnat_neigh_conf, mac, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_port_conf, 0);
	FIELD(&o, fnat_port_conf, port_id, 1);
	FIELD(&o, fnat_port_conf, set_mac, 0);
	FIELD(&o, fnat_port_conf, prefix_len, 0);
	FIELD(&o, fnat_port_conf, mac, 0);
	FIELD(&o, fnat_port_conf, mtu, 0);
	FIELD(&o, fnat_port_conf, addr, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_options, 0);
	FIELD(&o, fnat_options, flags, 1);
	FIELD(&o, fnat_options, n_workers, 0);
	FIELD(&o, fnat_options, sessions_per_worker, 0);
	FIELD(&o, fnat_options, n_ports, 0);
	FIELD(&o, fnat_options, ports, 0);
	FIELD(&o, fnat_options, gateway, 0);
	FIELD(&o, fnat_options, toa_kind, 0);
	FIELD(&o, fnat_options, sp_ttl, 0);
	FIELD(&o, fnat_options, sp_wscale, 0);
	FIELD(&o, fnat_options, sp_mss, 0);
	FIELD(&o, fnat_options, n_neigh, 0);
	FIELD(&o, fnat_options, neigh, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_service_conf, 0);
	FIELD(&o, fnat_service_conf, vip, 1);
	FIELD(&o, fnat_service_conf, port, 0);
	FIELD(&o, fnat_service_conf, proto, 0);
	FIELD(&o, fnat_service_conf, sched, 0);
	FIELD(&o, fnat_service_conf, flags, 0);
	FIELD(&o, fnat_service_conf, first_real, 0);
	FIELD(&o, fnat_service_conf, n_reals, 0);
	FIELD(&o, fnat_service_conf, timeouts, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_real_conf, 0);
	FIELD(&o, fnat_real_conf, addr, 1);
	FIELD(&o, fnat_real_conf, port, 0);
	FIELD(&o, fnat_real_conf, weight, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_traffic, 0);
	FIELD(&o, fnat_traffic, pkts_in, 1);
	FIELD(&o, fnat_traffic, pkts_out, 0);
	FIELD(&o, fnat_traffic, bytes_in, 0);
	FIELD(&o, fnat_traffic, bytes_out, 0);
	FIELD(&o, fnat_traffic, sessions_new, 0);
	FIELD(&o, fnat_traffic, sessions_active, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_worker_stats, 0);
	FIELD(&o, fnat_worker_stats, traffic, 1);
	FIELD(&o, fnat_worker_stats, handoffs_out, 0);
	FIELD(&o, fnat_worker_stats, handoffs_in, 0);
	FIELD(&o, fnat_worker_stats, toa_inserted, 0);
	FIELD(&o, fnat_worker_stats, toa_failed, 0);
	FIELD(&o, fnat_worker_stats, toa_forged, 0);
	FIELD(&o, fnat_worker_stats, syncookies_sent, 0);
	FIELD(&o, fnat_worker_stats, syncookies_valid, 0);
	FIELD(&o, fnat_worker_stats, syncookies_invalid, 0);
	FIELD(&o, fnat_worker_stats, synproxy_rs_retransmits, 0);
	FIELD(&o, fnat_worker_stats, synproxy_rs_failures, 0);
	FIELD(&o, fnat_worker_stats, arp_replies, 0);
	FIELD(&o, fnat_worker_stats, icmp_translated, 0);
	FIELD(&o, fnat_worker_stats, ignored, 0);
	FIELD(&o, fnat_worker_stats, sessions_closing, 0);
	FIELD(&o, fnat_worker_stats, arp_unsolicited, 0);
	FIELD(&o, fnat_worker_stats, arp_conflicts, 0);
	FIELD(&o, fnat_worker_stats, neigh_expired, 0);
	FIELD(&o, fnat_worker_stats, neigh_evicted, 0);
	FIELD(&o, fnat_worker_stats, neigh_refused, 0);
	FIELD(&o, fnat_worker_stats, sync_records_sent, 0);
	FIELD(&o, fnat_worker_stats, sync_datagrams_sent, 0);
	FIELD(&o, fnat_worker_stats, sync_records_received, 0);
	FIELD(&o, fnat_worker_stats, sync_datagrams_received, 0);
	FIELD(&o, fnat_worker_stats, sync_lost, 0);
	FIELD(&o, fnat_worker_stats, records_active, 0);
	FIELD(&o, fnat_worker_stats, records_full, 0);
	FIELD(&o, fnat_worker_stats, records_expired, 0);
	FIELD(&o, fnat_worker_stats, forwarded_out, 0);
	FIELD(&o, fnat_worker_stats, forwarded_in, 0);
	FIELD(&o, fnat_worker_stats, sessions_adopted, 0);
	FIELD(&o, fnat_worker_stats, drops, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_service_stats, 0);
	FIELD(&o, fnat_service_stats, traffic, 1);
	FIELD(&o, fnat_service_stats, vip, 0);
	FIELD(&o, fnat_service_stats, port, 0);
	FIELD(&o, fnat_service_stats, proto, 0);
	FIELD(&o, fnat_service_stats, first_real, 0);
	FIELD(&o, fnat_service_stats, n_reals, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_real_stats, 0);
	FIELD(&o, fnat_real_stats, traffic, 1);
	FIELD(&o, fnat_real_stats, addr, 0);
	FIELD(&o, fnat_real_stats, port, 0);
	FIELD(&o, fnat_real_stats, weight, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_session_info, 0);
	FIELD(&o, fnat_session_info, caddr, 1);
	FIELD(&o, fnat_session_info, vaddr, 0);
	FIELD(&o, fnat_session_info, laddr, 0);
	FIELD(&o, fnat_session_info, raddr, 0);
	FIELD(&o, fnat_session_info, cport, 0);
	FIELD(&o, fnat_session_info, vport, 0);
	FIELD(&o, fnat_session_info, lport, 0);
	FIELD(&o, fnat_session_info, rport, 0);
	FIELD(&o, fnat_session_info, proto, 0);
	FIELD(&o, fnat_session_info, state, 0);
	FIELD(&o, fnat_session_info, worker, 0);
	FIELD(&o, fnat_session_info, expires_in_ms, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_sync_peer, 0);
	FIELD(&o, fnat_sync_peer, node, 1);
	FIELD(&o, fnat_sync_peer, addr, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_sync_conf, 0);
	FIELD(&o, fnat_sync_conf, node, 1);
	FIELD(&o, fnat_sync_conf, addr, 0);
	FIELD(&o, fnat_sync_conf, port, 0);
	FIELD(&o, fnat_sync_conf, refresh_ms, 0);
	FIELD(&o, fnat_sync_conf, flush_us, 0);
	FIELD(&o, fnat_sync_conf, records_per_worker, 0);
	FIELD(&o, fnat_sync_conf, key, 0);
	FIELD(&o, fnat_sync_conf, n_peers, 0);
	FIELD(&o, fnat_sync_conf, peers, 0);
	FIELD(&o, fnat_sync_conf, n_standby, 0);
	FIELD(&o, fnat_sync_conf, standby, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_sync_standby, 0);
	FIELD(&o, fnat_sync_standby, lip, 1);
	FIELD(&o, fnat_sync_standby, owner, 0);
	STRUCT_END(&o);

	STRUCT_BEGIN(&o, fnat_peer_stats, 0);
	FIELD(&o, fnat_peer_stats, node, 1);
	FIELD(&o, fnat_peer_stats, snapshot_workers, 0);
	FIELD(&o, fnat_peer_stats, peer_workers, 0);
	FIELD(&o, fnat_peer_stats, datagrams_received, 0);
	FIELD(&o, fnat_peer_stats, records_received, 0);
	FIELD(&o, fnat_peer_stats, forwarded_out, 0);
	FIELD(&o, fnat_peer_stats, forwarded_in, 0);
	FIELD(&o, fnat_peer_stats, last_heard_ms, 0);
	STRUCT_END(&o);

	put(&o, "}%s}", "", 0, 0);
	return o.overflow ? -ENOSPC : (int)o.len;
}
