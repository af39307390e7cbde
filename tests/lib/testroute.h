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

#include "routes.h"

/* A backend of tn_route: IPv4 address text, port, this host's own. */
struct tn_be {
	const char *addr;
	uint16_t port;
	bool local;
};

/* IPv4 address text as a struct pt_addr. */
struct pt_addr tn_addr(const char *s);

/* Fill *r: name, address (NULL: "*"), port, protocol, NAT, round-robin,
 * mode tcp, and n backends (r->backends is allocated: free it). */
void tn_route(struct pt_route *r, const char *name, const char *addr, uint16_t port,
	      uint8_t proto, enum pt_nat nat, const struct tn_be *bes, size_t n);

#endif
