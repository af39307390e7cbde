/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * metrics.h - Prometheus text exposition (format 0.0.4) of a snapshot the
 * daemon fills, and the HTTP server (libmicrohttpd) that serves it at
 * /metrics. docs/observability.md lists every series.
 *
 * The server runs in the daemon's thread: libmicrohttpd in external epoll
 * mode and a timer for its deadlines give one fd to poll;
 * pt_metrics_server_run() serves what is ready.
 * A scrape calls the fill callback in that same thread (no locks: it may
 * read the daemon's state directly), renders and queues the answer. The
 * data plane (XDP) never waits for it.
 *
 * Functions return 0 or -errno (or NULL) and print nothing.
 */
#ifndef PORTIER_METRICS_H
#define PORTIER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syn_guard.h"
#include <stdio.h>

#include <linux/types.h>

#include "portier.h"
#include "routes.h"

#define PT_METRICS_DIR_IN	0	/* client -> backend (PORTIER_FLOW_DIR_ORIG) */
#define PT_METRICS_DIR_OUT	1	/* backend -> client (PORTIER_FLOW_DIR_REPLY) */
#define PT_METRICS_DIRS		2

/* Counters of one route, summed over CPUs. */
struct pt_metrics_route {
	char *name;
	uint64_t flows;				/* new connections */
	uint64_t packets[PT_METRICS_DIRS];	/* by PT_METRICS_DIR_* */
	uint64_t bytes[PT_METRICS_DIRS];
	const char *syn_cookies;		/* "auto", "on", "off" (static) */
	struct pt_syn_guard guard;		/* its SYN flood guard */
	uint64_t denied;			/* new flows refused: policy */
	uint64_t rate_limited;			/* new flows refused: rate limit */
	uint64_t recreated;			/* flows recreated (active-active) */
	uint64_t stateless_replies;		/* replies translated without a flow */
};

/* One backend of a route: counters, state, SNAT use, health checks. */
struct pt_metrics_backend {
	char *route;
	char *backend;				/* "ADDR:PORT" */
	uint64_t flows;
	uint64_t packets[PT_METRICS_DIRS];
	uint64_t bytes[PT_METRICS_DIRS];
	bool up;				/* health: in rotation unless drained */
	bool drained;				/* operator: no new flows */
	uint64_t snat_ports_used;		/* live SNAT flows to it */
	bool checked;				/* health-checked: the fields below count */
	uint64_t checks_ok, checks_failed;
	double check_duration_s;		/* the last completed check */
	bool http_checked;			/* checked with HTTP checks: */
	unsigned int http_status;		/* the last status read, 0 if none */
};

/* The VRRP role of one virtual router (portier_vrrp). */
struct pt_metrics_vrrp {
	unsigned int vrid;
	unsigned int role;			/* PORTIER_VRRP_* */
	uint64_t changes;
};

/* An egress rule's counters (docs/dataplane.md, "Egress"). */
struct pt_metrics_egress {
	char *rule;
	uint64_t flows;				/* new egress flows */
	uint64_t packets[PT_METRICS_DIRS];	/* in: client to server */
	uint64_t bytes[PT_METRICS_DIRS];
	uint64_t refused;			/* new flows from its sources refused */
};

/* Flow sync with the peer gateway (user/flowsync.c; docs/observability.md),
 * filled by the daemon when it runs it (on). */
#define PT_METRICS_SYNC_REFUSED_MAX	16
struct pt_metrics_flowsync {
	bool on;
	bool master;			/* this side sends its flows */
	bool peer_up;			/* the peer was heard within 3 s */
	uint64_t datagrams[PT_METRICS_DIRS];	/* DATA, by in = received, out = sent */
	uint64_t records[PT_METRICS_DIRS];	/* records in them */
	uint64_t retransmits;		/* DATA sent again */
	uint64_t acked;			/* DATA the peer acknowledged */
	uint64_t resyncs;		/* whole-table dumps sent */
	uint64_t nacks;			/* gaps reported to the peer */
	uint64_t duplicates, reordered;	/* DATA received again, held ahead of a gap */
	uint64_t peer_restarts, peer_downs;
	uint64_t events;		/* data plane events read */
	uint64_t applied[4];		/* inserted, refreshed, flags, deleted */
	struct {
		const char *reason;	/* a label value: "newer", "magic", ... */
		uint64_t n;
	} refused[PT_METRICS_SYNC_REFUSED_MAX];
	size_t n_refused;
};

/* Everything one scrape shows. Arrays and strings are owned (see
 * pt_metrics_snapshot_clear). */
struct pt_metrics_snapshot {
	const char *version;			/* build info; NULL = PORTIER_VERSION */
	uint64_t reloads;			/* successful reloads since start */
	struct pt_metrics_route *routes;
	size_t n_routes;
	struct pt_metrics_backend *backends;
	size_t n_backends;
	uint64_t reasons[PORTIER_R_MAX];	/* packets per enum portier_reason */
	uint64_t ct_entries;			/* conntrack entries in use */
	uint64_t ct_capacity;			/* conntrack max entries */
	uint64_t ct6_entries;			/* the same, IPv6 table */
	uint64_t ct6_capacity;
	uint64_t snat_ports_per_backend;	/* SNAT port range size */
	struct pt_metrics_vrrp vrrp[PORTIER_VRRP_IDS];	/* instances with a role */
	size_t n_vrrp;
	bool egress_on;				/* egress NAT: the families below */
	struct pt_metrics_egress *egress;	/* its rules */
	size_t n_egress;
	uint64_t egress_unmatched;		/* refused: sources of no rule */
	struct pt_metrics_flowsync sync;	/* flow sync, if on */
	/* The metrics server's own (set by the server, not by fill). */
	uint64_t http_connections;		/* connections open now */
	uint64_t http_deadline_closed;		/* shut down at the request deadline */
};

/* Append a zeroed route or backend (names copied); never NULL. */
struct pt_metrics_route *pt_metrics_add_route(struct pt_metrics_snapshot *s, const char *name);
struct pt_metrics_backend *pt_metrics_add_backend(struct pt_metrics_snapshot *s,
						  const char *route, const struct pt_addr *addr,
						  uint16_t port);
/* Free the arrays and zero the snapshot. */
struct pt_metrics_egress *pt_metrics_add_egress(struct pt_metrics_snapshot *s, const char *rule);
void pt_metrics_snapshot_clear(struct pt_metrics_snapshot *s);

/* Reason label of a reason id ("no_backend"), and whether it is a drop,
 * a pass, the redirect count, a packet the data plane answered itself
 * (XDP_TX: a cookie SYN-ACK) or an event that is not a packet (a
 * connection-table eviction). NULL for an unknown id. */
enum pt_metrics_outcome { PT_METRICS_PASS, PT_METRICS_DROP, PT_METRICS_REDIRECT,
			  PT_METRICS_EVENT, PT_METRICS_TX };
const char *pt_metrics_reason(unsigned int reason, enum pt_metrics_outcome *outcome);

/* The exposition text of s. */
int pt_metrics_render(const struct pt_metrics_snapshot *s, FILE *f);

/* The server. fill is called for each scrape of /metrics with a zeroed
 * snapshot; it returns 0 or -errno (then the scrape gets a 500). */
typedef int (*pt_metrics_fill_fn)(void *arg, struct pt_metrics_snapshot *s);
struct pt_metrics_server;

/* What the server holds under abuse (docs/observability.md, "The endpoint
 * under abuse"); every field > 0. */
struct pt_metrics_limits {
	unsigned int conns;		/* connections at once; more wait in the
					 * listen backlog */
	unsigned int per_addr;		/* from one client address; more are
					 * closed at once */
	unsigned int timeout_ms;	/* a request must be complete this long
					 * after the connection opened or its
					 * previous answer went; also the idle
					 * timeout (rounded up to seconds) */
};
#define PT_METRICS_CONNS_DEFAULT	8192	/* --metrics-max-conns */
#define PT_METRICS_PER_ADDR_DEFAULT	16	/* --metrics-per-addr */
#define PT_METRICS_TIMEOUT_DEFAULT_S	3	/* --metrics-timeout */

/* listen is "ADDR:PORT" (IPv4; PORT 0 = any free port); lim NULL = the
 * defaults. */
int pt_metrics_server_start(const char *listen, const struct pt_metrics_limits *lim,
			    pt_metrics_fill_fn fill, void *arg, struct pt_metrics_server **out);
void pt_metrics_server_stop(struct pt_metrics_server *m);
/* The fd to poll for POLLIN (it also fires at the server's own deadlines),
 * and the port actually bound. */
int pt_metrics_server_fd(const struct pt_metrics_server *m);
uint16_t pt_metrics_server_port(const struct pt_metrics_server *m);
/* Serve what is ready, close connections past their deadline; never
 * blocks. Call it whenever the fd is readable. */
int pt_metrics_server_run(struct pt_metrics_server *m);

#endif
