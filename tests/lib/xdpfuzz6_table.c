// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz6_table.c - the IPv6 connection table's invariants
 * (xf6_check_table, xdpfuzz6.h), read from the mmapped portier_conntrack6
 * and portier_ct6_slots.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "portier.skel.h"
#include "xdpfuzz6_int.h"

/* ---- the table ------------------------------------------------------------ */

/* The mmapped IPv6 table: buckets and slots. */
struct table6 {
	const struct portier_ct_bucket *b;
	const struct portier_ct6_slot *s;
	size_t b_size, s_size;
	__u32 n;		/* buckets */
};

static int map_in(struct bpf_map *m, const void **p, size_t *size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t sz = (size_t)bpf_map__value_size(m) * bpf_map__max_entries(m);

	sz = (sz + (size_t)page - 1) / (size_t)page * (size_t)page;
	*p = mmap(NULL, sz, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	if (*p == MAP_FAILED)
		return -1;
	*size = sz;
	return 0;
}

/* The published slot of key k, or NULL. */
static const struct portier_ct6_slot *find6(const struct table6 *t,
					    const struct portier_config *cfg,
					    const struct portier_flow_key6 *k)
{
	__u32 tag, b = portier_ct6_locate(k, cfg->ct_seed, t->n, cfg->ct6_step, &tag);

	for (__u32 i = 0; i < PORTIER_CT_SLOTS; i++) {
		const struct portier_ct6_slot *s = &t->s[(size_t)b * PORTIER_CT_SLOTS + i];

		if (t->b[b].tag[i] == tag && !memcmp(&s->key, k, sizeof(*k)))
			return s;
	}
	return NULL;
}

static int key6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct portier_flow_key6));
}

/* The invariants of the published slot s of bucket b (its tag tag). */
static const char *check_entry6(const struct table6 *t, const struct portier_config *cfg,
				const struct portier_ct6_slot *s, __u32 b, __u32 tag)
{
	struct portier_flow_key6 rk = { 0 };
	const struct portier_ct6_slot *r;
	const struct portier_flow6 *f = &s->flow;
	__u32 want_tag, want_b = portier_ct6_locate(&s->key, cfg->ct_seed, t->n, cfg->ct6_step,
						   &want_tag);

	if (want_b != b || want_tag != tag)
		return "an IPv6 entry is not in the bucket, or not under the tag, of its key";
	if (find6(t, cfg, &s->key) != s)
		return "an IPv6 entry is not what a lookup of its key finds";
	if (is_multicast(s->key.saddr.a8) || is_unspecified(s->key.saddr.a8))
		return "an IPv6 entry for a multicast or unspecified source";
	if (f->dir != PORTIER_FLOW_DIR_ORIG || (f->flags & PORTIER_FLOW_F_LOCAL))
		return NULL;
	rk.saddr = f->nat_daddr;
	rk.daddr = f->nat_saddr;
	rk.sport = f->nat_dport;
	rk.dport = f->nat_sport;
	rk.proto = s->key.proto;
	r = find6(t, cfg, &rk);
	if (!r)
		return "an IPv6 flow's original entry has no reply entry";
	if (r->flow.dir != PORTIER_FLOW_DIR_REPLY ||
	    memcmp(&r->flow.nat_saddr, &s->key.daddr, sizeof(s->key.daddr)) ||
	    memcmp(&r->flow.nat_daddr, &s->key.saddr, sizeof(s->key.saddr)) ||
	    r->flow.nat_sport != s->key.dport || r->flow.nat_dport != s->key.sport)
		return "an IPv6 flow's reply entry does not translate back to its original";
	return NULL;
}

const char *xf6_check_table(struct pt_dataplane *dp)
{
	struct portier *skel = pt_dp_skel(dp);
	const struct portier_config *cfg = pt_dp_config(dp);
	struct portier_flow_key6 *keys = NULL;
	struct table6 t = { .n = bpf_map__max_entries(skel->maps.portier_conntrack6) };
	const char *err = NULL;
	size_t n = 0, cap = 0;

	if (!cfg->ct6_buckets)
		return "the configuration has no IPv6 table (ct6_buckets 0)";
	if (cfg->ct6_buckets != t.n)
		return "the configuration's IPv6 buckets are not the map's";
	if (map_in(skel->maps.portier_conntrack6, (const void **)&t.b, &t.b_size))
		return "cannot mmap portier_conntrack6";
	if (map_in(skel->maps.portier_ct6_slots, (const void **)&t.s, &t.s_size)) {
		munmap((void *)t.b, t.b_size);
		return "cannot mmap portier_ct6_slots";
	}
	for (__u32 b = 0; b < t.n && !err; b++) {
		for (__u32 i = 0; i < PORTIER_CT_SLOTS && !err; i++) {
			const struct portier_ct6_slot *s = &t.s[(size_t)b * PORTIER_CT_SLOTS + i];
			__u32 tag = t.b[b].tag[i];

			if (!(tag & 1))
				continue;	/* free, or claimed */
			err = check_entry6(&t, cfg, s, b, tag);
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				keys = realloc(keys, cap * sizeof(*keys));
				if (!keys)
					abort();
			}
			keys[n++] = s->key;
		}
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key6_cmp);
	for (size_t i = 1; i < n && !err; i++)
		if (!key6_cmp(&keys[i - 1], &keys[i]))
			err = "an IPv6 key has two entries";
	free(keys);
	munmap((void *)t.b, t.b_size);
	munmap((void *)t.s, t.s_size);
	return err;
}
