// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_icmp.c - ICMP in the XDP program (bpf/icmp.h) through
 * BPF_PROG_TEST_RUN, in test_xdp's private network namespace (testnet.c)
 * with both NICs at MTU 1400:
 *   - errors of NATed flows translated, both ways (a backend's error about
 *     a client's packet, a client's error about a reply), snat and dnat,
 *     TCP and UDP quotes, a router's error, a short quote; every byte of
 *     the result compared with a frame built from scratch, and the outer
 *     IP, ICMP, quoted IP and quoted TCP/UDP checksums recomputed;
 *   - what passes unchanged: echo, an error of no flow, of a local flow;
 *   - fragmentation needed for a packet too big for its egress NIC (DF):
 *     every byte of the message, for a cached next hop, a new flow's
 *     first packet and a reply's (a FIB lookup); without DF the packet passes
 *     rewritten; the rate limit. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "dataplane.h"
#include "pkt.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define GW_IN		TN_GW_IN
#define GW_OUT		TN_GW_OUT
#define CLIENT		TN_CLIENT
#define ROUTER_OUT	"203.0.113.99"	/* a router on the backend side */
#define TTL		64
#define MTU		1400		/* both NICs of the namespace */
#define BIG_PAYLOAD	1420		/* a TCP or UDP packet over MTU */
#define CLIENT_PORT	41000
#define ICMP_ID		0x6161		/* IP id of the errors the tests send */
/* ICMP as the program makes it (bpf/icmp.h) */
#define T_UNREACH	3
#define C_PORT		3
#define C_FRAG		4
#define T_TIME		11
#define T_PARAM		12
#define T_ECHO		8
#define GEN_TTL		64
#define GEN_TOS		0xc0
#define QUOTE_MIN	(PKT_IP_LEN + 8)
#define GEN_LEN		(PKT_ETH_LEN + PKT_IP_LEN + PKT_ICMP_LEN + QUOTE_MIN)
#define RL_TRIES	300		/* too-big packets for the rate limit */

/* ---- setup ---------------------------------------------------------------- */

static const struct tn_be udp_dnat_be[] = { { "203.0.113.13", 30054, false } };

static int setup(void **state)
{
	struct pt_route r[TN_BASE_ROUTES + 1];

	(void)state;
	if (tn_sh("ip link set " TN_IF_IN " mtu %d && ip link set " TN_IF_OUT " mtu %d", MTU,
		  MTU))
		return -1;
	if (xt_open("test_xdp_icmp", CLIENT_PORT, 2, NULL))
		return -1;
	tn_base_routes(r);	/* web, dns, dnat, local, wild */
	tn_route(&r[TN_BASE_ROUTES], "udpdnat", GW_IN, 54, IPPROTO_UDP, PT_NAT_DNAT, udp_dnat_be,
		 1);
	return tn_apply(xt.dp, r, TN_BASE_ROUTES + 1, "test_xdp_icmp") ? -1 : 0;
}

/* ---- packets -------------------------------------------------------------- */

/* A client packet (xt_client_spec) with DF set, as PMTU discovery sends. */
static struct pkt_spec client_spec(uint16_t dport, uint8_t proto, uint8_t flags)
{
	struct pkt_spec s = xt_client_spec(dport, proto, flags);

	s.df = true;
	return s;
}

/* A backend's answer (xt_reply_spec) with DF set. */
static struct pkt_spec reply_spec(const uint8_t *out, uint8_t flags)
{
	struct pkt_spec s = xt_reply_spec(out, flags);

	s.df = true;
	return s;
}

/* An outer header: from saddr (MAC smac) to daddr (MAC dmac). */
static struct pkt_spec outer(const uint8_t *dmac, const uint8_t *smac, uint32_t saddr,
			     uint32_t daddr, uint8_t ttl)
{
	struct pkt_spec o = pkt_spec_ip(dmac, smac, saddr, daddr, ttl);

	o.ip_id = ICMP_ID;
	return o;
}

/* An error from o quoting the IP packet of frame q (qn bytes), cut to cut
 * bytes of it if cut. */
static size_t error_frame(const struct pkt_spec *o, uint8_t type, uint8_t code, uint16_t mtu,
			  const uint8_t *q, size_t qn, size_t cut, uint8_t *buf)
{
	size_t n = qn - PKT_ETH_LEN;

	if (cut && cut < n)
		n = cut;
	return pkt_build_icmp_error(o, type, code, mtu, q + PKT_ETH_LEN, n, buf);
}

/* The same, quoting the packet that s builds. */
static size_t error_frame_of(const struct pkt_spec *o, uint8_t type, uint8_t code, uint16_t mtu,
			     const struct pkt_spec *s, size_t cut, uint8_t *buf)
{
	uint8_t q[PKT_MAX];

	return error_frame(o, type, code, mtu, q, pkt_build(s, q), cut, buf);
}

/* Run the frame in on ifindex: action ret, and the result byte for byte
 * want; checksums from scratch: outer IP, ICMP, the quoted IP header, and
 * the quoted TCP/UDP checksum if the quote is whole (full). */
static void run_icmp(int ifindex, const uint8_t *in, size_t n, int ret, const uint8_t *want,
		     size_t wn, bool full, struct xt_run *r)
{
	const size_t inner = PKT_IP_LEN + PKT_ICMP_LEN;	/* as if Ethernet came before */

	xt_run(ifindex, in, n, r);
	assert_int_equal(r->ret, ret);
	assert_int_equal(r->out_len, wn);
	assert_memory_equal(r->out, want, wn);
	assert_true(pkt_ip_csum_ok(r->out, r->out_len));
	assert_true(pkt_icmp_csum_ok(r->out, r->out_len));
	assert_true(pkt_ip_csum_ok(r->out + inner, r->out_len - inner));
	if (full)
		assert_true(pkt_l4_csum_ok(r->out + inner, r->out_len - inner, false));
}

/* ---- translation: a backend's error about a client's packet --------------- */

/* The backend (or a router on its side, from) answers the forwarded
 * packet of client spec s with an error; the client must get it from
 * want_src, quoting its own packet as it left the gateway (TTL - 1). */
static void backend_error(const struct pkt_spec *s, uint8_t type, uint8_t code, uint16_t mtu,
			  const char *from, uint32_t want_src, size_t cut)
{
	uint64_t n0 = xt_reason(PORTIER_R_ICMP_TRANSLATED);
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec o, wo, q = *s;
	struct xt_run fw, r;
	size_t n, wn;
	int i;

	xt_forward(xt.if_in, s, &fw);
	i = xt_be_index(pkt_daddr(fw.out));
	assert_true(i >= 0);
	o = outer(tn_mac_out, tn_mac_be[i], from ? xt_ip4(from) : pkt_daddr(fw.out),
		  pkt_saddr(fw.out), TTL);
	n = error_frame(&o, type, code, mtu, fw.out, fw.out_len, cut, in);

	wo = outer(tn_mac_client, tn_mac_in, want_src, xt_ip4(CLIENT), TTL - 1);
	q.ttl = TTL - 1;
	wn = error_frame_of(&wo, type, code, mtu, &q, cut, want);
	run_icmp(xt.if_out, in, n, XDP_REDIRECT, want, wn, !cut, &r);
	assert_int_equal(xt_reason(PORTIER_R_ICMP_TRANSLATED) - n0, 1);
}

/* snat, UDP: port unreachable from the backend reaches the client from the
 * service address, quoting client -> service. */
static void test_snat_udp_port_unreachable(void **state)
{
	struct pkt_spec s = client_spec(53, IPPROTO_UDP, 0);

	(void)state;
	backend_error(&s, T_UNREACH, C_PORT, 0, NULL, xt_ip4(GW_IN), 0);
}

/* snat, TCP: fragmentation needed keeps its MTU. */
static void test_snat_tcp_frag_needed(void **state)
{
	struct pkt_spec s = client_spec(80, IPPROTO_TCP, PKT_SYN);

	(void)state;
	backend_error(&s, T_UNREACH, C_FRAG, 1280, NULL, xt_ip4(GW_IN), 0);
}

/* dnat, TCP: time exceeded from a router on the backend side keeps the
 * router's address; the destination was the client already. */
static void test_dnat_tcp_router_time_exceeded(void **state)
{
	struct pkt_spec s = client_spec(81, IPPROTO_TCP, PKT_SYN);

	(void)state;
	backend_error(&s, T_TIME, 0, 0, ROUTER_OUT, xt_ip4(ROUTER_OUT), 0);
}

/* dnat, UDP: port unreachable from the backend itself. */
static void test_dnat_udp_port_unreachable(void **state)
{
	struct pkt_spec s = client_spec(54, IPPROTO_UDP, 0);

	(void)state;
	backend_error(&s, T_UNREACH, C_PORT, 0, NULL, xt_ip4(GW_IN), 0);
}

/* A quote of the IP header and 8 bytes: no TCP checksum to update; the
 * addresses and ports are translated all the same. */
static void test_short_quote(void **state)
{
	struct pkt_spec s = client_spec(80, IPPROTO_TCP, PKT_SYN);

	(void)state;
	backend_error(&s, T_UNREACH, C_PORT, 0, NULL, xt_ip4(GW_IN), QUOTE_MIN);
}

/* ---- translation: a client's error about a reply -------------------------- */

/* The client answers the reply to client spec s with an error; the
 * backend must get it from want_src (this gateway in snat, the client in
 * dnat), quoting its reply as it left the gateway (TTL - 1). */
static void client_error(const struct pkt_spec *s, uint8_t type, uint8_t code)
{
	uint64_t n0 = xt_reason(PORTIER_R_ICMP_TRANSLATED);
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec o, wo, rs, q;
	struct xt_run fw, rp, r;
	size_t n, wn;
	int i;

	xt_forward(xt.if_in, s, &fw);
	i = xt_be_index(pkt_daddr(fw.out));
	rs = reply_spec(fw.out, s->proto == IPPROTO_TCP ? PKT_SYN | PKT_ACK : 0);
	xt_forward(xt.if_out, &rs, &rp);
	o = outer(tn_mac_in, tn_mac_client, xt_ip4(CLIENT), xt_ip4(GW_IN), TTL);
	n = error_frame(&o, type, code, 0, rp.out, rp.out_len, 0, in);

	wo = outer(tn_mac_be[i], tn_mac_out, pkt_saddr(fw.out), xt_ip4(tn_be_addr[i]), TTL - 1);
	q = rs;
	q.ttl = TTL - 1;
	wn = error_frame_of(&wo, type, code, 0, &q, 0, want);
	run_icmp(xt.if_in, in, n, XDP_REDIRECT, want, wn, true, &r);
	assert_int_equal(xt_reason(PORTIER_R_ICMP_TRANSLATED) - n0, 1);
}

static void test_client_udp_port_unreachable_snat(void **state)
{
	struct pkt_spec s = client_spec(53, IPPROTO_UDP, 0);

	(void)state;
	client_error(&s, T_UNREACH, C_PORT);
}

static void test_client_tcp_param_problem_snat(void **state)
{
	struct pkt_spec s = client_spec(80, IPPROTO_TCP, PKT_SYN);

	(void)state;
	client_error(&s, T_PARAM, 0);
}

static void test_client_tcp_port_unreachable_dnat(void **state)
{
	struct pkt_spec s = client_spec(81, IPPROTO_TCP, PKT_SYN);

	(void)state;
	client_error(&s, T_UNREACH, C_PORT);
}

static void test_client_udp_time_exceeded_dnat(void **state)
{
	struct pkt_spec s = client_spec(54, IPPROTO_UDP, 0);

	(void)state;
	client_error(&s, T_TIME, 0);
}

/* ---- what passes unchanged ------------------------------------------------ */

static void expect_pass(int ifindex, const uint8_t *in, size_t n, enum portier_reason why)
{
	uint64_t c0 = xt_reason(why);
	struct xt_run r;

	xt_run(ifindex, in, n, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, in, n);
	assert_int_equal(xt_reason(why) - c0, 1);
}

/* An echo request to a service address, and an error about a packet of no
 * flow: the kernel's (PASS_NOT_L4). */
static void test_pass_unchanged(void **state)
{
	struct pkt_spec s = client_spec(80, IPPROTO_TCP, PKT_SYN), o;
	uint8_t in[PKT_MAX];
	size_t n;

	(void)state;
	n = pkt_build_icmp_echo(&s, in);
	assert_int_equal(in[PKT_ETH_LEN + PKT_IP_LEN], T_ECHO);
	expect_pass(xt.if_in, in, n, PORTIER_R_PASS_NOT_L4);

	/* The client's error about a reply of a flow that never was. */
	o = outer(tn_mac_in, tn_mac_client, xt_ip4(CLIENT), xt_ip4(GW_IN), TTL);
	s.saddr = xt_ip4(GW_IN);
	s.daddr = xt_ip4(CLIENT);
	n = error_frame_of(&o, T_UNREACH, C_PORT, 0, &s, 0, in);
	expect_pass(xt.if_in, in, n, PORTIER_R_PASS_NOT_L4);
}

/* A flow to the local backend: its errors are the local stack's. */
static void test_local_flow_passes(void **state)
{
	uint8_t in[PKT_MAX];
	struct pkt_spec s, o, q;
	struct xt_run r;
	size_t n;
	int k;

	(void)state;
	for (k = 0; k < 4; k++) {	/* round robin over local and a node */
		s = client_spec(82, IPPROTO_TCP, PKT_SYN);
		xt_run(xt.if_in, in, pkt_build(&s, in), &r);
		if (r.ret == XDP_PASS)
			break;
	}
	assert_int_equal(r.ret, XDP_PASS);
	o = outer(tn_mac_in, tn_mac_client, xt_ip4(CLIENT), xt_ip4(GW_IN), TTL);
	q = s;
	q.saddr = s.daddr;
	q.daddr = s.saddr;
	q.sport = s.dport;
	q.dport = s.sport;
	n = error_frame_of(&o, T_UNREACH, C_PORT, 0, &q, 0, in);
	expect_pass(xt.if_in, in, n, PORTIER_R_PASS_LOCAL);
}

/* ---- fragmentation needed ------------------------------------------------- */

/* The message the program must send for the too-big frame in (n bytes)
 * that arrived from smac (sender saddr), sent from src, with the MTU. */
static size_t frag_needed_of(const uint8_t *in, size_t n, uint32_t src, uint16_t mtu,
			     uint8_t *want)
{
	struct pkt_spec o = { 0 };

	memcpy(o.dmac, in + 6, 6);
	memcpy(o.smac, in, 6);
	o.saddr = src;
	o.daddr = pkt_saddr(in);
	o.ttl = GEN_TTL;
	o.tos = GEN_TOS;
	return error_frame(&o, T_UNREACH, C_FRAG, mtu, in, n, QUOTE_MIN, want);
}

/* Run the too-big frame in and expect its fragmentation needed. */
static void expect_frag_needed(int ifindex, const uint8_t *in, size_t n, uint32_t src)
{
	uint64_t c0 = xt_reason(PORTIER_R_ICMP_FRAG_NEEDED_SENT);
	uint8_t want[PKT_MAX];
	size_t wn = frag_needed_of(in, n, src, MTU, want);
	struct xt_run r;

	assert_int_equal(wn, GEN_LEN);
	xt_run(ifindex, in, n, &r);
	assert_int_equal(r.ret, XDP_TX);
	assert_int_equal(r.out_len, wn);
	assert_memory_equal(r.out, want, wn);
	assert_true(pkt_ip_csum_ok(r.out, r.out_len));
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));
	assert_true(pkt_ip_csum_ok(r.out + PKT_IP_LEN + PKT_ICMP_LEN,
				   r.out_len - PKT_IP_LEN - PKT_ICMP_LEN));
	assert_int_equal(xt_reason(PORTIER_R_ICMP_FRAG_NEEDED_SENT) - c0, 1);
}

/* A TCP flow whose next hop is cached in its entry (SYN, then an ACK that
 * fills the cache): a big segment gets the message from the service
 * address, checked against the cached MTU without a lookup. */
static void test_frag_needed_cached(void **state)
{
	struct pkt_spec s = client_spec(80, IPPROTO_TCP, PKT_SYN);
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	xt_forward(xt.if_in, &s, &r);
	s.tcp_flags = PKT_ACK;
	xt_forward(xt.if_in, &s, &r);
	s.tcp_flags = PKT_ACK | PKT_PSH;
	s.payload_len = BIG_PAYLOAD;
	expect_frag_needed(xt.if_in, in, pkt_build(&s, in), xt_ip4(GW_IN));
	/* A segment that fits still goes. */
	s.payload_len = MTU - PKT_IP_LEN - PKT_TCP_LEN;
	xt_forward(xt.if_in, &s, &r);
}

/* A new flow's first packet, too big (the backend's cached next hop, or
 * the FIB lookup, says so). */
static void test_frag_needed_new_flow(void **state)
{
	struct pkt_spec s = client_spec(53, IPPROTO_UDP, 0);
	uint8_t in[PKT_MAX];

	(void)state;
	s.payload_len = BIG_PAYLOAD;
	expect_frag_needed(xt.if_in, in, pkt_build(&s, in), xt_ip4(GW_IN));
}

/* A reply too big for the input NIC, the flow's first: the FIB lookup
 * (replies have no cache but the flow's) says so; the backend gets the
 * message from this host's output address (snat). */
static void test_frag_needed_reply(void **state)
{
	struct pkt_spec s = client_spec(53, IPPROTO_UDP, 0), rs;
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	xt_forward(xt.if_in, &s, &r);
	rs = reply_spec(r.out, 0);
	rs.payload_len = BIG_PAYLOAD;
	expect_frag_needed(xt.if_out, in, pkt_build(&rs, in), xt_ip4(GW_OUT));
}

/* Without DF: rewritten, TTL and MACs as received, passed for the kernel
 * to fragment. */
static void test_too_big_no_df(void **state)
{
	struct pkt_spec s = client_spec(53, IPPROTO_UDP, 0), e;
	uint64_t c0 = xt_reason(PORTIER_R_PASS_TOO_BIG);
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct xt_run r;
	size_t wn;

	(void)state;
	xt_forward(xt.if_in, &s, &r);
	e = s;
	e.saddr = xt_ip4(GW_OUT);
	e.sport = pkt_sport(r.out);
	e.daddr = pkt_daddr(r.out);
	e.dport = pkt_dport(r.out);
	s.df = e.df = false;
	s.payload_len = e.payload_len = BIG_PAYLOAD;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	wn = pkt_build(&e, want);
	assert_int_equal(r.ret, XDP_PASS);
	assert_int_equal(r.out_len, wn);
	assert_memory_equal(r.out, want, wn);
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_int_equal(xt_reason(PORTIER_R_PASS_TOO_BIG) - c0, 1);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The rate limit (this process runs on one CPU: one bucket): of RL_TRIES
 * too-big packets in a row, at most the burst and what the elapsed time
 * refills are answered; the rest are dropped and counted. */
static void test_rate_limit(void **state)
{
	struct pkt_spec s = client_spec(80, IPPROTO_TCP, PKT_SYN);
	uint64_t l0 = xt_reason(PORTIER_R_ICMP_RATELIMITED);
	int sent = 0, dropped = 0;
	uint8_t in[PKT_MAX];
	double t0, ms;
	struct xt_run r;
	size_t n;

	(void)state;
	xt_forward(xt.if_in, &s, &r);
	s.tcp_flags = PKT_ACK;
	s.payload_len = BIG_PAYLOAD;
	n = pkt_build(&s, in);
	t0 = now_ms();
	for (int i = 0; i < RL_TRIES; i++) {
		xt_run(xt.if_in, in, n, &r);
		if (r.ret == XDP_TX)
			sent++;
		else if (r.ret == XDP_DROP)
			dropped++;
		else
			fail_msg("too-big packet %d: action %d", i, r.ret);
	}
	ms = now_ms() - t0;
	printf("rate limit: %d sent, %d dropped in %.1f ms\n", sent, dropped, ms);
	assert_int_equal(sent + dropped, RL_TRIES);
	assert_int_equal(xt_reason(PORTIER_R_ICMP_RATELIMITED) - l0, dropped);
	/* The coarse clock lags up to a few ticks: a few messages' slack. */
	assert_true(sent <= PORTIER_ICMP_BURST + (int)(ms * PORTIER_ICMP_RATE / 1000) + 10);
	assert_true(sent >= 1);
	if (ms < (RL_TRIES - PORTIER_ICMP_BURST - 10) * 1000.0 / PORTIER_ICMP_RATE)
		assert_true(dropped > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snat_udp_port_unreachable),
		cmocka_unit_test(test_snat_tcp_frag_needed),
		cmocka_unit_test(test_dnat_tcp_router_time_exceeded),
		cmocka_unit_test(test_dnat_udp_port_unreachable),
		cmocka_unit_test(test_short_quote),
		cmocka_unit_test(test_client_udp_port_unreachable_snat),
		cmocka_unit_test(test_client_tcp_param_problem_snat),
		cmocka_unit_test(test_client_tcp_port_unreachable_dnat),
		cmocka_unit_test(test_client_udp_time_exceeded_dnat),
		cmocka_unit_test(test_pass_unchanged),
		cmocka_unit_test(test_local_flow_passes),
		cmocka_unit_test(test_frag_needed_cached),
		cmocka_unit_test(test_frag_needed_new_flow),
		cmocka_unit_test(test_frag_needed_reply),
		cmocka_unit_test(test_too_big_no_df),
		cmocka_unit_test(test_rate_limit),
	};
	cpu_set_t one;

	/* One CPU: the ICMP rate limit is per CPU. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		fprintf(stderr, "test_xdp_icmp: cannot pin to CPU 0: %s\n", strerror(errno));
	return xt_run_group("test_xdp_icmp", tests, setup, xt_teardown);
}
