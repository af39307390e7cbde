// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_fuzz.c - the packet path under 200,000 generated inputs (a
 * fixed-seed run of the harness that tests/fuzz/fuzz_xdp.c gives to
 * libFuzzer): seed frames of every kind, mutated (bytes set, frames cut or
 * extended), through the XDP program with a small connection table. Every
 * input must keep the invariants of tests/lib/xdpfuzz.c (no rewrite of a
 * frame it drops or does not own, only MACs, TTL, addresses, ports and
 * checksums change, checksums that verified still verify, TTL minus one
 * exactly on a redirect; an ICMP error changes only in what its
 * translation may change, its checksums, the quoted ones included, still
 * verify from scratch; XDP_TX only for fragmentation needed, every byte of
 * it checked); the table stays consistent (no key twice, every
 * entry found by its key). Runs in a private network namespace; root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <bpf/libbpf.h>

#include "dataplane.h"
#include "metrics_collect.h"
#include "portier.skel.h"
#include "testnet.h"
#include "xdpfuzz.h"

#define N_INPUTS	200000
#define TABLE_EVERY	1000	/* inputs between two table checks */
#define MAX_PAIRS	6	/* (offset, value) mutations per input */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static int setup(void **state)
{
	(void)state;
	return xf_setup() ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	xf_teardown();
	return 0;
}

static void test_packet_path(void **state)
{
	uint8_t d[2 + 2 * MAX_PAIRS];
	const struct xf_counts *c = xf_counts();
	uint64_t reasons[PORTIER_R_MAX];
	const char *err;

	(void)state;
	for (size_t n = 0; n < N_INPUTS; n++) {
		/* A quarter unchanged seeds: flows, their replies, evictions. */
		size_t size = rnd() % 4 == 0 ? 1 : 2 + 2 * (1 + rnd() % MAX_PAIRS);

		for (size_t i = 0; i < size; i++)
			d[i] = (uint8_t)rnd();
		/* Offsets mostly inside the headers. */
		for (size_t i = 2; i + 1 < size; i += 2)
			if (rnd() % 4)
				d[i] %= 64;
		err = xf_one(d, size);
		if (err)
			fail_msg("input %zu (%zu bytes, seed %u): %s", n, size, d[0] >> 1, err);
		if (n % TABLE_EVERY == 0 && (err = xf_check_table()))
			fail_msg("after input %zu: %s", n, err);
	}
	assert_null(xf_check_table());
	/* The inputs reached every outcome, the rewrites and the evictions. */
	printf("xdp fuzz: %zu inputs: %llu pass, %llu drop, %llu redirect, %llu rewritten, "
	       "%llu ICMP errors translated, %llu fragmentation needed sent\n",
	       (size_t)N_INPUTS, (unsigned long long)c->pass, (unsigned long long)c->drop,
	       (unsigned long long)c->redirect, (unsigned long long)c->rewritten,
	       (unsigned long long)c->icmp_rewritten, (unsigned long long)c->tx);
	assert_true(c->pass > 0 && c->drop > 0 && c->redirect > 0);
	assert_true(c->rewritten > N_INPUTS / 100);
	assert_int_equal(pt_reasons_sum(pt_dp_skel(xf_dp())->maps.portier_reasons, reasons), 0);
	assert_true(reasons[PORTIER_R_CT_EVICTED] > 0);
	/* ... and the ICMP paths. */
	assert_true(c->icmp_rewritten > 0 && c->tx > 0);
	assert_true(reasons[PORTIER_R_ICMP_TRANSLATED] > 0);
	assert_true(reasons[PORTIER_R_ICMP_FRAG_NEEDED_SENT] > 0);
	assert_true(reasons[PORTIER_R_PASS_TOO_BIG] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_path),
	};

	if (tn_enter("test_xdp_fuzz"))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
