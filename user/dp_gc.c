// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_gc.c - conntrack garbage collection: flows idle past their timeout
 * deleted, both directions together, each one shown to the GC hook first;
 * every flow visited shown to the visit hook (flow sync). The IPv6 table
 * (portier_conntrack6) is collected by the same rule, after the IPv4 one,
 * its expired flows shown to the IPv6 GC hook (connection logs) and
 * every flow to the IPv6 visit hook (flow sync).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ct_table.h"
#include "dataplane_int.h"

#define NS_PER_SEC	1000000000ULL

/* Is an entry of protocol proto and state flags, last active at last
 * (ns), idle past its timeout at now (as the program's
 * flow_timeout_ticks)? */
static bool expired(const struct portier_config *c, __u8 proto, __u8 flags, __u64 now,
		    __u64 last)
{
	return portier_tick(now) - portier_tick(last) >
	       portier_ticks_of_s(portier_flow_timeout_s(c, proto, flags));
}

struct gc_walk {
	struct pt_dataplane *dp;
	__u64 now;
};

static int gc_visit(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct gc_walk *w = arg;
	struct pt_dataplane *dp = w->dp;
	struct portier_flow_key peer;
	struct portier_flow pf;
	bool has_peer;
	__u64 last;

	pt_flow_key_other(k, f, &peer);
	has_peer = pt_ct_lookup(dp->ct, &peer, &pf);
	last = pt_flow_last_ns(w->now, f, has_peer ? &pf : NULL);
	if (!expired(&dp->cfg, k->proto, f->flags, w->now, last)) {
		if (dp->gc_visit_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
			dp->gc_visit_hook(k, f, has_peer ? &pf : NULL, last, false,
					  dp->gc_visit_arg);
		return PT_CT_KEEP;
	}
	if (dp->gc_visit_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
		dp->gc_visit_hook(k, f, has_peer ? &pf : NULL, last, true, dp->gc_visit_arg);
	if (dp->gc_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
		dp->gc_hook(k, f, has_peer ? &pf : NULL, last, dp->gc_hook_arg);
	return PT_CT_DELETE;
}

static int gc6_visit(const struct portier_flow_key6 *k, const struct portier_flow6 *f, void *arg)
{
	struct gc_walk *w = arg;
	struct portier_flow_key6 peer;
	struct portier_flow6 pf;
	struct pt_dataplane *dp = w->dp;
	bool has_peer;
	__u64 last;

	pt_flow6_key_other(k, f, &peer);
	has_peer = pt_ct6_lookup(dp->ct6, &peer, &pf);
	last = pt_flow6_last_ns(w->now, f, has_peer ? &pf : NULL);
	if (!expired(&dp->cfg, k->proto, f->flags, w->now, last)) {
		if (dp->gc6_visit_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
			dp->gc6_visit_hook(k, f, has_peer ? &pf : NULL, last, false,
					   dp->gc_visit_arg);
		return PT_CT_KEEP;
	}
	if (dp->gc6_visit_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
		dp->gc6_visit_hook(k, f, has_peer ? &pf : NULL, last, true, dp->gc_visit_arg);
	if (dp->gc6_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
		dp->gc6_hook(k, f, has_peer ? &pf : NULL, last, dp->gc_hook_arg);
	return PT_CT_DELETE;
}

int pt_dp_gc(struct pt_dataplane *dp, size_t *removed)
{
	struct gc_walk w = { .dp = dp };
	struct timespec ts;
	size_t n = 0, n6 = 0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.now = (__u64)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
	err = pt_ct_walk(dp->ct, gc_visit, &w, &n);
	if (!err)
		err = pt_ct6_walk(dp->ct6, gc6_visit, &w, &n6);
	if (removed)
		*removed = err ? 0 : n + n6;
	return err ? fail(err, "conntrack GC: %s", strerror(-err)) : 0;
}

void pt_dp_set_gc_hook(struct pt_dataplane *dp, pt_dp_gc_hook fn, pt_dp_gc6_hook fn6,
		       void *arg)
{
	dp->gc_hook = fn;
	dp->gc6_hook = fn6;
	dp->gc_hook_arg = arg;
}

void pt_dp_set_gc_visit_hook(struct pt_dataplane *dp, pt_dp_gc_visit_hook fn,
			     pt_dp_gc6_visit_hook fn6, void *arg)
{
	dp->gc_visit_hook = fn;
	dp->gc6_visit_hook = fn6;
	dp->gc_visit_arg = arg;
}
