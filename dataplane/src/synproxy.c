/* SYNPROXY: see synproxy.h. (Work in progress: pass-through until the cookie path lands.) */
#include "synproxy.h"

int
synproxy_in(struct fnat_worker *w, const struct fnat_snapshot *s, const struct fnat_svc *svc,
	    struct fnat_conn **c, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
	    const struct fnat_key *k, unsigned pidx)
{
	RTE_SET_USED(w); RTE_SET_USED(s); RTE_SET_USED(svc); RTE_SET_USED(c);
	RTE_SET_USED(m); RTE_SET_USED(ip); RTE_SET_USED(k); RTE_SET_USED(pidx);
	return -FNAT_DROP_NO_SESSION;
}

void
synproxy_in_ack(struct fnat_conn *c, struct rte_tcp_hdr *th)
{
	RTE_SET_USED(c); RTE_SET_USED(th);
}

int
synproxy_out(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c,
	     struct rte_mbuf *m, struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th, unsigned pidx)
{
	RTE_SET_USED(w); RTE_SET_USED(s); RTE_SET_USED(c); RTE_SET_USED(m);
	RTE_SET_USED(ip); RTE_SET_USED(th); RTE_SET_USED(pidx);
	return SYNPROXY_CONTINUE;
}

bool
synproxy_timer(struct fnat_worker *w, const struct fnat_snapshot *s, struct fnat_conn *c)
{
	RTE_SET_USED(w); RTE_SET_USED(s); RTE_SET_USED(c);
	return false;
}

void
synproxy_conn_freed(struct fnat_worker *w, struct fnat_conn *c)
{
	RTE_SET_USED(w); RTE_SET_USED(c);
}
