/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * conntrack.h - the connection table: keys from packets, timeouts, the
 * state bits (seen reply, closing) kept on both entries of a flow.
 */
#ifndef PORTIER_BPF_CONNTRACK_H
#define PORTIER_BPF_CONNTRACK_H

#define NSEC_PER_SEC		1000000000ULL
/* last_seen is refreshed at most this often (ticks, about a second):
 * timeouts are in seconds, and fewer writes keep the entry's cache line
 * shared between CPUs. */
#define CT_TOUCH_TICKS		(NSEC_PER_SEC >> PORTIER_TICK_SHIFT)

/* The key of the packet's tuple as it arrives. */
static __always_inline void flow_key_of(const struct pkt *p, struct portier_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->iph->saddr;
	k->daddr = p->iph->daddr;
	k->sport = p->ports[0];
	k->dport = p->ports[1];
	k->proto = p->proto;
}

/* The key of the other direction of flow f: a packet rewritten by f, seen
 * coming back. */
static __always_inline void flow_key_other(const struct portier_flow *f, __u8 proto,
					   struct portier_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = f->nat_daddr;
	k->daddr = f->nat_saddr;
	k->sport = f->nat_dport;
	k->dport = f->nat_sport;
	k->proto = proto;
}

/* Idle timeout of an entry in its state, ticks. */
static __always_inline __u32 flow_timeout_ticks(const struct portier_config *cfg, __u8 proto,
						__u8 flags)
{
	__u32 s;

	if (proto == IPPROTO_UDP)
		s = cfg->tmo_udp;
	else if (flags & PORTIER_FLOW_F_CLOSING)
		s = cfg->tmo_tcp_close;
	else if (flags & PORTIER_FLOW_F_SEEN_REPLY)
		s = cfg->tmo_tcp_est;
	else
		s = cfg->tmo_tcp_syn;
	return portier_ticks_of_s(s);
}

static __always_inline bool flow_expired(const struct portier_config *cfg,
					 const struct portier_flow *f, __u8 proto, __u64 now)
{
	return (__u32)(portier_tick(now) - f->last_seen) > flow_timeout_ticks(cfg, proto, f->flags);
}

/* Account a packet on its own entry. Plain adds: RSS keeps a flow's
 * direction on one CPU, so these counts are exact but for rare moves.
 * Returns true when last_seen was refreshed (and the cached next hop is
 * due for a new FIB lookup). */
static __always_inline bool flow_touch(struct portier_flow *f, __u32 len, __u64 now)
{
	__u32 tick = portier_tick(now);

	f->packets += 1;
	f->bytes += len;
	if ((__u32)(tick - f->last_seen) < CT_TOUCH_TICKS)
		return false;
	f->last_seen = tick;
	return true;
}

/* Set state bits on f and on the other entry of its flow (if it has one). */
static __always_inline void flow_set_flags(struct portier_flow *f, __u8 proto, __u8 bits)
{
	struct portier_flow_key ok;
	struct portier_flow *o;

	f->flags |= bits;
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return;
	flow_key_other(f, proto, &ok);
	o = bpf_map_lookup_elem(&portier_conntrack, &ok);
	if (o)
		o->flags |= bits;
}

/* Delete both entries of the flow whose entry f was found under key k. */
static __always_inline void flow_delete(const struct portier_flow_key *k,
					const struct portier_flow *f)
{
	struct portier_flow_key ok;

	if (!(f->flags & PORTIER_FLOW_F_LOCAL)) {
		flow_key_other(f, k->proto, &ok);
		bpf_map_delete_elem(&portier_conntrack, &ok);
	}
	bpf_map_delete_elem(&portier_conntrack, k);
}

#endif
