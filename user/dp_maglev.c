// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_maglev.c - the Maglev tables of maglev and source routes: one inner
 * array per route in portier_maglev, built by user/maglev.c from what the
 * maps hold, written whole into a fresh map and swapped in by one update
 * of the outer map (the program sees the old table or the new one); and
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

/* A new inner map of m slots holding table[0..m] (slot m: UINT32_MAX, the
 * pad of the last pair): its fd, or -errno. */
static int table_map(const char *name, const __u32 *table, __u32 m)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__u32 n = (m + 1) / 2;
	size_t len = (size_t)n * sizeof(struct portier_maglev_pair);
	char *mem;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "portier_mlv_tbl", sizeof(__u32),
			    sizeof(struct portier_maglev_pair), n, &o);
	if (fd < 0)
		return fail(-errno, "route '%s': cannot create its maglev table of %u slots: "
			    "%s", name, m, strerror(errno));
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		err = fail(-errno, "route '%s': cannot map its maglev table: %s", name,
			   strerror(errno));
		close(fd);
		return err;
	}
	memcpy(mem, table, len);	/* pairs: the slots in order */
	munmap(mem, len);
	return fd;
}

int table_write(struct pt_dataplane *dp, __u32 id, const char *name,
		const struct portier_route *rt)
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

		if (bpf_map_lookup_elem(bfd, &rt->active[i], &b)) {
			err = fail(-errno, "route '%s': cannot read backend %u: %s", name,
				   rt->active[i], strerror(errno));
			break;
		}
		be[i].key = pt_maglev_key(b.addr.a32[0], ntohs(b.port), keys[i],
					  sizeof(keys[i]));
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
		fd = table_map(name, table, m);
		if (fd < 0) {
			err = fd;
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
