// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dp_apply.c - pt_dp_apply (user/dp_plan.c, user/dp_apply.c) against a
 * loaded skeleton (root): what it leaves in the maps, the port filter's only
 * services, id stability across applies, a removed backend's counts kept in
 * its route's totals, a new route's zero SYN guard, a bad set changing
 * nothing, a write failing half way saying so, and IPv6 routes (services,
 * backends, the "*" key of family 6, replies, maglev) added and removed.
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
#include "maglev.h"
#include "syn_guard.h"
#include "portier.skel.h"
#include "testdp.h"
#include "testroute.h"

static struct portier_port port_entry(struct pt_dataplane *dp, __u32 port)
{
	struct portier_port v;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_ports),
					     &port, &v), 0);
	return v;
}

static __u32 port_flags(struct pt_dataplane *dp, __u32 port)
{
	return port_entry(dp, port).flags;
}

static size_t count_keys(struct bpf_map *m, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	size_t n = 0;

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(bpf_map__fd(m), prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static void test_apply_fills_maps(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f;
	struct portier *s;
	struct portier_svc_key k = { .port = htons(PORT_A), .proto = IPPROTO_TCP,
				     .family = PORTIER_AF_INET };
	struct portier_svc svc;
	struct portier_backend b;
	struct portier_route rt;
	__u32 id;

	(void)state;
	td_fixture_init(&f);
	f.ba[0].local = true;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	s = pt_dp_skel(dp);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_services), &k, &svc), 0);
	assert_int_equal(svc.route_id, pt_dp_route_id(dp, "a"));
	rt = td_route_of(dp, "a");
	assert_int_equal(rt.n_active, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rt.active[i], pt_dp_backend_id(dp, "a", &f.ba[i].addr, PORT_A));
	id = rt.active[0];
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_backends), &id, &b), 0);
	assert_int_equal(b.flags, PORTIER_BACKEND_F_USED | PORTIER_BACKEND_F_LOCAL);
	assert_int_equal(b.port, htons(PORT_A));
	assert_int_equal(b.addr.a32[0], f.ba[0].addr.v4.s_addr);
	assert_int_equal(b.route_id, svc.route_id);
	assert_int_equal(port_flags(dp, PORT_A),
			 PORTIER_PORT_SVC_TCP | PORTIER_PORT_BE_TCP | PORTIER_PORT_ONE_SVC);
	assert_int_equal(port_entry(dp, PORT_A).svc_route, pt_dp_route_id(dp, "a"));
	assert_int_equal(port_flags(dp, PORT_C), 0);
	pt_dp_close(dp);
}

static void test_ids_stable_and_removal(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f;
	struct pt_backend bc = td_be("203.0.113.4", PORT_C);
	struct pt_route r2[3];
	struct pt_routeset rs2 = { .routes = r2, .n_routes = 3 };
	int ra, rb, ba1;

	(void)state;
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	ra = pt_dp_route_id(dp, "a");
	rb = pt_dp_route_id(dp, "b");
	ba1 = pt_dp_backend_id(dp, "a", &f.ba[1].addr, PORT_A);

	/* New order, b loses a backend, a new UDP route c on one address. */
	r2[0] = f.r[1];
	r2[0].n_backends = 1;
	r2[0].backends = &f.bb[1];
	r2[1] = (struct pt_route){ .name = "c", .addr = tn_addr("192.168.1.254"), .port = PORT_C,
				   .proto = IPPROTO_UDP, .backends = &bc, .n_backends = 1 };
	r2[2] = f.r[0];
	assert_int_equal(pt_dp_apply(dp, &rs2), 0);
	assert_int_equal(pt_dp_route_id(dp, "a"), ra);
	assert_int_equal(pt_dp_route_id(dp, "b"), rb);
	assert_int_equal(pt_dp_backend_id(dp, "a", &f.ba[1].addr, PORT_A), ba1);
	assert_int_equal(pt_dp_backend_id(dp, "b", &f.bb[0].addr, PORT_B), -ENOENT);
	assert_int_equal(td_route_of(dp, "b").n_active, 1);
	assert_int_equal(port_flags(dp, PORT_C),
			 PORTIER_PORT_SVC_UDP | PORTIER_PORT_BE_UDP | PORTIER_PORT_ONE_SVC);
	assert_int_equal(port_entry(dp, PORT_C).svc_addr, tn_addr("192.168.1.254").v4.s_addr);
	assert_int_equal(port_entry(dp, PORT_C).svc_proto, IPPROTO_UDP);
	assert_int_equal(count_keys(pt_dp_skel(dp)->maps.portier_services,
				    sizeof(struct portier_svc_key)), 3);

	/* Empty set: nothing left. */
	rs2.n_routes = 0;
	assert_int_equal(pt_dp_apply(dp, &rs2), 0);
	assert_int_equal(count_keys(pt_dp_skel(dp)->maps.portier_services,
				    sizeof(struct portier_svc_key)), 0);
	assert_int_equal(count_keys(pt_dp_skel(dp)->maps.portier_routes, sizeof(__u32)), 0);
	assert_int_equal(port_flags(dp, PORT_A), 0);
	assert_int_equal(port_flags(dp, PORT_C), 0);
	pt_dp_close(dp);
}

/* A port's only service is in its portier_ports entry, and only while it
 * is the only one: a second service on the port (another address) clears
 * it, removing that one sets it again, and a route replaced on the port
 * gives the entry the new route. */
static void test_one_service_per_port(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f;
	struct pt_backend bc = td_be("203.0.113.4", PORT_C);
	struct portier_port pp;

	(void)state;
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	pp = port_entry(dp, PORT_B);
	assert_true(pp.flags & PORTIER_PORT_ONE_SVC);
	assert_int_equal(pp.svc_addr, 0);
	assert_int_equal(pp.svc_route, pt_dp_route_id(dp, "b"));
	assert_int_equal(pp.svc_proto, IPPROTO_TCP);

	/* c: an exact address on b's port. */
	f.r[2] = (struct pt_route){ .name = "c", .addr = tn_addr("192.168.1.254"), .port = PORT_B,
				    .proto = IPPROTO_TCP, .backends = &bc, .n_backends = 1 };
	f.rs.n_routes = 3;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	pp = port_entry(dp, PORT_B);
	assert_false(pp.flags & PORTIER_PORT_ONE_SVC);
	assert_int_equal(pp.flags & PORTIER_PORT_SVC_TCP, PORTIER_PORT_SVC_TCP);
	assert_true(port_flags(dp, PORT_A) & PORTIER_PORT_ONE_SVC);

	/* b gone: c is the port's only service. */
	f.r[1] = f.r[2];
	f.rs.n_routes = 2;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	pp = port_entry(dp, PORT_B);
	assert_true(pp.flags & PORTIER_PORT_ONE_SVC);
	assert_int_equal(pp.svc_addr, tn_addr("192.168.1.254").v4.s_addr);
	assert_int_equal(pp.svc_route, pt_dp_route_id(dp, "c"));
	pt_dp_close(dp);
}

/* A route's totals, as the CLI and the metrics sum them. */
static struct portier_stats route_totals(struct pt_dataplane *dp, const char *name)
{
	struct pt_dp_route_view *v;
	struct portier_stats st;
	size_t n = pt_dp_view(dp, &v);

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].meta.name, name))
			assert_int_equal(pt_route_stats_sum(pt_dp_skel(dp), &v[i], &st), 0);
	pt_dp_view_free(v, n);
	return st;
}

/* The program counts per backend only: a backend that leaves its route
 * hands its counts to the route's retired totals, which never go back. */
static void test_removed_backend_keeps_route_totals(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	int ncpu = libbpf_num_possible_cpus();
	struct portier_stats *v = calloc((size_t)ncpu, sizeof(*v)), t;
	struct td_fixture f;
	int b0, b1;

	(void)state;
	assert_non_null(v);
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	b0 = pt_dp_backend_id(dp, "b", &f.bb[0].addr, PORT_B);
	b1 = pt_dp_backend_id(dp, "b", &f.bb[1].addr, PORT_B);
	for (int c = 0; c < ncpu; c++) {
		v[c].flows = 1;
		v[c].packets[PORTIER_FLOW_DIR_ORIG] = 10;
		v[c].bytes[PORTIER_FLOW_DIR_REPLY] = 100;
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_backend_stats),
					     &b0, v, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_backend_stats),
					     &b1, v, BPF_ANY), 0);
	t = route_totals(dp, "b");
	assert_int_equal(t.flows, 2 * ncpu);
	assert_int_equal(t.packets[PORTIER_FLOW_DIR_ORIG], 20 * ncpu);

	/* b loses its first backend: same totals. */
	f.r[1].backends = &f.bb[1];
	f.r[1].n_backends = 1;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	t = route_totals(dp, "b");
	assert_int_equal(t.flows, 2 * ncpu);
	assert_int_equal(t.packets[PORTIER_FLOW_DIR_ORIG], 20 * ncpu);
	assert_int_equal(t.bytes[PORTIER_FLOW_DIR_REPLY], 200 * ncpu);

	/* It comes back: a new backend, counting from zero. */
	f.r[1].backends = f.bb;
	f.r[1].n_backends = 2;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	t = route_totals(dp, "b");
	assert_int_equal(t.flows, 2 * ncpu);
	assert_int_equal(t.bytes[PORTIER_FLOW_DIR_REPLY], 200 * ncpu);
	free(v);
	pt_dp_close(dp);
}

/* Every CPU's portier_syn_guard entry of route id: all zero? */
static bool syn_guard_zero(struct pt_dataplane *dp, __u32 id, struct portier_syn_guard *g,
			   int ncpu)
{
	static const struct portier_syn_guard zero;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_syn_guard),
					     &id, g), 0);
	for (int c = 0; c < ncpu; c++)
		if (memcmp(&g[c], &zero, sizeof(zero)))
			return false;
	return true;
}

/* A route id given to a new route (at runtime or by an apply) starts with
 * a zero SYN guard: no cookie counters and no "auto" state inherited from
 * whatever had the id before; a route that stays keeps its own. Every slot
 * is dirtied first, so whichever id a new route gets was dirty. */
static void test_new_route_zero_syn_guard(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	int ncpu = libbpf_num_possible_cpus();
	struct portier_syn_guard *g = calloc((size_t)ncpu, sizeof(*g));
	struct pt_backend bc = td_be("203.0.113.4", PORT_C);
	struct pt_route c = { .name = "c", .wildcard = true, .port = PORT_C,
			      .proto = IPPROTO_TCP, .backends = &bc, .n_backends = 1 };
	struct pt_syn_guard sum;
	struct td_fixture f;
	int fd;
	__u32 rb, id;

	(void)state;
	assert_non_null(g);
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	rb = pt_dp_route_id(dp, "b");
	fd = bpf_map__fd(pt_dp_skel(dp)->maps.portier_syn_guard);
	for (int k = 0; k < ncpu; k++)
		g[k] = (struct portier_syn_guard){ .window_ns = 1, .on_until_ns = UINT64_MAX,
						   .window_syns = 5000, .cookies_sent = 7,
						   .cookies_valid = 3, .cookies_failed = 2,
						   .pending_dropped = 1 };
	for (id = 0; id < PORTIER_MAX_ROUTES; id++)
		assert_int_equal(bpf_map_update_elem(fd, &id, g, BPF_ANY), 0);

	/* a leaves; c comes at runtime. */
	f.r[0] = f.r[1];
	f.rs.n_routes = 1;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_int_equal(pt_dp_route_add(dp, &c), 0);
	id = pt_dp_route_id(dp, "c");
	assert_true(syn_guard_zero(dp, id, g, ncpu));
	assert_int_equal(pt_syn_guard_read(pt_dp_skel(dp)->maps.portier_syn_guard, id,
					   PORTIER_ROUTE_F_COOKIES_AUTO, &sum), 0);
	assert_false(sum.active);
	assert_int_equal(sum.cookies_sent, 0);

	/* d comes from an apply, on a's old port. */
	f.r[1] = f.r[0];
	f.r[0] = (struct pt_route){ .name = "d", .wildcard = true, .port = PORT_A,
				    .proto = IPPROTO_TCP, .backends = f.ba, .n_backends = 3 };
	f.rs.n_routes = 2;
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_true(syn_guard_zero(dp, pt_dp_route_id(dp, "d"), g, ncpu));

	/* b stayed through both: its counters and state are its own. */
	assert_int_equal(pt_dp_route_id(dp, "b"), rb);
	assert_false(syn_guard_zero(dp, rb, g, ncpu));
	assert_int_equal(pt_syn_guard_read(pt_dp_skel(dp)->maps.portier_syn_guard, rb,
					   PORTIER_ROUTE_F_COOKIES_AUTO, &sum), 0);
	assert_true(sum.active);
	assert_int_equal(sum.cookies_sent, 7 * ncpu);
	free(g);
	pt_dp_close(dp);
}

static void test_bad_set_changes_nothing(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f, g;

	(void)state;
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	td_fixture_init(&g);
	g.r[1].port = PORT_A;	/* two routes on one listen key */
	g.r[0].n_backends = 1;
	assert_int_equal(pt_dp_apply(dp, &g.rs), -EINVAL);
	assert_non_null(strstr(pt_dp_last_error(dp), "same address, port and protocol"));
	assert_false(pt_dp_half_written(dp));	/* refused before any write */
	assert_null(strstr(pt_dp_last_error(dp), "changed in part"));
	assert_int_equal(td_route_of(dp, "a").n_active, 3);
	assert_int_equal(port_flags(dp, PORT_B),
			 PORTIER_PORT_SVC_TCP | PORTIER_PORT_BE_TCP | PORTIER_PORT_ONE_SVC);
	g.r[1].port = PORT_B;
	/* An IPv6 backend in an IPv4 route: portier does not translate. */
	assert_int_equal(pt_addr_parse("2001:db8::1", &g.ba[0].addr), 0);
	g.r[0].n_backends = 3;
	assert_int_equal(pt_dp_apply(dp, &g.rs), -EINVAL);
	assert_non_null(strstr(pt_dp_last_error(dp), "route 'a': backend 2001:db8::1 is not "
						     "IPv4, the route's family"));
	assert_int_equal(td_route_of(dp, "a").n_active, 3);
	/* A local backend on another port than the route's (route add checks
	 * what the inventory reader checks). */
	td_fixture_init(&g);
	g.ba[1].local = true;
	g.ba[1].port = (uint16_t)(g.r[0].port + 1);
	assert_int_equal(pt_dp_apply(dp, &g.rs), -EINVAL);
	assert_non_null(strstr(pt_dp_last_error(dp), "is this host"));
	assert_int_equal(td_route_of(dp, "a").n_active, 3);
	pt_dp_close(dp);
}

/* A change whose write fails half way (here: portier_services frozen, so
 * its inserts fail after the routes and backends are written) says the
 * maps changed in part; test_bad_set_changes_nothing has the refusal
 * before any write. */
#define TABLE6	211u	/* a prime table of more than 100 slots per backend */

static struct pt_addr addr6(const char *s)
{
	struct pt_addr a;

	assert_int_equal(pt_addr_parse(s, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	return a;
}

/* The 16 bytes of IPv6 address text s. */
static void assert_addr6(const struct portier_addr *got, const char *s)
{
	struct pt_addr a = addr6(s);

	assert_memory_equal(got->a8, a.v6.s6_addr, 16);
}

/* The IPv4 fixture plus "a/v6" (a's IPv6 half: "*" of family 6 on a's
 * port) and "six" (dnat maglev on 2001:db8::100, two IPv6 backends).
 * Written with the right bytes; the port filter's only IPv4 service
 * unchanged; read back (a runtime route added beside them re-validates
 * the loaded set from the maps); removed by the next apply, whole. */
static void test_ipv6_routes_add_remove(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f;
	struct pt_backend b6[2] = { { .addr = addr6("2001:db8::1"), .port = PORT_A, .weight = 1 },
				    { .addr = addr6("2001:db8::2"), .port = PORT_A, .weight = 1 } };
	struct pt_backend bs[2] = { { .addr = addr6("2001:db8::3"), .port = PORT_C, .weight = 1 },
				    { .addr = addr6("2001:db8::4"), .port = PORT_C, .weight = 1 } };
	struct pt_backend brt = td_be("203.0.113.9", PORT_B + 100);
	struct pt_route rt = { .name = "rt", .wildcard = true, .port = PORT_B + 100,
			       .proto = IPPROTO_TCP, .backends = &brt, .n_backends = 1 };
	struct portier_svc_key k6 = { .port = htons(PORT_A), .proto = IPPROTO_TCP,
				      .family = PORTIER_AF_INET6 };
	struct portier_svc_key ks = { .port = htons(PORT_C), .proto = IPPROTO_TCP,
				      .family = PORTIER_AF_INET6 };
	struct portier_reply_key rk = { .port = htons(PORT_C), .proto = IPPROTO_TCP,
					.family = PORTIER_AF_INET6 };
	struct portier_reply_svc rv;
	struct portier_port pa;
	struct pt_route r[4];
	struct pt_routeset rs = { .routes = r, .n_routes = 4 };
	struct pt_addr vip = addr6("2001:db8::100"), be3a = addr6("2001:db8::3");
	struct pt_maglev_backend mb[2] = { { "[2001:db8::3]:30090", 1, 0 },
					   { "[2001:db8::4]:30090", 1, 1 } };
	uint32_t want[TABLE6 + 1];
	struct portier_backend b;
	struct portier_svc svc;
	struct portier *s;
	__u32 id, slot;
	int be3, be4, ra, rb;

	(void)state;
	td_fixture_init(&f);
	r[0] = f.r[0];
	r[1] = f.r[1];
	r[2] = (struct pt_route){ .name = "a/v6", .wildcard = true, .family = AF_INET6,
				    .dual = true, .port = PORT_A, .proto = IPPROTO_TCP,
				    .backends = b6, .n_backends = 2 };
	/* First the IPv4 routes alone: the IPv6 ones added beside them leave
	 * their ids (and so their flows) as they were. */
	rs.n_routes = 2;
	assert_int_equal(pt_dp_apply(dp, &rs), 0);
	ra = pt_dp_route_id(dp, "a");
	rb = pt_dp_route_id(dp, "b");
	rs.n_routes = 4;
	r[3] = (struct pt_route){ .name = "six", .addr = vip,
				    .family = AF_INET6, .port = PORT_C, .proto = IPPROTO_TCP,
				    .nat = PT_NAT_DNAT, .balance = PT_BALANCE_MAGLEV,
				    .table_size = TABLE6, .backends = bs,
				    .n_backends = 2 };
	assert_int_equal(pt_dp_apply(dp, &rs), 0);
	s = pt_dp_skel(dp);
	assert_int_equal(pt_dp_route_id(dp, "a"), ra);
	assert_int_equal(pt_dp_route_id(dp, "b"), rb);

	/* "*" of family 6: all-zero address. */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_services), &k6, &svc), 0);
	assert_int_equal(svc.route_id, pt_dp_route_id(dp, "a/v6"));
	assert_int_not_equal(svc.route_id, pt_dp_route_id(dp, "a"));
	assert_int_equal(td_route_of(dp, "a/v6").n_active, 2);
	id = td_route_of(dp, "a/v6").active[1];
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_backends), &id, &b), 0);
	assert_int_equal(b.family, PORTIER_AF_INET6);
	assert_addr6(&b.addr, "2001:db8::2");
	assert_int_equal(b.port, htons(PORT_A));
	assert_int_equal(b.route_id, svc.route_id);
	assert_int_equal(b.flags, PORTIER_BACKEND_F_USED);

	/* The exact IPv6 service and its backends' reply service. */
	memcpy(ks.addr.a8, vip.v6.s6_addr, 16);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_services), &ks, &svc), 0);
	assert_int_equal(svc.route_id, pt_dp_route_id(dp, "six"));
	memcpy(rk.addr.a8, be3a.v6.s6_addr, 16);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_reply_svc), &rk, &rv), 0);
	assert_addr6(&rv.svc_addr, "2001:db8::100");
	assert_int_equal(rv.svc_port, htons(PORT_C));
	assert_int_equal(rv.route_id, svc.route_id);
	assert_int_equal(count_keys(s->maps.portier_reply_svc, sizeof(rk)), 2);

	/* The maglev table keys the backends "[2001:db8::3]:30090". */
	be3 = pt_dp_backend_id(dp, "six", &bs[0].addr, PORT_C);
	be4 = pt_dp_backend_id(dp, "six", &bs[1].addr, PORT_C);
	assert_true(be3 >= 0 && be4 >= 0);
	assert_int_equal(pt_maglev_build("six", mb, 2, TABLE6, want), 2);
	for (__u32 i = 0; i < TABLE6; i++) {
		assert_int_equal(pt_dp_table_slot(dp, svc.route_id, i, &slot), 0);
		assert_int_equal(slot, want[i] == 0 ? (__u32)be3 : (__u32)be4);
	}

	/* The port filter: a's port has one service of each family (the
	 * families count apart: ONE_SVC and ONE_SVC6, "*" all-zero); six's
	 * port has its only IPv6 service (ONE_SVC6, no ONE_SVC) and backends. */
	assert_int_equal(port_flags(dp, PORT_A), PORTIER_PORT_SVC_TCP | PORTIER_PORT_BE_TCP |
						 PORTIER_PORT_ONE_SVC | PORTIER_PORT_ONE_SVC6);
	assert_int_equal(port_entry(dp, PORT_A).svc_route, pt_dp_route_id(dp, "a"));
	assert_int_equal(port_entry(dp, PORT_A).svc6_route, pt_dp_route_id(dp, "a/v6"));
	assert_int_equal(port_entry(dp, PORT_A).svc6_proto, IPPROTO_TCP);
	pa = port_entry(dp, PORT_A);
	assert_addr6(&pa.svc6_addr, "::");
	assert_int_equal(port_flags(dp, PORT_C),
			 PORTIER_PORT_SVC_TCP | PORTIER_PORT_BE_TCP | PORTIER_PORT_ONE_SVC6);
	assert_int_equal(port_entry(dp, PORT_C).svc6_route, pt_dp_route_id(dp, "six"));
	pa = port_entry(dp, PORT_C);
	assert_addr6(&pa.svc6_addr, "2001:db8::100");

	/* Read back from the maps: the loaded set re-validates with a
	 * runtime route beside it, families intact. */
	assert_int_equal(pt_dp_route_add(dp, &rt), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_services), &k6, &svc), 0);
	assert_int_equal(svc.route_id, pt_dp_route_id(dp, "a/v6"));
	assert_int_equal(td_route_of(dp, "a/v6").n_active, 2);
	assert_int_equal(count_keys(s->maps.portier_services, sizeof(k6)), 5);
	assert_int_equal(count_keys(s->maps.portier_reply_svc, sizeof(rk)), 2);
	assert_int_equal(pt_dp_route_del(dp, "rt"), 0);

	/* Reload without the IPv6 routes: their services, backends, reply
	 * services and table are gone; the IPv4 ones untouched. */
	rs.n_routes = 2;
	assert_int_equal(pt_dp_apply(dp, &rs), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_services), &k6, &svc),
			 -ENOENT);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_services), &ks, &svc),
			 -ENOENT);
	assert_int_equal(count_keys(s->maps.portier_services, sizeof(k6)), 2);
	assert_int_equal(count_keys(s->maps.portier_reply_svc, sizeof(rk)), 0);
	assert_int_equal(pt_dp_route_id(dp, "a/v6"), -ENOENT);
	assert_int_equal(pt_dp_backend_id(dp, "six", &bs[0].addr, PORT_C), -ENOENT);
	assert_int_equal(td_route_of(dp, "a").n_active, 3);
	assert_int_equal(pt_dp_route_id(dp, "a"), ra);
	assert_int_equal(pt_dp_route_id(dp, "b"), rb);
	assert_int_equal(port_flags(dp, PORT_C), 0);
	pt_dp_close(dp);
}

static void test_half_written_says_so(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct td_fixture f, g;

	(void)state;
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_int_equal(bpf_map_freeze(bpf_map__fd(pt_dp_skel(dp)->maps.portier_services)), 0);
	td_fixture_init(&g);
	g.r[1].port = PORT_B + 1;	/* a new listen key for "b" */
	assert_int_not_equal(pt_dp_apply(dp, &g.rs), 0);
	assert_true(pt_dp_half_written(dp));
	assert_non_null(strstr(pt_dp_last_error(dp), "changed in part"));
	pt_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_fills_maps),
		cmocka_unit_test(test_ids_stable_and_removal),
		cmocka_unit_test(test_one_service_per_port),
		cmocka_unit_test(test_removed_backend_keeps_route_totals),
		cmocka_unit_test(test_new_route_zero_syn_guard),
		cmocka_unit_test(test_bad_set_changes_nothing),
		cmocka_unit_test(test_half_written_says_so),
		cmocka_unit_test(test_ipv6_routes_add_remove),
	};

	return td_run("test_dp_apply", tests, sizeof(tests) / sizeof(tests[0]));
}
