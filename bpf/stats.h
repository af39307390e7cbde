/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * stats.h - per-CPU counters: reasons, and per backend (routes sum them).
 */
#ifndef PORTIER_BPF_STATS_H
#define PORTIER_BPF_STATS_H

/* Count one packet under reason and return action (for "return
 * count_reason(R, XDP_PASS);"). */
static __always_inline int count_reason(__u32 reason, int action)
{
	__u64 *c = bpf_map_lookup_elem(&portier_reasons, &reason);

	if (c)
		*c += 1;
	return action;
}

static __always_inline void stats_add(struct portier_stats *s, __u8 dir, __u32 len, bool new_flow)
{
	if (!s)
		return;
	dir &= PORTIER_FLOW_DIR_REPLY;
	s->packets[dir] += 1;
	s->bytes[dir] += len;
	if (new_flow)
		s->flows += 1;
}

/* Count a packet of a flow (and a new flow) on its backend. A route's
 * totals are its backends' sums plus what its removed backends had counted
 * (userspace folds those into portier_route_stats): one counter per packet,
 * not two. */
static __always_inline void count_flow(__u32 backend_id, __u8 dir, __u32 len, bool new_flow)
{
	stats_add(bpf_map_lookup_elem(&portier_backend_stats, &backend_id), dir, len, new_flow);
}

/* Count a flow recreated (recreated) or a stateless reply on route
 * route_id's active-active counters. */
static __always_inline void count_ha(__u32 route_id, bool recreated)
{
	struct portier_route_ha *h = bpf_map_lookup_elem(&portier_route_ha, &route_id);

	if (!h)
		return;
	if (recreated)
		h->recreated += 1;
	else
		h->stateless_replies += 1;
}

#endif
