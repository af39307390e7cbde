// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * trafgen.bpf.c - the benchmark's packet generator and sink (tools/trafgen.c).
 *
 * tg_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: on
 * every frame it writes the whole frame from the template (live frames
 * recycle pages without resetting their bytes, so a frame the receiver
 * rewrote comes back rewritten), gives it the next flow's source address
 * and port and its destination port, fixes both checksums incrementally
 * and redirects it out of tg_cfg.ifindex (IPv6 frames likewise, from
 * tmpl6: no header checksum, the source address's last 32 bits vary).
 * tg_sink, attached in the sink namespace, counts IPv4 frames and IPv6
 * TCP/UDP frames and drops them; anything else (ARP, neighbour discovery)
 * goes to the kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "trafgen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd
#define NEXTHDR_TCP	6
#define NEXTHDR_UDP	17

/* Written by tools/trafgen.c before the run (the .bss map is mmapped). */
struct tg_cfg tg_cfg;
/* The generator's counters: frames written, flow sequence number. */
struct tg_gen_stats tg_gen_stats;

/* Received by the sink, per CPU: index 0. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_sink_stats);
} tg_sink_counts SEC(".maps");

/* One's complement sum folded to 16 bits. */
static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* RFC 1624: checksum c after the 16-bit words o[] became n[]. */
static __always_inline __u16 csum_update(__u16 c, const __u16 *o, const __u16 *n, int words)
{
	__u32 s = (__u16)~c;
	int i;

	for (i = 0; i < words; i++)
		s += (__u16)~o[i] + n[i];
	return (__u16)~csum_fold(s);
}

/* The next flow into the frame's 16-bit words w: its source address (the
 * 32 bits at byte sa: IPv4's, or an IPv6 source's last), source port (sp)
 * and destination port (dp); counts the frame. The words before and after
 * into o and n, for the checksums. */
static __always_inline void next_flow(__u16 *w, int sa, int sp, int dp, __u16 *o, __u16 *n)
{
	__u32 nports = tg_cfg.nports ? tg_cfg.nports : 1;
	__u32 ndports = tg_cfg.ndports ? tg_cfg.ndports : 1;
	__u32 flow = tg_cfg.nflows ? tg_gen_stats.seq % tg_cfg.nflows : 0;
	__u32 saddr = bpf_htonl(tg_cfg.saddr_host + flow / nports);

	tg_gen_stats.seq++;
	tg_gen_stats.frames++;
	o[0] = w[sa / 2];
	o[1] = w[sa / 2 + 1];
	o[2] = w[sp / 2];
	o[3] = w[dp / 2];
	__builtin_memcpy(n, &saddr, 4);
	n[2] = bpf_htons(tg_cfg.port_min + flow % nports);
	n[3] = bpf_htons(tg_cfg.dport_min + flow % ndports);
	w[sa / 2] = n[0];
	w[sa / 2 + 1] = n[1];
	w[sp / 2] = n[2];
	w[dp / 2] = n[3];
}

/* The TCP (at byte tcp) or UDP (udp) checksum, whichever the template
 * has, after next_flow's change from o to n. A UDP checksum never becomes
 * 0 ("none" in IPv4, invalid in IPv6). */
static __always_inline void l4_update(__u16 *w, int tcp, int udp, const __u16 *o, const __u16 *n)
{
	__u16 c;

	if (tg_cfg.l4_csum_off == tcp) {
		w[tcp / 2] = csum_update(w[tcp / 2], o, n, 4);
	} else if (tg_cfg.l4_csum_off == udp) {
		c = csum_update(w[udp / 2], o, n, 4);
		w[udp / 2] = c ? c : 0xffff;
	}
}

SEC("xdp")
int tg_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *dst = data;
	__u16 old[4], new[4], *w = data;
	int i;

	if (tg_cfg.ipv6) {
		if (data + TG6_FRAME_LEN > data_end)
			return XDP_ABORTED;
		for (i = 0; i < TG6_FRAME_LEN / 8; i++)
			dst[i] = tg_cfg.tmpl6[i];
		next_flow(w, TG6_OFF_SADDR_LO, TG6_OFF_SPORT, TG6_OFF_DPORT, old, new);
		l4_update(w, TG6_OFF_TCPCSUM, TG6_OFF_UDPCSUM, old, new);
		return bpf_redirect(tg_cfg.ifindex, 0);
	}
	if (data + TG_FRAME_LEN > data_end)
		return XDP_ABORTED;
	for (i = 0; i < TG_FRAME_LEN / 8; i++)
		dst[i] = tg_cfg.tmpl[i];
	next_flow(w, TG_OFF_SADDR, TG_OFF_SPORT, TG_OFF_DPORT, old, new);
	w[TG_OFF_IPCSUM / 2] = csum_update(w[TG_OFF_IPCSUM / 2], old, new, 2);
	l4_update(w, TG_OFF_TCPCSUM, TG_OFF_UDPCSUM, old, new);
	return bpf_redirect(tg_cfg.ifindex, 0);
}

/* The network tg_dropnet drops (network order; written by trafgen dropnet
 * before it attaches the program). */
struct tg_net tg_drop_net;

/* Drop IPv4 frames to tg_drop_net, pass the rest: the answers to a flood's
 * spoofed sources, which on a real network never come back to the host
 * that sent the flood, leave the host's legitimate traffic alone. */
SEC("xdp")
int tg_dropnet(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    (iph->daddr & tg_drop_net.mask) != tg_drop_net.net)
		return XDP_PASS;
	return XDP_DROP;
}

/* Pass everything: a veth end with an XDP program takes the frames its
 * peer sends back with XDP_TX in XDP's own NAPI mode (with GRO's mode
 * instead, seen here: such frames waited seconds for a later one). */
SEC("xdp")
int tg_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("xdp")
int tg_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tg_sink_stats *s;
	__u32 zero = 0;

	__u8 *nh = (__u8 *)(eth + 1) + 6;	/* IPv6's next header */

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)(nh + 1) > data_end || (*nh != NEXTHDR_TCP && *nh != NEXTHDR_UDP))
			return XDP_PASS;
	} else if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		return XDP_PASS;
	}
	s = bpf_map_lookup_elem(&tg_sink_counts, &zero);
	if (!s)
		return XDP_PASS;
	s->packets++;
	s->bytes += data_end - data;
	return XDP_DROP;
}
