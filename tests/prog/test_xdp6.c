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
 * backends, ports, portier_local6; the config's snat_addr6 and IPv6 table
 * geometry): the userspace route model is IPv4's for now. Expected frames
 * are built from scratch and compared byte for byte, with their TCP/UDP
 * (and ICMPv6) checksums recomputed over the pseudo-header.
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

/* portier_ports[port] |= bits. */
static void port_bits(uint16_t port, __u32 bits)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_ports);
	struct portier_port v;
	__u32 k = port;

	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	v.flags |= bits;
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
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
		port_bits(be[i].port, proto == IPPROTO_TCP ? PORTIER_PORT_BE_TCP :
							     PORTIER_PORT_BE_UDP);
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_routes), &rid, rt,
					     BPF_ANY), 0);
	free(rt);
	if (addr)
		addr_of(addr, &k.addr);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_services), &k, &sv,
					     BPF_ANY), 0);
	port_bits(port, proto == IPPROTO_TCP ? PORTIER_PORT_SVC_TCP : PORTIER_PORT_SVC_UDP);
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

/* The config edit of xt_open: NAT66 to pout's address, the IPv6 table's
 * geometry (the map's size). */
static void edit6(struct portier_config *cfg)
{
	__u32 n = bpf_map__max_entries(xt.skel->maps.portier_conntrack6);

	assert_true(pkt6_addr(TN6_GW_OUT, cfg->snat_addr6.a8));
	cfg->ct6_buckets = n;
	cfg->ct6_step = portier_ct_step_for(n);
}

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

	(void)state;
	if (xt_open("test_xdp6", CLIENT_PORT, 2, edit6))
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
	port_bits(89, PORTIER_PORT_ADMIT);
	put_policy6(R_POLICY, "2001:db8:1::", 64, PORTIER_POLICY_ALLOW);
	put_policy6(R_POLICY, DENIED6, 128, PORTIER_POLICY_DENY);
	put_route6(R_MAGLEV, TN6_GW_IN, 90, IPPROTO_TCP,
		   PORTIER_ROUTE_F_DNAT | PORTIER_ROUTE_F_MAGLEV, mlv, 3);
	put_table(R_MAGLEV);
	put_route6(R_SOURCE, TN6_GW_IN, 91, IPPROTO_UDP, PORTIER_ROUTE_F_SOURCE, src, 3);
	put_table(R_SOURCE);
	put_local6(TN6_GW_IN);
	return 0;
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
static void test_dnat(void **state)
{
	struct pkt6_spec s = client6(81, IPPROTO_TCP, PKT_SYN), e = s, b, c;
	struct xt_run r;

	(void)state;
	run6(xt.if_in, &s, XDP_REDIRECT, &r);
	memcpy(e.dmac, tn_mac_be[1], 6);
	memcpy(e.smac, tn_mac_out, 6);
	assert_true(pkt6_addr("2001:db8:2::12", e.daddr));
	e.dport = 30081;
	e.hop_limit = HOPS - 1;
	expect6(&r, &e);
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
	/* An echo request to the service address: the stack's. */
	xt_expect_untouched(in, icmp6_frame(TN6_CLIENT, TN6_GW_IN, 128, in), XDP_PASS,
			    PORTIER_R_PASS_NOT_L4);
}

/* Malformed: a UDP checksum of 0, truncated headers, a payload length
 * beyond the frame, a version not 6, a TCP data offset < 5. */
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
		cmocka_unit_test(test_v4_backend),
		cmocka_unit_test(test_ext_headers),
		cmocka_unit_test(test_link_local),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_policy_rate),
		cmocka_unit_test(test_no_snat_addr),
		cmocka_unit_test(test_packet_too_big),
		cmocka_unit_test(test_tail_call),
	};

	return xt_run_group("test_xdp6", tests, setup, xt_teardown);
}
