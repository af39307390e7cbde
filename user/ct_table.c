// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * ct_table.c - portier_conntrack and portier_conntrack6 in place
 * (ct_table.h). The memory is shared with the program on other CPUs: tags
 * are read and written with atomics, under the program's protocol
 * (include/portier.h), and slots are copied out before use. Both tables
 * have the same buckets and protocol; one implementation walks either,
 * given its slot layout (struct ct_layout), and the typed entry points at
 * the end check that a table is the one their key is for.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ct_table.h"
#include "util.h"

/*
 * The table is mapped whole on first use by the writers (the daemon's GC,
 * the tests): a mapping of a BPF array has every page resident at once, so
 * a whole 1,000,000-entry table is 168 MB of the process's memory. The
 * readers that only walk it (conntrack show|count|flush, prog show) never
 * map it whole: pt_ct_stream maps a window of WINDOW_BUCKETS buckets at a
 * time, and pt_ct_lookup copies one bucket through the bpf() syscall.
 */
#define WINDOW_BUCKETS	4096	/* 256 KiB of tags, 5 MiB of slots */

/* What differs between the IPv4 and the IPv6 table: the slot's size, its
 * key's (the key first, the flow after it) and the key's bucket. Every
 * walk, lookup and edit below is written once over these. */
struct ct_layout {
	size_t slot_size, key_size;
	size_t flags_off, backend_off;	/* of the flow's flags and backend_id */
	size_t seen_off;		/* of the flow's last_seen */
	__u32 (*locate)(const void *k, __u64 seed, __u32 n, __u32 step, __u32 *tag);
};

static __u32 locate4(const void *k, __u64 seed, __u32 n, __u32 step, __u32 *tag)
{
	return portier_ct_locate(k, seed, n, step, tag);
}

static __u32 locate6(const void *k, __u64 seed, __u32 n, __u32 step, __u32 *tag)
{
	return portier_ct6_locate(k, seed, n, step, tag);
}

static const struct ct_layout LAYOUT4 = {
	sizeof(struct portier_ct_slot), sizeof(struct portier_flow_key),
	offsetof(struct portier_flow, flags), offsetof(struct portier_flow, backend_id),
	offsetof(struct portier_flow, last_seen), locate4
};
static const struct ct_layout LAYOUT6 = {
	sizeof(struct portier_ct6_slot), sizeof(struct portier_flow_key6),
	offsetof(struct portier_flow6, flags), offsetof(struct portier_flow6, backend_id),
	offsetof(struct portier_flow6, last_seen), locate6
};

_Static_assert(offsetof(struct portier_ct_slot, flow) == sizeof(struct portier_flow_key),
	       "IPv4 slot: the flow follows the key");
_Static_assert(offsetof(struct portier_ct6_slot, flow) == sizeof(struct portier_flow_key6),
	       "IPv6 slot: the flow follows the key");

/* A walk's visitor over raw slots: key and flow of the table's layout. */
typedef int (*ct_visit_fn)(const void *k, const void *f, void *arg);

static int ct_stream(struct pt_ct *ct, ct_visit_fn fn, void *arg, size_t *deleted);

/* Room for a copy of either slot. */
#define SLOT_MAX	sizeof(struct portier_ct6_slot)

struct pt_ct {
	const struct ct_layout *lay;
	int b_fd, s_fd;			/* portier_conntrack(6), portier_ct(6)_slots */
	struct portier_ct_bucket *b;	/* the mmapped buckets (whole, or a window) */
	char *s;			/* the mmapped slots (whole, or a window) */
	size_t b_len, s_len;		/* bytes mapped */
	__u32 base;			/* first bucket of b and s */
	bool whole;			/* b and s are the whole table */
	__u32 buckets;
	__u64 seed;
};

/* Map n bytes of map fd from byte off (a page multiple), or NULL (errno
 * set). */
static void *map_array(int fd, size_t off, size_t n, size_t *len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *m;

	*len = (n + page - 1) / page * page;
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	return m == MAP_FAILED ? NULL : m;
}

static void unmap(struct pt_ct *ct)
{
	if (ct->b)
		munmap(ct->b, ct->b_len);
	if (ct->s)
		munmap(ct->s, ct->s_len);
	ct->b = NULL;
	ct->s = NULL;
	ct->whole = false;
}

/* Map buckets [first, first + n) and their slots in place of what is
 * mapped. Returns 0 or -errno (nothing mapped). */
static int map_range(struct pt_ct *ct, __u32 first, __u32 n)
{
	unmap(ct);
	ct->base = first;
	ct->b = map_array(ct->b_fd, (size_t)first * sizeof(*ct->b), (size_t)n * sizeof(*ct->b),
			  &ct->b_len);
	if (ct->b)
		ct->s = map_array(ct->s_fd,
				  (size_t)first * PORTIER_CT_SLOTS * ct->lay->slot_size,
				  (size_t)n * PORTIER_CT_SLOTS * ct->lay->slot_size, &ct->s_len);
	if (!ct->s) {
		int err = -errno;

		unmap(ct);
		return err;
	}
	ct->whole = first == 0 && n == ct->buckets;
	return 0;
}

/* The whole table mapped, for the writers. Returns 0 or -errno. */
static int map_whole(struct pt_ct *ct)
{
	return ct->whole ? 0 : map_range(ct, 0, ct->buckets);
}

static int ct_open(const struct ct_layout *lay, int buckets_fd, int slots_fd, __u32 buckets,
		   __u64 seed, struct pt_ct **out)
{
	struct pt_ct *ct;
	__u32 first = 0;
	int err;

	*out = NULL;
	if (!buckets)
		return -EINVAL;
	ct = xcalloc(1, sizeof(*ct));
	ct->lay = lay;
	ct->b_fd = buckets_fd;
	ct->s_fd = slots_fd;
	ct->buckets = buckets;
	ct->seed = seed;
	/* Map the first window now, so that a table that cannot be mapped
	 * is an error here rather than at its first use. */
	err = map_range(ct, first, buckets < WINDOW_BUCKETS ? buckets : WINDOW_BUCKETS);
	if (err) {
		pt_ct_close(ct);
		return err;
	}
	*out = ct;
	return 0;
}

int pt_ct_open(int buckets_fd, int slots_fd, __u32 buckets, __u64 seed, struct pt_ct **out)
{
	return ct_open(&LAYOUT4, buckets_fd, slots_fd, buckets, seed, out);
}

int pt_ct6_open(int buckets_fd, int slots_fd, __u32 buckets, __u64 seed, struct pt_ct **out)
{
	return ct_open(&LAYOUT6, buckets_fd, slots_fd, buckets, seed, out);
}

bool pt_ct_is6(const struct pt_ct *ct)
{
	return ct->lay == &LAYOUT6;
}

void pt_ct_close(struct pt_ct *ct)
{
	if (!ct)
		return;
	unmap(ct);
	free(ct);
}

/* Slot i of bucket bi (which must be mapped): its key, then its flow. */
static void *slot(const struct pt_ct *ct, __u32 bi, int i)
{
	return ct->s + ((size_t)(bi - ct->base) * PORTIER_CT_SLOTS + (size_t)i) *
	       ct->lay->slot_size;
}

/* The flow of slot (or slot copy) sl. */
static void *slot_flow(const struct pt_ct *ct, void *sl)
{
	return (char *)sl + ct->lay->key_size;
}

/* Bucket bi (which must be mapped). */
static struct portier_ct_bucket *bucket(const struct pt_ct *ct, __u32 bi)
{
	return &ct->b[bi - ct->base];
}

__u32 pt_ct_capacity(const struct pt_ct *ct)
{
	return portier_ct_capacity(ct->buckets);
}

static int count_one(const void *k, const void *f, void *arg)
{
	(void)k;
	(void)f;
	(*(size_t *)arg)++;
	return PT_CT_KEEP;
}

size_t pt_ct_count(struct pt_ct *ct)
{
	size_t n = 0;

	if (!ct->whole) {
		ct_stream(ct, count_one, &n, NULL);
		return n;
	}
	for (__u32 bi = 0; bi < ct->buckets; bi++)
		for (int i = 0; i < PORTIER_CT_SLOTS; i++)
			n += __atomic_load_n(&ct->b[bi].tag[i], __ATOMIC_RELAXED) & 1;
	return n;
}

/* The bucket index of key k, and its tag. */
static __u32 bucket_of(const struct pt_ct *ct, const void *k, __u32 *tag)
{
	return ct->lay->locate(k, ct->seed, ct->buckets, portier_ct_step_for(ct->buckets), tag);
}

static __u32 tag_load(const struct portier_ct_bucket *b, int i)
{
	return __atomic_load_n(&b->tag[i], __ATOMIC_ACQUIRE);
}

/* Swap tag i of b from old to new (a full barrier, as the program's). */
static bool tag_swap(struct portier_ct_bucket *b, int i, __u32 old, __u32 new)
{
	return __atomic_compare_exchange_n(&b->tag[i], &old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}

/* The slot of key k (tag t) in bucket bi (mapped), or -1. */
static int find(const struct pt_ct *ct, __u32 bi, const void *k, __u32 t)
{
	for (int i = 0; i < PORTIER_CT_SLOTS; i++)
		if (__atomic_load_n(&bucket(ct, bi)->tag[i], __ATOMIC_ACQUIRE) == t &&
		    !memcmp(slot(ct, bi, i), k, ct->lay->key_size))
			return i;
	return -1;
}

/* pt_ct_lookup when the table is not mapped whole: bucket bi's tags, then
 * each slot whose tag is t, copied by the bpf() syscall. */
static bool lookup_copy(const struct pt_ct *ct, __u32 bi, const void *k, __u32 t, void *out)
{
	struct portier_ct_bucket b;
	char s[SLOT_MAX] __attribute__((aligned(8)));

	if (bpf_map_lookup_elem(ct->b_fd, &bi, &b))
		return false;
	for (int i = 0; i < PORTIER_CT_SLOTS; i++) {
		__u32 idx = bi * PORTIER_CT_SLOTS + (__u32)i;

		if (b.tag[i] != t || bpf_map_lookup_elem(ct->s_fd, &idx, s) ||
		    memcmp(s, k, ct->lay->key_size))
			continue;
		if (out)
			memcpy(out, slot_flow(ct, s), ct->lay->slot_size - ct->lay->key_size);
		return true;
	}
	return false;
}

static bool ct_lookup(const struct pt_ct *ct, const void *k, void *out)
{
	__u32 t, bi = bucket_of(ct, k, &t);
	int i;

	if (!ct->whole)
		return lookup_copy(ct, bi, k, t, out);
	i = find(ct, bi, k, t);
	if (i < 0)
		return false;
	if (out)
		memcpy(out, slot_flow(ct, slot(ct, bi, i)), ct->lay->slot_size - ct->lay->key_size);
	return true;
}

static int ct_insert(struct pt_ct *ct, const void *k, const void *f)
{
	__u32 t, bi = bucket_of(ct, k, &t), mark = t - 1;
	struct portier_ct_bucket *b;
	int c = -1, err = map_whole(ct);

	if (err)
		return err;
	b = bucket(ct, bi);
	if (find(ct, bi, k, t) >= 0)
		return -EEXIST;
	/* The program's protocol (bpf/conntrack.h, ct_claim): claim a free
	 * slot, back off if another writer inserts the same key, fill,
	 * publish. */
	for (int i = 0; i < PORTIER_CT_SLOTS && c < 0; i++)
		if (tag_load(b, i) == 0 && tag_swap(b, i, 0, mark))
			c = i;
	if (c < 0)
		return -ENOSPC;
	for (int i = 0; i < PORTIER_CT_SLOTS; i++) {
		__u32 v = tag_load(b, i);

		if (i == c || (v != mark && v != t))
			continue;
		if (v == mark || !memcmp(slot(ct, bi, i), k, ct->lay->key_size)) {
			__atomic_store_n(&b->tag[c], 0, __ATOMIC_RELEASE);
			return v == mark ? -EBUSY : -EEXIST;
		}
	}
	memcpy(slot(ct, bi, c), k, ct->lay->key_size);
	memcpy(slot_flow(ct, slot(ct, bi, c)), f, ct->lay->slot_size - ct->lay->key_size);
	__atomic_store_n(&b->tag[c], t, __ATOMIC_RELEASE);
	return 0;
}

/* pt_ct_touch on either table (k of its layout). */
static int ct_touch(struct pt_ct *ct, const void *k, __u8 bits, __u32 last_seen)
{
	__u32 t, bi = bucket_of(ct, k, &t), now_seen, *seen;
	__u8 *flow, *flags;
	int i, err = map_whole(ct);

	if (err)
		return err;
	i = find(ct, bi, k, t);
	if (i < 0)
		return -ENOENT;
	flow = slot_flow(ct, slot(ct, bi, i));
	flags = flow + ct->lay->flags_off;
	seen = (__u32 *)(flow + ct->lay->seen_off);
	if (bits)
		__atomic_fetch_or(flags, bits, __ATOMIC_RELAXED);
	now_seen = __atomic_load_n(seen, __ATOMIC_RELAXED);
	if ((__s32)(last_seen - now_seen) > 0)
		__atomic_compare_exchange_n(seen, &now_seen, last_seen, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return 0;
}

/* Delete slot i of bucket bi (mapped) if it still holds key k under tag t. */
static bool delete_slot(struct pt_ct *ct, __u32 bi, int i, __u32 t, const void *k)
{
	return !memcmp(slot(ct, bi, i), k, ct->lay->key_size) &&
	       tag_swap(bucket(ct, bi), i, t, 0);
}

/* pt_ct_delete when the table is not mapped whole: the pages of bucket bi
 * mapped on their own (a walk's window stays as it is). */
static int delete_windowed(struct pt_ct *ct, __u32 bi, const void *k, __u32 t)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), ssz = ct->lay->slot_size;
	size_t boff = (size_t)bi * sizeof(*ct->b), soff = (size_t)bi * PORTIER_CT_SLOTS * ssz;
	size_t bstart = boff / page * page, sstart = soff / page * page, blen, slen;
	struct portier_ct_bucket *b;
	char *bm, *sm, *sl;
	int err = -ENOENT;

	bm = map_array(ct->b_fd, bstart, boff - bstart + sizeof(*b), &blen);
	if (!bm)
		return -errno;
	sm = map_array(ct->s_fd, sstart, soff - sstart + PORTIER_CT_SLOTS * ssz, &slen);
	if (!sm) {
		err = -errno;
		munmap(bm, blen);
		return err;
	}
	b = (struct portier_ct_bucket *)(bm + (boff - bstart));
	sl = sm + (soff - sstart);
	for (int i = 0; i < PORTIER_CT_SLOTS && err; i++)
		if (__atomic_load_n(&b->tag[i], __ATOMIC_ACQUIRE) == t &&
		    !memcmp(sl + (size_t)i * ssz, k, ct->lay->key_size) && tag_swap(b, i, t, 0))
			err = 0;
	munmap(sm, slen);
	munmap(bm, blen);
	return err;
}

static int ct_delete(struct pt_ct *ct, const void *k)
{
	__u32 t, bi = bucket_of(ct, k, &t);
	int i;

	if (!ct->whole)
		return delete_windowed(ct, bi, k, t);
	i = find(ct, bi, k, t);
	return i >= 0 && tag_swap(bucket(ct, bi), i, t, 0) ? 0 : -ENOENT;
}

/* Visit buckets [first, end) of what is mapped (see pt_ct_walk). */
static int walk_range(struct pt_ct *ct, __u32 first, __u32 end, ct_visit_fn fn, void *arg,
		      size_t *n)
{
	int err = 0;

	for (__u32 bi = first; bi < end && !err; bi++) {
		struct portier_ct_bucket *b = bucket(ct, bi);

		for (int i = 0; i < PORTIER_CT_SLOTS && !err; i++) {
			__u32 t = __atomic_load_n(&b->tag[i], __ATOMIC_ACQUIRE);
			char s[SLOT_MAX] __attribute__((aligned(8)));
			int rc;

			if (!(t & 1))	/* free, or being filled */
				continue;
			memcpy(s, slot(ct, bi, i), ct->lay->slot_size);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			/* Changed while copied: the slot now holds another entry,
			 * or none. */
			if (__atomic_load_n(&b->tag[i], __ATOMIC_ACQUIRE) != t)
				continue;
			rc = fn(s, slot_flow(ct, s), arg);
			if (rc < 0)
				err = rc;
			else if (rc == PT_CT_DELETE)
				*n += delete_slot(ct, bi, i, t, s);
		}
	}
	return err;
}

static int ct_walk(struct pt_ct *ct, ct_visit_fn fn, void *arg, size_t *deleted)
{
	size_t n = 0;
	int err = map_whole(ct);

	if (!err)
		err = walk_range(ct, 0, ct->buckets, fn, arg, &n);
	if (deleted)
		*deleted = n;
	return err;
}

static int ct_walk_range(struct pt_ct *ct, __u32 first, __u32 n, ct_visit_fn fn, void *arg)
{
	size_t deleted = 0;
	int err = map_whole(ct);

	if (err || first >= ct->buckets)
		return err;
	if (n > ct->buckets - first)
		n = ct->buckets - first;
	return walk_range(ct, first, first + n, fn, arg, &deleted);
}

__u32 pt_ct_buckets(const struct pt_ct *ct)
{
	return ct->buckets;
}

static int ct_stream(struct pt_ct *ct, ct_visit_fn fn, void *arg, size_t *deleted)
{
	size_t n = 0;
	int err = 0;

	if (ct->whole)
		return ct_walk(ct, fn, arg, deleted);
	for (__u32 first = 0; first < ct->buckets && !err; first += WINDOW_BUCKETS) {
		__u32 end = ct->buckets - first < WINDOW_BUCKETS ? ct->buckets : first +
			    WINDOW_BUCKETS;

		err = map_range(ct, first, end - first);
		if (!err)
			err = walk_range(ct, first, end, fn, arg, &n);
	}
	if (deleted)
		*deleted = n;
	return err;
}

static int delete_all(const void *k, const void *f, void *arg)
{
	(void)k;
	(void)f;
	(void)arg;
	return PT_CT_DELETE;
}

int pt_ct_flush(struct pt_ct *ct, size_t *deleted)
{
	return ct_walk(ct, delete_all, NULL, deleted);
}

/* The backend test of pt_ct_delete_backends, and the table's layout. */
struct by_backend {
	const struct pt_ct *ct;
	bool (*gone)(__u32 backend_id, void *arg);
	void *arg;
};

static int backend_gone(const void *k, const void *f, void *arg)
{
	const struct by_backend *b = arg;
	__u8 flags = *((const __u8 *)f + b->ct->lay->flags_off);
	__u16 id;

	(void)k;
	if (flags & PORTIER_FLOW_F_EGRESS)	/* backend_id is no backend's */
		return PT_CT_KEEP;
	memcpy(&id, (const char *)f + b->ct->lay->backend_off, sizeof(id));
	return b->gone(id, b->arg) ? PT_CT_DELETE : PT_CT_KEEP;
}

int pt_ct_delete_backends(struct pt_ct *ct, bool (*gone)(__u32 backend_id, void *arg), void *arg,
			  size_t *deleted)
{
	struct by_backend b = { ct, gone, arg };

	return ct_walk(ct, backend_gone, &b, deleted);
}

/* ---- the typed entry points: IPv4 keys and flows, IPv6 keys and flows --- */

/* A typed visitor called from the generic walk. */
struct visit4 {
	pt_ct_visit_fn fn;
	void *arg;
};

struct visit6 {
	pt_ct6_visit_fn fn;
	void *arg;
};

static int call4(const void *k, const void *f, void *arg)
{
	struct visit4 *v = arg;

	return v->fn(k, f, v->arg);
}

static int call6(const void *k, const void *f, void *arg)
{
	struct visit6 *v = arg;

	return v->fn(k, f, v->arg);
}

bool pt_ct_lookup(const struct pt_ct *ct, const struct portier_flow_key *k,
		  struct portier_flow *out)
{
	return ct->lay == &LAYOUT4 && ct_lookup(ct, k, out);
}

bool pt_ct6_lookup(const struct pt_ct *ct, const struct portier_flow_key6 *k,
		   struct portier_flow6 *out)
{
	return ct->lay == &LAYOUT6 && ct_lookup(ct, k, out);
}

int pt_ct_insert(struct pt_ct *ct, const struct portier_flow_key *k,
		 const struct portier_flow *f)
{
	return ct->lay == &LAYOUT4 ? ct_insert(ct, k, f) : -EINVAL;
}

int pt_ct6_insert(struct pt_ct *ct, const struct portier_flow_key6 *k,
		  const struct portier_flow6 *f)
{
	return ct->lay == &LAYOUT6 ? ct_insert(ct, k, f) : -EINVAL;
}

int pt_ct_touch(struct pt_ct *ct, const struct portier_flow_key *k, __u8 bits, __u32 last_seen)
{
	return ct->lay == &LAYOUT4 ? ct_touch(ct, k, bits, last_seen) : -EINVAL;
}

int pt_ct6_touch(struct pt_ct *ct, const struct portier_flow_key6 *k, __u8 bits,
		 __u32 last_seen)
{
	return ct->lay == &LAYOUT6 ? ct_touch(ct, k, bits, last_seen) : -EINVAL;
}

int pt_ct_delete(struct pt_ct *ct, const struct portier_flow_key *k)
{
	return ct->lay == &LAYOUT4 ? ct_delete(ct, k) : -EINVAL;
}

int pt_ct6_delete(struct pt_ct *ct, const struct portier_flow_key6 *k)
{
	return ct->lay == &LAYOUT6 ? ct_delete(ct, k) : -EINVAL;
}

int pt_ct_walk(struct pt_ct *ct, pt_ct_visit_fn fn, void *arg, size_t *deleted)
{
	struct visit4 v = { fn, arg };

	return ct->lay == &LAYOUT4 ? ct_walk(ct, call4, &v, deleted) : -EINVAL;
}

int pt_ct6_walk(struct pt_ct *ct, pt_ct6_visit_fn fn, void *arg, size_t *deleted)
{
	struct visit6 v = { fn, arg };

	return ct->lay == &LAYOUT6 ? ct_walk(ct, call6, &v, deleted) : -EINVAL;
}

int pt_ct_walk_range(struct pt_ct *ct, __u32 first, __u32 n, pt_ct_visit_fn fn, void *arg)
{
	struct visit4 v = { fn, arg };

	return ct->lay == &LAYOUT4 ? ct_walk_range(ct, first, n, call4, &v) : -EINVAL;
}

int pt_ct6_walk_range(struct pt_ct *ct, __u32 first, __u32 n, pt_ct6_visit_fn fn, void *arg)
{
	struct visit6 v = { fn, arg };

	return ct->lay == &LAYOUT6 ? ct_walk_range(ct, first, n, call6, &v) : -EINVAL;
}

int pt_ct_stream(struct pt_ct *ct, pt_ct_visit_fn fn, void *arg, size_t *deleted)
{
	struct visit4 v = { fn, arg };

	return ct->lay == &LAYOUT4 ? ct_stream(ct, call4, &v, deleted) : -EINVAL;
}

int pt_ct6_stream(struct pt_ct *ct, pt_ct6_visit_fn fn, void *arg, size_t *deleted)
{
	struct visit6 v = { fn, arg };

	return ct->lay == &LAYOUT6 ? ct_stream(ct, call6, &v, deleted) : -EINVAL;
}
