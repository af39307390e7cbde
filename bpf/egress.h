/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * egress.h - egress NAT, the nat-gateway-pool's job: a packet from the
 * input side that the FIB forwards out of the output NIC, TCP, UDP or an
 * ICMP echo request, allowed by an egress rule of the inventory, starts a
 * flow whose source is translated to the egress address with a port (the
 * echo identifier for ICMP, as the kernel's masquerade) from the SNAT
 * allocator of bpf/nat.h; its replies are translated back. Egress flows
 * live in the connection table as the kube routes' flows do (two struct
 * portier_flow entries, PORTIER_FLOW_F_EGRESS), so ICMP errors about them
 * (bpf/icmp.h), fragmentation needed, the GC and timeouts are theirs too.
 * What no rule allows is dropped and counted; what the FIB does not send
 * out of the output NIC (this host's own addresses, broadcast, another
 * interface) is not egress and passes as before. docs/dataplane.md,
 * "Egress", tells the story.
 *
 * Included by portier.bpf.c after its packet helpers (frame_for_us,
 * tcp_syn_only, flow_new_bits), which it uses; flow_packet, after it,
 * counts the packets of egress flows on their rule (egress_count).
 */
#ifndef PORTIER_BPF_EGRESS_H
#define PORTIER_BPF_EGRESS_H

/* ICMP_ECHO, ICMP_ECHOREPLY: icmp.h. */
/* egress_read(), egress_new() results besides an action (>= 0,
 * counted), and egress_echo_fwd()'s modes: */
#define EGRESS_NOT_MINE		(-1)	/* not egress: the caller goes on as before */
#define EGRESS_KNOWN		(-2)	/* an echo of a live egress flow */
#define EGRESS_FWD		(-3)	/* a new flow: forward the packet by the
					 * entry in portier_new_flow, whose next
					 * hop is cached */
#define EGRESS_FWD_LOOKUP	(-4)	/* the same, next hop to look up */
#define EGRESS_RULE		0x100	/* egress_new(): a new flow allowed by
					 * rule (result - EGRESS_RULE) */

/* What new_flow() returns for a packet to no service: the walk tries
 * egress (egress_or), else passes it as reason r. Below every action. */
#define EGRESS_OR(r)		(-0x100 - (int)(r))
#define EGRESS_OR_REASON(act)	((__u32)(-0x100 - (act)))

/* Packet kinds egress_new() starts flows for, or not. */
#define EGRESS_K_TCP_SYN	1
#define EGRESS_K_TCP_OTHER	2	/* not a SYN: no flow of its own */
#define EGRESS_K_UDP		3
#define EGRESS_K_ECHO		4	/* echo request */
#define EGRESS_K_ECHOREPLY	5	/* no flow of its own either */

/* Egress's working memory (egress_read, egress_new, egress_create,
 * egress_echo_fwd), one per CPU: the stack has no room for it beside the
 * packet walk's frame (portier_xdp's, below theirs). */
struct egress_scratch {
	struct bpf_fib_lookup fib;
	struct portier_flow rv;		/* the reply entry being made */
	struct portier_flow_key key;	/* the packet's (echo: the identifier
					 * as the port) */
	struct portier_flow_key rk;	/* the reply entry's */
	__u32 len;			/* the packet's length */
	__u8 refresh;			/* an echo of a live flow: its last_seen
					 * was refreshed (next hop due) */
	__u8 fib_ok;			/* egress_new's lookup found the next hop */
	__u8 pad[2];
};

/* Key __u32 0; the program's own, not pinned (like portier_new_flow). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egress_scratch);
} portier_egress_scratch SEC(".maps");

/* Is egress NAT on? (one array read: a packet the routes have no use for
 * pays it when egress is off) */
static __always_inline bool egress_on(void)
{
	__u32 zero = 0;
	struct portier_config *cfg = bpf_map_lookup_elem(&portier_config, &zero);

	return cfg && cfg->egress_on;
}

/* The rules mask of the longest prefix of trie map covering address a. */
static __always_inline __u64 egress_mask(void *map, __be32 a)
{
	struct portier_egress_key k = { .prefixlen = 32, .addr = a };
	struct portier_egress_mask *m = bpf_map_lookup_elem(map, &k);

	return m ? m->rules : 0;
}

/* Does rule r take a new flow of protocol proto_bit (PORTIER_EGRESS_P_*)
 * to port dport (host order; ICMP: unused)? A global function, verified
 * once: its checks do not multiply the states of egress_match's loop. */
__noinline int egress_rule_ok(const struct portier_egress_rule *r, __u32 proto_bit, __u32 dport)
{
	__u32 n;

	if (!r || !(r->protos & PORTIER_EGRESS_F_USED) || !(r->protos & proto_bit))
		return 0;
	if (proto_bit == PORTIER_EGRESS_P_ICMP || r->n_ports == 0)
		return 1;
	n = r->n_ports;
#pragma unroll
	for (__u32 j = 0; j < PORTIER_EGRESS_PORTS_MAX; j++) {
		if (j < n && dport >= r->ports[j].lo && dport <= r->ports[j].hi)
			return 1;
	}
	return 0;
}

/* Which rule allows a new flow whose source is covered by the rules of
 * src and whose destination by those of dst, of protocol proto_bit to
 * port dport: the first in declaration order whose protocols and ports
 * take it (0..63), or -1. A global function: verified once. (A 64-bit
 * counter, the lookup's key a copy: a 32-bit counter spilled as the key
 * is not tracked as a number, and the loop would not verify.) */
__noinline int egress_match(__u64 src, __u64 dst, __u32 proto_bit, __u32 dport)
{
	struct portier_egress_rule *r;
	__u64 mask = src & dst;
	__u32 k;

	for (__u64 i = 0; i < PORTIER_EGRESS_RULES_MAX; i++) {
		if (!(mask >> i & 1))
			continue;
		k = i;
		r = bpf_map_lookup_elem(&portier_egress_rules, &k);
		if (egress_rule_ok(r, proto_bit, dport))
			return i;
	}
	return -1;
}

/* The slot of portier_egress_stats that counts a refused new flow from a
 * source covered by the rules of src: the first of them (the source's
 * rule), or PORTIER_EGRESS_UNMATCHED. A global function: verified once. */
__noinline int egress_refused_slot(__u64 src)
{
	for (__u64 i = 0; i < PORTIER_EGRESS_RULES_MAX; i++) {
		if (src >> i & 1)
			return i;
	}
	return PORTIER_EGRESS_UNMATCHED;
}

/* Count a packet (and a new flow) of egress rule rule, direction dir. */
static __always_inline void egress_count(__u32 rule, __u8 dir, __u32 len, bool new_flow)
{
	struct portier_egress_stats *s = bpf_map_lookup_elem(&portier_egress_stats, &rule);

	if (!s)
		return;
	dir &= PORTIER_FLOW_DIR_REPLY;
	s->packets[dir] += 1;
	s->bytes[dir] += len;
	if (new_flow)
		s->flows += 1;
}

/* The ICMP echo header of p (its IPv4 header parsed, its total length
 * inside the frame), or NULL; an echo shorter than its header is none. */
static __always_inline struct icmphdr *egress_echo_hdr(struct xdp_md *ctx, const struct pkt *p)
{
	struct icmphdr *ih = (void *)(p->iph + 1);

	if ((void *)(ih + 1) > xdp_data_end(ctx) || ih->code != 0 ||
	    (ih->type != ICMP_ECHO && ih->type != ICMP_ECHOREPLY) ||
	    bpf_ntohs(p->iph->tot_len) < sizeof(struct iphdr) + sizeof(*ih))
		return NULL;
	return ih;
}

/* Rewrite echo packet p (header ih) by flow entry f: addresses, and the
 * identifier (a request's becomes the allocated one, nat_sport; a reply's
 * the client's, nat_dport), the IPv4 and ICMP checksums updated (ICMP has
 * no pseudo-header); TTL - 1 if dec_ttl. */
static __always_inline void egress_echo_rewrite(struct pkt *p, struct icmphdr *ih,
						const struct portier_flow *f, bool dec_ttl)
{
	struct iphdr *iph = p->iph;
	struct csum_delta ip = { 0 }, ic = { 0 };
	__be16 id = ih->type == ICMP_ECHO ? f->nat_sport : f->nat_dport;
	__u8 ttl = iph->ttl;

	csum_delta32(&ip, iph->saddr, f->nat_saddr);
	csum_delta32(&ip, iph->daddr, f->nat_daddr);
	csum_delta16(&ic, ih->un.echo.id, id);
	if (dec_ttl) {
		csum_delta16(&ip, bpf_htons(ttl << 8 | iph->protocol),
			     bpf_htons((ttl - 1) << 8 | iph->protocol));
		iph->ttl = ttl - 1;
	}
	iph->saddr = f->nat_saddr;
	iph->daddr = f->nat_daddr;
	iph->check = csum_apply(iph->check, &ip);
	ih->un.echo.id = id;
	ih->checksum = csum_apply(ih->checksum, &ic);
}

/* next_hop() of fwd.h for echo packet p of flow entry f, with the lookup
 * in fib (the scratch's: no stack for it here), into f's cache. */
static __always_inline int egress_echo_next_hop(struct xdp_md *ctx, struct pkt *p,
						struct portier_flow *f,
						struct bpf_fib_lookup *fib)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->iph->tos;
	fib->l4_protocol = IPPROTO_ICMP;
	fib->tot_len = bpf_ntohs(p->iph->tot_len);
	fib->ipv4_src = f->nat_saddr;
	fib->ipv4_dst = f->nat_daddr;
	fib->ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		f->tx_ifindex = 0;
		f->tx_mtu = fib->mtu_result;
		return rc;
	}
	__builtin_memcpy(f->tx_dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(f->tx_smac, fib->smac, ETH_ALEN);
	f->tx_ifindex = fib->ifindex;
	f->tx_mtu = nic_mtu(ctx, fib->ifindex);
	return rc;
}

/* Forward echo packet p of flow entry f: forward() of fwd.h for ICMP. Too
 * big for the next hop: with DF, passed unchanged (the kernel answers
 * fragmentation needed, quoting the packet as the client sent it, and
 * drops it); without DF rewritten and passed, the kernel fragments it. */
static __always_inline int egress_echo_forward(struct xdp_md *ctx, struct pkt *p,
					       struct portier_flow *f, struct icmphdr *ih,
					       struct bpf_fib_lookup *fib, bool refresh)
{
	int rc;

	if (p->iph->ttl < TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);
	if (refresh || !f->tx_ifindex || !f->tx_mtu) {
		rc = egress_echo_next_hop(ctx, p, f, fib);
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
			goto too_big;
		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
			egress_echo_rewrite(p, ih, f, false);
			return count_reason(PORTIER_R_PASS_NO_NEIGH, XDP_PASS);
		}
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	if (bpf_ntohs(p->iph->tot_len) > f->tx_mtu)
		goto too_big;
	if (bpf_redirect_map(&portier_tx_ports, f->tx_ifindex, XDP_PASS) != XDP_REDIRECT) {
		egress_echo_rewrite(p, ih, f, false);
		return count_reason(PORTIER_R_PASS_FIB, XDP_PASS);
	}
	egress_echo_rewrite(p, ih, f, true);
	__builtin_memcpy(p->eth->h_dest, f->tx_dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, f->tx_smac, ETH_ALEN);
	return count_reason(PORTIER_R_FWD_REDIRECT, XDP_REDIRECT);
too_big:
	if (!(p->iph->frag_off & bpf_htons(IP_DF)))
		egress_echo_rewrite(p, ih, f, false);
	return count_reason(PORTIER_R_PASS_TOO_BIG, XDP_PASS);
}

/* The key of echo packet p (header ih): the identifier as the source
 * port of a request, the destination port of a reply (so that the other
 * entry's key, flow_key_other, is the answer's). */
static __always_inline void egress_echo_key(const struct pkt *p, const struct icmphdr *ih,
					    struct portier_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->iph->saddr;
	k->daddr = p->iph->daddr;
	k->proto = IPPROTO_ICMP;
	if (ih->type == ICMP_ECHO)
		k->sport = ih->un.echo.id;
	else
		k->dport = ih->un.echo.id;
}

/* Forward an echo of an egress flow: mode EGRESS_KNOWN, a live flow's
 * (egress_read looked it up and accounted it; its key is in the scratch);
 * EGRESS_FWD or EGRESS_FWD_LOOKUP, a new flow's first packet by the entry
 * in portier_new_flow. A global function: the packet walk's frame below
 * it leaves no room for the echo's on its own. */
__noinline int egress_echo_fwd(struct xdp_md *ctx, int mode)
{
	struct portier_config *cfg;
	struct egress_scratch *sc;
	struct portier_flow *f;
	struct icmphdr *ih;
	struct pkt p;
	__u32 zero = 0;
	bool refresh;

	if (!ctx || parse_packet(ctx, &p).reason != PARSE_ICMP)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	ih = egress_echo_hdr(ctx, &p);
	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	sc = bpf_map_lookup_elem(&portier_egress_scratch, &zero);
	if (!ih || !cfg || !sc)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	/* As a TCP/UDP packet to the flow code: the identifier and sequence
	 * number where the ports are (next_hop does not read them). */
	p.proto = IPPROTO_ICMP;
	p.tcp = NULL;
	p.ports = (void *)&ih->un.echo.id;
	p.l4_csum = &ih->checksum;
	if (mode == EGRESS_KNOWN) {
		f = ct_lookup(cfg, &sc->key);
		refresh = sc->refresh;
	} else {
		f = bpf_map_lookup_elem(&portier_new_flow, &zero);
		refresh = mode == EGRESS_FWD_LOOKUP;
	}
	if (!f || !(f->flags & PORTIER_FLOW_F_EGRESS))
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	return egress_echo_forward(ctx, &p, f, ih, &sc->fib, refresh);
}

/* Insert both entries of a new egress flow allowed by rule rule, for the
 * packet whose key and length egress_read put in the scratch sc, into
 * *orig the original one: source egress_addr and a port of the SNAT range
 * (the claim of its reply entry reserves it, as for the kube routes: a
 * port is one flow's to a server, whoever asks). Returns FLOW_OK,
 * FLOW_RACE or a drop reason (as flow_create). Inlined in the packet
 * walk, as flow_create: its claims' frame is the walk's own. */
static __always_inline __u32 egress_create(const struct portier_config *cfg,
					   struct egress_scratch *sc, __u32 rule, __u64 now,
					   struct portier_flow *orig)
{
	struct ct_claimed co, cr;
	__u32 zero = 0, *cursor, rc;
	int claim;

	cursor = bpf_map_lookup_elem(&portier_egress_cursor, &zero);
	if (!cursor)
		return PORTIER_R_DROP_CT_FULL;
	claim = ct_claim_key(cfg, &sc->key, portier_tick(now), &co);
	if (claim == CT_CLAIM_EXISTS)
		return FLOW_RACE;
	if (claim)
		return PORTIER_R_DROP_CT_FULL;
	flow_init(orig, PORTIER_FLOW_DIR_ORIG, rule, 0, now);
	orig->packets = 1;
	orig->bytes = sc->len;
	orig->flags = PORTIER_FLOW_F_EGRESS;
	orig->nat_saddr = cfg->egress_addr;
	orig->nat_daddr = sc->key.daddr;
	orig->nat_dport = sc->key.dport;

	/* The reply entry: server -> egress_addr:port, rewritten back to
	 * server -> client. */
	flow_init(&sc->rv, PORTIER_FLOW_DIR_REPLY, rule, 0, now);
	sc->rv.flags = PORTIER_FLOW_F_EGRESS;
	sc->rv.nat_saddr = sc->key.daddr;
	sc->rv.nat_sport = sc->key.dport;
	sc->rv.nat_daddr = sc->key.saddr;
	sc->rv.nat_dport = sc->key.sport;
	__builtin_memset(&sc->rk, 0, sizeof(sc->rk));
	sc->rk.saddr = sc->key.daddr;
	sc->rk.sport = sc->key.dport;
	sc->rk.daddr = cfg->egress_addr;
	sc->rk.proto = sc->key.proto;
	rc = snat_alloc_at(cfg, cursor, &sc->rk, portier_tick(now), &cr);
	if (rc != FLOW_OK) {
		ct_release(&co);
		return rc;
	}
	orig->nat_sport = sc->rk.dport;
	ct_publish(&cr, &sc->rk, &sc->rv);
	ct_publish(&co, &sc->key, orig);
	return FLOW_OK;
}

/* A new flow made (egress_create): count it, and give its entry *orig the
 * classifying FIB lookup as next hop if it found one (into this copy: the
 * flow's next packet caches it in the entry). Returns whether the next
 * hop is still to look up. */
static __always_inline bool egress_made(struct xdp_md *ctx, struct egress_scratch *sc,
					__u32 rule, struct portier_flow *orig)
{
	egress_count(rule, PORTIER_FLOW_DIR_ORIG, sc->len, true);
	if (!sc->fib_ok)
		return true;
	orig->tx_ifindex = sc->fib.ifindex;
	orig->tx_mtu = nic_mtu(ctx, sc->fib.ifindex);
	__builtin_memcpy(orig->tx_dmac, sc->fib.dmac, ETH_ALEN);
	__builtin_memcpy(orig->tx_smac, sc->fib.smac, ETH_ALEN);
	return false;
}

/* The packet, for egress_new(): its key, length and the FIB lookup's
 * fields into the scratch; returns its kind (EGRESS_K_*), or
 * EGRESS_NOT_MINE (egress off, not TCP, UDP or an echo, a frame for
 * another host, an echo reply of no egress flow), or EGRESS_KNOWN for an
 * echo of a live egress flow, accounted here (the walk looks up TCP and
 * UDP, not echoes). A global function, its frame beside egress_new's. */
__noinline int egress_read(struct xdp_md *ctx)
{
	struct portier_config *cfg;
	struct egress_scratch *sc;
	struct icmphdr *ih = NULL;
	struct portier_flow *f;
	struct parse_res pr;
	__u32 zero = 0, before;
	struct pkt p;
	__u64 now;
	__u8 bits;
	int kind;

	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	sc = bpf_map_lookup_elem(&portier_egress_scratch, &zero);
	if (!ctx || !cfg || !sc || !cfg->egress_on)
		return EGRESS_NOT_MINE;
	pr = parse_packet(ctx, &p);
	if (!pr.ok) {
		if (pr.reason != PARSE_ICMP)
			return EGRESS_NOT_MINE;
		ih = egress_echo_hdr(ctx, &p);
		if (!ih)
			return EGRESS_NOT_MINE;
		/* As a TCP/UDP packet to the flow code (and to the verifier,
		 * which cannot tell that ih is not NULL here). */
		p.proto = IPPROTO_ICMP;
		p.tcp = NULL;
		p.ports = (void *)&ih->un.echo.id;
		p.l4_csum = &ih->checksum;
	}
	if (!frame_for_us(ctx, p.eth, cfg))
		return EGRESS_NOT_MINE;
	sc->len = p.len;
	if (ih) {
		egress_echo_key(&p, ih, &sc->key);
		kind = ih->type == ICMP_ECHO ? EGRESS_K_ECHO : EGRESS_K_ECHOREPLY;
	} else {
		flow_key_of(&p, &sc->key);
		kind = !p.tcp ? EGRESS_K_UDP : tcp_syn_only(&p) ? EGRESS_K_TCP_SYN :
			EGRESS_K_TCP_OTHER;
	}
	__builtin_memset(&sc->fib, 0, sizeof(sc->fib));
	sc->fib.family = AF_INET;
	sc->fib.tos = p.iph->tos;
	sc->fib.l4_protocol = sc->key.proto;
	sc->fib.sport = sc->key.sport;
	sc->fib.dport = sc->key.dport;
	sc->fib.tot_len = bpf_ntohs(p.iph->tot_len);
	sc->fib.ipv4_src = sc->key.saddr;
	sc->fib.ipv4_dst = sc->key.daddr;
	sc->fib.ifindex = ctx->ingress_ifindex;
	if (!ih)
		return kind;

	now = bpf_ktime_get_coarse_ns();
	f = ct_lookup(cfg, &sc->key);
	if (f && !(f->flags & PORTIER_FLOW_F_EGRESS))
		return EGRESS_NOT_MINE;
	if (f && flow_expired(cfg, f, IPPROTO_ICMP, now)) {
		if (f->dir != PORTIER_FLOW_DIR_ORIG)
			return EGRESS_NOT_MINE;
		flow_delete(cfg, &sc->key, f);
		f = NULL;
	}
	if (!f)
		return kind;	/* (a reply of no flow: egress_new drops it, from the
				 * input side, or passes it) */
	/* A live echo flow: accounted as flow_packet does. */
	before = f->last_seen;
	sc->refresh = flow_touch(f, p.len, now);
	bits = flow_new_bits(&p, f);
	if (sc->refresh)
		flow_touch_other(cfg, f, IPPROTO_ICMP, before, portier_tick(now));
	if (bits)
		flow_set_flags(cfg, f, IPPROTO_ICMP, bits);
	egress_count(f->route_id, f->dir, p.len, false);
	return EGRESS_KNOWN;
}

/* A packet of kind kind (egress_read: in the scratch) that the kube
 * routes have no flow or service for (TCP, UDP), or an ICMP echo request
 * of no flow: may it start an egress flow? Egress is a packet from the input NIC
 * that the FIB forwards out of the output NIC; it starts a flow if it is
 * a TCP SYN, a UDP datagram or an echo request that an egress rule
 * allows, else it is dropped and counted (a TCP segment but a SYN, an echo
 * reply: no flow, dropped). Returns an action (counted),
 * EGRESS_NOT_MINE (not egress: the caller goes on as without egress), or
 * EGRESS_RULE + the rule that allows it (the caller makes the flow:
 * egress_create; sc->fib_ok says whether the lookup found its next hop).
 * A global function; it changes no byte of the packet. */
__noinline int egress_new(struct xdp_md *ctx, int kind)
{
	struct portier_config *cfg;
	struct egress_scratch *sc;
	struct portier_egress_stats *st;
	__u32 zero = 0, bit, slot;
	int fib_rc, m;
	__u64 src;

	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	sc = bpf_map_lookup_elem(&portier_egress_scratch, &zero);
	if (!ctx || !cfg || !sc || kind <= 0)
		return EGRESS_NOT_MINE;
	if (ctx->ingress_ifindex != cfg->input_ifindex)
		return EGRESS_NOT_MINE;

	/* Would the kernel forward it out of the output NIC? */
	fib_rc = bpf_fib_lookup(ctx, &sc->fib, sizeof(sc->fib), 0);
	if (fib_rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		/* Too big for its route: which route, asked without the
		 * length; the next hop's lookup answers the size. */
		sc->fib.tot_len = 0;
		sc->fib.ifindex = ctx->ingress_ifindex;
		fib_rc = bpf_fib_lookup(ctx, &sc->fib, sizeof(sc->fib), 0);
		if (fib_rc == BPF_FIB_LKUP_RET_SUCCESS)
			fib_rc = BPF_FIB_LKUP_RET_FRAG_NEEDED;
	}
	if ((fib_rc != BPF_FIB_LKUP_RET_SUCCESS && fib_rc != BPF_FIB_LKUP_RET_NO_NEIGH &&
	     fib_rc != BPF_FIB_LKUP_RET_FRAG_NEEDED) ||
	    sc->fib.ifindex != cfg->output_ifindex)
		return EGRESS_NOT_MINE;
	if (kind == EGRESS_K_TCP_OTHER || kind == EGRESS_K_ECHOREPLY)
		return count_reason(PORTIER_R_DROP_EGRESS_NO_FLOW, XDP_DROP);

	bit = kind == EGRESS_K_ECHO ? PORTIER_EGRESS_P_ICMP :
	      kind == EGRESS_K_UDP ? PORTIER_EGRESS_P_UDP : PORTIER_EGRESS_P_TCP;
	src = egress_mask(&portier_egress_src, sc->key.saddr);
	m = egress_match(src, egress_mask(&portier_egress_dst, sc->key.daddr), bit,
			 kind == EGRESS_K_ECHO ? 0 : bpf_ntohs(sc->key.dport));
	if (m < 0 || m >= PORTIER_EGRESS_RULES_MAX) {
		slot = egress_refused_slot(src);
		st = bpf_map_lookup_elem(&portier_egress_stats, &slot);
		if (st)
			st->refused += 1;
		return count_reason(PORTIER_R_DROP_EGRESS_REFUSED, XDP_DROP);
	}
	if (!cfg->egress_addr)
		return count_reason(PORTIER_R_DROP_SNAT_EXHAUSTED, XDP_DROP);
	sc->fib_ok = fib_rc == BPF_FIB_LKUP_RET_SUCCESS;
	return EGRESS_RULE + m;
}

/* The packet walk's TCP/UDP packet p (key key) with no flow and no
 * service: egress, else passed as reason (what it was without egress). */
static __always_inline int egress_or(struct xdp_md *ctx, struct pkt *p,
				     const struct portier_config *cfg,
				     const struct portier_flow_key *key, __u64 now, __u32 reason)
{
	struct portier_flow *f, *orig;
	struct egress_scratch *sc;
	__u32 zero = 0, rc, rule;
	int act;

	/* Only the input side starts egress flows (a reply of one has its
	 * entry: the walk found it). */
	if (!cfg->egress_on || ctx->ingress_ifindex != cfg->input_ifindex)
		return count_reason(reason, XDP_PASS);
	act = egress_new(ctx, egress_read(ctx));
	if (act < 0)
		return count_reason(reason, XDP_PASS);
	if (act < EGRESS_RULE)
		return act;
	rule = act - EGRESS_RULE;
	sc = bpf_map_lookup_elem(&portier_egress_scratch, &zero);
	orig = bpf_map_lookup_elem(&portier_new_flow, &zero);
	if (!sc || !orig)
		return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
	rc = egress_create(cfg, sc, rule, now, orig);
	if (rc == FLOW_RACE) {	/* another CPU made it: its entry */
		f = ct_lookup(cfg, key);
		if (!f || !(f->flags & PORTIER_FLOW_F_EGRESS))
			return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
		egress_count(f->route_id, f->dir, p->len, false);
		return forward(ctx, p, cfg, f, now, false);
	}
	if (rc != FLOW_OK)
		return count_reason(rc, XDP_DROP);
	return forward(ctx, p, cfg, orig, now, egress_made(ctx, sc, rule, orig));
}

/* An ICMP echo (request or reply) while egress is on: egress's, or
 * passed (PASS_NOT_L4) as without egress. */
static __always_inline int egress_echo(struct xdp_md *ctx, const struct portier_config *cfg)
{
	struct egress_scratch *sc;
	struct portier_flow *orig;
	__u32 zero = 0, rc, rule;
	int act = egress_read(ctx);

	if (act == EGRESS_KNOWN)
		return egress_echo_fwd(ctx, act);
	act = egress_new(ctx, act);
	if (act < 0)
		return count_reason(PORTIER_R_PASS_NOT_L4, XDP_PASS);
	if (act < EGRESS_RULE)
		return act;
	rule = act - EGRESS_RULE;
	sc = bpf_map_lookup_elem(&portier_egress_scratch, &zero);
	orig = bpf_map_lookup_elem(&portier_new_flow, &zero);
	if (!sc || !orig)
		return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
	rc = egress_create(cfg, sc, rule, bpf_ktime_get_coarse_ns(), orig);
	if (rc == FLOW_RACE)
		return egress_echo_fwd(ctx, EGRESS_KNOWN);
	if (rc != FLOW_OK)
		return count_reason(rc, XDP_DROP);
	return egress_echo_fwd(ctx, egress_made(ctx, sc, rule, orig) ? EGRESS_FWD_LOOKUP :
									EGRESS_FWD);
}

#endif
