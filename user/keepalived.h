/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * keepalived.h - keepalived's configuration for one host of the
 * nat-gateway-pool, from its vips (vips.h): one vrrp_instance per VIP, all
 * of a host's VIPs in one vrrp_sync_group (they move together: the input
 * side's VIP and the output side's SNAT address), and notify scripts that
 * run "portier vrrp notify ROLE VRID PRIORITY" (cmd_vrrp.c). With flow sync
 * from the inventory (pt_pool.sync), every instance starts as BACKUP with
 * preempt_delay, so that a returning MASTER is resynchronised first.
 */
#ifndef PORTIER_KEEPALIVED_H
#define PORTIER_KEEPALIVED_H

#include <jansson.h>
#include <stdio.h>

#include "vips.h"

struct pt_keepalived_opts {
	const char *portier;	/* the portier binary the scripts run */
	const char *bpffs;	/* its --bpffs DIR; NULL: the default */
	const char *source;	/* the inventory, named in the header comment */
};

/* Instance and group names: "portier_vrid<N>", "portier". */
#define PT_KEEPALIVED_INSTANCE_FMT	"portier_vrid%u"
#define PT_KEEPALIVED_GROUP		"portier"

/* With flow sync (the pool's sync), every instance starts as BACKUP and
 * waits this many seconds before preempting a lower priority MASTER: the
 * returning MASTER's daemon has its table resynchronised by the peer
 * within it (docs/operations.md, "The nat pool end to end"). */
#define PT_KEEPALIVED_PREEMPT_DELAY	5

/* Write keepalived.conf for p (which has VIPs) to f. 0 or -errno. */
int pt_keepalived_render(const struct pt_pool *p, const struct pt_keepalived_opts *o, FILE *f);

/* The pool as config check shows it: {"input", "output", "vips": [...]},
 * and as text lines after the routes table. */
json_t *pt_pool_json(const struct pt_pool *p);
void pt_pool_print(const struct pt_pool *p, FILE *f);

#endif
