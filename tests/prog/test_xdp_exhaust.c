// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_exhaust.c - a full connection table and a backend's exhausted
 * SNAT ports (docs/dataplane.md, "When the table is full"):
 *
 *   - a bucket full of established (ASSURED) flows refuses a new flow
 *     (DROP_CT_FULL), evicts none of them, and they keep forwarding;
 *   - a bucket of established and embryonic flows evicts the idlest
 *     embryonic one for each new flow (CT_EVICTED, with its other entry),
 *     then the new embryonic ones, never an established one;
 *   - a backend whose SNAT ports are all held drops its new flows
 *     (DROP_SNAT_EXHAUSTED, portier_snat_ports_used at the range size)
 *     while the route's other backends take theirs; a port given back is
 *     taken again; a stretch of 32 held ports is skipped by the next flow;
 *   - free SNAT ports whose reply entries find no room: DROP_CT_FULL (the
 *     table ran out, not the ports).
 *
 * The program runs through BPF_PROG_TEST_RUN with the fuzz harness's
 * routes (tests/lib/xdpfuzz.c, which checks every run's invariants), in a
 * private network namespace; root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "metrics.h"
#include "metrics_collect.h"
#include "portier.skel.h"
#include "testnet.h"
#include "xdpfuzz.h"
#include "xdptest.h"

#define CT_ENTRIES	4096	/* 512 buckets: the test fills one at a time */
#define DNAT_PORT	81	/* "dnat": 203.0.113.12:30081; its reply key is
				 * the client's, so the test places both */
#define DNAT_BE_PORT	30081
#define WEB_PORT	80	/* "web": snat over .11, .12, .13 :30080 */
#define WEB_BE_PORT	30080
#define DNS_PORT	53	/* "dns": snat UDP, one backend .11:30053 */
#define DNS_BE_PORT	30053
#define SNAT_MIN	20000
#define SNAT_MAX	20007	/* 8 ports per backend */
#define N_EMBRYONIC	4
#define TCP_OFF		(PKT_ETH_LEN + PKT_IP_LEN)

/* A flow of the fill: its two keys. */
struct fill {
	struct portier_flow_key ko, kr;
};

static int setup(void **state)
{
	(void)state;
	return xf_setup_sized(CT_ENTRIES) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	xf_teardown();
	return 0;
}

static struct pt_ct *ct(void)
{
	return pt_dp_ct(xf_dp());
}

static struct portier_config config(void)
{
	struct portier_config c;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(xf_dp())->maps.portier_config),
					     &zero, &c), 0);
	return c;
}

static uint64_t reason(enum portier_reason id)
{
	uint64_t r[PORTIER_R_MAX];

	assert_int_equal(pt_reasons_sum(pt_dp_skel(xf_dp())->maps.portier_reasons, r), 0);
	return r[id];
}

static __u32 now_tick(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return portier_tick((__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec);
}

static __u32 bucket_of(const struct portier_flow_key *k)
{
	struct portier_config c = config();
	__u32 tag;

	return portier_ct_locate(k, c.ct_seed, c.ct_buckets, c.ct_step, &tag);
}

/* The backend id of route/addr:port. */
static __u32 backend_id(const char *route, const char *addr, uint16_t port)
{
	struct pt_dp_route_view *v = NULL;
	size_t n = pt_dp_view(xf_dp(), &v);
	__u32 id = UINT32_MAX;

	for (size_t r = 0; r < n; r++)
		for (size_t b = 0; b < v[r].n_be; b++)
			if (!strcmp(v[r].meta.name, route) && v[r].be[b].port == port &&
			    v[r].be[b].addr.v4.s_addr == tn_ip4(addr))
				id = v[r].be[b].id;
	pt_dp_view_free(v, n);
	assert_int_not_equal(id, UINT32_MAX);
	return id;
}

/* The original key of a dnat flow from saddr:sport. */
static struct portier_flow_key dnat_key(__be32 saddr, uint16_t sport)
{
	struct portier_flow_key k = { .saddr = saddr, .sport = htons(sport), .proto = IPPROTO_TCP };

	k.daddr = tn_ip4(TN_GW_IN);
	k.dport = htons(DNAT_PORT);
	return k;
}

/* A dnat flow from saddr:sport whose original entry lands in bucket b
 * and whose reply entry does not, searching sport from *next. */
static struct portier_flow_key dnat_key_in(__be32 saddr, __u32 b, uint16_t *next)
{
	struct portier_flow_key k, r;

	for (;; (*next)++) {
		assert_true(*next < 65000);
		k = dnat_key(saddr, *next);
		r = (struct portier_flow_key){ .saddr = tn_ip4("203.0.113.12"), .daddr = saddr,
					       .sport = htons(DNAT_BE_PORT), .dport = k.sport,
					       .proto = IPPROTO_TCP };
		if (bucket_of(&k) == b && bucket_of(&r) != b)
			break;
	}
	(*next)++;
	return k;
}

/* Insert both entries of a dnat flow (key ko) to 203.0.113.12:30081,
 * established or embryonic idle idle_s seconds. */
static struct fill insert_dnat(const struct portier_flow_key *ko, bool assured, __u32 idle_s)
{
	struct portier_flow fo = { .dir = PORTIER_FLOW_DIR_ORIG }, fr;
	struct fill fl = { .ko = *ko };

	fo.route_id = 0;
	fo.backend_id = (__u16)backend_id("dnat", "203.0.113.12", DNAT_BE_PORT);
	fo.last_seen = now_tick() - portier_ticks_of_s(idle_s);
	fo.flags = assured ? PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED : 0;
	fo.nat_saddr = ko->saddr;
	fo.nat_sport = ko->sport;
	fo.nat_daddr = tn_ip4("203.0.113.12");
	fo.nat_dport = htons(DNAT_BE_PORT);
	pt_flow_key_other(ko, &fo, &fl.kr);
	fr = fo;
	fr.dir = PORTIER_FLOW_DIR_REPLY;
	fr.nat_saddr = ko->daddr;
	fr.nat_sport = ko->dport;
	fr.nat_daddr = ko->saddr;
	fr.nat_dport = ko->sport;
	assert_int_equal(pt_ct_insert(ct(), ko, &fo), 0);
	assert_int_equal(pt_ct_insert(ct(), &fl.kr, &fr), 0);
	return fl;
}

static bool present(const struct fill *f)
{
	return pt_ct_lookup(ct(), &f->ko, NULL) && pt_ct_lookup(ct(), &f->kr, NULL);
}

static bool absent(const struct fill *f)
{
	return !pt_ct_lookup(ct(), &f->ko, NULL) && !pt_ct_lookup(ct(), &f->kr, NULL);
}

/* Run s from the client side (xf_run checks the invariants); its action,
 * the output frame in out. */
static int run_in(const struct pkt_spec *s, uint8_t *out)
{
	uint8_t f[PKT_MAX];
	const char *err;
	int act = -1;

	err = xf_run(XF_IN, f, pkt_build(s, f), out, &act);
	if (err)
		fail_msg("%s", err);
	return act;
}

/* Run a TCP segment (flags) of key k's tuple from the client side; its
 * action, the output frame in out. */
static int run_tcp(const struct portier_flow_key *k, uint8_t flags, uint8_t *out)
{
	struct pkt_spec s = xt_spec(k->saddr, k->daddr, ntohs(k->sport), ntohs(k->dport),
				    IPPROTO_TCP, flags);

	s.payload_len = flags & PKT_SYN ? 0 : 20;
	return run_in(&s, out);
}

/* (a) A bucket of established flows only: a new flow is refused and
 * counted, none of them is evicted, and they keep forwarding. */
static void test_established_bucket_refuses(void **state)
{
	__be32 client = tn_ip4(TN_CLIENT), other = tn_ip4("10.99.0.1");
	uint64_t full = reason(PORTIER_R_DROP_CT_FULL), ev = reason(PORTIER_R_CT_EVICTED);
	struct portier_flow_key syn, k;
	struct fill fl[PORTIER_CT_SLOTS];
	uint16_t next = 1024, cnext = 41000;
	uint8_t out[PKT_MAX];
	__u32 b;

	(void)state;
	assert_int_equal(pt_ct_flush(ct(), NULL), 0);
	syn = dnat_key(client, cnext);
	b = bucket_of(&syn);
	syn = dnat_key_in(client, b, &cnext);
	for (int i = 0; i < PORTIER_CT_SLOTS; i++) {
		k = dnat_key_in(other, b, &next);
		fl[i] = insert_dnat(&k, true, 100 + (__u32)i);
	}

	assert_int_equal(run_tcp(&syn, PKT_SYN, out), XDP_DROP);
	assert_int_equal(reason(PORTIER_R_DROP_CT_FULL), full + 1);
	assert_int_equal(reason(PORTIER_R_CT_EVICTED), ev);
	assert_false(pt_ct_lookup(ct(), &syn, NULL));
	for (int i = 0; i < PORTIER_CT_SLOTS; i++)
		assert_true(present(&fl[i]));
	/* The established flows go on: a segment of the idlest. */
	assert_int_equal(run_tcp(&fl[PORTIER_CT_SLOTS - 1].ko, PKT_ACK | PKT_PSH, out),
			 XDP_REDIRECT);
	assert_int_equal(pkt_daddr(out), tn_ip4("203.0.113.12"));
	assert_int_equal(pkt_dport(out), DNAT_BE_PORT);
	/* The client retransmits: refused again, while the bucket is full. */
	assert_int_equal(run_tcp(&syn, PKT_SYN, out), XDP_DROP);
	assert_int_equal(reason(PORTIER_R_DROP_CT_FULL), full + 2);
	/* One established flow closes (FIN): it may go, and the SYN takes
	 * its place. */
	assert_int_equal(run_tcp(&fl[5].ko, PKT_FIN | PKT_ACK, out), XDP_REDIRECT);
	assert_int_equal(run_tcp(&syn, PKT_SYN, out), XDP_REDIRECT);
	assert_int_equal(reason(PORTIER_R_CT_EVICTED), ev + 1);
	assert_true(absent(&fl[5]));
	for (int i = 0; i < PORTIER_CT_SLOTS; i++)
		assert_true(i == 5 || present(&fl[i]));
	assert_null(xf_check_table());
}

/* (b) A bucket of 12 established and 4 embryonic flows: each new flow
 * evicts the idlest embryonic entry (with its other entry); once those
 * are gone, the new flows' own embryonic entries; never an established
 * one. */
static void test_mixed_bucket_evicts_embryonic(void **state)
{
	static const __u32 idle_s[N_EMBRYONIC] = { 20, 40, 10, 30 };	/* evicted: 1, 3, 0, 2 */
	static const int order[N_EMBRYONIC] = { 1, 3, 0, 2 };
	__be32 client = tn_ip4(TN_CLIENT), other = tn_ip4("10.99.0.2");
	uint64_t ev = reason(PORTIER_R_CT_EVICTED), full = reason(PORTIER_R_DROP_CT_FULL);
	struct portier_flow_key syn[N_EMBRYONIC + 1], k;
	struct fill est[PORTIER_CT_SLOTS - N_EMBRYONIC], emb[N_EMBRYONIC], mine;
	uint16_t next = 2048, cnext = 42000;
	uint8_t out[PKT_MAX];
	int gone = 0;
	__u32 b;

	(void)state;
	assert_int_equal(pt_ct_flush(ct(), NULL), 0);
	syn[0] = dnat_key(client, cnext);
	b = bucket_of(&syn[0]);
	for (int i = 0; i <= N_EMBRYONIC; i++)
		syn[i] = dnat_key_in(client, b, &cnext);
	/* Established flows idler than every embryonic one: idleness alone
	 * would pick them. */
	for (int i = 0; i < PORTIER_CT_SLOTS - N_EMBRYONIC; i++) {
		k = dnat_key_in(other, b, &next);
		est[i] = insert_dnat(&k, true, 500 + (__u32)i);
	}
	for (int i = 0; i < N_EMBRYONIC; i++) {
		k = dnat_key_in(other, b, &next);
		emb[i] = insert_dnat(&k, false, idle_s[i]);
	}

	for (int n = 0; n < N_EMBRYONIC; n++) {
		assert_int_equal(run_tcp(&syn[n], PKT_SYN, out), XDP_REDIRECT);
		assert_int_equal(reason(PORTIER_R_CT_EVICTED), ev + (uint64_t)n + 1);
		assert_true(absent(&emb[order[n]]));
		gone++;
		for (int i = n + 1; i < N_EMBRYONIC; i++)
			assert_true(present(&emb[order[i]]));
		for (int i = 0; i < PORTIER_CT_SLOTS - N_EMBRYONIC; i++)
			assert_true(present(&est[i]));
	}
	assert_int_equal(gone, N_EMBRYONIC);
	/* The bucket: 12 established, the 4 new embryonic flows. The next
	 * new flow evicts one of those. */
	assert_int_equal(run_tcp(&syn[N_EMBRYONIC], PKT_SYN, out), XDP_REDIRECT);
	assert_int_equal(reason(PORTIER_R_CT_EVICTED), ev + N_EMBRYONIC + 1);
	assert_int_equal(reason(PORTIER_R_DROP_CT_FULL), full);
	gone = 0;
	for (int i = 0; i < N_EMBRYONIC; i++) {
		mine.ko = syn[i];
		gone += !pt_ct_lookup(ct(), &mine.ko, NULL);
	}
	assert_int_equal(gone, 1);
	for (int i = 0; i < PORTIER_CT_SLOTS - N_EMBRYONIC; i++)
		assert_true(present(&est[i]));
	assert_null(xf_check_table());
}

/* The metrics' view of a backend of "web": its SNAT ports in use. */
static uint64_t snat_used(const char *backend, uint64_t *capacity)
{
	struct pt_metrics_snapshot s = { 0 };
	uint64_t used = UINT64_MAX;

	assert_int_equal(pt_metrics_collect(xf_dp(), NULL, &s), 0);
	for (size_t i = 0; i < s.n_backends; i++)
		if (!strcmp(s.backends[i].route, "web") && !strcmp(s.backends[i].backend, backend))
			used = s.backends[i].snat_ports_used;
	*capacity = s.snat_ports_per_backend;
	pt_metrics_snapshot_clear(&s);
	assert_int_not_equal(used, UINT64_MAX);
	return used;
}

/* (c) Backend .11 of "web" holds all 8 SNAT ports (established flows):
 * its new flows are dropped and counted, the route's other two backends
 * take theirs; a port given back is taken by the next flow to .11. */
static void test_snat_exhausted_backend(void **state)
{
	struct portier_config c = config(), narrow = c;
	__u32 be11 = backend_id("web", "203.0.113.11", WEB_BE_PORT);
	uint64_t exh = reason(PORTIER_R_DROP_SNAT_EXHAUSTED), cap;
	struct portier_flow_key ko[SNAT_MAX - SNAT_MIN + 1], kr[SNAT_MAX - SNAT_MIN + 1], syn;
	struct portier_flow fo, fr;
	int drops = 0, fwd = 0, to11 = -1;
	uint8_t out[PKT_MAX];

	(void)state;
	assert_int_equal(pt_ct_flush(ct(), NULL), 0);
	narrow.snat_port_min = SNAT_MIN;
	narrow.snat_port_max = SNAT_MAX;
	assert_int_equal(pt_dp_set_config(xf_dp(), &narrow), 0);
	for (int i = 0; i <= SNAT_MAX - SNAT_MIN; i++) {
		memset(&fo, 0, sizeof(fo));
		ko[i] = (struct portier_flow_key){ .saddr = tn_ip4("10.98.0.1"),
						   .daddr = tn_ip4(TN_GW_IN),
						   .sport = htons((uint16_t)(1000 + i)),
						   .dport = htons(WEB_PORT), .proto = IPPROTO_TCP };
		fo.dir = PORTIER_FLOW_DIR_ORIG;
		fo.backend_id = (__u16)be11;
		fo.flags = PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED;
		fo.last_seen = now_tick();
		fo.nat_saddr = tn_ip4(TN_GW_OUT);
		fo.nat_sport = htons((uint16_t)(SNAT_MIN + i));
		fo.nat_daddr = tn_ip4("203.0.113.11");
		fo.nat_dport = htons(WEB_BE_PORT);
		pt_flow_key_other(&ko[i], &fo, &kr[i]);
		fr = fo;
		fr.dir = PORTIER_FLOW_DIR_REPLY;
		fr.nat_saddr = ko[i].daddr;
		fr.nat_sport = ko[i].dport;
		fr.nat_daddr = ko[i].saddr;
		fr.nat_dport = ko[i].sport;
		assert_int_equal(pt_ct_insert(ct(), &ko[i], &fo), 0);
		assert_int_equal(pt_ct_insert(ct(), &kr[i], &fr), 0);
	}
	assert_int_equal(snat_used("203.0.113.11:30080", &cap), SNAT_MAX - SNAT_MIN + 1);
	assert_int_equal(cap, SNAT_MAX - SNAT_MIN + 1);

	/* Six new flows, round-robin: two for .11, dropped. */
	for (int i = 0; i < 6; i++) {
		syn = (struct portier_flow_key){ .saddr = tn_ip4(TN_CLIENT),
						 .daddr = tn_ip4(TN_GW_IN),
						 .sport = htons((uint16_t)(43000 + i)),
						 .dport = htons(WEB_PORT), .proto = IPPROTO_TCP };
		switch (run_tcp(&syn, PKT_SYN, out)) {
		case XDP_DROP:
			drops++;
			assert_false(pt_ct_lookup(ct(), &syn, NULL));
			break;
		case XDP_REDIRECT:
			fwd++;
			assert_int_not_equal(pkt_daddr(out), tn_ip4("203.0.113.11"));
			assert_in_range(pkt_sport(out), SNAT_MIN, SNAT_MAX);
			break;
		default:
			fail_msg("a new flow neither dropped nor forwarded");
		}
	}
	assert_int_equal(drops, 2);
	assert_int_equal(fwd, 4);
	assert_int_equal(reason(PORTIER_R_DROP_SNAT_EXHAUSTED), exh + 2);
	assert_int_equal(snat_used("203.0.113.12:30080", &cap), 2);
	assert_int_equal(snat_used("203.0.113.13:30080", &cap), 2);
	assert_int_equal(snat_used("203.0.113.11:30080", &cap), SNAT_MAX - SNAT_MIN + 1);
	/* The established flows to .11 go on. */
	assert_int_equal(run_tcp(&ko[0], PKT_ACK, out), XDP_REDIRECT);
	assert_int_equal(pkt_sport(out), SNAT_MIN);

	/* One of them ends (its entries deleted, as the GC does): the next
	 * flow to .11 takes its port. */
	assert_int_equal(pt_ct_delete(ct(), &ko[3]), 0);
	assert_int_equal(pt_ct_delete(ct(), &kr[3]), 0);
	for (int i = 0; i < 3 && to11 < 0; i++) {
		syn.sport = htons((uint16_t)(43100 + i));
		assert_int_equal(run_tcp(&syn, PKT_SYN, out), XDP_REDIRECT);
		if (pkt_daddr(out) == tn_ip4("203.0.113.11"))
			to11 = pkt_sport(out);
	}
	assert_int_equal(to11, SNAT_MIN + 3);
	assert_int_equal(reason(PORTIER_R_DROP_SNAT_EXHAUSTED), exh + 2);
	assert_int_equal(pt_dp_set_config(xf_dp(), &c), 0);
	assert_null(xf_check_table());
}

/* A UDP datagram to "dns" (snat, one backend: 203.0.113.11:30053) from
 * the client's port sport; its action, the output frame in out. */
static int run_dns(uint16_t sport, uint8_t *out)
{
	struct pkt_spec s = xt_spec(tn_ip4(TN_CLIENT), tn_ip4(TN_GW_IN), sport, DNS_PORT,
				    IPPROTO_UDP, 0);

	s.payload_len = 16;
	return run_in(&s, out);
}

/* The reply key of "dns"'s backend's SNAT flow on port p. */
static struct portier_flow_key dns_reply_key(uint16_t p)
{
	return (struct portier_flow_key){ .saddr = tn_ip4("203.0.113.11"),
					  .daddr = tn_ip4(TN_GW_OUT),
					  .sport = htons(DNS_BE_PORT), .dport = htons(p),
					  .proto = IPPROTO_UDP };
}

/* Hold SNAT port p of "dns"'s backend: an established UDP flow's reply
 * entry (its original entry left out: the port is what counts). */
static void hold_dns_port(uint16_t p)
{
	struct portier_flow_key k = dns_reply_key(p);
	struct portier_flow f = { .dir = PORTIER_FLOW_DIR_REPLY,
				  .flags = PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED };

	f.last_seen = now_tick();
	f.nat_saddr = tn_ip4(TN_GW_IN);
	f.nat_sport = htons(DNS_PORT);
	f.nat_daddr = tn_ip4("10.97.0.1");
	f.nat_dport = htons(p);
	assert_int_equal(pt_ct_insert(ct(), &k, &f), 0);
}

static void set_snat_range(uint16_t min, uint16_t max)
{
	struct portier_config c = config();

	c.snat_port_min = min;
	c.snat_port_max = max;
	assert_int_equal(pt_dp_set_config(xf_dp(), &c), 0);
}

static void set_cursor(__u32 be, __u32 v)
{
	int fd = bpf_map__fd(pt_dp_skel(xf_dp())->maps.portier_snat_cursor);

	assert_int_equal(bpf_map_update_elem(fd, &be, &v, BPF_ANY), 0);
}

/* A stretch of 32 held ports with free ones beyond: the flow that probes
 * it is dropped (SNAT_EXHAUSTED), and moves the cursor past it, so the
 * next flow gets the first free port after it. */
static void test_snat_stretch_skipped(void **state)
{
	__u32 be = backend_id("dns", "203.0.113.11", DNS_BE_PORT);
	uint64_t exh = reason(PORTIER_R_DROP_SNAT_EXHAUSTED), full = reason(PORTIER_R_DROP_CT_FULL);
	uint8_t out[PKT_MAX];

	(void)state;
	assert_int_equal(pt_ct_flush(ct(), NULL), 0);
	set_snat_range(SNAT_MIN, SNAT_MIN + 99);
	for (uint16_t p = SNAT_MIN; p <= SNAT_MIN + 40; p++)
		hold_dns_port(p);
	set_cursor(be, 0);
	assert_int_equal(run_dns(44000, out), XDP_DROP);
	assert_int_equal(reason(PORTIER_R_DROP_SNAT_EXHAUSTED), exh + 1);
	assert_int_equal(run_dns(44001, out), XDP_REDIRECT);
	assert_int_equal(pkt_sport(out), SNAT_MIN + 41);
	assert_int_equal(reason(PORTIER_R_DROP_SNAT_EXHAUSTED), exh + 1);
	assert_int_equal(reason(PORTIER_R_DROP_CT_FULL), full);
	set_snat_range(PORTIER_SNAT_PORT_MIN_DEFAULT, PORTIER_SNAT_PORT_MAX_DEFAULT);
	assert_null(xf_check_table());
}

/* Fill bucket b with established entries (lone original entries of
 * flows from 10.96.0.0/16). */
static void fill_bucket(__u32 b, uint16_t *next)
{
	struct portier_flow f = { .dir = PORTIER_FLOW_DIR_ORIG,
				  .flags = PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED };
	struct portier_flow_key k;
	int rc = 0;

	f.last_seen = now_tick();
	f.nat_daddr = tn_ip4("203.0.113.12");
	f.nat_dport = htons(DNAT_BE_PORT);
	while (rc == 0) {
		k = dnat_key_in(tn_ip4("10.96.0.1"), b, next);
		f.nat_saddr = k.saddr;
		f.nat_sport = k.sport;
		rc = pt_ct_insert(ct(), &k, &f);
	}
	assert_int_equal(rc, -ENOSPC);
}

/* Free SNAT ports whose reply entries find no room (their buckets full of
 * established flows): the new flow is refused as DROP_CT_FULL, the table
 * being what ran out, not the ports. */
static void test_snat_no_room_is_ct_full(void **state)
{
	uint64_t exh = reason(PORTIER_R_DROP_SNAT_EXHAUSTED), full = reason(PORTIER_R_DROP_CT_FULL);
	struct portier_flow_key k;
	uint8_t out[PKT_MAX];
	uint16_t next = 1024;

	(void)state;
	assert_int_equal(pt_ct_flush(ct(), NULL), 0);
	set_snat_range(SNAT_MIN, SNAT_MIN + 3);
	for (uint16_t p = SNAT_MIN; p <= SNAT_MIN + 3; p++) {
		k = dns_reply_key(p);
		fill_bucket(bucket_of(&k), &next);
	}
	assert_int_equal(run_dns(44100, out), XDP_DROP);
	assert_int_equal(reason(PORTIER_R_DROP_CT_FULL), full + 1);
	assert_int_equal(reason(PORTIER_R_DROP_SNAT_EXHAUSTED), exh);
	set_snat_range(PORTIER_SNAT_PORT_MIN_DEFAULT, PORTIER_SNAT_PORT_MAX_DEFAULT);
	assert_null(xf_check_table());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_established_bucket_refuses),
		cmocka_unit_test(test_mixed_bucket_evicts_embryonic),
		cmocka_unit_test(test_snat_exhausted_backend),
		cmocka_unit_test(test_snat_stretch_skipped),
		cmocka_unit_test(test_snat_no_room_is_ct_full),
	};

	return xt_run_group("test_xdp_exhaust", tests, setup, teardown);
}
