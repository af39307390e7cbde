// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * metrics.c - render a snapshot as Prometheus text exposition format 0.0.4
 * and serve it with libmicrohttpd at /metrics (external epoll mode: the
 * daemon's poll loop drives it), with limits that hold under abuse.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"
#include "util.h"
#include "version.h"

#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_PATH	"/metrics"
#define PORT_MAX	65535

/* Reason labels, by enum portier_reason (see docs/dataplane.md). */
static const struct {
	const char *name;
	enum pt_metrics_outcome outcome;
} reasons[PORTIER_R_MAX] = {
	[PORTIER_R_PASS_NOT_IP] = { "not_ip", PT_METRICS_PASS },
	[PORTIER_R_PASS_NOT_L4] = { "not_l4", PT_METRICS_PASS },
	[PORTIER_R_PASS_UNDECLARED] = { "undeclared", PT_METRICS_PASS },
	[PORTIER_R_PASS_VLAN] = { "vlan", PT_METRICS_PASS },
	[PORTIER_R_PASS_FRAGMENT] = { "fragment", PT_METRICS_PASS },
	[PORTIER_R_PASS_IP_OPTIONS] = { "ip_options", PT_METRICS_PASS },
	[PORTIER_R_PASS_LOCAL] = { "local", PT_METRICS_PASS },
	[PORTIER_R_PASS_NO_NEIGH] = { "no_neigh", PT_METRICS_PASS },
	[PORTIER_R_PASS_FIB] = { "fib", PT_METRICS_PASS },
	[PORTIER_R_PASS_TTL] = { "ttl", PT_METRICS_PASS },
	[PORTIER_R_DROP_MALFORMED] = { "malformed", PT_METRICS_DROP },
	[PORTIER_R_DROP_NO_BACKEND] = { "no_backend", PT_METRICS_DROP },
	[PORTIER_R_DROP_SNAT_EXHAUSTED] = { "snat_exhausted", PT_METRICS_DROP },
	[PORTIER_R_DROP_CT_FULL] = { "ct_full", PT_METRICS_DROP },
	[PORTIER_R_FWD_REDIRECT] = { "redirect", PT_METRICS_REDIRECT },
	[PORTIER_R_PASS_NO_FLOW] = { "no_flow", PT_METRICS_PASS },
	/* Not a packet: a connection log event the ring buffer had no room for
	 * (docs/connlog.md); the packet itself went on. */
	[PORTIER_R_LOG_LOST] = { "log_lost", PT_METRICS_DROP },
	/* Not a packet: an entry evicted to make room in a full bucket. */
	[PORTIER_R_CT_EVICTED] = { "ct_evicted", PT_METRICS_EVENT },
	/* Not a packet: two CPUs inserted one key at once; one waited. */
	[PORTIER_R_CT_RACE] = { "ct_race", PT_METRICS_EVENT },
	/* SYN flood defense (docs/dataplane.md, "SYN floods"). */
	[PORTIER_R_SYN_COOKIE_SENT] = { "syn_cookie_sent", PT_METRICS_TX },
	[PORTIER_R_SYN_COOKIE_VALID] = { "syn_cookie_valid", PT_METRICS_EVENT },
	[PORTIER_R_SYN_COOKIE_FAILED] = { "syn_cookie_failed", PT_METRICS_PASS },
	[PORTIER_R_SYNPROXY_PENDING] = { "synproxy_pending", PT_METRICS_DROP },
	[PORTIER_R_SYNPROXY_BACKEND_ACK] = { "synproxy_backend_ack", PT_METRICS_TX },
	[PORTIER_R_DROP_BAD_CSUM] = { "bad_checksum", PT_METRICS_DROP },
	[PORTIER_R_SYNPROXY_LOST] = { "synproxy_lost", PT_METRICS_DROP },
	/* New flows refused by admission (source policy, rate limit). */
	[PORTIER_R_DROP_DENIED] = { "denied", PT_METRICS_DROP },
	[PORTIER_R_DROP_RATE_LIMITED] = { "rate_limited", PT_METRICS_DROP },
	/* ICMP (bpf/icmp.h): an error of a flow translated and sent on; a
	 * too-big packet answered with fragmentation needed (XDP_TX), or
	 * dropped over the ICMP rate limit; a too-big packet without DF
	 * passed rewritten (the kernel fragments it). */
	[PORTIER_R_ICMP_TRANSLATED] = { "icmp_translated", PT_METRICS_REDIRECT },
	[PORTIER_R_ICMP_FRAG_NEEDED_SENT] = { "icmp_frag_needed_sent", PT_METRICS_TX },
	[PORTIER_R_ICMP_RATELIMITED] = { "icmp_ratelimited", PT_METRICS_DROP },
	[PORTIER_R_PASS_TOO_BIG] = { "too_big", PT_METRICS_PASS },
	/* A frame addressed to another host's MAC: never balanced. */
	[PORTIER_R_PASS_OTHER_HOST] = { "other_host", PT_METRICS_PASS },
	/* Not packets (the packet is counted by its forwarding): the
	 * active-active pool's flows recreated and stateless replies. */
	[PORTIER_R_FLOW_RECREATED] = { "flow_recreated", PT_METRICS_EVENT },
	[PORTIER_R_STATELESS_REPLY] = { "stateless_reply", PT_METRICS_EVENT },
	/* Egress NAT (bpf/egress.h): a new flow out of the output NIC that no
	 * egress rule allows; a TCP segment (not a SYN) or echo reply out of
	 * it with no egress flow. */
	[PORTIER_R_DROP_EGRESS_REFUSED] = { "egress_refused", PT_METRICS_DROP },
	[PORTIER_R_DROP_EGRESS_NO_FLOW] = { "egress_no_flow", PT_METRICS_DROP },
	/* Not a packet: a flow sync event the ring buffer had no room for
	 * (docs/operations.md, "Flow sync"); the packet itself went on. */
	[PORTIER_R_SYNC_LOST] = { "sync_lost", PT_METRICS_EVENT },
	/* IPv6 (docs/dataplane.md, "IPv6"): an extension header portier does
	 * not walk; link-local and multicast traffic (neighbour discovery). */
	[PORTIER_R_PASS_IP6_EXT] = { "ip6_ext", PT_METRICS_PASS },
	[PORTIER_R_PASS_LINK_LOCAL] = { "link_local", PT_METRICS_PASS },
};

static const char *const dir_names[PT_METRICS_DIRS] = { "in", "out" };

const char *pt_metrics_reason(unsigned int reason, enum pt_metrics_outcome *outcome)
{
	if (reason >= PORTIER_R_MAX || !reasons[reason].name)
		return NULL;
	if (outcome)
		*outcome = reasons[reason].outcome;
	return reasons[reason].name;
}

struct pt_metrics_route *pt_metrics_add_route(struct pt_metrics_snapshot *s, const char *name)
{
	struct pt_metrics_route *r;

	s->routes = xrealloc(s->routes, (s->n_routes + 1) * sizeof(*s->routes));
	r = &s->routes[s->n_routes++];
	*r = (struct pt_metrics_route){ .name = xstrdup(name) };
	return r;
}

struct pt_metrics_backend *pt_metrics_add_backend(struct pt_metrics_snapshot *s,
						  const char *route, const struct pt_addr *addr,
						  uint16_t port)
{
	struct pt_metrics_backend *b;
	char a[PT_ADDRPORT_STRLEN];

	s->backends = xrealloc(s->backends, (s->n_backends + 1) * sizeof(*s->backends));
	b = &s->backends[s->n_backends++];
	*b = (struct pt_metrics_backend){
		.route = xstrdup(route),
		.backend = xstrdup(pt_addrport_str(addr, port, a, sizeof(a))),
	};
	return b;
}

struct pt_metrics_egress *pt_metrics_add_egress(struct pt_metrics_snapshot *s, const char *rule)
{
	struct pt_metrics_egress *e;

	s->egress = xrealloc(s->egress, (s->n_egress + 1) * sizeof(*s->egress));
	e = &s->egress[s->n_egress++];
	memset(e, 0, sizeof(*e));
	e->rule = xstrdup(rule);
	return e;
}

void pt_metrics_snapshot_clear(struct pt_metrics_snapshot *s)
{
	for (size_t i = 0; i < s->n_egress; i++)
		free(s->egress[i].rule);
	free(s->egress);
	for (size_t i = 0; i < s->n_routes; i++)
		free(s->routes[i].name);
	for (size_t i = 0; i < s->n_backends; i++) {
		free(s->backends[i].route);
		free(s->backends[i].backend);
	}
	free(s->routes);
	free(s->backends);
	memset(s, 0, sizeof(*s));
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{route="..",backend=".."[,extra="val"]} */
static void series(FILE *f, const char *name, const char *route, const char *backend,
		   const char *extra, const char *val)
{
	const char *sep = "";

	fputs(name, f);
	if (!route && !backend && !extra)
		return;
	fputc('{', f);
	if (route) {
		fputs("route=\"", f);
		put_label(f, route);
		fputc('"', f);
		sep = ",";
	}
	if (backend) {
		fprintf(f, "%sbackend=\"", sep);
		put_label(f, backend);
		fputc('"', f);
		sep = ",";
	}
	if (extra) {
		fprintf(f, "%s%s=\"", sep, extra);
		put_label(f, val);
		fputc('"', f);
	}
	fputc('}', f);
}

static void u64(FILE *f, uint64_t v)
{
	fprintf(f, " %" PRIu64 "\n", v);
}

static void render_routes(const struct pt_metrics_snapshot *s, FILE *f)
{
	static const char *const n_pk = "portier_route_packets_total";
	static const char *const n_by = "portier_route_bytes_total";

	head(f, "portier_route_connections_total", "counter",
	     "New connections (flows) accepted by a route.");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, "portier_route_connections_total", s->routes[i].name, NULL, NULL, NULL);
		u64(f, s->routes[i].flows);
	}
	head(f, n_pk, "counter",
	     "Packets forwarded by a route; direction in = client to backend, out = back.");
	for (size_t i = 0; i < s->n_routes; i++)
		for (int d = 0; d < PT_METRICS_DIRS; d++) {
			series(f, n_pk, s->routes[i].name, NULL, "direction", dir_names[d]);
			u64(f, s->routes[i].packets[d]);
		}
	head(f, n_by, "counter", "Bytes (IP packets) forwarded by a route, by direction.");
	for (size_t i = 0; i < s->n_routes; i++)
		for (int d = 0; d < PT_METRICS_DIRS; d++) {
			series(f, n_by, s->routes[i].name, NULL, "direction", dir_names[d]);
			u64(f, s->routes[i].bytes[d]);
		}
	head(f, "portier_route_denied_total", "counter",
	     "New connections refused by the source policy (the route's or the pool's lists).");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, "portier_route_denied_total", s->routes[i].name, NULL, NULL, NULL);
		u64(f, s->routes[i].denied);
	}
	head(f, "portier_route_rate_limited_total", "counter",
	     "New connections refused because their source was over the route's rate limit.");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, "portier_route_rate_limited_total", s->routes[i].name, NULL, NULL, NULL);
		u64(f, s->routes[i].rate_limited);
	}
	head(f, "portier_route_flows_recreated_total", "counter",
	     "Flows recreated from a packet of a connection this gateway had not seen "
	     "(another gateway of the pool had it, or the table lost it).");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, "portier_route_flows_recreated_total", s->routes[i].name, NULL, NULL,
		       NULL);
		u64(f, s->routes[i].recreated);
	}
	head(f, "portier_route_stateless_replies_total", "counter",
	     "Backend replies with no flow translated back to the route's service and "
	     "forwarded (their flow is another gateway's).");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, "portier_route_stateless_replies_total", s->routes[i].name, NULL, NULL,
		       NULL);
		u64(f, s->routes[i].stateless_replies);
	}
}

/* name{rule="..."[,direction="..."]} */
static void egress_series(FILE *f, const char *name, const char *rule, const char *dir)
{
	fprintf(f, "%s{rule=\"", name);
	put_label(f, rule);
	if (dir)
		fprintf(f, "\",direction=\"%s", dir);
	fputs("\"}", f);
}

/* Egress NAT's rules (docs/dataplane.md, "Egress"), when it is on. */
static void render_egress(const struct pt_metrics_snapshot *s, FILE *f)
{
	static const char *const n_co = "portier_egress_connections_total";
	static const char *const n_pk = "portier_egress_packets_total";
	static const char *const n_by = "portier_egress_bytes_total";
	static const char *const n_rf = "portier_egress_refused_total";

	if (!s->egress_on)
		return;
	head(f, n_co, "counter", "New egress flows allowed by an egress rule.");
	for (size_t i = 0; i < s->n_egress; i++) {
		egress_series(f, n_co, s->egress[i].rule, NULL);
		u64(f, s->egress[i].flows);
	}
	head(f, n_pk, "counter",
	     "Packets of egress flows; direction in = client to server, out = back.");
	for (size_t i = 0; i < s->n_egress; i++)
		for (int d = 0; d < PT_METRICS_DIRS; d++) {
			egress_series(f, n_pk, s->egress[i].rule, dir_names[d]);
			u64(f, s->egress[i].packets[d]);
		}
	head(f, n_by, "counter", "Bytes (frames) of egress flows, by direction.");
	for (size_t i = 0; i < s->n_egress; i++)
		for (int d = 0; d < PT_METRICS_DIRS; d++) {
			egress_series(f, n_by, s->egress[i].rule, dir_names[d]);
			u64(f, s->egress[i].bytes[d]);
		}
	head(f, n_rf, "counter",
	     "New egress flows refused: from a rule's sources but allowed by no rule; rule "
	     "\"(unmatched)\": from sources no rule names.");
	for (size_t i = 0; i < s->n_egress; i++) {
		egress_series(f, n_rf, s->egress[i].rule, NULL);
		u64(f, s->egress[i].refused);
	}
	egress_series(f, n_rf, "(unmatched)", NULL);
	u64(f, s->egress_unmatched);
}

/* A route's SYN flood guard (docs/dataplane.md, "SYN floods"). */
static void render_syn_guard(const struct pt_metrics_snapshot *s, FILE *f)
{
	static const char *const n_ac = "portier_route_syn_cookies_active";
	static const char *const n_co = "portier_route_syn_cookies_total";
	static const char *const n_pd = "portier_route_synproxy_pending_drops_total";
	static const char *const results[] = { "sent", "valid", "failed" };

	head(f, n_ac, "gauge",
	     "1 while a route answers SYNs with cookies (mode on, or auto during a flood).");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, n_ac, s->routes[i].name, NULL, "mode",
		       s->routes[i].syn_cookies ? s->routes[i].syn_cookies : "off");
		u64(f, s->routes[i].guard.active);
	}
	head(f, n_co, "counter",
	     "SYN cookies of a route: sent (SYN-ACKs), valid (ACKs that opened a flow), failed.");
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct pt_syn_guard *g = &s->routes[i].guard;
		const uint64_t v[] = { g->cookies_sent, g->cookies_valid, g->cookies_failed };

		for (size_t k = 0; k < ARRAY_SIZE(results); k++) {
			series(f, n_co, s->routes[i].name, NULL, "result", results[k]);
			u64(f, v[k]);
		}
	}
	head(f, n_pd, "counter",
	     "Client packets of a cookie flow dropped before its backend answered.");
	for (size_t i = 0; i < s->n_routes; i++) {
		series(f, n_pd, s->routes[i].name, NULL, NULL, NULL);
		u64(f, s->routes[i].guard.pending_dropped);
	}
}

static void render_backend_counters(const struct pt_metrics_snapshot *s, FILE *f)
{
	static const char *const n_co = "portier_backend_connections_total";
	static const char *const n_pk = "portier_backend_packets_total";
	static const char *const n_by = "portier_backend_bytes_total";
	const struct pt_metrics_backend *b;

	head(f, n_co, "counter", "New connections sent to a backend.");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		series(f, n_co, b->route, b->backend, NULL, NULL);
		u64(f, b->flows);
	}
	head(f, n_pk, "counter", "Packets of a backend's flows, by direction.");
	for (b = s->backends; b < s->backends + s->n_backends; b++)
		for (int d = 0; d < PT_METRICS_DIRS; d++) {
			series(f, n_pk, b->route, b->backend, "direction", dir_names[d]);
			u64(f, b->packets[d]);
		}
	head(f, n_by, "counter", "Bytes of a backend's flows, by direction.");
	for (b = s->backends; b < s->backends + s->n_backends; b++)
		for (int d = 0; d < PT_METRICS_DIRS; d++) {
			series(f, n_by, b->route, b->backend, "direction", dir_names[d]);
			u64(f, b->bytes[d]);
		}
}

static void render_backend_state(const struct pt_metrics_snapshot *s, FILE *f)
{
	static const char *const n_ck = "portier_backend_checks_total";
	static const char *const n_du = "portier_backend_check_duration_seconds";
	static const char *const n_hs = "portier_backend_check_http_status";
	const struct pt_metrics_backend *b;

	head(f, "portier_backend_up", "gauge",
	     "1 if the backend passes its health checks, 0 if it is down.");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		series(f, "portier_backend_up", b->route, b->backend, NULL, NULL);
		u64(f, b->up);
	}
	head(f, "portier_backend_drained", "gauge",
	     "1 if an operator drained the backend (no new connections).");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		series(f, "portier_backend_drained", b->route, b->backend, NULL, NULL);
		u64(f, b->drained);
	}
	head(f, "portier_snat_ports_used", "gauge",
	     "SNAT source ports held by live flows to a backend.");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		series(f, "portier_snat_ports_used", b->route, b->backend, NULL, NULL);
		u64(f, b->snat_ports_used);
	}
	head(f, n_ck, "counter", "Completed health checks, by result (ok or failed).");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		if (!b->checked)
			continue;
		series(f, n_ck, b->route, b->backend, "result", "ok");
		u64(f, b->checks_ok);
		series(f, n_ck, b->route, b->backend, "result", "failed");
		u64(f, b->checks_failed);
	}
	head(f, n_du, "gauge", "Duration of the last completed health check, seconds.");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		if (!b->checked)
			continue;
		series(f, n_du, b->route, b->backend, NULL, NULL);
		fprintf(f, " %.6f\n", b->check_duration_s);
	}
	head(f, n_hs, "gauge",
	     "HTTP status of the last HTTP health check, 0 if it read none.");
	for (b = s->backends; b < s->backends + s->n_backends; b++) {
		if (!b->checked || !b->http_checked)
			continue;
		series(f, n_hs, b->route, b->backend, NULL, NULL);
		u64(f, b->http_status);
	}
}

static void render_reasons(const struct pt_metrics_snapshot *s, FILE *f)
{
	static const struct {
		enum pt_metrics_outcome outcome;
		const char *name, *help;
	} kinds[] = {
		{ PT_METRICS_DROP, "portier_drops_total",
		  "Packets dropped by the data plane, by reason." },
		{ PT_METRICS_PASS, "portier_passes_total",
		  "Packets passed to the kernel's stack, by reason." },
		{ PT_METRICS_TX, "portier_transmits_total",
		  "Packets the data plane answered itself (XDP_TX), by reason." },
	};
	enum pt_metrics_outcome o;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		head(f, kinds[k].name, "counter", kinds[k].help);
		for (unsigned int r = 0; r < PORTIER_R_MAX; r++) {
			const char *name = pt_metrics_reason(r, &o);

			if (!name || o != kinds[k].outcome)
				continue;
			series(f, kinds[k].name, NULL, NULL, "reason", name);
			u64(f, s->reasons[r]);
		}
	}
	head(f, "portier_redirects_total", "counter",
	     "Packets forwarded by XDP redirect (both directions, all routes).");
	fputs("portier_redirects_total", f);
	u64(f, s->reasons[PORTIER_R_FWD_REDIRECT]);
}

static void render_vrrp(const struct pt_metrics_snapshot *s, FILE *f)
{
	char id[8];

	if (!s->n_vrrp)
		return;
	head(f, "portier_vrrp_role", "gauge",
	     "VRRP role keepalived gave this host, per virtual_router_id (portier vrrp notify): "
	     "0 unknown, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP.");
	for (size_t i = 0; i < s->n_vrrp; i++) {
		snprintf(id, sizeof(id), "%u", s->vrrp[i].vrid);
		series(f, "portier_vrrp_role", NULL, NULL, "vrid", id);
		u64(f, s->vrrp[i].role);
	}
	head(f, "portier_vrrp_role_changes_total", "counter",
	     "VRRP role changes recorded per virtual_router_id since the data plane was pinned.");
	for (size_t i = 0; i < s->n_vrrp; i++) {
		snprintf(id, sizeof(id), "%u", s->vrrp[i].vrid);
		series(f, "portier_vrrp_role_changes_total", NULL, NULL, "vrid", id);
		u64(f, s->vrrp[i].changes);
	}
}

/* One unlabelled series. */
static void plain(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	head(f, name, type, help);
	fputs(name, f);
	u64(f, v);
}

static void render_flowsync(const struct pt_metrics_snapshot *s, FILE *f)
{
	const struct pt_metrics_flowsync *y = &s->sync;
	static const char *const applied[4] = { "inserted", "refreshed", "flags", "deleted" };
	static const char *const n_dg = "portier_flowsync_datagrams_total";
	static const char *const n_rec = "portier_flowsync_records_total";
	static const char *const n_app = "portier_flowsync_applied_total";
	static const char *const n_ref = "portier_flowsync_refused_total";

	if (!y->on)
		return;
	plain(f, "portier_flowsync_master", "gauge",
	      "1: this gateway is the flow sync MASTER (sends its flows); 0: BACKUP.", y->master);
	plain(f, "portier_flowsync_peer_up", "gauge",
	      "1: the peer gateway was heard within 3 s.", y->peer_up);
	head(f, n_dg, "counter",
	     "Flow sync data datagrams: direction out = sent (first time), in = delivered.");
	for (int d = 0; d < PT_METRICS_DIRS; d++) {
		series(f, n_dg, NULL, NULL, "direction", dir_names[d]);
		u64(f, y->datagrams[d]);
	}
	head(f, n_rec, "counter", "Flow sync records (flows, state bits, deletes), by direction.");
	for (int d = 0; d < PT_METRICS_DIRS; d++) {
		series(f, n_rec, NULL, NULL, "direction", dir_names[d]);
		u64(f, y->records[d]);
	}
	plain(f, "portier_flowsync_acked_total", "counter",
	      "Flow sync datagrams the peer acknowledged.", y->acked);
	plain(f, "portier_flowsync_retransmits_total", "counter",
	      "Flow sync datagrams sent again (the peer's NACK, or no ACK in 200 ms).",
	      y->retransmits);
	plain(f, "portier_flowsync_resyncs_total", "counter",
	      "Whole connection tables sent to the peer (it restarted, came back, or missed "
	      "more than the retransmit queue held).", y->resyncs);
	plain(f, "portier_flowsync_nacks_total", "counter",
	      "Gaps in the peer's datagrams reported back to it.", y->nacks);
	plain(f, "portier_flowsync_duplicates_total", "counter",
	      "Flow sync datagrams received again (ignored).", y->duplicates);
	plain(f, "portier_flowsync_reordered_total", "counter",
	      "Flow sync datagrams received ahead of a gap, held until it was filled.",
	      y->reordered);
	plain(f, "portier_flowsync_peer_restarts_total", "counter",
	      "New runs of the peer's daemon seen.", y->peer_restarts);
	plain(f, "portier_flowsync_peer_downs_total", "counter",
	      "Times the peer went silent for 3 s.", y->peer_downs);
	plain(f, "portier_flowsync_events_total", "counter",
	      "Sync events read from the data plane (new flows, state bits, deletes).",
	      y->events);
	plain(f, "portier_flowsync_events_lost_total", "counter",
	      "Sync events the data plane lost to a full ring buffer (refreshes and resyncs "
	      "make up for them).", s->reasons[PORTIER_R_SYNC_LOST]);
	head(f, n_app, "counter",
	     "Received records written into the connection table, by result.");
	for (int i = 0; i < 4; i++) {
		series(f, n_app, NULL, NULL, "result", applied[i]);
		u64(f, y->applied[i]);
	}
	head(f, n_ref, "counter",
	     "Flow sync records and datagrams refused or not sent, by reason.");
	for (size_t i = 0; i < y->n_refused; i++) {
		series(f, n_ref, NULL, NULL, "reason", y->refused[i].reason);
		u64(f, y->refused[i].n);
	}
}

int pt_metrics_render(const struct pt_metrics_snapshot *s, FILE *f)
{
	head(f, "portier_build_info", "gauge", "Always 1; the label says the portier version.");
	series(f, "portier_build_info", NULL, NULL, "version",
	       s->version ? s->version : PORTIER_VERSION);
	u64(f, 1);
	head(f, "portier_reloads_total", "counter",
	     "Inventory reloads (SIGHUP) applied since the daemon started.");
	fputs("portier_reloads_total", f);
	u64(f, s->reloads);
	render_vrrp(s, f);
	render_routes(s, f);
	render_syn_guard(s, f);
	render_egress(s, f);
	render_backend_counters(s, f);
	render_backend_state(s, f);
	render_reasons(s, f);
	render_flowsync(s, f);
	head(f, "portier_conntrack_entries", "gauge",
	     "Connection-table entries in use (two per flow: one each direction).");
	fputs("portier_conntrack_entries", f);
	u64(f, s->ct_entries);
	head(f, "portier_conntrack_capacity", "gauge", "Connection-table size, entries.");
	fputs("portier_conntrack_capacity", f);
	u64(f, s->ct_capacity);
	head(f, "portier_conntrack6_entries", "gauge",
	     "IPv6 connection-table entries in use (two per flow: one each direction).");
	fputs("portier_conntrack6_entries", f);
	u64(f, s->ct6_entries);
	head(f, "portier_conntrack6_capacity", "gauge", "IPv6 connection-table size, entries.");
	fputs("portier_conntrack6_capacity", f);
	u64(f, s->ct6_capacity);
	head(f, "portier_conntrack_evictions_total", "counter",
	     "Connection-table entries evicted to make room in a full bucket.");
	fputs("portier_conntrack_evictions_total", f);
	u64(f, s->reasons[PORTIER_R_CT_EVICTED]);
	head(f, "portier_conntrack_insert_races_total", "counter",
	     "New entries whose insert met another CPU's insert of the same key and waited.");
	fputs("portier_conntrack_insert_races_total", f);
	u64(f, s->reasons[PORTIER_R_CT_RACE]);
	head(f, "portier_icmp_translated_total", "counter",
	     "ICMP errors of NATed flows translated and sent to the flow's other end.");
	fputs("portier_icmp_translated_total", f);
	u64(f, s->reasons[PORTIER_R_ICMP_TRANSLATED]);
	head(f, "portier_icmp_frag_needed_sent_total", "counter",
	     "ICMP fragmentation needed sent for packets too big for their egress NIC.");
	fputs("portier_icmp_frag_needed_sent_total", f);
	u64(f, s->reasons[PORTIER_R_ICMP_FRAG_NEEDED_SENT]);
	head(f, "portier_snat_ports_capacity", "gauge",
	     "SNAT source ports available to each backend (the --snat-ports range).");
	fputs("portier_snat_ports_capacity", f);
	u64(f, s->snat_ports_per_backend);
	head(f, "portier_metrics_connections", "gauge",
	     "Connections open to this metrics endpoint, the scrape's own included.");
	fputs("portier_metrics_connections", f);
	u64(f, s->http_connections);
	head(f, "portier_metrics_deadline_closed_total", "counter",
	     "Connections to this endpoint shut down with no complete request "
	     "within --metrics-timeout.");
	fputs("portier_metrics_deadline_closed_total", f);
	u64(f, s->http_deadline_closed);
	return ferror(f) ? -EIO : 0;
}

/* ---- the server ---------------------------------------------------------- */

/*
 * Abuse (docs/observability.md, "The endpoint under abuse"): clients that
 * open connections and never finish a request (slowloris) must not take
 * every slot. libmicrohttpd refuses connections over the per-address limit
 * at accept; its own timeout counts idle time only, so a client that sends
 * one byte a second would hold its slot for ever. The server therefore keeps
 * every connection that waits for a request (from accept, or from the end of
 * its previous answer) in a list ordered by deadline, and shuts down the
 * socket of one whose request is not complete by then (HAProxy's "timeout
 * http-request", Go's ReadHeaderTimeout); libmicrohttpd sees the hang-up and
 * closes it.
 */

#define POOL_BYTES	8192	/* per connection: a scrape's request is < 1 KiB */

/* One open connection (libmicrohttpd's socket context). */
struct conn {
	struct conn *prev, *next;	/* in the waiting list, by deadline */
	struct MHD_Connection *c;
	uint64_t deadline_ms;		/* CLOCK_MONOTONIC */
	bool waiting;			/* in the list: no complete request yet */
};

struct pt_metrics_server {
	struct MHD_Daemon *mhd;
	pt_metrics_fill_fn fill;
	void *arg;
	int epfd;		/* the daemon polls this: MHD's epoll fd and timer */
	int timer;		/* timerfd: the next deadline or MHD timeout */
	unsigned int timeout_ms;
	struct conn *head, *tail;	/* waiting for a request, oldest first */
	bool closed;		/* a connection closed in this run */
	uint64_t open;		/* connections now */
	uint64_t deadline_closed;	/* shut down at their deadline */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wait_stop(struct pt_metrics_server *m, struct conn *k)
{
	if (!k->waiting)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		m->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		m->tail = k->prev;
	k->prev = k->next = NULL;
	k->waiting = false;
}

/* Wait for a (next) request from now on: at the tail, the latest deadline. */
static void wait_start(struct pt_metrics_server *m, struct conn *k)
{
	wait_stop(m, k);
	k->deadline_ms = now_ms() + m->timeout_ms;
	k->prev = m->tail;
	if (m->tail)
		m->tail->next = k;
	else
		m->head = k;
	m->tail = k;
	k->waiting = true;
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct pt_metrics_server *m = cls;
	struct conn *k = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		k = xcalloc(1, sizeof(*k));
		k->c = c;
		*socket_context = k;
		m->open++;
		wait_start(m, k);
	} else if (k) {
		wait_stop(m, k);
		free(k);
		*socket_context = NULL;
		m->open--;
		m->closed = true;
	}
}

/* An answer went out: the connection may send its next request (keep-alive)
 * within the deadline. One that is closing is not waited for. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *k = conn_of(c);

	(void)con_cls;
	if (k && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		wait_start(cls, k);
}

/* Shut down the sockets of connections past their deadline; libmicrohttpd
 * gets the hang-up event and closes them in its next run. */
static void expire(struct pt_metrics_server *m, uint64_t now)
{
	const union MHD_ConnectionInfo *i;
	struct conn *k;

	while ((k = m->head) && k->deadline_ms <= now) {
		wait_stop(m, k);
		i = MHD_get_connection_info(k->c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (i && i->connect_fd >= 0)
			shutdown(i->connect_fd, SHUT_RDWR);
		m->deadline_closed++;
	}
}

/* Wake the daemon for the earlier of the next deadline and libmicrohttpd's
 * next timeout (0 when it has data pending); right away after a close, so
 * that a listen socket set aside at the connection limit comes back. */
static int arm_timer(struct pt_metrics_server *m, uint64_t now)
{
	struct itimerspec its = {};
	MHD_UNSIGNED_LONG_LONG mhd_ms;
	uint64_t ms = UINT64_MAX;

	if (m->head)
		ms = m->head->deadline_ms > now ? m->head->deadline_ms - now : 0;
	if (MHD_get_timeout(m->mhd, &mhd_ms) == MHD_YES && mhd_ms < ms)
		ms = mhd_ms;
	if (m->closed)
		ms = 0;
	if (ms != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
		if (!ms)
			its.it_value.tv_nsec = 1;	/* 0 would disarm it */
	}
	return timerfd_settime(m->timer, 0, &its, NULL) ? -errno : 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, char *body,
			     size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_len, void **con_cls)
{
	struct pt_metrics_server *m = cls;
	struct pt_metrics_snapshot s = {};
	struct conn *k = conn_of(c);
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	(void)version;
	(void)data;
	(void)con_cls;
	if (k)
		wait_stop(m, k);	/* the request is complete: no deadline */
	if (*data_len)
		return MHD_NO;	/* a scrape has no body */
	if (strcmp(url, METRICS_PATH)) {
		body = xasprintf("%s: not found; metrics are at " METRICS_PATH "\n", url);
		return reply(c, MHD_HTTP_NOT_FOUND, body, strlen(body), "text/plain");
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		body = xasprintf("%s: only GET and HEAD\n", method);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, body, strlen(body), "text/plain");
	}
	err = m->fill ? m->fill(m->arg, &s) : 0;
	s.http_connections = m->open;
	s.http_deadline_closed = m->deadline_closed;
	f = err ? NULL : open_memstream(&body, &len);
	if (!err && !f)
		err = -errno;
	if (f) {
		err = pt_metrics_render(&s, f);
		if (fclose(f) && !err)
			err = -EIO;
	}
	pt_metrics_snapshot_clear(&s);
	if (err) {
		free(body);
		body = xasprintf("cannot collect the metrics: %s\n", strerror(-err));
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, body, strlen(body), "text/plain");
	}
	return reply(c, MHD_HTTP_OK, body, len, CONTENT_TYPE);
}

static int parse_listen(const char *s, struct sockaddr_in *sin)
{
	const char *colon = strrchr(s, ':');
	char *host, *end;
	unsigned long port;
	int ok;

	if (!colon)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > PORT_MAX)
		return -EINVAL;
	host = xstrndup(s, (size_t)(colon - s));
	*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	ok = inet_pton(AF_INET, host, &sin->sin_addr);
	free(host);
	return ok == 1 ? 0 : -EINVAL;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int pt_metrics_server_start(const char *listen, const struct pt_metrics_limits *lim,
			    pt_metrics_fill_fn fill, void *arg, struct pt_metrics_server **out)
{
	static const struct pt_metrics_limits defaults = {
		.conns = PT_METRICS_CONNS_DEFAULT, .per_addr = PT_METRICS_PER_ADDR_DEFAULT,
		.timeout_ms = PT_METRICS_TIMEOUT_DEFAULT_S * 1000,
	};
	const union MHD_DaemonInfo *i;
	struct pt_metrics_server *m;
	struct sockaddr_in sin;
	int err = parse_listen(listen, &sin);

	if (err)
		return err;
	if (!lim)
		lim = &defaults;
	if (!lim->conns || !lim->per_addr || !lim->timeout_ms)
		return -EINVAL;
	m = xcalloc(1, sizeof(*m));
	m->fill = fill;
	m->arg = arg;
	m->timeout_ms = lim->timeout_ms;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->timer < 0) {
		err = -errno;
		goto fail;
	}
	/* External epoll mode, named rather than MHD_USE_AUTO: that may pick
	 * select(), which cannot hold a descriptor above 1023. The idle timeout
	 * is whole seconds; the request deadline (above) is exact. The port is
	 * given by MHD_OPTION_SOCK_ADDR; the argument is unused. */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				  MHD_OPTION_CONNECTION_LIMIT, lim->conns,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->per_addr,
				  MHD_OPTION_CONNECTION_TIMEOUT, (lim->timeout_ms + 999) / 1000,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)POOL_BYTES,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
				  MHD_OPTION_END);
	if (!m->mhd) {
		err = errno ? -errno : -EADDRNOTAVAIL;
		goto fail;
	}
	i = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!i || (err = add_fd(m->epfd, i->epoll_fd)) || (err = add_fd(m->epfd, m->timer)))
		goto fail;
	*out = m;
	return 0;
fail:
	if (!err)
		err = -EIO;
	pt_metrics_server_stop(m);
	return err;
}

void pt_metrics_server_stop(struct pt_metrics_server *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);	/* frees every conn (CLOSED) */
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->timer >= 0)
		close(m->timer);
	free(m);
}

int pt_metrics_server_fd(const struct pt_metrics_server *m)
{
	return m->epfd;
}

uint16_t pt_metrics_server_port(const struct pt_metrics_server *m)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

int pt_metrics_server_run(struct pt_metrics_server *m)
{
	uint64_t ticks, now;
	int err = 0;

	if (read(m->timer, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		err = -errno;
	m->closed = false;
	if (MHD_run(m->mhd) != MHD_YES)
		err = -EIO;
	now = now_ms();
	expire(m, now);
	if (arm_timer(m, now) && !err)
		err = -EIO;
	return err;
}
