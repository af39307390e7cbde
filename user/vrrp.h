/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vrrp.h - the VRRP role of this host, per virtual router, in the pinned
 * map portier_vrrp (struct portier_vrrp): written by "portier vrrp notify"
 * when keepalived changes state, read by the daemon (which logs a change,
 * re-reads its local addresses at once, and gives the role to whatever
 * follows it: flow replication sends as MASTER, receives as BACKUP), by
 * prog show, stats show and the metrics.
 *
 * Functions return 0 or -errno and print nothing.
 */
#ifndef PORTIER_VRRP_H
#define PORTIER_VRRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portier.h"

/* "unknown", "BACKUP", "MASTER", "FAULT", "STOP" (keepalived's words). */
const char *pt_vrrp_role_name(unsigned int role);
/* A role from keepalived's word in any case ("master", "MASTER", ...);
 * "unknown" is not one. 0 or -EINVAL. */
int pt_vrrp_role_parse(const char *s, unsigned int *role);

/* The entry of vrid (1..255) in the portier_vrrp map fd. */
int pt_vrrp_read(int fd, unsigned int vrid, struct portier_vrrp *out);
/* Write role (and priority, 0 = keep the last one) for vrid; since_ns and
 * changes move only when the role changes. *changed (may be NULL) says
 * whether it did. */
int pt_vrrp_write(int fd, unsigned int vrid, unsigned int role, unsigned int priority,
		  bool inferred, bool *changed);
/* The role of the host over vrids (n of them; n 0: every vrid): MASTER if
 * one instance is, else FAULT, else BACKUP, else STOP, else unknown. The
 * flow replication asks this: a host that is MASTER of any VIP sends. */
unsigned int pt_vrrp_host_role(int fd, const uint8_t *vrids, size_t n);

#endif
