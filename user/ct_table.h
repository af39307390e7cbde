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
 *
 * The IPv6 table (portier_conntrack6, portier_ct6_slots) is a struct pt_ct
 * too, opened by pt_ct6_open: the untyped functions (count, capacity,
 * buckets, flush, close) take either table; the pt_ct6_* ones take IPv6
 * keys and flows, and the IPv4 ones refuse an IPv6 table (and back:
 * -EINVAL, or false for a lookup).
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
/* pt_ct_open for the IPv6 table (portier_conntrack6, portier_ct6_slots). */
int pt_ct6_open(int buckets_fd, int slots_fd, __u32 buckets, __u64 seed, struct pt_ct **out);
/* True for a table opened by pt_ct6_open. */
bool pt_ct_is6(const struct pt_ct *ct);

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

/* The IPv6 table's lookup, insert, delete, walk, stream, walk of a range
 * and touch: as the IPv4
 * ones above, with IPv6 keys and flows. */
typedef int (*pt_ct6_visit_fn)(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
			       void *arg);
bool pt_ct6_lookup(const struct pt_ct *ct, const struct portier_flow_key6 *k,
		   struct portier_flow6 *out);
int pt_ct6_insert(struct pt_ct *ct, const struct portier_flow_key6 *k,
		  const struct portier_flow6 *f);
int pt_ct6_delete(struct pt_ct *ct, const struct portier_flow_key6 *k);
int pt_ct6_walk(struct pt_ct *ct, pt_ct6_visit_fn fn, void *arg, size_t *deleted);
int pt_ct6_walk_range(struct pt_ct *ct, __u32 first, __u32 n, pt_ct6_visit_fn fn, void *arg);
int pt_ct6_touch(struct pt_ct *ct, const struct portier_flow_key6 *k, __u8 bits,
		 __u32 last_seen);
int pt_ct6_stream(struct pt_ct *ct, pt_ct6_visit_fn fn, void *arg, size_t *deleted);

/* Delete the entries (of either table) of backends that gone() says are
 * gone (egress flows name no backend: kept). *deleted (if given) counts
 * them. 0 or -errno. */
int pt_ct_delete_backends(struct pt_ct *ct, bool (*gone)(__u32 backend_id, void *arg), void *arg,
			  size_t *deleted);

/* Delete every entry (pt_ct_walk's results), of either table. */
int pt_ct_flush(struct pt_ct *ct, size_t *deleted);

#endif
