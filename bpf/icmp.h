/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * icmp.h - ICMP in the data path: errors about a NATed flow translated for
 * the flow's other end (RFC 5508), and ICMP fragmentation needed sent back
 * for a packet too big for its egress NIC, rate-limited per CPU.
 * docs/dataplane.md, "ICMP", tells the story.
 */
#ifndef PORTIER_BPF_ICMP_H
#define PORTIER_BPF_ICMP_H

#define ICMP_ECHOREPLY		0	/* echoes: egress's (egress.h), and quoted */
#define ICMP_ECHO		8
#define ICMP_DEST_UNREACH	3
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12
#define ICMP_FRAG_NEEDED	4	/* code of ICMP_DEST_UNREACH */
#define IP_DF			0x4000	/* don't fragment (host order frag_off) */
#define ICMP_TTL		64	/* TTL of a message the program makes */
#define ICMP_TOS		0xc0	/* precedence "internetwork control", as
					 * the kernel's ICMP errors */
#define ICMP_HDR_LEN		8
#define ICMP_L4_QUOTE		8	/* bytes of the L4 header an error quotes
					 * at least (RFC 792): the ports */
#define ICMP_TTL_MIN_FORWARD	2	/* as fwd.h: TTL 1 would expire here */
#define TCP_CSUM_OFF		16	/* checksum field in the TCP header */
#define UDP_CSUM_OFF		6	/* checksum field in the UDP header */
#define IP_MTU_MAX		0xffff

/* ---- rate limit ---------------------------------------------------------- */

#define ICMP_COST_NS	(NSEC_PER_SEC / PORTIER_ICMP_RATE)
#define ICMP_CREDIT_MAX	(ICMP_COST_NS * PORTIER_ICMP_BURST)

/* May this CPU send an ICMP error now? A token bucket in time units:
 * credit grows with the time since the last call, up to BURST messages'
 * worth; a message costs 1 / RATE s. */
static __always_inline bool icmp_rl_allow(__u64 now)
{
	struct portier_icmp_rl *rl;
	__u32 zero = 0;
	__u64 credit;

	rl = bpf_map_lookup_elem(&portier_icmp_rl, &zero);
	if (!rl)
		return false;
	credit = now - rl->last_ns;
	if (credit > ICMP_CREDIT_MAX || rl->credit_ns + credit > ICMP_CREDIT_MAX)
		credit = ICMP_CREDIT_MAX;
	else
		credit += rl->credit_ns;
	rl->last_ns = now;
	if (credit < ICMP_COST_NS) {
		rl->credit_ns = credit;
		return false;
	}
	rl->credit_ns = credit - ICMP_COST_NS;
	return true;
}

/* ---- fragmentation needed ----------------------------------------------- */

/* The quote of a generated error: the IP header and 8 bytes of the packet
 * (RFC 792; RFC 1812 allows more, the sender needs no more: the ports, and
 * TCP's sequence number). */
#define ICMP_IP_HDR_LEN	20
#define ICMP_QUOTE_LEN	(ICMP_IP_HDR_LEN + ICMP_L4_QUOTE)

/* A generated ICMP error, as it goes on the wire: 70 bytes. */
struct icmp_msg {
	struct ethhdr eth;
	struct iphdr ip;
	struct icmphdr icmp;
	__u8 quote[ICMP_QUOTE_LEN];
} __attribute__((packed, aligned(2)));	/* 16-bit words for the checksums (the
					 * verifier wants aligned stack reads) */

/* One's complement sum of n 16-bit words at w (n a constant). */
static __always_inline __u32 csum_words(const __u16 *w, int n)
{
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		s += w[i];
	return s;
}

/* The address the error comes from: for a packet to a service (original
 * direction), the service address the client sent it to, which its stack
 * expects; for a reply, this host's address on the output NIC (the SNAT
 * address), else the address the reply was sent to; for an egress flow,
 * the egress address. */
static __always_inline __be32 icmp_src_addr(const struct pkt *p, const struct portier_flow *f,
					    const struct portier_config *cfg)
{
	/* Egress: the gateway's egress address, whichever way (a client's
	 * packet was sent to a server, not to us). */
	if ((f->flags & PORTIER_FLOW_F_EGRESS) && cfg && cfg->egress_addr)
		return cfg->egress_addr;
	if (f->dir == PORTIER_FLOW_DIR_REPLY && cfg && cfg->snat_family == PORTIER_AF_INET &&
	    cfg->snat_addr.a32[0])
		return cfg->snat_addr.a32[0];
	return p->iph->daddr;
}

/* Packet p of flow f is too big for the next hop's MTU mtu. DF set: answer
 * its sender with ICMP fragmentation needed (type 3 code 4, the MTU, the
 * packet's IP header and 8 bytes as received), the frame turned around in
 * place and cut to 70 bytes, XDP_TX; over the rate limit, dropped
 * (counted). DF clear: rewritten by f (TTL and MACs as received) and passed:
 * the kernel fragments and forwards it. A function of its own: its stack
 * is not the hot path's. */
static __noinline int icmp_too_big(struct xdp_md *ctx, struct pkt *p,
				   const struct portier_config *cfg, const struct portier_flow *f,
				   __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = p->iph;
	struct icmp_msg m;
	int cut;

	if (!(iph->frag_off & bpf_htons(IP_DF))) {
		nat_rewrite(p, f, false);
		return count_reason(PORTIER_R_PASS_TOO_BIG, XDP_PASS);
	}
	if ((void *)iph + ICMP_QUOTE_LEN > data_end || data + sizeof(m) > data_end) {
		/* Cannot be (a TCP/UDP packet over an MTU): the kernel decides. */
		nat_rewrite(p, f, false);
		return count_reason(PORTIER_R_PASS_TOO_BIG, XDP_PASS);
	}
	if (!icmp_rl_allow(bpf_ktime_get_coarse_ns()))
		return count_reason(PORTIER_R_ICMP_RATELIMITED, XDP_DROP);

	__builtin_memset(&m, 0, sizeof(m));
	__builtin_memcpy(m.eth.h_dest, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(m.eth.h_source, p->eth->h_dest, ETH_ALEN);
	m.eth.h_proto = bpf_htons(ETH_P_IP);
	m.ip.version = IPV4_VERSION;
	m.ip.ihl = IPV4_IHL_MIN;
	m.ip.tos = ICMP_TOS;
	m.ip.tot_len = bpf_htons(sizeof(m) - sizeof(m.eth));
	m.ip.ttl = ICMP_TTL;
	m.ip.protocol = IPPROTO_ICMP;
	m.ip.saddr = icmp_src_addr(p, f, cfg);
	m.ip.daddr = iph->saddr;
	m.icmp.type = ICMP_DEST_UNREACH;
	m.icmp.code = ICMP_FRAG_NEEDED;
	m.icmp.un.frag.mtu = bpf_htons(mtu > IP_MTU_MAX ? IP_MTU_MAX : mtu);
	__builtin_memcpy(m.quote, iph, ICMP_QUOTE_LEN);
	m.ip.check = ~csum_fold(csum_words((const __u16 *)((void *)&m + sizeof(m.eth)),
					   sizeof(m.ip) / 2));
	m.icmp.checksum = ~csum_fold(csum_words(
		(const __u16 *)((void *)&m + sizeof(m.eth) + sizeof(m.ip)),
		(sizeof(m.icmp) + sizeof(m.quote)) / 2));
	__builtin_memcpy(data, &m, sizeof(m));
	/* A frame that cannot be cut still carries the right IP length: the
	 * bytes after it are padding to the receiver. */
	cut = (int)sizeof(m) - (int)(data_end - data);
	bpf_xdp_adjust_tail(ctx, cut);
	return count_reason(PORTIER_R_ICMP_FRAG_NEEDED_SENT, XDP_TX);
}

/* ---- errors of NATed flows (RFC 5508) ----------------------------------- */

/* Is t an ICMP error type that quotes a packet and is translated? */
static __always_inline bool icmp_is_error(__u8 t)
{
	return t == ICMP_DEST_UNREACH || t == ICMP_TIME_EXCEEDED || t == ICMP_PARAMETERPROB;
}

/* The parts of an ICMP error the translation rewrites. */
struct icmp_xlat {
	struct iphdr *in;	/* the quoted (inner) IP header */
	__be16 *ports;		/* its ports: [0] source, [1] destination;
				 * a quoted echo's: its header's identifier
				 * and sequence number */
	__sum16 *l4_csum;	/* its TCP/UDP checksum, NULL if not quoted;
				 * a quoted echo's ICMP checksum */
	__u8 proto;		/* the quoted protocol, read once (two reads of
				 * the packet are two values to the verifier) */
	bool echo_req;		/* the quote is an echo request of an egress
				 * flow (else, if ICMP, an echo reply) */
};

/* Offsets in a quoted ICMP echo's header (RFC 792). */
#define ICMP_ECHO_CSUM_OFF	2
#define ICMP_ECHO_ID_OFF	4

/* The new outer addresses of error e for entry f: the destination is the
 * flow's other end; an error from the end that got the quoted packet
 * comes from where the other end had sent its packet (a router's address
 * on the path is kept). */
static __always_inline __be32 icmp_new_saddr(const struct iphdr *iph, const struct icmp_xlat *e,
					     const struct portier_flow *f)
{
	return iph->saddr == e->in->daddr ? f->nat_saddr : iph->saddr;
}

/* Rewrite the error e in p for flow entry f (the entry of the quoted
 * packet's tuple reversed): the quoted packet becomes the one the flow's
 * other end sent (addresses and ports of f's rewrite, swapped), with its
 * IP checksum and, when quoted, its TCP/UDP checksum updated incrementally;
 * the outer addresses those of icmp_new_saddr and f->nat_daddr; the ICMP
 * checksum and the outer IP checksum are updated for all of it. TTL - 1
 * if dec_ttl. */
static __always_inline void icmp_rewrite(struct pkt *p, struct icmphdr *ih,
					 const struct icmp_xlat *e,
					 const struct portier_flow *f, bool dec_ttl)
{
	struct csum_delta a = { 0 }, l4, ic, o = { 0 };
	struct iphdr *iph = p->iph, *in = e->in;
	__be32 saddr = icmp_new_saddr(iph, e, f), daddr = f->nat_daddr;
	__u16 in_check, old, new;
	__u8 ttl = iph->ttl;

	/* The quoted packet: its source is f's new destination, and so on. */
	csum_delta32(&a, in->saddr, f->nat_daddr);
	csum_delta32(&a, in->daddr, f->nat_saddr);
	in_check = csum_apply(in->check, &a);
	if (e->proto == IPPROTO_ICMP) {
		/* An echo: only the identifier, its port (a request's is
		 * its source port, a reply's its destination port, as
		 * egress_echo_key), changes in the ICMP message, whose
		 * checksum has no pseudo-header. */
		new = e->echo_req ? f->nat_dport : f->nat_sport;
		__builtin_memset(&l4, 0, sizeof(l4));
		csum_delta16(&l4, e->ports[0], new);
		ic = a;
		csum_delta16(&ic, e->ports[0], new);
		e->ports[0] = new;
	} else {
		l4 = a;		/* the addresses are in the TCP/UDP pseudo-header too */
		csum_delta16(&l4, e->ports[0], f->nat_dport);
		csum_delta16(&l4, e->ports[1], f->nat_sport);
		ic = l4;	/* every changed word is in the ICMP message */
		e->ports[0] = f->nat_dport;
		e->ports[1] = f->nat_sport;
	}
	csum_delta16(&ic, in->check, in_check);
	if (e->l4_csum) {
		old = *e->l4_csum;
		new = e->proto == IPPROTO_UDP ? csum_apply_udp(old, &l4) :
						    csum_apply(old, &l4);
		csum_delta16(&ic, old, new);
		*e->l4_csum = new;
	}
	in->saddr = f->nat_daddr;
	in->daddr = f->nat_saddr;
	in->check = in_check;
	ih->checksum = csum_apply(ih->checksum, &ic);

	csum_delta32(&o, iph->saddr, saddr);
	csum_delta32(&o, iph->daddr, daddr);
	if (dec_ttl) {
		csum_delta16(&o, bpf_htons(ttl << 8 | iph->protocol),
			     bpf_htons((ttl - 1) << 8 | iph->protocol));
		iph->ttl = ttl - 1;
	}
	iph->saddr = saddr;
	iph->daddr = daddr;
	iph->check = csum_apply(iph->check, &o);
}

/* An ICMP packet (p: Ethernet and IPv4 header parsed). An error (dest
 * unreachable, time exceeded, parameter problem) quoting a TCP/UDP packet
 * (or an ICMP echo of an egress flow, its identifier as the port) that a
 * live NATed flow's rewrite produced is translated and sent to the
 * flow's other end: the quoted packet's tuple reversed is the key of the
 * flow's entry for the packets that come back, whose rewrite gives the
 * addresses and ports the other end knows. A backend's error about a
 * client's packet arrives on the output NIC and finds the reply entry; a
 * client's (or a box-side router's) error about a reply arrives on the
 * input NIC and finds the original entry. Anything else passes unchanged,
 * as before (PASS_NOT_L4): echo requests, errors of other traffic. A
 * function of its own, off the hot path's stack. */
static __noinline int icmp_packet(struct xdp_md *ctx, struct pkt *p)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = p->iph;
	struct icmphdr *ih = (void *)(iph + 1);
	/* The key, then the lookup: one place on a stack that the hot path's
	 * deepest call leaves little room on (512 bytes in all). */
	union {
		struct portier_flow_key key;
		struct bpf_fib_lookup fib;
	} u;
	struct portier_config *cfg;
	struct portier_flow *f;
	struct icmp_xlat e;
	__u32 ip_len, zero = 0, need;
	int rc;

	if ((void *)(ih + 1) > data_end || !icmp_is_error(ih->type))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	e.in = (void *)(ih + 1);
	e.ports = (void *)(e.in + 1);
	ip_len = bpf_ntohs(iph->tot_len);
	need = sizeof(*iph) + ICMP_HDR_LEN + sizeof(*iph) + ICMP_L4_QUOTE;
	if ((void *)e.ports + ICMP_L4_QUOTE > data_end || ip_len < need)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	e.proto = e.in->protocol;
	if (e.in->version != IPV4_VERSION || e.in->ihl != IPV4_IHL_MIN ||
	    (e.proto != IPPROTO_TCP && e.proto != IPPROTO_UDP && e.proto != IPPROTO_ICMP) ||
	    (bpf_ntohs(e.in->frag_off) & IP_OFFSET))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);

	__builtin_memset(&u.key, 0, sizeof(u.key));
	u.key.saddr = e.in->daddr;
	u.key.daddr = e.in->saddr;
	u.key.proto = e.proto;
	e.echo_req = false;
	e.l4_csum = NULL;
	if (e.proto == IPPROTO_ICMP) {
		/* A quoted echo of an egress flow (egress.h): the identifier
		 * is its port, a request's source port, a reply's
		 * destination port; the tuple reversed is the key of the
		 * entry of the echoes that come back. */
		__u8 *q = (void *)e.ports;

		if ((q[0] != ICMP_ECHO && q[0] != ICMP_ECHOREPLY) || q[1] != 0)
			return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
		e.echo_req = q[0] == ICMP_ECHO;
		e.l4_csum = (void *)q + ICMP_ECHO_CSUM_OFF;
		e.ports = (void *)q + ICMP_ECHO_ID_OFF;
		if (e.echo_req)
			u.key.dport = e.ports[0];
		else
			u.key.sport = e.ports[0];
	} else {
		u.key.sport = e.ports[1];
		u.key.dport = e.ports[0];
	}
	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	if (!cfg)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	f = ct_lookup(cfg, &u.key);
	if (!f || flow_expired(cfg, f, e.proto, now) ||
	    (e.proto == IPPROTO_ICMP && !(f->flags & PORTIER_FLOW_F_EGRESS)))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	if (iph->ttl < ICMP_TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);

	/* The quoted TCP/UDP checksum, if the quote holds it (an echo's is
	 * in its 8 bytes: set above). */
	if (e.proto == IPPROTO_UDP) {
		e.l4_csum = (void *)e.ports + UDP_CSUM_OFF;
	} else if (e.proto == IPPROTO_TCP && (void *)e.ports + TCP_CSUM_OFF + sizeof(__sum16) <= data_end &&
		   ip_len >= need - ICMP_L4_QUOTE + TCP_CSUM_OFF + sizeof(__sum16)) {
		e.l4_csum = (void *)e.ports + TCP_CSUM_OFF;
	}
	__builtin_memset(&u.fib, 0, sizeof(u.fib));
	u.fib.family = AF_INET;
	u.fib.tos = iph->tos;
	u.fib.l4_protocol = IPPROTO_ICMP;
	u.fib.tot_len = ip_len;
	u.fib.ipv4_src = icmp_new_saddr(iph, &e, f);
	u.fib.ipv4_dst = f->nat_daddr;
	u.fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &u.fib, sizeof(u.fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS &&
	    bpf_redirect_map(&portier_tx_ports, u.fib.ifindex, XDP_PASS) == XDP_REDIRECT) {
		icmp_rewrite(p, ih, &e, f, true);
		__builtin_memcpy(p->eth->h_dest, u.fib.dmac, ETH_ALEN);
		__builtin_memcpy(p->eth->h_source, u.fib.smac, ETH_ALEN);
		return count_reason(PORTIER_R_ICMP_TRANSLATED, XDP_REDIRECT);
	}
	if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* The kernel forwards it (and resolves the neighbour). */
		icmp_rewrite(p, ih, &e, f, false);
		return count_reason(PORTIER_R_ICMP_TRANSLATED, XDP_PASS);
	}
	return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
}

#endif
