/* Neighbour table: static entries from the options, learned ones from ARP.
 *
 * What is learned (neigh_learn): the answer to a request we sent, and, unverified, the sender
 * of a request for one of our addresses. Nothing else: an unsolicited reply teaches nothing,
 * and no ARP message replaces a MAC that is still valid; a message claiming another MAC makes
 * the entry due for re-verification instead (the caller asks the known MAC directly).
 *
 * Lifetime, on the data plane's clock (so fnat_clock_advance drives it in tests): an answered
 * entry is REACHABLE for FNAT_NEIGH_REACHABLE_MS; then STALE: still used, but whoever uses it
 * asks again, for FNAT_NEIGH_PROBE_MS; unanswered, it expires and worker 0's sweep removes it.
 * An entry learned from a request starts STALE (checked on first use). A full table evicts the
 * entry closest to expiry; only an unverified newcomer that would push out a REACHABLE entry
 * is refused.
 *
 * One writer at a time: the control thread before the workers start, then worker 0 (every ARP
 * frame is handed to it). Readers on any worker take no lock: a slot's stale time and MAC are
 * written before its address (release), the MAC word (valid bit + 48 bits) is one atomic store,
 * and a reader re-checks the address after reading the MAC, so a slot reused meanwhile reads
 * as a miss. Deleted slots keep probe chains intact (NEIGH_DELETED) until they end one. */
#include <string.h>

#include <rte_hash_crc.h>

#include "dp_pvt.h"

#define NEIGH_VALID (1ull << 63)
#define NEIGH_DELETED UINT32_MAX /* 255.255.255.255 is nobody's address */
#define NEIGH_STATIC UINT64_MAX  /* stale_ms of a static entry: never */

static uint32_t
slot_of(uint32_t addr)
{
	return rte_hash_crc_4byte(addr, 0x0a1b2c3d) & (FNAT_NEIGH_SLOTS - 1);
}

static inline uint32_t
next_slot(uint32_t i)
{
	return (i + 1) & (FNAT_NEIGH_SLOTS - 1);
}

static uint64_t
mac_word(const uint8_t mac[6])
{
	uint64_t v = 0;
	memcpy(&v, mac, 6); /* little-endian host: the MAC's bytes land in the low 48 bits */
	return v | NEIGH_VALID;
}

enum neigh_state
neigh_lookup(const struct fnat_dp *dp, uint32_t addr, uint64_t now, uint8_t mac[6],
	     uint64_t *fresh_until)
{
	uint32_t i = slot_of(addr);
	for (uint32_t probe = 0; probe < FNAT_NEIGH_SLOTS; probe++, i = next_slot(i)) {
		const struct fnat_neigh *n = &dp->neigh[i];
		uint32_t a = __atomic_load_n(&n->addr, __ATOMIC_ACQUIRE);
		if (a == 0)
			return NEIGH_NONE;
		if (a != addr)
			continue;
		uint64_t v = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
		uint64_t stale = __atomic_load_n(&n->stale_ms, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&n->addr, __ATOMIC_RELAXED) != addr || !(v & NEIGH_VALID))
			return NEIGH_NONE;
		memcpy(mac, &v, 6);
		if (stale == NEIGH_STATIC || now < stale) {
			*fresh_until = stale;
			return NEIGH_REACHABLE;
		}
		return now < stale + FNAT_NEIGH_PROBE_MS ? NEIGH_STALE : NEIGH_NONE;
	}
	return NEIGH_NONE;
}

/* ---- the writer's side ---- */

static bool
expired(const struct fnat_neigh *n, uint64_t now)
{
	return n->stale_ms != NEIGH_STATIC && now >= n->stale_ms + FNAT_NEIGH_PROBE_MS;
}

static void
changed(struct fnat_dp *dp)
{
	/* Workers' next-hop caches compare the generation. */
	__atomic_fetch_add(&dp->neigh_gen, 1, __ATOMIC_RELEASE);
}

/* The slot holding addr (NULL if none); *free receives the first slot an insert of addr may
 * take (NULL when the table is full). */
static struct fnat_neigh *
find(struct fnat_dp *dp, uint32_t addr, struct fnat_neigh **free)
{
	*free = NULL;
	uint32_t i = slot_of(addr);
	for (uint32_t probe = 0; probe < FNAT_NEIGH_SLOTS; probe++, i = next_slot(i)) {
		struct fnat_neigh *n = &dp->neigh[i];
		if (n->addr == addr)
			return n;
		if (n->addr == NEIGH_DELETED && *free == NULL)
			*free = n;
		if (n->addr == 0) {
			if (*free == NULL)
				*free = n;
			return NULL;
		}
	}
	return NULL;
}

static void
slot_fill(struct fnat_dp *dp, struct fnat_neigh *n, uint32_t addr, uint64_t mac, uint64_t stale)
{
	__atomic_store_n(&n->stale_ms, stale, __ATOMIC_RELAXED);
	__atomic_store_n(&n->mac, mac, __ATOMIC_RELEASE);
	__atomic_store_n(&n->addr, addr, __ATOMIC_RELEASE);
	changed(dp);
}

static void
slot_delete(struct fnat_dp *dp, struct fnat_neigh *n)
{
	__atomic_store_n(&n->mac, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&n->addr, NEIGH_DELETED, __ATOMIC_RELEASE);
	changed(dp);
	/* A deleted slot followed by an empty one ends every probe chain through it: it and the
	 * deleted slots before it can be empty again, which keeps misses short. */
	uint32_t i = (uint32_t)(n - dp->neigh);
	if (dp->neigh[next_slot(i)].addr != 0)
		return;
	while (dp->neigh[i].addr == NEIGH_DELETED) {
		__atomic_store_n(&dp->neigh[i].addr, 0, __ATOMIC_RELEASE);
		i = (i - 1) & (FNAT_NEIGH_SLOTS - 1);
	}
}

/* The learned entry closest to expiry (NULL when every entry is static). */
static struct fnat_neigh *
victim(struct fnat_dp *dp)
{
	struct fnat_neigh *best = NULL;
	for (uint32_t i = 0; i < FNAT_NEIGH_SLOTS; i++) {
		struct fnat_neigh *n = &dp->neigh[i];
		if (n->addr == 0 || n->addr == NEIGH_DELETED || n->stale_ms == NEIGH_STATIC)
			continue;
		if (best == NULL || n->stale_ms < best->stale_ms)
			best = n;
	}
	return best;
}

void
neigh_add_static(struct fnat_dp *dp, uint32_t addr, const uint8_t mac[6])
{
	struct fnat_neigh *free, *n = find(dp, addr, &free);
	if (n == NULL)
		n = free;
	if (n != NULL) /* FNAT_MAX_NEIGH_CONF is far below the table's size */
		slot_fill(dp, n, addr, mac_word(mac), NEIGH_STATIC);
}

enum neigh_verdict
neigh_learn(struct fnat_worker *w, uint32_t addr, const uint8_t mac[6], enum neigh_source src,
	    uint8_t known[6])
{
	struct fnat_dp *dp = w->dp;
	uint64_t now = w->now_ms, v = mac_word(mac);
	if (addr == 0 || addr == NEIGH_DELETED)
		return NEIGH_KEPT;
	struct fnat_neigh *free, *n = find(dp, addr, &free);
	if (n != NULL && !expired(n, now)) {
		if (n->mac == v) {
			if (src != NEIGH_ANSWER || n->stale_ms == NEIGH_STATIC)
				return NEIGH_KEPT;
			__atomic_store_n(&n->stale_ms, now + FNAT_NEIGH_REACHABLE_MS,
					 __ATOMIC_RELAXED);
			return NEIGH_CONFIRMED;
		}
		if (n->stale_ms == NEIGH_STATIC)
			return NEIGH_CONFLICT;
		/* Another MAC for a valid entry (a spoof, or a host that really moved): keep the
		 * known one, but make it due now, so it is confirmed by an answer from the known
		 * MAC or expires within the probe time and is asked for afresh. */
		if (n->stale_ms > now) {
			__atomic_store_n(&n->stale_ms, now, __ATOMIC_RELAXED);
			changed(dp);
		}
		memcpy(known, &n->mac, 6);
		return NEIGH_RECHECK;
	}
	if (src == NEIGH_HEARD)
		return NEIGH_KEPT;
	/* An answer is verified for the reachable time; a request's sender only claims its
	 * address: it is used, but asked at once. */
	uint64_t stale = src == NEIGH_ANSWER ? now + FNAT_NEIGH_REACHABLE_MS : now;
	if (n == NULL && free == NULL) {
		n = victim(dp);
		if (n == NULL || (src == NEIGH_CLAIM && now < n->stale_ms)) {
			w->stats.neigh_refused++;
			return NEIGH_KEPT;
		}
		w->stats.neigh_evicted++;
		/* The table has no empty slot, so every probe chain covers every slot: the
		 * victim's slot serves addr as well as any. */
		slot_delete(dp, n);
	}
	slot_fill(dp, n != NULL ? n : free, addr, v, stale);
	return NEIGH_LEARNED;
}

void
neigh_expire_scan(struct fnat_worker *w)
{
	struct fnat_dp *dp = w->dp;
	for (uint32_t i = 0; i < FNAT_NEIGH_SLOTS; i++) {
		struct fnat_neigh *n = &dp->neigh[i];
		if (n->addr != 0 && n->addr != NEIGH_DELETED && expired(n, w->now_ms)) {
			slot_delete(dp, n);
			w->stats.neigh_expired++;
		}
	}
}
