// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * syn_guard.c - read a route's SYN flood guard (user/syn_guard.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "portier.h"
#include "syn_guard.h"
#include "util.h"

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

const char *pt_syn_guard_mode(__u32 flags)
{
	if (flags & PORTIER_ROUTE_F_COOKIES_ON)
		return "on";
	return flags & PORTIER_ROUTE_F_COOKIES_AUTO ? "auto" : "off";
}

int pt_syn_guard_read(struct bpf_map *m, __u32 route_id, __u32 flags, struct pt_syn_guard *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_syn_guard *v;
	__u64 now = monotonic_ns();
	int err;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	err = bpf_map_lookup_elem(bpf_map__fd(m), &route_id, v) ? -errno : 0;
	for (int c = 0; c < ncpu && !err; c++) {
		out->active |= v[c].on_until_ns > now;
		out->cookies_sent += v[c].cookies_sent;
		out->cookies_valid += v[c].cookies_valid;
		out->cookies_failed += v[c].cookies_failed;
		out->pending_dropped += v[c].pending_dropped;
	}
	out->active = (flags & PORTIER_ROUTE_F_COOKIES_ON) ||
		      ((flags & PORTIER_ROUTE_F_COOKIES_AUTO) && out->active);
	free(v);
	return err;
}
