/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * metrics_collect.h - fill a metrics snapshot from the loaded data plane
 * (per-CPU counters summed, the connection table counted) and from the
 * health checker.
 */
#ifndef PORTIER_METRICS_COLLECT_H
#define PORTIER_METRICS_COLLECT_H

#include "dataplane.h"
#include "health.h"
#include "metrics.h"

/* Sum the per-CPU pass/drop reason counters, PORTIER_R_MAX of them.
 * Returns 0 or -errno. */
int pt_reasons_sum(struct bpf_map *m, uint64_t out[PORTIER_R_MAX]);

/* Every loaded route and backend (inventory and runtime alike) with its
 * counters; reasons; conntrack entries and capacity; SNAT ports in use per
 * backend and the range size; reloads from portier_state. A backend's "up"
 * is its health status when h checks it, else the absence of the data
 * plane's DOWN bit. h may be NULL. Returns 0 or -errno. */
int pt_metrics_collect(struct pt_dataplane *dp, const struct pt_health *h,
		       struct pt_metrics_snapshot *s);

#endif
