// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_runtime.c - changes made at runtime, by the CLI or the daemon's health
 * checks, to what is loaded: routes added and deleted, source policy
 * entries and rate limits, a backend's state bits (drained, down).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

static bool keep_all(struct pt_dataplane *dp, __u32 id, void *arg)
{
	(void)dp;
	(void)id;
	(void)arg;
	return true;
}

static bool keep_other(struct pt_dataplane *dp, __u32 id, void *arg)
{
	return strcmp(dp->routes[id].meta.name, arg) != 0;
}

int pt_dp_route_add(struct pt_dataplane *dp, const struct pt_route *r)
{
	struct pt_routeset one = { .routes = (struct pt_route *)r, .n_routes = 1 };
	struct portier_svc_key k;
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	svc_key(r, &k);
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !err; id++) {
		const struct dp_route *o = &dp->routes[id];

		if (!o->used)
			continue;
		if (!strcmp(o->meta.name, r->name))
			err = fail(-EEXIST, "route '%s' exists already; 'portier route del %s' "
				   "first to replace it", r->name, r->name);
		else if (!memcmp(&o->key, &k, sizeof(k)))
			err = fail(-EEXIST, "route '%s' listens on that address, port and "
				   "protocol already", o->meta.name);
	}
	if (!err) {
		merged_init(&m, dp, &one, PORTIER_ORIGIN_RUNTIME);
		pt_policy_free(&m.rs.pool_policy);
		pt_policy_copy(&m.rs.pool_policy, &dp->pool_policy);
		merged_add_loaded(dp, &m, keep_all, NULL);
		err = apply_set(dp, &m.rs, m.origin, &wrote);
		merged_free(&m);
	}
	return tx_end(dp, wrote, err);
}

int pt_dp_route_del(struct pt_dataplane *dp, const char *name)
{
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	if (pt_dp_route_id(dp, name) < 0) {
		err = fail(-ENOENT, "no route '%s' is loaded; 'portier route show' lists them",
			   name);
	} else {
		merged_init(&m, dp, NULL, 0);
		merged_add_loaded(dp, &m, keep_other, (void *)name);
		err = apply_set(dp, &m.rs, m.origin, &wrote);
		merged_free(&m);
	}
	return tx_end(dp, wrote, err);
}

/* The loaded set with one change made by fn to the lists (route NULL: the
 * pool's) and rate limit of one route, applied. */
static int policy_change(struct pt_dataplane *dp, const char *route,
			 int (*fn)(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg),
			 void *arg)
{
	struct pt_policy *pol = NULL;
	struct pt_rate_limit *rl = NULL;
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	merged_init(&m, dp, NULL, 0);
	merged_add_loaded(dp, &m, keep_all, NULL);
	if (!route)
		pol = &m.rs.pool_policy;
	for (size_t i = 0; route && i < m.rs.n_routes && !pol; i++)
		if (!strcmp(m.rs.routes[i].name, route)) {
			pol = &m.rs.routes[i].policy;
			rl = &m.rs.routes[i].rate_limit;
		}
	if (!pol)
		err = fail(-ENOENT, "no route '%s' is loaded; 'portier route show' lists them",
			   route);
	if (!err)
		err = fn(pol, rl, arg);
	if (!err)
		err = apply_set(dp, &m.rs, m.origin, &wrote);
	merged_free(&m);
	return tx_end(dp, wrote, err);
}

struct policy_arg {
	const struct pt_cidr *net;
	enum pt_policy_action action;
	const char *whose;
};

static int policy_add_fn(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg)
{
	const struct policy_arg *a = arg;
	struct pt_policy_entry e = { .net = *a->net, .action = a->action, .runtime = true };
	char buf[PT_CIDR_BUF];

	(void)rl;
	if (pt_policy_find(pol, a->net, a->action, false, true) >= 0)
		return fail(-EEXIST, "the %s list of %s has %s already", pt_policy_action_name(a->action),
			    a->whose, pt_cidr_str(a->net, buf, sizeof(buf)));
	pt_policy_append(pol, &e);
	return 0;
}

static int policy_del_fn(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg)
{
	const struct policy_arg *a = arg;
	char buf[PT_CIDR_BUF];
	ssize_t i;
	bool found = false;

	(void)rl;
	while ((i = pt_policy_find(pol, a->net, a->action, false, true)) >= 0) {
		pt_policy_remove(pol, (size_t)i);
		found = true;
	}
	if (!found)
		return fail(-ENOENT, "the %s list of %s has no %s; 'portier policy show' lists "
			    "them", pt_policy_action_name(a->action), a->whose,
			    pt_cidr_str(a->net, buf, sizeof(buf)));
	return 0;
}

static int policy_entry(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
			enum pt_policy_action a, bool add)
{
	char *whose = route ? xasprintf("route '%s'", route) : xstrdup("the pool");
	struct policy_arg arg = { .net = net, .action = a, .whose = whose };
	int err = policy_change(dp, route, add ? policy_add_fn : policy_del_fn, &arg);

	free(whose);
	return err;
}

int pt_dp_policy_add(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
		     enum pt_policy_action a)
{
	return policy_entry(dp, route, net, a, true);
}

int pt_dp_policy_del(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
		     enum pt_policy_action a)
{
	return policy_entry(dp, route, net, a, false);
}

static int rate_set_fn(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg)
{
	const struct pt_rate_limit *want = arg;

	(void)pol;
	*rl = *want;
	rl->runtime = want->rate != 0;
	return 0;
}

int pt_dp_rate_limit_set(struct pt_dataplane *dp, const char *route,
			 const struct pt_rate_limit *rl)
{
	if (!route)
		return fail(-EINVAL, "a rate limit belongs to a route, not to the pool");
	return policy_change(dp, route, rate_set_fn, (void *)rl);
}

/* Write a backend's slot with its state bits, then its route's rotation. */
static int backend_write_state(struct pt_dataplane *dp, __u32 id)
{
	struct dp_backend *db = &dp->backends[id];
	struct dp_route *r = &dp->routes[db->route_id];
	struct portier_backend b = {};
	struct portier_route *rt;
	int err;

	addr_to_bpf(&db->addr, &b.addr);
	b.port = htons(db->port);
	b.family = addr_family_bpf(&db->addr);
	b.flags = PORTIER_BACKEND_F_USED | (db->local ? PORTIER_BACKEND_F_LOCAL : 0) |
		  flags_from_state(db->state);
	b.route_id = db->route_id;
	b.weight = (__u16)db->weight;
	rt = xmalloc(sizeof(*rt));
	rotation(dp, r->flags, &r->rl, r->be, r->n_be, NULL, NULL, rt);
	rt->table_size = r->meta.table_size;
	err = map_update(dp->skel->maps.portier_backends, &id, &b, "a backend");
	if (!err)
		err = table_write(dp, db->route_id, r->meta.name, rt, false);
	if (!err)
		err = map_update(dp->skel->maps.portier_routes, &db->route_id, rt, "a route");
	free(rt);
	return err;
}

int pt_dp_backend_set(struct pt_dataplane *dp, const char *route, const struct pt_addr *addr,
		      uint16_t port, unsigned int bit, bool on)
{
	bool wrote = false;
	int err = tx_begin(dp), id;

	if (err)
		return err;
	id = pt_dp_backend_id(dp, route, addr, port);
	if (id < 0) {
		char buf[INET6_ADDRSTRLEN];

		err = fail(id, pt_dp_route_id(dp, route) < 0 ?
			   "no route '%s' is loaded (backend %s:%u)" :
			   "route '%s' has no backend %s:%u", route,
			   pt_addr_str(addr, buf, sizeof(buf)), port);
	} else {
		unsigned int old = dp->backends[id].state;

		dp->backends[id].state = on ? old | bit : old & ~bit;
		wrote = old != dp->backends[id].state;
		if (wrote)
			err = backend_write_state(dp, id);
	}
	return tx_end(dp, wrote, err);
}
