// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* health_dp.c - health checker <-> data plane. See health_dp.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane_int.h"
#include "health_dp.h"
#include "http_check.h"
#include "portier.skel.h"
#include "util.h"

#define NS_PER_US	1000ULL
#define NS_PER_SEC	1000000000ULL

int pt_health_sync(struct pt_health *h, struct pt_dataplane *dp)
{
	struct pt_dp_route_view *v = NULL;
	struct pt_health_target *t;
	size_t n = pt_dp_view(dp, &v), nt = 0;
	int err;

	for (size_t r = 0; r < n; r++)
		nt += v[r].n_be;
	t = xcalloc(nt + 1, sizeof(*t));
	nt = 0;
	for (size_t r = 0; r < n; r++) {
		if (v[r].meta.key.proto != IPPROTO_TCP)
			continue;	/* a TCP connect says nothing about UDP */
		for (size_t b = 0; b < v[r].n_be; b++)
			t[nt++] = (struct pt_health_target){
				.route = v[r].meta.name,
				.addr = v[r].be[b].addr,
				.port = v[r].be[b].port,
				.check = pt_check_from_meta(&v[r].meta),
				.start_down = v[r].be[b].state & PT_DP_BE_DOWN,
				.tag = v[r].be[b].id,
			};
	}
	err = pt_health_set_targets(h, t, nt);
	/* The checker's state wins over the DOWN bit: a backend it knows
	 * down that came back in rotation (new ids after a route moved, a
	 * pt_health_apply that failed) goes out again, and the reverse. */
	for (size_t i = 0; i < nt && !err; i++) {
		const struct pt_health_status *st =
			pt_health_find(h, t[i].route, &t[i].addr, t[i].port);

		if (st && st->up == t[i].start_down)
			err = pt_dp_backend_set(dp, t[i].route, &t[i].addr, t[i].port,
						PT_DP_BE_DOWN, !st->up);
	}
	free(t);
	pt_dp_view_free(v, n);
	return err;
}

int pt_health_apply(struct pt_dataplane *dp, const struct pt_health_event *ev)
{
	const struct pt_health_status *st = ev->status;

	return pt_dp_backend_set(dp, st->route, &st->addr, st->port, PT_DP_BE_DOWN, !ev->new_up);
}

/* PORTIER_CHECK_* of a completed check's errno. */
static __u32 check_result(int err)
{
	switch (err) {
	case 0:
		return PORTIER_CHECK_OK;
	case ECONNREFUSED:
		return PORTIER_CHECK_REFUSED;
	case ETIMEDOUT:
		return PORTIER_CHECK_TIMEOUT;
	case EREMOTEIO:		/* health.h: an HTTP status not expected */
		return PORTIER_CHECK_HTTP_STATUS;
	case EPROTO:		/* health.h: no HTTP status line */
		return PORTIER_CHECK_HTTP_INVALID;
	default:
		return PORTIER_CHECK_ERRNO;
	}
}

int pt_health_publish(struct pt_dataplane *dp, const struct pt_health_status *st)
{
	struct portier *s = pt_dp_skel(dp);
	struct portier_backend b;
	struct portier_health e = {};
	struct timespec ts;
	__u32 id = st->tag;

	if ((st->addr.family != AF_INET && st->addr.family != AF_INET6) || !st->checked)
		return -EINVAL;
	addr_to_bpf(&st->addr, &e.addr);
	e.port = htons(st->port);
	e.family = addr_family_bpf(&st->addr);
	/* The tag comes from a mirror that may be a tick old: check the slot. */
	if (bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_backends), &id, &b))
		return -errno;
	if (!(b.flags & PORTIER_BACKEND_F_USED) || b.family != e.family || b.port != e.port ||
	    memcmp(&b.addr, &e.addr, sizeof(e.addr)))
		return -ESTALE;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.up = st->up;
	e.route_id = b.route_id;
	e.result = check_result(st->last_err);
	e.err = e.result == PORTIER_CHECK_ERRNO ? st->last_err : 0;
	e.duration_us = st->last_duration_ns / NS_PER_US > UINT32_MAX ? UINT32_MAX :
			(__u32)(st->last_duration_ns / NS_PER_US);
	e.consecutive_ok = st->consecutive_ok;
	e.consecutive_failed = st->consecutive_failed;
	e.time_ns = (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec;
	e.checks_ok = st->checks_ok;
	e.checks_failed = st->checks_failed;
	e.http_status = st->http_status;
	snprintf(e.http_line, sizeof(e.http_line), "%s", st->http_line);
	return bpf_map_update_elem(bpf_map__fd(s->maps.portier_health), &id, &e, BPF_ANY) ?
	       -errno : 0;
}

static bool is_backend(__u32 backend_id, void *id)
{
	return backend_id == *(const __u32 *)id;
}

int pt_health_flush_flows(struct pt_dataplane *dp, const struct pt_health_event *ev,
			  size_t *removed)
{
	const struct pt_health_status *st = ev->status;
	int id = pt_dp_backend_id(dp, st->route, &st->addr, st->port);
	__u32 bid;

	if (removed)
		*removed = 0;
	if (id < 0)
		return id;
	bid = (__u32)id;
	/* A backend's flows are in the table of its family (no NAT46). */
	return pt_ct_delete_backends(st->addr.family == AF_INET6 ? pt_dp_ct6(dp) : pt_dp_ct(dp),
				     is_backend, &bid, removed);
}
