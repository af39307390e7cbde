// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dataplane.c - what every part of the data plane shares (dataplane.h is
 * the API; dataplane_int.h lists the files and their jobs): the last error,
 * map helpers, the route model's values as the maps hold them, a route's
 * rotation, and the lookups of loaded ids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

char last_error[512];

int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EINVAL;
}

const char *pt_dp_last_error(const struct pt_dataplane *dp)
{
	(void)dp;
	return last_error;
}

int map_update(struct bpf_map *m, const void *key, const void *val, const char *what)
{
	if (bpf_map_update_elem(bpf_map__fd(m), key, val, BPF_ANY))
		return fail(-errno, "cannot write %s in map %s: %s", what, bpf_map__name(m),
			    strerror(errno));
	return 0;
}

int map_delete(struct bpf_map *m, const void *key, const char *what)
{
	if (bpf_map_delete_elem(bpf_map__fd(m), key) && errno != ENOENT)
		return fail(-errno, "cannot delete %s from map %s: %s", what, bpf_map__name(m),
			    strerror(errno));
	return 0;
}

/* Zero one slot of an array, per-CPU or not. */
int map_zero(struct bpf_map *m, __u32 id)
{
	size_t size = bpf_map__value_size(m);
	enum bpf_map_type t = bpf_map__type(m);
	void *buf;
	int err;

	if (t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH) {
		int ncpus = libbpf_num_possible_cpus();

		if (ncpus < 0)
			return fail(ncpus, "cannot count CPUs");
		size = ((size + 7) & ~(size_t)7) * (size_t)ncpus;
	}
	buf = xcalloc(1, size);
	err = map_update(m, &id, buf, "a reset slot");
	free(buf);
	return err;
}

void addr_to_bpf(const struct pt_addr *a, struct portier_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET6)
		memcpy(out->a8, &a->v6, sizeof(a->v6));
	else
		out->a32[0] = a->v4.s_addr;
}

__u8 addr_family_bpf(const struct pt_addr *a)
{
	return a->family == AF_INET6 ? PORTIER_AF_INET6 : PORTIER_AF_INET;
}

void addr_from_bpf(const struct portier_addr *a, __u8 family, struct pt_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (family == PORTIER_AF_INET6) {
		out->family = AF_INET6;
		memcpy(&out->v6, a->a8, sizeof(out->v6));
		return;
	}
	out->family = AF_INET;
	out->v4.s_addr = a->a32[0];
}

void svc_key(const struct pt_route *r, struct portier_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!r->wildcard)
		addr_to_bpf(&r->addr, &k->addr);
	k->port = htons(r->port);
	k->proto = r->proto;
	/* "*" of an IPv6 route: all-zero address, family 6 (the program
	 * matches it for a destination in portier_local6). */
	k->family = r->wildcard ? (pt_route_family(r) == AF_INET6 ? PORTIER_AF_INET6 :
								   PORTIER_AF_INET) :
				  addr_family_bpf(&r->addr);
}

/* A route's flags; pool_policy: the pool's lists are not empty. */
__u32 route_flags(const struct pt_route *r, bool pool_policy)
{
	__u32 f = 0;

	if (pool_policy || r->policy.n)
		f |= PORTIER_ROUTE_F_POLICY;
	if (r->rate_limit.rate)
		f |= PORTIER_ROUTE_F_RATE;
	if (r->nat == PT_NAT_DNAT)
		f |= PORTIER_ROUTE_F_DNAT;
	if (r->options & (PT_OPT_HTTPLOG | PT_OPT_TCPLOG))
		f |= PORTIER_ROUTE_F_LOG;
	if (pt_route_syn_cookies(r) == PT_SYN_COOKIES_ON)
		f |= PORTIER_ROUTE_F_COOKIES_ON;
	else if (pt_route_syn_cookies(r) == PT_SYN_COOKIES_AUTO)
		f |= PORTIER_ROUTE_F_COOKIES_AUTO;
	if (r->balance == PT_BALANCE_MAGLEV)
		f |= PORTIER_ROUTE_F_MAGLEV;
	else if (r->balance == PT_BALANCE_SOURCE)
		f |= PORTIER_ROUTE_F_SOURCE;
	return f;
}

__u32 port_flag(uint8_t proto, bool service)
{
	if (proto == IPPROTO_UDP)
		return service ? PORTIER_PORT_SVC_UDP : PORTIER_PORT_BE_UDP;
	return service ? PORTIER_PORT_SVC_TCP : PORTIER_PORT_BE_TCP;
}

unsigned int state_from_flags(__u32 flags)
{
	return (flags & PORTIER_BACKEND_F_DRAINED ? PT_DP_BE_DRAINED : 0) |
	       (flags & PORTIER_BACKEND_F_DOWN ? PT_DP_BE_DOWN : 0);
}

__u32 flags_from_state(unsigned int state)
{
	return (state & PT_DP_BE_DRAINED ? PORTIER_BACKEND_F_DRAINED : 0) |
	       (state & PT_DP_BE_DOWN ? PORTIER_BACKEND_F_DOWN : 0);
}

/* A route's rotation from its flags, rate limit, backend ids and their
 * states. */
static unsigned int gcd(unsigned int a, unsigned int b)
{
	while (b) {
		unsigned int t = a % b;

		a = b;
		b = t;
	}
	return a;
}

void rotation(const struct pt_dataplane *dp, __u32 flags, const struct pt_rate_limit *rl,
	      const __u32 *ids, size_t n, const unsigned int *state, const unsigned int *weight,
	      struct portier_route *out)
{
	unsigned int w[PORTIER_MAX_ROUTE_BACKENDS], g = 0, total = 0, k, i;
	int cur[PORTIER_MAX_ROUTE_BACKENDS] = { 0 };
	__u32 id[PORTIER_MAX_ROUTE_BACKENDS];
	size_t m = 0;

	memset(out, 0, sizeof(*out));
	out->flags = flags;
	if (flags & PORTIER_ROUTE_F_RATE) {
		out->rl_burst = rl->burst;
		out->rl_interval_ns = pt_rate_interval_ns(rl);
	}
	for (size_t j = 0; j < n && m < PORTIER_MAX_ROUTE_BACKENDS; j++) {
		unsigned int wj = weight ? weight[j] : dp->backends[ids[j]].weight;

		if ((state ? state[j] : dp->backends[ids[j]].state) || wj == 0)
			continue;
		id[m] = ids[j];
		w[m++] = wj;
		g = gcd(g, wj);
	}
	for (i = 0; i < m; i++)
		total += w[i] / g;
	if ((flags & (PORTIER_ROUTE_F_MAGLEV | PORTIER_ROUTE_F_SOURCE)) || total == m ||
	    total > PORTIER_MAX_ROUTE_BACKENDS) {
		for (i = 0; i < m; i++)
			out->active[out->n_active++] = id[i];
		return;
	}
	/* Smooth weighted round-robin (nginx's): each turn every backend
	 * gains its weight, the richest (the first of equals) takes the turn
	 * and pays the total. Equal weights give the declared order. */
	for (k = 0; k < total; k++) {
		unsigned int best = 0;

		for (i = 0; i < m; i++) {
			cur[i] += (int)(w[i] / g);
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= (int)total;
		out->active[out->n_active++] = id[best];
	}
}

int pt_dp_route_id(const struct pt_dataplane *dp, const char *route)
{
	for (int id = 0; id < PORTIER_MAX_ROUTES; id++)
		if (dp->routes[id].used && !strcmp(dp->routes[id].meta.name, route))
			return id;
	return -ENOENT;
}

int pt_dp_backend_id(const struct pt_dataplane *dp, const char *route,
		     const struct pt_addr *addr, uint16_t port)
{
	int rid = pt_dp_route_id(dp, route);

	if (rid < 0)
		return rid;
	for (size_t i = 0; i < dp->routes[rid].n_be; i++) {
		__u32 id = dp->routes[rid].be[i];

		if (pt_addr_equal(&dp->backends[id].addr, addr) && dp->backends[id].port == port)
			return id;
	}
	return -ENOENT;
}
