// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_stats.c - "portier stats show": the data plane's counters, summed
 * over CPUs: per route and per backend new flows, packets and bytes in each
 * direction (in: client -> backend, out: backend -> client), and packets by
 * pass/drop reason, named by the one table the metrics use
 * (pt_metrics_reason, documented in docs/dataplane.md and
 * docs/operations.md); per route its SYN flood guard (syn_guard.h): mode,
 * whether cookies are on now, cookies sent, valid, failed, and client
 * packets dropped before the backend answered; per egress rule (egress
 * NAT, docs/dataplane.md "Egress") its flows, packets and bytes out (client
 * to server) and back, and the new flows it refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "cli_dp.h"
#include "metrics.h"
#include "metrics_collect.h"
#include "portier.skel.h"
#include "syn_guard.h"
#include "util.h"
#include "vrrp.h"

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s stats show\n"
		"       %1$s stats help\n"
		"\n"
		"  show  per route and backend: new flows, packets and bytes in (client\n"
		"        to backend) and out (backend to client); packets per pass/drop\n"
		"        reason; per route its SYN flood guard: syn-cookies mode (auto,\n"
		"        on, off), active (cookies answer its SYNs now), cookies sent,\n"
		"        valid and failed, pending drops (client packets of a cookie\n"
		"        flow before its backend answered). With -j: {\"routes\": [...],\n"
		"        \"reasons\": [...]}; a route also has the new connections it\n"
		"        refused (denied, rate_limited) and \"syn_guard\": {mode, active,\n"
		"        cookies_sent, cookies_valid, cookies_failed, pending_drops}.\n"
		"        Egress NAT, when the inventory declares it: its source address,\n"
		"        and per egress rule new flows, packets and bytes in (client to\n"
		"        server) and out (server to client), new flows refused (from its\n"
		"        sources, allowed by no rule); \"(unmatched)\": refused flows from\n"
		"        sources no rule names. With -j: \"egress\": {address, rules:\n"
		"        [{rule, flows, packets, bytes, refused}], unmatched_refused},\n"
		"        absent when egress is off.\n",
		pt_g.prog);
	return 0;
}

static const char *outcome_name(enum pt_metrics_outcome o)
{
	switch (o) {
	case PT_METRICS_DROP:
		return "drop";
	case PT_METRICS_REDIRECT:
		return "forward";
	case PT_METRICS_EVENT:
		return "event";
	case PT_METRICS_TX:
		return "transmit";
	case PT_METRICS_PASS:
		break;
	}
	return "pass";
}

static json_t *counters_json(json_t *o, const struct portier_stats *st)
{
	json_object_set_new(o, "flows", json_integer(st->flows));
	json_object_set_new(o, "packets", cli_dir_json(st->packets));
	json_object_set_new(o, "bytes", cli_dir_json(st->bytes));
	return o;
}

static void counters_text(const char *what, const struct portier_stats *st)
{
	printf("%-40s %10llu %12llu %12llu %14llu %14llu\n", what, (unsigned long long)st->flows,
	       (unsigned long long)st->packets[0], (unsigned long long)st->packets[1],
	       (unsigned long long)st->bytes[0], (unsigned long long)st->bytes[1]);
}

static json_t *guard_json(const char *mode, const struct pt_syn_guard *g)
{
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I}", "mode", mode, "active", g->active,
			      "cookies_sent", (json_int_t)g->cookies_sent,
			      "cookies_valid", (json_int_t)g->cookies_valid,
			      "cookies_failed", (json_int_t)g->cookies_failed,
			      "pending_drops", (json_int_t)g->pending_dropped);

	if (!o)
		pt_die_oom();
	return o;
}

/* Egress NAT (dp_egress.c): its address and rules' counters, as text or
 * as JSON (NULL: egress off, no "egress" key: the JSON has no nulls). */
static json_t *egress_show(struct portier *skel)
{
	struct portier_config cfg;
	struct pt_egress_view *ev = NULL;
	char a[INET_ADDRSTRLEN];
	json_t *rules = NULL, *o;
	__u64 unmatched = 0;
	size_t n = 0;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_config), &zero, &cfg) ||
	    !cfg.egress_on || pt_dp_egress_view(skel, &ev, &n))
		return NULL;
	inet_ntop(AF_INET, &cfg.egress_addr, a, sizeof(a));
	if (pt_g.json)
		rules = json_array();
	else
		printf("\nEGRESS from %s\n%-24s %10s %12s %12s %14s %14s %10s\n", a, "RULE", "FLOWS",
		       "PKTS_IN", "PKTS_OUT", "BYTES_IN", "BYTES_OUT", "REFUSED");
	for (size_t i = 0; i < n; i++) {
		const struct pt_egress_view *x = &ev[i];
		struct portier_stats st = { .flows = x->stats.flows };

		if (x->id >= PORTIER_EGRESS_RULES_MAX) {
			unmatched = x->stats.refused;
			if (!pt_g.json)
				printf("%-24s %10s %12s %12s %14s %14s %10llu\n", "(unmatched)", "-", "-",
				       "-", "-", "-", (unsigned long long)unmatched);
			continue;
		}
		memcpy(st.packets, x->stats.packets, sizeof(st.packets));
		memcpy(st.bytes, x->stats.bytes, sizeof(st.bytes));
		if (pt_g.json)
			json_array_append_new(rules, counters_json(
				json_pack("{s:s, s:I}", "rule", x->rule.name, "refused",
					  (json_int_t)x->stats.refused), &st));
		else
			printf("%-24s %10llu %12llu %12llu %14llu %14llu %10llu\n", x->rule.name,
			       (unsigned long long)st.flows, (unsigned long long)st.packets[0],
			       (unsigned long long)st.packets[1], (unsigned long long)st.bytes[0],
			       (unsigned long long)st.bytes[1],
			       (unsigned long long)x->stats.refused);
	}
	free(ev);
	if (!pt_g.json)
		return NULL;
	o = json_pack("{s:s, s:o, s:I}", "address", a, "rules", rules, "unmatched_refused",
		      (json_int_t)unmatched);
	if (!o)
		pt_die_oom();
	return o;
}

/* The SYN guard table, after the routes: one line per route. */
static void guards_text(const struct pt_dp_route_view *v, const struct pt_syn_guard *g, size_t n)
{
	printf("\n%-24s %-11s %-6s %14s %14s %14s %14s\n", "ROUTE", "SYN_COOKIES", "ACTIVE",
	       "COOKIES_SENT", "COOKIES_VALID", "COOKIES_FAILED", "PENDING_DROPS");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-11s %-6s %14llu %14llu %14llu %14llu\n", v[i].meta.name,
		       pt_syn_guard_mode(v[i].flags), g[i].active ? "yes" : "no",
		       (unsigned long long)g[i].cookies_sent,
		       (unsigned long long)g[i].cookies_valid,
		       (unsigned long long)g[i].cookies_failed,
		       (unsigned long long)g[i].pending_dropped);
}

/* The active-active table, after the SYN guards: one line per route. */
static void ha_text(const struct pt_dp_route_view *v, const struct portier_route_ha *ha,
		    size_t n)
{
	printf("\n%-24s %16s %18s\n", "ROUTE", "FLOWS_RECREATED", "STATELESS_REPLIES");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %16llu %18llu\n", v[i].meta.name,
		       (unsigned long long)ha[i].recreated,
		       (unsigned long long)ha[i].stateless_replies);
}

static int do_show(int argc, char **argv)
{
	struct pt_dp_route_view *v;
	struct pt_dataplane *dp;
	json_t *routes = json_array(), *reasons = json_array(), *vrrp;
	uint64_t rc[PORTIER_R_MAX];
	char ap[CLI_ADDRPORT_BUF];
	char what[CLI_ADDRPORT_BUF + PORTIER_ROUTE_NAME_MAX + 32];	/* unreadable counters */
	struct pt_syn_guard *guards;
	struct portier_route_ha *ha;
	json_t *egress = NULL;
	bool ok = false;
	size_t n;
	int err = 0;

	if (cli_no_more(argc, argv, "stats show"))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	n = pt_dp_view(dp, &v);
	guards = xcalloc(n ? n : 1, sizeof(*guards));
	ha = xcalloc(n ? n : 1, sizeof(*ha));
	if (!pt_g.json)
		printf("%-40s %10s %12s %12s %14s %14s\n", "ROUTE / BACKEND", "FLOWS", "PKTS_IN",
		       "PKTS_OUT", "BYTES_IN", "BYTES_OUT");
	for (size_t i = 0; i < n && !err; i++) {
		struct portier_stats st;
		struct portier_refused rf = { 0 };
		json_t *bes = json_array(), *o = NULL;

		err = pt_route_stats_sum(pt_dp_skel(dp), &v[i], &st);
		if (!err)
			err = pt_route_refused_sum(pt_dp_skel(dp), v[i].id, &rf);
		if (!err)
			err = pt_syn_guard_read(pt_dp_skel(dp)->maps.portier_syn_guard, v[i].id,
						v[i].flags, &guards[i]);
		if (!err)
			err = pt_route_ha_sum(pt_dp_skel(dp), v[i].id, &ha[i]);
		if (err) {
			snprintf(what, sizeof(what), "route %s", v[i].meta.name);
			json_decref(bes);
			break;
		}
		if (pt_g.json)
			o = counters_json(json_pack("{s:s, s:I, s:I, s:I, s:I}", "route",
						    v[i].meta.name, "denied", (json_int_t)rf.denied,
						    "rate_limited", (json_int_t)rf.rate_limited,
						    "flows_recreated", (json_int_t)ha[i].recreated,
						    "stateless_replies",
						    (json_int_t)ha[i].stateless_replies),
					  &st);
		if (pt_g.json)
			json_object_set_new(o, "syn_guard",
					    guard_json(pt_syn_guard_mode(v[i].flags), &guards[i]));
		else
			counters_text(v[i].meta.name, &st);
		for (size_t j = 0; j < v[i].n_be && !err; j++) {
			const struct pt_dp_backend_view *b = &v[i].be[j];
			char line[CLI_ADDRPORT_BUF + 8];

			cli_addr_port(&b->addr, b->port, ap, sizeof(ap));
			err = cli_stats_sum(pt_dp_skel(dp)->maps.portier_backend_stats, b->id, &st);
			if (err) {
				snprintf(what, sizeof(what), "backend %s of route %s", ap,
					 v[i].meta.name);
			} else if (pt_g.json) {
				json_array_append_new(bes, counters_json(
					json_pack("{s:s}", "backend", ap), &st));
			} else {
				snprintf(line, sizeof(line), "    %s", ap);
				counters_text(line, &st);
			}
		}
		if (pt_g.json) {
			json_object_set_new(o, "backends", bes);
			json_array_append_new(routes, o);
		} else {
			json_decref(bes);
		}
	}
	if (err)
		p_err("stats show: cannot read the counters of %s in %s (%s); is the pinned "
		      "data plane from this version of portier?", what, cli_pin_dir(),
		      strerror(-err));
	else if (pt_reasons_sum(pt_dp_skel(dp)->maps.portier_reasons, rc))
		p_err("stats show: cannot read the reason counters in %s; is the pinned data "
		      "plane from this version of portier?", cli_pin_dir());
	else
		ok = true;
	if (ok && !pt_g.json && n)
		guards_text(v, guards, n);
	if (ok && !pt_g.json && n)
		ha_text(v, ha, n);
	if (ok)
		egress = egress_show(pt_dp_skel(dp));
	free(guards);
	free(ha);
	pt_dp_view_free(v, n);
	if (!ok) {
		pt_dp_close(dp);
		json_decref(routes);
		json_decref(reasons);
		json_decref(egress);
		return 1;
	}
	vrrp = pt_vrrp_json(bpf_map__fd(pt_dp_skel(dp)->maps.portier_vrrp));
	pt_dp_close(dp);
	if (!pt_g.json)
		printf("\n%-22s %-8s %14s\n", "REASON", "ACTION", "PACKETS");
	for (unsigned int r = 0; r < PORTIER_R_MAX; r++) {
		enum pt_metrics_outcome oc = PT_METRICS_PASS;
		const char *name = pt_metrics_reason(r, &oc);

		if (!name)
			continue;
		if (pt_g.json)
			json_array_append_new(reasons, json_pack("{s:s, s:s, s:I}", "reason", name,
								 "action", outcome_name(oc),
								 "packets", (json_int_t)rc[r]));
		else
			printf("%-22s %-8s %14llu\n", name, outcome_name(oc),
			       (unsigned long long)rc[r]);
	}
	if (pt_g.json) {
		json_t *o = json_pack("{s:o, s:o, s:o}", "routes", routes, "reasons", reasons,
				      "vrrp", vrrp);

		if (o && egress)
			json_object_set_new(o, "egress", egress);
		else
			json_decref(egress);
		return pt_json_print(o);
	}
	if (json_array_size(json_object_get(vrrp, "instances")))
		printf("\n");
	pt_vrrp_print(vrrp, "");
	json_decref(vrrp);
	json_decref(routes);
	json_decref(reasons);
	return 0;
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "help", do_help },
	{ 0 }
};

int do_stats(int argc, char **argv)
{
	return pt_cmd_select("stats", cmds, argc, argv, do_help);
}
