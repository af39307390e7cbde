// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_policy.c - admission of new flows through BPF_PROG_TEST_RUN:
 * the source policy (pool and route allow/deny lists, deny wins) and the
 * per-source token buckets, with their counters; packets of existing flows
 * are never refused; runtime entries and a reload. The private network of
 * tests/lib/testnet.h, routes filled by user/dataplane.h. Needs root.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "dataplane.h"
#include "pkt.h"
#include "policy.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define CLIENT_OK	"198.51.100.10"		/* in web's allow list */
#define CLIENT_POOLDENY	"198.51.100.66"		/* the pool denies it */
#define CLIENT_HIGH	"198.51.100.200"	/* allowed /24, denied /25 */
#define CLIENT_OUTSIDE	"192.0.2.5"		/* outside web's allow list */
#define PORT_WEB	80
#define PORT_OPEN	81
#define PORT_RL		82
#define PORT_DNS	53
#define RL_BURST	3
#define NS_PER_SEC	1000000000ULL

static const struct tn_be web_be[] = { { "203.0.113.11", 30080, false },
				       { "203.0.113.12", 30080, false } };
static const struct tn_be open_be[] = { { "203.0.113.13", 30081, false } };
static const struct tn_be rl_be[] = { { "203.0.113.11", 30082, false } };
static const struct tn_be dns_be[] = { { "203.0.113.12", 30053, false } };

static struct pt_cidr cidr(const char *s)
{
	struct pt_cidr c;
	const char *why;

	if (pt_cidr_parse(s, &c, &why))
		fail_msg("bad test network %s: %s", s, why);
	return c;
}

/* The inventory's set: pool deny CLIENT_POOLDENY; web allow
 * 198.51.100.0/24, deny 198.51.100.128/25; open: no lists; rl: 3 per hour,
 * burst 3 (a token every 20 minutes: none comes back during a test); dns
 * (UDP): deny CLIENT_OUTSIDE. */
static int apply_inventory(void)
{
	struct pt_policy_entry pool[] = {
		{ .net = cidr(CLIENT_POOLDENY), .action = PT_POLICY_DENY },
	};
	struct pt_policy_entry web[] = {
		{ .net = cidr("198.51.100.0/24"), .action = PT_POLICY_ALLOW },
		{ .net = cidr("198.51.100.128/25"), .action = PT_POLICY_DENY },
	};
	struct pt_policy_entry dns[] = {
		{ .net = cidr(CLIENT_OUTSIDE), .action = PT_POLICY_DENY },
	};
	struct pt_route r[4];
	struct pt_routeset rs = { .host = (char *)"gw", .routes = r, .n_routes = 4,
				  .pool_policy = { pool, 1 } };
	int err;

	tn_route(&r[0], "web", TN_GW_IN, PORT_WEB, IPPROTO_TCP, PT_NAT_SNAT, web_be, 2);
	tn_route(&r[1], "open", TN_GW_IN, PORT_OPEN, IPPROTO_TCP, PT_NAT_SNAT, open_be, 1);
	tn_route(&r[2], "rl", TN_GW_IN, PORT_RL, IPPROTO_TCP, PT_NAT_SNAT, rl_be, 1);
	tn_route(&r[3], "dns", TN_GW_IN, PORT_DNS, IPPROTO_UDP, PT_NAT_SNAT, dns_be, 1);
	r[0].policy = (struct pt_policy){ web, 2 };
	r[3].policy = (struct pt_policy){ dns, 1 };
	r[2].rate_limit = (struct pt_rate_limit){ .rate = RL_BURST, .per_ms = 3600 * 1000,
						  .burst = RL_BURST };
	err = pt_dp_apply(xt.dp, &rs);
	if (err)
		fprintf(stderr, "test_xdp_policy: pt_dp_apply: %s\n", pt_dp_last_error(xt.dp));
	for (size_t i = 0; i < 4; i++)
		free(r[i].backends);
	return err;
}

static int setup(void **state)
{
	(void)state;
	if (xt_open("test_xdp_policy", 41000, 1, NULL))
		return -1;
	return apply_inventory() ? -1 : 0;
}

/* A TCP segment (or a UDP datagram: proto) from client (a fresh source
 * port unless sport) to the gateway's input address at dport; the
 * program's verdict. */
static int send_l4(uint8_t proto, const char *client, uint16_t sport, uint16_t dport,
		   uint8_t flags)
{
	struct pkt_spec s = xt_spec(tn_ip4(client), tn_ip4(TN_GW_IN),
				    sport ? sport : xt.next_port++, dport, proto, flags);
	struct xt_run r;

	s.payload_len = proto == IPPROTO_UDP ? 16 : 0;
	xt_run_spec(xt.if_in, &s, &r);
	return r.ret;
}

static int send_tcp(const char *client, uint16_t sport, uint16_t dport, uint8_t flags)
{
	return send_l4(IPPROTO_TCP, client, sport, dport, flags);
}

static int syn(const char *client, uint16_t dport)
{
	return send_tcp(client, 0, dport, PKT_SYN);
}

static struct portier_refused refused(const char *route)
{
	struct portier_refused r;
	int id = pt_dp_route_id(xt.dp, route);

	assert_true(id >= 0);
	assert_int_equal(pt_route_refused_sum(xt.skel, (__u32)id, &r), 0);
	return r;
}

/* Deny wins, an empty allow list allows all, the pool's lists apply to
 * every route; each refusal counted on its route and under its reason. */
static void test_allow_deny(void **state)
{
	struct portier_refused w0 = refused("web"), o0 = refused("open"), w1, o1;
	uint64_t d0 = xt_reason(PORTIER_R_DROP_DENIED);

	(void)state;
	assert_int_equal(syn(CLIENT_OK, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_POOLDENY, PORT_WEB), XDP_DROP);	/* pool */
	assert_int_equal(syn(CLIENT_HIGH, PORT_WEB), XDP_DROP);		/* deny wins */
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_DROP);	/* not allowed */
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_OPEN), XDP_REDIRECT);	/* no lists */
	assert_int_equal(syn(CLIENT_HIGH, PORT_OPEN), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_POOLDENY, PORT_OPEN), XDP_DROP);	/* pool */
	/* Not a service: the policy is not asked, the kernel gets it. */
	assert_int_equal(syn(CLIENT_POOLDENY, 9999), XDP_PASS);

	w1 = refused("web");
	o1 = refused("open");
	assert_int_equal(w1.denied - w0.denied, 3);
	assert_int_equal(o1.denied - o0.denied, 1);
	assert_int_equal(w1.rate_limited, w0.rate_limited);
	assert_int_equal(xt_reason(PORTIER_R_DROP_DENIED) - d0, 4);
}

/* A deny entry added at runtime refuses the source's next new flow, not
 * the packets of its open flow; deleting it admits again. */
static void test_runtime_entry(void **state)
{
	struct pt_cidr me = cidr(CLIENT_OK);
	uint16_t sport = xt.next_port++;

	(void)state;
	assert_int_equal(send_tcp(CLIENT_OK, sport, PORT_WEB, PKT_SYN), XDP_REDIRECT);
	assert_int_equal(pt_dp_policy_add(xt.dp, "web", &me, PT_POLICY_DENY), 0);
	assert_int_equal(pt_dp_policy_add(xt.dp, "web", &me, PT_POLICY_DENY), -EEXIST);
	assert_int_equal(send_tcp(CLIENT_OK, sport, PORT_WEB, PKT_ACK), XDP_REDIRECT);
	assert_int_equal(send_tcp(CLIENT_OK, sport, PORT_WEB, PKT_ACK | PKT_PSH), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OK, PORT_WEB), XDP_DROP);
	assert_int_equal(syn(CLIENT_OK, PORT_OPEN), XDP_REDIRECT);	/* web's only */

	/* The pool's lists at runtime reach every route. */
	assert_int_equal(pt_dp_policy_add(xt.dp, NULL, &me, PT_POLICY_DENY), 0);
	assert_int_equal(syn(CLIENT_OK, PORT_OPEN), XDP_DROP);
	assert_int_equal(pt_dp_policy_del(xt.dp, NULL, &me, PT_POLICY_DENY), 0);
	assert_int_equal(pt_dp_policy_del(xt.dp, NULL, &me, PT_POLICY_DENY), -ENOENT);
	assert_int_equal(syn(CLIENT_OK, PORT_OPEN), XDP_REDIRECT);

	assert_int_equal(pt_dp_policy_del(xt.dp, "web", &me, PT_POLICY_DENY), 0);
	assert_int_equal(syn(CLIENT_OK, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(pt_dp_policy_add(xt.dp, "nosuch", &me, PT_POLICY_DENY), -ENOENT);
}

/* A reload keeps runtime entries and brings back the inventory's deleted
 * ones. */
static void test_reload_keeps_runtime(void **state)
{
	struct pt_cidr extra = cidr("192.0.2.0/24"), inv = cidr("198.51.100.128/25");
	struct pt_dp_route_view *v;
	size_t n;
	bool rt = false, back = false;

	(void)state;
	assert_int_equal(pt_dp_policy_add(xt.dp, "web", &extra, PT_POLICY_ALLOW), 0);
	assert_int_equal(pt_dp_policy_del(xt.dp, "web", &inv, PT_POLICY_DENY), 0);
	assert_int_equal(syn(CLIENT_HIGH, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(apply_inventory(), 0);
	assert_int_equal(syn(CLIENT_HIGH, PORT_WEB), XDP_DROP);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_REDIRECT);

	n = pt_dp_view(xt.dp, &v);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].meta.name, "web"))
			continue;
		for (size_t k = 0; k < v[i].policy.n; k++) {
			const struct pt_policy_entry *e = &v[i].policy.v[k];

			rt |= e->runtime && pt_cidr_equal(&e->net, &extra);
			back |= !e->runtime && pt_cidr_equal(&e->net, &inv);
		}
	}
	pt_dp_view_free(v, n);
	assert_true(rt);
	assert_true(back);
	assert_int_equal(pt_dp_policy_del(xt.dp, "web", &extra, PT_POLICY_ALLOW), 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_DROP);
}

/* The token bucket: a burst, then refusal; another source has its own
 * bucket; packets of an admitted flow are never limited; a bucket one
 * token short of full admits exactly one; no limit, no refusal. */
static void test_rate_limit(void **state)
{
	struct portier_refused r0 = refused("rl"), r1;
	uint64_t l0 = xt_reason(PORTIER_R_DROP_RATE_LIMITED);
	struct portier_rate_key k = { .route_id = (__u32)pt_dp_route_id(xt.dp, "rl"),
				      .saddr = tn_ip4(CLIENT_OUTSIDE) };
	struct portier_rate b;
	struct pt_rate_limit none = { 0 };
	uint16_t first = xt.next_port;
	struct timespec ts;

	(void)state;
	for (int i = 0; i < RL_BURST; i++)
		assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_DROP);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_DROP);
	assert_int_equal(send_tcp(CLIENT_OUTSIDE, first, PORT_RL, PKT_ACK), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OK, PORT_RL), XDP_REDIRECT);
	r1 = refused("rl");
	assert_int_equal(r1.rate_limited - r0.rate_limited, 2);
	assert_int_equal(r1.denied, r0.denied);
	assert_int_equal(xt_reason(PORTIER_R_DROP_RATE_LIMITED) - l0, 2);

	/* One token short of full: one flow, then none (the clock moves by
	 * far less than the 20-minute interval during the test). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	b.tat = (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec +
		(RL_BURST - 1) * (3600 * NS_PER_SEC / RL_BURST);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_rate), &k, &b,
					     BPF_EXIST), 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_DROP);

	/* Removed at runtime: no refusal; set again: the bucket is as left. */
	assert_int_equal(pt_dp_rate_limit_set(xt.dp, "rl", &none), 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_REDIRECT);
	assert_int_equal(pt_dp_rate_limit_set(xt.dp, "rl",
					      &(struct pt_rate_limit){ .rate = 1, .per_ms = 60000,
								       .burst = 1 }),
			 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_DROP);
	assert_int_equal(syn(CLIENT_HIGH, PORT_RL), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_HIGH, PORT_RL), XDP_DROP);
	assert_int_equal(pt_dp_rate_limit_set(xt.dp, "rl",
					      &(struct pt_rate_limit){ .rate = 1, .per_ms = 60000,
								       .burst = 0 }),
			 -EINVAL);
}

/* UDP: a datagram that would start a flow is admitted or refused like a
 * SYN; the datagrams of a flow admitted before a deny entry keep going. */
static void test_udp(void **state)
{
	struct pt_cidr me = cidr(CLIENT_OK);
	uint16_t sport = xt.next_port++;
	struct portier_refused d0 = refused("dns");

	(void)state;
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OUTSIDE, 0, PORT_DNS, 0), XDP_DROP);
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OK, sport, PORT_DNS, 0), XDP_REDIRECT);
	assert_int_equal(pt_dp_policy_add(xt.dp, "dns", &me, PT_POLICY_DENY), 0);
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OK, sport, PORT_DNS, 0), XDP_REDIRECT);
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OK, 0, PORT_DNS, 0), XDP_DROP);
	assert_int_equal(pt_dp_policy_del(xt.dp, "dns", &me, PT_POLICY_DENY), 0);
	assert_int_equal(refused("dns").denied - d0.denied, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_deny),
		cmocka_unit_test(test_runtime_entry),
		cmocka_unit_test(test_reload_keeps_runtime),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_udp),
	};

	return xt_run_group("test_xdp_policy", tests, setup, xt_teardown);
}
