/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vips.h - the nat-gateway-pool's inventory for one host: its NICs
 * (input_interface, output_interface) and the VRRP addresses it shares with
 * its peers (vips, with the host's own <interface>: {priority, state}), read
 * and validated. keepalived's configuration is rendered from it
 * (keepalived.h); the daemon takes its NICs from it when --input/--output
 * are not given.
 */
#ifndef PORTIER_VIPS_H
#define PORTIER_VIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "inventory.h"
#include "routes.h"

/* The inventory variables (docs/inventory.md, "the nat-gateway-pool"). */
#define PT_VAR_INPUT_IF		"input_interface"
#define PT_VAR_OUTPUT_IF	"output_interface"
#define PT_VAR_VIPS		"vips"
#define PT_VAR_SYNC_ADDRESS	"sync_address"	/* the host's flow sync address */
#define PT_SYNC_PORT		7799	/* flow sync's UDP port, both ends */

#define PT_VIPS_MAX		16	/* VRRP instances of one host */
#define PT_VRRP_ADVERT_DEFAULT	1	/* keepalived's advert_int, seconds */
#define PT_VRRP_ADVERT_MAX	255	/* VRRPv2's 8-bit advertisement interval */
#define PT_VRRP_AUTH_PASS_MAX	8	/* VRRPv2 simple password: 8 bytes */

/* One VRRP address of this host, as keepalived's vrrp_instance needs it. */
struct pt_vip {
	char *iface;		/* the vips key: the NIC that holds the address */
	bool output;		/* iface is the output_interface: the address the
				 * egress SNAT translates to (it moves with the
				 * VIPs, so replies find the MASTER) */
	uint8_t vrid;		/* virtual_router_id, 1..255 */
	struct pt_addr addr;	/* vip, IPv4 */
	uint8_t priority;	/* this host's <iface>.priority, 1..255 */
	bool master;		/* this host's <iface>.state: MASTER (else BACKUP) */
	unsigned int advert_int;	/* seconds, default 1 */
	char *auth_pass;	/* VRRP PASS authentication, NULL = none */
	char **peers;		/* the other hosts of this VRRP instance (same
				 * vips key and virtual_router_id), Ansible's order */
	size_t n_peers;
	struct pt_pos pos;	/* the vips key */
};

/* The pool settings of one host. */
struct pt_pool {
	char *host;
	char *input;		/* input_interface, NULL if not set */
	char *output;		/* output_interface, NULL if not set */
	struct pt_vip *vips;	/* in the order vips lists them */
	size_t n_vips;
	/* Flow sync (docs/operations.md, "The nat pool end to end"): on when
	 * the VIPs have one peer host, between the two hosts' sync_address
	 * (default: their ansible_host, an IPv4 address), port PT_SYNC_PORT. */
	bool sync;
	struct pt_addr sync_self;	/* this host's: where it listens */
	struct pt_addr sync_peer;	/* the peer's: where it sends */
	char *sync_peer_host;		/* the peer's name */
	char *sync_none;		/* no sync from the inventory: why (NULL
					 * when on, or when there are no peers) */
};

/* Read host's input_interface, output_interface and vips, and check every
 * VIP against its peers (one MASTER among them, the interface one of the
 * host's two). Problems go to d as file:line:col diagnostics; the pool is
 * returned even then (what was understood). NULL only if the host is not
 * in the inventory (no diagnostic: the route build says so). */
struct pt_pool *pt_pool_build(const struct pt_inventory *inv, const char *host,
			      struct pt_diags *d);
void pt_pool_free(struct pt_pool *p);

/* The VIP on the output interface (the SNAT source), or NULL. */
const struct pt_vip *pt_pool_output_vip(const struct pt_pool *p);
/* The egress NAT's source when the egress block names none
 * (egress.snat_address): the output side's VIP, which moves with the
 * MASTER, so that replies find whichever host holds it. */
struct pt_egress;
void pt_pool_egress_source(const struct pt_pool *p, struct pt_egress *e);
/* Is addr one of the pool's VIPs? */
bool pt_pool_has_vip(const struct pt_pool *p, const struct pt_addr *addr);

#endif
