// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dp_v6.c - the userspace side of the IPv6 maps against a loaded
 * skeleton (root), written and read directly (the IPv6 program is
 * another's): portier_conntrack6 through ct_table.c (insert, lookup,
 * delete, walk, stream a window at a time, flush; the IPv4 calls refuse
 * it), source policy in portier_policy6 (applied, changed at runtime, read
 * back), portier_local6, and "portier conntrack show|count|flush" on an
 * IPv6 flow.
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
#include "policy.h"
#include "portier.skel.h"
#include "testdp.h"

/* The key of IPv6 flow i: [2001:db8:c::i]:(1000 + i) -> [2001:db8::1]:80. */
static struct portier_flow_key6 key6(unsigned int i)
{
	struct portier_flow_key6 k = { .sport = htons((__u16)(1000 + i)), .dport = htons(80),
				       .proto = IPPROTO_TCP };

	inet_pton(AF_INET6, "2001:db8:c::", k.saddr.a8);
	k.saddr.a8[12] = (__u8)(i >> 24);
	k.saddr.a8[13] = (__u8)(i >> 16);
	k.saddr.a8[14] = (__u8)(i >> 8);
	k.saddr.a8[15] = (__u8)i;
	inet_pton(AF_INET6, "2001:db8::1", k.daddr.a8);
	return k;
}

struct walk_check {
	size_t seen;
	size_t bad;		/* entries whose flow is not their key's */
};

/* Every entry's backend_id is its key's index (key6(i): i & 0xffff). */
static int check_visit(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		       void *arg)
{
	struct walk_check *c = arg;
	unsigned int i = (unsigned int)k->saddr.a8[14] << 8 | k->saddr.a8[15];

	c->seen++;
	c->bad += f->backend_id != i || f->packets != i;
	/* Delete the odd ones. */
	return i % 2 ? PT_CT_DELETE : PT_CT_KEEP;
}

static int count_visit(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		       void *arg)
{
	(void)k;
	(void)f;
	(*(size_t *)arg)++;
	return PT_CT_KEEP;
}

/* The IPv6 table: entries in and out by key, walked, streamed a window at
 * a time by a second handle (as the CLI reads it), flushed. */
static void test_ct6_table(void **state)
{
	struct pt_dp_opts o = { .ct_entries = 4096, .ct6_entries = 100000 };
	struct pt_dataplane *dp = NULL;
	struct pt_ct *ct6, *win = NULL;
	struct portier_flow_key6 k;
	struct portier_flow_key k4 = { .proto = IPPROTO_TCP };
	struct portier_flow6 f = { .dir = PORTIER_FLOW_DIR_ORIG }, out;
	struct walk_check c = { 0 };
	const unsigned int n = 3000;
	size_t deleted = 0, cnt = 0;
	__u32 buckets;

	(void)state;
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	ct6 = pt_dp_ct6(dp);
	assert_true(pt_ct_is6(ct6));
	assert_false(pt_ct_is6(pt_dp_ct(dp)));
	buckets = portier_ct_buckets_for(100000);
	assert_int_equal(pt_ct_buckets(ct6), buckets);
	assert_true(buckets > 4096);	/* more than one window of the stream */
	for (unsigned int i = 0; i < n; i++) {
		k = key6(i);
		f.backend_id = (__u16)i;
		f.packets = i;
		assert_int_equal(pt_ct6_insert(ct6, &k, &f), 0);
	}
	k = key6(7);
	assert_int_equal(pt_ct6_insert(ct6, &k, &f), -EEXIST);
	assert_int_equal(pt_ct_count(ct6), n);
	assert_true(pt_ct6_lookup(ct6, &k, &out));
	assert_int_equal(out.backend_id, 7);
	assert_int_equal(out.packets, 7);
	/* The IPv4 calls refuse the IPv6 table, and back. */
	assert_false(pt_ct_lookup(ct6, &k4, NULL));
	assert_int_equal(pt_ct_delete(ct6, &k4), -EINVAL);
	assert_false(pt_ct6_lookup(pt_dp_ct(dp), &k, NULL));
	assert_int_equal(pt_ct6_delete(pt_dp_ct(dp), &k), -EINVAL);
	/* Delete by key: once. */
	assert_int_equal(pt_ct6_delete(ct6, &k), 0);
	assert_int_equal(pt_ct6_delete(ct6, &k), -ENOENT);
	assert_false(pt_ct6_lookup(ct6, &k, NULL));
	/* A walk sees each entry with its own flow, and deletes the odd. */
	assert_int_equal(pt_ct6_walk(ct6, check_visit, &c, &deleted), 0);
	assert_int_equal(c.seen, n - 1);
	assert_int_equal(c.bad, 0);
	assert_int_equal(deleted, n / 2 - 1);	/* the odd ones but 7 */
	assert_int_equal(pt_ct_count(ct6), n / 2);

	/* A handle that maps a window at a time: the stream visits every
	 * entry, lookups and deletes work through the syscall. */
	assert_int_equal(pt_ct6_open(bpf_map__fd(pt_dp_skel(dp)->maps.portier_conntrack6),
				     bpf_map__fd(pt_dp_skel(dp)->maps.portier_ct6_slots), buckets,
				     pt_dp_config(dp)->ct_seed, &win), 0);
	assert_int_equal(pt_ct6_stream(win, count_visit, &cnt, NULL), 0);
	assert_int_equal(cnt, n / 2);
	assert_int_equal(pt_ct_count(win), n / 2);
	k = key6(10);
	assert_true(pt_ct6_lookup(win, &k, &out));
	assert_int_equal(out.backend_id, 10);
	assert_int_equal(pt_ct6_delete(win, &k), 0);
	assert_false(pt_ct6_lookup(ct6, &k, NULL));
	k = key6(11);				/* deleted by the walk */
	assert_false(pt_ct6_lookup(win, &k, NULL));
	assert_int_equal(pt_ct6_delete(win, &k), -ENOENT);
	pt_ct_close(win);

	/* Flush: every entry of the IPv6 table, none of the IPv4 one. */
	td_put_flow(dp, 40000, 0, td_now_ns());
	assert_int_equal(pt_ct_flush(ct6, &deleted), 0);
	assert_int_equal(deleted, n / 2 - 1);
	assert_int_equal(pt_ct_count(ct6), 0);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	pt_dp_close(dp);
}

static struct pt_cidr cidr(const char *s)
{
	struct pt_cidr c;
	const char *why = NULL;

	if (pt_cidr_parse(s, &c, &why))
		fail_msg("bad test network %s: %s", s, why);
	return c;
}

/* The portier_policy6 rule the program would find for source addr in
 * scope (its longest match), or -1 if none. */
static int policy6_action(struct pt_dataplane *dp, __u32 scope, const char *addr)
{
	struct portier_policy6_key k = { .prefixlen = PORTIER_POLICY_SCOPE_BITS + 128,
					 .scope = scope };
	struct portier_policy_rule r;

	inet_pton(AF_INET6, addr, k.addr);
	if (bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_policy6), &k, &r))
		return -1;
	return r.action;
}

static int policy4_action(struct pt_dataplane *dp, __u32 scope, const char *addr)
{
	struct portier_policy_key k = { .prefixlen = PORTIER_POLICY_SCOPE_BITS + 32,
					.scope = scope };
	struct portier_policy_rule r;

	inet_pton(AF_INET, addr, &k.addr);
	if (bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_policy), &k, &r))
		return -1;
	return r.action;
}

/* The number of entries of list a in view route name's policy. */
static size_t view_entries(struct pt_dataplane *dp, const char *name, int family)
{
	struct pt_dp_route_view *v;
	size_t n = pt_dp_view(dp, &v), found = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].meta.name, name))
			continue;
		for (size_t k = 0; k < v[i].policy.n; k++)
			found += v[i].policy.v[k].net.addr.family == family;
	}
	pt_dp_view_free(v, n);
	return found;
}

/* IPv6 networks of a route's and the pool's lists land in portier_policy6
 * with the IPv4 rules (deny wins, a non-empty allow list refuses the rest
 * of each family), change at runtime, and come back from the maps. */
static void test_policy6(void **state)
{
	struct pt_policy_entry pool[] = {
		{ .net = cidr("2001:db8:dead::/48"), .action = PT_POLICY_DENY },
	};
	struct pt_policy_entry web[] = {
		{ .net = cidr("2001:db8:c::/48"), .action = PT_POLICY_ALLOW },
		{ .net = cidr("2001:db8:c:bad::/64"), .action = PT_POLICY_DENY },
		{ .net = cidr("198.51.100.0/24"), .action = PT_POLICY_ALLOW },
	};
	struct pt_dataplane *dp = td_open_dp();
	struct pt_cidr extra = cidr("2001:db8:e::/48");
	struct td_fixture f;
	__u32 a;

	(void)state;
	td_fixture_init(&f);
	f.rs.pool_policy = (struct pt_policy){ pool, 1 };
	f.r[0].policy = (struct pt_policy){ web, 3 };
	if (pt_dp_apply(dp, &f.rs))
		fail_msg("apply: %s", pt_dp_last_error(dp));
	a = (__u32)pt_dp_route_id(dp, "a");
	assert_int_equal(policy6_action(dp, a, "2001:db8:c::7"), PORTIER_POLICY_ALLOW);
	assert_int_equal(policy6_action(dp, a, "2001:db8:c:bad::7"), PORTIER_POLICY_DENY);
	/* Outside the allow list: the IPv6 /0 of the scope denies. */
	assert_int_equal(policy6_action(dp, a, "2001:db8:f::7"), PORTIER_POLICY_DENY);
	assert_int_equal(policy4_action(dp, a, "198.51.100.7"), PORTIER_POLICY_ALLOW);
	assert_int_equal(policy4_action(dp, a, "192.0.2.7"), PORTIER_POLICY_DENY);
	assert_int_equal(policy6_action(dp, PORTIER_POLICY_POOL, "2001:db8:dead::1"),
			 PORTIER_POLICY_DENY);
	assert_int_equal(policy6_action(dp, PORTIER_POLICY_POOL, "2001:db8:c::7"), -1);
	/* Route b has no lists: nothing in its scope. */
	assert_int_equal(policy6_action(dp, (__u32)pt_dp_route_id(dp, "b"), "2001:db8:c::7"),
			 -1);
	assert_int_equal(view_entries(dp, "a", AF_INET6), 2);
	assert_int_equal(view_entries(dp, "a", AF_INET), 1);

	/* At runtime: an IPv6 allow added, then deleted. */
	assert_int_equal(policy6_action(dp, a, "2001:db8:e::9"), PORTIER_POLICY_DENY);
	assert_int_equal(pt_dp_policy_add(dp, "a", &extra, PT_POLICY_ALLOW), 0);
	assert_int_equal(pt_dp_policy_add(dp, "a", &extra, PT_POLICY_ALLOW), -EEXIST);
	assert_int_equal(policy6_action(dp, a, "2001:db8:e::9"), PORTIER_POLICY_ALLOW);
	assert_int_equal(view_entries(dp, "a", AF_INET6), 3);
	assert_int_equal(pt_dp_policy_del(dp, "a", &extra, PT_POLICY_ALLOW), 0);
	assert_int_equal(policy6_action(dp, a, "2001:db8:e::9"), PORTIER_POLICY_DENY);
	assert_int_equal(view_entries(dp, "a", AF_INET6), 2);

	/* The lists gone: both tries empty of the route's scope. */
	f.r[0].policy = (struct pt_policy){ 0 };
	f.rs.pool_policy = (struct pt_policy){ 0 };
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	assert_int_equal(policy6_action(dp, a, "2001:db8:c:bad::7"), -1);
	assert_int_equal(policy6_action(dp, PORTIER_POLICY_POOL, "2001:db8:dead::1"), -1);
	assert_int_equal(policy4_action(dp, a, "192.0.2.7"), -1);
	pt_dp_close(dp);
}

/* portier_local6 holds the IPv6 addresses given, portier_local the IPv4
 * ones; a second call removes what is gone. */
static void test_local6(void **state)
{
	struct pt_dataplane *dp = td_open_dp();
	struct pt_addr v[3];
	struct portier_addr k;
	__u32 one;
	int fd6 = bpf_map__fd(pt_dp_skel(dp)->maps.portier_local6);
	int fd4 = bpf_map__fd(pt_dp_skel(dp)->maps.portier_local);

	(void)state;
	assert_int_equal(pt_addr_parse("2001:db8::1", &v[0]), 0);
	assert_int_equal(pt_addr_parse("fd00:db8::1", &v[1]), 0);
	assert_int_equal(pt_addr_parse("198.51.100.1", &v[2]), 0);
	assert_int_equal(pt_dp_set_local(dp, v, 3), 0);
	memset(&k, 0, sizeof(k));
	memcpy(k.a8, &v[0].v6, 16);
	assert_int_equal(bpf_map_lookup_elem(fd6, &k, &one), 0);
	memcpy(k.a8, &v[1].v6, 16);
	assert_int_equal(bpf_map_lookup_elem(fd6, &k, &one), 0);
	memset(&k, 0, sizeof(k));
	k.a32[0] = v[2].v4.s_addr;
	assert_int_equal(bpf_map_lookup_elem(fd4, &k, &one), 0);
	assert_int_equal(bpf_map_lookup_elem(fd6, &k, &one), -ENOENT);
	/* The ULA goes. */
	assert_int_equal(pt_dp_set_local(dp, v, 1), 0);
	memset(&k, 0, sizeof(k));
	memcpy(k.a8, &v[1].v6, 16);
	assert_int_equal(bpf_map_lookup_elem(fd6, &k, &one), -ENOENT);
	memcpy(k.a8, &v[0].v6, 16);
	assert_int_equal(bpf_map_lookup_elem(fd6, &k, &one), 0);
	pt_dp_close(dp);
}

/* Run the CLI on pin directory pins; its stdout (malloc'd). */
static char *cli(const char *pins, const char *args)
{
	const char *bin = getenv("PORTIER_BIN") ? getenv("PORTIER_BIN") : "build/portier";
	char *cmd, *out = calloc(1, 65536);
	size_t n = 0, r;
	FILE *p;

	assert_non_null(out);
	assert_true(asprintf(&cmd, "%s --bpffs %s %s", bin, pins, args) > 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((r = fread(out + n, 1, 65535 - n, p)) > 0 && n < 65535)
		n += r;
	assert_int_equal(pclose(p), 0);
	free(cmd);
	return out;
}

/* The CLI's whole stdout on pins with args is expect. */
static void cli_is(const char *pins, const char *args, const char *expect)
{
	char *out = cli(pins, args);

	assert_string_equal(out, expect);
	free(out);
}

/* "conntrack show" of an IPv6 flow put into the pinned table: addresses
 * as [ADDR]:PORT, in text and JSON; count and flush with IPv6 filters. */
static void test_conntrack_show6(void **state)
{
	char dir[] = "/tmp/portier-test-v6.XXXXXX";
	struct pt_dp_opts o = { .pin = true, .ct_entries = 2048, .ct6_entries = 1024 };
	struct pt_dataplane *dp = NULL;
	struct td_fixture f;
	char pins[64], *out;
	int b1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(mount("bpf", dir, "bpf", 0, "mode=0700"), 0);
	snprintf(pins, sizeof(pins), "%s/portier", dir);
	o.pin_dir = pins;
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	td_fixture_init(&f);
	assert_int_equal(pt_dp_apply(dp, &f.rs), 0);
	b1 = pt_dp_backend_id(dp, "a", &f.ba[1].addr, PORT_A);
	/* The original entry names route a. */
	td_put_flow6(dp, 7, 40000, b1, td_now_ns());
	{
		struct portier_flow_key6 k = { .sport = htons(40000), .dport = htons(PORT_A),
					       .proto = IPPROTO_UDP };
		struct portier_flow6 fl;

		inet_pton(AF_INET6, "2001:db8:c::7", k.saddr.a8);
		inet_pton(AF_INET6, "2001:db8::1", k.daddr.a8);
		assert_true(pt_ct6_lookup(pt_dp_ct6(dp), &k, &fl));
		fl.route_id = (__u16)pt_dp_route_id(dp, "a");
		fl.packets = 3;
		fl.bytes = 300;
		assert_int_equal(pt_ct6_delete(pt_dp_ct6(dp), &k), 0);
		assert_int_equal(pt_ct6_insert(pt_dp_ct6(dp), &k, &fl), 0);
	}
	td_put_flow(dp, 40001, b1, td_now_ns());

	out = cli(pins, "-j conntrack show proto udp client 2001:db8:c::/64");
	assert_non_null(strstr(out, "\"client\":\"[2001:db8:c::7]:40000\""));
	assert_non_null(strstr(out, "\"service\":\"[2001:db8::1]:30080\""));
	assert_non_null(strstr(out, "\"route\":\"a\""));
	assert_non_null(strstr(out, "\"backend\":\"[2001:db8:b::2]:30080\""));
	assert_non_null(strstr(out, "\"snat_port\":40000"));
	assert_non_null(strstr(out, "\"state\":\"unreplied\""));
	assert_non_null(strstr(out, "\"packets\":{\"in\":3,\"out\":0}"));
	assert_null(strstr(out, "198.51.100"));		/* the IPv4 flow: filtered out */
	free(out);
	out = cli(pins, "conntrack show");
	assert_non_null(strstr(out, "udp   [2001:db8:c::7]:40000"));
	assert_non_null(strstr(out, "198.51.100.2:40001"));	/* both tables */
	free(out);
	cli_is(pins, "-j conntrack count backend [2001:db8:b::2]:30080", "{\"count\":1}\n");
	cli_is(pins, "-j conntrack count backend 2001:db8:b::2", "{\"count\":1}\n");
	cli_is(pins, "-j conntrack count client 2001:db8:d::/48", "{\"count\":0}\n");
	cli_is(pins, "-j conntrack count", "{\"count\":2}\n");
	cli_is(pins, "-j conntrack flush client 2001:db8:c::7", "{\"flushed\":2,\"flows\":1}\n");
	assert_int_equal(pt_ct_count(pt_dp_ct6(dp)), 0);
	assert_int_equal(pt_ct_count(pt_dp_ct(dp)), 2);
	assert_int_equal(pt_dp_detach(dp), 0);
	pt_dp_close(dp);
	umount(dir);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct6_table),
		cmocka_unit_test(test_policy6),
		cmocka_unit_test(test_local6),
		cmocka_unit_test(test_conntrack_show6),
	};

	return td_run("test_dp_v6", tests, sizeof(tests) / sizeof(tests[0]));
}
