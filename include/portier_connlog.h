/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * portier_connlog.h - one connection log event from a flow's entries, the
 * same code for the program (FIN/RST, bpf/connlog.h) and the daemon's GC
 * (idle flows, user/connlog.c). Include after portier.h.
 */
#ifndef PORTIER_SHARED_CONNLOG_H
#define PORTIER_SHARED_CONNLOG_H

/* Fill ev from flow entry f (found under the packet's tuple k) and the
 * other entry o of its flow (NULL for a local backend). */
static inline __attribute__((always_inline)) void
portier_connlog_fill(struct portier_connlog_event *ev, const struct portier_flow_key *k,
		     const struct portier_flow *f, const struct portier_flow *o, __u8 end,
		     __u64 now)
{
	__u8 d = f->dir & PORTIER_FLOW_DIR_REPLY;

	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = PORTIER_CONNLOG_KIND_END;
	ev->end = end;
	ev->proto = k->proto;
	ev->family = PORTIER_AF_INET;
	ev->route_id = f->route_id;
	ev->backend_id = f->backend_id;
	ev->flags = f->flags | (o ? o->flags : 0);
	if (d == PORTIER_FLOW_DIR_ORIG) {
		ev->client.a32[0] = k->saddr;
		ev->client_port = k->sport;
		ev->service.a32[0] = k->daddr;
		ev->service_port = k->dport;
		ev->backend.a32[0] = f->nat_daddr;
		ev->backend_port = f->nat_dport;
		ev->snat_port = f->nat_sport;
	} else {
		ev->backend.a32[0] = k->saddr;
		ev->backend_port = k->sport;
		ev->snat_port = k->dport;
		ev->client.a32[0] = f->nat_daddr;
		ev->client_port = f->nat_dport;
		ev->service.a32[0] = f->nat_saddr;
		ev->service_port = f->nat_sport;
	}
	ev->start_ns = f->created_ns;
	ev->end_ns = now;
	ev->packets[d] = f->packets;
	ev->bytes[d] = f->bytes;
	if (o) {
		ev->packets[d ^ 1] = o->packets;
		ev->bytes[d ^ 1] = o->bytes;
	}
}

#endif
