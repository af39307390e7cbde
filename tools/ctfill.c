// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * ctfill.c - fill the pinned connection table from userspace, for tests of
 * the CLI on a large or varied table (tests/e2e/test_cli.sh): no packets,
 * each flow's two entries written through ct_table.c as the program would.
 *
 *   ctfill PIN_DIR FLOWS SERVICE_ADDR SNAT_ADDR
 *
 * Flow i goes to route i mod R (the loaded routes with backends, by name)
 * and, within its route, to backend j mod B (j = i div R), from client
 * 192.0.2.(1 + i mod 200):(1024 + i div 200) to SERVICE_ADDR:(the route's
 * port), SNAT to SNAT_ADDR:(1024 + j) on snat routes. A TCP flow's state is
 * syn_sent, syn_recv, established and closing in turn (j mod 4), a UDP
 * flow's unreplied and replied (j mod 2), a local backend's local (one
 * entry, as the program writes: it does not track local flows). Entries
 * whose bucket is full are skipped. Prints "N flows inserted".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct_table.h"
#include "dataplane.h"
#include "routes.h"

static const __u8 tcp_states[] = {
	0,
	PORTIER_FLOW_F_SEEN_REPLY,
	PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED,
	PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED | PORTIER_FLOW_F_CLOSING,
};

int main(int argc, char **argv)
{
	struct pt_dp_route_view *v, *r[PORTIER_MAX_ROUTES];
	struct pt_dataplane *dp;
	struct in_addr svc, snat;
	struct timespec ts;
	unsigned long flows, done = 0, i;
	size_t n, nr = 0;
	__u64 now;
	char *end;

	if (argc != 5 || inet_pton(AF_INET, argv[3], &svc) != 1 ||
	    inet_pton(AF_INET, argv[4], &snat) != 1) {
		fprintf(stderr, "usage: ctfill PIN_DIR FLOWS SERVICE_ADDR SNAT_ADDR\n");
		return 2;
	}
	flows = strtoul(argv[2], &end, 10);
	if (*end || !flows || flows / 200 > 64000) {
		fprintf(stderr, "ctfill: FLOWS '%s': expected 1 to 12800000\n", argv[2]);
		return 2;
	}
	if (pt_dp_open_pinned(argv[1], &dp)) {
		fprintf(stderr, "ctfill: %s\n", pt_dp_last_error(NULL));
		return 1;
	}
	n = pt_dp_view(dp, &v);
	for (size_t k = 0; k < n; k++)
		if (v[k].n_be)
			r[nr++] = &v[k];
	if (!nr) {
		fprintf(stderr, "ctfill: no route with backends is loaded\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	for (i = 0; i < flows; i++) {
		const struct pt_dp_route_view *rt = r[i % nr];
		unsigned long j = i / nr;
		const struct pt_dp_backend_view *be = &rt->be[j % rt->n_be];
		struct portier_flow_key ko = { .proto = rt->meta.key.proto }, kr;
		struct portier_flow fo = { .dir = PORTIER_FLOW_DIR_ORIG, .route_id = rt->id,
					   .backend_id = be->id, .created_ns = now,
					   .last_seen = portier_tick(now), .packets = 1,
					   .bytes = 60 };
		struct portier_flow fr;
		bool local = be->local, tcp = ko.proto == IPPROTO_TCP;

		ko.saddr = htonl(0xc0000200 | (__u32)(1 + i % 200));	/* 192.0.2.x */
		ko.sport = htons((__u16)(1024 + i / 200));
		ko.daddr = svc.s_addr;
		ko.dport = rt->meta.key.port;
		fo.flags = local ? PORTIER_FLOW_F_LOCAL :
			   tcp ? tcp_states[j % 4] : (j % 2 ? PORTIER_FLOW_F_SEEN_REPLY : 0);
		fo.nat_saddr = ko.saddr;
		fo.nat_sport = ko.sport;
		if (!local && rt->meta.nat == PT_NAT_SNAT) {
			fo.nat_saddr = snat.s_addr;
			fo.nat_sport = htons((__u16)(1024 + j));
		}
		fo.nat_daddr = local ? ko.daddr : be->addr.v4.s_addr;
		fo.nat_dport = local ? ko.dport : htons(be->port);
		pt_flow_key_other(&ko, &fo, &kr);
		fr = fo;
		fr.dir = PORTIER_FLOW_DIR_REPLY;
		fr.nat_saddr = ko.daddr;
		fr.nat_sport = ko.dport;
		fr.nat_daddr = ko.saddr;
		fr.nat_dport = ko.sport;
		fr.packets = fo.flags & PORTIER_FLOW_F_SEEN_REPLY ? 1 : 0;
		if (pt_ct_insert(pt_dp_ct(dp), &ko, &fo))
			continue;
		/* A local flow has its original entry only, as the program's. */
		if (!local && pt_ct_insert(pt_dp_ct(dp), &kr, &fr)) {
			pt_ct_delete(pt_dp_ct(dp), &ko);
			continue;
		}
		done++;
	}
	pt_dp_view_free(v, n);
	pt_dp_close(dp);
	printf("%lu flows inserted\n", done);
	return 0;
}
