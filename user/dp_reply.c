// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_reply.c - portier_reply_svc, the service of each backend of a dnat
 * route, by which the program translates a backend's reply that no flow
 * knows (another gateway of the pool made the flow; docs/dataplane.md,
 * "Active-active"): written with every apply, from the route set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

/* One entry to hold. */
struct reply_entry {
	struct portier_reply_key k;
	struct portier_reply_svc v;
};

static int cmp_reply_key(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct portier_reply_key));
}

/* Does route r's backends' replies get an entry? A dnat route with a
 * service address, IPv4 or IPv6 ("*" has none without state), and SYN
 * cookies not "on"
 * (every flow of such a route is the SYN proxy's: its replies need the
 * sequence translation of the gateway that opened it). */
static bool route_replies(const struct pt_route *r)
{
	return r->nat == PT_NAT_DNAT && !r->wildcard &&
	       pt_route_syn_cookies(r) != PT_SYN_COOKIES_ON;
}

/* The entries of rs with the plan's ids, sorted by key; their count. */
static size_t reply_entries(const struct pt_routeset *rs, const struct plan *p,
			    struct reply_entry **out)
{
	size_t n = 0, total = 0;
	struct reply_entry *v;

	for (size_t i = 0; i < p->n; i++)
		total += rs->routes[i].n_backends;
	v = xcalloc(total + 1, sizeof(*v));
	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];

		if (!route_replies(r))
			continue;
		for (size_t j = 0; j < r->n_backends; j++) {
			const struct pt_backend *b = &r->backends[j];
			struct reply_entry *e = &v[n];

			if (b->local || b->addr.family != r->addr.family)
				continue;
			addr_to_bpf(&b->addr, &e->k.addr);
			e->k.port = htons(b->port);
			e->k.proto = r->proto;
			e->k.family = addr_family_bpf(&b->addr);
			addr_to_bpf(&r->addr, &e->v.svc_addr);
			e->v.svc_port = htons(r->port);
			e->v.route_id = p->route_id[i];
			e->v.backend_id = p->be_id[i][j];
			n++;
		}
	}
	qsort(v, n, sizeof(*v), cmp_reply_key);
	*out = v;
	return n;
}

int reply_svc_write(struct pt_dataplane *dp, const struct pt_routeset *rs, const struct plan *p)
{
	struct bpf_map *m = dp->skel->maps.portier_reply_svc;
	int fd = bpf_map__fd(m), err = 0;
	struct portier_reply_key k, next, *gone = NULL;
	struct portier_reply_svc old;
	size_t n_gone = 0, cap = 0;
	struct reply_entry *v;
	size_t n = reply_entries(rs, p, &v);

	/* 1. What is new or changed: each entry is replaced whole (one
	 * update), so a backend that changes route goes from the old service
	 * to the new one. (validate() refused two services for one.) */
	for (size_t i = 0; i < n && !err; i++) {
		if (!bpf_map_lookup_elem(fd, &v[i].k, &old) &&
		    !memcmp(&old, &v[i].v, sizeof(old)))
			continue;
		err = map_update(m, &v[i].k, &v[i].v, "a backend's service for replies");
	}
	/* 2. What the set has not: collected, then deleted (a walk does not
	 * survive deleting the key it stands on). */
	for (int r = bpf_map_get_next_key(fd, NULL, &next); !err && !r;
	     r = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		if (n && bsearch(&k, v, n, sizeof(*v), cmp_reply_key))
			continue;
		if (n_gone == cap) {
			cap = cap ? 2 * cap : 64;
			gone = xrealloc(gone, cap * sizeof(*gone));
		}
		gone[n_gone++] = k;
	}
	for (size_t i = 0; i < n_gone && !err; i++)
		err = map_delete(m, &gone[i], "a backend's service for replies");
	free(gone);
	free(v);
	return err;
}
