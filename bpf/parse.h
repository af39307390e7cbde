/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * parse.h - header parsing: Ethernet, IPv4, TCP/UDP, with a bounds check
 * before every access. The result is a struct pkt or a reason why the
 * packet is not for the balancer (and what to do with it).
 */
#ifndef PORTIER_BPF_PARSE_H
#define PORTIER_BPF_PARSE_H

/* vmlinux.h carries types, not #defines: the constants used here. */
#define ETH_ALEN	6
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define AF_INET		2
#define IPV4_VERSION	4
#define IPV4_IHL_MIN	5	/* 32-bit words: header without options */
#define IP_MF		0x2000	/* more fragments (host order frag_off) */
#define IP_OFFSET	0x1FFF	/* fragment offset mask */
#define TCP_DOFF_MIN	5	/* 32-bit words: header without options */

/* A parsed IPv4 TCP/UDP packet. Pointers are checked against data_end. */
struct pkt {
	struct ethhdr *eth;
	struct iphdr *iph;
	__be16 *ports;		/* [0] source, [1] destination (TCP and UDP alike) */
	__sum16 *l4_csum;	/* TCP or UDP checksum field */
	struct tcphdr *tcp;	/* NULL for UDP */
	__u32 len;		/* frame length, for byte counters */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
};

/* Outcome of parsing: PARSE_OK, or the reason and action for the rest. */
struct parse_res {
	int ok;			/* 1: struct pkt is valid */
	__u32 reason;		/* enum portier_reason when !ok */
	int action;		/* XDP_PASS or XDP_DROP when !ok */
};

/* parse_res.reason of an ICMP packet (not a reason id): p->eth, p->iph and
 * p->len are set, bpf/icmp.h looks at it. */
#define PARSE_ICMP	PORTIER_R_MAX

static __always_inline struct parse_res parse_verdict(__u32 reason, int action)
{
	struct parse_res r = { .ok = 0, .reason = reason, .action = action };

	return r;
}

/* Parse ctx into p. VLAN, non-IPv4, IP options, fragments and non-TCP/UDP
 * pass (an ICMP packet: PARSE_ICMP, its IPv4 header in p); truncated
 * headers, a bad version, IHL < 5, a total length beyond the frame, a TCP
 * data offset < 5 or a UDP length outside the packet drop. */
static __always_inline struct parse_res parse_packet(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct parse_res ok = { .ok = 1 };
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u16 proto, frag;
	__u32 ihl_bytes;
	void *l4;

	if ((void *)(eth + 1) > data_end)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD)
		return parse_verdict(PORTIER_R_PASS_VLAN, XDP_PASS);
	if (proto != ETH_P_IP)
		return parse_verdict(PORTIER_R_PASS_NOT_IP, XDP_PASS);

	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (iph->version != IPV4_VERSION || iph->ihl < IPV4_IHL_MIN)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	ihl_bytes = iph->ihl * 4;
	if (bpf_ntohs(iph->tot_len) < ihl_bytes ||
	    (void *)iph + bpf_ntohs(iph->tot_len) > data_end)
		return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (iph->ihl != IPV4_IHL_MIN)
		return parse_verdict(PORTIER_R_PASS_IP_OPTIONS, XDP_PASS);
	frag = bpf_ntohs(iph->frag_off);
	if (frag & (IP_MF | IP_OFFSET))
		return parse_verdict(PORTIER_R_PASS_FRAGMENT, XDP_PASS);

	l4 = iph + 1;
	p->tcp = NULL;
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || th->doff < TCP_DOFF_MIN ||
		    l4 + th->doff * 4 > (void *)iph + bpf_ntohs(iph->tot_len))
			return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		p->tcp = th;
		p->l4_csum = &th->check;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		/* Its length field inside the IP packet too: the receiving
		 * stack drops a datagram longer than its packet, or shorter
		 * than its header, so it is not forwarded either. */
		if ((void *)(uh + 1) > data_end ||
		    l4 + sizeof(*uh) > (void *)iph + bpf_ntohs(iph->tot_len) ||
		    bpf_ntohs(uh->len) < sizeof(*uh) ||
		    l4 + bpf_ntohs(uh->len) > (void *)iph + bpf_ntohs(iph->tot_len))
			return parse_verdict(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		p->l4_csum = &uh->check;
	} else if (iph->protocol == IPPROTO_ICMP) {
		p->eth = eth;
		p->iph = iph;
		p->len = data_end - data;
		return parse_verdict(PARSE_ICMP, XDP_PASS);
	} else {
		return parse_verdict(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	}
	p->eth = eth;
	p->iph = iph;
	p->ports = l4;
	p->proto = iph->protocol;
	p->len = data_end - data;
	return ok;
}

#endif
