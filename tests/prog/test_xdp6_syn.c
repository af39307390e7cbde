// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp6_syn.c - SYN cookies and the SYN proxy for IPv6 clients
 * (bpf/synproxy6.h) through BPF_PROG_TEST_RUN of portier_xdp, which
 * tail-calls portier_xdp6. The test network (testnet.h) has IPv6 on both
 * sides (client 2001:db8:1::10, gateway 2001:db8:1::1 / 2001:db8:2::1,
 * backends 2001:db8:2::11-13). The routes are written into the maps
 * directly, as test_xdp6.c does. Every frame the program makes is compared
 * byte for byte with one built here from scratch, its TCP checksum
 * computed over the IPv6 pseudo-header.
 */
#include <arpa/inet.h>
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
#include <linux/bpf.h>

#include "dataplane.h"
#include "pkt.h"
#include "portier.skel.h"
#include "testnet.h"
#include "xdptest.h"

#define CLIENT_PORT	43000
#define HOPS		64
#define R_ON		400	/* [GW_IN]:88 TCP snat, cookies on -> [::11]:30088 */
#define R_AUTO		401	/* [GW_IN]:89 TCP snat, cookies auto -> [::12]:30089 */
#define BID_ON		61000
#define BID_AUTO	61001
#define SYN_MSS6	(PORTIER_SYN_MSS_DEFAULT - 20)	/* the IPv6 header's 20 more bytes */

/* ---- routes ------------------------------------------------------------ */

/* Route rid: [TN6_GW_IN]:port TCP with route flags, to backend
 * [be]:be_port (id bid). */
static void put_route(__u32 rid, uint16_t port, __u32 flags, __u32 bid, const char *be,
		      uint16_t be_port)
{
	struct portier_route *rt = calloc(1, sizeof(*rt));
	struct portier_svc_key k = { .port = htons(port), .proto = IPPROTO_TCP,
				     .family = PORTIER_AF_INET6 };
	struct portier_svc sv = { .route_id = rid };
	struct portier_backend b = { 0 };

	assert_non_null(rt);
	assert_true(pkt6_addr(be, b.addr.a8));
	b.family = PORTIER_AF_INET6;
	b.port = htons(be_port);
	b.flags = PORTIER_BACKEND_F_USED;
	b.route_id = rid;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_backends), &bid,
					     &b, BPF_ANY), 0);
	rt->flags = flags;
	rt->n_active = 1;
	rt->active[0] = bid;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_routes), &rid, rt,
					     BPF_ANY), 0);
	free(rt);
	assert_true(pkt6_addr(TN6_GW_IN, k.addr.a8));
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_services), &k, &sv,
					     BPF_ANY), 0);
	assert_int_equal(xt_port_bits(port, PORTIER_PORT_SVC_TCP), 0);
	assert_int_equal(xt_port_bits(be_port, PORTIER_PORT_BE_TCP), 0);
}

static int setup(void **state)
{
	(void)state;
	if (xt_open("test_xdp6_syn", CLIENT_PORT, 2, xt_edit6))
		return -1;
	put_route(R_ON, 88, PORTIER_ROUTE_F_COOKIES_ON, BID_ON, "2001:db8:2::11", 30088);
	put_route(R_AUTO, 89, PORTIER_ROUTE_F_COOKIES_AUTO, BID_AUTO, "2001:db8:2::12", 30089);
	return 0;
}

/* ---- segments ------------------------------------------------------------ */

/* One side of a TCP/IPv6 conversation: the frame's MACs, addresses, ports
 * (host order) and hop limit. */
struct side6 {
	uint8_t dmac[6], smac[6], saddr[16], daddr[16];
	uint16_t sport, dport;
	uint8_t hops;
};

/* A TCP/IPv6 segment of s into f (PKT_MAX bytes): optlen bytes of options
 * opt (a multiple of 4), paylen bytes of payload (byte i is i + 1), TCP
 * checksum from scratch. Its length. */
static size_t seg6(const struct side6 *s, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		   const uint8_t *opt, size_t optlen, size_t paylen, uint8_t *f)
{
	size_t tl = 20 + optlen + paylen, n = PKT_ETH_LEN + PKT_IP6_LEN + tl;
	uint8_t *t = f + PKT6_L4;

	memset(f, 0, n);
	memcpy(f, s->dmac, 6);
	memcpy(f + 6, s->smac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[18] = tl >> 8;
	f[19] = tl;
	f[20] = IPPROTO_TCP;
	f[21] = s->hops;
	memcpy(f + PKT6_SADDR, s->saddr, 16);
	memcpy(f + PKT6_DADDR, s->daddr, 16);
	t[0] = s->sport >> 8;
	t[1] = s->sport;
	t[2] = s->dport >> 8;
	t[3] = s->dport;
	pkt_put32(t + 4, seq);
	pkt_put32(t + 8, ack);
	t[12] = ((20 + optlen) / 4) << 4;
	t[13] = flags;
	t[14] = win >> 8;
	t[15] = win;
	memcpy(t + 20, opt, optlen);
	for (size_t i = 0; i < paylen; i++)
		t[20 + optlen + i] = i + 1;
	pkt6_l4_csum_fix(f, n);
	return n;
}

/* The client, from a fresh port, to [TN6_GW_IN]:dport. */
static struct side6 client(uint16_t dport)
{
	struct side6 s = { .sport = xt.next_port++, .dport = dport, .hops = HOPS };

	memcpy(s.dmac, tn_mac_in, 6);
	memcpy(s.smac, tn_mac_client, 6);
	assert_true(pkt6_addr(TN6_CLIENT, s.saddr));
	assert_true(pkt6_addr(TN6_GW_IN, s.daddr));
	return s;
}

/* c as the gateway answers it (addresses, ports and MACs swapped), hop
 * limit hops. */
static struct side6 back_to(const struct side6 *c, uint8_t hops)
{
	struct side6 s = { .sport = c->dport, .dport = c->sport, .hops = hops };

	memcpy(s.dmac, c->smac, 6);
	memcpy(s.smac, c->dmac, 6);
	memcpy(s.saddr, c->daddr, 16);
	memcpy(s.daddr, c->saddr, 16);
	return s;
}

/* The gateway to backend [be]:be_port (tn6_be_addr index i) from the NAT66
 * address and port snat, hop limit hops. */
static struct side6 to_backend(int i, uint16_t be_port, uint16_t snat, uint8_t hops)
{
	struct side6 s = { .sport = snat, .dport = be_port, .hops = hops };

	memcpy(s.dmac, tn_mac_be[i], 6);
	memcpy(s.smac, tn_mac_out, 6);
	assert_true(pkt6_addr(TN6_GW_OUT, s.saddr));
	assert_true(pkt6_addr(tn6_be_addr[i], s.daddr));
	return s;
}

/* Run frame f (n bytes) on ifindex: action ret. */
static void run(int ifindex, const uint8_t *f, size_t n, int ret, struct xt_run *r)
{
	xt_run(ifindex, f, n, r);
	assert_int_equal(r->ret, ret);
}

/* r's frame must be s's segment byte for byte. */
static void expect_seg(const struct xt_run *r, const struct side6 *s, uint32_t seq, uint32_t ack,
		       uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen,
		       size_t paylen)
{
	uint8_t want[PKT_MAX];
	size_t n = seg6(s, seq, ack, flags, win, opt, optlen, paylen, want);

	assert_int_equal(r->out_len, n);
	assert_memory_equal(r->out, want, n);
	assert_true(pkt6_l4_csum_ok(r->out, r->out_len));
}

/* The 20 bytes of options portier writes: MSS (0: none), SACK-permitted,
 * timestamps, NOP, window scale (ws < 0: none), NOPs for what is absent. */
static void sp_opts(uint8_t o[20], uint16_t mss, bool sack, bool ts, uint32_t tsval,
		    uint32_t tsecr, int ws)
{
	memset(o, 1, 20);
	if (mss) {
		o[0] = 2;
		o[1] = 4;
		o[2] = mss >> 8;
		o[3] = mss;
	}
	if (sack) {
		o[4] = 4;
		o[5] = 2;
	}
	if (ts) {
		o[6] = 8;
		o[7] = 10;
		pkt_put32(o + 8, tsval);
		pkt_put32(o + 12, tsecr);
	}
	if (ws >= 0) {
		o[17] = 3;
		o[18] = 3;
		o[19] = ws;
	}
}

/* NOP, NOP, timestamps. */
static void ts_opts(uint8_t o[12], uint32_t tsval, uint32_t tsecr)
{
	o[0] = o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	pkt_put32(o + 4, tsval);
	pkt_put32(o + 8, tsecr);
}

/* Client c's SYN (ISN isn, window 65535, optlen bytes of options opt)
 * answered with a cookie SYN-ACK (XDP_TX, in *r): the cookie. */
static uint32_t cookie_of(const struct side6 *c, uint32_t isn, const uint8_t *opt, size_t optlen,
			  struct xt_run *r)
{
	uint8_t f[PKT_MAX];

	run(xt.if_in, f, seg6(c, isn, 0, PKT_SYN, 65535, opt, optlen, 0, f), XDP_TX, r);
	return pkt_get32(r->out + PKT6_L4 + 4);
}

/* r's frame is the client's SYN with ISN isn, no timestamps, window
 * 65535, to the route's backend (NAT66): MSS 1220, the MSS of a client
 * whose own is not known. */
static void expect_syn_1220(const struct xt_run *r, uint32_t isn)
{
	struct side6 be = to_backend(0, 30088, pkt_get16(r->out + PKT6_L4), HOPS - 1);
	uint8_t o[20];

	sp_opts(o, 1220, false, false, 0, 0, -1);
	expect_seg(r, &be, isn, 0, PKT_SYN, 65535, o, 20, 0);
}

/* ---- tests --------------------------------------------------------------- */

/* The whole handshake of an IPv6 client through the SYN proxy: its SYN
 * gets a cookie SYN-ACK (XDP_TX, window 0, MSS 1440, its options echoed
 * and encoded in our timestamp); an ACK with a wrong cookie is passed and
 * counted; the right one opens the flow and becomes the client's SYN to
 * the backend (NAT66); the backend's SYN-ACK becomes the ACK that opens
 * the client's window, in its sequence space; data both ways is
 * translated; a retransmitted SYN-ACK is answered by portier. */
static void test_handshake(void **state)
{
	/* MSS 1440, SACK permitted, timestamps (1000), NOP, window scale 7. */
	static const uint8_t syn_opt[20] = { 2, 4, 0x05, 0xa0, 4, 2, 8, 10, 0, 0, 0x03, 0xe8,
					     0, 0, 0, 0, 1, 3, 3, 7 };
	__u32 rid = R_ON;
	uint64_t sent = xt_reason(PORTIER_R_SYN_COOKIE_SENT);
	uint64_t valid = xt_reason(PORTIER_R_SYN_COOKIE_VALID);
	uint64_t failed = xt_reason(PORTIER_R_SYN_COOKIE_FAILED);
	uint64_t b_ack = xt_reason(PORTIER_R_SYNPROXY_BACKEND_ACK);
	uint32_t isn = 0x10000000, b_isn = 0x50000000, cookie, our_ts;
	struct side6 c = client(88), gw = back_to(&c, 64), be, be_in, to_c;
	struct portier_syn_guard g[xt.ncpu];
	uint8_t f[PKT_MAX], o[20], ts[12], in[PKT_MAX];
	uint64_t g_sent = 0, g_valid = 0, g_failed = 0;
	struct xt_run r;
	uint16_t snat;
	size_t n;

	(void)state;
	n = seg6(&c, isn, 0, PKT_SYN, 64240, syn_opt, 20, 0, f);
	run(xt.if_in, f, n, XDP_TX, &r);
	assert_int_equal(r.out_len, PKT_ETH_LEN + PKT_IP6_LEN + 40);
	cookie = pkt_get32(r.out + PKT6_L4 + 4);
	our_ts = pkt_get32(r.out + PKT6_L4 + 28);
	/* The timestamp's low byte: window scale 7, SACK, MSS index 2 (1440). */
	assert_int_equal(our_ts & 0xff, 7 | 1 << 4 | 2 << 6);
	sp_opts(o, SYN_MSS6, true, true, our_ts, 1000, PORTIER_SYN_WSCALE_DEFAULT);
	expect_seg(&r, &gw, cookie, isn + 1, PKT_SYN | PKT_ACK, 0, o, 20, 0);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_SENT), sent + 1);

	/* A wrong cookie (its counter 16 minutes off: neither the ACK's nor
	 * a probe's): passed untouched, counted. */
	ts_opts(ts, 1001, our_ts);
	n = seg6(&c, isn + 1, cookie + 1 + 0x10000000, PKT_ACK, 502, ts, 12, 0, f);
	memcpy(in, f, n);
	run(xt.if_in, f, n, XDP_PASS, &r);
	assert_memory_equal(r.out, in, n);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED), failed + 1);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid);

	/* The right cookie: the client's SYN to the backend, as it sent it
	 * (ISN, MSS, SACK, its timestamp, window scale 7; its window
	 * unscaled: 502 << 7). */
	n = seg6(&c, isn + 1, cookie + 1, PKT_ACK, 502, ts, 12, 0, f);
	run(xt.if_in, f, n, XDP_REDIRECT, &r);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid + 1);
	snat = pkt_get16(r.out + PKT6_L4);
	be = to_backend(0, 30088, snat, HOPS - 1);
	sp_opts(o, 1440, true, true, 1001, 0, 7);
	expect_seg(&r, &be, isn, 0, PKT_SYN, 502 << 7, o, 20, 0);

	/* The same ACK again: the flow is there, its handshake pending. */
	n = seg6(&c, isn + 1, cookie + 1, PKT_ACK, 502, ts, 12, 0, f);
	run(xt.if_in, f, n, XDP_DROP, &r);

	/* The backend's SYN-ACK (window scale 9): the ACK that opens the
	 * client's window, in the client's sequence space. */
	be_in = back_to(&be, HOPS);
	sp_opts(o, 1440, true, true, 777, 1001, 9);
	n = seg6(&be_in, b_isn, isn + 1, PKT_SYN | PKT_ACK, 64000, o, 20, 0, f);
	run(xt.if_out, f, n, XDP_REDIRECT, &r);
	to_c = back_to(&c, HOPS - 1);
	sp_opts(o, 0, false, true, our_ts, 1001, -1);
	expect_seg(&r, &to_c, cookie + 1, isn + 1, PKT_ACK, 64000 >> PORTIER_SYN_WSCALE_DEFAULT, o,
		   20, 0);

	/* The backend sends its SYN-ACK again: portier answers with the
	 * client's ACK, back to the backend. */
	sp_opts(o, 1440, true, true, 780, 1001, 9);
	n = seg6(&be_in, b_isn, isn + 1, PKT_SYN | PKT_ACK, 64000, o, 20, 0, f);
	run(xt.if_out, f, n, XDP_TX, &r);
	{
		struct side6 ack = back_to(&be_in, 64);

		sp_opts(o, 0, false, true, 1001, 780, -1);
		expect_seg(&r, &ack, isn + 1, b_isn + 1, PKT_ACK, 502, o, 20, 0);
	}
	assert_int_equal(xt_reason(PORTIER_R_SYNPROXY_BACKEND_ACK), b_ack + 1);

	/* Client data: acknowledgment and timestamp echo into the backend's
	 * space. */
	ts_opts(ts, 1002, our_ts);
	n = seg6(&c, isn + 1, cookie + 1, PKT_ACK | PKT_PSH, 502, ts, 12, 10, f);
	run(xt.if_in, f, n, XDP_REDIRECT, &r);
	ts_opts(ts, 1002, 777);
	expect_seg(&r, &be, isn + 1, b_isn + 1, PKT_ACK | PKT_PSH, 502, ts, 12, 10);

	/* Backend data: sequence number, timestamp and window into the
	 * client's. */
	ts_opts(ts, 778, 1002);
	n = seg6(&be_in, b_isn + 1, isn + 11, PKT_ACK | PKT_PSH, 100, ts, 12, 20, f);
	run(xt.if_out, f, n, XDP_REDIRECT, &r);
	ts_opts(ts, 778 + (our_ts - 777), 1002);
	expect_seg(&r, &to_c, cookie + 1, isn + 11, PKT_ACK | PKT_PSH,
		   (100 << 9) >> PORTIER_SYN_WSCALE_DEFAULT, ts, 12, 20);

	/* The route's counters. */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_syn_guard), &rid,
					     g), 0);
	for (int i = 0; i < xt.ncpu; i++) {
		g_sent += g[i].cookies_sent;
		g_valid += g[i].cookies_valid;
		g_failed += g[i].cookies_failed;
	}
	assert_int_equal(g_sent, 1);
	assert_int_equal(g_valid, 1);
	assert_int_equal(g_failed, 1);
}

/* A SYN with no options: the cookie SYN-ACK offers MSS 1440 and nothing
 * else; its ACK opens the flow with the SYN an IPv6 path always carries
 * (MSS 1220), no timestamps, its window as is. A corrupted ACK (bad TCP
 * checksum) opens nothing. */
static void test_no_options(void **state)
{
	uint8_t f[PKT_MAX], o[20];
	uint32_t isn = 0x20000000, cookie;
	struct side6 c = client(88), gw = back_to(&c, 64);
	uint64_t bad = xt_reason(PORTIER_R_DROP_BAD_CSUM);
	struct xt_run r;
	size_t n;

	(void)state;
	cookie = cookie_of(&c, isn, NULL, 0, &r);
	sp_opts(o, SYN_MSS6, false, false, 0, 0, -1);
	expect_seg(&r, &gw, cookie, isn + 1, PKT_SYN | PKT_ACK, 0, o, 20, 0);

	n = seg6(&c, isn + 1, cookie + 1, PKT_ACK, 65535, NULL, 0, 0, f);
	f[PKT6_L4 + 16] ^= 0x55;
	run(xt.if_in, f, n, XDP_DROP, &r);
	assert_int_equal(xt_reason(PORTIER_R_DROP_BAD_CSUM), bad + 1);

	n = seg6(&c, isn + 1, cookie + 1, PKT_ACK, 65535, NULL, 0, 0, f);
	run(xt.if_in, f, n, XDP_REDIRECT, &r);
	expect_syn_1220(&r, isn);
}

/* The client's ACK is lost: its zero-window probe (sequence number its
 * ISN, the cookie's acknowledgment) opens the flow, the SYN with its ISN,
 * not ISN - 1. Its SYN offers MSS 1440, the usual IPv6 one (the kernel's
 * cookie would name index 2 of its table, and the probe read as an ACK
 * would pass with index 3: synproxy6.h's syn_cookie_gen6). A probe one
 * further below is no cookie: passed, counted. */
static void test_probe(void **state)
{
	static const uint8_t mss_opt[4] = { 2, 4, 1440 >> 8, 1440 & 0xff };
	uint64_t failed = xt_reason(PORTIER_R_SYN_COOKIE_FAILED);
	uint8_t f[PKT_MAX];
	uint32_t isn = 0x30000000, cookie;
	struct side6 c = client(88);
	uint64_t valid = xt_reason(PORTIER_R_SYN_COOKIE_VALID);
	struct xt_run r;
	size_t n;

	(void)state;
	cookie = cookie_of(&c, isn, mss_opt, 4, &r);
	n = seg6(&c, isn - 1, cookie + 1, PKT_ACK, 65535, NULL, 0, 0, f);
	run(xt.if_in, f, n, XDP_PASS, &r);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED), failed + 1);
	n = seg6(&c, isn, cookie + 1, PKT_ACK, 65535, NULL, 0, 0, f);
	run(xt.if_in, f, n, XDP_REDIRECT, &r);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_VALID), valid + 1);
	expect_syn_1220(&r, isn);
}

/* "auto": below the rate SYNs make flows; past it in this CPU's window,
 * cookies; the window and hold over (written here), flows again. */
static void test_auto(void **state)
{
	const __u32 rate = 5;
	__u32 rid = R_AUTO;
	int guard_fd = bpf_map__fd(xt.skel->maps.portier_syn_guard);
	struct portier_syn_guard g[xt.ncpu];
	struct portier_config saved;
	uint8_t f[PKT_MAX];
	struct xt_run r;
	size_t n;

	(void)state;
	assert_int_equal(xt_syn_rate_begin(rate, &saved), 0);
	for (__u32 i = 1; i <= rate + 3; i++) {
		struct side6 c = client(89);

		n = seg6(&c, 1000 * i, 0, PKT_SYN, 65535, NULL, 0, 0, f);
		run(xt.if_in, f, n, i <= rate ? XDP_REDIRECT : XDP_TX, &r);
	}
	memset(g, 0, sizeof(g));
	assert_int_equal(bpf_map_update_elem(guard_fd, &rid, g, BPF_ANY), 0);
	{
		struct side6 c = client(89);

		n = seg6(&c, 1, 0, PKT_SYN, 65535, NULL, 0, 0, f);
		run(xt.if_in, f, n, XDP_REDIRECT, &r);
	}
	assert_int_equal(xt_syn_rate_end(&saved), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_no_options),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_auto),
	};

	return xt_run_group("test_xdp6_syn", tests, setup, xt_teardown);
}
