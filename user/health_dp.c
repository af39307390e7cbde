// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* health_dp.c - health checker <-> data plane. See health_dp.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "health_dp.h"
#include "portier.skel.h"
#include "util.h"

static struct pt_check route_check(const struct portier_route_meta *m)
{
	return (struct pt_check){ .inter_ms = m->check_inter_ms,
				  .timeout_ms = m->check_timeout_ms,
				  .rise = m->check_rise,
				  .fall = m->check_fall,
				  .port = m->check_port };
}

int pt_health_sync(struct pt_health *h, struct pt_dataplane *dp)
{
	struct pt_dp_route_view *v = NULL;
	struct pt_health_target *t;
	size_t n = pt_dp_view(dp, &v), nt = 0;
	int err;

	for (size_t r = 0; r < n; r++)
		nt += v[r].n_be;
	t = xcalloc(nt + 1, sizeof(*t));
	nt = 0;
	for (size_t r = 0; r < n; r++) {
		if (v[r].meta.key.proto != IPPROTO_TCP)
			continue;	/* a TCP connect says nothing about UDP */
		for (size_t b = 0; b < v[r].n_be; b++)
			t[nt++] = (struct pt_health_target){
				.route = v[r].meta.name,
				.addr = v[r].be[b].addr,
				.port = v[r].be[b].port,
				.check = route_check(&v[r].meta),
				.start_down = v[r].be[b].state & PT_DP_BE_DOWN,
			};
	}
	err = pt_health_set_targets(h, t, nt);
	free(t);
	pt_dp_view_free(v, n);
	return err;
}

int pt_health_apply(struct pt_dataplane *dp, const struct pt_health_event *ev)
{
	const struct pt_health_status *st = ev->status;

	return pt_dp_backend_set(dp, st->route, &st->addr, st->port, PT_DP_BE_DOWN, !ev->new_up);
}

int pt_health_flush_flows(struct pt_dataplane *dp, const struct pt_health_event *ev,
			  size_t *removed)
{
	const struct pt_health_status *st = ev->status;
	int id = pt_dp_backend_id(dp, st->route, &st->addr, st->port);
	int fd = bpf_map__fd(pt_dp_skel(dp)->maps.portier_conntrack);
	struct portier_flow_key key, next, *del = NULL;
	struct portier_flow f;
	size_t n = 0, cap = 0, gone = 0;
	bool have = false;
	int err = 0;

	if (id < 0)
		return id;
	/* Collect first, delete after: deleting while walking a hash map can
	 * restart the walk. */
	while (!bpf_map_get_next_key(fd, have ? &key : NULL, &next)) {
		key = next;
		have = true;
		if (bpf_map_lookup_elem(fd, &key, &f) || f.backend_id != (__u32)id)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			del = xrealloc(del, cap * sizeof(*del));
		}
		del[n++] = key;
	}
	for (size_t i = 0; i < n; i++) {
		if (!bpf_map_delete_elem(fd, &del[i]))
			gone++;
		else if (errno != ENOENT && !err)
			err = -errno;	/* ENOENT: expired meanwhile */
	}
	free(del);
	if (removed)
		*removed = gone;
	return err;
}
