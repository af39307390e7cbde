/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * maglev.h - the Maglev lookup table of a route (Eisenbud et al., NSDI
 * 2016, section 3.4), weighted: which backend each of M slots names.
 * Built from the inventory alone (the route's name, each backend's
 * "address:port" and weight), so that every gateway of a pool builds the
 * same table without talking to the others.
 */
#ifndef PORTIER_MAGLEV_H
#define PORTIER_MAGLEV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_MAGLEV_SIZE_DEFAULT	65537u		/* Katran's M */
#define PT_MAGLEV_SIZE_MIN	101u		/* smallest M (prime) */
#define PT_MAGLEV_SIZE_MAX	1048573u	/* largest M (prime) */
#define PT_MAGLEV_SLOTS_PER_BACKEND 100u	/* M > 100 * N */
#define PT_WEIGHT_MAX		256u		/* HAProxy's weight range */
#define PT_WEIGHT_DEFAULT	1u

/* One backend of a table: its identity as the inventory names it
 * ("address:port"), its weight (0..PT_WEIGHT_MAX; 0 takes no slot) and
 * the id the table's slots hold. */
struct pt_maglev_backend {
	const char *key;
	uint32_t weight;
	uint32_t id;
};

/* A backend's key: its address and port as pt_addrport_str writes them,
 * "a.b.c.d:port" or "[IPv6]:port" (the IPv4 text is the one the tables
 * have always hashed: changing it would move every backend's slots). buf:
 * at least PT_MAGLEV_KEY_BUF. The daemon's tables and "portier config
 * lookup" spell it here, alike. */
#define PT_MAGLEV_KEY_BUF	(INET6_ADDRSTRLEN + 8)
struct pt_addr;
const char *pt_maglev_key(const struct pt_addr *addr, uint16_t port, char *buf, size_t len);

/* Is n a prime? */
bool pt_is_prime(uint32_t n);

/* The 64-bit hash of "route\0key" with seed: FNV-1a over the bytes,
 * finished by the splitmix64 mixer. Stable across hosts and versions:
 * the tables of a pool depend on it. */
uint64_t pt_maglev_hash(const char *route, const char *key, uint64_t seed);

/* Fill table[0..m-1] with the ids of the n backends be[] of route route
 * by Maglev's population: each backend walks its own permutation of the
 * slots (offset and skip from pt_maglev_hash of route and key) and
 * claims its next free slot in turns, as many turns as its weight allows
 * (the heaviest backend one a round, a backend of weight w w/wmax a
 * round): shares follow the weights. Backends of weight 0 take none.
 * Returns the number of backends that took slots (0: the table is left
 * empty, every slot UINT32_MAX), or -EINVAL if m is not a prime in [PT_MAGLEV_SIZE_MIN,
 * PT_MAGLEV_SIZE_MAX], or n > (m - 1) / PT_MAGLEV_SLOTS_PER_BACKEND;
 * -ENOMEM. */
int pt_maglev_build(const char *route, const struct pt_maglev_backend *be, size_t n,
		    uint32_t m, uint32_t *table);

#endif
