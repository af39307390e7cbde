/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * dataplane.h - the XDP data plane seen from userspace: the skeleton's
 * lifecycle (open, load, reuse of pinned maps, attach through pinned BPF
 * links, adoption after a restart) and the route model written into the
 * maps as one transaction (pt_dp_apply).
 *
 * Ids: a route keeps its id while its name and listen key (address, port,
 * proto) are unchanged; a backend keeps its id while its route and
 * addr:port are unchanged. So flows in the connection table, which name
 * route and backend ids, survive every apply that does not remove them.
 *
 * The maps are the single source of truth. Every change (pt_dp_apply,
 * pt_dp_route_add/del, pt_dp_backend_set, the state updates) takes the
 * writers' lock, an flock on the directory PT_DP_WRITE_LOCK inside the pin
 * directory (separate from the daemon's single-instance flock on the pin
 * directory itself), re-reads the maps if portier_state.generation moved
 * since this process last saw it, writes, bumps the generation, unlocks. So
 * the daemon and any number of CLI processes change the data plane without
 * working from a stale copy.
 *
 * All functions return 0 or -errno (or NULL); none prints. After a failure
 * pt_dp_last_error() says what happened and what to do, for the caller to
 * print once; pt_dp_warning() lists what a successful change wants said.
 */
#ifndef PORTIER_DATAPLANE_H
#define PORTIER_DATAPLANE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portier.h"
#include "routes.h"

struct portier;		/* the skeleton, build/portier.skel.h */
struct pt_ct;		/* the connection table, ct_table.h */
struct pt_dataplane;	/* opaque: skeleton plus id allocation state */

/* Link pin names inside the pin directory (beside the maps). */
#define PT_DP_LINK_INPUT	"link_input"
#define PT_DP_LINK_OUTPUT	"link_output"
/* The writers' lock: a directory inside the pin directory (bpffs holds no
 * regular files), flock'ed by every change. */
#define PT_DP_WRITE_LOCK	"write_lock"

/* The connection-table key of the other direction of flow f (found at key
 * k): f's rewritten tuple, reversed, as the program builds it
 * (flow_key_other in bpf/conntrack.h). Either family: the IPv4 and IPv6
 * keys and flows name their fields alike. */
#define PT_FLOW_KEY_OTHER(k, f, out)			\
	do {						\
		memset((out), 0, sizeof(*(out)));	\
		(out)->saddr = (f)->nat_daddr;		\
		(out)->daddr = (f)->nat_saddr;		\
		(out)->sport = (f)->nat_dport;		\
		(out)->dport = (f)->nat_sport;		\
		(out)->proto = (k)->proto;		\
	} while (0)

static inline void pt_flow_key_other(const struct portier_flow_key *k,
				     const struct portier_flow *f, struct portier_flow_key *out)
{
	PT_FLOW_KEY_OTHER(k, f, out);
}

/* pt_flow_key_other for an IPv6 flow (portier_conntrack6). */
static inline void pt_flow6_key_other(const struct portier_flow_key6 *k,
				      const struct portier_flow6 *f,
				      struct portier_flow_key6 *out)
{
	PT_FLOW_KEY_OTHER(k, f, out);
}

/* When a flow was last active, CLOCK_MONOTONIC ns, from its entries' tick
 * stamps seen and (if has_o) o_seen, and the current time now (ns). */
static inline __u64 pt_seen_last_ns(__u64 now, __u32 seen, bool has_o, __u32 o_seen)
{
	__u32 idle = portier_idle_ticks(portier_tick(now), seen);

	if (has_o && portier_idle_ticks(portier_tick(now), o_seen) < idle)
		idle = portier_idle_ticks(portier_tick(now), o_seen);
	return now - ((__u64)idle << PORTIER_TICK_SHIFT);
}

/* pt_seen_last_ns of flow f and its other direction o (may be NULL). */
static inline __u64 pt_flow_last_ns(__u64 now, const struct portier_flow *f,
				    const struct portier_flow *o)
{
	return pt_seen_last_ns(now, f->last_seen, o, o ? o->last_seen : 0);
}

static inline __u64 pt_flow6_last_ns(__u64 now, const struct portier_flow6 *f,
				     const struct portier_flow6 *o)
{
	return pt_seen_last_ns(now, f->last_seen, o, o ? o->last_seen : 0);
}

/* How to open and load the data plane. Zero-initialised = load unpinned
 * with default sizes (what BPF program tests want). */
struct pt_dp_opts {
	bool pin;		/* pin maps under pin_dir; reuse pinned ones */
	const char *pin_dir;	/* NULL = PORTIER_PIN_DIR_DEFAULT */
	__u32 ct_entries;	/* conntrack entries; 0 = PORTIER_CT_DEFAULT_ENTRIES
				 * (a reused pinned table keeps its size) */
	__u32 ct6_entries;	/* IPv6 conntrack entries (portier_conntrack6); 0 =
				 * PORTIER_CT6_DEFAULT_ENTRIES (same rule) */
	bool verbose;		/* libbpf debug output and verifier log on stderr */
	__u32 connlog_bytes;	/* connection log ring buffer; 0 =
				 * PORTIER_CONNLOG_RING_DEFAULT (a power of two,
				 * a multiple of the page size) */
	__u32 sync_bytes;	/* flow sync ring buffer (portier_sync); 0 =
				 * PORTIER_SYNC_RING_DEFAULT (same rules) */
};

/* Open the skeleton, size the maps, reuse pinned maps when opts->pin and
 * they exist (then the maps' contents are adopted: route and backend ids
 * are read back), load, and pin the maps. */
int pt_dp_open(const struct pt_dp_opts *opts, struct pt_dataplane **out);
/* Open what a daemon pinned in pin_dir (NULL = default) without loading
 * anything: the CLI's way in. -ENOENT if nothing is pinned there. */
int pt_dp_open_pinned(const char *pin_dir, struct pt_dataplane **out);
/* Free userspace state and the skeleton. Pinned maps and links stay: the
 * data plane keeps forwarding. */
void pt_dp_close(struct pt_dataplane *dp);

/* The loaded skeleton (program fds for BPF_PROG_TEST_RUN, map fds). */
struct portier *pt_dp_skel(struct pt_dataplane *dp);
/* The connection table, mapped (ct_table.h). */
struct pt_ct *pt_dp_ct(struct pt_dataplane *dp);
/* The IPv6 connection table (portier_conntrack6), mapped (ct_table.h). */
struct pt_ct *pt_dp_ct6(struct pt_dataplane *dp);
/* True if pt_dp_open found pinned maps and adopted their contents. */
bool pt_dp_adopted(const struct pt_dataplane *dp);
/* The last error's message, "" if none. dp may be NULL (for the errors of
 * pt_dp_open and pt_dp_prepare_pin_dir). Valid until the next call. */
const char *pt_dp_last_error(const struct pt_dataplane *dp);

/* Defaults for every field except the addresses and ifindexes. */
void pt_dp_config_defaults(struct portier_config *cfg);
/* Write portier_config and put both ifindexes into portier_tx_ports. The
 * connection tables' fields (ct_buckets, ct_step, ct_seed, ct6_buckets,
 * ct6_step) are the tables' own and stay as they are, whatever cfg holds;
 * the NICs' MACs (input_mac, output_mac) and the NAT66 source (snat_addr6:
 * the output NIC's first usable global IPv6 address, else its first ULA,
 * else all-zero) are read from the ifindexes. */
int pt_dp_set_config(struct pt_dataplane *dp, const struct portier_config *cfg);
/* Write portier_config again if a NIC's MAC changed since (the program
 * balances only frames addressed to the NIC), or the output NIC's IPv6
 * address that snat_addr6 takes. 0 or -errno. */
int pt_dp_refresh_macs(struct pt_dataplane *dp);
/* True if a loaded snat route has an IPv6 service or backend but snat_addr6 is
 * all-zero (the output NIC has no global IPv6 address: new flows of IPv6
 * snat routes are dropped). For the daemon to say so. */
bool pt_dp_snat6_missing(const struct pt_dataplane *dp);
/* The configuration as last written by pt_dp_set_config (defaults before). */
const struct portier_config *pt_dp_config(const struct pt_dataplane *dp);

/* portier_local (IPv4) and portier_local6 (IPv6): exactly these
 * addresses. */
int pt_dp_set_local(struct pt_dataplane *dp, const struct pt_addr *addrs, size_t n);
/* portier_local from this host's interfaces (getifaddrs): the addresses
 * on the input NIC (the configuration's input_ifindex; every interface's
 * while none is set): IPv4, and IPv6 global and ULA (not link-local). They
 * are what a "*" route listens on. */
int pt_dp_refresh_local(struct pt_dataplane *dp);

/* Make the maps hold the inventory routes rs plus the runtime routes (added
 * by pt_dp_route_add) that no route of rs takes the name or listen key of;
 * a runtime route so replaced gives a warning (pt_dp_warning). New backends
 * first, then route rotations (whole), then services; removed services go before their routes and
 * backends, and a removed backend's conntrack entries are deleted before its
 * slot is freed. rs is validated before any map write: a bad set changes
 * nothing (-EINVAL, see pt_dp_last_error). rs is not kept. */
int pt_dp_apply(struct pt_dataplane *dp, const struct pt_routeset *rs);
/* The i-th warning of the last change, NULL after the last. */
const char *pt_dp_warning(const struct pt_dataplane *dp, size_t i);

/* Add one runtime route (origin PORTIER_ORIGIN_RUNTIME) to what is loaded:
 * -EEXIST if its name or listen key is taken. Its backends' local flags are
 * the caller's. Takes effect for the next new flow. */
int pt_dp_route_add(struct pt_dataplane *dp, const struct pt_route *r);
/* Remove a route (any origin), its backends and their flows. -ENOENT if
 * not loaded. An inventory route comes back at the next reload. */
int pt_dp_route_del(struct pt_dataplane *dp, const char *name);

/* Source policy at runtime (docs/operations.md), route NULL for the pool's
 * lists: add an entry (origin runtime; -EEXIST if the list has the network
 * already), or delete one whatever its origin (-ENOENT if the list has
 * not; an inventory entry comes back at the next reload). Take effect for
 * the next new flow. */
int pt_dp_policy_add(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
		     enum pt_policy_action a);
int pt_dp_policy_del(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
		     enum pt_policy_action a);
/* Set a route's per-source rate limit (origin runtime), or remove it
 * (rl->rate 0). -ENOENT if the route is not loaded. */
int pt_dp_rate_limit_set(struct pt_dataplane *dp, const char *route,
			 const struct pt_rate_limit *rl);
/* A copy of the pool's lists as loaded (free with pt_policy_free). */
void pt_dp_pool_policy(const struct pt_dataplane *dp, struct pt_policy *out);

/* Backend state bits; a backend takes new flows only when none is set. */
#define PT_DP_BE_DRAINED	(1U << 0)	/* operator: no new flows */
#define PT_DP_BE_DOWN		(1U << 1)	/* health check failed */

/* Set or clear one state bit of a backend and rewrite its route's rotation.
 * -ENOENT if the route or backend is not loaded. */
int pt_dp_backend_set(struct pt_dataplane *dp, const char *route, const struct pt_addr *addr,
		      uint16_t port, unsigned int bit, bool on);

/* What is loaded, as read from the maps (the CLI's view). */
struct pt_dp_backend_view {
	__u32 id;		/* index of portier_backends, portier_backend_stats */
	struct pt_addr addr;
	uint16_t port;
	bool local;
	unsigned int state;	/* PT_DP_BE_* */
	unsigned int weight;	/* 0..256 (portier_weight) */
};

struct pt_dp_route_view {
	__u32 id;		/* index of portier_route_stats */
	struct portier_route_meta meta;
	__u32 flags;		/* PORTIER_ROUTE_F_* */
	__u32 table_size;	/* slots of its loaded maglev table, 0: none */
	struct pt_dp_backend_view *be;	/* in declaration order */
	size_t n_be;
	struct pt_policy policy;	/* its allow and deny lists */
	struct pt_rate_limit rl;	/* rate 0: none */
};

/* What the program reads to pick a new flow's backend ("portier route
 * lookup"): route route_id's rotation as loaded in portier_routes (flags,
 * table size, active backends) and, if rr, its round-robin counter
 * (portier_rr: the next new flow takes active[rr % n_active]); 0 or
 * -errno. */
int pt_dp_rotation(const struct pt_dataplane *dp, __u32 route_id, struct portier_route *rt,
		   __u32 *rr);
/* The backend id in slot slot of route route_id's table in portier_maglev
 * (UINT32_MAX: none); 0, -ENOENT if the route has no table, or -errno. */
int pt_dp_table_slot(const struct pt_dataplane *dp, __u32 route_id, __u32 slot,
		     __u32 *backend_id);

/* Every loaded route, sorted by name. Free with pt_dp_view_free. */
size_t pt_dp_view(const struct pt_dataplane *dp, struct pt_dp_route_view **out);
void pt_dp_view_free(struct pt_dp_route_view *v, size_t n);

struct bpf_map;

/* Sum slot id of a per-CPU map of struct portier_stats over the possible
 * CPUs. Returns 0 or -errno (out zeroed). */
int pt_stats_sum(struct bpf_map *m, __u32 id, struct portier_stats *out);
/* A route's totals: what its removed backends counted (portier_route_stats)
 * plus its backends' counters (the program counts per backend only).
 * Returns 0 or -errno. */
int pt_route_stats_sum(struct portier *skel, const struct pt_dp_route_view *v,
		       struct portier_stats *out);

/* A route's refused new flows (portier_route_refused) summed over the
 * CPUs. Returns 0 or -errno (out zeroed). */
int pt_route_refused_sum(struct portier *skel, __u32 route_id, struct portier_refused *out);

/* A route's active-active counters (portier_route_ha: flows recreated,
 * stateless replies) summed over the CPUs. Returns 0 or -errno (out
 * zeroed). */
int pt_route_ha_sum(struct portier *skel, __u32 route_id, struct portier_route_ha *out);
/* Egress NAT (user/dp_egress.c). A loaded rule (or, id
 * PORTIER_EGRESS_UNMATCHED, what no rule's sources cover: no rule value)
 * with its counters summed over the CPUs. */
struct pt_egress_view {
	__u32 id;
	struct portier_egress_rule rule;
	struct portier_egress_stats stats;
};
/* The loaded rules in id order, then the unmatched row: *out (free it), *n.
 * 0 or -errno. */
int pt_dp_egress_view(struct portier *skel, struct pt_egress_view **out, size_t *n);

/* portier_state (generation, daemon pid, reloads). */
int pt_dp_state(struct pt_dataplane *dp, struct portier_state *out);
/* The daemon: record its pid (0 when it stops). */
int pt_dp_set_daemon(struct pt_dataplane *dp, __u32 pid);
/* The daemon: one more reload handled, with its status (0 or -errno) and
 * whether it failed after it began writing (pt_dp_half_written). */
int pt_dp_reload_done(struct pt_dataplane *dp, int status, bool half);
/* Whether the last change failed after it began writing the maps: they
 * hold part of the new route set (and were re-read), and its error message
 * says so. Otherwise a failed change changed nothing. */
bool pt_dp_half_written(const struct pt_dataplane *dp);
/* Does a daemon hold the single-instance lock of pin_dir? */
bool pt_dp_daemon_running(const char *pin_dir);

/* Ids of what pt_dp_apply loaded (for tests and the CLI): -ENOENT if none. */
int pt_dp_route_id(const struct pt_dataplane *dp, const char *route);
int pt_dp_backend_id(const struct pt_dataplane *dp, const char *route,
		     const struct pt_addr *addr, uint16_t port);

/* Attach the program on both NICs through BPF links (native XDP unless
 * generic) and pin them when pinning. If pinned links exist already, they
 * are updated to this program instead (adoption, upgrade). If the output
 * NIC fails, an input link this call made is taken back. */
int pt_dp_attach(struct pt_dataplane *dp, int input_ifindex, int output_ifindex, bool generic);
/* Pinned links, if any, are on these NICs (else -EEXIST, with the error
 * message): checked before anything is written, so that a start with the
 * wrong NICs leaves a running data plane as it was. */
int pt_dp_check_links(struct pt_dataplane *dp, int input_ifindex, int output_ifindex);
/* Re-read what the maps hold (routes, backends, their states) if another
 * process changed them since this one last read or wrote them: a CLI's
 * route add or del, backend drain. One map read when nothing changed. The
 * daemon calls it every tick, so that its health checks and metrics follow
 * runtime changes. */
int pt_dp_sync(struct pt_dataplane *dp);
/* Clean stop: detach both links and remove every pin (maps, links, the
 * directory if empty). */
int pt_dp_detach(struct pt_dataplane *dp);

/* Delete conntrack entries idle past their timeout (both directions of a
 * flow together), of both tables (IPv4, IPv6). *removed receives the
 * count if not NULL. */
int pt_dp_gc(struct pt_dataplane *dp, size_t *removed);

/* Called by pt_dp_gc once per flow it is about to delete, with the
 * original-direction entry f found under key k, the reply entry (NULL if
 * none: local backend, or evicted) and the flow's last activity
 * (CLOCK_MONOTONIC ns). A flow whose original entry is gone is not seen. */
typedef void (*pt_dp_gc_hook)(const struct portier_flow_key *k, const struct portier_flow *f,
			      const struct portier_flow *reply, __u64 last_ns, void *arg);
/* The same for an IPv6 flow (portier_conntrack6). */
typedef void (*pt_dp_gc6_hook)(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
			       const struct portier_flow6 *reply, __u64 last_ns, void *arg);
/* Set (or clear, fn NULL) the hooks of pt_dp_gc; one arg for both. */
void pt_dp_set_gc_hook(struct pt_dataplane *dp, pt_dp_gc_hook fn, pt_dp_gc6_hook fn6,
		       void *arg);

/* Called by pt_dp_gc for every flow it visits, by its original entry
 * (key k, entry f; reply as above): expired (about to be deleted) or
 * kept, with its last activity. The flow sync's refreshes and deletes
 * (user/flowsync.c). */
typedef void (*pt_dp_gc_visit_hook)(const struct portier_flow_key *k,
				    const struct portier_flow *f,
				    const struct portier_flow *reply, __u64 last_ns,
				    bool expired, void *arg);
/* The same for an IPv6 flow (portier_conntrack6). */
typedef void (*pt_dp_gc6_visit_hook)(const struct portier_flow_key6 *k,
				     const struct portier_flow6 *f,
				     const struct portier_flow6 *reply, __u64 last_ns,
				     bool expired, void *arg);
/* Set (or clear, fn NULL) the visit hooks of pt_dp_gc; one arg for both. */
void pt_dp_set_gc_visit_hook(struct pt_dataplane *dp, pt_dp_gc_visit_hook fn,
			     pt_dp_gc6_visit_hook fn6, void *arg);

/* Mount bpffs on the pin directory's parent if it is not bpffs already, and
 * create the pin directory (mode 0700). */
int pt_dp_prepare_pin_dir(const char *pin_dir);

#endif
