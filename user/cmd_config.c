// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_config.c - "portier config": read an inventory, build this host's routes
 * and show them (text table or JSON) with every diagnostic.
 *
 *   portier config check -i PATH [--host NAME]
 *   portier config lookup -i PATH [--host NAME] ROUTE client ... (cmd_lookup.c)
 *   portier config help
 *
 * A route's JSON has the keys of "route show -j" (cmd_route.c) that the
 * inventory knows (no id, origin or state), plus each backend's host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diag.h"
#include "egress.h"
#include "inventory.h"
#include "keepalived.h"
#include "policy.h"
#include "routes.h"
#include "util.h"
#include "vips.h"

/* One formatted diagnostic line. */
#define DIAG_BUF 2048
/* "[2001:db8::1]:65535/udp", "*:80/tcp (ipv6)". */
#define LISTEN_BUF PT_LISTEN_STRLEN

/* What "config check" was asked to do. */
struct check_args {
	const char *inventory;	/* -i PATH */
	const char *host;	/* --host NAME, or NULL for the short hostname */
};

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s config check -i PATH [--host NAME]\n"
		"       %1$s config lookup -i PATH [--host NAME] ROUTE client ADDR[:PORT]\n"
		"                     [client ADDR[:PORT] ...] [address ADDR] [down ADDR:PORT ...]\n"
		"       %1$s config help\n"
		"\n"
		"       PATH := { inventory file | inventory directory }\n"
		"       NAME := inventory host name (default: the short hostname)\n"
		"\n"
		"  check  read the Ansible inventory, build the routes of host NAME,\n"
		"         print them with every warning and error; exit 1 on errors.\n"
		"         With -j: {\"host\", \"pool\", \"routes\", \"nat_pool\",\n"
		"         \"egress\", \"warnings\", \"errors\"}; nat_pool holds the\n"
		"         host's input/output_interface and vips (keepalived's VIPs);\n"
		"         egress only when declared.\n"
		"         A backend is (local) when it is host NAME or has NAME's\n"
		"         inventory address; unlike the daemon, check does not look at\n"
		"         this machine's interfaces, so it may run off the gateway.\n"
		"  lookup which backend a new flow from each client gets on host NAME\n"
		"         by ROUTE's table built from the inventory, as the daemon\n"
		"         builds it (no data plane needed: compare the gateways of a\n"
		"         pool); 'down ADDR:PORT' leaves a backend out as a drained or\n"
		"         failing one is. Same answers as 'route lookup' (-j: an array).\n",
		pt_g.prog);
	return 0;
}

/* Parse "-i PATH", "--inventory PATH", "--host NAME" (also "--opt=VALUE"),
 * and "-j"/"-p" given after the command. Returns 0 or 1 after an error. */
static int parse_check_args(int argc, char **argv, struct check_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char **dst = NULL;
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

		if (!strcmp(arg, "-j") || !strcmp(arg, "--json")) {
			pt_g.json = true;
			continue;
		}
		if (!strcmp(arg, "-p") || !strcmp(arg, "--pretty")) {
			pt_g.json = pt_g.pretty = true;
			continue;
		}
		if (!strcmp(arg, "-i") || (n == strlen("--inventory") &&
					    !strncmp(arg, "--inventory", n)))
			dst = &a->inventory;
		else if (n == strlen("--host") && !strncmp(arg, "--host", n))
			dst = &a->host;
		if (!dst) {
			p_err("config check: unknown argument '%s'; try '%s config help'", arg,
			      pt_g.prog);
			return 1;
		}
		if (eq) {
			*dst = eq + 1;
		} else if (i + 1 < argc) {
			*dst = argv[++i];
		} else {
			p_err("config check: '%s' needs a value; try '%s config help'", arg,
			      pt_g.prog);
			return 1;
		}
	}
	if (!a->inventory) {
		p_err("config check: no inventory; give one with -i PATH");
		return 1;
	}
	return 0;
}

static json_t *backend_json(const struct pt_backend *b)
{
	char addr[INET6_ADDRSTRLEN];

	return json_pack("{s:s, s:s, s:i, s:b, s:i}", "host", b->host ? b->host : "", "address",
			 pt_addr_str(&b->addr, addr, sizeof(addr)), "port", (int)b->port,
			 "local", b->local, "weight", (int)b->weight);
}

/* {"allow": [CIDR...], "deny": [CIDR...]} of a policy, into o. */
static json_t *policy_json(json_t *o, const struct pt_policy *p)
{
	json_t *lists[2] = { json_array(), json_array() };
	char buf[PT_CIDR_BUF];

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(lists[p->v[i].action == PT_POLICY_DENY],
				      json_string(pt_cidr_str(&p->v[i].net, buf, sizeof(buf))));
	json_object_set_new(o, "allow", lists[0]);
	json_object_set_new(o, "deny", lists[1]);
	return o;
}

static json_t *route_json(const struct pt_route *r)
{
	char addr[INET6_ADDRSTRLEN];
	json_t *backends = json_array();
	json_t *o;

	for (size_t i = 0; i < r->n_backends; i++)
		json_array_append_new(backends, backend_json(&r->backends[i]));
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o,"
		      " s:o, s:o}",
		      "name", r->name,
		      "address", r->wildcard ? "*" : pt_addr_str(&r->addr, addr, sizeof(addr)),
		      "port", (int)r->port, "proto", pt_proto_name(r->proto),
		      "mode", r->mode ? r->mode : "tcp", "nat", pt_nat_name(r->nat),
		      "balance", pt_balance_name(r->balance),
		      "syn_cookies", pt_syn_cookies_name(pt_route_syn_cookies(r)),
		      "options", pt_options_json(r->options),
		      "check", pt_check_json(&r->check), "backends", backends);
	if (!o)
		pt_die_oom();
	policy_json(o, &r->policy);
	if (r->table_size)
		json_object_set_new(o, "table_size", json_integer(r->table_size));
	json_object_set_new(o, "family",
			    json_string(pt_route_family(r) == AF_INET6 ? "ipv6" : "ipv4"));
	json_object_set_new(o, "dual", json_boolean(r->dual));
	if (r->rate_limit.rate)
		json_object_set_new(o, "rate_limit",
			json_pack("{s:i, s:i, s:i}", "rate", (int)r->rate_limit.rate, "per_ms",
				  (int)r->rate_limit.per_ms, "burst", (int)r->rate_limit.burst));
	return o;
}

static json_t *cidrs_json(const struct pt_cidr *v, size_t n)
{
	json_t *a = json_array();
	char buf[PT_CIDR_BUF];

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(pt_cidr_str(&v[i], buf, sizeof(buf))));
	return a;
}

/* The egress block (NULL if not declared: no key, the JSON has no nulls):
 * its address (absent: the output NIC's) and rules, in order. */
static json_t *egress_json(const struct pt_egress *e)
{
	char addr[INET6_ADDRSTRLEN], buf[PT_CIDR_BUF * 2];
	json_t *rules = json_array(), *o;

	if (!e || !e->declared) {
		json_decref(rules);
		return NULL;
	}
	for (size_t i = 0; i < e->n_rules; i++) {
		const struct pt_egress_rule *r = &e->rules[i];
		struct portier_egress_rule v;
		json_t *ports = json_array();

		pt_egress_rule_value(r, &v);
		for (size_t j = 0; j < r->n_ports; j++) {
			if (r->ports[j].lo == r->ports[j].hi)
				snprintf(buf, sizeof(buf), "%u", r->ports[j].lo);
			else
				snprintf(buf, sizeof(buf), "%u-%u", r->ports[j].lo, r->ports[j].hi);
			json_array_append_new(ports, json_string(buf));
		}
		json_array_append_new(rules, json_pack(
			"{s:s, s:o, s:o, s:o, s:s, s:o, s:b}", "name", r->name,
			"from", cidrs_json(r->from, r->n_from), "to", cidrs_json(r->to, r->n_to),
			"except", cidrs_json(r->except, r->n_except),
			"proto", pt_egress_protos_str(r->protos, buf, sizeof(buf)),
			"ports", ports, "log", r->log));
	}
	o = json_pack("{s:o}", "rules", rules);
	if (!o)
		pt_die_oom();
	if (e->snat_address.family)
		json_object_set_new(o, "snat_address",
				    json_string(pt_addr_str(&e->snat_address, addr, sizeof(addr))));
	return o;
}

/* The egress block as a table, after the routes. */
static void print_egress(const struct pt_egress *e)
{
	char addr[INET6_ADDRSTRLEN], proto[32], ports[128];

	if (!e || !e->declared)
		return;
	if (e->snat_address.family)
		printf("egress from %s (%s)\n", pt_addr_str(&e->snat_address, addr, sizeof(addr)),
		       e->snat_vip ? "the output side's VIP" : "snat_address");
	else
		printf("egress from the output NIC's address\n");
	if (!e->n_rules) {
		printf("egress: no rules: nothing egresses\n");
		return;
	}
	printf("%-16s  %-22s  %-22s  %-22s  %-12s  %-16s  %s\n", "EGRESS RULE", "FROM", "TO",
	       "EXCEPT", "PROTO", "PORTS", "LOG");
	for (size_t i = 0; i < e->n_rules; i++) {
		const struct pt_egress_rule *r = &e->rules[i];
		struct portier_egress_rule v;
		size_t rows = r->n_from > r->n_to ? r->n_from : r->n_to;

		if (r->n_except > rows)
			rows = r->n_except;
		pt_egress_rule_value(r, &v);
		for (size_t k = 0; k < rows; k++) {
			char f[PT_CIDR_BUF] = "", t[PT_CIDR_BUF] = "", x[PT_CIDR_BUF] = "";

			if (k < r->n_from)
				pt_cidr_str(&r->from[k], f, sizeof(f));
			if (k < r->n_to)
				pt_cidr_str(&r->to[k], t, sizeof(t));
			if (k < r->n_except)
				pt_cidr_str(&r->except[k], x, sizeof(x));
			if (k) {	/* more networks: no padding after them */
				printf("%-16s  %-22s  %-22s  %s\n", "", f, t, x);
				continue;
			}
			printf("%-16s  %-22s  %-22s  %-22s  %-12s  %-16s  %s\n", r->name, f, t,
			       r->n_except ? x : "-",
			       pt_egress_protos_str(r->protos, proto, sizeof(proto)),
			       pt_egress_ports_str(&v, ports, sizeof(ports)), r->log ? "yes" : "no");
		}
	}
}

static json_t *diag_json(const struct pt_diag *g)
{
	json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", g->pos.file ? g->pos.file : "",
			      "line", (int)g->pos.line, "column", (int)g->pos.col,
			      "route", g->route ? g->route : "", "message", g->msg);

	if (!o)
		pt_die_oom();
	return o;
}

static int print_json(const char *host, const struct pt_routeset *rs, const struct pt_pool *p,
		      const struct pt_diags *d)
{
	json_t *routes = json_array(), *warnings = json_array(), *errors = json_array();

	for (size_t i = 0; rs && i < rs->n_routes; i++)
		json_array_append_new(routes, route_json(&rs->routes[i]));
	for (size_t i = 0; i < d->n; i++)
		json_array_append_new(d->v[i].sev == PT_ERROR ? errors : warnings,
				      diag_json(&d->v[i]));
	json_t *egress = egress_json(rs ? rs->egress : NULL);
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "host", host,
			      "pool", policy_json(json_object(), rs ? &rs->pool_policy :
						  &(struct pt_policy){ 0 }),
			      "routes", routes, "nat_pool", pt_pool_json(p),
			      "warnings", warnings, "errors", errors);

	if (o && egress)
		json_object_set_new(o, "egress", egress);
	return pt_json_print(o);
}

static void print_diags(const struct pt_diags *d)
{
	char buf[DIAG_BUF];

	for (size_t i = 0; i < d->n; i++) {
		pt_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(stderr, "%s\n", buf);
	}
}

/* A column of the routes table: its title and the widest cell. */
struct column {
	const char *title;
	int width;
};

enum { COL_NAME, COL_LISTEN, COL_NAT, COL_BALANCE, COL_COOKIES, COL_OPTIONS, COL_BACKENDS,
       N_COLS };

static void widen(struct column *c, const char *s)
{
	int n = (int)strlen(s);

	if (n > c->width)
		c->width = n;
}

/* One line per scope that has lists or a rate limit, after the table. */
static void print_policy_line(const char *scope, const struct pt_policy *p,
			      const struct pt_rate_limit *rl)
{
	char *allow, *deny, rate[64];

	if (!p->n && (!rl || !rl->rate))
		return;
	allow = pt_policy_list_str(p, PT_POLICY_ALLOW);
	deny = pt_policy_list_str(p, PT_POLICY_DENY);
	printf("policy %s: allow %s; deny %s", scope, allow, deny);
	if (rl && rl->rate)
		printf("; rate_limit %s", pt_rate_limit_str(rl, rate, sizeof(rate)));
	printf("\n");
	free(allow);
	free(deny);
}

static void print_policy(const struct pt_routeset *rs)
{
	print_policy_line("pool", &rs->pool_policy, NULL);
	for (size_t i = 0; i < rs->n_routes; i++) {
		char *scope = xasprintf("route %s", rs->routes[i].name);

		print_policy_line(scope, &rs->routes[i].policy, &rs->routes[i].rate_limit);
		free(scope);
	}
}

/* The routes as a table; a route with several backends takes one line per
 * backend, the route's own columns only on the first. */
static void print_table(const struct pt_routeset *rs)
{
	struct column cols[N_COLS] = {
		[COL_NAME] = { "ROUTE", 0 },	 [COL_LISTEN] = { "LISTEN", 0 },
		[COL_NAT] = { "NAT", 0 },	 [COL_BALANCE] = { "BALANCE", 0 },
		[COL_COOKIES] = { "SYN_COOKIES", 0 },
		[COL_OPTIONS] = { "OPTIONS", 0 }, [COL_BACKENDS] = { "BACKENDS", 0 },
	};
	char listen[LISTEN_BUF], opts[64];

	for (int c = 0; c < N_COLS; c++)
		widen(&cols[c], cols[c].title);
	for (size_t i = 0; i < rs->n_routes; i++) {
		const struct pt_route *r = &rs->routes[i];

		pt_route_listen_str(r, listen, sizeof(listen));
		pt_options_str(r->options, opts, sizeof(opts));
		widen(&cols[COL_NAME], r->name);
		widen(&cols[COL_LISTEN], listen);
		widen(&cols[COL_NAT], pt_nat_name(r->nat));
		widen(&cols[COL_BALANCE], pt_balance_name(r->balance));
		widen(&cols[COL_COOKIES], pt_syn_cookies_name(pt_route_syn_cookies(r)));
		widen(&cols[COL_OPTIONS], opts);
	}
	printf("host %s: %zu route%s\n", rs->host, rs->n_routes, rs->n_routes == 1 ? "" : "s");
	if (!rs->n_routes)
		return;
	printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", cols[COL_NAME].width,
	       cols[COL_NAME].title, cols[COL_LISTEN].width, cols[COL_LISTEN].title,
	       cols[COL_NAT].width, cols[COL_NAT].title, cols[COL_BALANCE].width,
	       cols[COL_BALANCE].title, cols[COL_COOKIES].width, cols[COL_COOKIES].title,
	       cols[COL_OPTIONS].width, cols[COL_OPTIONS].title, cols[COL_BACKENDS].title);
	for (size_t i = 0; i < rs->n_routes; i++) {
		const struct pt_route *r = &rs->routes[i];
		size_t nb = r->n_backends ? r->n_backends : 1;

		pt_route_listen_str(r, listen, sizeof(listen));
		pt_options_str(r->options, opts, sizeof(opts));
		for (size_t j = 0; j < nb; j++) {
			char addr[PT_ADDRPORT_STRLEN];
			const struct pt_backend *b = r->n_backends ? &r->backends[j] : NULL;
			bool first = j == 0;

			printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  ", cols[COL_NAME].width,
			       first ? r->name : "", cols[COL_LISTEN].width, first ? listen : "",
			       cols[COL_NAT].width, first ? pt_nat_name(r->nat) : "",
			       cols[COL_BALANCE].width, first ? pt_balance_name(r->balance) : "",
			       cols[COL_COOKIES].width,
			       first ? pt_syn_cookies_name(pt_route_syn_cookies(r)) : "",
			       cols[COL_OPTIONS].width, first ? opts : "");
			if (!b) {
				printf("-\n");
				continue;
			}
			printf("%s%s%s%s\n", pt_addrport_str(&b->addr, b->port, addr, sizeof(addr)),
			       b->host ? " " : "", b->host ? b->host : "",
			       b->local ? " (local)" : "");
		}
	}
	print_policy(rs);
}

static int do_check(int argc, char **argv)
{
	struct check_args a = { 0 };
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = NULL;
	struct pt_routeset *rs = NULL;
	struct pt_pool *pool = NULL;
	char hostname[PT_HOSTNAME_BUF];
	const char *host;
	int ret = 1;

	if (parse_check_args(argc, argv, &a))
		return 1;
	host = a.host;
	if (!host) {
		int err = pt_short_hostname(hostname, sizeof(hostname));

		if (err) {
			p_err("config check: cannot read this host's name (%s); give --host NAME",
			      strerror(-err));
			return 1;
		}
		host = hostname;
	}

	inv = pt_inventory_load(a.inventory, &d);
	if (inv && !d.n_errors) {
		struct pt_build_opts opts = { .host = host };

		rs = pt_routes_build(inv, &opts, &d);
		pool = pt_pool_build(inv, host, &d);
		if (rs)	/* egress translates to the output VIP by default */
			pt_pool_egress_source(pool, rs->egress);
	}
	if (pt_g.json) {
		print_json(host, rs, pool, &d);
	} else {
		print_diags(&d);
		/* What was understood, unless nothing was. */
		if (rs && (rs->n_routes || !d.n_errors) &&
		    (rs->n_routes || !rs->egress || !rs->egress->declared))
			print_table(rs);
		if (rs && (rs->n_routes || !d.n_errors))
			pt_pool_print(pool, stdout);
		if (rs && (!d.n_errors || (rs->egress && rs->egress->n_rules)))
			print_egress(rs->egress);
		if (d.n_errors)
			fprintf(stderr,
				"%s: %zu error%s, %zu warning%s; nothing would be applied\n",
				a.inventory, d.n_errors, d.n_errors == 1 ? "" : "s",
				d.n - d.n_errors, d.n - d.n_errors == 1 ? "" : "s");
	}
	if (!inv && !d.n_errors && !pt_g.json)
		fprintf(stderr, "Error: cannot read inventory %s\n", a.inventory);
	ret = inv && rs && !d.n_errors ? 0 : 1;
	if (rs)
		pt_routeset_free(rs);
	pt_pool_free(pool);
	if (inv)
		pt_inventory_free(inv);
	pt_diags_free(&d);
	return ret;
}

static const struct pt_cmd cmds[] = {
	{ "check", do_check },
	{ "lookup", pt_config_lookup },
	{ "help", do_help },
	{ 0 }
};

int do_config(int argc, char **argv)
{
	return pt_cmd_select("config", cmds, argc, argv, do_help);
}
