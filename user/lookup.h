/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * lookup.h - which backend a flow's tuple maps to, for "portier route
 * lookup" (the table the data plane uses, read from the pinned maps) and
 * "portier config lookup" (the table an inventory gives, built here by the
 * daemon's own code, user/maglev.c): their arguments, the hash of a tuple
 * as the XDP program computes it (include/portier_hash.h, bpf/nat.h
 * table_backend), and the answer as text or JSON. So the two forms agree
 * with each other and with the program, and the gateways of a pool can be
 * compared before and after a deployment.
 */
#ifndef PORTIER_LOOKUP_H
#define PORTIER_LOOKUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portier.h"
#include "routes.h"

/* "255.255.255.255:65535", "[IPv6]:65535" */
#define PT_LOOKUP_AP_BUF	PT_ADDRPORT_STRLEN

/* One "client ADDR[:PORT]". */
struct pt_lookup_client {
	const char *text;	/* as written */
	struct pt_addr addr;
	uint16_t port;		/* 0: none given */
};

/* A backend taken as down ("down ADDR:PORT", the offline form). */
struct pt_lookup_down {
	struct pt_addr addr;
	uint16_t port;
};

/* What a lookup asks: route ROUTE, one answer per client. */
struct pt_lookup_req {
	const char *route;
	struct pt_lookup_client *clients;
	size_t n_clients;
	bool has_service;		/* "address ADDR" given */
	struct pt_addr service;		/* the address the clients connect to */
	struct pt_lookup_down *down;	/* offline only */
	size_t n_down;
};

/* Parse "ROUTE client ADDR[:PORT] [client ...] [address ADDR]" (and, if
 * offline, "[down ADDR:PORT ...]") into q; cmd names the command in
 * messages ("route lookup"). Returns 0, or 1 after printing the error. q
 * points into argv; free with pt_lookup_req_free. */
int pt_lookup_parse(const char *cmd, int argc, char **argv, bool offline,
		    struct pt_lookup_req *q);
void pt_lookup_req_free(struct pt_lookup_req *q);

/* The route as a lookup needs it. */
struct pt_lookup_route {
	const char *name;
	enum pt_balance balance;
	bool wildcard;		/* listens on every address */
	int family;		/* AF_INET, AF_INET6; 0: a wildcard of either */
	struct pt_addr addr;	/* when !wildcard */
	uint16_t port;
	uint8_t proto;
};

/* A lookup's tuple: the original-direction flow key of the client's
 * family, network byte order, as the program builds it. */
struct pt_lookup_tuple {
	__u8 family;			/* PORTIER_AF_INET or PORTIER_AF_INET6 */
	struct portier_flow_key v4;	/* family PORTIER_AF_INET */
	struct portier_flow_key6 v6;	/* family PORTIER_AF_INET6 */
};

/* The original-direction flow key (network byte order, as the program
 * builds it) of client c to route r: the service address is q's "address"
 * or the route's own. Returns 0, or 1 after printing why the tuple is
 * incomplete: maglev hashes the client port and the service address, so it
 * needs both (a wildcard route has no address of its own); an "address"
 * must be the route's if it has one. */
int pt_lookup_key(const char *cmd, const struct pt_lookup_req *q,
		  const struct pt_lookup_client *c, const struct pt_lookup_route *r,
		  struct pt_lookup_tuple *k);

/* The hash whose remainder by the table size is the slot: of the 5-tuple
 * (maglev) or of the client address (source); IPv6 by portier_tuple6_hash
 * and portier_source6_hash. */
uint32_t pt_lookup_hash(enum pt_balance b, const struct pt_lookup_tuple *k);

/* Route r's table (maglev or source) as the daemon builds it for this
 * inventory: its backends in declaration order, those with down[j] (down
 * may be NULL) left out as a drained or failing backend is. table holds
 * r->table_size slots of indexes into r->backends (UINT32_MAX: none).
 * Returns 0 or -errno. */
int pt_lookup_table(const struct pt_route *r, const bool *down, uint32_t *table);

/* One answer. Strings are "" when absent. */
struct pt_lookup_answer {
	const char *route;
	enum pt_balance balance;
	char client[PT_LOOKUP_AP_BUF];	/* ADDR or ADDR:PORT */
	char service[PT_LOOKUP_AP_BUF];	/* ADDR:PORT, or PORT alone for a wildcard */
	uint8_t proto;
	/* maglev, source: the slot the tuple takes and what it names */
	uint32_t hash, slot, table_size;
	bool has_backend;		/* false: the slot names none */
	char backend[PT_LOOKUP_AP_BUF];
	long backend_id;		/* live: the backend id; -1 offline */
	const char *state;		/* live: "up", "drained", "down" */
	const char *host;		/* offline: the inventory host */
	/* roundrobin, live: the backend the next new flow takes */
	char next[PT_LOOKUP_AP_BUF];
	long next_id;
	/* live: the connection table holds this tuple's flow, to flow */
	char flow[PT_LOOKUP_AP_BUF];
};

/* The answer as JSON: {"route", "balance", "client", "service", "proto",
 * "decided"} and, when decided (maglev, source), "hash", "slot",
 * "table_size", "backend" ("none" if the slot names none) with
 * "backend_id" and "state" (live) or "host" (offline); roundrobin live:
 * "next", "next_id"; live: "flow" if an open flow has the tuple. */
json_t *pt_lookup_json(const struct pt_lookup_answer *a);
/* The answer as one line of text. */
void pt_lookup_print(const struct pt_lookup_answer *a);

#endif
