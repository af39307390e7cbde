// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * metrics_collect.c - read the data plane's counters into a metrics
 * snapshot at scrape time: per-CPU values summed, the connection table
 * walked in batches (SNAT ports in use per backend, entries in use).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "metrics_collect.h"
#include "portier.skel.h"
#include "util.h"
#include "vrrp.h"

#define NS_PER_SEC	1e9

int pt_reasons_sum(struct bpf_map *m, uint64_t out[PORTIER_R_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;
	int err = 0;

	memset(out, 0, PORTIER_R_MAX * sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	for (__u32 r = 0; r < PORTIER_R_MAX && !err; r++) {
		err = bpf_map_lookup_elem(bpf_map__fd(m), &r, v) ? -errno : 0;
		for (int c = 0; !err && c < ncpu; c++)
			out[r] += v[c];
	}
	free(v);
	return err;
}

struct ct_count {
	const struct portier_addr *snat;	/* snat_addr, or snat_addr6 */
	uint64_t *snat_by_be;		/* [n_be] */
	size_t n_be;
	uint64_t entries;
};

/* Count one conntrack entry: all of them, and SNAT ports held (one per
 * original-direction entry of a non-local flow sourced from the snat
 * address: snat_from says whether this one is). */
static void count_entry(struct ct_count *c, __u8 dir, __u8 flags, __u16 backend_id,
			bool snat_from)
{
	c->entries++;
	if (dir == PORTIER_FLOW_DIR_ORIG &&
	    !(flags & (PORTIER_FLOW_F_LOCAL | PORTIER_FLOW_F_EGRESS)) && snat_from &&
	    backend_id < c->n_be)
		c->snat_by_be[backend_id]++;
}

static int ct_count(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct ct_count *c = arg;

	(void)k;
	count_entry(c, f->dir, f->flags, f->backend_id, f->nat_saddr == c->snat->a32[0]);
	return PT_CT_KEEP;
}

/* The same for an IPv6 entry, with snat_addr6. */
static int ct6_count(const struct portier_flow_key6 *k, const struct portier_flow6 *f, void *arg)
{
	struct ct_count *c = arg;

	(void)k;
	count_entry(c, f->dir, f->flags, f->backend_id,
		    !memcmp(&f->nat_saddr, c->snat, sizeof(f->nat_saddr)));
	return PT_CT_KEEP;
}

/* Egress NAT's rules and their counters into s (egress is on). */
static int fill_egress(struct portier *skel, struct pt_metrics_snapshot *s)
{
	struct pt_egress_view *ev;
	size_t n;
	int err = pt_dp_egress_view(skel, &ev, &n);

	if (err)
		return err;
	s->egress_on = true;
	for (size_t i = 0; i < n; i++) {
		struct pt_metrics_egress *e;

		if (ev[i].id >= PORTIER_EGRESS_RULES_MAX) {
			s->egress_unmatched = ev[i].stats.refused;
			continue;
		}
		e = pt_metrics_add_egress(s, ev[i].rule.name);
		e->flows = ev[i].stats.flows;
		e->refused = ev[i].stats.refused;
		memcpy(e->packets, ev[i].stats.packets, sizeof(e->packets));
		memcpy(e->bytes, ev[i].stats.bytes, sizeof(e->bytes));
	}
	free(ev);
	return 0;
}

int pt_metrics_collect(struct pt_dataplane *dp, const struct pt_health *h,
		       struct pt_metrics_snapshot *s)
{
	struct portier *skel = pt_dp_skel(dp);
	struct pt_dp_route_view *v = NULL;
	struct portier_config cfg = {};
	struct portier_state st = {};
	uint64_t *snat_by_be = NULL;
	size_t n = 0, n_be = 0;
	__u32 zero = 0;
	int err;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_config), &zero, &cfg))
		return -errno;
	if (!pt_dp_state(dp, &st))
		s->reloads = st.reloads;
	for (unsigned int id = 1; id < PORTIER_VRRP_IDS; id++) {
		struct portier_vrrp vr;

		if (!pt_vrrp_read(bpf_map__fd(skel->maps.portier_vrrp), id, &vr) &&
		    vr.role != PORTIER_VRRP_UNKNOWN)
			s->vrrp[s->n_vrrp++] = (struct pt_metrics_vrrp){ id, vr.role, vr.changes };
	}
	err = pt_reasons_sum(skel->maps.portier_reasons, s->reasons);
	n = pt_dp_view(dp, &v);
	for (size_t r = 0; r < n; r++)
		for (size_t b = 0; b < v[r].n_be; b++)
			if (v[r].be[b].id >= n_be)
				n_be = v[r].be[b].id + 1;
	snat_by_be = xcalloc(n_be + 1, sizeof(*snat_by_be));
	if (!err) {
		struct ct_count c = { &cfg.snat_addr, snat_by_be, n_be, 0 };

		err = pt_ct_walk(pt_dp_ct(dp), ct_count, &c, NULL);
		s->ct_entries = c.entries;
	}
	if (!err) {
		struct ct_count c = { &cfg.snat_addr6, snat_by_be, n_be, 0 };

		err = pt_ct6_walk(pt_dp_ct6(dp), ct6_count, &c, NULL);
		s->ct6_entries = c.entries;
	}
	s->ct_capacity = pt_ct_capacity(pt_dp_ct(dp));
	s->ct6_capacity = pt_ct_capacity(pt_dp_ct6(dp));
	if (cfg.snat_port_max >= cfg.snat_port_min)
		s->snat_ports_per_backend = (uint64_t)cfg.snat_port_max - cfg.snat_port_min + 1;
	for (size_t r = 0; r < n && !err; r++) {
		const char *name = v[r].meta.name;
		struct pt_metrics_route *mr = pt_metrics_add_route(s, name);
		struct portier_refused rf = { 0 };
		struct portier_route_ha ha = { 0 };
		struct portier_stats ps;

		err = pt_route_stats_sum(skel, &v[r], &ps);
		if (!err)
			err = pt_route_refused_sum(skel, v[r].id, &rf);
		if (!err)
			err = pt_route_ha_sum(skel, v[r].id, &ha);
		mr->denied = rf.denied;
		mr->rate_limited = rf.rate_limited;
		mr->recreated = ha.recreated;
		mr->stateless_replies = ha.stateless_replies;
		mr->flows = ps.flows;
		memcpy(mr->packets, ps.packets, sizeof(mr->packets));
		memcpy(mr->bytes, ps.bytes, sizeof(mr->bytes));
		mr->syn_cookies = v[r].meta.key.proto == IPPROTO_TCP ?
					  pt_syn_guard_mode(v[r].flags) : "off";
		if (!err)
			err = pt_syn_guard_read(skel->maps.portier_syn_guard, v[r].id, v[r].flags,
						&mr->guard);
		for (size_t b = 0; b < v[r].n_be && !err; b++) {
			const struct pt_dp_backend_view *bv = &v[r].be[b];
			const struct pt_health_status *hs =
				h ? pt_health_find(h, name, &bv->addr, bv->port) : NULL;
			struct pt_metrics_backend *mb =
				pt_metrics_add_backend(s, name, &bv->addr, bv->port);

			err = pt_stats_sum(skel->maps.portier_backend_stats, bv->id, &ps);
			mb->flows = ps.flows;
			memcpy(mb->packets, ps.packets, sizeof(mb->packets));
			memcpy(mb->bytes, ps.bytes, sizeof(mb->bytes));
			mb->drained = bv->state & PT_DP_BE_DRAINED;
			mb->up = hs ? hs->up : !(bv->state & PT_DP_BE_DOWN);
			mb->snat_ports_used = snat_by_be[bv->id];
			if (hs && hs->checked) {
				mb->checked = true;
				mb->checks_ok = hs->checks_ok;
				mb->checks_failed = hs->checks_failed;
				mb->check_duration_s = (double)hs->last_duration_ns / NS_PER_SEC;
				mb->http_checked = hs->check.type == PT_CHECK_HTTP;
				mb->http_status = hs->http_status;
			}
		}
	}
	free(snat_by_be);
	pt_dp_view_free(v, n);
	if (!err && cfg.egress_on)
		err = fill_egress(skel, s);
	return err;
}
