/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * synproxy.h - SYN flood defense: SYN cookies answered from XDP, and the
 * SYN proxy that opens a flow to the backend for a client whose ACK
 * carries a valid cookie, then translates its sequence numbers,
 * timestamps and window for the rest of the flow (netfilter's SYNPROXY
 * with seqadj, in portier's own table). docs/dataplane.md, "SYN floods".
 *
 *   client            portier                     backend
 *   SYN       ->      SYN-ACK (cookie, window 0)
 *   ACK       ->      cookie valid: flow, SYN  ->
 *                     <- SYN-ACK: deltas known
 *   <- ACK (window update, the client's space)
 *   data      ->      ack + delta              ->  (completes its handshake)
 *
 * The cookie SYN-ACK offers a zero window, so the client sends no data
 * before the backend answered; the backend's SYN-ACK, rewritten, opens
 * it. A backend that retransmits its SYN-ACK (a client with nothing to
 * say) is answered with the ACK by portier itself.
 */
#ifndef PORTIER_BPF_SYNPROXY_H
#define PORTIER_BPF_SYNPROXY_H

#include "tcpopt.h"

/* Every TCP header portier builds is 40 bytes (options padded with NOPs):
 * one frame size, 74 bytes (94 with IPv6), for every packet it makes. */
#define SP_TCP_LEN		40
#define SP_IP_LEN		20
#define SP_TTL			64
#define IP_DF			0x4000

#define TCPF_FIN		0x01
#define TCPF_SYN		0x02
#define TCPF_RST		0x04
#define TCPF_ACK		0x10

/* The low bits of our cookie timestamp carry what the client's SYN
 * offered (the kernel's cookie_init_timestamp does the same): window
 * scale (0xf: none), SACK permitted, and the MSS as an index. */
#define TS_WS_MASK		0xfU
#define TS_WS_NONE		0xfU
#define TS_SACK			(1U << 4)
#define TS_MSS_SHIFT		6
#define TS_BITS_MASK		0xffU
/* MSS the backend is told when the client's is not known (no
 * timestamps): the smallest every IPv4 host accepts (RFC 879). */
#define SP_MSS_UNKNOWN		536

#define COOKIES_ANY		(PORTIER_ROUTE_F_COOKIES_ON | PORTIER_ROUTE_F_COOKIES_AUTO)

/* The MSS values a cookie timestamp can name (the kernel's msstab). */
static __always_inline __u16 mss_of_index(__u32 i)
{
	switch (i & 3) {
	case 0:
		return 536;
	case 1:
		return 1300;
	case 2:
		return 1440;
	}
	return 1460;
}

static __always_inline __u32 mss_index(__u16 mss)
{
	if (mss >= 1460)
		return 3;
	if (mss >= 1440)
		return 2;
	if (mss >= 1300)
		return 1;
	return 0;
}

/* Should this SYN to a route with flags route_flags get a cookie? Counts
 * it in this CPU's window of the route's guard g; "auto" turns on when a
 * window passes the rate, and stays on PORTIER_SYN_HOLD_NS after the last
 * such window. */
static __always_inline bool syn_cookies_now(const struct portier_config *cfg,
					    struct portier_syn_guard *g, __u32 route_flags,
					    __u64 now)
{
	__u32 rate = cfg->syn_rate ? cfg->syn_rate : PORTIER_SYN_RATE_DEFAULT;

	if (route_flags & PORTIER_ROUTE_F_COOKIES_ON)
		return true;
	if (!(route_flags & PORTIER_ROUTE_F_COOKIES_AUTO) || !g)
		return false;
	if (now - g->window_ns >= NSEC_PER_SEC) {
		g->window_ns = now;
		g->window_syns = 0;
	}
	if (++g->window_syns > rate)
		g->on_until_ns = now + PORTIER_SYN_HOLD_NS;
	return now < g->on_until_ns;
}

/* A TCP header to build (host order). */
struct tcp_build {
	__be16 sport;
	__be16 dport;
	__u32 seq;
	__u32 ack;
	__u32 tsval;
	__u32 tsecr;
	__u16 win;
	__u16 mss;		/* 0: no MSS option */
	__u8 flags;		/* TCPF_* */
	__u8 ws;		/* with has_ws */
	bool has_ws;
	bool has_ts;
	bool sack_perm;
};

/* Working memory of the SYN proxy's functions, one per CPU: the BPF
 * stack has no room for it beside the main path's. */
struct sp_scratch {
	struct tcp_build b;	/* the header to build */
	struct tcp_opts o;	/* the frame's options */
	struct portier_synproxy sp;	/* a new handshake */
	__u8 h[SP_TCP_LEN];	/* the header built */
};

/* Key __u32 0, value struct sp_scratch per CPU; the program's own (not
 * pinned). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_scratch);
} portier_sp_scratch SEC(".maps");

static __always_inline struct sp_scratch *sp_scratch(void)
{
	__u32 zero = 0;
	struct sp_scratch *w = bpf_map_lookup_elem(&portier_sp_scratch, &zero);

	if (w)
		__builtin_memset(w, 0, sizeof(*w));
	return w;
}

/* Sum of the 16-bit words of n bytes at p (n even, p on the stack). */
static __always_inline __u32 words_sum(const __u8 *p, __u32 n, __u32 sum)
{
	const __u16 *w = (const __u16 *)p;

#pragma unroll
	for (__u32 i = 0; i < n / 2; i++)
		sum += w[i];
	return sum;
}

/* The pseudo-header's address words of IPv4 saddr -> daddr, summed (the
 * checksum tcp_build_hdr makes; bpf/synproxy6.h has IPv6's). */
static __always_inline __u32 addr4_sum(__be32 saddr, __be32 daddr)
{
	return (saddr & 0xffff) + (saddr >> 16) + (daddr & 0xffff) + (daddr >> 16);
}

/* Write b as a 40-byte header into h, its checksum with addr_sum, the
 * pseudo-header's addresses summed (addr4_sum, addr6_sum): the header is
 * the same for both families. */
static __always_inline void tcp_build_hdr(const struct tcp_build *b, __u32 addr_sum,
					  __u8 h[SP_TCP_LEN])
{
	__u32 sum;

#pragma unroll
	for (int i = 20; i < SP_TCP_LEN; i++)
		h[i] = TCPOPT_NOP;
	__builtin_memcpy(h, &b->sport, 2);
	__builtin_memcpy(h + 2, &b->dport, 2);
	store_be32(h + 4, b->seq);
	store_be32(h + 8, b->ack);
	h[12] = (SP_TCP_LEN / 4) << 4;
	h[13] = b->flags;
	h[14] = b->win >> 8;
	h[15] = b->win;
	h[16] = h[17] = h[18] = h[19] = 0;
	if (b->mss) {
		h[20] = TCPOPT_MSS;
		h[21] = TCPOLEN_MSS;
		h[22] = b->mss >> 8;
		h[23] = b->mss;
	}
	if (b->sack_perm) {
		h[24] = TCPOPT_SACK_PERM;
		h[25] = TCPOLEN_SACK_PERM;
	}
	if (b->has_ts) {
		h[26] = TCPOPT_TIMESTAMP;
		h[27] = TCPOLEN_TIMESTAMP;
		store_be32(h + 28, b->tsval);
		store_be32(h + 32, b->tsecr);
	}
	if (b->has_ws) {
		h[37] = TCPOPT_WINDOW;
		h[38] = TCPOLEN_WINDOW;
		h[39] = b->ws;
	}
	/* Pseudo-header: addresses, protocol, TCP length. */
	sum = words_sum(h, SP_TCP_LEN, addr_sum);
	sum += bpf_htons(IPPROTO_TCP);
	sum += bpf_htons(SP_TCP_LEN);
	sum = ~csum_fold(sum) & 0xffff;
	__builtin_memcpy(h + 16, &sum, 2);
}

/* Resize the frame to an Ethernet header, ip_len bytes of IP header and
 * a 40-byte TCP header, its MACs swapped if swap_macs (sent back out,
 * XDP_TX): the IP header, or NULL if the frame could not take that size.
 * Either family's (tcp_emit, tcp_emit6). */
static __always_inline void *sp_frame_resize(struct xdp_md *ctx, __u32 ip_len, bool swap_macs)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);
	__u8 mac[ETH_ALEN];
	struct ethhdr *eth;

	if (bpf_xdp_adjust_tail(ctx, (int)(14 + ip_len + SP_TCP_LEN) - (int)(data_end - data)))
		return NULL;
	data = xdp_data(ctx);
	data_end = xdp_data_end(ctx);
	eth = data;
	if (data + 14 + ip_len + SP_TCP_LEN > data_end)
		return NULL;
	if (swap_macs) {
		__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	}
	return eth + 1;
}

/* Make the frame a 74-byte TCP/IPv4 packet saddr -> daddr with header h:
 * the IPv4 header kept but for its length, addresses, TTL (ttl, 0 = kept)
 * and checksum; the MACs swapped if swap_macs (sent back out, XDP_TX).
 * Returns false if the frame could not take that size. */
static __always_inline bool tcp_emit(struct xdp_md *ctx, const __u8 h[SP_TCP_LEN], __be32 saddr,
				     __be32 daddr, __u8 ttl, bool swap_macs)
{
	struct iphdr *iph = sp_frame_resize(ctx, SP_IP_LEN, swap_macs);
	__u8 *th;
	__u32 sum;

	if (!iph)
		return false;
	th = (void *)(iph + 1);
	iph->tot_len = bpf_htons(SP_IP_LEN + SP_TCP_LEN);
	iph->frag_off = bpf_htons(IP_DF);
	iph->protocol = IPPROTO_TCP;
	if (ttl)
		iph->ttl = ttl;
	iph->saddr = saddr;
	iph->daddr = daddr;
	iph->check = 0;
	sum = words_sum((const __u8 *)iph, SP_IP_LEN, 0);
	iph->check = ~csum_fold(sum);
	__builtin_memcpy(th, h, SP_TCP_LEN);
	return true;
}

/* Is the checksum of TCP segment th (len bytes, header only: len is its
 * data offset's) right, addr_sum the pseudo-header's addresses summed?
 * Either family's. */
static __always_inline bool tcp_hdr_csum_ok(const struct tcphdr *th, void *data_end, __u32 len,
					    __u32 addr_sum)
{
	const __u16 *w = (const __u16 *)th;
	__u32 sum = addr_sum + bpf_htons(IPPROTO_TCP) + bpf_htons(len);

	for (__u32 i = 0; i < TCP_HDR_MAX / 2; i++) {
		if (i >= len / 2 || (void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	return csum_fold(sum) == 0xffff;
}

/* Are the checksums of the frame's handshake segment right: its IPv4
 * header's, and its TCP header's if it has no payload (a payload, TCP Fast
 * Open's, is not checked)? Checked before a segment is answered or
 * rebuilt, so that a corrupted one never becomes a segment with good
 * checksums: a SYN (its SYN-ACK goes to its source address), a cookie
 * ACK, a backend's SYN-ACK. 1 or 0. A function of its own, verified
 * once. */
__noinline int syn_csum_ok(struct xdp_md *ctx)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);
	struct iphdr *iph = data + 14;
	const __u16 *ip = (const __u16 *)iph;
	struct tcphdr *th = (void *)(iph + 1);
	__u32 len, sum = 0;

	if ((void *)(th + 1) > data_end)
		return 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += ip[i];
	if (csum_fold(sum) != 0xffff)
		return 0;
	len = bpf_ntohs(iph->tot_len) - SP_IP_LEN;
	if (len != (__u32)th->doff * 4)
		return 1;
	return tcp_hdr_csum_ok(th, data_end, len, addr4_sum(iph->saddr, iph->daddr));
}

/* The frame's IPv4 and TCP headers (parse_packet has checked them: the
 * SYN proxy's functions, verified on their own, check the bounds again). */
struct sp_pkt {
	struct iphdr *iph;
	struct tcphdr *th;
};

static __always_inline bool sp_pkt_of(struct xdp_md *ctx, struct sp_pkt *p)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);

	p->iph = data + 14;
	p->th = data + TCP_FRAME_OFF;
	return (void *)(p->th + 1) <= data_end && p->iph->ihl == 5 &&
	       p->iph->protocol == IPPROTO_TCP;
}

/* The kernel's SYN cookie for the frame's SYN (p: its headers, found
 * again), or < 0. The helper reads the whole TCP header, whose length the
 * verifier must bound: the frame is first given room for the longest
 * (the SYN-ACK that follows resizes it anyway). */
static __always_inline __s64 syn_cookie_gen(struct xdp_md *ctx, struct sp_pkt *p)
{
	void *data_end = xdp_data_end(ctx);
	__u32 th_len = p->th->doff * 4;
	int room = (int)((void *)p->th + TCP_HDR_MAX - data_end);

	if (room > 0 && bpf_xdp_adjust_tail(ctx, room))
		return -1;
	if (!sp_pkt_of(ctx, p))
		return -1;
	data_end = xdp_data_end(ctx);
	if ((void *)p->th + TCP_HDR_MAX > data_end || th_len < sizeof(struct tcphdr) ||
	    th_len > TCP_HDR_MAX)
		return -1;
	return bpf_tcp_raw_gen_syncookie_ipv4(p->iph, p->th, th_len);
}

/* The cookie SYN-ACK that answers SYN th (options w->o, cookie the
 * kernel's), into w->b: the family-independent part of syncookie_answer
 * and its IPv6 twin. mss: what we offer; mss_unknown: the client's when
 * its SYN named none (encoded in the timestamp for the backend's SYN). */
static __always_inline void sp_cookie_synack(struct sp_scratch *w, const struct tcphdr *th,
					     const struct portier_config *cfg, __u32 cookie,
					     __u64 now, __u16 mss, __u16 mss_unknown)
{
	__u32 bits;

	w->b.sport = th->dest;
	w->b.dport = th->source;
	w->b.seq = cookie;
	w->b.ack = bpf_ntohl(th->seq) + 1;
	w->b.flags = TCPF_SYN | TCPF_ACK;
	w->b.win = 0;	/* no data until the backend answered */
	w->b.mss = mss;
	if (w->o.ts_off) {
		bits = (w->o.has_ws ? w->o.wscale : TS_WS_NONE) | (w->o.sack_perm ? TS_SACK : 0) |
		       mss_index(w->o.mss ? w->o.mss : mss_unknown) << TS_MSS_SHIFT;
		w->b.has_ts = true;
		w->b.tsval = ((__u32)(now / 1000000) & ~TS_BITS_MASK) | bits;
		w->b.tsecr = w->o.tsval;
		w->b.sack_perm = w->o.sack_perm;
		w->b.has_ws = w->o.has_ws;
		w->b.ws = cfg->syn_wscale;
	}
}

/* Answer the frame's SYN with a cookie SYN-ACK (XDP_TX): nothing is
 * stored. Counted; returns the action. A function of its own (verified
 * once, its own stack); it changes the frame. */
__noinline int syncookie_answer(struct xdp_md *ctx, const struct portier_config *cfg,
				struct portier_syn_guard *g, __u64 now)
{
	struct sp_scratch *w = sp_scratch();
	struct sp_pkt p;
	__be32 saddr, daddr;
	__s64 v;

	if (!w || !cfg || !sp_pkt_of(ctx, &p))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (p.th->rst || p.th->fin)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (!syn_csum_ok(ctx))
		return count_reason(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
	tcpopt_read(ctx, &w->o, TCP_FRAME_OFF);
	if (!sp_pkt_of(ctx, &p))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	v = syn_cookie_gen(ctx, &p);
	if (v < 0)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	sp_cookie_synack(w, p.th, cfg, (__u32)v, now,
			 cfg->syn_mss ? cfg->syn_mss : PORTIER_SYN_MSS_DEFAULT, SP_MSS_UNKNOWN);
	saddr = p.iph->daddr;
	daddr = p.iph->saddr;
	tcp_build_hdr(&w->b, addr4_sum(saddr, daddr), w->h);
	if (!tcp_emit(ctx, w->h, saddr, daddr, SP_TTL, true))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	if (g)
		g->cookies_sent++;
	return count_reason(PORTIER_R_SYN_COOKIE_SENT, XDP_TX);
}

/* Is the frame's ACK (no data; its cookie already failed as the
 * handshake's ACK) the client's probe of our zero window, with a valid
 * cookie? The cookie SYN-ACK offers no window, so a client whose ACK was
 * lost sends no data: it probes the window (RFC 9293, 3.8.6.1) with an
 * ACK one below its next sequence number, its ISN (Linux:
 * tcp_xmit_probe_skb, snd_una - 1), and the same acknowledgment. Checked
 * as the ACK it stands for, sequence number plus one; passed to the stack
 * instead, it was reset. 1 or 0. A function of its own; it reads the
 * frame, changes nothing. */
__noinline int syncookie_probe_ok(struct xdp_md *ctx)
{
	struct tcphdr th;
	struct sp_pkt p;

	if (!sp_pkt_of(ctx, &p))
		return 0;
	__builtin_memcpy(&th, p.th, sizeof(th));
	th.seq = bpf_htonl(bpf_ntohl(th.seq) + 1);
	return !bpf_tcp_raw_check_syncookie_ipv4(p.iph, &th);
}

/* The client's ACK th with a valid cookie (options w->o), as the
 * handshake to remember (w->sp) and the client's SYN to the backend
 * (w->b): the family-independent part of syncookie_to_syn and its IPv6
 * twin. probe: as syncookie_to_syn's; mss_unknown: the MSS the backend is
 * told when the cookie carries none. */
static __always_inline void sp_syn_of_ack(struct sp_scratch *w, const struct tcphdr *th,
					  const struct portier_config *cfg, __u32 probe,
					  __u16 mss_unknown)
{
	__u32 bits, ws;

	w->sp.cookie_isn = bpf_ntohl(th->ack_seq) - 1;
	w->sp.client_isn = bpf_ntohl(th->seq) - (probe ? 0 : 1);
	w->sp.client_win = bpf_ntohs(th->window);
	w->sp.state = PORTIER_SYNPROXY_PENDING;
	w->b.mss = mss_unknown;
	if (w->o.ts_off) {
		bits = w->o.tsecr & TS_BITS_MASK;
		ws = bits & TS_WS_MASK;
		w->sp.flags = PORTIER_SYNPROXY_F_TS;
		w->sp.cookie_tsval = w->o.tsecr;
		w->sp.client_tsval = w->o.tsval;
		if (ws != TS_WS_NONE) {
			w->sp.flags |= PORTIER_SYNPROXY_F_WS;
			w->sp.client_wscale = ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws;
			w->sp.our_wscale = cfg->syn_wscale;
		}
		if (bits & TS_SACK)
			w->sp.flags |= PORTIER_SYNPROXY_F_SACK;
		w->b.mss = mss_of_index(bits >> TS_MSS_SHIFT);
		w->b.has_ts = true;
		w->b.tsval = w->o.tsval;
		w->b.sack_perm = bits & TS_SACK;
		w->b.has_ws = w->sp.flags & PORTIER_SYNPROXY_F_WS;
		w->b.ws = w->sp.client_wscale;
	}
	w->b.sport = th->source;
	w->b.dport = th->dest;
	w->b.seq = w->sp.client_isn;
	w->b.flags = TCPF_SYN;
	/* A SYN's window is never scaled: the client's, unscaled. */
	ws = (__u32)w->sp.client_win << (w->sp.client_wscale & 15);
	w->b.win = ws > 0xffff ? 0xffff : ws;
}

/* The client's ACK of key k carries a valid cookie (checked by the
 * caller) and a flow was made for it: remember the handshake and turn the
 * frame into the client's SYN, as it would have reached the backend.
 * probe: the frame is the client's zero-window probe (syncookie_probe_ok),
 * whose sequence number is the client's ISN itself, not ISN + 1.
 * Returns 1, or 0 if the frame could not be rebuilt. It changes the
 * frame. */
__noinline int syncookie_to_syn(struct xdp_md *ctx, const struct portier_config *cfg,
				const struct portier_flow_key *k, __u32 probe)
{
	struct sp_scratch *w = sp_scratch();
	struct sp_pkt p;
	__be32 saddr, daddr;

	if (!w || !cfg || !k)
		return 0;
	tcpopt_read(ctx, &w->o, TCP_FRAME_OFF);
	if (!sp_pkt_of(ctx, &p))
		return 0;
	sp_syn_of_ack(w, p.th, cfg, probe, SP_MSS_UNKNOWN);
	if (bpf_map_update_elem(&portier_synproxy, k, &w->sp, BPF_ANY))
		return 0;
	saddr = p.iph->saddr;
	daddr = p.iph->daddr;
	tcp_build_hdr(&w->b, addr4_sum(saddr, daddr), w->h);
	return tcp_emit(ctx, w->h, saddr, daddr, 0, false);
}

/* The backend's SYN-ACK th (handshake *sp, options w->o), into w->b. The
 * first one (returns true) fixes the translation and becomes, in the
 * client's sequence space, the ACK that opens the client's window (then
 * forwarded like any reply). A later one (the backend did not hear from
 * the client; returns false) is answered by the caller with the client's
 * ACK, sent back (XDP_TX, the addresses swapped). The family-independent
 * part of synproxy_synack and its IPv6 twin. */
static __always_inline bool sp_synack(struct sp_scratch *w, const struct tcphdr *th,
				      struct portier_synproxy *sp)
{
	struct tcp_build *b = &w->b;
	__u16 win = bpf_ntohs(th->window);

	b->has_ts = sp->flags & PORTIER_SYNPROXY_F_TS;
	b->flags = TCPF_ACK;
	if (sp->state == PORTIER_SYNPROXY_PENDING) {
		sp->seq_delta = bpf_ntohl(th->seq) - sp->cookie_isn;
		sp->backend_wscale = w->o.has_ws ? w->o.wscale : 0;
		sp->ts_delta = w->o.ts_off ? sp->cookie_tsval - w->o.tsval : 0;
		sp->state = PORTIER_SYNPROXY_OPEN;
		b->sport = th->source;
		b->dport = th->dest;
		b->seq = sp->cookie_isn + 1;
		b->ack = bpf_ntohl(th->ack_seq);
		/* A SYN-ACK's window is unscaled; the client scales ours. */
		b->win = sp->flags & PORTIER_SYNPROXY_F_WS ? win >> (sp->our_wscale & 15) : win;
		if (!b->win && win)
			b->win = 1;
		b->tsval = sp->cookie_tsval;
		b->tsecr = w->o.tsecr;
		return true;
	}
	b->sport = th->dest;
	b->dport = th->source;
	b->seq = bpf_ntohl(th->ack_seq);
	b->ack = bpf_ntohl(th->seq) + 1;
	b->win = sp->client_win;
	b->tsval = sp->client_tsval;
	b->tsecr = w->o.tsval;
	return false;
}

/* The backend's SYN-ACK (p, reply entry f, handshake *sp, options o): see
 * sp_synack. Returns -1 for the first (forwarded like any reply), else
 * the action. */
static __always_inline int synproxy_synack(struct xdp_md *ctx, struct sp_pkt *p,
					   const struct portier_config *cfg,
					   struct portier_flow *f, struct portier_synproxy *sp,
					   struct sp_scratch *w)
{
	__be32 saddr = p->iph->saddr, daddr = p->iph->daddr;

	if (sp_synack(w, p->th, sp)) {
		flow_set_flags(cfg, f, IPPROTO_TCP, PORTIER_FLOW_F_SEEN_REPLY);
		tcp_build_hdr(&w->b, addr4_sum(saddr, daddr), w->h);
		if (!tcp_emit(ctx, w->h, saddr, daddr, 0, false))
			return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		return -1;
	}
	tcp_build_hdr(&w->b, addr4_sum(daddr, saddr), w->h);
	if (!tcp_emit(ctx, w->h, daddr, saddr, SP_TTL, true))
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	return count_reason(PORTIER_R_SYNPROXY_BACKEND_ACK, XDP_TX);
}

/* sp_translate() result besides -1 and an action: a backend's SYN-ACK
 * with no payload, to be rebuilt (its checksums checked first) by the
 * family's synproxy_synack. */
#define SP_SYNACK	(-2)

/* The sequence translation of a cookie flow's packet (TCP header th at
 * th_off, tcp_len bytes of TCP segment, handshake *sp, options w->o, the
 * client's direction if orig, route route_id): its sequence numbers,
 * timestamps, SACK blocks and window between the client's view and the
 * backend's, for either family (the TCP checksum is updated
 * incrementally: the pseudo-header does not change). Returns -1 to go on,
 * SP_SYNACK, or an action already counted. */
static __always_inline int sp_translate(struct xdp_md *ctx, __u32 th_off, struct tcphdr *th,
					__u32 tcp_len, bool orig, __u32 route_id,
					struct portier_synproxy *sp, struct sp_scratch *w)
{
	void *data_end = xdp_data_end(ctx);
	struct portier_syn_guard *g;
	struct csum_delta d = { 0 };
	__u16 win, nwin;
	__u32 scaled;

	if ((void *)(th + 1) > data_end)
		return -1;
	if (orig) {
		if (sp->state != PORTIER_SYNPROXY_OPEN) {
			g = bpf_map_lookup_elem(&portier_syn_guard, &route_id);
			if (g)
				g->pending_dropped++;
			return count_reason(PORTIER_R_SYNPROXY_PENDING, XDP_DROP);
		}
		if (th->ack)
			tcp_set32(th, data_end, 8, bpf_ntohl(th->ack_seq) + sp->seq_delta, &d);
		if (w->o.ts_off) {
			sp->client_tsval = w->o.tsval;
			tcp_set32(th, data_end, w->o.ts_off + 4, w->o.tsecr - sp->ts_delta, &d);
		}
		th->check = csum_apply(th->check, &d);
		if (w->o.sack_blocks) {
			d.sum = tcpopt_sack_shift(ctx, th_off, w->o.sack_off, w->o.sack_blocks,
						  sp->seq_delta);
			th = xdp_data(ctx) + (th_off & 63);
			if ((void *)(th + 1) > xdp_data_end(ctx))
				return -1;
			th->check = csum_apply(th->check, &d);
		}
		return -1;
	}
	/* A SYN-ACK, not a RST or FIN with SYN and ACK set too: those end
	 * the flow, and go on to the client translated. It is rebuilt (as
	 * the client's ACK, or the ACK that answers it): its checksums first. */
	if (th->syn && th->ack && !th->rst && !th->fin) {
		/* Data on it (TCP Fast Open's) answers no SYN portier sent. */
		if (tcp_len != (__u32)th->doff * 4)
			return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		return SP_SYNACK;
	}
	if (sp->state != PORTIER_SYNPROXY_OPEN) {
		/* The backend refused (RST): the client hears it in its own
		 * sequence space. Anything else waits for the SYN-ACK. */
		if (!th->rst)
			return count_reason(PORTIER_R_SYNPROXY_PENDING, XDP_DROP);
		tcp_set32(th, data_end, 4, sp->cookie_isn + 1, &d);
		th->check = csum_apply(th->check, &d);
		return -1;
	}
	tcp_set32(th, data_end, 4, bpf_ntohl(th->seq) - sp->seq_delta, &d);
	if (w->o.ts_off)
		tcp_set32(th, data_end, w->o.ts_off, w->o.tsval + sp->ts_delta, &d);
	if ((sp->flags & PORTIER_SYNPROXY_F_WS) && sp->backend_wscale != sp->our_wscale) {
		win = bpf_ntohs(th->window);
		scaled = ((__u32)win << (sp->backend_wscale & 15)) >> (sp->our_wscale & 15);
		nwin = scaled > 0xffff ? 0xffff : (scaled == 0 && win ? 1 : scaled);
		csum_delta16(&d, th->window, bpf_htons(nwin));
		th->window = bpf_htons(nwin);
	}
	th->check = csum_apply(th->check, &d);
	return -1;
}

/* A packet of a flow opened by a SYN cookie (entry f): translate it
 * (sp_translate). Returns -1 to go on (rewrite and forward; the frame may
 * have changed: parse it again), or an XDP action already counted. A
 * function of its own. */
__noinline int synproxy_packet(struct xdp_md *ctx, const struct portier_config *cfg,
			       struct portier_flow *f)
{
	struct sp_scratch *w = sp_scratch();
	struct portier_flow_key k;
	struct portier_synproxy *sp;
	struct sp_pkt p;
	int rc;

	if (!w || !cfg || !f)
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	tcpopt_read(ctx, &w->o, TCP_FRAME_OFF);
	if (!sp_pkt_of(ctx, &p))
		return -1;
	__builtin_memset(&k, 0, sizeof(k));
	if (f->dir == PORTIER_FLOW_DIR_ORIG) {
		k.saddr = p.iph->saddr;
		k.daddr = p.iph->daddr;
		k.sport = p.th->source;
		k.dport = p.th->dest;
		k.proto = IPPROTO_TCP;
	} else {
		flow_key_other(f, IPPROTO_TCP, &k);
	}
	sp = bpf_map_lookup_elem(&portier_synproxy, &k);
	if (!sp)
		return count_reason(PORTIER_R_SYNPROXY_LOST, XDP_DROP);
	rc = sp_translate(ctx, TCP_FRAME_OFF, p.th, bpf_ntohs(p.iph->tot_len) - SP_IP_LEN,
			  f->dir == PORTIER_FLOW_DIR_ORIG, f->route_id, sp, w);
	if (rc != SP_SYNACK)
		return rc;
	if (!syn_csum_ok(ctx))
		return count_reason(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
	if (!sp_pkt_of(ctx, &p))
		return -1;
	return synproxy_synack(ctx, &p, cfg, f, sp, w);
}

#endif
