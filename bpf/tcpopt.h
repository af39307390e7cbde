/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * tcpopt.h - TCP options for the SYN proxy: read a segment's MSS, window
 * scale, SACK-permitted, timestamps and SACK blocks (where they are), and
 * update 32-bit fields anywhere in the header with the checksum kept right.
 */
#ifndef PORTIER_BPF_TCPOPT_H
#define PORTIER_BPF_TCPOPT_H

#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_MSS		2
#define TCPOPT_WINDOW		3
#define TCPOPT_SACK_PERM	4
#define TCPOPT_SACK		5
#define TCPOPT_TIMESTAMP	8
#define TCPOLEN_MSS		4
#define TCPOLEN_WINDOW		3
#define TCPOLEN_SACK_PERM	2
#define TCPOLEN_TIMESTAMP	10
#define TCPOLEN_SACK_BLOCK	8
#define TCP_OPTS_MAX		40	/* bytes of options at most (doff 15) */
#define TCP_HDR_MAX		60
#define TCP_MAX_WSCALE		14
/* Options read per segment: enough for every layout a TCP stack sends
 * (SYN: MSS, SACK-permitted, timestamps, NOP, window scale; data: NOP, NOP,
 * timestamps, NOP, NOP, SACK). Options past them are left as they are. */
#define TCP_OPT_STEPS		10

/* What tcpopt_parse found. Offsets are from the start of the TCP header
 * (0 = absent); values in host order. */
struct tcp_opts {
	__u32 tsval;
	__u32 tsecr;
	__u16 mss;		/* 0 = absent */
	__u8 ts_off;		/* offset of tsval (tsecr follows) */
	__u8 sack_off;		/* offset of the first SACK block */
	__u8 sack_blocks;	/* SACK blocks there (at most 4) */
	__u8 wscale;		/* valid with has_ws */
	bool has_ws;
	bool sack_perm;
};

/* The frame's start and end, read from ctx by one load each: code that
 * resizes the frame reads them again, and the compiler must not turn such
 * reads into arithmetic on ctx (which the verifier refuses). */
static __always_inline void *xdp_data(struct xdp_md *ctx)
{
	void *v;

	asm volatile("%0 = *(u32 *)(%1 + 0)" : "=r"(v) : "r"(ctx));
	return v;
}

static __always_inline void *xdp_data_end(struct xdp_md *ctx)
{
	void *v;

	asm volatile("%0 = *(u32 *)(%1 + 4)" : "=r"(v) : "r"(ctx));
	return v;
}

/* A 32-bit value at byte p (any alignment), network order as stored. */
static __always_inline __u32 load_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static __always_inline void store_be32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Add to d the checksum change of a 32-bit field from..to (host order)
 * at offset off from the TCP header start: at an odd offset its bytes
 * straddle the checksum's 16-bit words, which swaps the bytes of its
 * contribution. */
static __always_inline void csum_delta_be32_at(struct csum_delta *d, __u32 from, __u32 to,
					       __u32 off)
{
	struct csum_delta t = { 0 };
	__u16 w;

	csum_delta32(&t, bpf_htonl(from), bpf_htonl(to));
	w = csum_fold(t.sum);
	if (off & 1)
		w = (__u16)(w << 8 | w >> 8);
	d->sum += w;
}

/* Rewrite the 32-bit field at offset off of TCP header th (bounds
 * checked) to v, adding the checksum change to d. */
static __always_inline void tcp_set32(struct tcphdr *th, void *data_end, __u32 off, __u32 v,
				      struct csum_delta *d)
{
	__u8 *p = (__u8 *)th + (off & 63);	/* bounded for the verifier */

	if ((void *)(p + 4) > data_end || off >= TCP_HDR_MAX - 3)
		return;
	csum_delta_be32_at(d, load_be32(p), v, off);
	store_be32(p, v);
}

/* One option at offset off (from the TCP header) of th, whose options end
 * at hdr_len: note it in o. Returns the next option's offset, or 0 at the
 * end (EOL, a malformed length, the header's end). */
static __always_inline __u32 tcpopt_one(const struct tcphdr *th, void *data_end, __u32 off,
					__u32 hdr_len, struct tcp_opts *o)
{
	const __u8 *p;
	__u8 kind, len;

	if (off >= hdr_len || off >= TCP_HDR_MAX)
		return 0;
	p = (const __u8 *)th + off;
	if ((void *)(p + 1) > data_end)
		return 0;
	kind = p[0];
	if (kind == TCPOPT_EOL)
		return 0;
	if (kind == TCPOPT_NOP)
		return off + 1;
	if ((void *)(p + 2) > data_end)
		return 0;
	len = p[1];
	if (len < 2 || off + len > hdr_len)
		return 0;
	if (kind == TCPOPT_MSS && len == TCPOLEN_MSS && (void *)(p + 4) <= data_end) {
		o->mss = (__u16)p[2] << 8 | p[3];
	} else if (kind == TCPOPT_WINDOW && len == TCPOLEN_WINDOW && (void *)(p + 3) <= data_end) {
		o->has_ws = true;
		o->wscale = p[2] < TCP_MAX_WSCALE ? p[2] : TCP_MAX_WSCALE;
	} else if (kind == TCPOPT_SACK_PERM && len == TCPOLEN_SACK_PERM) {
		o->sack_perm = true;
	} else if (kind == TCPOPT_TIMESTAMP && len == TCPOLEN_TIMESTAMP &&
		   (void *)(p + TCPOLEN_TIMESTAMP) <= data_end) {
		o->ts_off = off + 2;
		o->tsval = load_be32(p + 2);
		o->tsecr = load_be32(p + 6);
	} else if (kind == TCPOPT_SACK && len > 2 && (len - 2) % TCPOLEN_SACK_BLOCK == 0) {
		o->sack_off = off + 2;
		o->sack_blocks = (len - 2) / TCPOLEN_SACK_BLOCK;
	}
	return off + len;
}

/* Offset of the TCP header in a frame portier handles (Ethernet, IPv4
 * without options: parse_packet passes the rest; Ethernet, IPv6 without
 * extension headers: parse_packet6's). The functions below take it. */
#define TCP_FRAME_OFF		(14 + 20)
#define TCP_FRAME_OFF6		(14 + 40)

/* Read the options of the frame's TCP header, at th_off (TCP_FRAME_OFF or
 * TCP_FRAME_OFF6), into o. 0, or -1 if there is no whole TCP header. A
 * function of its own: its loop is verified once, not at every call
 * site. */
__noinline int tcpopt_read(struct xdp_md *ctx, struct tcp_opts *o, __u32 th_off)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);
	const struct tcphdr *th;
	__u32 off = sizeof(struct tcphdr), hdr_len;

	if (!o)
		return -1;
	__builtin_memset(o, 0, sizeof(*o));
	if (th_off > TCP_FRAME_OFF6)
		return -1;
	th = data + th_off;
	if ((void *)(th + 1) > data_end)
		return -1;
	hdr_len = th->doff * 4;
	for (int i = 0; i < TCP_OPT_STEPS && off; i++)
		off = tcpopt_one(th, data_end, off, hdr_len, o);
	return 0;
}

/* Add delta to each edge of the n SACK blocks at offset sack_off of the
 * frame's TCP header, at th_off (a client's SACK of data the backend
 * sent, into the backend's sequence space). Returns the checksum change,
 * folded. */
__noinline __u32 tcpopt_sack_shift(struct xdp_md *ctx, __u32 th_off, __u32 sack_off, __u32 n,
				   __u32 delta)
{
	void *data = xdp_data(ctx);
	void *data_end = xdp_data_end(ctx);
	struct tcphdr *th;
	struct csum_delta d = { 0 };
	__u32 off;

	if (th_off > TCP_FRAME_OFF6)
		return 0;
	th = data + th_off;

	for (__u32 i = 0; i < 8 && i < n * 2; i++) {
		off = sack_off + i * 4;
		if (off >= TCP_HDR_MAX - 3 || (void *)((__u8 *)th + off + 4) > data_end)
			break;
		tcp_set32(th, data_end, off, load_be32((__u8 *)th + off) + delta, &d);
	}
	return csum_fold(d.sum);
}

#endif
