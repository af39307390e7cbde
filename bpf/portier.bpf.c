// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * portier.bpf.c - the XDP program of the data plane, attached to the input
 * (client side) and the output (backend side) NIC alike. One packet walk:
 * parse, port filter, connection table, new flow (service, SYN cookie or
 * round-robin backend, NAT), rewrite and forward; ICMP errors of flows
 * translated; egress NAT for what the routes do not take (bpf/egress.h).
 * An IPv6 frame goes on in portier_xdp6 (bpf/xdp6.h) by a tail call.
 * docs/dataplane.md tells the story.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "portier.h"
#include "portier_connlog.h"
#include "portier_hash.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "stats.h"
#include "conntrack.h"
#include "nat.h"
#include "policy.h"
#include "icmp.h"
#include "fwd.h"
#include "connlog.h"
#include "synproxy.h"
#include "parse6.h"
#include "conntrack6.h"
#include "nat6.h"
#include "policy6.h"
#include "icmp6.h"
#include "fwd6.h"

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

/* Is the frame addressed to the NIC it arrived on: its MAC, broadcast or
 * multicast? A bridge floods frames for other hosts (an aged MAC table, a
 * port down), and a promiscuous NIC sees them: two gateways must never
 * both balance one. A NIC whose MAC is not known (all zero) is not
 * checked. */
static __always_inline bool frame_for_us(const struct xdp_md *ctx, const struct ethhdr *eth,
					 const struct portier_config *cfg)
{
	const __u8 *mac;

	if (eth->h_dest[0] & 1)		/* multicast, broadcast */
		return true;
	if (ctx->ingress_ifindex == cfg->input_ifindex)
		mac = cfg->input_mac;
	else if (ctx->ingress_ifindex == cfg->output_ifindex)
		mac = cfg->output_mac;
	else
		return true;
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return true;
	return !((eth->h_dest[0] ^ mac[0]) | (eth->h_dest[1] ^ mac[1]) |
		 (eth->h_dest[2] ^ mac[2]) | (eth->h_dest[3] ^ mac[3]) |
		 (eth->h_dest[4] ^ mac[4]) | (eth->h_dest[5] ^ mac[5]));
}

static __always_inline bool tcp_syn_only_th(const struct tcphdr *th)
{
	return th->syn && !th->ack;
}

static __always_inline bool tcp_syn_only(const struct pkt *p)
{
	return p->tcp && tcp_syn_only_th(p->tcp);
}

/* The state bits a packet (TCP header tcp, NULL for UDP) of a flow entry
 * (direction dir, state flags) adds: a reply seen; the client proved its
 * address (ASSURED: its TCP packet after the reply, the handshake's ACK;
 * a UDP reply); FIN or RST. Either family. */
static __always_inline __u8 flow_state_bits(const struct tcphdr *tcp, __u8 dir, __u8 flags)
{
	__u8 bits = 0;

	if (dir == PORTIER_FLOW_DIR_REPLY && !(flags & PORTIER_FLOW_F_SEEN_REPLY))
		bits |= PORTIER_FLOW_F_SEEN_REPLY | (tcp ? 0 : PORTIER_FLOW_F_ASSURED);
	if (dir == PORTIER_FLOW_DIR_ORIG && tcp && !tcp->syn &&
	    (flags & (PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED)) ==
		    PORTIER_FLOW_F_SEEN_REPLY)
		bits |= PORTIER_FLOW_F_ASSURED;
	if (tcp && (tcp->fin || tcp->rst) && !(flags & PORTIER_FLOW_F_CLOSING))
		bits |= PORTIER_FLOW_F_CLOSING;
	return bits;
}

static __always_inline __u8 flow_new_bits(const struct pkt *p, const struct portier_flow *f)
{
	return flow_state_bits(p->tcp, f->dir, f->flags);
}

/* Is the frame an IPv6 one (EtherType 0x86DD)? */
static __always_inline bool frame_is_ipv6(const struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	return (void *)(eth + 1) <= (void *)(long)ctx->data_end &&
	       eth->h_proto == bpf_htons(ETH_P_IPV6);
}

/* Egress NAT: after the helpers above, which it uses. */
#include "egress.h"

/* A packet of a known, live flow: account, track its state, translate a
 * cookie flow's sequence numbers, then pass (local backend) or rewrite
 * and forward. */
static __always_inline int flow_packet(struct xdp_md *ctx, struct pkt *p,
				       const struct portier_config *cfg,
				       struct portier_flow *f, __u64 now)
{
	__u32 before = f->last_seen;
	bool refresh = flow_touch(f, p->len, now);
	__u8 bits = flow_new_bits(p, f);
	int rc;

	if (refresh)
		flow_touch_other(cfg, f, p->proto, before, portier_tick(now));
	if (bits)
		flow_set_flags(cfg, f, p->proto, bits);
	if (f->flags & PORTIER_FLOW_F_EGRESS)	/* egress: route_id is its rule */
		egress_count(f->route_id, f->dir, p->len, false);
	if (p->tcp && (p->tcp->fin || p->tcp->rst) && !(f->flags & PORTIER_FLOW_F_LOGGED))
		connlog_tcp_close(cfg, p, f, now);
	if (!(f->flags & PORTIER_FLOW_F_EGRESS))
		count_flow(f->backend_id, f->dir, p->len, false);
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
	if (f->flags & PORTIER_FLOW_F_SYNPROXY) {
		rc = synproxy_packet(ctx, cfg, f);
		if (rc >= 0)
			return rc;
		if (!parse_packet(ctx, p).ok)	/* it may have rebuilt the frame */
			return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	}
	return forward(ctx, p, cfg, f, now, refresh);
}

/* cookie_ack() results besides an action: the ACK's cookie is valid,
 * open its flow; the same for the client's zero-window probe (its ACK was
 * lost: syncookie_probe_ok); or the packet recreates its flow
 * (may_recreate). */
#define COOKIE_OPEN	(-1)
#define FLOW_RECREATE	(-2)
#define COOKIE_PROBE	(-3)

/* May a TCP packet with no flow (not a SYN) to route r recreate its flow?
 * Only on a table route (maglev, source: every gateway of the pool picks
 * the backend the flow has) that keeps the client's address (dnat: an
 * SNAT flow's port is its gateway's, which the backend knows, and a new
 * one would be a new source to it); only an ACK without SYN or RST (a RST
 * with no flow creates nothing). docs/dataplane.md, "Active-active". */
static __always_inline bool may_recreate(const struct pkt *p, const struct portier_route *r)
{
	return (r->flags & ROUTE_F_TABLE) && (r->flags & PORTIER_ROUTE_F_DNAT) &&
	       p->tcp->ack && !p->tcp->syn && !p->tcp->rst;
}

/* Are route route_id's SYN cookies on at this moment: always ("on"), or
 * "auto" switched on on this CPU? Reads the guard, counts nothing. */
static __always_inline bool cookies_active(const struct portier_route *r, __u32 route_id,
					   __u64 now)
{
	struct portier_syn_guard *g;

	if (r->flags & PORTIER_ROUTE_F_COOKIES_ON)
		return true;
	if (!(r->flags & PORTIER_ROUTE_F_COOKIES_AUTO))
		return false;
	g = bpf_map_lookup_elem(&portier_syn_guard, &route_id);
	return g && now < g->on_until_ns;
}

/* A TCP packet but a SYN to route route_id (rotation r), no flow: the
 * ACK of a cookie SYN-ACK opens its flow (COOKIE_OPEN: its backend in
 * *be, *backend_id), and so does the client's probe of the cookie's zero
 * window in its stead if the ACK was lost (COOKIE_PROBE); anything else
 * is passed (the stack resets it):
 * returns the action, counted. With recreate (may_recreate, and the
 * route's cookies are off at this moment), anything but a valid cookie
 * returns FLOW_RECREATE instead, counting nothing: an "auto" route's
 * cookie answered just before its cookies went off still opens as one. */
static __always_inline int cookie_ack(struct xdp_md *ctx, struct pkt *p,
				      const struct portier_route *r,
				      __u32 route_id, const struct portier_flow_key *key,
				      struct portier_backend **be, __u32 *backend_id,
				      bool recreate)
{
	struct portier_syn_guard *g;

	if (!(r->flags & COOKIES_ANY) || !p->tcp->ack || p->tcp->syn || p->tcp->rst)
		return recreate ? FLOW_RECREATE : count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	*be = hash_backend(r, route_id, key, backend_id);
	/* The local backend's cookies are the kernel's own (passed SYN). */
	if (!*be || ((*be)->flags & PORTIER_BACKEND_F_LOCAL))
		return recreate ? FLOW_RECREATE : count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	g = bpf_map_lookup_elem(&portier_syn_guard, &route_id);
	/* Our SYN-ACK offered a zero window: an ACK with data answers none
	 * (a segment of a flow that is gone): the stack resets it. */
	if (bpf_ntohs(p->iph->tot_len) - sizeof(struct iphdr) != p->tcp->doff * 4) {
		if (recreate)
			return FLOW_RECREATE;
		if (g)
			g->cookies_failed++;
		return count_reason(PORTIER_R_SYN_COOKIE_FAILED, XDP_PASS);
	}
	/* It becomes the client's SYN, with checksums made afresh: a
	 * corrupted ACK must not. */
	if (!syn_csum_ok(ctx))	/* (reads the frame, changes nothing) */
		return recreate ? FLOW_RECREATE : count_reason(PORTIER_R_DROP_BAD_CSUM, XDP_DROP);
	if (bpf_tcp_raw_check_syncookie_ipv4(p->iph, p->tcp)) {
		/* (reads the frame, changes nothing) */
		if (syncookie_probe_ok(ctx))
			return COOKIE_PROBE;
		if (recreate)
			return FLOW_RECREATE;
		if (g)
			g->cookies_failed++;
		return count_reason(PORTIER_R_SYN_COOKIE_FAILED, XDP_PASS);
	}
	return COOKIE_OPEN;	/* counted valid once its flow is open */
}

/* A packet to a service port with no live flow: a UDP datagram or a TCP
 * SYN starts one (a SYN under cookies gets a cookie SYN-ACK instead), and
 * so does the ACK of a cookie, which becomes the client's SYN to the
 * backend; on a maglev or source dnat route, so does any other ACK (no
 * SYN, no RST) unless cookies are on at that moment: a flow another
 * gateway of the pool made, or this one forgot (flushed, evicted, expired),
 * recreated to the table's backend, as a SYN would have picked it. Its
 * entries start with no state bit, as a SYN's: SEEN_REPLY with the
 * backend's next reply, ASSURED with the client's packet after that. */
static __always_inline int new_flow(struct xdp_md *ctx, struct pkt *p,
				    const struct portier_config *cfg,
				    const struct portier_port *dport,
				    const struct portier_flow_key *key, __u64 now)
{
	__u32 route_id, backend_id = 0, rc;
	const struct portier_route *r;
	struct portier_syn_guard *g;
	struct portier_backend *be;
	struct portier_flow *orig, *f;
	bool recreated = false, probe = false;
	__u32 zero = 0;
	__u8 flags = 0;
	int act;

	if (!svc_route(p, dport, &route_id))
		return EGRESS_OR(p->tcp && !tcp_syn_only(p) ? PORTIER_R_PASS_NO_FLOW :
							      PORTIER_R_PASS_UNDECLARED);
	r = route_of(route_id);
	if (!r)
		return count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);
	/* Admission (bpf/policy.h) of what would start a flow (a SYN, cookie
	 * or not; a UDP datagram): the policy, then the source's tokens,
	 * before the round-robin cursor moves. */
	if ((!p->tcp || tcp_syn_only(p)) && (port_flags(dport) & PORTIER_PORT_ADMIT)) {
		act = admit(route_id, p->iph->saddr, now);
		if (act != ADMITTED)
			return act;
	}
	if (p->tcp && !tcp_syn_only(p)) {
		act = cookie_ack(ctx, p, r, route_id, key, &be, &backend_id,
				 may_recreate(p, r) && !cookies_active(r, route_id, now));
		if (act == FLOW_RECREATE) {
			/* New state from a source: admitted as a SYN is. */
			if (port_flags(dport) & PORTIER_PORT_ADMIT) {
				act = admit(route_id, p->iph->saddr, now);
				if (act != ADMITTED)
					return act;
			}
			be = pick_backend(r, route_id, key, &backend_id);
			if (!be)
				return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
			recreated = true;
		} else if (act != COOKIE_OPEN && act != COOKIE_PROBE) {
			return act;
		} else {	/* (flags: a cookie's, below) */
			flags = PORTIER_FLOW_F_SYNPROXY | PORTIER_FLOW_F_ASSURED;
			probe = act == COOKIE_PROBE;
		}
	} else if (p->tcp && (r->flags & COOKIES_ANY) &&
		   syn_cookies_now(cfg, g = bpf_map_lookup_elem(&portier_syn_guard, &route_id),
				   r->flags, now)) {
		be = hash_backend(r, route_id, key, &backend_id);
		if (!be)
			return count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);
		if (be->flags & PORTIER_BACKEND_F_LOCAL)
			return count_reason(PORTIER_R_PASS_LOCAL, XDP_PASS);
		return syncookie_answer(ctx, cfg, g, now);
	} else {
		be = pick_backend(r, route_id, key, &backend_id);
		if (!be)
			return count_reason(PORTIER_R_DROP_NO_BACKEND, XDP_DROP);
	}

	orig = bpf_map_lookup_elem(&portier_new_flow, &zero);
	if (!orig)
		return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
	rc = flow_create(cfg, key, route_id, r->flags, backend_id, be, p->len, now, flags, orig);
	if (rc == FLOW_RACE) {
		if (flags)	/* the same cookie ACK twice: the first opens */
			return count_reason(PORTIER_R_SYNPROXY_PENDING, XDP_DROP);
		f = ct_lookup(cfg, key);
		if (!f)
			return count_reason(PORTIER_R_DROP_CT_FULL, XDP_DROP);
		return flow_packet(ctx, p, cfg, f, now);
	}
	if (rc != FLOW_OK)
		return count_reason(rc, XDP_DROP);
	if (flags && (!syncookie_to_syn(ctx, cfg, key, probe) || !parse_packet(ctx, p).ok)) {
		flow_delete(cfg, key, orig);
		return count_reason(PORTIER_R_DROP_MALFORMED, XDP_DROP);
	}

	if (flags) {	/* a valid cookie opened its flow */
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
	/* The FIB result lands in this copy only: the flow's next packet
	 * caches it in the entry. */
	return forward(ctx, p, cfg, orig, now, true);
}

/* A packet from a backend port with no live flow. With dnat the backend
 * answers the client's own address, so in a pool of gateways its reply
 * may come back through one that has no state for it (another made the
 * flow; or it lost it). If portier_reply_svc names the one service of the
 * backend (address, port, protocol), the source goes back to that
 * service's address and port and the packet is forwarded to its
 * destination, the client, creating no state: returns STATELESS_FORWARD
 * with the rewrite in the per-CPU scratch entry (portier_new_flow), for
 * stateless_forward(). Anything else passes (the action, counted), as
 * does a packet the FIB would not forward (one to this host: a health
 * check's answer). Not inlined, and forward() is not called from here:
 * the stack of the call chain stays within its 512 bytes. */
#define STATELESS_FORWARD	(-1)

/* The end of a stateless reply of route and backend v, either family:
 * rc, the FIB's answer for its rewrite, says whether it goes
 * (STATELESS_FORWARD, counted; len the frame's) or passes. */
static __always_inline int stateless_verdict(int rc, const struct portier_reply_svc *v,
					     __u32 len)
{
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH &&
	    rc != BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	count_reason(PORTIER_R_STATELESS_REPLY, 0);
	count_ha(v->route_id, false);
	count_flow(v->backend_id, PORTIER_FLOW_DIR_REPLY, len, false);
	return STATELESS_FORWARD;
}

static __noinline int stateless_reply(struct xdp_md *ctx, struct pkt *p,
				      const struct portier_config *cfg, __u64 now)
{
	struct portier_reply_svc *v;
	struct portier_reply_key *k;
	struct portier_flow *f;
	__u32 zero = 0;
	int rc;

	/* To the gateway's own address: a health check's answer, or an SNAT
	 * flow's reply. */
	if (!p || !cfg || p->iph->daddr == cfg->snat_addr.a32[0])
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	/* The per-CPU scratch entry holds the key, then the rewrite: this
	 * frame, under which next_hop's sits, stays small. */
	f = bpf_map_lookup_elem(&portier_new_flow, &zero);
	if (!f)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	_Static_assert(sizeof(*k) <= sizeof(*f), "the reply key fits the scratch entry");
	k = (struct portier_reply_key *)f;
	__builtin_memset(k, 0, sizeof(*k));
	k->addr.a32[0] = p->iph->saddr;
	k->port = p->ports[0];
	k->proto = p->proto;
	k->family = PORTIER_AF_INET;
	v = bpf_map_lookup_elem(&portier_reply_svc, k);
	if (!v)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	if (p->iph->ttl < TTL_MIN_FORWARD)
		return count_reason(PORTIER_R_PASS_TTL, XDP_PASS);
	flow_init(f, PORTIER_FLOW_DIR_REPLY, v->route_id, v->backend_id, now);
	f->nat_saddr = v->svc_addr.a32[0];
	f->nat_sport = v->svc_port;
	f->nat_daddr = p->iph->daddr;
	f->nat_dport = p->ports[1];
	rc = next_hop(ctx, p, f, now);
	return stateless_verdict(rc, v, p->len);
}

/* A packet from a backend port with no live flow: stateless_reply(), then
 * forwarded by its rewrite, or as it says. */
static __always_inline int stateless_forward(struct xdp_md *ctx, struct pkt *p,
					     const struct portier_config *cfg, __u64 now)
{
	int rc = stateless_reply(ctx, p, cfg, now);
	struct portier_flow *f;
	__u32 zero = 0;

	if (rc != STATELESS_FORWARD)
		return rc;
	f = bpf_map_lookup_elem(&portier_new_flow, &zero);
	if (!f)
		return count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
	return forward(ctx, p, cfg, f, now, false);
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
	int act;

	pr = parse_packet(ctx, &p);
	if (!pr.ok) {
		/* IPv6: portier_xdp6; with its slot empty, as before. */
		if (pr.reason == PORTIER_R_PASS_NOT_IP && frame_is_ipv6(ctx))
			bpf_tail_call(ctx, &portier_progs, PORTIER_PROG_XDP6);
		if (pr.reason == PARSE_ICMP) {
			/* An echo is egress's or passes (PASS_NOT_L4). */
			cfg = bpf_map_lookup_elem(&portier_config, &zero);
			if (cfg && cfg->egress_on && egress_echo_hdr(ctx, &p))
				return egress_echo(ctx, cfg);
			return icmp_packet(ctx, &p);
		}
		return count_reason(pr.reason, pr.action);
	}

	/* Fast filter: undeclared ports leave after two array reads (a
	 * packet to a service port after one). */
	dport = port_entry(p.ports[1]);
	svc_port = port_flags(dport) & port_svc_bit(p.proto);
	be_port = !svc_port && (port_flags(port_entry(p.ports[0])) & port_be_bit(p.proto));
	if (!svc_port && !be_port && !egress_on())
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);

	cfg = bpf_map_lookup_elem(&portier_config, &zero);
	if (!cfg)
		return count_reason(PORTIER_R_PASS_UNDECLARED, XDP_PASS);
	if (!frame_for_us(ctx, p.eth, cfg))
		return count_reason(PORTIER_R_PASS_OTHER_HOST, XDP_PASS);
	now = bpf_ktime_get_coarse_ns();
	flow_key_of(&p, &key);
	f = ct_lookup(cfg, &key);
	if (f && (flow_expired(cfg, f, p.proto, now) ||
		  (f->dir == PORTIER_FLOW_DIR_ORIG && (f->flags & PORTIER_FLOW_F_CLOSING) &&
		   tcp_syn_only(&p)))) {
		/* Over: a new packet to the service (or an egress flow's
		 * from the box) starts afresh; a backend's reply has no flow
		 * (stateless_reply); anything else has no flow. */
		if (f->dir != PORTIER_FLOW_DIR_ORIG ||
		    (!svc_port && !(f->flags & PORTIER_FLOW_F_EGRESS)))
			return be_port ? stateless_forward(ctx, &p, cfg, now) :
					 count_reason(PORTIER_R_PASS_NO_FLOW, XDP_PASS);
		flow_delete(cfg, &key, f);
		f = NULL;
	}
	if (f)
		return flow_packet(ctx, &p, cfg, f, now);
	if (be_port)	/* a backend's reply with no flow */
		return stateless_forward(ctx, &p, cfg, now);
	/* No flow, no service (egress on: perhaps an undeclared port): egress,
	 * or passed as reason. One place, so that the egress path is inlined
	 * once. */
	act = svc_port ? new_flow(ctx, &p, cfg, dport, &key, now) :
			 EGRESS_OR(PORTIER_R_PASS_UNDECLARED);
	if (act >= 0)
		return act;
	/* Parsed again: to the verifier, new_flow's calls may have moved the
	 * frame (they have not, on this path). */
	if (!parse_packet(ctx, &p).ok)
		return count_reason(EGRESS_OR_REASON(act), XDP_PASS);
	return egress_or(ctx, &p, cfg, &key, now, EGRESS_OR_REASON(act));
}

/* The IPv6 packet walk: after everything above, which it uses. */
#include "synproxy6.h"
#include "xdp6.h"
