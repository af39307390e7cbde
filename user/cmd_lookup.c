// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_lookup.c - which backend a tuple maps to (lookup.h), two ways:
 *
 *   portier route lookup ROUTE client ADDR[:PORT] [client ...] [address ADDR]
 *	the loaded route: its rotation in portier_routes, the slot of its
 *	table in portier_maglev (exactly what the XDP program reads), and
 *	the connection table's flow of the tuple if there is one;
 *   portier config lookup -i PATH [--host NAME] ROUTE client ... [address
 *	ADDR] [down ADDR:PORT ...]
 *	the same route built from an inventory, its table built as the
 *	daemon builds it, with no data plane: the gateways of a pool compared
 *	before a deployment.
 *
 * Both print one answer per client (JSON: an array), and check every
 * client before printing any.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_dp.h"
#include "ct_table.h"
#include "dataplane_int.h"
#include "diag.h"
#include "inventory.h"
#include "lookup.h"
#include "maglev.h"
#include "util.h"

#define DIAG_BUF 2048

/* The answers' common part. */
static void answer_init(struct pt_lookup_answer *a, const struct pt_lookup_route *r,
			const struct pt_lookup_client *c, const struct pt_lookup_tuple *k)
{
	struct portier_addr zero = {};
	bool v6 = k->family == PORTIER_AF_INET6;

	memset(a, 0, sizeof(*a));
	a->route = r->name;
	a->balance = r->balance;
	a->proto = r->proto;
	a->backend_id = a->next_id = -1;
	if (c->port)
		cli_addr_port(&c->addr, c->port, a->client, sizeof(a->client));
	else
		pt_addr_str(&c->addr, a->client, sizeof(a->client));
	if (v6 && memcmp(&k->v6.daddr, &zero, sizeof(zero)))
		cli_bpf_addr_port(&k->v6.daddr, k->family, k->v6.dport, a->service,
				  sizeof(a->service));
	else if (!v6 && k->v4.daddr)
		cli_bpf_addr_port(&(struct portier_addr){ .a32 = { k->v4.daddr } }, k->family,
				  k->v4.dport, a->service, sizeof(a->service));
	else
		snprintf(a->service, sizeof(a->service), v6 ? "[*]:%u" : "*:%u", r->port);
}

/* Print the answers (JSON: one array) and free them. */
static int answers_print(struct pt_lookup_answer *v, size_t n)
{
	json_t *arr;

	if (!pt_g.json) {
		for (size_t i = 0; i < n; i++)
			pt_lookup_print(&v[i]);
		return 0;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, pt_lookup_json(&v[i]));
	return pt_json_print(arr);
}

/* ---- route lookup: the loaded maps ---------------------------------- */

static const struct pt_dp_backend_view *view_backend(const struct pt_dp_route_view *r, __u32 id)
{
	for (size_t i = 0; i < r->n_be; i++)
		if (r->be[i].id == id)
			return &r->be[i];
	return NULL;
}

/* "ADDR:PORT" of backend id of r into buf (and its state), or its id. */
static void backend_name(const struct pt_dp_route_view *r, __u32 id, char *buf, size_t len,
			 const char **state)
{
	const struct pt_dp_backend_view *b = view_backend(r, id);

	if (b) {
		cli_addr_port(&b->addr, b->port, buf, len);
		if (state)
			*state = cli_state_name(b->state);
	} else {	/* not of this route: the maps changed under us */
		snprintf(buf, len, "id-%u", id);
		if (state)
			*state = "unknown";
	}
}

/* The flow of key k in the connection table: its backend into a->flow.
 * IPv4 only: the IPv6 table is read by "conntrack show". */
static void answer_flow(struct pt_dataplane *dp, const struct pt_lookup_tuple *t,
			struct pt_lookup_answer *a)
{
	const struct portier_flow_key *k = &t->v4;
	struct pt_ct *ct = pt_dp_ct(dp);
	struct portier_flow f;

	if (t->family != PORTIER_AF_INET || !ct || !k->daddr || !pt_ct_lookup(ct, k, &f) ||
	    f.dir != PORTIER_FLOW_DIR_ORIG)
		return;
	if (f.flags & PORTIER_FLOW_F_LOCAL)
		cli_bpf_addr_port(&(struct portier_addr){ .a32 = { k->daddr } }, PORTIER_AF_INET,
				  k->dport, a->flow, sizeof(a->flow));
	else
		cli_bpf_addr_port(&(struct portier_addr){ .a32 = { f.nat_daddr } },
				  PORTIER_AF_INET, f.nat_dport, a->flow, sizeof(a->flow));
}

/* One client's answer from the loaded maps; 0 or 1 after an error. */
static int live_answer(struct pt_dataplane *dp, const struct pt_dp_route_view *v,
		       const struct portier_route *rt, __u32 rr, const struct pt_lookup_route *r,
		       const struct pt_lookup_tuple *k, const struct pt_lookup_client *c,
		       struct pt_lookup_answer *a)
{
	__u32 id;
	int err;

	answer_init(a, r, c, k);
	answer_flow(dp, k, a);
	if (r->balance == PT_BALANCE_ROUNDROBIN) {
		if (rt->n_active && rt->n_active <= PORTIER_MAX_ROUTE_BACKENDS) {
			a->next_id = rt->active[rr % rt->n_active];
			backend_name(v, (__u32)a->next_id, a->next, sizeof(a->next), NULL);
		}
		return 0;
	}
	a->table_size = rt->table_size;
	a->hash = pt_lookup_hash(r->balance, k);
	if (!rt->table_size) {
		p_err("route lookup: route '%s' has no table loaded; restart or reload the "
		      "daemon", r->name);
		return 1;
	}
	a->slot = a->hash % rt->table_size;
	err = pt_dp_table_slot(dp, v->id, a->slot, &id);
	if (err) {
		p_err("route lookup: cannot read slot %u of route '%s''s table: %s", a->slot,
		      r->name, strerror(-err));
		return 1;
	}
	if (id == UINT32_MAX)
		return 0;
	a->has_backend = true;
	a->backend_id = id;
	backend_name(v, id, a->backend, sizeof(a->backend), &a->state);
	return 0;
}

/* What the program reads of the route, from the loaded maps. */
static int live_route(struct pt_dataplane *dp, const struct pt_dp_route_view *v,
		      struct portier_route *rt, __u32 *rr, struct pt_lookup_route *r)
{
	const struct portier_svc_key *key = &v->meta.key;
	int err = pt_dp_rotation(dp, v->id, rt, rr);

	if (err) {
		p_err("route lookup: cannot read route '%s''s rotation: %s", v->meta.name,
		      strerror(-err));
		return 1;
	}
	memset(r, 0, sizeof(*r));
	r->name = v->meta.name;
	/* The program's choice: its flags, not the metadata. */
	r->balance = rt->flags & PORTIER_ROUTE_F_MAGLEV ? PT_BALANCE_MAGLEV :
		     rt->flags & PORTIER_ROUTE_F_SOURCE ? PT_BALANCE_SOURCE :
							  PT_BALANCE_ROUNDROBIN;
	r->wildcard = !memcmp(&key->addr, &(struct portier_addr){}, sizeof(key->addr));
	addr_from_bpf(&key->addr, key->family, &r->addr);
	r->family = r->addr.family;
	r->port = ntohs(key->port);
	r->proto = key->proto;
	return 0;
}

int pt_route_lookup(int argc, char **argv)
{
	struct pt_lookup_answer *ans = NULL;
	const struct pt_dp_route_view *route = NULL;
	struct pt_dp_route_view *v = NULL;
	struct pt_lookup_route r;
	struct pt_lookup_req q;
	struct portier_route *rt;
	struct pt_dataplane *dp;
	size_t n = 0;
	__u32 rr = 0;
	int ret = 1;

	if (pt_lookup_parse("route lookup", argc, argv, false, &q))
		return 1;
	dp = cli_dp_open();
	if (!dp) {
		pt_lookup_req_free(&q);
		return 1;
	}
	rt = xcalloc(1, sizeof(*rt));
	n = pt_dp_view(dp, &v);
	for (size_t i = 0; i < n && !route; i++)
		if (!strcmp(v[i].meta.name, q.route))
			route = &v[i];
	if (!route) {
		p_err("route lookup: no route '%s' is loaded; 'portier route show' lists them",
		      q.route);
		goto out;
	}
	if (live_route(dp, route, rt, &rr, &r))
		goto out;
	ans = xcalloc(q.n_clients, sizeof(*ans));
	for (size_t i = 0; i < q.n_clients; i++) {
		struct pt_lookup_tuple k;

		if (pt_lookup_key("route lookup", &q, &q.clients[i], &r, &k) ||
		    live_answer(dp, route, rt, rr, &r, &k, &q.clients[i], &ans[i]))
			goto out;
	}
	ret = answers_print(ans, q.n_clients);
out:
	free(ans);
	free(rt);
	pt_dp_view_free(v, n);
	pt_dp_close(dp);
	pt_lookup_req_free(&q);
	return ret;
}

/* ---- config lookup: an inventory ------------------------------------ */

/* Take "-i PATH", "--inventory PATH", "--host NAME" (also "--opt=VALUE")
 * out of argv (the rest keep their order, argc updated). 0 or 1 after an
 * error. */
static int take_inventory_args(int *argc, char **argv, const char **inv, const char **host)
{
	int out = 0;

	for (int i = 0; i < *argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const char **dst = NULL;

		if (!strcmp(arg, "-i") ||
		    (len == strlen("--inventory") && !strncmp(arg, "--inventory", len)))
			dst = inv;
		else if (len == strlen("--host") && !strncmp(arg, "--host", len))
			dst = host;
		if (!dst) {
			argv[out++] = argv[i];
			continue;
		}
		if (eq && arg[1] == '-') {
			*dst = eq + 1;
		} else if (i + 1 < *argc) {
			*dst = argv[++i];
		} else {
			p_err("config lookup: '%s' needs a value; try '%s config help'", arg,
			      pt_g.prog);
			return 1;
		}
	}
	*argc = out;
	if (!*inv) {
		p_err("config lookup: no inventory; give one with -i PATH");
		return 1;
	}
	return 0;
}

/* The routes of host from inventory path; NULL after printing why. */
static struct pt_routeset *offline_routes(const char *path, const char *host,
					  struct pt_inventory **inv)
{
	struct pt_diags d = { 0 };
	struct pt_routeset *rs = NULL;
	char buf[DIAG_BUF];

	*inv = pt_inventory_load(path, &d);
	if (*inv && !d.n_errors) {
		struct pt_build_opts opts = { .host = host };

		rs = pt_routes_build(*inv, &opts, &d);
	}
	if (d.n_errors || !*inv) {
		for (size_t i = 0; i < d.n && !pt_g.json; i++) {
			pt_diag_format(&d.v[i], buf, sizeof(buf));
			fprintf(stderr, "%s\n", buf);
		}
		p_err("config lookup: inventory %s %s; 'portier config check -i %s --host %s' "
		      "says more", path, *inv ? "has errors" : "cannot be read", path, host);
		if (rs)
			pt_routeset_free(rs);
		rs = NULL;
	}
	pt_diags_free(&d);
	return rs;
}

/* down[j] for each backend of r that q names as down; 0 or 1 after an
 * error (a backend r has not). */
static int offline_down(const struct pt_lookup_req *q, const struct pt_route *r, bool *down)
{
	for (size_t i = 0; i < q->n_down; i++) {
		char ap[CLI_ADDRPORT_BUF];
		bool found = false;

		for (size_t j = 0; j < r->n_backends; j++)
			if (pt_addr_equal(&r->backends[j].addr, &q->down[i].addr) &&
			    r->backends[j].port == q->down[i].port)
				found = down[j] = true;
		if (!found) {
			p_err("config lookup: route '%s' has no backend %s", r->name,
			      cli_addr_port(&q->down[i].addr, q->down[i].port, ap, sizeof(ap)));
			return 1;
		}
	}
	return 0;
}

/* The answers of q for inventory route rt; 0 or 1 after an error. */
static int offline_answers(const struct pt_lookup_req *q, const struct pt_route *rt,
			   struct pt_lookup_answer *ans)
{
	struct pt_lookup_route r = { .name = rt->name, .balance = rt->balance,
				     .wildcard = rt->wildcard, .addr = rt->addr,
				     .family = rt->wildcard ? 0 : rt->addr.family,
				     .port = rt->port, .proto = rt->proto };
	bool *down = xcalloc(rt->n_backends + 1, sizeof(*down));
	uint32_t *table = NULL;
	int err, ret = 1;

	if (offline_down(q, rt, down))
		goto out;
	if (rt->balance != PT_BALANCE_ROUNDROBIN) {
		table = xcalloc(rt->table_size, sizeof(*table));
		err = pt_lookup_table(rt, down, table);
		if (err) {
			p_err("config lookup: cannot build route '%s''s table: %s", rt->name,
			      strerror(-err));
			goto out;
		}
	}
	for (size_t i = 0; i < q->n_clients; i++) {
		struct pt_lookup_answer *a = &ans[i];
		struct pt_lookup_tuple k;
		uint32_t j;

		if (pt_lookup_key("config lookup", q, &q->clients[i], &r, &k))
			goto out;
		answer_init(a, &r, &q->clients[i], &k);
		if (!table)
			continue;
		a->table_size = rt->table_size;
		a->hash = pt_lookup_hash(r.balance, &k);
		a->slot = a->hash % rt->table_size;
		j = table[a->slot];
		if (j >= rt->n_backends)
			continue;
		a->has_backend = true;
		cli_addr_port(&rt->backends[j].addr, rt->backends[j].port, a->backend,
			      sizeof(a->backend));
		a->host = rt->backends[j].host ? rt->backends[j].host : "";
	}
	ret = 0;
out:
	free(table);
	free(down);
	return ret;
}

int pt_config_lookup(int argc, char **argv)
{
	const char *path = NULL, *host = NULL;
	struct pt_lookup_answer *ans = NULL;
	struct pt_inventory *inv = NULL;
	struct pt_routeset *rs = NULL;
	const struct pt_route *rt;
	char hostname[PT_HOSTNAME_BUF];
	struct pt_lookup_req q;
	int ret = 1, err;

	if (take_inventory_args(&argc, argv, &path, &host) ||
	    pt_lookup_parse("config lookup", argc, argv, true, &q))
		return 1;
	if (!host) {
		err = pt_short_hostname(hostname, sizeof(hostname));
		if (err) {
			p_err("config lookup: cannot read this host's name (%s); give --host NAME",
			      strerror(-err));
			goto out;
		}
		host = hostname;
	}
	rs = offline_routes(path, host, &inv);
	if (!rs)
		goto out;
	rt = pt_routeset_find(rs, q.route);
	if (!rt) {
		p_err("config lookup: host %s has no route '%s'; 'portier config check -i %s "
		      "--host %s' lists them", host, q.route, path, host);
		goto out;
	}
	ans = xcalloc(q.n_clients, sizeof(*ans));
	if (!offline_answers(&q, rt, ans))
		ret = answers_print(ans, q.n_clients);
out:
	free(ans);
	if (rs)
		pt_routeset_free(rs);
	if (inv)
		pt_inventory_free(inv);
	pt_lookup_req_free(&q);
	return ret;
}
