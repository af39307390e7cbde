// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dp_gc.c - conntrack garbage collection (user/dp_gc.c) against a
 * loaded skeleton (root): idle flows deleted, both directions together, and
 * the flows of a backend removed by an apply deleted with it; the same for
 * the IPv6 table (portier_conntrack6).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "testdp.h"

/* A data plane with the fixture's routes and a UDP timeout of 5 s; the
 * ids of route a's backends 203.0.113.2 and .3 in *b1, *b2. */
static struct pt_dataplane *gc_setup(struct td_fixture *f, int *b1, int *b2)
{
	struct pt_dataplane *dp = td_open_dp();
	struct portier_config cfg;

	pt_dp_config_defaults(&cfg);
	cfg.tmo_udp = 5;
	assert_int_equal(pt_dp_set_config(dp, &cfg), 0);
	td_fixture_init(f);
	assert_int_equal(pt_dp_apply(dp, &f->rs), 0);
	*b1 = pt_dp_backend_id(dp, "a", &f->ba[1].addr, PORT_A);
	*b2 = pt_dp_backend_id(dp, "a", &f->ba[2].addr, PORT_A);
	return dp;
}

/* Apply the fixture without route a's backend 203.0.113.2. */
static void remove_b1(struct pt_dataplane *dp, struct td_fixture *f)
{
	f->ba[1] = f->ba[2];
	f->r[0].n_backends = 2;
	assert_int_equal(pt_dp_apply(dp, &f->rs), 0);
}

static void test_gc_and_removed_backend_flows(void **state)
{
	struct td_fixture f;
	int b1, b2;
	struct pt_dataplane *dp = gc_setup(&f, &b1, &b2);
	size_t n = 0;
	__u64 now = td_now_ns();

	(void)state;
	td_put_flow(dp, 40000, b1, now);			/* fresh */
	td_put_flow(dp, 40001, b1, now - 10 * NS);		/* idle 10 s > 5 s */
	td_put_flow(dp, 40002, b2, now);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 6);
	assert_int_equal(pt_dp_gc(dp, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 4);

	/* Remove backend 203.0.113.2 from a: its flow goes, b2's stays. */
	remove_b1(dp, &f);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	assert_int_equal(pt_dp_backend_id(dp, "a", &f.ba[1].addr, PORT_A), b2);
	pt_dp_close(dp);
}

/* IPv6 flows expire by the same timeouts, both entries together, and go
 * with their backend; the IPv4 table's flows are left alone. */
static void test_gc6_and_removed_backend_flows(void **state)
{
	struct td_fixture f;
	int b1, b2;
	struct pt_dataplane *dp = gc_setup(&f, &b1, &b2);
	size_t n = 0;
	__u64 now = td_now_ns();

	(void)state;
	td_put_flow6(dp, 1, 40000, b1, now);			/* fresh */
	td_put_flow6(dp, 2, 40001, b1, now - 10 * NS);	/* idle 10 s > 5 s */
	td_put_flow6(dp, 3, 40002, b2, now - 4 * NS);	/* idle 4 s: kept */
	td_put_flow6(dp, 4, 40003, b2, now - 60 * NS);	/* idle 60 s */
	td_put_flow(dp, 40000, b1, now - 10 * NS);		/* IPv4, idle too */
	assert_int_equal(pt_ct_count(pt_dp_ct6(dp)), 8);
	assert_int_equal(pt_dp_gc(dp, &n), 0);
	assert_int_equal(n, 6);					/* 2 IPv6 flows, 1 IPv4 */
	assert_int_equal(pt_ct_count(pt_dp_ct6(dp)), 4);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 0);
	assert_int_equal(pt_dp_gc(dp, &n), 0);
	assert_int_equal(n, 0);

	/* Remove backend 203.0.113.2 (b1) from a: its IPv6 flow goes. */
	remove_b1(dp, &f);
	assert_int_equal(pt_ct_count(pt_dp_ct6(dp)), 2);
	assert_int_equal(pt_dp_backend_id(dp, "a", &f.ba[1].addr, PORT_A), b2);
	pt_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gc_and_removed_backend_flows),
		cmocka_unit_test(test_gc6_and_removed_backend_flows),
	};

	return td_run("test_dp_gc", tests, sizeof(tests) / sizeof(tests[0]));
}
