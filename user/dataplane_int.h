/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * dataplane_int.h - what the files of the data plane share and nothing else
 * sees: the handle (struct pt_dataplane) with its mirror of the maps, and
 * the helpers each file calls. dataplane.h is the public API.
 *
 * The files, one job each:
 *   dataplane.c   errors, map helpers, the route model's conversions to the
 *                 maps' types, rotations, id lookups
 *   dp_pins.c     open, load, pin directory, adoption of pinned maps, close
 *   dp_mirror.c   the mirror rebuilt from the maps, and turned back into
 *                 route sets to write
 *   dp_tx.c       transactions: the writers' lock, the generation, warnings;
 *                 portier_state (daemon pid, reloads)
 *   dp_config.c   portier_config, interfaces, local addresses
 *   dp_egress.c   egress rules (portier_egress_*), egress_on/_addr
 *   dp_plan.c     an apply's plan: validation, ids kept and allocated
 *   dp_apply.c    an apply's writes, in order, and the inventory apply
 *   dp_runtime.c  runtime routes, source policy, rate limits, backend state
 *   dp_links.c    attach, detach, the pinned links
 *   dp_gc.c       conntrack garbage collection
 *   dp_view.c     what is loaded, for the CLI; counter sums
 *   dp_maglev.c   the Maglev tables of maglev and source routes
 *   dp_reply.c    the services of dnat backends, for stateless replies
 */
#ifndef PORTIER_DATAPLANE_INT_H
#define PORTIER_DATAPLANE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane.h"
#include "policy.h"

struct bpf_map;

#define NPORTS		65536	/* entries of portier_ports */

/* A loaded backend, mirror of its portier_backends slot. */
struct dp_backend {
	bool used;
	__u32 route_id;
	struct pt_addr addr;
	uint16_t port;
	bool local;
	unsigned int state;	/* PT_DP_BE_* */
	unsigned int weight;	/* 0..256 */
};

/* A loaded route, mirror of its service, portier_routes and
 * portier_route_meta entries. */
struct dp_route {
	bool used;
	struct portier_route_meta meta;
	bool named;			/* meta came from the maps or an apply */
	struct portier_svc_key key;
	__u32 flags;			/* PORTIER_ROUTE_F_* */
	__u32 *be;			/* backend ids in rotation order */
	size_t n_be;
	struct pt_policy policy;	/* its allow/deny lists (from portier_policy) */
	struct pt_rate_limit rl;	/* from its metadata */
};

/* The data plane: skeleton, pins, and the mirror of what the maps hold. */
struct pt_dataplane {
	struct portier *skel;
	bool pin;
	bool adopted;
	char *pin_dir;
	int link_fd[2];			/* input, output; -1 if not attached */
	struct dp_route *routes;	/* [PORTIER_MAX_ROUTES] */
	struct dp_backend *backends;	/* [PORTIER_MAX_BACKENDS] */
	struct portier_port *ports;	/* [NPORTS], as written */
	struct pt_policy pool_policy;	/* the pool's allow/deny lists */
	struct pt_policy_item *trie;	/* portier_policy as written, sorted */
	size_t n_trie;
	struct portier_config cfg;	/* as written */
	struct pt_ct *ct;		/* portier_conntrack, mapped */
	struct pt_ct *ct6;		/* portier_conntrack6, mapped */
	__u64 generation;		/* portier_state.generation of the mirror */
	bool stale;			/* mirror unknown: re-read before a change */
	bool half_written;		/* the last change failed after it wrote */
	int lock_fd;			/* writers' lock held, or -1 */
	char **warnings;		/* of the last change (pt_dp_warning) */
	size_t n_warnings;
	pt_dp_gc_hook gc_hook;		/* per expired flow, or NULL */
	pt_dp_gc6_hook gc6_hook;	/* per expired IPv6 flow, or NULL */
	void *gc_hook_arg;
	pt_dp_gc_visit_hook gc_visit_hook;	/* per original entry, or NULL */
	pt_dp_gc6_visit_hook gc6_visit_hook;	/* the same, IPv6 table */
	void *gc_visit_arg;
};

/* ---- dataplane.c ---------------------------------------------------------- */

/* The last error's message (pt_dp_last_error). */
extern char last_error[512];

/* Set last_error; returns err if negative, else -EINVAL. */
int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One map element written or deleted (a missing one is no error), or one
 * slot of an array (per-CPU or not) zeroed; what names it in the error. */
int map_update(struct bpf_map *m, const void *key, const void *val, const char *what);
struct pt_egress;
/* Write egress rules e (NULL or not declared: egress off) into the maps
 * and portier_config (dp_egress.c). 0 or -errno (fail()'s message). */
int pt_dp_egress_apply(struct pt_dataplane *dp, const struct pt_egress *e);
int map_delete(struct bpf_map *m, const void *key, const char *what);
int map_zero(struct bpf_map *m, __u32 id);

/* The route model's values as the maps hold them, and back. */
void addr_to_bpf(const struct pt_addr *a, struct portier_addr *out);
void addr_from_bpf(const struct portier_addr *a, __u8 family, struct pt_addr *out);
__u8 addr_family_bpf(const struct pt_addr *a);	/* PORTIER_AF_* of a */
void svc_key(const struct pt_route *r, struct portier_svc_key *k);
__u32 route_flags(const struct pt_route *r, bool pool_policy);
__u32 port_flag(uint8_t proto, bool service);
unsigned int state_from_flags(__u32 flags);
__u32 flags_from_state(unsigned int state);
/* A route's rotation: the backends ids[0..n) that take new flows (state
 * 0, weight > 0; state and weight from the arrays, or from the mirror if
 * NULL). A round-robin route's active[] is interleaved by weight (smooth
 * weighted round-robin: a backend of weight w takes w of every sum(w)
 * turns, spread); the turns' count, after dividing the weights by their
 * common divisor, fits PORTIER_MAX_ROUTE_BACKENDS (else each backend
 * takes one). A table route's active[] lists each backend once. */
void rotation(const struct pt_dataplane *dp, __u32 flags, const struct pt_rate_limit *rl,
	      const __u32 *ids, size_t n, const unsigned int *state, const unsigned int *weight,
	      struct portier_route *out);

/* ---- dp_pins.c ------------------------------------------------------------ */

/* The maps portier pins; *n receives their count. */
struct bpf_map **pinned_maps(struct portier *s, size_t *n);

/* ---- dp_mirror.c ---------------------------------------------------------- */

/* Free and zero the mirror's routes, backends and policy. */
void mirror_clear(struct pt_dataplane *dp);
/* Rebuild the mirror from the maps. */
int resync(struct pt_dataplane *dp);

/* A set to write: `first` (borrowed, origin first_origin, may be NULL), then
 * every loaded route that keep() accepts (copied). Policies are copies
 * throughout (the caller may add runtime entries to any route); the pool's
 * lists are first's, or the loaded ones without first. */
struct merged {
	struct pt_routeset rs;
	__u8 *origin;
	size_t n_borrowed;
};

void merged_init(struct merged *m, const struct pt_dataplane *dp,
		 const struct pt_routeset *first, __u8 origin);
void merged_add_loaded(struct pt_dataplane *dp, struct merged *m,
		       bool (*keep)(struct pt_dataplane *dp, __u32 id, void *arg), void *arg);
void merged_free(struct merged *m);

/* ---- dp_tx.c -------------------------------------------------------------- */

/* Begin a change: the writers' lock, the mirror re-read if stale. */
int tx_begin(struct pt_dataplane *dp);
/* End a change: bump the generation if wrote, release the lock. Returns err. */
int tx_end(struct pt_dataplane *dp, bool wrote, int err);
/* The warnings of the last change (pt_dp_warning): drop them, add one. */
void warnings_clear(struct pt_dataplane *dp);
void dp_warn(struct pt_dataplane *dp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- dp_plan.c ------------------------------------------------------------ */

/* The plan of one apply: new ids for the route set's routes and backends,
 * and which loaded ones survive. */
struct plan {
	__u32 *route_id;	/* [rs->n_routes] */
	__u32 **be_id;		/* [rs->n_routes][n_backends] */
	bool *route_kept;	/* [PORTIER_MAX_ROUTES] */
	bool *route_taken;	/* [PORTIER_MAX_ROUTES] used, old or new */
	bool *be_kept;		/* [PORTIER_MAX_BACKENDS] */
	bool *be_taken;		/* [PORTIER_MAX_BACKENDS] */
	struct portier_port *ports;	/* [NPORTS] of rs */
	const __u8 *origin;	/* [rs->n_routes] PORTIER_ORIGIN_* */
	size_t n;
	struct pt_policy_item *trie;	/* portier_policy of rs, sorted */
	size_t n_trie;
};

void plan_free(struct plan *p);
/* rs fits the maps: checked before any map write. */
int validate(const struct pt_routeset *rs);
/* Match rs against what is loaded; allocate ids for the rest. */
int plan_make(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p);

/* ---- dp_apply.c ----------------------------------------------------------- */

/* Write exactly rs (routes of the given origins) into the maps. */
int apply_set(struct pt_dataplane *dp, const struct pt_routeset *rs, const __u8 *origin,
	      bool *wrote);

/* ---- dp_reply.c ----------------------------------------------------------- */

/* Make portier_reply_svc hold the service of every backend of rs's dnat
 * routes with a service address (not "*", SYN cookies not "on"), not this
 * host's, with the plan's ids: new and changed entries replaced whole,
 * then the others deleted. */
int reply_svc_write(struct pt_dataplane *dp, const struct pt_routeset *rs, const struct plan *p);

/* ---- dp_maglev.c ---------------------------------------------------------- */

/* Write route id's table for its rotation rt (read before rt is written):
 * a table route (PORTIER_ROUTE_F_MAGLEV, _SOURCE) gets its table of
 * rt->table_size slots built from rt's active backends as portier_backends
 * holds them (address, port, weight) and the route's name; any other
 * route's is deleted. A loaded table of that size is rewritten in place
 * (each slot is one aligned word: a lookup reads the old backend or the
 * new one); otherwise a new inner map is swapped in by one update of
 * portier_maglev, which the kernel ends with an RCU grace period (about
 * 13 ms on the benchmark machine), or, between table_batch_begin and
 * table_batch_end and with queue set, held until table_batch_end puts all
 * such maps in by one batch update (one grace period). queue is for routes
 * that no packet reaches before the batch ends (a new route's service is
 * written after it). */
int table_write(struct pt_dataplane *dp, __u32 id, const char *name,
		const struct portier_route *rt, bool queue);
/* Open a batch of new tables (table_write with queue). */
void table_batch_begin(struct pt_dataplane *dp);
/* Put the batch's tables into portier_maglev (if put; else drop them):
 * 0 or -errno (message set). */
int table_batch_end(struct pt_dataplane *dp, bool put);
/* Delete route id's table (none is no error). */
int table_delete(struct pt_dataplane *dp, __u32 id);
/* The size of route id's loaded table, 0 if none. */
__u32 table_loaded_size(const struct pt_dataplane *dp, __u32 id);

/* ---- dp_view.c ------------------------------------------------------------ */

/* Add b's counts to *t. */
void stats_add(struct portier_stats *t, const struct portier_stats *b);

/* ---- dp_links.c: the tail call ------------------------------------------ */

/* Put portier_xdp6 into portier_progs (slot PORTIER_PROG_XDP6): the
 * tail call of portier_xdp for an IPv6 frame. After the skeleton loads;
 * 0 or -errno (message set). */
int progs_fill(struct pt_dataplane *dp);

#endif
