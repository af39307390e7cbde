// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz_fill.c - a full connection table for the packet-path fuzz
 * harness (xdpfuzz.h): every slot taken, a quarter of the buckets by
 * established flows only, so that inputs meet both outcomes of a full
 * bucket: an embryonic entry evicted (CT_EVICTED) and a new flow refused
 * (DROP_CT_FULL), and the established entries must all survive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "portier.skel.h"
#include "testnet.h"
#include "xdpfuzz.h"

/* Buckets b with b % XF_ASSURED_EVERY == 0 hold established entries only. */
#define XF_ASSURED_EVERY	4
#define XF_FILL_TRIES		200000	/* keys tried before giving up */
#define XF_IDLE_MAX_S		40	/* embryonic entries idle 0..40 s */
#define XF_FILL_PORTS		5000	/* SNAT ports the fill's flows take */

static struct {
	struct portier_flow_key *assured;	/* established entries of the fill */
	size_t n_assured, cap, n_embryonic;
} fill;

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static bool bucket_assured(const struct portier_config *c, const struct portier_flow_key *k)
{
	__u32 tag;

	return portier_ct_locate(k, c->ct_seed, c->ct_buckets, c->ct_step, &tag) %
		       XF_ASSURED_EVERY == 0;
}

static void note_assured(const struct portier_flow_key *k)
{
	if (fill.n_assured == fill.cap) {
		fill.cap = fill.cap ? 2 * fill.cap : 256;
		fill.assured = realloc(fill.assured, fill.cap * sizeof(*fill.assured));
		if (!fill.assured)
			abort();
	}
	fill.assured[fill.n_assured++] = *k;
}

/* The SNAT port of flow i of the fill: from the top of the range down,
 * away from the ports the inputs use (the seeds' 16384 and what one byte
 * set makes of it: 0x40xx, 0xXX00), so that no input closes a fill flow
 * (a closing flow may be evicted). */
static uint16_t fill_port(__u32 i)
{
	uint16_t p = (uint16_t)(PORTIER_SNAT_PORT_MAX_DEFAULT - i % XF_FILL_PORTS);

	return (p & 0xff) == 0 ? (uint16_t)(p - 1) : p;
}

/* Flow i of the fill: client 10.99.x.y:port -> "web" (198.51.100.1:80),
 * SNAT to a backend :30080; its two entries. */
static void fill_flow(__u32 i, __u32 now_tick, struct portier_flow_key *ko,
		      struct portier_flow *fo, struct portier_flow_key *kr, struct portier_flow *fr)
{
	memset(ko, 0, sizeof(*ko));
	ko->saddr = htonl(0x0a630000 | (i & 0xffff));
	ko->daddr = tn_ip4(TN_GW_IN);
	ko->sport = htons((uint16_t)(1024 + (i >> 16)));
	ko->dport = htons(80);
	ko->proto = IPPROTO_TCP;
	memset(fo, 0, sizeof(*fo));
	fo->dir = PORTIER_FLOW_DIR_ORIG;
	fo->last_seen = now_tick - portier_ticks_of_s(i % (XF_IDLE_MAX_S + 1));
	fo->nat_saddr = tn_ip4(TN_GW_OUT);
	fo->nat_sport = htons(fill_port(i));
	fo->nat_daddr = tn_ip4(tn_be_addr[i % TN_N_BE]);
	fo->nat_dport = htons(30080);
	pt_flow_key_other(ko, fo, kr);
	*fr = *fo;
	fr->dir = PORTIER_FLOW_DIR_REPLY;
	fr->nat_saddr = ko->daddr;
	fr->nat_sport = ko->dport;
	fr->nat_daddr = ko->saddr;
	fr->nat_dport = ko->sport;
}

static void set_assured(struct portier_flow *f, bool assured, __u32 now_tick)
{
	if (!assured)
		return;
	f->flags = PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_ASSURED;
	f->last_seen = now_tick;
}

const char *xf_fill_table(void)
{
	struct pt_dataplane *dp = xf_dp();
	struct pt_ct *ct = pt_dp_ct(dp);
	struct portier_flow_key ko, kr;
	struct portier_flow fo, fr;
	struct portier_config cfg;
	__u32 zero = 0, now = portier_tick(mono_ns()), slots, i;
	bool assured;

	if (bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_config), &zero, &cfg))
		return "fill: cannot read portier_config";
	if (pt_ct_flush(ct, NULL))
		return "fill: cannot empty the connection table";
	fill.n_assured = fill.n_embryonic = 0;
	slots = cfg.ct_buckets * PORTIER_CT_SLOTS;
	/* Whole flows first: a flow is established if either of its buckets
	 * is an established-only one, else every other flow is. */
	for (i = 0; i < XF_FILL_TRIES / 2 && pt_ct_count(ct) < slots * 3 / 4; i++) {
		fill_flow(i, now, &ko, &fo, &kr, &fr);
		assured = bucket_assured(&cfg, &ko) || bucket_assured(&cfg, &kr) || i % 2;
		set_assured(&fo, assured, now);
		set_assured(&fr, assured, now);
		if (pt_ct_insert(ct, &ko, &fo))
			continue;
		if (pt_ct_insert(ct, &kr, &fr)) {
			pt_ct_delete(ct, &ko);
			continue;
		}
		if (assured) {
			note_assured(&ko);
			note_assured(&kr);
		} else {
			fill.n_embryonic += 2;
		}
	}
	/* Then the slots left, by original entries alone. */
	for (; i < XF_FILL_TRIES && pt_ct_count(ct) < slots; i++) {
		fill_flow(i, now, &ko, &fo, &kr, &fr);
		assured = bucket_assured(&cfg, &ko) || i % 2;
		set_assured(&fo, assured, now);
		if (pt_ct_insert(ct, &ko, &fo))
			continue;
		if (assured)
			note_assured(&ko);
		else
			fill.n_embryonic++;
	}
	if (pt_ct_count(ct) != slots)
		return "fill: the connection table did not fill";
	return NULL;
}

const char *xf_check_fill(void)
{
	struct pt_ct *ct = pt_dp_ct(xf_dp());
	struct portier_flow f;

	for (size_t i = 0; i < fill.n_assured; i++) {
		if (!pt_ct_lookup(ct, &fill.assured[i], &f))
			return "an established entry of the full table was evicted";
		if (!(f.flags & PORTIER_FLOW_F_ASSURED))
			return "an established entry of the full table lost ASSURED";
	}
	return NULL;
}

void xf_fill_counts(size_t *assured, size_t *embryonic)
{
	*assured = fill.n_assured;
	*embryonic = fill.n_embryonic;
}
