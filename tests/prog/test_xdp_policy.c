// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_policy.c - admission of new flows through BPF_PROG_TEST_RUN:
 * the source policy (pool and route allow/deny lists, deny wins) and the
 * per-source token buckets, with their counters; packets of existing flows
 * are never refused; runtime entries and a reload. The private network of
 * tests/lib/testnet.h, routes filled by user/dataplane.h. Needs root.
 */
#include <errno.h>
#include <net/if.h>
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

static struct {
	struct pt_dataplane *dp;
	struct portier *skel;
	int prog_fd;
	int if_in;
	int ncpu;
	uint16_t next_port;
} env;

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
	err = pt_dp_apply(env.dp, &rs);
	if (err)
		fprintf(stderr, "test_xdp_policy: pt_dp_apply: %s\n", pt_dp_last_error(env.dp));
	for (size_t i = 0; i < 4; i++)
		free(r[i].backends);
	return err;
}

static int setup(void **state)
{
	struct pt_dp_opts opts = { 0 };
	struct pt_addr local = tn_addr(TN_GW_IN);
	struct portier_config cfg;
	int err;

	(void)state;
	env.if_in = if_nametoindex(TN_IF_IN);
	env.ncpu = libbpf_num_possible_cpus();
	env.next_port = 41000;
	err = pt_dp_open(&opts, &env.dp);
	if (err) {
		fprintf(stderr, "test_xdp_policy: pt_dp_open: %s\n",
			env.dp ? pt_dp_last_error(env.dp) : strerror(-err));
		return -1;
	}
	env.skel = pt_dp_skel(env.dp);
	env.prog_fd = bpf_program__fd(env.skel->progs.portier_xdp);
	pt_dp_config_defaults(&cfg);
	cfg.snat_addr.a32[0] = tn_ip4(TN_GW_OUT);
	cfg.snat_family = PORTIER_AF_INET;
	cfg.input_ifindex = env.if_in;
	cfg.output_ifindex = if_nametoindex(TN_IF_OUT);
	err = pt_dp_set_config(env.dp, &cfg);
	if (!err)
		err = pt_dp_set_local(env.dp, &local, 1);
	if (!err)
		err = apply_inventory();
	if (err)
		fprintf(stderr, "test_xdp_policy: setup: %s\n", pt_dp_last_error(env.dp));
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	pt_dp_close(env.dp);
	return 0;
}

/* A TCP segment (or a UDP datagram: proto) from client (a fresh source
 * port unless sport) to the gateway's input address at dport; the
 * program's verdict. */
static int send_l4(uint8_t proto, const char *client, uint16_t sport, uint16_t dport,
		   uint8_t flags)
{
	struct pkt_spec s = { 0 };
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct xdp_md ctx = { .ingress_ifindex = env.if_in };
	size_t n;

	memcpy(s.dmac, tn_mac_in, 6);
	memcpy(s.smac, tn_mac_client, 6);
	s.saddr = tn_ip4(client);
	s.daddr = tn_ip4(TN_GW_IN);
	s.sport = sport ? sport : env.next_port++;
	s.dport = dport;
	s.proto = proto;
	s.ttl = 64;
	s.tcp_flags = flags;
	s.payload_len = proto == IPPROTO_UDP ? 16 : 0;
	n = pkt_build(&s, in);
	ctx.data_end = n;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = n, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	assert_int_equal(bpf_prog_test_run_opts(env.prog_fd, &o), 0);
	return o.retval;
}

static int send_tcp(const char *client, uint16_t sport, uint16_t dport, uint8_t flags)
{
	return send_l4(IPPROTO_TCP, client, sport, dport, flags);
}

static int syn(const char *client, uint16_t dport)
{
	return send_tcp(client, 0, dport, PKT_SYN);
}

static uint64_t reason(enum portier_reason id)
{
	uint64_t v[env.ncpu], sum = 0;
	__u32 key = id;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(env.skel->maps.portier_reasons),
					     &key, v), 0);
	for (int i = 0; i < env.ncpu; i++)
		sum += v[i];
	return sum;
}

static struct portier_refused refused(const char *route)
{
	struct portier_refused r;
	int id = pt_dp_route_id(env.dp, route);

	assert_true(id >= 0);
	assert_int_equal(pt_route_refused_sum(env.skel, (__u32)id, &r), 0);
	return r;
}

/* Deny wins, an empty allow list allows all, the pool's lists apply to
 * every route; each refusal counted on its route and under its reason. */
static void test_allow_deny(void **state)
{
	struct portier_refused w0 = refused("web"), o0 = refused("open"), w1, o1;
	uint64_t d0 = reason(PORTIER_R_DROP_DENIED);

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
	assert_int_equal(reason(PORTIER_R_DROP_DENIED) - d0, 4);
}

/* A deny entry added at runtime refuses the source's next new flow, not
 * the packets of its open flow; deleting it admits again. */
static void test_runtime_entry(void **state)
{
	struct pt_cidr me = cidr(CLIENT_OK);
	uint16_t sport = env.next_port++;

	(void)state;
	assert_int_equal(send_tcp(CLIENT_OK, sport, PORT_WEB, PKT_SYN), XDP_REDIRECT);
	assert_int_equal(pt_dp_policy_add(env.dp, "web", &me, PT_POLICY_DENY), 0);
	assert_int_equal(pt_dp_policy_add(env.dp, "web", &me, PT_POLICY_DENY), -EEXIST);
	assert_int_equal(send_tcp(CLIENT_OK, sport, PORT_WEB, PKT_ACK), XDP_REDIRECT);
	assert_int_equal(send_tcp(CLIENT_OK, sport, PORT_WEB, PKT_ACK | PKT_PSH), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OK, PORT_WEB), XDP_DROP);
	assert_int_equal(syn(CLIENT_OK, PORT_OPEN), XDP_REDIRECT);	/* web's only */

	/* The pool's lists at runtime reach every route. */
	assert_int_equal(pt_dp_policy_add(env.dp, NULL, &me, PT_POLICY_DENY), 0);
	assert_int_equal(syn(CLIENT_OK, PORT_OPEN), XDP_DROP);
	assert_int_equal(pt_dp_policy_del(env.dp, NULL, &me, PT_POLICY_DENY), 0);
	assert_int_equal(pt_dp_policy_del(env.dp, NULL, &me, PT_POLICY_DENY), -ENOENT);
	assert_int_equal(syn(CLIENT_OK, PORT_OPEN), XDP_REDIRECT);

	assert_int_equal(pt_dp_policy_del(env.dp, "web", &me, PT_POLICY_DENY), 0);
	assert_int_equal(syn(CLIENT_OK, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(pt_dp_policy_add(env.dp, "nosuch", &me, PT_POLICY_DENY), -ENOENT);
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
	assert_int_equal(pt_dp_policy_add(env.dp, "web", &extra, PT_POLICY_ALLOW), 0);
	assert_int_equal(pt_dp_policy_del(env.dp, "web", &inv, PT_POLICY_DENY), 0);
	assert_int_equal(syn(CLIENT_HIGH, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_REDIRECT);
	assert_int_equal(apply_inventory(), 0);
	assert_int_equal(syn(CLIENT_HIGH, PORT_WEB), XDP_DROP);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_REDIRECT);

	n = pt_dp_view(env.dp, &v);
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
	assert_int_equal(pt_dp_policy_del(env.dp, "web", &extra, PT_POLICY_ALLOW), 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_WEB), XDP_DROP);
}

/* The token bucket: a burst, then refusal; another source has its own
 * bucket; packets of an admitted flow are never limited; a bucket one
 * token short of full admits exactly one; no limit, no refusal. */
static void test_rate_limit(void **state)
{
	struct portier_refused r0 = refused("rl"), r1;
	uint64_t l0 = reason(PORTIER_R_DROP_RATE_LIMITED);
	struct portier_rate_key k = { .route_id = (__u32)pt_dp_route_id(env.dp, "rl"),
				      .saddr = tn_ip4(CLIENT_OUTSIDE) };
	struct portier_rate b;
	struct pt_rate_limit none = { 0 };
	uint16_t first = env.next_port;
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
	assert_int_equal(reason(PORTIER_R_DROP_RATE_LIMITED) - l0, 2);

	/* One token short of full: one flow, then none (the clock moves by
	 * far less than the 20-minute interval during the test). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	b.tat = (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec +
		(RL_BURST - 1) * (3600 * NS_PER_SEC / RL_BURST);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(env.skel->maps.portier_rate), &k, &b,
					     BPF_EXIST), 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_DROP);

	/* Removed at runtime: no refusal; set again: the bucket is as left. */
	assert_int_equal(pt_dp_rate_limit_set(env.dp, "rl", &none), 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_REDIRECT);
	assert_int_equal(pt_dp_rate_limit_set(env.dp, "rl",
					      &(struct pt_rate_limit){ .rate = 1, .per_ms = 60000,
								       .burst = 1 }),
			 0);
	assert_int_equal(syn(CLIENT_OUTSIDE, PORT_RL), XDP_DROP);
	assert_int_equal(syn(CLIENT_HIGH, PORT_RL), XDP_REDIRECT);
	assert_int_equal(syn(CLIENT_HIGH, PORT_RL), XDP_DROP);
	assert_int_equal(pt_dp_rate_limit_set(env.dp, "rl",
					      &(struct pt_rate_limit){ .rate = 1, .per_ms = 60000,
								       .burst = 0 }),
			 -EINVAL);
}

/* UDP: a datagram that would start a flow is admitted or refused like a
 * SYN; the datagrams of a flow admitted before a deny entry keep going. */
static void test_udp(void **state)
{
	struct pt_cidr me = cidr(CLIENT_OK);
	uint16_t sport = env.next_port++;
	struct portier_refused d0 = refused("dns");

	(void)state;
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OUTSIDE, 0, PORT_DNS, 0), XDP_DROP);
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OK, sport, PORT_DNS, 0), XDP_REDIRECT);
	assert_int_equal(pt_dp_policy_add(env.dp, "dns", &me, PT_POLICY_DENY), 0);
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OK, sport, PORT_DNS, 0), XDP_REDIRECT);
	assert_int_equal(send_l4(IPPROTO_UDP, CLIENT_OK, 0, PORT_DNS, 0), XDP_DROP);
	assert_int_equal(pt_dp_policy_del(env.dp, "dns", &me, PT_POLICY_DENY), 0);
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

	if (tn_enter("test_xdp_policy"))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
