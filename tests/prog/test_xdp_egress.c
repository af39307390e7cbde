// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_egress.c - egress NAT (bpf/egress.h) through BPF_PROG_TEST_RUN,
 * in test_xdp's private network namespace (testnet.c) with an "internet"
 * (192.0.2.0/24) routed via 203.0.113.11 on the output side. Egress rules:
 * "box" lets 198.51.100.0/25 reach 192.0.2.0/24 and 203.0.113.0/24 but
 * 192.0.2.128/25, any protocol; "dns" lets 198.51.100.0/24 reach UDP 53
 * anywhere. Every forwarded frame is compared byte for byte with one built
 * from scratch (checksums recomputed):
 *   - TCP: a SYN and data out, translated to the egress address and a port
 *     of the SNAT range, and the server's answer back to the client;
 *   - UDP out and back; ICMP echo out (the identifier translated as the
 *     port) and its reply back;
 *   - an ICMP error about an egress flow from the internet side,
 *     translated for the client; a time exceeded quoting an egress echo
 *     request (its identifier translated back, the quote's checksums),
 *     whole or cut to 8 bytes, and a box-side error about an echo reply;
 *   - refused: an excepted destination, a protocol or port no rule
 *     allows, a source no rule names (counted on the rule, or unmatched),
 *     a TCP segment of no flow; not egress: the gateway's own address, a
 *     destination on the input side (passed, unchanged);
 *   - the GC deletes an idle egress flow (both entries);
 *   - connection logs: a rule with log (box) logs a TCP flow closed by
 *     FINs both ways (program) and an idle UDP flow (GC); one without
 *     (dns) does not;
 *   - the egress port cursor wraps (around a range of 10 and past 2^32)
 *     into ports still in use: only the freed ones are taken, the rest
 *     refused (SNAT_EXHAUSTED), no live flow loses its port;
 *   - a port collision avoided: with the output NIC's address as the
 *     egress address, a kube route's SNAT flow to a server holds the port
 *     the egress cursor gives next; the egress flow to that server takes
 *     another;
 *   - an apply without egress turns it off (packets pass as before).
 * Needs root.
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
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "connlog.h"
#include "ct_table.h"
#include "dataplane.h"
#include "egress.h"
#include "pkt.h"
#include "policy.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define CLIENT		TN_CLIENT		/* 198.51.100.10 */
#define OTHER_SRC	"198.51.100.200"	/* outside "box"'s from */
#define SERVER		"192.0.2.50"
#define EXCEPTED	"192.0.2.200"
#define ROUTER		"192.0.2.1"		/* a router on the internet side */
#define BOX_ROUTER	"198.51.100.2"		/* a router on the box side */
#define VIP		"203.0.113.254"		/* the egress address */
#define CLIENT_PORT	42000
#define TTL		XT_TTL
#define ECHO_ID		0x1234
#define ECHO_LEN	(PKT_ICMP_LEN + 16)	/* header and 16 bytes of data */
#define RULE_BOX	0
#define RULE_DNS	1

/* ---- setup ---------------------------------------------------------------- */

static struct pt_cidr cidr(const char *s)
{
	struct pt_cidr c;
	const char *why;

	if (pt_cidr_parse(s, &c, &why))
		fail_msg("bad test network %s: %s", s, why);
	return c;
}

/* Apply the base routes and the egress rules, from addr (NULL: the
 * output NIC's address). */
static int apply_egress(const char *addr)
{
	struct pt_cidr box_from[] = { cidr("198.51.100.0/25") };
	struct pt_cidr box_to[] = { cidr("192.0.2.0/24"), cidr("203.0.113.0/24") };
	struct pt_cidr box_except[] = { cidr("192.0.2.128/25") };
	struct pt_cidr dns_from[] = { cidr("198.51.100.0/24") };
	struct pt_cidr dns_to[] = { cidr("0.0.0.0/0") };
	struct pt_egress_rule rules[2] = {
		{ .name = (char *)"box", .from = box_from, .n_from = 1, .to = box_to, .n_to = 2,
		  .except = box_except, .n_except = 1, .log = true,
		  .protos = PORTIER_EGRESS_P_TCP | PORTIER_EGRESS_P_UDP |
			    PORTIER_EGRESS_P_ICMP },
		{ .name = (char *)"dns", .from = dns_from, .n_from = 1, .to = dns_to, .n_to = 1,
		  .protos = PORTIER_EGRESS_P_UDP, .n_ports = 1, .ports = { { 53, 53 } } },
	};
	struct pt_egress e = { .declared = true, .rules = rules, .n_rules = 2 };
	struct pt_route r[TN_BASE_ROUTES];
	struct pt_routeset rs = { .host = (char *)"gw", .routes = r, .n_routes = TN_BASE_ROUTES,
				  .egress = &e };
	int err;

	if (addr)
		e.snat_address = tn_addr(addr);
	tn_base_routes(r);
	err = pt_dp_apply(xt.dp, &rs);
	if (err)
		fprintf(stderr, "test_xdp_egress: pt_dp_apply: %s\n", pt_dp_last_error(xt.dp));
	for (size_t i = 0; i < TN_BASE_ROUTES; i++)
		free(r[i].backends);
	return err;
}

static int setup(void **state)
{
	(void)state;
	if (xt_open("test_xdp_egress", CLIENT_PORT, 1, NULL))
		return -1;
	if (tn_sh("ip route add 192.0.2.0/24 via %s dev " TN_IF_OUT, tn_be_addr[0]))
		return -1;
	return apply_egress(VIP) ? -1 : 0;
}

/* ---- packets -------------------------------------------------------------- */

static struct pkt_spec client_to(const char *src, const char *dst, uint16_t dport,
				 uint8_t proto, uint8_t flags)
{
	struct pkt_spec s = xt_spec(xt_ip4(src), xt_ip4(dst), xt.next_port++, dport, proto, flags);

	s.ip_id = 0x4242;
	s.payload_len = proto == IPPROTO_UDP ? 24 : flags & PKT_ACK ? 10 : 0;
	s.payload_seed = 0x11;
	return s;
}

/* The egress stats of rule id, summed. */
static struct portier_egress_stats egress_stats(__u32 id)
{
	struct pt_egress_view *ev;
	struct portier_egress_stats st = { 0 };
	size_t n;

	assert_int_equal(pt_dp_egress_view(xt.skel, &ev, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (ev[i].id == id)
			st = ev[i].stats;
	free(ev);
	return st;
}

/* The frame out, compared with want built from scratch. */
static void expect_frame(const struct xt_run *r, const uint8_t *want, size_t wn)
{
	assert_int_equal(r->out_len, wn);
	assert_memory_equal(r->out, want, wn);
	assert_true(pkt_ip_csum_ok(r->out, r->out_len));
}

/* s forwarded out: from the egress address egress at a port of the SNAT
 * range (returned), to the server's next hop, TTL - 1; every byte. */
static uint16_t expect_out(const struct pkt_spec *s, const struct xt_run *r, uint32_t egress)
{
	struct pkt_spec w = *s;
	uint8_t want[PKT_MAX];
	uint16_t port;

	assert_int_equal(r->ret, XDP_REDIRECT);
	port = pkt_sport(r->out);
	assert_true(port >= PORTIER_SNAT_PORT_MIN_DEFAULT && port <= PORTIER_SNAT_PORT_MAX_DEFAULT);
	memcpy(w.dmac, tn_mac_be[0], 6);
	memcpy(w.smac, tn_mac_out, 6);
	w.saddr = egress;
	w.sport = port;
	w.ttl = TTL - 1;
	expect_frame(r, want, pkt_build(&w, want));
	assert_true(pkt_l4_csum_ok(r->out, r->out_len, false));
	return port;
}

/* The server's answer (flags) to out, from the internet side. */
static struct pkt_spec server_reply(const uint8_t *out, uint8_t flags)
{
	struct pkt_spec s = pkt_spec_ip(tn_mac_out, tn_mac_be[0], pkt_daddr(out), pkt_saddr(out),
					TTL);

	s.sport = pkt_dport(out);
	s.dport = pkt_sport(out);
	s.proto = out[PKT_ETH_LEN + 9];
	s.tcp_flags = flags;
	s.ip_id = 0x5151;
	s.payload_len = 40;
	s.payload_seed = 0x77;
	return s;
}

/* reply (the server's answer to client packet c) forwarded to the
 * client: every byte. */
static void expect_back(const struct pkt_spec *reply, const struct pkt_spec *c,
			const struct xt_run *r)
{
	struct pkt_spec w = *reply;
	uint8_t want[PKT_MAX];

	assert_int_equal(r->ret, XDP_REDIRECT);
	memcpy(w.dmac, tn_mac_client, 6);
	memcpy(w.smac, tn_mac_in, 6);
	w.daddr = c->saddr;
	w.dport = c->sport;
	w.ttl = TTL - 1;
	expect_frame(r, want, pkt_build(&w, want));
	assert_true(pkt_l4_csum_ok(r->out, r->out_len, false));
}

/* ---- TCP, UDP ------------------------------------------------------------- */

static void test_tcp(void **state)
{
	struct pkt_spec syn = client_to(CLIENT, SERVER, 80, IPPROTO_TCP, PKT_SYN), data = syn, rep;
	struct portier_egress_stats st0 = egress_stats(RULE_BOX), st;
	struct xt_run r;
	uint16_t port;

	(void)state;
	xt_run_spec(xt.if_in, &syn, &r);
	port = expect_out(&syn, &r, xt_ip4(VIP));

	rep = server_reply(r.out, PKT_SYN | PKT_ACK);
	xt_run_spec(xt.if_out, &rep, &r);
	expect_back(&rep, &syn, &r);

	data.tcp_flags = PKT_ACK | PKT_PSH;
	data.payload_len = 100;
	xt_run_spec(xt.if_in, &data, &r);
	assert_int_equal(expect_out(&data, &r, xt_ip4(VIP)), port);

	st = egress_stats(RULE_BOX);
	assert_int_equal(st.flows - st0.flows, 1);
	assert_int_equal(st.packets[0] - st0.packets[0], 2);
	assert_int_equal(st.packets[1] - st0.packets[1], 1);
	assert_int_equal(st.refused, st0.refused);
}

static void test_udp(void **state)
{
	struct pkt_spec s = client_to(CLIENT, SERVER, 5353, IPPROTO_UDP, 0), rep;
	struct portier_egress_stats st0 = egress_stats(RULE_BOX), st;
	struct xt_run r;

	(void)state;
	xt_run_spec(xt.if_in, &s, &r);
	expect_out(&s, &r, xt_ip4(VIP));
	rep = server_reply(r.out, 0);
	xt_run_spec(xt.if_out, &rep, &r);
	expect_back(&rep, &s, &r);
	st = egress_stats(RULE_BOX);
	assert_int_equal(st.flows - st0.flows, 1);
	assert_int_equal(st.packets[1] - st0.packets[1], 1);
}

/* UDP 53 from a source of "dns" alone (not of "box"): allowed by "dns". */
static void test_udp_second_rule(void **state)
{
	struct pkt_spec s = client_to(OTHER_SRC, "203.0.113.53", 53, IPPROTO_UDP, 0);
	struct portier_egress_stats st0 = egress_stats(RULE_DNS), st;
	struct xt_run r;

	(void)state;
	tn_sh("ip neigh replace 203.0.113.53 lladdr 02:00:00:00:02:35 dev " TN_IF_OUT
	      " nud permanent");
	xt_run_spec(xt.if_in, &s, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(pkt_saddr(r.out), xt_ip4(VIP));
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	st = egress_stats(RULE_DNS);
	assert_int_equal(st.flows - st0.flows, 1);
}

/* ---- ICMP echo ------------------------------------------------------------ */

/* An echo frame: s's MACs, addresses and TTL, then the ICMP message. */
static size_t echo(const struct pkt_spec *s, uint8_t type, uint16_t id, uint8_t *buf)
{
	uint8_t ic[ECHO_LEN];
	struct pkt_spec o = *s;
	uint16_t c;
	size_t n;

	memset(ic, 0, sizeof(ic));
	ic[0] = type;
	ic[4] = id >> 8;
	ic[5] = id & 0xff;
	ic[7] = 1;
	for (size_t i = PKT_ICMP_LEN; i < sizeof(ic); i++)
		ic[i] = (uint8_t)(0x30 + i);
	c = (uint16_t)~pkt_fold(pkt_sum(ic, sizeof(ic), 0));
	ic[2] = c >> 8;
	ic[3] = c & 0xff;
	/* An error frame of type 0 and an empty quote: Ethernet, IP, the 8
	 * bytes of ICMP header, which we then overwrite with ours. */
	o.ip_id = 0x4343;
	n = pkt_build_icmp_error(&o, type, 0, 0, ic, sizeof(ic) - PKT_ICMP_LEN, buf);
	assert_int_equal(n, PKT_ETH_LEN + PKT_IP_LEN + ECHO_LEN);
	memcpy(buf + PKT_ETH_LEN + PKT_IP_LEN, ic, sizeof(ic));
	return n;
}

static void test_echo(void **state)
{
	struct pkt_spec c = xt_spec(xt_ip4(CLIENT), xt_ip4(SERVER), 0, 0, IPPROTO_ICMP, 0), w, rs;
	struct portier_egress_stats st0 = egress_stats(RULE_BOX), st;
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct xt_run r;
	uint16_t id;
	size_t n;

	(void)state;
	n = echo(&c, 8, ECHO_ID, in);
	xt_run(xt.if_in, in, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	id = pkt_get16(r.out + PKT_ETH_LEN + PKT_IP_LEN + 4);
	assert_true(id >= PORTIER_SNAT_PORT_MIN_DEFAULT && id <= PORTIER_SNAT_PORT_MAX_DEFAULT);
	w = c;
	memcpy(w.dmac, tn_mac_be[0], 6);
	memcpy(w.smac, tn_mac_out, 6);
	w.saddr = xt_ip4(VIP);
	w.ttl = TTL - 1;
	expect_frame(&r, want, echo(&w, 8, id, want));
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));

	/* The reply, from the server to the egress address with its id. */
	rs = pkt_spec_ip(tn_mac_out, tn_mac_be[0], xt_ip4(SERVER), xt_ip4(VIP), TTL);
	n = echo(&rs, 0, id, in);
	xt_run(xt.if_out, in, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	w = rs;
	memcpy(w.dmac, tn_mac_client, 6);
	memcpy(w.smac, tn_mac_in, 6);
	w.daddr = xt_ip4(CLIENT);
	w.ttl = TTL - 1;
	expect_frame(&r, want, echo(&w, 0, ECHO_ID, want));
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));

	st = egress_stats(RULE_BOX);
	assert_int_equal(st.flows - st0.flows, 1);
	assert_int_equal(st.packets[0] - st0.packets[0], 1);
	assert_int_equal(st.packets[1] - st0.packets[1], 1);

	/* An echo reply of no flow (the gateway's own ping) passes. */
	n = echo(&rs, 0, id + 1, in);
	xt_run(xt.if_out, in, n, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_memory_equal(r.out, in, n);
}

/* ---- ICMP errors ---------------------------------------------------------- */

/* A router on the internet side answers a client's egress UDP datagram
 * with port unreachable: the client gets it quoting its own datagram. */
static void test_icmp_error(void **state)
{
	struct pkt_spec s = client_to(CLIENT, SERVER, 7777, IPPROTO_UDP, 0), o, wo, q = s;
	uint64_t n0 = xt_reason(PORTIER_R_ICMP_TRANSLATED);
	uint8_t in[PKT_MAX], want[PKT_MAX], quote[PKT_MAX];
	struct xt_run fw, r;
	size_t n, wn;

	(void)state;
	s.df = true;
	q = s;
	xt_run_spec(xt.if_in, &s, &fw);
	expect_out(&s, &fw, xt_ip4(VIP));
	o = pkt_spec_ip(tn_mac_out, tn_mac_be[0], xt_ip4(ROUTER), xt_ip4(VIP), TTL);
	o.ip_id = 0x6161;
	n = pkt_build_icmp_error(&o, 3, 3, 0, fw.out + PKT_ETH_LEN, fw.out_len - PKT_ETH_LEN, in);

	wo = pkt_spec_ip(tn_mac_client, tn_mac_in, xt_ip4(ROUTER), xt_ip4(CLIENT), TTL - 1);
	wo.ip_id = 0x6161;
	q.ttl = TTL - 1;	/* the quote keeps the TTL it was quoted with */
	wn = pkt_build(&q, quote);
	wn = pkt_build_icmp_error(&wo, 3, 3, 0, quote + PKT_ETH_LEN, wn - PKT_ETH_LEN, want);
	xt_run(xt.if_out, in, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	expect_frame(&r, want, wn);
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));
	assert_true(pkt_l4_csum_ok(r.out + PKT_IP_LEN + PKT_ICMP_LEN,
				   r.out_len - PKT_IP_LEN - PKT_ICMP_LEN, false));
	assert_int_equal(xt_reason(PORTIER_R_ICMP_TRANSLATED) - n0, 1);
}

/* A router on the internet side answers an egress echo request with time
 * exceeded, quoting it as translated (the egress address, the allocated
 * identifier): the client gets it quoting its own request (its address,
 * its identifier, the inner checksums) from the router. And the other
 * way, a box-side error about an echo reply (the client unreachable)
 * goes to the server as about the reply the server sent. Every byte. */
static void test_echo_error(void **state)
{
	struct pkt_spec c = xt_spec(xt_ip4(CLIENT), xt_ip4(SERVER), 0, 0, IPPROTO_ICMP, 0);
	struct pkt_spec o, wo, q, rs;
	uint64_t n0 = xt_reason(PORTIER_R_ICMP_TRANSLATED);
	uint8_t in[PKT_MAX], want[PKT_MAX], quote[PKT_MAX], echo_in[PKT_MAX];
	const uint16_t cid = ECHO_ID + 0x100;
	struct xt_run fw, r;
	size_t n, wn, qn;
	uint16_t id;

	(void)state;
	n = echo(&c, 8, cid, echo_in);
	xt_run(xt.if_in, echo_in, n, &fw);
	assert_int_equal(fw.ret, XDP_REDIRECT);
	id = pkt_get16(fw.out + PKT_ETH_LEN + PKT_IP_LEN + 4);
	assert_int_not_equal(id, cid);

	/* Time exceeded from the router, quoting all of the request. */
	o = pkt_spec_ip(tn_mac_out, tn_mac_be[0], xt_ip4(ROUTER), xt_ip4(VIP), TTL);
	o.ip_id = 0x6262;
	n = pkt_build_icmp_error(&o, 11, 0, 0, fw.out + PKT_ETH_LEN, fw.out_len - PKT_ETH_LEN, in);
	wo = pkt_spec_ip(tn_mac_client, tn_mac_in, xt_ip4(ROUTER), xt_ip4(CLIENT), TTL - 1);
	wo.ip_id = 0x6262;
	q = c;
	q.ttl = TTL - 1;	/* the quote keeps the TTL it was quoted with */
	qn = echo(&q, 8, cid, quote);
	wn = pkt_build_icmp_error(&wo, 11, 0, 0, quote + PKT_ETH_LEN, qn - PKT_ETH_LEN, want);
	xt_run(xt.if_out, in, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	expect_frame(&r, want, wn);
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));
	/* The quoted echo's own checksum holds (all of it quoted). */
	assert_int_equal(pkt_fold(pkt_sum(r.out + PKT_ETH_LEN + 2 * PKT_IP_LEN + PKT_ICMP_LEN,
					  ECHO_LEN, 0)), 0xffff);
	assert_int_equal(xt_reason(PORTIER_R_ICMP_TRANSLATED) - n0, 1);

	/* Quoting only 8 bytes of it (RFC 792): the same, cut. */
	n = pkt_build_icmp_error(&o, 11, 0, 0, fw.out + PKT_ETH_LEN, PKT_IP_LEN + 8, in);
	wn = pkt_build_icmp_error(&wo, 11, 0, 0, quote + PKT_ETH_LEN, PKT_IP_LEN + 8, want);
	xt_run(xt.if_out, in, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	expect_frame(&r, want, wn);
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));

	/* The reply comes back; a box-side router finds the client
	 * unreachable and says so, quoting the reply as it got it: the
	 * server gets the error about the reply it sent (to the egress
	 * address, its identifier), from the router. */
	rs = pkt_spec_ip(tn_mac_out, tn_mac_be[0], xt_ip4(SERVER), xt_ip4(VIP), TTL);
	n = echo(&rs, 0, id, echo_in);
	xt_run(xt.if_out, echo_in, n, &fw);
	assert_int_equal(fw.ret, XDP_REDIRECT);
	o = pkt_spec_ip(tn_mac_in, tn_mac_client, xt_ip4(BOX_ROUTER), xt_ip4(SERVER), TTL);
	o.ip_id = 0x6363;
	n = pkt_build_icmp_error(&o, 3, 1, 0, fw.out + PKT_ETH_LEN, fw.out_len - PKT_ETH_LEN, in);
	wo = pkt_spec_ip(tn_mac_be[0], tn_mac_out, xt_ip4(BOX_ROUTER), xt_ip4(SERVER), TTL - 1);
	wo.ip_id = 0x6363;
	q = rs;
	q.ttl = TTL - 1;
	qn = echo(&q, 0, id, quote);
	wn = pkt_build_icmp_error(&wo, 3, 1, 0, quote + PKT_ETH_LEN, qn - PKT_ETH_LEN, want);
	xt_run(xt.if_in, in, n, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	expect_frame(&r, want, wn);
	assert_true(pkt_icmp_csum_ok(r.out, r.out_len));
	assert_int_equal(xt_reason(PORTIER_R_ICMP_TRANSLATED) - n0, 3);

	/* A quoted echo of no flow (another identifier) passes unchanged. */
	q = c;
	q.saddr = xt_ip4(VIP);
	qn = echo(&q, 8, id + 7, quote);
	o = pkt_spec_ip(tn_mac_out, tn_mac_be[0], xt_ip4(ROUTER), xt_ip4(VIP), TTL);
	n = pkt_build_icmp_error(&o, 11, 0, 0, quote + PKT_ETH_LEN, qn - PKT_ETH_LEN, in);
	xt_run(xt.if_out, in, n, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_memory_equal(r.out, in, n);
	assert_int_equal(xt_reason(PORTIER_R_ICMP_TRANSLATED) - n0, 3);
}

/* ---- refused, and what is not egress -------------------------------------- */

static void expect_dropped(const struct pkt_spec *s, enum portier_reason why)
{
	uint64_t n0 = xt_reason(why);
	struct xt_run r;

	xt_run_spec(xt.if_in, s, &r);
	assert_int_equal(r.ret, XDP_DROP);
	assert_int_equal(xt_reason(why) - n0, 1);
}

static void test_refused(void **state)
{
	struct portier_egress_stats b0 = egress_stats(RULE_BOX), u0, b, u;
	struct pkt_spec s;

	(void)state;
	u0 = egress_stats(PORTIER_EGRESS_UNMATCHED);
	/* An excepted destination; a protocol "box" allows to a destination
	 * it does not cover (and "dns" only UDP 53). */
	s = client_to(CLIENT, EXCEPTED, 80, IPPROTO_TCP, PKT_SYN);
	expect_dropped(&s, PORTIER_R_DROP_EGRESS_REFUSED);
	s = client_to(CLIENT, EXCEPTED, 5353, IPPROTO_UDP, 0);
	expect_dropped(&s, PORTIER_R_DROP_EGRESS_REFUSED);
	b = egress_stats(RULE_BOX);
	assert_int_equal(b.refused - b0.refused, 2);
	assert_int_equal(b.flows, b0.flows);
	/* A source of "dns" only, TCP: refused, on "dns"'s counter. */
	b0 = egress_stats(RULE_DNS);
	s = client_to(OTHER_SRC, SERVER, 80, IPPROTO_TCP, PKT_SYN);
	expect_dropped(&s, PORTIER_R_DROP_EGRESS_REFUSED);
	assert_int_equal(egress_stats(RULE_DNS).refused - b0.refused, 1);
	/* A source no rule names. */
	s = client_to("198.51.100.9", SERVER, 80, IPPROTO_TCP, PKT_SYN);
	s.saddr = xt_ip4("10.1.2.3");
	expect_dropped(&s, PORTIER_R_DROP_EGRESS_REFUSED);
	u = egress_stats(PORTIER_EGRESS_UNMATCHED);
	assert_int_equal(u.refused - u0.refused, 1);
	/* A TCP segment of no flow; an echo reply of none, from the box. */
	s = client_to(CLIENT, SERVER, 80, IPPROTO_TCP, PKT_ACK);
	expect_dropped(&s, PORTIER_R_DROP_EGRESS_NO_FLOW);
	{
		uint64_t n0 = xt_reason(PORTIER_R_DROP_EGRESS_NO_FLOW);
		uint8_t in[PKT_MAX];
		struct xt_run r;

		s = xt_spec(xt_ip4(CLIENT), xt_ip4(SERVER), 0, 0, IPPROTO_ICMP, 0);
		xt_run(xt.if_in, in, echo(&s, 0, 0x77, in), &r);
		assert_int_equal(r.ret, XDP_DROP);
		assert_int_equal(xt_reason(PORTIER_R_DROP_EGRESS_NO_FLOW) - n0, 1);
	}
}

static void test_not_egress(void **state)
{
	uint8_t in[PKT_MAX];
	struct pkt_spec s;
	struct xt_run r;
	size_t n;

	(void)state;
	/* To the gateway itself (ssh), and to a neighbour on the input side:
	 * the kernel's, unchanged. */
	s = client_to(CLIENT, TN_GW_IN, 22, IPPROTO_TCP, PKT_SYN);
	n = pkt_build(&s, in);
	xt_run(xt.if_in, in, n, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_memory_equal(r.out, in, n);
	s = client_to(CLIENT, "198.51.100.77", 5000, IPPROTO_UDP, 0);
	n = pkt_build(&s, in);
	xt_run(xt.if_in, in, n, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_memory_equal(r.out, in, n);
	/* A ping to the gateway: its stack answers. */
	s = xt_spec(xt_ip4(CLIENT), xt_ip4(TN_GW_IN), 0, 0, IPPROTO_ICMP, 0);
	n = echo(&s, 8, 0x99, in);
	xt_run(xt.if_in, in, n, &r);
	assert_int_equal(r.ret, XDP_PASS);
	assert_memory_equal(r.out, in, n);
}

/* The kube routes still work beside egress. */
static void test_routes_unchanged(void **state)
{
	struct pkt_spec s = xt_client_spec(80, IPPROTO_TCP, PKT_SYN);
	struct xt_run r;

	(void)state;
	xt_forward(xt.if_in, &s, &r);
	assert_int_equal(pkt_saddr(r.out), xt_ip4(TN_GW_OUT));
	assert_true(xt_be_index(pkt_daddr(r.out)) >= 0);
}

/* ---- timeouts ------------------------------------------------------------- */

/* The GC deletes an idle egress flow, both entries, as any flow's; the
 * server's late answer then passes (no flow). */
static void test_gc(void **state)
{
	struct pkt_spec s = client_to(CLIENT, SERVER, 6000, IPPROTO_UDP, 0), rep;
	struct portier_config cfg = *pt_dp_config(xt.dp), short_cfg = cfg;
	struct portier_flow_key k = { 0 }, rk = { 0 };
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_flow f;
	struct xt_run r;
	size_t removed = 0;

	(void)state;
	xt_run_spec(xt.if_in, &s, &r);
	expect_out(&s, &r, xt_ip4(VIP));
	rep = server_reply(r.out, 0);
	k.saddr = s.saddr;
	k.daddr = s.daddr;
	k.sport = htons(s.sport);
	k.dport = htons(s.dport);
	k.proto = IPPROTO_UDP;
	assert_true(pt_ct_lookup(ct, &k, &f));
	assert_true(f.flags & PORTIER_FLOW_F_EGRESS);
	assert_int_equal(f.route_id, RULE_BOX);
	pt_flow_key_other(&k, &f, &rk);
	assert_true(pt_ct_lookup(ct, &rk, NULL));

	short_cfg.tmo_udp = 1;
	assert_int_equal(pt_dp_set_config(xt.dp, &short_cfg), 0);
	usleep(2300 * 1000);
	assert_int_equal(pt_dp_gc(xt.dp, &removed), 0);
	assert_true(removed >= 2);
	assert_false(pt_ct_lookup(ct, &k, NULL));
	assert_false(pt_ct_lookup(ct, &rk, NULL));
	assert_int_equal(pt_dp_set_config(xt.dp, &cfg), 0);
	xt_run_spec(xt.if_out, &rep, &r);
	assert_int_equal(r.ret, XDP_PASS);
}

/* ---- connection logs ------------------------------------------------------ */

/* End events of portier_connlog, read whole. */
static struct portier_connlog_event log_ev[4];
static int n_log_ev;

static int on_log(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size >= sizeof(log_ev[0]) && n_log_ev < 4)
		memcpy(&log_ev[n_log_ev], data, sizeof(log_ev[0]));
	n_log_ev++;
	return 0;
}

/* "box" logs (log: true), "dns" does not. A TCP egress flow of "box"
 * closed by FINs both ways: one end event, the rule as its route, the
 * server as its backend, the egress port as its SNAT port; its line.
 * UDP flows that the GC expires: a line for "box"'s, none for "dns"'s. */
static void test_connlog(void **state)
{
	struct pkt_spec syn = client_to(CLIENT, SERVER, 80, IPPROTO_TCP, PKT_SYN), c, rep;
	struct pkt_spec u = client_to(CLIENT, SERVER, 6001, IPPROTO_UDP, 0);
	struct pkt_spec d = client_to(OTHER_SRC, SERVER, 53, IPPROTO_UDP, 0);
	struct portier_config cfg = *pt_dp_config(xt.dp), short_cfg = cfg;
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(xt.skel->maps.portier_connlog),
						  on_log, NULL, NULL);
	struct pt_connlog_opts o = { .sink = PT_CONNLOG_STDOUT };
	struct portier_connlog_event *ev = &log_ev[0];
	struct pt_connlog *cl;
	struct xt_run r;
	uint8_t out[PKT_MAX];
	char line[PT_CONNLOG_LINE_MAX], want[160];
	__u64 lines0, lines;
	uint16_t port;

	(void)state;
	assert_non_null(rb);
	assert_int_equal(pt_ct_flush(pt_dp_ct(xt.dp), NULL), 0);
	n_log_ev = 0;
	xt_run_spec(xt.if_in, &syn, &r);
	port = expect_out(&syn, &r, xt_ip4(VIP));
	memcpy(out, r.out, r.out_len);
	rep = server_reply(out, PKT_SYN | PKT_ACK);
	xt_run_spec(xt.if_out, &rep, &r);
	c = syn;
	c.tcp_flags = PKT_ACK | PKT_FIN;
	xt_run_spec(xt.if_in, &c, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(ring_buffer__consume(rb) >= 0);
	assert_int_equal(n_log_ev, 0);		/* one FIN: not over */
	rep = server_reply(out, PKT_ACK | PKT_FIN);
	xt_run_spec(xt.if_out, &rep, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_true(ring_buffer__consume(rb) >= 0);
	assert_int_equal(n_log_ev, 1);
	assert_int_equal(ev->end, PORTIER_END_FIN);
	assert_true(ev->flags & PORTIER_FLOW_F_EGRESS);
	assert_int_equal(ev->route_id, RULE_BOX);
	assert_int_equal(ev->client.a32[0], xt_ip4(CLIENT));
	assert_int_equal(ntohs(ev->client_port), syn.sport);
	assert_int_equal(ev->backend.a32[0], xt_ip4(SERVER));
	assert_int_equal(ntohs(ev->backend_port), 80);
	assert_int_equal(ntohs(ev->snat_port), port);
	assert_int_equal(ev->packets[0], 2);
	assert_int_equal(ev->packets[1], 2);
	assert_true(pt_connlog_format(ev, "egress:box", 0, line, sizeof(line)) > 0);
	snprintf(want, sizeof(want), "egress:box egress:box/" SERVER ":80 ");
	assert_non_null(strstr(line, want));
	snprintf(want, sizeof(want), " -- proto=tcp end=fin in=2/");
	assert_non_null(strstr(line, want));
	snprintf(want, sizeof(want), " snat=%u service=" SERVER ":80", port);
	assert_non_null(strstr(line, want));
	ring_buffer__free(rb);

	/* Idle UDP flows: the GC logs "box"'s, not "dns"'s. */
	xt_run_spec(xt.if_in, &u, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	xt_run_spec(xt.if_in, &d, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(pt_connlog_open(xt.dp, &o, &cl), 0);
	assert_int_equal(pt_connlog_counts(cl, &lines0, NULL), 0);
	short_cfg.tmo_udp = 1;
	assert_int_equal(pt_dp_set_config(xt.dp, &short_cfg), 0);
	usleep(2300 * 1000);
	assert_int_equal(pt_dp_gc(xt.dp, NULL), 0);
	assert_int_equal(pt_connlog_counts(cl, &lines, NULL), 0);
	assert_int_equal(lines - lines0, 1);
	pt_connlog_close(cl);
	assert_int_equal(pt_dp_set_config(xt.dp, &cfg), 0);
	assert_int_equal(pt_ct_flush(pt_dp_ct(xt.dp), NULL), 0);
}

/* ---- the cursor's wrap ----------------------------------------------------- */

#define WRAP_MIN	20000	/* a range of 10 ports (not a divisor of 2^32) */
#define WRAP_N		10

/* The server's answer to egress port port reaches client flow c's port. */
static void wrap_answered(const struct pkt_spec *c, uint16_t port)
{
	struct pkt_spec a = pkt_spec_ip(tn_mac_out, tn_mac_be[0], xt_ip4(SERVER), xt_ip4(VIP), TTL);
	struct xt_run r;

	a.sport = c->dport;
	a.dport = port;
	a.proto = IPPROTO_UDP;
	a.payload_len = 8;
	xt_run_spec(xt.if_out, &a, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(pkt_daddr(r.out), xt_ip4(CLIENT));
	assert_int_equal(pkt_dport(r.out), c->sport);
}

/* The egress cursor wraps, around the port range and around 2^32, into
 * ports still in use: a range of 10 filled by flows to one server (the
 * cursor started 6 short of 2^32), the 11th flow refused
 * (SNAT_EXHAUSTED); three flows of the middle deleted; the next three
 * take exactly those three ports, the one after is refused again; every
 * live flow keeps its port (the server's answer reaches its client). */
static void test_cursor_wrap(void **state)
{
	struct portier_config cfg = *pt_dp_config(xt.dp), narrow = cfg;
	int fd = bpf_map__fd(xt.skel->maps.portier_egress_cursor);
	uint64_t exh0 = xt_reason(PORTIER_R_DROP_SNAT_EXHAUSTED);
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_flow_key k, rk;
	struct pkt_spec s[WRAP_N], x;
	uint16_t port[WRAP_N], freed[3];
	const int gone[3] = { 2, 5, 8 };
	bool used[WRAP_N] = { false };
	__u32 zero = 0, cur = 0xfffffffaU;
	struct portier_flow f;
	struct xt_run r;

	(void)state;
	assert_int_equal(pt_ct_flush(ct, NULL), 0);
	narrow.snat_port_min = WRAP_MIN;
	narrow.snat_port_max = WRAP_MIN + WRAP_N - 1;
	assert_int_equal(pt_dp_set_config(xt.dp, &narrow), 0);
	assert_int_equal(bpf_map_update_elem(fd, &zero, &cur, BPF_ANY), 0);

	for (int i = 0; i < WRAP_N; i++) {
		s[i] = client_to(CLIENT, SERVER, 7000, IPPROTO_UDP, 0);
		xt_run_spec(xt.if_in, &s[i], &r);
		assert_int_equal(r.ret, XDP_REDIRECT);
		port[i] = pkt_sport(r.out);
		assert_true(port[i] >= WRAP_MIN && port[i] < WRAP_MIN + WRAP_N);
		assert_false(used[port[i] - WRAP_MIN]);
		used[port[i] - WRAP_MIN] = true;
	}
	x = client_to(CLIENT, SERVER, 7000, IPPROTO_UDP, 0);
	xt_run_spec(xt.if_in, &x, &r);
	assert_int_equal(r.ret, XDP_DROP);
	assert_int_equal(xt_reason(PORTIER_R_DROP_SNAT_EXHAUSTED) - exh0, 1);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &cur), 0);
	assert_true(cur < 0xfffffffaU);		/* past 2^32 */

	/* Three flows of the middle end (both entries deleted). */
	for (int j = 0; j < 3; j++) {
		memset(&k, 0, sizeof(k));
		k.saddr = s[gone[j]].saddr;
		k.daddr = s[gone[j]].daddr;
		k.sport = htons(s[gone[j]].sport);
		k.dport = htons(s[gone[j]].dport);
		k.proto = IPPROTO_UDP;
		assert_true(pt_ct_lookup(ct, &k, &f));
		pt_flow_key_other(&k, &f, &rk);
		assert_int_equal(pt_ct_delete(ct, &k), 0);
		assert_int_equal(pt_ct_delete(ct, &rk), 0);
		freed[j] = port[gone[j]];
		used[freed[j] - WRAP_MIN] = false;
	}
	for (int j = 0; j < 3; j++) {
		x = client_to(CLIENT, SERVER, 7000, IPPROTO_UDP, 0);
		xt_run_spec(xt.if_in, &x, &r);
		assert_int_equal(r.ret, XDP_REDIRECT);
		assert_true(pkt_sport(r.out) == freed[0] || pkt_sport(r.out) == freed[1] ||
			    pkt_sport(r.out) == freed[2]);
		assert_false(used[pkt_sport(r.out) - WRAP_MIN]);
		used[pkt_sport(r.out) - WRAP_MIN] = true;
		wrap_answered(&x, pkt_sport(r.out));
	}
	x = client_to(CLIENT, SERVER, 7000, IPPROTO_UDP, 0);
	xt_run_spec(xt.if_in, &x, &r);
	assert_int_equal(r.ret, XDP_DROP);
	assert_int_equal(xt_reason(PORTIER_R_DROP_SNAT_EXHAUSTED) - exh0, 2);
	for (int i = 0; i < WRAP_N; i++)
		if (i != gone[0] && i != gone[1] && i != gone[2])
			wrap_answered(&s[i], port[i]);

	assert_int_equal(pt_dp_set_config(xt.dp, &cfg), 0);
	assert_int_equal(pt_ct_flush(ct, NULL), 0);
}

/* ---- one allocator --------------------------------------------------------- */

/* Egress from the output NIC's address, which the kube routes' SNAT uses:
 * a route's flow to backend B holds port P; the egress cursor is set to
 * give P next; an egress flow to B's service port must take another. */
static void test_port_collision(void **state)
{
	struct pkt_spec k = xt_client_spec(80, IPPROTO_TCP, PKT_SYN), e;
	struct xt_run r;
	__u32 zero = 0, cur;
	uint16_t p, q;

	(void)state;
	assert_int_equal(apply_egress(NULL), 0);
	xt_forward(xt.if_in, &k, &r);
	p = pkt_sport(r.out);
	cur = p - PORTIER_SNAT_PORT_MIN_DEFAULT;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_egress_cursor),
					     &zero, &cur, BPF_ANY), 0);
	e = client_to(CLIENT, tn_be_addr[0], pkt_dport(r.out), IPPROTO_TCP, PKT_SYN);
	e.daddr = pkt_daddr(r.out);
	xt_run_spec(xt.if_in, &e, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(pkt_saddr(r.out), xt_ip4(TN_GW_OUT));
	q = pkt_sport(r.out);
	assert_int_not_equal(q, p);
	assert_int_equal(q, p + 1);
	assert_true(pkt_l4_csum_ok(r.out, r.out_len, false));
	assert_int_equal(apply_egress(VIP), 0);
}

/* An apply without egress turns it off: the maps emptied, a packet to the
 * internet passes unchanged, as before egress; then on again. */
static void test_off(void **state)
{
	struct pkt_spec s = client_to(CLIENT, SERVER, 80, IPPROTO_TCP, PKT_SYN);
	struct pt_route r[TN_BASE_ROUTES];
	struct portier_egress_key next;
	uint8_t in[PKT_MAX];
	struct xt_run run;
	size_t n;

	(void)state;
	tn_base_routes(r);
	assert_int_equal(tn_apply(xt.dp, r, TN_BASE_ROUTES, "test_xdp_egress"), 0);
	assert_false(pt_dp_config(xt.dp)->egress_on);
	assert_int_not_equal(bpf_map_get_next_key(bpf_map__fd(xt.skel->maps.portier_egress_src),
						  NULL, &next), 0);
	n = pkt_build(&s, in);
	xt_run(xt.if_in, in, n, &run);
	assert_int_equal(run.ret, XDP_PASS);
	assert_memory_equal(run.out, in, n);
	assert_int_equal(apply_egress(VIP), 0);
	assert_true(pt_dp_config(xt.dp)->egress_on);
	s = client_to(CLIENT, SERVER, 80, IPPROTO_TCP, PKT_SYN);
	xt_run_spec(xt.if_in, &s, &run);
	expect_out(&s, &run, xt_ip4(VIP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_udp_second_rule),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_icmp_error),
		cmocka_unit_test(test_echo_error),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_not_egress),
		cmocka_unit_test(test_routes_unchanged),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_connlog),
		cmocka_unit_test(test_cursor_wrap),
		cmocka_unit_test(test_port_collision),
		cmocka_unit_test(test_off),
	};

	return xt_run_group("test_xdp_egress", tests, setup, xt_teardown);
}
