/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * fwd6.h - forwarding an IPv6 packet that a flow entry rewrites, as
 * bpf/fwd.h does IPv4's: hop limit check, the next hop (cached in the flow
 * entry, else the backend's cache, else bpf_fib_lookup AF_INET6) and its
 * MTU, redirect through portier_tx_ports, then the rewrite and the MACs.
 * A packet too big for the next hop gets ICMPv6 Packet Too Big
 * (bpf/icmp6.h); every other failure passes the packet to the kernel with
 * a counter.
 */
#ifndef PORTIER_BPF_FWD6_H
#define PORTIER_BPF_FWD6_H

/* The IPv6 packet's length, header included (bpf_fib_lookup's tot_len, and
 * what an MTU limits). */
static __always_inline __u32 pkt6_ip_len(const struct pkt6 *p)
{
	return IPV6_HDR_LEN + bpf_ntohs(p->ip6h->payload_len);
}

/* Find the next hop for f's rewritten packet and cache it in f (and, for
 * the original direction, in the backend's cache), as IPv4's next_hop.
 * Returns a BPF_FIB_LKUP_RET_* code; for FRAG_NEEDED f->tx_mtu is the
 * route's MTU. Not inlined: its lookup's stack is not the hot path's. */
static __noinline int next_hop6(struct xdp_md *ctx, struct pkt6 *p, struct portier_flow6 *f,
				__u64 now)
{
	struct portier_nexthop *nh = NULL;
	__u32 backend_id;
	struct bpf_fib_lookup fib;
	int rc;

	if (!p || !f)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	backend_id = f->backend_id;
	if (f->dir == PORTIER_FLOW_DIR_ORIG)
		nh = bpf_map_lookup_elem(&portier_nexthop, &backend_id);
	if (nh && nh->tx_ifindex && now - nh->looked_up_ns < NEXTHOP_CACHE_NS &&
	    nh->in_ifindex == ctx->ingress_ifindex && addr6_eq(&nh->daddr, &f->nat_daddr) &&
	    addr6_eq(&nh->saddr, &f->nat_saddr)) {
		__builtin_memcpy(f->tx_dmac, nh->tx_dmac, ETH_ALEN);
		__builtin_memcpy(f->tx_smac, nh->tx_smac, ETH_ALEN);
		f->tx_ifindex = nh->tx_ifindex;
		f->tx_mtu = nh->tx_mtu;
		return BPF_FIB_LKUP_RET_SUCCESS;
	}

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET6;
	fib.l4_protocol = p->proto;
	fib.sport = f->nat_sport;
	fib.dport = f->nat_dport;
	fib.tot_len = pkt6_ip_len(p);
	__builtin_memcpy(fib.ipv6_src, f->nat_saddr.a32, sizeof(fib.ipv6_src));
	__builtin_memcpy(fib.ipv6_dst, f->nat_daddr.a32, sizeof(fib.ipv6_dst));
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
		nh->saddr = f->nat_saddr;
		nh->daddr = f->nat_daddr;
		nh->looked_up_ns = now;
		nh->in_ifindex = ctx->ingress_ifindex;
		nh->tx_ifindex = fib.ifindex;
		nh->tx_mtu = f->tx_mtu;
		__builtin_memcpy(nh->tx_dmac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(nh->tx_smac, fib.smac, ETH_ALEN);
	}
	return rc;
}

/* Forward the packet of flow entry f, as IPv4's forward: the next hop from
 * f's cache unless refresh (or nothing cached); redirected: rewritten, hop
 * limit - 1, the next hop's MACs; passed to the kernel to forward (no
 * neighbour yet, the egress NIC not in portier_tx_ports): rewritten, hop
 * limit and MACs as received. A hop limit of 1 or 0: passed unchanged
 * (the kernel sends time exceeded). Bigger than the route's or the egress
 * NIC's MTU: icmp6_too_big. */
static __always_inline int forward6(struct xdp_md *ctx, struct pkt6 *p,
				    const struct portier_config *cfg, struct portier_flow6 *f,
				    __u64 now, bool refresh)
{
	int rc;

	if (p->ip6h->hop_limit < TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);
	if (refresh || !f->tx_ifindex || !f->tx_mtu) {
		rc = next_hop6(ctx, p, f, now);
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
			return icmp6_too_big(ctx, p, cfg, f, f->tx_mtu);
		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
			nat_rewrite6(p, f, false);
			return count_reason(PORTIER_R_PASS_NO_NEIGH, XDP_PASS);
		}
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	if (pkt6_ip_len(p) > f->tx_mtu)
		return icmp6_too_big(ctx, p, cfg, f, f->tx_mtu);
	if (bpf_redirect_map(&portier_tx_ports, f->tx_ifindex, XDP_PASS) != XDP_REDIRECT) {
		nat_rewrite6(p, f, false);
		return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	nat_rewrite6(p, f, true);
	__builtin_memcpy(p->eth->h_dest, f->tx_dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, f->tx_smac, ETH_ALEN);
	return count_reason(PORTIER_R_FWD_REDIRECT, XDP_REDIRECT);
}

#endif
