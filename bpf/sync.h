/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * sync.h - flow sync events: when portier_config.sync_on is set (the
 * daemon is the MASTER of a gateway pair), a new flow's two entries, the
 * state bits set on a flow and the flows the program deletes go to the
 * daemon through the portier_sync ring buffer (an IPv6 flow's events:
 * sync_new6, sync_small6, kinds with PORTIER_SYNC_EV_IPV6); the daemon
 * batches them to the peer gateway (user/flowsync.c, docs/operations.md,
 * "Flow sync").
 * Emitting never changes what happens to the packet: a full ring buffer
 * counts PORTIER_R_SYNC_LOST (the daemon's periodic refresh and resyncs
 * repair what was lost) and the packet goes on.
 *
 * The calls are guarded by cfg->sync_on at the call sites (one byte of a
 * line already read), so a gateway without sync pays one branch; the
 * writers are global functions, verified once, whose frames stay off the
 * packet walk's stack.
 */
#ifndef PORTIER_BPF_SYNC_H
#define PORTIER_BPF_SYNC_H

/* Sync events to the daemon. Sized before load (pt_dp_opts.sync_bytes);
 * not pinned: it belongs to the daemon that loaded the program. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PORTIER_SYNC_RING_DEFAULT);
} portier_sync SEC(".maps");

/* The writers of a family (key type KEY, entry type FLOW, events EV_NEW and
 * EV_SMALL, kind bits FAM: 0 or PORTIER_SYNC_EV_IPV6):
 *   name_new(k, o, rk, r)	a new flow: key k and its entry o (original),
 *				rk and r (reply), as just published;
 *   name_small(k, kind, bits)	state bits set, or (kind DEL) the flow
 *				deleted: k is one of its keys. */
#define SYNC_WRITERS(new_fn, small_fn, KEY, FLOW, EV_NEW, EV_SMALL, FAM)		\
__noinline int new_fn(const KEY *k, const FLOW *o, const KEY *rk, const FLOW *r)	\
{											\
	EV_NEW *ev;									\
											\
	if (!k || !o || !rk || !r)							\
		return 0;								\
	ev = bpf_ringbuf_reserve(&portier_sync, sizeof(*ev), 0);			\
	if (!ev)									\
		return count_reason(PORTIER_R_SYNC_LOST, 0);				\
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));					\
	ev->kind = PORTIER_SYNC_EV_NEW | (FAM);						\
	ev->key = *k;									\
	ev->rkey = *rk;									\
	ev->orig = *o;									\
	ev->reply = *r;									\
	bpf_ringbuf_submit(ev, 0);							\
	return 1;									\
}											\
											\
__noinline int small_fn(const KEY *k, __u32 kind, __u32 bits)				\
{											\
	EV_SMALL *ev;									\
											\
	if (!k)										\
		return 0;								\
	ev = bpf_ringbuf_reserve(&portier_sync, sizeof(*ev), 0);			\
	if (!ev)									\
		return count_reason(PORTIER_R_SYNC_LOST, 0);				\
	ev->kind = kind | (FAM);							\
	ev->bits = bits & PORTIER_SYNC_FLAGS;						\
	ev->pad[0] = ev->pad[1] = 0;							\
	ev->key = *k;									\
	bpf_ringbuf_submit(ev, 0);							\
	return 1;									\
}

/* IPv4 (bpf/conntrack.h, bpf/nat.h): sync_new, sync_small. */
SYNC_WRITERS(sync_new, sync_small, struct portier_flow_key, struct portier_flow,
	     struct portier_sync_new, struct portier_sync_small, 0)
/* IPv6 (bpf/conntrack6.h, bpf/nat6.h): sync_new6, sync_small6, their
 * kinds with PORTIER_SYNC_EV_IPV6. */
SYNC_WRITERS(sync_new6, sync_small6, struct portier_flow_key6, struct portier_flow6,
	     struct portier_sync_new6, struct portier_sync_small6, PORTIER_SYNC_EV_IPV6)

/* The FLAGS event of IPv6 entry f's flow (protocol proto): bits set, by
 * the key of the flow's other direction, built here from f's rewrite (as
 * flow_key_other6) rather than by the caller: the key then takes no room
 * in portier_xdp6's frame. */
__noinline int sync_flags6(const struct portier_flow6 *f, __u32 proto, __u32 bits)
{
	struct portier_sync_small6 *ev;

	if (!f)
		return 0;
	ev = bpf_ringbuf_reserve(&portier_sync, sizeof(*ev), 0);
	if (!ev)
		return count_reason(PORTIER_R_SYNC_LOST, 0);
	ev->kind = PORTIER_SYNC_EV_FLAGS | PORTIER_SYNC_EV_IPV6;
	ev->bits = bits & PORTIER_SYNC_FLAGS;
	ev->pad[0] = ev->pad[1] = 0;
	__builtin_memset(&ev->key, 0, sizeof(ev->key));
	ev->key.saddr = f->nat_daddr;
	ev->key.daddr = f->nat_saddr;
	ev->key.sport = f->nat_dport;
	ev->key.dport = f->nat_sport;
	ev->key.proto = proto;
	bpf_ringbuf_submit(ev, 0);
	return 1;
}

#endif
