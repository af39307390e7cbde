// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_maglev.c - the Maglev tables of maglev and source routes: one inner
 * array per route in portier_maglev, built by user/maglev.c from what the
 * maps hold. A table is rewritten in place through its mapping when one of
 * its size is loaded (a lookup reads one aligned slot: the old backend or
 * the new one); else written whole into a fresh map and put in by an
 * update of the outer map. The kernel ends every update of a map of maps
 * with an RCU grace period (synchronize_rcu, about 13 ms on the benchmark
 * machine: 14 s for 1,000 routes one by one), so an apply puts its new
 * routes' tables in by one batch update (table_batch_begin, _end). And
 * what "portier route lookup" reads back: a slot, a route's rotation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "maglev.h"
#include "portier.skel.h"
#include "util.h"

int table_delete(struct pt_dataplane *dp, __u32 id)
{
	return map_delete(dp->skel->maps.portier_maglev, &id, "a route's maglev table");
}

/* Copy table[0..m] (slot m: UINT32_MAX, the pad of the last pair) into
 * the inner map fd of (m + 1) / 2 pairs through its mapping: 0 or -errno. */
static int table_fill(const char *name, int fd, const __u32 *table, __u32 m)
{
	size_t len = (size_t)(m + 1) / 2 * sizeof(struct portier_maglev_pair);
	char *mem;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return fail(-errno, "route '%s': cannot map its maglev table: %s", name,
			    strerror(errno));
	memcpy(mem, table, len);	/* pairs: the slots in order */
	munmap(mem, len);
	return 0;
}

/* A new inner map of m slots holding table[0..m]: its fd, or -errno. */
static int table_map(const char *name, const __u32 *table, __u32 m)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__u32 n = (m + 1) / 2;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "portier_mlv_tbl", sizeof(__u32),
			    sizeof(struct portier_maglev_pair), n, &o);
	if (fd < 0)
		return fail(-errno, "route '%s': cannot create its maglev table of %u slots: "
			    "%s", name, m, strerror(errno));
	err = table_fill(name, fd, table, m);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The fd of route id's loaded inner map if it holds m slots, else -1. */
static int table_loaded_fd(const struct pt_dataplane *dp, __u32 id, __u32 m)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), inner_id;
	int fd;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_maglev), &id, &inner_id))
		return -1;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.max_entries != (m + 1) / 2 ||
	    !(info.map_flags & BPF_F_MMAPABLE)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The new tables of an open batch: route ids and inner map fds. One
 * batch at a time (the writers' lock is held through an apply). */
static struct {
	const struct pt_dataplane *dp;	/* NULL: no batch open */
	__u32 *ids;
	__u32 *fds;
	__u32 n, cap;
} batch;

void table_batch_begin(struct pt_dataplane *dp)
{
	batch.dp = dp;
	batch.n = 0;
}

int table_batch_end(struct pt_dataplane *dp, bool put)
{
	int ofd = bpf_map__fd(dp->skel->maps.portier_maglev), err = 0;
	__u32 count = batch.n;

	batch.dp = NULL;
	if (put && count) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);

		/* A kernel without batch updates of maps of maps, or a batch
		 * that failed part way: all of them one by one, each with its
		 * own error (putting a map in again is harmless). */
		if (bpf_map_update_batch(ofd, batch.ids, batch.fds, &count, &o))
			for (__u32 i = 0; i < batch.n && !err; i++)
				err = map_update(dp->skel->maps.portier_maglev, &batch.ids[i],
						 &batch.fds[i], "a route's maglev table");
	}
	for (__u32 i = 0; i < batch.n; i++)
		close((int)batch.fds[i]);	/* the outer map holds them now */
	batch.n = 0;
	return err;
}

/* Queue inner map fd for route id in the open batch (it takes fd). */
static void batch_add(__u32 id, int fd)
{
	if (batch.n == batch.cap) {
		batch.cap = batch.cap ? 2 * batch.cap : 64;
		batch.ids = xrealloc(batch.ids, batch.cap * sizeof(*batch.ids));
		batch.fds = xrealloc(batch.fds, batch.cap * sizeof(*batch.fds));
	}
	batch.ids[batch.n] = id;
	batch.fds[batch.n++] = (__u32)fd;
}

int table_write(struct pt_dataplane *dp, __u32 id, const char *name,
		const struct portier_route *rt, bool queue)
{
	struct pt_maglev_backend be[PORTIER_MAX_ROUTE_BACKENDS];
	char (*keys)[PT_MAGLEV_KEY_BUF];
	int bfd = bpf_map__fd(dp->skel->maps.portier_backends);
	__u32 m = rt->table_size, *table, i;
	int err = 0, fd;

	if (!(rt->flags & (PORTIER_ROUTE_F_MAGLEV | PORTIER_ROUTE_F_SOURCE)))
		return table_delete(dp, id);
	if (!pt_is_prime(m) || m < PT_MAGLEV_SIZE_MIN || m > PT_MAGLEV_SIZE_MAX)
		return fail(-EINVAL, "route '%s': maglev table size %u is not a prime from %u "
			    "to %u; reload the inventory", name, m, PT_MAGLEV_SIZE_MIN,
			    PT_MAGLEV_SIZE_MAX);
	if (rt->n_active > PORTIER_MAX_ROUTE_BACKENDS)
		return fail(-EINVAL, "route '%s': %u active backends", name, rt->n_active);
	keys = xcalloc(PORTIER_MAX_ROUTE_BACKENDS, sizeof(*keys));
	table = xcalloc((size_t)m + 1, sizeof(*table));
	table[m] = UINT32_MAX;
	for (i = 0; i < rt->n_active && !err; i++) {
		struct portier_backend b;
		struct pt_addr a;

		if (bpf_map_lookup_elem(bfd, &rt->active[i], &b)) {
			err = fail(-errno, "route '%s': cannot read backend %u: %s", name,
				   rt->active[i], strerror(errno));
			break;
		}
		addr_from_bpf(&b.addr, b.family, &a);
		be[i].key = pt_maglev_key(&a, ntohs(b.port), keys[i], sizeof(keys[i]));
		be[i].weight = b.weight;
		be[i].id = rt->active[i];
	}
	if (!err) {
		err = pt_maglev_build(name, be, rt->n_active, m, table);
		if (err == -EINVAL)
			err = fail(err, "route '%s': %u backends do not fit a maglev table of %u "
				   "slots (more than %u each are needed); raise maglev_size",
				   name, rt->n_active, m, PT_MAGLEV_SLOTS_PER_BACKEND);
		else if (err < 0)
			err = fail(err, "route '%s': cannot build its maglev table: %s", name,
				   strerror(-err));
		else
			err = 0;
	}
	if (!err) {
		/* No backend takes slots (none active, or weights 0): every slot
		 * says UINT32_MAX, which the program takes as none. */
		fd = table_loaded_fd(dp, id, m);
		if (fd >= 0) {
			err = table_fill(name, fd, table, m);
			close(fd);
		} else if ((fd = table_map(name, table, m)) < 0) {
			err = fd;
		} else if (queue && batch.dp == dp) {
			batch_add(id, fd);
		} else {
			err = map_update(dp->skel->maps.portier_maglev, &id, &fd,
					 "a route's maglev table");
			close(fd);	/* the outer map holds it now */
		}
	}
	free(table);
	free(keys);
	return err;
}

__u32 table_loaded_size(const struct pt_dataplane *dp, __u32 id)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), inner_id;
	int fd;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_maglev), &id, &inner_id))
		return 0;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	/* (M + 1) / 2 pairs, M odd (a prime >= 101). */
	return info.max_entries ? info.max_entries * 2 - 1 : 0;
}

int pt_dp_table_slot(const struct pt_dataplane *dp, __u32 route_id, __u32 slot,
		     __u32 *backend_id)
{
	struct portier_maglev_pair pair;
	__u32 inner_id, elem = slot / 2;
	int fd, err = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_maglev), &route_id,
				&inner_id))
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &elem, &pair))
		err = -errno;
	else
		*backend_id = pair.id[slot & 1];
	close(fd);
	return err;
}

int pt_dp_rotation(const struct pt_dataplane *dp, __u32 route_id, struct portier_route *rt,
		   __u32 *rr)
{
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_routes), &route_id, rt))
		return -errno;
	if (rr && bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_rr), &route_id, rr))
		return -errno;
	return 0;
}
