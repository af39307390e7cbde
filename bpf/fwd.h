/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * fwd.h - forwarding a packet that a flow entry rewrites: TTL check, the
 * next hop (cached in the flow entry, else the backend's cache, else
 * bpf_fib_lookup) and its MTU, redirect through portier_tx_ports, then the
 * rewrite and the MACs. Never a silent drop: a packet too big for the next
 * hop gets ICMP fragmentation needed (bpf/icmp.h), every other failure
 * passes the packet to the kernel with a counter.
 */
#ifndef PORTIER_BPF_FWD_H
#define PORTIER_BPF_FWD_H

#define TTL_MIN_FORWARD	2	/* a packet with TTL 1 would expire here */
/* A backend's next hop serves new flows this long after its lookup: a
 * neighbour MAC or route change is seen within it, as with the flow cache. */
#define NEXTHOP_CACHE_NS	NSEC_PER_SEC

/* The backend's cached next hop, if it is fresh and was looked up for the
 * same addresses (IPv4) and input NIC as flow entry f's packets. */
static __always_inline bool nexthop_cached(struct xdp_md *ctx, const struct portier_flow *f,
					   const struct portier_nexthop *nh, __u64 now)
{
	return nh && nh->tx_ifindex && now - nh->looked_up_ns < NEXTHOP_CACHE_NS &&
	       nh->in_ifindex == ctx->ingress_ifindex &&
	       nh->daddr.a32[0] == f->nat_daddr &&
	       nh->saddr.a32[0] == f->nat_saddr;
}

/* The MTU of NIC ifindex for the flow caches: a packet between lookups is
 * checked against it (the devmap drops a frame over it without a word).
 * Unknown (the NIC is gone): no limit, the redirect decides. */
static __always_inline __u16 nic_mtu(struct xdp_md *ctx, __u32 ifindex)
{
	__u32 mtu = 0;

	if (bpf_check_mtu(ctx, ifindex, &mtu, 0, 0) < 0 || mtu == 0 || mtu > 0xffff)
		return 0xffff;
	return mtu;
}

/* Find the next hop for f's rewritten packet and cache it in f (and, for
 * the original direction, in the backend's cache). Returns a
 * BPF_FIB_LKUP_RET_* code; f->tx_ifindex is 0 unless it is SUCCESS. For
 * FRAG_NEEDED (the packet is bigger than the route's MTU), f->tx_mtu is
 * that MTU. A function of its own (called once a second per flow, or for
 * a new one): its lookup's stack is not the hot path's. */
static __noinline int next_hop(struct xdp_md *ctx, struct pkt *p, struct portier_flow *f,
			       __u64 now)
{
	struct portier_nexthop *nh = NULL;
	__u32 backend_id = f->backend_id;	/* the map's key is 32-bit */
	struct bpf_fib_lookup fib;
	int rc;

	/* Every flow to a backend has the same next hop (the backend's
	 * address is the destination). Replies go to many clients, egress
	 * flows to many servers: no cache but the flow's own. */
	if (f->dir == PORTIER_FLOW_DIR_ORIG && !(f->flags & PORTIER_FLOW_F_EGRESS))
		nh = bpf_map_lookup_elem(&portier_nexthop, &backend_id);
	if (nexthop_cached(ctx, f, nh, now)) {
		__builtin_memcpy(f->tx_dmac, nh->tx_dmac, ETH_ALEN);
		__builtin_memcpy(f->tx_smac, nh->tx_smac, ETH_ALEN);
		f->tx_ifindex = nh->tx_ifindex;
		f->tx_mtu = nh->tx_mtu;
		return BPF_FIB_LKUP_RET_SUCCESS;
	}

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET;
	fib.tos = p->iph->tos;
	fib.l4_protocol = p->proto;
	fib.sport = f->nat_sport;
	fib.dport = f->nat_dport;
	fib.tot_len = bpf_ntohs(p->iph->tot_len);
	fib.ipv4_src = f->nat_saddr;
	fib.ipv4_dst = f->nat_daddr;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		f->tx_ifindex = 0;
		f->tx_mtu = fib.mtu_result;	/* (FRAG_NEEDED) */
		return rc;
	}
	__builtin_memcpy(f->tx_dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(f->tx_smac, fib.smac, ETH_ALEN);
	f->tx_ifindex = fib.ifindex;
	f->tx_mtu = nic_mtu(ctx, fib.ifindex);
	if (nh) {
		nh->saddr.a32[0] = f->nat_saddr;
		nh->daddr.a32[0] = f->nat_daddr;
		nh->looked_up_ns = now;
		nh->in_ifindex = ctx->ingress_ifindex;
		nh->tx_ifindex = fib.ifindex;
		nh->tx_mtu = f->tx_mtu;
		__builtin_memcpy(nh->tx_dmac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(nh->tx_smac, fib.smac, ETH_ALEN);
	}
	return rc;
}

/* Forward the packet of flow entry f. The next hop comes from f's cache
 * unless refresh (or nothing cached). Redirected: rewritten, TTL - 1, MACs
 * of the next hop. Passed to the kernel to forward (no neighbour yet, or
 * the egress NIC is not in portier_tx_ports): rewritten, TTL and MACs as
 * received (the kernel decrements the TTL, and drops a frame with a
 * foreign destination MAC). Too big for the route's MTU (at a lookup) or
 * the egress NIC's (every packet): icmp_too_big. Otherwise passed
 * unchanged. */
static __always_inline int forward(struct xdp_md *ctx, struct pkt *p,
				   const struct portier_config *cfg, struct portier_flow *f,
				   __u64 now, bool refresh)
{
	int rc;

	/* The kernel sends ICMP time exceeded for the unchanged packet. */
	if (p->iph->ttl < TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);
	if (refresh || !f->tx_ifindex || !f->tx_mtu) {
		rc = next_hop(ctx, p, f, now);
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
			return icmp_too_big(ctx, p, cfg, f, f->tx_mtu);
		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
			/* Route known, next hop's MAC not: the kernel
			 * resolves the neighbour. */
			nat_rewrite(p, f, false);
			return count_reason(PORTIER_R_PASS_NO_NEIGH, XDP_PASS);
		}
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	if (bpf_ntohs(p->iph->tot_len) > f->tx_mtu)
		return icmp_too_big(ctx, p, cfg, f, f->tx_mtu);
	if (bpf_redirect_map(&portier_tx_ports, f->tx_ifindex, XDP_PASS) != XDP_REDIRECT) {
		nat_rewrite(p, f, false);
		return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	nat_rewrite(p, f, true);
	__builtin_memcpy(p->eth->h_dest, f->tx_dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, f->tx_smac, ETH_ALEN);
	return count_reason(PORTIER_R_FWD_REDIRECT, XDP_REDIRECT);
}

#endif
