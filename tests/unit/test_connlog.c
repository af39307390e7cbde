// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_connlog.c - the connection log line: exact text for crafted events,
 * termination states, the GC's event from two flow entries (IPv4 and
 * IPv6), IPv6 lines (HAProxy's unbracketed client), option parsing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "connlog.h"

#define NS_PER_SEC	1000000000LL
#define NS_PER_MS	1000000LL
#define EPOCH_S		1234567890LL	/* 2009-02-13 23:31:30 UTC */
#define START_NS	(5 * NS_PER_SEC)	/* monotonic time of the first packet */
#define DATE_MS		443

static void addr4(struct portier_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(AF_INET, s, &a->a32[0]), 1);
}

/* A TCP flow that closed with FIN both ways after 1.234 s. */
static struct portier_connlog_event tcp_event(void)
{
	struct portier_connlog_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = PORTIER_CONNLOG_KIND_END;
	ev.end = PORTIER_END_FIN;
	ev.proto = IPPROTO_TCP;
	ev.family = PORTIER_AF_INET;
	ev.flags = PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_CLOSING | PORTIER_FLOW_F_FIN;
	ev.route_id = 3;
	ev.backend_id = 7;
	addr4(&ev.client, "198.51.100.10");
	addr4(&ev.service, "198.51.100.1");
	addr4(&ev.backend, "203.0.113.11");
	ev.client_port = htons(40000);
	ev.service_port = htons(80);
	ev.backend_port = htons(30080);
	ev.snat_port = htons(16384);
	ev.start_ns = START_NS;
	ev.end_ns = START_NS + 1234 * NS_PER_MS + 999;
	ev.packets[PORTIER_FLOW_DIR_ORIG] = 6;
	ev.bytes[PORTIER_FLOW_DIR_ORIG] = 500;
	ev.packets[PORTIER_FLOW_DIR_REPLY] = 5;
	ev.bytes[PORTIER_FLOW_DIR_REPLY] = 900;
	return ev;
}

/* Monotonic START_NS is EPOCH_S.443 of the wall clock. */
static __s64 offset(void)
{
	return EPOCH_S * NS_PER_SEC + DATE_MS * NS_PER_MS - START_NS;
}

static void test_line_exact(void **state)
{
	struct portier_connlog_event ev = tcp_event();
	char buf[PT_CONNLOG_LINE_MAX];
	const char *want = "198.51.100.10:40000 [13/Feb/2009:23:31:30.443] web "
			   "web/203.0.113.11:30080 0/0/1234 900 -- proto=tcp end=fin "
			   "in=6/500 out=5/900 snat=16384 service=198.51.100.1:80";
	int n;

	(void)state;
	n = pt_connlog_format(&ev, "web", offset(), buf, sizeof(buf));
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

static void test_line_udp_timeout(void **state)
{
	struct portier_connlog_event ev = tcp_event();
	char buf[PT_CONNLOG_LINE_MAX];
	const char *want = "198.51.100.10:40000 [13/Feb/2009:23:31:30.443] dns "
			   "dns/203.0.113.11:30080 0/0/61000 48 -- proto=udp end=timeout "
			   "in=2/100 out=1/48 snat=16384 service=198.51.100.1:80";

	(void)state;
	ev.proto = IPPROTO_UDP;
	ev.end = PORTIER_END_TIMEOUT;
	ev.flags = PORTIER_FLOW_F_SEEN_REPLY;
	ev.end_ns = START_NS + 61 * NS_PER_SEC;
	ev.packets[0] = 2;
	ev.bytes[0] = 100;
	ev.packets[1] = 1;
	ev.bytes[1] = 48;
	assert_true(pt_connlog_format(&ev, "dns", offset(), buf, sizeof(buf)) > 0);
	assert_string_equal(buf, want);
}

/* A local backend: its replies are not seen, so no reply counts, no SNAT
 * port, Tc 0 (not -1, which would say the backend refused). */
static void test_line_local(void **state)
{
	struct portier_connlog_event ev = tcp_event();
	char buf[PT_CONNLOG_LINE_MAX];
	const char *want = "198.51.100.10:40000 [13/Feb/2009:23:31:30.443] web "
			   "web/203.0.113.11:30080 0/0/1234 0 -- proto=tcp end=fin "
			   "in=6/500 out=-/- snat=- service=198.51.100.1:80 backend=local";

	(void)state;
	ev.flags = PORTIER_FLOW_F_LOCAL | PORTIER_FLOW_F_CLOSING | PORTIER_FLOW_F_FIN;
	ev.packets[PORTIER_FLOW_DIR_REPLY] = 0;
	ev.bytes[PORTIER_FLOW_DIR_REPLY] = 0;
	assert_true(pt_connlog_format(&ev, "web", offset(), buf, sizeof(buf)) > 0);
	assert_string_equal(buf, want);
}

static void test_line_too_long(void **state)
{
	struct portier_connlog_event ev = tcp_event();
	char buf[32];

	(void)state;
	assert_int_equal(pt_connlog_format(&ev, "web", offset(), buf, sizeof(buf)), -ENOSPC);
}

static void test_term_states(void **state)
{
	struct portier_connlog_event ev = tcp_event();

	(void)state;
	assert_string_equal(pt_connlog_term_state(&ev), "--");
	ev.end = PORTIER_END_RST_CLIENT;
	assert_string_equal(pt_connlog_term_state(&ev), "CD");
	ev.flags = 0;
	assert_string_equal(pt_connlog_term_state(&ev), "CC");
	ev.end = PORTIER_END_RST_SERVER;
	ev.packets[PORTIER_FLOW_DIR_REPLY] = 1;	/* the RST alone: refused */
	assert_string_equal(pt_connlog_term_state(&ev), "SC");
	ev.packets[PORTIER_FLOW_DIR_REPLY] = 4;
	assert_string_equal(pt_connlog_term_state(&ev), "SD");
	ev.end = PORTIER_END_TIMEOUT;
	assert_string_equal(pt_connlog_term_state(&ev), "sC");	/* no reply seen */
	ev.flags = PORTIER_FLOW_F_SEEN_REPLY;
	assert_string_equal(pt_connlog_term_state(&ev), "cD");
	ev.proto = IPPROTO_ICMP;	/* an egress echo flow: it goes quiet */
	assert_string_equal(pt_connlog_term_state(&ev), "--");
	assert_string_equal(pt_connlog_end_name(PORTIER_END_RST_SERVER), "rst_server");
	assert_string_equal(pt_connlog_end_name(0), "?");
}

/* A closed flow's key k and entries f (original) and r (reply) of either
 * family, their addresses left to the caller: what tcp_event() want says
 * of ports, ids, flags and counters. */
#define ENTRIES(k, f, r, want)							\
	do {									\
		memset(&(k), 0, sizeof(k));					\
		memset(&(f), 0, sizeof(f));					\
		memset(&(r), 0, sizeof(r));					\
		(k).sport = (want).client_port;					\
		(k).dport = (want).service_port;				\
		(k).proto = IPPROTO_TCP;					\
		(f).nat_sport = (want).snat_port;				\
		(f).nat_dport = (want).backend_port;				\
		(f).dir = PORTIER_FLOW_DIR_ORIG;				\
		(f).flags = PORTIER_FLOW_F_CLOSING | PORTIER_FLOW_F_FIN;	\
		(f).route_id = 3;						\
		(f).backend_id = 7;						\
		(f).created_ns = START_NS;					\
		(f).packets = 6;						\
		(f).bytes = 500;						\
		(r).dir = PORTIER_FLOW_DIR_REPLY;				\
		(r).flags = PORTIER_FLOW_F_SEEN_REPLY;				\
		(r).packets = 5;						\
		(r).bytes = 900;						\
	} while (0)

/* The GC's event: client and service from the original key, backend and
 * SNAT port from its rewrite, counters from both entries. */
static void test_event_of_entries(void **state)
{
	struct portier_flow_key k;
	struct portier_flow f, r;
	struct portier_connlog_event ev, want = tcp_event();

	(void)state;
	ENTRIES(k, f, r, want);
	k.saddr = want.client.a32[0];
	k.daddr = want.service.a32[0];
	f.nat_saddr = htonl(0xcb007101);	/* 203.0.113.1 */
	f.nat_daddr = want.backend.a32[0];
	pt_connlog_event_of(&k, &f, &r, PORTIER_END_FIN, want.end_ns, &ev);
	assert_memory_equal(&ev, &want, sizeof(ev));

	pt_connlog_event_of(&k, &f, NULL, PORTIER_END_TIMEOUT, want.end_ns, &ev);
	assert_int_equal(ev.packets[PORTIER_FLOW_DIR_REPLY], 0);
	assert_int_equal(ev.bytes[PORTIER_FLOW_DIR_REPLY], 0);
	assert_int_equal(ev.flags, f.flags);
}

static void addr6(struct portier_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, a->a8), 1);
}

/* An IPv6 flow: the client as HAProxy's %ci:%cp writes it (unbracketed,
 * the port after the last colon), backend and service bracketed. */
static void test_line_ipv6(void **state)
{
	struct portier_connlog_event ev = tcp_event();
	char buf[PT_CONNLOG_LINE_MAX];
	const char *want = "2001:db8:1::10:40000 [13/Feb/2009:23:31:30.443] web "
			   "web/[2001:db8:2::11]:30080 0/0/1234 900 -- proto=tcp end=fin "
			   "in=6/500 out=5/900 snat=16384 service=[2001:db8:1::1]:80";
	int n;

	(void)state;
	ev.family = PORTIER_AF_INET6;
	addr6(&ev.client, "2001:db8:1::10");
	addr6(&ev.service, "2001:db8:1::1");
	addr6(&ev.backend, "2001:db8:2::11");
	n = pt_connlog_format(&ev, "web", offset(), buf, sizeof(buf));
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

/* The longest line: IPv6 addresses of full length, names of the longest
 * egress rule, every counter at its widest, fits PT_CONNLOG_LINE_MAX. */
static void test_line_ipv6_longest(void **state)
{
	struct portier_connlog_event ev = tcp_event();
	char buf[PT_CONNLOG_LINE_MAX], name[7 + PORTIER_EGRESS_NAME_MAX];

	(void)state;
	ev.family = PORTIER_AF_INET6;
	addr6(&ev.client, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	addr6(&ev.service, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe");
	addr6(&ev.backend, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffd");
	ev.client_port = ev.service_port = ev.backend_port = ev.snat_port = 0xffff;
	ev.end = PORTIER_END_RST_SERVER;
	ev.end_ns = UINT64_MAX;
	ev.start_ns = 0;
	for (int d = 0; d < 2; d++)
		ev.packets[d] = ev.bytes[d] = UINT64_MAX;
	memset(name, 'e', sizeof(name) - 1);
	memcpy(name, "egress:", 7);
	name[sizeof(name) - 1] = '\0';
	assert_true(pt_connlog_format(&ev, name, offset(), buf, sizeof(buf)) > 0);
}

/* The IPv6 GC's event from two IPv6 entries: the same fields, 16 bytes. */
static void test_event_of_entries6(void **state)
{
	struct portier_flow_key6 k;
	struct portier_flow6 f, r;
	struct portier_connlog_event ev, want = tcp_event();

	(void)state;
	want.family = PORTIER_AF_INET6;
	addr6(&want.client, "2001:db8:1::10");
	addr6(&want.service, "2001:db8:1::1");
	addr6(&want.backend, "2001:db8:2::11");
	ENTRIES(k, f, r, want);
	k.saddr = want.client;
	k.daddr = want.service;
	addr6(&f.nat_saddr, "2001:db8:2::1");
	f.nat_daddr = want.backend;
	pt_connlog_event_of6(&k, &f, &r, PORTIER_END_FIN, want.end_ns, &ev);
	assert_memory_equal(&ev, &want, sizeof(ev));

	/* found under the reply's key: the same event */
	memset(&k, 0, sizeof(k));
	k.saddr = want.backend;
	k.daddr = f.nat_saddr;
	k.sport = want.backend_port;
	k.dport = want.snat_port;
	k.proto = IPPROTO_TCP;
	r.nat_saddr = want.service;
	r.nat_daddr = want.client;
	r.nat_sport = want.service_port;
	r.nat_dport = want.client_port;
	r.route_id = 3;
	r.backend_id = 7;
	r.created_ns = START_NS;
	pt_connlog_event_of6(&k, &r, &f, PORTIER_END_FIN, want.end_ns, &ev);
	assert_memory_equal(&ev, &want, sizeof(ev));
}

static void test_parse(void **state)
{
	enum pt_connlog_sink s = PT_CONNLOG_STDOUT;
	__u32 v = 0;

	(void)state;
	assert_int_equal(pt_connlog_parse_sink("syslog", &s), 0);
	assert_int_equal(s, PT_CONNLOG_SYSLOG);
	assert_int_equal(pt_connlog_parse_sink("stdout", &s), 0);
	assert_int_equal(s, PT_CONNLOG_STDOUT);
	assert_int_equal(pt_connlog_parse_sink("file", &s), -EINVAL);
	assert_int_equal(pt_connlog_parse_ring("1048576", &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(pt_connlog_parse_ring("1000000", &v), -EINVAL);	/* not 2^n */
	assert_int_equal(pt_connlog_parse_ring("16", &v), -EINVAL);	/* < a page */
	assert_int_equal(pt_connlog_parse_ring("2147483648", &v), -EINVAL);
	assert_int_equal(pt_connlog_parse_ring("64k", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_exact),
		cmocka_unit_test(test_line_udp_timeout),
		cmocka_unit_test(test_line_local),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_term_states),
		cmocka_unit_test(test_event_of_entries),
		cmocka_unit_test(test_line_ipv6),
		cmocka_unit_test(test_line_ipv6_longest),
		cmocka_unit_test(test_event_of_entries6),
		cmocka_unit_test(test_parse),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
