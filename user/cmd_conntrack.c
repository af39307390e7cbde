// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_conntrack.c - "portier conntrack": the connection table.
 *
 *   portier conntrack show     one line per flow (its original direction)
 *   portier conntrack flush    delete every entry: open connections are
 *                              cut (their next packets find no flow)
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
#include "util.h"

#define NS_PER_SEC	1000000000ULL

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s conntrack show\n"
		"       %1$s conntrack flush\n"
		"       %1$s conntrack help\n"
		"\n"
		"  show   every flow: protocol, client, service, route, backend, SNAT\n"
		"         port (0 without SNAT), state, age and idle time in seconds,\n"
		"         packets and bytes in (client to backend) and out\n"
		"  flush  delete every entry; open connections are cut\n",
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

struct show {
	struct pt_ct *ct;
	struct pt_dp_route_view *v;
	size_t n;
	__u64 now;
	json_t *arr;		/* -j: the flows */
};

/* One flow, by its original-direction entry. */
static int show_flow(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	char cl[CLI_ADDRPORT_BUF], sv[CLI_ADDRPORT_BUF], be[CLI_ADDRPORT_BUF];
	struct show *s = arg;
	struct portier_flow_key peer;
	struct portier_flow pf = {};
	__u64 pk[2], by[2], last;
	const char *route;
	bool snat, has_pf;

	if (f->dir != PORTIER_FLOW_DIR_ORIG)
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
	route = route_name(s->v, s->n, f->route_id);
	cli_bpf_addr_port(&k->saddr, k->sport, cl, sizeof(cl));
	cli_bpf_addr_port(&k->daddr, k->dport, sv, sizeof(sv));
	if (f->flags & PORTIER_FLOW_F_LOCAL)
		cli_bpf_addr_port(&k->daddr, k->dport, be, sizeof(be));
	else
		cli_bpf_addr_port(&f->nat_daddr, f->nat_dport, be, sizeof(be));
	if (s->arr) {
		json_array_append_new(s->arr, json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:o, s:o}",
			"proto", pt_proto_name(k->proto), "client", cl, "service", sv,
			"route", route, "backend", be,
			"snat_port", snat ? (int)ntohs(f->nat_sport) : 0,
			"state", flow_state(k, f),
			"age_s", (json_int_t)secs_since(s->now, f->created_ns),
			"idle_s", (json_int_t)secs_since(s->now, last),
			"packets", cli_dir_json(pk), "bytes", cli_dir_json(by)));
	} else {
		printf("%-5s %-21s %-21s %-16s %-21s %6u %-11s %8llu %8llu %10llu %10llu %12llu "
		       "%12llu\n", pt_proto_name(k->proto), cl, sv, route, be,
		       snat ? ntohs(f->nat_sport) : 0, flow_state(k, f),
		       (unsigned long long)secs_since(s->now, f->created_ns),
		       (unsigned long long)secs_since(s->now, last), (unsigned long long)pk[0],
		       (unsigned long long)pk[1], (unsigned long long)by[0],
		       (unsigned long long)by[1]);
	}
	return PT_CT_KEEP;
}

static int do_show(int argc, char **argv)
{
	struct pt_dataplane *dp;
	struct show s = { .now = now_ns() };
	int err;

	if (cli_no_more(argc, argv, "conntrack show"))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	s.ct = pt_dp_ct(dp);
	s.n = pt_dp_view(dp, &s.v);
	if (pt_g.json)
		s.arr = json_array();
	else
		printf("%-5s %-21s %-21s %-16s %-21s %6s %-11s %8s %8s %10s %10s %12s %12s\n",
		       "PROTO", "CLIENT", "SERVICE", "ROUTE", "BACKEND", "SNAT", "STATE", "AGE",
		       "IDLE", "PKTS_IN", "PKTS_OUT", "BYTES_IN", "BYTES_OUT");
	err = pt_ct_walk(s.ct, show_flow, &s, NULL);
	pt_dp_view_free(s.v, s.n);
	pt_dp_close(dp);
	if (err) {
		json_decref(s.arr);
		p_err("conntrack show: cannot read the connection table: %s", strerror(-err));
		return 1;
	}
	return pt_g.json ? pt_json_print(s.arr) : 0;
}

static int do_flush(int argc, char **argv)
{
	struct pt_dataplane *dp;
	size_t deleted = 0;
	int err;

	if (cli_no_more(argc, argv, "conntrack flush"))
		return 1;
	dp = cli_dp_open();
	if (!dp)
		return 1;
	err = pt_ct_flush(pt_dp_ct(dp), &deleted);
	pt_dp_close(dp);
	if (err) {
		p_err("conntrack flush: cannot delete a flow: %s", strerror(-err));
		return 1;
	}
	if (pt_g.json)
		return pt_json_print(json_pack("{s:I}", "flushed", (json_int_t)deleted));
	printf("%zu entries flushed\n", deleted);
	return 0;
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "flush", do_flush },
	{ "help", do_help },
	{ 0 }
};

int do_conntrack(int argc, char **argv)
{
	return pt_cmd_select("conntrack", cmds, argc, argv, do_help);
}
