// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_policy.c - "portier policy": the source policy (allow and deny lists
 * of the pool and of each route) and the per-source rate limits loaded in
 * the pinned maps, and their runtime changes.
 *
 *   portier policy show [SCOPE]
 *   portier policy add SCOPE { allow | deny } CIDR
 *   portier policy del SCOPE { allow | deny } CIDR
 *   portier policy limit route NAME { rate N [per DURATION] [burst N] | off }
 *   SCOPE := { route NAME | pool }
 *
 * Changes go through the same transaction as "portier route add" and take
 * effect for the next new connection; open connections are not touched.
 * What a reload keeps is in docs/operations.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_dp.h"
#include "policy.h"
#include "util.h"

#define RATE_BUF	64

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s policy show [SCOPE]\n"
		"       %1$s policy add SCOPE { allow | deny } CIDR\n"
		"       %1$s policy del SCOPE { allow | deny } CIDR\n"
		"       %1$s policy limit route NAME { rate N [per DURATION] [burst N] | off }\n"
		"       %1$s policy help\n"
		"\n"
		"       SCOPE := { route NAME | pool }\n"
		"\n"
		"  show   the allow and deny lists of the pool and of each route (or of one),\n"
		"         each entry with its origin (inventory or runtime), rate limits, and\n"
		"         the new connections each route refused (denied, rate_limited)\n"
		"  add    an entry (origin runtime); CIDR is 198.51.100.0/24, 2001:db8::/32\n"
		"         or one address (IPv4 or IPv6).\n"
		"         Deny wins over allow; a non-empty allow list refuses what it does not\n"
		"         list; a connection must pass the pool's lists and its route's.\n"
		"  del    an entry, whatever its origin (an inventory entry comes back at the\n"
		"         next reload; runtime entries are kept by reloads)\n"
		"  limit  a route's per-source rate of new connections: N per DURATION (1s),\n"
		"         bursts of N (default: the rate); off removes it. DURATION is ms or\n"
		"         has a unit (500ms, 1s, 1m). Kept by a reload unless the inventory\n"
		"         declares the route's rate_limit.\n"
		"  Changes apply to new connections only.\n",
		pt_g.prog);
	return 0;
}

/* SCOPE at argv[*i]: "pool" (*route NULL) or "route NAME". 0, or 1 after
 * an error naming cmd. */
static int parse_scope(int argc, char **argv, int *i, const char *cmd, const char **route)
{
	if (*i >= argc) {
		p_err("policy %s: no SCOPE (route NAME or pool); try '%s policy help'", cmd,
		      pt_g.prog);
		return 1;
	}
	if (!strcmp(argv[*i], "pool")) {
		*route = NULL;
		(*i)++;
		return 0;
	}
	if (is_prefix(argv[*i], "route") && *i + 1 < argc) {
		*route = argv[*i + 1];
		*i += 2;
		return 0;
	}
	p_err("policy %s: '%s' is not a SCOPE; write 'route NAME' or 'pool'", cmd, argv[*i]);
	return 1;
}

static json_t *entries_json(const struct pt_policy *p, enum pt_policy_action a)
{
	json_t *arr = json_array();
	char buf[PT_CIDR_BUF];

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].action == a)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "network",
				pt_cidr_str(&p->v[i].net, buf, sizeof(buf)), "origin",
				p->v[i].runtime ? "runtime" : "inventory"));
	return arr;
}

static json_t *lists_json(json_t *o, const struct pt_policy *p)
{
	json_object_set_new(o, "allow", entries_json(p, PT_POLICY_ALLOW));
	json_object_set_new(o, "deny", entries_json(p, PT_POLICY_DENY));
	return o;
}

static void lists_text(const struct pt_policy *p)
{
	char buf[PT_CIDR_BUF];

	for (int a = PT_POLICY_ALLOW; a <= PT_POLICY_DENY; a++)
		for (size_t i = 0; i < p->n; i++)
			if (p->v[i].action == (enum pt_policy_action)a)
				printf("    %-5s %-20s %s\n", pt_policy_action_name(a),
				       pt_cidr_str(&p->v[i].net, buf, sizeof(buf)),
				       p->v[i].runtime ? "runtime" : "inventory");
}

static json_t *route_json(const struct pt_dp_route_view *r, const struct portier_refused *rf)
{
	json_t *o = lists_json(json_pack("{s:s}", "route", r->meta.name), &r->policy);

	if (r->rl.rate)
		json_object_set_new(o, "rate_limit",
			json_pack("{s:i, s:i, s:i, s:s}", "rate", (int)r->rl.rate, "per_ms",
				  (int)r->rl.per_ms, "burst", (int)r->rl.burst, "origin",
				  r->rl.runtime ? "runtime" : "inventory"));
	json_object_set_new(o, "denied", json_integer((json_int_t)rf->denied));
	json_object_set_new(o, "rate_limited", json_integer((json_int_t)rf->rate_limited));
	return o;
}

static void route_text(const struct pt_dp_route_view *r, const struct portier_refused *rf)
{
	char rate[RATE_BUF];

	printf("route %s  refused: denied %llu  rate_limited %llu\n", r->meta.name,
	       (unsigned long long)rf->denied, (unsigned long long)rf->rate_limited);
	lists_text(&r->policy);
	if (r->rl.rate)
		printf("    limit %-20s %s\n", pt_rate_limit_str(&r->rl, rate, sizeof(rate)),
		       r->rl.runtime ? "runtime" : "inventory");
}

static int do_show(int argc, char **argv)
{
	const char *route = NULL;
	bool pool_only = false, shown = false;
	struct pt_dp_route_view *v;
	struct pt_dataplane *dp;
	struct pt_policy pool;
	json_t *routes = json_array();
	int i = 0, err = 0;
	size_t n;

	if (argc > 0) {
		if (parse_scope(argc, argv, &i, "show", &route) ||
		    cli_no_more(argc - i, argv + i, "policy show")) {
			json_decref(routes);
			return 1;
		}
		pool_only = !route;
	}
	dp = cli_dp_open();
	if (!dp) {
		json_decref(routes);
		return 1;
	}
	pt_dp_pool_policy(dp, &pool);
	if (!route && !pt_g.json) {
		printf("pool\n");
		lists_text(&pool);
	}
	n = pool_only ? 0 : pt_dp_view(dp, &v);
	for (size_t k = 0; k < n && !err; k++) {
		struct portier_refused rf;

		if (route && strcmp(v[k].meta.name, route))
			continue;
		shown = true;
		err = pt_route_refused_sum(pt_dp_skel(dp), v[k].id, &rf);
		if (err)
			p_err("policy show: cannot read the refused counters of route %s in %s "
			      "(%s); is the pinned data plane from this version of portier?",
			      v[k].meta.name, cli_pin_dir(), strerror(-err));
		else if (pt_g.json)
			json_array_append_new(routes, route_json(&v[k], &rf));
		else
			route_text(&v[k], &rf);
	}
	if (!pool_only)
		pt_dp_view_free(v, n);
	pt_dp_close(dp);
	if (!err && route && !shown) {
		p_err("no route '%s' is loaded; 'portier route show' lists them", route);
		err = 1;
	}
	if (!err && pt_g.json) {
		json_t *o = json_object();

		if (!route)
			json_object_set_new(o, "pool", lists_json(json_object(), &pool));
		if (!pool_only)
			json_object_set_new(o, "routes", json_incref(routes));
		err = pt_json_print(o);
	}
	pt_policy_free(&pool);
	json_decref(routes);
	return err ? 1 : 0;
}

/* add / del SCOPE { allow | deny } CIDR */
static int entry_cmd(int argc, char **argv, bool add)
{
	const char *cmd = add ? "add" : "del", *route = NULL, *why;
	enum pt_policy_action a;
	struct pt_dataplane *dp;
	struct pt_cidr net;
	int i = 0, err;

	if (parse_scope(argc, argv, &i, cmd, &route))
		return 1;
	if (i + 2 != argc) {
		p_err("policy %s: expected SCOPE { allow | deny } CIDR; try '%s policy help'", cmd,
		      pt_g.prog);
		return 1;
	}
	if (!strcmp(argv[i], "allow")) {
		a = PT_POLICY_ALLOW;
	} else if (!strcmp(argv[i], "deny")) {
		a = PT_POLICY_DENY;
	} else {
		p_err("policy %s: '%s': expected allow or deny", cmd, argv[i]);
		return 1;
	}
	if (pt_cidr_parse(argv[i + 1], &net, &why)) {
		p_err("policy %s: '%s' %s", cmd, argv[i + 1], why);
		return 1;
	}
	dp = cli_dp_open();
	if (!dp)
		return 1;
	err = add ? pt_dp_policy_add(dp, route, &net, a) : pt_dp_policy_del(dp, route, &net, a);
	if (err) {
		p_err("policy %s: %s", cmd, pt_dp_last_error(dp));
	} else if (pt_g.json) {
		char buf[PT_CIDR_BUF];

		err = pt_json_print(json_pack("{s:s, s:s, s:s, s:s}", add ? "added" : "deleted",
					      pt_cidr_str(&net, buf, sizeof(buf)), "action",
					      pt_policy_action_name(a), "scope",
					      route ? "route" : "pool", "route",
					      route ? route : ""));
	}
	pt_dp_close(dp);
	return err ? 1 : 0;
}

static int do_add(int argc, char **argv)
{
	return entry_cmd(argc, argv, true);
}

static int do_del(int argc, char **argv)
{
	return entry_cmd(argc, argv, false);
}

/* limit route NAME { rate N [per DURATION] [burst N] | off } */
static int do_limit(int argc, char **argv)
{
	struct pt_rate_limit rl = { .per_ms = 1000 };
	const char *route = NULL, *why;
	bool burst_set = false;
	struct pt_dataplane *dp;
	unsigned long v;
	int i = 0, err;

	if (parse_scope(argc, argv, &i, "limit", &route))
		return 1;
	if (!route) {
		p_err("policy limit: a rate limit belongs to a route; write 'route NAME'");
		return 1;
	}
	if (i < argc && !strcmp(argv[i], "off")) {
		if (cli_no_more(argc - i - 1, argv + i + 1, "policy limit"))
			return 1;
		i = argc;
	} else if (i >= argc) {
		p_err("policy limit: expected 'rate N [per DURATION] [burst N]' or 'off'");
		return 1;
	}
	for (; i < argc; i += 2) {
		const char *kw = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			p_err("policy limit: '%s' needs a value; try '%s policy help'", kw,
			      pt_g.prog);
			return 1;
		}
		if (is_prefix(kw, "rate") && pt_parse_uint(val, 1, PT_RATE_MAX, &v)) {
			rl.rate = (unsigned int)v;
		} else if (is_prefix(kw, "burst") && pt_parse_uint(val, 1, PT_BURST_MAX, &v)) {
			rl.burst = (unsigned int)v;
			burst_set = true;
		} else if (is_prefix(kw, "per") && pt_parse_duration(val, &rl.per_ms)) {
			continue;
		} else if (is_prefix(kw, "rate") || is_prefix(kw, "burst")) {
			p_err("policy limit: %s '%s' is not a count from 1 to %d", kw, val,
			      PT_RATE_MAX);
			return 1;
		} else if (is_prefix(kw, "per")) {
			p_err("policy limit: per '%s' is not a duration; write milliseconds "
			      "(1000) or a number with a unit: 500ms, 1s, 1m (at most 24h)", val);
			return 1;
		} else {
			p_err("policy limit: unknown keyword '%s'; try '%s policy help'", kw,
			      pt_g.prog);
			return 1;
		}
	}
	if (rl.rate && !burst_set)
		rl.burst = rl.rate;
	if (!rl.rate && burst_set) {
		p_err("policy limit: no rate; give 'rate N'");
		return 1;
	}
	if (rl.rate && pt_rate_limit_check(&rl, &why)) {
		p_err("policy limit: %s", why);
		return 1;
	}
	if (!rl.rate)
		memset(&rl, 0, sizeof(rl));
	dp = cli_dp_open();
	if (!dp)
		return 1;
	err = pt_dp_rate_limit_set(dp, route, &rl);
	if (err) {
		p_err("policy limit: %s", pt_dp_last_error(dp));
	} else if (pt_g.json) {
		err = pt_json_print(json_pack("{s:s, s:i, s:i, s:i}", "route", route, "rate",
					      (int)rl.rate, "per_ms", (int)rl.per_ms, "burst",
					      (int)rl.burst));
	}
	pt_dp_close(dp);
	return err ? 1 : 0;
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "add", do_add },
	{ "delete", do_del },
	{ "limit", do_limit },
	{ "help", do_help },
	{ 0 }
};

int do_policy(int argc, char **argv)
{
	return pt_cmd_select("policy", cmds, argc, argv, do_help);
}
