/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * parse6.h - IPv6 header parsing: Ethernet, IPv6, TCP/UDP (or ICMPv6),
 * with a bounds check before every access. The result is a struct pkt6 or
 * a reason why the packet is not for the balancer (and what to do with
 * it). Extension headers are not walked: each has a documented action
 * (docs/dataplane.md, "IPv6"), and nothing not understood is rewritten.
 */
#ifndef PORTIER_BPF_PARSE6_H
#define PORTIER_BPF_PARSE6_H

#define IPV6_VERSION		6
#define IPV6_HDR_LEN		40
/* Next header values (IANA "Assigned Internet Protocol Numbers"). */
#define IP6_NH_FRAGMENT		44
#define IP6_NH_ICMPV6		58
#define IP6_NH_NONE		59	/* no next header */

/* A parsed IPv6 TCP/UDP packet, no extension header. Pointers are checked
 * against data_end. */
struct pkt6 {
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	__be16 *ports;		/* [0] source, [1] destination (TCP and UDP alike) */
	__sum16 *l4_csum;	/* TCP or UDP checksum field */
	struct tcphdr *tcp;	/* NULL for UDP */
	__u32 len;		/* frame length, for byte counters */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
};

/* fe80::/10 (link-local unicast, RFC 4291). */
static __always_inline bool ip6_link_local(const struct in6_addr *a)
{
	return a->in6_u.u6_addr8[0] == 0xfe && (a->in6_u.u6_addr8[1] & 0xc0) == 0x80;
}

/* ff00::/8 (multicast). */
static __always_inline bool ip6_multicast(const struct in6_addr *a)
{
	return a->in6_u.u6_addr8[0] == 0xff;
}

/* :: (unspecified: no host's address, RFC 4291 2.5.2). */
static __always_inline bool ip6_unspecified(const struct in6_addr *a)
{
	return !(a->in6_u.u6_addr32[0] | a->in6_u.u6_addr32[1] | a->in6_u.u6_addr32[2] |
		 a->in6_u.u6_addr32[3]);
}

/* Parse ctx (an IPv6 EtherType frame) into p. In this order:
 *  - truncated IPv6 header, version not 6, a payload length beyond the
 *    frame: DROP_MALFORMED;
 *  - a multicast source (RFC 4291 forbids it): DROP_MALFORMED;
 *  - link-local source or destination, or a multicast destination
 *    (neighbour discovery, router advertisements, MLD): PASS_LINK_LOCAL,
 *    untouched;
 *  - the unspecified source (::): DROP_MALFORMED;
 *  - next header: fragment: PASS_FRAGMENT (as IPv4 fragments); no next
 *    header: PASS_NOT_L4; ICMPv6: PARSE_ICMP (p->eth, p->ip6h, p->len set,
 *    for bpf/icmp6.h); TCP, UDP: parsed below; anything else (hop-by-hop,
 *    routing, destination options, AH, ESP, mobility, or a header portier
 *    does not know): PASS_IP6_EXT;
 *  - a truncated TCP/UDP header, TCP data offset < 5 or beyond the
 *    payload, UDP length outside the payload: DROP_MALFORMED; a UDP
 *    checksum of zero (invalid in IPv6, RFC 8200 8.1): DROP_BAD_CSUM. */
static __always_inline struct parse_res parse_packet6(struct xdp_md *ctx, struct pkt6 *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct parse_res ok = { .ok = 1 };
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h;
	void *l4, *end;
	__u8 nh;

	ip6h = (void *)(eth + 1);
	if ((void *)(ip6h + 1) > data_end)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (ip6h->version != IPV6_VERSION)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	end = (void *)(ip6h + 1) + bpf_ntohs(ip6h->payload_len);
	if (end > data_end)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (ip6_multicast(&ip6h->saddr))
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (ip6_link_local(&ip6h->saddr) || ip6_link_local(&ip6h->daddr) ||
	    ip6_multicast(&ip6h->daddr))
		return parse_verdict(PORTIER_R_PASS_LINK_LOCAL, XDP_PASS);
	/* (after the pass above: duplicate address detection's neighbour
	 * solicitations come from :: to a multicast group) */
	if (ip6_unspecified(&ip6h->saddr))
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);

	nh = ip6h->nexthdr;
	if (nh == IP6_NH_FRAGMENT)
		return parse_verdict(PORTIER_R_PASS_FRAGMENT, XDP_PASS);
	if (nh == IP6_NH_NONE)
		return parse_verdict(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	if (nh == IP6_NH_ICMPV6) {
		p->eth = eth;
		p->ip6h = ip6h;
		p->len = data_end - data;
		return parse_verdict(PARSE_ICMP, XDP_PASS);
	}
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
		return parse_verdict(PORTIER_R_PASS_IP6_EXT, XDP_PASS);

	l4 = ip6h + 1;
	p->tcp = NULL;
	if (nh == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || th->doff < TCP_DOFF_MIN ||
		    l4 + th->doff * 4 > end)
			return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		p->tcp = th;
		p->l4_csum = &th->check;
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || l4 + sizeof(*uh) > end ||
		    bpf_ntohs(uh->len) < sizeof(*uh) || l4 + bpf_ntohs(uh->len) > end)
			return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		if (uh->check == 0)
			return parse_verdict(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
		p->l4_csum = &uh->check;
	}
	p->eth = eth;
	p->ip6h = ip6h;
	p->ports = l4;
	p->proto = nh;
	p->len = data_end - data;
	return ok;
}

#endif
