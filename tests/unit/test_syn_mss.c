// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_syn_mss.c - the MSS cookie SYN-ACKs offer (user/syn_mss.h): the
 * smaller MTU less 40, bounded; an interface's MTU read by name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "syn_mss.h"

static void test_mss_for(void **state)
{
	(void)state;
	assert_int_equal(pt_syn_mss_for(1500, 1500), 1460);
	assert_int_equal(pt_syn_mss_for(1500, 1400), 1360);	/* output smaller */
	assert_int_equal(pt_syn_mss_for(1280, 1500), 1240);	/* input smaller */
	assert_int_equal(pt_syn_mss_for(9000, 9000), 8960);
	assert_int_equal(pt_syn_mss_for(65536, 65536), PT_SYN_MSS_MAX);	/* loopback */
	assert_int_equal(pt_syn_mss_for(68, 1500), PT_SYN_MSS_MIN);	/* IPv4's least */
	assert_int_equal(pt_syn_mss_for(0, 1500), PT_SYN_MSS_MIN);
}

static void test_nic_mtu(void **state)
{
	unsigned int mtu = 0;

	(void)state;
	/* Every network namespace has lo, with a non-zero MTU. */
	assert_int_equal(pt_nic_mtu("lo", &mtu), 0);
	assert_true(mtu > 0);
	assert_int_equal(pt_nic_mtu("no-such-nic0", &mtu), -ENODEV);
	assert_int_equal(pt_nic_mtu("a-name-longer-than-ifnamsiz", &mtu), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mss_for),
		cmocka_unit_test(test_nic_mtu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
