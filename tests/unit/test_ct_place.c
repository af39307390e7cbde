// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_ct_place.c - where the connection table puts a key
 * (portier_ct_locate in include/portier.h, shared by the program and
 * userspace): keys spread evenly over the buckets; keys that differ only in
 * their destination port (a backend's SNAT reply entries) take consecutive
 * buckets; tags tell such keys apart. And portier_ct_tag_count, the
 * branchless check of a bucket's tags that a claim makes.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/types.h>

#include "portier.h"

#define SEED	0x243f6a8885a308d3ULL

/* A deterministic stream of keys: xorshift64 over the tuple. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static struct portier_flow_key random_key(void)
{
	struct portier_flow_key k;
	uint64_t r = rnd();

	memset(&k, 0, sizeof(k));
	k.saddr = (uint32_t)r;
	k.daddr = htonl(0xc6336401);
	k.sport = (uint16_t)(r >> 32);
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	return k;
}

/* 262,144 client tuples over 4,096 buckets: every bucket within six
 * standard deviations (8) of the mean (64). */
static void test_spread(void **state)
{
	enum { N = 4096, KEYS = 262144 };
	static unsigned int load[N];
	__u32 step = portier_ct_step_for(N), tag;

	(void)state;
	memset(load, 0, sizeof(load));
	for (int i = 0; i < KEYS; i++) {
		struct portier_flow_key k = random_key();
		__u32 b = portier_ct_locate(&k, SEED, N, step, &tag);

		assert_true(b < N);
		assert_true(tag & 1);
		load[b]++;
	}
	for (int b = 0; b < N; b++) {
		assert_true(load[b] >= 64 - 48);
		assert_true(load[b] <= 64 + 48);
	}
}

/* A backend's reply tuples for SNAT ports p, p+1, ...: the next bucket
 * each time (two ahead when rounding crosses one), at every table size;
 * their tags all differ. */
static void test_ports_in_consecutive_buckets(void **state)
{
	static const __u32 sizes[] = { 2, 512, 32768, 375000, 1u << 22 };
	struct portier_flow_key k;
	static __u32 tags[13616];

	(void)state;
	memset(&k, 0, sizeof(k));
	k.saddr = htonl(0xcb00710b);	/* backend 203.0.113.11:30080 */
	k.sport = htons(30080);
	k.daddr = htonl(0xcb007101);	/* SNAT address */
	k.proto = IPPROTO_TCP;
	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		__u32 n = sizes[z], step = portier_ct_step_for(n), prev = 0, ones = 0, tag;

		for (__u32 port = 16384; port <= 29999; port++) {
			__u32 b, d;

			k.dport = htons((uint16_t)port);
			b = portier_ct_locate(&k, SEED, n, step, &tag);
			assert_true(b < n);
			if (port > 16384) {
				d = (b + n - prev) % n;
				if (n > 2)
					assert_true(d == 1 || d == 2);
				ones += d == 1;
			}
			prev = b;
			tags[port - 16384] = tag;
		}
		if (n > 2)	/* mostly one bucket ahead */
			assert_true(ones > 13615 * 9 / 10);
	}
	for (int i = 0; i < 13616; i++)
		for (int j = i + 1; j < 13616; j++)
			if (tags[i] == tags[j])
				fail_msg("ports %d and %d share a tag", 16384 + i, 16384 + j);
}

/* The same tuple under another seed lands elsewhere: the placement is
 * the seed's, not the tuple's alone. */
static void test_seed_moves_keys(void **state)
{
	enum { N = 32768 };
	__u32 step = portier_ct_step_for(N), t1, t2, same = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		struct portier_flow_key k = random_key();

		same += portier_ct_locate(&k, SEED, N, step, &t1) ==
			portier_ct_locate(&k, SEED ^ 1, N, step, &t2);
	}
	assert_true(same < 10);
}

/* The plain count portier_ct_tag_count must equal. */
static __u32 tag_count_plain(const __u32 *tags, __u32 t)
{
	__u32 n = 0;

	for (int i = 0; i < PORTIER_CT_SLOTS; i++)
		n += tags[i] == t || tags[i] == t - 1;
	return n;
}

/* Buckets of free slots, other tags, the key's tag t, its mark t - 1, and
 * the neighbours that a carry or borrow between the two lanes of a word
 * would confuse (t + 1, t - 2, t ^ 1 << 31, 1, 0xffffffff), in every
 * arrangement a random stream gives, and each lane alone. */
static void test_tag_count(void **state)
{
	__u32 tags[PORTIER_CT_SLOTS] __attribute__((aligned(8)));

	(void)state;
	for (int round = 0; round < 200000; round++) {
		__u32 t = (__u32)rnd() | 3;
		const __u32 near[] = { 0, t, t - 1, t + 1, t - 2, t ^ 1U << 31, 1, 0xffffffffU,
				       (__u32)rnd() | 1, (__u32)rnd() & ~1U };

		for (int i = 0; i < PORTIER_CT_SLOTS; i++)
			tags[i] = near[rnd() % (sizeof(near) / sizeof(near[0]))];
		assert_int_equal(portier_ct_tag_count(tags, t), tag_count_plain(tags, t));
	}
	for (int i = 0; i < PORTIER_CT_SLOTS; i++) {
		__u32 t = 0x80000003U;

		memset(tags, 0, sizeof(tags));
		tags[i] = t - 1;
		assert_int_equal(portier_ct_tag_count(tags, t), 1);
		tags[i ^ 1] = t;
		assert_int_equal(portier_ct_tag_count(tags, t), 2);
		tags[i ^ 1] = t - 2;
		assert_int_equal(portier_ct_tag_count(tags, t), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_ports_in_consecutive_buckets),
		cmocka_unit_test(test_seed_moves_keys),
		cmocka_unit_test(test_tag_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
