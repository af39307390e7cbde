// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp.c - the XDP program through BPF_PROG_TEST_RUN. The skeleton is
 * loaded and its maps filled by user/dataplane.h, as the daemon does. The
 * binary moves itself into a private network namespace (unshare) with two
 * veth pairs: "pin" (input, 198.51.100.1/24, the client 198.51.100.10 has a
 * permanent neighbour entry) and "pout" (output, 203.0.113.1/24, backends
 * .11-.13 permanent, .14 without a neighbour entry), forwarding on, so
 * bpf_fib_lookup answers as on a gateway. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "pkt.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define GW_IN		TN_GW_IN
#define GW_OUT		TN_GW_OUT
#define CLIENT		TN_CLIENT
#define BE1		"203.0.113.11"
#define BE2		"203.0.113.12"
#define BE3		"203.0.113.13"
#define BE_NONEIGH	"203.0.113.14"
#define NOT_LOCAL	"198.51.100.99"
#define TTL		64
#define N_RR		3000
#define N_SNAT		10000
#define CLIENT_PORT	40000

#define mac_in		tn_mac_in
#define mac_out		tn_mac_out
#define mac_client	tn_mac_client
#define mac_be		tn_mac_be
#define be_addr		tn_be_addr

/* ---- the route set, as the daemon would build it ---------------------- */

static const struct tn_be noneigh_be[] = { { BE_NONEIGH, 30083, false } };
static const struct tn_be snat_be[] = { { BE3, 30084, false } };
static const struct tn_be rr_be[] = { { BE1, 30086, false }, { BE2, 30086, false },
				      { BE3, 30086, false } };
static const struct tn_be udp_tmo_be[] = { { BE1, 30087, false }, { BE2, 30087, false } };
static const struct tn_be shared_be[] = { { BE1, 30089, false } };
static const struct tn_be cookie_be[] = { { BE1, 30088, false } };
static const struct tn_be auto_be[] = { { BE1, 30090, false }, { BE2, 30090, false } };

static int load_routes(void)
{
	struct pt_route r[TN_BASE_ROUTES + 7];

	tn_base_routes(r);	/* web, dns, dnat, local, wild */
	tn_route(&r[5], "noneigh", GW_IN, 83, IPPROTO_TCP, PT_NAT_SNAT, noneigh_be, 1);
	tn_route(&r[6], "snat", GW_IN, 84, IPPROTO_TCP, PT_NAT_SNAT, snat_be, 1);
	tn_route(&r[7], "rr", GW_IN, 86, IPPROTO_TCP, PT_NAT_SNAT, rr_be, 3);
	tn_route(&r[8], "udptmo", GW_IN, 87, IPPROTO_UDP, PT_NAT_SNAT, udp_tmo_be, 2);
	/* Port 84 has two services (this "*" and the exact "snat"): its new
	 * flows look the service up in portier_services; every other port has
	 * one, taken from its portier_ports entry. */
	tn_route(&r[9], "shared", NULL, 84, IPPROTO_TCP, PT_NAT_SNAT, shared_be, 1);
	/* Every SYN to port 88 gets a cookie (bpf/synproxy.h). */
	tn_route(&r[10], "cookie", GW_IN, 88, IPPROTO_TCP, PT_NAT_SNAT, cookie_be, 1);
	r[10].syn_cookies = PT_SYN_COOKIES_ON;
	/* Port 90: cookies above the rate only. */
	tn_route(&r[11], "auto", GW_IN, 90, IPPROTO_TCP, PT_NAT_SNAT, auto_be, 2);
	r[11].syn_cookies = PT_SYN_COOKIES_AUTO;
	return tn_apply(xt.dp, r, TN_BASE_ROUTES + 7, "test_xdp");
}

/* Both gateway addresses in portier_local (setup; teardown of the test
 * that changes them). */
static int local_both(void **state)
{
	(void)state;
	return xt_set_local(2);
}

static int setup(void **state)
{
	(void)state;
	if (xt_open("test_xdp", CLIENT_PORT, 2, NULL))
		return -1;
	return load_routes() ? -1 : 0;
}

/* A route's totals as the CLI and the metrics sum them. */
static struct portier_stats route_stats(__u32 rid)
{
	struct pt_dp_route_view *v;
	struct portier_stats sum;
	size_t n = pt_dp_view(xt.dp, &v);
	bool found = false;

	memset(&sum, 0, sizeof(sum));
	for (size_t i = 0; i < n; i++) {
		if (v[i].id != rid)
			continue;
		assert_int_equal(pt_route_stats_sum(xt.skel, &v[i], &sum), 0);
		found = true;
	}
	pt_dp_view_free(v, n);
	assert_true(found);
	return sum;
}

static __u32 route_id(const char *name)
{
	int id = pt_dp_route_id(xt.dp, name);

	assert_true(id >= 0);
	return id;
}

static __u32 backend_id(const char *route, const char *addr, uint16_t port)
{
	struct pt_addr a = tn_addr(addr);
	int id = pt_dp_backend_id(xt.dp, route, &a, port);

	assert_true(id >= 0);
	return id;
}

/* What a client packet looks like after SNAT to backend i, port be_port. */
static struct pkt_spec snat_expect(const struct pkt_spec *s, int i, uint16_t be_port,
				   uint16_t snat_port)
{
	struct pkt_spec e = *s;

	memcpy(e.dmac, mac_be[i], 6);
	memcpy(e.smac, mac_out, 6);
	e.saddr = xt_ip4(GW_OUT);
	e.sport = snat_port;
	e.daddr = xt_ip4(be_addr[i]);
	e.dport = be_port;
	e.ttl = s->ttl - 1;
	return e;
}

static uint16_t snat_cursor_port(__u32 be)
{
	__u32 cur;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_snat_cursor),
					     &be, &cur), 0);
	return PORTIER_SNAT_PORT_MIN_DEFAULT +
	       cur % (PORTIER_SNAT_PORT_MAX_DEFAULT - PORTIER_SNAT_PORT_MIN_DEFAULT + 1);
}

/* ---- tests -------------------------------------------------------------- */

/* A SYN to a route: every byte of the rewritten frame (MACs from the FIB,
 * addresses, ports, TTL, checksums from scratch), then the reply. */
static void test_syn_and_reply(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN), e, rs, re;
	__u32 rid = route_id("web"), be;
	struct portier_stats r0 = route_stats(rid), r1, b0, b1;
	uint64_t redirects = xt_reason(PORTIER_R_FWD_REDIRECT);
	uint8_t in[PKT_MAX];
	struct xt_run r;
	int i;

	(void)state;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	i = xt_be_index(pkt_daddr(r.out));
	assert_true(i >= 0);
	be = backend_id("web", be_addr[i], 30080);
	b0 = xt_stats(xt.skel->maps.portier_backend_stats, be);
	/* The first flow to a backend takes the first port of the range. */
	e = snat_expect(&s, i, 30080, PORTIER_SNAT_PORT_MIN_DEFAULT);
	{
		uint8_t want[PKT_MAX];
		size_t wn = pkt_build(&e, want);

		assert_int_equal(r.out_len, wn);
		assert_memory_equal(r.out, want, wn);
		assert_true(pkt_ip_csum_ok(r.out, r.out_len));
		assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	}

	/* The reply: back to service -> client, out the input NIC. */
	rs = xt_reply_spec(r.out, PKT_SYN | PKT_ACK);
	re = rs;
	memcpy(re.dmac, mac_client, 6);
	memcpy(re.smac, mac_in, 6);
	re.saddr = xt_ip4(GW_IN);
	re.sport = 80;
	re.daddr = xt_ip4(CLIENT);
	re.dport = s.sport;
	re.ttl = TTL - 1;
	xt_run_expect(xt.if_out, &rs, XDP_REDIRECT, &re, &r);

	r1 = route_stats(rid);
	assert_int_equal(r1.flows - r0.flows, 1);
	assert_int_equal(r1.packets[PORTIER_FLOW_DIR_ORIG] - r0.packets[PORTIER_FLOW_DIR_ORIG], 1);
	assert_int_equal(r1.packets[PORTIER_FLOW_DIR_REPLY] - r0.packets[PORTIER_FLOW_DIR_REPLY],
			 1);
	assert_int_equal(r1.bytes[PORTIER_FLOW_DIR_REPLY] - r0.bytes[PORTIER_FLOW_DIR_REPLY],
			 PKT_ETH_LEN + PKT_IP_LEN + PKT_TCP_LEN + rs.payload_len);
	assert_int_equal(xt_reason(PORTIER_R_FWD_REDIRECT) - redirects, 2);
	/* b0 was read after the SYN: the reply is the backend's only change. */
	b1 = xt_stats(xt.skel->maps.portier_backend_stats, be);
	assert_int_equal(b1.packets[PORTIER_FLOW_DIR_REPLY] - b0.packets[PORTIER_FLOW_DIR_REPLY],
			 1);
	assert_int_equal(b1.packets[PORTIER_FLOW_DIR_ORIG], b0.packets[PORTIER_FLOW_DIR_ORIG]);
	assert_true(b1.flows >= 1);
}

/* A flow sticks: a retransmitted SYN and later segments go to the same
 * backend with the same source port, and take no round-robin turn. */
static void test_flow_sticks(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN), e;
	__u32 rid = route_id("web");
	uint8_t in[PKT_MAX];
	struct xt_run r;
	__u32 rr0, rr1;
	int fd = bpf_map__fd(xt.skel->maps.portier_rr);

	(void)state;
	assert_int_equal(bpf_map_lookup_elem(fd, &rid, &rr0), 0);
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	e = snat_expect(&s, xt_be_index(pkt_daddr(r.out)), 30080, pkt_sport(r.out));
	for (int k = 0; k < 5; k++) {
		struct pkt_spec again = s, exp = e;

		again.tcp_flags = k ? PKT_ACK : PKT_SYN;
		exp.tcp_flags = again.tcp_flags;
		xt_run_expect(xt.if_in, &again, XDP_REDIRECT, &exp, &r);
	}
	assert_int_equal(bpf_map_lookup_elem(fd, &rid, &rr1), 0);
	assert_int_equal(rr1 - rr0, 1);
}

/* UDP: a non-zero checksum updated, a zero checksum kept zero, and a
 * rewrite whose checksum comes out 0 sent as 0xffff. */
static void test_udp(void **state)
{
	__u32 be = backend_id("dns", BE1, 30053);
	struct pkt_spec s, e;
	struct xt_run r;

	(void)state;
	s = xt_client_spec(53, IPPROTO_UDP, 0);
	e = snat_expect(&s, 0, 30053, snat_cursor_port(be));
	xt_run_expect(xt.if_in, &s, XDP_REDIRECT, &e, &r);
	assert_int_not_equal(pkt_l4_csum(r.out), 0);

	s = xt_client_spec(53, IPPROTO_UDP, 0);
	s.udp_no_csum = true;
	e = snat_expect(&s, 0, 30053, snat_cursor_port(be));
	xt_run_expect(xt.if_in, &s, XDP_REDIRECT, &e, &r);
	assert_int_equal(pkt_l4_csum(r.out), 0);

	/* Choose the first payload word so the rewritten datagram sums to
	 * 0xffff: its checksum computes as 0 and must be sent as 0xffff. */
	s = xt_client_spec(53, IPPROTO_UDP, 0);
	e = snat_expect(&s, 0, 30053, snat_cursor_port(be));
	e.set_word = true;
	e.word = 0;
	{
		uint8_t f[PKT_MAX];

		pkt_build(&e, f);
		s.set_word = e.set_word = true;
		s.word = e.word = (uint16_t)(pkt_l4_csum(f) == 0xffff ? 0 : pkt_l4_csum(f));
		pkt_build(&e, f);
		assert_int_equal(pkt_l4_csum(f), 0xffff);
	}
	xt_run_expect(xt.if_in, &s, XDP_REDIRECT, &e, &r);
	assert_int_equal(pkt_l4_csum(r.out), 0xffff);
}

/* 3000 new flows over 3 backends: exactly 1000 each, by packet and by the
 * per-backend and per-route counters. */
static void test_round_robin(void **state)
{
	__u32 rid = route_id("rr"), be[3];
	struct portier_stats b0[3], b1, r0, r1;
	int hits[3] = { 0 };
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	for (int i = 0; i < 3; i++) {
		be[i] = backend_id("rr", be_addr[i], 30086);
		b0[i] = xt_stats(xt.skel->maps.portier_backend_stats, be[i]);
	}
	r0 = route_stats(rid);
	for (int n = 0; n < N_RR; n++) {
		struct pkt_spec s = xt_client_spec(86, IPPROTO_TCP, PKT_SYN);
		int i;

		s.saddr = htonl(ntohl(xt_ip4(CLIENT)) + n / 1000);	/* same /24 */
		xt_run(xt.if_in, in, pkt_build(&s, in), &r);
		assert_int_equal(r.ret, XDP_REDIRECT);
		i = xt_be_index(pkt_daddr(r.out));
		assert_true(i >= 0);
		/* All but each backend's first flow take the next hop from
		 * the backend's cache (portier_nexthop). */
		assert_memory_equal(r.out, mac_be[i], 6);
		assert_int_equal(pkt_ttl(r.out), TTL - 1);
		hits[i]++;
	}
	r1 = route_stats(rid);
	assert_int_equal(r1.flows - r0.flows, N_RR);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hits[i], N_RR / 3);
		b1 = xt_stats(xt.skel->maps.portier_backend_stats, be[i]);
		assert_int_equal(b1.flows - b0[i].flows, N_RR / 3);
		assert_int_equal(b1.packets[PORTIER_FLOW_DIR_ORIG] -
				 b0[i].packets[PORTIER_FLOW_DIR_ORIG], N_RR / 3);
	}
}

/* 10,000 flows to one backend: 10,000 distinct SNAT source ports, all in
 * the range, each with its reply entry. */
static void test_snat_ports_unique(void **state)
{
	static uint8_t used[65536];
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	memset(used, 0, sizeof(used));
	for (int n = 0; n < N_SNAT; n++) {
		struct pkt_spec s = xt_client_spec(84, IPPROTO_TCP, PKT_SYN);
		uint16_t p;

		s.saddr = htonl(ntohl(xt_ip4(CLIENT)) + 20 + n / 5000);
		s.sport = 1024 + n % 5000;
		xt_run(xt.if_in, in, pkt_build(&s, in), &r);
		assert_int_equal(r.ret, XDP_REDIRECT);
		p = pkt_sport(r.out);
		assert_true(p >= PORTIER_SNAT_PORT_MIN_DEFAULT);
		assert_true(p <= PORTIER_SNAT_PORT_MAX_DEFAULT);
		assert_int_equal(used[p], 0);
		used[p] = 1;
		assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	}
}

/* dnat: the client address and port are kept; the reply goes back. */
static void test_dnat(void **state)
{
	struct pkt_spec s = xt_client_spec(81, IPPROTO_TCP, PKT_SYN), e, rs, re;
	struct xt_run r;

	(void)state;
	e = snat_expect(&s, 1, 30081, s.sport);
	e.saddr = s.saddr;
	xt_run_expect(xt.if_in, &s, XDP_REDIRECT, &e, &r);

	rs = xt_reply_spec(r.out, PKT_SYN | PKT_ACK);
	re = rs;
	memcpy(re.dmac, mac_client, 6);
	memcpy(re.smac, mac_in, 6);
	re.saddr = xt_ip4(GW_IN);
	re.sport = 81;
	re.ttl = TTL - 1;
	xt_run_expect(xt.if_out, &rs, XDP_REDIRECT, &re, &r);
}

/* A local backend: the packet passes unchanged, and its flow sticks. */
static void test_local_backend(void **state)
{
	__u32 lbe = backend_id("local", GW_OUT, 82);
	uint64_t local0 = xt_reason(PORTIER_R_PASS_LOCAL);
	struct portier_stats b0 = xt_stats(xt.skel->maps.portier_backend_stats, lbe), b1;
	uint8_t in[PKT_MAX];
	struct pkt_spec s;
	struct xt_run r;
	size_t n;
	int passed = 0, k;

	(void)state;
	/* Two new flows: one of them lands on the local backend. */
	for (k = 0; k < 2 && !passed; k++) {
		s = xt_client_spec(82, IPPROTO_TCP, PKT_SYN);
		n = pkt_build(&s, in);
		xt_run(xt.if_in, in, n, &r);
		passed = r.ret == XDP_PASS;
		if (!passed)
			assert_int_equal(r.ret, XDP_REDIRECT);
	}
	assert_true(passed);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, in, n);
	for (k = 0; k < 4; k++) {
		s.tcp_flags = k ? PKT_ACK : PKT_SYN;
		n = pkt_build(&s, in);
		xt_run(xt.if_in, in, n, &r);
		assert_int_equal(r.ret, XDP_PASS);
		assert_memory_equal(r.out, in, n);
	}
	assert_int_equal(xt_reason(PORTIER_R_PASS_LOCAL) - local0, 5);
	b1 = xt_stats(xt.skel->maps.portier_backend_stats, lbe);
	assert_int_equal(b1.flows - b0.flows, 1);
	assert_int_equal(b1.packets[PORTIER_FLOW_DIR_ORIG] - b0.packets[PORTIER_FLOW_DIR_ORIG], 5);
}

/* No neighbour entry for the backend: the rewritten packet goes to the
 * kernel with the MACs and the TTL it came with (the kernel forwards it and
 * decrements the TTL itself), and a counter. */
static void test_no_neigh(void **state)
{
	struct pkt_spec s = xt_client_spec(83, IPPROTO_TCP, PKT_SYN), e;
	uint64_t c0 = xt_reason(PORTIER_R_PASS_NO_NEIGH);
	struct xt_run r;

	(void)state;
	e = s;
	e.saddr = xt_ip4(GW_OUT);
	e.sport = PORTIER_SNAT_PORT_MIN_DEFAULT;
	e.daddr = xt_ip4(BE_NONEIGH);
	e.dport = 30083;
	xt_run_expect(xt.if_in, &s, XDP_PASS, &e, &r);
	assert_int_equal(pkt_ttl(r.out), TTL);
	assert_int_equal(xt_reason(PORTIER_R_PASS_NO_NEIGH) - c0, 1);
}

/* Undeclared port, ARP, ICMP, IPv6, the "*" route on a foreign address,
 * a TCP segment without a flow: untouched XDP_PASS. */
static void test_pass_untouched(void **state)
{
	struct pkt_spec s = xt_client_spec(9999, IPPROTO_TCP, PKT_SYN);
	uint8_t in[PKT_MAX];

	(void)state;
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	xt_expect_untouched(in, pkt_build_arp(mac_client, xt_ip4(CLIENT), xt_ip4(GW_IN), in),
			    XDP_PASS, PORTIER_R_PASS_NOT_IP);
	xt_expect_untouched(in, pkt_build_icmp_echo(&s, in), XDP_PASS, PORTIER_R_PASS_NOT_L4);
	s.dport = 80;
	/* IPv6 goes on in portier_xdp6 (tests/prog/test_xdp6.c): no IPv6
	 * service on the port. */
	xt_expect_untouched(in, pkt_build_ipv6_tcp(&s, in), XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	s = xt_client_spec(85, IPPROTO_TCP, PKT_SYN);
	s.daddr = xt_ip4(NOT_LOCAL);
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	s = xt_client_spec(80, IPPROTO_TCP, PKT_ACK);
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_NO_FLOW);
	s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN);
	s.ttl = 1;
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_TTL);
}

/* The "*" route matches any local address of this host. */
static void test_wildcard(void **state)
{
	struct pkt_spec s = xt_client_spec(85, IPPROTO_TCP, PKT_SYN), e;
	struct xt_run r;

	(void)state;
	s.daddr = xt_ip4(GW_OUT);
	e = snat_expect(&s, 0, 30085, PORTIER_SNAT_PORT_MIN_DEFAULT);
	xt_run_expect(xt.if_in, &s, XDP_REDIRECT, &e, &r);
}

/* "*" is the input NIC's addresses: pt_dp_refresh_local puts the
 * gateway's input address in portier_local and not its output address, so
 * a SYN to the "*" route at the output address (a peer gateway reaching
 * this host as a backend) goes to the kernel untouched, not round the
 * balancer again. */
static void test_wildcard_input_side(void **state)
{
	struct pkt_spec s = xt_client_spec(85, IPPROTO_TCP, PKT_SYN);
	int fd = bpf_map__fd(xt.skel->maps.portier_local);
	struct portier_addr k = { 0 };
	uint8_t in[PKT_MAX];
	struct xt_run r;
	__u32 v;

	(void)state;
	assert_int_equal(pt_dp_refresh_local(xt.dp), 0);
	k.a32[0] = xt_ip4(GW_IN);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	k.a32[0] = xt_ip4(GW_OUT);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), -ENOENT);
	s.saddr = xt_ip4(tn_be_addr[1]);
	s.daddr = xt_ip4(GW_OUT);
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	/* To the input address: a new flow as ever. */
	s = xt_client_spec(85, IPPROTO_TCP, PKT_SYN);
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
}

/* The XDP program attached to ifindex (0: none). */
static __u32 xdp_attached(int ifindex)
{
	__u32 id = 1;

	assert_int_equal(bpf_xdp_query_id(ifindex, 0, &id), 0);
	return id;
}

/* Attaching is all or nothing: when the output NIC fails, the input link
 * just made is taken back (the input NIC alone would balance flows whose
 * replies nothing translates). Pinned links on other NICs are refused by
 * pt_dp_check_links, which the daemon runs before it writes anything. */
static char attach_dir[] = "/tmp/portier-test-attach.XXXXXX";

/* Whatever the test left: links, pins, the bpffs, its directory. */
static int attach_cleanup(void **state)
{
	(void)state;
	bpf_xdp_detach(xt.if_in, 0, NULL);
	bpf_xdp_detach(xt.if_out, 0, NULL);
	umount(attach_dir);
	rmdir(attach_dir);
	return 0;
}

static void test_attach_all_or_nothing(void **state)
{
	char *dir = attach_dir;
	struct pt_dp_opts o = { .pin = true, .ct_entries = 2048 };
	struct pt_dataplane *dp;
	char pins[64], link[96];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(mount("bpf", dir, "bpf", 0, "mode=0700"), 0);
	snprintf(pins, sizeof(pins), "%s/portier", dir);
	snprintf(link, sizeof(link), "%s/%s", pins, PT_DP_LINK_INPUT);
	o.pin_dir = pins;
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_int_not_equal(pt_dp_attach(dp, xt.if_in, 999999, false), 0);
	assert_int_equal(xdp_attached(xt.if_in), 0);
	assert_int_equal(access(link, F_OK), -1);

	assert_int_equal(pt_dp_attach(dp, xt.if_in, xt.if_out, false), 0);
	assert_int_not_equal(xdp_attached(xt.if_in), 0);
	assert_int_not_equal(xdp_attached(xt.if_out), 0);
	pt_dp_close(dp);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_int_equal(pt_dp_check_links(dp, xt.if_out, xt.if_in), -EEXIST);
	assert_non_null(strstr(pt_dp_last_error(dp), "another interface"));
	assert_int_equal(pt_dp_check_links(dp, xt.if_in, xt.if_out), 0);
	assert_int_equal(pt_dp_detach(dp), 0);
	assert_int_equal(xdp_attached(xt.if_in), 0);
	assert_int_equal(xdp_attached(xt.if_out), 0);
	pt_dp_close(dp);
}

static struct portier_port port_entry(uint16_t port)
{
	struct portier_port v;
	__u32 k = port;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(xt.dp)->maps.portier_ports),
					     &k, &v), 0);
	return v;
}

/* A port with one service takes its route from the port filter's entry;
 * a port with two (exact and "*") from portier_services, where the exact
 * address wins. Both ways, a packet for no service on the port passes. */
static void test_one_service_port(void **state)
{
	struct portier_port pp = port_entry(85);
	struct pkt_spec s, e;
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	/* One service, "*": in the entry. */
	assert_true(pp.flags & PORTIER_PORT_ONE_SVC);
	assert_int_equal(pp.svc_addr, 0);
	assert_int_equal(pp.svc_proto, IPPROTO_TCP);
	/* One service, exact: in the entry; another address of this host on
	 * the port, or UDP to it, is for no service. */
	pp = port_entry(80);
	assert_true(pp.flags & PORTIER_PORT_ONE_SVC);
	assert_int_equal(pp.svc_addr, xt_ip4(GW_IN));
	s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN);
	s.daddr = xt_ip4(GW_OUT);
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	/* Two services: not in the entry. */
	pp = port_entry(84);
	assert_false(pp.flags & PORTIER_PORT_ONE_SVC);
	s = xt_client_spec(84, IPPROTO_TCP, PKT_SYN);	/* to GW_IN: the exact "snat" */
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(pkt_daddr(r.out), xt_ip4(BE3));
	assert_int_equal(pkt_dport(r.out), 30084);
	s = xt_client_spec(84, IPPROTO_TCP, PKT_SYN);	/* to GW_OUT: the "*" "shared" */
	s.daddr = xt_ip4(GW_OUT);
	e = snat_expect(&s, 0, 30089, PORTIER_SNAT_PORT_MIN_DEFAULT);
	xt_run_expect(xt.if_in, &s, XDP_REDIRECT, &e, &r);
	s.daddr = xt_ip4(NOT_LOCAL);
	xt_expect_untouched(in, pkt_build(&s, in), XDP_PASS, PORTIER_R_PASS_UNDECLARED);
}

/* Malformed and unusual frames: documented action, counter, no change. */
static void test_malformed(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN), u;
	uint8_t in[PKT_MAX];
	size_t n;

	(void)state;
	n = pkt_build(&s, in);
	/* Truncated IPv4 header. */
	xt_expect_untouched(in, PKT_ETH_LEN + 10, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* Truncated TCP header (IP total length says so too). */
	in[PKT_ETH_LEN + 3] = PKT_IP_LEN + 10;
	xt_expect_untouched(in, PKT_ETH_LEN + PKT_IP_LEN + 10, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* IP total length beyond the frame. */
	n = pkt_build(&s, in);
	xt_expect_untouched(in, n - 4, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* IHL < 5. */
	n = pkt_build(&s, in);
	in[PKT_ETH_LEN] = 0x44;
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* IP options (IHL 6): pass. */
	n = pkt_build(&s, in);
	in[PKT_ETH_LEN] = 0x46;
	xt_expect_untouched(in, n, XDP_PASS, PORTIER_R_PASS_IP_OPTIONS);
	/* First fragment (MF) and a later fragment (offset): pass. */
	n = pkt_build(&s, in);
	in[PKT_ETH_LEN + 6] = 0x20;
	xt_expect_untouched(in, n, XDP_PASS, PORTIER_R_PASS_FRAGMENT);
	n = pkt_build(&s, in);
	in[PKT_ETH_LEN + 7] = 0x10;
	xt_expect_untouched(in, n, XDP_PASS, PORTIER_R_PASS_FRAGMENT);
	/* TCP data offset < 5. */
	n = pkt_build(&s, in);
	in[PKT_ETH_LEN + PKT_IP_LEN + 12] = 4 << 4;
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* Truncated UDP header. */
	u = xt_client_spec(53, IPPROTO_UDP, 0);
	n = pkt_build(&u, in);
	in[PKT_ETH_LEN + 3] = PKT_IP_LEN + 4;
	xt_expect_untouched(in, PKT_ETH_LEN + PKT_IP_LEN + 4, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* VLAN tag: pass. */
	xt_expect_untouched(in, pkt_build_vlan(&s, 7, in), XDP_PASS, PORTIER_R_PASS_VLAN);
}

/* The connection-table key of a frame's tuple (of its reverse if rev:
 * what a reply to it carries). */
static struct portier_flow_key frame_key(const uint8_t *frame, bool rev)
{
	struct portier_flow_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = rev ? pkt_daddr(frame) : pkt_saddr(frame);
	k.daddr = rev ? pkt_saddr(frame) : pkt_daddr(frame);
	k.sport = htons(rev ? pkt_dport(frame) : pkt_sport(frame));
	k.dport = htons(rev ? pkt_sport(frame) : pkt_dport(frame));
	k.proto = frame[PKT_ETH_LEN + 9];
	return k;
}

static struct portier_flow ct_get(const uint8_t *frame)
{
	struct portier_flow_key k = frame_key(frame, false);
	struct portier_flow f;

	memset(&f, 0, sizeof(f));
	assert_true(pt_ct_lookup(pt_dp_ct(xt.dp), &k, &f));
	return f;
}

/* FIN marks both entries closing; a new SYN on the same tuple then starts
 * a new flow (the next backend in turn). */
static void test_fin_then_new_flow(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN), rs;
	uint8_t in[PKT_MAX], first[PKT_MAX];
	struct portier_flow o, rf;
	struct xt_run r;

	(void)state;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	memcpy(first, r.out, r.out_len);
	rs = xt_reply_spec(first, PKT_SYN | PKT_ACK);
	xt_run(xt.if_out, in, pkt_build(&rs, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	pkt_build(&s, in);
	o = ct_get(in);
	assert_true(o.flags & PORTIER_FLOW_F_SEEN_REPLY);
	assert_false(o.flags & PORTIER_FLOW_F_CLOSING);

	s.tcp_flags = PKT_FIN | PKT_ACK;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	o = ct_get(in);
	assert_true(o.flags & PORTIER_FLOW_F_CLOSING);
	pkt_build(&rs, in);
	rf = ct_get(in);
	assert_true(rf.flags & PORTIER_FLOW_F_CLOSING);
	assert_int_equal(rf.dir, PORTIER_FLOW_DIR_REPLY);

	s.tcp_flags = PKT_SYN;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_not_equal(pkt_daddr(r.out), pkt_daddr(first));
	o = ct_get(in);
	assert_false(o.flags & PORTIER_FLOW_F_CLOSING);
}

/* An entry stamped ahead of this CPU's clock (another CPU
 * made or refreshed it after its coarse clock moved on) is fresh: the
 * same SYN again follows the flow, instead of finding it expired and
 * starting another (a second backend and SNAT port for one tuple). */
static void test_stamp_ahead_is_fresh(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN);
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_flow_key k;
	struct portier_flow f;
	uint8_t in[PKT_MAX], first[PKT_MAX];
	struct xt_run r;

	(void)state;
	s.sport = 41100;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	memcpy(first, r.out, r.out_len);
	k = frame_key(in, false);
	assert_true(pt_ct_lookup(ct, &k, &f));
	f.last_seen += 100;	/* about 0.1 s: more than this test takes */
	assert_int_equal(pt_ct_delete(ct, &k), 0);
	assert_int_equal(pt_ct_insert(ct, &k, &f), 0);

	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(pkt_daddr(r.out), pkt_daddr(first));
	assert_int_equal(pkt_sport(r.out), pkt_sport(first));
	assert_true(pt_ct_lookup(ct, &k, &f));
}

/* An idle UDP flow expires: its next datagram is a new flow. */
static void test_udp_expiry(void **state)
{
	struct portier_config cfg;
	struct pkt_spec s = xt_client_spec(87, IPPROTO_UDP, 0);
	__u32 rid = route_id("udptmo"), zero = 0;
	struct portier_stats r0, r1;
	uint8_t in[PKT_MAX];
	struct xt_run r;
	uint32_t first;

	(void)state;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_config), &zero,
					     &cfg), 0);
	cfg.tmo_udp = 1;
	assert_int_equal(pt_dp_set_config(xt.dp, &cfg), 0);
	r0 = route_stats(rid);
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	first = pkt_daddr(r.out);
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(pkt_daddr(r.out), first);
	usleep(2200 * 1000);
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_not_equal(pkt_daddr(r.out), first);
	r1 = route_stats(rid);
	assert_int_equal(r1.flows - r0.flows, 2);
	cfg.tmo_udp = PORTIER_TMO_UDP_DEFAULT;
	assert_int_equal(pt_dp_set_config(xt.dp, &cfg), 0);
}

static __u64 now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* A key of bucket want (of n, hash seed seed) from the 10.99.0.0/16 block,
 * searching from *next (advanced past it). */
static struct portier_flow_key key_in_bucket(__u32 want, __u32 n, __u64 seed, __u32 *next)
{
	struct portier_flow_key k;

	for (;; (*next)++) {
		memset(&k, 0, sizeof(k));
		k.saddr = htonl(0x0a630000 | (*next >> 16));
		k.daddr = xt_ip4(GW_IN);
		k.sport = htons((uint16_t)*next);
		k.dport = htons(84);
		k.proto = IPPROTO_TCP;
		__u32 tag;

		if (portier_ct_locate(&k, seed, n, portier_ct_step_for(n), &tag) == want)
			break;
	}
	(*next)++;
	return k;
}

/* A packet whose refresh of its entry's last_seen enters a new period
 * (about 34 s) refreshes the other entry's too: an eviction never takes a
 * one-way flow's silent half for idle. */
static void test_touch_refreshes_both(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN);
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	__u32 now = portier_tick(now_mono_ns()), old = now - portier_ticks_of_s(60);
	struct portier_flow_key ko, kr;
	struct portier_flow fo, fr;
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	s.sport = 41000;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	ko = frame_key(in, false);
	kr = frame_key(r.out, true);
	/* Both entries idle a minute: more than one carrying period ago. */
	assert_true(pt_ct_lookup(ct, &ko, &fo));
	assert_true(pt_ct_lookup(ct, &kr, &fr));
	fo.last_seen = fr.last_seen = old;
	assert_int_equal(pt_ct_delete(ct, &ko), 0);
	assert_int_equal(pt_ct_delete(ct, &kr), 0);
	assert_int_equal(pt_ct_insert(ct, &ko, &fo), 0);
	assert_int_equal(pt_ct_insert(ct, &kr, &fr), 0);

	/* One segment client -> backend: the reply entry is fresh too. */
	s.tcp_flags = PKT_ACK;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(pt_ct_lookup(ct, &ko, &fo));
	assert_true(pt_ct_lookup(ct, &kr, &fr));
	/* (The program's coarse clock may trail this one by a few ticks.) */
	assert_true((__s32)(fo.last_seen - old) > (__s32)portier_ticks_of_s(59));
	assert_int_equal(fr.last_seen, fo.last_seen);
}

/* A flow's original entry (key ko) and its reply entry (from backend BE2,
 * SNAT port port), with the NAT fields that tie them together. */
static void flow_pair(const struct portier_flow_key *ko, uint16_t port, __u32 last_seen,
		      struct portier_flow *fo, struct portier_flow_key *kr,
		      struct portier_flow *fr)
{
	memset(fo, 0, sizeof(*fo));
	fo->dir = PORTIER_FLOW_DIR_ORIG;
	fo->last_seen = last_seen;
	fo->nat_saddr = xt_ip4(GW_OUT);
	fo->nat_sport = htons(port);
	fo->nat_daddr = xt_ip4(BE2);
	fo->nat_dport = htons(30089);
	pt_flow_key_other(ko, fo, kr);
	memset(fr, 0, sizeof(*fr));
	fr->dir = PORTIER_FLOW_DIR_REPLY;
	fr->last_seen = last_seen;
	fr->nat_saddr = ko->daddr;
	fr->nat_sport = ko->dport;
	fr->nat_daddr = ko->saddr;
	fr->nat_dport = ko->sport;
}

/* A new flow whose bucket is full evicts the entry idle longest there,
 * with the other entry of its flow (which lives elsewhere), counts it,
 * and is forwarded; the other entries and their flows stay. Userspace,
 * which never evicts, is told the bucket is full. */
static void test_full_bucket_evicts(void **state)
{
	struct pkt_spec s = xt_client_spec(84, IPPROTO_TCP, PKT_SYN);
	struct portier_flow_key fill[PORTIER_CT_SLOTS], reply[PORTIER_CT_SLOTS], k, extra;
	struct portier_flow f = { .dir = PORTIER_FLOW_DIR_ORIG }, fr;
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_config cfg;
	uint64_t evicted = xt_reason(PORTIER_R_CT_EVICTED);
	__u32 zero = 0, next = 1, b, now, tag;
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_config), &zero,
					     &cfg), 0);
	assert_int_equal(pt_ct_flush(ct, NULL), 0);	/* earlier tests' flows */
	now = portier_tick(now_mono_ns());
	memset(&k, 0, sizeof(k));
	k.saddr = xt_ip4(CLIENT);
	k.daddr = xt_ip4(GW_IN);
	k.sport = htons(s.sport);
	k.dport = htons(84);
	k.proto = IPPROTO_TCP;
	b = portier_ct_locate(&k, cfg.ct_seed, cfg.ct_buckets, cfg.ct_step, &tag);
	/* Fill the SYN's bucket with the original entries of 16 flows: flow
	 * i idle 10 + i seconds, but flow 0 stamped 100 ticks ahead of this
	 * clock (by a CPU whose coarse clock had just moved on: it is the
	 * freshest, not 52 days idle); their reply entries go where they
	 * hash. */
	for (int i = 0; i < PORTIER_CT_SLOTS; i++) {
		fill[i] = key_in_bucket(b, cfg.ct_buckets, cfg.ct_seed, &next);
		/* A SNAT port whose reply entry is not in the full bucket. */
		for (uint16_t port = (uint16_t)(20000 + i);; port += PORTIER_CT_SLOTS) {
			flow_pair(&fill[i], port, i ? now - portier_ticks_of_s(10 + i) : now + 100,
				  &f, &reply[i], &fr);
			if (portier_ct_locate(&reply[i], cfg.ct_seed, cfg.ct_buckets, cfg.ct_step,
					      &tag) != b)
				break;
		}
		assert_int_equal(pt_ct_insert(ct, &fill[i], &f), 0);
		assert_int_equal(pt_ct_insert(ct, &reply[i], &fr), 0);
	}
	extra = key_in_bucket(b, cfg.ct_buckets, cfg.ct_seed, &next);
	assert_int_equal(pt_ct_insert(ct, &extra, &f), -ENOSPC);

	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(xt_reason(PORTIER_R_CT_EVICTED) >= evicted + 1);
	assert_true(pt_ct_lookup(ct, &k, NULL));
	assert_false(pt_ct_lookup(ct, &fill[PORTIER_CT_SLOTS - 1], NULL));
	assert_false(pt_ct_lookup(ct, &reply[PORTIER_CT_SLOTS - 1], NULL));
	for (int i = 0; i < PORTIER_CT_SLOTS - 1; i++) {
		assert_true(pt_ct_lookup(ct, &fill[i], NULL));
		assert_true(pt_ct_lookup(ct, &reply[i], NULL));
		assert_int_equal(pt_ct_delete(ct, &fill[i]), 0);
		assert_int_equal(pt_ct_delete(ct, &reply[i]), 0);
	}
	assert_int_equal(pt_ct_delete(ct, &fill[PORTIER_CT_SLOTS - 1]), -ENOENT);
}

/* ---- SYN cookies and the SYN proxy (bpf/synproxy.h) ------------------- */

#define TCP_OFF		(PKT_ETH_LEN + PKT_IP_LEN)

/* The byte offset of option kind in TCP header th (40 bytes), or -1. */
static int opt_at(const uint8_t *th, uint8_t kind)
{
	for (int i = 20; i < 40;) {
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (th[i] == kind)
			return i;
		if (th[i] == 0 || th[i + 1] < 2)
			return -1;
		i += th[i + 1];
	}
	return -1;
}

/* Send a TCP segment with 12 bytes of options (opt: NOPs and a
 * timestamp) and len bytes of payload into NIC ifindex, its flags set to
 * flags (the builder's are the spec's) and its checksum made again; the
 * outcome in *r. */
static void tcp_ts_send(int ifindex, struct pkt_spec s, uint32_t seq, uint32_t ack,
			uint16_t win, const uint8_t *opt, size_t len, uint8_t flags, struct xt_run *r)
{
	uint8_t f[PKT_MAX];
	size_t n = pkt_build_tcp(s, seq, ack, win, opt, 12, len, f);

	f[TCP_OFF + 13] = flags;
	pkt_l4_csum_fix(f, n);
	xt_run(ifindex, f, n, r);
}

/* The whole handshake through the SYN proxy, every translated field and
 * checksum checked: the client's SYN gets a cookie SYN-ACK (window 0,
 * its options echoed, XDP_TX); its ACK becomes its SYN to the backend,
 * with the options the cookie timestamp carried; the backend's SYN-ACK
 * becomes the ACK that opens the client's window, in the client's
 * sequence space; then data both ways has its acknowledgment, sequence
 * number, timestamps and window translated. An ACK with a wrong cookie is
 * passed to the stack (which resets it). */
static void test_syn_cookie_handshake(void **state)
{
	static const uint8_t syn_opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x03, 0xe8,
					     0, 0, 0, 0, 1, 3, 3, 7 };
	uint8_t f[PKT_MAX], opt[20], *th;
	uint32_t isn = 0x10000000, cookie, our_ts, b_isn = 0x50000000, snat;
	uint64_t sent = xt_reason(PORTIER_R_SYN_COOKIE_SENT);
	uint64_t valid = xt_reason(PORTIER_R_SYN_COOKIE_VALID);
	uint64_t failed = xt_reason(PORTIER_R_SYN_COOKIE_FAILED);
	struct pkt_spec c = xt_client_spec(88, IPPROTO_TCP, PKT_SYN), b;
	struct xt_run r;
	size_t n;
	int o;

	(void)state;
	/* SYN: MSS 1460, SACK permitted, timestamps (1000), window scale 7. */
	n = pkt_build_tcp(c, isn, 0, 64240, syn_opt, 20, 0, f);
	xt_run(xt.if_in, f, n, &r);
	assert_int_equal(r.ret, XDP_TX);
	assert_int_equal(r.out_len, 74);
	assert_true(pkt_ip_csum_ok(r.out, r.out_len));
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_memory_equal(r.out, mac_client, 6);
	assert_memory_equal(r.out + 6, mac_in, 6);
	assert_int_equal(pkt_saddr(r.out), xt_ip4(GW_IN));
	assert_int_equal(pkt_daddr(r.out), xt_ip4(CLIENT));
	assert_int_equal(pkt_sport(r.out), 88);
	assert_int_equal(pkt_dport(r.out), c.sport);
	assert_int_equal(pkt_ttl(r.out), 64);
	th = r.out + TCP_OFF;
	assert_int_equal(th[13], PKT_SYN | PKT_ACK);
	assert_int_equal(pkt_get32(th + 8), isn + 1);
	assert_int_equal(th[14] << 8 | th[15], 0);	/* no data before the backend */
	o = opt_at(th, 2);
	assert_int_equal(o, 20);
	assert_int_equal(th[o + 2] << 8 | th[o + 3], PORTIER_SYN_MSS_DEFAULT);
	assert_true(opt_at(th, 4) > 0);
	o = opt_at(th, 8);
	assert_true(o > 0);
	assert_int_equal(pkt_get32(th + o + 6), 1000);	/* echoes the client's */
	our_ts = pkt_get32(th + o + 2);
	assert_int_equal(our_ts & 0xf, 7);		/* the client's window scale */
	assert_int_equal(our_ts >> 6 & 3, 3);		/* MSS 1460 */
	o = opt_at(th, 3);
	assert_true(o > 0);
	assert_int_equal(th[o + 2], PORTIER_SYN_WSCALE_DEFAULT);
	cookie = pkt_get32(th + 4);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_SENT), sent + 1);

	/* A wrong cookie: passed, counted. (The kernel's cookie is checked
	 * on acknowledgment minus sequence number: cookie + 2 with isn + 1
	 * reads as the zero-window probe of a client with ISN isn + 1 and
	 * is valid, test_syn_cookie_probe; cookie + 3 is neither.) */
	memcpy(opt, (uint8_t[]){ 1, 1, 8, 10 }, 4);
	pkt_put32(opt + 4, 1001);
	pkt_put32(opt + 8, our_ts);
	tcp_ts_send(xt.if_in, c, isn + 1, cookie + 3, 502, opt, 0, PKT_ACK, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED), failed + 1);

	/* The right cookie: the client's SYN goes to the backend. */
	tcp_ts_send(xt.if_in, c, isn + 1, cookie + 1, 502, opt, 0, PKT_ACK, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid + 1);
	assert_int_equal(r.out_len, 74);
	assert_true(pkt_ip_csum_ok(r.out, r.out_len));
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_int_equal(pkt_saddr(r.out), xt_ip4(GW_OUT));
	assert_int_equal(pkt_daddr(r.out), xt_ip4(BE1));
	assert_int_equal(pkt_dport(r.out), 30088);
	assert_int_equal(pkt_ttl(r.out), TTL - 1);
	snat = pkt_sport(r.out);
	th = r.out + TCP_OFF;
	assert_int_equal(th[13], PKT_SYN);
	assert_int_equal(pkt_get32(th + 4), isn);
	assert_int_equal(pkt_get32(th + 8), 0);
	o = opt_at(th, 2);
	assert_true(o > 0);
	assert_int_equal(th[o + 2] << 8 | th[o + 3], 1460);
	assert_true(opt_at(th, 4) > 0);
	o = opt_at(th, 8);
	assert_true(o > 0);
	assert_int_equal(pkt_get32(th + o + 2), 1001);
	assert_int_equal(pkt_get32(th + o + 6), 0);
	o = opt_at(th, 3);
	assert_true(o > 0);
	assert_int_equal(th[o + 2], 7);

	/* The backend's SYN-ACK (window scale 9): the client's window opens,
	 * in its own sequence space. */
	b = xt_reply_spec(r.out, PKT_SYN | PKT_ACK);
	b.payload_len = 0;
	memcpy(opt, (uint8_t[]){ 2, 4, 0x05, 0xb4, 4, 2, 8, 10 }, 8);
	pkt_put32(opt + 8, 777);
	pkt_put32(opt + 12, 1001);
	memcpy(opt + 16, (uint8_t[]){ 1, 3, 3, 9 }, 4);
	n = pkt_build_tcp(b, b_isn, isn + 1, 64000, opt, 20, 0, f);
	xt_run(xt.if_out, f, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(pkt_ip_csum_ok(r.out, r.out_len));
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_int_equal(pkt_saddr(r.out), xt_ip4(GW_IN));
	assert_int_equal(pkt_daddr(r.out), xt_ip4(CLIENT));
	assert_int_equal(pkt_sport(r.out), 88);
	assert_int_equal(pkt_dport(r.out), c.sport);
	th = r.out + TCP_OFF;
	assert_int_equal(th[13], PKT_ACK);
	assert_int_equal(pkt_get32(th + 4), cookie + 1);
	assert_int_equal(pkt_get32(th + 8), isn + 1);
	assert_int_equal(th[14] << 8 | th[15], 64000 >> 7);
	assert_int_equal(opt_at(th, 2), -1);
	assert_int_equal(opt_at(th, 3), -1);
	o = opt_at(th, 8);
	assert_true(o > 0);
	assert_int_equal(pkt_get32(th + o + 2), our_ts);
	assert_int_equal(pkt_get32(th + o + 6), 1001);

	/* Client data: its acknowledgment and timestamp echo translated. */
	memcpy(opt, (uint8_t[]){ 1, 1, 8, 10 }, 4);
	pkt_put32(opt + 4, 1002);
	pkt_put32(opt + 8, our_ts);
	tcp_ts_send(xt.if_in, c, isn + 1, cookie + 1, 502, opt, 10, PKT_ACK | PKT_PSH, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	th = r.out + TCP_OFF;
	assert_int_equal(pkt_sport(r.out), snat);
	assert_int_equal(pkt_get32(th + 4), isn + 1);
	assert_int_equal(pkt_get32(th + 8), b_isn + 1);
	assert_int_equal(pkt_get32(th + 24), 1002);
	assert_int_equal(pkt_get32(th + 28), 777);

	/* Backend data: sequence number, timestamp and window translated. */
	pkt_put32(opt + 4, 778);
	pkt_put32(opt + 8, 1002);
	tcp_ts_send(xt.if_out, b, b_isn + 1, isn + 11, 100, opt, 20, PKT_ACK | PKT_PSH, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(pkt_ip_csum_ok(r.out, r.out_len));
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	th = r.out + TCP_OFF;
	assert_int_equal(pkt_get32(th + 4), cookie + 1);
	assert_int_equal(pkt_get32(th + 8), isn + 11);
	assert_int_equal(th[14] << 8 | th[15], (100 << 9) >> 7);
	assert_int_equal(pkt_get32(th + 24), 778 + (our_ts - 777));
	assert_int_equal(pkt_get32(th + 28), 1002);
}

/* The client's handshake ACK is lost (a flood fills the path): with the
 * cookie's zero window it sends no data but probes the window, as Linux
 * does, with an ACK one below its next sequence number (its ISN) and the
 * same acknowledgment. That probe opens the flow as the ACK would have:
 * the client's SYN to the backend with the ISN, and the backend's SYN-ACK
 * opens the client's window. A probe one further below, or with a wrong
 * cookie, is no cookie: passed to the stack, counted as failed. */
static void test_syn_cookie_probe(void **state)
{
	static const uint8_t syn_opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x07, 0xd0,
					     0, 0, 0, 0, 1, 3, 3, 7 };
	uint8_t f[PKT_MAX], opt[20], *th;
	uint32_t isn = 0x20000000, cookie, our_ts, b_isn = 0x60000000;
	uint64_t valid = xt_reason(PORTIER_R_SYN_COOKIE_VALID);
	uint64_t failed = xt_reason(PORTIER_R_SYN_COOKIE_FAILED);
	struct pkt_spec c = xt_client_spec(88, IPPROTO_TCP, PKT_SYN), b;
	struct xt_run r;
	size_t n;
	int o;

	(void)state;
	n = pkt_build_tcp(c, isn, 0, 64240, syn_opt, 20, 0, f);
	xt_run(xt.if_in, f, n, &r);
	assert_int_equal(r.ret, XDP_TX);
	th = r.out + TCP_OFF;
	cookie = pkt_get32(th + 4);
	o = opt_at(th, 8);
	assert_true(o > 0);
	our_ts = pkt_get32(th + o + 2);

	/* Probes that are no cookie: two below, or a wrong cookie (neither
	 * the handshake's ACK nor its probe: acknowledgment minus sequence
	 * number is the cookie's, less the ISN, plus 2). */
	memcpy(opt, (uint8_t[]){ 1, 1, 8, 10 }, 4);
	pkt_put32(opt + 4, 2300);
	pkt_put32(opt + 8, our_ts);
	tcp_ts_send(xt.if_in, c, isn - 1, cookie + 1, 502, opt, 0, PKT_ACK, &r);
	assert_int_equal(r.ret, XDP_PASS);
	tcp_ts_send(xt.if_in, c, isn, cookie + 2, 502, opt, 0, PKT_ACK, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED), failed + 2);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid);

	/* The probe: sequence number isn, the cookie acknowledged. */
	tcp_ts_send(xt.if_in, c, isn, cookie + 1, 502, opt, 0, PKT_ACK, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid + 1);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED), failed + 2);
	assert_int_equal(r.out_len, 74);
	assert_true(pkt_ip_csum_ok(r.out, r.out_len));
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_int_equal(pkt_daddr(r.out), xt_ip4(BE1));
	th = r.out + TCP_OFF;
	assert_int_equal(th[13], PKT_SYN);
	assert_int_equal(pkt_get32(th + 4), isn);	/* the client's ISN, as in its SYN */
	o = opt_at(th, 2);
	assert_true(o > 0);
	assert_int_equal(th[o + 2] << 8 | th[o + 3], 1460);
	o = opt_at(th, 8);
	assert_true(o > 0);
	assert_int_equal(pkt_get32(th + o + 2), 2300);

	b = xt_reply_spec(r.out, PKT_SYN | PKT_ACK);
	b.payload_len = 0;

	/* The same probe again, the backend not answered yet: the flow is
	 * there, the probe waits (dropped, the client probes again). */
	tcp_ts_send(xt.if_in, c, isn, cookie + 1, 502, opt, 0, PKT_ACK, &r);
	assert_int_equal(r.ret, XDP_DROP);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid + 1);

	/* The backend's SYN-ACK acknowledges isn + 1: the client's window
	 * opens at its next sequence number, in its own sequence space. */
	memcpy(opt, (uint8_t[]){ 2, 4, 0x05, 0xb4, 4, 2, 8, 10 }, 8);
	pkt_put32(opt + 8, 999);
	pkt_put32(opt + 12, 2300);
	memcpy(opt + 16, (uint8_t[]){ 1, 3, 3, 7 }, 4);
	n = pkt_build_tcp(b, b_isn, isn + 1, 64000, opt, 20, 0, f);
	xt_run(xt.if_out, f, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_int_equal(pkt_daddr(r.out), xt_ip4(CLIENT));
	assert_int_equal(pkt_dport(r.out), c.sport);
	th = r.out + TCP_OFF;
	assert_int_equal(th[13], PKT_ACK);
	assert_int_equal(pkt_get32(th + 4), cookie + 1);
	assert_int_equal(pkt_get32(th + 8), isn + 1);
	assert_true((th[14] << 8 | th[15]) > 0);
}

/* "auto": below the rate, SYNs make flows (round-robin); the SYN that
 * passes the rate in this CPU's one-second window turns cookies on, for
 * every SYN after it; when the window and the hold are over (written here:
 * the clock cannot be moved), SYNs make flows again. */
static void test_syn_cookies_auto(void **state)
{
	const __u32 rate = 20;
	__u32 rid = route_id("auto");
	int guard_fd = bpf_map__fd(xt.skel->maps.portier_syn_guard);
	struct portier_syn_guard g[xt.ncpu];
	struct portier_config saved;
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	assert_int_equal(xt_syn_rate_begin(rate, &saved), 0);

	for (__u32 n = 1; n <= rate + 5; n++) {
		struct pkt_spec s = xt_client_spec(90, IPPROTO_TCP, PKT_SYN);

		xt_run(xt.if_in, in, pkt_build(&s, in), &r);
		assert_int_equal(r.ret, n <= rate ? XDP_REDIRECT : XDP_TX);
	}
	/* The window and the hold over: cookies off again. */
	memset(g, 0, sizeof(g));
	assert_int_equal(bpf_map_update_elem(guard_fd, &rid, g, BPF_ANY), 0);
	{
		struct pkt_spec s = xt_client_spec(90, IPPROTO_TCP, PKT_SYN);

		xt_run(xt.if_in, in, pkt_build(&s, in), &r);
		assert_int_equal(r.ret, XDP_REDIRECT);
	}
	assert_int_equal(xt_syn_rate_end(&saved), 0);
}

/* Only frames addressed to the NIC are balanced: a SYN flooded to this
 * NIC for another host's MAC (a bridge whose MAC table aged out, a
 * promiscuous NIC) passes untouched, counted, and makes no flow; the same
 * SYN to the NIC's MAC, or broadcast, is balanced. A backend's reply
 * flooded to the output NIC likewise. */
static void test_other_host_passes(void **state)
{
	static const uint8_t other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN), b;
	struct portier_flow_key k;
	struct portier_flow f;
	uint8_t in[PKT_MAX];
	struct xt_run r;
	size_t n;

	(void)state;
	memcpy(s.dmac, other, 6);
	n = pkt_build(&s, in);
	xt_expect_untouched(in, n, XDP_PASS, PORTIER_R_PASS_OTHER_HOST);
	k = frame_key(in, false);
	assert_false(pt_ct_lookup(pt_dp_ct(xt.dp), &k, &f));

	memcpy(s.dmac, mac_in, 6);
	xt_run_spec(xt.if_in, &s, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	/* Its reply, flooded to the output NIC for another host: untouched. */
	b = xt_reply_spec(r.out, PKT_SYN | PKT_ACK);
	memcpy(b.dmac, other, 6);
	n = pkt_build(&b, in);
	{
		uint64_t c0 = xt_reason(PORTIER_R_PASS_OTHER_HOST);

		xt_run(xt.if_out, in, n, &r);
		assert_int_equal(r.ret, XDP_PASS);
		assert_memory_equal(r.out, in, n);
		assert_int_equal(xt_reason(PORTIER_R_PASS_OTHER_HOST) - c0, 1);
	}
	/* Broadcast is for every host, this one too. */
	s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN);
	memset(s.dmac, 0xff, 6);
	xt_run_spec(xt.if_in, &s, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_and_reply),
		cmocka_unit_test(test_flow_sticks),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_snat_ports_unique),
		cmocka_unit_test(test_dnat),
		cmocka_unit_test(test_local_backend),
		cmocka_unit_test(test_no_neigh),
		cmocka_unit_test(test_pass_untouched),
		cmocka_unit_test(test_wildcard),
		/* The other tests see both addresses as local, as setup set. */
		cmocka_unit_test_teardown(test_wildcard_input_side, local_both),
		cmocka_unit_test_teardown(test_attach_all_or_nothing, attach_cleanup),
		cmocka_unit_test(test_one_service_port),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fin_then_new_flow),
		cmocka_unit_test(test_stamp_ahead_is_fresh),
		cmocka_unit_test(test_udp_expiry),
		cmocka_unit_test(test_touch_refreshes_both),
		cmocka_unit_test(test_full_bucket_evicts),
		cmocka_unit_test(test_syn_cookie_handshake),
		cmocka_unit_test(test_syn_cookie_probe),
		cmocka_unit_test(test_syn_cookies_auto),
		cmocka_unit_test(test_other_host_passes),
	};

	/* Everything from here on lives in a namespace of our own: it goes
	 * away with this process. */
	return xt_run_group("test_xdp", tests, setup, xt_teardown);
}
