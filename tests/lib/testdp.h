/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * testdp.h - the fixture of the data plane's program tests
 * (tests/prog/test_dp_*.c): two routes on "*", a data plane loaded unpinned,
 * a route's rotation read back, conntrack flows put in by hand. Static
 * inline, with cmocka's asserts: the .c helpers of tests/lib are linked
 * into tools/pktcost and the fuzz targets too, which have no cmocka.
 * Include it after <cmocka.h>.
 */
#ifndef PORTIER_TEST_TESTDP_H
#define PORTIER_TEST_TESTDP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "portier.skel.h"
#include "routes.h"
#include "testroute.h"

#define PORT_A	30080
#define PORT_B	30081
#define PORT_C	30090
#define NS	1000000000ULL

/* Routes a (3 backends), b (2 backends), both on "*". */
struct td_fixture {
	struct pt_backend ba[3], bb[2];
	struct pt_route r[3];
	struct pt_routeset rs;
};

/* A backend at IPv4 address text ip. */
static inline struct pt_backend td_be(const char *ip, uint16_t port)
{
	struct pt_backend b = { .addr = tn_addr(ip), .port = port, .weight = 1 };

	return b;
}

static inline void td_fixture_init(struct td_fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->ba[0] = td_be("203.0.113.1", PORT_A);
	f->ba[1] = td_be("203.0.113.2", PORT_A);
	f->ba[2] = td_be("203.0.113.3", PORT_A);
	f->bb[0] = td_be("203.0.113.2", PORT_B);
	f->bb[1] = td_be("203.0.113.3", PORT_B);
	f->r[0] = (struct pt_route){ .name = "a", .wildcard = true, .port = PORT_A,
				     .proto = IPPROTO_TCP, .backends = f->ba, .n_backends = 3 };
	f->r[1] = (struct pt_route){ .name = "b", .wildcard = true, .port = PORT_B,
				     .proto = IPPROTO_TCP, .backends = f->bb, .n_backends = 2 };
	f->rs.routes = f->r;
	f->rs.n_routes = 2;
}

/* A data plane loaded unpinned, with a small connection table. */
static inline struct pt_dataplane *td_open_dp(void)
{
	struct pt_dp_opts o = { .ct_entries = 4096 };
	struct pt_dataplane *dp = NULL;

	assert_int_equal(pt_dp_open(&o, &dp), 0);
	return dp;
}

/* The portier_routes entry of the loaded route name. */
static inline struct portier_route td_route_of(struct pt_dataplane *dp, const char *name)
{
	struct portier_route rt;
	__u32 id = pt_dp_route_id(dp, name);

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_routes),
					     &id, &rt), 0);
	return rt;
}

/* CLOCK_MONOTONIC, ns. */
static inline __u64 td_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NS + ts.tv_nsec;
}

/* A flow's two entries: the original (key ko, entry fo) rewritten to the
 * reply key kr reversed, the reply (fr) back to ko reversed. Either
 * family. */
#define TD_NAT_BOTH(ko, kr, fo, fr)		\
	do {					\
		(fo).nat_saddr = (kr).daddr;	\
		(fo).nat_daddr = (kr).saddr;	\
		(fo).nat_sport = (kr).dport;	\
		(fo).nat_dport = (kr).sport;	\
		(fr).nat_saddr = (ko).daddr;	\
		(fr).nat_daddr = (ko).saddr;	\
		(fr).nat_sport = (ko).dport;	\
		(fr).nat_dport = (ko).sport;	\
	} while (0)

/* Put both entries of one UDP flow client:cport -> backend into conntrack. */
static inline void td_put_flow(struct pt_dataplane *dp, __u16 cport, __u32 backend_id, __u64 last_seen)
{
	struct portier_flow_key ko = { .sport = htons(cport), .dport = htons(PORT_A),
				       .proto = IPPROTO_UDP };
	struct portier_flow_key kr = { .sport = htons(PORT_A), .dport = htons(cport),
				       .proto = IPPROTO_UDP };
	struct portier_flow fo = { .dir = PORTIER_FLOW_DIR_ORIG, .backend_id = backend_id,
				   .last_seen = portier_tick(last_seen) };
	struct portier_flow fr = { .dir = PORTIER_FLOW_DIR_REPLY, .backend_id = backend_id,
				   .last_seen = portier_tick(last_seen) };

	inet_pton(AF_INET, "198.51.100.2", &ko.saddr);
	inet_pton(AF_INET, "198.51.100.1", &ko.daddr);
	inet_pton(AF_INET, "203.0.113.2", &kr.saddr);
	inet_pton(AF_INET, "203.0.113.1", &kr.daddr);
	/* orig rewrites to (gw, cport) -> (backend, PORT_A); reply back. */
	TD_NAT_BOTH(ko, kr, fo, fr);
	assert_int_equal(pt_ct_insert(pt_dp_ct(dp), &ko, &fo), 0);
	assert_int_equal(pt_ct_insert(pt_dp_ct(dp), &kr, &fr), 0);
}

/* Put both entries of one IPv6 UDP flow [2001:db8:c::CLIENT]:cport ->
 * [2001:db8::1]:PORT_A, snat'ed to backend [2001:db8:b::2]:PORT_A from
 * [2001:db8:b::1]:cport, into portier_conntrack6 (backend_id names the
 * backend). The client's last group is client. */
static inline void td_put_flow6(struct pt_dataplane *dp, __u16 client, __u16 cport,
				__u32 backend_id, __u64 last_seen)
{
	struct portier_flow_key6 ko = { .sport = htons(cport), .dport = htons(PORT_A),
					.proto = IPPROTO_UDP };
	struct portier_flow_key6 kr = { .sport = htons(PORT_A), .dport = htons(cport),
					.proto = IPPROTO_UDP };
	struct portier_flow6 fo = { .dir = PORTIER_FLOW_DIR_ORIG, .backend_id = backend_id,
				    .last_seen = portier_tick(last_seen) };
	struct portier_flow6 fr = { .dir = PORTIER_FLOW_DIR_REPLY, .backend_id = backend_id,
				    .last_seen = portier_tick(last_seen) };

	inet_pton(AF_INET6, "2001:db8:c::", ko.saddr.a8);
	ko.saddr.a8[14] = (__u8)(client >> 8);
	ko.saddr.a8[15] = (__u8)client;
	inet_pton(AF_INET6, "2001:db8::1", ko.daddr.a8);
	inet_pton(AF_INET6, "2001:db8:b::2", kr.saddr.a8);
	inet_pton(AF_INET6, "2001:db8:b::1", kr.daddr.a8);
	TD_NAT_BOTH(ko, kr, fo, fr);
	assert_int_equal(pt_ct6_insert(pt_dp_ct6(dp), &ko, &fo), 0);
	assert_int_equal(pt_ct6_insert(pt_dp_ct6(dp), &kr, &fr), 0);
}

/* A test file's main: its n tests, as root (BPF maps); who names it. */
static inline int td_run(const char *who, const struct CMUnitTest *tests, size_t n)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root (BPF maps)\n", who);
		return 1;
	}
	return _cmocka_run_group_tests(who, tests, n, NULL, NULL);
}

#endif
