// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * portier.bpf.c - the XDP program of the data plane, attached to the input
 * (client side) and the output (backend side) NIC alike. One packet walk:
 * parse, port filter, connection table, new flow (service, round-robin
 * backend, NAT), rewrite and forward; ICMP errors of flows translated. docs/dataplane.md tells the story.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "portier.h"
#include "portier_connlog.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "stats.h"
#include "conntrack.h"
#include "nat.h"
#include "icmp.h"
#include "fwd.h"
#include "connlog.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* portier_ports bits for a service (destination) and a backend (source)
 * port of this protocol. */
static __always_inline __u32 port_svc_bit(__u8 proto)
{
	return proto == IPPROTO_TCP ? PORTIER_PORT_SVC_TCP : PORTIER_PORT_SVC_UDP;
}

static __always_inline __u32 port_be_bit(__u8 proto)
{
	return proto == IPPROTO_TCP ? PORTIER_PORT_BE_TCP : PORTIER_PORT_BE_UDP;
}

static __always_inline struct portier_port *port_entry(__be16 port)
{
	__u32 key = bpf_ntohs(port);

	return bpf_map_lookup_elem(&portier_ports, &key);
}

static __always_inline __u32 port_flags(const struct portier_port *pp)
{
	return pp ? pp->flags : 0;
}

static __always_inline bool tcp_syn_only(const struct pkt *p)
{
	return p->tcp && p->tcp->syn && !p->tcp->ack;
}

/* A packet of a known, live flow: account, track TCP state, then pass
 * (local backend) or rewrite and forward. */
static __always_inline int flow_packet(struct xdp_md *ctx, struct pkt *p,
				       const struct portier_config *cfg,
				       struct portier_flow *f, __u64 now)
{
	__u32 before = f->last_seen;
	bool refresh = flow_touch(f, p->len, now);

	if (refresh)
		flow_touch_other(cfg, f, p->proto, before, portier_tick(now));

	if (p->tcp && (p->tcp->fin || p->tcp->rst) && !(f->flags & PORTIER_FLOW_F_CLOSING))
		flow_set_flags(cfg, f, p->proto, PORTIER_FLOW_F_CLOSING);
	if (f->dir == PORTIER_FLOW_DIR_REPLY && !(f->flags & PORTIER_FLOW_F_SEEN_REPLY))
		flow_set_flags(cfg, f, p->proto, PORTIER_FLOW_F_SEEN_REPLY);
	if (p->tcp && (p->tcp->fin || p->tcp->rst) && !(f->flags & PORTIER_FLOW_F_LOGGED))
		connlog_tcp_close(cfg, p, f, now);
	count_flow(f->backend_id, f->dir, p->len, false);
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	return forward(ctx, p, cfg, f, now, refresh);
}

/* A packet to a service port with no live flow: a UDP datagram or a TCP
 * SYN starts one. */
static __always_inline int new_flow(struct xdp_md *ctx, struct pkt *p,
				    const struct portier_config *cfg,
				    const struct portier_port *dport,
				    const struct portier_flow_key *key, __u64 now)
{
	__u32 route_id, route_flags = 0, backend_id = 0, rc;
	struct portier_backend *be;
	struct portier_flow orig;
	struct portier_flow *f;

	if (p->tcp && !tcp_syn_only(p))
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	if (!svc_route(p, dport, &route_id))
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);
	be = pick_backend(route_id, &route_flags, &backend_id);
	if (!be)
		return count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);

	rc = flow_create(cfg, key, route_id, route_flags, backend_id, be, p->len, now, &orig);
	if (rc == FLOW_RACE) {
		f = ct_lookup(cfg, key);
		if (!f)
			return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
		return flow_packet(ctx, p, cfg, f, now);
	}
	if (rc != FLOW_OK)
		return count_reason(rc, XDP_DROP);

	count_flow(backend_id, PORTIER_FLOW_DIR_ORIG, p->len, true);
	if (orig.flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	/* The FIB result lands in this copy only: the flow's next packet
	 * caches it in the entry. */
	return forward(ctx, p, cfg, &orig, now, true);
}

SEC("xdp")
int portier_xdp(struct xdp_md *ctx)
{
	struct portier_flow_key key;
	struct portier_config *cfg;
	struct portier_port *dport;
	struct portier_flow *f;
	struct parse_res pr;
	bool svc_port, be_port;
	__u32 zero = 0;
	struct pkt p;
	__u64 now;

	pr = parse_packet(ctx, &p);
	if (!pr.ok) {
		if (pr.reason == PARSE_ICMP)
			return icmp_packet(ctx, &p);
		return count_reason(pr.reason, pr.action);
	}

	/* Fast filter: undeclared ports leave after two array reads (a
	 * packet to a service port after one). */
	dport = port_entry(p.ports[1]);
	svc_port = port_flags(dport) & port_svc_bit(p.proto);
	be_port = !svc_port && (port_flags(port_entry(p.ports[0])) & port_be_bit(p.proto));
	if (!svc_port && !be_port)
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);

	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	if (!cfg)
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);
	now = bpf_ktime_get_coarse_ns();
	flow_key_of(&p, &key);
	f = ct_lookup(cfg, &key);
	if (f && (flow_expired(cfg, f, p.proto, now) ||
		  (f->dir == PORTIER_FLOW_DIR_ORIG && (f->flags & PORTIER_FLOW_F_CLOSING) &&
		   tcp_syn_only(&p)))) {
		/* Over: a new packet to the service starts afresh; anything
		 * else has no flow. */
		if (f->dir != PORTIER_FLOW_DIR_ORIG || !svc_port)
			return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
		flow_delete(cfg, &key, f);
		f = NULL;
	}
	if (f)
		return flow_packet(ctx, &p, cfg, f, now);
	if (!svc_port)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	return new_flow(ctx, &p, cfg, dport, &key, now);
}
