/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * flowsync.h - flow sync between the two gateways of a pair: the daemon's
 * side of user/flowsync_proto.h. The MASTER reads the data plane's sync
 * events (portier_sync ring buffer: new flows, state bits, deletes), adds
 * the GC's deletes and a periodic refresh of the active flows, and sends
 * them to the peer in batches
 * over UDP (IPv4 and IPv6 flows; the transport is IPv4); either side writes what it receives into its own connection
 * table (both entries, as if made here: the reply entry holds the SNAT
 * port). docs/operations.md, "Flow sync".
 *
 * The role is this module's input (pt_flowsync_set_master): the daemon
 * takes it from --sync-role until keepalived notifies one, then from the
 * host's VRRP role in portier_vrrp ("portier vrrp notify" and SIGUSR1:
 * cmd_daemon.c, sync_follow; docs/operations.md, "Roles").
 */
#ifndef PORTIER_FLOWSYNC_H
#define PORTIER_FLOWSYNC_H

#include <linux/types.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "dataplane.h"
#include "flowsync_proto.h"

/* Why a received record was not written (counters). */
enum pt_flowsync_refused {
	PT_FLOWSYNC_REF_NEWER,		/* a local entry of the key was active
					 * more recently */
	PT_FLOWSYNC_REF_FULL,		/* its bucket is full (userspace never
					 * evicts) */
	PT_FLOWSYNC_REF_BUSY,		/* the program inserts that key now */
	PT_FLOWSYNC_REF_UNKNOWN,	/* FLAGS or DEL of a flow not held */
	PT_FLOWSYNC_REF_FOREIGN,	/* a datagram from another address than
					 * the peer's */
	PT_FLOWSYNC_REF_MAX,
};

struct pt_flowsync_counts {
	struct pt_fs_stats proto;
	__u64 inserted;			/* flows written (both entries) */
	__u64 refreshed;		/* flows held already: stamp, bits */
	__u64 flags;			/* FLAGS applied */
	__u64 deleted;			/* DEL applied */
	__u64 refused[PT_FLOWSYNC_REF_MAX];
	__u64 events;			/* data plane events read */
	__u64 skipped;			/* events not synced (cookie flows) */
	bool master, peer_up;
};

struct pt_flowsync_opts {
	struct sockaddr_in peer;	/* --sync-peer ADDR:PORT */
	struct sockaddr_in listen;	/* --sync-listen ADDR:PORT */
	bool master;			/* --sync-role master */
	void (*notice)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

struct pt_flowsync;

/* "ADDR:PORT" (IPv4, port 1..65535). 0 or -EINVAL. */
int pt_flowsync_parse_addr(const char *s, struct sockaddr_in *out);
/* "master" or "backup". 0 or -EINVAL. */
int pt_flowsync_parse_role(const char *s, bool *master);

/* Whether o->listen can be bound (before anything is attached: a wrong
 * address stops the daemon with nothing changed). 0 or -errno. */
int pt_flowsync_check_listen(const struct pt_flowsync_opts *o);

/* Bind the socket, read dp's portier_sync ring, hook dp's GC, set
 * portier_config.sync_on for the role. Returns 0 or -errno (*out NULL). */
int pt_flowsync_open(struct pt_dataplane *dp, const struct pt_flowsync_opts *o,
		     struct pt_flowsync **out);
/* Stop: sync_on cleared, GC unhooked, freed. NULL is fine. */
void pt_flowsync_close(struct pt_flowsync *s);
/* One fd to poll for POLLIN (an epoll fd of the socket, the ring and the
 * protocol's timer); -1 for NULL. */
int pt_flowsync_fd(const struct pt_flowsync *s);
/* Everything ready: datagrams, events, timers, a resync's next part. */
void pt_flowsync_run(struct pt_flowsync *s);
/* The role. Returns 0 or -errno (portier_config not written). */
int pt_flowsync_set_master(struct pt_flowsync *s, bool master);
void pt_flowsync_counts(const struct pt_flowsync *s, struct pt_flowsync_counts *out);
struct pt_metrics_flowsync;
/* The counts as metrics (s NULL: off). */
void pt_flowsync_metrics(const struct pt_flowsync *s, struct pt_metrics_flowsync *out);
/* "newer", "full", ... for a metrics label. */
const char *pt_flowsync_refused_name(enum pt_flowsync_refused r);

/* The FLOW record of a data plane NEW event; false for a flow that is not
 * synced (a local backend's, a SYN cookie's). */
bool pt_flowsync_rec_of_new(const struct portier_sync_new *ev, struct pt_fs_rec *r);
/* The same for an IPv6 flow's NEW event (an IPv6 record). */
bool pt_flowsync_rec_of_new6(const struct portier_sync_new6 *ev, struct pt_fs_rec *r);
/* The record of any data plane event (data, size bytes, as read from
 * portier_sync): true; false for an event not synced (*skipped) or not
 * one (short, unknown kind). */
bool pt_flowsync_rec_of_event(const void *data, size_t size, struct pt_fs_rec *r,
			      bool *skipped);

/* Write received record r into table ct (the receiver's work, exposed for
 * the tests): now is CLOCK_MONOTONIC ns. Counts into *c. */
struct pt_ct;
void pt_flowsync_apply(struct pt_ct *ct, const struct pt_fs_rec *r, __u64 now,
		       struct pt_flowsync_counts *c);
/* The same for an IPv6 record (r->ipv6) into the IPv6 table ct6. */
void pt_flowsync_apply6(struct pt_ct *ct6, const struct pt_fs_rec *r, __u64 now,
			struct pt_flowsync_counts *c);

#endif
