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

/* ---- errors of NATed flows (RFC 5508, as bpf/icmp.h's IPv4) ------------ */

#define ICMP6_DEST_UNREACH	1	/* the four error types (RFC 4443 3) */
#define ICMP6_TIME_EXCEEDED	3
#define ICMP6_PARAM_PROB	4
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_CSUM_OFF		2	/* checksum field in the ICMPv6 header */

/* Is t an ICMPv6 error type that quotes a packet and is translated
 * (destination unreachable, packet too big, time exceeded, parameter
 * problem)? */
static __always_inline bool icmp6_is_error(__u8 t)
{
	return t >= ICMP6_DEST_UNREACH && t <= ICMP6_PARAM_PROB;
}

/* The parts of an ICMPv6 error the translation rewrites. */
struct icmp6_xlat {
	struct ipv6hdr *in;	/* the quoted (inner) IPv6 header */
	__be16 *ports;		/* its ports: [0] source, [1] destination */
	__sum16 *l4_csum;	/* its TCP/UDP checksum, NULL if not quoted */
	__u8 proto;		/* the quoted protocol, read once */
};

/* The new outer source of error e for entry f, as IPv4's icmp_new_saddr:
 * an error from the host the quoted packet was sent to comes from where
 * the other end had sent its packet; a router's address on the path is
 * kept. */
static __always_inline void icmp6_new_saddr(const struct ipv6hdr *ip6h,
					    const struct icmp6_xlat *e,
					    const struct portier_flow6 *f,
					    struct portier_addr *out)
{
	if (addr6_eq((const struct portier_addr *)&ip6h->saddr,
		     (const struct portier_addr *)&e->in->daddr))
		*out = f->nat_saddr;
	else
		__builtin_memcpy(out, &ip6h->saddr, sizeof(*out));
}

/* Rewrite the error e in p (ICMPv6 header ic) for flow entry f (the entry
 * of the quoted packet's tuple reversed), as IPv4's icmp_rewrite: the
 * quoted packet becomes the one the flow's other end sent (addresses and
 * ports of f's rewrite, swapped), its TCP/UDP checksum, when quoted,
 * updated incrementally; the outer source saddr, the outer destination
 * f->nat_daddr; the ICMPv6 checksum updated for all of it, the outer
 * addresses included (its pseudo-header). IPv6 has no header checksum,
 * and the hop limit is in no checksum: - 1 if dec_hl. */
static __always_inline void icmp6_rewrite(struct pkt6 *p, __u8 *ic, const struct icmp6_xlat *e,
					  const struct portier_flow6 *f,
					  const struct portier_addr *saddr, bool dec_hl)
{
	struct ipv6hdr *ip6h = p->ip6h, *in = e->in;
	struct csum_delta l4 = { 0 }, d;
	__sum16 *icsum = (void *)ic + ICMP6_CSUM_OFF;
	__u16 old, new;

	/* The quoted packet: its source is f's new destination, and so on. */
	csum_delta_addr6(&l4, in->saddr.in6_u.u6_addr32, f->nat_daddr.a32);
	csum_delta_addr6(&l4, in->daddr.in6_u.u6_addr32, f->nat_saddr.a32);
	csum_delta16(&l4, e->ports[0], f->nat_dport);
	csum_delta16(&l4, e->ports[1], f->nat_sport);
	d = l4;		/* every changed word is in the ICMPv6 message */
	if (e->l4_csum) {
		old = *e->l4_csum;
		new = e->proto == IPPROTO_UDP ? csum_apply_udp(old, &l4) : csum_apply(old, &l4);
		csum_delta16(&d, old, new);
		*e->l4_csum = new;
	}
	__builtin_memcpy(&in->saddr, &f->nat_daddr, sizeof(in->saddr));
	__builtin_memcpy(&in->daddr, &f->nat_saddr, sizeof(in->daddr));
	e->ports[0] = f->nat_dport;
	e->ports[1] = f->nat_sport;

	/* The outer addresses: in the ICMPv6 pseudo-header. */
	csum_delta_addr6(&d, ip6h->saddr.in6_u.u6_addr32, saddr->a32);
	csum_delta_addr6(&d, ip6h->daddr.in6_u.u6_addr32, f->nat_daddr.a32);
	__builtin_memcpy(&ip6h->saddr, saddr, sizeof(ip6h->saddr));
	__builtin_memcpy(&ip6h->daddr, &f->nat_daddr, sizeof(ip6h->daddr));
	*icsum = csum_apply(*icsum, &d);
	if (dec_hl)
		ip6h->hop_limit -= 1;
}

/* An ICMPv6 packet (p: Ethernet and IPv6 header parsed) that is not
 * link-local (neighbour discovery, router advertisements and MLD pass
 * before, as PASS_LINK_LOCAL). An error (destination unreachable, packet
 * too big, time exceeded, parameter problem) quoting a TCP/UDP packet
 * that a live NATed flow's rewrite produced is translated and sent to
 * the flow's other end, as IPv4's icmp_packet: the quoted tuple reversed
 * is the key of the flow's entry for the packets that come back, whose
 * rewrite gives the addresses and ports the other end knows (a backend's
 * error about a client's packet finds the reply entry, a client's error
 * about a reply the original entry). A Packet Too Big keeps its MTU (NAT66
 * does not change a packet's size). Anything else passes unchanged
 * (PASS_NOT_L4): an echo request to a service address (this host's stack
 * answers it if the address is its own, as IPv4 echoes), errors of other
 * traffic, a quote with an extension header or shorter than an IPv6
 * header and 8 bytes. The flow is not touched (counters, timers). A
 * function of its own, off the hot path's stack; the key and the FIB
 * lookup in the per-CPU scratch (portier_new_flow6). */
static __noinline int icmp6_packet(struct xdp_md *ctx, struct pkt6 *p)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	void *data_end = (void *)(long)ctx->data_end;
	struct portier_config *cfg;
	struct flow6_scratch *sc;
	struct portier_flow6 *f;
	struct ipv6hdr *ip6h;
	struct icmp6_xlat e;
	__u32 zero = 0, slot = SCRATCH6_XDP, ip_len, need;
	__u8 *ic;
	int rc;

	if (!p)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	ip6h = p->ip6h;
	ic = (void *)(ip6h + 1);
	if ((void *)ic + ICMP6_HDR_LEN > data_end || !icmp6_is_error(ic[0]))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	e.in = (void *)(ic + ICMP6_HDR_LEN);
	e.ports = (void *)(e.in + 1);
	ip_len = IPV6_HDR_LEN + bpf_ntohs(ip6h->payload_len);
	need = IPV6_HDR_LEN + ICMP6_HDR_LEN + IPV6_HDR_LEN + ICMP_L4_QUOTE;
	if ((void *)e.ports + ICMP_L4_QUOTE > data_end || ip_len < need)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	e.proto = e.in->nexthdr;
	if (e.in->version != IPV6_VERSION || (e.proto != IPPROTO_TCP && e.proto != IPPROTO_UDP))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);

	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	sc = bpf_map_lookup_elem(&portier_new_flow6, &slot);
	if (!cfg || !sc)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	__builtin_memset(&sc->rk, 0, sizeof(sc->rk));
	__builtin_memcpy(&sc->rk.saddr, &e.in->daddr, sizeof(sc->rk.saddr));
	__builtin_memcpy(&sc->rk.daddr, &e.in->saddr, sizeof(sc->rk.daddr));
	sc->rk.sport = e.ports[1];
	sc->rk.dport = e.ports[0];
	sc->rk.proto = e.proto;
	f = ct_lookup6(cfg, &sc->rk);
	if (!f || flow_expired6(cfg, f, e.proto, now))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	if (ip6h->hop_limit < ICMP_TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);

	/* The quoted TCP/UDP checksum, if the quote holds it. */
	e.l4_csum = NULL;
	if (e.proto == IPPROTO_UDP)
		e.l4_csum = (void *)e.ports + UDP_CSUM_OFF;
	else if ((void *)e.ports + TCP_CSUM_OFF + sizeof(__sum16) <= data_end &&
		 ip_len >= need - ICMP_L4_QUOTE + TCP_CSUM_OFF + sizeof(__sum16))
		e.l4_csum = (void *)e.ports + TCP_CSUM_OFF;
	/* The new outer source where the key was (no longer needed): the
	 * lookup may write the next hop's address over its destination. */
	icmp6_new_saddr(ip6h, &e, f, &sc->rk.saddr);
	__builtin_memset(&sc->fib, 0, sizeof(sc->fib));
	sc->fib.family = AF_INET6;
	sc->fib.l4_protocol = IP6_NH_ICMPV6;
	sc->fib.tot_len = ip_len;
	__builtin_memcpy(sc->fib.ipv6_src, sc->rk.saddr.a32, sizeof(sc->fib.ipv6_src));
	__builtin_memcpy(sc->fib.ipv6_dst, f->nat_daddr.a32, sizeof(sc->fib.ipv6_dst));
	sc->fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &sc->fib, sizeof(sc->fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS &&
	    bpf_redirect_map(&portier_tx_ports, sc->fib.ifindex, XDP_PASS) == XDP_REDIRECT) {
		icmp6_rewrite(p, ic, &e, f, &sc->rk.saddr, true);
		__builtin_memcpy(p->eth->h_dest, sc->fib.dmac, ETH_ALEN);
		__builtin_memcpy(p->eth->h_source, sc->fib.smac, ETH_ALEN);
		return count_reason(PORTIER_R_ICMP_TRANSLATED, XDP_REDIRECT);
	}
	if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* The kernel forwards it (and resolves the neighbour). */
		icmp6_rewrite(p, ic, &e, f, &sc->rk.saddr, false);
		return count_reason(PORTIER_R_ICMP_TRANSLATED, XDP_PASS);
	}
	return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
}

#endif
