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
 * The table is read a window at a time (pt_ct_stream) and each flow is
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
		"  Filters combine (all must hold); without one, every flow. route: the\n"
		"  route's flows; backend: flows to that backend (a local flow's backend\n"
		"  is its service address); client: the client's address, or a network;\n"
		"  state: TCP syn_sent (SYN seen), syn_recv (SYN-ACK seen), established\n"
		"  (the client answered: never evicted by a new flow), closing (FIN or\n"
		"  RST seen); UDP replied or unreplied; local: a flow to this host's own\n"
		"  backend (passed to its stack, not tracked further).\n",
		pt_g.prog);
	return 0;
}

static const char *flow_state(const struct portier_flow_key *k, const struct portier_flow *f)
{
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		return "local";
	if (k->proto == IPPROTO_UDP)
		return f->flags & PORTIER_FLOW_F_SEEN_REPLY ? "replied" : "unreplied";
	if (f->flags & PORTIER_FLOW_F_CLOSING)
		return "closing";
	if (f->flags & PORTIER_FLOW_F_ASSURED)
		return "established";
	return f->flags & PORTIER_FLOW_F_SEEN_REPLY ? "syn_recv" : "syn_sent";
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
	__be32 be_addr;
	__be16 be_port;
	bool client;		/* client in cl_net/cl_mask */
	__be32 cl_net, cl_mask;
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
			f->be_addr = a.v4.s_addr;
			f->be_port = htons(port);
		} else if (is_prefix(kw, "client")) {
			if (pt_cidr_parse(val, &net, &why)) {
				p_err("%s: client '%s' %s", cmd, val, why);
				return 1;
			}
			f->client = true;
			f->cl_mask = net.len ? htonl(~0U << (32 - net.len)) : 0;
			f->cl_net = net.addr.v4.s_addr;
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
static void flow_backend(const struct portier_flow_key *k, const struct portier_flow *f,
			 __be32 *addr, __be16 *port)
{
	bool local = f->flags & PORTIER_FLOW_F_LOCAL;

	*addr = local ? k->daddr : f->nat_daddr;
	*port = local ? k->dport : f->nat_dport;
}

static bool matches(const struct filter *fl, const struct portier_flow_key *k,
		    const struct portier_flow *f)
{
	__be32 ba;
	__be16 bp;

	if (fl->route_id >= 0 &&
	    (f->route_id != fl->route_id || (f->flags & PORTIER_FLOW_F_EGRESS)))
		return false;
	if (fl->proto && k->proto != fl->proto)
		return false;
	if (fl->client && (k->saddr & fl->cl_mask) != fl->cl_net)
		return false;
	if (fl->state && strcmp(flow_state(k, f), fl->state))
		return false;
	if (fl->backend) {
		flow_backend(k, f, &ba, &bp);
		if (ba != fl->be_addr || (fl->be_port && bp != fl->be_port))
			return false;
	}
	return true;
}

/* One run of show, count or flush over the table. */
struct ct_run {
	struct pt_ct *ct;
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

/* One flow, by its original-direction entry, printed at once. */
static int show_flow(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	char cl[CLI_ADDRPORT_BUF], sv[CLI_ADDRPORT_BUF], be[CLI_ADDRPORT_BUF];
	struct ct_run *s = arg;
	struct portier_flow_key peer;
	struct portier_flow pf = {};
	__u64 pk[2], by[2], last;
	const char *route;
	__be32 ba;
	__be16 bp;
	bool snat, has_pf;

	if (f->dir != PORTIER_FLOW_DIR_ORIG || !matches(&s->f, k, f))
		return PT_CT_KEEP;
	pt_flow_key_other(k, f, &peer);
	has_pf = pt_ct_lookup(s->ct, &peer, &pf);
	if (!has_pf)
		memset(&pf, 0, sizeof(pf));
	pk[0] = f->packets;
	by[0] = f->bytes;
	pk[1] = pf.packets;
	by[1] = pf.bytes;
	last = pt_flow_last_ns(s->now, f, has_pf ? &pf : NULL);
	snat = !(f->flags & PORTIER_FLOW_F_LOCAL) && f->nat_saddr != k->saddr;
	route = f->flags & PORTIER_FLOW_F_EGRESS ? egress_name(s, f->route_id) :
						  route_name(s->v, s->n, f->route_id);
	flow_backend(k, f, &ba, &bp);
	cli_bpf_addr_port(&(struct portier_addr){ .a32 = { k->saddr } }, PORTIER_AF_INET,
			  k->sport, cl, sizeof(cl));
	cli_bpf_addr_port(&(struct portier_addr){ .a32 = { k->daddr } }, PORTIER_AF_INET,
			  k->dport, sv, sizeof(sv));
	cli_bpf_addr_port(&(struct portier_addr){ .a32 = { ba } }, PORTIER_AF_INET, bp, be,
			  sizeof(be));
	if (pt_g.json) {
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:o, s:o}",
			"proto", pt_proto_name(k->proto), "client", cl, "service", sv,
			"route", route, "backend", be,
			"snat_port", snat ? (int)ntohs(f->nat_sport) : 0,
			"state", flow_state(k, f),
			"age_s", (json_int_t)secs_since(s->now, f->created_ns),
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
		       "%12llu\n", pt_proto_name(k->proto), cl, sv, route, be,
		       snat ? ntohs(f->nat_sport) : 0, flow_state(k, f),
		       (unsigned long long)secs_since(s->now, f->created_ns),
		       (unsigned long long)secs_since(s->now, last), (unsigned long long)pk[0],
		       (unsigned long long)pk[1], (unsigned long long)by[0],
		       (unsigned long long)by[1]);
	}
	s->flows++;
	/* A closed stdout (a pager quit) ends the walk. */
	return s->out_err ? s->out_err : ferror(stdout) ? -EPIPE : PT_CT_KEEP;
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

	if (f->dir == PORTIER_FLOW_DIR_ORIG && matches(&r->f, k, f))
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
 * reply entry here. Without a filter every entry goes (a reply entry whose
 * original is gone too). */
static int flush_flow(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct ct_run *r = arg;
	struct portier_flow_key peer;

	if (f->dir != PORTIER_FLOW_DIR_ORIG) {
		/* With a filter, only through its original entry; without, also
		 * an orphan. */
		return r->f.route_id < 0 && !r->f.backend && !r->f.client && !r->f.proto &&
		       !r->f.state ? PT_CT_DELETE : PT_CT_KEEP;
	}
	if (!matches(&r->f, k, f))
		return PT_CT_KEEP;
	pt_flow_key_other(k, f, &peer);
	if (!pt_ct_delete(r->ct, &peer))
		r->peers_deleted++;
	r->flows++;
	return PT_CT_DELETE;
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
