/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * policy6.h - admission of new IPv6 flows, as bpf/policy.h's for IPv4: the
 * source policy (portier_policy6: the same scopes, the pool's lists then
 * the route's) and the rate limit per route and source /64
 * (portier_rate6: one host holds a whole /64, RFC 7421).
 */
#ifndef PORTIER_BPF_POLICY6_H
#define PORTIER_BPF_POLICY6_H

/* Does the policy of scope allow IPv6 source saddr? No match allows. The
 * key is built in *k (the caller's: admit6's frame). */
static __always_inline bool policy6_scope_allows(__u32 scope, const struct portier_addr *saddr,
						 struct portier_policy6_key *k)
{
	struct portier_policy_rule *r;

	k->prefixlen = PORTIER_POLICY_SCOPE_BITS + 128;
	k->scope = scope;
	__builtin_memcpy(k->addr, saddr, sizeof(k->addr));
	r = bpf_map_lookup_elem(&portier_policy6, k);
	return !r || r->action != PORTIER_POLICY_DENY;
}

/* Admission of a new IPv6 flow to route_id from saddr, for ports with
 * PORTIER_PORT_ADMIT: ADMITTED, or XDP_DROP after counting why (the route's
 * refused counters, DROP_DENIED, DROP_RATE_LIMITED), as admit. Not
 * inlined: the packet walk's frame stays small. */
static __noinline int admit6(__u32 route_id, const struct portier_addr *saddr, __u64 now)
{
	struct portier_route *rt = bpf_map_lookup_elem(&portier_routes, &route_id);
	struct portier_policy6_key pk;
	struct portier_rate6_key rk;

	if (!rt || !saddr)
		return ADMITTED;
	if ((rt->flags & PORTIER_ROUTE_F_POLICY) &&
	    !(policy6_scope_allows(PORTIER_POLICY_POOL, saddr, &pk) &&
	      policy6_scope_allows(route_id, saddr, &pk)))
		return refuse(route_id, PORTIER_R_DROP_DENIED);
	if (rt->flags & PORTIER_ROUTE_F_RATE) {
		__builtin_memset(&rk, 0, sizeof(rk));
		rk.route_id = route_id;
		__builtin_memcpy(rk.prefix, saddr, sizeof(rk.prefix));
		if (!rate_allows_in(&portier_rate6, &rk, rt, now))
			return refuse(route_id, PORTIER_R_DROP_RATE_LIMITED);
	}
	return ADMITTED;
}

#endif
