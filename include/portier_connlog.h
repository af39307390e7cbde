/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * portier_connlog.h - one connection log event from a flow's entries, the
 * same code for the program (FIN/RST, bpf/connlog.h) and the daemon's GC
 * (idle flows, user/connlog.c), for IPv4 flows (struct portier_flow_key,
 * portier_flow) and IPv6 ones (portier_flow_key6, portier_flow6): the
 * event carries 16-byte addresses and their family either way. Include
 * after portier.h.
 */
#ifndef PORTIER_SHARED_CONNLOG_H
#define PORTIER_SHARED_CONNLOG_H

/* The body of both fills: ev from flow entry f under tuple k and the other
 * entry o (NULL for a local backend); ADDR(dst, src) stores one address of
 * the flow's family into a struct portier_addr. */
#define PORTIER_CONNLOG_FILL(ev, k, f, o, end_, now, fam, ADDR)			\
	do {									\
		__u8 d_ = (f)->dir & PORTIER_FLOW_DIR_REPLY;			\
										\
		__builtin_memset(ev, 0, sizeof(*(ev)));				\
		(ev)->kind = PORTIER_CONNLOG_KIND_END;				\
		(ev)->end = end_;						\
		(ev)->proto = (k)->proto;					\
		(ev)->family = fam;						\
		(ev)->route_id = (f)->route_id;					\
		(ev)->backend_id = (f)->backend_id;				\
		(ev)->flags = (f)->flags | ((o) ? (o)->flags : 0);		\
		if (d_ == PORTIER_FLOW_DIR_ORIG) {				\
			ADDR(&(ev)->client, &(k)->saddr);			\
			(ev)->client_port = (k)->sport;				\
			ADDR(&(ev)->service, &(k)->daddr);			\
			(ev)->service_port = (k)->dport;			\
			ADDR(&(ev)->backend, &(f)->nat_daddr);			\
			(ev)->backend_port = (f)->nat_dport;			\
			(ev)->snat_port = (f)->nat_sport;			\
		} else {							\
			ADDR(&(ev)->backend, &(k)->saddr);			\
			(ev)->backend_port = (k)->sport;			\
			(ev)->snat_port = (k)->dport;				\
			ADDR(&(ev)->client, &(f)->nat_daddr);			\
			(ev)->client_port = (f)->nat_dport;			\
			ADDR(&(ev)->service, &(f)->nat_saddr);			\
			(ev)->service_port = (f)->nat_sport;			\
		}								\
		(ev)->start_ns = (f)->created_ns;				\
		(ev)->end_ns = now;						\
		(ev)->packets[d_] = (f)->packets;				\
		(ev)->bytes[d_] = (f)->bytes;					\
		if (o) {							\
			(ev)->packets[d_ ^ 1] = (o)->packets;			\
			(ev)->bytes[d_ ^ 1] = (o)->bytes;			\
		}								\
	} while (0)

#define PORTIER_CONNLOG_ADDR4(dst, src) ((dst)->a32[0] = *(src))
#define PORTIER_CONNLOG_ADDR6(dst, src) __builtin_memcpy(dst, src, sizeof(*(dst)))

/* Fill ev from IPv4 flow entry f (found under the packet's tuple k) and
 * the other entry o of its flow (NULL for a local backend). */
static inline __attribute__((always_inline)) void
portier_connlog_fill(struct portier_connlog_event *ev, const struct portier_flow_key *k,
		     const struct portier_flow *f, const struct portier_flow *o, __u8 end,
		     __u64 now)
{
	PORTIER_CONNLOG_FILL(ev, k, f, o, end, now, PORTIER_AF_INET, PORTIER_CONNLOG_ADDR4);
}

/* The same for an IPv6 flow: event family PORTIER_AF_INET6, the 16-byte
 * addresses as they are. */
static inline __attribute__((always_inline)) void
portier_connlog_fill6(struct portier_connlog_event *ev, const struct portier_flow_key6 *k,
		      const struct portier_flow6 *f, const struct portier_flow6 *o, __u8 end,
		      __u64 now)
{
	PORTIER_CONNLOG_FILL(ev, k, f, o, end, now, PORTIER_AF_INET6, PORTIER_CONNLOG_ADDR6);
}

#endif
