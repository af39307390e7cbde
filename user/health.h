/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * health.h - TCP connect health checks of every backend, HAProxy style,
 * driven by the daemon's poll loop.
 *
 * A check is a non-blocking connect() to the backend (or to its route's
 * check port) with a deadline; the connection is closed at once with a RST
 * (SO_LINGER 0, so frequent checks leave no TIME_WAIT sockets behind). An
 * HTTP check (check.type PT_CHECK_HTTP, HAProxy's "option httpchk") goes on
 * on the connected socket: it sends the request, reads the answer into a
 * bounded buffer until the status line is complete, and passes if the
 * status is in check.expect_min..max; the whole exchange has the one
 * deadline (timeout), and every step waits in the epoll set. Every
 * check in flight is one socket in an epoll set; one timerfd in the same set
 * fires at the next deadline (a check to start or one timing out). The
 * daemon polls the single fd pt_health_fd() and calls pt_health_run() when
 * it is readable.
 *
 * Results count as CONSECUTIVE: an UP backend goes DOWN after `fall`
 * failures in a row, a DOWN one comes UP after `rise` successes in a row; a
 * result of the other kind resets the count. A backend alternating faster
 * than that never changes state.
 *
 * A new target (daemon start, or added by a reload or at runtime) starts UP
 * with fall-1 failures already counted, as HAProxy does: it serves at once,
 * and ONE failed check takes it out (a daemon restart never empties a
 * healthy rotation). pt_health_opts.start_down makes new targets start DOWN
 * instead (they need `rise` successes first). Targets kept by
 * pt_health_set_targets keep their state and counts.
 *
 * Functions return 0 or -errno (or NULL) and print nothing.
 */
#ifndef PORTIER_HEALTH_H
#define PORTIER_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "routes.h"

#define PT_HEALTH_REASON_LEN	96	/* "timeout after 2000 ms", strerror text */

struct pt_health;	/* opaque: targets, epoll set, timer */

/* One backend to check. Its identity is (route, addr, port); check.port,
 * when non-zero, is where the check connects instead of port. Zero fields
 * of check take the defaults given to pt_health_new. */
struct pt_health_target {
	const char *route;
	struct pt_addr addr;
	uint16_t port;
	struct pt_check check;
	bool start_down;	/* if new: start DOWN (e.g. the data plane's
				 * adopted state says so) */
	uint32_t tag;		/* the caller's (the data plane's backend id),
				 * updated by every pt_health_set_targets */
};

/* What pt_health_status reports about one target. */
struct pt_health_status {
	const char *route;		/* owned by the checker */
	struct pt_addr addr;
	uint16_t port;
	uint16_t check_port;		/* where checks connect */
	struct pt_check check;		/* effective settings */
	bool up;			/* in rotation as far as health goes */
	unsigned int count;		/* consecutive results against the state */
	bool checked;			/* at least one check completed */
	bool last_ok;			/* last completed check's result */
	int last_err;			/* its errno: 0 if ok, ETIMEDOUT if it
					 * timed out; HTTP checks: EREMOTEIO if
					 * the status is not expected, EPROTO if
					 * no status line came */
	char last_reason[PT_HEALTH_REASON_LEN];	/* "connected", "connection refused",
						 * "HTTP/1.1 503 Service Unavailable" */
	unsigned int http_status;	/* HTTP checks: last status read, 0 if none */
	char http_line[PORTIER_CHECK_LINE_MAX];	/* its status line, truncated */
	uint64_t last_duration_ns;	/* last completed check, connect() to result */
	uint64_t last_change_ns;	/* CLOCK_MONOTONIC of the last state change */
	uint64_t checks_ok;		/* completed checks, by result */
	uint64_t checks_failed;
	unsigned int consecutive_ok;	/* results in a row up to the last one */
	unsigned int consecutive_failed;
	uint32_t tag;			/* pt_health_target.tag */
};

/* A state change, given to the callback. */
struct pt_health_event {
	const struct pt_health_status *status;	/* after the change */
	bool old_up, new_up;
	unsigned int results;		/* consecutive results seen that made it
					 * (1 for a new target's first failure) */
	const char *reason;		/* the last check's result text */
	size_t route_up;		/* backends of the route up after the change */
	size_t route_total;		/* backends of the route checked */
};

typedef void (*pt_health_cb)(void *arg, const struct pt_health_event *ev);
/* Every completed check, after its state change (if any) was reported. */
typedef void (*pt_health_result_cb)(void *arg, const struct pt_health_status *st);

/* Checker options. */
struct pt_health_opts {
	struct pt_check defaults;	/* for zero fields of a target's check;
					 * zero fields here: HAProxy's defaults */
	bool start_down;		/* new targets start DOWN (default UP) */
	pt_health_cb cb;		/* state changes; may be NULL */
	pt_health_result_cb result_cb;	/* every result; may be NULL */
	void *cb_arg;			/* for both */
};

int pt_health_new(const struct pt_health_opts *opts, struct pt_health **out);
void pt_health_free(struct pt_health *h);

/* Check exactly these targets from now on: targets already known keep
 * their state (their settings are updated), new ones start as described
 * above (their first checks spread over one interval), the others stop. */
int pt_health_set_targets(struct pt_health *h, const struct pt_health_target *t, size_t n);

/* The fd to poll for POLLIN (an epoll fd). */
int pt_health_fd(const struct pt_health *h);
/* Finish what is ready, time out what is late, start what is due, re-arm
 * the timer. Never blocks. Calls the callback for each state change. */
int pt_health_run(struct pt_health *h);

/* Targets, for metrics and "backend show": status of target i < count. */
size_t pt_health_count(const struct pt_health *h);
const struct pt_health_status *pt_health_at(const struct pt_health *h, size_t i);
/* One target's status, NULL if it is not checked. */
const struct pt_health_status *pt_health_find(const struct pt_health *h, const char *route,
					      const struct pt_addr *addr, uint16_t port);

/* "route pgadmin4 backend 203.0.113.2:30081 UP -> DOWN after 3 failed
 * checks (last: connection refused); 2/3 backends up" */
void pt_health_event_str(const struct pt_health_event *ev, char *buf, size_t len);

#endif
