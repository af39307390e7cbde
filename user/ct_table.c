// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * ct_table.c - portier_conntrack in place (ct_table.h). The memory is
 * shared with the program on other CPUs: tags and the lock word are read
 * and written with atomics, slots are copied out before use.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ct_table.h"
#include "util.h"

/* A bucket's lock is held by a writer for nanoseconds: spin, yielding,
 * at most this many times before giving up. */
#define LOCK_TRIES	100000

struct pt_ct {
	struct portier_ct_bucket *b;	/* the mmapped buckets */
	struct portier_ct_slot *s;	/* the mmapped slots */
	size_t b_len, s_len;		/* bytes mapped */
	__u32 buckets;
	__u64 seed;
};

/* Map n bytes of map fd, or NULL (errno set). */
static void *map_array(int fd, size_t n, size_t *len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *m;

	*len = (n + page - 1) / page * page;
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

int pt_ct_open(int buckets_fd, int slots_fd, __u32 buckets, __u64 seed, struct pt_ct **out)
{
	struct pt_ct *ct = xcalloc(1, sizeof(*ct));
	int err;

	*out = NULL;
	ct->buckets = buckets;
	ct->seed = seed;
	ct->b = map_array(buckets_fd, (size_t)buckets * sizeof(*ct->b), &ct->b_len);
	if (ct->b)
		ct->s = map_array(slots_fd, (size_t)buckets * PORTIER_CT_SLOTS * sizeof(*ct->s),
				  &ct->s_len);
	if (!buckets || !ct->s) {
		err = buckets ? -errno : -EINVAL;
		pt_ct_close(ct);
		return err;
	}
	*out = ct;
	return 0;
}

void pt_ct_close(struct pt_ct *ct)
{
	if (!ct)
		return;
	if (ct->b)
		munmap(ct->b, ct->b_len);
	if (ct->s)
		munmap(ct->s, ct->s_len);
	free(ct);
}

/* Slot i of bucket bi. */
static struct portier_ct_slot *slot(const struct pt_ct *ct, __u32 bi, int i)
{
	return &ct->s[(size_t)bi * PORTIER_CT_SLOTS + (size_t)i];
}

__u32 pt_ct_capacity(const struct pt_ct *ct)
{
	return portier_ct_capacity(ct->buckets);
}

size_t pt_ct_count(const struct pt_ct *ct)
{
	size_t n = 0;

	for (__u32 bi = 0; bi < ct->buckets; bi++)
		for (int i = 0; i < PORTIER_CT_SLOTS; i++)
			n += __atomic_load_n(&ct->b[bi].tag[i], __ATOMIC_RELAXED) != 0;
	return n;
}

/* The bucket index of key k, and its tag. */
static __u32 bucket_of(const struct pt_ct *ct, const struct portier_flow_key *k, __u32 *tag)
{
	__u64 h = portier_ct_hash(k, ct->seed);

	*tag = portier_ct_tag(h);
	return portier_ct_index(h, ct->buckets);
}

static bool lock(struct portier_ct_bucket *b)
{
	for (int i = 0; i < LOCK_TRIES; i++) {
		__u32 free_ = 0;

		if (__atomic_compare_exchange_n(&b->lock, &free_, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
		sched_yield();
	}
	return false;
}

static void unlock(struct portier_ct_bucket *b)
{
	__atomic_store_n(&b->lock, 0, __ATOMIC_RELEASE);
}

/* The slot of key k (tag t) in bucket bi, or -1. */
static int find(const struct pt_ct *ct, __u32 bi, const struct portier_flow_key *k, __u32 t)
{
	for (int i = 0; i < PORTIER_CT_SLOTS; i++)
		if (__atomic_load_n(&ct->b[bi].tag[i], __ATOMIC_ACQUIRE) == t &&
		    !memcmp(&slot(ct, bi, i)->key, k, sizeof(*k)))
			return i;
	return -1;
}

bool pt_ct_lookup(const struct pt_ct *ct, const struct portier_flow_key *k,
		  struct portier_flow *out)
{
	__u32 t, bi = bucket_of(ct, k, &t);
	int i = find(ct, bi, k, t);

	if (i < 0)
		return false;
	if (out)
		*out = slot(ct, bi, i)->flow;
	return true;
}

int pt_ct_insert(struct pt_ct *ct, const struct portier_flow_key *k,
		 const struct portier_flow *f)
{
	__u32 t, bi = bucket_of(ct, k, &t);
	struct portier_ct_bucket *b = &ct->b[bi];
	int err = -ENOSPC;

	if (!lock(b))
		return -EBUSY;
	if (find(ct, bi, k, t) >= 0) {
		unlock(b);
		return -EEXIST;
	}
	for (int i = 0; i < PORTIER_CT_SLOTS; i++) {
		if (b->tag[i])
			continue;
		slot(ct, bi, i)->key = *k;
		slot(ct, bi, i)->flow = *f;
		__atomic_store_n(&b->tag[i], t, __ATOMIC_RELEASE);
		err = 0;
		break;
	}
	unlock(b);
	return err;
}

int pt_ct_delete(struct pt_ct *ct, const struct portier_flow_key *k)
{
	__u32 t, bi = bucket_of(ct, k, &t);
	struct portier_ct_bucket *b = &ct->b[bi];
	int i;

	if (!lock(b))
		return -EBUSY;
	i = find(ct, bi, k, t);
	if (i >= 0)
		__atomic_store_n(&b->tag[i], 0, __ATOMIC_RELEASE);
	unlock(b);
	return i >= 0 ? 0 : -ENOENT;
}

/* Delete slot i of bucket bi if it still holds key k under tag t. */
static int delete_slot(struct pt_ct *ct, __u32 bi, int i, __u32 t,
		       const struct portier_flow_key *k)
{
	struct portier_ct_bucket *b = &ct->b[bi];
	bool same;

	if (!lock(b))
		return -EBUSY;
	same = b->tag[i] == t && !memcmp(&slot(ct, bi, i)->key, k, sizeof(*k));
	if (same)
		__atomic_store_n(&b->tag[i], 0, __ATOMIC_RELEASE);
	unlock(b);
	return same;
}

int pt_ct_walk(struct pt_ct *ct, pt_ct_visit_fn fn, void *arg, size_t *deleted)
{
	size_t n = 0;
	int err = 0;

	for (__u32 bi = 0; bi < ct->buckets && !err; bi++) {
		struct portier_ct_bucket *b = &ct->b[bi];

		for (int i = 0; i < PORTIER_CT_SLOTS && !err; i++) {
			__u32 t = __atomic_load_n(&b->tag[i], __ATOMIC_ACQUIRE);
			struct portier_ct_slot s;
			int rc;

			if (!t)
				continue;
			s = *slot(ct, bi, i);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			/* Changed while copied: the slot now holds another entry,
			 * or none. */
			if (__atomic_load_n(&b->tag[i], __ATOMIC_ACQUIRE) != t)
				continue;
			rc = fn(&s.key, &s.flow, arg);
			if (rc < 0)
				err = rc;
			else if (rc == PT_CT_DELETE) {
				rc = delete_slot(ct, bi, i, t, &s.key);
				if (rc < 0)
					err = rc;
				else
					n += (size_t)rc;
			}
		}
	}
	if (deleted)
		*deleted = n;
	return err;
}

static int delete_all(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	(void)k;
	(void)f;
	(void)arg;
	return PT_CT_DELETE;
}

int pt_ct_flush(struct pt_ct *ct, size_t *deleted)
{
	return pt_ct_walk(ct, delete_all, NULL, deleted);
}
