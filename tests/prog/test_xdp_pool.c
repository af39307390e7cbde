// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_pool.c - the active-active pool through BPF_PROG_TEST_RUN: a
 * mid-stream ACK with no flow on a maglev dnat route goes to the table's
 * backend (the one a SYN of the same tuple takes), every byte and
 * checksum checked from scratch, and recreates both entries of its flow,
 * not ASSURED until the client answers a reply; the same ACK on a snat or
 * a round-robin route, a RST, and an ACK under SYN cookies "on" create
 * nothing; a backend's reply with no flow is rewritten to its route's
 * service and forwarded with no state made; portier_reply_svc follows
 * the routes; a backend of two dnat routes with different services is
 * refused (apply and route add), nothing written. Needs root.
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

#include "ct_table.h"
#include "dataplane.h"
#include "maglev.h"
#include "pkt.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define PORT_MAG	101	/* maglev dnat, cookies "auto" */
#define PORT_SNAT	102	/* maglev snat */
#define PORT_RR		103	/* round-robin dnat */
#define PORT_COOKIE	104	/* maglev dnat, cookies "on" */
#define BE_MAG		31101
#define BE_SNAT		31102
#define BE_RR		31103
#define BE_COOKIE	31104
#define ALT_SVC		"198.51.100.2"	/* another service address, for clashes */

#define THREE(port) { { "203.0.113.11", port, false }, { "203.0.113.12", port, false }, \
		      { "203.0.113.13", port, false } }
static const struct tn_be be_mag[] = THREE(BE_MAG);
static const struct tn_be be_snat[] = THREE(BE_SNAT);
static const struct tn_be be_rr[] = THREE(BE_RR);
static const struct tn_be be_cookie[] = THREE(BE_COOKIE);

#define N_ROUTES	4

/* The route set: "pmag", "psnat", "prr", "pcookie" (see the ports). */
static void routes(struct pt_route *r)
{
	tn_route(&r[0], "pmag", TN_GW_IN, PORT_MAG, IPPROTO_TCP, PT_NAT_DNAT, be_mag, 3);
	r[0].balance = PT_BALANCE_MAGLEV;
	r[0].table_size = PT_MAGLEV_SIZE_DEFAULT;
	r[0].syn_cookies = PT_SYN_COOKIES_AUTO;
	tn_route(&r[1], "psnat", TN_GW_IN, PORT_SNAT, IPPROTO_TCP, PT_NAT_SNAT, be_snat, 3);
	r[1].balance = PT_BALANCE_MAGLEV;
	r[1].table_size = PT_MAGLEV_SIZE_DEFAULT;
	tn_route(&r[2], "prr", TN_GW_IN, PORT_RR, IPPROTO_TCP, PT_NAT_DNAT, be_rr, 3);
	tn_route(&r[3], "pcookie", TN_GW_IN, PORT_COOKIE, IPPROTO_TCP, PT_NAT_DNAT, be_cookie, 3);
	r[3].balance = PT_BALANCE_MAGLEV;
	r[3].table_size = PT_MAGLEV_SIZE_DEFAULT;
	r[3].syn_cookies = PT_SYN_COOKIES_ON;
}

static int setup(void **state)
{
	struct pt_route r[N_ROUTES];

	(void)state;
	if (xt_open("test_xdp_pool", 42000, 1, NULL))
		return -1;
	routes(r);
	return tn_apply(xt.dp, r, N_ROUTES, "test_xdp_pool") ? -1 : 0;
}

static __u32 route_id(const char *name)
{
	int id = pt_dp_route_id(xt.dp, name);

	assert_true(id >= 0);
	return (__u32)id;
}

static struct portier_route_ha ha(const char *route)
{
	struct portier_route_ha h;

	assert_int_equal(pt_route_ha_sum(xt.skel, route_id(route), &h), 0);
	return h;
}

/* The connection-table key of a packet as it arrives. */
static struct portier_flow_key key_of(const struct pkt_spec *s)
{
	struct portier_flow_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = s->saddr;
	k.daddr = s->daddr;
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	return k;
}

static bool has_entry(const struct pkt_spec *s, struct portier_flow *f)
{
	struct portier_flow_key k = key_of(s);

	return pt_ct_lookup(pt_dp_ct(xt.dp), &k, f);
}

/* A client segment with data (ACK, PSH) to port, from a fresh port. */
static struct pkt_spec mid_stream(uint16_t port)
{
	struct pkt_spec s = xt_client_spec(port, IPPROTO_TCP, PKT_ACK | PKT_PSH);

	s.payload_len = 32;
	s.payload_seed = 0x33;
	return s;
}

/* Run s on ifindex: it must come out unchanged with action ret. */
static void expect_untouched(int ifindex, const struct pkt_spec *s, int ret)
{
	uint8_t in[PKT_MAX];
	size_t n = pkt_build(s, in);
	struct xt_run r;

	xt_run(ifindex, in, n, &r);
	assert_int_equal(r.ret, ret);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, in, n);
}

/* s as backend i (port be_port) receives it from the gateway (dnat: the
 * client's address stays). */
static struct pkt_spec dnat_expect(const struct pkt_spec *s, int i, uint16_t be_port)
{
	struct pkt_spec e = *s;

	memcpy(e.dmac, tn_mac_be[i], 6);
	memcpy(e.smac, tn_mac_out, 6);
	e.daddr = tn_ip4(tn_be_addr[i]);
	e.dport = be_port;
	e.ttl = s->ttl - 1;
	return e;
}

/* A backend's reply rs as the client receives it from service port. */
static struct pkt_spec client_expect(const struct pkt_spec *rs, uint16_t port)
{
	struct pkt_spec e = *rs;

	memcpy(e.dmac, tn_mac_client, 6);
	memcpy(e.smac, tn_mac_in, 6);
	e.saddr = tn_ip4(TN_GW_IN);
	e.sport = port;
	e.ttl = rs->ttl - 1;
	return e;
}

/* Delete both entries of the flow of client packet s (as a flush or an
 * eviction would). */
static void forget(const struct pkt_spec *s)
{
	struct portier_flow_key k = key_of(s), rk;
	struct portier_flow f;

	assert_true(pt_ct_lookup(pt_dp_ct(xt.dp), &k, &f));
	pt_flow_key_other(&k, &f, &rk);
	assert_int_equal(pt_ct_delete(pt_dp_ct(xt.dp), &rk), 0);
	assert_int_equal(pt_ct_delete(pt_dp_ct(xt.dp), &k), 0);
	assert_false(pt_ct_lookup(pt_dp_ct(xt.dp), &k, NULL));
}

/* ---- flows recreated -------------------------------------------------- */

/* A mid-stream segment of a flow this gateway never saw goes to the
 * table's backend: the one the same tuple's SYN takes (checked after the
 * flow is forgotten), byte for byte; both entries exist, with no state bit
 * until the backend's reply (SEEN_REPLY) and the client's next segment
 * (ASSURED); counted once. */
static void test_recreate_maglev(void **state)
{
	struct pkt_spec s = mid_stream(PORT_MAG), e, rs, syn;
	struct portier_route_ha h0 = ha("pmag"), h1;
	uint64_t rec0 = xt_reason(PORTIER_R_FLOW_RECREATED);
	uint64_t nf0 = xt_reason(PORTIER_R_PASS_NO_FLOW);
	uint64_t sl0 = xt_reason(PORTIER_R_STATELESS_REPLY);
	struct portier_flow f, rf;
	struct portier_flow_key k, rk;
	struct xt_run r;
	uint8_t in[PKT_MAX];
	int be;

	(void)state;
	xt_run(xt.if_in, in, pkt_build(&s, in), &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	be = xt_be_index(pkt_daddr(r.out));
	assert_true(be >= 0);
	e = dnat_expect(&s, be, BE_MAG);
	xt_expect_out(&r, &e, false);
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED) - rec0, 1);
	assert_int_equal(xt_reason(PORTIER_R_PASS_NO_FLOW), nf0);
	h1 = ha("pmag");
	assert_int_equal(h1.recreated - h0.recreated, 1);
	assert_int_equal(h1.stateless_replies, h0.stateless_replies);

	/* Both entries, the original to the backend, the reply back. */
	k = key_of(&s);
	assert_true(pt_ct_lookup(pt_dp_ct(xt.dp), &k, &f));
	assert_int_equal(f.dir, PORTIER_FLOW_DIR_ORIG);
	assert_int_equal(f.nat_daddr, tn_ip4(tn_be_addr[be]));
	assert_int_equal(f.nat_dport, htons(BE_MAG));
	assert_int_equal(f.nat_saddr, s.saddr);	/* dnat: the client's */
	assert_int_equal(f.flags, 0);
	pt_flow_key_other(&k, &f, &rk);
	assert_true(pt_ct_lookup(pt_dp_ct(xt.dp), &rk, &rf));
	assert_int_equal(rf.dir, PORTIER_FLOW_DIR_REPLY);
	assert_int_equal(rf.flags, 0);

	/* The backend's reply goes back by the flow (not statelessly)... */
	rs = xt_reply_spec(r.out, PKT_ACK);
	e = client_expect(&rs, PORT_MAG);
	xt_run_expect(xt.if_out, &rs, XDP_REDIRECT, &e, &r);
	assert_int_equal(xt_reason(PORTIER_R_STATELESS_REPLY), sl0);
	assert_true(pt_ct_lookup(pt_dp_ct(xt.dp), &k, &f));
	assert_int_equal(f.flags, PORTIER_FLOW_F_SEEN_REPLY);
	/* ... and the client's next segment makes the flow ASSURED. */
	xt_forward(xt.if_in, &s, &r);
	assert_true(pt_ct_lookup(pt_dp_ct(xt.dp), &k, &f));
	assert_int_equal(f.flags, PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED);
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED) - rec0, 1);

	/* The table's backend: a SYN of the same tuple, with no flow, takes
	 * the same one. */
	forget(&s);
	syn = s;
	syn.tcp_flags = PKT_SYN;
	syn.payload_len = 0;
	xt_run_spec(xt.if_in, &syn, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	assert_int_equal(xt_be_index(pkt_daddr(r.out)), be);
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED) - rec0, 1);
}

/* A pure ACK (no data) on the "auto" cookie route, cookies off at this
 * moment: not a valid cookie, so it recreates its flow. */
static void test_recreate_pure_ack(void **state)
{
	struct pkt_spec s = xt_client_spec(PORT_MAG, IPPROTO_TCP, PKT_ACK), e;
	uint64_t rec0 = xt_reason(PORTIER_R_FLOW_RECREATED);
	uint64_t cf0 = xt_reason(PORTIER_R_SYN_COOKIE_FAILED);
	struct xt_run r;
	int be;

	(void)state;
	xt_run_spec(xt.if_in, &s, &r);
	assert_int_equal(r.ret, XDP_REDIRECT);
	be = xt_be_index(pkt_daddr(r.out));
	assert_true(be >= 0);
	e = dnat_expect(&s, be, BE_MAG);
	xt_expect_out(&r, &e, false);
	assert_true(has_entry(&s, NULL));
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED) - rec0, 1);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED), cf0);
}

/* What recreates nothing: a RST on the maglev dnat route; an ACK on the
 * maglev snat route (its flow's port is another gateway's) and on the
 * round-robin route (no gateway knows its backend): passed untouched,
 * counted as no flow, no entry made. */
static void test_no_recreate(void **state)
{
	static const struct {
		uint16_t port;
		uint8_t flags;
	} cases[] = {
		{ PORT_MAG, PKT_RST },
		{ PORT_MAG, PKT_RST | PKT_ACK },
		{ PORT_SNAT, PKT_ACK | PKT_PSH },
		{ PORT_RR, PKT_ACK | PKT_PSH },
	};
	uint64_t rec0 = xt_reason(PORTIER_R_FLOW_RECREATED);
	struct portier_route_ha hs = ha("psnat"), hr = ha("prr"), h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_spec s = mid_stream(cases[i].port);
		uint64_t nf0 = xt_reason(PORTIER_R_PASS_NO_FLOW);

		s.tcp_flags = cases[i].flags;
		expect_untouched(xt.if_in, &s, XDP_PASS);
		assert_int_equal(xt_reason(PORTIER_R_PASS_NO_FLOW) - nf0, 1);
		assert_false(has_entry(&s, NULL));
	}
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED), rec0);
	h = ha("psnat");
	assert_int_equal(h.recreated, hs.recreated);
	h = ha("prr");
	assert_int_equal(h.recreated, hr.recreated);
}

/* SYN cookies "on": an ACK with no flow is checked as a cookie, as before
 * (a synproxied flow's translation is its gateway's; no state for an
 * unverified ACK under a flood): a bad one passes, nothing recreated. */
static void test_cookies_on_checks(void **state)
{
	struct pkt_spec s = xt_client_spec(PORT_COOKIE, IPPROTO_TCP, PKT_ACK);
	uint64_t rec0 = xt_reason(PORTIER_R_FLOW_RECREATED);
	uint64_t cf0 = xt_reason(PORTIER_R_SYN_COOKIE_FAILED);

	(void)state;
	expect_untouched(xt.if_in, &s, XDP_PASS);
	assert_int_equal(xt_reason(PORTIER_R_SYN_COOKIE_FAILED) - cf0, 1);
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED), rec0);
	assert_false(has_entry(&s, NULL));
}

/* ---- stateless replies -------------------------------------------------- */

/* A backend's reply with no flow (another gateway made it): rewritten to
 * the service's address and port, forwarded to the client, every byte
 * and checksum checked; no entry made; counted on the route and on the
 * backend's reply counters. */
static void test_stateless_reply(void **state)
{
	struct pkt_spec rs, e;
	struct portier_route_ha h0 = ha("pmag"), h1;
	uint64_t sl0 = xt_reason(PORTIER_R_STATELESS_REPLY);
	uint64_t fw0 = xt_reason(PORTIER_R_FWD_REDIRECT);
	struct pt_addr a = tn_addr(tn_be_addr[2]);
	int be_id = pt_dp_backend_id(xt.dp, "pmag", &a, BE_MAG);
	struct portier_stats b0, b1;
	struct portier_flow_key rk, ok;
	struct xt_run r;

	(void)state;
	assert_true(be_id >= 0);
	b0 = xt_stats(xt.skel->maps.portier_backend_stats, (__u32)be_id);
	rs = pkt_spec_ip(tn_mac_out, tn_mac_be[2], tn_ip4(tn_be_addr[2]), tn_ip4(TN_CLIENT),
			 XT_TTL);
	rs.proto = IPPROTO_TCP;
	rs.sport = BE_MAG;
	rs.dport = 45678;
	rs.tcp_flags = PKT_ACK | PKT_PSH;
	rs.ip_id = 0x5151;
	rs.payload_len = 40;
	rs.payload_seed = 0x77;
	e = client_expect(&rs, PORT_MAG);
	xt_run_expect(xt.if_out, &rs, XDP_REDIRECT, &e, &r);

	assert_int_equal(xt_reason(PORTIER_R_STATELESS_REPLY) - sl0, 1);
	assert_int_equal(xt_reason(PORTIER_R_FWD_REDIRECT) - fw0, 1);
	h1 = ha("pmag");
	assert_int_equal(h1.stateless_replies - h0.stateless_replies, 1);
	assert_int_equal(h1.recreated, h0.recreated);
	b1 = xt_stats(xt.skel->maps.portier_backend_stats, (__u32)be_id);
	assert_int_equal(b1.packets[PORTIER_FLOW_DIR_REPLY] - b0.packets[PORTIER_FLOW_DIR_REPLY],
			 1);
	assert_int_equal(b1.flows, b0.flows);
	/* No state: neither the reply's key nor the client's. */
	rk = key_of(&rs);
	assert_false(pt_ct_lookup(pt_dp_ct(xt.dp), &rk, NULL));
	ok = key_of(&e);
	ok.saddr = e.daddr;
	ok.daddr = e.saddr;
	ok.sport = htons(e.dport);
	ok.dport = htons(e.sport);
	assert_false(pt_ct_lookup(pt_dp_ct(xt.dp), &ok, NULL));

	/* A round-robin dnat route's backend too: its replies are the same. */
	rs.saddr = tn_ip4(tn_be_addr[0]);
	memcpy(rs.smac, tn_mac_be[0], 6);
	rs.sport = BE_RR;
	e = client_expect(&rs, PORT_RR);
	xt_run_expect(xt.if_out, &rs, XDP_REDIRECT, &e, &r);
	assert_int_equal(xt_reason(PORTIER_R_STATELESS_REPLY) - sl0, 2);
}

/* What stays untouched: a dnat backend's answer to the gateway itself
 * (a health check's), a snat backend's reply with no flow, and the
 * replies of a route with SYN cookies "on" (every flow of it is the SYN
 * proxy's). */
static void test_stateless_reply_not(void **state)
{
	static const struct {
		uint16_t port;
		const char *to;
	} cases[] = {
		{ BE_MAG, TN_GW_OUT },
		{ BE_SNAT, TN_GW_OUT },
		{ BE_SNAT, TN_CLIENT },
		{ BE_COOKIE, TN_CLIENT },
	};
	uint64_t sl0 = xt_reason(PORTIER_R_STATELESS_REPLY);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_spec rs = pkt_spec_ip(tn_mac_out, tn_mac_be[1], tn_ip4(tn_be_addr[1]),
						 tn_ip4(cases[i].to), XT_TTL);
		uint64_t nf0 = xt_reason(PORTIER_R_PASS_NO_FLOW);

		rs.proto = IPPROTO_TCP;
		rs.sport = cases[i].port;
		rs.dport = 16500;
		rs.tcp_flags = PKT_ACK;
		expect_untouched(xt.if_out, &rs, XDP_PASS);
		assert_int_equal(xt_reason(PORTIER_R_PASS_NO_FLOW) - nf0, 1);
	}
	assert_int_equal(xt_reason(PORTIER_R_STATELESS_REPLY), sl0);
}

/* ---- portier_reply_svc follows the routes --------------------------------- */

/* The entry of backend i (port), or false. */
static bool reply_svc(int i, uint16_t port, struct portier_reply_svc *v)
{
	struct portier_reply_key k;

	memset(&k, 0, sizeof(k));
	k.addr.a32[0] = tn_ip4(tn_be_addr[i]);
	k.port = htons(port);
	k.proto = IPPROTO_TCP;
	k.family = PORTIER_AF_INET;
	return !bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_reply_svc), &k, v);
}

static size_t reply_svc_count(void)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_reply_svc);
	struct portier_reply_key k, next;
	size_t n = 0;

	for (int r = bpf_map_get_next_key(fd, NULL, &next); !r;
	     r = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		n++;
	}
	return n;
}

/* Every backend of "pmag" and "prr" (dnat, a service address, cookies not
 * "on") and no other; a route removed takes its entries along; one added
 * at runtime brings its own. */
static void test_reply_svc_map(void **state)
{
	static const struct tn_be be_run[] = { { "203.0.113.12", 31109, false } };
	struct portier_reply_svc v;
	struct pt_route r;

	(void)state;
	assert_int_equal(reply_svc_count(), 6);
	for (int i = 0; i < 3; i++) {
		assert_true(reply_svc(i, BE_MAG, &v));
		assert_int_equal(v.svc_addr.a32[0], tn_ip4(TN_GW_IN));
		assert_int_equal(v.svc_port, htons(PORT_MAG));
		assert_int_equal(v.route_id, route_id("pmag"));
		assert_true(reply_svc(i, BE_RR, &v));
		assert_int_equal(v.svc_port, htons(PORT_RR));
		assert_false(reply_svc(i, BE_SNAT, &v));
		assert_false(reply_svc(i, BE_COOKIE, &v));
	}
	tn_route(&r, "prun", ALT_SVC, 109, IPPROTO_TCP, PT_NAT_DNAT, be_run, 1);
	assert_int_equal(pt_dp_route_add(xt.dp, &r), 0);
	free(r.backends);
	assert_int_equal(reply_svc_count(), 7);
	assert_true(reply_svc(1, 31109, &v));
	assert_int_equal(v.svc_addr.a32[0], tn_ip4(ALT_SVC));
	assert_int_equal(v.svc_port, htons(109));
	assert_int_equal(pt_dp_route_del(xt.dp, "prr"), 0);
	assert_int_equal(pt_dp_route_del(xt.dp, "prun"), 0);
	assert_int_equal(reply_svc_count(), 3);
	assert_false(reply_svc(0, BE_RR, &v));

	/* Back as it was, for the tests that follow. */
	{
		struct pt_route rs[N_ROUTES];

		routes(rs);
		assert_int_equal(tn_apply(xt.dp, rs, N_ROUTES, "test_xdp_pool"), 0);
	}
	assert_int_equal(reply_svc_count(), 6);
}

/* A backend of two dnat routes with different services is refused, by an
 * apply and by a route add, with both routes named, and nothing changes;
 * the same backend on a snat route is fine. */
static void test_shared_backend_refused(void **state)
{
	static const struct tn_be shared[] = { { "203.0.113.11", BE_MAG, false } };
	struct pt_route rs[N_ROUTES + 1], r;
	const char *msg;

	(void)state;
	routes(rs);
	tn_route(&rs[N_ROUTES], "pother", ALT_SVC, PORT_MAG, IPPROTO_TCP, PT_NAT_DNAT, shared, 1);
	assert_int_equal(tn_apply(xt.dp, rs, N_ROUTES + 1, "test_xdp_pool (expected)"), -EINVAL);
	msg = pt_dp_last_error(xt.dp);
	assert_non_null(strstr(msg, "'pmag'"));
	assert_non_null(strstr(msg, "'pother'"));
	assert_non_null(strstr(msg, "203.0.113.11:31101"));
	assert_int_equal(pt_dp_route_id(xt.dp, "pother"), -ENOENT);
	assert_int_equal(reply_svc_count(), 6);

	tn_route(&r, "pother", ALT_SVC, PORT_MAG, IPPROTO_TCP, PT_NAT_DNAT, shared, 1);
	assert_int_equal(pt_dp_route_add(xt.dp, &r), -EINVAL);
	assert_non_null(strstr(pt_dp_last_error(xt.dp), "'pmag'"));
	assert_int_equal(pt_dp_route_id(xt.dp, "pother"), -ENOENT);

	/* The same backend behind a snat route: its replies come to the
	 * gateway's address, no translation needed. */
	r.nat = PT_NAT_SNAT;
	assert_int_equal(pt_dp_route_add(xt.dp, &r), 0);
	assert_int_equal(pt_dp_route_del(xt.dp, "pother"), 0);
	free(r.backends);
	assert_int_equal(reply_svc_count(), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recreate_maglev),
		cmocka_unit_test(test_recreate_pure_ack),
		cmocka_unit_test(test_no_recreate),
		cmocka_unit_test(test_cookies_on_checks),
		cmocka_unit_test(test_stateless_reply),
		cmocka_unit_test(test_stateless_reply_not),
		cmocka_unit_test(test_reply_svc_map),
		cmocka_unit_test(test_shared_backend_refused),
	};

	return xt_run_group("test_xdp_pool", tests, setup, xt_teardown);
}
