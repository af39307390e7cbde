// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz6.c - the packet-path fuzz harness's IPv6 part (xdpfuzz6.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdpfuzz6.h"

#define ETH_P_IP6	0x86dd
#define IP6_LEN		40
#define IP6_HOPS_OFF	7
#define IP6_ADDRS_OFF	8
#define L3		PKT_ETH_LEN	/* the IPv6 header's offset in a frame */
#define TCP_CSUM_OFF	16
#define UDP_CSUM_OFF	6
#define ICMP6_CSUM_OFF	2
#define ICMP6_LEN	8
#define MIN_MTU6	1280	/* IPv6's minimum MTU: an ICMPv6 error fits in it */
#define FRAME_MTU	1500	/* the test network's */
#define GEN_HOPS_MIN	64	/* the least hop limit of portier's own messages */

/* Next headers. */
#define NH_HOP		0
#define NH_TCP		6
#define NH_UDP		17
#define NH_ROUTING	43
#define NH_FRAG		44
#define NH_ESP		50
#define NH_AH		51
#define NH_ICMP6	58
#define NH_NONE		59
#define NH_DST		60
/* ICMPv6 types. */
#define I6_UNREACH	1
#define I6_TOO_BIG	2
#define I6_TIME		3
#define I6_PARAM	4
#define I6_ECHO		128
#define I6_ECHO_REPLY	129
#define I6_MLD_QUERY	130
#define I6_MLD_DONE	132
#define I6_RS		133
#define I6_REDIRECT	137
#define I6_MLD2_REPORT	143

#define XF6_CLIENT	"2001:db8:100::10"
#define XF6_GW_IN	"2001:db8:100::1"
#define XF6_GW_OUT	"2001:db8:203::1"
#define XF6_CLIENT_LL	"fe80::10"
#define XF6_GW_LL	"fe80::1"
#define MAX_EXT		8	/* extension headers in a generated chain */
#define ECHO_DATA	24

static const char *const be6[TN_N_BE] = { "2001:db8:203::11", "2001:db8:203::12",
					   "2001:db8:203::13" };

#define ADD(field, v)	__atomic_fetch_add(&xf_counts_rw()->field, (v), __ATOMIC_RELAXED)

static void a6(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET6, s, out) != 1)
		abort();	/* a constant of this file */
}


/* ---- network, routes, configuration ----------------------------------- */

int xf6_net(void)
{
	char m[18];
	int rc = 0;

	rc |= tn_sh("sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.accept_dad=0 "
		    "net.ipv6.conf." TN_IF_IN ".accept_dad=0 net.ipv6.conf." TN_IF_OUT ".accept_dad=0");
	rc |= tn_sh("ip -6 addr replace " XF6_GW_IN "/64 dev " TN_IF_IN " nodad");
	rc |= tn_sh("ip -6 addr replace " XF6_GW_OUT "/64 dev " TN_IF_OUT " nodad");
	rc |= tn_sh("ip -6 neigh replace " XF6_CLIENT " lladdr %s dev " TN_IF_IN " nud permanent",
		    tn_mac_str(tn_mac_client, m));
	for (int i = 0; i < TN_N_BE; i++)
		rc |= tn_sh("ip -6 neigh replace %s lladdr %s dev " TN_IF_OUT " nud permanent",
			    be6[i], tn_mac_str(tn_mac_be[i], m));
	if (rc)
		fprintf(stderr, "xdpfuzz6: cannot set up the IPv6 test network (iproute2?)\n");
	return rc ? -1 : 0;
}

void xf6_routes(struct pt_route *r)
{
	const struct tn_be web[] = { { be6[0], 30080, false }, { be6[1], 30080, false },
				     { be6[2], 30080, false } };
	const struct tn_be dns[] = { { be6[0], 30053, false } };
	const struct tn_be dnat[] = { { be6[1], 30081, false } };
	const struct tn_be local[] = { { XF6_GW_OUT, 82, true }, { be6[0], 30082, false } };

	tn_route(&r[0], "web6", XF6_GW_IN, 80, IPPROTO_TCP, PT_NAT_SNAT, web, 3);
	tn_route(&r[1], "dns6", XF6_GW_IN, 53, IPPROTO_UDP, PT_NAT_SNAT, dns, 1);
	tn_route(&r[2], "dnat6", XF6_GW_IN, 81, IPPROTO_TCP, PT_NAT_DNAT, dnat, 1);
	tn_route(&r[3], "local6", XF6_GW_IN, 82, IPPROTO_TCP, PT_NAT_SNAT, local, 2);
}

void xf6_local(struct pt_addr *a)
{
	a[0] = tn_addr(XF6_GW_IN);
	a[1] = tn_addr(XF6_GW_OUT);
}

void xf6_config(struct portier_config *cfg)
{
	a6(XF6_GW_OUT, cfg->snat_addr6.a8);
}

/* ---- frames ------------------------------------------------------------- */

/* What to build: MACs, addresses, hop limit, an extension header chain
 * (ext, n_ext bytes, its next headers already chained: the first's type
 * is ext_first, the last one's next header is proto), then proto's
 * header: TCP (flags, no options), UDP, ICMPv6 (type, code, the 4 bytes
 * after the checksum in word), and payload bytes of a pattern (or quote,
 * if set). L4 checksum from scratch (udp_zero: a UDP checksum of 0). */
struct f6 {
	uint8_t dmac[6], smac[6];
	uint8_t src[16], dst[16];
	uint8_t hops;
	const uint8_t *ext;
	size_t n_ext;
	uint8_t ext_first;
	uint8_t proto;
	uint16_t sport, dport;		/* TCP, UDP */
	uint8_t flags;			/* TCP */
	uint8_t type, code;		/* ICMPv6 */
	uint32_t word;			/* ICMPv6 bytes 4-7 */
	size_t payload;
	const uint8_t *quote;		/* payload bytes instead of the pattern */
	bool udp_zero;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The ones' complement sum of the IPv6 pseudo-header of src, dst, an
 * upper-layer length and next header. */
static uint32_t pseudo6(const uint8_t *src, const uint8_t *dst, size_t len, uint8_t nh)
{
	return pkt_sum(dst, 16, pkt_sum(src, 16, 0)) + (uint32_t)(len >> 16) +
	       (uint32_t)(len & 0xffff) + nh;
}

static size_t l4_hdr_len(uint8_t proto)
{
	return proto == NH_TCP ? PKT_TCP_LEN : proto == NH_UDP ? PKT_UDP_LEN :
	       proto == NH_ICMP6 ? ICMP6_LEN : 0;
}

/* Build s into f (PKT_MAX bytes); its length, 0 if it does not fit. */
static size_t f6_build(const struct f6 *s, uint8_t *f)
{
	size_t hl = l4_hdr_len(s->proto), l4len = hl + s->payload;
	size_t len = L3 + IP6_LEN + s->n_ext + l4len;
	uint8_t *ip = f + L3, *l4 = ip + IP6_LEN + s->n_ext;
	uint16_t c;

	if (len > PKT_MAX)
		return 0;
	memset(f, 0, len);
	memcpy(f, s->dmac, 6);
	memcpy(f + 6, s->smac, 6);
	put16(f + 12, ETH_P_IP6);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)(s->n_ext + l4len));
	ip[6] = s->n_ext ? s->ext_first : s->proto;
	ip[IP6_HOPS_OFF] = s->hops ? s->hops : 64;
	memcpy(ip + IP6_ADDRS_OFF, s->src, 16);
	memcpy(ip + IP6_ADDRS_OFF + 16, s->dst, 16);
	memcpy(ip + IP6_LEN, s->ext, s->n_ext);
	for (size_t i = 0; i < s->payload; i++)
		l4[hl + i] = s->quote ? s->quote[i] : (uint8_t)(0x41 + i % 26);
	switch (s->proto) {
	case NH_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		pkt_put32(l4 + 4, 1000);
		pkt_put32(l4 + 8, s->flags & PKT_ACK ? 5000 : 0);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
		put16(l4 + 14, 64240);
		break;
	case NH_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4len);
		break;
	case NH_ICMP6:
		l4[0] = s->type;
		l4[1] = s->code;
		pkt_put32(l4 + 4, s->word);
		break;
	default:
		return len;	/* no next header: nothing to sum */
	}
	c = (uint16_t)~pkt_fold(pkt_sum(l4, l4len, pseudo6(s->src, s->dst, l4len, s->proto)));
	if (s->proto == NH_UDP && (s->udp_zero || c == 0))
		c = s->udp_zero ? 0 : 0xffff;
	put16(l4 + (s->proto == NH_TCP ? TCP_CSUM_OFF : s->proto == NH_UDP ? UDP_CSUM_OFF :
		    ICMP6_CSUM_OFF), c);
	return len;
}

/* A spec from the client (on the input NIC) to the IPv6 service address. */
static struct f6 from_client(uint8_t proto, uint16_t dport, uint8_t flags)
{
	struct f6 s = { .proto = proto, .sport = 40000, .dport = dport, .flags = flags,
			.payload = proto == NH_UDP ? 16 : 0 };

	memcpy(s.dmac, tn_mac_in, 6);
	memcpy(s.smac, tn_mac_client, 6);
	a6(XF6_CLIENT, s.src);
	a6(XF6_GW_IN, s.dst);
	return s;
}

/* A spec from backend i (on the output NIC) to dst. */
static struct f6 from_backend(int i, const char *dst, uint8_t proto, uint16_t sport,
			      uint16_t dport, uint8_t flags)
{
	struct f6 s = { .proto = proto, .sport = sport, .dport = dport, .flags = flags,
			.payload = proto == NH_UDP ? 16 : 0 };

	memcpy(s.dmac, tn_mac_out, 6);
	memcpy(s.smac, tn_mac_be[i], 6);
	a6(be6[i], s.src);
	a6(dst, s.dst);
	return s;
}

/* ---- extension header chains -------------------------------------------- */

/* One extension header of type t at e (its next header byte left 0):
 * units of 8 bytes beyond the first (hop-by-hop, destination options,
 * routing: PadN options or addresses), routing type rt with segments
 * left segs, fragment offset and M bit in frag (13 + 1 bits as on the
 * wire), AH with its length. Its length in bytes. */
static size_t ext_put(uint8_t *e, uint8_t t, uint8_t units, uint8_t rt, uint8_t segs,
		      uint16_t frag)
{
	size_t n;

	switch (t) {
	case NH_HOP:
	case NH_DST:
		n = 8 * (1 + (size_t)units);
		memset(e, 0, n);
		e[1] = units;
		e[2] = 1;		/* PadN over the rest */
		e[3] = (uint8_t)(n - 4);
		return n;
	case NH_ROUTING:
		n = 8 * (1 + (size_t)units);
		memset(e, 0, n);
		e[1] = units;
		e[2] = rt;
		e[3] = segs;
		return n;
	case NH_FRAG:
		memset(e, 0, 8);
		put16(e + 2, frag);
		pkt_put32(e + 4, 0x1234);
		return 8;
	case NH_AH:
		n = 24;		/* 12 bytes and a 12-byte ICV */
		memset(e, 0, n);
		e[1] = (uint8_t)(n / 4 - 2);
		pkt_put32(e + 4, 0x100);
		return n;
	}
	return 0;
}

/* Chain the next headers of the n headers at e (types t[i], lengths
 * l[i]): each one's first byte the next one's type, the last one's last. */
static void ext_chain(uint8_t *e, const uint8_t *t, const size_t *l, size_t n, uint8_t last)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		e[off] = i + 1 < n ? t[i + 1] : last;
		off += l[i];
	}
}

/* s with the chain of n extension headers at e (off bytes, types t)
 * before last: an upper layer, ESP or no next header (16 bytes of
 * payload then, no header). */
static void with_chain(struct f6 *s, const uint8_t *e, size_t off, const uint8_t *t, size_t n,
		       uint8_t last)
{
	s->ext = e;
	s->n_ext = off;
	s->ext_first = n ? t[0] : last;
	if (last == NH_ESP || last == NH_NONE) {
		s->proto = last;
		s->payload = 16;
	}
}

/* A seed: client to the service with the chain of types t (n), units 0,
 * routing type 4 with segs segments left, fragment field frag. */
static size_t ext_seed(uint8_t proto, uint16_t dport, uint8_t flags, const uint8_t *t, size_t n,
		       uint8_t segs, uint16_t frag, uint8_t *f)
{
	uint8_t e[MAX_EXT * 32];
	size_t l[MAX_EXT], off = 0;
	struct f6 s = from_client(proto, dport, flags);

	for (size_t i = 0; i < n; i++) {
		l[i] = ext_put(e + off, t[i], i % 2, 4, segs, frag);
		off += l[i];
	}
	ext_chain(e, t, l, n, proto);
	with_chain(&s, e, off, t, n, proto);
	return f6_build(&s, f);
}

/* ---- seeds -------------------------------------------------------------- */

/* An ICMPv6 message of type/code/word from src to dst (MACs from s)
 * quoting qlen bytes at q. */
static size_t icmp6_seed(struct f6 s, uint8_t type, uint8_t code, uint32_t word,
			 const uint8_t *q, size_t qlen, uint8_t *f)
{
	s.proto = NH_ICMP6;
	s.type = type;
	s.code = code;
	s.word = word;
	s.n_ext = 0;
	s.quote = q;
	s.payload = qlen;
	return f6_build(&s, f);
}

/* Neighbour discovery, MLD, link-local and multicast traffic: must pass
 * untouched; a multicast source: never forwarded. */
static void ll_seeds(void (*add)(enum xf_iface, const uint8_t *, size_t, bool))
{
	uint8_t f[PKT_MAX], body[24] = { 0 };
	struct f6 s = from_client(NH_ICMP6, 0, 0);

	a6(XF6_CLIENT_LL, s.src);
	a6("ff02::1:ff00:1", s.dst);		/* solicited-node of ::1 */
	a6(XF6_GW_IN, body);			/* NS: its target */
	add(XF_IN, f, icmp6_seed(s, 135, 0, 0, body, 16, f), false);
	a6(XF6_GW_LL, s.src);
	a6("ff02::1", s.dst);
	add(XF_IN, f, icmp6_seed(s, 134, 0, 0x40000000, body, 8, f), false);	/* RA */
	add(XF_IN, f, icmp6_seed(s, I6_MLD_QUERY, 0, 0, body, 16, f), false);
	a6(XF6_CLIENT_LL, s.src);
	a6(XF6_GW_LL, s.dst);
	add(XF_IN, f, icmp6_seed(s, 136, 0, 0x60000000, body, 16, f), false);	/* NA */
	add(XF_IN, f, icmp6_seed(s, I6_ECHO, 0, 0x00070001, body, 16, f), false);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* link-local TCP to a service port */
	a6(XF6_CLIENT_LL, s.src);
	a6(XF6_GW_LL, s.dst);
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_UDP, 53, 0);		/* to all nodes */
	a6("ff02::1", s.dst);
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* from a multicast source */
	a6("ff0e::1", s.src);
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_backend(0, XF6_GW_OUT, NH_TCP, 30080, 16384, PKT_SYN | PKT_ACK);
	a6("ff05::2", s.src);
	add(XF_OUT, f, f6_build(&s, f), false);
}

/* ICMPv6 errors quoting packets of the flows (a backend's about a snat
 * flow's packet, the client's about a reply, whole and cut), echoes. */
static void icmp_seeds(void (*add)(enum xf_iface, const uint8_t *, size_t, bool))
{
	uint8_t f[PKT_MAX], q[PKT_MAX];
	struct f6 s, p;
	size_t n;

	/* The gateway's packet to backend 0 (snat port 16384), quoted by it. */
	p = from_backend(0, XF6_GW_OUT, NH_TCP, 16384, 30080, PKT_SYN);
	memcpy(p.src, p.dst, 16);
	a6(be6[0], p.dst);
	n = f6_build(&p, q) - L3;
	s = from_backend(0, XF6_GW_OUT, NH_ICMP6, 0, 0, 0);
	add(XF_OUT, f, icmp6_seed(s, I6_UNREACH, 4, 0, q + L3, n, f), false);
	add(XF_OUT, f, icmp6_seed(s, I6_TOO_BIG, 0, 1280, q + L3, n, f), false);
	add(XF_OUT, f, icmp6_seed(s, I6_TIME, 0, 0, q + L3, IP6_LEN + 8, f), false);
	/* The service's reply to the client, quoted by the client. */
	p = from_client(NH_TCP, 40000, PKT_SYN | PKT_ACK);
	memcpy(p.src, p.dst, 16);
	a6(XF6_CLIENT, p.dst);
	p.sport = 80;
	n = f6_build(&p, q) - L3;
	s = from_client(NH_ICMP6, 0, 0);
	add(XF_IN, f, icmp6_seed(s, I6_PARAM, 0, 40, q + L3, n, f), false);
	add(XF_IN, f, icmp6_seed(s, I6_UNREACH, 1, 0, q + L3, IP6_LEN + 4, f), false);
	/* An echo to the service address, and an unknown informational type. */
	memset(q, 0x5a, ECHO_DATA);
	add(XF_IN, f, icmp6_seed(s, I6_ECHO, 0, 0x00090001, q, ECHO_DATA, f), false);
	add(XF_IN, f, icmp6_seed(s, 200, 0, 0, q, ECHO_DATA, f), false);
}

/* Extension header chains and fragments, each to the snat route. */
static void chain_seeds(void (*add)(enum xf_iface, const uint8_t *, size_t, bool))
{
	static const uint8_t hop[] = { NH_HOP }, dst[] = { NH_DST }, rt[] = { NH_ROUTING };
	static const uint8_t four[] = { NH_HOP, NH_DST, NH_ROUTING, NH_DST };
	static const uint8_t frag[] = { NH_FRAG }, hop_frag[] = { NH_HOP, NH_FRAG };
	static const uint8_t ah[] = { NH_AH }, dst_hop[] = { NH_DST, NH_HOP };
	uint8_t f[PKT_MAX];

	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_SYN, hop, 1, 0, 0, f), false);
	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_ACK | PKT_PSH, dst, 1, 0, 0, f), false);
	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_SYN, rt, 1, 0, 0, f), false);
	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_SYN, rt, 1, 2, 0, f), false);	/* segments left */
	add(XF_IN, f, ext_seed(NH_UDP, 53, 0, four, 4, 0, 0, f), false);
	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_SYN, frag, 1, 0, 0, f), false);	/* atomic */
	add(XF_IN, f, ext_seed(NH_UDP, 53, 0, frag, 1, 0, 1, f), false);	/* first, M */
	add(XF_IN, f, ext_seed(NH_UDP, 53, 0, hop_frag, 2, 0, 185 << 3, f), false); /* later */
	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_SYN, ah, 1, 0, 0, f), false);
	add(XF_IN, f, ext_seed(NH_TCP, 80, PKT_SYN, dst_hop, 2, 0, 0, f), false); /* HBH late */
	add(XF_IN, f, ext_seed(NH_ESP, 80, 0, dst, 1, 0, 0, f), false);
	add(XF_IN, f, ext_seed(NH_NONE, 80, 0, hop, 1, 0, 0, f), false);
}

void xf6_seeds(void (*add)(enum xf_iface, const uint8_t *, size_t, bool))
{
	static const uint16_t tcp_ports[] = { 80, 81, 82 };
	uint8_t f[PKT_MAX];
	struct f6 s;

	for (size_t i = 0; i < sizeof(tcp_ports) / sizeof(tcp_ports[0]); i++) {
		s = from_client(NH_TCP, tcp_ports[i], PKT_SYN);
		add(XF_IN, f, f6_build(&s, f), false);
		s.flags = PKT_ACK | PKT_PSH;
		s.payload = 40;
		add(XF_IN, f, f6_build(&s, f), false);
		s.flags = PKT_FIN | PKT_ACK;
		s.payload = 0;
		add(XF_IN, f, f6_build(&s, f), false);
	}
	s = from_client(NH_UDP, 53, 0);
	add(XF_IN, f, f6_build(&s, f), false);
	s.udp_zero = true;		/* not allowed in IPv6 */
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_TCP, 9999, PKT_SYN);	/* undeclared */
	add(XF_IN, f, f6_build(&s, f), false);
	/* Too big for the output NIC's 1500 bytes. */
	s = from_client(NH_TCP, 80, PKT_ACK | PKT_PSH);
	s.payload = FRAME_MTU - IP6_LEN - PKT_TCP_LEN + 20;
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_UDP, 53, 0);
	s.payload = FRAME_MTU - IP6_LEN - PKT_UDP_LEN + 1;
	add(XF_IN, f, f6_build(&s, f), false);
	/* A backend's answers: to a snat port, and to the client (dnat). */
	s = from_backend(0, XF6_GW_OUT, NH_TCP, 30080, 16384, PKT_SYN | PKT_ACK);
	add(XF_OUT, f, f6_build(&s, f), false);
	s = from_backend(1, XF6_CLIENT, NH_TCP, 30081, 40000, PKT_SYN | PKT_ACK);
	add(XF_OUT, f, f6_build(&s, f), false);
	ll_seeds(add);
	icmp_seeds(add);
	chain_seeds(add);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* the chain generator's */
	add(XF_IN, f, f6_build(&s, f), true);
}

/* ---- parsing (the harness's own view) ----------------------------------- */

bool xf6_is_ipv6(const uint8_t *f, size_t len)
{
	return len >= PKT_ETH_LEN && pkt_get16(f + 12) == ETH_P_IP6;
}

/* An IPv6 packet at ip (n bytes available) walked to its upper layer. */
struct walk {
	size_t l4;		/* offset of the upper-layer header from ip */
	uint8_t proto;		/* its next header value */
	size_t plen;		/* the payload length field */
	bool frag;		/* a fragment header with an offset or M set */
	bool segs_left;		/* a routing header with segments left */
	bool hop_late;		/* hop-by-hop options not first */
	bool ah;		/* an authentication header */
	const char *bad;	/* why the chain cannot be walked */
};

static struct walk walk6(const uint8_t *ip, size_t n)
{
	struct walk w = { .l4 = IP6_LEN };
	uint8_t nh;

	if (n < IP6_LEN || ip[0] >> 4 != 6) {
		w.bad = "not IPv6";
		return w;
	}
	w.plen = pkt_get16(ip + 4);
	nh = ip[6];
	for (int i = 0; i < 16; i++) {
		size_t hl;

		if (nh != NH_HOP && nh != NH_DST && nh != NH_ROUTING && nh != NH_FRAG &&
		    nh != NH_AH)
			break;
		if (w.l4 + 8 > n || w.l4 + 8 > IP6_LEN + w.plen) {
			w.bad = "an extension header beyond the packet";
			return w;
		}
		hl = nh == NH_FRAG ? 8 : nh == NH_AH ? ((size_t)ip[w.l4 + 1] + 2) * 4 :
		     ((size_t)ip[w.l4 + 1] + 1) * 8;
		if (nh == NH_HOP && w.l4 != IP6_LEN)
			w.hop_late = true;
		if (nh == NH_FRAG && (pkt_get16(ip + w.l4 + 2) & 0xfff9))
			w.frag = true;
		if (nh == NH_ROUTING && ip[w.l4 + 3])
			w.segs_left = true;
		if (nh == NH_AH)
			w.ah = true;
		if (w.l4 + hl > IP6_LEN + w.plen) {
			w.bad = "an extension header beyond the packet";
			return w;
		}
		nh = ip[w.l4];
		w.l4 += hl;
	}
	w.proto = nh;
	return w;
}

static bool is_multicast(const uint8_t *a)
{
	return a[0] == 0xff;
}

static bool is_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static bool is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

/* Traffic portier must pass untouched: link-local source or destination,
 * multicast destination, neighbour discovery and MLD (a whole IPv6
 * packet needed to tell: a cut one may be dropped; so may one from a
 * multicast source, which RFC 4291 forbids). */
static bool must_pass_untouched(const uint8_t *in, size_t len)
{
	const uint8_t *ip = in + L3;
	struct walk w;

	if (len < L3 + IP6_LEN || ip[0] >> 4 != 6 ||
	    (size_t)IP6_LEN + pkt_get16(ip + 4) > len - L3 || is_multicast(ip + 8))
		return false;
	if (is_link_local(ip + 8) || is_link_local(ip + 24) || is_multicast(ip + 24))
		return true;
	w = walk6(ip, len - L3);
	if (w.bad || w.proto != NH_ICMP6 || w.l4 + 1 > len - L3)
		return false;
	return (ip[w.l4] >= I6_MLD_QUERY && ip[w.l4] <= I6_REDIRECT) ||
	       ip[w.l4] == I6_MLD2_REPORT;
}

/* Why IPv6 frame in (len bytes) may not be forwarded or rewritten, or
 * NULL: a whole IPv6 packet of unicast, global addresses, its chain of
 * extension headers walkable (hop-by-hop first), no fragment but an
 * atomic one, no routing header with segments left, no AH or ESP, and
 * TCP, UDP or ICMPv6 (echo, or an error with a whole IPv6 header quoted)
 * whole after it. */
static const char *malformed6(const uint8_t *in, size_t len)
{
	const uint8_t *ip = in + L3, *l4;
	struct walk w;
	size_t n;

	if (len < L3 + IP6_LEN || ip[0] >> 4 != 6)
		return "not IPv6";
	w = walk6(ip, len - L3);
	if (w.bad)
		return w.bad;
	if (IP6_LEN + w.plen > len - L3)
		return "IPv6 payload length";
	if (is_multicast(ip + 8) || is_unspecified(ip + 8))
		return "a multicast or unspecified source";
	if (must_pass_untouched(in, len))
		return "link-local, multicast, neighbour discovery or MLD";
	if (w.hop_late)
		return "hop-by-hop options not first";
	if (w.frag)
		return "a fragment";
	if (w.segs_left)
		return "a routing header with segments left";
	if (w.ah)
		return "an authentication header";
	n = IP6_LEN + w.plen - w.l4;
	l4 = ip + w.l4;
	switch (w.proto) {
	case NH_TCP:
		if (n < PKT_TCP_LEN || (size_t)(l4[12] >> 4) * 4 < PKT_TCP_LEN ||
		    (size_t)(l4[12] >> 4) * 4 > n)
			return "TCP header length";
		return NULL;
	case NH_UDP:
		if (n < PKT_UDP_LEN || pkt_get16(l4 + 4) < PKT_UDP_LEN || pkt_get16(l4 + 4) > n)
			return "UDP length";
		return NULL;
	case NH_ICMP6:
		if (n >= ICMP6_LEN && (l4[0] == I6_ECHO || l4[0] == I6_ECHO_REPLY))
			return NULL;
		if (l4[0] < I6_UNREACH || l4[0] > I6_PARAM)
			return "an ICMPv6 message neither echo nor error";
		return n < ICMP6_LEN + IP6_LEN + 8 ? "ICMPv6 error shorter than its quote" : NULL;
	}
	return "neither TCP, UDP nor ICMPv6";
}

/* Does the upper-layer checksum of the packet at ip (walked: w) verify?
 * The pseudo-header's destination is the packet's (no routing header
 * with segments left reaches here). */
static bool l4_ok(const uint8_t *ip, const struct walk *w)
{
	size_t n = IP6_LEN + w->plen - w->l4;

	return pkt_fold(pkt_sum(ip + w->l4, n, pseudo6(ip + 8, ip + 24, n, w->proto))) == 0xffff;
}

/* ---- the checks --------------------------------------------------------- */

/* May byte i (of the frame) of a rewritten TCP/UDP packet (walked: w)
 * change? MACs, hop limit, addresses, ports, the TCP/UDP checksum. */
static bool rewritable6(size_t i, const struct walk *w)
{
	size_t l4 = L3 + w->l4, c = l4 + (w->proto == NH_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);

	return i < 12 || i == L3 + IP6_HOPS_OFF || (i >= L3 + IP6_ADDRS_OFF && i < L3 + IP6_LEN) ||
	       (i >= l4 && i < l4 + 4) || i == c || i == c + 1;
}

/* A translated ICMPv6 error (walked: w): only MACs, hop limit, outer
 * addresses, the ICMPv6 checksum, the quoted addresses, ports and
 * TCP/UDP checksum change; checksums that verified still verify. */
static const char *check_icmp6_error(const uint8_t *in, const uint8_t *out, size_t len,
				     const struct walk *w)
{
	const uint8_t *ip = in + L3, *q = ip + w->l4 + ICMP6_LEN;
	size_t ic = L3 + w->l4, qn = IP6_LEN + w->plen - w->l4 - ICMP6_LEN, qoff = ic + ICMP6_LEN;
	struct walk qw = walk6(q, qn);
	size_t qc;

	if (qw.bad || (qw.proto != NH_TCP && qw.proto != NH_UDP) || qw.l4 + 4 > qn)
		return "an ICMPv6 error quoting no TCP/UDP header was rewritten";
	qc = qoff + qw.l4 + (qw.proto == NH_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] &&
		    !(i < 12 || i == L3 + IP6_HOPS_OFF ||
		      (i >= L3 + IP6_ADDRS_OFF && i < L3 + IP6_LEN) || i == ic + ICMP6_CSUM_OFF ||
		      i == ic + ICMP6_CSUM_OFF + 1 ||
		      (i >= qoff + IP6_ADDRS_OFF && i < qoff + IP6_LEN) ||
		      (i >= qoff + qw.l4 && i < qoff + qw.l4 + 4) || i == qc || i == qc + 1))
			return "an ICMPv6 error changed beyond MACs, hop limit, addresses, ports, "
			       "checksums";
	if (l4_ok(ip, w) && !l4_ok(out + L3, w))
		return "a translated ICMPv6 error's checksum no longer verifies";
	if (IP6_LEN + qw.plen <= qn && l4_ok(q, &qw) && !l4_ok(out + qoff, &qw))
		return "the quoted TCP/UDP checksum no longer verifies";
	ADD(v6_icmp_rewritten, 1);
	return NULL;
}

/* A rewritten IPv6 frame that may be (malformed6 said NULL), acted on
 * with act (pass or redirect). */
static const char *check_rewrite6(const uint8_t *in, const uint8_t *out, size_t len, int act)
{
	const uint8_t *ip = in + L3, *oip = out + L3;
	struct walk w = walk6(ip, len - L3);
	const uint8_t *l4 = ip + w.l4;

	if (act == XDP_REDIRECT && oip[IP6_HOPS_OFF] != (uint8_t)(ip[IP6_HOPS_OFF] - 1))
		return "a redirected IPv6 packet did not lose one hop";
	if (act == XDP_REDIRECT && ip[IP6_HOPS_OFF] <= 1)
		return "an IPv6 packet with hop limit 0 or 1 was redirected";
	if (act == XDP_PASS && oip[IP6_HOPS_OFF] != ip[IP6_HOPS_OFF])
		return "an IPv6 packet passed to the kernel lost a hop";
	if (act == XDP_REDIRECT && (is_multicast(oip + 8) || is_multicast(oip + 24) ||
				    is_unspecified(oip + 8) || is_unspecified(oip + 24)))
		return "a redirected IPv6 packet has a multicast or unspecified address";
	if (w.proto == NH_ICMP6) {
		if (l4[0] == I6_ECHO || l4[0] == I6_ECHO_REPLY) {
			for (size_t i = 0; i < len; i++)
				if (in[i] != out[i] && !(i < 12 || i == L3 + IP6_HOPS_OFF ||
							 (i >= L3 + IP6_ADDRS_OFF &&
							  i < L3 + IP6_LEN) ||
							 (i >= L3 + w.l4 + 2 && i < L3 + w.l4 + 6)))
					return "an ICMPv6 echo changed beyond MACs, hop limit, "
					       "addresses, checksum, identifier";
			if (l4_ok(ip, &w) && !l4_ok(oip, &w))
				return "a translated ICMPv6 echo's checksum no longer verifies";
			return NULL;
		}
		return check_icmp6_error(in, out, len, &w);
	}
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] && !rewritable6(i, &w))
			return "an IPv6 byte besides MACs, hop limit, addresses, ports and checksum "
			       "changed";
	if (w.proto == NH_UDP && act == XDP_REDIRECT &&
	    pkt_get16(oip + w.l4 + UDP_CSUM_OFF) == 0)
		return "an IPv6 UDP datagram forwarded with checksum 0 (mandatory in IPv6)";
	if (w.proto == NH_UDP && pkt_get16(l4 + UDP_CSUM_OFF) == 0) {
		if (pkt_get16(oip + w.l4 + UDP_CSUM_OFF) && !l4_ok(oip, &w))
			return "an IPv6 UDP datagram without checksum got a wrong one";
		return NULL;
	}
	if (l4_ok(ip, &w) && !l4_ok(oip, &w))
		return "the IPv6 TCP/UDP checksum no longer verifies";
	return NULL;
}

/* XDP_TX of an IPv6 frame: Packet Too Big for a packet over the egress
 * MTU (back to the sender's MAC and address, from the address it was
 * sent to or one of this host's, type 2 code 0, an MTU below the
 * packet's size and at least 1280, at most 1280 bytes quoting the packet
 * as received, checksum from scratch); or an echo reply to an echo request to a
 * service address. */
static const char *check_tx6(const uint8_t *in, size_t len, const uint8_t *out, size_t out_len)
{
	const uint8_t *ip = in + L3, *oip = out + L3, *oic = oip + IP6_LEN;
	uint8_t gw_in[16], gw_out[16];
	struct walk w, ow;
	size_t plen = 0, q;

	a6(XF6_GW_IN, gw_in);
	a6(XF6_GW_OUT, gw_out);
	if (malformed6(in, len))
		return "XDP_TX for an IPv6 frame that may not be answered";
	if (out_len < L3 + IP6_LEN + ICMP6_LEN || !xf6_is_ipv6(out, out_len))
		return "XDP_TX of an IPv6 frame that is not an ICMPv6 message";
	w = walk6(ip, len - L3);
	ow = walk6(oip, out_len - L3);
	if (ow.bad || ow.proto != NH_ICMP6 || ow.l4 != IP6_LEN ||
	    IP6_LEN + ow.plen != out_len - L3)
		return "XDP_TX: an ICMPv6 message with a wrong IPv6 header";
	if (memcmp(out, in + 6, 6) || memcmp(out + 6, in, 6))
		return "XDP_TX: an ICMPv6 message not sent back to the sender's MAC";
	if (memcmp(oip + 24, ip + 8, 16))
		return "XDP_TX: an ICMPv6 message not to the packet's source";
	if (memcmp(oip + 8, ip + 24, 16) && memcmp(oip + 8, gw_in, 16) &&
	    memcmp(oip + 8, gw_out, 16))
		return "XDP_TX: an ICMPv6 message neither from the address the packet was sent "
		       "to nor from one of this host's";
	if (oip[IP6_HOPS_OFF] < GEN_HOPS_MIN)
		return "XDP_TX: an ICMPv6 message with a hop limit below 64";
	if (!l4_ok(oip, &ow))
		return "XDP_TX: an ICMPv6 message with a bad checksum";
	if (w.proto == NH_ICMP6 && ip[w.l4] == I6_ECHO) {
		if (oic[0] != I6_ECHO_REPLY || oic[1] != 0 || out_len - L3 - IP6_LEN !=
		    IP6_LEN + w.plen - w.l4 || memcmp(oic + 4, ip + w.l4 + 4,
						      out_len - L3 - IP6_LEN - 4))
			return "XDP_TX: an echo reply not echoing the request";
		ADD(v6_tx_echo, 1);
		return NULL;
	}
	if (w.proto != NH_TCP && w.proto != NH_UDP)
		return "XDP_TX for an IPv6 packet neither TCP, UDP nor an echo";
	plen = IP6_LEN + w.plen;
	if (plen <= FRAME_MTU)
		return "Packet Too Big for a packet that fits the test network's MTU";
	if (oic[0] != I6_TOO_BIG || oic[1] != 0)
		return "XDP_TX for a too big packet that is not Packet Too Big";
	if (pkt_get32(oic + 4) < MIN_MTU6 || pkt_get32(oic + 4) >= plen)
		return "Packet Too Big with an MTU below 1280 or not below the packet's size";
	if (out_len - L3 > MIN_MTU6)
		return "Packet Too Big longer than 1280 bytes";
	q = out_len - L3 - IP6_LEN - ICMP6_LEN;
	if (q < IP6_LEN + 8 || memcmp(oic + ICMP6_LEN, ip, q))
		return "Packet Too Big does not quote the packet as received (its IPv6 header "
		       "and 8 bytes at least)";
	ADD(v6_tx_too_big, 1);
	return NULL;
}

static const char *act_name(int act)
{
	return act == XDP_DROP ? "dropped" : act == XDP_REDIRECT ? "redirected" :
	       act == XDP_TX ? "transmitted" : act == XDP_PASS ? "passed" : "aborted";
}

const char *xf6_check(const uint8_t *in, size_t len, const uint8_t *out, size_t out_len, int act)
{
	static __thread char msg[160];
	const char *bad = malformed6(in, len);
	bool changed = out_len != len || memcmp(in, out, len) != 0;

	ADD(v6_runs, 1);
	ADD(v6_unforwardable, bad != NULL);
	if (act == XDP_TX)
		return check_tx6(in, len, out, out_len);
	if (act != XDP_PASS && act != XDP_DROP && act != XDP_REDIRECT)
		return "an IPv6 frame got an action other than pass, drop, redirect or tx";
	ADD(v6_redirect, act == XDP_REDIRECT);
	ADD(v6_rewritten, changed && act != XDP_DROP);
	if (must_pass_untouched(in, len)) {
		ADD(v6_untouched, 1);
		if (act != XDP_PASS || changed) {
			snprintf(msg, sizeof(msg), "link-local, multicast, neighbour discovery or "
				 "MLD traffic not passed untouched (%s)",
				 act != XDP_PASS ? act_name(act) : "rewritten");
			return msg;
		}
		return NULL;
	}
	if (bad && (act == XDP_REDIRECT || (act == XDP_PASS && changed))) {
		snprintf(msg, sizeof(msg), "an IPv6 frame not to forward (%s) was %s", bad,
			 act == XDP_REDIRECT ? "redirected" : "passed rewritten");
		return msg;
	}
	if (act == XDP_DROP)
		return changed ? "a dropped IPv6 frame was rewritten" : NULL;
	if (out_len != len)
		return "an IPv6 frame changed length";
	if (!changed)
		return act == XDP_REDIRECT ? "an IPv6 packet redirected without losing a hop" : NULL;
	return check_rewrite6(in, out, len, act);
}

/* ---- answers ------------------------------------------------------------ */

const char *xf6_answers(enum xf_iface iface, const uint8_t *out, size_t len)
{
	static const uint8_t kinds[][2] = { { I6_UNREACH, 4 }, { I6_TOO_BIG, 0 }, { I6_TIME, 0 },
					    { I6_PARAM, 0 } };
	static unsigned int n_errors;
	enum xf_iface back = iface == XF_IN ? XF_OUT : XF_IN;
	const uint8_t *ip = out + L3;
	struct walk w;
	struct f6 s = { 0 };
	uint8_t f[PKT_MAX];
	unsigned int k;
	size_t n, q;
	const char *err;

	if (len < L3 + IP6_LEN)
		return NULL;
	w = walk6(ip, len - L3);
	if (w.bad || w.l4 + 8 > len - L3)
		return NULL;
	memcpy(s.dmac, out + 6, 6);
	memcpy(s.smac, out, 6);
	memcpy(s.src, ip + 24, 16);
	memcpy(s.dst, ip + 8, 16);
	if (w.proto == NH_ICMP6) {
		if (ip[w.l4] != I6_ECHO)
			return NULL;
		n = icmp6_seed(s, I6_ECHO_REPLY, 0, pkt_get32(ip + w.l4 + 4), ip + w.l4 + 8,
			       IP6_LEN + w.plen - w.l4 - 8, f);
		return n ? xf_run(back, f, n, NULL, NULL) : NULL;
	}
	if (w.proto != NH_TCP && w.proto != NH_UDP)
		return NULL;
	/* An error about it, the kinds and quote lengths in turn. */
	k = __atomic_fetch_add(&n_errors, 1, __ATOMIC_RELAXED);
	q = k / 4 % 2 ? IP6_LEN + 8 : len - L3;
	if (q > MIN_MTU6 - IP6_LEN - ICMP6_LEN)
		q = MIN_MTU6 - IP6_LEN - ICMP6_LEN;
	n = icmp6_seed(s, kinds[k % 4][0], kinds[k % 4][1],
		       kinds[k % 4][0] == I6_TOO_BIG ? MIN_MTU6 : 0, ip, q, f);
	if (n && (err = xf_run(back, f, n, NULL, NULL)))
		return err;
	/* The answer. */
	s.proto = w.proto;
	s.sport = pkt_get16(ip + w.l4 + 2);
	s.dport = pkt_get16(ip + w.l4);
	s.flags = PKT_ACK;
	s.payload = w.proto == NH_UDP ? 16 : 0;
	n = f6_build(&s, f);
	return n ? xf_run(back, f, n, NULL, NULL) : NULL;
}

/* ---- the chain generator ------------------------------------------------ */

const char *xf6_chain(const uint8_t *data, size_t size)
{
	static const uint8_t types[8] = { NH_HOP, NH_DST, NH_ROUTING, NH_ROUTING,
					  NH_FRAG, NH_FRAG, NH_DST, NH_AH };
	static const uint8_t l4s[4] = { NH_TCP, NH_UDP, NH_ICMP6, NH_TCP };
	static const uint16_t ports[4] = { 80, 53, 0, 81 };
	uint8_t e[MAX_EXT * 32], t[MAX_EXT], f[PKT_MAX], out[PKT_MAX];
	size_t l[MAX_EXT], n = 0, off = 0, len;
	uint8_t sel = size > 1 ? data[1] : 0, last;
	enum xf_iface iface = sel & 1 ? XF_OUT : XF_IN;
	struct f6 s;
	const char *err;
	int act = -1;

	ADD(v6_chains, 1);
	/* data[2..]: a byte per header (the last byte cuts the frame if
	 * bit 3 of data[1] says so). Bits 0-2: which; 3-4: its 8-byte units;
	 * 5: routing segments left 1, fragment M; 6: fragment offset 8. A
	 * byte of 0xf8 or more ends the chain in ESP or no next header. */
	last = l4s[(sel >> 1) & 3];
	for (size_t i = 2; i < size - ((sel & 8) != 0) && n < MAX_EXT; i++) {
		uint8_t b = data[i];

		if (b >= 0xf8) {
			last = b & 1 ? NH_ESP : NH_NONE;
			break;
		}
		t[n] = types[b & 7];
		l[n] = ext_put(e + off, t[n], (b >> 3) & 3, b & 1 ? 4 : 0, (b >> 5) & 1,
			       (uint16_t)(((b >> 5) & 1) | ((b >> 6) & 1) << 6));
		off += l[n++];
	}
	ext_chain(e, t, l, n, last);
	s = from_client(last == NH_ESP || last == NH_NONE ? NH_TCP : last, ports[(sel >> 1) & 3],
			PKT_SYN);
	if (last == NH_ICMP6) {
		s.type = I6_ECHO;
		s.word = 0x00110001;
		s.payload = ECHO_DATA;
	}
	with_chain(&s, e, off, t, n, last);
	len = f6_build(&s, f);
	if (!len)
		return NULL;
	if ((sel & 8) && size > 2)
		len = L3 + (size_t)data[size - 1] * (len - L3) / 256;
	err = xf_run(iface, f, len, out, &act);
	if (err || act != XDP_REDIRECT)
		return err;
	return xf6_answers(iface, out, len);
}

/* ---- the table ------------------------------------------------------------ */

/* The mmapped IPv6 table: buckets and slots. */
struct table6 {
	const struct portier_ct_bucket *b;
	const struct portier_ct6_slot *s;
	size_t b_size, s_size;
	__u32 n;		/* buckets */
};

static int map_in(struct bpf_map *m, const void **p, size_t *size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t sz = (size_t)bpf_map__value_size(m) * bpf_map__max_entries(m);

	sz = (sz + (size_t)page - 1) / (size_t)page * (size_t)page;
	*p = mmap(NULL, sz, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	if (*p == MAP_FAILED)
		return -1;
	*size = sz;
	return 0;
}

/* The published slot of key k, or NULL. */
static const struct portier_ct6_slot *find6(const struct table6 *t,
					    const struct portier_config *cfg,
					    const struct portier_flow_key6 *k)
{
	__u32 tag, b = portier_ct6_locate(k, cfg->ct_seed, t->n, cfg->ct6_step, &tag);

	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		const struct portier_ct6_slot *s = &t->s[(size_t)b * PORTIER_CT_SLOTS + i];

		if (t->b[b].tag[i] == tag && !memcmp(&s->key, k, sizeof(*k)))
			return s;
	}
	return NULL;
}

static int key6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct portier_flow_key6));
}

/* The invariants of the published slot s of bucket b (its tag tag). */
static const char *check_entry6(const struct table6 *t, const struct portier_config *cfg,
				const struct portier_ct6_slot *s, __u32 b, __u32 tag)
{
	struct portier_flow_key6 rk = { 0 };
	const struct portier_ct6_slot *r;
	const struct portier_flow6 *f = &s->flow;
	__u32 want_tag, want_b = portier_ct6_locate(&s->key, cfg->ct_seed, t->n, cfg->ct6_step,
						   &want_tag);

	if (want_b != b || want_tag != tag)
		return "an IPv6 entry is not in the bucket, or not under the tag, of its key";
	if (find6(t, cfg, &s->key) != s)
		return "an IPv6 entry is not what a lookup of its key finds";
	if (is_multicast(s->key.saddr.a8) || is_unspecified(s->key.saddr.a8))
		return "an IPv6 entry for a multicast or unspecified source";
	if (f->dir != PORTIER_FLOW_DIR_ORIG || (f->flags & PORTIER_FLOW_F_LOCAL))
		return NULL;
	rk.saddr = f->nat_daddr;
	rk.daddr = f->nat_saddr;
	rk.sport = f->nat_dport;
	rk.dport = f->nat_sport;
	rk.proto = s->key.proto;
	r = find6(t, cfg, &rk);
	if (!r)
		return "an IPv6 flow's original entry has no reply entry";
	if (r->flow.dir != PORTIER_FLOW_DIR_REPLY ||
	    memcmp(&r->flow.nat_saddr, &s->key.daddr, sizeof(s->key.daddr)) ||
	    memcmp(&r->flow.nat_daddr, &s->key.saddr, sizeof(s->key.saddr)) ||
	    r->flow.nat_sport != s->key.dport || r->flow.nat_dport != s->key.sport)
		return "an IPv6 flow's reply entry does not translate back to its original";
	return NULL;
}

const char *xf6_check_table(struct pt_dataplane *dp)
{
	struct portier *skel = pt_dp_skel(dp);
	const struct portier_config *cfg = pt_dp_config(dp);
	struct portier_flow_key6 *keys = NULL;
	struct table6 t = { .n = bpf_map__max_entries(skel->maps.portier_conntrack6) };
	const char *err = NULL;
	size_t n = 0, cap = 0;

	if (!cfg->ct6_buckets)
		return "the configuration has no IPv6 table (ct6_buckets 0)";
	if (cfg->ct6_buckets != t.n)
		return "the configuration's IPv6 buckets are not the map's";
	if (map_in(skel->maps.portier_conntrack6, (const void **)&t.b, &t.b_size))
		return "cannot mmap portier_conntrack6";
	if (map_in(skel->maps.portier_ct6_slots, (const void **)&t.s, &t.s_size)) {
		munmap((void *)t.b, t.b_size);
		return "cannot mmap portier_ct6_slots";
	}
	for (__u32 b = 0; b < t.n && !err; b++) {
		for (__u32 i = 0; i < PORTIER_CT_SLOTS && !err; i++) {
			const struct portier_ct6_slot *s = &t.s[(size_t)b * PORTIER_CT_SLOTS + i];
			__u32 tag = t.b[b].tag[i];

			if (!(tag & 1))
				continue;	/* free, or claimed */
			err = check_entry6(&t, cfg, s, b, tag);
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				keys = realloc(keys, cap * sizeof(*keys));
				if (!keys)
					abort();
			}
			keys[n++] = s->key;
		}
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key6_cmp);
	for (size_t i = 1; i < n && !err; i++)
		if (!key6_cmp(&keys[i - 1], &keys[i]))
			err = "an IPv6 key has two entries";
	free(keys);
	munmap((void *)t.b, t.b_size);
	munmap((void *)t.s, t.s_size);
	return err;
}
