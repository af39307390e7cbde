// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_plan.c - the first half of an apply, before any map is written: the
 * route set validated, matched against what is loaded (a route keeps its
 * id while its name and listen key stay, a backend while its route and
 * addr:port stay), ids allocated for the rest, the port filter and the
 * policy trie computed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane_int.h"
#include "maglev.h"
#include "util.h"

void plan_free(struct plan *p)
{
	for (size_t i = 0; p->be_id && i < p->n; i++)
		free(p->be_id[i]);
	free(p->be_id);
	free(p->route_id);
	free(p->route_kept);
	free(p->route_taken);
	free(p->be_kept);
	free(p->be_taken);
	free(p->ports);
	free(p->trie);
}

/* A route's balance settings (routes.c checks them in an inventory, "route
 * add" on its command line): a maglev or source route's table is a prime
 * of more than 100 slots a backend, a weighted rotation fits. */
static int validate_balance(const struct pt_route *r)
{
	unsigned int w[PORTIER_MAX_ROUTE_BACKENDS], g, turns;

	for (size_t j = 0; j < r->n_backends; j++)
		if (r->backends[j].weight > PT_WEIGHT_MAX)
			return fail(-EINVAL, "route '%s': backend %zu has weight %u, more than "
				    "%u", r->name, j, r->backends[j].weight, PT_WEIGHT_MAX);
	if (r->balance == PT_BALANCE_ROUNDROBIN) {
		for (size_t j = 0; j < r->n_backends; j++)
			w[j] = r->backends[j].weight;
		turns = pt_rr_turns(w, r->n_backends, &g);
		if (turns > PORTIER_MAX_ROUTE_BACKENDS)
			return fail(-EINVAL, "route '%s': " PT_RR_WEIGHTS_FMT, r->name, "weight",
				    r->n_backends, turns, g, PORTIER_MAX_ROUTE_BACKENDS);
		return 0;
	}
	if (r->balance != PT_BALANCE_MAGLEV && r->balance != PT_BALANCE_SOURCE)
		return fail(-EINVAL, "route '%s': balance %u is not roundrobin, maglev or source",
			    r->name, r->balance);
	if (r->table_size < PT_MAGLEV_SIZE_MIN || r->table_size > PT_MAGLEV_SIZE_MAX ||
	    !pt_is_prime(r->table_size))
		return fail(-EINVAL, "route '%s': maglev table size %u is not a prime from %u to "
			    "%u", r->name, r->table_size, PT_MAGLEV_SIZE_MIN, PT_MAGLEV_SIZE_MAX);
	if (!pt_table_size_fits(r->table_size, r->n_backends))
		return fail(-EINVAL, "route '%s': " PT_TABLE_SIZE_SMALL_FMT, r->name,
			    r->table_size, r->n_backends, PT_MAGLEV_SLOTS_PER_BACKEND,
			    "the table size", pt_table_size_needed(r->n_backends));
	return 0;
}

/* Every entry of a policy is an IPv4 or IPv6 network without host bits
 * (checked before any write: nothing is half-applied). */
static int validate_policy(const struct pt_policy *pol, const char *whose)
{
	for (size_t i = 0; i < pol->n; i++) {
		const struct pt_cidr *c = &pol->v[i].net;
		char buf[PT_CIDR_BUF];

		if (c->addr.family != AF_INET && c->addr.family != AF_INET6)
			return fail(-EINVAL, "%s: policy entry %zu is not an IPv4 or IPv6 network",
				    whose, i);
		if (!pt_cidr_valid(c))
			return fail(-EINVAL, "%s: %s has host bits set or a length past the "
				    "address; give the network address", whose,
				    pt_cidr_str(c, buf, sizeof(buf)));
	}
	return 0;
}

/* The first clash of pt_reply_clashes, as the error. */
static void first_clash(const struct pt_reply_clash *c, void *arg)
{
	int *err = arg;
	char *m;

	if (*err)
		return;
	m = pt_reply_clash_msg(c);
	*err = fail(-EINVAL, "%s", m);
	free(m);
}

/* No backend of two dnat routes with different services: each backend's
 * replies translate back to one (portier_reply_svc). The whole set, as
 * it will be loaded (a runtime route added beside the inventory's). */
static int validate_reply_svc(const struct pt_routeset *rs)
{
	const struct pt_route **v = xcalloc(rs->n_routes + 1, sizeof(*v));
	int err = 0;

	for (size_t i = 0; i < rs->n_routes; i++)
		v[i] = &rs->routes[i];
	pt_reply_clashes(v, rs->n_routes, first_clash, &err);
	free(v);
	return err;
}

int validate(const struct pt_routeset *rs)
{
	int err;

	if (rs->n_routes > PORTIER_MAX_ROUTES)
		return fail(-E2BIG, "%zu routes, at most %d", rs->n_routes, PORTIER_MAX_ROUTES);
	err = validate_policy(&rs->pool_policy, "the pool");
	if (err)
		return err;
	for (size_t i = 0; i < rs->n_routes; i++) {
		const struct pt_route *r = &rs->routes[i];
		char *whose = xasprintf("route '%s'", r->name ? r->name : "?");
		const char *why;
		char addr[INET6_ADDRSTRLEN];

		err = validate_policy(&r->policy, whose);
		free(whose);
		if (err)
			return err;
		if (r->rate_limit.rate && pt_rate_limit_check(&r->rate_limit, &why))
			return fail(-EINVAL, "route '%s': rate limit: %s", r->name, why);

		if (!r->name || !*r->name)
			return fail(-EINVAL, "route %zu has no name", i);
		if (strlen(r->name) >= PORTIER_ROUTE_NAME_MAX)
			return fail(-ENAMETOOLONG, "route name '%s' is longer than %d characters",
				    r->name, PORTIER_ROUTE_NAME_MAX - 1);
		if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
			return fail(-EINVAL, "route '%s': protocol %u is not tcp or udp",
				    r->name, r->proto);
		if (!r->wildcard && r->addr.family != AF_INET && r->addr.family != AF_INET6)
			return fail(-EAFNOSUPPORT, "route '%s': its address is not IPv4 or IPv6",
				    r->name);
		if (!r->wildcard && r->addr.family != pt_route_family(r))
			return fail(-EINVAL, "route '%s': address of family %d, route of "
				    "family %d", r->name, r->addr.family, pt_route_family(r));
		if (!r->wildcard && (r->addr.family == AF_INET6 ?
				     IN6_IS_ADDR_UNSPECIFIED(&r->addr.v6) : !r->addr.v4.s_addr))
			return fail(-EINVAL, "route '%s': address %s is not one address; "
				    "use \"*\" for every address on the input side", r->name,
				    r->addr.family == AF_INET6 ? "::" : "0.0.0.0");
		if (!r->wildcard && (why = pt_addr6_unusable(&r->addr)))
			return fail(-EINVAL, "route '%s': address %s is %s; use a global IPv6 "
				    "address or \"*\"", r->name,
				    pt_addr_str(&r->addr, addr, sizeof(addr)), why);
		if (!r->port)
			return fail(-EINVAL, "route '%s': port 0", r->name);
		if (r->n_backends > PORTIER_MAX_ROUTE_BACKENDS)
			return fail(-E2BIG, "route '%s': %zu backends, at most %d", r->name,
				    r->n_backends, PORTIER_MAX_ROUTE_BACKENDS);
		err = validate_balance(r);
		if (err)
			return err;
		for (size_t j = 0; j < r->n_backends; j++) {
			const struct pt_backend *b = &r->backends[j];

			if (b->addr.family != pt_route_family(r))
				return fail(-EINVAL, "route '%s': backend %s is not %s, the "
					    "route's family (a dual route is two routes, one per "
					    "family; portier does not translate between them)",
					    r->name, pt_addr_str(&b->addr, addr, sizeof(addr)),
					    pt_route_family(r) == AF_INET6 ? "IPv6" : "IPv4");
			if ((why = pt_addr6_unusable(&b->addr)))
				return fail(-EINVAL, "route '%s': backend %s is %s", r->name,
					    pt_addr_str(&b->addr, addr, sizeof(addr)), why);
			if (!b->port)
				return fail(-EINVAL, "route '%s': backend %zu has port 0",
					    r->name, j);
			if (b->local && b->port != r->port) {
				char a[PT_ADDRPORT_STRLEN];

				return fail(-EINVAL, "route '%s': backend %s is this host, but "
					    "the route listens on port %u: local traffic is "
					    "delivered unchanged, so a local backend must use the "
					    "listening port", r->name,
					    pt_addrport_str(&b->addr, b->port, a, sizeof(a)), r->port);
			}
			for (size_t k = 0; k < j; k++)
				if (pt_addr_equal(&b->addr, &r->backends[k].addr) &&
				    b->port == r->backends[k].port)
					return fail(-EINVAL, "route '%s': backend %zu repeats "
						    "backend %zu", r->name, j, k);
		}
		for (size_t k = 0; k < i; k++) {
			const struct pt_route *o = &rs->routes[k];
			struct portier_svc_key a, b;

			if (!strcmp(o->name, r->name))
				return fail(-EINVAL, "route '%s' is declared twice", r->name);
			svc_key(r, &a);
			svc_key(o, &b);
			if (!memcmp(&a, &b, sizeof(a)))
				return fail(-EINVAL, "routes '%s' and '%s' listen on the same "
					    "address, port and protocol", o->name, r->name);
		}
	}
	return validate_reply_svc(rs);
}

static int take_free(bool *taken, size_t n, __u32 *id)
{
	for (size_t i = 0; i < n; i++)
		if (!taken[i]) {
			taken[i] = true;
			*id = i;
			return 0;
		}
	return -ENOSPC;
}

/* Mark each port that has exactly one IPv4 service of rs with that service
 * (PORTIER_PORT_ONE_SVC), and each that has exactly one IPv6 service with
 * that one (PORTIER_PORT_ONE_SVC6): the program then takes a new flow's
 * route from the port filter's entry instead of a portier_services
 * lookup. The families count apart. */
static void one_services(const struct pt_routeset *rs, struct plan *p)
{
	uint16_t *n = xcalloc(2 * NPORTS, sizeof(*n));
	size_t *at = xcalloc(2 * NPORTS, sizeof(*at));

	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];
		size_t slot = (pt_route_family(r) == AF_INET ? 0 : NPORTS) + r->port;

		if (n[slot] < UINT16_MAX)
			n[slot]++;
		at[slot] = i;
	}
	for (size_t port = 0; port < NPORTS; port++) {
		const struct pt_route *r = &rs->routes[at[port]];
		const struct pt_route *r6 = &rs->routes[at[NPORTS + port]];
		struct portier_port *pp = &p->ports[port];

		if (n[port] == 1) {
			pp->flags |= PORTIER_PORT_ONE_SVC;
			pp->svc_addr = r->wildcard ? 0 : r->addr.v4.s_addr;
			pp->svc_route = (__u16)p->route_id[at[port]];
			pp->svc_proto = r->proto;
		}
		if (n[NPORTS + port] == 1) {
			pp->flags |= PORTIER_PORT_ONE_SVC6;
			memset(&pp->svc6_addr, 0, sizeof(pp->svc6_addr));
			if (!r6->wildcard)
				addr_to_bpf(&r6->addr, &pp->svc6_addr);
			pp->svc6_route = (__u16)p->route_id[at[NPORTS + port]];
			pp->svc6_proto = r6->proto;
		}
	}
	free(n);
	free(at);
}

/* Match the set against what is loaded; allocate ids for the rest. */
int plan_make(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p)
{
	size_t n6 = 0;

	p->n = rs->n_routes;
	p->route_id = xcalloc(p->n + 1, sizeof(*p->route_id));
	p->be_id = xcalloc(p->n + 1, sizeof(*p->be_id));
	p->route_kept = xcalloc(PORTIER_MAX_ROUTES, sizeof(bool));
	p->route_taken = xcalloc(PORTIER_MAX_ROUTES, sizeof(bool));
	p->be_kept = xcalloc(PORTIER_MAX_BACKENDS, sizeof(bool));
	p->be_taken = xcalloc(PORTIER_MAX_BACKENDS, sizeof(bool));
	p->ports = xcalloc(NPORTS, sizeof(*p->ports));

	for (size_t i = 0; i < PORTIER_MAX_ROUTES; i++)
		p->route_taken[i] = dp->routes[i].used;
	for (size_t i = 0; i < PORTIER_MAX_BACKENDS; i++)
		p->be_taken[i] = dp->backends[i].used;

	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];
		struct portier_svc_key k;
		bool found = false;

		svc_key(r, &k);
		p->be_id[i] = xcalloc(r->n_backends + 1, sizeof(__u32));
		for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !found; id++) {
			struct dp_route *o = &dp->routes[id];

			if (o->used && !p->route_kept[id] && !memcmp(&o->key, &k, sizeof(k)) &&
			    (!o->named || !strcmp(o->meta.name, r->name))) {
				p->route_kept[id] = found = true;
				p->route_id[i] = id;
			}
		}
		if (!found && take_free(p->route_taken, PORTIER_MAX_ROUTES, &p->route_id[i]))
			return fail(-ENOSPC, "no free route id: more than %d routes loaded and "
				    "being replaced at once; apply in two steps",
				    PORTIER_MAX_ROUTES);
		p->ports[r->port].flags |= port_flag(r->proto, true);
		if (route_flags(r, rs->pool_policy.n) & (PORTIER_ROUTE_F_POLICY | PORTIER_ROUTE_F_RATE))
			p->ports[r->port].flags |= PORTIER_PORT_ADMIT;
		for (size_t j = 0; j < r->n_backends; j++) {
			const struct pt_backend *b = &r->backends[j];
			struct dp_route *o = &dp->routes[p->route_id[i]];

			found = false;
			p->ports[b->port].flags |= port_flag(r->proto, false);
			for (size_t m = 0; found == false && p->route_kept[p->route_id[i]] &&
			     m < o->n_be; m++) {
				struct dp_backend *ob = &dp->backends[o->be[m]];

				if (pt_addr_equal(&ob->addr, &b->addr) && ob->port == b->port) {
					p->be_kept[o->be[m]] = found = true;
					p->be_id[i][j] = o->be[m];
				}
			}
			if (!found && take_free(p->be_taken, PORTIER_MAX_BACKENDS, &p->be_id[i][j]))
				return fail(-ENOSPC, "no free backend id: more than %d backends "
					    "loaded and being replaced at once; apply in two steps",
					    PORTIER_MAX_BACKENDS);
		}
	}
	one_services(rs, p);

	/* The policy trie of the set, with the plan's route ids (IPv4
	 * elements for portier_policy, IPv6 ones for portier_policy6). */
	pt_policy_compile(&rs->pool_policy, PORTIER_POLICY_POOL, &p->trie, &p->n_trie);
	for (size_t i = 0; i < p->n; i++)
		pt_policy_compile(&rs->routes[i].policy, p->route_id[i], &p->trie, &p->n_trie);
	for (size_t i = 0; i < p->n_trie; i++)
		n6 += p->trie[i].v6;
	if (p->n_trie - n6 > PORTIER_MAX_POLICY || n6 > PORTIER_MAX_POLICY)
		return fail(-E2BIG, "the allow and deny lists make %zu IPv%d policy entries, at "
			    "most %d; merge networks into shorter prefixes",
			    n6 > PORTIER_MAX_POLICY ? n6 : p->n_trie - n6,
			    n6 > PORTIER_MAX_POLICY ? 6 : 4, PORTIER_MAX_POLICY);
	if (p->n_trie)
		qsort(p->trie, p->n_trie, sizeof(*p->trie), pt_policy_item_cmp);
	return 0;
}
