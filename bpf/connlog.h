/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * connlog.h - connection logs: the end event of a TCP flow of a route with
 * PORTIER_ROUTE_F_LOG (or of an egress rule with PORTIER_EGRESS_F_LOG),
 * sent to the daemon through the portier_connlog ring
 * buffer when the flow closes: a FIN seen in both directions, or an RST.
 * Flows that go idle (UDP, silent TCP) are logged by the daemon's GC.
 * Logging never changes what happens to the packet: a full ring buffer
 * counts PORTIER_R_LOG_LOST and the packet goes on. docs/connlog.md.
 */
#ifndef PORTIER_BPF_CONNLOG_H
#define PORTIER_BPF_CONNLOG_H

/* End events to the daemon. Sized before load (pt_dp_opts.connlog_bytes);
 * not pinned: it belongs to the daemon that loaded the program. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PORTIER_CONNLOG_RING_DEFAULT);
} portier_connlog SEC(".maps");

/* Does the route route_id of a flow entry with flags log
 * (PORTIER_ROUTE_F_LOG)? An egress flow's route_id is its egress rule:
 * does the rule (PORTIER_EGRESS_F_LOG)? Either family. */
static __always_inline bool connlog_on(__u32 route_id, __u8 flags)
{
	__u32 id = route_id;
	struct portier_egress_rule *er;
	struct portier_route *r;

	if (flags & PORTIER_FLOW_F_EGRESS) {
		er = bpf_map_lookup_elem(&portier_egress_rules, &id);
		return er && (er->protos & PORTIER_EGRESS_F_LOG);
	}
	r = bpf_map_lookup_elem(&portier_routes, &id);
	return r && (r->flags & PORTIER_ROUTE_F_LOG);
}

/* A FIN or RST (TCP header tcp) on the entry of direction dir whose flags
 * are *fflags; *oflags those of the other entry (NULL: none, a local
 * backend). Marks this direction's FIN; when the flow is over (RST, or the
 * other direction sent its FIN before; a local flow, whose replies the
 * program never sees, at its first FIN) marks both entries logged and
 * returns how it ended (PORTIER_END_*), else 0. Either family. */
static __always_inline __u8 connlog_close_end(const struct tcphdr *tcp, __u8 dir,
					      __u8 *fflags, __u8 *oflags)
{
	__u8 end;

	if (tcp->fin)
		*fflags |= PORTIER_FLOW_F_FIN;
	if (tcp->rst)
		end = dir == PORTIER_FLOW_DIR_ORIG ? PORTIER_END_RST_CLIENT :
						     PORTIER_END_RST_SERVER;
	else if (oflags ? (*oflags & PORTIER_FLOW_F_FIN) : (*fflags & PORTIER_FLOW_F_LOCAL))
		end = PORTIER_END_FIN;
	else
		return 0;
	*fflags |= PORTIER_FLOW_F_LOGGED;
	if (oflags)
		*oflags |= PORTIER_FLOW_F_LOGGED;
	return end;
}

/* A FIN or RST (p->tcp set) of IPv4 flow entry f, counted already, on a
 * flow not logged yet: when the flow is over (connlog_close_end) and its
 * route (an egress flow: its rule) logs, sends the end event. */
static __always_inline void connlog_tcp_close(const struct portier_config *cfg,
					      const struct pkt *p, struct portier_flow *f,
					      __u64 now)
{
	struct portier_connlog_event *ev;
	struct portier_flow_key k, ok;
	struct portier_flow *o = NULL;
	__u8 end;

	if (!connlog_on(f->route_id, f->flags))
		return;
	if (!(f->flags & PORTIER_FLOW_F_LOCAL)) {
		flow_key_other(f, p->proto, &ok);
		o = ct_lookup(cfg, &ok);
	}
	end = connlog_close_end(p->tcp, f->dir, &f->flags, o ? &o->flags : NULL);
	if (!end)
		return;
	ev = bpf_ringbuf_reserve(&portier_connlog, sizeof(*ev), 0);
	if (!ev) {
		count_reason(PORTIER_R_LOG_LOST, XDP_PASS);
		return;
	}
	flow_key_of(p, &k);
	portier_connlog_fill(ev, &k, f, o, end, now);
	bpf_ringbuf_submit(ev, 0);
}

/* The IPv6 program's writer: the end event (how: end, from
 * connlog_close_end) of IPv6 flow entry f under tuple k, o the other
 * entry (NULL for a local backend), to the same ring buffer; a full ring
 * counts PORTIER_R_LOG_LOST. The caller checks connlog_on first. */
static __always_inline void connlog_send6(const struct portier_flow_key6 *k,
					  const struct portier_flow6 *f,
					  const struct portier_flow6 *o, __u8 end, __u64 now)
{
	struct portier_connlog_event *ev;

	ev = bpf_ringbuf_reserve(&portier_connlog, sizeof(*ev), 0);
	if (!ev) {
		count_reason(PORTIER_R_LOG_LOST, XDP_PASS);
		return;
	}
	portier_connlog_fill6(ev, k, f, o, end, now);
	bpf_ringbuf_submit(ev, 0);
}

#endif
