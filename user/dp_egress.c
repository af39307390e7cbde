// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_egress.c - the egress rules (egress.h) written into the program's
 * maps: portier_egress_rules, the two tries of rule masks, egress_on and
 * egress_addr of portier_config; and read back with their counters for
 * the CLI and the metrics.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "egress.h"
#include "portier.skel.h"
#include "util.h"

/* Zero rule slot id's counters (a rule id given to another rule). */
static int stats_zero(struct pt_dataplane *dp, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_egress_stats *z;
	int err;

	if (ncpu <= 0)
		return fail(ncpu ? ncpu : -EINVAL, "cannot count the CPUs");
	z = xcalloc((size_t)ncpu, sizeof(*z));
	err = map_update(dp->skel->maps.portier_egress_stats, &id, z, "egress counters");
	free(z);
	return err;
}

/* Make trie m hold exactly items v (n): write them, then delete the rest. */
static int trie_set(struct bpf_map *m, const struct pt_egress_item *v, size_t n)
{
	struct portier_egress_key key, next, *stale = NULL;
	size_t n_stale = 0;
	void *prev = NULL;
	int err = 0, fd = bpf_map__fd(m);

	for (size_t i = 0; i < n && !err; i++)
		err = map_update(m, &v[i].key, &v[i].mask, "an egress network");
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		bool keep = false;

		key = next;
		prev = &key;
		for (size_t i = 0; i < n && !keep; i++)
			keep = !memcmp(&v[i].key, &key, sizeof(key));
		if (!keep) {
			stale = xrealloc(stale, (n_stale + 1) * sizeof(*stale));
			stale[n_stale++] = key;
		}
	}
	for (size_t i = 0; i < n_stale && !err; i++)
		err = map_delete(m, &stale[i], "an egress network");
	free(stale);
	return err;
}

/* egress_on and egress_addr of portier_config. */
static int config_egress(struct pt_dataplane *dp, bool on, __be32 addr)
{
	struct portier_config c = dp->cfg;
	__u32 zero = 0;
	int err;

	if (c.egress_on == on && c.egress_addr == addr)
		return 0;
	c.egress_on = on;
	c.egress_addr = addr;
	err = map_update(dp->skel->maps.portier_config, &zero, &c, "the configuration");
	if (!err)
		dp->cfg = c;
	return err;
}

int pt_dp_egress_apply(struct pt_dataplane *dp, const struct pt_egress *e)
{
	struct pt_egress_item *src = NULL, *dst = NULL;
	size_t n_src = 0, n_dst = 0;
	__be32 addr = 0;
	int err;

	if (!e || !e->declared) {	/* off first, then the maps emptied */
		err = config_egress(dp, false, 0);
		if (!err)
			err = trie_set(dp->skel->maps.portier_egress_src, NULL, 0);
		if (!err)
			err = trie_set(dp->skel->maps.portier_egress_dst, NULL, 0);
		return err;
	}
	if (e->snat_address.family == AF_INET)
		addr = e->snat_address.v4.s_addr;
	else if (dp->cfg.snat_family == PORTIER_AF_INET)
		addr = dp->cfg.snat_addr.a32[0];
	if (!addr)
		return fail(-EADDRNOTAVAIL,
			    "egress has no source address: the output NIC has no IPv4 address "
			    "and egress.snat_address is not given; give the output side's VIP "
			    "as egress.snat_address, or an address to the output NIC");
	if (e->n_rules > PORTIER_EGRESS_RULES_MAX)
		return fail(-E2BIG, "%zu egress rules, at most %d", e->n_rules,
			    PORTIER_EGRESS_RULES_MAX);
	/* The rules, then the networks that name them, then on. */
	for (__u32 i = 0; i < PORTIER_EGRESS_RULES_MAX; i++) {
		struct portier_egress_rule v, old;

		memset(&v, 0, sizeof(v));
		if (i < e->n_rules)
			pt_egress_rule_value(&e->rules[i], &v);
		if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_egress_rules), &i,
					&old))
			memset(&old, 0, sizeof(old));
		if (!memcmp(&v, &old, sizeof(v)))
			continue;
		if (strcmp(v.name, old.name) && (err = stats_zero(dp, i)))
			return err;
		err = map_update(dp->skel->maps.portier_egress_rules, &i, &v, "an egress rule");
		if (err)
			return err;
	}
	pt_egress_compile(e, &src, &n_src, &dst, &n_dst);
	err = trie_set(dp->skel->maps.portier_egress_src, src, n_src);
	if (!err)
		err = trie_set(dp->skel->maps.portier_egress_dst, dst, n_dst);
	free(src);
	free(dst);
	if (!err)
		err = config_egress(dp, true, addr);
	return err;
}

int pt_dp_egress_view(struct portier *skel, struct pt_egress_view **out, size_t *n)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_egress_stats *v;
	struct pt_egress_view *o;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	o = xcalloc(PORTIER_EGRESS_RULES_MAX + 1, sizeof(*o));
	for (__u32 i = 0; i <= PORTIER_EGRESS_RULES_MAX && !err; i++) {
		struct pt_egress_view *x = &o[*n];

		memset(x, 0, sizeof(*x));
		x->id = i;
		if (i < PORTIER_EGRESS_RULES_MAX) {
			if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_egress_rules), &i,
						&x->rule)) {
				err = -errno;
				break;
			}
			if (!(x->rule.protos & PORTIER_EGRESS_F_USED))
				continue;
		}
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_egress_stats), &i, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			for (int d = 0; d < 2; d++) {
				x->stats.packets[d] += v[c].packets[d];
				x->stats.bytes[d] += v[c].bytes[d];
			}
			x->stats.flows += v[c].flows;
			x->stats.refused += v[c].refused;
		}
		(*n)++;
	}
	free(v);
	if (err) {
		free(o);
		*n = 0;
		return err;
	}
	*out = o;
	return 0;
}
