/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * synproxy6.h - SYN flood defense for IPv6 clients: bpf/synproxy.h's SYN
 * cookies and SYN proxy with IPv6 headers (the kernel's
 * bpf_tcp_raw_gen/check_syncookie_ipv6), the flows in the IPv6 table and
 * their handshakes in portier_synproxy6. What does not depend on the
 * family is synproxy.h's: TCP options (tcpopt.h), the headers built
 * (sp_cookie_synack, sp_syn_of_ack, sp_synack, tcp_build_hdr) and the
 * sequence translation (sp_translate). docs/dataplane.md, "SYN floods".
 */
#ifndef PORTIER_BPF_SYNPROXY6_H
#define PORTIER_BPF_SYNPROXY6_H

#define SP6_IP_LEN		40
/* The IPv6 header is 20 bytes longer than IPv4's: the MSS our cookie
 * SYN-ACK offers is cfg->syn_mss (an IPv4 MSS: 1460 for a 1500-byte MTU)
 * less that, 1440. */
#define SP6_MSS_LESS		(SP6_IP_LEN - SP_IP_LEN)
/* MSS the backend is told when the client's is not known: the one every
 * IPv6 path carries (1280-byte minimum MTU, RFC 8200). */
#define SP6_MSS_UNKNOWN		1220

/* Flows of IPv6 clients opened by a SYN cookie: their sequence, timestamp
 * and window translation (as portier_synproxy). Key struct
 * portier_flow_key6 (the flow's original key), value struct
 * portier_synproxy; written by the program. An LRU hash sized like the
 * IPv6 connection table (userspace sets it before load). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PORTIER_CT6_DEFAULT_ENTRIES);
	__type(key, struct portier_flow_key6);
	__type(value, struct portier_synproxy);
} portier_synproxy6 SEC(".maps");

/* The IPv6 SYN proxy's working memory beside struct sp_scratch: a key and
 * the addresses of a header to build (the frame's own move when it is
 * resized). */
struct sp6_scratch {
	struct portier_flow_key6 k;
	struct in6_addr saddr;
	struct in6_addr daddr;
};

/* Key __u32 0, value struct sp6_scratch per CPU; the program's own (not
 * pinned). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp6_scratch);
} portier_sp6_scratch SEC(".maps");

static __always_inline struct sp6_scratch *sp6_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&portier_sp6_scratch, &zero);
}

/* The pseudo-header's address words of saddr -> daddr, summed. */
static __always_inline __u32 addr6_sum(const struct in6_addr *s, const struct in6_addr *d)
{
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		sum += (s->in6_u.u6_addr32[i] & 0xffff) + (s->in6_u.u6_addr32[i] >> 16);
		sum += (d->in6_u.u6_addr32[i] & 0xffff) + (d->in6_u.u6_addr32[i] >> 16);
	}
	return sum;
}

/* The backend of an IPv6 cookie flow: hash_backend's rule, the client's
 * address and port hashed. */
static __always_inline struct portier_backend *hash_backend6(const struct portier_route *r,
							     __u32 route_id,
							     const struct portier_flow_key6 *k,
							     __u32 *backend_id)
{
	struct portier_backend *be;

	if (r->flags & ROUTE_F_TABLE) {
		be = pick_backend6(r, route_id, k, backend_id);
		if (!be || !(be->flags & PORTIER_BACKEND_F_LOCAL) || r->n_active <= 1)
			return be;
	}
	return hash_rotation(r, (__u64)portier_source6_hash(k->saddr.a32) << 16 | k->sport,
			     backend_id, PORTIER_AF_INET6);
}

/* Make the frame a 94-byte TCP/IPv6 packet a->saddr -> a->daddr with
 * header h: the IPv6 header kept but for its payload length, next header,
 * addresses and hop limit (hop, 0 = kept); the MACs swapped if swap_macs
 * (sent back out, XDP_TX). Returns false if the frame could not take that
 * size. */
static __always_inline bool tcp_emit6(struct xdp_md *ctx, const __u8 h[SP_TCP_LEN],
				      const struct sp6_scratch *a, __u8 hop, bool swap_macs)
{
	struct ipv6hdr *ip6h = sp_frame_resize(ctx, SP6_IP_LEN, swap_macs);
	__u8 *th;

	if (!ip6h)
		return false;
	th = (void *)(ip6h + 1);
	ip6h->payload_len = bpf_htons(SP_TCP_LEN);
	ip6h->nexthdr = IPPROTO_TCP;
	if (hop)
		ip6h->hop_limit = hop;
	__builtin_memcpy(&ip6h->saddr, &a->saddr, sizeof(ip6h->saddr));
	__builtin_memcpy(&ip6h->daddr, &a->daddr, sizeof(ip6h->daddr));
	__builtin_memcpy(th, h, SP_TCP_LEN);
	return true;
}

/* Is the TCP checksum of the frame's IPv6 handshake segment right, if it
 * has no payload (syn_csum_ok's rule; IPv6 has no header checksum)? 1 or
 * 0. A function of its own. */
__noinline int syn_csum_ok6(struct xdp_md *ctx)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);
	struct ipv6hdr *ip6h = data + 14;
	struct tcphdr *th = data + TCP_FRAME_OFF6;
	__u32 len;

	if ((void *)(th + 1) > data_end)
		return 0;
	len = bpf_ntohs(ip6h->payload_len);
	if (len != (__u32)th->doff * 4)
		return 1;
	return tcp_hdr_csum_ok(th, data_end, len, addr6_sum(&ip6h->saddr, &ip6h->daddr));
}

/* The frame's IPv6 and TCP headers (parse_packet6 has checked them: the
 * functions here, verified on their own, check the bounds again). */
struct sp_pkt6 {
	struct ipv6hdr *ip6h;
	struct tcphdr *th;
};

static __always_inline bool sp_pkt6_of(struct xdp_md *ctx, struct sp_pkt6 *p)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);

	p->ip6h = data + 14;
	p->th = data + TCP_FRAME_OFF6;
	return (void *)(p->th + 1) <= data_end && p->ip6h->nexthdr == IPPROTO_TCP;
}

/* The kernel's SYN cookie for the frame's IPv6 SYN (p: its headers), or
 * < 0. The helper is given the SYN's first 20 bytes with one option, MSS
 * 8940, instead of the client's options: the cookie then names the top of
 * the kernel's IPv6 MSS table (1220, 1420, 1440, 8940), which portier does
 * not use (the client's MSS is in our timestamp), and an ACK and the
 * client's zero-window probe, one apart in sequence, are told apart: read
 * as the ACK, a probe's cookie names an index past the table and fails.
 * With the client's MSS (1440, index 2, the usual) the probe would pass
 * as an ACK with the ISN off by one. */
static __always_inline __s64 syn_cookie_gen6(struct sp_pkt6 *p)
{
	__u8 h[24];

	__builtin_memcpy(h, p->th, 20);
	h[12] = (sizeof(h) / 4) << 4 | (h[12] & 0x0f);
	h[20] = TCPOPT_MSS;
	h[21] = TCPOLEN_MSS;
	h[22] = 8940 >> 8;
	h[23] = 8940 & 0xff;
	return bpf_tcp_raw_gen_syncookie_ipv6(p->ip6h, (struct tcphdr *)h, sizeof(h));
}

/* Answer the frame's IPv6 SYN with a cookie SYN-ACK (XDP_TX), as
 * syncookie_answer: the MSS offered is cfg->syn_mss less SP6_MSS_LESS.
 * Counted; returns the action. It changes the frame. */
__noinline int syncookie_answer6(struct xdp_md *ctx, const struct portier_config *cfg,
				 struct portier_syn_guard *g, __u64 now)
{
	struct sp_scratch *w = sp_scratch();
	struct sp6_scratch *a = sp6_scratch();
	struct sp_pkt6 p;
	__u16 mss;
	__s64 v;

	if (!w || !a || !cfg || !sp_pkt6_of(ctx, &p))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (p.th->rst || p.th->fin)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (!syn_csum_ok6(ctx))
		return count_reason(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
	tcpopt_read(ctx, &w->o, TCP_FRAME_OFF6);
	if (!sp_pkt6_of(ctx, &p))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	v = syn_cookie_gen6(&p);
	if (v < 0)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	mss = cfg->syn_mss ? cfg->syn_mss : PORTIER_SYN_MSS_DEFAULT;
	mss = mss > SP6_MSS_UNKNOWN + SP6_MSS_LESS ? mss - SP6_MSS_LESS : SP6_MSS_UNKNOWN;
	sp_cookie_synack(w, p.th, cfg, (__u32)v, now, mss, SP6_MSS_UNKNOWN);
	__builtin_memcpy(&a->saddr, &p.ip6h->daddr, sizeof(a->saddr));
	__builtin_memcpy(&a->daddr, &p.ip6h->saddr, sizeof(a->daddr));
	tcp_build_hdr(&w->b, addr6_sum(&a->saddr, &a->daddr), w->h);
	if (!tcp_emit6(ctx, w->h, a, SP_TTL, true))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (g)
		g->cookies_sent++;
	return count_reason(PORTIER_R_SYN_COOKIE_SENT, XDP_TX);
}

/* syncookie_valid6() results. */
#define COOKIE6_BAD	0
#define COOKIE6_ACK	1	/* the handshake's ACK */
#define COOKIE6_PROBE	2	/* the client's zero-window probe (syncookie_probe_ok) */

/* Does the frame's IPv6 ACK carry a valid cookie, as the handshake's ACK
 * or as the client's probe of the cookie's zero window? A function of its
 * own; it reads the frame, changes nothing. */
__noinline int syncookie_valid6(struct xdp_md *ctx)
{
	struct tcphdr th;
	struct sp_pkt6 p;

	if (!sp_pkt6_of(ctx, &p))
		return COOKIE6_BAD;
	if (!bpf_tcp_raw_check_syncookie_ipv6(p.ip6h, p.th))
		return COOKIE6_ACK;
	__builtin_memcpy(&th, p.th, sizeof(th));
	th.seq = bpf_htonl(bpf_ntohl(th.seq) + 1);
	return bpf_tcp_raw_check_syncookie_ipv6(p.ip6h, &th) ? COOKIE6_BAD : COOKIE6_PROBE;
}

/* The client's IPv6 ACK of key k carries a valid cookie and a flow was
 * made for it: as syncookie_to_syn, the handshake in portier_synproxy6.
 * Returns 1, or 0 if the frame could not be rebuilt. It changes the
 * frame. */
__noinline int syncookie_to_syn6(struct xdp_md *ctx, const struct portier_config *cfg,
				 const struct portier_flow_key6 *k, __u32 probe)
{
	struct sp_scratch *w = sp_scratch();
	struct sp6_scratch *a = sp6_scratch();
	struct sp_pkt6 p;

	if (!w || !a || !cfg || !k)
		return 0;
	tcpopt_read(ctx, &w->o, TCP_FRAME_OFF6);
	if (!sp_pkt6_of(ctx, &p))
		return 0;
	sp_syn_of_ack(w, p.th, cfg, probe, SP6_MSS_UNKNOWN);
	if (bpf_map_update_elem(&portier_synproxy6, k, &w->sp, BPF_ANY))
		return 0;
	__builtin_memcpy(&a->saddr, &p.ip6h->saddr, sizeof(a->saddr));
	__builtin_memcpy(&a->daddr, &p.ip6h->daddr, sizeof(a->daddr));
	tcp_build_hdr(&w->b, addr6_sum(&a->saddr, &a->daddr), w->h);
	return tcp_emit6(ctx, w->h, a, 0, false);
}

/* synproxy_packet6() result besides -1 and an action: the backend's first
 * SYN-ACK, rebuilt as the client's ACK: go on as -1, the flow's
 * SEEN_REPLY set by the caller (whose stack frame has room for that). */
#define SP6_SEEN_REPLY	(-2)

/* A packet of an IPv6 flow opened by a SYN cookie (entry f): as
 * synproxy_packet. Returns -1 or SP6_SEEN_REPLY to go on (the frame may
 * have changed: parse it again), or an XDP action already counted. A
 * function of its own. */
__noinline int synproxy_packet6(struct xdp_md *ctx, const struct portier_config *cfg,
				struct portier_flow6 *f)
{
	struct sp_scratch *w = sp_scratch();
	struct sp6_scratch *a = sp6_scratch();
	struct portier_synproxy *sp;
	struct sp_pkt6 p;
	bool first;
	int rc;

	if (!w || !a || !cfg || !f)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	tcpopt_read(ctx, &w->o, TCP_FRAME_OFF6);
	if (!sp_pkt6_of(ctx, &p))
		return -1;
	__builtin_memset(&a->k, 0, sizeof(a->k));
	if (f->dir == PORTIER_FLOW_DIR_ORIG) {
		__builtin_memcpy(&a->k.saddr, &p.ip6h->saddr, sizeof(a->k.saddr));
		__builtin_memcpy(&a->k.daddr, &p.ip6h->daddr, sizeof(a->k.daddr));
		a->k.sport = p.th->source;
		a->k.dport = p.th->dest;
		a->k.proto = IPPROTO_TCP;
	} else {
		flow_key_other6(f, IPPROTO_TCP, &a->k);
	}
	sp = bpf_map_lookup_elem(&portier_synproxy6, &a->k);
	if (!sp)
		return count_reason(PORTIER_R_SYNPROXY_LOST, XDP_DROP);
	rc = sp_translate(ctx, TCP_FRAME_OFF6, p.th, bpf_ntohs(p.ip6h->payload_len),
			  f->dir == PORTIER_FLOW_DIR_ORIG, f->route_id, sp, w);
	if (rc != SP_SYNACK)
		return rc;
	if (!syn_csum_ok6(ctx))
		return count_reason(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
	if (!sp_pkt6_of(ctx, &p))
		return -1;
	first = sp_synack(w, p.th, sp);
	/* The first SYN-ACK goes on to the client as its ACK; a later one
	 * is answered, back to the backend. */
	__builtin_memcpy(&a->saddr, first ? &p.ip6h->saddr : &p.ip6h->daddr, sizeof(a->saddr));
	__builtin_memcpy(&a->daddr, first ? &p.ip6h->daddr : &p.ip6h->saddr, sizeof(a->daddr));
	tcp_build_hdr(&w->b, addr6_sum(&a->saddr, &a->daddr), w->h);
	if (!tcp_emit6(ctx, w->h, a, first ? 0 : SP_TTL, !first))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (!first)
		return count_reason(PORTIER_R_SYNPROXY_BACKEND_ACK, XDP_TX);
	return SP6_SEEN_REPLY;
}

/* new_flow6's cookie step for a TCP packet but a SYN to route route_id
 * (rotation r), no flow: cookie_ack's rules with IPv6 headers. Returns
 * COOKIE_OPEN or COOKIE_PROBE (its backend in *be, *backend_id),
 * FLOW_RECREATE (with recreate: anything but a valid cookie, counting
 * nothing), or the action, counted. */
static __always_inline int cookie_ack6(struct xdp_md *ctx, struct pkt6 *p,
				       const struct portier_route *r, __u32 route_id,
				       const struct portier_flow_key6 *key,
				       struct portier_backend **be, __u32 *backend_id,
				       bool recreate)
{
	struct portier_syn_guard *g;
	int v;

	if (!(r->flags & COOKIES_ANY) || !p->tcp->ack || p->tcp->syn || p->tcp->rst)
		return recreate ? FLOW_RECREATE : count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	*be = hash_backend6(r, route_id, key, backend_id);
	if (!*be || ((*be)->flags & PORTIER_BACKEND_F_LOCAL))
		return recreate ? FLOW_RECREATE : count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	g = bpf_map_lookup_elem(&portier_syn_guard, &route_id);
	if (bpf_ntohs(p->ip6h->payload_len) != p->tcp->doff * 4) {
		if (recreate)
			return FLOW_RECREATE;
		if (g)
			g->cookies_failed++;
		return count_reason(PORTIER_R_SYN_COOKIE_FAILED, XDP_PASS);
	}
	if (!syn_csum_ok6(ctx))
		return recreate ? FLOW_RECREATE : count_reason(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
	v = syncookie_valid6(ctx);
	if (v == COOKIE6_ACK)
		return COOKIE_OPEN;	/* counted valid once its flow is open */
	if (v == COOKIE6_PROBE)
		return COOKIE_PROBE;
	if (recreate)
		return FLOW_RECREATE;
	if (g)
		g->cookies_failed++;
	return count_reason(PORTIER_R_SYN_COOKIE_FAILED, XDP_PASS);
}

#endif
