// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp6.c - the IPv6 packet walk (portier_xdp6, bpf/xdp6.h) through
 * BPF_PROG_TEST_RUN of portier_xdp: every frame here reaches it by
 * portier_xdp's tail call, which the loader's portier_progs entry makes
 * (one test empties the slot). The test network (testnet.h) has IPv6 on
 * both sides: pin 2001:db8:1::1/64 (the client ::10), pout 2001:db8:2::1/64
 * (backends ::11-::13), permanent neighbours, forwarding on.
 *
 * The IPv6 routes are written into the maps directly (services, routes,
 * backends, ports, portier_local6, portier_reply_svc; the config's
 * snat_addr6 and IPv6 table geometry). Expected frames are built from
 * scratch and compared byte for byte, with their TCP/UDP (and ICMPv6)
 * checksums recomputed over the pseudo-header. Besides new flows,
 * replies, admission, extension headers and Packet Too Big: ICMPv6 errors
 * of NATed flows translated both ways (bpf/icmp6.h), stateless replies of
 * the active-active pool, and the connection log event of a closed IPv6
 * flow.
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
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "pkt.h"
#include "portier.skel.h"
#include "portier_hash.h"
#include "testnet.h"
#include "xdptest.h"

#define HOPS		64
#define CLIENT_PORT	41000
#define NOT_LOCAL6	"2001:db8:1::99"
#define RID_BASE	300	/* route ids written here (an apply's start at 0) */
#define BID_BASE	60000	/* backend ids written here */
#define N_RR		30
#define BIG_MTU		1400	/* pout's MTU in the Packet Too Big test */
#define BIG_LEN		1450	/* that test's IPv6 packet length */

/* The routes, one id each. */
enum {
	R_WEB = RID_BASE,	/* [GW_IN]:80 TCP snat -> ::11:30080 */
	R_DNS,			/* [GW_IN]:53 UDP snat -> ::12:30053 */
	R_DNAT,			/* [GW_IN]:81 TCP dnat -> ::12:30081 */
	R_RR,			/* [GW_IN]:86 TCP snat -> ::11-13:30086 */
	R_LOCAL,		/* [GW_IN]:82 TCP -> this host */
	R_WILD,			/* [*]:85 TCP snat -> ::13:30085 */
	R_V4BE,			/* [GW_IN]:87 TCP snat -> an IPv4 backend */
	R_BIG,			/* [GW_IN]:88 TCP snat -> ::13:30088 */
	R_POLICY,		/* [GW_IN]:89 TCP snat, policy: 2001:db8:1::/64
				 * allowed, 2001:db8:1::66 denied; rate 2 */
	R_MAGLEV,		/* [GW_IN]:90 TCP dnat maglev -> ::11-13:30090 */
	R_SOURCE,		/* [GW_IN]:91 UDP snat source -> ::11-13:30091 */
	R_UDNAT,		/* [GW_IN]:54 UDP dnat -> ::13:30054 */
	R_STATELESS,		/* [GW_IN]:92 TCP dnat -> ::13:30092, its
				 * replies' service in portier_reply_svc */
	R_LOG,			/* [GW_IN]:93 TCP snat, logged -> ::11:30093 */
};

#define TABLE_SIZE	7	/* the table routes' slots (a prime) */
#define N_TABLE		24	/* flows the table tests send */

#define DENIED6		"2001:db8:1::66"
#define RATE_BURST	2

struct be6 {
	const char *addr;	/* IPv6, or IPv4 text (a wrong-family backend) */
	uint16_t port;
	bool local;
};

/* ---- map writers ----------------------------------------------------- */

static void addr_of(const char *text, struct portier_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!pkt6_addr(text, a->a8))
		assert_int_equal(inet_pton(AF_INET, text, a->a8), 1);
}

static __u32 be_id(__u32 rid, int i)
{
	return BID_BASE + (rid - RID_BASE) * 4 + i;
}

/* Route rid: service [addr]:port (NULL: "*") of proto, route flags, n
 * backends. */
static void put_route6(__u32 rid, const char *addr, uint16_t port, uint8_t proto, __u32 flags,
		       const struct be6 *be, int n)
{
	struct portier_route *rt = calloc(1, sizeof(*rt));
	struct portier_svc_key k = { .port = htons(port), .proto = proto,
				     .family = PORTIER_AF_INET6 };
	struct portier_svc sv = { .route_id = rid };
	struct portier_backend b;

	assert_non_null(rt);
	rt->flags = flags;
	rt->n_active = n;
	for (int i = 0; i < n; i++) {
		__u32 id = be_id(rid, i);

		memset(&b, 0, sizeof(b));
		addr_of(be[i].addr, &b.addr);
		b.family = strchr(be[i].addr, ':') ? PORTIER_AF_INET6 : PORTIER_AF_INET;
		b.port = htons(be[i].port);
		b.flags = PORTIER_BACKEND_F_USED | (be[i].local ? PORTIER_BACKEND_F_LOCAL : 0);
		b.route_id = rid;
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_backends),
						     &id, &b, BPF_ANY), 0);
		rt->active[i] = id;
		assert_int_equal(xt_port_bits(be[i].port, proto == IPPROTO_TCP ?
							  PORTIER_PORT_BE_TCP : PORTIER_PORT_BE_UDP),
				 0);
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_routes), &rid, rt,
					     BPF_ANY), 0);
	free(rt);
	if (addr)
		addr_of(addr, &k.addr);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_services), &k, &sv,
					     BPF_ANY), 0);
	assert_int_equal(xt_port_bits(port, proto == IPPROTO_TCP ? PORTIER_PORT_SVC_TCP :
							     PORTIER_PORT_SVC_UDP), 0);
}

/* Route rid's rate limit: burst new flows, then one an hour. */
static void set_rate(__u32 rid, __u32 burst)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_routes);
	struct portier_route *rt = calloc(1, sizeof(*rt));

	assert_non_null(rt);
	assert_int_equal(bpf_map_lookup_elem(fd, &rid, rt), 0);
	rt->rl_burst = burst;
	rt->rl_interval_ns = 3600ULL * 1000000000ULL;
	assert_int_equal(bpf_map_update_elem(fd, &rid, rt, BPF_ANY), 0);
	free(rt);
}

/* Route rid's table (maglev, source): TABLE_SIZE slots, slot i to its
 * backend i % 3 (table_of), as portier_maglev's inner array the
 * userspace builds. */
static __u32 table_of(__u32 rid, __u32 slot)
{
	return be_id(rid, (int)(slot % 3));
}

static void put_table(__u32 rid)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	int rfd = bpf_map__fd(xt.skel->maps.portier_routes), fd;
	struct portier_route *rt = calloc(1, sizeof(*rt));
	struct portier_maglev_pair pair;

	assert_non_null(rt);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t6", sizeof(__u32), sizeof(pair),
			    (TABLE_SIZE + 1) / 2, &o);
	assert_true(fd >= 0);
	for (__u32 e = 0; e < (TABLE_SIZE + 1) / 2; e++) {
		pair.id[0] = table_of(rid, 2 * e);
		pair.id[1] = table_of(rid, 2 * e + 1);
		assert_int_equal(bpf_map_update_elem(fd, &e, &pair, BPF_ANY), 0);
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_maglev), &rid, &fd,
					     BPF_ANY), 0);
	close(fd);
	assert_int_equal(bpf_map_lookup_elem(rfd, &rid, rt), 0);
	rt->table_size = TABLE_SIZE;
	assert_int_equal(bpf_map_update_elem(rfd, &rid, rt, BPF_ANY), 0);
	free(rt);
}

static void put_local6(const char *text)
{
	struct portier_addr a;
	__u32 one = 1;

	addr_of(text, &a);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_local6), &a, &one,
					     BPF_ANY), 0);
}

/* A source policy entry of route rid: prefix text/len, action. */
static void put_policy6(__u32 rid, const char *prefix, __u32 len, __u8 action)
{
	struct portier_policy6_key k = { .prefixlen = PORTIER_POLICY_SCOPE_BITS + len,
					 .scope = rid };
	struct portier_policy_rule v = { .action = action };

	assert_true(pkt6_addr(prefix, k.addr));
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_policy6), &k, &v,
					     BPF_ANY), 0);
}

/* portier_reply_svc: backend [be]:be_port TCP of route rid (its backend
 * 0) replies from service [svc]:svc_port, as the userspace writer of the
 * active-active pool puts it. */
static void put_reply_svc(__u32 rid, const char *be, uint16_t be_port, const char *svc,
			  uint16_t svc_port)
{
	struct portier_reply_key k;
	struct portier_reply_svc v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	addr_of(be, &k.addr);
	k.port = htons(be_port);
	k.proto = IPPROTO_TCP;
	k.family = PORTIER_AF_INET6;
	addr_of(svc, &v.svc_addr);
	v.svc_port = htons(svc_port);
	v.route_id = rid;
	v.backend_id = be_id(rid, 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_reply_svc), &k,
					     &v, BPF_ANY), 0);
}

/* The connection log events read from the ring buffer (R_LOG's). */
static struct xt_events events;

static int setup(void **state)
{
	static const struct be6 web[] = { { "2001:db8:2::11", 30080, false } };
	static const struct be6 dns[] = { { "2001:db8:2::12", 30053, false } };
	static const struct be6 dnat[] = { { "2001:db8:2::12", 30081, false } };
	static const struct be6 rr[] = { { "2001:db8:2::11", 30086, false },
					 { "2001:db8:2::12", 30086, false },
					 { "2001:db8:2::13", 30086, false } };
	static const struct be6 local[] = { { TN6_GW_OUT, 82, true } };
	static const struct be6 wild[] = { { "2001:db8:2::13", 30085, false } };
	static const struct be6 v4be[] = { { "203.0.113.11", 30087, false } };
	static const struct be6 big[] = { { "2001:db8:2::13", 30088, false } };
	static const struct be6 pol[] = { { "2001:db8:2::11", 30089, false } };
	static const struct be6 mlv[] = { { "2001:db8:2::11", 30090, false },
					  { "2001:db8:2::12", 30090, false },
					  { "2001:db8:2::13", 30090, false } };
	static const struct be6 src[] = { { "2001:db8:2::11", 30091, false },
					  { "2001:db8:2::12", 30091, false },
					  { "2001:db8:2::13", 30091, false } };
	static const struct be6 udnat[] = { { "2001:db8:2::13", 30054, false } };
	static const struct be6 sless[] = { { "2001:db8:2::13", 30092, false } };
	static const struct be6 logged[] = { { "2001:db8:2::11", 30093, false } };

	(void)state;
	if (xt_open("test_xdp6", CLIENT_PORT, 2, xt_edit6))
		return -1;
	put_route6(R_WEB, TN6_GW_IN, 80, IPPROTO_TCP, 0, web, 1);
	put_route6(R_DNS, TN6_GW_IN, 53, IPPROTO_UDP, 0, dns, 1);
	put_route6(R_DNAT, TN6_GW_IN, 81, IPPROTO_TCP, PORTIER_ROUTE_F_DNAT, dnat, 1);
	put_route6(R_RR, TN6_GW_IN, 86, IPPROTO_TCP, 0, rr, 3);
	put_route6(R_LOCAL, TN6_GW_IN, 82, IPPROTO_TCP, 0, local, 1);
	put_route6(R_WILD, NULL, 85, IPPROTO_TCP, 0, wild, 1);
	put_route6(R_V4BE, TN6_GW_IN, 87, IPPROTO_TCP, 0, v4be, 1);
	put_route6(R_BIG, TN6_GW_IN, 88, IPPROTO_TCP, 0, big, 1);
	put_route6(R_POLICY, TN6_GW_IN, 89, IPPROTO_TCP,
		   PORTIER_ROUTE_F_POLICY | PORTIER_ROUTE_F_RATE, pol, 1);
	set_rate(R_POLICY, RATE_BURST);
	assert_int_equal(xt_port_bits(89, PORTIER_PORT_ADMIT), 0);
	put_policy6(R_POLICY, "2001:db8:1::", 64, PORTIER_POLICY_ALLOW);
	put_policy6(R_POLICY, DENIED6, 128, PORTIER_POLICY_DENY);
	put_route6(R_MAGLEV, TN6_GW_IN, 90, IPPROTO_TCP,
		   PORTIER_ROUTE_F_DNAT | PORTIER_ROUTE_F_MAGLEV, mlv, 3);
	put_table(R_MAGLEV);
	put_route6(R_SOURCE, TN6_GW_IN, 91, IPPROTO_UDP, PORTIER_ROUTE_F_SOURCE, src, 3);
	put_table(R_SOURCE);
	put_route6(R_UDNAT, TN6_GW_IN, 54, IPPROTO_UDP, PORTIER_ROUTE_F_DNAT, udnat, 1);
	put_route6(R_STATELESS, TN6_GW_IN, 92, IPPROTO_TCP, PORTIER_ROUTE_F_DNAT, sless, 1);
	put_reply_svc(R_STATELESS, "2001:db8:2::13", 30092, TN6_GW_IN, 92);
	put_route6(R_LOG, TN6_GW_IN, 93, IPPROTO_TCP, PORTIER_ROUTE_F_LOG, logged, 1);
	put_local6(TN6_GW_IN);
	return xt_events_open(&events);
}

static int teardown(void **state)
{
	xt_events_close(&events);
	return xt_teardown(state);
}

/* ---- frames ------------------------------------------------------------ */

/* A client frame: TN6_CLIENT from a fresh port -> [TN6_GW_IN]:dport. */
static struct pkt6_spec client6(uint16_t dport, uint8_t proto, uint8_t flags)
{
	struct pkt6_spec s = { 0 };

	memcpy(s.dmac, tn_mac_in, 6);
	memcpy(s.smac, tn_mac_client, 6);
	assert_true(pkt6_addr(TN6_CLIENT, s.saddr));
	assert_true(pkt6_addr(TN6_GW_IN, s.daddr));
	s.sport = xt.next_port++;
	s.dport = dport;
	s.proto = proto;
	s.hop_limit = HOPS;
	s.tcp_flags = flags;
	s.payload_len = proto == IPPROTO_UDP ? 24 : 0;
	s.payload_seed = 0x11;
	return s;
}

/* Build s, run it on ifindex into *r: action ret. */
static void run6(int ifindex, const struct pkt6_spec *s, int ret, struct xt_run *r)
{
	uint8_t in[PKT_MAX];

	xt_run(ifindex, in, pkt6_build(s, in), r);
	assert_int_equal(r->ret, ret);
}

/* The maglev hash of s's tuple, as the program computes it. */
static __u32 tuple6_hash_of(const struct pkt6_spec *s)
{
	return portier_tuple6_hash((const __be32 *)s->saddr, (const __be32 *)s->daddr,
				   htons(s->sport), htons(s->dport), s->proto);
}

/* The frame r produced must be exp's byte for byte, its L4 checksum right
 * from scratch. */
static void expect6(const struct xt_run *r, const struct pkt6_spec *exp)
{
	uint8_t want[PKT_MAX];
	size_t n = pkt6_build(exp, want);

	assert_int_equal(r->out_len, n);
	assert_memory_equal(r->out, want, n);
	assert_true(pkt6_l4_csum_ok(r->out, r->out_len));
}

/* Which backend (tn6_be_addr index) the frame is addressed to, or -1. */
static int be6_index(const uint8_t *f)
{
	uint8_t a[16];

	for (int i = 0; i < TN_N_BE; i++)
		if (pkt6_addr(tn6_be_addr[i], a) && !memcmp(f + PKT6_DADDR, a, 16))
			return i;
	return -1;
}

static void expect_spec_untouched(const struct pkt6_spec *s, int ret, enum portier_reason why)
{
	uint8_t in[PKT_MAX];

	xt_expect_untouched(in, pkt6_build(s, in), ret, why);
}

/* ---- new flows and replies ---------------------------------------------- */

/* A client's first packet to an snat route: to the backend from the NAT66
 * address and a port of the SNAT range; returns the frame's port (host
 * order). Every byte else as built from scratch. */
static uint16_t snat_first(const struct pkt6_spec *s, const char *be, uint16_t be_port,
			   struct xt_run *r)
{
	struct pkt6_spec e = *s;
	uint16_t port;
	int i;

	run6(xt.if_in, s, XDP_REDIRECT, r);
	port = pkt_get16(r->out + PKT6_L4);
	assert_true(port >= PORTIER_SNAT_PORT_MIN_DEFAULT && port <= PORTIER_SNAT_PORT_MAX_DEFAULT);
	i = be6_index(r->out);
	assert_true(i >= 0);
	memcpy(e.dmac, tn_mac_be[i], 6);
	memcpy(e.smac, tn_mac_out, 6);
	assert_true(pkt6_addr(TN6_GW_OUT, e.saddr));
	assert_true(pkt6_addr(be, e.daddr));
	e.sport = port;
	e.dport = be_port;
	e.hop_limit = HOPS - 1;
	expect6(r, &e);
	return port;
}

/* The backend's answer to frame out (a client packet the program
 * forwarded), arriving on pout: addresses and ports swapped. */
static struct pkt6_spec reply_of(const uint8_t *out, uint8_t proto, uint8_t flags)
{
	struct pkt6_spec s = { 0 };
	int be = be6_index(out);

	assert_true(be >= 0);
	memcpy(s.dmac, tn_mac_out, 6);
	memcpy(s.smac, tn_mac_be[be], 6);
	memcpy(s.saddr, out + PKT6_DADDR, 16);
	memcpy(s.daddr, out + PKT6_SADDR, 16);
	s.sport = pkt_get16(out + PKT6_L4 + 2);
	s.dport = pkt_get16(out + PKT6_L4);
	s.proto = proto;
	s.hop_limit = HOPS;
	s.tcp_flags = flags;
	s.payload_len = 40;
	s.payload_seed = 0x77;
	return s;
}

/* The reply s to client c, as the client must see it. */
static struct pkt6_spec reply_to_client(const struct pkt6_spec *s, const struct pkt6_spec *c)
{
	struct pkt6_spec e = *s;

	memcpy(e.dmac, tn_mac_client, 6);
	memcpy(e.smac, tn_mac_in, 6);
	memcpy(e.saddr, c->daddr, 16);
	memcpy(e.daddr, c->saddr, 16);
	e.sport = c->dport;
	e.dport = c->sport;
	e.hop_limit = HOPS - 1;
	return e;
}

/* TCP snat: the SYN to the backend (NAT66), its SYN-ACK back to the
 * client; counted on the route's backend and as redirects. */
static void test_snat_tcp(void **state)
{
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN), b, e;
	uint64_t fwd0 = xt_reason(PORTIER_R_FWD_REDIRECT);
	struct portier_stats st0 = xt_stats(xt.skel->maps.portier_backend_stats,
					    be_id(R_WEB, 0)), st;
	struct xt_run r;

	(void)state;
	snat_first(&s, "2001:db8:2::11", 30080, &r);
	b = reply_of(r.out, IPPROTO_TCP, PKT_SYN | PKT_ACK);
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	e = reply_to_client(&b, &s);
	expect6(&r, &e);
	assert_int_equal(xt_reason(PORTIER_R_FWD_REDIRECT) - fwd0, 2);
	st = xt_stats(xt.skel->maps.portier_backend_stats, be_id(R_WEB, 0));
	assert_int_equal(st.flows - st0.flows, 1);
	assert_int_equal(st.packets[0] - st0.packets[0], 1);
	assert_int_equal(st.packets[1] - st0.packets[1], 1);
}

/* UDP snat both ways, checksums from scratch. */
static void test_snat_udp(void **state)
{
	struct pkt6_spec s = client6(53, IPPROTO_UDP, 0), b, e;
	struct xt_run r;
	uint16_t port;

	(void)state;
	port = snat_first(&s, "2001:db8:2::12", 30053, &r);
	b = reply_of(r.out, IPPROTO_UDP, 0);
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	e = reply_to_client(&b, &s);
	expect6(&r, &e);
	/* The client's next datagram: the same port. */
	s.payload_seed = 0x33;
	run6(xt.if_in, &s, XDP_REDIRECT, &r);
	assert_int_equal(pkt_get16(r.out + PKT6_L4), port);
	assert_true(pkt6_l4_csum_ok(r.out, r.out_len));
}

/* dnat: the client's address and port kept; the reply translated back. */
/* A client's first packet s to R_DNAT (::12:30081, behind if_out's
 * second backend MAC): redirected, only the destination rewritten. */
static void dnat_first(const struct pkt6_spec *s, struct xt_run *r)
{
	struct pkt6_spec e = *s;

	run6(xt.if_in, s, XDP_REDIRECT, r);
	memcpy(e.dmac, tn_mac_be[1], 6);
	memcpy(e.smac, tn_mac_out, 6);
	assert_true(pkt6_addr("2001:db8:2::12", e.daddr));
	e.dport = 30081;
	e.hop_limit = HOPS - 1;
	expect6(r, &e);
}

static void test_dnat(void **state)
{
	struct pkt6_spec s = client6(81, IPPROTO_TCP, PKT_SYN), b, c;
	struct xt_run r;

	(void)state;
	dnat_first(&s, &r);
	b = reply_of(r.out, IPPROTO_TCP, PKT_SYN | PKT_ACK);
	/* The backend answers the client itself: routed back through us. */
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	c = reply_to_client(&b, &s);
	expect6(&r, &c);
}

/* Round-robin over three backends: each takes every third new flow. */
static void test_round_robin(void **state)
{
	int count[TN_N_BE] = { 0 }, first = -1, be;
	struct xt_run r;

	(void)state;
	for (int i = 0; i < N_RR; i++) {
		struct pkt6_spec s = client6(86, IPPROTO_TCP, PKT_SYN);

		run6(xt.if_in, &s, XDP_REDIRECT, &r);
		assert_true(pkt6_l4_csum_ok(r.out, r.out_len));
		be = be6_index(r.out);
		assert_true(be >= 0);
		if (first < 0)
			first = be;
		assert_int_equal(be, (first + i) % TN_N_BE);
		count[be]++;
	}
	for (int i = 0; i < TN_N_BE; i++)
		assert_int_equal(count[i], N_RR / TN_N_BE);
}

/* The backend id a frame out was sent to: the route's backend i whose
 * address it carries. */
static __u32 sent_to(__u32 rid, const uint8_t *out)
{
	int i = be6_index(out);

	assert_true(i >= 0);
	return be_id(rid, i);
}

/* maglev (the 5-tuple's hash, portier_tuple6_hash) and source (the client
 * address's, portier_source6_hash): each flow to the table's backend for
 * its hash, computed here as userspace would. */
static void test_table_routes(void **state)
{
	struct xt_run r;
	__u32 h, seen = 0;

	(void)state;
	for (int i = 0; i < N_TABLE; i++) {
		struct pkt6_spec s = client6(90, IPPROTO_TCP, PKT_SYN);

		s.saddr[15] = (uint8_t)(0x40 + i);
		h = tuple6_hash_of(&s);
		run6(xt.if_in, &s, XDP_REDIRECT, &r);
		assert_int_equal(sent_to(R_MAGLEV, r.out), table_of(R_MAGLEV, h % TABLE_SIZE));
		seen |= 1U << be6_index(r.out);

		s = client6(91, IPPROTO_UDP, 0);
		s.saddr[15] = (uint8_t)(0x40 + i);
		h = portier_source6_hash((const __be32 *)s.saddr);
		run6(xt.if_in, &s, XDP_REDIRECT, &r);
		assert_int_equal(sent_to(R_SOURCE, r.out), table_of(R_SOURCE, h % TABLE_SIZE));
		assert_true(pkt6_l4_csum_ok(r.out, r.out_len));
	}
	assert_int_equal(seen, 7);	/* all three backends took flows */
}

/* A maglev dnat route: an ACK with no flow (another gateway's, or a
 * forgotten one) recreates its flow to the table's backend, counted. */
static void test_recreate(void **state)
{
	struct pkt6_spec s = client6(90, IPPROTO_TCP, PKT_ACK);
	uint64_t c0 = xt_reason(PORTIER_R_FLOW_RECREATED);
	__u32 h = tuple6_hash_of(&s);
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	run6(xt.if_in, &s, XDP_REDIRECT, &r);
	assert_int_equal(sent_to(R_MAGLEV, r.out), table_of(R_MAGLEV, h % TABLE_SIZE));
	assert_int_equal(xt_reason(PORTIER_R_FLOW_RECREATED) - c0, 1);
	/* A RST with no flow recreates nothing. */
	s = client6(90, IPPROTO_TCP, PKT_RST | PKT_ACK);
	xt_expect_untouched(in, pkt6_build(&s, in), XDP_PASS, PORTIER_R_PASS_NO_FLOW);
}

/* ---- what passes, what drops ------------------------------------------ */

/* An undeclared port, a TCP segment without a flow, a local backend, a
 * hop limit of 1: untouched XDP_PASS. */
static void test_pass_untouched(void **state)
{
	struct pkt6_spec s = client6(9999, IPPROTO_TCP, PKT_SYN);

	(void)state;
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	s = client6(80, IPPROTO_TCP, PKT_ACK);
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_NO_FLOW);
	s = client6(82, IPPROTO_TCP, PKT_SYN);
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_LOCAL);
	s.tcp_flags = PKT_ACK;	/* the local flow's next packet */
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_LOCAL);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	s.hop_limit = 1;
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_TTL);
}

/* "*" takes a destination in portier_local6 only. */
static void test_wildcard(void **state)
{
	struct pkt6_spec s = client6(85, IPPROTO_TCP, PKT_SYN);
	struct xt_run r;

	(void)state;
	snat_first(&s, "2001:db8:2::13", 30085, &r);
	s = client6(85, IPPROTO_TCP, PKT_SYN);
	assert_true(pkt6_addr(NOT_LOCAL6, s.daddr));
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_UNDECLARED);
}

/* portier_ports[port]'s only IPv6 service (PORTIER_PORT_ONE_SVC6): [addr]
 * (NULL: "*"), route rid, proto; rid 0: the bit cleared again. */
static void one_svc6(uint16_t port, const char *addr, __u32 rid, uint8_t proto)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_ports);
	struct portier_port v;
	__u32 k = port;

	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	v.flags &= ~PORTIER_PORT_ONE_SVC6;
	memset(&v.svc6_addr, 0, sizeof(v.svc6_addr));
	if (rid) {
		v.flags |= PORTIER_PORT_ONE_SVC6;
		if (addr)
			addr_of(addr, &v.svc6_addr);
		v.svc6_route = rid;
		v.svc6_proto = proto;
	}
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
}

/* A port's only IPv6 service (ONE_SVC6) takes a new flow's route from the
 * port's entry, not portier_services: port 80 named as R_DNAT's service
 * sends its SYN by R_DNAT (dnat to ::12:30081); another address, another
 * protocol or "*" to an address not this host's: no service. */
static void test_one_svc6(void **state)
{
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN);
	struct xt_run r;

	(void)state;
	one_svc6(80, TN6_GW_IN, R_DNAT, IPPROTO_TCP);
	dnat_first(&s, &r);
	one_svc6(80, NOT_LOCAL6, R_DNAT, IPPROTO_TCP);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	one_svc6(80, TN6_GW_IN, R_DNAT, IPPROTO_UDP);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	one_svc6(80, NULL, 0, 0);

	one_svc6(85, NULL, R_WILD, IPPROTO_TCP);
	s = client6(85, IPPROTO_TCP, PKT_SYN);
	snat_first(&s, "2001:db8:2::13", 30085, &r);
	s = client6(85, IPPROTO_TCP, PKT_SYN);
	assert_true(pkt6_addr(NOT_LOCAL6, s.daddr));
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_UNDECLARED);
	one_svc6(85, NULL, 0, 0);
}

/* A route whose backend is IPv4: no NAT46, the new flow drops. */
static void test_v4_backend(void **state)
{
	struct pkt6_spec s = client6(87, IPPROTO_TCP, PKT_SYN);
	uint64_t c0 = xt_reason(PORTIER_R_DROP_NO_BACKEND);
	struct xt_run r;

	(void)state;
	run6(xt.if_in, &s, XDP_DROP, &r);
	assert_int_equal(xt_reason(PORTIER_R_DROP_NO_BACKEND) - c0, 1);
}

/* Each extension header's documented action (docs/dataplane.md, "IPv6"),
 * the frame untouched. */
static void test_ext_headers(void **state)
{
	static const uint8_t ext[] = { 0, 43, 60, 51, 50, 135, 253 };	/* hop-by-hop, routing,
		* destination options, AH, ESP, mobility, experimental */
	struct pkt6_spec s;

	(void)state;
	for (size_t i = 0; i < sizeof(ext); i++) {
		s = client6(80, IPPROTO_TCP, PKT_SYN);
		s.has_ext = true;
		s.ext = ext[i];
		expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_IP6_EXT);
	}
	s = client6(53, IPPROTO_UDP, 0);
	s.has_ext = true;
	s.ext = 44;	/* fragment */
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_FRAGMENT);
	s.ext = PKT_NH_NONE;
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_NOT_L4);
}

/* An ICMPv6 message of type t from src to dst (text), checksum right. */
static size_t icmp6_frame(const char *src, const char *dst, uint8_t t, uint8_t *buf)
{
	struct pkt6_spec s = client6(0, IPPROTO_UDP, 0);
	uint8_t *ic = buf + PKT6_L4;
	size_t n;

	assert_true(pkt6_addr(src, s.saddr));
	assert_true(pkt6_addr(dst, s.daddr));
	s.hop_limit = 255;
	n = pkt6_build(&s, buf);
	buf[PKT_ETH_LEN + 6] = 58;
	memset(ic, 0, 8);
	ic[0] = t;
	pkt6_l4_csum_fix(buf, n);
	assert_true(pkt6_l4_csum_ok(buf, n));
	return n;
}

/* Link-local and multicast pass untouched (neighbour discovery, router
 * advertisements, anything to or from fe80::/10, anything to ff00::/8);
 * a multicast source is malformed. */
static void test_link_local(void **state)
{
	uint8_t in[PKT_MAX];
	struct pkt6_spec s;

	(void)state;
	xt_expect_untouched(in, icmp6_frame("fe80::10", "ff02::1:ff00:1", 135, in), XDP_PASS,
			    PORTIER_R_PASS_LINK_LOCAL);		/* neighbour solicitation */
	xt_expect_untouched(in, icmp6_frame("fe80::1", "ff02::1", 134, in), XDP_PASS,
			    PORTIER_R_PASS_LINK_LOCAL);		/* router advertisement */
	xt_expect_untouched(in, icmp6_frame(TN6_CLIENT, "ff02::1:ff00:1", 135, in), XDP_PASS,
			    PORTIER_R_PASS_LINK_LOCAL);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	assert_true(pkt6_addr("fe80::10", s.saddr));
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_LINK_LOCAL);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	assert_true(pkt6_addr("fe80::1", s.daddr));
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_LINK_LOCAL);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	assert_true(pkt6_addr("ff02::1", s.saddr));
	expect_spec_untouched(&s, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	/* The unspecified source: malformed, but for duplicate address
	 * detection (to a multicast group), which passes. */
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	assert_true(pkt6_addr("::", s.saddr));
	expect_spec_untouched(&s, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	xt_expect_untouched(in, icmp6_frame("::", "ff02::1:ff00:1", 135, in), XDP_PASS,
			    PORTIER_R_PASS_LINK_LOCAL);
	/* An echo request to the service address: the stack's. */
	xt_expect_untouched(in, icmp6_frame(TN6_CLIENT, TN6_GW_IN, 128, in), XDP_PASS,
			    PORTIER_R_PASS_NOT_L4);
}

/* Malformed: a UDP checksum of 0, truncated headers, a payload length
 * beyond the frame, a version not 6, a TCP data offset < 5 or beyond the
 * segment, a TCP header longer than the payload. */
static void test_malformed(void **state)
{
	struct pkt6_spec s = client6(53, IPPROTO_UDP, 0);
	uint8_t in[PKT_MAX];
	size_t n;

	(void)state;
	s.udp_zero_csum = true;
	expect_spec_untouched(&s, XDP_DROP, PORTIER_R_DROP_BAD_CSUM);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	n = pkt6_build(&s, in);
	xt_expect_untouched(in, PKT6_L4 + 10, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	xt_expect_untouched(in, PKT_ETH_LEN + 30, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	in[PKT_ETH_LEN + 5] += 1;	/* payload length one beyond the frame */
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	n = pkt6_build(&s, in);
	in[PKT_ETH_LEN] = 0x40;		/* version 4 */
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	n = pkt6_build(&s, in);
	in[PKT6_L4 + 12] = 4 << 4;	/* data offset 4 */
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	n = pkt6_build(&s, in);
	in[PKT6_L4 + 12] = 15 << 4;	/* data offset 15 on a 20-byte segment */
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	n = pkt6_build(&s, in);		/* a TCP header cut short, its payload */
	in[PKT_ETH_LEN + 4] = 0;	/* length saying so: 10 bytes */
	in[PKT_ETH_LEN + 5] = 10;
	xt_expect_untouched(in, PKT6_L4 + 10, XDP_DROP, PORTIER_R_DROP_MALFORMED);
	s = client6(53, IPPROTO_UDP, 0);
	n = pkt6_build(&s, in);
	in[PKT6_L4 + 5] += 1;		/* UDP length beyond the payload */
	xt_expect_untouched(in, n, XDP_DROP, PORTIER_R_DROP_MALFORMED);
}

/* Admission: a denied source drops (DROP_DENIED, counted on the route);
 * an allowed /64's sources share one token bucket: RATE_BURST new flows,
 * then DROP_RATE_LIMITED. */
static void test_policy_rate(void **state)
{
	struct pkt6_spec s = client6(89, IPPROTO_TCP, PKT_SYN);
	uint64_t d0 = xt_reason(PORTIER_R_DROP_DENIED), l0 = xt_reason(PORTIER_R_DROP_RATE_LIMITED);
	struct xt_run r;

	(void)state;
	assert_true(pkt6_addr(DENIED6, s.saddr));
	run6(xt.if_in, &s, XDP_DROP, &r);
	assert_int_equal(xt_reason(PORTIER_R_DROP_DENIED) - d0, 1);
	for (int i = 0; i < RATE_BURST; i++) {
		s = client6(89, IPPROTO_TCP, PKT_SYN);
		s.saddr[15] = (uint8_t)(0x20 + i);	/* another host of the /64 */
		run6(xt.if_in, &s, XDP_REDIRECT, &r);
	}
	s = client6(89, IPPROTO_TCP, PKT_SYN);
	run6(xt.if_in, &s, XDP_DROP, &r);
	assert_int_equal(xt_reason(PORTIER_R_DROP_RATE_LIMITED) - l0, 1);
}

/* No NAT66 address configured: an snat route's new flow drops
 * (DROP_SNAT_EXHAUSTED); a dnat route's does not need one. */
static void test_no_snat_addr(void **state)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_config);
	struct portier_config cfg, saved;
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN);
	uint64_t c0 = xt_reason(PORTIER_R_DROP_SNAT_EXHAUSTED);
	struct xt_run r;
	__u32 zero = 0;

	(void)state;
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &saved), 0);
	cfg = saved;
	memset(&cfg.snat_addr6, 0, sizeof(cfg.snat_addr6));
	assert_int_equal(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
	run6(xt.if_in, &s, XDP_DROP, &r);
	assert_int_equal(xt_reason(PORTIER_R_DROP_SNAT_EXHAUSTED) - c0, 1);
	s = client6(81, IPPROTO_TCP, PKT_SYN);
	run6(xt.if_in, &s, XDP_REDIRECT, &r);
	assert_int_equal(bpf_map_update_elem(fd, &zero, &saved, BPF_ANY), 0);
}

/* ---- Packet Too Big ------------------------------------------------------ */

/* A packet bigger than pout's MTU: ICMPv6 Packet Too Big back out of pin
 * (XDP_TX), byte for byte: the client's MACs swapped, from the address
 * the client sent to, type 2 code 0, the MTU, the packet's first 1232
 * bytes as received, the checksum from scratch. */
static void test_packet_too_big(void **state)
{
	struct pkt6_spec s = client6(88, IPPROTO_TCP, PKT_SYN);
	uint64_t c0 = xt_reason(PORTIER_R_ICMP_FRAG_NEEDED_SENT);
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct xt_run r;
	size_t n, wn = PKT_ETH_LEN + 1280;

	(void)state;
	s.payload_len = BIG_LEN - PKT_IP6_LEN - PKT_TCP_LEN;
	assert_int_equal(tn_sh("ip link set " TN_IF_OUT " mtu %d", BIG_MTU), 0);
	n = pkt6_build(&s, in);
	xt_run(xt.if_in, in, n, &r);
	assert_int_equal(tn_sh("ip link set " TN_IF_OUT " mtu 1500"), 0);
	assert_int_equal(n, PKT_ETH_LEN + BIG_LEN);
	assert_int_equal(r.ret, XDP_TX);
	assert_int_equal(xt_reason(PORTIER_R_ICMP_FRAG_NEEDED_SENT) - c0, 1);

	memset(want, 0, sizeof(want));
	memcpy(want, tn_mac_client, 6);
	memcpy(want + 6, tn_mac_in, 6);
	want[12] = 0x86;
	want[13] = 0xdd;
	want[PKT_ETH_LEN] = 0x60;
	want[PKT_ETH_LEN + 4] = 1240 >> 8;
	want[PKT_ETH_LEN + 5] = 1240 & 0xff;
	want[PKT_ETH_LEN + 6] = 58;
	want[PKT6_HOPS] = HOPS;	/* the program's own messages' */
	memcpy(want + PKT6_SADDR, s.daddr, 16);
	memcpy(want + PKT6_DADDR, s.saddr, 16);
	want[PKT6_L4] = 2;
	pkt_put32(want + PKT6_L4 + 4, BIG_MTU);
	memcpy(want + PKT6_L4 + 8, in + PKT_ETH_LEN, 1232);
	assert_int_equal(r.out_len, wn);
	want[PKT6_L4 + 2] = r.out[PKT6_L4 + 2];	/* the checksum: checked next */
	want[PKT6_L4 + 3] = r.out[PKT6_L4 + 3];
	assert_memory_equal(r.out, want, wn);
	assert_true(pkt6_l4_csum_ok(r.out, r.out_len));
}

/* ---- ICMPv6 errors of NATed flows (bpf/icmp6.h) --------------------------- */

#define ROUTER6_OUT	"2001:db8:2::99"	/* a router on the backend side */
#define T6_UNREACH	1			/* ICMPv6 error types (RFC 4443) */
#define C6_PORT		4			/* port unreachable */
#define T6_TOO_BIG	2
#define T6_TIME		3
#define T6_PARAM	4
#define T6_ECHO		128
#define ICMP6_HDR	8
#define QUOTE6_MIN	(PKT_IP6_LEN + 8)	/* an IPv6 header and 8 bytes */

/* An ICMPv6 error frame from src to dst (16 bytes each; MACs smac ->
 * dmac, hop limit hops): type, code, the 32-bit field (MTU, pointer),
 * quoting the qn bytes at q; its checksum from scratch. Its length. */
static size_t error6(const uint8_t *dmac, const uint8_t *smac, const uint8_t *src,
		     const uint8_t *dst, uint8_t hops, uint8_t type, uint8_t code,
		     uint32_t field, const uint8_t *q, size_t qn, uint8_t *buf)
{
	size_t plen = ICMP6_HDR + qn;

	assert_true(PKT6_L4 + plen <= PKT_MAX);
	memset(buf, 0, PKT6_L4 + ICMP6_HDR);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	buf[12] = 0x86;
	buf[13] = 0xdd;
	buf[PKT_ETH_LEN] = 0x60;
	buf[PKT_ETH_LEN + 4] = (uint8_t)(plen >> 8);
	buf[PKT_ETH_LEN + 5] = (uint8_t)plen;
	buf[PKT_ETH_LEN + 6] = 58;
	buf[PKT6_HOPS] = hops;
	memcpy(buf + PKT6_SADDR, src, 16);
	memcpy(buf + PKT6_DADDR, dst, 16);
	buf[PKT6_L4] = type;
	buf[PKT6_L4 + 1] = code;
	pkt_put32(buf + PKT6_L4 + 4, field);
	memcpy(buf + PKT6_L4 + ICMP6_HDR, q, qn);
	pkt6_l4_csum_fix(buf, PKT6_L4 + plen);
	return PKT6_L4 + plen;
}

/* The quoted packet's TCP/UDP checksum of ICMPv6 error frame f (n
 * bytes), from scratch over its pseudo-header. */
static bool quoted6_l4_csum_ok(const uint8_t *f, size_t n)
{
	const size_t at = PKT6_L4 + ICMP6_HDR;
	uint8_t q[PKT_MAX];

	memcpy(q, f, PKT_ETH_LEN);
	memcpy(q + PKT_ETH_LEN, f + at, n - at);
	return pkt6_l4_csum_ok(q, PKT_ETH_LEN + n - at);
}

/* Run error frame in (n bytes) on ifindex: translated (ICMP_TRANSLATED
 * + 1), action ret, the result want's byte for byte, the ICMPv6 checksum
 * from scratch and, if the quote is whole (full), the quoted TCP/UDP
 * checksum. */
static void expect_translated(int ifindex, const uint8_t *in, size_t n, int ret,
			      const uint8_t *want, size_t wn, bool full)
{
	struct xt_run r;

	xt_expect_frame(ifindex, in, n, ret, want, wn, PORTIER_R_ICMP_TRANSLATED, &r);
	assert_true(pkt6_l4_csum_ok(r.out, r.out_len));
	if (full)
		assert_true(quoted6_l4_csum_ok(r.out, r.out_len));
}

/* The backend (or a router on its side, from) answers the forwarded
 * packet of client spec s with an ICMPv6 error quoting it (cut to cut
 * bytes if cut); the client must get it from want_src (text), quoting
 * its own packet as it left the gateway (hop limit - 1), every byte
 * else kept (the MTU of a Packet Too Big too). */
static void backend_error6(const struct pkt6_spec *s, uint8_t type, uint8_t code,
			   uint32_t field, const char *from, const char *want_src, size_t cut)
{
	uint8_t in[PKT_MAX], want[PKT_MAX], qw[PKT_MAX], src[16], wsrc[16];
	struct pkt6_spec q = *s;
	struct xt_run fw;
	size_t n, wn, ql, qn;
	int i;

	run6(xt.if_in, s, XDP_REDIRECT, &fw);
	i = be6_index(fw.out);
	assert_true(i >= 0);
	if (from)
		assert_true(pkt6_addr(from, src));
	else
		memcpy(src, fw.out + PKT6_DADDR, 16);
	ql = cut ? cut : fw.out_len - PKT_ETH_LEN;
	n = error6(tn_mac_out, tn_mac_be[i], src, fw.out + PKT6_SADDR, HOPS, type, code, field,
		   fw.out + PKT_ETH_LEN, ql, in);

	q.hop_limit = HOPS - 1;
	qn = pkt6_build(&q, qw);
	assert_int_equal(qn, fw.out_len);
	assert_true(pkt6_addr(want_src, wsrc));
	wn = error6(tn_mac_client, tn_mac_in, wsrc, s->saddr, HOPS - 1, type, code, field,
		    qw + PKT_ETH_LEN, ql, want);
	expect_translated(xt.if_out, in, n, XDP_REDIRECT, want, wn, !cut);
}

/* snat, UDP: port unreachable from the backend reaches the client from
 * the service address, quoting client -> service. */
static void test_icmp6_snat_udp_unreachable(void **state)
{
	struct pkt6_spec s = client6(53, IPPROTO_UDP, 0);

	(void)state;
	backend_error6(&s, T6_UNREACH, C6_PORT, 0, NULL, TN6_GW_IN, 0);
}

/* snat, TCP: Packet Too Big keeps its MTU (NAT66 changes no size). */
static void test_icmp6_snat_tcp_too_big(void **state)
{
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN);

	(void)state;
	backend_error6(&s, T6_TOO_BIG, 0, 1280, NULL, TN6_GW_IN, 0);
}

/* dnat, TCP: time exceeded from a router on the backend side keeps the
 * router's address. */
static void test_icmp6_dnat_tcp_router_time_exceeded(void **state)
{
	struct pkt6_spec s = client6(81, IPPROTO_TCP, PKT_SYN);

	(void)state;
	backend_error6(&s, T6_TIME, 0, 0, ROUTER6_OUT, ROUTER6_OUT, 0);
}

/* dnat, UDP: parameter problem from the backend itself, its pointer
 * kept. */
static void test_icmp6_dnat_udp_param_problem(void **state)
{
	struct pkt6_spec s = client6(54, IPPROTO_UDP, 0);

	(void)state;
	backend_error6(&s, T6_PARAM, 0, PKT_IP6_LEN + 4, NULL, TN6_GW_IN, 0);
}

/* A quote of the IPv6 header and 8 bytes: no TCP checksum to update, the
 * addresses and ports translated all the same. One byte less: not
 * translated, the frame untouched (PASS_NOT_L4). */
static void test_icmp6_short_quote(void **state)
{
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN);
	uint8_t in[PKT_MAX];
	struct xt_run fw;

	(void)state;
	backend_error6(&s, T6_UNREACH, C6_PORT, 0, NULL, TN6_GW_IN, QUOTE6_MIN);
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	run6(xt.if_in, &s, XDP_REDIRECT, &fw);
	xt_expect_untouched_on(xt.if_out, in,
			       error6(tn_mac_out, tn_mac_be[0], fw.out + PKT6_DADDR,
				      fw.out + PKT6_SADDR, HOPS, T6_UNREACH, C6_PORT, 0,
				      fw.out + PKT_ETH_LEN, QUOTE6_MIN - 1, in),
			       XDP_PASS, PORTIER_R_PASS_NOT_L4);
}

/* The client answers the reply to client spec s with an ICMPv6 error;
 * the backend must get it from the address the gateway sent the client's
 * packets from (snat: the NAT66 address; dnat: the client's), quoting
 * its reply as it left the gateway (hop limit - 1). */
static void client_error6(const struct pkt6_spec *s, uint8_t type, uint8_t code, uint32_t field)
{
	uint8_t in[PKT_MAX], want[PKT_MAX], qw[PKT_MAX];
	struct pkt6_spec b, q;
	struct xt_run fw, rp;
	size_t n, wn, qn;
	int i;

	run6(xt.if_in, s, XDP_REDIRECT, &fw);
	i = be6_index(fw.out);
	assert_true(i >= 0);
	b = reply_of(fw.out, s->proto, s->proto == IPPROTO_TCP ? PKT_SYN | PKT_ACK : 0);
	run6(xt.if_out, &b, XDP_REDIRECT, &rp);
	n = error6(tn_mac_in, tn_mac_client, s->saddr, s->daddr, HOPS, type, code, field,
		   rp.out + PKT_ETH_LEN, rp.out_len - PKT_ETH_LEN, in);

	q = b;
	q.hop_limit = HOPS - 1;
	qn = pkt6_build(&q, qw);
	wn = error6(tn_mac_be[i], tn_mac_out, fw.out + PKT6_SADDR, fw.out + PKT6_DADDR, HOPS - 1,
		    type, code, field, qw + PKT_ETH_LEN, qn - PKT_ETH_LEN, want);
	expect_translated(xt.if_in, in, n, XDP_REDIRECT, want, wn, true);
}

static void test_icmp6_client_errors(void **state)
{
	struct pkt6_spec s;

	(void)state;
	s = client6(53, IPPROTO_UDP, 0);
	client_error6(&s, T6_UNREACH, C6_PORT, 0);		/* snat UDP */
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	client_error6(&s, T6_PARAM, 0, PKT_IP6_LEN);		/* snat TCP */
	s = client6(81, IPPROTO_TCP, PKT_SYN);
	client_error6(&s, T6_TOO_BIG, 0, 1300);			/* dnat TCP */
	s = client6(54, IPPROTO_UDP, 0);
	client_error6(&s, T6_TIME, 0, 0);			/* dnat UDP */
}

/* The client's port unreachable about the reply to client spec s (the
 * gateway's packet service -> client), as if the gateway had sent one. */
static size_t error_about_reply(const struct pkt6_spec *s, uint8_t *buf)
{
	struct pkt6_spec q = *s;
	uint8_t qb[PKT_MAX];
	size_t qn;

	memcpy(q.saddr, s->daddr, 16);
	memcpy(q.daddr, s->saddr, 16);
	q.sport = s->dport;
	q.dport = s->sport;
	qn = pkt6_build(&q, qb);
	return error6(tn_mac_in, tn_mac_client, s->saddr, s->daddr, HOPS, T6_UNREACH, C6_PORT, 0,
		      qb + PKT_ETH_LEN, qn - PKT_ETH_LEN, buf);
}

/* What passes untouched: an echo request to a service address (the
 * stack's: it answers for its own address), an error quoting a packet of
 * no flow (PASS_NOT_L4), an error about a local backend's flow
 * (PASS_LOCAL: the host's stack sent the packet), an error whose quote
 * has an extension header (PASS_NOT_L4), an error of hop limit 1
 * (PASS_TTL). */
static void test_icmp6_pass(void **state)
{
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN);
	uint8_t in[PKT_MAX], qb[PKT_MAX], gw[16];
	struct xt_run fw;
	size_t n;

	(void)state;
	xt_expect_untouched(in, icmp6_frame(TN6_CLIENT, TN6_GW_IN, T6_ECHO, in), XDP_PASS,
			    PORTIER_R_PASS_NOT_L4);

	/* The client's error about a "reply" of a flow that never was. */
	xt_expect_untouched(in, error_about_reply(&s, in), XDP_PASS, PORTIER_R_PASS_NOT_L4);

	/* A local backend's flow. */
	s = client6(82, IPPROTO_TCP, PKT_SYN);
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_LOCAL);
	xt_expect_untouched(in, error_about_reply(&s, in), XDP_PASS, PORTIER_R_PASS_LOCAL);

	/* A live flow's packet, quoted with an extension header; then with
	 * hop limit 1. */
	s = client6(80, IPPROTO_TCP, PKT_SYN);
	run6(xt.if_in, &s, XDP_REDIRECT, &fw);
	memcpy(qb, fw.out, fw.out_len);
	qb[PKT_ETH_LEN + 6] = 60;	/* destination options */
	assert_true(pkt6_addr(TN6_GW_OUT, gw));
	n = error6(tn_mac_out, tn_mac_be[0], fw.out + PKT6_DADDR, gw, HOPS, T6_UNREACH, C6_PORT, 0,
		   qb + PKT_ETH_LEN, fw.out_len - PKT_ETH_LEN, in);
	xt_expect_untouched_on(xt.if_out, in, n, XDP_PASS, PORTIER_R_PASS_NOT_L4);
	n = error6(tn_mac_out, tn_mac_be[0], fw.out + PKT6_DADDR, gw, 1, T6_UNREACH, C6_PORT, 0,
		   fw.out + PKT_ETH_LEN, fw.out_len - PKT_ETH_LEN, in);
	xt_expect_untouched_on(xt.if_out, in, n, XDP_PASS, PORTIER_R_PASS_TTL);
}

/* ---- stateless replies (active-active) ------------------------------------ */

/* A backend's packet of no flow from [::13]:30092 (portier_reply_svc:
 * service [GW_IN]:92) to a client: rewritten from the service and
 * forwarded to the client byte for byte, creating no state, counted
 * (STATELESS_REPLY, the route's stateless_replies, the backend's reply
 * packets); from a backend with no entry, or to the NAT66 address:
 * untouched, PASS_NO_FLOW. */
static void test_stateless_reply6(void **state)
{
	uint64_t c0 = xt_reason(PORTIER_R_STATELESS_REPLY);
	struct portier_stats st0 = xt_stats(xt.skel->maps.portier_backend_stats,
					    be_id(R_STATELESS, 0)), st;
	struct pkt6_spec c = client6(92, IPPROTO_TCP, PKT_SYN), b = { 0 }, e;
	struct portier_route_ha ha[256];
	__u32 rid = R_STATELESS;
	uint64_t replies = 0;
	uint8_t in[PKT_MAX];
	struct xt_run r;

	(void)state;
	memcpy(b.dmac, tn_mac_out, 6);
	memcpy(b.smac, tn_mac_be[2], 6);
	assert_true(pkt6_addr("2001:db8:2::13", b.saddr));
	memcpy(b.daddr, c.saddr, 16);
	b.sport = 30092;
	b.dport = c.sport;
	b.proto = IPPROTO_TCP;
	b.hop_limit = HOPS;
	b.tcp_flags = PKT_ACK | PKT_PSH;
	b.payload_len = 40;
	b.payload_seed = 0x77;
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	e = reply_to_client(&b, &c);
	expect6(&r, &e);
	assert_int_equal(xt_reason(PORTIER_R_STATELESS_REPLY) - c0, 1);
	st = xt_stats(xt.skel->maps.portier_backend_stats, be_id(R_STATELESS, 0));
	assert_int_equal(st.packets[PORTIER_FLOW_DIR_REPLY] - st0.packets[PORTIER_FLOW_DIR_REPLY],
			 1);
	assert_int_equal(st.flows - st0.flows, 0);
	assert_true(xt.ncpu <= 256);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(xt.skel->maps.portier_route_ha), &rid,
					     ha), 0);
	for (int i = 0; i < xt.ncpu; i++)
		replies += ha[i].stateless_replies;
	assert_int_equal(replies, 1);
	/* No state: the same again is stateless again. */
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	expect6(&r, &e);
	assert_int_equal(xt_reason(PORTIER_R_STATELESS_REPLY) - c0, 2);

	b.sport = 30081;	/* R_DNAT's port, from a backend with no entry */
	xt_expect_untouched_on(xt.if_out, in, pkt6_build(&b, in), XDP_PASS,
			       PORTIER_R_PASS_NO_FLOW);
	b.sport = 30092;
	assert_true(pkt6_addr(TN6_GW_OUT, b.daddr));	/* to the NAT66 address */
	xt_expect_untouched_on(xt.if_out, in, pkt6_build(&b, in), XDP_PASS,
			       PORTIER_R_PASS_NO_FLOW);
}

/* ---- connection logs ------------------------------------------------------- */

/* An IPv6 TCP flow of a logging route: SYN, SYN-ACK, FIN both ways: one
 * end event, at the second FIN, family IPv6 and the 16-byte addresses of
 * client, service and backend, the ports, both directions' counters. */
static void test_connlog6(void **state)
{
	struct pkt6_spec c = client6(93, IPPROTO_TCP, PKT_SYN), b;
	struct portier_connlog_event *ev = &events.ev[0];
	uint8_t be[16];
	struct xt_run r;
	uint16_t port;

	(void)state;
	assert_int_equal(xt_events_drain(&events), 0);
	port = snat_first(&c, "2001:db8:2::11", 30093, &r);
	b = reply_of(r.out, IPPROTO_TCP, PKT_SYN | PKT_ACK);
	b.payload_len = 0;
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	c.tcp_flags = PKT_FIN | PKT_ACK;
	run6(xt.if_in, &c, XDP_REDIRECT, &r);
	assert_int_equal(xt_events_drain(&events), 0);		/* one FIN is not the end */
	b.tcp_flags = PKT_FIN | PKT_ACK;
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	assert_int_equal(xt_events_drain(&events), 1);
	assert_int_equal(ev->kind, PORTIER_CONNLOG_KIND_END);
	assert_int_equal(ev->end, PORTIER_END_FIN);
	assert_int_equal(ev->family, PORTIER_AF_INET6);
	assert_int_equal(ev->proto, IPPROTO_TCP);
	assert_int_equal(ev->route_id, R_LOG);
	assert_int_equal(ev->backend_id, be_id(R_LOG, 0));
	assert_memory_equal(ev->client.a8, c.saddr, 16);
	assert_memory_equal(ev->service.a8, c.daddr, 16);
	assert_true(pkt6_addr("2001:db8:2::11", be));
	assert_memory_equal(ev->backend.a8, be, 16);
	assert_int_equal(ntohs(ev->client_port), c.sport);
	assert_int_equal(ntohs(ev->service_port), 93);
	assert_int_equal(ntohs(ev->backend_port), 30093);
	assert_int_equal(ntohs(ev->snat_port), port);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(ev->packets[d], 2);
		assert_int_equal(ev->bytes[d], 2 * (PKT_ETH_LEN + PKT_IP6_LEN + PKT_TCP_LEN));
	}
	assert_true(ev->end_ns >= ev->start_ns && ev->start_ns > 0);
	/* A retransmitted FIN, a late RST: nothing more. */
	run6(xt.if_out, &b, XDP_REDIRECT, &r);
	c.tcp_flags = PKT_RST;
	run6(xt.if_in, &c, XDP_REDIRECT, &r);
	assert_int_equal(xt_events_drain(&events), 0);
}

/* A client's RST ends a logged flow at once (rst_client). */
static void test_connlog6_rst(void **state)
{
	struct pkt6_spec c = client6(93, IPPROTO_TCP, PKT_SYN);
	struct xt_run r;

	(void)state;
	assert_int_equal(xt_events_drain(&events), 0);
	snat_first(&c, "2001:db8:2::11", 30093, &r);
	c.tcp_flags = PKT_RST | PKT_ACK;
	run6(xt.if_in, &c, XDP_REDIRECT, &r);
	assert_int_equal(xt_events_drain(&events), 1);
	assert_int_equal(events.ev[0].end, PORTIER_END_RST_CLIENT);
	assert_int_equal(events.ev[0].family, PORTIER_AF_INET6);
	assert_int_equal(events.ev[0].packets[PORTIER_FLOW_DIR_ORIG], 2);
}

/* ---- the tail call ------------------------------------------------------- */

/* portier_progs empty: an IPv6 frame passes as PASS_NOT_IP, as before
 * IPv6; filled again, it is balanced. */
static void test_tail_call(void **state)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_progs);
	int prog = bpf_program__fd(xt.skel->progs.portier_xdp6);
	struct pkt6_spec s = client6(80, IPPROTO_TCP, PKT_SYN);
	__u32 slot = PORTIER_PROG_XDP6;
	struct xt_run r;

	(void)state;
	assert_int_equal(bpf_map_delete_elem(fd, &slot), 0);
	expect_spec_untouched(&s, XDP_PASS, PORTIER_R_PASS_NOT_IP);
	assert_int_equal(bpf_map_update_elem(fd, &slot, &prog, BPF_ANY), 0);
	snat_first(&s, "2001:db8:2::11", 30080, &r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snat_tcp),
		cmocka_unit_test(test_snat_udp),
		cmocka_unit_test(test_dnat),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_table_routes),
		cmocka_unit_test(test_recreate),
		cmocka_unit_test(test_pass_untouched),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_one_svc6),
		cmocka_unit_test(test_v4_backend),
		cmocka_unit_test(test_ext_headers),
		cmocka_unit_test(test_link_local),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_policy_rate),
		cmocka_unit_test(test_no_snat_addr),
		cmocka_unit_test(test_packet_too_big),
		cmocka_unit_test(test_icmp6_snat_udp_unreachable),
		cmocka_unit_test(test_icmp6_snat_tcp_too_big),
		cmocka_unit_test(test_icmp6_dnat_tcp_router_time_exceeded),
		cmocka_unit_test(test_icmp6_dnat_udp_param_problem),
		cmocka_unit_test(test_icmp6_short_quote),
		cmocka_unit_test(test_icmp6_client_errors),
		cmocka_unit_test(test_icmp6_pass),
		cmocka_unit_test(test_stateless_reply6),
		cmocka_unit_test(test_connlog6),
		cmocka_unit_test(test_connlog6_rst),
		cmocka_unit_test(test_tail_call),
	};

	return xt_run_group("test_xdp6", tests, setup, teardown);
}
