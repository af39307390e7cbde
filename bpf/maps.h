/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * maps.h - every map of the XDP data plane, defined once. Names, keys and
 * values come from include/portier.h; docs/dataplane.md has the table.
 */
#ifndef PORTIER_BPF_MAPS_H
#define PORTIER_BPF_MAPS_H

/* Global settings. Key __u32 0, value struct portier_config; written by
 * userspace (pt_dp_set_config). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct portier_config);
} portier_config SEC(".maps");

/* Services. Key struct portier_svc_key (addr zero = "*"), value struct
 * portier_svc; written by userspace (pt_dp_apply). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, struct portier_svc_key);
	__type(value, struct portier_svc);
} portier_services SEC(".maps");

/* Route rotations. Key __u32 route id, value struct portier_route; written
 * by userspace, replaced whole (not preallocated: an update swaps the
 * element, so the program sees the old or the new rotation). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct portier_route);
} portier_routes SEC(".maps");

/* Round-robin cursor of each route. Key __u32 route id, value __u32 count
 * of new flows; written by the program (atomic add), reset by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, __u32);
	__type(value, __u32);
} portier_rr SEC(".maps");

/* Backends. Key __u32 backend id, value struct portier_backend; written by
 * userspace before the backend enters a rotation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORTIER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct portier_backend);
} portier_backends SEC(".maps");

/* The addresses "*" services listen on: this host's on the input NIC. Key
 * struct portier_addr, value __u32 1; written by userspace
 * (pt_dp_refresh_local). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTIER_MAX_LOCAL_ADDRS);
	__type(key, struct portier_addr);
	__type(value, __u32);
} portier_local SEC(".maps");

/* Port filter. Key __u32 host-order port, value struct portier_port
 * (PORTIER_PORT_* bits, and a port's only service); written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct portier_port);
} portier_ports SEC(".maps");

/* Connection table (IPv4), two entries per flow: portier's own hash table
 * (include/portier.h, struct portier_ct_bucket). Buckets: key __u32 bucket
 * index, value struct portier_ct_bucket (a tag per slot, one cache line). Slots: key __u32 bucket index * PORTIER_CT_SLOTS + slot,
 * value struct portier_ct_slot (struct portier_flow_key, struct
 * portier_flow). Written by the program (insert, delete of an expired flow
 * restarted by a SYN, eviction) and by userspace (GC of idle entries,
 * entries of removed backends, flush), lock-free (include/portier.h has
 * the protocol). Sized before load (portier_ct_buckets_for the entries asked);
 * mmapped by userspace (user/ct_table.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PORTIER_CT_DEFAULT_BUCKETS);
	__type(key, __u32);
	__type(value, struct portier_ct_bucket);
} portier_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PORTIER_CT_DEFAULT_BUCKETS * PORTIER_CT_SLOTS);
	__type(key, __u32);
	__type(value, struct portier_ct_slot);
} portier_ct_slots SEC(".maps");

/* Next SNAT source port to try per backend. Key __u32 backend id, value
 * __u32 cursor (offset into the port range); written by the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORTIER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u32);
} portier_snat_cursor SEC(".maps");

/* Interfaces the program may redirect to. Key __u32 ifindex, value __u32
 * the same ifindex; written by userspace (pt_dp_set_config). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, PORTIER_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} portier_tx_ports SEC(".maps");

/* Next hop of each backend for new flows. Key __u32 backend id, value
 * struct portier_nexthop per CPU (no locking, no torn MACs); written by the
 * program (fwd.h), never by userspace: a cache, not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct portier_nexthop);
} portier_nexthop SEC(".maps");

/* Retired per-route counters: what the route's removed backends counted.
 * Key __u32 route id, value struct portier_stats per CPU; written by
 * userspace only (when a backend leaves its route); the program counts per
 * backend, and a route's totals are this plus its backends' counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, __u32);
	__type(value, struct portier_stats);
} portier_route_stats SEC(".maps");

/* Per-backend counters. Key __u32 backend id, value struct portier_stats
 * per CPU; written by the program, summed by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct portier_stats);
} portier_backend_stats SEC(".maps");

/* Pass/drop reasons. Key __u32 enum portier_reason, value __u64 packets
 * per CPU; written by the program, summed by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_R_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} portier_reasons SEC(".maps");

/* Route metadata (name, listen key, settings, origin). Key __u32 route id,
 * value struct portier_route_meta; written and read by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct portier_route_meta);
} portier_route_meta SEC(".maps");

/* Userspace state: change generation, daemon pid, reload results. Key __u32
 * 0, value struct portier_state; written and read by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct portier_state);
} portier_state SEC(".maps");

/* VRRP roles. Key __u32 virtual_router_id, value struct portier_vrrp;
 * written and read by userspace only ("portier vrrp notify", the daemon). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORTIER_VRRP_IDS);
	__type(key, __u32);
	__type(value, struct portier_vrrp);
} portier_vrrp SEC(".maps");

/* Last health check of each backend. Key __u32 backend id, value struct
 * portier_health; written by the daemon, read by the CLI; the program never
 * touches it (pinned so that "portier backend show" sees the daemon's
 * checks). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORTIER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct portier_health);
} portier_health SEC(".maps");

/* The original entry of the flow a packet is creating, before and after
 * it is published: working memory, one per CPU (the BPF stack has no room
 * for it beside the rest of the path). Key __u32 0; the program's own,
 * not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct portier_flow);
} portier_new_flow SEC(".maps");

/* SYN flood guard of each route: this CPU's SYN rate window, "auto" state
 * and cookie counters. Key __u32 route id, value struct portier_syn_guard
 * per CPU; written by the program, read by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, __u32);
	__type(value, struct portier_syn_guard);
} portier_syn_guard SEC(".maps");

/* Flows opened by a SYN cookie: their sequence, timestamp and window
 * translation. Key struct portier_flow_key (the flow's original key), value
 * struct portier_synproxy; written by the program. An LRU hash sized like
 * the connection table (userspace sets it before load), twice the flows it
 * can hold: entries of ended flows age out, live ones are used on every
 * packet. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PORTIER_CT_DEFAULT_ENTRIES);
	__type(key, struct portier_flow_key);
	__type(value, struct portier_synproxy);
} portier_synproxy SEC(".maps");

/* Source policy: the pool's and every route's allow/deny lists, compiled
 * (include/portier.h, struct portier_policy_key). Key struct
 * portier_policy_key, value struct portier_policy_rule; written by
 * userspace (pt_dp_apply), read by the program for new flows of routes
 * with PORTIER_ROUTE_F_POLICY. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PORTIER_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct portier_policy_key);
	__type(value, struct portier_policy_rule);
} portier_policy SEC(".maps");

/* Per-source token buckets of rate-limited routes. Key struct
 * portier_rate_key, value struct portier_rate; written by the program
 * (new flows of routes with PORTIER_ROUTE_F_RATE), LRU: a forgotten source
 * starts with a full bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PORTIER_RATE_ENTRIES);
	__type(key, struct portier_rate_key);
	__type(value, struct portier_rate);
} portier_rate SEC(".maps");

/* New flows refused per route (policy, rate limit). Key __u32 route id,
 * value struct portier_refused per CPU; written by the program, zeroed by
 * userspace when a route id is (re)assigned, summed by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, __u32);
	__type(value, struct portier_refused);
} portier_route_refused SEC(".maps");

/* Rate limit of the ICMP errors the program sends (bpf/icmp.h). Key __u32
 * 0, value struct portier_icmp_rl per CPU; written by the program only:
 * not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct portier_icmp_rl);
} portier_icmp_rl SEC(".maps");

/* Stateless replies (the active-active pool): the service of each backend
 * of a dnat route with a service address (not "*"), not this host's. Key
 * struct portier_reply_key (the backend), value struct portier_reply_svc;
 * written by userspace with the routes (pt_dp_apply), read by the program
 * for a packet from a backend port with no flow. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTIER_MAX_BACKENDS);
	__type(key, struct portier_reply_key);
	__type(value, struct portier_reply_svc);
} portier_reply_svc SEC(".maps");

/* Flows recreated and stateless replies per route. Key __u32 route id,
 * value struct portier_route_ha per CPU; written by the program, zeroed
 * by userspace when a route id is (re)assigned, summed by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, __u32);
	__type(value, struct portier_route_ha);
} portier_route_ha SEC(".maps");

/* Maglev tables (balance maglev and source). Outer: array of maps by __u32
 * route id; inner: one array per such route of the route's table_size
 * slots, two a struct portier_maglev_pair (user/maglev.h builds it). Written by
 * userspace: a route's table is created with the route, and rewritten in
 * place (a new inner map when its size changes) when its active backends
 * change (user/dp_maglev.c); other routes have
 * none, so only the routes that hash pay for a table. BPF_F_INNER_MAP lets
 * the inner maps differ in size. */
struct portier_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);	/* struct portier_maglev_pair (bpftool of Debian 12
				 * cannot size a struct inside an inner map) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PORTIER_MAX_ROUTES);
	__type(key, __u32);
	__array(values, struct portier_maglev_inner);
} portier_maglev SEC(".maps");

/* Egress NAT (bpf/egress.h). Sources: key struct portier_egress_key (a
 * source prefix), value struct portier_egress_mask (the rules a source in
 * it may egress by); destinations: the same for the rules that allow a
 * destination in the prefix (exceptions taken out). Written by userspace
 * (pt_dp_set_egress), read by the program for new egress flows only. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PORTIER_EGRESS_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct portier_egress_key);
	__type(value, struct portier_egress_mask);
} portier_egress_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PORTIER_EGRESS_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct portier_egress_key);
	__type(value, struct portier_egress_mask);
} portier_egress_dst SEC(".maps");

/* Egress rules: protocols, destination ports, name. Key __u32 rule id,
 * value struct portier_egress_rule; written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORTIER_EGRESS_RULES_MAX);
	__type(key, __u32);
	__type(value, struct portier_egress_rule);
} portier_egress_rules SEC(".maps");

/* Egress counters per rule, and what no rule's sources cover (slot
 * PORTIER_EGRESS_UNMATCHED). Key __u32, value struct portier_egress_stats
 * per CPU; written by the program, zeroed by userspace for a rule id
 * given to another rule. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTIER_EGRESS_RULES_MAX + 1);
	__type(key, __u32);
	__type(value, struct portier_egress_stats);
} portier_egress_stats SEC(".maps");

/* The SNAT port cursor of egress flows (the kube routes' cursors are per
 * backend, portier_snat_cursor): key __u32 0, value __u32; the program's
 * own (atomic add), not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} portier_egress_cursor SEC(".maps");

/* ---- IPv6 (docs/dataplane.md, "IPv6") ----------------------------------- */

/* portier_xdp's tail call to portier_xdp6 for an IPv6 frame. Key __u32
 * PORTIER_PROG_XDP6, value the program's fd; written by the loader. An
 * empty slot: the frame passes as PASS_NOT_IP. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} portier_progs SEC(".maps");

/* The IPv6 addresses "*" services listen on: this host's on the input NIC.
 * Key struct portier_addr, value __u32 1; written by userspace, as
 * portier_local. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTIER_MAX_LOCAL_ADDRS);
	__type(key, struct portier_addr);
	__type(value, __u32);
} portier_local6 SEC(".maps");

/* Connection table (IPv6): portier_conntrack's buckets and slots with
 * struct portier_ct6_slot (include/portier.h), the same protocol, sized
 * before load (--conntrack6-size), mmapped by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PORTIER_CT6_DEFAULT_BUCKETS);
	__type(key, __u32);
	__type(value, struct portier_ct_bucket);
} portier_conntrack6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PORTIER_CT6_DEFAULT_BUCKETS * PORTIER_CT_SLOTS);
	__type(key, __u32);
	__type(value, struct portier_ct6_slot);
} portier_ct6_slots SEC(".maps");

/* Source policy for IPv6 sources: portier_policy's trie with
 * struct portier_policy6_key; written by userspace (pt_dp_apply). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PORTIER_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct portier_policy6_key);
	__type(value, struct portier_policy_rule);
} portier_policy6 SEC(".maps");

/* Token buckets of IPv6 sources, per route and /64 (struct
 * portier_rate6_key); written by the program, LRU as portier_rate. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PORTIER_RATE_ENTRIES);
	__type(key, struct portier_rate6_key);
	__type(value, struct portier_rate);
} portier_rate6 SEC(".maps");

#endif
