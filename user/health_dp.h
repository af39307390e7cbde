/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * health_dp.h - the health checker wired to the data plane: check every
 * loaded TCP backend (inventory and runtime routes alike), and take a
 * backend out of rotation (PT_DP_BE_DOWN) when its checks fail.
 */
#ifndef PORTIER_HEALTH_DP_H
#define PORTIER_HEALTH_DP_H

#include "dataplane.h"
#include "health.h"

/* Check exactly the TCP backends loaded in dp, with each route's check
 * settings. A backend new to the checker starts DOWN if the data plane
 * has it DOWN already (adopted from a previous daemon), else UP. Every
 * target is tagged with its backend id (pt_health_publish). Then the
 * checker's state wins: a known backend whose DOWN bit disagrees with it
 * (new ids after a reload moved its route, an apply that failed) gets it
 * set or cleared, so the daemon's tick repairs any drift. */
int pt_health_sync(struct pt_health *h, struct pt_dataplane *dp);

/* Apply a state change to the data plane: set or clear PT_DP_BE_DOWN of
 * the backend (its route's rotation is rewritten). -ENOENT if the backend
 * is no longer loaded. */
int pt_health_apply(struct pt_dataplane *dp, const struct pt_health_event *ev);

/* Write the last check of st into portier_health[st->tag] (the backend id
 * pt_health_sync tagged it with) for "portier backend show": one map
 * update, nothing if the slot holds another backend by now (-ESTALE). */
int pt_health_publish(struct pt_dataplane *dp, const struct pt_health_status *st);

/* Delete every connection-table entry (both directions) of the backend of
 * ev, so that its established flows end now rather than when the client or
 * the dead backend gives up: the daemon's --flush-down. *removed (if not
 * NULL) receives the number of entries deleted. */
int pt_health_flush_flows(struct pt_dataplane *dp, const struct pt_health_event *ev,
			  size_t *removed);

#endif
