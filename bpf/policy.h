/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * policy.h - admission of new flows: the source policy (the pool's and the
 * route's allow/deny lists, portier_policy) and the per-source rate limit
 * (a token bucket per route and source, portier_rate). Only packets that
 * would start a flow come here; packets of existing flows never do.
 */
#ifndef PORTIER_BPF_POLICY_H
#define PORTIER_BPF_POLICY_H

/* Tries of the rate limit's compare-and-swap before the flow is refused
 * (another CPU kept changing the same source's bucket: it is being
 * admitted flows at that instant). */
#define RATE_CAS_TRIES	4

/* Does the policy of scope allow source saddr? No match allows. */
static __always_inline bool policy_scope_allows(__u32 scope, __be32 saddr)
{
	struct portier_policy_key k = {
		.prefixlen = PORTIER_POLICY_SCOPE_BITS + 32,
		.scope = scope,
		.addr = saddr,
	};
	struct portier_policy_rule *r = bpf_map_lookup_elem(&portier_policy, &k);

	return !r || r->action != PORTIER_POLICY_DENY;
}

/* The pool's lists, then the route's: either one denies. */
static __always_inline bool policy_allows(__u32 route_id, __be32 saddr)
{
	return policy_scope_allows(PORTIER_POLICY_POOL, saddr) &&
	       policy_scope_allows(route_id, saddr);
}

/* Take a token from bucket b of route rt: false if it is empty. The
 * bucket is a time (struct portier_rate). */
static __always_inline bool rate_take(struct portier_rate *b, const struct portier_route *rt,
				      __u64 now)
{
	__u64 t = rt->rl_interval_ns, limit = t * rt->rl_burst, tat, next;

	for (int i = 0; i < RATE_CAS_TRIES; i++) {
		tat = b->tat;
		next = (tat > now ? tat : now) + t;
		if (next - now > limit)
			return false;
		if (__sync_val_compare_and_swap(&b->tat, tat, next) == tat)
			return true;
	}
	return false;
}

/* Take a token from the bucket of (route, source) in rate map m (key k:
 * IPv4's or IPv6's; inlined, so m is one map to the verifier): false if
 * it is empty. A source seen for the first time, or forgotten by the LRU,
 * has a full bucket, which gives at least one token (burst >= 1); if
 * another CPU created the entry at the same instant, its entry stays and
 * this flow goes free. */
static __always_inline bool rate_allows_in(void *m, const void *k, const struct portier_route *rt,
					   __u64 now)
{
	struct portier_rate *b = bpf_map_lookup_elem(m, k);

	if (!b) {
		struct portier_rate v = { .tat = now + rt->rl_interval_ns };

		bpf_map_update_elem(m, k, &v, BPF_NOEXIST);
		return true;
	}
	return rate_take(b, rt, now);
}

/* The same for an IPv4 source. */
static __always_inline bool rate_allows(__u32 route_id, const struct portier_route *rt,
					__be32 saddr, __u64 now)
{
	struct portier_rate_key k = { .route_id = route_id, .saddr = saddr };

	return rate_allows_in(&portier_rate, &k, rt, now);
}

/* Count a refused new flow on its route and under its reason; drop it. */
static __always_inline int refuse(__u32 route_id, __u32 reason)
{
	struct portier_refused *c = bpf_map_lookup_elem(&portier_route_refused, &route_id);

	if (c) {
		if (reason == PORTIER_R_DROP_DENIED)
			c->denied += 1;
		else
			c->rate_limited += 1;
	}
	return count_reason(reason, XDP_DROP);
}

/* Admission of a new flow to route_id from saddr, for ports with
 * PORTIER_PORT_ADMIT: ADMITTED, or XDP_DROP after counting why. Not
 * inlined, and it looks the rotation up itself: the packet walk's stack
 * frame (at the verifier's limit with the table's helpers) stays as it is. */
#define ADMITTED	(-1)
static __noinline int admit(__u32 route_id, __be32 saddr, __u64 now)
{
	struct portier_route *rt = bpf_map_lookup_elem(&portier_routes, &route_id);

	if (!rt)
		return ADMITTED;
	if ((rt->flags & PORTIER_ROUTE_F_POLICY) && !policy_allows(route_id, saddr))
		return refuse(route_id, PORTIER_R_DROP_DENIED);
	if ((rt->flags & PORTIER_ROUTE_F_RATE) && !rate_allows(route_id, rt, saddr, now))
		return refuse(route_id, PORTIER_R_DROP_RATE_LIMITED);
	return ADMITTED;
}

#endif
