// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_maglev.c - the weighted Maglev table (user/maglev.h) and the tuple
 * hashes that index it (include/portier_hash.h): 1,000,000 random tuples
 * spread within 1% of each backend's ideal share, weights included;
 * removing one backend moves its tuples and at most 1% of the others';
 * the table depends on the inventory alone; the limits are enforced; a
 * backend's key text (IPv4 as it always was, IPv6 bracketed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "maglev.h"
#include "portier_hash.h"
#include "routes.h"

#define TUPLES	1000000u
#define M	PT_MAGLEV_SIZE_DEFAULT

/* xorshift64*: reproducible random tuples (a fixed seed: no flakes). */
static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

static char keys[256][32];

/* n backends 198.51.100.(10+i):8080, ids 100+i, weights w (NULL: 1). */
static void backends(struct pt_maglev_backend *be, size_t n, const uint32_t *w)
{
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "198.51.100.%zu:8080", 10 + i);
		be[i].key = keys[i];
		be[i].weight = w ? w[i] : 1;
		be[i].id = 100 + (uint32_t)i;
	}
}

/* The slot of a random 5-tuple (source) or client address. */
static uint32_t random_slot(bool source)
{
	uint64_t r = rnd();
	__be32 saddr = (__be32)r, daddr = htobe32(0xcb007101);	/* 203.0.113.1 */
	__be16 sport = (__be16)(r >> 32), dport = htobe16(80);

	if (source)
		return portier_source_hash(saddr) % M;
	return portier_tuple_hash(saddr, daddr, sport, dport, 6) % M;
}

static void test_prime(void **state)
{
	(void)state;
	assert_true(pt_is_prime(2));
	assert_true(pt_is_prime(101));
	assert_true(pt_is_prime(65537));
	assert_true(pt_is_prime(PT_MAGLEV_SIZE_MAX));
	assert_false(pt_is_prime(1));
	assert_false(pt_is_prime(65536));
	assert_false(pt_is_prime(65539 * 3));
	assert_false(pt_is_prime(251 * 257));
}

static void test_limits(void **state)
{
	static uint32_t table[PT_MAGLEV_SIZE_MAX];
	struct pt_maglev_backend be[256];

	(void)state;
	backends(be, 256, NULL);
	assert_int_equal(pt_maglev_build("r", be, 3, 65536, table), -EINVAL);	/* not prime */
	assert_int_equal(pt_maglev_build("r", be, 1, 97, table), -EINVAL);	/* too small */
	assert_int_equal(pt_maglev_build("r", be, 1, 1048583, table), -EINVAL);	/* too big */
	/* M > 100 * N: 101 slots take one backend, not two. */
	assert_int_equal(pt_maglev_build("r", be, 1, 101, table), 1);
	assert_int_equal(pt_maglev_build("r", be, 2, 101, table), -EINVAL);
	assert_int_equal(pt_maglev_build("r", be, 256, 25601, table), 256);	/* prime */
	assert_int_equal(pt_maglev_build("r", be, 256, 25523, table), -EINVAL);
	be[0].weight = PT_WEIGHT_MAX + 1;
	assert_int_equal(pt_maglev_build("r", be, 2, M, table), -EINVAL);
	/* Every weight 0: no backend, an empty table. */
	be[0].weight = 0;
	be[1].weight = 0;
	assert_int_equal(pt_maglev_build("r", be, 2, 211, table), 0);
	for (uint32_t i = 0; i < 211; i++)
		assert_int_equal(table[i], UINT32_MAX);
}

/* Count the tuples of each backend and check each within 1% of its share
 * sum(w) / w, both over the table's slots and over TUPLES random tuples. */
static void check_spread(size_t n, const uint32_t *w, bool source)
{
	struct pt_maglev_backend be[16];
	uint32_t *table = malloc(M * sizeof(*table));
	uint64_t slots[16] = { 0 }, hits[16] = { 0 }, wsum = 0;
	uint32_t i;
	size_t j;

	assert_non_null(table);
	backends(be, n, w);
	assert_int_equal(pt_maglev_build("web", be, n, M, table), (int)n);
	for (i = 0; i < M; i++) {
		assert_true(table[i] >= 100 && table[i] < 100 + n);
		slots[table[i] - 100]++;
	}
	for (i = 0; i < TUPLES; i++)
		hits[table[random_slot(source)] - 100]++;
	for (j = 0; j < n; j++)
		wsum += be[j].weight;
	for (j = 0; j < n; j++) {
		double ideal = (double)be[j].weight / (double)wsum;
		double by_slots = (double)slots[j] / M, by_tuples = (double)hits[j] / TUPLES;

		if (by_slots < ideal * 0.99 || by_slots > ideal * 1.01 ||
		    by_tuples < ideal * 0.99 || by_tuples > ideal * 1.01)
			fail_msg("backend %zu (weight %u): share %.5f of slots, %.5f of tuples, ideal %.5f",
				 j, be[j].weight, by_slots, by_tuples, ideal);
	}
	free(table);
}

static void test_spread_equal(void **state)
{
	(void)state;
	check_spread(2, NULL, false);
	check_spread(7, NULL, false);
	check_spread(10, NULL, false);
}

static void test_spread_weighted(void **state)
{
	/* HAProxy's weights: a backend of weight 4 takes four times the
	 * connections of one of weight 1. */
	static const uint32_t w1[] = { 1, 2, 3, 4 };
	static const uint32_t w2[] = { 10, 10, 20, 5, 5 };
	static const uint32_t w3[] = { 256, 128, 64, 64 };

	(void)state;
	check_spread(4, w1, false);
	check_spread(5, w2, false);
	check_spread(4, w3, false);
}

static void test_spread_source(void **state)
{
	static const uint32_t w[] = { 1, 1, 2 };

	(void)state;
	check_spread(3, w, true);
}

/* A weight of 0 takes no slot; the others keep their shares. */
static void test_weight_zero(void **state)
{
	struct pt_maglev_backend be[3];
	uint32_t *table = malloc(M * sizeof(*table));
	uint32_t i;

	(void)state;
	assert_non_null(table);
	backends(be, 3, NULL);
	be[1].weight = 0;
	assert_int_equal(pt_maglev_build("web", be, 3, M, table), 2);
	for (i = 0; i < M; i++)
		assert_true(table[i] == 100 || table[i] == 102);
	free(table);
}

/* Remove backend `gone` of n: the tuples of the others that change
 * backend are at most 1% of the others' tuples (by slots and by TUPLES
 * random tuples); the removed one's all go elsewhere. */
static void check_disruption(size_t n, size_t gone)
{
	struct pt_maglev_backend be[16], less[16];
	uint32_t *before = malloc(M * sizeof(*before)), *after = malloc(M * sizeof(*after));
	uint64_t others = 0, moved = 0, t_others = 0, t_moved = 0;
	size_t j, k = 0;
	uint32_t i;

	assert_non_null(before);
	assert_non_null(after);
	backends(be, n, NULL);
	for (j = 0; j < n; j++)
		if (j != gone)
			less[k++] = be[j];
	assert_int_equal(pt_maglev_build("web", be, n, M, before), (int)n);
	assert_int_equal(pt_maglev_build("web", less, n - 1, M, after), (int)n - 1);
	for (i = 0; i < M; i++) {
		if (before[i] == be[gone].id) {
			assert_int_not_equal(after[i], be[gone].id);
			continue;
		}
		others++;
		moved += after[i] != before[i];
	}
	for (i = 0; i < TUPLES; i++) {
		uint32_t s = random_slot(false);

		if (before[s] == be[gone].id)
			continue;
		t_others++;
		t_moved += after[s] != before[s];
	}
	if (moved * 100 > others || t_moved * 100 > t_others)
		fail_msg("removing backend %zu of %zu moved %lu of %lu other slots, %lu of %lu tuples",
			 gone, n, (unsigned long)moved, (unsigned long)others,
			 (unsigned long)t_moved, (unsigned long)t_others);
	print_message("removing backend %zu of %zu: %lu of %lu other slots moved (%.3f%%)\n",
		      gone, n, (unsigned long)moved, (unsigned long)others,
		      100.0 * (double)moved / (double)others);
	free(before);
	free(after);
}

static void test_disruption(void **state)
{
	(void)state;
	check_disruption(3, 1);
	check_disruption(5, 0);
	check_disruption(10, 3);
	check_disruption(16, 15);
}

/* The table depends on the route's name and the backends' identities
 * alone: built twice (two gateways), it is the same; another route with
 * the same backends gets another permutation. */
static void test_inventory_only(void **state)
{
	struct pt_maglev_backend be[5];
	uint32_t *a = malloc(M * sizeof(*a)), *b = malloc(M * sizeof(*b));

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	backends(be, 5, NULL);
	assert_int_equal(pt_maglev_build("web", be, 5, M, a), 5);
	assert_int_equal(pt_maglev_build("web", be, 5, M, b), 5);
	assert_memory_equal(a, b, M * sizeof(*a));
	assert_int_equal(pt_maglev_build("api", be, 5, M, b), 5);
	assert_memory_not_equal(a, b, M * sizeof(*a));
	/* Pinned values: a change of hash would split a pool of mixed
	 * versions; this test makes it a decision. */
	assert_true(pt_maglev_hash("web", "198.51.100.10:8080", 0) == 0xaf9edacdbb432377ULL);
	free(a);
	free(b);
}

/* The key a backend hashes by: IPv4 byte for byte as before IPv6 came
 * (else every table of a pool would move at the upgrade), IPv6 in
 * pt_addrport_str's brackets; the longest of each fits the buffer. */
static void test_key(void **state)
{
	char buf[PT_MAGLEV_KEY_BUF];
	struct pt_addr a;

	(void)state;
	assert_int_equal(pt_addr_parse("198.51.100.10", &a), 0);
	assert_memory_equal(pt_maglev_key(&a, 8080, buf, sizeof(buf)), "198.51.100.10:8080",
			    sizeof("198.51.100.10:8080"));
	assert_true(pt_maglev_hash("web", buf, 0) == 0xaf9edacdbb432377ULL);
	assert_int_equal(pt_addr_parse("255.255.255.255", &a), 0);
	assert_string_equal(pt_maglev_key(&a, 65535, buf, sizeof(buf)), "255.255.255.255:65535");
	assert_int_equal(pt_addr_parse("2001:db8::a", &a), 0);
	assert_string_equal(pt_maglev_key(&a, 8080, buf, sizeof(buf)), "[2001:db8::a]:8080");
	assert_int_equal(pt_addr_parse("2001:db8:ffff:ffff:ffff:ffff:255.255.255.255", &a), 0);
	assert_string_equal(pt_maglev_key(&a, 65535, buf, sizeof(buf)),
			    "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(pt_addr_parse("::ffff:198.51.100.10", &a), 0);
	assert_string_equal(pt_maglev_key(&a, 8080, buf, sizeof(buf)),
			    "[::ffff:198.51.100.10]:8080");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_spread_equal),
		cmocka_unit_test(test_spread_weighted),
		cmocka_unit_test(test_spread_source),
		cmocka_unit_test(test_weight_zero),
		cmocka_unit_test(test_disruption),
		cmocka_unit_test(test_inventory_only),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
