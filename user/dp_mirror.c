// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_mirror.c - the userspace mirror of what the maps hold (struct
 * pt_dataplane's routes, backends, ports, policy): rebuilt from the maps,
 * the single source of truth, and turned back into route sets for the next
 * change to write (struct merged). The mirror lets pt_dp_apply compute
 * the difference and write it in an order that never shows packets a half
 * state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "http_check.h"
#include "portier.skel.h"
#include "util.h"

void mirror_clear(struct pt_dataplane *dp)
{
	for (size_t i = 0; i < PORTIER_MAX_ROUTES; i++) {
		free(dp->routes[i].be);
		pt_policy_free(&dp->routes[i].policy);
	}
	pt_policy_free(&dp->pool_policy);
	free(dp->trie);
	dp->trie = NULL;
	dp->n_trie = 0;
	memset(dp->routes, 0, PORTIER_MAX_ROUTES * sizeof(*dp->routes));
	memset(dp->backends, 0, PORTIER_MAX_BACKENDS * sizeof(*dp->backends));
}

/* Read every element of an array map into out (n values of size sz). */
static void array_read(struct bpf_map *m, __u32 n, size_t sz, void *out)
{
	int fd = bpf_map__fd(m);
	__u32 count = n, out_batch = 0;
	__u32 *keys = xcalloc(n, sizeof(*keys));

	/* One batch syscall where the kernel has it, else one per element. */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, out, &count, NULL) &&
	    (errno != ENOENT || count != n))
		for (__u32 k = 0; k < n; k++)
			if (bpf_map_lookup_elem(fd, &k, (char *)out + k * sz))
				memset((char *)out + k * sz, 0, sz);
	free(keys);
}

/* Append map fd's elements (portier_policy, or portier_policy6 if v6) to
 * dp->trie, at most PORTIER_MAX_POLICY of each. */
static void read_trie(struct pt_dataplane *dp, int fd, bool v6)
{
	struct pt_policy_item it, prev_it;
	void *prev = NULL;
	size_t n = 0;

	memset(&prev_it, 0, sizeof(prev_it));
	while (n < PORTIER_MAX_POLICY) {
		memset(&it, 0, sizeof(it));
		it.v6 = v6;
		if (bpf_map_get_next_key(fd, prev, v6 ? (void *)&it.key6 : (void *)&it.key))
			break;
		prev_it = it;
		prev = v6 ? (void *)&prev_it.key6 : (void *)&prev_it.key;
		if (bpf_map_lookup_elem(fd, prev, &it.rule))
			continue;
		dp->trie = xrealloc(dp->trie, (dp->n_trie + 1) * sizeof(*dp->trie));
		dp->trie[dp->n_trie++] = it;
		n++;
	}
}

/* The policy part of the mirror from portier_policy and portier_policy6
 * (every element, sorted) and the routes' metadata (rate limits); entries
 * of a scope no loaded route has are left in dp->trie for the next apply
 * to delete. */
static void resync_policy(struct pt_dataplane *dp)
{
	read_trie(dp, bpf_map__fd(dp->skel->maps.portier_policy), false);
	read_trie(dp, bpf_map__fd(dp->skel->maps.portier_policy6), true);
	if (dp->n_trie)
		qsort(dp->trie, dp->n_trie, sizeof(*dp->trie), pt_policy_item_cmp);
	for (size_t i = 0; i < dp->n_trie; i++) {
		__u32 scope = dp->trie[i].v6 ? dp->trie[i].key6.scope : dp->trie[i].key.scope;

		if (scope == PORTIER_POLICY_POOL)
			pt_policy_decompile(&dp->trie[i], &dp->pool_policy);
		else if (scope < PORTIER_MAX_ROUTES && dp->routes[scope].used)
			pt_policy_decompile(&dp->trie[i], &dp->routes[scope].policy);
	}
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		struct dp_route *r = &dp->routes[id];

		if (!r->used || !r->named || !r->meta.rl_rate)
			continue;
		r->rl.rate = r->meta.rl_rate;
		r->rl.per_ms = r->meta.rl_per_ms;
		r->rl.burst = r->meta.rl_burst;
		r->rl.runtime = r->meta.rl_origin == PORTIER_ORIGIN_RUNTIME;
	}
}

/* Rebuild the mirror from the maps, the single source of truth: routes by
 * their services, named by portier_route_meta (a route without metadata,
 * from pins of an older version, is matched by its listen key at the next
 * apply); backends with their state bits. */
int resync(struct pt_dataplane *dp)
{
	struct portier *s = dp->skel;
	struct portier_svc_key key, next;
	struct portier_svc svc;
	struct portier_route *rt = xmalloc(sizeof(*rt));
	struct portier_backend *bes = xcalloc(PORTIER_MAX_BACKENDS, sizeof(*bes));
	struct portier_state st = {};
	int svc_fd = bpf_map__fd(s->maps.portier_services);
	void *prev = NULL;

	bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_state), &(__u32){ 0 }, &st);
	mirror_clear(dp);
	array_read(s->maps.portier_backends, PORTIER_MAX_BACKENDS, sizeof(*bes), bes);
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS; id++) {
		struct portier_backend *b = &bes[id];
		struct dp_backend *db = &dp->backends[id];

		if (!(b->flags & PORTIER_BACKEND_F_USED) || b->route_id >= PORTIER_MAX_ROUTES)
			continue;
		db->used = true;
		db->route_id = b->route_id;
		addr_from_bpf(&b->addr, b->family, &db->addr);
		db->port = ntohs(b->port);
		db->local = b->flags & PORTIER_BACKEND_F_LOCAL;
		db->weight = b->weight;
		db->state = state_from_flags(b->flags);
	}
	free(bes);
	while (!bpf_map_get_next_key(svc_fd, prev, &next)) {
		struct dp_route *r;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(svc_fd, &key, &svc) || svc.route_id >= PORTIER_MAX_ROUTES)
			continue;
		r = &dp->routes[svc.route_id];
		r->used = true;
		r->key = key;
		if (!bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_routes), &svc.route_id, rt))
			r->flags = rt->flags;
		r->named = !bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_route_meta),
						&svc.route_id, &r->meta) &&
			   !memcmp(&r->meta.key, &key, sizeof(key));
		if (!r->named) {	/* pins of an older version: a made-up name */
			memset(&r->meta, 0, sizeof(r->meta));
			snprintf(r->meta.name, sizeof(r->meta.name), "route-%u", svc.route_id);
			snprintf(r->meta.mode, sizeof(r->meta.mode), "tcp");
			r->meta.key = key;
			r->meta.nat = r->flags & PORTIER_ROUTE_F_DNAT ? PT_NAT_DNAT : PT_NAT_SNAT;
		}
		r->meta.name[PORTIER_ROUTE_NAME_MAX - 1] = '\0';
		r->meta.mode[PORTIER_ROUTE_MODE_MAX - 1] = '\0';
	}
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS; id++) {
		struct dp_backend *db = &dp->backends[id];
		struct dp_route *r = &dp->routes[db->route_id];

		if (!db->used)
			continue;
		if (!r->used) {	/* orphan: no service names its route */
			db->used = false;
			continue;
		}
		r->be = xrealloc(r->be, (r->n_be + 1) * sizeof(*r->be));
		r->be[r->n_be++] = id;
	}
	resync_policy(dp);
	array_read(s->maps.portier_ports, NPORTS, sizeof(*dp->ports), dp->ports);
	bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_config), &(__u32){ 0 }, &dp->cfg);
	free(rt);
	dp->generation = st.generation;
	dp->stale = false;
	return 0;
}

/* A loaded route as a struct pt_route (backends without host names). */
static void route_from_mirror(const struct pt_dataplane *dp, __u32 id, struct pt_route *r)
{
	const struct dp_route *o = &dp->routes[id];
	struct portier_addr zero = {};

	memset(r, 0, sizeof(*r));
	r->name = xstrdup(o->meta.name);
	r->mode = xstrdup(o->meta.mode);
	r->wildcard = !memcmp(&o->key.addr, &zero, sizeof(zero));
	if (!r->wildcard)
		addr_from_bpf(&o->key.addr, o->key.family, &r->addr);
	r->family = o->key.family == PORTIER_AF_INET6 ? AF_INET6 : AF_INET;
	r->port = ntohs(o->key.port);
	r->proto = o->key.proto;
	r->balance = o->meta.balance;
	r->table_size = o->meta.table_size;
	r->nat = o->meta.nat;
	r->options = o->meta.options;
	r->syn_cookies = o->meta.syn_cookies;
	r->dest_port = o->meta.dest_port;
	r->check = pt_check_from_meta(&o->meta);
	pt_policy_copy(&r->policy, &o->policy);
	r->rate_limit = o->rl;
	r->n_backends = o->n_be;
	r->backends = xcalloc(o->n_be + 1, sizeof(*r->backends));
	for (size_t i = 0; i < o->n_be; i++) {
		const struct dp_backend *b = &dp->backends[o->be[i]];

		r->backends[i].addr = b->addr;
		r->backends[i].port = b->port;
		r->backends[i].local = b->local;
		r->backends[i].weight = b->weight;
	}
}

static void route_free_fields(struct pt_route *r)
{
	free(r->name);
	free(r->mode);
	free(r->backends);
	pt_policy_free(&r->policy);
}

void merged_add_loaded(struct pt_dataplane *dp, struct merged *m,
		       bool (*keep)(struct pt_dataplane *dp, __u32 id, void *arg), void *arg)
{
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		if (!dp->routes[id].used || !keep(dp, id, arg))
			continue;
		m->rs.routes = xrealloc(m->rs.routes, (m->rs.n_routes + 1) * sizeof(*m->rs.routes));
		m->origin = xrealloc(m->origin, (m->rs.n_routes + 1) * sizeof(*m->origin));
		route_from_mirror(dp, id, &m->rs.routes[m->rs.n_routes]);
		m->origin[m->rs.n_routes++] = dp->routes[id].meta.origin;
	}
}

void merged_init(struct merged *m, const struct pt_dataplane *dp,
		 const struct pt_routeset *first, __u8 origin)
{
	memset(m, 0, sizeof(*m));
	if (!first) {
		pt_policy_copy(&m->rs.pool_policy, &dp->pool_policy);
		return;
	}
	m->rs = *first;
	pt_policy_copy(&m->rs.pool_policy, &first->pool_policy);
	m->rs.routes = xcalloc(first->n_routes + 1, sizeof(*m->rs.routes));
	memcpy(m->rs.routes, first->routes, first->n_routes * sizeof(*first->routes));
	for (size_t i = 0; i < first->n_routes; i++)
		pt_policy_copy(&m->rs.routes[i].policy, &first->routes[i].policy);
	m->origin = xcalloc(first->n_routes + 1, sizeof(*m->origin));
	memset(m->origin, origin, first->n_routes);
	m->n_borrowed = first->n_routes;
}

void merged_free(struct merged *m)
{
	for (size_t i = 0; i < m->n_borrowed; i++)
		pt_policy_free(&m->rs.routes[i].policy);
	for (size_t i = m->n_borrowed; i < m->rs.n_routes; i++)
		route_free_fields(&m->rs.routes[i]);
	pt_policy_free(&m->rs.pool_policy);
	free(m->rs.routes);
	free(m->origin);
}
