// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * maglev.c - the weighted Maglev lookup table of a route (maglev.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "maglev.h"
#include "portier_hash.h"
#include "routes.h"

const char *pt_maglev_key(const struct pt_addr *addr, uint16_t port, char *buf, size_t len)
{
	return pt_addrport_str(addr, port, buf, len);
}

bool pt_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

uint64_t pt_maglev_hash(const char *route, const char *key, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;	/* FNV-1a 64 */
	const unsigned char *s;

	for (s = (const unsigned char *)route; *s; s++)
		h = (h ^ *s) * 0x100000001b3ULL;
	h = (h ^ 0) * 0x100000001b3ULL;		/* the separator */
	for (s = (const unsigned char *)key; *s; s++)
		h = (h ^ *s) * 0x100000001b3ULL;
	return portier_mix64(h);	/* every input bit moves every output bit */
}

/* Seeds of the two hashes the paper names h1 (offset) and h2 (skip). */
#define SEED_OFFSET	0x6f66667365740000ULL	/* "offset" */
#define SEED_SKIP	0x736b697000000000ULL	/* "skip" */

int pt_maglev_build(const char *route, const struct pt_maglev_backend *be, size_t n,
		    uint32_t m, uint32_t *table)
{
	uint32_t *skip, *pos, wmax = 0, filled = 0, i;
	uint64_t *credit;
	size_t j;
	int used = 0;

	if (m < PT_MAGLEV_SIZE_MIN || m > PT_MAGLEV_SIZE_MAX || !pt_is_prime(m) ||
	    n > (m - 1) / PT_MAGLEV_SLOTS_PER_BACKEND)
		return -EINVAL;
	for (i = 0; i < m; i++)
		table[i] = UINT32_MAX;
	for (j = 0; j < n; j++) {
		if (be[j].weight > PT_WEIGHT_MAX)
			return -EINVAL;
		if (be[j].weight > wmax)
			wmax = be[j].weight;
		used += be[j].weight > 0;
	}
	if (used == 0)
		return 0;
	skip = calloc(n, sizeof(*skip));
	pos = calloc(n, sizeof(*pos));
	credit = calloc(n, sizeof(*credit));
	if (!skip || !pos || !credit) {
		free(skip);
		free(pos);
		free(credit);
		return -ENOMEM;
	}
	for (j = 0; j < n; j++) {
		pos[j] = pt_maglev_hash(route, be[j].key, SEED_OFFSET) % m;	/* offset */
		skip[j] = pt_maglev_hash(route, be[j].key, SEED_SKIP) % (m - 1) + 1;
	}
	/* Rounds: backend j earns weight_j credits a round and claims a slot
	 * for every wmax it holds, so after R rounds it has claimed
	 * floor(R * w_j / wmax) slots: shares in proportion to the weights,
	 * within one slot. The loop ends: each round claims >= 1 slot. */
	while (filled < m) {
		for (j = 0; j < n && filled < m; j++) {
			if (be[j].weight == 0)
				continue;
			credit[j] += be[j].weight;
			if (credit[j] < wmax)
				continue;
			credit[j] -= wmax;
			for (;;) {
				/* Backend j's permutation, (offset + k * skip) % m
				 * for k = 0, 1, ..., walked by additions: pos[j]
				 * is its next entry (no division per probe). */
				uint32_t c = pos[j];

				pos[j] += skip[j];	/* < 2m: no overflow, m < 2^31 */
				if (pos[j] >= m)
					pos[j] -= m;
				if (table[c] == UINT32_MAX) {
					table[c] = be[j].id;
					filled++;
					break;
				}
			}
		}
	}
	free(skip);
	free(pos);
	free(credit);
	return used;
}
