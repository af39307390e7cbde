/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * icmp6.h - ICMPv6 in the data path: Packet Too Big sent back for a packet
 * bigger than its egress MTU (IPv6 routers never fragment, RFC 8200 5),
 * rate-limited with IPv4's errors (portier_icmp_rl); and what happens to
 * an ICMPv6 packet that arrives. docs/dataplane.md, "IPv6".
 */
#ifndef PORTIER_BPF_ICMP6_H
#define PORTIER_BPF_ICMP6_H

#define ICMP6_PKT_TOO_BIG	2	/* type; code 0 */
#define IPV6_MIN_MTU		1280	/* RFC 8200 5: every link carries this */
#define ICMP6_HDR_LEN		8	/* type, code, checksum, MTU */
/* The offending packet's bytes a Packet Too Big quotes: as many as fit in
 * the minimum MTU (RFC 4443 2.4 c). */
#define ICMP6_QUOTE_LEN		(IPV6_MIN_MTU - IPV6_HDR_LEN - ICMP6_HDR_LEN)
#define ICMP6_MSG_LEN		(ICMP6_HDR_LEN + ICMP6_QUOTE_LEN)	/* payload length */
#define ICMP6_HOP_LIMIT		64	/* of a message the program makes */
/* bpf_csum_diff sums at most 512 bytes a call. */
#define CSUM_DIFF_MAX		512

/* The address a Packet Too Big comes from, as IPv4's icmp_src_addr: for a
 * packet to a service (original direction), the address the client sent
 * it to; for a reply, the NAT66 address if there is one, else the address
 * the reply was sent to. */
static __always_inline void icmp6_src_addr(const struct pkt6 *p, const struct portier_flow6 *f,
					   const struct portier_config *cfg,
					   struct portier_addr *out)
{
	if (f->dir == PORTIER_FLOW_DIR_REPLY && cfg && !addr6_is_zero(&cfg->snat_addr6))
		*out = cfg->snat_addr6;
	else
		__builtin_memcpy(out, &p->ip6h->daddr, sizeof(*out));
}

/* The IPv6 pseudo-header of an ICMPv6 message (RFC 8200 8.1), summed. */
struct icmp6_pseudo {
	struct portier_addr saddr;
	struct portier_addr daddr;
	__be32 len;
	__be32 nexthdr;
};

/* Packet p of flow f is bigger than the next hop's MTU mtu: answer its
 * sender with ICMPv6 Packet Too Big (type 2, code 0, the MTU, then the
 * packet as received, as much as fits in 1280 bytes), the frame turned
 * around in place (48 bytes of headers put in front, the tail cut),
 * XDP_TX out of the NIC it came in on; counted ICMP_FRAG_NEEDED_SENT (the
 * IPv4 reason of the same meaning). Over the rate limit: dropped
 * (ICMP_RATELIMITED). An egress MTU below IPv6's minimum (a link that is
 * not IPv6's): rewritten and passed (PASS_TOO_BIG), the kernel decides. A
 * function of its own: its stack is not the hot path's. */
static __noinline int icmp6_too_big(struct xdp_md *ctx, struct pkt6 *p,
				    const struct portier_config *cfg,
				    const struct portier_flow6 *f, __u32 mtu)
{
	struct icmp6_pseudo ph;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	struct ipv6hdr *ip6h;
	struct ethhdr *eth;
	__u8 *icmp, *data, *data_end;
	__s64 sum;
	int grow = IPV6_HDR_LEN + ICMP6_HDR_LEN;

	if (!p || !f)
		return count_reason(PORTIER_R_PASS_TOO_BIG, XDP_PASS);
	if (mtu < IPV6_MIN_MTU ||
	    IPV6_HDR_LEN + bpf_ntohs(p->ip6h->payload_len) < ICMP6_QUOTE_LEN) {
		nat_rewrite6(p, f, false);
		return count_reason(PORTIER_R_PASS_TOO_BIG, XDP_PASS);
	}
	if (!icmp_rl_allow(bpf_ktime_get_coarse_ns()))
		return count_reason(PORTIER_R_ICMP_RATELIMITED, XDP_DROP);

	/* What the new headers need, before the frame moves. */
	__builtin_memset(&ph, 0, sizeof(ph));
	icmp6_src_addr(p, f, cfg, &ph.saddr);
	__builtin_memcpy(&ph.daddr, &p->ip6h->saddr, sizeof(ph.daddr));
	ph.len = bpf_htonl(ICMP6_MSG_LEN);
	ph.nexthdr = bpf_htonl(IP6_NH_ICMPV6);
	__builtin_memcpy(dmac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(smac, p->eth->h_dest, ETH_ALEN);

	if (bpf_xdp_adjust_head(ctx, -grow))
		return count_reason(PORTIER_R_PASS_TOO_BIG, XDP_PASS);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* Cut to the message; a frame that cannot be cut still carries the
	 * right IPv6 length: the bytes after it are padding to the
	 * receiver. */
	bpf_xdp_adjust_tail(ctx, (int)(sizeof(*eth) + IPV6_HDR_LEN + ICMP6_MSG_LEN) -
				 (int)(data_end - data));
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = (void *)data;
	ip6h = (void *)(eth + 1);
	icmp = (void *)(ip6h + 1);
	if ((void *)icmp + ICMP6_MSG_LEN > (void *)data_end)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);

	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	*(__be32 *)ip6h = bpf_htonl(IPV6_VERSION << 28);	/* class 0, flow 0 */
	ip6h->payload_len = bpf_htons(ICMP6_MSG_LEN);
	ip6h->nexthdr = IP6_NH_ICMPV6;
	ip6h->hop_limit = ICMP6_HOP_LIMIT;
	__builtin_memcpy(&ip6h->saddr, &ph.saddr, sizeof(ph.saddr));
	__builtin_memcpy(&ip6h->daddr, &ph.daddr, sizeof(ph.daddr));
	icmp[0] = ICMP6_PKT_TOO_BIG;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;			/* checksum, below */
	*(__be32 *)(icmp + 4) = bpf_htonl(mtu);

	/* The checksum: the pseudo-header, then the message, 512 bytes a
	 * call (ICMP6_MSG_LEN = 1240 = 512 + 512 + 216). */
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)icmp, CSUM_DIFF_MAX, sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)(icmp + CSUM_DIFF_MAX), CSUM_DIFF_MAX, sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)(icmp + 2 * CSUM_DIFF_MAX),
			    ICMP6_MSG_LEN - 2 * CSUM_DIFF_MAX, sum);
	if (sum < 0)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	*(__u16 *)(icmp + 2) = ~csum_fold((__u32)sum);
	return count_reason(PORTIER_R_ICMP_FRAG_NEEDED_SENT, XDP_TX);
}

/* An ICMPv6 packet (p: Ethernet and IPv6 header parsed) that is not
 * link-local (neighbour discovery, router advertisements and MLD pass
 * before, as PASS_LINK_LOCAL): an echo request to a service address goes
 * to this host's stack, which answers it if the address is its own (as
 * IPv4 echoes); errors pass for now (their translation for NATed flows
 * is bpf/icmp6.h's to come, here); all as PASS_NOT_L4. */
static __always_inline int icmp6_packet(struct xdp_md *ctx, struct pkt6 *p)
{
	(void)ctx;
	(void)p;
	return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
}

#endif
