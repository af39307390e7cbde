// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_view.c - what is loaded, as the CLI shows it: the routes with their
 * backends, the pool's lists, and the per-CPU counters summed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

/* Add b's counts to *t. */
void stats_add(struct portier_stats *t, const struct portier_stats *b)
{
	for (int d = 0; d < 2; d++) {
		t->packets[d] += b->packets[d];
		t->bytes[d] += b->bytes[d];
	}
	t->flows += b->flows;
}

int pt_stats_sum(struct bpf_map *m, __u32 id, struct portier_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_stats *v;
	int err;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	err = bpf_map_lookup_elem(bpf_map__fd(m), &id, v) ? -errno : 0;
	for (int c = 0; c < ncpu && !err; c++)
		stats_add(out, &v[c]);
	free(v);
	return err;
}

int pt_route_stats_sum(struct portier *skel, const struct pt_dp_route_view *v,
		       struct portier_stats *out)
{
	struct portier_stats b;
	int err = pt_stats_sum(skel->maps.portier_route_stats, v->id, out);

	for (size_t i = 0; i < v->n_be && !err; i++) {
		err = pt_stats_sum(skel->maps.portier_backend_stats, v->be[i].id, &b);
		if (!err)
			stats_add(out, &b);
	}
	return err;
}

int pt_route_refused_sum(struct portier *skel, __u32 route_id, struct portier_refused *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_refused *v;

	memset(out, 0, sizeof(*out));
	if (ncpu < 0)
		return ncpu;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_route_refused), &route_id, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int i = 0; i < ncpu; i++) {
		out->denied += v[i].denied;
		out->rate_limited += v[i].rate_limited;
	}
	free(v);
	return 0;
}

int pt_route_ha_sum(struct portier *skel, __u32 route_id, struct portier_route_ha *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_route_ha *v;

	memset(out, 0, sizeof(*out));
	if (ncpu < 0)
		return ncpu;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_route_ha), &route_id, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int i = 0; i < ncpu; i++) {
		out->recreated += v[i].recreated;
		out->stateless_replies += v[i].stateless_replies;
	}
	free(v);
	return 0;
}

void pt_dp_pool_policy(const struct pt_dataplane *dp, struct pt_policy *out)
{
	pt_policy_copy(out, &dp->pool_policy);
}

static int view_cmp(const void *a, const void *b)
{
	const struct pt_dp_route_view *x = a, *y = b;

	return strcmp(x->meta.name, y->meta.name);
}

size_t pt_dp_view(const struct pt_dataplane *dp, struct pt_dp_route_view **out)
{
	struct pt_dp_route_view *v = NULL;
	size_t n = 0;

	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		const struct dp_route *o = &dp->routes[id];
		struct pt_dp_route_view *r;

		if (!o->used)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->id = id;
		r->meta = o->meta;
		r->flags = o->flags;
		r->table_size = table_loaded_size(dp, id);
		pt_policy_copy(&r->policy, &o->policy);
		r->rl = o->rl;
		r->n_be = o->n_be;
		r->be = xcalloc(o->n_be + 1, sizeof(*r->be));
		for (size_t i = 0; i < o->n_be; i++) {
			const struct dp_backend *b = &dp->backends[o->be[i]];

			r->be[i].id = o->be[i];
			r->be[i].addr = b->addr;
			r->be[i].port = b->port;
			r->be[i].local = b->local;
			r->be[i].state = b->state;
			r->be[i].weight = b->weight;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), view_cmp);
	*out = v;
	return n;
}

void pt_dp_view_free(struct pt_dp_route_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].be);
		pt_policy_free(&v[i].policy);
	}
	free(v);
}
