// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_conntrack.c - "portier conntrack": the connection table.
 *
 *   portier conntrack show [FILTER]...   one line per flow (its original
 *                                        direction)
 *   portier conntrack count [FILTER]...  how many flows
 *   portier conntrack flush [FILTER]...  delete the flows (both entries):
 *                                        open connections are cut
 *
 * Both tables, IPv4 (portier_conntrack) then IPv6 (portier_conntrack6), a
 * flow of either read into one struct ct_entry for the filters and the
 * output. Each table is read a window at a time (pt_ct_stream) and each flow is
 * printed as it is walked, JSON included (an array written by hand, one
 * json_dumpf per flow): memory stays flat whatever the table's size.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "cli_dp.h"
#include "ct_table.h"
#include "dataplane.h"
#include "policy.h"
#include "util.h"

#define NS_PER_SEC	1000000000ULL

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s conntrack show [FILTER]...\n"
		"       %1$s conntrack count [FILTER]...\n"
		"       %1$s conntrack flush [FILTER]...\n"
		"       %1$s conntrack help\n"
		"\n"
		"       FILTER := { route NAME | backend ADDR[:PORT] | client ADDR[/LEN] |\n"
		"                   proto { tcp | udp } | state STATE }\n"
		"       STATE := { syn_sent | syn_recv | established | closing | local |\n"
		"                  replied | unreplied }\n"
		"\n"
		"  show   the flows: protocol, client, service, route, backend, SNAT\n"
		"         port (0 without SNAT), state, age and idle time in seconds,\n"
		"         packets and bytes in (client to backend) and out\n"
		"  count  how many flows (JSON: {\"count\": N})\n"
		"  flush  delete the flows (both directions' entries); open connections\n"
		"         are cut\n"
		"\n"
		"  Filters combine (all must hold); without one, every flow, IPv4 and IPv6.\n"
		"  route: the route's flows; backend: flows to that backend (a local flow's\n"
		"  backend is its service address; IPv6 with a port: [2001:db8::1]:80);\n"
		"  client: the client's address, or a network (IPv4 or IPv6);\n"
		"  state: TCP syn_sent (SYN seen), syn_recv (SYN-ACK seen), established\n"
		"  (the client answered: never evicted by a new flow), closing (FIN or\n"
		"  RST seen); UDP replied or unreplied; local: a flow to this host's own\n"
		"  backend (passed to its stack, not tracked further).\n",
		pt_g.prog);
	return 0;
}

/* One entry of either table (portier_conntrack, portier_conntrack6), as
 * show, count and flush read it: what follows works on these, whatever the
 * family. */
struct ct_entry {
	struct pt_addr saddr, daddr;		/* the key: as the packet arrived */
	struct pt_addr nat_saddr, nat_daddr;	/* rewritten to */
	__be16 sport, dport, nat_sport, nat_dport;
	__u8 proto, dir, flags;
	__u16 route_id;
	__u32 last_seen;
	__u64 packets, bytes, created_ns;
};

static struct pt_addr addr4(__be32 a)
{
	struct pt_addr r = { .family = AF_INET };

	r.v4.s_addr = a;
	return r;
}

static struct pt_addr addr6(const struct portier_addr *a)
{
	struct pt_addr r = { .family = AF_INET6 };

	memcpy(r.v6.s6_addr, a->a8, sizeof(r.v6.s6_addr));
	return r;
}

static void entry4(const struct portier_flow_key *k, const struct portier_flow *f,
		   struct ct_entry *e)
{
	*e = (struct ct_entry){
		.saddr = addr4(k->saddr), .daddr = addr4(k->daddr),
		.nat_saddr = addr4(f->nat_saddr), .nat_daddr = addr4(f->nat_daddr),
		.sport = k->sport, .dport = k->dport, .nat_sport = f->nat_sport,
		.nat_dport = f->nat_dport, .proto = k->proto, .dir = f->dir, .flags = f->flags,
		.route_id = f->route_id, .last_seen = f->last_seen, .packets = f->packets,
		.bytes = f->bytes, .created_ns = f->created_ns,
	};
}

static void entry6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		   struct ct_entry *e)
{
	*e = (struct ct_entry){
		.saddr = addr6(&k->saddr), .daddr = addr6(&k->daddr),
		.nat_saddr = addr6(&f->nat_saddr), .nat_daddr = addr6(&f->nat_daddr),
		.sport = k->sport, .dport = k->dport, .nat_sport = f->nat_sport,
		.nat_dport = f->nat_dport, .proto = k->proto, .dir = f->dir, .flags = f->flags,
		.route_id = f->route_id, .last_seen = f->last_seen, .packets = f->packets,
		.bytes = f->bytes, .created_ns = f->created_ns,
	};
}

static const char *flow_state(const struct ct_entry *e)
{
	if (e->flags & PORTIER_FLOW_F_LOCAL)
		return "local";
	if (e->proto == IPPROTO_UDP)
		return e->flags & PORTIER_FLOW_F_SEEN_REPLY ? "replied" : "unreplied";
	if (e->flags & PORTIER_FLOW_F_CLOSING)
		return "closing";
	if (e->flags & PORTIER_FLOW_F_ASSURED)
		return "established";
	return e->flags & PORTIER_FLOW_F_SEEN_REPLY ? "syn_recv" : "syn_sent";
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static __u64 secs_since(__u64 now, __u64 then)
{
	return now > then ? (now - then) / NS_PER_SEC : 0;
}

static const char *route_name(const struct pt_dp_route_view *v, size_t n, __u32 id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return v[i].meta.name;
	return "";
}

/* What "show", "count" and "flush" select: every field set must match. */
struct filter {
	int route_id;		/* -1: any */
	bool backend;		/* be_addr (and be_port unless 0) */
	struct pt_addr be_addr;
	__be16 be_port;
	bool client;		/* client in cl_net */
	struct pt_cidr cl_net;
	__u8 proto;		/* 0: any */
	const char *state;	/* NULL: any */
};

static const char *const state_names[] = {
	"syn_sent", "syn_recv", "established", "closing", "local", "replied", "unreplied",
};

/* Parse FILTER... of command cmd ("conntrack show") into *f. Returns 0, or
 * 1 after an error. */
static int parse_filters(int argc, char **argv, const char *cmd,
			 const struct pt_dp_route_view *v, size_t n, struct filter *f)
{
	*f = (struct filter){ .route_id = -1 };
	for (int i = 0; i < argc; i += 2) {
		const char *kw = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL, *why = "";
		struct pt_cidr net;
		struct pt_addr a;
		uint16_t port = 0;
		size_t k;

		if (!val) {
			p_err("%s: '%s' needs a value; try '%s conntrack help'", cmd, kw,
			      pt_g.prog);
			return 1;
		}
		if (is_prefix(kw, "route")) {
			for (k = 0; k < n && strcmp(v[k].meta.name, val); k++)
				;
			if (k == n) {
				p_err("%s: no route '%s' is loaded; 'portier route show' lists them",
				      cmd, val);
				return 1;
			}
			f->route_id = (int)v[k].id;
		} else if (is_prefix(kw, "backend")) {
			char why[PT_ADDRPORT_ERR_LEN];

			if (pt_addrport_parse(val, true, &a, &port, why, sizeof(why))) {
				p_err("%s: backend %s", cmd, why);
				return 1;
			}
			f->backend = true;
			f->be_addr = a;
			f->be_port = htons(port);
		} else if (is_prefix(kw, "client")) {
			if (pt_cidr_parse(val, &net, &why)) {
				p_err("%s: client '%s' %s", cmd, val, why);
				return 1;
			}
			f->client = true;
			f->cl_net = net;
		} else if (is_prefix(kw, "proto")) {
			if (strcmp(val, "tcp") && strcmp(val, "udp")) {
				p_err("%s: proto '%s': expected tcp or udp", cmd, val);
				return 1;
			}
			f->proto = strcmp(val, "tcp") ? IPPROTO_UDP : IPPROTO_TCP;
		} else if (is_prefix(kw, "state")) {
			for (k = 0; k < ARRAY_SIZE(state_names) && strcmp(val, state_names[k]); k++)
				;
			if (k == ARRAY_SIZE(state_names)) {
				p_err("%s: state '%s': expected syn_sent, syn_recv, established, "
				      "closing, local, replied or unreplied", cmd, val);
				return 1;
			}
			f->state = state_names[k];
		} else {
			p_err("%s: unknown filter '%s'; expected route, backend, client, proto or "
			      "state; try '%s conntrack help'", cmd, kw, pt_g.prog);
			return 1;
		}
	}
	return 0;
}

/* The backend a flow goes to: its NAT destination, or for a local flow the
 * service itself. */
static void flow_backend(const struct ct_entry *e, struct pt_addr *addr, __be16 *port)
{
	bool local = e->flags & PORTIER_FLOW_F_LOCAL;

	*addr = local ? e->daddr : e->nat_daddr;
	*port = local ? e->dport : e->nat_dport;
}

static bool matches(const struct filter *fl, const struct ct_entry *e)
{
	struct pt_addr ba;
	__be16 bp;

	if (fl->route_id >= 0 &&
	    (e->route_id != fl->route_id || (e->flags & PORTIER_FLOW_F_EGRESS)))
		return false;
	if (fl->proto && e->proto != fl->proto)
		return false;
	if (fl->client && !pt_cidr_contains(&fl->cl_net, &e->saddr))
		return false;
	if (fl->state && strcmp(flow_state(e), fl->state))
		return false;
	if (fl->backend) {
		flow_backend(e, &ba, &bp);
		if (!pt_addr_equal(&ba, &fl->be_addr) || (fl->be_port && bp != fl->be_port))
			return false;
	}
	return true;
}

/* One run of show, count or flush over the table. */
struct ct_run {
	struct pt_ct *ct, *ct6;		/* the IPv4 and IPv6 tables */
	struct pt_dp_route_view *v;
	size_t n;
	struct filter f;
	__u64 now;
	size_t flows;		/* selected so far */
	size_t peers_deleted;	/* flush: reply entries deleted */
	int out_err;		/* show: writing stdout failed */
	struct pt_egress_view *ev;	/* egress rules loaded (names) */
	size_t n_ev;
	char egress_name[PORTIER_EGRESS_NAME_MAX + 8];	/* "egress:NAME" */
};

/* An egress flow's route column: "egress:" and its rule's name. */
static const char *egress_name(struct ct_run *s, __u32 rule)
{
	const char *name = "?";

	for (size_t i = 0; i < s->n_ev; i++)
		if (s->ev[i].id == rule && s->ev[i].id < PORTIER_EGRESS_RULES_MAX)
			name = s->ev[i].rule.name;
	snprintf(s->egress_name, sizeof(s->egress_name), "egress:%s", name);
	return s->egress_name;
}

/* Open the data plane and parse the filters; 0, or 1 after an error. */
static int run_open(int argc, char **argv, const char *cmd, struct pt_dataplane **dp,
		    struct ct_run *r)
{
	*r = (struct ct_run){ .now = now_ns() };
	*dp = cli_dp_open();
	if (!*dp)
		return 1;
	r->ct = pt_dp_ct(*dp);
	r->ct6 = pt_dp_ct6(*dp);
	r->n = pt_dp_view(*dp, &r->v);
	if (pt_dp_egress_view(pt_dp_skel(*dp), &r->ev, &r->n_ev))
		r->n_ev = 0;	/* names unknown: "egress:?" */
	if (parse_filters(argc, argv, cmd, r->v, r->n, &r->f)) {
		pt_dp_view_free(r->v, r->n);
		free(r->ev);
		pt_dp_close(*dp);
		return 1;
	}
	return 0;
}

static void run_close(struct pt_dataplane *dp, struct ct_run *r)
{
	pt_dp_view_free(r->v, r->n);
	free(r->ev);
	pt_dp_close(dp);
}

/* One flow, by its original-direction entry e (and its reply entry pe,
 * NULL if none), printed at once. */
static int show_entry(struct ct_run *s, const struct ct_entry *e, const struct ct_entry *pe)
{
	char cl[CLI_ADDRPORT_BUF], sv[CLI_ADDRPORT_BUF], be[CLI_ADDRPORT_BUF];
	__u64 pk[2], by[2], last;
	const char *route;
	struct pt_addr ba;
	__be16 bp;
	bool snat;

	pk[0] = e->packets;
	by[0] = e->bytes;
	pk[1] = pe ? pe->packets : 0;
	by[1] = pe ? pe->bytes : 0;
	last = pt_seen_last_ns(s->now, e->last_seen, pe, pe ? pe->last_seen : 0);
	snat = !(e->flags & PORTIER_FLOW_F_LOCAL) && !pt_addr_equal(&e->nat_saddr, &e->saddr);
	route = e->flags & PORTIER_FLOW_F_EGRESS ? egress_name(s, e->route_id) :
						  route_name(s->v, s->n, e->route_id);
	flow_backend(e, &ba, &bp);
	pt_addrport_str(&e->saddr, ntohs(e->sport), cl, sizeof(cl));
	pt_addrport_str(&e->daddr, ntohs(e->dport), sv, sizeof(sv));
	pt_addrport_str(&ba, ntohs(bp), be, sizeof(be));
	if (pt_g.json) {
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:o, s:o}",
			"proto", pt_proto_name(e->proto), "client", cl, "service", sv,
			"route", route, "backend", be,
			"snat_port", snat ? (int)ntohs(e->nat_sport) : 0,
			"state", flow_state(e),
			"age_s", (json_int_t)secs_since(s->now, e->created_ns),
			"idle_s", (json_int_t)secs_since(s->now, last),
			"packets", cli_dir_json(pk), "bytes", cli_dir_json(by));

		if (!o)
			pt_die_oom();
		if (s->flows)
			fputc(',', stdout);
		if (pt_g.pretty)
			fputs("\n    ", stdout);
		if (json_dumpf(o, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT))
			s->out_err = -EIO;
		json_decref(o);
	} else {
		printf("%-5s %-21s %-21s %-16s %-21s %6u %-11s %8llu %8llu %10llu %10llu %12llu "
		       "%12llu\n", pt_proto_name(e->proto), cl, sv, route, be,
		       snat ? ntohs(e->nat_sport) : 0, flow_state(e),
		       (unsigned long long)secs_since(s->now, e->created_ns),
		       (unsigned long long)secs_since(s->now, last), (unsigned long long)pk[0],
		       (unsigned long long)pk[1], (unsigned long long)by[0],
		       (unsigned long long)by[1]);
	}
	s->flows++;
	/* A closed stdout (a pager quit) ends the walk. */
	return s->out_err ? s->out_err : ferror(stdout) ? -EPIPE : PT_CT_KEEP;
}

static int show_flow(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct ct_run *s = arg;
	struct portier_flow_key peer;
	struct portier_flow pf;
	struct ct_entry e, pe;
	bool has_pf;

	entry4(k, f, &e);
	if (e.dir != PORTIER_FLOW_DIR_ORIG || !matches(&s->f, &e))
		return PT_CT_KEEP;
	pt_flow_key_other(k, f, &peer);
	has_pf = pt_ct_lookup(s->ct, &peer, &pf);
	if (has_pf)
		entry4(&peer, &pf, &pe);
	return show_entry(s, &e, has_pf ? &pe : NULL);
}

static int show_flow6(const struct portier_flow_key6 *k, const struct portier_flow6 *f, void *arg)
{
	struct ct_run *s = arg;
	struct portier_flow_key6 peer;
	struct portier_flow6 pf;
	struct ct_entry e, pe;
	bool has_pf;

	entry6(k, f, &e);
	if (e.dir != PORTIER_FLOW_DIR_ORIG || !matches(&s->f, &e))
		return PT_CT_KEEP;
	pt_flow6_key_other(k, f, &peer);
	has_pf = pt_ct6_lookup(s->ct6, &peer, &pf);
	if (has_pf)
		entry6(&peer, &pf, &pe);
	return show_entry(s, &e, has_pf ? &pe : NULL);
}

static int do_show(int argc, char **argv)
{
	struct pt_dataplane *dp;
	struct ct_run s;
	int err;

	if (run_open(argc, argv, "conntrack show", &dp, &s))
		return 1;
	if (pt_g.json)
		fputc('[', stdout);
	else
		printf("%-5s %-21s %-21s %-16s %-21s %6s %-11s %8s %8s %10s %10s %12s %12s\n",
		       "PROTO", "CLIENT", "SERVICE", "ROUTE", "BACKEND", "SNAT", "STATE", "AGE",
		       "IDLE", "PKTS_IN", "PKTS_OUT", "BYTES_IN", "BYTES_OUT");
	err = pt_ct_stream(s.ct, show_flow, &s, NULL);
	if (!err)
		err = pt_ct6_stream(s.ct6, show_flow6, &s, NULL);
	run_close(dp, &s);
	if (pt_g.json) {
		/* The array ends even after an error: the output stays JSON
		 * up to it; the error follows as its own value. */
		fputs(pt_g.pretty && s.flows ? "\n]\n" : "]\n", stdout);
	}
	if (fflush(stdout) && !err)
		err = -errno;
	if (err) {
		p_err("conntrack show: cannot read the connection table: %s", strerror(-err));
		return 1;
	}
	return 0;
}

static int count_flow(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct ct_run *r = arg;
	struct ct_entry e;

	entry4(k, f, &e);
	if (e.dir == PORTIER_FLOW_DIR_ORIG && matches(&r->f, &e))
		r->flows++;
	return PT_CT_KEEP;
}

static int count_flow6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		       void *arg)
{
	struct ct_run *r = arg;
	struct ct_entry e;

	entry6(k, f, &e);
	if (e.dir == PORTIER_FLOW_DIR_ORIG && matches(&r->f, &e))
		r->flows++;
	return PT_CT_KEEP;
}

static int do_count(int argc, char **argv)
{
	struct pt_dataplane *dp;
	struct ct_run r;
	int err;

	if (run_open(argc, argv, "conntrack count", &dp, &r))
		return 1;
	err = pt_ct_stream(r.ct, count_flow, &r, NULL);
	if (!err)
		err = pt_ct6_stream(r.ct6, count_flow6, &r, NULL);
	run_close(dp, &r);
	if (err) {
		p_err("conntrack count: cannot read the connection table: %s", strerror(-err));
		return 1;
	}
	if (pt_g.json)
		return pt_json_print(json_pack("{s:I}", "count", (json_int_t)r.flows));
	printf("%zu flows\n", r.flows);
	return 0;
}

/* flush: a selected flow's original entry is deleted by the walk, its
 * reply entry by the caller (when this says PT_CT_DELETE of an original
 * entry). Without a filter every entry goes (a reply entry whose original
 * is gone too). */
static int flush_entry(struct ct_run *r, const struct ct_entry *e)
{
	if (e->dir != PORTIER_FLOW_DIR_ORIG) {
		/* With a filter, only through its original entry; without, also
		 * an orphan. */
		return r->f.route_id < 0 && !r->f.backend && !r->f.client && !r->f.proto &&
		       !r->f.state ? PT_CT_DELETE : PT_CT_KEEP;
	}
	if (!matches(&r->f, e))
		return PT_CT_KEEP;
	r->flows++;
	return PT_CT_DELETE;
}

static int flush_flow(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct ct_run *r = arg;
	struct portier_flow_key peer;
	struct ct_entry e;
	int rc;

	entry4(k, f, &e);
	rc = flush_entry(r, &e);
	if (rc == PT_CT_DELETE && e.dir == PORTIER_FLOW_DIR_ORIG) {
		pt_flow_key_other(k, f, &peer);
		r->peers_deleted += !pt_ct_delete(r->ct, &peer);
	}
	return rc;
}

static int flush_flow6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		       void *arg)
{
	struct ct_run *r = arg;
	struct portier_flow_key6 peer;
	struct ct_entry e;
	int rc;

	entry6(k, f, &e);
	rc = flush_entry(r, &e);
	if (rc == PT_CT_DELETE && e.dir == PORTIER_FLOW_DIR_ORIG) {
		pt_flow6_key_other(k, f, &peer);
		r->peers_deleted += !pt_ct6_delete(r->ct6, &peer);
	}
	return rc;
}

static int do_flush(int argc, char **argv)
{
	struct pt_dataplane *dp;
	struct ct_run r;
	size_t deleted = 0;
	bool synced;
	int err;

	if (run_open(argc, argv, "conntrack flush", &dp, &r))
		return 1;
	synced = pt_dp_config(dp)->sync_on;
	err = pt_ct_stream(r.ct, flush_flow, &r, &deleted);
	if (!err) {
		size_t deleted6 = 0;

		err = pt_ct6_stream(r.ct6, flush_flow6, &r, &deleted6);
		deleted += deleted6;
	}
	run_close(dp, &r);
	deleted += r.peers_deleted;
	if (err) {
		p_err("conntrack flush: cannot delete a flow: %s", strerror(-err));
		return 1;
	}
	/* The flow sync's peer is not told (docs/operations.md, "Flow sync",
	 * "Deletes"): say so where it matters. */
	if (synced && r.flows)
		fprintf(stderr, "conntrack flush: flow sync is on (this host is the MASTER); "
			"the peer keeps its copies of these %zu flows until they idle out: run "
			"the same flush there to cut them on both\n", r.flows);
	if (pt_g.json)
		return pt_json_print(json_pack("{s:I, s:I}", "flushed", (json_int_t)deleted,
					       "flows", (json_int_t)r.flows));
	printf("%zu entries flushed (%zu flows)\n", deleted, r.flows);
	return 0;
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "count", do_count },
	{ "flush", do_flush },
	{ "help", do_help },
	{ 0 }
};

int do_conntrack(int argc, char **argv)
{
	return pt_cmd_select("conntrack", cmds, argc, argv, do_help);
}
