// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_maglev.c - balance maglev and source through BPF_PROG_TEST_RUN:
 * two data planes loaded one after the other (separate maps, nothing
 * shared) from the same route set send each of N_TUPLES SYNs to the same
 * backend, the one user/maglev.c's table names for the tuple's hash; a
 * source route sends every connection of one client to one backend; a
 * backend of weight 0 takes no new flow; weighted round-robin gives each
 * backend its weight's share of every cycle. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "dataplane.h"
#include "lookup.h"
#include "maglev.h"
#include "pkt.h"
#include "portier.skel.h"
#include "portier_hash.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define N_TUPLES	100000
#define PORT_MAG	91
#define PORT_SRC	92
#define PORT_W0		93
#define PORT_WRR	94
#define PORT_COOKIE	95
#define BE_PORT		30091	/* of mag; src's +1, w0's +2: no reply key shared */
#define SRC_SIZE	1009	/* a prime > 100 * 3 */

#define THREE(port) { { "203.0.113.11", port, false }, { "203.0.113.12", port, false }, \
			     { "203.0.113.13", port, false } }
static const struct tn_be three[] = THREE(BE_PORT);
static const struct tn_be three_src[] = THREE(BE_PORT + 1);
static const struct tn_be three_w0[] = THREE(BE_PORT + 2);
static const struct tn_be three_wrr[] = THREE(BE_PORT + 3);
static const struct tn_be three_cookie[] = THREE(BE_PORT + 4);

/* The route set: "mag" maglev dnat :91 (default size), "src" source dnat
 * :92 (SRC_SIZE slots), "w0" maglev :93 with backend .12 at weight 0. */
static int load(void)
{
	struct pt_route r[5];

	tn_route(&r[0], "mag", TN_GW_IN, PORT_MAG, IPPROTO_TCP, PT_NAT_DNAT, three, 3);
	r[0].balance = PT_BALANCE_MAGLEV;
	r[0].table_size = PT_MAGLEV_SIZE_DEFAULT;
	tn_route(&r[1], "src", TN_GW_IN, PORT_SRC, IPPROTO_TCP, PT_NAT_DNAT, three_src, 3);
	r[1].balance = PT_BALANCE_SOURCE;
	r[1].table_size = SRC_SIZE;
	tn_route(&r[2], "w0", TN_GW_IN, PORT_W0, IPPROTO_TCP, PT_NAT_DNAT, three_w0, 3);
	r[2].balance = PT_BALANCE_MAGLEV;
	r[2].table_size = PT_MAGLEV_SIZE_DEFAULT;
	r[2].backends[1].weight = 0;
	tn_route(&r[3], "wrr", TN_GW_IN, PORT_WRR, IPPROTO_TCP, PT_NAT_DNAT, three_wrr, 3);
	for (int k = 0; k < 3; k++)
		r[3].backends[k].weight = 2 * (k + 1);	/* 2, 4, 6: turns 1, 2, 3 */
	tn_route(&r[4], "cmag", TN_GW_IN, PORT_COOKIE, IPPROTO_TCP, PT_NAT_DNAT, three_cookie, 3);
	r[4].balance = PT_BALANCE_MAGLEV;
	r[4].table_size = PT_MAGLEV_SIZE_DEFAULT;
	r[4].syn_cookies = PT_SYN_COOKIES_ON;
	return tn_apply(xt.dp, r, 5, "test_xdp_maglev");
}

static int open_and_load(void)
{
	if (xt_open("test_xdp_maglev", 40000, 1, NULL))
		return -1;
	return load() ? -1 : 0;
}

static int setup(void **state)
{
	(void)state;
	return open_and_load();
}

/* The i-th test tuple: a client in 198.51.100.0/24 or 192.0.2.0/24 and a
 * source port, spread by a fixed generator (no two alike for i <
 * N_TUPLES). */
static void tuple(unsigned int i, uint32_t *saddr, uint16_t *sport)
{
	uint32_t host = 2 + i % 250, net = (i / 250) % 2 ? 0xc0000200 : 0xc6336400;

	*saddr = htonl(net | host);
	*sport = (uint16_t)(1024 + (i / 500) * 97 % 64000 + i % 2);
}

/* SYN of tuple i to port: the backend's index (tn_be_addr), -1 if not
 * redirected to one. */
static int send_syn(uint32_t saddr, uint16_t sport, uint16_t port)
{
	struct pkt_spec s = xt_spec(saddr, tn_ip4(TN_GW_IN), sport, port, IPPROTO_TCP,
				    PKT_SYN);
	struct xt_run r;

	xt_run_spec(xt.if_in, &s, &r);
	if (r.ret != XDP_REDIRECT)
		return -1;
	return xt_be_index(pkt_daddr(r.out));
}

/* The backend index user/maglev.c's table gives a hash: the data plane's
 * choice must be this one. */
static int expected(const uint32_t *table, uint32_t h, uint32_t m, const __u32 *ids)
{
	uint32_t id = table[h % m];

	for (int k = 0; k < 3; k++)
		if (ids[k] == id)
			return k;
	return -1;
}

static void build(const char *route, uint16_t port, uint32_t m, const uint32_t *w,
		  uint32_t *table, __u32 *ids)
{
	struct pt_maglev_backend be[3];
	char keys[3][32];

	for (int k = 0; k < 3; k++) {
		struct pt_addr a = tn_addr(three[k].addr);

		assert_true(pt_dp_backend_id(xt.dp, route, &a, port) >= 0);
		ids[k] = (__u32)pt_dp_backend_id(xt.dp, route, &a, port);
		snprintf(keys[k], sizeof(keys[k]), "%s:%u", three[k].addr, port);
		be[k].key = keys[k];
		be[k].weight = w ? w[k] : 1;
		be[k].id = ids[k];
	}
	assert_true(pt_maglev_build(route, be, 3, m, table) > 0);
}

/* Two separately loaded data planes agree on every tuple, and with the
 * userspace table. */
static void test_replicas_agree(void **state)
{
	static signed char first[N_TUPLES];
	uint32_t *table = malloc(PT_MAGLEV_SIZE_DEFAULT * sizeof(*table));
	unsigned int hits[3] = { 0 }, i;
	__u32 ids[3];
	int pass;

	(void)state;
	assert_non_null(table);
	for (pass = 0; pass < 2; pass++) {
		if (pass) {	/* the second gateway: a fresh load */
			xt_close();
			assert_int_equal(open_and_load(), 0);
		}
		build("mag", BE_PORT, PT_MAGLEV_SIZE_DEFAULT, NULL, table, ids);
		for (i = 0; i < N_TUPLES; i++) {
			uint32_t saddr;
			uint16_t sport;
			int be, want;

			tuple(i, &saddr, &sport);
			be = send_syn(saddr, sport, PORT_MAG);
			want = expected(table, portier_tuple_hash(saddr, tn_ip4(TN_GW_IN),
								  htons(sport), htons(PORT_MAG),
								  IPPROTO_TCP),
					PT_MAGLEV_SIZE_DEFAULT, ids);
			if (be < 0 || be != want)
				fail_msg("load %d, tuple %u: backend %d, the table says %d", pass,
					 i, be, want);
			if (!pass) {
				first[i] = (signed char)be;
				hits[be]++;
			} else if (first[i] != be) {
				fail_msg("tuple %u: backend %d on the first load, %d on the second",
					 i, first[i], be);
			}
		}
	}
	/* And they spread (within 1% of a third, as the unit tests show). */
	for (i = 0; i < 3; i++)
		assert_true(hits[i] > N_TUPLES / 3 * 99 / 100 && hits[i] < N_TUPLES / 3 * 101 / 100);
	print_message("%d tuples: the same backend on both loads (%u, %u, %u)\n", N_TUPLES,
		      hits[0], hits[1], hits[2]);
	free(table);
}

/* balance source: all connections of a client go to one backend; the
 * clients spread over all three. */
static void test_source_one_backend(void **state)
{
	uint32_t table[SRC_SIZE];
	unsigned int seen = 0;
	__u32 ids[3];

	(void)state;
	build("src", BE_PORT + 1, SRC_SIZE, NULL, table, ids);
	for (unsigned int c = 0; c < 60; c++) {
		uint32_t saddr = htonl(0xc6336400 | (10 + c));	/* 198.51.100.(10+c) */
		int want = expected(table, portier_source_hash(saddr), SRC_SIZE, ids);

		assert_true(want >= 0);
		for (unsigned int n = 0; n < 50; n++)
			assert_int_equal(send_syn(saddr, (uint16_t)(20000 + c * 100 + n), PORT_SRC),
					 want);
		seen |= 1u << want;
	}
	assert_int_equal(seen, 7);
}

/* A backend of weight 0 takes no new flow; the others all of them. */
static void test_weight_zero(void **state)
{
	unsigned int hits[3] = { 0 };

	(void)state;
	for (unsigned int i = 0; i < 3000; i++) {
		uint32_t saddr;
		uint16_t sport;
		int be;

		tuple(i, &saddr, &sport);
		be = send_syn(saddr, sport, PORT_W0);
		assert_true(be >= 0);
		hits[be]++;
	}
	assert_int_equal(hits[1], 0);
	assert_true(hits[0] > 1000 && hits[2] > 1000);
}

/* Weighted round-robin, weights 2, 4, 6: every 6 consecutive new flows
 * give the backends exactly 1, 2 and 3 (smooth: interleaved, not in runs). */
static void test_weighted_rr(void **state)
{
	int seq[600];

	(void)state;
	for (int i = 0; i < 600; i++) {
		seq[i] = send_syn(htonl(0xc6336400 | 77), (uint16_t)(10000 + i), PORT_WRR);
		assert_true(seq[i] >= 0);
	}
	for (int c = 0; c < 100; c++) {
		int hits[3] = { 0 };

		for (int k = 0; k < 6; k++)
			hits[seq[c * 6 + k]]++;
		assert_int_equal(hits[0], 1);
		assert_int_equal(hits[1], 2);
		assert_int_equal(hits[2], 3);
	}
	/* Interleaved: the heaviest never takes three turns in a row. */
	for (int i = 0; i + 2 < 600; i++)
		assert_false(seq[i] == 2 && seq[i + 1] == 2 && seq[i + 2] == 2);
}

/* Under SYN cookies a maglev route's flow opens (at the client's ACK) on
 * the backend its table names for the tuple, as without cookies. */
static void test_cookie_same_backend(void **state)
{
	uint32_t *table = malloc(PT_MAGLEV_SIZE_DEFAULT * sizeof(*table));
	uint8_t f[PKT_MAX];
	struct xt_run r;
	__u32 ids[3];

	(void)state;
	assert_non_null(table);
	build("cmag", BE_PORT + 4, PT_MAGLEV_SIZE_DEFAULT, NULL, table, ids);
	for (unsigned int i = 0; i < 60; i++) {
		uint32_t saddr = htonl(0xc6336400 | (100 + i)), cookie;
		struct pkt_spec c = xt_spec(saddr, tn_ip4(TN_GW_IN), (uint16_t)(30000 + i),
					    PORT_COOKIE, IPPROTO_TCP, PKT_SYN);
		size_t n = pkt_build_tcp(c, 0x1000, 0, 64240, NULL, 0, 0, f);
		int want = expected(table, portier_tuple_hash(saddr, tn_ip4(TN_GW_IN),
							      htons(30000 + i), htons(PORT_COOKIE),
							      IPPROTO_TCP),
				    PT_MAGLEV_SIZE_DEFAULT, ids);

		xt_run(xt.if_in, f, n, &r);
		assert_int_equal(r.ret, XDP_TX);
		cookie = pkt_get32(r.out + PKT_ETH_LEN + PKT_IP_LEN + 4);
		c.tcp_flags = PKT_ACK;
		n = pkt_build_tcp(c, 0x1001, cookie + 1, 502, NULL, 0, 0, f);
		xt_run(xt.if_in, f, n, &r);
		assert_int_equal(r.ret, XDP_REDIRECT);
		assert_int_equal(xt_be_index(pkt_daddr(r.out)), want);
	}
	free(table);
}

/* Route r (as loaded) for the lookups: the offline table (down[1]: .12
 * left out), and for n_tuples tuples (new flows: client ports from 60000 +
 * first) the backend index the offline
 * answer, the live one (slot of the loaded table, pt_dp_table_slot) and
 * the program (a SYN) give: all three alike. */
static void lookup_agrees(struct pt_route *r, uint16_t port, const bool *down,
			  unsigned int first, unsigned int n_tuples)
{
	struct pt_lookup_route lr = { .name = r->name, .balance = r->balance,
				      .addr = tn_addr(TN_GW_IN), .port = r->port,
				      .proto = IPPROTO_TCP };
	struct pt_lookup_req q = { .route = r->name };
	uint32_t *table = malloc(r->table_size * sizeof(*table));
	__u32 rid = (__u32)pt_dp_route_id(xt.dp, r->name), ids[3], rr;
	struct portier_route *rt = malloc(sizeof(*rt));
	unsigned int hits[3] = { 0 };

	assert_non_null(table);
	assert_non_null(rt);
	for (int k = 0; k < 3; k++) {
		ids[k] = (__u32)pt_dp_backend_id(xt.dp, r->name, &r->backends[k].addr, port);
		assert_true(ids[k] < PORTIER_MAX_BACKENDS);
	}
	assert_int_equal(pt_lookup_table(r, down, table), 0);
	assert_int_equal(pt_dp_rotation(xt.dp, rid, rt, &rr), 0);
	assert_int_equal(rt->table_size, r->table_size);
	for (unsigned int i = 0; i < n_tuples; i++) {
		struct pt_lookup_client c = { .text = "", .addr = tn_addr("198.51.100.1"),
					      .port = (uint16_t)(60000 + first + i) };
		struct pt_lookup_tuple k;
		uint32_t slot;
		__u32 id;
		int live = -1, be;

		c.addr.v4.s_addr = htonl(0xc6336400 | (2 + i % 200));
		assert_int_equal(pt_lookup_key("test", &q, &c, &lr, &k), 0);
		slot = pt_lookup_hash(r->balance, &k) % r->table_size;
		assert_int_equal(pt_dp_table_slot(xt.dp, rid, slot, &id), 0);
		for (int j = 0; j < 3; j++)
			if (ids[j] == id)
				live = j;
		be = send_syn(c.addr.v4.s_addr, c.port, r->port);
		if (be < 0 || be != live || (uint32_t)be != table[slot])
			fail_msg("%s, tuple %u: the program sent it to %d, route lookup says %d, "
				 "config lookup %d", r->name, i, be, live, (int)table[slot]);
		hits[be]++;
	}
	for (int j = 0; j < 3; j++)
		assert_true((r->backends[j].weight && !(down && down[j])) == (hits[j] > 0));
	free(rt);
	free(table);
}

/* route lookup, config lookup and the program agree: maglev, source, a
 * backend of weight 0, and a backend down (its table rebuilt). */
static void test_lookup_agrees(void **state)
{
	struct pt_route r;
	struct pt_addr a = tn_addr("203.0.113.12");
	const bool down[3] = { false, true, false };

	(void)state;
	tn_route(&r, "mag", TN_GW_IN, PORT_MAG, IPPROTO_TCP, PT_NAT_DNAT, three, 3);
	r.balance = PT_BALANCE_MAGLEV;
	r.table_size = PT_MAGLEV_SIZE_DEFAULT;
	lookup_agrees(&r, BE_PORT, NULL, 0, 2000);
	assert_int_equal(pt_dp_backend_set(xt.dp, "mag", &a, BE_PORT, PT_DP_BE_DOWN, true), 0);
	lookup_agrees(&r, BE_PORT, down, 2000, 2000);
	assert_int_equal(pt_dp_backend_set(xt.dp, "mag", &a, BE_PORT, PT_DP_BE_DOWN, false), 0);
	free(r.backends);

	tn_route(&r, "src", TN_GW_IN, PORT_SRC, IPPROTO_TCP, PT_NAT_DNAT, three_src, 3);
	r.balance = PT_BALANCE_SOURCE;
	r.table_size = SRC_SIZE;
	lookup_agrees(&r, BE_PORT + 1, NULL, 0, 1000);
	free(r.backends);

	tn_route(&r, "w0", TN_GW_IN, PORT_W0, IPPROTO_TCP, PT_NAT_DNAT, three_w0, 3);
	r.balance = PT_BALANCE_MAGLEV;
	r.table_size = PT_MAGLEV_SIZE_DEFAULT;
	r.backends[1].weight = 0;
	lookup_agrees(&r, BE_PORT + 2, NULL, 0, 1000);
	free(r.backends);
}

/* Route name's loaded table, read slot by slot into t (m slots). */
static void read_table(const char *name, uint32_t *t, uint32_t m)
{
	__u32 rid = (__u32)pt_dp_route_id(xt.dp, name), inner, slot, elem;
	struct portier_maglev_pair pair;
	int fd;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_maglev), &rid,
					     &inner), 0);
	fd = bpf_map_get_fd_by_id(inner);
	assert_true(fd >= 0);
	for (slot = 0; slot < m; slot++) {
		elem = slot / 2;
		assert_int_equal(bpf_map_lookup_elem(fd, &elem, &pair), 0);
		t[slot] = pair.id[slot % 2];
	}
	close(fd);
}

/* A backend going down rebuilds the route's table: its slots go to the
 * others, at most 1% of the others' slots change (Maglev's small
 * disruption), and new flows avoid it; back up, the table is the first
 * one again. */
static void test_down_moves_little(void **state)
{
	const uint32_t m = PT_MAGLEV_SIZE_DEFAULT;
	uint32_t *t0 = malloc(m * sizeof(*t0)), *t1 = malloc(m * sizeof(*t1));
	struct pt_addr a = tn_addr("203.0.113.12");
	__u32 down = (__u32)pt_dp_backend_id(xt.dp, "mag", &a, BE_PORT);
	unsigned int moved = 0, others = 0;

	(void)state;
	assert_non_null(t0);
	assert_non_null(t1);
	read_table("mag", t0, m);
	assert_int_equal(pt_dp_backend_set(xt.dp, "mag", &a, BE_PORT, PT_DP_BE_DOWN, true), 0);
	read_table("mag", t1, m);
	for (uint32_t i = 0; i < m; i++) {
		assert_int_not_equal(t1[i], down);
		if (t0[i] == down)
			continue;
		others++;
		moved += t1[i] != t0[i];
	}
	assert_true(moved * 100 <= others);
	for (unsigned int i = 0; i < 3000; i++)
		assert_int_not_equal(send_syn(htonl(0xc0000200 | (2 + i % 250)),
					      (uint16_t)(50000 + i), PORT_MAG), 1);
	assert_int_equal(pt_dp_backend_set(xt.dp, "mag", &a, BE_PORT, PT_DP_BE_DOWN, false), 0);
	read_table("mag", t1, m);
	assert_memory_equal(t0, t1, m * sizeof(*t0));
	print_message("backend down: %u of %u other slots moved\n", moved, others);
	free(t0);
	free(t1);
}

/* The id of route name's loaded inner map. */
static __u32 table_map_id(const char *name)
{
	__u32 rid = (__u32)pt_dp_route_id(xt.dp, name), inner = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_maglev), &rid,
					     &inner), 0);
	return inner;
}

/* A table of the same size is rewritten in place (dp_maglev.c: no outer
 * update, so no RCU grace period): the inner map stays, its slots follow
 * the backend's state and match user/maglev.c's table. A reload that
 * changes the size puts a new map in, built for the new size; the route
 * set is then restored. */
static void test_table_in_place(void **state)
{
	const uint32_t m = PT_MAGLEV_SIZE_DEFAULT;
	uint32_t *t = malloc(m * sizeof(*t)), *want = malloc(m * sizeof(*want));
	const uint32_t w_down[3] = { 1, 0, 1 };	/* .12 down: as weight 0 */
	struct pt_addr a = tn_addr("203.0.113.12");
	__u32 id0 = table_map_id("mag"), ids[3], src0 = table_map_id("src");
	struct pt_route r[5];

	(void)state;
	assert_non_null(t);
	assert_non_null(want);
	assert_int_equal(pt_dp_backend_set(xt.dp, "mag", &a, BE_PORT, PT_DP_BE_DOWN, true), 0);
	assert_int_equal(table_map_id("mag"), id0);
	read_table("mag", t, m);
	build("mag", BE_PORT, m, w_down, want, ids);
	assert_memory_equal(t, want, m * sizeof(*t));
	assert_int_equal(pt_dp_backend_set(xt.dp, "mag", &a, BE_PORT, PT_DP_BE_DOWN, false), 0);
	assert_int_equal(table_map_id("mag"), id0);
	read_table("mag", t, m);
	build("mag", BE_PORT, m, NULL, want, ids);
	assert_memory_equal(t, want, m * sizeof(*t));

	/* A reload with the same set: every table in place. */
	assert_int_equal(load(), 0);
	assert_int_equal(table_map_id("mag"), id0);
	assert_int_equal(table_map_id("src"), src0);

	/* "mag" at 1009 slots: a new map of that size. */
	tn_route(&r[0], "mag", TN_GW_IN, PORT_MAG, IPPROTO_TCP, PT_NAT_DNAT, three, 3);
	r[0].balance = PT_BALANCE_MAGLEV;
	r[0].table_size = SRC_SIZE;
	assert_int_equal(tn_apply(xt.dp, r, 1, "test_xdp_maglev"), 0);
	assert_int_not_equal(table_map_id("mag"), id0);
	read_table("mag", t, SRC_SIZE);
	build("mag", BE_PORT, SRC_SIZE, NULL, want, ids);
	assert_memory_equal(t, want, SRC_SIZE * sizeof(*t));
	assert_int_equal(load(), 0);
	free(t);
	free(want);
}

/* The kernel memory of route name's table (its fdinfo's memlock), printed
 * for the record; the table holds two slots an 8-byte element. */
static void print_table_memory(const char *name)
{
	__u32 rid = (__u32)pt_dp_route_id(xt.dp, name), inner;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[64], line[128];
	FILE *f;
	int fd;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_maglev), &rid,
					     &inner), 0);
	fd = bpf_map_get_fd_by_id(inner);
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_int_equal(info.max_entries, (PT_MAGLEV_SIZE_DEFAULT + 1) / 2);
	assert_int_equal(info.value_size, 8);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8))
			print_message("table of %u slots: %s", PT_MAGLEV_SIZE_DEFAULT, line);
	if (f)
		fclose(f);
	close(fd);
}

/* What route show prints: the balance, the loaded table's size, the
 * weights (pt_dp_view, as the CLI reads it). */
static void test_view(void **state)
{
	struct pt_dp_route_view *v;
	size_t n = pt_dp_view(xt.dp, &v), seen = 0;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].meta.name, "mag")) {
			assert_int_equal(v[i].meta.balance, PT_BALANCE_MAGLEV);
			assert_int_equal(v[i].table_size, PT_MAGLEV_SIZE_DEFAULT);
			assert_int_equal(v[i].be[0].weight, 1);
			seen++;
		} else if (!strcmp(v[i].meta.name, "src")) {
			assert_int_equal(v[i].meta.balance, PT_BALANCE_SOURCE);
			assert_int_equal(v[i].table_size, SRC_SIZE);
			seen++;
		} else if (!strcmp(v[i].meta.name, "w0")) {
			assert_int_equal(v[i].be[0].weight, 1);
			assert_int_equal(v[i].be[1].weight, 0);
			seen++;
		}
	}
	pt_dp_view_free(v, n);
	assert_int_equal(seen, 3);
	print_table_memory("mag");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_source_one_backend),
		cmocka_unit_test(test_weight_zero),
		cmocka_unit_test(test_weighted_rr),
		cmocka_unit_test(test_cookie_same_backend),
		cmocka_unit_test(test_replicas_agree),
		cmocka_unit_test(test_down_moves_little),
		cmocka_unit_test(test_lookup_agrees),
		cmocka_unit_test(test_table_in_place),
	};

	return xt_run_group("test_xdp_maglev", tests, setup, xt_teardown);
}
