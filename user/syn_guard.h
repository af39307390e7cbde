/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * syn_guard.h - a route's SYN flood guard as userspace shows it: the
 * per-CPU portier_syn_guard entries summed (counters) and or'ed (whether
 * cookies are on now).
 */
#ifndef PORTIER_SYN_GUARD_H
#define PORTIER_SYN_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

struct bpf_map;

struct pt_syn_guard {
	bool active;			/* cookies answer its SYNs now (any CPU) */
	uint64_t cookies_sent;		/* SYNs answered with a cookie */
	uint64_t cookies_valid;		/* ACKs whose cookie opened a flow */
	uint64_t cookies_failed;	/* ACKs with no flow and a bad cookie */
	uint64_t pending_dropped;	/* client packets before the backend's SYN-ACK */
};

/* Route route_id's guard in map m (portier_syn_guard); flags are its
 * PORTIER_ROUTE_F_* (cookies "on" are always active). 0 or -errno. */
int pt_syn_guard_read(struct bpf_map *m, __u32 route_id, __u32 flags, struct pt_syn_guard *out);

/* "on", "off" or "auto" of PORTIER_ROUTE_F_* flags. */
const char *pt_syn_guard_mode(__u32 flags);

#endif
