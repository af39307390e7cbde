// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dp_pins.c - pinning and adoption (user/dp_pins.c) against a loaded
 * skeleton (root): a second load adopts the pinned maps (ids, flows, a
 * drained backend and the table's size kept, for the IPv6 table and its
 * maps too), a CLI opens the pins and refuses a table or map of another
 * version, and a detach removes them.
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
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "portier.skel.h"
#include "testdp.h"

static void test_pin_and_adopt(void **state)
{
	char dir[] = "/tmp/portier-test-dp.XXXXXX";
	struct pt_dp_opts o = { .pin = true, .ct_entries = 2048, .ct6_entries = 1024 };
	static const char *const v6_maps[] = {
		PORTIER_MAP_CONNTRACK6, PORTIER_MAP_CT6_SLOTS, PORTIER_MAP_LOCAL6,
		PORTIER_MAP_POLICY6, PORTIER_MAP_RATE6, PORTIER_MAP_SYNPROXY6,
	};
	struct portier_config cfg6;
	struct pt_dataplane *dp = NULL;
	struct pt_dataplane *cli = NULL;
	struct portier_config cfg;
	struct td_fixture f;
	char *pins, *path;
	struct bpf_map_info info = {};
	__u32 zero = 0, step, len = sizeof(info);
	int ra, rb, bb1, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(mount("bpf", dir, "bpf", 0, "mode=0700"), 0);
	pins = malloc(strlen(dir) + 16);
	sprintf(pins, "%s/portier", dir);
	o.pin_dir = pins;

	td_fixture_init(&f);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_false(pt_dp_adopted(dp));
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_int_equal(pt_dp_backend_set(dp, "b", &f.bb[0].addr, PORT_B, PT_DP_BE_DRAINED,
					   true), 0);
	td_put_flow(dp, 40000, 0, td_now_ns());
	td_put_flow6(dp, 7, 40000, 0, td_now_ns());
	assert_int_equal(bpf_map__max_entries(pt_dp_skel(dp)->maps.portier_conntrack6),
			 portier_ct_buckets_for(1024));
	assert_int_equal(pt_ct_capacity(pt_dp_ct6(dp)), 1024);
	/* The IPv6 maps are pinned by their names; portier_progs is not. */
	path = malloc(strlen(pins) + 32);
	for (size_t i = 0; i < sizeof(v6_maps) / sizeof(v6_maps[0]); i++) {
		sprintf(path, "%s/%s", pins, v6_maps[i]);
		assert_int_equal(access(path, F_OK), 0);
	}
	sprintf(path, "%s/%s", pins, PORTIER_MAP_PROGS);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	/* The IPv6 table's geometry is in the configuration, seeded as the
	 * IPv4 one. */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config),
					     &zero, &cfg6), 0);
	assert_int_equal(cfg6.ct6_buckets, portier_ct_buckets_for(1024));
	assert_int_equal(cfg6.ct6_step, portier_ct_step_for(portier_ct_buckets_for(1024)));
	assert_true(cfg6.ct_seed != 0);
	ra = pt_dp_route_id(dp, "a");
	rb = pt_dp_route_id(dp, "b");
	bb1 = pt_dp_backend_id(dp, "b", &f.bb[1].addr, PORT_B);
	pt_dp_close(dp);

	/* A second load adopts: same ids, flows and the drained backend kept. */
	o.ct_entries = 0;
	o.ct6_entries = 0;
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_true(pt_dp_adopted(dp));
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	/* The IPv6 table too: its size, its geometry and its flow (found by
	 * the same seed). */
	assert_int_equal(bpf_map__max_entries(pt_dp_skel(dp)->maps.portier_conntrack6),
			 portier_ct_buckets_for(1024));
	assert_int_equal(pt_ct_count(pt_dp_ct6(dp)), 2);
	assert_int_equal(pt_dp_config(dp)->ct6_buckets, cfg6.ct6_buckets);
	assert_int_equal(pt_dp_config(dp)->ct_seed, cfg6.ct_seed);
	{
		struct portier_flow_key6 k = { .sport = htons(40000), .dport = htons(PORT_A),
					       .proto = IPPROTO_UDP };

		inet_pton(AF_INET6, "2001:db8:c::7", k.saddr.a8);
		inet_pton(AF_INET6, "2001:db8::1", k.daddr.a8);
		assert_true(pt_ct6_lookup(pt_dp_ct6(dp), &k, NULL));
	}
	/* The pinned table keeps its size (room for 2048 entries at least). */
	assert_int_equal(bpf_map__max_entries(pt_dp_skel(dp)->maps.portier_conntrack),
			 portier_ct_buckets_for(2048));
	assert_true(pt_ct_capacity(pt_dp_ct(dp)) >= 2048);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_int_equal(pt_dp_route_id(dp, "a"), ra);
	assert_int_equal(pt_dp_route_id(dp, "b"), rb);
	assert_int_equal(pt_dp_backend_id(dp, "b", &f.bb[1].addr, PORT_B), bb1);
	assert_int_equal(td_route_of(dp, "b").n_active, 1);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);

	/* A CLI on the pins sees the same table. */
	assert_int_equal(pt_dp_open_pinned(pins, &cli), 0);
	assert_int_equal(pt_ct_count(pt_dp_ct(cli)), 2);
	assert_int_equal(pt_ct_count(pt_dp_ct6(cli)), 2);
	pt_dp_close(cli);
	/* An IPv6 table laid out otherwise (no ct6_step): the CLI refuses;
	 * a daemon's load lays it out again and empties it, and keeps the
	 * IPv4 table (the seed is unchanged). */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config),
					     &zero, &cfg), 0);
	cfg.ct6_step = 0;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config),
					     &zero, &cfg, BPF_ANY), 0);
	assert_int_equal(pt_dp_open_pinned(pins, &cli), -EPROTO);
	assert_non_null(strstr(pt_dp_last_error(NULL), "IPv6 connection table"));
	pt_dp_close(dp);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_true(pt_dp_adopted(dp));
	assert_int_equal(pt_dp_config(dp)->ct6_step, cfg6.ct6_step);
	assert_int_equal(pt_dp_config(dp)->ct_seed, cfg6.ct_seed);
	assert_int_equal(pt_ct_count(pt_dp_ct6(dp)), 0);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	/* A table laid out by another version (here: no ct_step): the CLI
	 * refuses, and leaves the table to the program that reads it. */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config),
					     &zero, &cfg), 0);
	step = cfg.ct_step;
	cfg.ct_step = 0;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config),
					     &zero, &cfg, BPF_ANY), 0);
	assert_int_equal(pt_dp_open_pinned(pins, &cli), -EPROTO);
	assert_non_null(strstr(pt_dp_last_error(NULL), "another portier version"));
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	cfg.ct_step = step;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config),
					     &zero, &cfg, BPF_ANY), 0);
	/* A pinned map of another shape (an older portier_ports, 4-byte
	 * values): the CLI refuses. */
	path = malloc(strlen(pins) + 32);
	sprintf(path, "%s/%s", pins, PORTIER_MAP_PORTS);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 65536, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	assert_int_equal(pt_dp_open_pinned(pins, &cli), -EPROTO);
	assert_non_null(strstr(pt_dp_last_error(NULL), PORTIER_MAP_PORTS));
	/* A daemon's load replaces it (an upgrade): the new shape pinned,
	 * the connection table kept. */
	pt_dp_close(dp);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_true(pt_dp_adopted(dp));
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_int_equal(info.value_size, sizeof(struct portier_port));
	close(fd);
	assert_int_equal(pt_dp_open_pinned(pins, &cli), 0);
	pt_dp_close(cli);
	/* A configuration of another shape: replaced; with it the seed, so
	 * the pinned table is laid out afresh and emptied. */
	sprintf(path, "%s/%s", pins, PORTIER_MAP_CONFIG);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 1, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	pt_dp_close(dp);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_true(pt_dp_adopted(dp));
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 0);
	assert_true(pt_dp_config(dp)->ct_seed != 0);
	free(path);
	assert_int_equal(pt_dp_detach(dp), 0);
	assert_int_equal(access(pins, F_OK), -1);
	pt_dp_close(dp);
	umount(dir);
	rmdir(dir);
	free(pins);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_and_adopt),
	};

	return td_run("test_dp_pins", tests, sizeof(tests) / sizeof(tests[0]));
}
