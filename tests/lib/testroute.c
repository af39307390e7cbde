// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * testroute.c - routes for the tests (testroute.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "testnet.h"
#include "testroute.h"

struct pt_addr tn_addr(const char *s)
{
	struct pt_addr a = { .family = AF_INET };

	if (strchr(s, ':')) {
		a.family = AF_INET6;
		if (inet_pton(AF_INET6, s, &a.v6) != 1)
			memset(&a.v6, 0, sizeof(a.v6));
		return a;
	}
	a.v4.s_addr = tn_ip4(s);
	return a;
}

void tn_route(struct pt_route *r, const char *name, const char *addr, uint16_t port,
	      uint8_t proto, enum pt_nat nat, const struct tn_be *bes, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->name = (char *)name;
	r->mode = (char *)"tcp";
	r->wildcard = addr == NULL;
	if (addr)
		r->addr = tn_addr(addr);
	r->port = port;
	r->proto = proto;
	r->balance = PT_BALANCE_ROUNDROBIN;
	r->nat = nat;
	/* Cookies only where a test asks: the tests send SYNs faster than
	 * "auto"'s rate, and exact round-robin needs them off. */
	r->syn_cookies = PT_SYN_COOKIES_OFF;
	r->backends = calloc(n, sizeof(*r->backends));
	r->n_backends = n;
	for (size_t i = 0; i < n; i++) {
		r->backends[i].addr = tn_addr(bes[i].addr);
		r->backends[i].port = bes[i].port;
		r->backends[i].local = bes[i].local;
		r->backends[i].weight = 1;
	}
}

void tn_base_routes(struct pt_route *r)
{
	static const struct tn_be web[] = { { "203.0.113.11", 30080, false },
					    { "203.0.113.12", 30080, false },
					    { "203.0.113.13", 30080, false } };
	static const struct tn_be dns[] = { { "203.0.113.11", 30053, false } };
	static const struct tn_be dnat[] = { { "203.0.113.12", 30081, false } };
	static const struct tn_be local[] = { { TN_GW_OUT, 82, true },
					      { "203.0.113.11", 30082, false } };
	static const struct tn_be wild[] = { { "203.0.113.11", 30085, false } };

	tn_route(&r[0], "web", TN_GW_IN, 80, IPPROTO_TCP, PT_NAT_SNAT, web, 3);
	tn_route(&r[1], "dns", TN_GW_IN, 53, IPPROTO_UDP, PT_NAT_SNAT, dns, 1);
	tn_route(&r[2], "dnat", TN_GW_IN, 81, IPPROTO_TCP, PT_NAT_DNAT, dnat, 1);
	tn_route(&r[3], "local", TN_GW_IN, 82, IPPROTO_TCP, PT_NAT_SNAT, local, 2);
	tn_route(&r[4], "wild", NULL, 85, IPPROTO_TCP, PT_NAT_SNAT, wild, 1);
}

int tn_apply(struct pt_dataplane *dp, struct pt_route *r, size_t n, const char *who)
{
	struct pt_routeset rs = { .host = (char *)"gw", .routes = r, .n_routes = n };
	int err = pt_dp_apply(dp, &rs);

	if (err)
		fprintf(stderr, "%s: pt_dp_apply: %s\n", who, pt_dp_last_error(dp));
	for (size_t i = 0; i < n; i++)
		free(r[i].backends);
	return err;
}
