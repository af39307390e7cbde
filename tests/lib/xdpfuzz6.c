// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz6.c - the packet-path fuzz harness's IPv6 part (xdpfuzz6.h): the
 * IPv6 test network and routes, the frames (a builder with extension
 * header chains), the seeds, the answers to a forwarded packet, the chain
 * generator. The invariants are xdpfuzz6_check.c's and xdpfuzz6_table.c's.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "testroute.h"
#include "xdpfuzz6_int.h"

void xf6_a6(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET6, s, out) != 1)
		abort();	/* a constant of the harness */
}

/* ---- network, routes, configuration ----------------------------------- */

void xf6_routes(struct pt_route *r)
{
	const struct tn_be web[] = { { tn6_be_addr[0], 30080, false }, { tn6_be_addr[1], 30080, false },
				     { tn6_be_addr[2], 30080, false } };
	const struct tn_be dns[] = { { tn6_be_addr[0], 30053, false } };
	const struct tn_be dnat[] = { { tn6_be_addr[1], 30081, false } };
	const struct tn_be local[] = { { TN6_GW_OUT, 82, true }, { tn6_be_addr[0], 30082, false } };

	tn_route(&r[0], "web6", TN6_GW_IN, 80, IPPROTO_TCP, PT_NAT_SNAT, web, 3);
	tn_route(&r[1], "dns6", TN6_GW_IN, 53, IPPROTO_UDP, PT_NAT_SNAT, dns, 1);
	tn_route(&r[2], "dnat6", TN6_GW_IN, 81, IPPROTO_TCP, PT_NAT_DNAT, dnat, 1);
	tn_route(&r[3], "local6", TN6_GW_IN, 82, IPPROTO_TCP, PT_NAT_SNAT, local, 2);
}

void xf6_local(struct pt_addr *a)
{
	a[0] = tn_addr(TN6_GW_IN);
	a[1] = tn_addr(TN6_GW_OUT);
}

void xf6_config(struct portier_config *cfg)
{
	xf6_a6(TN6_GW_OUT, cfg->snat_addr6.a8);
}

/* The ones' complement sum of the IPv6 pseudo-header of src, dst, an
 * upper-layer length and next header. */
uint32_t xf6_pseudo(const uint8_t *src, const uint8_t *dst, size_t len, uint8_t nh)
{
	return pkt_sum(dst, 16, pkt_sum(src, 16, 0)) + (uint32_t)(len >> 16) +
	       (uint32_t)(len & 0xffff) + nh;
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
	if (s->n_ext)
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
	c = (uint16_t)~pkt_fold(pkt_sum(l4, l4len, xf6_pseudo(s->src, s->dst, l4len, s->proto)));
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
	xf6_a6(TN6_CLIENT, s.src);
	xf6_a6(TN6_GW_IN, s.dst);
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
	xf6_a6(tn6_be_addr[i], s.src);
	xf6_a6(dst, s.dst);
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
 * untouched; a multicast or unspecified source: never forwarded (the seeds
 * are full, XF_MAX_SEEDS: a backend's multicast source gave its place). */
static void ll_seeds(void (*add)(enum xf_iface, const uint8_t *, size_t, bool))
{
	uint8_t f[PKT_MAX], body[24] = { 0 };
	struct f6 s = from_client(NH_ICMP6, 0, 0);

	xf6_a6(XF6_CLIENT_LL, s.src);
	xf6_a6("ff02::1:ff00:1", s.dst);		/* solicited-node of ::1 */
	xf6_a6(TN6_GW_IN, body);			/* NS: its target */
	add(XF_IN, f, icmp6_seed(s, 135, 0, 0, body, 16, f), false);
	xf6_a6(XF6_GW_LL, s.src);
	xf6_a6("ff02::1", s.dst);
	add(XF_IN, f, icmp6_seed(s, 134, 0, 0x40000000, body, 8, f), false);	/* RA */
	add(XF_IN, f, icmp6_seed(s, I6_MLD_QUERY, 0, 0, body, 16, f), false);
	xf6_a6(XF6_CLIENT_LL, s.src);
	xf6_a6(XF6_GW_LL, s.dst);
	add(XF_IN, f, icmp6_seed(s, 136, 0, 0x60000000, body, 16, f), false);	/* NA */
	add(XF_IN, f, icmp6_seed(s, I6_ECHO, 0, 0x00070001, body, 16, f), false);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* link-local TCP to a service port */
	xf6_a6(XF6_CLIENT_LL, s.src);
	xf6_a6(XF6_GW_LL, s.dst);
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_UDP, 53, 0);		/* to all nodes */
	xf6_a6("ff02::1", s.dst);
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* from a multicast source */
	xf6_a6("ff0e::1", s.src);
	add(XF_IN, f, f6_build(&s, f), false);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* from the unspecified address */
	xf6_a6("::", s.src);
	add(XF_IN, f, f6_build(&s, f), false);
}

/* ICMPv6 errors quoting packets of the flows (a backend's about a snat
 * flow's packet, the client's about a reply, whole and cut), echoes. */
static void icmp_seeds(void (*add)(enum xf_iface, const uint8_t *, size_t, bool))
{
	uint8_t f[PKT_MAX], q[PKT_MAX];
	struct f6 s, p;
	size_t n;

	/* The gateway's packet to backend 0 (snat port 16384), quoted by it. */
	p = from_backend(0, TN6_GW_OUT, NH_TCP, 16384, 30080, PKT_SYN);
	memcpy(p.src, p.dst, 16);
	xf6_a6(tn6_be_addr[0], p.dst);
	n = f6_build(&p, q) - L3;
	s = from_backend(0, TN6_GW_OUT, NH_ICMP6, 0, 0, 0);
	add(XF_OUT, f, icmp6_seed(s, I6_UNREACH, 4, 0, q + L3, n, f), false);
	add(XF_OUT, f, icmp6_seed(s, I6_TOO_BIG, 0, 1280, q + L3, n, f), false);
	add(XF_OUT, f, icmp6_seed(s, I6_TIME, 0, 0, q + L3, IP6_LEN + 8, f), false);
	/* The service's reply to the client, quoted by the client. */
	p = from_client(NH_TCP, 40000, PKT_SYN | PKT_ACK);
	memcpy(p.src, p.dst, 16);
	xf6_a6(TN6_CLIENT, p.dst);
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
	s = from_backend(0, TN6_GW_OUT, NH_TCP, 30080, 16384, PKT_SYN | PKT_ACK);
	add(XF_OUT, f, f6_build(&s, f), false);
	s = from_backend(1, TN6_CLIENT, NH_TCP, 30081, 40000, PKT_SYN | PKT_ACK);
	add(XF_OUT, f, f6_build(&s, f), false);
	ll_seeds(add);
	icmp_seeds(add);
	chain_seeds(add);
	s = from_client(NH_TCP, 80, PKT_SYN);	/* the chain generator's */
	add(XF_IN, f, f6_build(&s, f), true);
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
	w = xf6_walk(ip, len - L3);
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
