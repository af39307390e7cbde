// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_route.c - "portier route": the routes loaded in the pinned maps.
 *
 *   portier route show [NAME]
 *   portier route add NAME [address ADDR] port PORT [proto tcp|udp]
 *                     [balance roundrobin|maglev|source] [table-size M]
 *                     [nat snat|dnat] [syn-cookies auto|on|off] ...
 *                     backend ADDR:PORT [weight W] [backend ...]
 *   portier route del NAME
 *   portier route lookup NAME client ADDR[:PORT] ... (cmd_lookup.c)
 *
 * add and del change the maps in one transaction under the writers' lock
 * (dataplane.h): add takes effect for the next new connection, del removes
 * the route and its flows. A runtime route survives a reload unless the
 * inventory takes its name or listen key (docs/operations.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_dp.h"
#include "http_check.h"
#include "maglev.h"
#include "syn_guard.h"
#include "util.h"

#define LISTEN_BUF	(CLI_ADDRPORT_BUF + 8)	/* "ADDR:PORT/proto" */
#define OPTIONS_BUF	64

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s route show [NAME]\n"
		"       %1$s route add NAME [address ADDR] port PORT [proto { tcp | udp }]\n"
		"                     [balance { roundrobin | maglev | source }]\n"
		"                     [table-size M] [nat { snat | dnat }]\n"
		"                     [syn-cookies { auto | on | off }]\n"
		"                     [mode { tcp | http }] [option { tcplog | httplog }]\n"
		"                     [inter DURATION] [timeout DURATION] [rise N] [fall N]\n"
		"                     [check-port PORT] [check-type { tcp | http }]\n"
		"                     [check-method METHOD] [check-uri URI]\n"
		"                     [check-version { HTTP/1.0 | HTTP/1.1 }]\n"
		"                     [check-host HOST] [check-expect STATUS[-STATUS]]\n"
		"                     backend ADDR:PORT [weight W]\n"
		"                     [backend ADDR:PORT [weight W] ...]\n"
		"       %1$s route del NAME\n"
		"       %1$s route lookup NAME client ADDR[:PORT] [client ADDR[:PORT] ...]\n"
		"                     [address ADDR]\n"
		"       %1$s route help\n"
		"\n"
		"  show  the loaded routes (or one) with their backends and states\n"
		"  add   a runtime route, for the next new connection; ADDR defaults to\n"
		"        '*' (every local address), proto to tcp, nat to snat,\n"
		"        syn-cookies to auto for TCP (cookies while a SYN flood lasts;\n"
		"        on: every SYN; a UDP route takes only off). A backend on this\n"
		"        host's own address is delivered locally. option tcplog\n"
		"        (or httplog) logs each connection. Health checks as in the\n"
		"        inventory (HAProxy's names): inter 2s, timeout = inter, rise 2,\n"
		"        fall 3, on the backend's port; DURATION is ms or has a unit\n"
		"        (500ms, 2s, 1m). check-type http sends an HTTP request\n"
		"        (HAProxy's option httpchk: OPTIONS / HTTP/1.0, no Host) and\n"
		"        passes 2xx and 3xx unless check-expect says otherwise.\n"
		"        Kept by a reload unless the inventory takes\n"
		"        its name or listen key.\n"
		"        balance as in the inventory: roundrobin (default), maglev (a\n"
		"        consistent hash of the 5-tuple), source (of the client\n"
		"        address); maglev and source take a table of M slots, a prime\n"
		"        above 100 per backend (default 65537). weight W (0 to 256,\n"
		"        default 1, 0: no new flows) is the backend's before it, the\n"
		"        inventory's portier_weight.\n"
		"        ADDR is IPv4 or IPv6; ADDR:PORT is 203.0.113.1:80 or, for\n"
		"        IPv6, [2001:db8::1]:80. A route is of one family: its\n"
		"        address's (a route on '*' takes its backends').\n"
		"  del   remove a route and its flows (an inventory route comes back\n"
		"        at the next reload)\n"
		"  lookup  which backend a new flow from each client gets, read from\n"
		"        the loaded table (slot, backend, state; the open flow of the\n"
		"        tuple if any): maglev needs the client's port and, on a '*'\n"
		"        route, the address it connects to; for roundrobin the tuple\n"
		"        does not decide (the next new flow's backend is shown).\n"
		"        'config lookup' answers the same from an inventory.\n",
		pt_g.prog);
	return 0;
}

/* The route's SYN cookie mode as loaded ("off" for UDP). */
static const char *syn_cookies_of(const struct pt_dp_route_view *r)
{
	return r->meta.key.proto == IPPROTO_TCP ? pt_syn_guard_mode(r->flags) : "off";
}

static json_t *route_json(const struct pt_dp_route_view *r)
{
	const struct portier_route_meta *m = &r->meta;
	struct pt_check check = pt_check_from_meta(m);
	char addr[INET6_ADDRSTRLEN], ap[CLI_ADDRPORT_BUF];
	json_t *backends = json_array(), *o;

	for (size_t i = 0; i < r->n_be; i++) {
		const struct pt_dp_backend_view *b = &r->be[i];

		json_array_append_new(backends,
			json_pack("{s:s, s:s, s:i, s:b, s:s, s:i, s:i}", "backend",
				  cli_addr_port(&b->addr, b->port, ap, sizeof(ap)), "address",
				  pt_addr_str(&b->addr, addr, sizeof(addr)), "port", (int)b->port,
				  "local", b->local, "state", cli_state_name(b->state),
				  "id", (int)b->id, "weight", (int)b->weight));
	}
	o = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o,"
		      " s:o, s:o}",
		      "name", m->name, "id", (int)r->id, "origin", cli_origin_name(m->origin),
		      "address", cli_listen_addr(&m->key, addr, sizeof(addr)),
		      "port", (int)ntohs(m->key.port), "proto", pt_proto_name(m->key.proto),
		      "mode", m->mode, "nat", pt_nat_name(m->nat), "balance", pt_balance_name(m->balance),
		      "syn_cookies", syn_cookies_of(r), "options", pt_options_json(m->options),
		      "check", pt_check_json(&check), "backends", backends);
	if (!o)
		pt_die_oom();
	/* maglev, source: the table as loaded (0: none, which drops). */
	if (m->balance != PT_BALANCE_ROUNDROBIN)
		json_object_set_new(o, "table_size", json_integer(r->table_size));
	return o;
}

static void route_text(const struct pt_dp_route_view *r)
{
	const struct portier_route_meta *m = &r->meta;
	char listen[LISTEN_BUF], opts[OPTIONS_BUF], ap[CLI_ADDRPORT_BUF];
	char bal[32];

	snprintf(listen, sizeof(listen), "%s/%s", cli_listen_addrport(&m->key, ap, sizeof(ap)),
		 pt_proto_name(m->key.proto));
	pt_options_str(m->options, opts, sizeof(opts));
	if (m->balance != PT_BALANCE_ROUNDROBIN)
		snprintf(bal, sizeof(bal), "%s table %u", pt_balance_name(m->balance),
			 r->table_size);
	else
		snprintf(bal, sizeof(bal), "%s", pt_balance_name(m->balance));
	printf("%s  %s  nat %s  balance %s  syn-cookies %s  origin %s  options %s\n",
	       m->name, listen, pt_nat_name(m->nat), bal, syn_cookies_of(r),
	       cli_origin_name(m->origin), opts);
	if (m->check_type == PORTIER_CHECK_TYPE_HTTP) {
		struct pt_check c = pt_check_from_meta(m);

		printf("    check http %s %s HTTP/1.%u%s%s expect %u-%u\n", c.method, c.uri,
		       c.http_minor, c.host[0] ? " host " : "", c.host, c.expect_min,
		       c.expect_max);
	}
	for (size_t i = 0; i < r->n_be; i++)
		printf("    backend %-22s %-8s  weight %u%s\n",
		       cli_addr_port(&r->be[i].addr, r->be[i].port, ap, sizeof(ap)),
		       cli_state_name(r->be[i].state), r->be[i].weight,
		       r->be[i].local ? "  local" : "");
}

static int do_show(int argc, char **argv)
{
	const char *name = argc >= 1 ? argv[0] : NULL;
	struct pt_dp_route_view *v;
	struct pt_dataplane *dp;
	json_t *arr = json_array();
	size_t n, shown = 0;

	if (cli_no_more(argc - 1, argv + 1, "route show"))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	n = pt_dp_view(dp, &v);
	for (size_t i = 0; i < n; i++) {
		if (name && strcmp(v[i].meta.name, name))
			continue;
		shown++;
		if (pt_g.json)
			json_array_append_new(arr, route_json(&v[i]));
		else
			route_text(&v[i]);
	}
	pt_dp_view_free(v, n);
	pt_dp_close(dp);
	if (name && !shown) {
		json_decref(arr);
		p_err("no route '%s' is loaded; 'portier route show' lists them", name);
		return 1;
	}
	if (pt_g.json)
		return pt_json_print(arr);
	json_decref(arr);
	return 0;
}

/* One keyword's value, or an error naming it. */
static const char *next_value(int *i, int argc, char **argv)
{
	if (*i + 1 >= argc) {
		p_err("route add: '%s' needs a value; try '%s route help'", argv[*i], pt_g.prog);
		return NULL;
	}
	return argv[++*i];
}

/* A port number 1-65535, or an error naming the keyword. */
static int parse_port(const char *kw, const char *val, uint16_t *out)
{
	unsigned long port;

	if (!pt_parse_uint(val, 1, UINT16_MAX, &port)) {
		p_err("route add: %s '%s' is not a number from 1 to 65535", kw, val);
		return 1;
	}
	*out = port;
	return 0;
}

/* The HTTP check keywords, the inventory's destination.check keys. */
static const struct {
	const char *kw;
	int (*set)(const char *s, struct pt_check *c, const char **why);
} http_kws[] = {
	{ "check-type", pt_check_type_parse },
	{ "check-method", pt_http_check_method },
	{ "check-uri", pt_http_check_uri },
	{ "check-version", pt_http_check_version },
	{ "check-host", pt_http_check_host },
	{ "check-expect", pt_http_check_expect },
};

/* An HTTP check keyword into c: 0, 1 after an error, -1 if kw is none. */
static int parse_http_kw(const char *kw, const char *val, struct pt_check *c)
{
	const char *why;

	for (size_t i = 0; i < sizeof(http_kws) / sizeof(http_kws[0]); i++) {
		if (!is_prefix(kw, http_kws[i].kw))
			continue;
		if (!http_kws[i].set(val, c, &why))
			return 0;
		p_err("route add: %s '%s' %s", http_kws[i].kw, val, why);
		return 1;
	}
	return -1;
}

/* A health-check keyword (inter, timeout, rise, fall, check-port, the
 * check-* of an HTTP check) into c;
 * *timeout_set notes an explicit timeout. Returns 0, 1 after an error, or
 * -1 if kw is none of them. */
static int parse_check_kw(const char *kw, const char *val, struct pt_check *c,
			  bool *timeout_set)
{
	unsigned int *dur = NULL, *count = NULL;
	unsigned long n;

	if (is_prefix(kw, "inter"))
		dur = &c->inter_ms;
	else if (is_prefix(kw, "timeout"))
		dur = &c->timeout_ms;
	else if (is_prefix(kw, "rise"))
		count = &c->rise;
	else if (is_prefix(kw, "fall"))
		count = &c->fall;
	else if (is_prefix(kw, "check-port"))
		return parse_port("check-port", val, &c->port);
	else
		return parse_http_kw(kw, val, c);
	if (dur && !pt_parse_duration(val, dur)) {
		p_err("route add: %s '%s' is not a duration; write milliseconds (2000) or a "
		      "number with a unit: 500ms, 2s, 1m (at most 24h)", kw, val);
		return 1;
	}
	if (dur) {
		*timeout_set |= dur == &c->timeout_ms;
		return 0;
	}
	if (!pt_parse_uint(val, 1, PT_CHECK_COUNT_MAX, &n)) {
		p_err("route add: %s '%s' is not a count; use 1 to %d", kw, val,
		      PT_CHECK_COUNT_MAX);
		return 1;
	}
	*count = (unsigned int)n;
	return 0;
}

/* "option NAME": one of pt_option_names into *opts. */
static int parse_option(const char *val, unsigned int *opts)
{
	for (int i = 0; i < PT_N_OPTIONS; i++) {
		if (!strcmp(val, pt_option_names[i])) {
			*opts |= 1U << i;
			return 0;
		}
	}
	p_err("route add: option '%s': expected tcplog or httplog", val);
	return 1;
}

/* "weight W" of the backend before it (HAProxy's: 0..256, 0 takes no new
 * flows), as the inventory's portier_weight. */
static int parse_weight(const char *val, struct pt_route *r)
{
	unsigned long w;

	if (!r->n_backends) {
		p_err("route add: weight '%s' comes before any backend; write it after the "
		      "backend it weighs: backend ADDR:PORT weight W", val);
		return 1;
	}
	if (!pt_parse_uint(val, 0, PT_WEIGHT_MAX, &w)) {
		p_err("route add: " PT_WEIGHT_BAD_FMT, "weight", val, PT_WEIGHT_MAX);
		return 1;
	}
	r->backends[r->n_backends - 1].weight = (unsigned int)w;
	return 0;
}

/* The balance settings together, as the inventory checks them (routes.c):
 * a table size for maglev and source only (default PT_MAGLEV_SIZE_DEFAULT)
 * of more than PT_MAGLEV_SLOTS_PER_BACKEND slots a backend; weights that a
 * round-robin rotation can hold. */
static int check_balance(struct pt_route *r)
{
	unsigned int w[PORTIER_MAX_ROUTE_BACKENDS], g, turns;

	if (r->n_backends > PORTIER_MAX_ROUTE_BACKENDS) {
		p_err("route add: %zu backends, at most %d", r->n_backends,
		      PORTIER_MAX_ROUTE_BACKENDS);
		return 1;
	}
	if (r->balance == PT_BALANCE_ROUNDROBIN) {
		if (r->table_size) {
			p_err("route add: " PT_TABLE_SIZE_RR_FMT, "table-size");
			return 1;
		}
		for (size_t i = 0; i < r->n_backends; i++)
			w[i] = r->backends[i].weight;
		turns = pt_rr_turns(w, r->n_backends, &g);
		if (turns > PORTIER_MAX_ROUTE_BACKENDS) {
			p_err("route add: " PT_RR_WEIGHTS_FMT, "weight", r->n_backends, turns, g,
			      PORTIER_MAX_ROUTE_BACKENDS);
			return 1;
		}
		return 0;
	}
	if (!r->table_size)
		r->table_size = PT_MAGLEV_SIZE_DEFAULT;
	if (!pt_table_size_fits(r->table_size, r->n_backends)) {
		p_err("route add: " PT_TABLE_SIZE_SMALL_FMT, r->table_size, r->n_backends,
		      PT_MAGLEV_SLOTS_PER_BACKEND, "table-size",
		      pt_table_size_needed(r->n_backends));
		return 1;
	}
	return 0;
}

/* One family per route: its address's; a route on '*' takes its
 * backends' (IPv6 backends: the IPv6 clients of '*', the input NIC's IPv6
 * addresses; docs/inventory.md, "Families"). 0, or 1 after the error. */
static int check_family(struct pt_route *r)
{
	char ap[CLI_ADDRPORT_BUF], addr[INET6_ADDRSTRLEN];
	int fam = r->addr.family;

	if (r->wildcard) {
		fam = r->n_backends ? r->backends[0].addr.family : AF_INET;
		r->family = fam;
	}
	for (size_t i = 0; i < r->n_backends; i++) {
		const struct pt_backend *b = &r->backends[i];

		if (b->addr.family == fam)
			continue;
		cli_addr_port(&b->addr, b->port, ap, sizeof(ap));
		if (r->wildcard)
			p_err("route add: backend %s is %s but the route's first backend is %s; "
			      "one route on '*' forwards within one family (add a second route "
			      "for the other)", ap, b->addr.family == AF_INET6 ? "IPv6" : "IPv4",
			      fam == AF_INET6 ? "IPv6" : "IPv4");
		else
			p_err("route add: backend %s is %s but the route's address %s is %s; "
			      "one route forwards within one family (add a second route for "
			      "the other)", ap, b->addr.family == AF_INET6 ? "IPv6" : "IPv4",
			      pt_addr_str(&r->addr, addr, sizeof(addr)),
			      fam == AF_INET6 ? "IPv6" : "IPv4");
		return 1;
	}
	return 0;
}

int pt_route_add_parse(int argc, char **argv, struct pt_route *r)
{
	bool timeout_set = false, cookies_set = false;
	int rc;

	if (argc < 1 || !*argv[0]) {
		p_err("route add: no NAME; try '%s route help'", pt_g.prog);
		return 1;
	}
	r->name = argv[0];
	if (!r->mode)
		r->mode = "tcp";
	r->wildcard = true;
	r->proto = IPPROTO_TCP;
	r->check = (struct pt_check){ .inter_ms = PT_CHECK_INTER_DEFAULT_MS,
				      .timeout_ms = PT_CHECK_INTER_DEFAULT_MS,
				      .rise = PT_CHECK_RISE_DEFAULT,
				      .fall = PT_CHECK_FALL_DEFAULT };
	pt_http_check_defaults(&r->check);	/* cleared below if not HTTP */
	for (int i = 1; i < argc; i++) {
		const char *kw = argv[i], *val = next_value(&i, argc, argv);

		if (!val)
			return 1;
		if (is_prefix(kw, "address")) {
			r->wildcard = !strcmp(val, "*");
			if (!r->wildcard && pt_addr_parse(val, &r->addr)) {
				p_err("route add: address '%s' is not an IPv4 or IPv6 address, or "
				      "'*'", val);
				return 1;
			}
		} else if (is_prefix(kw, "port")) {
			if (parse_port("port", val, &r->port))
				return 1;
		} else if (is_prefix(kw, "proto")) {
			if (!strcmp(val, "tcp")) {
				r->proto = IPPROTO_TCP;
			} else if (!strcmp(val, "udp")) {
				r->proto = IPPROTO_UDP;
			} else {
				p_err("route add: proto '%s': expected tcp or udp", val);
				return 1;
			}
		} else if (is_prefix(kw, "balance")) {
			if (pt_balance_parse(val, &r->balance)) {
				p_err("route add: " PT_BALANCE_BAD_FMT, val);
				return 1;
			}
		} else if (is_prefix(kw, "nat")) {
			if (!strcmp(val, "snat")) {
				r->nat = PT_NAT_SNAT;
			} else if (!strcmp(val, "dnat")) {
				r->nat = PT_NAT_DNAT;
			} else {
				p_err("route add: nat '%s': expected snat or dnat", val);
				return 1;
			}
		} else if (is_prefix(kw, "syn-cookies")) {
			if (pt_syn_cookies_parse(val, &r->syn_cookies)) {
				p_err("route add: syn-cookies '%s': expected auto, on or off", val);
				return 1;
			}
			cookies_set = true;
		} else if (is_prefix(kw, "backend")) {
			struct pt_backend *b;

			r->backends = xrealloc(r->backends, (r->n_backends + 1) * sizeof(*b));
			b = &r->backends[r->n_backends++];
			memset(b, 0, sizeof(*b));
			b->weight = PT_WEIGHT_DEFAULT;
			if (cli_parse_addr_port("route add", "backend", val, &b->addr, &b->port))
				return 1;
			b->local = pt_host_has_addr(&b->addr, NULL);
		} else if (is_prefix(kw, "mode")) {
			if (strcmp(val, "tcp") && strcmp(val, "http")) {
				p_err("route add: mode '%s': expected tcp or http", val);
				return 1;
			}
			r->mode = !strcmp(val, "tcp") ? "tcp" : "http";
		} else if (is_prefix(kw, "option")) {
			if (parse_option(val, &r->options))
				return 1;
		} else if ((rc = parse_check_kw(kw, val, &r->check, &timeout_set)) >= 0) {
			if (rc)
				return 1;
		} else if (is_prefix(kw, "table-size")) {
			if (!pt_table_size_parse(val, &r->table_size)) {
				p_err("route add: " PT_TABLE_SIZE_BAD_FMT, "table-size", val,
				      PT_MAGLEV_SIZE_MIN, PT_MAGLEV_SIZE_MAX);
				return 1;
			}
		} else if (is_prefix(kw, "weight")) {
			if (parse_weight(val, r))
				return 1;
		} else {
			p_err("route add: unknown keyword '%s'; try '%s route help'", kw,
			      pt_g.prog);
			return 1;
		}
	}
	if (!timeout_set)
		r->check.timeout_ms = r->check.inter_ms;
	if (r->check.type != PT_CHECK_HTTP) {
		struct pt_check http = { 0 };

		pt_http_check_defaults(&http);
		if (strcmp(http.method, r->check.method) || strcmp(http.uri, r->check.uri) ||
		    r->check.host[0] ||
		    r->check.http_minor != http.http_minor ||
		    r->check.expect_min != http.expect_min ||
		    r->check.expect_max != http.expect_max) {
			p_err("route add: check-method, check-uri, check-version, check-host "
			      "and check-expect apply to HTTP checks; add 'check-type http'");
			return 1;
		}
		r->check.http_minor = 0;
		r->check.expect_min = r->check.expect_max = 0;
		r->check.method[0] = r->check.uri[0] = '\0';
	}
	if (r->proto == IPPROTO_UDP && cookies_set && r->syn_cookies != PT_SYN_COOKIES_OFF) {
		p_err("route add: syn-cookies %s applies to TCP routes only; drop it (or say "
		      "off) for this UDP route", pt_syn_cookies_name(r->syn_cookies));
		return 1;
	}
	if (!r->port) {
		p_err("route add: no port; give 'port PORT'");
		return 1;
	}
	if (!r->n_backends) {
		p_err("route add: no backend; give at least one 'backend ADDR:PORT'");
		return 1;
	}
	if (check_family(r))
		return 1;
	r->dest_port = r->backends[0].port;
	return check_balance(r);
}

static int do_add(int argc, char **argv)
{
	struct pt_route r = { .mode = "tcp" };
	struct pt_dp_route_view *v;
	struct pt_dataplane *dp;
	size_t n;
	int ret = 1;

	if (pt_route_add_parse(argc, argv, &r))
		goto out;
	dp = cli_dp_open();
	if (!dp)
		goto out;
	if (pt_dp_route_add(dp, &r)) {
		p_err("route add %s: %s", r.name, pt_dp_last_error(dp));
	} else {
		ret = 0;
		if (pt_g.json) {
			n = pt_dp_view(dp, &v);
			for (size_t i = 0; i < n; i++)
				if (!strcmp(v[i].meta.name, r.name))
					ret = pt_json_print(route_json(&v[i]));
			pt_dp_view_free(v, n);
		}
	}
	pt_dp_close(dp);
out:
	free(r.backends);
	return ret;
}

static int do_del(int argc, char **argv)
{
	struct pt_dataplane *dp;
	int ret = 0;

	if (argc < 1) {
		p_err("route del: no NAME; try '%s route help'", pt_g.prog);
		return 1;
	}
	if (cli_no_more(argc - 1, argv + 1, "route del"))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	if (pt_dp_route_del(dp, argv[0])) {
		p_err("route del %s: %s", argv[0], pt_dp_last_error(dp));
		ret = 1;
	} else if (pt_g.json) {
		ret = pt_json_print(json_pack("{s:s}", "deleted", argv[0]));
	}
	pt_dp_close(dp);
	return ret;
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "lookup", pt_route_lookup },
	{ "add", do_add },
	{ "delete", do_del },
	{ "help", do_help },
	{ 0 }
};

int do_route(int argc, char **argv)
{
	return pt_cmd_select("route", cmds, argc, argv, do_help);
}
