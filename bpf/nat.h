/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * nat.h - new flows: service lookup, backend choice (round-robin, or a
 * route's Maglev table), SNAT
 * source port allocation, the two connection table entries; and the
 * rewrite of a packet by a flow entry (addresses, ports, checksums, TTL).
 */
#ifndef PORTIER_BPF_NAT_H
#define PORTIER_BPF_NAT_H

/* Is IPv4 address a one of this host's (portier_local)? */
static __always_inline bool addr_is_local(__be32 a)
{
	struct portier_addr k;

	__builtin_memset(&k, 0, sizeof(k));
	k.a32[0] = a;
	return bpf_map_lookup_elem(&portier_local, &k) != NULL;
}

/* The route of the service a packet is for, into *route_id: the port's
 * only service from its portier_ports entry pp, else by portier_services,
 * exact address first, then "*" if the destination is one of this host's
 * addresses. False if the packet is for no service. */
static __always_inline bool svc_route(const struct pkt *p, const struct portier_port *pp,
				      __u32 *route_id)
{
	struct portier_svc_key k;
	struct portier_svc *s;

	if (pp && (pp->flags & PORTIER_PORT_ONE_SVC)) {
		/* The port's only service: this packet's, or none is. */
		if (pp->svc_proto != p->proto ||
		    (pp->svc_addr != p->iph->daddr &&
		     (pp->svc_addr || !addr_is_local(p->iph->daddr))))
			return false;
		*route_id = pp->svc_route;
		return true;
	}
	__builtin_memset(&k, 0, sizeof(k));
	k.addr.a32[0] = p->iph->daddr;
	k.port = p->ports[1];
	k.proto = p->proto;
	k.family = PORTIER_AF_INET;
	s = bpf_map_lookup_elem(&portier_services, &k);
	if (!s && addr_is_local(p->iph->daddr)) {
		k.addr.a32[0] = 0;
		s = bpf_map_lookup_elem(&portier_services, &k);
	}
	if (!s)
		return false;
	*route_id = s->route_id;
	return true;
}

/* Route route_id's rotation, or NULL. */
static __always_inline const struct portier_route *route_of(__u32 route_id)
{
	return bpf_map_lookup_elem(&portier_routes, &route_id);
}

/* Backend id, if it is in use and of family (PORTIER_AF_*): a route's
 * backends serve the clients of their own family (no NAT46). */
static __always_inline struct portier_backend *backend_of(__u32 id, __u8 family)
{
	struct portier_backend *be = bpf_map_lookup_elem(&portier_backends, &id);

	if (!be || !(be->flags & PORTIER_BACKEND_F_USED) || be->family != family)
		return NULL;
	return be;
}

/* The backend at position i (any number: taken modulo the rotation's
 * length) of rotation r, its id in *backend_id; NULL if r has none, or
 * if it is not of family. */
static __always_inline struct portier_backend *rotation_backend(const struct portier_route *r,
								 __u32 i, __u32 *backend_id,
								 __u8 family)
{
	struct portier_backend *be;
	__u32 n = r->n_active, id;

	if (n == 0 || n > PORTIER_MAX_ROUTE_BACKENDS)
		return NULL;
	i %= n;
	barrier_var(i);	/* keep the check below: the verifier needs it */
	if (i >= PORTIER_MAX_ROUTE_BACKENDS)
		return NULL;
	id = r->active[i];
	be = backend_of(id, family);
	if (!be)
		return NULL;
	*backend_id = id;
	return be;
}

/* The backend id in slot hash % size of route route_id's table in
 * portier_maglev, or -1 if it has none. Not inlined: its few bytes of
 * stack are its own frame's, and it runs for new flows only. */
static __noinline int table_slot(__u32 route_id, __u32 size, __u32 hash)
{
	struct portier_maglev_pair *pair;
	__u32 slot, elem, id;
	void *t;

	if (size == 0)
		return -1;
	t = bpf_map_lookup_elem(&portier_maglev, &route_id);
	if (!t)
		return -1;
	slot = hash % size;
	elem = slot >> 1;
	pair = bpf_map_lookup_elem(t, &elem);
	if (!pair)
		return -1;
	id = pair->id[slot & 1];
	if (id >= PORTIER_MAX_BACKENDS)
		return -1;
	return (int)id;
}

/* The backend of the flow with key k (original direction) by route
 * route_id's table (rotation r has PORTIER_ROUTE_F_MAGLEV or _SOURCE): the
 * hash of the 5-tuple, or of the client address; NULL if none. */
static __always_inline struct portier_backend *table_backend(const struct portier_route *r,
							     __u32 route_id,
							     const struct portier_flow_key *k,
							     __u32 *backend_id)
{
	struct portier_backend *be;
	__u32 h;
	int id;

	if (r->flags & PORTIER_ROUTE_F_SOURCE)
		h = portier_source_hash(k->saddr);
	else
		h = portier_tuple_hash(k->saddr, k->daddr, k->sport, k->dport, k->proto);
	id = table_slot(route_id, r->table_size, h);
	if (id < 0)
		return NULL;
	be = backend_of(id, PORTIER_AF_INET);
	if (!be)
		return NULL;
	*backend_id = (__u32)id;
	return be;
}

#define ROUTE_F_TABLE (PORTIER_ROUTE_F_MAGLEV | PORTIER_ROUTE_F_SOURCE)

/* The backend of a new flow with key k to route route_id (rotation r): by
 * the route's table (maglev, source), else the next in exact round-robin
 * order: the route's n-th new flow takes active[n % n_active]. */
static __always_inline struct portier_backend *pick_backend(const struct portier_route *r,
							    __u32 route_id,
							    const struct portier_flow_key *k,
							    __u32 *backend_id)
{
	__u32 *rr;

	if (r->flags & ROUTE_F_TABLE)
		return table_backend(r, route_id, k, backend_id);
	rr = bpf_map_lookup_elem(&portier_rr, &route_id);
	if (!rr)
		return NULL;
	return rotation_backend(r, __sync_fetch_and_add(rr, 1), backend_id, PORTIER_AF_INET);
}

/* The backend of rotation r for the client whose address and port hash
 * to h (either family): a cookie SYN and the ACK that answers it, which no
 * state links, pick the same one. A remote one: the SYN proxy cannot
 * stand in front of this host's own stack (its SYN-ACK leaves by the
 * stack, unseen), and a flood passed to it would swamp the host; the
 * local backend only when the rotation has no other. */
static __always_inline struct portier_backend *hash_rotation(const struct portier_route *r,
							     __u64 h, __u32 *backend_id,
							     __u8 family)
{
	__u32 i;
	struct portier_backend *be;

	h *= 0x9e3779b97f4a7c15ULL;
	i = (__u32)(h >> 32) % PORTIER_MAX_ROUTE_BACKENDS;
	be = rotation_backend(r, i, backend_id, family);

	/* At most one backend is this host: the next one is remote. */
	if (be && (be->flags & PORTIER_BACKEND_F_LOCAL) && r->n_active > 1)
		be = rotation_backend(r, i + 1, backend_id, family);
	return be;
}

/* hash_backend's rule for IPv4 flows (bpf/synproxy6.h has IPv6's). */
static __always_inline struct portier_backend *hash_backend(const struct portier_route *r,
							    __u32 route_id,
							    const struct portier_flow_key *k,
							    __u32 *backend_id)
{
	struct portier_backend *be;

	/* A table route: its own backend, the same as without cookies. */
	if (r->flags & ROUTE_F_TABLE) {
		be = table_backend(r, route_id, k, backend_id);
		if (!be || !(be->flags & PORTIER_BACKEND_F_LOCAL) || r->n_active <= 1)
			return be;
	}
	return hash_rotation(r, (__u64)k->saddr << 16 | k->sport, backend_id, PORTIER_AF_INET);
}

/* A flow entry with everything but the rewrite. */
static __always_inline void flow_init(struct portier_flow *f, __u8 dir, __u16 route_id,
				      __u16 backend_id, __u64 now)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->dir = dir;
	f->route_id = route_id;
	f->backend_id = backend_id;
	f->created_ns = now;
	f->last_seen = portier_tick(now);
}

/* snat_alloc_at with backend backend_id's cursor and the SNAT address of
 * the kube routes (none configured: exhausted). Egress flows (bpf/egress.h)
 * take their ports from the same range by the same claims, with a cursor
 * of their own: a port is one reply key's, whoever asks. */
static __always_inline __u32 snat_alloc(const struct portier_config *cfg, __u32 backend_id,
					struct portier_flow_key *rk, __u32 now_tick,
					struct ct_claimed *c)
{
	__u32 *cursor;

	if (cfg->snat_family != PORTIER_AF_INET)
		return PORTIER_R_DROP_SNAT_EXHAUSTED;
	cursor = bpf_map_lookup_elem(&portier_snat_cursor, &backend_id);
	if (!cursor)
		return PORTIER_R_DROP_SNAT_EXHAUSTED;
	return snat_alloc_at(cfg, cursor, rk, now_tick, c);
}

/* Insert both entries of a new flow for the packet with key k to backend
 * be and fill *orig with the original direction's entry. Both slots are
 * claimed before either is written, so the writes of one do not wait on
 * the claim of the other. Both entries start with the state bits flags
 * (a local flow's one entry with PORTIER_FLOW_F_LOCAL alone). Returns
 * FLOW_OK, FLOW_RACE (the original entry exists: use it) or a drop
 * reason. */
static __always_inline __u32 flow_create(const struct portier_config *cfg,
					 const struct portier_flow_key *k, __u32 route_id,
					 __u32 route_flags, __u32 backend_id,
					 const struct portier_backend *be, __u32 len, __u64 now,
					 __u8 flags, struct portier_flow *orig)
{
	struct ct_claimed co, cr;
	struct portier_flow_key rk;
	struct portier_flow rv;
	__u32 rc;
	int claim;

	claim = ct_claim_key(cfg, k, portier_tick(now), &co);
	if (claim == CT_CLAIM_EXISTS)
		return FLOW_RACE;
	if (claim)
		return PORTIER_R_DROP_CT_FULL;
	flow_init(orig, PORTIER_FLOW_DIR_ORIG, route_id, backend_id, now);
	orig->packets = 1;
	orig->bytes = len;
	orig->nat_saddr = k->saddr;
	orig->nat_sport = k->sport;
	orig->nat_daddr = k->daddr;
	orig->nat_dport = k->dport;
	orig->flags = flags;
	if (be->flags & PORTIER_BACKEND_F_LOCAL) {
		orig->flags = PORTIER_FLOW_F_LOCAL;
		ct_publish(&co, k, orig);
		return FLOW_OK;
	}
	orig->nat_daddr = be->addr.a32[0];
	orig->nat_dport = be->port;

	/* The reply entry: backend -> (gateway or client), rewritten back to
	 * service -> client. */
	flow_init(&rv, PORTIER_FLOW_DIR_REPLY, route_id, backend_id, now);
	rv.flags = flags;
	rv.nat_saddr = k->daddr;
	rv.nat_sport = k->dport;
	rv.nat_daddr = k->saddr;
	rv.nat_dport = k->sport;
	__builtin_memset(&rk, 0, sizeof(rk));
	rk.saddr = be->addr.a32[0];
	rk.sport = be->port;
	rk.proto = k->proto;
	if (route_flags & PORTIER_ROUTE_F_DNAT) {
		rk.daddr = k->saddr;
		rk.dport = k->sport;
		rc = ct_claim_key(cfg, &rk, portier_tick(now), &cr) ? PORTIER_R_DROP_CT_FULL :
								      FLOW_OK;
	} else {
		rk.daddr = cfg->snat_addr.a32[0];
		orig->nat_saddr = cfg->snat_addr.a32[0];
		rc = snat_alloc(cfg, backend_id, &rk, portier_tick(now), &cr);
		orig->nat_sport = rk.dport;
	}
	if (rc != FLOW_OK) {
		ct_release(&co);
		return rc;
	}
	ct_publish(&cr, &rk, &rv);
	ct_publish(&co, k, orig);
	if (cfg->sync_on)
		sync_new(k, orig, &rk, &rv);
	return FLOW_OK;
}

/* Rewrite the packet by flow entry f: addresses and ports, with the IPv4,
 * TCP and UDP checksums updated incrementally; and TTL - 1 if dec_ttl (the
 * packet leaves by redirect). A packet passed to the kernel for forwarding
 * keeps its TTL: the kernel decrements it. */
static __always_inline void nat_rewrite(struct pkt *p, const struct portier_flow *f,
					bool dec_ttl)
{
	struct iphdr *iph = p->iph;
	__be32 saddr = f->nat_saddr;
	__be32 daddr = f->nat_daddr;
	struct csum_delta ip = { 0 }, l4;
	__u8 ttl = iph->ttl;

	csum_delta32(&ip, iph->saddr, saddr);
	csum_delta32(&ip, iph->daddr, daddr);
	l4 = ip;	/* the addresses are in the TCP/UDP pseudo-header too */
	csum_delta16(&l4, p->ports[0], f->nat_sport);
	csum_delta16(&l4, p->ports[1], f->nat_dport);

	if (dec_ttl) {
		/* TTL and protocol share a 16-bit word of the header checksum. */
		csum_delta16(&ip, bpf_htons(ttl << 8 | iph->protocol),
			     bpf_htons((ttl - 1) << 8 | iph->protocol));
		iph->ttl = ttl - 1;
	}

	iph->saddr = saddr;
	iph->daddr = daddr;
	iph->check = csum_apply(iph->check, &ip);
	p->ports[0] = f->nat_sport;
	p->ports[1] = f->nat_dport;
	if (p->tcp)
		*p->l4_csum = csum_apply(*p->l4_csum, &l4);
	else
		*p->l4_csum = csum_apply_udp(*p->l4_csum, &l4);
}

#endif
