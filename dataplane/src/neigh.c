/* Neighbour table: static entries from the options, learned ones from ARP. One writer at a time:
 * the control thread before the workers start, then worker 0 (every ARP frame is handed to it),
 * so readers on any worker need no lock: the address is written before the MAC word, and the
 * MAC word (valid bit + 48 bits) is one atomic store. */
#include <string.h>

#include <rte_hash_crc.h>

#include "dp_pvt.h"

#define NEIGH_VALID (1ull << 63)

static uint32_t
slot_of(uint32_t addr)
{
	return rte_hash_crc_4byte(addr, 0x0a1b2c3d) & (FNAT_NEIGH_SLOTS - 1);
}

void
neigh_set(struct fnat_dp *dp, uint32_t addr, const uint8_t mac[6], bool is_static)
{
	uint64_t v = 0;
	memcpy(&v, mac, 6); /* little-endian host: the MAC's bytes land in the low 48 bits */
	v |= NEIGH_VALID;
	uint32_t i = slot_of(addr);
	for (uint32_t probe = 0; probe < FNAT_NEIGH_SLOTS; probe++, i = (i + 1) & (FNAT_NEIGH_SLOTS - 1)) {
		struct fnat_neigh *n = &dp->neigh[i];
		uint32_t a = __atomic_load_n(&n->addr, __ATOMIC_ACQUIRE);
		if (a == addr) {
			if (n->is_static && !is_static)
				return; /* ARP never overrides a static entry */
			n->is_static = is_static;
			if (__atomic_load_n(&n->mac, __ATOMIC_RELAXED) != v) {
				__atomic_store_n(&n->mac, v, __ATOMIC_RELEASE);
				__atomic_fetch_add(&dp->neigh_gen, 1, __ATOMIC_RELEASE);
			}
			return;
		}
		if (a == 0) {
			n->is_static = is_static;
			__atomic_store_n(&n->mac, v, __ATOMIC_RELAXED);
			__atomic_store_n(&n->addr, addr, __ATOMIC_RELEASE);
			__atomic_fetch_add(&dp->neigh_gen, 1, __ATOMIC_RELEASE);
			return;
		}
	}
	/* Full: learned entries are best effort; the next ARP exchange retries. */
}

bool
neigh_get(const struct fnat_dp *dp, uint32_t addr, uint8_t mac[6])
{
	uint32_t i = slot_of(addr);
	for (uint32_t probe = 0; probe < FNAT_NEIGH_SLOTS; probe++, i = (i + 1) & (FNAT_NEIGH_SLOTS - 1)) {
		const struct fnat_neigh *n = &dp->neigh[i];
		uint32_t a = __atomic_load_n(&n->addr, __ATOMIC_ACQUIRE);
		if (a == addr) {
			uint64_t v = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
			if (!(v & NEIGH_VALID))
				return false;
			memcpy(mac, &v, 6);
			return true;
		}
		if (a == 0)
			return false;
	}
	return false;
}
