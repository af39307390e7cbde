// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dp_runtime.c - runtime changes (user/dp_runtime.c) against a loaded
 * skeleton (root): a backend drained and enabled, down and up, and the
 * rotation of its route following.
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

#include "dataplane.h"
#include "portier.skel.h"
#include "testdp.h"

static void test_drain_and_enable(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f;
	struct portier_route rt;
	int b1;

	(void)state;
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	b1 = pt_dp_backend_id(dp, "a", &f.ba[1].addr, PORT_A);
	assert_int_equal(pt_dp_backend_set(dp, "a", &f.ba[1].addr, PORT_A, PT_DP_BE_DRAINED,
					   true), 0);
	rt = td_route_of(dp, "a");
	assert_int_equal(rt.n_active, 2);
	assert_int_not_equal(rt.active[0], b1);
	assert_int_not_equal(rt.active[1], b1);
	/* Down as well, then enabled: still out until it is up. */
	assert_int_equal(pt_dp_backend_set(dp, "a", &f.ba[1].addr, PORT_A, PT_DP_BE_DOWN,
					   true), 0);
	assert_int_equal(pt_dp_backend_set(dp, "a", &f.ba[1].addr, PORT_A, PT_DP_BE_DRAINED,
					   false), 0);
	assert_int_equal(td_route_of(dp, "a").n_active, 2);
	/* A reapply keeps the state. */
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_int_equal(td_route_of(dp, "a").n_active, 2);
	assert_int_equal(pt_dp_backend_set(dp, "a", &f.ba[1].addr, PORT_A, PT_DP_BE_DOWN,
					   false), 0);
	rt = td_route_of(dp, "a");
	assert_int_equal(rt.n_active, 3);
	assert_int_equal(rt.active[1], b1);	/* back in inventory order */
	assert_int_equal(pt_dp_backend_set(dp, "a", &f.ba[1].addr, PORT_B, PT_DP_BE_DOWN,
					   true), -ENOENT);
	pt_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_and_enable),
	};

	return td_run("test_dp_runtime", tests, sizeof(tests) / sizeof(tests[0]));
}
