// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_bgp_announce.c - which service addresses are announced by BGP
 * (user/bgp_announce.h): explicit addresses of routes with a backend not
 * DOWN, never "*", each once; and the bird2 include file's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "bgp_announce.h"

/* A route on addr (NULL: "*") with backends in these states. */
static void route(struct pt_dp_route_view *r, const char *addr, const unsigned int *st,
		  size_t n, struct pt_dp_backend_view *be)
{
	memset(r, 0, sizeof(*r));
	r->meta.key.family = PORTIER_AF_INET;
	if (addr)
		assert_int_equal(inet_pton(AF_INET, addr, &r->meta.key.addr.a32[0]), 1);
	for (size_t i = 0; i < n; i++)
		be[i].state = st[i];
	r->be = be;
	r->n_be = n;
}

static void test_collect(void **state)
{
	static const unsigned int up_down[] = { PT_DP_BE_DOWN, 0 };
	static const unsigned int all_down[] = { PT_DP_BE_DOWN, PT_DP_BE_DOWN | PT_DP_BE_DRAINED };
	static const unsigned int drained[] = { PT_DP_BE_DRAINED };
	struct pt_dp_backend_view be[6][2] = {};
	struct pt_dp_route_view v[6];
	struct pt_addr out[6];
	char buf[INET6_ADDRSTRLEN];
	size_t n;

	(void)state;
	route(&v[0], "192.0.2.20", up_down, 2, be[0]);		/* one UP: announced */
	route(&v[1], "192.0.2.10", all_down, 2, be[1]);		/* all DOWN: not */
	route(&v[2], NULL, up_down, 2, be[2]);			/* "*": never */
	route(&v[3], "192.0.2.20", up_down, 2, be[3]);		/* same address: once */
	route(&v[4], "192.0.2.5", drained, 1, be[4]);		/* drained is not DOWN */
	route(&v[5], "192.0.2.30", NULL, 0, be[5]);		/* no backend: not */
	n = pt_bgp_collect(v, 6, out);
	assert_int_equal(n, 2);
	assert_string_equal(pt_addr_str(&out[0], buf, sizeof(buf)), "192.0.2.5");
	assert_string_equal(pt_addr_str(&out[1], buf, sizeof(buf)), "192.0.2.20");
	assert_int_equal(pt_bgp_collect(v, 0, out), 0);
}

static void test_render(void **state)
{
	struct pt_addr a[2] = {};
	char *s;

	(void)state;
	assert_int_equal(pt_addr_parse("192.0.2.10", &a[0]), 0);
	assert_int_equal(pt_addr_parse("2001:db8::10", &a[1]), 0);
	s = pt_bgp_render(a, 2, "gateway-1");
	assert_non_null(s);
	assert_non_null(strstr(s, "protocol static portier4 {\n\tipv4;\n"
				  "\troute 192.0.2.10/32 blackhole;\n}\n"));
	assert_non_null(strstr(s, "protocol static portier6 {\n\tipv6;\n"
				  "\troute 2001:db8::10/128 blackhole;\n}\n"));
	assert_non_null(strstr(s, "host gateway-1"));
	free(s);
	/* Nothing to announce: both protocols, empty. */
	s = pt_bgp_render(a, 0, "gateway-1");
	assert_non_null(strstr(s, "protocol static portier4 {\n\tipv4;\n}\n"));
	assert_null(strstr(s, "route "));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
