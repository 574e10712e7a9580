/* SYNPROXY: syncookie SYN-ACKs, stateless ACK validation, the real server's handshake and the
 * sequence shift that follows. The pipeline's SYNPROXY stage (between session and translate).
 * Worker thread only. */
#ifndef FNAT_SYNPROXY_H
#define FNAT_SYNPROXY_H

#include "dp_pvt.h"
#include "worker_pvt.h"

/* The stage's entries (synproxy_in, synproxy_out) are inline: most packets only have their
 * shifts set (zero outside SYNPROXY). */

/** Client→VIP on a SYNPROXY service (p->c may be NULL): a cookie SYN-ACK for a SYN
 * (PKT_SEND), a session and the ACK kept for a valid cookie ACK (PKT_CONSUMED), drops of what
 * no handshake explains; PKT_CONTINUE to translate p->c. */
int synproxy_service_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p);

/** RS→client on a session waiting for the real server: its RST, or anything but the expected
 * SYN-ACK, is consumed; the SYN-ACK fixes the shifts and the kept client ACK resumes
 * client→RS in p (PKT_RESUME; PKT_CONSUMED when there was none). */
int synproxy_wait_out(struct fnat_worker *w, struct pkt *p);

/* The client's acknowledgements (SACK blocks, TSecr) of a SYNPROXY session go back into the
 * real server's space. */
static inline void
synproxy_shift_in(struct pkt *p)
{
	const struct fnat_conn *c = p->c;
	p->shift.acks = (c->flags & FNAT_CONN_F_SYNPROXY) != 0;
	p->shift.ack = c->sp_delta;
	p->shift.tsecr = c->ts_delta;
}

/** The SYNPROXY stage, client→VIP, TCP (after the session stage). PKT_CONTINUE: p->c is
 * translated, with p->shift set. */
static inline int
synproxy_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p)
{
	if (p->svc->flags & FNAT_SVC_F_SYNPROXY) {
		int v = synproxy_service_in(w, s, p);
		if (v != PKT_CONTINUE)
			return v;
	}
	synproxy_shift_in(p);
	return PKT_CONTINUE;
}

/** The SYNPROXY stage, RS→client, TCP: sets p->shift (PKT_CONTINUE), or hands a waiting
 * session's packet to synproxy_wait_out. */
static inline int
synproxy_out(struct fnat_worker *w, struct pkt *p)
{
	const struct fnat_conn *c = p->c;
	/* sp_delta is the real server's sequence shift (0 unless SYNPROXY set it; a peer's record
	 * carries it as it is). */
	p->shift.seq = c->sp_delta;
	p->shift.tsval = 0;
	if (!(c->flags & FNAT_CONN_F_SYNPROXY))
		return PKT_CONTINUE;
	if (c->flags & FNAT_CONN_F_SP_WAIT_RS)
		return synproxy_wait_out(w, p);
	/* The real server's TSval onto the clock our SYN-ACK showed the client. */
	p->shift.tsval = c->ts_delta;
	return PKT_CONTINUE;
}

/** Expiry sweep of a session waiting for the real server: retransmit the SYN or give up.
 * Returns true when the session stays. */
bool synproxy_timer(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c);

#endif /* FNAT_SYNPROXY_H */
