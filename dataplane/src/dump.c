/* Session listings for the control thread (fnat_sessions).
 *
 * With running workers each worker copies its own table at a quiet point of its loop, into a
 * request the control thread posted in the worker's dump slot. The request owns its buffer: the
 * caller's array is written by the control thread alone, from a request the worker completed.
 * A request the control thread gives up on is either taken back (the worker never saw it) or
 * handed over to the worker, which frees it when it is done; so a worker that answers late
 * writes into memory nobody reads any more, never into a buffer returned to the caller.
 *
 *   control: post ──────────────────────────────── collect: DONE → copy out, free
 *   worker:          take ─── fill ─── PENDING → DONE (or ABANDONED → free)
 *   control (timeout): slot still holds it → take it back, free │ else PENDING → ABANDONED
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>

#include "dp_pvt.h"

enum { DUMP_PENDING, DUMP_DONE, DUMP_ABANDONED };

struct fnat_dump_req {
	uint32_t state; /* DUMP_*: the worker and the control thread race on it with CAS */
	uint32_t cap, n;
	struct fnat_session_info out[];
};

uint32_t
dump_sessions(struct fnat_worker *w, struct fnat_session_info *out, uint32_t cap)
{
	uint32_t n = 0;
	uint32_t now = (uint32_t)worker_now_ms(w->dp);
	for (uint32_t i = 0; i < w->ct.hwm && n < cap; i++) {
		const struct fnat_conn *c = &w->ct.conns[i];
		if (c->proto == 0)
			continue;
		struct fnat_session_info *o = &out[n++];
		o->caddr = c->caddr;
		o->vaddr = c->vaddr;
		o->laddr = c->laddr;
		o->raddr = c->raddr;
		o->cport = rte_be_to_cpu_16(c->cport);
		o->vport = rte_be_to_cpu_16(c->vport);
		o->lport = rte_be_to_cpu_16(c->lport);
		o->rport = rte_be_to_cpu_16(c->rport);
		o->proto = c->proto;
		o->state = c->state;
		o->worker = (uint16_t)w->id;
		int32_t left = (int32_t)(c->expire - now);
		o->expires_in_ms = left > 0 ? (uint32_t)left : 0;
	}
	return n;
}

struct fnat_dump_req *
dump_post(struct fnat_worker *w, uint32_t cap)
{
	/* Plain heap, not the EAL's: a listing can be large and no device reads it. */
	struct fnat_dump_req *req = malloc(sizeof(*req) + (size_t)cap * sizeof(req->out[0]));
	if (req == NULL)
		return NULL;
	req->state = DUMP_PENDING;
	req->cap = cap;
	req->n = 0;
	/* Release: the worker that takes the request sees it filled in. */
	__atomic_store_n(&w->dump_slot, req, __ATOMIC_RELEASE);
	return req;
}

/* Gives up on a request. True when it is no longer the caller's (taken back and freed, or left
 * to the worker to free); false when the worker completed it first (the result is usable). */
static bool
dump_abandon(struct fnat_worker *w, struct fnat_dump_req *req)
{
	struct fnat_dump_req *posted = req;
	if (__atomic_compare_exchange_n(&w->dump_slot, &posted, NULL, false, __ATOMIC_ACQUIRE,
					__ATOMIC_ACQUIRE)) {
		free(req); /* the worker never saw it */
		return true;
	}
	uint32_t pending = DUMP_PENDING;
	return __atomic_compare_exchange_n(&req->state, &pending, DUMP_ABANDONED, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int
dump_collect(struct fnat_worker *w, struct fnat_dump_req *req, uint64_t timeout_cycles,
	     struct fnat_session_info *out)
{
	uint64_t deadline = rte_get_tsc_cycles() + timeout_cycles;
	while (__atomic_load_n(&req->state, __ATOMIC_ACQUIRE) != DUMP_DONE) {
		if (rte_get_tsc_cycles() >= deadline) {
			if (dump_abandon(w, req))
				return -ETIMEDOUT;
			break; /* completed just now */
		}
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	uint32_t n = req->n;
	memcpy(out, req->out, (size_t)n * sizeof(*out));
	free(req);
	return (int)n;
}

struct fnat_dump_req *
dump_take(struct fnat_worker *w)
{
	/* A plain load first: the loop asks every iteration and nearly always finds nothing. */
	if (__atomic_load_n(&w->dump_slot, __ATOMIC_RELAXED) == NULL)
		return NULL;
	/* Exchange, not load: the control thread may take the request back at the same time. */
	return __atomic_exchange_n(&w->dump_slot, NULL, __ATOMIC_ACQUIRE);
}

bool
dump_finish(struct fnat_worker *w, struct fnat_dump_req *req)
{
	req->n = dump_sessions(w, req->out, req->cap);
	uint32_t pending = DUMP_PENDING;
	/* Release: the control thread that sees DONE sees the sessions. */
	if (__atomic_compare_exchange_n(&req->state, &pending, DUMP_DONE, false, __ATOMIC_RELEASE,
					__ATOMIC_ACQUIRE))
		return true;
	free(req); /* abandoned: the control thread returned without it */
	return false;
}

void
dump_serve(struct fnat_worker *w)
{
	struct fnat_dump_req *req = dump_take(w);
	if (req != NULL)
		dump_finish(w, req);
}
