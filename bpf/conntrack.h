/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * conntrack.h - the IPv4 connection table (portier_conntrack,
 * portier_ct_slots): keys from packets, and bpf/ct_table.h's lookup,
 * insert, evict, delete, timeouts and state bits with IPv4 keys and
 * entries, under their plain names (ct_lookup, flow_delete, ...). Flow
 * sync (bpf/sync.h) follows this table's changes.
 */
#ifndef PORTIER_BPF_CONNTRACK_H
#define PORTIER_BPF_CONNTRACK_H

#include "sync.h"

/* The key of the packet's tuple as it arrives. */
static __always_inline void flow_key_of(const struct pkt *p, struct portier_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->iph->saddr;
	k->daddr = p->iph->daddr;
	k->sport = p->ports[0];
	k->dport = p->ports[1];
	k->proto = p->proto;
}

static __always_inline bool ct_key_eq(const struct portier_flow_key *a,
				      const struct portier_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

#define CT_KEY			struct portier_flow_key
#define CT_FLOW			struct portier_flow
#define CT_SLOT			struct portier_ct_slot
#define CT_FN(name)		name
#define CT_BUCKET_MAP		&portier_conntrack
#define CT_SLOT_MAP		&portier_ct_slots
#define CT_LOCATE(cfg, k, tagp)	\
	portier_ct_locate(k, (cfg)->ct_seed, (cfg)->ct_buckets, (cfg)->ct_step, tagp)
#define CT_KEY_EQ(a, b)		ct_key_eq(a, b)
#define CT_SYNC_SMALL(k, kind, bits) sync_small(k, kind, bits)
#define CT_SYNC_FLAGS(f, proto, ok, bits) sync_small(ok, PORTIER_SYNC_EV_FLAGS, bits)
#include "ct_table.h"

#endif
