/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * ct_table.h - the connection table seen from userspace: portier_conntrack's
 * buckets and portier_ct_slots (include/portier.h has the layout) mmapped, looked up, walked and
 * edited in place under the same rules as the program (mapped whole on the
 * first write or pt_ct_walk; pt_ct_stream maps a window at a time): lookups read a
 * slot's tag, then its key; writes claim, fill and publish a slot, or swap
 * its tag to free.
 *
 * One module for every reader and writer of flows in userspace: the GC,
 * backend removal, the health flush, "conntrack show|flush", the metrics,
 * the tests and the benchmark tools.
 */
#ifndef PORTIER_CT_TABLE_H
#define PORTIER_CT_TABLE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "portier.h"

struct pt_ct;

/* Map the table: its bucket and slot arrays (portier_conntrack,
 * portier_ct_slots) of buckets buckets, hash seed seed. Returns 0 or -errno
 * (*out NULL). */
int pt_ct_open(int buckets_fd, int slots_fd, __u32 buckets, __u64 seed, struct pt_ct **out);
void pt_ct_close(struct pt_ct *ct);

/* Entries the table holds (portier_ct_capacity of its buckets). */
__u32 pt_ct_capacity(const struct pt_ct *ct);

/* Live entries now (a snapshot: the program inserts meanwhile). */
size_t pt_ct_count(struct pt_ct *ct);

/* Copy the live entry of key k into *out (if out). Returns true if found. */
bool pt_ct_lookup(const struct pt_ct *ct, const struct portier_flow_key *k,
		  struct portier_flow *out);

/* Insert entry f under key k: 0, -EEXIST (k has one), -ENOSPC (its bucket
 * is full: userspace never evicts), -EBUSY (the program inserts k now). */
int pt_ct_insert(struct pt_ct *ct, const struct portier_flow_key *k,
		 const struct portier_flow *f);

/* Set state bits on the live entry of key k, and move its last_seen
 * forward to last_seen if that is later (a received flow sync refresh):
 * the program's own writes (bits or'ed, a newer stamp) are never undone.
 * 0 or -ENOENT. */
int pt_ct_touch(struct pt_ct *ct, const struct portier_flow_key *k, __u8 bits, __u32 last_seen);

/* Delete the entry of key k: 0 or -ENOENT. */
int pt_ct_delete(struct pt_ct *ct, const struct portier_flow_key *k);

/* What a walk's visitor returns for an entry (or a -errno to stop). */
#define PT_CT_KEEP	0
#define PT_CT_DELETE	1

typedef int (*pt_ct_visit_fn)(const struct portier_flow_key *k, const struct portier_flow *f,
			      void *arg);

/* Call fn on a copy of every live entry, bucket by bucket, and delete the
 * entries it returns PT_CT_DELETE for (unless the program replaced them
 * meanwhile). *deleted (if given) counts them. Returns 0 or fn's -errno. */
int pt_ct_walk(struct pt_ct *ct, pt_ct_visit_fn fn, void *arg, size_t *deleted);

/* pt_ct_walk over buckets [first, first + n) only (clipped to the
 * table), for a walk spread over time (a flow sync resync). */
int pt_ct_walk_range(struct pt_ct *ct, __u32 first, __u32 n, pt_ct_visit_fn fn, void *arg);
/* Buckets of the table. */
__u32 pt_ct_buckets(const struct pt_ct *ct);

/* pt_ct_walk in memory flat in the table's size: a window of the table
 * mapped at a time, for readers of a table that may hold millions of
 * entries (the CLI). fn may call pt_ct_lookup and pt_ct_delete (which then
 * work through the bpf() syscall and small mappings of their own). */
int pt_ct_stream(struct pt_ct *ct, pt_ct_visit_fn fn, void *arg, size_t *deleted);

/* Delete every entry (pt_ct_walk's results). */
int pt_ct_flush(struct pt_ct *ct, size_t *deleted);

#endif
