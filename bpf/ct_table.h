/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * ct_table.h - the connection table's code, once for both families
 * (include/portier.h has the layout): lock-free lookup, claim-then-publish
 * insert, eviction, delete; timeouts, the state bits kept on both entries
 * of a flow, the touch of last_seen. bpf/conntrack.h (IPv4) and
 * bpf/conntrack6.h (IPv6) include it with their types:
 *
 *   CT_KEY, CT_FLOW, CT_SLOT	key, entry and slot types
 *   CT_BUCKET_MAP, CT_SLOT_MAP	&the bucket and slot arrays
 *   CT_LOCATE(cfg, k, tagp)	the bucket of key k (and its tag)
 *   CT_KEY_EQ(a, b)		two keys equal
 *   CT_SYNC_SMALL(k, kind, bits) a flow sync event (bpf/sync.h)
 *   CT_SYNC_FLAGS(f, proto, ok, bits) the FLAGS event of entry f's flow by
 *				its other key *ok (IPv6's builds the key
 *				itself: portier_xdp6's frame stays small)
 *   CT_FN(name)			the family's name of a function
 *
 * The part above "template" is family-free and defined once; the rest is
 * expanded at each include, then the parameters are undefined.
 */
#ifndef PORTIER_BPF_CT_TABLE_H
#define PORTIER_BPF_CT_TABLE_H

#define NSEC_PER_SEC		1000000000ULL
/* last_seen is refreshed at most this often (ticks, about a second):
 * timeouts are in seconds, and fewer writes keep the entry's cache line
 * shared between CPUs. */
#define CT_TOUCH_TICKS		(NSEC_PER_SEC >> PORTIER_TICK_SHIFT)

#define CT_READ(x)		(*(volatile typeof(x) *)&(x))
#define CT_WRITE(x, v)		(*(volatile typeof(x) *)&(x) = (v))

/* ct_claim() results besides a slot number (with CT_CLAIM_F_EVICTED if
 * the slot held an entry, evicted for this one). */
#define CT_CLAIM_F_EVICTED	0x100
#define CT_CLAIM_EXISTS		(-1)	/* the key has an entry: nothing claimed */
#define CT_CLAIM_BUSY		(-2)	/* no slot, or another CPU inserts the same
					 * key and did not finish in time */
/* How long a writer waits for a slot that another CPU is filling with the
 * same key before it gives up (the other CPU needs about a microsecond),
 * and at most how many times it reads the slot and the clock meanwhile. */
#define CT_WAIT_NS		20000
#define CT_WAIT_READS		1000

/* Where key k lives: its bucket (index and line) and its tag. */
struct ct_place {
	struct portier_ct_bucket *b;
	__u32 idx;
	__u32 tag;
};

/* Attempts of ct_evict: a second one finds another victim when another
 * CPU claimed the same one at the same moment (two CPUs inserting into
 * one full bucket, for the same key or not). */
#define CT_EVICT_TRIES		2

/* Wait for slot i of bucket b to leave the claim mark: another CPU is
 * filling it. Returns the tag it then holds, or mark if it did not change
 * within CT_WAIT_NS. A function of its own: its loop is verified once,
 * not at each of ct_claim's call sites. */
__noinline __u32 ct_wait(struct portier_ct_bucket *b, __u32 i, __u32 mark)
{
	__u64 deadline = bpf_ktime_get_ns() + CT_WAIT_NS;
	__u32 v = mark;

	if (!b)
		return mark;
	for (int n = 0; n < CT_WAIT_READS; n++) {
		v = CT_READ(b->tag[i & (PORTIER_CT_SLOTS - 1)]);
		if (v != mark || bpf_ktime_get_ns() > deadline)
			break;
	}
	return v;
}

/* A claimed slot: where its entry goes. */
struct ct_claimed {
	struct ct_place pl;
	__u32 at;		/* < PORTIER_CT_SLOTS */
};

/* Idle timeout of an entry in its state, ticks. */
static __always_inline __u32 flow_timeout_ticks(const struct portier_config *cfg, __u8 proto,
						__u8 flags)
{
	return portier_ticks_of_s(portier_flow_timeout_s(cfg, proto, flags));
}

/* A refresh of last_seen that enters a new period of 2^CT_TOUCH_OTHER_SHIFT
 * ticks (about 34 s) is carried to the other entry of the flow. */
#define CT_TOUCH_OTHER_SHIFT	15

/* flow_create() results besides a reason id. */
#define FLOW_OK		PORTIER_R_MAX		/* both entries inserted */
#define FLOW_RACE	(PORTIER_R_MAX + 1)	/* another CPU inserted the flow */

#endif	/* PORTIER_BPF_CT_TABLE_H */

/* ---- template ------------------------------------------------------------ */

#if !defined(CT_KEY) || !defined(CT_FLOW) || !defined(CT_SLOT) || !defined(CT_FN) || \
	!defined(CT_BUCKET_MAP) || !defined(CT_SLOT_MAP) || !defined(CT_LOCATE) || \
	!defined(CT_KEY_EQ) || !defined(CT_SYNC_SMALL) || !defined(CT_SYNC_FLAGS)
#error "ct_table.h: define its parameters first (see its head)"
#endif

static __always_inline bool CT_FN(ct_place_of)(const struct portier_config *cfg,
					const CT_KEY *k, struct ct_place *pl)
{
	pl->idx = CT_LOCATE(cfg, k, &pl->tag);
	pl->b = bpf_map_lookup_elem(CT_BUCKET_MAP, &pl->idx);
	return pl->b != NULL;
}

/* Slot i of bucket idx. (A map lookup rather than pointer arithmetic: the
 * verifier then sees one slot pointer whichever i matched, instead of one
 * program path per slot.) */
static __always_inline CT_SLOT *CT_FN(ct_slot)(__u32 idx, __u32 i)
{
	__u32 n = idx * PORTIER_CT_SLOTS + i;

	return bpf_map_lookup_elem(CT_SLOT_MAP, &n);
}

/* The entry of key k in bucket idx (line b, tag t), or NULL; *at its slot.
 * Lock-free: a writer fills a slot before it publishes the tag. */
static __always_inline CT_SLOT *CT_FN(ct_find)(struct portier_ct_bucket *b, __u32 idx,
						       __u32 t, const CT_KEY *k,
						       __u32 *at)
{
	CT_SLOT *s;

#pragma unroll
	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		if (CT_READ(b->tag[i]) != t)
			continue;
		barrier();	/* the key after its tag */
		s = CT_FN(ct_slot)(idx, i);
		if (s && CT_KEY_EQ(&s->key, k)) {
			*at = i;
			return s;
		}
	}
	return NULL;
}

/* The live entry of key k, or NULL. */
static __always_inline CT_FLOW *CT_FN(ct_lookup)(const struct portier_config *cfg,
						      const CT_KEY *k)
{
	CT_SLOT *s;
	struct ct_place pl;
	__u32 at;

	if (!CT_FN(ct_place_of)(cfg, k, &pl))
		return NULL;
	s = CT_FN(ct_find)(pl.b, pl.idx, pl.tag, k, &at);
	return s ? &s->flow : NULL;
}

/* May a new flow take the place of this entry? Only if its client never
 * proved its address (not ASSURED: a half-open flow, which a spoofed SYN
 * flood makes by the million), or if it is closing: an established flow
 * is never evicted for a new one, as nf_conntrack's early_drop never drops
 * an assured entry. (An established flow idle past its timeout is the
 * GC's: it deletes it within a tick.) */
static __always_inline bool CT_FN(ct_evictable)(const CT_SLOT *s)
{
	__u8 flags = s->flow.flags;

	return !(flags & PORTIER_FLOW_F_ASSURED) || (flags & PORTIER_FLOW_F_CLOSING);
}

/* One attempt of ct_evict. */
static __always_inline int CT_FN(ct_evict_once)(struct portier_ct_bucket *b, __u32 idx, __u32 mark,
					 __u32 now_tick, __u32 *victim_tag)
{
	__u32 best = PORTIER_CT_SLOTS, best_idle = 0, idle, t;
	CT_SLOT *s;

	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		s = CT_FN(ct_slot)(idx, i);
		if (!s || !(CT_READ(b->tag[i]) & 1))	/* free, or being claimed */
			continue;
		if (!CT_FN(ct_evictable)(s))
			continue;
		idle = portier_idle_ticks(now_tick, s->flow.last_seen);
		if (best == PORTIER_CT_SLOTS || idle >= best_idle) {
			best_idle = idle;
			best = i;
		}
	}
	if (best >= PORTIER_CT_SLOTS)	/* every entry established: none goes */
		return -1;
	best &= PORTIER_CT_SLOTS - 1;
	t = CT_READ(b->tag[best]);
	if (t == 0) {	/* freed meanwhile: take it, evicting nothing */
		if (__sync_val_compare_and_swap(&b->tag[best], 0, mark) != 0)
			return -1;
		*victim_tag = 0;
		return best;
	}
	if (!(t & 1) || __sync_val_compare_and_swap(&b->tag[best], t, mark) != t)
		return -1;
	*victim_tag = t;
	return best;
}

/* With no slot free in bucket idx: claim (mark) the slot of the evictable
 * entry (ct_evictable) idle longest, evicting it (its tag in
 * *victim_tag); if another CPU claimed it first, the next idlest. A
 * victim's slot freed meanwhile is claimed as it is (*victim_tag 0:
 * nothing evicted). Returns the slot, or -1 (none evictable: the new flow
 * is refused). A function of its own: ct_claim's frame stays small. */
__noinline int CT_FN(ct_evict)(struct portier_ct_bucket *b, __u32 idx, __u32 mark, __u32 now_tick,
			__u32 *victim_tag)
{
	int c = -1;

	if (!b || !victim_tag)
		return -1;
	for (int n = 0; n < CT_EVICT_TRIES && c < 0; n++)
		c = CT_FN(ct_evict_once)(b, idx, mark, now_tick, victim_tag);
	return c;
}

/* Claim a slot for a new entry of key k in bucket idx (line b, tag t): a
 * free slot, else the entry idle longest there is evicted. The claimed
 * slot's tag holds t - 1 (even: readers skip it) until ct_publish. Returns
 * the slot number, CT_CLAIM_EXISTS or CT_CLAIM_BUSY.
 *
 * A claim given back restores what the slot held: free, or the entry it
 * was evicting (its tag back; nothing of it was written yet), so an
 * eviction happens, and counts, only with a claim that stays.
 *
 * Lock-free: a compare-and-swap claims the slot (a full barrier on
 * x86-64), then the bucket is read again: at once, without a branch per
 * slot (portier_ct_tag_count), which in the usual case finds our mark
 * alone and ends there; else slot by slot. An entry of k found then (it
 * existed, or another CPU published it meanwhile) gives the slot back
 * (EXISTS). Of two CPUs claiming k at once, at least one sees the other's
 * claim mark, and the lower slot wins: the CPU that holds the higher slot
 * gives it back and waits for the winner's entry (EXISTS: it uses that
 * one); the winner, if it saw the loser's mark, waits for that slot to be
 * given back (or published, if the other CPU had not seen the winner).
 * Both forward the packet alike; only a partner that does not finish
 * within CT_WAIT_READS makes a writer give up (BUSY). Each claim that met
 * another's claim mark counts CT_RACE once. A function of its
 * own (verified once): the slot number it returns is then one value to
 * the caller's verification, not sixteen. */
__noinline int CT_FN(ct_claim)(struct portier_ct_bucket *b, __u32 idx, __u32 t,
			const CT_KEY *k, __u32 now_tick)
{
	__u32 mark = t - 1, v;
	CT_SLOT *s;
	int c = -1, evicted = 0, rc = 0;
	bool raced = false;
	__u32 back = 0;		/* the slot's tag if the claim is given back */

	if (!b || !k)
		return CT_CLAIM_BUSY;
	/* Even slots first: an even slot's 80 bytes are one aligned pair of
	 * cache lines, which the CPU fetches together. */
#pragma unroll
	for (__u32 j = 0; j < PORTIER_CT_SLOTS; j++) {
		__u32 i = j < PORTIER_CT_SLOTS / 2 ? 2 * j : 2 * (j - PORTIER_CT_SLOTS / 2) + 1;

		if (CT_READ(b->tag[i]) == 0 &&
		    __sync_val_compare_and_swap(&b->tag[i], 0, mark) == 0) {
			c = i;
			break;
		}
	}
	if (c < 0) {
		c = CT_FN(ct_evict)(b, idx, mark, now_tick, &back);
		evicted = back ? CT_CLAIM_F_EVICTED : 0;	/* 0: the slot was freed */
	}
	if (c < 0 || c >= PORTIER_CT_SLOTS)
		return CT_CLAIM_BUSY;
	/* The usual case, checked at once: no tag of k's family but our
	 * mark, so no other claim and no entry of k. */
	if (portier_ct_tag_count(b->tag, t) == 1)
		goto claimed;
#pragma unroll
	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		if (i == (__u32)c)
			continue;
		v = CT_READ(b->tag[i]);
		if (v == mark && i < (__u32)c) {	/* the other claim wins */
			raced = true;
			CT_WRITE(b->tag[c & (PORTIER_CT_SLOTS - 1)], back);
			v = ct_wait(b, i, mark);
			s = CT_FN(ct_slot)(idx, i);
			rc = v == t && s && CT_KEY_EQ(&s->key, k) ? CT_CLAIM_EXISTS : CT_CLAIM_BUSY;
			break;
		}
		if (v == mark) {			/* ours wins */
			raced = true;
			v = ct_wait(b, i, mark);
		}
		if (v == mark) {
			CT_WRITE(b->tag[c & (PORTIER_CT_SLOTS - 1)], back);
			rc = CT_CLAIM_BUSY;
			break;
		}
		if (v != t)
			continue;
		s = CT_FN(ct_slot)(idx, i);
		if (s && CT_KEY_EQ(&s->key, k)) {
			CT_WRITE(b->tag[c & (PORTIER_CT_SLOTS - 1)], back);
			rc = CT_CLAIM_EXISTS;
			break;
		}
	}
	if (raced)
		count_reason(PORTIER_R_CT_RACE, 0);
	if (rc < 0)
		return rc;
claimed:
	if (evicted)
		count_reason(PORTIER_R_CT_EVICTED, 0);
	return c | evicted;
}

__noinline int CT_FN(ct_drop_partner)(const struct portier_config *cfg, __u32 idx, __u32 at);

/* Claim a slot for key k (ct_claim). If that evicted an entry, the other
 * entry of the evicted flow goes too (ct_drop_partner). Returns 0 or a
 * CT_CLAIM_* result. */
static __always_inline int CT_FN(ct_claim_key)(const struct portier_config *cfg,
					const CT_KEY *k, __u32 now_tick,
					struct ct_claimed *c)
{
	int at, evicted;

	if (!CT_FN(ct_place_of)(cfg, k, &c->pl))
		return CT_CLAIM_BUSY;
	at = CT_FN(ct_claim)(c->pl.b, c->pl.idx, c->pl.tag, k, now_tick);
	if (at < 0)
		return at;
	evicted = at & CT_CLAIM_F_EVICTED;
	at &= ~CT_CLAIM_F_EVICTED;
	if (at >= PORTIER_CT_SLOTS)
		return CT_CLAIM_BUSY;
	c->at = at;
	if (evicted)
		CT_FN(ct_drop_partner)(cfg, c->pl.idx, at);
	return 0;
}

/* Write entry (k, f) into its claimed slot, and publish it: readers find
 * it from here on. */
static __always_inline void CT_FN(ct_publish)(const struct ct_claimed *c,
				       const CT_KEY *k,
				       const CT_FLOW *f)
{
	CT_SLOT *s = CT_FN(ct_slot)(c->pl.idx, c->at);
	__u32 at = c->at & (PORTIER_CT_SLOTS - 1);

	if (!s)
		return;
	s->key = *k;
	s->flow = *f;
	barrier();	/* the slot before its tag */
	CT_WRITE(c->pl.b->tag[at], c->pl.tag);
}

/* Give a claimed slot back unused. */
static __always_inline void CT_FN(ct_release)(const struct ct_claimed *c)
{
	CT_WRITE(c->pl.b->tag[c->at & (PORTIER_CT_SLOTS - 1)], 0);
}

/* Delete the entry of key k, if any: its tag goes from the key's to free
 * by compare-and-swap, so a slot claimed meanwhile stays claimed. */
static __always_inline void CT_FN(ct_delete)(const struct portier_config *cfg,
				      const CT_KEY *k)
{
	struct ct_place pl;
	__u32 at;

	if (!CT_FN(ct_place_of)(cfg, k, &pl))
		return;
	if (CT_FN(ct_find)(pl.b, pl.idx, pl.tag, k, &at) && at < PORTIER_CT_SLOTS)
		__sync_val_compare_and_swap(&pl.b->tag[at], pl.tag, 0);
}

/* The key of the other direction of flow f: a packet rewritten by f, seen
 * coming back. */
static __always_inline void CT_FN(flow_key_other)(const CT_FLOW *f, __u8 proto,
					   CT_KEY *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = f->nat_daddr;
	k->daddr = f->nat_saddr;
	k->sport = f->nat_dport;
	k->dport = f->nat_sport;
	k->proto = proto;
}

/* The slot at of bucket idx was just claimed by evicting its entry (still
 * there until the claimer writes): delete the other entry of the evicted
 * flow, if it is still that flow's (its own other key is the evicted
 * key), so that no half of an evicted flow lives on: an original entry
 * left alone would go on rewriting a client's packets to a SNAT port that
 * a new flow may be given. With flow sync on, the peer hears of it (DEL
 * by the evicted key, before the new flow's NEW): its copy would hold the
 * flow's slots and SNAT port until its timeout, and carry a flow on that
 * this host dropped. A function of its own, verified once. */
__noinline int CT_FN(ct_drop_partner)(const struct portier_config *cfg, __u32 idx, __u32 at)
{
	CT_KEY vk, ok, back;
	CT_SLOT *v, *o;
	struct ct_place pl;
	__u32 i;

	v = CT_FN(ct_slot)(idx, at & (PORTIER_CT_SLOTS - 1));
	if (!cfg || !v)
		return 0;
	vk = v->key;
	if (v->flow.flags & PORTIER_FLOW_F_LOCAL)
		return 0;
	if (cfg->sync_on && !(v->flow.flags & PORTIER_FLOW_F_SYNPROXY))
		CT_SYNC_SMALL(&vk, PORTIER_SYNC_EV_DEL, 0);	/* (a cookie flow is not synced) */
	CT_FN(flow_key_other)(&v->flow, vk.proto, &ok);
	if (!CT_FN(ct_place_of)(cfg, &ok, &pl))
		return 0;
	o = CT_FN(ct_find)(pl.b, pl.idx, pl.tag, &ok, &i);
	if (!o || i >= PORTIER_CT_SLOTS)
		return 0;
	CT_FN(flow_key_other)(&o->flow, ok.proto, &back);
	if (!CT_KEY_EQ(&back, &vk))
		return 0;
	__sync_val_compare_and_swap(&pl.b->tag[i], pl.tag, 0);
	return 1;
}

static __always_inline bool CT_FN(flow_expired)(const struct portier_config *cfg,
					 const CT_FLOW *f, __u8 proto, __u64 now)
{
	return portier_idle_ticks(portier_tick(now), f->last_seen) >
	       flow_timeout_ticks(cfg, proto, f->flags);
}

/* Account a packet on its own entry. Plain adds: RSS keeps a flow's
 * direction on one CPU, so these counts are exact but for rare moves.
 * Returns true when last_seen was refreshed (and the cached next hop is
 * due for a new FIB lookup). */
static __always_inline bool CT_FN(flow_touch)(CT_FLOW *f, __u32 len, __u64 now)
{
	__u32 tick = portier_tick(now);

	f->packets += 1;
	f->bytes += len;
	if (portier_idle_ticks(tick, f->last_seen) < CT_TOUCH_TICKS)
		return false;
	f->last_seen = tick;
	return true;
}

/* last_seen was just refreshed on f from before to tick: once a period,
 * carry it to the other entry of its flow, so that an eviction, which
 * weighs one entry's idleness, never takes a live flow for idle by its
 * silent half (a one-way UDP stream's reply entry): that half looks at
 * most about a minute idle. Not at every refresh: the other entry's lines
 * are another cache miss, which a flow that sends about once a second
 * would pay on most packets. (No state of its own: a field set at
 * creation, with its narrow store, cost a new flow 45 ns.) */
static __always_inline void CT_FN(flow_touch_other)(const struct portier_config *cfg,
					     const CT_FLOW *f, __u8 proto,
					     __u32 before, __u32 tick)
{
	CT_KEY ok;
	CT_FLOW *o;

	if ((f->flags & PORTIER_FLOW_F_LOCAL) ||
	    before >> CT_TOUCH_OTHER_SHIFT == tick >> CT_TOUCH_OTHER_SHIFT)
		return;
	CT_FN(flow_key_other)(f, proto, &ok);
	o = CT_FN(ct_lookup)(cfg, &ok);
	if (o && (__s32)(tick - o->last_seen) > 0)
		o->last_seen = tick;
}

/* Set state bits on f and on the other entry of its flow (if it has one). */
static __always_inline void CT_FN(flow_set_flags)(const struct portier_config *cfg,
					  CT_FLOW *f, __u8 proto, __u8 bits)
{
	CT_KEY ok;
	CT_FLOW *o;

	f->flags |= bits;
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return;
	CT_FN(flow_key_other)(f, proto, &ok);
	o = CT_FN(ct_lookup)(cfg, &ok);
	if (o)
		o->flags |= bits;
	if (cfg->sync_on && (bits & PORTIER_SYNC_FLAGS))
		CT_SYNC_FLAGS(f, proto, &ok, bits);
}

/* Delete both entries of the flow whose entry f was found under key k. */
static __always_inline void CT_FN(flow_delete)(const struct portier_config *cfg,
					const CT_KEY *k,
					const CT_FLOW *f)
{
	CT_KEY ok;

	if (!(f->flags & PORTIER_FLOW_F_LOCAL)) {
		CT_FN(flow_key_other)(f, k->proto, &ok);
		CT_FN(ct_delete)(cfg, &ok);
		if (cfg->sync_on)
			CT_SYNC_SMALL(k, PORTIER_SYNC_EV_DEL, 0);
	}
	CT_FN(ct_delete)(cfg, k);
}

/* SNAT: find a free source port for the flow's reply entry *rk (all set
 * but dport) starting at *cursor, and claim its slot in *c.
 * A port whose reply entry exists, or whose entry finds no room (its
 * bucket full of established flows), or that another CPU is claiming at
 * that instant and does not give up in time, is skipped. Returns FLOW_OK;
 * PORTIER_R_DROP_SNAT_EXHAUSTED if every port probed is held by a flow;
 * PORTIER_R_DROP_CT_FULL if some port was free but its entry found no
 * room: the table, not the ports, is what ran out. */
static __always_inline __u32 CT_FN(snat_alloc_at)(const struct portier_config *cfg, __u32 *cursor,
					   CT_KEY *rk, __u32 now_tick,
					   struct ct_claimed *c)
{
	__u32 start, range, i;
	bool no_room = false;
	__u16 port;
	int rc;

	if (cfg->snat_port_min == 0 || cfg->snat_port_min > cfg->snat_port_max)
		return PORTIER_R_DROP_SNAT_EXHAUSTED;
	range = (__u32)cfg->snat_port_max - cfg->snat_port_min + 1;
	start = __sync_fetch_and_add(cursor, 1);
	for (i = 0; i < PORTIER_SNAT_PROBES; i++) {
		port = cfg->snat_port_min + (start + i) % range;
		rk->dport = bpf_htons(port);
		rc = CT_FN(ct_claim_key)(cfg, rk, now_tick, c);
		if (rc) {	/* port taken, or no room: the next one */
			no_room |= rc == CT_CLAIM_BUSY;
			continue;
		}
		if (i)	/* skip the taken ports for the next flow */
			__sync_fetch_and_add(cursor, i);
		return FLOW_OK;
	}
	if (no_room)
		return PORTIER_R_DROP_CT_FULL;
	/* The whole stretch held: the next flow probes the next one (free
	 * ports may lie beyond, as flows end out of order). */
	__sync_fetch_and_add(cursor, PORTIER_SNAT_PROBES - 1);
	return PORTIER_R_DROP_SNAT_EXHAUSTED;
}

#undef CT_KEY
#undef CT_FLOW
#undef CT_SLOT
#undef CT_FN
#undef CT_BUCKET_MAP
#undef CT_SLOT_MAP
#undef CT_LOCATE
#undef CT_KEY_EQ
#undef CT_SYNC_SMALL
#undef CT_SYNC_FLAGS
