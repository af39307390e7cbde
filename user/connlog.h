/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * connlog.h - connection logs of routes with httplog or tcplog: the
 * daemon's consumer of the portier_connlog ring buffer (end events sent by
 * the program at FIN both ways or RST), the events the GC makes for flows
 * that went idle, and the one line format for both, modelled on HAProxy's
 * tcplog (docs/connlog.md). Lines go to stdout or syslog.
 *
 * Functions return 0 (or a count) or -errno; none prints but through the
 * notice callback the caller gives (the daemon's log).
 */
#ifndef PORTIER_CONNLOG_H
#define PORTIER_CONNLOG_H

#include <linux/types.h>
#include <stddef.h>

#include "dataplane.h"
#include "portier.h"
#include "routes.h"

/* Longest line pt_connlog_format writes, NUL included. */
#define PT_CONNLOG_LINE_MAX	512

/* Where the lines go (--log). */
enum pt_connlog_sink {
	PT_CONNLOG_STDOUT,	/* one line each, flushed per batch */
	PT_CONNLOG_SYSLOG,	/* syslog(3), facility local0, level info */
};

struct pt_connlog_opts {
	enum pt_connlog_sink sink;
	/* The daemon's log: notices (httplog falls back, events lost). */
	void (*notice)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

struct pt_connlog;	/* opaque: ring buffer consumer and counters */

/* "stdout" or "syslog"; -EINVAL otherwise. */
int pt_connlog_parse_sink(const char *s, enum pt_connlog_sink *out);
/* A ring buffer size in bytes: a power of two, at least the page size, at
 * most 1 GiB; -EINVAL otherwise. */
int pt_connlog_parse_ring(const char *s, __u32 *out);

/* The event of flow entry f (original direction, found under key k) and
 * its reply entry (NULL if none) that ended with end at end_ns. */
void pt_connlog_event_of(const struct portier_flow_key *k, const struct portier_flow *f,
			 const struct portier_flow *reply, __u8 end, __u64 end_ns,
			 struct portier_connlog_event *ev);

/* The same for an IPv6 flow (the GC of the IPv6 connection table). */
void pt_connlog_event_of6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
			  const struct portier_flow6 *reply, __u8 end, __u64 end_ns,
			  struct portier_connlog_event *ev);

/* One log line for ev of route route_name, without a newline; the start
 * date is ev->start_ns + mono_to_real_ns in local time. Returns the length,
 * or -ENOSPC if len is too small. */
int pt_connlog_format(const struct portier_connlog_event *ev, const char *route_name,
		      __s64 mono_to_real_ns, char *buf, size_t len);
/* HAProxy's two-letter termination state of ev ("--", "CD", "SC", ...). */
const char *pt_connlog_term_state(const struct portier_connlog_event *ev);
/* "fin", "rst_client", "rst_server", "timeout", or "?" */
const char *pt_connlog_end_name(__u8 end);

/* Start consuming dp's ring buffer and log the flows its GC expires
 * (pt_dp_set_gc_hook). dp must outlive the consumer. */
int pt_connlog_open(struct pt_dataplane *dp, const struct pt_connlog_opts *o,
		    struct pt_connlog **out);
/* The fd to poll for POLLIN (an epoll fd); -1 if cl is NULL. The calls
 * below do nothing on a NULL cl (connection logs off). */
int pt_connlog_fd(const struct pt_connlog *cl);
/* Write a line for every event waiting. Returns how many, or -errno. */
int pt_connlog_consume(struct pt_connlog *cl);
/* Say once per route name that httplog falls back to tcplog. */
void pt_connlog_routes(struct pt_connlog *cl, const struct pt_routeset *rs);
/* Tell (notice) how many events were lost since the last call. */
void pt_connlog_tick(struct pt_connlog *cl);
/* Lines written, and events lost (PORTIER_R_LOG_LOST summed over CPUs). */
int pt_connlog_counts(struct pt_connlog *cl, __u64 *lines, __u64 *lost);
/* Consume what is left, unhook from the GC, free. NULL is fine. */
void pt_connlog_close(struct pt_connlog *cl);

#endif
