/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * conntrack6.h - the IPv6 connection table (portier_conntrack6,
 * portier_ct6_slots): keys from packets, and bpf/ct_table.h's lookup,
 * insert, evict, delete, timeouts and state bits with IPv6 keys and
 * entries, named with a 6 (ct_lookup6, flow_delete6, ...). Flow sync
 * (bpf/sync.h: sync_small6, and sync_new6 in bpf/nat6.h) follows this
 * table's changes as it does the IPv4 one's.
 */
#ifndef PORTIER_BPF_CONNTRACK6_H
#define PORTIER_BPF_CONNTRACK6_H

/* The key of the packet's tuple as it arrives. */
static __always_inline void flow_key_of6(const struct pkt6 *p, struct portier_flow_key6 *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(&k->saddr, &p->ip6h->saddr, sizeof(k->saddr));
	__builtin_memcpy(&k->daddr, &p->ip6h->daddr, sizeof(k->daddr));
	k->sport = p->ports[0];
	k->dport = p->ports[1];
	k->proto = p->proto;
}

/* Ten words compared, pad included (always zero). */
static __always_inline bool ct_key_eq6(const struct portier_flow_key6 *a,
				       const struct portier_flow_key6 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 d = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / sizeof(__u32)); i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

#define CT_KEY			struct portier_flow_key6
#define CT_FLOW			struct portier_flow6
#define CT_SLOT			struct portier_ct6_slot
#define CT_FN(name)		name##6
#define CT_BUCKET_MAP		&portier_conntrack6
#define CT_SLOT_MAP		&portier_ct6_slots
#define CT_LOCATE(cfg, k, tagp)	\
	portier_ct6_locate(k, (cfg)->ct_seed, (cfg)->ct6_buckets, (cfg)->ct6_step, tagp)
#define CT_KEY_EQ(a, b)		ct_key_eq6(a, b)
#define CT_SYNC_SMALL(k, kind, bits) sync_small6(k, kind, bits)
#define CT_SYNC_FLAGS(f, proto, ok, bits) sync_flags6(f, proto, bits)
#include "ct_table.h"

/* flow_set_flags6 as a function of its own, verified once: its lookup of
 * the other entry and its flow sync event (sync_flags6) then take no room
 * in portier_xdp6's frame, which its call from inlined code would grow
 * past the 512-byte stack with icmp6_packet's. The packet walk's calls
 * (bpf/xdp6.h) go to it through the macro below. */
__noinline int flow_set_flags6_fn(const struct portier_config *cfg, struct portier_flow6 *f,
				  __u32 proto, __u32 bits)
{
	if (!cfg || !f)
		return 0;
	flow_set_flags6(cfg, f, (__u8)proto, (__u8)bits);
	return 0;
}

#define flow_set_flags6(cfg, f, proto, bits) flow_set_flags6_fn(cfg, f, proto, bits)

#endif
