/* SYNPROXY: syncookie SYN-ACKs, stateless ACK validation, the real server's handshake and the
 * sequence shift that follows. The pipeline's SYNPROXY stage (between session and translate).
 * Worker thread only. */
#ifndef FNAT_SYNPROXY_H
#define FNAT_SYNPROXY_H

#include "dp_pvt.h"
#include "worker_pvt.h"

/** Client→VIP, TCP (after the session stage; p->c may be NULL on a SYNPROXY service). On a
 * SYNPROXY service: a cookie SYN-ACK for a SYN (PKT_SEND), a session and the ACK kept for a
 * valid cookie ACK (PKT_CONSUMED), drops of what no handshake explains. PKT_CONTINUE: p->c
 * is translated, with p->shift set. */
int synproxy_in(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p);

/** RS→client, TCP: sets p->shift (PKT_CONTINUE). On a session waiting for the real server:
 * its RST or anything but the expected SYN-ACK is consumed; the SYN-ACK fixes the shifts and
 * the kept client ACK resumes client→RS in p (PKT_RESUME). */
int synproxy_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct pkt *p);

/** Expiry sweep of a session waiting for the real server: retransmit the SYN or give up.
 * Returns true when the session stays. */
bool synproxy_timer(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c);

#endif /* FNAT_SYNPROXY_H */
