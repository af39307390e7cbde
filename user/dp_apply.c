// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_apply.c - the second half of an apply: a plan (dp_plan.c) written
 * into the maps in an order that never shows packets a half state (see
 * plan_write), then made the mirror; and pt_dp_apply, the inventory's
 * routes with the runtime changes an apply keeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane_int.h"
#include "http_check.h"
#include "portier.skel.h"
#include "util.h"

/* Write one port's entry if it changes. */
static int write_port(struct pt_dataplane *dp, __u32 port, const struct portier_port *v)
{
	int err;

	if (!memcmp(&dp->ports[port], v, sizeof(*v)))
		return 0;
	err = map_update(dp->skel->maps.portier_ports, &port, v, "port flags");
	if (!err)
		dp->ports[port] = *v;
	return err;
}

/* Write the entries of want that change. An array map's value is copied
 * field by field under the program's reads: a port's only service is
 * written with PORTIER_PORT_ONE_SVC and _ONE_SVC6 clear, then the bits are
 * set, so that the program never takes a half-written service. */
static int write_ports(struct pt_dataplane *dp, const struct portier_port *want)
{
	for (__u32 port = 0; port < NPORTS; port++) {
		struct portier_port first = want[port];
		int err = 0;

		first.flags &= ~(PORTIER_PORT_ONE_SVC | PORTIER_PORT_ONE_SVC6);
		if (memcmp(&dp->ports[port], &want[port], sizeof(*want)))
			err = write_port(dp, port, &first);
		if (!err)
			err = write_port(dp, port, &want[port]);
		if (err)
			return err;
	}
	return 0;
}

/* A backend leaves route_id for good: add what it counted to the route's
 * retired totals (portier_route_stats, which only userspace writes), so the
 * route's sums do not go back. Its own slot is zeroed when reused. */
static int fold_backend_stats(struct pt_dataplane *dp, __u32 be_id, __u32 route_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_stats be, *rt;
	int err;

	if (ncpu <= 0)
		return fail(ncpu ? ncpu : -EINVAL, "cannot count CPUs");
	rt = xcalloc((size_t)ncpu, sizeof(*rt));
	err = pt_stats_sum(dp->skel->maps.portier_route_stats, route_id, &rt[0]);
	if (!err)
		err = pt_stats_sum(dp->skel->maps.portier_backend_stats, be_id, &be);
	if (err) {
		fail(err, "cannot read the counters of backend %u: %s", be_id, strerror(-err));
	} else {
		stats_add(&rt[0], &be);
		err = map_update(dp->skel->maps.portier_route_stats, &route_id, rt,
				 "a route's retired counters");
	}
	free(rt);
	return err;
}

static bool is_dead_backend(__u32 id, void *dead)
{
	return ((const bool *)dead)[id];
}

/* Delete every conntrack entry (both directions, both tables) of the
 * marked backends. */
static int ct_delete_backends(struct pt_dataplane *dp, const bool *dead)
{
	int err = pt_ct_delete_backends(dp->ct, is_dead_backend, (void *)dead, NULL);

	if (!err)
		err = pt_ct_delete_backends(dp->ct6, is_dead_backend, (void *)dead, NULL);

	return err ? fail(err, "cannot delete the flows of removed backends: %s",
			  strerror(-err)) : 0;
}

/* A route's metadata as stored in portier_route_meta. */
static void route_meta(const struct pt_route *r, __u8 origin, struct portier_route_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", r->name);
	snprintf(m->mode, sizeof(m->mode), "%s", r->mode ? r->mode : "tcp");
	svc_key(r, &m->key);
	m->options = r->options;
	m->nat = r->nat;
	m->balance = r->balance;
	m->table_size = r->table_size;
	m->origin = origin;
	m->syn_cookies = r->syn_cookies;
	pt_check_to_meta(&r->check, m);
	m->dest_port = r->dest_port;
	if (r->rate_limit.rate) {
		m->rl_rate = r->rate_limit.rate;
		m->rl_per_ms = r->rate_limit.per_ms;
		m->rl_burst = r->rate_limit.burst;
		m->rl_origin = r->rate_limit.runtime ? PORTIER_ORIGIN_RUNTIME :
						      PORTIER_ORIGIN_INVENTORY;
	}
}

/* The element of sorted v (n of them) with it's key, or NULL. */
static const struct pt_policy_item *trie_find(const struct pt_policy_item *v, size_t n,
					      const struct pt_policy_item *it)
{
	return n ? bsearch(it, v, n, sizeof(*v), pt_policy_item_cmp) : NULL;
}

/* Write the plan's policy elements that are new or changed and whose
 * decision is action: denials first, so that a change never admits for a
 * moment what both the old and the new lists refuse. */
static int policy_write(struct pt_dataplane *dp, const struct plan *p, __u8 action)
{
	for (size_t i = 0; i < p->n_trie; i++) {
		const struct pt_policy_item *it = &p->trie[i];
		const struct pt_policy_item *old = trie_find(dp->trie, dp->n_trie, it);
		int err;

		if (it->rule.action != action ||
		    (old && !memcmp(&old->rule, &it->rule, sizeof(it->rule))))
			continue;
		err = it->v6 ? map_update(dp->skel->maps.portier_policy6, &it->key6, &it->rule,
					  "an IPv6 policy entry") :
			       map_update(dp->skel->maps.portier_policy, &it->key, &it->rule,
					  "a policy entry");
		if (err)
			return err;
	}
	return 0;
}

/* Delete the elements of portier_policy and portier_policy6 that the plan
 * has not. */
static int policy_delete_gone(struct pt_dataplane *dp, const struct plan *p)
{
	for (size_t i = 0; i < dp->n_trie; i++) {
		int err;

		if (trie_find(p->trie, p->n_trie, &dp->trie[i]))
			continue;
		err = dp->trie[i].v6 ?
		      map_delete(dp->skel->maps.portier_policy6, &dp->trie[i].key6,
				 "an IPv6 policy entry") :
		      map_delete(dp->skel->maps.portier_policy, &dp->trie[i].key,
				 "a policy entry");
		if (err)
			return err;
	}
	return 0;
}

/* Write the plan into the maps, in the order described in dataplane.h. */
static int plan_write(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p)
{
	struct portier *s = dp->skel;
	struct portier_route *rt = xmalloc(sizeof(*rt));
	struct portier_port *ports = xcalloc(NPORTS, sizeof(*ports));
	bool *dead = xcalloc(PORTIER_MAX_BACKENDS, sizeof(bool));
	int err = 0;

	/* 1. Ports of both sets: nothing declared before or after passes as
	 * undeclared in between. A port's only service stays only where both
	 * sets name the same one: elsewhere the program looks services up in
	 * portier_services until step 8. */
	for (size_t i = 0; i < NPORTS; i++) {
		if (!memcmp(&p->ports[i], &dp->ports[i], sizeof(ports[i]))) {
			ports[i] = p->ports[i];
		} else {	/* the old service's fields stay: only the bit goes */
			ports[i] = dp->ports[i];
			ports[i].flags = (p->ports[i].flags | dp->ports[i].flags) &
					 ~(PORTIER_PORT_ONE_SVC | PORTIER_PORT_ONE_SVC6);
		}
	}
	err = write_ports(dp, ports);

	/* 2. Backends, before any rotation names them. */
	for (size_t i = 0; i < p->n && !err; i++) {
		const struct pt_route *r = &rs->routes[i];

		for (size_t j = 0; j < r->n_backends && !err; j++) {
			__u32 id = p->be_id[i][j];
			struct dp_backend *ob = &dp->backends[id];
			struct portier_backend b = {};

			if (p->be_kept[id] && ob->local == r->backends[j].local &&
			    ob->weight == r->backends[j].weight)
				continue;
			if (p->be_kept[id])
				b.flags = flags_from_state(ob->state);
			if (!p->be_kept[id]) {
				err = map_zero(s->maps.portier_backend_stats, id);
				if (!err)
					err = map_zero(s->maps.portier_snat_cursor, id);
			}
			addr_to_bpf(&r->backends[j].addr, &b.addr);
			b.port = htons(r->backends[j].port);
			b.family = addr_family_bpf(&r->backends[j].addr);
			b.flags |= PORTIER_BACKEND_F_USED |
				   (r->backends[j].local ? PORTIER_BACKEND_F_LOCAL : 0);
			b.route_id = p->route_id[i];
			b.weight = (__u16)r->backends[j].weight;
			if (!err)
				err = map_update(s->maps.portier_backends, &id, &b, "a backend");
		}
	}

	/* 2b. Policy entries of the set, denials first: in place before a
	 * rotation asks for them (PORTIER_ROUTE_F_POLICY) and before a new
	 * service is reachable. */
	if (!err)
		err = policy_write(dp, p, PORTIER_POLICY_DENY);
	if (!err)
		err = policy_write(dp, p, PORTIER_POLICY_ALLOW);

	/* 3. Metadata and rotations, whole; a new route starts its counters
	 * at zero. A new route's maglev table goes in with the others' by one
	 * batch update after the loop (dp_maglev.c): no packet reaches the
	 * route before its service is written (4). */
	table_batch_begin(dp);
	for (size_t i = 0; i < p->n && !err; i++) {
		const struct pt_route *r = &rs->routes[i];
		__u32 id = p->route_id[i];
		unsigned int *state = xcalloc(r->n_backends + 1, sizeof(*state));
		unsigned int *weight = xcalloc(r->n_backends + 1, sizeof(*weight));
		struct portier_route_meta meta;

		route_meta(r, p->origin ? p->origin[i] : PORTIER_ORIGIN_INVENTORY, &meta);
		err = map_update(s->maps.portier_route_meta, &id, &meta, "route metadata");

		for (size_t j = 0; j < r->n_backends; j++) {
			if (p->be_kept[p->be_id[i][j]])
				state[j] = dp->backends[p->be_id[i][j]].state;
			weight[j] = r->backends[j].weight;
		}
		rotation(dp, route_flags(r, rs->pool_policy.n), &r->rate_limit, p->be_id[i],
			 r->n_backends, state, weight, rt);
		rt->table_size = r->table_size;
		free(state);
		free(weight);
		if (!err && !p->route_kept[id]) {
			err = map_zero(s->maps.portier_route_stats, id);
			if (!err)
				err = map_zero(s->maps.portier_rr, id);
			if (!err)
				err = map_zero(s->maps.portier_route_refused, id);
			if (!err)
				err = map_zero(s->maps.portier_route_ha, id);
			/* Nor does it inherit a former route's cookie counters
			 * or "auto" state (on_until_ns). */
			if (!err)
				err = map_zero(s->maps.portier_syn_guard, id);
		}
		if (!err)
			err = table_write(dp, id, r->name, rt, !p->route_kept[id]);
		if (!err)
			err = map_update(s->maps.portier_routes, &id, rt, "a route");
	}
	{
		int terr = table_batch_end(dp, !err);

		if (!err)
			err = terr;
	}

	/* 4. Services of the set (a key moved between routes is replaced). */
	for (size_t i = 0; i < p->n && !err; i++) {
		struct portier_svc_key k;
		struct portier_svc v = { .route_id = p->route_id[i] };

		svc_key(&rs->routes[i], &k);
		if (p->route_kept[v.route_id])
			continue;
		err = map_update(s->maps.portier_services, &k, &v, "a service");
	}

	/* 4b. The services of dnat backends, for replies that no flow knows:
	 * the backends and routes they name are in place; a backend gone
	 * loses its entry before its slot is freed (step 7). */
	if (!err)
		err = reply_svc_write(dp, rs, p);

	/* 5. Services gone, then 6. their routes. */
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !err; id++) {
		bool still = false;

		if (!dp->routes[id].used || p->route_kept[id])
			continue;
		for (size_t i = 0; i < p->n && !still; i++) {
			struct portier_svc_key k;

			svc_key(&rs->routes[i], &k);
			still = !memcmp(&k, &dp->routes[id].key, sizeof(k));
		}
		if (!still)
			err = map_delete(s->maps.portier_services, &dp->routes[id].key,
					 "a service");
	}
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !err; id++) {
		if (!dp->routes[id].used || p->route_kept[id])
			continue;
		err = map_delete(s->maps.portier_routes, &id, "a route");
		if (!err)
			err = table_delete(dp, id);
		if (!err)
			err = map_delete(s->maps.portier_route_meta, &id, "route metadata");
	}

	/* 6b. Policy entries gone (their routes are gone, or their lists
	 * changed). */
	if (!err)
		err = policy_delete_gone(dp, p);

	/* 7. Backends gone: their flows, then their slots. */
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS; id++)
		dead[id] = dp->backends[id].used && !p->be_kept[id];
	if (!err)
		err = ct_delete_backends(dp, dead);
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS && !err; id++) {
		struct portier_backend b = {};
		__u32 rid = dp->backends[id].route_id;

		if (!dead[id])
			continue;
		if (rid < PORTIER_MAX_ROUTES && p->route_kept[rid])
			err = fold_backend_stats(dp, id, rid);
		if (!err)
			err = map_update(s->maps.portier_backends, &id, &b, "a free slot");
	}

	/* 8. Ports of the set only, with their only services (in
	 * portier_services since step 4). */
	if (!err)
		err = write_ports(dp, p->ports);
	free(dead);
	free(ports);
	free(rt);
	return err;
}

/* Make the mirror hold rs with the plan's ids. */
static void plan_commit(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p)
{
	struct dp_backend *nb = xcalloc(PORTIER_MAX_BACKENDS, sizeof(*nb));

	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];

		for (size_t j = 0; j < r->n_backends; j++) {
			__u32 id = p->be_id[i][j];

			nb[id].used = true;
			nb[id].route_id = p->route_id[i];
			nb[id].addr = r->backends[j].addr;
			nb[id].port = r->backends[j].port;
			nb[id].local = r->backends[j].local;
			nb[id].weight = r->backends[j].weight;
			nb[id].state = p->be_kept[id] ? dp->backends[id].state : 0;
		}
	}
	free(dp->backends);
	dp->backends = nb;
	for (size_t id = 0; id < PORTIER_MAX_ROUTES; id++) {
		free(dp->routes[id].be);
		pt_policy_free(&dp->routes[id].policy);
		memset(&dp->routes[id], 0, sizeof(dp->routes[id]));
	}
	pt_policy_free(&dp->pool_policy);
	pt_policy_copy(&dp->pool_policy, &rs->pool_policy);
	free(dp->trie);
	dp->trie = p->trie;
	dp->n_trie = p->n_trie;
	p->trie = NULL;
	p->n_trie = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];
		struct dp_route *o = &dp->routes[p->route_id[i]];

		o->used = true;
		o->named = true;
		route_meta(r, p->origin ? p->origin[i] : PORTIER_ORIGIN_INVENTORY, &o->meta);
		svc_key(r, &o->key);
		o->flags = route_flags(r, rs->pool_policy.n);
		pt_policy_copy(&o->policy, &r->policy);
		o->rl = r->rate_limit;
		o->n_be = r->n_backends;
		o->be = xcalloc(r->n_backends + 1, sizeof(__u32));
		memcpy(o->be, p->be_id[i], r->n_backends * sizeof(__u32));
	}
}

/* Write exactly rs (routes of the given origins) into the maps. *wrote says
 * whether any map may have changed. */
int apply_set(struct pt_dataplane *dp, const struct pt_routeset *rs, const __u8 *origin,
	      bool *wrote)
{
	struct plan p = { .origin = origin };
	int err;

	err = validate(rs);
	if (!err)
		err = plan_make(dp, rs, &p);
	if (!err) {
		*wrote = true;
		err = plan_write(dp, rs, &p);
	}
	if (!err)
		plan_commit(dp, rs, &p);
	plan_free(&p);
	return err;
}

/* Keep a runtime route through an inventory apply unless an inventory route
 * takes its name or its listen key (then warn). */
static bool keep_runtime(struct pt_dataplane *dp, __u32 id, void *arg)
{
	const struct pt_routeset *rs = arg;
	const struct dp_route *o = &dp->routes[id];

	if (o->meta.origin != PORTIER_ORIGIN_RUNTIME)
		return false;
	for (size_t i = 0; i < rs->n_routes; i++) {
		struct portier_svc_key k;

		svc_key(&rs->routes[i], &k);
		if (!strcmp(rs->routes[i].name, o->meta.name) || !memcmp(&k, &o->key, sizeof(k))) {
			dp_warn(dp, "runtime route '%s' is replaced by inventory route '%s' "
			     "(same %s)", o->meta.name, rs->routes[i].name,
			     strcmp(rs->routes[i].name, o->meta.name) ?
			     "address, port and protocol" : "name");
			return false;
		}
	}
	return true;
}

/* Runtime entries of from appended to to. */
static void policy_add_runtime(struct pt_policy *to, const struct pt_policy *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (from->v[i].runtime)
			pt_policy_append(to, &from->v[i]);
}

/* What runtime changes an inventory apply keeps (docs/operations.md): the
 * runtime policy entries of the pool and of every route still loaded
 * under its name, and a runtime rate limit of a route whose inventory
 * declares none. */
static void keep_runtime_policy(const struct pt_dataplane *dp, struct merged *m)
{
	policy_add_runtime(&m->rs.pool_policy, &dp->pool_policy);
	for (size_t i = 0; i < m->n_borrowed; i++) {
		struct pt_route *r = &m->rs.routes[i];
		int id = pt_dp_route_id(dp, r->name);

		if (id < 0)
			continue;
		policy_add_runtime(&r->policy, &dp->routes[id].policy);
		if (!r->rate_limit.rate && dp->routes[id].rl.runtime)
			r->rate_limit = dp->routes[id].rl;
	}
}

int pt_dp_apply(struct pt_dataplane *dp, const struct pt_routeset *rs)
{
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	err = validate(rs);
	if (!err) {
		merged_init(&m, dp, rs, PORTIER_ORIGIN_INVENTORY);
		keep_runtime_policy(dp, &m);
		merged_add_loaded(dp, &m, keep_runtime, (void *)rs);
		err = apply_set(dp, &m.rs, m.origin, &wrote);
		merged_free(&m);
	}
	if (!err) {	/* egress rules (dp_egress.c) */
		wrote = true;
		err = pt_dp_egress_apply(dp, rs->egress);
	}
	if (err)
		warnings_clear(dp);
	return tx_end(dp, wrote, err);
}
