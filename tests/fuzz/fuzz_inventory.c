// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * fuzz_inventory.c - libFuzzer target: arbitrary bytes as an inventory file,
 * then, if it reads, the route model and the nat pool's settings (vips,
 * rendered as keepalived.conf) for each of its hosts and for a fixed name. Name lookups go to a resolver that never touches the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "inventory.h"
#include "keepalived.h"
#include "routes.h"
#include "vips.h"

/* Bound the work per input: hosts built for, and the fixed extra one. */
#define FUZZ_MAX_HOSTS 16
#define FUZZ_FIXED_HOST "gateway-1"
#define FUZZ_DIAG_BUF 4096
/* FNV-1a, to answer lookups deterministically from the name. */
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u
#define TEST_NET_3 0xcb007100u	/* 203.0.113.0 */

/* Half the names "resolve" into 203.0.113.0/24, the rest fail. */
static int fuzz_resolve(const char *name, int family, struct pt_addr *out, void *arg)
{
	uint32_t h = FNV_OFFSET;

	(void)arg;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * FNV_PRIME;
	if (h & 1)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->family = family;
	if (family == AF_INET6) {
		if (h & 2)	/* some names have no AAAA record */
			return -ENODATA;
		out->v6.s6_addr[0] = 0x20;	/* 2001:db8::/32 */
		out->v6.s6_addr[1] = 0x01;
		out->v6.s6_addr[2] = 0x0d;
		out->v6.s6_addr[3] = 0xb8;
		out->v6.s6_addr[15] = (uint8_t)(h >> 2);
		out->v6.s6_addr[14] = 1;
		return 0;
	}
	out->v4.s_addr = htonl(TEST_NET_3 | ((h >> 1) & 0xff));
	return 0;
}

/* Exercise what the CLI does with the results. */
static void consume(const struct pt_routeset *rs, const struct pt_diags *d)
{
	char buf[FUZZ_DIAG_BUF], addr[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < d->n; i++)
		pt_diag_format(&d->v[i], buf, sizeof(buf));
	for (size_t i = 0; rs && i < rs->n_routes; i++) {
		const struct pt_route *r = &rs->routes[i];

		if (pt_routeset_find(rs, r->name) != r)
			__builtin_trap();
		pt_addr_str(&r->addr, addr, sizeof(addr));
		pt_proto_name(r->proto);
		pt_nat_name(r->nat);
		for (size_t j = 0; j < r->n_backends; j++)
			pt_addr_str(&r->backends[j].addr, addr, sizeof(addr));
	}
}

static void build_for(const struct pt_inventory *inv, const char *host)
{
	struct pt_build_opts o = { .host = host, .resolve = fuzz_resolve };
	struct pt_diags d = { 0 };
	struct pt_routeset *rs = pt_routes_build(inv, &o, &d);

	struct pt_keepalived_opts ko = { .portier = "/usr/sbin/portier" };
	struct pt_pool *p = pt_pool_build(inv, host, &d);
	FILE *devnull = fopen("/dev/null", "w");

	consume(rs, &d);
	if (p && devnull && p->n_vips && pt_keepalived_render(p, &ko, devnull))
		__builtin_trap();
	if (devnull)
		fclose(devnull);
	pt_pool_free(p);
	pt_routeset_free(rs);
	pt_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv;

	inv = pt_inventory_parse("fuzz.yml", (const char *)data, size, &d);
	consume(NULL, &d);
	if (inv) {
		for (size_t i = 0; i < inv->n_hosts && i < FUZZ_MAX_HOSTS; i++)
			build_for(inv, inv->hosts[i]->name);
		build_for(inv, FUZZ_FIXED_HOST);
		pt_inventory_free(inv);
	}
	pt_diags_free(&d);
	return 0;
}
