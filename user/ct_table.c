// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * ct_table.c - portier_conntrack in place (ct_table.h). The memory is
 * shared with the program on other CPUs: tags are read and written with
 * atomics, under the program's protocol (include/portier.h), and slots
 * are copied out before use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ct_table.h"
#include "util.h"

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
			n += __atomic_load_n(&ct->b[bi].tag[i], __ATOMIC_RELAXED) & 1;
	return n;
}

/* The bucket index of key k, and its tag. */
static __u32 bucket_of(const struct pt_ct *ct, const struct portier_flow_key *k, __u32 *tag)
{
	return portier_ct_locate(k, ct->seed, ct->buckets, portier_ct_step_for(ct->buckets), tag);
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
	__u32 t, bi = bucket_of(ct, k, &t), mark = t - 1;
	struct portier_ct_bucket *b = &ct->b[bi];
	int c = -1;

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
		if (v == mark || !memcmp(&slot(ct, bi, i)->key, k, sizeof(*k))) {
			__atomic_store_n(&b->tag[c], 0, __ATOMIC_RELEASE);
			return v == mark ? -EBUSY : -EEXIST;
		}
	}
	slot(ct, bi, c)->key = *k;
	slot(ct, bi, c)->flow = *f;
	__atomic_store_n(&b->tag[c], t, __ATOMIC_RELEASE);
	return 0;
}

int pt_ct_delete(struct pt_ct *ct, const struct portier_flow_key *k)
{
	__u32 t, bi = bucket_of(ct, k, &t);
	int i = find(ct, bi, k, t);

	return i >= 0 && tag_swap(&ct->b[bi], i, t, 0) ? 0 : -ENOENT;
}

/* Delete slot i of bucket bi if it still holds key k under tag t. */
static bool delete_slot(struct pt_ct *ct, __u32 bi, int i, __u32 t,
			const struct portier_flow_key *k)
{
	return !memcmp(&slot(ct, bi, i)->key, k, sizeof(*k)) && tag_swap(&ct->b[bi], i, t, 0);
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

			if (!(t & 1))	/* free, or being filled */
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
			else if (rc == PT_CT_DELETE)
				n += delete_slot(ct, bi, i, t, &s.key);
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
