/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * egress.h - the egress rules of the nat-gateway-pool (docs/inventory.md,
 * "egress"): which sources on the input side may reach which destinations
 * through the output NIC, with their source translated (bpf/egress.h).
 * Read from a host's "egress" variable and validated; compiled into the
 * program's maps (two LPM tries of rule masks, the rules array).
 */
#ifndef PORTIER_EGRESS_H
#define PORTIER_EGRESS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "portier.h"
#include "routes.h"
#include "vars.h"

/* One rule: sources (from), destinations (to) less the exceptions, the
 * protocols and, for TCP and UDP, the destination ports it allows. */
struct pt_egress_rule {
	char *name;
	struct pt_cidr *from, *to, *except;
	size_t n_from, n_to, n_except;
	uint8_t protos;		/* PORTIER_EGRESS_P_* (default all three) */
	uint8_t n_ports;	/* 0: any port */
	bool log;		/* log: true: connection logs of its flows */
	struct {
		uint16_t lo, hi;
	} ports[PORTIER_EGRESS_PORTS_MAX];
	struct pt_pos pos;
};

struct pt_egress {
	bool declared;		/* the host has an egress variable */
	struct pt_addr snat_address;	/* family 0: the output NIC's address */
	bool snat_vip;		/* snat_address is the output side's VIP
				 * (vips.h), not declared */
	struct pt_egress_rule *rules;	/* in declaration order */
	size_t n_rules;
};

/* Read the "egress" variable of vars (a host's, templates resolved
 * against them) into *out; problems go to d at their nodes. Nothing is
 * declared when the variable is absent. */
void pt_egress_build(const struct pt_val *vars, struct pt_diags *d, struct pt_egress *out);
void pt_egress_free(struct pt_egress *e);
/* A deep copy of e into *out. */
void pt_egress_copy(const struct pt_egress *e, struct pt_egress *out);

/* One element of a trie (portier_egress_src or portier_egress_dst). */
struct pt_egress_item {
	struct portier_egress_key key;
	struct portier_egress_mask mask;
};

/* The elements of both tries for e's rules (rule i is bit i): an element
 * at every declared prefix whose mask holds every rule that a covering
 * prefix of it allows (src: a from-network covers it; dst: a to-network
 * covers it and no exception does), so that the longest match answers.
 * Sorted by key; malloc'd arrays. */
void pt_egress_compile(const struct pt_egress *e, struct pt_egress_item **src, size_t *n_src,
		       struct pt_egress_item **dst, size_t *n_dst);
/* Rule r as the program's value (name included). */
void pt_egress_rule_value(const struct pt_egress_rule *r, struct portier_egress_rule *out);
/* "tcp,udp,icmp" of PORTIER_EGRESS_P_* bits into buf. */
const char *pt_egress_protos_str(uint8_t protos, char *buf, size_t len);
/* "80,443,8000-8099" or "any" into buf. */
const char *pt_egress_ports_str(const struct portier_egress_rule *r, char *buf, size_t len);

#endif
