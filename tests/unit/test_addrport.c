// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_addrport.c - the address:port text of every command line
 * (pt_addrport_parse, user/routes.h) and its reverse, pt_addrport_str:
 * IPv4 "a.b.c.d:port", IPv6 "[addr]:port"; an unbracketed IPv6 address
 * with a port refused as ambiguous; each bad form's message, exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "routes.h"

/* s parses (port required unless opt) to address want and port. */
static void good(const char *s, bool opt, const char *want, uint16_t port)
{
	char err[PT_ADDRPORT_ERR_LEN] = "", buf[PT_ADDRPORT_STRLEN];
	struct pt_addr a;
	uint16_t p = 1;

	if (pt_addrport_parse(s, opt, &a, &p, err, sizeof(err)))
		fail_msg("'%s' refused: %s", s, err);
	assert_string_equal(pt_addr_str(&a, buf, sizeof(buf)), want);
	assert_int_equal(p, port);
	assert_int_equal(a.family, strchr(want, ':') ? AF_INET6 : AF_INET);
}

/* s is refused with message msg; address and port left zero. */
static void bad(const char *s, bool opt, const char *msg)
{
	char err[PT_ADDRPORT_ERR_LEN] = "";
	struct pt_addr a;
	uint16_t p = 1;

	assert_int_equal(pt_addrport_parse(s, opt, &a, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(a.family, 0);
	assert_int_equal(p, 0);
}

static void test_good(void **state)
{
	(void)state;
	good("192.0.2.1:80", false, "192.0.2.1", 80);
	good("203.0.113.255:65535", false, "203.0.113.255", 65535);
	good("[2001:db8::1]:80", false, "2001:db8::1", 80);
	good("[2001:db8:0:0:0:0:0:1]:1", false, "2001:db8::1", 1);
	good("[::1]:8080", false, "::1", 8080);
	good("[::ffff:192.0.2.1]:80", false, "::ffff:192.0.2.1", 80);
	/* optional port: "client ADDR[:PORT]" */
	good("192.0.2.1", true, "192.0.2.1", 0);
	good("192.0.2.1:40000", true, "192.0.2.1", 40000);
	good("[2001:db8::1]", true, "2001:db8::1", 0);
	good("[2001:db8::1]:40000", true, "2001:db8::1", 40000);
	/* without brackets every colon is the address's */
	good("2001:db8::1:80", true, "2001:db8::1:80", 0);
}

static void test_bad(void **state)
{
	(void)state;
	bad("2001:db8::1:80", false,
	    "'2001:db8::1:80' is ambiguous: an IPv6 address with a port is written in "
	    "brackets, [ADDR]:PORT (such as [2001:db8::1]:80)");
	bad("2001:db8::1:8080", false,
	    "'2001:db8::1:8080' is ambiguous: an IPv6 address with a port is written in "
	    "brackets, [ADDR]:PORT (such as [2001:db8::1]:80)");
	bad("2001:db8::", false,
	    "'2001:db8::' has no port; write [2001:db8::]:PORT (port 1-65535)");
	bad("2001:db8::g:80", false,
	    "'2001:db8::g:80' is not an address and port; write ADDR:PORT or [IPv6ADDR]:PORT");
	bad("2001:db8::g:80", true,
	    "'2001:db8::g:80' is not an address and port; write ADDR, ADDR:PORT or "
	    "[IPv6ADDR]:PORT");
	bad("192.0.2.1", false,
	    "'192.0.2.1' has no port; write ADDR:PORT or [IPv6ADDR]:PORT (port 1-65535)");
	bad("192.0.2.1:", false, "'192.0.2.1:': port '' is not a number from 1 to 65535");
	bad("192.0.2.1:0", false, "'192.0.2.1:0': port '0' is not a number from 1 to 65535");
	bad("192.0.2.1:65536", false,
	    "'192.0.2.1:65536': port '65536' is not a number from 1 to 65535");
	bad("192.0.2.1:+80", false, "'192.0.2.1:+80': port '+80' is not a number from 1 to 65535");
	bad("192.0.2.1:80x", false, "'192.0.2.1:80x': port '80x' is not a number from 1 to 65535");
	bad("192.0.2.300:80", false,
	    "'192.0.2.300:80': '192.0.2.300' is not an IPv4 or IPv6 address; write ADDR:PORT or "
	    "[IPv6ADDR]:PORT");
	bad("web.example:80", false,
	    "'web.example:80': 'web.example' is not an IPv4 or IPv6 address; write ADDR:PORT or "
	    "[IPv6ADDR]:PORT");
	bad("", false, "'': '' is not an IPv4 or IPv6 address; write ADDR:PORT or [IPv6ADDR]:PORT");
	bad("[2001:db8::1:80", false,
	    "'[2001:db8::1:80' has no ']' closing its IPv6 address; write ADDR:PORT or "
	    "[IPv6ADDR]:PORT");
	bad("[2001:db8::1]", false,
	    "'[2001:db8::1]' has no ':PORT' after ']'; write ADDR:PORT or [IPv6ADDR]:PORT");
	bad("[2001:db8::1]:", false,
	    "'[2001:db8::1]:' has no ':PORT' after ']'; write ADDR:PORT or [IPv6ADDR]:PORT");
	bad("[2001:db8::1]80", true,
	    "'[2001:db8::1]80' has no ':PORT' after ']'; write ADDR, ADDR:PORT or "
	    "[IPv6ADDR]:PORT");
	bad("[2001:db8::1]:0", false,
	    "'[2001:db8::1]:0': port '0' is not a number from 1 to 65535");
	bad("[192.0.2.1]:80", false,
	    "'[192.0.2.1]:80': '192.0.2.1' in brackets is not an IPv6 address (brackets are for "
	    "IPv6 only); write ADDR:PORT or [IPv6ADDR]:PORT");
	bad("[]:80", false,
	    "'[]:80': '' in brackets is not an IPv6 address (brackets are for IPv6 only); write "
	    "ADDR:PORT or [IPv6ADDR]:PORT");
	bad("[2001:db8::1%eth0]:80", false,
	    "'[2001:db8::1%eth0]:80': '2001:db8::1%eth0' in brackets is not an IPv6 address "
	    "(brackets are for IPv6 only); write ADDR:PORT or [IPv6ADDR]:PORT");
}

/* Whatever pt_addrport_str writes, pt_addrport_parse reads back. */
static void test_round_trip(void **state)
{
	static const char *const addrs[] = { "192.0.2.1", "0.0.0.0", "255.255.255.255",
					     "2001:db8::1", "::", "::1",
					     "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" };
	char text[PT_ADDRPORT_STRLEN], err[PT_ADDRPORT_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct pt_addr a, b;
		uint16_t port;

		assert_int_equal(pt_addr_parse(addrs[i], &a), 0);
		pt_addrport_str(&a, 65535, text, sizeof(text));
		if (pt_addrport_parse(text, false, &b, &port, err, sizeof(err)))
			fail_msg("'%s' refused: %s", text, err);
		assert_true(pt_addr_equal(&a, &b));
		assert_int_equal(port, 65535);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
