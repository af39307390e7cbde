/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * testroute.h - routes built as the inventory reader builds them, for the
 * BPF program tests and the packet-path fuzz harness.
 */
#ifndef PORTIER_TEST_TESTROUTE_H
#define PORTIER_TEST_TESTROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"
#include "routes.h"

/* A backend of tn_route: address text (IPv4 or IPv6), port, this host's
 * own. */
struct tn_be {
	const char *addr;
	uint16_t port;
	bool local;
};

/* Address text as a struct pt_addr: IPv6 if it has a ':' (all-zero if it
 * is not one), else IPv4 (0 if it is not one). */
struct pt_addr tn_addr(const char *s);

/* Fill *r: name, address (NULL: "*"), port, protocol, NAT, round-robin,
 * mode tcp, and n backends (r->backends is allocated: free it). */
void tn_route(struct pt_route *r, const char *name, const char *addr, uint16_t port,
	      uint8_t proto, enum pt_nat nat, const struct tn_be *bes, size_t n);

/* The routes every packet-path test needs, into r[0..TN_BASE_ROUTES):
 * "web" snat TCP :80 over the three backends (:30080), "dns" snat UDP :53
 * (:30053), "dnat" TCP :81 (:30081), "local" TCP :82 to this host's output
 * address (:82) and a remote backend (:30082), "wild" a "*" TCP :85
 * (:30085); all but "wild" on the input address. */
#define TN_BASE_ROUTES	5
void tn_base_routes(struct pt_route *r);

/* Apply the n routes r (host "gw") to dp, free their backends, and say
 * why on stderr (as who) if the apply fails. 0 or pt_dp_apply's error. */
int tn_apply(struct pt_dataplane *dp, struct pt_route *r, size_t n, const char *who);

#endif
