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

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portier.h"
#include "vips.h"

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

/* Every instance with a role in map fd, and the host's role:
 * {"role": "MASTER", "instances": [{"vrid", "role", "priority", "since_ms",
 * "changes", "inferred"}]} (prog show, stats show, vrrp show). */
json_t *pt_vrrp_json(int fd);
/* The same as text: "vrrp: MASTER" and a line per instance, indented by
 * indent; nothing if no instance has a role. */
void pt_vrrp_print(const json_t *o, const char *indent);

/* The daemon's watch on the roles of its pool's VIPs. */
struct pt_vrrp_watch {
	int fd;				/* portier_vrrp */
	size_t n;			/* VIPs of the pool */
	uint8_t vrids[PT_VIPS_MAX];
	char iface[PT_VIPS_MAX][16];	/* each one's NIC (IFNAMSIZ) */
	struct pt_addr addr[PT_VIPS_MAX];
	unsigned int roles[PT_VIPS_MAX];	/* as last seen */
	unsigned int host_role;		/* pt_vrrp_host_role of them, last seen */
};
typedef void (*pt_vrrp_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Follow pool's VIPs in the map fd (the pool may be NULL or have none).
 * A VIP that no notify has set yet (keepalived started before the pins
 * were made, or the map is new) gets the role its address says: MASTER
 * if the VIP is on its NIC now, else BACKUP; written as inferred, and
 * logged. */
void pt_vrrp_watch_init(struct pt_vrrp_watch *w, int fd, const struct pt_pool *pool,
			pt_vrrp_log_fn log);
/* Read the roles again; log every change. Returns true if the host's role
 * changed (w->host_role is the new one). */
bool pt_vrrp_watch_poll(struct pt_vrrp_watch *w, pt_vrrp_log_fn log);

#endif
