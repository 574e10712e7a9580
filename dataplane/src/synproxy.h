/* SYNPROXY: syncookie SYN-ACKs, stateless ACK validation, the real server's handshake and the
 * sequence shift that follows. Worker thread only. */
#ifndef FNAT_SYNPROXY_H
#define FNAT_SYNPROXY_H

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dp_pvt.h"

#define SYNPROXY_CONTINUE 1

/** Client→VIP on a synproxy service. *c is the session found (may be NULL); hash is k's
 * fnat_key_hash. Returns SYNPROXY_CONTINUE to translate normally with *c, 0 when the packet
 * was consumed, or -reason to drop it. */
int synproxy_in(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_svc *svc,
		struct fnat_conn **c, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		const struct fnat_key *k, uint64_t hash, unsigned pidx);

/** Client→RS on a synproxy session: the acknowledgement (checksum updated), SACK blocks and
 * TSecr into the server's space. Returns true when options changed (full checksum needed). */
bool synproxy_in_ack(struct fnat_conn *c, struct rte_tcp_hdr *th, unsigned doff);

/** RS→client on a synproxy session once the real server answered: TSval onto the clock our
 * SYN-ACK showed the client (checksum not updated). Returns true when options changed. */
bool synproxy_out_ts(const struct fnat_conn *c, struct rte_tcp_hdr *th, unsigned doff);

/** RS→client on a synproxy session (the real server's SYN-ACK, RST). Same returns as
 * synproxy_in. */
int synproxy_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c,
		 struct rte_mbuf *m, struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th,
		 unsigned pidx);

/** Expiry sweep of a session waiting for the real server: retransmit the SYN or give up.
 * Returns true when the session stays. */
bool synproxy_timer(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c);

/** A session is being freed: drop what SYNPROXY kept for it. */
void synproxy_conn_freed(struct fnat_worker *w, struct fnat_conn *c);

#endif /* FNAT_SYNPROXY_H */
