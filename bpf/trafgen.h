/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * trafgen.h - what bpf/trafgen.bpf.c and tools/trafgen.c share: the frame
 * layout of the template, the generator's settings and counters, the
 * sink's counters. Included after vmlinux.h (BPF) or <linux/types.h>.
 */
#ifndef PORTIER_TRAFGEN_H
#define PORTIER_TRAFGEN_H

/* Every frame is this long: Ethernet, IPv4 (no options), TCP or UDP, the
 * rest padding (IPv4 tot_len says how much is the datagram). */
#define TG_FRAME_LEN	64

/* Byte offsets in the frame. */
#define TG_OFF_IP	14
#define TG_OFF_IPCSUM	(TG_OFF_IP + 10)
#define TG_OFF_SADDR	(TG_OFF_IP + 12)
#define TG_OFF_L4	(TG_OFF_IP + 20)
#define TG_OFF_SPORT	TG_OFF_L4
#define TG_OFF_DPORT	(TG_OFF_L4 + 2)
#define TG_OFF_TCPCSUM	(TG_OFF_L4 + 16)
#define TG_OFF_UDPCSUM	(TG_OFF_L4 + 6)

/* IPv6 frames (--src and --dst IPv6): this long, Ethernet, IPv6 (no
 * extension header), TCP or UDP, the rest padding (the payload length says
 * how much is the packet). Flow k's source address is the template's with
 * its last 32 bits saddr_host + k / nports. */
#define TG6_FRAME_LEN	80
#define TG6_OFF_IP	14
#define TG6_OFF_SADDR_LO	(TG6_OFF_IP + 8 + 12)	/* the source's last 4 bytes */
#define TG6_OFF_L4	(TG6_OFF_IP + 40)
#define TG6_OFF_SPORT	TG6_OFF_L4
#define TG6_OFF_DPORT	(TG6_OFF_L4 + 2)
#define TG6_OFF_TCPCSUM	(TG6_OFF_L4 + 16)
#define TG6_OFF_UDPCSUM	(TG6_OFF_L4 + 6)

/* Generator settings (tg_cfg in .bss). Flow k of nflows has source port
 * port_min + k % nports, source address saddr_host + k / nports and
 * destination port dport_min + k % ndports; the template holds flow 0 with
 * valid checksums (its destination port is dport_min). */
struct tg_cfg {
	__u64 tmpl[TG_FRAME_LEN / 8];	/* the frame of flow 0 */
	__u32 ifindex;			/* redirect target */
	__u32 nflows;			/* distinct flows, cycled */
	__u32 nports;			/* source ports per source address */
	__u32 saddr_host;		/* source address of flow 0, host order */
	__u16 port_min;			/* source port of flow 0, host order */
	__u16 l4_csum_off;		/* TG_OFF_TCPCSUM or TG_OFF_UDPCSUM */
	__u16 dport_min;		/* destination port of flow 0, host order */
	__u16 ndports;			/* destination ports cycled (0 or 1: one) */
	__u64 tmpl6[TG6_FRAME_LEN / 8];	/* ipv6: the frame of flow 0 */
	__u32 ipv6;			/* 1: send tmpl6 (l4_csum_off a TG6_OFF_*) */
	__u32 pad;
};

/* A network tg_dropnet drops (tg_drop_net in .bss), network order. */
struct tg_net {
	__be32 net;
	__be32 mask;
};

/* Generator counters (tg_gen_stats in .bss). */
struct tg_gen_stats {
	__u64 frames;	/* frames written and redirected */
	__u64 seq;	/* next flow sequence number */
};

/* Sink counters (tg_sink_counts, per CPU). */
struct tg_sink_stats {
	__u64 packets;	/* IPv4, and IPv6 TCP/UDP, frames received and dropped */
	__u64 bytes;
};

#endif
