/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * fwd.h - forwarding a packet that a flow entry rewrites: TTL check, FIB
 * and neighbour lookup for the rewritten addresses, rewrite, MACs from the
 * FIB result, redirect through portier_tx_ports. The FIB result is cached in
 * the flow entry and looked up again at most once a second. Never a silent
 * drop: every failure passes the packet to the kernel with a counter.
 */
#ifndef PORTIER_BPF_FWD_H
#define PORTIER_BPF_FWD_H

#define TTL_MIN_FORWARD	2	/* a packet with TTL 1 would expire here */

/* Rewrite MACs, redirect to ifindex. If the egress NIC is not in
 * portier_tx_ports, the kernel gets the rewritten packet with the MACs it
 * was received with (a foreign destination MAC would make it drop it). */
static __always_inline int fwd_redirect(struct pkt *p, __u32 ifindex, const __u8 *dmac,
					const __u8 *smac)
{
	__u8 old_dst[ETH_ALEN], old_src[ETH_ALEN];
	int rc;

	__builtin_memcpy(old_dst, p->eth->h_dest, ETH_ALEN);
	__builtin_memcpy(old_src, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(p->eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, smac, ETH_ALEN);
	rc = bpf_redirect_map(&portier_tx_ports, ifindex, XDP_PASS);
	if (rc != XDP_REDIRECT) {
		__builtin_memcpy(p->eth->h_dest, old_dst, ETH_ALEN);
		__builtin_memcpy(p->eth->h_source, old_src, ETH_ALEN);
		return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	return count_reason(PORTIER_R_FWD_REDIRECT, XDP_REDIRECT);
}

/* Forward the packet of flow entry f. The next hop comes from f's cache
 * unless refresh (or nothing cached); a fresh FIB result is cached in f. */
static __always_inline int forward(struct xdp_md *ctx, struct pkt *p, struct portier_flow *f,
				   bool refresh)
{
	struct bpf_fib_lookup fib;
	int rc;

	/* The kernel sends ICMP time exceeded for the unchanged packet. */
	if (p->iph->ttl < TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);
	if (!refresh && f->tx_ifindex) {
		nat_rewrite(p, f);
		return fwd_redirect(p, f->tx_ifindex, f->tx_dmac, f->tx_smac);
	}

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET;
	fib.tos = p->iph->tos;
	fib.l4_protocol = p->proto;
	fib.sport = f->nat_sport;
	fib.dport = f->nat_dport;
	fib.tot_len = bpf_ntohs(p->iph->tot_len);
	fib.ipv4_src = f->nat_saddr.a32[0];
	fib.ipv4_dst = f->nat_daddr.a32[0];
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* Route known, next hop's MAC not: the kernel forwards the
		 * rewritten packet and resolves the neighbour. */
		f->tx_ifindex = 0;
		nat_rewrite(p, f);
		return count_reason(PORTIER_R_PASS_NO_NEIGH, XDP_PASS);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		f->tx_ifindex = 0;
		return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	__builtin_memcpy(f->tx_dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(f->tx_smac, fib.smac, ETH_ALEN);
	f->tx_ifindex = fib.ifindex;
	nat_rewrite(p, f);
	return fwd_redirect(p, fib.ifindex, fib.dmac, fib.smac);
}

#endif
