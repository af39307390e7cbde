/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * nat6.h - new IPv6 flows: service lookup, backend choice (round-robin,
 * maglev, source), NAT66 source port allocation, the two connection table
 * entries; and the rewrite of a packet by a flow entry (addresses, ports,
 * TCP/UDP checksums: IPv6 has no header checksum). The IPv4 path's pieces
 * (bpf/nat.h) are used where nothing is family-bound: route_of,
 * rotation_backend, table_slot, backend_of, flow timeouts.
 */
#ifndef PORTIER_BPF_NAT6_H
#define PORTIER_BPF_NAT6_H

static __always_inline bool addr6_is_zero(const struct portier_addr *a)
{
	return (a->a32[0] | a->a32[1] | a->a32[2] | a->a32[3]) == 0;
}

#define AF_INET6	10	/* bpf_fib_lookup's family */

static __always_inline bool addr6_eq(const struct portier_addr *a, const struct portier_addr *b)
{
	return ((a->a32[0] ^ b->a32[0]) | (a->a32[1] ^ b->a32[1]) | (a->a32[2] ^ b->a32[2]) |
		(a->a32[3] ^ b->a32[3])) == 0;
}

/* Is IPv6 address a one of this host's (portier_local6)? */
static __always_inline bool addr6_is_local(const struct portier_addr *a)
{
	return bpf_map_lookup_elem(&portier_local6, a) != NULL;
}

/* The route of the IPv6 service packet p is for, into *route_id: the
 * port's only IPv6 service from its portier_ports entry pp (ONE_SVC6),
 * else by portier_services (family PORTIER_AF_INET6), the exact address
 * first, then "*" (the all-zero address) if the destination is one of this
 * host's (portier_local6). False if the packet is for no service. The key
 * is built in *k (the caller's scratch: 24 bytes). */
static __always_inline bool svc_route6(const struct pkt6 *p, const struct portier_port *pp,
				       struct portier_svc_key *k, __u32 *route_id)
{
	struct portier_svc *s;

	if (pp && (pp->flags & PORTIER_PORT_ONE_SVC6)) {
		/* The port's only IPv6 service: this packet's, or none is. */
		if (pp->svc6_proto != p->proto ||
		    (!addr6_eq(&pp->svc6_addr, (const struct portier_addr *)&p->ip6h->daddr) &&
		     (!addr6_is_zero(&pp->svc6_addr) ||
		      !addr6_is_local((const struct portier_addr *)&p->ip6h->daddr))))
			return false;
		*route_id = pp->svc6_route;
		return true;
	}
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(&k->addr, &p->ip6h->daddr, sizeof(k->addr));
	k->port = p->ports[1];
	k->proto = p->proto;
	k->family = PORTIER_AF_INET6;
	s = bpf_map_lookup_elem(&portier_services, k);
	if (!s && addr6_is_local(&k->addr)) {
		__builtin_memset(&k->addr, 0, sizeof(k->addr));
		s = bpf_map_lookup_elem(&portier_services, k);
	}
	if (!s)
		return false;
	*route_id = s->route_id;
	return true;
}

/* The backend of a new IPv6 flow with key k to route route_id (rotation
 * r): by the route's table (maglev: the 5-tuple's hash, source: the
 * client address's; portier_hash.h), else round-robin as IPv4. NULL if
 * none, or if the one picked is not IPv6 (no NAT46). */
static __always_inline struct portier_backend *pick_backend6(const struct portier_route *r,
							     __u32 route_id,
							     const struct portier_flow_key6 *k,
							     __u32 *backend_id)
{
	struct portier_backend *be;
	__u32 *rr, h;
	int id;

	if (r->flags & ROUTE_F_TABLE) {
		if (r->flags & PORTIER_ROUTE_F_SOURCE)
			h = portier_source6_hash(k->saddr.a32);
		else
			h = portier_tuple6_hash(k->saddr.a32, k->daddr.a32, k->sport, k->dport,
						k->proto);
		id = table_slot(route_id, r->table_size, h);
		if (id < 0)
			return NULL;
		be = backend_of(id, PORTIER_AF_INET6);
		if (be)
			*backend_id = (__u32)id;
		return be;
	}
	rr = bpf_map_lookup_elem(&portier_rr, &route_id);
	if (!rr)
		return NULL;
	return rotation_backend(r, __sync_fetch_and_add(rr, 1), backend_id, PORTIER_AF_INET6);
}

/* A flow entry with everything but the rewrite. */
static __always_inline void flow_init6(struct portier_flow6 *f, __u8 dir, __u16 route_id,
				       __u16 backend_id, __u64 now)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->dir = dir;
	f->route_id = route_id;
	f->backend_id = backend_id;
	f->created_ns = now;
	f->last_seen = portier_tick(now);
}

/* The per-CPU scratch of a new IPv6 flow (portier_new_flow's value is an
 * IPv4 entry, too small): the reply key and entry, off the stack. An
 * ICMPv6 error's translation (bpf/icmp6.h) has the key of its flow, then
 * its new outer source, in rk and its FIB lookup in fib. */
struct flow6_scratch {
	struct portier_flow_key6 rk;
	union {
		struct portier_flow6 rv;
		struct bpf_fib_lookup fib;
	};
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct flow6_scratch);
} portier_new_flow6 SEC(".maps");

#define SCRATCH6_CREATE	0	/* flow_create6's */
#define SCRATCH6_XDP	1	/* portier_xdp6's: the packet's key, the
				 * original entry of a new flow */

/* Insert both entries of a new IPv6 flow for the packet with key k to
 * backend be and fill *orig with the original direction's entry, as IPv4's
 * flow_create: dnat keeps the client's address; snat (NAT66) takes
 * cfg->snat_addr6 (all-zero: none, DROP_SNAT_EXHAUSTED) and a port from
 * the backend's cursor, probed against the reply key in the IPv6 table.
 * flags: both entries' first (a cookie flow's: SYNPROXY, ASSURED).
 * Returns FLOW_OK, FLOW_RACE or a drop reason. */
static __always_inline __u32 flow_create6(const struct portier_config *cfg,
				     const struct portier_flow_key6 *k, __u32 route_id,
				     __u32 route_flags, __u32 backend_id,
				     const struct portier_backend *be, __u32 len, __u64 now,
				     __u8 flags, struct portier_flow6 *orig)
{
	struct ct_claimed co, cr;
	struct flow6_scratch *sc;
	__u32 rc, zero = SCRATCH6_CREATE, *cursor;
	int claim;

	sc = bpf_map_lookup_elem(&portier_new_flow6, &zero);
	if (!sc)
		return PORTIER_R_DROP_CT_FULL;
	claim = ct_claim_key6(cfg, k, portier_tick(now), &co);
	if (claim == CT_CLAIM_EXISTS)
		return FLOW_RACE;
	if (claim)
		return PORTIER_R_DROP_CT_FULL;
	flow_init6(orig, PORTIER_FLOW_DIR_ORIG, route_id, backend_id, now);
	orig->packets = 1;
	orig->bytes = len;
	orig->flags = flags;
	orig->nat_saddr = k->saddr;
	orig->nat_sport = k->sport;
	orig->nat_daddr = k->daddr;
	orig->nat_dport = k->dport;
	if (be->flags & PORTIER_BACKEND_F_LOCAL) {
		orig->flags = PORTIER_FLOW_F_LOCAL;
		ct_publish6(&co, k, orig);
		return FLOW_OK;
	}
	orig->nat_daddr = be->addr;
	orig->nat_dport = be->port;

	/* The reply entry: backend -> (gateway or client), rewritten back to
	 * service -> client. */
	flow_init6(&sc->rv, PORTIER_FLOW_DIR_REPLY, route_id, backend_id, now);
	sc->rv.flags = flags;
	sc->rv.nat_saddr = k->daddr;
	sc->rv.nat_sport = k->dport;
	sc->rv.nat_daddr = k->saddr;
	sc->rv.nat_dport = k->sport;
	__builtin_memset(&sc->rk, 0, sizeof(sc->rk));
	sc->rk.saddr = be->addr;
	sc->rk.sport = be->port;
	sc->rk.proto = k->proto;
	if (route_flags & PORTIER_ROUTE_F_DNAT) {
		sc->rk.daddr = k->saddr;
		sc->rk.dport = k->sport;
		rc = ct_claim_key6(cfg, &sc->rk, portier_tick(now), &cr) ?
			     PORTIER_R_DROP_CT_FULL : FLOW_OK;
	} else if (addr6_is_zero(&cfg->snat_addr6)) {
		rc = PORTIER_R_DROP_SNAT_EXHAUSTED;
	} else {
		sc->rk.daddr = cfg->snat_addr6;
		orig->nat_saddr = cfg->snat_addr6;
		cursor = bpf_map_lookup_elem(&portier_snat_cursor, &backend_id);
		rc = cursor ? snat_alloc_at6(cfg, cursor, &sc->rk, portier_tick(now), &cr) :
			      PORTIER_R_DROP_SNAT_EXHAUSTED;
		orig->nat_sport = sc->rk.dport;
	}
	if (rc != FLOW_OK) {
		ct_release6(&co);
		return rc;
	}
	ct_publish6(&cr, &sc->rk, &sc->rv);
	ct_publish6(&co, k, orig);
	if (cfg->sync_on)
		sync_new6(k, orig, &sc->rk, &sc->rv);
	return FLOW_OK;
}

/* Add the change of 16-byte address from into to to d. */
static __always_inline void csum_delta_addr6(struct csum_delta *d, const __be32 *from,
					     const __be32 *to)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		csum_delta32(d, from[i], to[i]);
}

/* Rewrite the packet by flow entry f: addresses and ports, the TCP or UDP
 * checksum updated incrementally (the addresses are in its
 * pseudo-header); hop limit - 1 if dec_hl (the packet leaves by redirect;
 * one passed to the kernel keeps it: the kernel decrements it). */
static __always_inline void nat_rewrite6(struct pkt6 *p, const struct portier_flow6 *f,
					 bool dec_hl)
{
	struct ipv6hdr *ip6h = p->ip6h;
	struct csum_delta l4 = { 0 };

	csum_delta_addr6(&l4, ip6h->saddr.in6_u.u6_addr32, f->nat_saddr.a32);
	csum_delta_addr6(&l4, ip6h->daddr.in6_u.u6_addr32, f->nat_daddr.a32);
	csum_delta16(&l4, p->ports[0], f->nat_sport);
	csum_delta16(&l4, p->ports[1], f->nat_dport);
	if (dec_hl)
		ip6h->hop_limit -= 1;
	__builtin_memcpy(&ip6h->saddr, &f->nat_saddr, sizeof(ip6h->saddr));
	__builtin_memcpy(&ip6h->daddr, &f->nat_daddr, sizeof(ip6h->daddr));
	p->ports[0] = f->nat_sport;
	p->ports[1] = f->nat_dport;
	if (p->tcp)
		*p->l4_csum = csum_apply(*p->l4_csum, &l4);
	else	/* never 0 here: parse_packet6 drops it; a computed 0 is 0xffff */
		*p->l4_csum = csum_apply_udp(*p->l4_csum, &l4);
}

#endif
