// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_metrics_collect.c - pt_metrics_collect against a loaded skeleton
 * (root): per-CPU counters summed, reasons, conntrack entries and SNAT
 * ports counted per backend, drain/down state and health-check results in
 * the snapshot, and the rendered text.
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

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "metrics_collect.h"
#include "portier.skel.h"

#define PORT_A		30080
#define CT_ENTRIES	4096
#define SNAT_ADDR	"203.0.113.254"
#define LO_IFINDEX	1

static struct pt_addr addr(const char *s)
{
	struct pt_addr a = { .family = AF_INET };

	inet_pton(AF_INET, s, &a.v4);
	return a;
}

/* Every CPU's slot gets a different value: the sum tells them apart. */
static void put_stats(struct bpf_map *m, __u32 id, int ncpu, __u64 base)
{
	struct portier_stats *v = calloc((size_t)ncpu, sizeof(*v));

	assert_non_null(v);
	for (int c = 0; c < ncpu; c++) {
		v[c].flows = base + (__u64)c;
		v[c].packets[0] = 10 * base;
		v[c].packets[1] = 20 * base;
		v[c].bytes[0] = 100 * base;
		v[c].bytes[1] = 200 * base;
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(m), &id, v, BPF_ANY), 0);
	free(v);
}

static void put_flow(struct pt_ct *ct, __u16 sport, __u8 dir, __u8 flags, const char *nat_src,
		     __u32 backend_id)
{
	struct portier_flow_key k = { .sport = htons(sport), .dport = htons(PORT_A),
				      .proto = IPPROTO_TCP };
	struct portier_flow f = { .dir = dir, .flags = flags, .backend_id = backend_id };
	struct pt_addr a = addr(nat_src);

	k.saddr = htonl(0xc6336401 + sport);	/* 198.51.100.x */
	f.nat_saddr = a.v4.s_addr;
	assert_int_equal(pt_ct_insert(ct, &k, &f), 0);
}

static const struct pt_metrics_backend *find_be(const struct pt_metrics_snapshot *s,
						const char *backend)
{
	for (size_t i = 0; i < s->n_backends; i++)
		if (!strcmp(s->backends[i].backend, backend))
			return &s->backends[i];
	fail_msg("backend %s not in the snapshot", backend);
	return NULL;
}

static void test_collect(void **state)
{
	struct pt_backend ba[3] = {
		{ .addr = addr("203.0.113.1"), .port = PORT_A, .weight = 1 },
		{ .addr = addr("203.0.113.2"), .port = PORT_A, .weight = 1 },
		{ .addr = addr("203.0.113.3"), .port = PORT_A, .weight = 1 },
	};
	struct pt_route r = { .name = "a", .wildcard = true, .port = PORT_A, .proto = IPPROTO_TCP,
			      .backends = ba, .n_backends = 3 };
	struct pt_routeset rs = { .routes = &r, .n_routes = 1 };
	struct pt_dp_opts o = { .ct_entries = CT_ENTRIES };
	struct pt_health_opts ho = { .defaults = { .inter_ms = 60000 }, .start_down = true };
	struct pt_health_target ht = { .route = "a", .addr = ba[0].addr, .port = PORT_A };
	int ncpu = libbpf_num_possible_cpus();
	struct pt_metrics_snapshot snap = {};
	const struct pt_metrics_backend *b;
	struct pt_dataplane *dp = NULL;
	struct portier_config cfg;
	struct pt_health *h = NULL;
	struct portier *s;
	__u64 *rv;
	__u32 rid, b1, b2, reason = PORTIER_R_DROP_NO_BACKEND;

	(void)state;
	assert_true(ncpu > 0);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	s = pt_dp_skel(dp);
	pt_dp_config_defaults(&cfg);
	cfg.snat_addr.a32[0] = addr(SNAT_ADDR).v4.s_addr;
	cfg.snat_family = PORTIER_AF_INET;
	cfg.input_ifindex = cfg.output_ifindex = LO_IFINDEX;
	assert_int_equal(pt_dp_set_config(dp, &cfg), 0);
	assert_int_equal(pt_dp_apply(dp, &rs), 0);
	rid = pt_dp_route_id(dp, "a");
	b1 = pt_dp_backend_id(dp, "a", &ba[1].addr, PORT_A);
	b2 = pt_dp_backend_id(dp, "a", &ba[2].addr, PORT_A);
	put_stats(s->maps.portier_route_stats, rid, ncpu, 5);
	put_stats(s->maps.portier_backend_stats, b1, ncpu, 2);
	rv = calloc((size_t)ncpu, sizeof(*rv));
	assert_non_null(rv);
	for (int c = 0; c < ncpu; c++)
		rv[c] = 3;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(s->maps.portier_reasons), &reason, rv,
					     BPF_ANY), 0);
	free(rv);
	/* Two SNAT flows to b1 (each an orig and a reply entry), one local. */
	put_flow(pt_dp_ct(dp), 1000, PORTIER_FLOW_DIR_ORIG, 0, SNAT_ADDR, b1);
	put_flow(pt_dp_ct(dp), 1001, PORTIER_FLOW_DIR_REPLY, 0, "203.0.113.2", b1);
	put_flow(pt_dp_ct(dp), 1002, PORTIER_FLOW_DIR_ORIG, 0, SNAT_ADDR, b1);
	put_flow(pt_dp_ct(dp), 1003, PORTIER_FLOW_DIR_REPLY, 0, "203.0.113.2", b1);
	put_flow(pt_dp_ct(dp), 1004, PORTIER_FLOW_DIR_ORIG, PORTIER_FLOW_F_LOCAL, "198.51.100.9", b2);
	assert_int_equal(pt_dp_backend_set(dp, "a", &ba[1].addr, PORT_A, PT_DP_BE_DRAINED, true),
			 0);
	assert_int_equal(pt_dp_backend_set(dp, "a", &ba[2].addr, PORT_A, PT_DP_BE_DOWN, true), 0);
	assert_int_equal(pt_health_new(&ho, &h), 0);
	assert_int_equal(pt_health_set_targets(h, &ht, 1), 0);

	assert_int_equal(pt_metrics_collect(dp, h, &snap), 0);
	assert_int_equal(snap.n_routes, 1);
	assert_string_equal(snap.routes[0].name, "a");
	/* A route's totals: its retired counters plus its backends'. */
	assert_int_equal(snap.routes[0].flows, 7 * ncpu + ncpu * (ncpu - 1));
	assert_int_equal(snap.routes[0].packets[PT_METRICS_DIR_IN], 70 * ncpu);
	assert_int_equal(snap.routes[0].bytes[PT_METRICS_DIR_OUT], 1400 * ncpu);
	assert_int_equal(snap.n_backends, 3);
	b = find_be(&snap, "203.0.113.2:30080");
	assert_int_equal(b->flows, 2 * ncpu + ncpu * (ncpu - 1) / 2);
	assert_int_equal(b->packets[PT_METRICS_DIR_OUT], 40 * ncpu);
	assert_int_equal(b->snat_ports_used, 2);
	assert_true(b->drained);
	assert_true(b->up);		/* not health-checked, not DOWN */
	b = find_be(&snap, "203.0.113.3:30080");
	assert_false(b->up);		/* DOWN bit */
	assert_int_equal(b->snat_ports_used, 0);	/* local flow: no SNAT port */
	b = find_be(&snap, "203.0.113.1:30080");
	assert_false(b->up);		/* health: starts down */
	assert_false(b->checked);	/* no check completed yet */
	assert_int_equal(snap.reasons[PORTIER_R_DROP_NO_BACKEND], 3 * ncpu);
	assert_int_equal(snap.ct_entries, 5);
	/* Room for CT_ENTRIES at least: whole buckets. */
	assert_int_equal(snap.ct_capacity, portier_ct_capacity(portier_ct_buckets_for(CT_ENTRIES)));
	assert_true(snap.ct_capacity >= CT_ENTRIES);
	assert_int_equal(snap.snat_ports_per_backend,
			 cfg.snat_port_max - cfg.snat_port_min + 1);
	pt_metrics_snapshot_clear(&snap);
	pt_health_free(h);
	pt_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
