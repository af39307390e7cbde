/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * conntrack.h - the connection table (include/portier.h has its layout):
 * lookup, insert and delete under the bucket lock; keys from packets,
 * timeouts, the state bits (seen reply, closing) kept on both entries of a
 * flow.
 */
#ifndef PORTIER_BPF_CONNTRACK_H
#define PORTIER_BPF_CONNTRACK_H

#define NSEC_PER_SEC		1000000000ULL
/* last_seen is refreshed at most this often (ticks, about a second):
 * timeouts are in seconds, and fewer writes keep the entry's cache line
 * shared between CPUs. */
#define CT_TOUCH_TICKS		(NSEC_PER_SEC >> PORTIER_TICK_SHIFT)

/* How often a writer tries a bucket's lock before giving up (the holder
 * is another CPU inserting or deleting: tens of nanoseconds). */
#define CT_LOCK_TRIES		64

#define CT_READ(x)		(*(volatile typeof(x) *)&(x))
#define CT_WRITE(x, v)		(*(volatile typeof(x) *)&(x) = (v))

/* ct_insert() results. */
enum ct_insert_res {
	CT_INSERTED,		/* the entry is in */
	CT_EXISTS,		/* its key was there already: nothing written */
	CT_BUSY,		/* the bucket stayed locked: nothing written */
};

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

/* Where key k lives: its bucket (index and line) and its tag. */
struct ct_place {
	struct portier_ct_bucket *b;
	__u32 idx;
	__u32 tag;
};

static __always_inline bool ct_place_of(const struct portier_config *cfg,
					const struct portier_flow_key *k, struct ct_place *pl)
{
	__u64 h = portier_ct_hash(k, cfg->ct_seed);

	pl->idx = portier_ct_index(h, cfg->ct_buckets);
	pl->tag = portier_ct_tag(h);
	pl->b = bpf_map_lookup_elem(&portier_conntrack, &pl->idx);
	return pl->b != NULL;
}

/* Slot i of the bucket at pl. */
static __always_inline struct portier_ct_slot *ct_slot(const struct ct_place *pl, __u32 i)
{
	__u32 n = pl->idx * PORTIER_CT_SLOTS + i;

	return bpf_map_lookup_elem(&portier_ct_slots, &n);
}

static __always_inline bool ct_key_eq(const struct portier_flow_key *a,
				      const struct portier_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* The slot holding key k in its bucket pl, or NULL; *at its number.
 * Lock-free: a writer fills a slot before it publishes the tag. */
static __always_inline struct portier_ct_slot *ct_find(const struct ct_place *pl,
						       const struct portier_flow_key *k, __u32 *at)
{
	struct portier_ct_slot *s;

#pragma unroll
	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		if (CT_READ(pl->b->tag[i]) != pl->tag)
			continue;
		barrier();	/* the key after its tag */
		s = ct_slot(pl, i);
		if (s && ct_key_eq(&s->key, k)) {
			*at = i;
			return s;
		}
	}
	return NULL;
}

/* The live entry of key k, or NULL. */
static __always_inline struct portier_flow *ct_lookup(const struct portier_config *cfg,
						      const struct portier_flow_key *k)
{
	struct portier_ct_slot *s;
	struct ct_place pl;
	__u32 at;

	if (!ct_place_of(cfg, k, &pl))
		return NULL;
	s = ct_find(&pl, k, &at);
	return s ? &s->flow : NULL;
}

static __always_inline bool ct_lock(struct portier_ct_bucket *b)
{
	for (int i = 0; i < CT_LOCK_TRIES; i++)
		if (__sync_val_compare_and_swap(&b->lock, 0, 1) == 0)
			return true;
	return false;
}

static __always_inline void ct_unlock(struct portier_ct_bucket *b)
{
	barrier();	/* every write of the holder before the release */
	CT_WRITE(b->lock, 0);
}

/* With the bucket locked: a free slot, else the slot idle longest (its
 * entry is evicted, and counted). */
static __always_inline struct portier_ct_slot *ct_free_slot(const struct ct_place *pl,
							    __u32 now_tick, __u32 *at)
{
	__u32 best = 0, best_idle = 0, idle;
	struct portier_ct_slot *s;

#pragma unroll
	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		if (pl->b->tag[i] == 0) {
			*at = i;
			return ct_slot(pl, i);
		}
	}
#pragma unroll
	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		s = ct_slot(pl, i);
		if (!s)
			continue;
		idle = now_tick - s->flow.last_seen;
		if (idle > best_idle) {
			best_idle = idle;
			best = i;
		}
	}
	count_reason(PORTIER_R_CT_EVICTED, 0);
	*at = best;
	return ct_slot(pl, best);
}

/* Insert entry f under key k, unless k has one. */
static __always_inline enum ct_insert_res ct_insert(const struct portier_config *cfg,
						    const struct portier_flow_key *k,
						    const struct portier_flow *f)
{
	struct portier_ct_slot *s;
	struct ct_place pl;
	__u32 at;

	if (!ct_place_of(cfg, k, &pl) || !ct_lock(pl.b))
		return CT_BUSY;
	if (ct_find(&pl, k, &at)) {
		ct_unlock(pl.b);
		return CT_EXISTS;
	}
	s = ct_free_slot(&pl, f->last_seen, &at);
	if (!s || at >= PORTIER_CT_SLOTS) {	/* never: for the verifier */
		ct_unlock(pl.b);
		return CT_BUSY;
	}
	CT_WRITE(pl.b->tag[at], 0);	/* an evicted entry's readers miss */
	s->key = *k;
	s->flow = *f;
	barrier();	/* the slot before its tag */
	CT_WRITE(pl.b->tag[at], pl.tag);
	ct_unlock(pl.b);
	return CT_INSERTED;
}

/* Delete the entry of key k, if any (and if its bucket can be locked). */
static __always_inline void ct_delete(const struct portier_config *cfg,
				      const struct portier_flow_key *k)
{
	struct ct_place pl;
	__u32 at;

	if (!ct_place_of(cfg, k, &pl) || !ct_lock(pl.b))
		return;
	if (ct_find(&pl, k, &at) && at < PORTIER_CT_SLOTS)
		CT_WRITE(pl.b->tag[at], 0);
	ct_unlock(pl.b);
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
static __always_inline void flow_set_flags(const struct portier_config *cfg,
					  struct portier_flow *f, __u8 proto, __u8 bits)
{
	struct portier_flow_key ok;
	struct portier_flow *o;

	f->flags |= bits;
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return;
	flow_key_other(f, proto, &ok);
	o = ct_lookup(cfg, &ok);
	if (o)
		o->flags |= bits;
}

/* Delete both entries of the flow whose entry f was found under key k. */
static __always_inline void flow_delete(const struct portier_config *cfg,
					const struct portier_flow_key *k,
					const struct portier_flow *f)
{
	struct portier_flow_key ok;

	if (!(f->flags & PORTIER_FLOW_F_LOCAL)) {
		flow_key_other(f, k->proto, &ok);
		ct_delete(cfg, &ok);
	}
	ct_delete(cfg, k);
}

#endif
