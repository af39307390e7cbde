// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz.c - the packet-path fuzz harness (xdpfuzz.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "maglev.h"
#include "egress.h"
#include "policy.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdpfuzz.h"
#include "xdpfuzz6.h"
#define XT_NO_CMOCKA
#include "xdptest.h"

/* A small table: a few hundred flows fill buckets, so inputs reach the
 * eviction path too. */
#define XF_CT_ENTRIES	256
#define XF_MAX_SEEDS	128	/* data[0] >> 1 picks one */
#define ETH_P_IPV4	0x0800
#define IP_TTL_OFF	8
#define IP_CSUM_OFF	10
#define IP_ADDRS_OFF	12
#define TCP_CSUM_OFF	16
#define UDP_CSUM_OFF	6
/* ICMP (bpf/icmp.h): the errors that are translated, and fragmentation
 * needed as the program makes it. */
#define ICMP_UNREACH	3
#define ICMP_FRAG	4
#define ICMP_TIME	11
#define ICMP_PARAM	12
#define ICMP_CSUM_OFF	2
#define ICMP_ECHOREPLY	0
#define ICMP_ECHO	8
#define ICMP_ID_OFF	4
#define EGRESS_SERVER	"192.0.2.50"	/* the internet (xf_setup routes it) */
#define EGRESS_EXCEPTED	"192.0.2.200"	/* in the rule's except */
#define ECHO_DATA	32		/* an echo seed's data bytes */
#define QUOTE_MIN	(PKT_IP_LEN + 8)
#define GEN_LEN		(PKT_ETH_LEN + PKT_IP_LEN + PKT_ICMP_LEN + QUOTE_MIN)
#define GEN_TTL		64
#define IP_DF_BIT	0x4000
#define BIG_PAYLOAD	1500	/* over the test network's MTU of 1500 */

#define XF_ADD(field, v)	__atomic_fetch_add(&xf.counts.field, (v), __ATOMIC_RELAXED)

static struct {
	struct pt_dataplane *dp;
	int prog_fd;
	int ifindex[2];
	uint8_t seeds[XF_MAX_SEEDS][PKT_MAX];
	size_t seed_len[XF_MAX_SEEDS];
	enum xf_iface seed_if[XF_MAX_SEEDS];
	bool seed_cookie[XF_MAX_SEEDS];	/* a cookie SYN: xf_cookie_chain */
	bool seed_chain[XF_MAX_SEEDS];	/* the IPv6 chain generator's: xf6_chain */
	size_t n_seeds;
	struct xf_counts counts;
	unsigned int n_errors;	/* ICMP errors made by xf_icmp_answer */
} xf;

/* The routes r (n) and an egress rule (bpf/egress.h): the box network
 * (198.51.100.0/24) to the internet 192.0.2.0/24 (routed via the first
 * backend) but 192.0.2.128/25, any protocol, from the output NIC's address
 * (the kube routes' SNAT address: one allocator). */
static int apply_all(struct pt_route *r, size_t n)
{
	struct pt_cidr from, to, except;
	const char *why;
	struct pt_egress_rule rule = { .name = (char *)"box", .from = &from, .n_from = 1,
				       .to = &to, .n_to = 1, .except = &except, .n_except = 1,
				       .protos = PORTIER_EGRESS_P_TCP | PORTIER_EGRESS_P_UDP |
						 PORTIER_EGRESS_P_ICMP };
	struct pt_egress e = { .declared = true, .rules = &rule, .n_rules = 1 };
	struct pt_routeset rs = { .host = (char *)"gw", .routes = r, .n_routes = n,
				  .egress = &e };
	int err;

	if (pt_cidr_parse("198.51.100.0/24", &from, &why) ||
	    pt_cidr_parse("192.0.2.0/24", &to, &why) ||
	    pt_cidr_parse("192.0.2.128/25", &except, &why) ||
	    tn_sh("ip route replace 192.0.2.0/24 via %s dev " TN_IF_OUT, tn_be_addr[0]))
		return -EINVAL;
	err = pt_dp_apply(xf.dp, &rs);
	if (err)
		fprintf(stderr, "xdpfuzz: pt_dp_apply: %s\n", pt_dp_last_error(xf.dp));
	for (size_t i = 0; i < n; i++)
		free(r[i].backends);
	return err;
}

/* Every kind of route: snat over three backends, udp, dnat, a local
 * backend beside a remote one, a "*" service; SYN cookies on, snat over
 * three backends and dnat (xdpfuzz.h); and a maglev dnat route, whose
 * segments with no flow recreate it (XF_POOL_PORT). */
static int load_routes(void)
{
	static const struct tn_be cookie[] = { { "203.0.113.11", XF_COOKIE_BE_PORT, false },
					       { "203.0.113.12", XF_COOKIE_BE_PORT, false },
					       { "203.0.113.13", XF_COOKIE_BE_PORT, false } };
	static const struct tn_be cookie_dnat[] = {
		{ "203.0.113.12", XF_COOKIE_DNAT_BE_PORT, false } };
	static const struct tn_be pool[] = { { "203.0.113.11", XF_POOL_BE_PORT, false },
					     { "203.0.113.12", XF_POOL_BE_PORT, false },
					     { "203.0.113.13", XF_POOL_BE_PORT, false } };
	struct pt_route r[TN_BASE_ROUTES + 3 + XF6_N_ROUTES];

	tn_base_routes(r);
	tn_route(&r[TN_BASE_ROUTES], "cookie", TN_GW_IN, XF_COOKIE_PORT, IPPROTO_TCP,
		 PT_NAT_SNAT, cookie, 3);
	tn_route(&r[TN_BASE_ROUTES + 1], "cookiednat", TN_GW_IN, XF_COOKIE_DNAT_PORT,
		 IPPROTO_TCP, PT_NAT_DNAT, cookie_dnat, 1);
	r[TN_BASE_ROUTES].syn_cookies = PT_SYN_COOKIES_ON;
	r[TN_BASE_ROUTES + 1].syn_cookies = PT_SYN_COOKIES_ON;
	tn_route(&r[TN_BASE_ROUTES + 2], "pool", TN_GW_IN, XF_POOL_PORT, IPPROTO_TCP,
		 PT_NAT_DNAT, pool, 3);
	r[TN_BASE_ROUTES + 2].balance = PT_BALANCE_MAGLEV;
	r[TN_BASE_ROUTES + 2].table_size = PT_MAGLEV_SIZE_DEFAULT;
	xf6_routes(&r[TN_BASE_ROUTES + 3]);
	return apply_all(r, TN_BASE_ROUTES + 3 + XF6_N_ROUTES);
}

static struct pkt_spec client(uint16_t dport, uint8_t proto, uint8_t flags)
{
	struct pkt_spec s = xt_spec(tn_ip4(TN_CLIENT), tn_ip4(TN_GW_IN), 40000, dport, proto, flags);

	s.payload_len = proto == IPPROTO_UDP ? 16 : 0;
	s.payload_seed = 7;
	return s;
}

static void add_seed(enum xf_iface iface, const uint8_t *frame, size_t len)
{
	if (xf.n_seeds == XF_MAX_SEEDS)
		return;
	memcpy(xf.seeds[xf.n_seeds], frame, len);
	xf.seed_len[xf.n_seeds] = len;
	xf.seed_cookie[xf.n_seeds] = false;
	xf.seed_chain[xf.n_seeds] = false;
	xf.seed_if[xf.n_seeds++] = iface;
}

/* An IPv6 seed (xf6_seeds); chain: the chain generator's. */
static void add_seed6(enum xf_iface iface, const uint8_t *frame, size_t len, bool chain)
{
	add_seed(iface, frame, len);
	if (chain && xf.n_seeds && xf.seed_len[xf.n_seeds - 1] == len)
		xf.seed_chain[xf.n_seeds - 1] = true;
}

/* A cookie SYN: played as a whole handshake (xf_cookie_chain). */
static void add_cookie_seed(const uint8_t *frame, size_t len)
{
	add_seed(XF_IN, frame, len);
	if (xf.n_seeds && xf.seed_len[xf.n_seeds - 1] == len)
		xf.seed_cookie[xf.n_seeds - 1] = true;
}

/* An ICMP error of type/code from o's addresses and MACs quoting the
 * packet q builds (its first cut bytes if cut). */
static size_t icmp_seed(const struct pkt_spec *o, uint8_t type, uint8_t code,
			const struct pkt_spec *q, size_t cut, uint8_t *f)
{
	uint8_t b[PKT_MAX];
	size_t n = pkt_build(q, b) - PKT_ETH_LEN;

	if (cut && cut < n)
		n = cut;
	return pkt_build_icmp_error(o, type, code, type == ICMP_UNREACH && code == ICMP_FRAG ?
				    1280 : 0, b + PKT_ETH_LEN, n, f);
}

/* ICMP errors with embedded headers (the client's about the replies of
 * the seeds' flows, whole and cut to 8 bytes; a backend's, which matches a
 * flow only when its SNAT port is the one quoted), and packets too big for
 * the NICs, with and without DF. */
static void make_icmp_seeds(void)
{
	struct pkt_spec o = client(0, IPPROTO_UDP, 0), q, s;
	uint8_t f[PKT_MAX];

	o.proto = IPPROTO_ICMP;
	q = client(53, IPPROTO_UDP, 0);
	q.saddr = o.daddr;
	q.daddr = o.saddr;
	q.sport = 53;
	q.dport = 40000;
	add_seed(XF_IN, f, icmp_seed(&o, ICMP_UNREACH, 3, &q, 0, f));
	q.proto = IPPROTO_TCP;
	q.sport = 80;
	q.tcp_flags = PKT_SYN | PKT_ACK;
	q.payload_len = 0;
	add_seed(XF_IN, f, icmp_seed(&o, ICMP_PARAM, 0, &q, 0, f));
	add_seed(XF_IN, f, icmp_seed(&o, ICMP_TIME, 0, &q, QUOTE_MIN, f));
	memcpy(o.dmac, tn_mac_out, 6);
	memcpy(o.smac, tn_mac_be[0], 6);
	o.saddr = tn_ip4(tn_be_addr[0]);
	o.daddr = tn_ip4(TN_GW_OUT);
	q = client(30080, IPPROTO_TCP, PKT_SYN);
	q.saddr = o.daddr;
	q.daddr = o.saddr;
	q.sport = 16384;
	add_seed(XF_OUT, f, icmp_seed(&o, ICMP_UNREACH, ICMP_FRAG, &q, 0, f));

	s = client(80, IPPROTO_TCP, PKT_ACK | PKT_PSH);
	s.df = true;
	s.payload_len = BIG_PAYLOAD;
	add_seed(XF_IN, f, pkt_build(&s, f));
	s = client(53, IPPROTO_UDP, 0);
	s.df = true;
	s.payload_len = BIG_PAYLOAD;
	add_seed(XF_IN, f, pkt_build(&s, f));
	s.df = false;
	add_seed(XF_IN, f, pkt_build(&s, f));
}

/* TCP with options (MSS, SACK permitted, timestamps, window scale on
 * SYNs; timestamps and SACK blocks on data), and the cookie routes: SYNs
 * with every option set, some and none (each played as a handshake), a
 * stray ACK (a wrong cookie), a SYN with data, a RST, a backend's SYN-ACK
 * that no flow expects. */
static void make_option_seeds(void)
{
	static const uint8_t syn_opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x03, 0xe8,
					     0, 0, 0, 0, 1, 3, 3, 7 };
	static const uint8_t mss_ts_opt[16] = { 2, 4, 0x05, 0x78, 1, 1, 8, 10, 0, 0, 0, 9,
						0, 0, 0, 0 };
	static const uint8_t data_opt[32] = { 1, 1, 8, 10, 0, 0, 0x03, 0xe9, 0, 0, 0, 5,
					      1, 1, 5, 18, 0, 0, 0x10, 0, 0, 0, 0x20, 0,
					      0, 0, 0x30, 0, 0, 0, 0x40, 0 };
	uint8_t f[PKT_MAX];
	struct pkt_spec s = client(80, IPPROTO_TCP, 0);

	s.df = true;
	add_seed(XF_IN, f, xf_tcp_frame(s, 1000, 0, PKT_SYN, 64240, syn_opt, 20, 0, f));
	add_seed(XF_IN, f, xf_tcp_frame(s, 1001, 5, PKT_ACK | PKT_PSH, 502, data_opt, 32, 40, f));
	s.dport = XF_COOKIE_PORT;
	add_cookie_seed(f, xf_tcp_frame(s, 1000, 0, PKT_SYN, 64240, syn_opt, 20, 0, f));
	add_cookie_seed(f, xf_tcp_frame(s, 2000, 0, PKT_SYN, 8192, NULL, 0, 0, f));
	add_cookie_seed(f, xf_tcp_frame(s, 3000, 0, PKT_SYN, 29200, mss_ts_opt, 16, 0, f));
	add_seed(XF_IN, f, xf_tcp_frame(s, 1001, 77, PKT_ACK, 502, data_opt, 12, 0, f));
	add_seed(XF_IN, f, xf_tcp_frame(s, 4000, 0, PKT_SYN, 64240, syn_opt, 20, 30, f));
	add_seed(XF_IN, f, xf_tcp_frame(s, 1001, 0, PKT_RST, 0, NULL, 0, 0, f));
	s.dport = XF_COOKIE_DNAT_PORT;
	add_cookie_seed(f, xf_tcp_frame(s, 5000, 0, PKT_SYN, 64240, syn_opt, 20, 0, f));
	s = client(16400, IPPROTO_TCP, 0);
	memcpy(s.dmac, tn_mac_out, 6);
	memcpy(s.smac, tn_mac_be[1], 6);
	s.saddr = tn_ip4(tn_be_addr[1]);
	s.daddr = tn_ip4(TN_GW_OUT);
	s.sport = XF_COOKIE_BE_PORT;
	add_seed(XF_OUT, f, xf_tcp_frame(s, 9000, 1001, PKT_SYN | PKT_ACK, 64000, syn_opt, 20, 0,
					 f));
}

/* An ICMP echo (type) with identifier id, sequence 1 and ECHO_DATA bytes,
 * s's MACs and addresses; checksums from scratch. Its length. */
static size_t echo_frame(const struct pkt_spec *s, uint8_t type, uint16_t id, uint8_t *f)
{
	uint8_t ic[PKT_ICMP_LEN + ECHO_DATA];
	size_t n;

	memset(ic, 0, sizeof(ic));
	for (size_t i = PKT_ICMP_LEN; i < sizeof(ic); i++)
		ic[i] = (uint8_t)(0x61 + i);
	/* The error builder lays Ethernet, IP and 8 bytes of ICMP header
	 * before a "quote": our data; then our header over its. */
	n = pkt_build_icmp_error(s, type, 0, 0, ic + PKT_ICMP_LEN, ECHO_DATA, f);
	ic[0] = type;
	ic[ICMP_ID_OFF] = (uint8_t)(id >> 8);
	ic[ICMP_ID_OFF + 1] = (uint8_t)id;
	ic[7] = 1;
	n = n == PKT_ETH_LEN + PKT_IP_LEN + sizeof(ic) ? n : 0;
	{
		uint16_t c = (uint16_t)~pkt_fold(pkt_sum(ic, sizeof(ic), 0));

		ic[ICMP_CSUM_OFF] = (uint8_t)(c >> 8);
		ic[ICMP_CSUM_OFF + 1] = (uint8_t)c;
	}
	memcpy(f + PKT_ETH_LEN + PKT_IP_LEN, ic, sizeof(ic));
	return n;
}

/* Egress (bpf/egress.h): the client to the internet, TCP (SYN, data,
 * FIN), UDP (to a port the "dns" route serves on the gateway), an echo;
 * a SYN and an echo to the excepted part (refused); a segment without a
 * flow is any mutated one. Their answers come from xf_one. */
static void make_egress_seeds(void)
{
	struct pkt_spec s = client(443, IPPROTO_TCP, PKT_SYN);
	uint8_t f[PKT_MAX];

	s.daddr = tn_ip4(EGRESS_SERVER);
	add_seed(XF_IN, f, pkt_build(&s, f));
	s.tcp_flags = PKT_ACK | PKT_PSH;
	s.payload_len = 40;
	add_seed(XF_IN, f, pkt_build(&s, f));
	s.tcp_flags = PKT_FIN | PKT_ACK;
	s.payload_len = 0;
	add_seed(XF_IN, f, pkt_build(&s, f));
	s = client(53, IPPROTO_UDP, 0);
	s.daddr = tn_ip4(EGRESS_SERVER);
	add_seed(XF_IN, f, pkt_build(&s, f));
	s.proto = IPPROTO_ICMP;
	add_seed(XF_IN, f, echo_frame(&s, ICMP_ECHO, 0x4444, f));
	s.daddr = tn_ip4(EGRESS_EXCEPTED);
	add_seed(XF_IN, f, echo_frame(&s, ICMP_ECHO, 0x4445, f));
	s = client(443, IPPROTO_TCP, PKT_SYN);
	s.daddr = tn_ip4(EGRESS_EXCEPTED);
	add_seed(XF_IN, f, pkt_build(&s, f));
}

static void make_seeds(void)
{
	static const uint16_t tcp_ports[] = { 80, 81, 82, 85, XF_POOL_PORT };
	uint8_t f[PKT_MAX];
	struct pkt_spec s;

	for (size_t i = 0; i < sizeof(tcp_ports) / sizeof(tcp_ports[0]); i++) {
		s = client(tcp_ports[i], IPPROTO_TCP, PKT_SYN);
		add_seed(XF_IN, f, pkt_build(&s, f));
		s.tcp_flags = PKT_ACK | PKT_PSH;
		s.payload_len = 40;
		add_seed(XF_IN, f, pkt_build(&s, f));
		s.tcp_flags = PKT_FIN | PKT_ACK;
		s.payload_len = 0;
		add_seed(XF_IN, f, pkt_build(&s, f));
	}
	s = client(53, IPPROTO_UDP, 0);
	add_seed(XF_IN, f, pkt_build(&s, f));
	s.udp_no_csum = true;
	add_seed(XF_IN, f, pkt_build(&s, f));
	/* A backend's answer to a SNAT port, and to a client (dnat). */
	s = client(16384, IPPROTO_TCP, PKT_SYN | PKT_ACK);
	memcpy(s.dmac, tn_mac_out, 6);
	memcpy(s.smac, tn_mac_be[0], 6);
	s.saddr = tn_ip4(tn_be_addr[0]);
	s.daddr = tn_ip4(TN_GW_OUT);
	s.sport = 30080;
	add_seed(XF_OUT, f, pkt_build(&s, f));
	s.daddr = tn_ip4(TN_CLIENT);
	s.sport = 30081;
	s.dport = 40000;
	add_seed(XF_OUT, f, pkt_build(&s, f));
	/* ... from the dnat route's backend, with no flow: a stateless reply. */
	memcpy(s.smac, tn_mac_be[1], 6);
	s.saddr = tn_ip4(tn_be_addr[1]);
	s.tcp_flags = PKT_ACK | PKT_PSH;
	s.payload_len = 40;
	add_seed(XF_OUT, f, pkt_build(&s, f));
	s = client(9999, IPPROTO_TCP, PKT_SYN);
	add_seed(XF_IN, f, pkt_build(&s, f));
	add_seed(XF_IN, f, pkt_build_arp(tn_mac_client, tn_ip4(TN_CLIENT), tn_ip4(TN_GW_IN), f));
	s = client(80, IPPROTO_TCP, PKT_SYN);
	add_seed(XF_IN, f, pkt_build_icmp_echo(&s, f));
	add_seed(XF_IN, f, pkt_build_ipv6_tcp(&s, f));
	add_seed(XF_IN, f, pkt_build_vlan(&s, 7, f));
	make_icmp_seeds();
	make_option_seeds();
	make_egress_seeds();
	xf6_seeds(add_seed6);
}

int xf_setup(void)
{
	return xf_setup_sized(XF_CT_ENTRIES);
}

int xf_setup_sized(__u32 ct_entries)
{
	struct pt_dp_opts o = { .ct_entries = ct_entries };
	struct pt_addr local[2 + XF6_N_LOCAL] = { tn_addr(TN_GW_IN), tn_addr(TN_GW_OUT) };
	struct portier_config cfg;
	int err;

	xf.ifindex[XF_IN] = (int)if_nametoindex(TN_IF_IN);
	xf.ifindex[XF_OUT] = (int)if_nametoindex(TN_IF_OUT);
	xf6_local(&local[2]);
	err = pt_dp_open(&o, &xf.dp);
	if (!err) {
		xf.prog_fd = bpf_program__fd(pt_dp_skel(xf.dp)->progs.portier_xdp);
		pt_dp_config_defaults(&cfg);
		cfg.snat_addr.a32[0] = tn_ip4(TN_GW_OUT);
		cfg.snat_family = PORTIER_AF_INET;
		cfg.input_ifindex = (__u32)xf.ifindex[XF_IN];
		cfg.output_ifindex = (__u32)xf.ifindex[XF_OUT];
		xf6_config(&cfg);
		err = pt_dp_set_config(xf.dp, &cfg);
	}
	if (!err)
		err = pt_dp_set_local(xf.dp, local, 2 + XF6_N_LOCAL);
	if (!err)
		err = load_routes();
	if (err) {
		fprintf(stderr, "xdpfuzz: setup: %s\n", pt_dp_last_error(xf.dp));
		return -1;
	}
	make_seeds();
	return 0;
}

struct pt_dataplane *xf_dp(void)
{
	return xf.dp;
}

void xf_teardown(void)
{
	pt_dp_close(xf.dp);
	xf.dp = NULL;
}

size_t xf_seeds(uint8_t (*frames)[PKT_MAX], size_t *lens, enum xf_iface *ifaces, size_t max)
{
	size_t n = xf.n_seeds < max ? xf.n_seeds : max;

	for (size_t i = 0; i < n; i++) {
		memcpy(frames[i], xf.seeds[i], xf.seed_len[i]);
		lens[i] = xf.seed_len[i];
		ifaces[i] = xf.seed_if[i];
	}
	return n;
}

/* A checksum that verifies: the ones' complement sum of everything, the
 * checksum included, is all ones (either representation of zero). */
static bool ip_csum_ok(const uint8_t *ip)
{
	return pkt_fold(pkt_sum(ip, PKT_IP_LEN, 0)) == 0xffff;
}

static bool l4_csum_ok(const uint8_t *ip, size_t l4_len)
{
	uint32_t sum = pkt_sum(ip + IP_ADDRS_OFF, 8, 0) + ip[9] + (uint32_t)l4_len;

	return pkt_fold(pkt_sum(ip + PKT_IP_LEN, l4_len, sum)) == 0xffff;
}

/* May byte i of a TCP/UDP over IPv4 frame change? MACs, TTL, IP checksum,
 * addresses, ports, the TCP/UDP checksum. */
static bool rewritable(size_t i, uint8_t proto)
{
	size_t l4 = PKT_ETH_LEN + PKT_IP_LEN;
	size_t csum = l4 + (proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);

	return i < 12 || i == PKT_ETH_LEN + IP_TTL_OFF ||
	       (i >= PKT_ETH_LEN + IP_CSUM_OFF && i < l4) || (i >= l4 && i < l4 + 4) ||
	       i == csum || i == csum + 1;
}

/* ---- ICMP ------------------------------------------------------------------ */

/* Does the ICMP message at ic (n bytes) verify? */
static bool icmp_csum_ok(const uint8_t *ic, size_t n)
{
	return pkt_fold(pkt_sum(ic, n, 0)) == 0xffff;
}

/* May byte i of an ICMP error quoting a packet of protocol proto change
 * in its translation? MACs, the outer TTL, checksum and addresses, the
 * ICMP checksum, the quoted IP checksum and addresses, ports and TCP/UDP
 * checksum. */
static bool icmp_rewritable(size_t i, uint8_t proto)
{
	size_t ip = PKT_ETH_LEN, ic = ip + PKT_IP_LEN, in = ic + PKT_ICMP_LEN;
	size_t l4 = in + PKT_IP_LEN, csum = l4 + (proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);

	return i < 12 || i == ip + IP_TTL_OFF || (i >= ip + IP_CSUM_OFF && i < ic) ||
	       i == ic + ICMP_CSUM_OFF || i == ic + ICMP_CSUM_OFF + 1 ||
	       i == in + IP_CSUM_OFF || i == in + IP_CSUM_OFF + 1 ||
	       (i >= in + IP_ADDRS_OFF && i < l4) || (i >= l4 && i < l4 + 4) || i == csum ||
	       i == csum + 1;
}

/* A rewritten ICMP echo (egress, bpf/egress.h): only MACs, TTL, the IP
 * checksum and addresses, the ICMP checksum and identifier change; TTL - 1
 * on a redirect; both checksums that verified still verify. */
static const char *check_echo(const uint8_t *in, const uint8_t *out, size_t len, int act)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *oip = out + PKT_ETH_LEN;
	size_t ic = PKT_ETH_LEN + PKT_IP_LEN, tot = pkt_get16(ip + 2);

	if (act != XDP_REDIRECT && act != XDP_PASS)
		return "an echo was rewritten but neither forwarded nor passed";
	if (ip[0] != 0x45 || (pkt_get16(ip + 6) & 0x3fff))
		return "an echo with IP options or fragmented was rewritten";
	if (tot < PKT_IP_LEN + PKT_ICMP_LEN || PKT_ETH_LEN + tot > len)
		return "an echo with bad lengths was rewritten";
	if (ip[PKT_IP_LEN + 1] != 0)
		return "an echo of code other than 0 was rewritten";
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] && !(i < 12 || i == PKT_ETH_LEN + IP_TTL_OFF ||
					 (i >= PKT_ETH_LEN + IP_CSUM_OFF && i < ic) ||
					 i == ic + ICMP_CSUM_OFF || i == ic + ICMP_CSUM_OFF + 1 ||
					 i == ic + ICMP_ID_OFF || i == ic + ICMP_ID_OFF + 1))
			return "an echo changed beyond MACs, TTL, addresses, identifier, checksums";
	if (act == XDP_REDIRECT && oip[IP_TTL_OFF] != (uint8_t)(ip[IP_TTL_OFF] - 1))
		return "a forwarded echo did not lose one TTL";
	if (act == XDP_PASS && oip[IP_TTL_OFF] != ip[IP_TTL_OFF])
		return "an echo passed to the kernel lost TTL";
	if (ip_csum_ok(ip) && !ip_csum_ok(oip))
		return "a translated echo's IP checksum no longer verifies";
	if (icmp_csum_ok(ip + PKT_IP_LEN, tot - PKT_IP_LEN) &&
	    !icmp_csum_ok(oip + PKT_IP_LEN, tot - PKT_IP_LEN))
		return "a translated echo's ICMP checksum no longer verifies";
	return NULL;
}

/* A rewritten ICMP frame: only a translated error, only its translated
 * bytes, and every checksum that verified (recomputed from scratch: outer
 * IP, ICMP, quoted IP, the quoted TCP/UDP one when the quote is whole)
 * still verifies. */
static const char *check_icmp(const uint8_t *in, const uint8_t *out, size_t len, int act)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *oip = out + PKT_ETH_LEN;
	const uint8_t *ic = ip + PKT_IP_LEN, *q = ic + PKT_ICMP_LEN, *oq = oip + PKT_IP_LEN + 8;
	size_t tot = pkt_get16(ip + 2), qlen, qtot;
	uint8_t proto;

	if (act != XDP_REDIRECT && act != XDP_PASS)
		return "an ICMP frame was rewritten but neither forwarded nor passed";
	if (ip[0] != 0x45 || (pkt_get16(ip + 6) & 0x3fff))
		return "an ICMP frame with IP options or fragmented was rewritten";
	if (tot < PKT_IP_LEN + PKT_ICMP_LEN + QUOTE_MIN || PKT_ETH_LEN + tot > len)
		return "an ICMP frame with bad lengths was rewritten";
	if (ic[0] != ICMP_UNREACH && ic[0] != ICMP_TIME && ic[0] != ICMP_PARAM)
		return "an ICMP message that is not an error was rewritten";
	proto = q[9];
	if (q[0] != 0x45 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP) ||
	    (pkt_get16(q + 6) & 0x1fff))
		return "an ICMP error quoting no TCP/UDP header was rewritten";
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] && !icmp_rewritable(i, proto))
			return "an ICMP error changed beyond MACs, TTL, addresses, ports, checksums";
	if (act == XDP_REDIRECT && oip[IP_TTL_OFF] != (uint8_t)(ip[IP_TTL_OFF] - 1))
		return "a forwarded ICMP error did not lose one TTL";
	if (act == XDP_PASS && oip[IP_TTL_OFF] != ip[IP_TTL_OFF])
		return "an ICMP error passed to the kernel lost TTL";
	if (ip_csum_ok(ip) && !ip_csum_ok(oip))
		return "a translated ICMP error's IP checksum no longer verifies";
	if (icmp_csum_ok(ic, tot - PKT_IP_LEN) && !icmp_csum_ok(oip + PKT_IP_LEN, tot - PKT_IP_LEN))
		return "a translated ICMP error's checksum no longer verifies";
	if (ip_csum_ok(q) && !ip_csum_ok(oq))
		return "the quoted IP header's checksum no longer verifies";
	qlen = tot - PKT_IP_LEN - PKT_ICMP_LEN;
	qtot = pkt_get16(q + 2);
	if (proto == IPPROTO_UDP && pkt_get16(q + PKT_IP_LEN + UDP_CSUM_OFF) == 0) {
		if (pkt_get16(oq + PKT_IP_LEN + UDP_CSUM_OFF) != 0)
			return "a quoted UDP datagram without checksum got one";
		return NULL;
	}
	if (qtot >= PKT_IP_LEN + (proto == IPPROTO_TCP ? PKT_TCP_LEN : PKT_UDP_LEN) &&
	    qtot <= qlen && l4_csum_ok(q, qtot - PKT_IP_LEN) && !l4_csum_ok(oq, qtot - PKT_IP_LEN))
		return "the quoted TCP/UDP checksum no longer verifies";
	return NULL;
}

/* XDP_TX: only fragmentation needed for a too-big TCP/UDP packet with DF,
 * every byte as bpf/icmp.h makes it, checksums from scratch. */
static const char *check_frag_needed(const uint8_t *in, size_t len, const uint8_t *out,
				     size_t out_len)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *oip = out + PKT_ETH_LEN;
	const uint8_t *oic = oip + PKT_IP_LEN;

	if (len < PKT_ETH_LEN + QUOTE_MIN || pkt_get16(in + 12) != ETH_P_IPV4 || ip[0] != 0x45 ||
	    (ip[9] != IPPROTO_TCP && ip[9] != IPPROTO_UDP))
		return "XDP_TX for a frame that is not TCP/UDP over IPv4";
	if ((pkt_get16(ip + 6) & 0x7fff) != IP_DF_BIT)
		return "XDP_TX for a packet without DF, or a fragment";
	if (out_len != GEN_LEN)
		return "fragmentation needed of the wrong length";
	if (memcmp(out, in + 6, 6) || memcmp(out + 6, in, 6) || pkt_get16(out + 12) != ETH_P_IPV4)
		return "fragmentation needed not sent back to the sender's MAC";
	if (oip[0] != 0x45 || pkt_get16(oip + 2) != GEN_LEN - PKT_ETH_LEN || pkt_get16(oip + 6) ||
	    oip[IP_TTL_OFF] != GEN_TTL || oip[9] != IPPROTO_ICMP || memcmp(oip + 16, ip + 12, 4))
		return "fragmentation needed with a wrong IP header";
	if (!ip_csum_ok(oip))
		return "fragmentation needed with a bad IP checksum";
	if (oic[0] != ICMP_UNREACH || oic[1] != ICMP_FRAG || pkt_get16(oic + 4) ||
	    !pkt_get16(oic + 6) || pkt_get16(oic + 6) >= pkt_get16(ip + 2))
		return "fragmentation needed with a wrong type, code or MTU";
	if (!icmp_csum_ok(oic, GEN_LEN - PKT_ETH_LEN - PKT_IP_LEN))
		return "fragmentation needed with a bad ICMP checksum";
	if (memcmp(oic + PKT_ICMP_LEN, ip, QUOTE_MIN))
		return "fragmentation needed does not quote the packet as received";
	return NULL;
}

/* ---- malformed frames and the SYN proxy's ------------------------------- */

/* Why frame in (len bytes) may not be forwarded (a TCP, UDP or ICMP
 * packet over IPv4 without options, whole: lengths inside the frame and
 * each other, TCP data offset, UDP length), or NULL. */
static const char *malformed(const uint8_t *in, size_t len)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *l4 = ip + PKT_IP_LEN;
	size_t tot, n;

	if (len < PKT_ETH_LEN + PKT_IP_LEN || pkt_get16(in + 12) != ETH_P_IPV4)
		return "not IPv4";
	if (ip[0] != 0x45)
		return "IPv4 version or header length";
	tot = pkt_get16(ip + 2);
	if (tot < PKT_IP_LEN || PKT_ETH_LEN + tot > len)
		return "IPv4 total length";
	if (pkt_get16(ip + 6) & 0x3fff)
		return "a fragment";
	n = tot - PKT_IP_LEN;
	switch (ip[9]) {
	case IPPROTO_TCP:
		if (n < PKT_TCP_LEN || (size_t)(l4[12] >> 4) * 4 < PKT_TCP_LEN ||
		    (size_t)(l4[12] >> 4) * 4 > n)
			return "TCP header length";
		return NULL;
	case IPPROTO_UDP:
		if (n < PKT_UDP_LEN || pkt_get16(l4 + 4) < PKT_UDP_LEN || pkt_get16(l4 + 4) > n)
			return "UDP length";
		return NULL;
	case IPPROTO_ICMP:
		/* An echo (egress) is whole with its header; an error with its
		 * quote. */
		if (n >= PKT_ICMP_LEN && (l4[0] == ICMP_ECHO || l4[0] == ICMP_ECHOREPLY))
			return NULL;
		return n < PKT_ICMP_LEN + QUOTE_MIN ? "ICMP error shorter than its quote" : NULL;
	}
	return "neither TCP, UDP nor ICMP";
}

/* Is in a TCP segment of a cookie route (to its service port, or from its
 * backends' port), which the SYN proxy may translate or rebuild? */
static bool cookie_frame(const uint8_t *in, size_t len)
{
	const uint8_t *l4 = in + PKT_ETH_LEN + PKT_IP_LEN;
	uint16_t sp, dp;

	if (len < PKT_ETH_LEN + PKT_IP_LEN + 4 || pkt_get16(in + 12) != ETH_P_IPV4 ||
	    in[PKT_ETH_LEN] != 0x45 || in[PKT_ETH_LEN + 9] != IPPROTO_TCP)
		return false;
	sp = pkt_get16(l4);
	dp = pkt_get16(l4 + 2);
	return dp == XF_COOKIE_PORT || dp == XF_COOKIE_DNAT_PORT || sp == XF_COOKIE_BE_PORT ||
	       sp == XF_COOKIE_DNAT_BE_PORT;
}

/* Are the TCP header's options well-formed (kinds with lengths that fit)? */
static bool tcp_opts_ok(const uint8_t *th)
{
	size_t hl = (size_t)(th[12] >> 4) * 4;

	for (size_t i = PKT_TCP_LEN; i < hl;) {
		if (th[i] == 0)
			return true;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl || th[i + 1] < 2 || i + th[i + 1] > hl)
			return false;
		i += th[i + 1];
	}
	return true;
}

/* The SYN proxy's frames: 74 bytes, a 40-byte TCP header, IPv4 and TCP
 * checksums right from scratch, options well-formed. */
#define SP_FRAME_LEN	(PKT_ETH_LEN + PKT_IP_LEN + 40)

static const char *check_sp_frame(const uint8_t *out, size_t out_len)
{
	const uint8_t *oip = out + PKT_ETH_LEN;

	if (out_len != SP_FRAME_LEN || oip[0] != 0x45 || pkt_get16(oip + 2) != SP_FRAME_LEN -
	    PKT_ETH_LEN || oip[9] != IPPROTO_TCP || (oip[PKT_IP_LEN + 12] >> 4) != 10)
		return "a frame the SYN proxy built is not a 74-byte TCP/IPv4 segment";
	if (pkt_get16(oip + 6) & 0x3fff)
		return "a frame the SYN proxy built is a fragment";
	if (!ip_csum_ok(oip) || !l4_csum_ok(oip, 40))
		return "a frame the SYN proxy built has a checksum that does not verify";
	if (!tcp_opts_ok(oip + PKT_IP_LEN))
		return "a frame the SYN proxy built has malformed TCP options";
	return NULL;
}

/* XDP_TX of a TCP segment: a cookie SYN-ACK answering a SYN, or the SYN
 * proxy's ACK answering a backend's SYN-ACK; back to the sender (MACs,
 * addresses and ports swapped), TTL 64, acknowledging the segment. */
static const char *check_tcp_tx(const uint8_t *in, size_t len, const uint8_t *out,
				size_t out_len)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *th = ip + PKT_IP_LEN;
	const uint8_t *oip = out + PKT_ETH_LEN, *oth = oip + PKT_IP_LEN;
	uint8_t flags = th[13] & (PKT_SYN | PKT_ACK | PKT_RST | PKT_FIN);
	const char *err;

	if (!cookie_frame(in, len))
		return "XDP_TX of a TCP segment for a frame of no cookie route";
	if ((err = check_sp_frame(out, out_len)))
		return err;
	if (memcmp(out, in + 6, 6) || memcmp(out + 6, in, 6))
		return "a TCP segment sent back not to the sender's MAC";
	if (oip[IP_TTL_OFF] != GEN_TTL || memcmp(oip + 12, ip + 16, 4) ||
	    memcmp(oip + 16, ip + 12, 4) || pkt_get16(oth) != pkt_get16(th + 2) ||
	    pkt_get16(oth + 2) != pkt_get16(th))
		return "a TCP segment sent back with wrong addresses, ports or TTL";
	if (pkt_get32(oth + 8) != pkt_get32(th + 4) + 1)
		return "a TCP segment sent back does not acknowledge the one it answers";
	if (flags == PKT_SYN) {
		if (oth[13] != (PKT_SYN | PKT_ACK) || pkt_get16(oth + 14) != 0)
			return "a cookie SYN-ACK with wrong flags or a window";
		__atomic_fetch_add(&xf.counts.tx_cookie_synack, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (flags == (PKT_SYN | PKT_ACK)) {
		if (oth[13] != PKT_ACK || pkt_get32(oth + 4) != pkt_get32(th + 8))
			return "the SYN proxy's ACK to a backend with wrong flags or sequence";
		__atomic_fetch_add(&xf.counts.tx_backend_ack, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return "XDP_TX of a TCP segment answering neither a SYN nor a SYN-ACK";
}

/* A cookie route's segment, forwarded or passed changed: translated in
 * place (sequence numbers, timestamps, window, SACK blocks: only the TCP
 * header beyond the ports, with MACs, TTL, addresses, ports and
 * checksums), or rebuilt by the SYN proxy (its ACK as the client's SYN,
 * the backend's SYN-ACK as the client's ACK: check_sp_frame). A checksum
 * that verified verifies after; a rebuilt frame's always do. */
static const char *check_cookie(const uint8_t *in, size_t len, const uint8_t *out,
				size_t out_len, int act)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *oip = out + PKT_ETH_LEN;
	size_t tot = pkt_get16(ip + 2), hl = (size_t)(ip[PKT_IP_LEN + 12] >> 4) * 4;
	bool rebuilt = out_len != len || in[PKT_ETH_LEN + PKT_IP_LEN + 13] !=
					       out[PKT_ETH_LEN + PKT_IP_LEN + 13];
	const char *err;

	if (act == XDP_REDIRECT && oip[IP_TTL_OFF] != (uint8_t)(ip[IP_TTL_OFF] - 1))
		return "a redirected cookie segment did not lose one TTL";
	if (act == XDP_PASS && oip[IP_TTL_OFF] != ip[IP_TTL_OFF])
		return "a cookie segment passed to the kernel lost TTL";
	if (rebuilt) {
		__atomic_fetch_add(&xf.counts.rebuilt, 1, __ATOMIC_RELAXED);
		if (!ip_csum_ok(ip) || !l4_csum_ok(ip, tot - PKT_IP_LEN))
			__atomic_fetch_add(&xf.counts.rebuilt_bad_csum, 1, __ATOMIC_RELAXED);
		err = check_sp_frame(out, out_len);
		if (!err && (oip[PKT_IP_LEN + 13] != PKT_SYN && oip[PKT_IP_LEN + 13] != PKT_ACK))
			err = "a frame the SYN proxy rebuilt is neither a SYN nor an ACK";
		return err;
	}
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] && !rewritable(i, IPPROTO_TCP) &&
		    !(i >= PKT_ETH_LEN + PKT_IP_LEN + 4 && i < PKT_ETH_LEN + PKT_IP_LEN + hl &&
		      i != PKT_ETH_LEN + PKT_IP_LEN + 12 && i != PKT_ETH_LEN + PKT_IP_LEN + 13))
			return "a cookie segment changed beyond its TCP header and NAT fields";
	if (ip_csum_ok(ip) && !ip_csum_ok(oip))
		return "a cookie segment's IPv4 checksum no longer verifies";
	if (l4_csum_ok(ip, tot - PKT_IP_LEN) && !l4_csum_ok(oip, tot - PKT_IP_LEN))
		return "a cookie segment's TCP checksum no longer verifies";
	return NULL;
}

/* The invariants of one run: in (len bytes) became out (out_len bytes)
 * with action act (not XDP_TX). */
static const char *check(const uint8_t *in, const uint8_t *out, size_t len, size_t out_len,
			 int act)
{
	const uint8_t *ip = in + PKT_ETH_LEN, *oip = out + PKT_ETH_LEN;
	bool cookie = cookie_frame(in, len);
	size_t tot, l4_hdr;
	uint8_t proto;

	if (act != XDP_PASS && act != XDP_DROP && act != XDP_REDIRECT)
		return "an action other than pass, drop or redirect";
	if (out_len == len && !memcmp(in, out, len))
		return NULL;
	/* The SYN proxy drops some frames it has begun to rebuild (a cookie
	 * ACK whose SYN cannot be made): what is dropped is not sent. */
	if (act == XDP_DROP)
		return cookie ? NULL : "a dropped frame was rewritten";
	if (out_len != len && !cookie)
		return "the frame changed length";
	if (len < PKT_ETH_LEN + PKT_IP_LEN + PKT_UDP_LEN || pkt_get16(in + 12) != ETH_P_IPV4)
		return "a frame that is not IPv4 was rewritten";
	proto = ip[9];
	if (proto == IPPROTO_ICMP && len > PKT_ETH_LEN + PKT_IP_LEN &&
	    (ip[PKT_IP_LEN] == ICMP_ECHO || ip[PKT_IP_LEN] == ICMP_ECHOREPLY)) {
		XF_ADD(echo_rewritten, 1);
		return check_echo(in, out, len, act);
	}
	if (proto == IPPROTO_ICMP)
		return check_icmp(in, out, len, act);
	if (ip[0] != 0x45)
		return "an IPv4 header with options or another version was rewritten";
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return "a frame neither TCP nor UDP was rewritten";
	if (pkt_get16(ip + 6) & 0x3fff)
		return "a fragment was rewritten";
	tot = pkt_get16(ip + 2);
	l4_hdr = proto == IPPROTO_TCP ? PKT_TCP_LEN : PKT_UDP_LEN;
	if (tot < PKT_IP_LEN + l4_hdr || PKT_ETH_LEN + tot > len)
		return "a frame with bad lengths was rewritten";
	if (proto == IPPROTO_TCP &&
	    ((ip[PKT_IP_LEN + 12] >> 4) < 5 || (size_t)(ip[PKT_IP_LEN + 12] >> 4) * 4 >
						   tot - PKT_IP_LEN))
		return "a TCP header with a bad data offset was rewritten";
	if (cookie)
		return check_cookie(in, len, out, out_len, act);
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] && !rewritable(i, proto))
			return "a byte besides MACs, TTL, addresses, ports and checksums changed";
	if (act == XDP_REDIRECT && oip[IP_TTL_OFF] != (uint8_t)(ip[IP_TTL_OFF] - 1))
		return "a redirected frame did not lose one TTL";
	if (act == XDP_PASS && oip[IP_TTL_OFF] != ip[IP_TTL_OFF])
		return "a frame passed to the kernel lost TTL (the kernel decrements it)";
	if (ip_csum_ok(ip) && !ip_csum_ok(oip))
		return "the IPv4 header checksum no longer verifies";
	if (proto == IPPROTO_UDP && pkt_get16(ip + PKT_IP_LEN + UDP_CSUM_OFF) == 0) {
		if (pkt_get16(oip + PKT_IP_LEN + UDP_CSUM_OFF) != 0)
			return "a UDP datagram without checksum got one";
		return NULL;
	}
	if (l4_csum_ok(ip, tot - PKT_IP_LEN) && !l4_csum_ok(oip, tot - PKT_IP_LEN))
		return "the TCP/UDP checksum no longer verifies";
	return NULL;
}

/* XDP_TX: fragmentation needed (ICMP) or a TCP segment of the SYN proxy;
 * never for a malformed frame. */
static const char *check_tx(const uint8_t *in, size_t len, const uint8_t *out, size_t out_len)
{
	if (malformed(in, len))
		return "XDP_TX for a malformed frame";
	if (out_len > PKT_ETH_LEN + 9 && out[PKT_ETH_LEN + 9] == IPPROTO_ICMP) {
		XF_ADD(tx_frag_needed, 1);
		return check_frag_needed(in, len, out, out_len);
	}
	return check_tcp_tx(in, len, out, out_len);
}

const char *xf_run(enum xf_iface iface, const uint8_t *in, size_t len, uint8_t *out,
		   int *action)
{
	uint8_t buf[PKT_MAX];
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = (__u32)xf.ifindex[iface] };
	uint8_t *o = out ? out : buf;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = o, .data_size_out = PKT_MAX, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	static __thread char msg[160];
	const char *bad;
	bool changed;

	if (len < PKT_ETH_LEN || len > PKT_MAX)
		return NULL;	/* BPF_PROG_TEST_RUN refuses it: nothing to check */
	if (bpf_prog_test_run_opts(xf.prog_fd, &opts))
		return "BPF_PROG_TEST_RUN failed";
	if (action)
		*action = (int)opts.retval;
	/* Atomic adds: the race test runs from two threads. */
	XF_ADD(runs, 1);
	if (xf6_is_ipv6(in, len))
		return xf6_check(in, len, o, opts.data_size_out, (int)opts.retval);
	bad = malformed(in, len);
	XF_ADD(unforwardable, bad != NULL);
	if (opts.retval == XDP_TX) {
		XF_ADD(tx, 1);
		return check_tx(in, len, o, opts.data_size_out);
	}
	changed = opts.data_size_out != len || memcmp(in, o, len) != 0;
	if (bad && (opts.retval == XDP_REDIRECT || (opts.retval == XDP_PASS && changed))) {
		snprintf(msg, sizeof(msg), "a malformed frame (%s) was %s", bad,
			 opts.retval == XDP_REDIRECT ? "redirected" : "passed rewritten");
		return msg;
	}
	XF_ADD(icmp_rewritten, len > PKT_ETH_LEN + PKT_IP_LEN &&
				       in[PKT_ETH_LEN + 9] == IPPROTO_ICMP && changed &&
				       in[PKT_ETH_LEN + PKT_IP_LEN] != ICMP_ECHO &&
				       in[PKT_ETH_LEN + PKT_IP_LEN] != ICMP_ECHOREPLY);
	XF_ADD(pass, opts.retval == XDP_PASS);
	XF_ADD(drop, opts.retval == XDP_DROP);
	XF_ADD(redirect, opts.retval == XDP_REDIRECT);
	XF_ADD(rewritten, changed && opts.retval != XDP_DROP);
	return check(in, o, len, opts.data_size_out, (int)opts.retval);
}

struct xf_counts *xf_counts_rw(void)
{
	return &xf.counts;
}

const struct xf_counts *xf_counts(void)
{
	return &xf.counts;
}

size_t xf_reply(const uint8_t *out, size_t len, uint8_t *reply)
{
	const uint8_t *ip = out + PKT_ETH_LEN;
	struct pkt_spec s = { 0 };

	if (len < PKT_ETH_LEN + PKT_IP_LEN + PKT_UDP_LEN)
		return 0;
	memcpy(s.dmac, out + 6, 6);
	memcpy(s.smac, out, 6);
	memcpy(&s.saddr, ip + 16, 4);
	memcpy(&s.daddr, ip + 12, 4);
	s.sport = pkt_get16(ip + PKT_IP_LEN + 2);
	s.dport = pkt_get16(ip + PKT_IP_LEN);
	s.proto = ip[9];
	s.ttl = 64;
	s.tcp_flags = PKT_ACK;
	s.payload_len = s.proto == IPPROTO_UDP ? 16 : 0;
	return pkt_build(&s, reply);
}

/* The echo reply to out (len bytes), an echo request the program
 * forwarded: addresses and MACs swapped, type 0, TTL 64, checksums from
 * scratch. Its length, 0 if out is too short. */
static size_t xf_echo_reply(const uint8_t *out, size_t len, uint8_t *reply)
{
	uint8_t *ip = reply + PKT_ETH_LEN, *ic = ip + PKT_IP_LEN;
	size_t tot = pkt_get16(out + PKT_ETH_LEN + 2);
	uint16_t c;

	if (len < PKT_ETH_LEN + PKT_IP_LEN + PKT_ICMP_LEN || PKT_ETH_LEN + tot > len ||
	    tot < PKT_IP_LEN + PKT_ICMP_LEN)
		return 0;
	memcpy(reply, out, len);
	memcpy(reply, out + 6, 6);
	memcpy(reply + 6, out, 6);
	memcpy(ip + 12, out + PKT_ETH_LEN + 16, 4);
	memcpy(ip + 16, out + PKT_ETH_LEN + 12, 4);
	ip[IP_TTL_OFF] = 64;
	ip[IP_CSUM_OFF] = ip[IP_CSUM_OFF + 1] = 0;
	c = (uint16_t)~pkt_fold(pkt_sum(ip, PKT_IP_LEN, 0));
	ip[IP_CSUM_OFF] = (uint8_t)(c >> 8);
	ip[IP_CSUM_OFF + 1] = (uint8_t)c;
	ic[0] = ICMP_ECHOREPLY;
	ic[ICMP_CSUM_OFF] = ic[ICMP_CSUM_OFF + 1] = 0;
	c = (uint16_t)~pkt_fold(pkt_sum(ic, tot - PKT_IP_LEN, 0));
	ic[ICMP_CSUM_OFF] = (uint8_t)(c >> 8);
	ic[ICMP_CSUM_OFF + 1] = (uint8_t)c;
	return len;
}

/* An ICMP error about out (len bytes), the frame the program forwarded,
 * from its destination back to its source (as the backend, or the client,
 * would send it): the types and quote lengths in turn. Its length. */
static size_t xf_icmp_answer(const uint8_t *out, size_t len, uint8_t *err)
{
	static const uint8_t kinds[][2] = { { ICMP_UNREACH, 3 }, { ICMP_UNREACH, ICMP_FRAG },
					    { ICMP_TIME, 0 }, { ICMP_PARAM, 0 } };
	const uint8_t *ip = out + PKT_ETH_LEN;
	unsigned int k = xf.n_errors++;
	struct pkt_spec o = { 0 };
	size_t qlen = len - PKT_ETH_LEN;

	if (len < PKT_ETH_LEN + QUOTE_MIN || len > PKT_MAX - 64)
		return 0;
	memcpy(o.dmac, out + 6, 6);
	memcpy(o.smac, out, 6);
	memcpy(&o.saddr, ip + 16, 4);
	memcpy(&o.daddr, ip + 12, 4);
	o.ttl = 64;
	if (k / 4 % 2)
		qlen = QUOTE_MIN;
	return pkt_build_icmp_error(&o, kinds[k % 4][0], kinds[k % 4][1],
				    kinds[k % 4][1] == ICMP_FRAG ? 1280 : 0, ip, qlen, err);
}

const char *xf_one(const uint8_t *data, size_t size)
{
	uint8_t f[PKT_MAX], out[PKT_MAX], reply[PKT_MAX];
	enum xf_iface iface;
	size_t i, len, n;
	const char *err;
	int act = -1;

	if (size < 1 || !xf.n_seeds)
		return NULL;
	i = (size_t)(data[0] >> 1) % xf.n_seeds;
	if (xf.seed_cookie[i] && !(data[0] & 1))
		return xf_cookie_chain(xf.seeds[i], xf.seed_len[i], data, size);
	if (xf.seed_chain[i] && size > 1)
		return xf6_chain(data, size);
	iface = xf.seed_if[i] ^ (data[0] & 1);
	len = xf.seed_len[i];
	memset(f, 0, sizeof(f));
	memcpy(f, xf.seeds[i], len);
	if (size > 1 && (data[1] & 0x80) && PKT_ETH_LEN + (size_t)(data[1] & 0x7f) < len)
		len = PKT_ETH_LEN + (data[1] & 0x7f);
	else if (size > 1 && (data[1] & 0x40))
		len += data[1] & 0x3f;
	for (i = 2; i + 1 < size; i += 2)
		f[data[i] % len] = data[i + 1];
	err = xf_run(iface, f, len, out, &act);
	if (err || size > 2 || act != XDP_REDIRECT)
		return err;
	if (xf6_is_ipv6(out, len))
		return xf6_answers(iface, out, len);
	/* A forwarded echo request: its reply. A forwarded TCP/UDP packet:
	 * its answer, and an ICMP error about it (both from the other side). */
	if (out[PKT_ETH_LEN + 9] == IPPROTO_ICMP && out[PKT_ETH_LEN + PKT_IP_LEN] == ICMP_ECHO) {
		n = xf_echo_reply(out, len, reply);
		return n ? xf_run(iface == XF_IN ? XF_OUT : XF_IN, reply, n, NULL, NULL) : NULL;
	}
	if (out[PKT_ETH_LEN + 9] != IPPROTO_TCP && out[PKT_ETH_LEN + 9] != IPPROTO_UDP)
		return NULL;
	n = xf_icmp_answer(out, len, reply);
	if (n && (err = xf_run(iface == XF_IN ? XF_OUT : XF_IN, reply, n, NULL, NULL)))
		return err;
	n = xf_reply(out, len, reply);
	return n ? xf_run(iface == XF_IN ? XF_OUT : XF_IN, reply, n, NULL, NULL) : NULL;
}

/* Walked entries, for the duplicate check. */
struct seen {
	struct portier_flow_key *k;
	size_t n, cap;
	const char *err;
	struct pt_ct *ct;
};

static int visit(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct seen *s = arg;
	struct portier_flow g;

	if (!pt_ct_lookup(s->ct, k, &g) || memcmp(&g, f, sizeof(g)))
		s->err = "a published entry is not what a lookup of its key finds";
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->k = realloc(s->k, s->cap * sizeof(*s->k));
		if (!s->k)
			abort();
	}
	s->k[s->n++] = *k;
	return PT_CT_KEEP;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct portier_flow_key));
}

const char *xf_check_table(void)
{
	struct seen s = { .ct = pt_dp_ct(xf.dp) };
	const char *err6 = xf6_check_table(xf.dp);

	if (err6)
		return err6;
	if (pt_ct_walk(s.ct, visit, &s, NULL))
		s.err = "the connection table walk failed";
	qsort(s.k, s.n, sizeof(*s.k), key_cmp);
	for (size_t i = 1; i < s.n && !s.err; i++)
		if (!key_cmp(&s.k[i - 1], &s.k[i]))
			s.err = "a key has two entries";
	free(s.k);
	return s.err;
}
