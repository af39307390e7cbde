/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * portier.h - everything the XDP program and userspace share: map names,
 * map keys and values, flag bits, limits, counter and reason ids.
 *
 * Included by bpf/ (after vmlinux.h) and by user/ (after <linux/types.h>).
 * Only fixed-width kernel types here. Addresses are kept in network byte
 * order in 16-byte slots so IPv6 fits without changing any layout; an IPv4
 * address uses the first 4 bytes and leaves the rest zero.
 */
#ifndef PORTIER_H
#define PORTIER_H

/* ---- limits ---------------------------------------------------------- */

#define PORTIER_MAX_ROUTES		16384	/* routes (services) at once */
#define PORTIER_MAX_ROUTE_BACKENDS	256	/* backends of one route */
#define PORTIER_MAX_BACKENDS		65536	/* backend slots, all routes */
#define PORTIER_MAX_LOCAL_ADDRS		1024	/* this host's addresses */
#define PORTIER_MAX_IFACES		64	/* devmap slots */
#define PORTIER_CT_DEFAULT_ENTRIES	262144	/* conntrack entries (2 per flow) */
#define PORTIER_CT_SLOTS		16	/* entries per connection-table bucket */
/* Buckets of the default table: portier_ct_buckets_for(entries), below. */
#define PORTIER_CT_DEFAULT_BUCKETS	\
	((PORTIER_CT_DEFAULT_ENTRIES * 2 + PORTIER_CT_SLOTS - 1) / PORTIER_CT_SLOTS)
/* The IPv6 table (portier_conntrack6): entries (2 per flow) by default,
 * and its buckets, as for IPv4 (daemon --conntrack6-size). */
#define PORTIER_CT6_DEFAULT_ENTRIES	65536
#define PORTIER_CT6_DEFAULT_BUCKETS	\
	((PORTIER_CT6_DEFAULT_ENTRIES * 2 + PORTIER_CT_SLOTS - 1) / PORTIER_CT_SLOTS)

/* Default SNAT source port range: below the NodePort range (30000-32767)
 * and the host's ephemeral ports (32768-60999 on Linux). */
#define PORTIER_SNAT_PORT_MIN_DEFAULT	16384
#define PORTIER_SNAT_PORT_MAX_DEFAULT	29999
/* How many consecutive ports one new flow probes before giving up. */
#define PORTIER_SNAT_PROBES		32

/* Default idle timeouts, seconds (overridable in struct portier_config). */
#define PORTIER_TMO_TCP_SYN_DEFAULT	60
#define PORTIER_TMO_TCP_EST_DEFAULT	3600
#define PORTIER_TMO_TCP_CLOSE_DEFAULT	10
#define PORTIER_TMO_UDP_DEFAULT		60

/* ---- pinned names ------------------------------------------------------ */

#define PORTIER_PIN_DIR_DEFAULT		"/sys/fs/bpf/portier"

/* Map names: the same string in the BPF object, in the pin directory and in
 * the CLI, so any tool finds a pinned map by its name. */
#define PORTIER_MAP_CONFIG		"portier_config"
#define PORTIER_MAP_SERVICES		"portier_services"
#define PORTIER_MAP_ROUTES		"portier_routes"
#define PORTIER_MAP_RR			"portier_rr"
#define PORTIER_MAP_BACKENDS		"portier_backends"
#define PORTIER_MAP_LOCAL		"portier_local"
#define PORTIER_MAP_PORTS		"portier_ports"
#define PORTIER_MAP_CONNTRACK		"portier_conntrack"	/* buckets */
#define PORTIER_MAP_CT_SLOTS		"portier_ct_slots"	/* their slots */
#define PORTIER_MAP_SNAT_CURSOR		"portier_snat_cursor"
#define PORTIER_MAP_TX_PORTS		"portier_tx_ports"
#define PORTIER_MAP_ROUTE_STATS		"portier_route_stats"
#define PORTIER_MAP_BACKEND_STATS	"portier_backend_stats"
#define PORTIER_MAP_REASONS		"portier_reasons"
#define PORTIER_MAP_NEXTHOP		"portier_nexthop"	/* a cache: not pinned */
#define PORTIER_MAP_ROUTE_META		"portier_route_meta"
#define PORTIER_MAP_STATE		"portier_state"
#define PORTIER_MAP_CONNLOG		"portier_connlog"	/* the daemon's: not pinned */
#define PORTIER_MAP_HEALTH		"portier_health"
#define PORTIER_MAP_SYN_GUARD		"portier_syn_guard"
#define PORTIER_MAP_SYNPROXY		"portier_synproxy"
/* Source policy and per-source rate limits (docs/dataplane.md). */
#define PORTIER_MAP_POLICY		"portier_policy"
#define PORTIER_MAP_RATE		"portier_rate"
#define PORTIER_MAP_ROUTE_REFUSED	"portier_route_refused"
#define PORTIER_MAP_ICMP_RL		"portier_icmp_rl"	/* the program's: not pinned */
/* The VRRP role keepalived gave this host, per virtual router (user/vrrp.h). */
#define PORTIER_MAP_VRRP		"portier_vrrp"
/* The active-active pool (docs/dataplane.md, "Active-active"). */
#define PORTIER_MAP_REPLY_SVC		"portier_reply_svc"
#define PORTIER_MAP_ROUTE_HA		"portier_route_ha"
/* Egress NAT (bpf/egress.h, docs/dataplane.md "Egress"). */
#define PORTIER_MAP_EGRESS_SRC		"portier_egress_src"
#define PORTIER_MAP_EGRESS_DST		"portier_egress_dst"
#define PORTIER_MAP_EGRESS_RULES	"portier_egress_rules"
#define PORTIER_MAP_EGRESS_STATS	"portier_egress_stats"
#define PORTIER_MAP_EGRESS_CURSOR	"portier_egress_cursor"	/* the program's: not pinned */
#define PORTIER_MAP_SYNC		"portier_sync"	/* the daemon's: not pinned */
/* IPv6 (docs/dataplane.md, "IPv6"): its connection table, local
 * addresses, source policy and rate buckets; the program array through
 * which portier_xdp hands an IPv6 packet to portier_xdp6 (a tail call:
 * each program is verified on its own). */
#define PORTIER_MAP_CONNTRACK6		"portier_conntrack6"	/* buckets */
#define PORTIER_MAP_CT6_SLOTS		"portier_ct6_slots"	/* their slots */
#define PORTIER_MAP_LOCAL6		"portier_local6"
#define PORTIER_MAP_POLICY6		"portier_policy6"
#define PORTIER_MAP_RATE6		"portier_rate6"
#define PORTIER_MAP_PROGS		"portier_progs"	/* the loader's: not pinned */
/* IPv6 cookie flows' handshakes (bpf/synproxy6.h), as portier_synproxy. */
#define PORTIER_MAP_SYNPROXY6		"portier_synproxy6"
#define PORTIER_PROG_XDP6		0	/* portier_progs slot of portier_xdp6 */

/* ---- address families, protocols ---------------------------------------- */

#define PORTIER_AF_INET		4	/* family byte in keys: IPv4 */
#define PORTIER_AF_INET6	6	/* family byte in keys: IPv6 */

/* One address slot, network byte order. IPv4 in a32[0]. */
struct portier_addr {
	union {
		__u8 a8[16];
		__be32 a32[4];
	};
};

/* ---- configuration (portier_config, array of 1, written by userspace) ---- */

/* Global settings the data plane reads on every packet. Written once by the
 * daemon at start (and on reload when they change). */
struct portier_config {
	struct portier_addr snat_addr;	/* this host's address on the output NIC */
	__u32 input_ifindex;		/* client-side NIC */
	__u32 output_ifindex;		/* backend-side NIC */
	__u16 snat_port_min;		/* host order, inclusive */
	__u16 snat_port_max;		/* host order, inclusive */
	__u32 tmo_tcp_syn;		/* idle timeouts, seconds */
	__u32 tmo_tcp_est;
	__u32 tmo_tcp_close;
	__u32 tmo_udp;
	__u8 snat_family;		/* PORTIER_AF_* of snat_addr, 0 = unset */
	__u8 egress_on;			/* 1: egress NAT (bpf/egress.h) on: the
					 * inventory declares egress rules */
	__u8 sync_on;			/* 1: new flows, state changes and deletes
					 * go to portier_sync (bpf/sync.h) */
	__u8 pad[1];
	/* The connection table's geometry, set by userspace when the table
	 * is created and kept with it (a pinned table keeps its hash). */
	__u32 ct_buckets;		/* buckets of portier_conntrack */
	__u32 ct_step;			/* portier_ct_step_for(ct_buckets) */
	__u64 ct_seed;			/* hash seed (random) */
	/* SYN flood defense (bpf/synproxy.h, docs/dataplane.md). */
	__u32 syn_rate;			/* SYNs per second, per CPU and route,
					 * above which "auto" answers with cookies;
					 * 0 = PORTIER_SYN_RATE_DEFAULT */
	__u16 syn_mss;			/* MSS our cookie SYN-ACK offers */
	__u8 syn_wscale;		/* window scale our cookie SYN-ACK offers */
	__u8 pad2;
	/* The NICs' own MACs (set by pt_dp_set_config from the ifindexes):
	 * only frames addressed to the NIC they arrive on (or broadcast, or
	 * multicast) are balanced; all-zero = not checked. */
	__u8 input_mac[6];
	__u8 output_mac[6];
	/* Egress NAT: the source address of egress flows (the output NIC's
	 * address, or the output side's VIP: docs/inventory.md, egress). */
	__be32 egress_addr;
	__u32 pad3;
	/* IPv6 (docs/dataplane.md, "IPv6"): NAT66's source, the output NIC's
	 * global address (all-zero: none; a new flow of an IPv6 snat route
	 * then drops as PORTIER_R_DROP_SNAT_EXHAUSTED), and the IPv6
	 * connection table's geometry (portier_conntrack6; its hash seed is
	 * ct_seed). */
	struct portier_addr snat_addr6;
	__u32 ct6_buckets;		/* buckets of portier_conntrack6 */
	__u32 ct6_step;			/* portier_ct_step_for(ct6_buckets) */
};

/* ---- services (portier_services: hash, written by userspace) ----------- */

/* What a client connects to. addr all-zero = the "*" wildcard: any local
 * address of this host (portier_local). */
struct portier_svc_key {
	struct portier_addr addr;
	__be16 port;
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	/* PORTIER_AF_* */
};

struct portier_svc {
	__u32 route_id;	/* index into portier_routes and portier_route_stats */
};

/* ---- routes (portier_routes: hash by route id, written by userspace) ---- */

#define PORTIER_ROUTE_F_DNAT	(1U << 0)	/* keep the client address */
#define PORTIER_ROUTE_F_LOG	(1U << 1)	/* connection logs (tcplog) */
/* SYN cookies (docs/dataplane.md, "SYN floods"): neither bit = off. */
#define PORTIER_ROUTE_F_COOKIES_ON	(1U << 4)	/* every SYN gets a cookie */
#define PORTIER_ROUTE_F_COOKIES_AUTO	(1U << 5)	/* above syn_rate only */
/* New flows of the route check the source policy (the pool's or the
 * route's lists are not empty): two portier_policy lookups. */
#define PORTIER_ROUTE_F_POLICY	(1U << 2)
/* New flows of the route take a token of their source's bucket
 * (portier_rate): rl_interval_ns and rl_burst below. */
#define PORTIER_ROUTE_F_RATE	(1U << 3)

/* Balance (docs/inventory.md): new flows (and cookie ACKs) take the backend
 * of slot hash % table_size of the route's table in portier_maglev, the
 * hash of the 5-tuple (maglev) or of the client address (source); neither
 * bit: round-robin over active[]. */
#define PORTIER_ROUTE_F_MAGLEV	(1U << 6)
#define PORTIER_ROUTE_F_SOURCE	(1U << 7)
/* Outer map of the tables: array of maps by route id (userspace). */
#define PORTIER_MAP_MAGLEV	"portier_maglev"

/* Two slots of a Maglev table, each a backend id (UINT32_MAX: none). An
 * array map's elements are 8-byte aligned, so one __u32 a slot would waste
 * half the memory: slot s is id[s & 1] of element s >> 1 (a table of M
 * slots has (M + 1) / 2 elements, 4 bytes a slot). */
struct portier_maglev_pair {
	__u32 id[2];
};

/* A route's rotation: the backends that take new flows (healthy and not
 * drained), in round-robin order. Replaced whole by one map update (the map
 * is not preallocated, so a reader sees the old or the new value, never a
 * mix). */
struct portier_route {
	__u32 flags;			/* PORTIER_ROUTE_F_* */
	__u32 n_active;			/* entries used in active[] */
	/* PORTIER_ROUTE_F_RATE: a source's bucket holds rl_burst tokens and
	 * gains one every rl_interval_ns (rate N per T: T / N). */
	__u32 rl_burst;
	/* PORTIER_ROUTE_F_MAGLEV, _SOURCE: slots of the route's table in
	 * portier_maglev (a prime; a hash modulo it is the slot). */
	__u32 table_size;
	__u64 rl_interval_ns;
	__u32 active[PORTIER_MAX_ROUTE_BACKENDS];	/* backend ids */
};

/* ---- backends (portier_backends: array by backend id, by userspace) ---- */

#define PORTIER_BACKEND_F_LOCAL	(1U << 0)	/* this host: pass to the stack */
#define PORTIER_BACKEND_F_USED	(1U << 1)	/* slot holds a backend */
/* State bits kept here for every userspace process (daemon, CLI) to read;
 * the program ignores them (the rotation already leaves such a backend out). */
#define PORTIER_BACKEND_F_DRAINED (1U << 2)	/* operator: no new flows */
#define PORTIER_BACKEND_F_DOWN	(1U << 3)	/* health check failed */

struct portier_backend {
	struct portier_addr addr;
	__be16 port;
	__u8 family;
	__u8 pad;
	__u32 flags;		/* PORTIER_BACKEND_F_* */
	__u32 route_id;		/* owning route */
	__u16 weight;		/* 0..256 (inventory portier_weight); userspace's */
	__u16 weight_pad;
};

/* ---- route metadata (portier_route_meta: hash by route id, userspace) ---
 * What userspace needs to name and rebuild a route; the program never reads
 * it. With the other maps it is the single source of truth: the daemon and
 * the CLI re-read it at the start of every change. */

#define PORTIER_ROUTE_NAME_MAX	64	/* route name, NUL included */
#define PORTIER_ROUTE_MODE_MAX	8	/* "http", "tcp", NUL included */

#define PORTIER_CHECK_TYPE_TCP	0	/* health check: a TCP connect */
#define PORTIER_CHECK_TYPE_HTTP	1	/* connect, HTTP request, status line */
#define PORTIER_CHECK_METHOD_MAX 16	/* HTTP check method, NUL included */
#define PORTIER_CHECK_URI_MAX	128	/* HTTP check URI, NUL included */
#define PORTIER_CHECK_HOST_MAX	128	/* HTTP check Host header, NUL included */

#define PORTIER_ORIGIN_INVENTORY 0	/* from the inventory (daemon) */
#define PORTIER_ORIGIN_RUNTIME	1	/* "portier route add" */

struct portier_route_meta {
	char name[PORTIER_ROUTE_NAME_MAX];
	char mode[PORTIER_ROUTE_MODE_MAX];
	struct portier_svc_key key;	/* its service (listen key) */
	__u32 options;			/* PT_OPT_* of user/routes.h */
	__u8 nat;			/* enum pt_nat */
	__u8 balance;			/* enum pt_balance */
	__u8 origin;			/* PORTIER_ORIGIN_* */
	__u8 syn_cookies;		/* enum pt_syn_cookies */
	__u32 check_inter_ms;		/* health-check settings */
	__u32 check_timeout_ms;
	__u32 check_rise;
	__u32 check_fall;
	__u16 check_port;		/* 0 = the backend's port */
	__u16 dest_port;		/* destination port as declared */
	/* Per-source rate limit as declared (rl_rate 0 = none): rl_rate new
	 * connections per rl_per_ms, bursts of rl_burst. */
	__u32 rl_rate;
	__u32 rl_per_ms;
	__u32 rl_burst;
	__u8 rl_origin;			/* PORTIER_ORIGIN_* of the limit */
	__u8 rl_pad[3];
	/* HTTP health check (check_type PORTIER_CHECK_TYPE_HTTP): the request
	 * "METHOD URI HTTP/1.<minor>" with a Host header if check_host is not
	 * empty; statuses check_expect_min..max pass. Strings NUL-terminated. */
	__u8 check_type;		/* PORTIER_CHECK_TYPE_* */
	__u8 check_http_minor;		/* 0: HTTP/1.0, 1: HTTP/1.1 */
	__u16 check_expect_min;
	__u16 check_expect_max;
	__u16 check_pad;
	char check_method[PORTIER_CHECK_METHOD_MAX];
	char check_uri[PORTIER_CHECK_URI_MAX];
	char check_host[PORTIER_CHECK_HOST_MAX];
	__u32 table_size;		/* balance maglev, source: slots of its table */
	__u32 table_pad;
};

/* ---- userspace state (portier_state: array of 1, userspace) ------------ */

/* Written under the writers' lock (see user/dataplane.h). */
struct portier_state {
	__u64 generation;	/* bumped by every change of the route maps */
	__u32 daemon_pid;	/* the running daemon, 0 if none */
	__u32 reloads;		/* reload requests the daemon has handled */
	__s32 reload_status;	/* last reload: 0 applied, else -errno */
	__u32 reload_half;	/* 1: it failed after it began writing the maps */
};

/* ---- VRRP roles (portier_vrrp: array by virtual_router_id, userspace) --- */

/* The role of struct portier_vrrp, as keepalived's notify scripts say it. */
#define PORTIER_VRRP_UNKNOWN	0	/* never told (no notify since the pins) */
#define PORTIER_VRRP_BACKUP	1
#define PORTIER_VRRP_MASTER	2	/* holds the VIP */
#define PORTIER_VRRP_FAULT	3
#define PORTIER_VRRP_STOP	4	/* keepalived stopped the instance */
#define PORTIER_VRRP_ROLES	5

#define PORTIER_VRRP_IDS	256	/* virtual_router_id 1..255 (0 unused) */

/* The role of one VRRP instance (key: its virtual_router_id), written by
 * "portier vrrp notify" (run by keepalived) and by the daemon when it
 * starts without one (then inferred from the VIP being on the NIC); read
 * by the daemon (flow replication: the MASTER sends, the BACKUP receives),
 * prog show, stats show and the metrics. The program never touches it. */
struct portier_vrrp {
	__u32 role;		/* PORTIER_VRRP_* */
	__u32 priority;		/* as notified, 0 if not said */
	__u64 since_ns;		/* CLOCK_MONOTONIC of the last change */
	__u64 changes;		/* role changes written */
	__u32 inferred;		/* 1: the daemon inferred it, keepalived never said */
	__u32 pad;
};

/* ---- health checks (portier_health: array by backend id, the daemon) ---- */

/* Result of a backend's last health check (struct portier_health.result). */
#define PORTIER_CHECK_NONE	0	/* no check completed yet */
#define PORTIER_CHECK_OK	1	/* connected */
#define PORTIER_CHECK_REFUSED	2	/* connection refused (RST) */
#define PORTIER_CHECK_TIMEOUT	3	/* no answer within the check timeout */
#define PORTIER_CHECK_ERRNO	4	/* another error: struct portier_health.err */
#define PORTIER_CHECK_HTTP_STATUS 5	/* HTTP answer outside the expected statuses */
#define PORTIER_CHECK_HTTP_INVALID 6	/* no HTTP status line (closed early, garbage) */

#define PORTIER_CHECK_LINE_MAX	64	/* HTTP status line kept, NUL included */

/* A backend's last health check, written by the daemon after every check
 * (one map update) for the CLI to show; the program never touches it.
 * Backend ids are reused, so the entry describes the backend in the slot
 * only if route_id, family, addr and port match it; otherwise there is no
 * check to show. Counts start again when the daemon restarts. */
struct portier_health {
	struct portier_addr addr;	/* the backend checked */
	__be16 port;
	__u8 family;			/* PORTIER_AF_*, 0 = never written */
	__u8 up;			/* the checker's state: 1 up, 0 down */
	__u32 route_id;			/* its route */
	__u32 result;			/* PORTIER_CHECK_* of the last check */
	__s32 err;			/* its errno (PORTIER_CHECK_ERRNO), else 0 */
	__u32 duration_us;		/* connect() to result */
	__u32 consecutive_ok;		/* successes in a row, the last included */
	__u32 consecutive_failed;	/* failures in a row, the last included */
	__u32 pad;
	__u64 time_ns;			/* CLOCK_REALTIME at the result */
	__u64 checks_ok;		/* completed checks by result */
	__u64 checks_failed;
	__u32 http_status;		/* HTTP checks: the status answered, 0 if none */
	__u32 http_pad;
	char http_line[PORTIER_CHECK_LINE_MAX];	/* its status line, truncated; "" if none */
};

/* ---- local addresses (portier_local: hash, written by userspace) -------- */

/* Key: struct portier_addr (IPv4 in a32[0], rest zero). Value: __u32, 1.
 * A "*" service matches a packet only if its destination is in here. */

/* ---- source policy (portier_policy: LPM trie, written by userspace) ---- */

/* A route's allow and deny lists, and the pool-wide ones, compiled by
 * userspace into one trie so that one longest-prefix lookup per list gives
 * the decision (docs/dataplane.md): every deny entry, every allow entry
 * (as DENY where a deny entry covers it: deny wins), and where the allow
 * list is not empty an entry for the whole scope (/0) that denies what no
 * allow entry covers. A new flow is refused if the pool's scope or its
 * route's scope says DENY; a scope without a match allows. */
#define PORTIER_MAX_POLICY	65536	/* trie entries, all scopes */
#define PORTIER_POLICY_POOL	0xffffffffU	/* scope of the pool-wide lists */
#define PORTIER_POLICY_SCOPE_BITS 32U	/* prefixlen of a scope's /0 */

/* Key: the scope (route id, or PORTIER_POLICY_POOL) always matched whole,
 * then the IPv4 prefix. prefixlen = PORTIER_POLICY_SCOPE_BITS + the CIDR's
 * length. */
struct portier_policy_key {
	__u32 prefixlen;
	__u32 scope;
	__be32 addr;
};

#define PORTIER_POLICY_ALLOW	1
#define PORTIER_POLICY_DENY	2

/* What the operator declared at the entry's prefix (userspace reads them
 * back; the program reads action only). None set: the implicit /0 that
 * denies what the allow list leaves out. */
#define PORTIER_POLICY_D_ALLOW		(1U << 0)	/* inventory allow */
#define PORTIER_POLICY_D_DENY		(1U << 1)	/* inventory deny */
#define PORTIER_POLICY_D_RT_ALLOW	(1U << 2)	/* runtime allow */
#define PORTIER_POLICY_D_RT_DENY	(1U << 3)	/* runtime deny */

struct portier_policy_rule {
	__u8 action;		/* PORTIER_POLICY_ALLOW or _DENY: the decision */
	__u8 declared;		/* PORTIER_POLICY_D_* */
	__u8 pad[2];
};

/* ---- per-source rate limits (portier_rate: LRU hash, the program) ------- */

/* Sources remembered at once, all routes; the least recently used is
 * forgotten when the table is full, and starts again with a full bucket. */
#define PORTIER_RATE_ENTRIES	65536

struct portier_rate_key {
	__u32 route_id;
	__be32 saddr;
};

/* A source's token bucket in the form of the generic cell rate algorithm:
 * one time instead of a token count and a time. tat ("theoretical arrival
 * time") - now is the bucket's debt: a new flow is admitted if, after
 * adding one interval, the debt is at most burst intervals. */
struct portier_rate {
	__u64 tat;		/* bpf_ktime_get_coarse_ns() scale */
};

/* Refused new flows per route (portier_route_refused: per-CPU array by
 * route id, written by the program, zeroed by userspace for a new route). */
struct portier_refused {
	__u64 denied;		/* source policy */
	__u64 rate_limited;	/* over the per-source rate */
};

/* ---- stateless replies (portier_reply_svc: hash, written by userspace) -- */

/* A backend of a dnat route with a service address, as its replies come
 * from it: (address, port, protocol). Backends of this host, and of "*"
 * routes, have none. */
struct portier_reply_key {
	struct portier_addr addr;	/* the backend's address */
	__be16 port;			/* its port */
	__u8 proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;			/* PORTIER_AF_* */
};

/* The one service a backend's replies come from: a reply with no flow
 * (another gateway of the pool made it) is rewritten from the backend's
 * (address, port) to this one and forwarded to its destination, the
 * client (bpf/portier.bpf.c, stateless_reply). Userspace refuses an
 * inventory where a backend would have two. */
struct portier_reply_svc {
	struct portier_addr svc_addr;	/* the service's address */
	__be16 svc_port;		/* its port */
	__u16 pad;
	__u32 route_id;			/* the route (counters) */
	__u32 backend_id;		/* the backend (its reply counters) */
};

/* Per-route counters of the active-active pool (portier_route_ha: per-CPU
 * array by route id, written by the program, zeroed by userspace for a
 * new route, summed by userspace). */
struct portier_route_ha {
	__u64 recreated;	/* flows recreated from a packet of a flow this
				 * gateway had not seen (PORTIER_R_FLOW_RECREATED) */
	__u64 stateless_replies; /* backend replies with no flow rewritten
				 * by portier_reply_svc (PORTIER_R_STATELESS_REPLY) */
};

/* ---- egress NAT (bpf/egress.h; userspace: user/egress.c) --------------- */

/* Rules of the inventory's egress block, at most this many (a rule is one
 * bit of a 64-bit mask); slot PORTIER_EGRESS_UNMATCHED of
 * portier_egress_stats counts what no rule's sources cover. */
#define PORTIER_EGRESS_RULES_MAX	64
#define PORTIER_EGRESS_UNMATCHED	PORTIER_EGRESS_RULES_MAX
#define PORTIER_EGRESS_PORTS_MAX	8	/* port ranges of one rule */
#define PORTIER_EGRESS_NAME_MAX		64	/* rule name, NUL included */
#define PORTIER_EGRESS_PREFIXES		4096	/* entries of each trie */

/* Key of portier_egress_src (a source prefix) and portier_egress_dst (a
 * destination prefix): LPM tries. */
struct portier_egress_key {
	__u32 prefixlen;	/* 0..32 */
	__be32 addr;
};

/* Value of both tries: the rules (bit i: rule i) that a source in the
 * prefix may egress by (src: a from-CIDR of the rule covers the prefix),
 * or that allow a destination in it (dst: a to-CIDR covers it and no
 * exception does). Userspace writes an entry at every declared prefix
 * with the masks of every prefix covering it, so that the longest match
 * answers for all of them. */
struct portier_egress_mask {
	__u64 rules;
};

#define PORTIER_EGRESS_P_TCP	(1U << 0)
#define PORTIER_EGRESS_P_UDP	(1U << 1)
#define PORTIER_EGRESS_P_ICMP	(1U << 2)	/* echo requests */
#define PORTIER_EGRESS_F_LOG	(1U << 6)	/* connection logs of its flows
						 * (inventory: log: true) */
#define PORTIER_EGRESS_F_USED	(1U << 7)	/* slot holds a rule */

/* portier_egress_rules[rule id] (array, userspace): what the rule allows
 * beyond its networks, and its name (userspace's, for show and metrics). */
struct portier_egress_rule {
	__u8 protos;		/* PORTIER_EGRESS_P_*, and _F_LOG, _F_USED */
	__u8 n_ports;		/* 0: any destination port */
	__u16 pad;
	__u32 pad2;
	struct {
		__u16 lo, hi;	/* host order, inclusive: TCP/UDP destination */
	} ports[PORTIER_EGRESS_PORTS_MAX];
	char name[PORTIER_EGRESS_NAME_MAX];
};

/* portier_egress_stats[rule id] (per-CPU array, the program): what the
 * rule carried (by PORTIER_FLOW_DIR_*: out, back) and refused. */
struct portier_egress_stats {
	__u64 packets[2];
	__u64 bytes[2];
	__u64 flows;		/* new egress flows */
	__u64 refused;		/* new flows from the rule's sources that no
				 * rule allowed (a destination excepted, not
				 * covered, another protocol or port) */
};

/* ---- ports (portier_ports: array of 65536 by host-order port) ---------- */

/* Fast filter before any hash lookup: does anything listen on, or answer
 * from, this port? Undeclared traffic leaves after two array reads. */
#define PORTIER_PORT_SVC_TCP	(1U << 0)	/* a TCP service port */
#define PORTIER_PORT_SVC_UDP	(1U << 1)	/* a UDP service port */
#define PORTIER_PORT_BE_TCP	(1U << 2)	/* a TCP backend port (replies) */
#define PORTIER_PORT_BE_UDP	(1U << 3)	/* a UDP backend port (replies) */
/* The port has exactly one IPv4 service: the svc_* fields hold it, and a
 * new IPv4 flow to the port takes its route without a portier_services
 * lookup (IPv6 services of the port count apart: PORTIER_PORT_ONE_SVC6).
 * Userspace clears the bit while an apply changes the port's services and
 * sets it once the services it names are in portier_services. */
#define PORTIER_PORT_ONE_SVC	(1U << 4)
/* A service of the port has a source policy or a rate limit (its route's
 * PORTIER_ROUTE_F_POLICY or _F_RATE): new flows to the port go through
 * admission (bpf/policy.h); others skip it without a lookup. */
#define PORTIER_PORT_ADMIT	(1U << 5)
/* The port has exactly one IPv6 service: the svc6_* fields hold it, and a
 * new IPv6 flow to the port takes its route without a portier_services
 * lookup (as PORTIER_PORT_ONE_SVC for IPv4; written the same way). */
#define PORTIER_PORT_ONE_SVC6	(1U << 6)

/* Value of portier_ports. */
struct portier_port {
	__u32 flags;		/* PORTIER_PORT_* */
	__be32 svc_addr;	/* ONE_SVC: the service's address, 0 for "*" */
	__u16 svc_route;	/* ONE_SVC: its route id */
	__u8 svc_proto;		/* ONE_SVC: its protocol */
	__u8 pad;
	struct portier_addr svc6_addr;	/* ONE_SVC6: the service's address, all-zero for "*" */
	__u16 svc6_route;	/* ONE_SVC6: its route id */
	__u8 svc6_proto;	/* ONE_SVC6: its protocol */
	__u8 pad6;
};

/* ---- round-robin cursors (portier_rr: array by route id, value __u32) ---
 * ---- SNAT port cursors (portier_snat_cursor: array by backend id, __u32) --
 * ---- redirect ports (portier_tx_ports: devmap hash, key and value the
 *      ifindex, __u32) ---------------------------------------------------- */

/* ---- connection table (portier_conntrack: buckets, BPF and userspace) --- */

/* An IPv4 packet's 5-tuple as it arrives: 16 bytes, two 64-bit halves to
 * hash, four words to compare (pad is always zero). Each flow has two
 * entries: the original direction (client -> service, on the input NIC)
 * and the reply direction (backend -> gateway or client, on the output
 * NIC). IPv6 has its own table (struct portier_flow_key6, below). */
struct portier_flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

#define PORTIER_FLOW_DIR_ORIG	0	/* client -> backend */
#define PORTIER_FLOW_DIR_REPLY	1	/* backend -> client */

#define PORTIER_FLOW_F_LOCAL	(1U << 0)	/* backend is this host: pass */
#define PORTIER_FLOW_F_SEEN_REPLY (1U << 1)	/* a reply was seen */
#define PORTIER_FLOW_F_CLOSING	(1U << 2)	/* FIN or RST seen */
/* Connection logs (bpf/connlog.h), only on flows of routes that log: */
#define PORTIER_FLOW_F_FIN	(1U << 3)	/* this direction sent a FIN */
#define PORTIER_FLOW_F_LOGGED	(1U << 4)	/* end event sent (both entries) */
/* The client proved its address: a TCP packet from it after the reply (the
 * handshake's ACK), a UDP reply, or a valid SYN cookie. Never evicted for a
 * new flow (only entries without it are: nf_conntrack's early_drop). */
#define PORTIER_FLOW_F_ASSURED	(1U << 5)
/* Opened by a SYN cookie: its sequence numbers, timestamps and window are
 * translated by its portier_synproxy entry (bpf/synproxy.h). */
#define PORTIER_FLOW_F_SYNPROXY	(1U << 6)
/* An egress flow (bpf/egress.h): from the input side out of the output NIC,
 * its source translated to egress_addr. route_id is then the egress rule
 * that allowed it, backend_id unused (0): neither names a route or a
 * backend. ICMP echo flows key the identifier as a port: sport for the
 * request, dport for the reply, the other 0. */
#define PORTIER_FLOW_F_EGRESS	(1U << 7)

/* Flow activity times on 32 bits: CLOCK_MONOTONIC ns >> PORTIER_TICK_SHIFT
 * (ticks of 1.048576 ms), compared modulo 2^32, which is right for any idle
 * time below 52 days (the GC visits every entry far more often). */
#define PORTIER_TICK_SHIFT	20

static inline __attribute__((always_inline)) __u32 portier_tick(__u64 ns)
{
	return (__u32)(ns >> PORTIER_TICK_SHIFT);
}

/* How far ahead of a reader's clock a stamp may be and still count as now:
 * CPUs read the coarse clock at slightly different instants, so an entry
 * that another CPU has just stamped can be a tick ahead of this CPU's
 * clock (about 1 s of slack). */
#define PORTIER_TICKS_AHEAD_MAX	1024

/* Ticks from stamp to now_tick: 0 for a stamp at most
 * PORTIER_TICKS_AHEAD_MAX ticks ahead (modulo 2^32, such a stamp would
 * look 52 days old: a flow just made by another CPU would be expired, or
 * evicted first). */
static inline __attribute__((always_inline)) __u32 portier_idle_ticks(__u32 now_tick, __u32 stamp)
{
	__u32 idle = now_tick - stamp;

	return idle >= (__u32)0 - PORTIER_TICKS_AHEAD_MAX ? 0 : idle;
}

/* Ticks in s seconds (rounded down). */
static inline __attribute__((always_inline)) __u32 portier_ticks_of_s(__u32 s)
{
	return (__u32)(((__u64)s * 1000000000ULL) >> PORTIER_TICK_SHIFT);
}

/* One direction of an IPv4 flow: how to rewrite a packet matching the key,
 * and its accounting. 64 bytes: with its 16-byte key, a slot of the
 * connection table is 80 bytes. */
struct portier_flow {
	__be32 nat_saddr;		/* new source address */
	__be32 nat_daddr;		/* new destination address */
	__be16 nat_sport;		/* new source port */
	__be16 nat_dport;		/* new destination port */
	__u8 dir;			/* PORTIER_FLOW_DIR_* */
	__u8 flags;			/* PORTIER_FLOW_F_* */
	__u16 route_id;			/* < PORTIER_MAX_ROUTES */
	__u16 backend_id;		/* < PORTIER_MAX_BACKENDS */
	__u16 tx_mtu;			/* MTU of tx_ifindex when it was cached
					 * (0: unknown, look the next hop up) */
	__u32 last_seen;		/* portier_tick() of the last packet in this
					 * direction, refreshed at most once a
					 * second */
	/* Next hop of this direction from bpf_fib_lookup, cached by the
	 * program and looked up again whenever last_seen is refreshed.
	 * tx_ifindex 0 = nothing cached. */
	__u32 tx_ifindex;
	__u8 tx_dmac[6];
	__u8 tx_smac[6];
	__u64 packets;			/* this direction (plain adds: a flow's
					 * direction stays on one CPU by RSS) */
	__u64 bytes;			/* this direction, frame bytes */
	__u64 created_ns;		/* bpf_ktime_get_coarse_ns() at creation */
};

/* The idle timeout, seconds, of a flow entry of protocol proto in the
 * state of its flags (PORTIER_FLOW_F_*): a TCP flow is established once
 * ASSURED; until then (a SYN seen, or a SYN-ACK too, as a spoofed SYN's
 * flow stays) it has the SYN timeout. The program and the GC both use it. */
static inline __attribute__((always_inline)) __u32
portier_flow_timeout_s(const struct portier_config *c, __u8 proto, __u8 flags)
{
	if (proto != 6)		/* IPPROTO_TCP */
		return c->tmo_udp;
	if (flags & PORTIER_FLOW_F_CLOSING)
		return c->tmo_tcp_close;
	return flags & PORTIER_FLOW_F_ASSURED ? c->tmo_tcp_est : c->tmo_tcp_syn;
}

_Static_assert(sizeof(struct portier_flow_key) == 16, "flow key is four words");
_Static_assert(sizeof(struct portier_flow) == 64, "flow entry is one cache line");
_Static_assert(PORTIER_MAX_ROUTES <= 65536 && PORTIER_MAX_BACKENDS <= 65536,
	       "route and backend ids are 16-bit in struct portier_flow");

/* The table is portier's own: two arrays (BPF_F_MMAPABLE, so userspace
 * walks and edits them in place): portier_conntrack, one cache line per
 * bucket holding a 32-bit tag per slot, and portier_ct_slots, the slots
 * (key and flow), PORTIER_CT_SLOTS per bucket: bucket b owns slots b * 16
 * to b * 16 + 15. An entry lives in the bucket its key hashes to, in any
 * slot. A lookup reads the bucket's line to find the one slot whose key it
 * compares: no lock, no chain to walk, no write.
 *
 * A tag is 0 (free), the key's tag (odd: published), or the key's tag - 1
 * (even: claimed by a writer filling the slot). A writer (the program, or
 * userspace) claims a slot by compare-and-swap from 0, or from the tag of
 * the entry it evicts (a full bucket evicts its entry idle longest, counted
 * as PORTIER_R_CT_EVICTED); checks that no other writer is inserting the
 * same key; fills the slot; then publishes the tag. A delete swaps the tag
 * from the key's to 0. As with the kernel's preallocated hash maps, a
 * reader holding a slot while a writer frees and reuses it sees the new
 * entry; a flow's packets are on one CPU, and only idle entries are freed,
 * so this is the rare race the kernel's tables have too. */
struct portier_ct_slot {
	struct portier_flow_key key;
	struct portier_flow flow;
};

struct portier_ct_bucket {
	__u32 tag[PORTIER_CT_SLOTS];	/* 0 free, odd published, even claimed */
};

_Static_assert(sizeof(struct portier_ct_bucket) == 64, "a bucket is one cache line");
_Static_assert(sizeof(struct portier_ct_slot) == 80, "a slot is key and flow");
_Static_assert((PORTIER_CT_SLOTS & (PORTIER_CT_SLOTS - 1)) == 0, "slots: a power of two");

/* Buckets for a table of n entries: twice the slots, so that a bucket is
 * rarely full before the table is (at n entries, about 1 new entry in 100
 * evicts another early). */
static inline __attribute__((always_inline)) __u32 portier_ct_buckets_for(__u32 n)
{
	return (__u32)(((__u64)n * 2 + PORTIER_CT_SLOTS - 1) / PORTIER_CT_SLOTS);
}

/* Entries a table of b buckets holds (the inverse of the above). */
static inline __attribute__((always_inline)) __u32 portier_ct_capacity(__u32 b)
{
	return (__u32)((__u64)b * PORTIER_CT_SLOTS / 2);
}

/* The hash of key k under the table's seed, over the tuple but its
 * destination port: two multiply-mix rounds over the tuple's two halves.
 * The same code in the program and in userspace. */
static inline __attribute__((always_inline)) __u64
portier_ct_hash(const struct portier_flow_key *k, __u64 seed)
{
	__u64 a = (__u64)k->saddr << 32 | k->daddr;
	__u64 b = (__u64)k->sport << 48 | k->proto;
	__u64 h = (a ^ seed) * 0x9e3779b97f4a7c15ULL;

	h = (h ^ b ^ (h >> 29)) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* 2^32 / n rounded up: one bucket's width on the 32-bit circle that
 * portier_ct_locate scales to n buckets. */
static inline __attribute__((always_inline)) __u32 portier_ct_step_for(__u32 n)
{
	return n > 1 ? (__u32)(((1ULL << 32) + n - 1) / n) : 0;
}

/* The bucket of key k in a table of n buckets (step =
 * portier_ct_step_for(n)), and its tag in *tag. The hash's high half is a
 * point on a 32-bit circle, scaled to [0, n); the destination port moves
 * it by whole buckets, so keys that differ only in that port (a backend's
 * SNAT reply entries, for consecutive ports) land in consecutive buckets,
 * whose lines the CPU fetches ahead as a stream. The tag is the hash's low
 * half mixed with the port, with the two low bits set: odd, so that the
 * claim mark (tag - 1) is even and never 0 (free). */
static inline __attribute__((always_inline)) __u32
portier_ct_locate(const struct portier_flow_key *k, __u64 seed, __u32 n, __u32 step, __u32 *tag)
{
	const __u8 *p = (const __u8 *)&k->dport;
	__u32 port = (__u32)p[0] << 8 | p[1];	/* host order, either endianness */
	__u64 h = portier_ct_hash(k, seed);
	__u32 pos = (__u32)(h >> 32) + port * step;

	*tag = ((__u32)h ^ port * 0x9e3779b9U) | 3;
	return (__u32)(((__u64)pos * n) >> 32);
}

/* How many of a bucket's PORTIER_CT_SLOTS tags are t or t - 1 (t odd: a
 * key's published entry or a claim mark of it), with no branch: eight
 * 64-bit words of two tags each. In y = (word | 1 in each lane) ^ (t in
 * each lane), a lane is zero exactly when its tag | 1 == t, and
 * (y - 1 in each lane) & ~y keeps a lane's high bit exactly when the lane
 * is zero: the borrow out of a zero low lane could mark the high lane
 * only if it were 1, and every lane of y is even (odd ^ odd). */
#define PORTIER_CT_LANE_ONE	0x0000000100000001ULL
#define PORTIER_CT_LANE_HIGH	0x8000000080000000ULL
#ifdef __clang__
#define PORTIER_UNROLL		_Pragma("unroll")
#else
#define PORTIER_UNROLL		_Pragma("GCC unroll 8")
#endif

static inline __attribute__((always_inline)) __u32
portier_ct_tag_count(const volatile __u32 *tags, __u32 t)
{
	/* may_alias: the tags are __u32 to every other reader and writer. */
	typedef __u64 __attribute__((may_alias)) tag_pair;
	const volatile tag_pair *w = (const volatile tag_pair *)tags;
	__u64 tt = (__u64)t << 32 | t, acc = 0, y;

	PORTIER_UNROLL
	for (int i = 0; i < PORTIER_CT_SLOTS / 2; i++) {
		y = (w[i] | PORTIER_CT_LANE_ONE) ^ tt;
		acc += ((y - PORTIER_CT_LANE_ONE) & ~y & PORTIER_CT_LANE_HIGH) >> 31;
	}
	return (__u32)acc + (__u32)(acc >> 32);
}

/* ---- IPv6 connection table (portier_conntrack6, portier_ct6_slots) ------ */

/* An IPv6 packet's 5-tuple as it arrives: 40 bytes. The table works as
 * the IPv4 one (buckets of PORTIER_CT_SLOTS tags, slots beside them, the
 * same claim, publish, evict and delete), with these keys and entries. */
struct portier_flow_key6 {
	struct portier_addr saddr;
	struct portier_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* One direction of an IPv6 flow: struct portier_flow with 16-byte
 * addresses. 88 bytes: with its key, a slot is two cache lines. Flags,
 * directions, ticks and the next-hop cache mean what they do there. */
struct portier_flow6 {
	struct portier_addr nat_saddr;	/* new source address */
	struct portier_addr nat_daddr;	/* new destination address */
	__be16 nat_sport;		/* new source port */
	__be16 nat_dport;		/* new destination port */
	__u8 dir;			/* PORTIER_FLOW_DIR_* */
	__u8 flags;			/* PORTIER_FLOW_F_* */
	__u16 route_id;
	__u16 backend_id;
	__u16 tx_mtu;
	__u32 last_seen;		/* portier_tick() */
	__u32 tx_ifindex;
	__u8 tx_dmac[6];
	__u8 tx_smac[6];
	__u64 packets;
	__u64 bytes;
	__u64 created_ns;
};

struct portier_ct6_slot {
	struct portier_flow_key6 key;
	struct portier_flow6 flow;
};

_Static_assert(sizeof(struct portier_flow_key6) == 40, "IPv6 flow key is ten words");
_Static_assert(sizeof(struct portier_flow6) == 88, "IPv6 flow entry");
_Static_assert(sizeof(struct portier_ct6_slot) == 128, "an IPv6 slot is two cache lines");

/* An IPv6 key as the IPv4 hash sees one: each address reduced to 32 bits
 * by a multiply-mix of its two halves keyed with the table's seed (so
 * that no one, holding a whole /64, can choose addresses that collide
 * with another's under every seed), then portier_ct_hash and
 * portier_ct_locate as for IPv4: the same bucket walk, the same tags. */
static inline __attribute__((always_inline)) __be32
portier_addr6_fold(const struct portier_addr *a, __u64 seed)
{
	__u64 lo = (__u64)a->a32[0] << 32 | a->a32[1];
	__u64 hi = (__u64)a->a32[2] << 32 | a->a32[3];
	__u64 h = (lo ^ seed) * 0x9e3779b97f4a7c15ULL;

	h = (h ^ hi ^ (h >> 29)) * 0xff51afd7ed558ccdULL;
	return (__be32)(h ^ (h >> 32));
}

static inline __attribute__((always_inline)) void
portier_ct6_folded(const struct portier_flow_key6 *k, __u64 seed, struct portier_flow_key *f)
{
	f->saddr = portier_addr6_fold(&k->saddr, seed);
	f->daddr = portier_addr6_fold(&k->daddr, seed);
	f->sport = k->sport;
	f->dport = k->dport;
	f->proto = k->proto;
	f->pad[0] = f->pad[1] = f->pad[2] = 0;
}

/* The bucket of IPv6 key k (and its tag in *tag), as portier_ct_locate. */
static inline __attribute__((always_inline)) __u32
portier_ct6_locate(const struct portier_flow_key6 *k, __u64 seed, __u32 n, __u32 step,
		   __u32 *tag)
{
	struct portier_flow_key f;

	portier_ct6_folded(k, seed, &f);
	return portier_ct_locate(&f, seed, n, step, tag);
}

/* ---- IPv6 source policy and rate (portier_policy6, portier_rate6) ------ */

/* portier_policy6: struct portier_policy's trie for IPv6 sources, the same
 * scopes and values (struct portier_policy_rule). prefixlen =
 * PORTIER_POLICY_SCOPE_BITS + the CIDR's length (0..128). */
struct portier_policy6_key {
	__u32 prefixlen;
	__u32 scope;
	__u8 addr[16];
};

/* portier_rate6 (LRU hash, the program): an IPv6 source's token bucket
 * (struct portier_rate) per route and /64: one host holds a whole /64
 * (RFC 7421), so a per-address bucket would limit nothing. */
struct portier_rate6_key {
	__u32 route_id;
	__u32 pad;
	__u8 prefix[8];		/* the source's first 64 bits */
};

/* portier_local6: this host's IPv6 addresses (key struct portier_addr,
 * value __u32 1), as portier_local for IPv4: a "*" service matches an
 * IPv6 packet only if its destination is in here. */

/* ---- next hop per backend (portier_nexthop: per-CPU array, program) ---- */

/* The FIB result for new flows to a backend, so that not every new flow
 * pays a bpf_fib_lookup. Valid for the addresses and input NIC it was
 * looked up with (a backend id may be reused for another address), for at
 * most a second (like the per-flow cache). */
struct portier_nexthop {
	struct portier_addr saddr;	/* source address of the lookup */
	struct portier_addr daddr;	/* destination: the backend's address */
	__u64 looked_up_ns;		/* bpf_ktime_get_coarse_ns() of the lookup */
	__u32 in_ifindex;		/* NIC the packets arrived on */
	__u32 tx_ifindex;		/* egress NIC, 0 = nothing cached */
	__u8 tx_dmac[6];
	__u8 tx_smac[6];
	__u16 tx_mtu;			/* the egress NIC's MTU */
	__u16 pad[3];
};

/* ---- ICMP rate limit (portier_icmp_rl: per-CPU array of 1, program) ---- */

/* ICMP errors the program generates, per CPU: a token bucket of
 * PORTIER_ICMP_BURST messages refilled at PORTIER_ICMP_RATE a second, as
 * the kernel's net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst defaults. */
#define PORTIER_ICMP_RATE	1000	/* messages per second, per CPU */
#define PORTIER_ICMP_BURST	50	/* messages at once */

struct portier_icmp_rl {
	__u64 credit_ns;	/* saved-up time, at most BURST messages' worth */
	__u64 last_ns;		/* bpf_ktime_get_coarse_ns() of the last refill */
};

/* ---- SYN flood defense (bpf/synproxy.h) ---------------------------------- */

#define PORTIER_SYN_RATE_DEFAULT	2000	/* SYN/s per CPU and route: "auto" on */
#define PORTIER_SYN_MSS_DEFAULT		1460
#define PORTIER_SYN_WSCALE_DEFAULT	7
/* "auto" stays on this many ns after the last second above the rate. */
#define PORTIER_SYN_HOLD_NS		(5ULL * 1000000000ULL)

/* portier_syn_guard[route id], per CPU, written by the program: this CPU's
 * SYN count in the current one-second window (what "auto" switches on),
 * and the route's cookie counters. Summed (counters) or or'ed (on_until)
 * by userspace. */
struct portier_syn_guard {
	__u64 window_ns;		/* start of the current window */
	__u64 on_until_ns;		/* "auto": cookies until then */
	__u32 window_syns;		/* SYNs to the route in the window */
	__u32 pad;
	__u64 cookies_sent;		/* SYNs answered with a cookie */
	__u64 cookies_valid;		/* ACKs whose cookie opened a flow */
	__u64 cookies_failed;		/* ACKs with no flow and a bad cookie */
	__u64 pending_dropped;		/* client packets before the backend's
					 * SYN-ACK */
};

#define PORTIER_SYNPROXY_PENDING	0	/* SYN sent to the backend */
#define PORTIER_SYNPROXY_OPEN		1	/* its SYN-ACK seen: translating */

#define PORTIER_SYNPROXY_F_TS		(1U << 0)	/* timestamps negotiated */
#define PORTIER_SYNPROXY_F_WS		(1U << 1)	/* window scaling negotiated */
#define PORTIER_SYNPROXY_F_SACK		(1U << 2)	/* SACK permitted */

/* portier_synproxy (LRU hash): one per flow opened by a SYN cookie, keyed
 * by the flow's original key (client -> service), written by the program.
 * The client sees our cookie as the server's ISN and our timestamp clock;
 * the backend its own: the differences translate every packet. */
struct portier_synproxy {
	__u32 cookie_isn;		/* our SYN-ACK's sequence number */
	__u32 client_isn;		/* the client's SYN's sequence number */
	__u32 seq_delta;		/* backend ISN - cookie ISN (OPEN) */
	__u32 ts_delta;			/* our cookie tsval - backend's (OPEN) */
	__u32 cookie_tsval;		/* our SYN-ACK's timestamp */
	__u32 client_tsval;		/* the client's last timestamp seen */
	__u16 client_win;		/* the client's ACK window (scaled) */
	__u8 state;			/* PORTIER_SYNPROXY_* */
	__u8 flags;			/* PORTIER_SYNPROXY_F_* */
	__u8 client_wscale;		/* what the client's SYN offered */
	__u8 our_wscale;		/* what our SYN-ACK offered */
	__u8 backend_wscale;		/* what the backend's SYN-ACK offered */
	__u8 pad;
};

/* ---- counters (per-CPU arrays, summed by userspace) --------------------- */

/* portier_route_stats[route id], portier_backend_stats[backend id] */
struct portier_stats {
	__u64 packets[2];	/* by PORTIER_FLOW_DIR_* */
	__u64 bytes[2];
	__u64 flows;		/* new flows */
};

/* portier_reasons[reason]: what happened to packets that were not
 * forwarded to a backend, and notable events. See docs/dataplane.md. */
enum portier_reason {
	PORTIER_R_PASS_NOT_IP = 0,	/* ARP, ... : pass */
	PORTIER_R_PASS_NOT_L4,		/* ICMP and other protocols: pass */
	PORTIER_R_PASS_UNDECLARED,	/* no service on (addr, port, proto): pass */
	PORTIER_R_PASS_VLAN,		/* 802.1Q/802.1ad tagged: pass */
	PORTIER_R_PASS_FRAGMENT,	/* IPv4 fragment: pass */
	PORTIER_R_PASS_IP_OPTIONS,	/* IHL > 5: pass */
	PORTIER_R_PASS_LOCAL,		/* backend is this host: pass */
	PORTIER_R_PASS_NO_NEIGH,	/* rewritten, neighbour unknown: kernel */
	PORTIER_R_PASS_FIB,		/* FIB lookup failed otherwise: pass */
	PORTIER_R_PASS_TTL,		/* TTL would expire: kernel sends ICMP */
	PORTIER_R_DROP_MALFORMED,	/* truncated header, IHL < 5, bad lengths */
	PORTIER_R_DROP_NO_BACKEND,	/* route has no backend in rotation */
	PORTIER_R_DROP_SNAT_EXHAUSTED,	/* no free SNAT source port */
	PORTIER_R_DROP_CT_FULL,		/* flow could not be inserted */
	PORTIER_R_FWD_REDIRECT,		/* forwarded by redirect (counted) */
	PORTIER_R_PASS_NO_FLOW,		/* service/backend port, no live flow and
					 * none to start (TCP without SYN, reply,
					 * health-check answer): pass */
	PORTIER_R_LOG_LOST,		/* not a packet: a connection log event
					 * lost (ring buffer full) */
	PORTIER_R_CT_EVICTED,		/* not a packet: a connection-table entry
					 * evicted (its bucket was full) */
	PORTIER_R_CT_RACE,		/* not a packet: a new entry's claim met
					 * another CPU's claim of its key (or tag)
					 * and waited for it */
	/* SYN flood defense (bpf/synproxy.h): */
	PORTIER_R_SYN_COOKIE_SENT,	/* a SYN answered with a cookie SYN-ACK */
	PORTIER_R_SYN_COOKIE_VALID,	/* an ACK's cookie valid: flow opened */
	PORTIER_R_SYN_COOKIE_FAILED,	/* an ACK to a cookie route, no flow, bad
					 * cookie: passed (the stack resets) */
	PORTIER_R_SYNPROXY_PENDING,	/* client packet before the backend's
					 * SYN-ACK: dropped (the client resends) */
	PORTIER_R_SYNPROXY_BACKEND_ACK,	/* a backend's SYN-ACK answered by an ACK */
	PORTIER_R_DROP_BAD_CSUM,	/* a SYN with a bad checksum under cookies */
	PORTIER_R_SYNPROXY_LOST,	/* a cookie flow's translation was lost
					 * (portier_synproxy evicted it): dropped */
	PORTIER_R_DROP_DENIED,		/* new flow from a source the route's or
					 * the pool's policy denies */
	PORTIER_R_DROP_RATE_LIMITED,	/* new flow over its source's rate limit */
	/* ICMP (bpf/icmp.h): */
	PORTIER_R_ICMP_TRANSLATED,	/* ICMP error of a NATed flow translated
					 * and sent on to the flow's other end */
	PORTIER_R_ICMP_FRAG_NEEDED_SENT, /* a packet too big for its egress NIC
					 * (DF set) answered with ICMP
					 * fragmentation needed (XDP_TX) */
	PORTIER_R_ICMP_RATELIMITED,	/* too big, DF set, but over the ICMP rate
					 * limit: dropped */
	PORTIER_R_PASS_TOO_BIG,		/* too big for its egress NIC, DF clear:
					 * rewritten, the kernel fragments it */
	PORTIER_R_PASS_OTHER_HOST,	/* a frame for another host (a flooded or
					 * promiscuous one, the kernel's
					 * PACKET_OTHERHOST): passed, never
					 * balanced */
	/* The active-active pool (docs/dataplane.md, "Active-active"): */
	PORTIER_R_FLOW_RECREATED,	/* not a packet: a TCP packet of a flow this
					 * gateway had not seen (no SYN) to a
					 * maglev/source dnat route recreated its
					 * flow to the table's backend */
	PORTIER_R_STATELESS_REPLY,	/* not a packet: a backend's reply with no
					 * flow rewritten to its route's service
					 * (portier_reply_svc) and forwarded */
	/* Egress NAT (bpf/egress.h): */
	PORTIER_R_DROP_EGRESS_REFUSED,	/* a new flow from the input side to be
					 * forwarded out of the output NIC that no
					 * egress rule allows: dropped */
	PORTIER_R_DROP_EGRESS_NO_FLOW,	/* a TCP segment but a SYN, or an echo
					 * reply, from the input side, to be
					 * forwarded out of the output NIC, of no
					 * egress flow: dropped */
	PORTIER_R_SYNC_LOST,		/* not a packet: a flow sync event found
					 * the portier_sync ring buffer full */
	/* IPv6 (docs/dataplane.md, "IPv6"); an IPv6 packet otherwise counts
	 * under the IPv4 reason of the same meaning (PASS_FRAGMENT,
	 * ICMP_FRAG_NEEDED_SENT for a Packet Too Big, ...): */
	PORTIER_R_PASS_IP6_EXT,		/* an IPv6 extension header portier does
					 * not walk (hop-by-hop, routing,
					 * destination options, AH, ESP, unknown):
					 * passed, never rewritten */
	PORTIER_R_PASS_LINK_LOCAL,	/* IPv6 link-local or multicast traffic
					 * (neighbour discovery, router
					 * advertisements): passed untouched */
	PORTIER_R_MAX,
};

/* Slots of portier_reasons: more than PORTIER_R_MAX, so a newer program
 * can add reasons and still adopt the pinned map of an older one (a pinned
 * map is reused only with its own size). */
#define PORTIER_R_SLOTS		64
_Static_assert(PORTIER_R_MAX <= PORTIER_R_SLOTS, "portier_reasons has no room");

/* ---- connection logs (portier_connlog: ring buffer, program -> daemon) -- */

/* Ring buffer size in bytes when the daemon gives none (a power of two and
 * a multiple of the page size): about 2000 events. */
#define PORTIER_CONNLOG_RING_DEFAULT	(256 * 1024)

#define PORTIER_CONNLOG_KIND_END	2	/* the connection is over */

/* How a connection ended (struct portier_connlog_event.end). */
enum portier_connlog_end {
	PORTIER_END_FIN = 1,		/* FIN seen in both directions */
	PORTIER_END_RST_CLIENT,		/* RST from the client */
	PORTIER_END_RST_SERVER,		/* RST from the backend */
	PORTIER_END_TIMEOUT,		/* idle timeout: deleted by the daemon's GC */
};

/* One connection log event, written by the program (FIN both ways, RST) or
 * made by the daemon's GC (timeout) from a flow's two entries. Addresses
 * and ports in network byte order; times are CLOCK_MONOTONIC ns (coarse). */
struct portier_connlog_event {
	__u8 kind;			/* PORTIER_CONNLOG_KIND_* */
	__u8 end;			/* enum portier_connlog_end */
	__u8 proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 flags;			/* PORTIER_FLOW_F_* of both entries, or'ed */
	__u32 route_id;
	__u32 backend_id;
	__u8 family;			/* PORTIER_AF_* */
	__u8 pad[3];
	struct portier_addr client;	/* client address, as it connected */
	struct portier_addr service;	/* the address it connected to */
	struct portier_addr backend;	/* where portier sent it */
	__be16 client_port;
	__be16 service_port;
	__be16 backend_port;
	__be16 snat_port;		/* gateway source port to the backend
					 * (dnat: the client's port) */
	__u64 start_ns;			/* first packet (flow created) */
	__u64 end_ns;			/* the closing packet, or last activity */
	__u64 packets[2];		/* by PORTIER_FLOW_DIR_*, frames */
	__u64 bytes[2];			/* by PORTIER_FLOW_DIR_*, frame bytes */
};

/* ---- flow sync (portier_sync: ring buffer, program -> daemon) --------- */

/* Ring buffer size in bytes when the daemon gives none: about 6000 new
 * flows' events. */
#define PORTIER_SYNC_RING_DEFAULT	(1024 * 1024)

#define PORTIER_SYNC_EV_NEW	1	/* a new flow: both entries */
#define PORTIER_SYNC_EV_FLAGS	2	/* state bits set on a flow */
#define PORTIER_SYNC_EV_DEL	3	/* a flow deleted by the program */

/* The state bits a FLAGS event carries (the rest are this host's own). */
#define PORTIER_SYNC_FLAGS	(PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_CLOSING | \
				 PORTIER_FLOW_F_ASSURED)
/* The kind of flow a FLOW record carries beside them: an egress flow's
 * route_id is its egress rule and it has no backend (bpf/egress.h). */
#define PORTIER_SYNC_KIND	PORTIER_FLOW_F_EGRESS

/* FLAGS and DEL: key is an entry of the flow (either direction). */
struct portier_sync_small {
	__u8 kind;			/* PORTIER_SYNC_EV_FLAGS or _DEL */
	__u8 bits;			/* FLAGS: PORTIER_SYNC_FLAGS bits set */
	__u8 pad[2];
	struct portier_flow_key key;
};

/* NEW: the flow's two entries as published (a local flow has no reply
 * entry and sends no event). */
struct portier_sync_new {
	__u8 kind;			/* PORTIER_SYNC_EV_NEW */
	__u8 pad[3];
	struct portier_flow_key key;	/* original direction */
	struct portier_flow_key rkey;	/* reply direction */
	struct portier_flow orig;
	struct portier_flow reply;
};

/* The IPv6 table's events (bpf/conntrack6.h, bpf/nat6.h): the same kinds
 * with this bit set, IPv6 keys and entries. */
#define PORTIER_SYNC_EV_IPV6	0x80

/* FLAGS and DEL of an IPv6 flow (kind PORTIER_SYNC_EV_* | _IPV6). */
struct portier_sync_small6 {
	__u8 kind;
	__u8 bits;
	__u8 pad[2];
	struct portier_flow_key6 key;
};

/* NEW of an IPv6 flow (kind PORTIER_SYNC_EV_NEW | _IPV6): 264 bytes, no
 * hole (the entries' 64-bit fields 8-aligned). */
struct portier_sync_new6 {
	__u8 kind;
	__u8 pad[7];
	struct portier_flow_key6 key;	/* original direction */
	struct portier_flow_key6 rkey;	/* reply direction */
	struct portier_flow6 orig;
	struct portier_flow6 reply;
};

_Static_assert(sizeof(struct portier_sync_small6) == 44, "IPv6 FLAGS/DEL event");
_Static_assert(sizeof(struct portier_sync_new6) == 264, "IPv6 NEW event");

#endif /* PORTIER_H */
