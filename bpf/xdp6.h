/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xdp6.h - portier_xdp6, the IPv6 packet walk: portier_xdp tail-calls it
 * (portier_progs[PORTIER_PROG_XDP6]) for an IPv6 EtherType frame. Parse,
 * port filter, connection table, flow packet or new flow (service,
 * admission, backend, NAT66 or dnat), forward; a backend's reply comes
 * back through its flow's reply entry, or with no flow through the
 * backend's one service (stateless_reply6, the active-active pool).
 * A TCP flow's close is logged (connlog_tcp_close6). SYN cookies and the
 * SYN proxy: bpf/synproxy6.h. IPv4-only for now: egress NAT.
 * docs/dataplane.md, "IPv6".
 */
#ifndef PORTIER_BPF_XDP6_H
#define PORTIER_BPF_XDP6_H

/* A FIN or RST (p->tcp set) of IPv6 flow entry f under the packet's key
 * k, counted already, on a flow not logged yet: as IPv4's
 * connlog_tcp_close, when the flow is over (connlog_close_end) and its
 * route logs, the end event (connlog_send6). The other entry's key is
 * built in the per-CPU scratch of flow_create6 (done by now), off the
 * stack. */
static __always_inline void connlog_tcp_close6(const struct portier_config *cfg,
					       const struct pkt6 *p,
					       const struct portier_flow_key6 *k,
					       struct portier_flow6 *f, __u64 now)
{
	struct portier_flow6 *o = NULL;
	struct flow6_scratch *sc;
	__u32 slot = SCRATCH6_CREATE;
	__u8 end;

	if (!connlog_on(f->route_id, f->flags))
		return;
	if (!(f->flags & PORTIER_FLOW_F_LOCAL)) {
		sc = bpf_map_lookup_elem(&portier_new_flow6, &slot);
		if (!sc)
			return;
		flow_key_other6(f, p->proto, &sc->rk);
		o = ct_lookup6(cfg, &sc->rk);
	}
	end = connlog_close_end(p->tcp, f->dir, &f->flags, o ? &o->flags : NULL);
	if (end)
		connlog_send6(k, f, o, end, now);
}

/* A packet of a known, live IPv6 flow (key k): account, track its state,
 * log its close, translate a cookie flow's sequence numbers, then pass
 * (local backend) or rewrite and forward. */
static __always_inline int flow_packet6(struct xdp_md *ctx, struct pkt6 *p,
					const struct portier_config *cfg,
					const struct portier_flow_key6 *k,
					struct portier_flow6 *f, __u64 now)
{
	__u32 before = f->last_seen;
	bool refresh = flow_touch6(f, p->len, now);
	__u8 bits = flow_state_bits(p->tcp, f->dir, f->flags);
	int rc;

	if (refresh)
		flow_touch_other6(cfg, f, p->proto, before, portier_tick(now));
	if (bits)
		flow_set_flags6(cfg, f, p->proto, bits);
	if (p->tcp && (p->tcp->fin || p->tcp->rst) && !(f->flags & PORTIER_FLOW_F_LOGGED))
		connlog_tcp_close6(cfg, p, k, f, now);
	count_flow(f->backend_id, f->dir, p->len, false);
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	if (f->flags & PORTIER_FLOW_F_SYNPROXY) {
		rc = synproxy_packet6(ctx, cfg, f);
		if (rc >= 0)
			return rc;
		if (rc == SP6_SEEN_REPLY)
			flow_set_flags6(cfg, f, IPPROTO_TCP, PORTIER_FLOW_F_SEEN_REPLY);
		if (!parse_packet6(ctx, p).ok)	/* it may have rebuilt the frame */
			return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	}
	return forward6(ctx, p, cfg, f, now, refresh);
}

/* A packet to an IPv6 service port with no live flow: a UDP datagram or a
 * TCP SYN starts one (a SYN under cookies gets a cookie SYN-ACK instead),
 * and so does the ACK of a cookie, which becomes the client's SYN to the
 * backend (bpf/synproxy6.h); on a maglev or source dnat route so does an
 * ACK (no SYN, no RST) unless cookies are on at that moment: a flow
 * another gateway of the pool made, recreated to the table's backend, as
 * IPv4's may_recreate. Anything else passes. The original entry is built
 * in the per-CPU scratch (*orig). */
static __always_inline int new_flow6(struct xdp_md *ctx, struct pkt6 *p,
				     const struct portier_config *cfg,
				     const struct portier_port *dport,
				     const struct portier_flow_key6 *key,
				     struct portier_flow6 *orig, __u64 now)
{
	__u32 route_id, backend_id = 0, rc;
	const struct portier_route *r;
	struct portier_svc_key sk;
	struct portier_syn_guard *g;
	struct portier_backend *be = NULL;
	struct portier_flow6 *f;
	bool starts = !p->tcp || tcp_syn_only_th(p->tcp), recreated = false;
	__u8 flags = 0;
	int act;

	if (!svc_route6(p, dport, &sk, &route_id))
		return count_reason(starts ? PORTIER_R_PASS_UNDECLARED : PORTIER_R_PASS_NO_FLOW,
				    XDP_PASS);
	r = route_of(route_id);
	if (!r)
		return count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);
	if (!starts) {
		act = cookie_ack6(ctx, p, r, route_id, key, &be, &backend_id,
				  (r->flags & ROUTE_F_TABLE) && (r->flags & PORTIER_ROUTE_F_DNAT) &&
				  p->tcp->ack && !p->tcp->rst && !cookies_active(r, route_id, now));
		if (act == COOKIE_OPEN || act == COOKIE_PROBE)
			flags = PORTIER_FLOW_F_SYNPROXY | PORTIER_FLOW_F_ASSURED;
		else if (act == FLOW_RECREATE)
			recreated = true;
		else
			return act;
	}
	/* Admission (bpf/policy6.h): new state from a source (a cookie ACK's
	 * was its SYN's). */
	if (!flags && (port_flags(dport) & PORTIER_PORT_ADMIT)) {
		act = admit6(route_id, &key->saddr, now);
		if (act != ADMITTED)
			return act;
	}
	if (starts && p->tcp && (r->flags & COOKIES_ANY) &&
	    syn_cookies_now(cfg, g = bpf_map_lookup_elem(&portier_syn_guard, &route_id), r->flags,
			    now)) {
		be = hash_backend6(r, route_id, key, &backend_id);
		if (!be)
			return count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);
		if (be->flags & PORTIER_BACKEND_F_LOCAL)
			return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
		return syncookie_answer6(ctx, cfg, g, now);
	}
	if (!flags)
		be = pick_backend6(r, route_id, key, &backend_id);
	if (!be)
		return recreated ? count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS) :
				   count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);
	rc = flow_create6(cfg, key, route_id, r->flags, backend_id, be, p->len, now, flags, orig);
	if (rc == FLOW_RACE) {
		if (flags)	/* the same cookie ACK twice: the first opens */
			return count_reason(PORTIER_R_SYNPROXY_PENDING, XDP_DROP);
		f = ct_lookup6(cfg, key);
		if (!f)
			return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
		return flow_packet6(ctx, p, cfg, key, f, now);
	}
	if (rc != FLOW_OK)
		return count_reason(rc, XDP_DROP);
	if (flags) {	/* a valid cookie: the ACK becomes the client's SYN */
		if (!syncookie_to_syn6(ctx, cfg, key, act == COOKIE_PROBE) ||
		    !parse_packet6(ctx, p).ok) {
			flow_delete6(cfg, key, orig);
			return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
		}
		g = bpf_map_lookup_elem(&portier_syn_guard, &route_id);
		if (g)
			g->cookies_valid++;
		count_reason(PORTIER_R_SYN_COOKIE_VALID, 0);
	}
	if (recreated) {
		count_reason(PORTIER_R_FLOW_RECREATED, 0);
		count_ha(route_id, true);
	}
	count_flow(backend_id, PORTIER_FLOW_DIR_ORIG, p->len, true);
	if (orig->flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	return forward6(ctx, p, cfg, orig, now, true);
}

/* A packet from an IPv6 backend port with no live flow, as IPv4's
 * stateless_reply: if portier_reply_svc names the one service of the
 * backend (family PORTIER_AF_INET6, address, port, protocol), the source
 * goes back to that service's address and port and the packet is
 * forwarded to its destination, the client, creating no state: returns
 * STATELESS_FORWARD with the rewrite in the per-CPU scratch (rv of
 * portier_new_flow6's SCRATCH6_XDP), for stateless_forward6(). Anything
 * else passes (the action, counted), as does a packet to the NAT66
 * address or one the FIB would not forward (to this host: a health
 * check's answer). Not inlined, and forward6() is not called from here:
 * the stack of the call chain stays within its 512 bytes. */
static __noinline int stateless_reply6(struct xdp_md *ctx, struct pkt6 *p,
				       const struct portier_config *cfg, __u64 now)
{
	struct portier_reply_svc *v;
	struct portier_reply_key *k;
	struct flow6_scratch *sc;
	struct portier_flow6 *f;
	__u32 slot = SCRATCH6_XDP;
	int rc;

	if (!p || !cfg ||
	    addr6_eq((const struct portier_addr *)&p->ip6h->daddr, &cfg->snat_addr6))
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	sc = bpf_map_lookup_elem(&portier_new_flow6, &slot);
	if (!sc)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	/* The key, then the rewrite, in one scratch entry. */
	f = &sc->rv;
	_Static_assert(sizeof(*k) <= sizeof(*f), "the reply key fits the scratch entry");
	k = (struct portier_reply_key *)f;
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(&k->addr, &p->ip6h->saddr, sizeof(k->addr));
	k->port = p->ports[0];
	k->proto = p->proto;
	k->family = PORTIER_AF_INET6;
	v = bpf_map_lookup_elem(&portier_reply_svc, k);
	if (!v)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	if (p->ip6h->hop_limit < TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);
	flow_init6(f, PORTIER_FLOW_DIR_REPLY, v->route_id, v->backend_id, now);
	f->nat_saddr = v->svc_addr;
	f->nat_sport = v->svc_port;
	__builtin_memcpy(&f->nat_daddr, &p->ip6h->daddr, sizeof(f->nat_daddr));
	f->nat_dport = p->ports[1];
	rc = next_hop6(ctx, p, f, now);
	return stateless_verdict(rc, v, p->len);
}

/* A packet from an IPv6 backend port with no live flow:
 * stateless_reply6(), then forwarded by its rewrite, or as it says. */
static __always_inline int stateless_forward6(struct xdp_md *ctx, struct pkt6 *p,
					      const struct portier_config *cfg, __u64 now)
{
	int rc = stateless_reply6(ctx, p, cfg, now);
	struct flow6_scratch *sc;
	__u32 slot = SCRATCH6_XDP;

	if (rc != STATELESS_FORWARD)
		return rc;
	sc = bpf_map_lookup_elem(&portier_new_flow6, &slot);
	if (!sc)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	return forward6(ctx, p, cfg, &sc->rv, now, false);
}

SEC("xdp")
int portier_xdp6(struct xdp_md *ctx)
{
	struct portier_config *cfg;
	struct portier_port *dport;
	struct flow6_scratch *sc;
	struct portier_flow6 *f;
	struct parse_res pr;
	bool svc_port, be_port;
	__u32 zero = 0, slot = SCRATCH6_XDP;
	struct pkt6 p;
	__u64 now;

	pr = parse_packet6(ctx, &p);
	if (!pr.ok) {
		if (pr.reason == PARSE_ICMP)
			return icmp6_packet(ctx, &p);
		return count_reason(pr.reason, pr.action);
	}

	/* The port filter, as IPv4's. */
	dport = port_entry(p.ports[1]);
	svc_port = port_flags(dport) & port_svc_bit(p.proto);
	be_port = !svc_port && (port_flags(port_entry(p.ports[0])) & port_be_bit(p.proto));
	if (!svc_port && !be_port)
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);

	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	sc = bpf_map_lookup_elem(&portier_new_flow6, &slot);
	if (!cfg || !sc)
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);
	if (!frame_for_us(ctx, p.eth, cfg))
		return count_reason(PORTIER_R_PASS_OTHER_HOST, XDP_PASS);
	now = bpf_ktime_get_coarse_ns();
	/* The key (40 bytes) in the per-CPU scratch, off the stack. */
	flow_key_of6(&p, &sc->rk);
	f = ct_lookup6(cfg, &sc->rk);
	if (f && (flow_expired6(cfg, f, p.proto, now) ||
		  (f->dir == PORTIER_FLOW_DIR_ORIG && (f->flags & PORTIER_FLOW_F_CLOSING) &&
		   p.tcp && tcp_syn_only_th(p.tcp)))) {
		/* Over: a new packet to the service starts afresh; anything
		 * else has no flow. */
		if (f->dir != PORTIER_FLOW_DIR_ORIG || !svc_port)
			return be_port ? stateless_forward6(ctx, &p, cfg, now) :
					 count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
		flow_delete6(cfg, &sc->rk, f);
		f = NULL;
	}
	if (f)
		return flow_packet6(ctx, &p, cfg, &sc->rk, f, now);
	if (be_port)	/* a backend's reply with no flow */
		return stateless_forward6(ctx, &p, cfg, now);
	return new_flow6(ctx, &p, cfg, dport, &sc->rk, &sc->rv, now);
}

#endif
