// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dp_addr6.c - this host's IPv6 addresses in the data plane (root, a
 * private network namespace: tests/lib/testnet.c): snat_addr6 is the
 * output NIC's usable global address (not link-local, deprecated or a ULA
 * while a global one exists; a ULA without one; all-zero without either)
 * and follows it on refresh; portier_local6 holds the input NIC's global
 * and ULA addresses, not its link-local one nor the output NIC's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
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

#include "addr6.h"
#include "dataplane.h"
#include "portier.skel.h"
#include "testdp.h"
#include "testnet.h"

/* Is text address s (IPv6) the data plane's snat_addr6? */
static bool snat6_is(struct pt_dataplane *dp, const char *s)
{
	struct portier_addr a = { 0 };

	if (s)
		assert_int_equal(inet_pton(AF_INET6, s, a.a8), 1);
	return !memcmp(&pt_dp_config(dp)->snat_addr6, &a, sizeof(a));
}

static bool in_local6(struct pt_dataplane *dp, const char *s)
{
	struct portier_addr a = { 0 };
	__u32 one;

	assert_int_equal(inet_pton(AF_INET6, s, a.a8), 1);
	return !bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_local6), &a, &one);
}

static void test_snat6_and_local6(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct portier_config cfg;
	struct pt_addr6 *v;
	struct td_fixture f;
	struct pt_backend be6;
	size_t n;

	(void)state;
	/* The test network's own IPv6 addresses out of the way: this test
	 * says which addresses each NIC has. */
	assert_int_equal(tn_sh("ip -6 addr del " TN6_GW_OUT "/64 dev " TN_IF_OUT), 0);
	assert_int_equal(tn_sh("ip -6 addr del " TN6_GW_IN "/64 dev " TN_IF_IN), 0);
	/* pout: a global address, a deprecated one, a ULA, its link-local. */
	assert_int_equal(tn_sh("ip -6 addr add 2001:db8:b::99/64 dev " TN_IF_OUT
			       " nodad preferred_lft 0"), 0);
	assert_int_equal(tn_sh("ip -6 addr add fd00:db8:b::1/64 dev " TN_IF_OUT " nodad"), 0);
	assert_int_equal(tn_sh("ip -6 addr add 2001:db8:b::1/64 dev " TN_IF_OUT " nodad"), 0);
	assert_int_equal(tn_sh("ip -6 addr add 2001:db8:a::1/64 dev " TN_IF_IN " nodad"), 0);
	assert_int_equal(tn_sh("ip -6 addr add fd00:db8:a::1/64 dev " TN_IF_IN " nodad"), 0);
	assert_int_equal(tn_sh("ip -6 addr add fe80::a:1/64 dev " TN_IF_IN " nodad"), 0);
	/* The kernel's list has them, with their flags. */
	assert_int_equal(pt_addr6_list(if_nametoindex(TN_IF_OUT), &v, &n), 0);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &v[i].addr, a, sizeof(a));
		if (!strcmp(a, "2001:db8:b::99"))
			assert_false(v[i].usable);	/* deprecated */
		if (!strcmp(a, "fd00:db8:b::1"))
			assert_true(v[i].ula && v[i].usable);
		assert_int_equal(v[i].link_local, a[0] == 'f' && a[1] == 'e' && a[2] == '8');
	}
	free(v);

	pt_dp_config_defaults(&cfg);
	cfg.input_ifindex = if_nametoindex(TN_IF_IN);
	cfg.output_ifindex = if_nametoindex(TN_IF_OUT);
	assert_int_equal(pt_dp_set_config(dp, &cfg), 0);
	assert_true(snat6_is(dp, "2001:db8:b::1"));
	assert_int_equal(pt_dp_refresh_macs(dp), 0);
	assert_true(snat6_is(dp, "2001:db8:b::1"));

	/* The global address goes: a refresh takes the ULA, then none. */
	assert_int_equal(tn_sh("ip -6 addr del 2001:db8:b::1/64 dev " TN_IF_OUT), 0);
	assert_int_equal(pt_dp_refresh_macs(dp), 0);
	assert_true(snat6_is(dp, "fd00:db8:b::1"));
	assert_int_equal(tn_sh("ip -6 addr del fd00:db8:b::1/64 dev " TN_IF_OUT), 0);
	assert_int_equal(pt_dp_refresh_macs(dp), 0);
	assert_true(snat6_is(dp, NULL));
	/* IPv4 routes only: no IPv6 route lacks its NAT66 source. */
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_false(pt_dp_snat6_missing(dp));
	/* An IPv6 dnat route needs none; an IPv6 snat route does. */
	be6 = td_be("203.0.113.9", 8080);
	assert_int_equal(pt_addr_parse("2001:db8:b::9", &be6.addr), 0);
	f.r[2] = (struct pt_route){ .name = "six", .port = 8080, .proto = IPPROTO_TCP,
				    .nat = PT_NAT_DNAT, .backends = &be6, .n_backends = 1 };
	assert_int_equal(pt_addr_parse("2001:db8:a::1", &f.r[2].addr), 0);
	f.rs.n_routes = 3;
	if (pt_dp_apply(dp, &f.rs))
		fail_msg("apply: %s", pt_dp_last_error(dp));
	assert_false(pt_dp_snat6_missing(dp));
	f.r[2].nat = PT_NAT_SNAT;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_true(pt_dp_snat6_missing(dp));
	/* Back again. */
	assert_int_equal(tn_sh("ip -6 addr add 2001:db8:b::2/64 dev " TN_IF_OUT " nodad"), 0);
	assert_int_equal(pt_dp_refresh_macs(dp), 0);
	assert_true(snat6_is(dp, "2001:db8:b::2"));
	assert_false(pt_dp_snat6_missing(dp));

	/* portier_local6: the input NIC's global and ULA addresses. */
	assert_int_equal(pt_dp_refresh_local(dp), 0);
	assert_true(in_local6(dp, "2001:db8:a::1"));
	assert_true(in_local6(dp, "fd00:db8:a::1"));
	assert_false(in_local6(dp, "fe80::a:1"));
	assert_false(in_local6(dp, "2001:db8:b::2"));	/* the output NIC's */
	assert_int_equal(tn_sh("ip -6 addr del fd00:db8:a::1/64 dev " TN_IF_IN), 0);
	assert_int_equal(pt_dp_refresh_local(dp), 0);
	assert_false(in_local6(dp, "fd00:db8:a::1"));
	assert_true(in_local6(dp, "2001:db8:a::1"));
	pt_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snat6_and_local6),
	};

	if (tn_enter("test_dp_addr6"))
		return 1;
	return td_run("test_dp_addr6", tests, sizeof(tests) / sizeof(tests[0]));
}
