// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_backend.c - "portier backend": the backends of the loaded routes.
 *
 *   portier backend show [ROUTE]
 *   portier backend drain ROUTE ADDR:PORT
 *   portier backend enable ROUTE ADDR:PORT
 *
 * ADDR:PORT is IPv4 ("203.0.113.1:80") or bracketed IPv6
 * ("[2001:db8::1]:80"), as every listing prints it.
 *
 * drain takes a backend out of its route's rotation: no new flow goes to
 * it, flows already in the connection table finish (nothing is cut).
 * enable puts it back. The state is kept in the backend's map slot
 * (PORTIER_BACKEND_F_DRAINED), so it survives a daemon restart and a
 * reload, and every process sees it.
 *
 * show adds each backend's last health check, which the daemon writes into
 * portier_health after every check: result, duration, age, counts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "cli_dp.h"
#include "dataplane_int.h"
#include "util.h"

#define NS_PER_US	1000ULL
#define NS_PER_MS	1000000ULL
#define NS_PER_SEC	1000000000ULL
#define US_PER_MS	1000.0
#define MS_PER_SEC	1000.0
#define CHECK_NONE	"none"	/* no check to show: UDP, no daemon, not yet */
#define REASON_BUF	96	/* a check result's text */

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s backend show [ROUTE]\n"
		"       %1$s backend drain ROUTE ADDR:PORT\n"
		"       %1$s backend enable ROUTE ADDR:PORT\n"
		"       %1$s backend help\n"
		"\n"
		"  show    every backend (or ROUTE's): state (up, drained, down),\n"
		"          counters (new flows, packets and bytes in and out) and the\n"
		"          last health check (result, HTTP status line, duration, age;\n"
		"          \"none\" if the daemon has not checked it: UDP, no daemon,\n"
		"          not yet)\n"
		"  drain   no new flows to the backend; its open flows finish\n"
		"  enable  undo drain: the backend takes new flows again\n"
		"\n"
		"ADDR:PORT as listed: 203.0.113.1:80, or IPv6 in brackets,\n"
		"[2001:db8::1]:80.\n",
		pt_g.prog);
	return 0;
}

/* The backend's last check from portier_health; false if there is none
 * (never checked, or the slot's entry is of an earlier backend). */
static bool last_check(struct pt_dataplane *dp, const struct pt_dp_route_view *r,
		       const struct pt_dp_backend_view *b, struct portier_health *h)
{
	struct pt_addr a;
	__u32 id = b->id;

	if (bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_health), &id, h))
		return false;
	addr_from_bpf(&h->addr, h->family, &a);
	return h->family == addr_family_bpf(&b->addr) && pt_addr_equal(&a, &b->addr) &&
	       ntohs(h->port) == b->port && h->route_id == r->id &&
	       h->result != PORTIER_CHECK_NONE;
}

/* "ok", "connection refused", "timeout", "bad status" (HTTP, not expected),
 * "bad response" (HTTP, no status line), another errno's text. */
static const char *check_result_str(const struct portier_health *h, char *buf, size_t len)
{
	switch (h->result) {
	case PORTIER_CHECK_OK:
		return "ok";
	case PORTIER_CHECK_REFUSED:
		return "connection refused";
	case PORTIER_CHECK_TIMEOUT:
		return "timeout";
	case PORTIER_CHECK_HTTP_STATUS:
		return "bad status";
	case PORTIER_CHECK_HTTP_INVALID:
		return "bad response";
	default:
		snprintf(buf, len, "%s", strerror(h->err));
		if (buf[0] >= 'A' && buf[0] <= 'Z')
			buf[0] = (char)(buf[0] - 'A' + 'a');
		return buf;
	}
}

/* Milliseconds since the check (CLOCK_REALTIME), 0 if the clock went back. */
static __u64 check_age_ms(const struct portier_health *h)
{
	struct timespec ts;
	__u64 now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec;
	return now > h->time_ns ? (now - h->time_ns) / NS_PER_MS : 0;
}

/* {"type", "result", "health", "duration_us", "age_ms", "consecutive_ok",
 * "consecutive_failed", "checks_ok", "checks_failed", "http_status",
 * "status_line"}: type is the route's (tcp or http); result and health
 * "none", every number 0 and status_line "" when there is no check to
 * show; http_status 0 and status_line "" when the last check read none. */
static json_t *check_json(struct pt_dataplane *dp, const struct pt_dp_route_view *r,
			  const struct pt_dp_backend_view *b)
{
	struct portier_health h = {};
	char buf[REASON_BUF];
	bool have = last_check(dp, r, b, &h);
	json_t *o;

	if (!have)
		memset(&h, 0, sizeof(h));
	h.http_line[sizeof(h.http_line) - 1] = '\0';
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:s}", "type",
		      r->meta.check_type == PORTIER_CHECK_TYPE_HTTP ? "http" : "tcp", "result",
		      have ? check_result_str(&h, buf, sizeof(buf)) : CHECK_NONE, "health",
		      !have ? CHECK_NONE : h.up ? "up" : "down", "duration_us",
		      (json_int_t)h.duration_us, "age_ms",
		      (json_int_t)(have ? check_age_ms(&h) : 0), "consecutive_ok",
		      (json_int_t)h.consecutive_ok, "consecutive_failed",
		      (json_int_t)h.consecutive_failed, "checks_ok", (json_int_t)h.checks_ok,
		      "checks_failed", (json_int_t)h.checks_failed, "http_status",
		      (int)h.http_status, "status_line", h.http_line);
	if (!o)
		pt_die_oom();
	return o;
}

/* The LAST_CHECK column: "ok 0.21ms 1.4s ago", "bad status (HTTP/1.1 503
 * Service Unavailable) 0.40ms 0.9s ago", or "none". */
static const char *check_text(json_t *c, char *buf, size_t len)
{
	const char *res = json_string_value(json_object_get(c, "result"));
	const char *line = json_string_value(json_object_get(c, "status_line"));

	if (!strcmp(res, CHECK_NONE))
		return CHECK_NONE;
	snprintf(buf, len, "%s%s%s%s %.2fms %.1fs ago", res, *line ? " (" : "", line,
		 *line ? ")" : "",
		 json_integer_value(json_object_get(c, "duration_us")) / US_PER_MS,
		 json_integer_value(json_object_get(c, "age_ms")) / MS_PER_SEC);
	return buf;
}

/* Backend b of route r as JSON; NULL after an error (printed) if its
 * counters cannot be read. */
static json_t *backend_json(struct pt_dataplane *dp, const struct pt_dp_route_view *r,
			    const struct pt_dp_backend_view *b)
{
	struct portier_stats st;
	char addr[INET6_ADDRSTRLEN], ap[CLI_ADDRPORT_BUF];
	json_t *o;
	int err;

	cli_addr_port(&b->addr, b->port, ap, sizeof(ap));
	err = cli_stats_sum(pt_dp_skel(dp)->maps.portier_backend_stats, b->id, &st);
	if (err) {
		p_err("cannot read the counters of backend %s of route %s in %s (%s); is the "
		      "pinned data plane from this version of portier?", ap, r->meta.name,
		      cli_pin_dir(), strerror(-err));
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:s, s:b, s:b, s:I, s:o, s:o, s:o}",
		      "route", r->meta.name, "backend", ap, "address",
		      pt_addr_str(&b->addr, addr, sizeof(addr)), "port", (int)b->port,
		      "local", b->local, "state", cli_state_name(b->state),
		      "drained", !!(b->state & PT_DP_BE_DRAINED),
		      "down", !!(b->state & PT_DP_BE_DOWN), "flows", (json_int_t)st.flows,
		      "packets", cli_dir_json(st.packets), "bytes", cli_dir_json(st.bytes),
		      "check", check_json(dp, r, b));
	if (!o)
		pt_die_oom();
	return o;
}

/* o[what][dir] of a backend_json() object. */
static long long dir_value(json_t *o, const char *what, const char *dir)
{
	return json_integer_value(json_object_get(json_object_get(o, what), dir));
}

static int do_show(int argc, char **argv)
{
	const char *route = argc >= 1 ? argv[0] : NULL;
	struct pt_dp_route_view *v;
	struct pt_dataplane *dp;
	json_t *arr = json_array();
	size_t n, shown = 0;
	int ret = 0;

	if (cli_no_more(argc - 1, argv + 1, "backend show"))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	n = pt_dp_view(dp, &v);
	if (!pt_g.json)
		printf("%-16s %-22s %-8s %-5s %10s %12s %12s %14s %14s  %s\n", "ROUTE",
		       "BACKEND", "STATE", "LOCAL", "FLOWS", "PKTS_IN", "PKTS_OUT", "BYTES_IN",
		       "BYTES_OUT", "LAST_CHECK");
	for (size_t i = 0; i < n && !ret; i++) {
		if (route && strcmp(v[i].meta.name, route))
			continue;
		shown++;
		for (size_t j = 0; j < v[i].n_be; j++) {
			json_t *o = backend_json(dp, &v[i], &v[i].be[j]);
			char chk[2 * REASON_BUF + PORTIER_CHECK_LINE_MAX];

			if (!o) {
				ret = 1;
				break;
			}
			if (pt_g.json) {
				json_array_append_new(arr, o);
				continue;
			}
			printf("%-16s %-22s %-8s %-5s %10lld %12lld %12lld %14lld %14lld  %s\n",
			       v[i].meta.name, json_string_value(json_object_get(o, "backend")),
			       json_string_value(json_object_get(o, "state")),
			       json_is_true(json_object_get(o, "local")) ? "yes" : "no",
			       json_integer_value(json_object_get(o, "flows")),
			       dir_value(o, "packets", "in"), dir_value(o, "packets", "out"),
			       dir_value(o, "bytes", "in"), dir_value(o, "bytes", "out"),
			       check_text(json_object_get(o, "check"), chk, sizeof(chk)));
			json_decref(o);
		}
	}
	pt_dp_view_free(v, n);
	pt_dp_close(dp);
	if (ret) {
		json_decref(arr);
		return ret;
	}
	if (route && !shown) {
		json_decref(arr);
		p_err("no route '%s' is loaded; 'portier route show' lists them", route);
		return 1;
	}
	if (pt_g.json)
		return pt_json_print(arr);
	json_decref(arr);
	return 0;
}

/* drain (on) or enable (off) ROUTE ADDR:PORT. */
static int set_drained(int argc, char **argv, bool on)
{
	const char *cmd = on ? "backend drain" : "backend enable";
	struct pt_dataplane *dp;
	struct pt_addr addr;
	uint16_t port;
	int ret = 0, id;

	if (argc < 2) {
		p_err("%s: needs ROUTE ADDR:PORT; try '%s backend help'", cmd, pt_g.prog);
		return 1;
	}
	if (cli_no_more(argc - 2, argv + 2, cmd))
		return 1;
	if (cli_parse_addr_port(cmd, "backend", argv[1], &addr, &port))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	if (pt_dp_backend_set(dp, argv[0], &addr, port, PT_DP_BE_DRAINED, on)) {
		p_err("%s: %s", cmd, pt_dp_last_error(dp));
		ret = 1;
	} else if (pt_g.json) {
		struct pt_dp_route_view *v;
		size_t n = pt_dp_view(dp, &v);

		id = pt_dp_backend_id(dp, argv[0], &addr, port);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < v[i].n_be; j++)
				if ((int)v[i].be[j].id == id) {
					json_t *o = backend_json(dp, &v[i], &v[i].be[j]);

					ret = o ? pt_json_print(o) : 1;
				}
		pt_dp_view_free(v, n);
	}
	pt_dp_close(dp);
	return ret;
}

static int do_drain(int argc, char **argv)
{
	return set_drained(argc, argv, true);
}

static int do_enable(int argc, char **argv)
{
	return set_drained(argc, argv, false);
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "drain", do_drain },
	{ "enable", do_enable },
	{ "help", do_help },
	{ 0 }
};

int do_backend(int argc, char **argv)
{
	return pt_cmd_select("backend", cmds, argc, argv, do_help);
}
