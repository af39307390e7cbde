// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dataplane.c - the skeleton's lifecycle and the route model written into
 * the maps (see dataplane.h). The userspace mirror of what is loaded (routes,
 * backends, port flags) lets pt_dp_apply compute the difference and write
 * it in an order that never shows packets a half state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane.h"
#include "http_check.h"
#include "policy.h"
#include "portier.skel.h"
#include "util.h"

#define NPORTS		65536	/* entries of portier_ports */
#define NS_PER_SEC	1000000000ULL
#define LOCK_TRIES	200	/* writers' lock: 200 tries ... */
#define LOCK_SLEEP_US	50000	/* ... 50 ms apart, 10 s in all */

/* A loaded backend, mirror of its portier_backends slot. */
struct dp_backend {
	bool used;
	__u32 route_id;
	struct pt_addr addr;
	uint16_t port;
	bool local;
	unsigned int state;	/* PT_DP_BE_* */
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
	__u64 generation;		/* portier_state.generation of the mirror */
	bool stale;			/* mirror unknown: re-read before a change */
	bool half_written;		/* the last change failed after it wrote */
	int lock_fd;			/* writers' lock held, or -1 */
	char **warnings;		/* of the last change (pt_dp_warning) */
	size_t n_warnings;
	pt_dp_gc_hook gc_hook;		/* per expired flow, or NULL */
	void *gc_hook_arg;
};

static char last_error[512];
static bool dp_verbose;

static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EINVAL;
}

const char *pt_dp_last_error(const struct pt_dataplane *dp)
{
	(void)dp;
	return last_error;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!dp_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct pt_ct *pt_dp_ct(struct pt_dataplane *dp)
{
	return dp->ct;
}

struct portier *pt_dp_skel(struct pt_dataplane *dp)
{
	return dp->skel;
}

bool pt_dp_adopted(const struct pt_dataplane *dp)
{
	return dp->adopted;
}

/* ---- small map helpers --------------------------------------------------- */

static int map_update(struct bpf_map *m, const void *key, const void *val, const char *what)
{
	if (bpf_map_update_elem(bpf_map__fd(m), key, val, BPF_ANY))
		return fail(-errno, "cannot write %s in map %s: %s", what, bpf_map__name(m),
			    strerror(errno));
	return 0;
}

static int map_delete(struct bpf_map *m, const void *key, const char *what)
{
	if (bpf_map_delete_elem(bpf_map__fd(m), key) && errno != ENOENT)
		return fail(-errno, "cannot delete %s from map %s: %s", what, bpf_map__name(m),
			    strerror(errno));
	return 0;
}

/* Zero one slot of an array, per-CPU or not. */
static int map_zero(struct bpf_map *m, __u32 id)
{
	size_t size = bpf_map__value_size(m);
	enum bpf_map_type t = bpf_map__type(m);
	void *buf;
	int err;

	if (t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH) {
		int ncpus = libbpf_num_possible_cpus();

		if (ncpus < 0)
			return fail(ncpus, "cannot count CPUs");
		size = ((size + 7) & ~(size_t)7) * (size_t)ncpus;
	}
	buf = xcalloc(1, size);
	err = map_update(m, &id, buf, "a reset slot");
	free(buf);
	return err;
}

static void addr_to_bpf(const struct pt_addr *a, struct portier_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->a32[0] = a->v4.s_addr;
}

static void addr_from_bpf(const struct portier_addr *a, struct pt_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->v4.s_addr = a->a32[0];
}

static void svc_key(const struct pt_route *r, struct portier_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!r->wildcard)
		addr_to_bpf(&r->addr, &k->addr);
	k->port = htons(r->port);
	k->proto = r->proto;
	k->family = PORTIER_AF_INET;
}

/* A route's flags; pool_policy: the pool's lists are not empty. */
static __u32 route_flags(const struct pt_route *r, bool pool_policy)
{
	__u32 f = 0;

	if (pool_policy || r->policy.n)
		f |= PORTIER_ROUTE_F_POLICY;
	if (r->rate_limit.rate)
		f |= PORTIER_ROUTE_F_RATE;
	if (r->nat == PT_NAT_DNAT)
		f |= PORTIER_ROUTE_F_DNAT;
	if (r->options & (PT_OPT_HTTPLOG | PT_OPT_TCPLOG))
		f |= PORTIER_ROUTE_F_LOG;
	if (pt_route_syn_cookies(r) == PT_SYN_COOKIES_ON)
		f |= PORTIER_ROUTE_F_COOKIES_ON;
	else if (pt_route_syn_cookies(r) == PT_SYN_COOKIES_AUTO)
		f |= PORTIER_ROUTE_F_COOKIES_AUTO;
	return f;
}

static __u32 port_flag(uint8_t proto, bool service)
{
	if (proto == IPPROTO_UDP)
		return service ? PORTIER_PORT_SVC_UDP : PORTIER_PORT_BE_UDP;
	return service ? PORTIER_PORT_SVC_TCP : PORTIER_PORT_BE_TCP;
}

/* ---- open, load, adopt ----------------------------------------------------- */

/* The maps portier pins, by the names of include/portier.h. */
static struct bpf_map **pinned_maps(struct portier *s, size_t *n)
{
	static struct bpf_map *v[22];

	v[0] = s->maps.portier_config;
	v[1] = s->maps.portier_services;
	v[2] = s->maps.portier_routes;
	v[3] = s->maps.portier_rr;
	v[4] = s->maps.portier_backends;
	v[5] = s->maps.portier_local;
	v[6] = s->maps.portier_ports;
	v[7] = s->maps.portier_conntrack;
	v[8] = s->maps.portier_snat_cursor;
	v[9] = s->maps.portier_tx_ports;
	v[10] = s->maps.portier_route_stats;
	v[11] = s->maps.portier_backend_stats;
	v[12] = s->maps.portier_reasons;
	v[13] = s->maps.portier_route_meta;
	v[14] = s->maps.portier_state;
	v[15] = s->maps.portier_health;
	v[16] = s->maps.portier_ct_slots;
	v[17] = s->maps.portier_syn_guard;
	v[18] = s->maps.portier_synproxy;
	v[19] = s->maps.portier_policy;
	v[20] = s->maps.portier_rate;
	v[21] = s->maps.portier_route_refused;
	*n = ARRAY_SIZE(v);
	return v;
}

int pt_dp_prepare_pin_dir(const char *pin_dir)
{
	char *copy = xstrdup(pin_dir);
	char *parent = dirname(copy);
	struct statfs sf;
	int err = 0;

	if (statfs(parent, &sf))
		err = fail(-errno, "cannot use %s for pins: %s", parent, strerror(errno));
	else if (sf.f_type != BPF_FS_MAGIC &&
		 mount("bpf", parent, "bpf", 0, "mode=0700"))
		err = fail(-errno, "%s is not a bpffs and mounting one failed: %s; "
			   "mount it with 'mount -t bpf bpf %s'", parent, strerror(errno), parent);
	else if (mkdir(pin_dir, 0700) && errno != EEXIST)
		err = fail(-errno, "cannot create pin directory %s: %s", pin_dir,
			   strerror(errno));
	free(copy);
	return err;
}

/* Before load: size each map like its pinned namesake so libbpf reuses it.
 * Returns 1 if a pinned map was found, 0 if none, -errno. */
static int use_pins(struct pt_dataplane *dp)
{
	size_t n;
	struct bpf_map **maps = pinned_maps(dp->skel, &n);
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dp->pin_dir, bpf_map__name(maps[i]));
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_obj_get(path);
		int err = 0;

		if (fd >= 0) {
			found = 1;
			if (bpf_obj_get_info_by_fd(fd, &info, &len))
				err = fail(-errno, "cannot inspect pinned map %s: %s", path,
					   strerror(errno));
			else if (info.max_entries != bpf_map__max_entries(maps[i]))
				err = bpf_map__set_max_entries(maps[i], info.max_entries);
			close(fd);
		} else if (errno != ENOENT) {
			err = fail(-errno, "cannot open pinned map %s: %s", path, strerror(errno));
		}
		/* The kernel adds BPF_F_RDONLY_PROG to every devmap it creates
		 * (and refuses it from userspace): take the pinned flags, or
		 * libbpf sees the pinned devmap as different. */
		if (!err && fd >= 0 && bpf_map__type(maps[i]) == BPF_MAP_TYPE_DEVMAP_HASH)
			err = bpf_map__set_map_flags(maps[i], info.map_flags);
		if (!err)
			err = bpf_map__set_pin_path(maps[i], path);
		free(path);
		if (err)
			return err;
	}
	return found;
}

static unsigned int state_from_flags(__u32 flags)
{
	return (flags & PORTIER_BACKEND_F_DRAINED ? PT_DP_BE_DRAINED : 0) |
	       (flags & PORTIER_BACKEND_F_DOWN ? PT_DP_BE_DOWN : 0);
}

static __u32 flags_from_state(unsigned int state)
{
	return (state & PT_DP_BE_DRAINED ? PORTIER_BACKEND_F_DRAINED : 0) |
	       (state & PT_DP_BE_DOWN ? PORTIER_BACKEND_F_DOWN : 0);
}

static void mirror_clear(struct pt_dataplane *dp)
{
	for (size_t i = 0; i < PORTIER_MAX_ROUTES; i++) {
		free(dp->routes[i].be);
		pt_policy_free(&dp->routes[i].policy);
	}
	pt_policy_free(&dp->pool_policy);
	free(dp->trie);
	dp->trie = NULL;
	dp->n_trie = 0;
	memset(dp->routes, 0, PORTIER_MAX_ROUTES * sizeof(*dp->routes));
	memset(dp->backends, 0, PORTIER_MAX_BACKENDS * sizeof(*dp->backends));
}

/* Read every element of an array map into out (n values of size sz). */
static void array_read(struct bpf_map *m, __u32 n, size_t sz, void *out)
{
	int fd = bpf_map__fd(m);
	__u32 count = n, out_batch = 0;
	__u32 *keys = xcalloc(n, sizeof(*keys));

	/* One batch syscall where the kernel has it, else one per element. */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, out, &count, NULL) &&
	    (errno != ENOENT || count != n))
		for (__u32 k = 0; k < n; k++)
			if (bpf_map_lookup_elem(fd, &k, (char *)out + k * sz))
				memset((char *)out + k * sz, 0, sz);
	free(keys);
}

/* The policy part of the mirror from portier_policy (every element, sorted)
 * and the routes' metadata (rate limits); entries of a scope no loaded
 * route has are left in dp->trie for the next apply to delete. */
static void resync_policy(struct pt_dataplane *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.portier_policy);
	struct portier_policy_key key, next;
	void *prev = NULL;

	while (dp->n_trie < PORTIER_MAX_POLICY && !bpf_map_get_next_key(fd, prev, &next)) {
		struct pt_policy_item it = { .key = next };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &it.rule))
			continue;
		dp->trie = xrealloc(dp->trie, (dp->n_trie + 1) * sizeof(*dp->trie));
		dp->trie[dp->n_trie++] = it;
	}
	if (dp->n_trie)
		qsort(dp->trie, dp->n_trie, sizeof(*dp->trie), pt_policy_item_cmp);
	for (size_t i = 0; i < dp->n_trie; i++) {
		__u32 scope = dp->trie[i].key.scope;

		if (scope == PORTIER_POLICY_POOL)
			pt_policy_decompile(&dp->trie[i], &dp->pool_policy);
		else if (scope < PORTIER_MAX_ROUTES && dp->routes[scope].used)
			pt_policy_decompile(&dp->trie[i], &dp->routes[scope].policy);
	}
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		struct dp_route *r = &dp->routes[id];

		if (!r->used || !r->named || !r->meta.rl_rate)
			continue;
		r->rl.rate = r->meta.rl_rate;
		r->rl.per_ms = r->meta.rl_per_ms;
		r->rl.burst = r->meta.rl_burst;
		r->rl.runtime = r->meta.rl_origin == PORTIER_ORIGIN_RUNTIME;
	}
}

/* Rebuild the mirror from the maps, the single source of truth: routes by
 * their services, named by portier_route_meta (a route without metadata,
 * from pins of an older version, is matched by its listen key at the next
 * apply); backends with their state bits. */
static int resync(struct pt_dataplane *dp)
{
	struct portier *s = dp->skel;
	struct portier_svc_key key, next;
	struct portier_svc svc;
	struct portier_route *rt = xmalloc(sizeof(*rt));
	struct portier_backend *bes = xcalloc(PORTIER_MAX_BACKENDS, sizeof(*bes));
	struct portier_state st = {};
	int svc_fd = bpf_map__fd(s->maps.portier_services);
	void *prev = NULL;

	bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_state), &(__u32){ 0 }, &st);
	mirror_clear(dp);
	array_read(s->maps.portier_backends, PORTIER_MAX_BACKENDS, sizeof(*bes), bes);
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS; id++) {
		struct portier_backend *b = &bes[id];
		struct dp_backend *db = &dp->backends[id];

		if (!(b->flags & PORTIER_BACKEND_F_USED) || b->route_id >= PORTIER_MAX_ROUTES)
			continue;
		db->used = true;
		db->route_id = b->route_id;
		addr_from_bpf(&b->addr, &db->addr);
		db->port = ntohs(b->port);
		db->local = b->flags & PORTIER_BACKEND_F_LOCAL;
		db->state = state_from_flags(b->flags);
	}
	free(bes);
	while (!bpf_map_get_next_key(svc_fd, prev, &next)) {
		struct dp_route *r;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(svc_fd, &key, &svc) || svc.route_id >= PORTIER_MAX_ROUTES)
			continue;
		r = &dp->routes[svc.route_id];
		r->used = true;
		r->key = key;
		if (!bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_routes), &svc.route_id, rt))
			r->flags = rt->flags;
		r->named = !bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_route_meta),
						&svc.route_id, &r->meta) &&
			   !memcmp(&r->meta.key, &key, sizeof(key));
		if (!r->named) {	/* pins of an older version: a made-up name */
			memset(&r->meta, 0, sizeof(r->meta));
			snprintf(r->meta.name, sizeof(r->meta.name), "route-%u", svc.route_id);
			snprintf(r->meta.mode, sizeof(r->meta.mode), "tcp");
			r->meta.key = key;
			r->meta.nat = r->flags & PORTIER_ROUTE_F_DNAT ? PT_NAT_DNAT : PT_NAT_SNAT;
		}
		r->meta.name[PORTIER_ROUTE_NAME_MAX - 1] = '\0';
		r->meta.mode[PORTIER_ROUTE_MODE_MAX - 1] = '\0';
	}
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS; id++) {
		struct dp_backend *db = &dp->backends[id];
		struct dp_route *r = &dp->routes[db->route_id];

		if (!db->used)
			continue;
		if (!r->used) {	/* orphan: no service names its route */
			db->used = false;
			continue;
		}
		r->be = xrealloc(r->be, (r->n_be + 1) * sizeof(*r->be));
		r->be[r->n_be++] = id;
	}
	resync_policy(dp);
	array_read(s->maps.portier_ports, NPORTS, sizeof(*dp->ports), dp->ports);
	bpf_map_lookup_elem(bpf_map__fd(s->maps.portier_config), &(__u32){ 0 }, &dp->cfg);
	free(rt);
	dp->generation = st.generation;
	dp->stale = false;
	return 0;
}

/* Map the connection table. A pinned table laid out as this version
 * places keys keeps its seed. A new one, or one laid out otherwise (an
 * older version's), gets its geometry and a random seed, written at once,
 * before any program can insert, and is emptied, if may_reset (the daemon,
 * which loads the program that reads it); a CLI refuses rather than change
 * the table under a running program of another version. */
static int ct_setup(struct pt_dataplane *dp, bool may_reset)
{
	struct bpf_map *m = dp->skel->maps.portier_conntrack;
	struct bpf_map *sl = dp->skel->maps.portier_ct_slots;
	__u32 buckets = bpf_map__max_entries(m);
	bool fresh, stale;
	int err;

	if (bpf_map__max_entries(sl) != (__u64)buckets * PORTIER_CT_SLOTS)
		return fail(-EINVAL, "the connection table has %u buckets but %u slots; "
			    "'portier prog detach' removes the mismatched pins",
			    buckets, bpf_map__max_entries(sl));
	/* A new table, or one laid out otherwise (another size, or an older
	 * version's placement): a new seed, and nothing of it is found any
	 * more, so empty it once it is mapped. */
	stale = dp->cfg.ct_buckets || dp->cfg.ct_seed;
	fresh = dp->cfg.ct_buckets != buckets || !dp->cfg.ct_seed ||
		dp->cfg.ct_step != portier_ct_step_for(buckets);
	if (fresh && !may_reset)
		return fail(-EPROTO, "the pinned connection table in %s is laid out by another "
			    "portier version; restart the daemon with this version first",
			    dp->pin_dir);
	if (fresh) {
		dp->cfg.ct_buckets = buckets;
		dp->cfg.ct_step = portier_ct_step_for(buckets);
		if (getrandom(&dp->cfg.ct_seed, sizeof(dp->cfg.ct_seed), 0) !=
		    sizeof(dp->cfg.ct_seed))
			return fail(-errno, "cannot seed the connection table's hash: %s",
				    strerror(errno));
		err = map_update(dp->skel->maps.portier_config, &(__u32){ 0 }, &dp->cfg,
				 "the configuration");
		if (err)
			return err;
	}
	err = pt_ct_open(bpf_map__fd(m), bpf_map__fd(sl), buckets, dp->cfg.ct_seed, &dp->ct);
	if (err)
		return fail(err, "cannot map the connection table: %s", strerror(-err));
	if (fresh && stale)
		return pt_ct_flush(dp->ct, NULL);
	return 0;
}

/* A new handle on pin_dir (NULL: the default), empty, with the BPF object
 * opened but not loaded. *out is set even on error, for pt_dp_close. */
static int dp_new(bool pin, const char *pin_dir, struct pt_dataplane **out)
{
	struct pt_dataplane *dp = xcalloc(1, sizeof(*dp));

	*out = dp;
	last_error[0] = '\0';
	libbpf_set_print(libbpf_print);
	dp->link_fd[0] = dp->link_fd[1] = -1;
	dp->lock_fd = -1;
	dp->pin = pin;
	dp->pin_dir = xstrdup(pin_dir ? pin_dir : PORTIER_PIN_DIR_DEFAULT);
	dp->routes = xcalloc(PORTIER_MAX_ROUTES, sizeof(*dp->routes));
	dp->backends = xcalloc(PORTIER_MAX_BACKENDS, sizeof(*dp->backends));
	dp->ports = xcalloc(NPORTS, sizeof(*dp->ports));
	pt_dp_config_defaults(&dp->cfg);
	dp->skel = portier__open();
	if (!dp->skel)
		return fail(-errno, "cannot open the BPF object: %s", strerror(errno));
	return 0;
}

int pt_dp_open(const struct pt_dp_opts *opts, struct pt_dataplane **out)
{
	struct pt_dataplane *dp;
	int err, found = 0;
	__u32 buckets;

	dp_verbose = opts->verbose;
	err = dp_new(opts->pin, opts->pin_dir, &dp);
	if (err)
		goto fail;
	buckets = portier_ct_buckets_for(opts->ct_entries ? opts->ct_entries :
					 PORTIER_CT_DEFAULT_ENTRIES);
	err = bpf_map__set_max_entries(dp->skel->maps.portier_conntrack, buckets);
	if (!err)
		err = bpf_map__set_max_entries(dp->skel->maps.portier_ct_slots,
					       buckets * PORTIER_CT_SLOTS);
	/* Cookie flows: at most one per two table entries; twice that room. */
	if (!err)
		err = bpf_map__set_max_entries(dp->skel->maps.portier_synproxy,
					       portier_ct_capacity(buckets));
	if (err) {
		fail(err, "cannot size the connection table: %s", strerror(-err));
		goto fail;
	}
	err = bpf_map__set_max_entries(dp->skel->maps.portier_connlog,
				       opts->connlog_bytes ? opts->connlog_bytes :
				       PORTIER_CONNLOG_RING_DEFAULT);
	if (err) {
		fail(err, "cannot size the connection log ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (dp->pin) {
		err = pt_dp_prepare_pin_dir(dp->pin_dir);
		if (!err)
			err = found = use_pins(dp);
		if (err < 0)
			goto fail;
	}
	err = portier__load(dp->skel);
	if (err) {
		fail(err, "cannot load the BPF program: %s%s", strerror(-err),
		     found ? "; the pinned maps may come from an incompatible version: "
			     "'portier prog detach' removes them (and cuts every flow)" :
		     dp_verbose ? "" : "; run with -v for the verifier log");
		goto fail;
	}
	if (found) {
		err = resync(dp);
		if (err)
			goto fail;
		dp->adopted = true;
	}
	err = ct_setup(dp, true);
	if (err)
		goto fail;
	*out = dp;
	return 0;
fail:
	pt_dp_close(dp);
	*out = NULL;
	return err;
}

/* Whether the pinned map fd has m's type, key and value sizes (libbpf
 * checks that when it loads a program; a CLI loads none). */
static bool pinned_map_fits(const struct bpf_map *m, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(m) &&
	       info.key_size == bpf_map__key_size(m) && info.value_size == bpf_map__value_size(m);
}

int pt_dp_open_pinned(const char *pin_dir, struct pt_dataplane **out)
{
	struct pt_dataplane *dp;
	struct bpf_map **maps;
	size_t n;
	int err;

	err = dp_new(true, pin_dir, &dp);
	if (err)
		goto fail;
	maps = pinned_maps(dp->skel, &n);
	for (size_t i = 0; i < n && !err; i++) {
		char *path = xasprintf("%s/%s", dp->pin_dir, bpf_map__name(maps[i]));
		int fd = bpf_obj_get(path);

		if (fd < 0 && errno == ENOENT)
			err = fail(-ENOENT, "no portier data plane is pinned in %s (%s is "
				   "missing); start 'portier daemon', or give its --bpffs DIR",
				   dp->pin_dir,
				   bpf_map__name(maps[i]));
		else if (fd < 0)
			err = fail(-errno, "cannot open pinned map %s: %s%s", path, strerror(errno),
				   errno == EPERM || errno == EACCES ? "; run as root" : "");
		else if (!pinned_map_fits(maps[i], fd))
			err = fail(-EPROTO, "pinned map %s comes from another portier version "
				   "(its key, value or type differs); restart the daemon with "
				   "this version first", path);
		else if (bpf_map__reuse_fd(maps[i], fd) || bpf_map__set_pin_path(maps[i], path))
			err = fail(-errno, "cannot use pinned map %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
	}
	if (!err)
		err = resync(dp);
	if (!err)
		err = ct_setup(dp, false);
	if (err)
		goto fail;
	dp->adopted = true;
	*out = dp;
	return 0;
fail:
	pt_dp_close(dp);
	*out = NULL;
	return err;
}

void pt_dp_close(struct pt_dataplane *dp)
{
	if (!dp)
		return;
	for (int i = 0; i < 2; i++)
		if (dp->link_fd[i] >= 0)
			close(dp->link_fd[i]);
	if (dp->lock_fd >= 0)
		close(dp->lock_fd);
	pt_ct_close(dp->ct);
	portier__destroy(dp->skel);
	if (dp->routes)
		mirror_clear(dp);
	for (size_t i = 0; i < dp->n_warnings; i++)
		free(dp->warnings[i]);
	free(dp->warnings);
	free(dp->routes);
	free(dp->backends);
	free(dp->ports);
	free(dp->pin_dir);
	free(dp);
}

/* ---- config, interfaces, local addresses --------------------------------- */

void pt_dp_config_defaults(struct portier_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->snat_port_min = PORTIER_SNAT_PORT_MIN_DEFAULT;
	cfg->snat_port_max = PORTIER_SNAT_PORT_MAX_DEFAULT;
	cfg->tmo_tcp_syn = PORTIER_TMO_TCP_SYN_DEFAULT;
	cfg->tmo_tcp_est = PORTIER_TMO_TCP_EST_DEFAULT;
	cfg->tmo_tcp_close = PORTIER_TMO_TCP_CLOSE_DEFAULT;
	cfg->tmo_udp = PORTIER_TMO_UDP_DEFAULT;
	cfg->syn_rate = PORTIER_SYN_RATE_DEFAULT;
	cfg->syn_mss = PORTIER_SYN_MSS_DEFAULT;
	cfg->syn_wscale = PORTIER_SYN_WSCALE_DEFAULT;
}

int pt_dp_set_config(struct pt_dataplane *dp, const struct portier_config *cfg)
{
	struct portier *s = dp->skel;
	__u32 zero = 0;
	__u32 ifs[2] = { cfg->input_ifindex, cfg->output_ifindex };
	struct portier_config c;
	int err;

	if (cfg->snat_port_min == 0 || cfg->snat_port_min > cfg->snat_port_max)
		return fail(-EINVAL, "SNAT port range %u-%u is empty or starts at 0",
			    cfg->snat_port_min, cfg->snat_port_max);
	for (int i = 0; i < 2; i++) {
		if (!ifs[i])
			continue;
		err = map_update(s->maps.portier_tx_ports, &ifs[i], &ifs[i], "an interface");
		if (err)
			return err;
	}
	c = *cfg;
	c.ct_buckets = dp->cfg.ct_buckets;
	c.ct_step = dp->cfg.ct_step;
	c.ct_seed = dp->cfg.ct_seed;
	err = map_update(s->maps.portier_config, &zero, &c, "the configuration");
	if (!err)
		dp->cfg = c;
	return err;
}

const struct portier_config *pt_dp_config(const struct pt_dataplane *dp)
{
	return &dp->cfg;
}

int pt_dp_set_local(struct pt_dataplane *dp, const struct pt_addr *addrs, size_t n)
{
	int fd = bpf_map__fd(dp->skel->maps.portier_local);
	struct portier_addr key, next, *stale = NULL;
	size_t n_stale = 0;
	void *prev = NULL;
	__u32 one = 1;
	int err = 0;

	if (n > PORTIER_MAX_LOCAL_ADDRS)
		return fail(-E2BIG, "%zu local addresses, at most %d", n,
			    PORTIER_MAX_LOCAL_ADDRS);
	/* Add first, then remove what is gone: no address is ever missing. */
	for (size_t i = 0; i < n && !err; i++) {
		if (addrs[i].family != AF_INET)
			continue;
		addr_to_bpf(&addrs[i], &key);
		err = map_update(dp->skel->maps.portier_local, &key, &one, "a local address");
	}
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		bool keep = false;

		key = next;
		prev = &key;
		for (size_t i = 0; i < n && !keep; i++) {
			struct portier_addr a;

			addr_to_bpf(&addrs[i], &a);
			keep = addrs[i].family == AF_INET && !memcmp(&a, &key, sizeof(a));
		}
		if (!keep) {
			stale = xrealloc(stale, (n_stale + 1) * sizeof(*stale));
			stale[n_stale++] = key;
		}
	}
	for (size_t i = 0; i < n_stale && !err; i++)
		err = map_delete(dp->skel->maps.portier_local, &stale[i], "a local address");
	free(stale);
	return err;
}

/* Is interface name (or address label "name:label") the input NIC? Any
 * interface is while no input NIC is set. */
static bool on_input_nic(const struct pt_dataplane *dp, const char *name)
{
	char dev[IF_NAMESIZE];
	size_t len = strcspn(name, ":");

	if (!dp->cfg.input_ifindex)
		return true;
	if (len >= sizeof(dev))
		return false;
	memcpy(dev, name, len);
	dev[len] = '\0';
	return if_nametoindex(dev) == dp->cfg.input_ifindex;
}

/* Only the input NIC's addresses: a "*" route is for the clients' side. A
 * peer gateway that forwards to this host as a backend sends to its
 * output-side address; that traffic goes to the local stack (the NodePort
 * behind it), not round the balancer a second time. */
int pt_dp_refresh_local(struct pt_dataplane *dp)
{
	struct ifaddrs *ifa, *i;
	struct pt_addr *v = NULL;
	size_t n = 0;
	int err;

	if (getifaddrs(&ifa))
		return fail(-errno, "cannot list this host's addresses: %s", strerror(errno));
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !on_input_nic(dp, i->ifa_name))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].family = AF_INET;
		v[n].v4 = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		n++;
	}
	freeifaddrs(ifa);
	err = pt_dp_set_local(dp, v, n);
	free(v);
	return err;
}

/* ---- apply ------------------------------------------------------------------ */

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

static void plan_free(struct plan *p)
{
	for (size_t i = 0; p->be_id && i < p->n; i++)
		free(p->be_id[i]);
	free(p->be_id);
	free(p->route_id);
	free(p->route_kept);
	free(p->route_taken);
	free(p->be_kept);
	free(p->be_taken);
	free(p->ports);
	free(p->trie);
}

/* Every entry of a policy is an IPv4 network without host bits. */
static int validate_policy(const struct pt_policy *pol, const char *whose)
{
	for (size_t i = 0; i < pol->n; i++) {
		const struct pt_cidr *c = &pol->v[i].net;
		char buf[PT_CIDR_BUF];

		if (c->addr.family != AF_INET || c->len > 32)
			return fail(-EINVAL, "%s: policy entry %zu is not an IPv4 network", whose, i);
		if (c->len < 32 && (ntohl(c->addr.v4.s_addr) & (~0U >> c->len)))
			return fail(-EINVAL, "%s: %s has host bits set; give the network address",
				    whose, pt_cidr_str(c, buf, sizeof(buf)));
	}
	return 0;
}

static int validate(const struct pt_routeset *rs)
{
	int err;

	if (rs->n_routes > PORTIER_MAX_ROUTES)
		return fail(-E2BIG, "%zu routes, at most %d", rs->n_routes, PORTIER_MAX_ROUTES);
	err = validate_policy(&rs->pool_policy, "the pool");
	if (err)
		return err;
	for (size_t i = 0; i < rs->n_routes; i++) {
		const struct pt_route *r = &rs->routes[i];
		char *whose = xasprintf("route '%s'", r->name ? r->name : "?");
		const char *why;

		err = validate_policy(&r->policy, whose);
		free(whose);
		if (err)
			return err;
		if (r->rate_limit.rate && pt_rate_limit_check(&r->rate_limit, &why))
			return fail(-EINVAL, "route '%s': rate limit: %s", r->name, why);

		if (!r->name || !*r->name)
			return fail(-EINVAL, "route %zu has no name", i);
		if (strlen(r->name) >= PORTIER_ROUTE_NAME_MAX)
			return fail(-ENAMETOOLONG, "route name '%s' is longer than %d characters",
				    r->name, PORTIER_ROUTE_NAME_MAX - 1);
		if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
			return fail(-EINVAL, "route '%s': protocol %u is not tcp or udp",
				    r->name, r->proto);
		if (!r->wildcard && r->addr.family != AF_INET)
			return fail(-EAFNOSUPPORT, "route '%s': only IPv4 addresses for now",
				    r->name);
		if (!r->wildcard && !r->addr.v4.s_addr)
			return fail(-EINVAL, "route '%s': address 0.0.0.0 is not one address; "
				    "use \"*\" for every address on the input side", r->name);
		if (!r->port)
			return fail(-EINVAL, "route '%s': port 0", r->name);
		if (r->n_backends > PORTIER_MAX_ROUTE_BACKENDS)
			return fail(-E2BIG, "route '%s': %zu backends, at most %d", r->name,
				    r->n_backends, PORTIER_MAX_ROUTE_BACKENDS);
		for (size_t j = 0; j < r->n_backends; j++) {
			const struct pt_backend *b = &r->backends[j];

			if (b->addr.family != AF_INET)
				return fail(-EAFNOSUPPORT, "route '%s': backend %zu is not IPv4",
					    r->name, j);
			if (!b->port)
				return fail(-EINVAL, "route '%s': backend %zu has port 0",
					    r->name, j);
			if (b->local && b->port != r->port) {
				char a[INET6_ADDRSTRLEN];

				return fail(-EINVAL, "route '%s': backend %s:%u is this host, but "
					    "the route listens on port %u: local traffic is "
					    "delivered unchanged, so a local backend must use the "
					    "listening port", r->name,
					    pt_addr_str(&b->addr, a, sizeof(a)), b->port, r->port);
			}
			for (size_t k = 0; k < j; k++)
				if (pt_addr_equal(&b->addr, &r->backends[k].addr) &&
				    b->port == r->backends[k].port)
					return fail(-EINVAL, "route '%s': backend %zu repeats "
						    "backend %zu", r->name, j, k);
		}
		for (size_t k = 0; k < i; k++) {
			const struct pt_route *o = &rs->routes[k];
			struct portier_svc_key a, b;

			if (!strcmp(o->name, r->name))
				return fail(-EINVAL, "route '%s' is declared twice", r->name);
			svc_key(r, &a);
			svc_key(o, &b);
			if (!memcmp(&a, &b, sizeof(a)))
				return fail(-EINVAL, "routes '%s' and '%s' listen on the same "
					    "address, port and protocol", o->name, r->name);
		}
	}
	return 0;
}

static int take_free(bool *taken, size_t n, __u32 *id)
{
	for (size_t i = 0; i < n; i++)
		if (!taken[i]) {
			taken[i] = true;
			*id = i;
			return 0;
		}
	return -ENOSPC;
}

/* Mark each port that has exactly one service of rs with that service
 * (PORTIER_PORT_ONE_SVC): the program then takes its route from the port
 * filter's entry instead of a portier_services lookup. */
static void one_services(const struct pt_routeset *rs, struct plan *p)
{
	uint16_t *n = xcalloc(NPORTS, sizeof(*n));
	size_t *at = xcalloc(NPORTS, sizeof(*at));

	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];

		if (n[r->port] < UINT16_MAX)
			n[r->port]++;
		at[r->port] = i;
	}
	for (size_t port = 0; port < NPORTS; port++) {
		const struct pt_route *r = &rs->routes[at[port]];
		struct portier_port *pp = &p->ports[port];

		if (n[port] != 1 || (!r->wildcard && r->addr.family != AF_INET))
			continue;
		pp->flags |= PORTIER_PORT_ONE_SVC;
		pp->svc_addr = r->wildcard ? 0 : r->addr.v4.s_addr;
		pp->svc_route = (__u16)p->route_id[at[port]];
		pp->svc_proto = r->proto;
	}
	free(n);
	free(at);
}

/* Match the set against what is loaded; allocate ids for the rest. */
static int plan_make(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p)
{
	p->n = rs->n_routes;
	p->route_id = xcalloc(p->n + 1, sizeof(*p->route_id));
	p->be_id = xcalloc(p->n + 1, sizeof(*p->be_id));
	p->route_kept = xcalloc(PORTIER_MAX_ROUTES, sizeof(bool));
	p->route_taken = xcalloc(PORTIER_MAX_ROUTES, sizeof(bool));
	p->be_kept = xcalloc(PORTIER_MAX_BACKENDS, sizeof(bool));
	p->be_taken = xcalloc(PORTIER_MAX_BACKENDS, sizeof(bool));
	p->ports = xcalloc(NPORTS, sizeof(*p->ports));

	for (size_t i = 0; i < PORTIER_MAX_ROUTES; i++)
		p->route_taken[i] = dp->routes[i].used;
	for (size_t i = 0; i < PORTIER_MAX_BACKENDS; i++)
		p->be_taken[i] = dp->backends[i].used;

	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];
		struct portier_svc_key k;
		bool found = false;

		svc_key(r, &k);
		p->be_id[i] = xcalloc(r->n_backends + 1, sizeof(__u32));
		for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !found; id++) {
			struct dp_route *o = &dp->routes[id];

			if (o->used && !p->route_kept[id] && !memcmp(&o->key, &k, sizeof(k)) &&
			    (!o->named || !strcmp(o->meta.name, r->name))) {
				p->route_kept[id] = found = true;
				p->route_id[i] = id;
			}
		}
		if (!found && take_free(p->route_taken, PORTIER_MAX_ROUTES, &p->route_id[i]))
			return fail(-ENOSPC, "no free route id: more than %d routes loaded and "
				    "being replaced at once; apply in two steps",
				    PORTIER_MAX_ROUTES);
		p->ports[r->port].flags |= port_flag(r->proto, true);
		if (route_flags(r, rs->pool_policy.n) & (PORTIER_ROUTE_F_POLICY | PORTIER_ROUTE_F_RATE))
			p->ports[r->port].flags |= PORTIER_PORT_ADMIT;
		for (size_t j = 0; j < r->n_backends; j++) {
			const struct pt_backend *b = &r->backends[j];
			struct dp_route *o = &dp->routes[p->route_id[i]];

			found = false;
			p->ports[b->port].flags |= port_flag(r->proto, false);
			for (size_t m = 0; found == false && p->route_kept[p->route_id[i]] &&
			     m < o->n_be; m++) {
				struct dp_backend *ob = &dp->backends[o->be[m]];

				if (pt_addr_equal(&ob->addr, &b->addr) && ob->port == b->port) {
					p->be_kept[o->be[m]] = found = true;
					p->be_id[i][j] = o->be[m];
				}
			}
			if (!found && take_free(p->be_taken, PORTIER_MAX_BACKENDS, &p->be_id[i][j]))
				return fail(-ENOSPC, "no free backend id: more than %d backends "
					    "loaded and being replaced at once; apply in two steps",
					    PORTIER_MAX_BACKENDS);
		}
	}
	one_services(rs, p);

	/* The policy trie of the set, with the plan's route ids. */
	pt_policy_compile(&rs->pool_policy, PORTIER_POLICY_POOL, &p->trie, &p->n_trie);
	for (size_t i = 0; i < p->n; i++)
		pt_policy_compile(&rs->routes[i].policy, p->route_id[i], &p->trie, &p->n_trie);
	if (p->n_trie > PORTIER_MAX_POLICY)
		return fail(-E2BIG, "the allow and deny lists make %zu policy entries, at most "
			    "%d; merge networks into shorter prefixes", p->n_trie,
			    PORTIER_MAX_POLICY);
	if (p->n_trie)
		qsort(p->trie, p->n_trie, sizeof(*p->trie), pt_policy_item_cmp);
	return 0;
}

/* A route's rotation from its flags, rate limit, backend ids and their
 * states. */
static void rotation(const struct pt_dataplane *dp, __u32 flags, const struct pt_rate_limit *rl,
		     const __u32 *ids, size_t n, const unsigned int *state,
		     struct portier_route *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = flags;
	if (flags & PORTIER_ROUTE_F_RATE) {
		out->rl_burst = rl->burst;
		out->rl_interval_ns = pt_rate_interval_ns(rl);
	}
	for (size_t i = 0; i < n; i++)
		if (!(state ? state[i] : dp->backends[ids[i]].state))
			out->active[out->n_active++] = ids[i];
}

/* Write one port's entry if it changes. */
static int write_port(struct pt_dataplane *dp, __u32 port, const struct portier_port *v)
{
	int err;

	if (!memcmp(&dp->ports[port], v, sizeof(*v)))
		return 0;
	err = map_update(dp->skel->maps.portier_ports, &port, v, "port flags");
	if (!err)
		dp->ports[port] = *v;
	return err;
}

/* Write the entries of want that change. An array map's value is copied
 * field by field under the program's reads: a port's only service is
 * written with PORTIER_PORT_ONE_SVC clear, then the bit is set, so that
 * the program never takes a half-written service. */
static int write_ports(struct pt_dataplane *dp, const struct portier_port *want)
{
	for (__u32 port = 0; port < NPORTS; port++) {
		struct portier_port first = want[port];
		int err = 0;

		first.flags &= ~PORTIER_PORT_ONE_SVC;
		if (memcmp(&dp->ports[port], &want[port], sizeof(*want)))
			err = write_port(dp, port, &first);
		if (!err)
			err = write_port(dp, port, &want[port]);
		if (err)
			return err;
	}
	return 0;
}

/* Add b's counts to *t. */
static void stats_add(struct portier_stats *t, const struct portier_stats *b)
{
	for (int d = 0; d < 2; d++) {
		t->packets[d] += b->packets[d];
		t->bytes[d] += b->bytes[d];
	}
	t->flows += b->flows;
}

int pt_stats_sum(struct bpf_map *m, __u32 id, struct portier_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_stats *v;
	int err;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	err = bpf_map_lookup_elem(bpf_map__fd(m), &id, v) ? -errno : 0;
	for (int c = 0; c < ncpu && !err; c++)
		stats_add(out, &v[c]);
	free(v);
	return err;
}

int pt_route_stats_sum(struct portier *skel, const struct pt_dp_route_view *v,
		       struct portier_stats *out)
{
	struct portier_stats b;
	int err = pt_stats_sum(skel->maps.portier_route_stats, v->id, out);

	for (size_t i = 0; i < v->n_be && !err; i++) {
		err = pt_stats_sum(skel->maps.portier_backend_stats, v->be[i].id, &b);
		if (!err)
			stats_add(out, &b);
	}
	return err;
}

/* A backend leaves route_id for good: add what it counted to the route's
 * retired totals (portier_route_stats, which only userspace writes), so the
 * route's sums do not go back. Its own slot is zeroed when reused. */
static int fold_backend_stats(struct pt_dataplane *dp, __u32 be_id, __u32 route_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_stats be, *rt;
	int err;

	if (ncpu <= 0)
		return fail(ncpu ? ncpu : -EINVAL, "cannot count CPUs");
	rt = xcalloc((size_t)ncpu, sizeof(*rt));
	err = pt_stats_sum(dp->skel->maps.portier_route_stats, route_id, &rt[0]);
	if (!err)
		err = pt_stats_sum(dp->skel->maps.portier_backend_stats, be_id, &be);
	if (err) {
		fail(err, "cannot read the counters of backend %u: %s", be_id, strerror(-err));
	} else {
		stats_add(&rt[0], &be);
		err = map_update(dp->skel->maps.portier_route_stats, &route_id, rt,
				 "a route's retired counters");
	}
	free(rt);
	return err;
}

static int is_dead_backend(const struct portier_flow_key *k, const struct portier_flow *f,
			   void *dead)
{
	(void)k;
	return ((const bool *)dead)[f->backend_id] ? PT_CT_DELETE : PT_CT_KEEP;
}

/* Delete every conntrack entry (both directions) of the marked backends. */
static int ct_delete_backends(struct pt_dataplane *dp, const bool *dead)
{
	int err = pt_ct_walk(dp->ct, is_dead_backend, (void *)dead, NULL);

	return err ? fail(err, "cannot delete the flows of removed backends: %s",
			  strerror(-err)) : 0;
}

/* A route's metadata as stored in portier_route_meta. */
static void route_meta(const struct pt_route *r, __u8 origin, struct portier_route_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", r->name);
	snprintf(m->mode, sizeof(m->mode), "%s", r->mode ? r->mode : "tcp");
	svc_key(r, &m->key);
	m->options = r->options;
	m->nat = r->nat;
	m->balance = r->balance;
	m->origin = origin;
	m->syn_cookies = r->syn_cookies;
	pt_check_to_meta(&r->check, m);
	m->dest_port = r->dest_port;
	if (r->rate_limit.rate) {
		m->rl_rate = r->rate_limit.rate;
		m->rl_per_ms = r->rate_limit.per_ms;
		m->rl_burst = r->rate_limit.burst;
		m->rl_origin = r->rate_limit.runtime ? PORTIER_ORIGIN_RUNTIME :
						      PORTIER_ORIGIN_INVENTORY;
	}
}

/* The element of sorted v (n of them) with it's key, or NULL. */
static const struct pt_policy_item *trie_find(const struct pt_policy_item *v, size_t n,
					      const struct pt_policy_item *it)
{
	return n ? bsearch(it, v, n, sizeof(*v), pt_policy_item_cmp) : NULL;
}

/* Write the plan's policy elements that are new or changed and whose
 * decision is action: denials first, so that a change never admits for a
 * moment what both the old and the new lists refuse. */
static int policy_write(struct pt_dataplane *dp, const struct plan *p, __u8 action)
{
	for (size_t i = 0; i < p->n_trie; i++) {
		const struct pt_policy_item *it = &p->trie[i];
		const struct pt_policy_item *old = trie_find(dp->trie, dp->n_trie, it);
		int err;

		if (it->rule.action != action ||
		    (old && !memcmp(&old->rule, &it->rule, sizeof(it->rule))))
			continue;
		err = map_update(dp->skel->maps.portier_policy, &it->key, &it->rule,
				 "a policy entry");
		if (err)
			return err;
	}
	return 0;
}

/* Delete the elements of portier_policy that the plan has not. */
static int policy_delete_gone(struct pt_dataplane *dp, const struct plan *p)
{
	for (size_t i = 0; i < dp->n_trie; i++) {
		int err;

		if (trie_find(p->trie, p->n_trie, &dp->trie[i]))
			continue;
		err = map_delete(dp->skel->maps.portier_policy, &dp->trie[i].key,
				 "a policy entry");
		if (err)
			return err;
	}
	return 0;
}

/* Write the plan into the maps, in the order described in dataplane.h. */
static int plan_write(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p)
{
	struct portier *s = dp->skel;
	struct portier_route *rt = xmalloc(sizeof(*rt));
	struct portier_port *ports = xcalloc(NPORTS, sizeof(*ports));
	bool *dead = xcalloc(PORTIER_MAX_BACKENDS, sizeof(bool));
	int err = 0;

	/* 1. Ports of both sets: nothing declared before or after passes as
	 * undeclared in between. A port's only service stays only where both
	 * sets name the same one: elsewhere the program looks services up in
	 * portier_services until step 8. */
	for (size_t i = 0; i < NPORTS; i++) {
		if (!memcmp(&p->ports[i], &dp->ports[i], sizeof(ports[i]))) {
			ports[i] = p->ports[i];
		} else {	/* the old service's fields stay: only the bit goes */
			ports[i] = dp->ports[i];
			ports[i].flags = (p->ports[i].flags | dp->ports[i].flags) &
					 ~PORTIER_PORT_ONE_SVC;
		}
	}
	err = write_ports(dp, ports);

	/* 2. Backends, before any rotation names them. */
	for (size_t i = 0; i < p->n && !err; i++) {
		const struct pt_route *r = &rs->routes[i];

		for (size_t j = 0; j < r->n_backends && !err; j++) {
			__u32 id = p->be_id[i][j];
			struct dp_backend *ob = &dp->backends[id];
			struct portier_backend b = {};

			if (p->be_kept[id] && ob->local == r->backends[j].local)
				continue;
			if (p->be_kept[id])
				b.flags = flags_from_state(ob->state);
			if (!p->be_kept[id]) {
				err = map_zero(s->maps.portier_backend_stats, id);
				if (!err)
					err = map_zero(s->maps.portier_snat_cursor, id);
			}
			addr_to_bpf(&r->backends[j].addr, &b.addr);
			b.port = htons(r->backends[j].port);
			b.family = PORTIER_AF_INET;
			b.flags |= PORTIER_BACKEND_F_USED |
				   (r->backends[j].local ? PORTIER_BACKEND_F_LOCAL : 0);
			b.route_id = p->route_id[i];
			if (!err)
				err = map_update(s->maps.portier_backends, &id, &b, "a backend");
		}
	}

	/* 2b. Policy entries of the set, denials first: in place before a
	 * rotation asks for them (PORTIER_ROUTE_F_POLICY) and before a new
	 * service is reachable. */
	if (!err)
		err = policy_write(dp, p, PORTIER_POLICY_DENY);
	if (!err)
		err = policy_write(dp, p, PORTIER_POLICY_ALLOW);

	/* 3. Metadata and rotations, whole; a new route starts its counters
	 * at zero. */
	for (size_t i = 0; i < p->n && !err; i++) {
		const struct pt_route *r = &rs->routes[i];
		__u32 id = p->route_id[i];
		unsigned int *state = xcalloc(r->n_backends + 1, sizeof(*state));
		struct portier_route_meta meta;

		route_meta(r, p->origin ? p->origin[i] : PORTIER_ORIGIN_INVENTORY, &meta);
		err = map_update(s->maps.portier_route_meta, &id, &meta, "route metadata");

		for (size_t j = 0; j < r->n_backends; j++)
			if (p->be_kept[p->be_id[i][j]])
				state[j] = dp->backends[p->be_id[i][j]].state;
		rotation(dp, route_flags(r, rs->pool_policy.n), &r->rate_limit, p->be_id[i],
			 r->n_backends, state, rt);
		free(state);
		if (!err && !p->route_kept[id]) {
			err = map_zero(s->maps.portier_route_stats, id);
			if (!err)
				err = map_zero(s->maps.portier_rr, id);
			if (!err)
				err = map_zero(s->maps.portier_route_refused, id);
			/* Nor does it inherit a former route's cookie counters
			 * or "auto" state (on_until_ns). */
			if (!err)
				err = map_zero(s->maps.portier_syn_guard, id);
		}
		if (!err)
			err = map_update(s->maps.portier_routes, &id, rt, "a route");
	}

	/* 4. Services of the set (a key moved between routes is replaced). */
	for (size_t i = 0; i < p->n && !err; i++) {
		struct portier_svc_key k;
		struct portier_svc v = { .route_id = p->route_id[i] };

		svc_key(&rs->routes[i], &k);
		if (p->route_kept[v.route_id])
			continue;
		err = map_update(s->maps.portier_services, &k, &v, "a service");
	}

	/* 5. Services gone, then 6. their routes. */
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !err; id++) {
		bool still = false;

		if (!dp->routes[id].used || p->route_kept[id])
			continue;
		for (size_t i = 0; i < p->n && !still; i++) {
			struct portier_svc_key k;

			svc_key(&rs->routes[i], &k);
			still = !memcmp(&k, &dp->routes[id].key, sizeof(k));
		}
		if (!still)
			err = map_delete(s->maps.portier_services, &dp->routes[id].key,
					 "a service");
	}
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !err; id++) {
		if (!dp->routes[id].used || p->route_kept[id])
			continue;
		err = map_delete(s->maps.portier_routes, &id, "a route");
		if (!err)
			err = map_delete(s->maps.portier_route_meta, &id, "route metadata");
	}

	/* 6b. Policy entries gone (their routes are gone, or their lists
	 * changed). */
	if (!err)
		err = policy_delete_gone(dp, p);

	/* 7. Backends gone: their flows, then their slots. */
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS; id++)
		dead[id] = dp->backends[id].used && !p->be_kept[id];
	if (!err)
		err = ct_delete_backends(dp, dead);
	for (__u32 id = 0; id < PORTIER_MAX_BACKENDS && !err; id++) {
		struct portier_backend b = {};
		__u32 rid = dp->backends[id].route_id;

		if (!dead[id])
			continue;
		if (rid < PORTIER_MAX_ROUTES && p->route_kept[rid])
			err = fold_backend_stats(dp, id, rid);
		if (!err)
			err = map_update(s->maps.portier_backends, &id, &b, "a free slot");
	}

	/* 8. Ports of the set only, with their only services (in
	 * portier_services since step 4). */
	if (!err)
		err = write_ports(dp, p->ports);
	free(dead);
	free(ports);
	free(rt);
	return err;
}

/* Make the mirror hold rs with the plan's ids. */
static void plan_commit(struct pt_dataplane *dp, const struct pt_routeset *rs, struct plan *p)
{
	struct dp_backend *nb = xcalloc(PORTIER_MAX_BACKENDS, sizeof(*nb));

	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];

		for (size_t j = 0; j < r->n_backends; j++) {
			__u32 id = p->be_id[i][j];

			nb[id].used = true;
			nb[id].route_id = p->route_id[i];
			nb[id].addr = r->backends[j].addr;
			nb[id].port = r->backends[j].port;
			nb[id].local = r->backends[j].local;
			nb[id].state = p->be_kept[id] ? dp->backends[id].state : 0;
		}
	}
	free(dp->backends);
	dp->backends = nb;
	for (size_t id = 0; id < PORTIER_MAX_ROUTES; id++) {
		free(dp->routes[id].be);
		pt_policy_free(&dp->routes[id].policy);
		memset(&dp->routes[id], 0, sizeof(dp->routes[id]));
	}
	pt_policy_free(&dp->pool_policy);
	pt_policy_copy(&dp->pool_policy, &rs->pool_policy);
	free(dp->trie);
	dp->trie = p->trie;
	dp->n_trie = p->n_trie;
	p->trie = NULL;
	p->n_trie = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct pt_route *r = &rs->routes[i];
		struct dp_route *o = &dp->routes[p->route_id[i]];

		o->used = true;
		o->named = true;
		route_meta(r, p->origin ? p->origin[i] : PORTIER_ORIGIN_INVENTORY, &o->meta);
		svc_key(r, &o->key);
		o->flags = route_flags(r, rs->pool_policy.n);
		pt_policy_copy(&o->policy, &r->policy);
		o->rl = r->rate_limit;
		o->n_be = r->n_backends;
		o->be = xcalloc(r->n_backends + 1, sizeof(__u32));
		memcpy(o->be, p->be_id[i], r->n_backends * sizeof(__u32));
	}
}

/* Write exactly rs (routes of the given origins) into the maps. *wrote says
 * whether any map may have changed. */
static int apply_set(struct pt_dataplane *dp, const struct pt_routeset *rs, const __u8 *origin,
		     bool *wrote)
{
	struct plan p = { .origin = origin };
	int err;

	err = validate(rs);
	if (!err)
		err = plan_make(dp, rs, &p);
	if (!err) {
		*wrote = true;
		err = plan_write(dp, rs, &p);
	}
	if (!err)
		plan_commit(dp, rs, &p);
	plan_free(&p);
	return err;
}

/* ---- transactions: the writers' lock, the generation, warnings --------------- */

static void warnings_clear(struct pt_dataplane *dp)
{
	for (size_t i = 0; i < dp->n_warnings; i++)
		free(dp->warnings[i]);
	free(dp->warnings);
	dp->warnings = NULL;
	dp->n_warnings = 0;
}

static void warn(struct pt_dataplane *dp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(struct pt_dataplane *dp, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		pt_die_oom();
	va_end(ap);
	dp->warnings = xrealloc(dp->warnings, (dp->n_warnings + 1) * sizeof(*dp->warnings));
	dp->warnings[dp->n_warnings++] = msg;
}

const char *pt_dp_warning(const struct pt_dataplane *dp, size_t i)
{
	return i < dp->n_warnings ? dp->warnings[i] : NULL;
}

/* Begin a change: take the writers' lock (pinned data planes only: an
 * unpinned one has a single writer) and re-read the maps if anyone changed
 * them since this process last did. */
static int tx_begin(struct pt_dataplane *dp)
{
	struct portier_state st = {};
	int err = 0;

	last_error[0] = '\0';
	warnings_clear(dp);
	if (dp->pin) {
		char *path = xasprintf("%s/%s", dp->pin_dir, PT_DP_WRITE_LOCK);
		int fd = -1, i = 0;

		if (mkdir(path, 0700) && errno != EEXIST)
			err = fail(-errno, "cannot create the writers' lock %s: %s", path,
				   strerror(errno));
		if (!err) {
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				err = fail(-errno, "cannot open the writers' lock %s: %s", path,
					   strerror(errno));
		}
		while (!err && flock(fd, LOCK_EX | LOCK_NB)) {
			if (errno != EWOULDBLOCK || ++i >= LOCK_TRIES)
				err = fail(-errno, "cannot take the writers' lock %s: %s; another "
					   "portier process is changing the data plane, try again",
					   path, strerror(errno));
			else
				usleep(LOCK_SLEEP_US);
		}
		if (err && fd >= 0)
			close(fd);
		else if (!err)
			dp->lock_fd = fd;
		free(path);
	}
	if (err)
		return err;
	bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_state), &(__u32){ 0 }, &st);
	if (dp->stale || st.generation != dp->generation)
		resync(dp);
	return 0;
}

/* End a change: if maps were written, bump the generation so every other
 * process re-reads them; release the lock. Returns err. */
static int tx_end(struct pt_dataplane *dp, bool wrote, int err)
{
	if (wrote) {
		int fd = bpf_map__fd(dp->skel->maps.portier_state);
		struct portier_state st = {};
		__u32 zero = 0;

		bpf_map_lookup_elem(fd, &zero, &st);
		st.generation++;
		if (bpf_map_update_elem(fd, &zero, &st, BPF_ANY)) {
			dp->stale = true;
			if (!err)
				err = fail(-errno, "cannot write map %s: %s", PORTIER_MAP_STATE,
					   strerror(errno));
		}
		dp->generation = st.generation;
		if (err) {	/* a write failed half way: trust the maps only */
			size_t n = strlen(last_error);

			dp->stale = true;
			snprintf(last_error + n, sizeof(last_error) - n, "; the maps were "
				 "changed in part (some of the new routes are in, some of the "
				 "old ones left): fix the cause and apply again");
		}
	}
	dp->half_written = wrote && err;
	if (dp->lock_fd >= 0) {
		close(dp->lock_fd);
		dp->lock_fd = -1;
	}
	return err;
}

bool pt_dp_half_written(const struct pt_dataplane *dp)
{
	return dp->half_written;
}

int pt_dp_sync(struct pt_dataplane *dp)
{
	struct portier_state st = {};

	if (!bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_state), &(__u32){ 0 }, &st) &&
	    !dp->stale && st.generation == dp->generation)
		return 0;
	return tx_end(dp, false, tx_begin(dp));
}

/* ---- route sets from the mirror ------------------------------------------------ */

/* A loaded route as a struct pt_route (backends without host names). */
static void route_from_mirror(const struct pt_dataplane *dp, __u32 id, struct pt_route *r)
{
	const struct dp_route *o = &dp->routes[id];
	struct portier_addr zero = {};

	memset(r, 0, sizeof(*r));
	r->name = xstrdup(o->meta.name);
	r->mode = xstrdup(o->meta.mode);
	r->wildcard = !memcmp(&o->key.addr, &zero, sizeof(zero));
	if (!r->wildcard)
		addr_from_bpf(&o->key.addr, &r->addr);
	r->port = ntohs(o->key.port);
	r->proto = o->key.proto;
	r->balance = o->meta.balance;
	r->nat = o->meta.nat;
	r->options = o->meta.options;
	r->syn_cookies = o->meta.syn_cookies;
	r->dest_port = o->meta.dest_port;
	r->check = pt_check_from_meta(&o->meta);
	pt_policy_copy(&r->policy, &o->policy);
	r->rate_limit = o->rl;
	r->n_backends = o->n_be;
	r->backends = xcalloc(o->n_be + 1, sizeof(*r->backends));
	for (size_t i = 0; i < o->n_be; i++) {
		const struct dp_backend *b = &dp->backends[o->be[i]];

		r->backends[i].addr = b->addr;
		r->backends[i].port = b->port;
		r->backends[i].local = b->local;
	}
}

static void route_free_fields(struct pt_route *r)
{
	free(r->name);
	free(r->mode);
	free(r->backends);
	pt_policy_free(&r->policy);
}

/* A set to write: `first` (borrowed, origin first_origin, may be NULL), then
 * every loaded route that keep() accepts (copied). Policies are copies
 * throughout (the caller may add runtime entries to any route); the pool's
 * lists are first's, or the loaded ones without first. */
struct merged {
	struct pt_routeset rs;
	__u8 *origin;
	size_t n_borrowed;
};

static void merged_add_loaded(struct pt_dataplane *dp, struct merged *m,
			      bool (*keep)(struct pt_dataplane *dp, __u32 id, void *arg), void *arg)
{
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		if (!dp->routes[id].used || !keep(dp, id, arg))
			continue;
		m->rs.routes = xrealloc(m->rs.routes, (m->rs.n_routes + 1) * sizeof(*m->rs.routes));
		m->origin = xrealloc(m->origin, (m->rs.n_routes + 1) * sizeof(*m->origin));
		route_from_mirror(dp, id, &m->rs.routes[m->rs.n_routes]);
		m->origin[m->rs.n_routes++] = dp->routes[id].meta.origin;
	}
}

static void merged_init(struct merged *m, const struct pt_dataplane *dp,
			const struct pt_routeset *first, __u8 origin)
{
	memset(m, 0, sizeof(*m));
	if (!first) {
		pt_policy_copy(&m->rs.pool_policy, &dp->pool_policy);
		return;
	}
	m->rs = *first;
	pt_policy_copy(&m->rs.pool_policy, &first->pool_policy);
	m->rs.routes = xcalloc(first->n_routes + 1, sizeof(*m->rs.routes));
	memcpy(m->rs.routes, first->routes, first->n_routes * sizeof(*first->routes));
	for (size_t i = 0; i < first->n_routes; i++)
		pt_policy_copy(&m->rs.routes[i].policy, &first->routes[i].policy);
	m->origin = xcalloc(first->n_routes + 1, sizeof(*m->origin));
	memset(m->origin, origin, first->n_routes);
	m->n_borrowed = first->n_routes;
}

static void merged_free(struct merged *m)
{
	for (size_t i = 0; i < m->n_borrowed; i++)
		pt_policy_free(&m->rs.routes[i].policy);
	for (size_t i = m->n_borrowed; i < m->rs.n_routes; i++)
		route_free_fields(&m->rs.routes[i]);
	pt_policy_free(&m->rs.pool_policy);
	free(m->rs.routes);
	free(m->origin);
}

/* ---- apply, route add and del ----------------------------------------------- */

/* Keep a runtime route through an inventory apply unless an inventory route
 * takes its name or its listen key (then warn). */
static bool keep_runtime(struct pt_dataplane *dp, __u32 id, void *arg)
{
	const struct pt_routeset *rs = arg;
	const struct dp_route *o = &dp->routes[id];

	if (o->meta.origin != PORTIER_ORIGIN_RUNTIME)
		return false;
	for (size_t i = 0; i < rs->n_routes; i++) {
		struct portier_svc_key k;

		svc_key(&rs->routes[i], &k);
		if (!strcmp(rs->routes[i].name, o->meta.name) || !memcmp(&k, &o->key, sizeof(k))) {
			warn(dp, "runtime route '%s' is replaced by inventory route '%s' "
			     "(same %s)", o->meta.name, rs->routes[i].name,
			     strcmp(rs->routes[i].name, o->meta.name) ?
			     "address, port and protocol" : "name");
			return false;
		}
	}
	return true;
}

/* Runtime entries of from appended to to. */
static void policy_add_runtime(struct pt_policy *to, const struct pt_policy *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (from->v[i].runtime)
			pt_policy_append(to, &from->v[i]);
}

/* What runtime changes an inventory apply keeps (docs/operations.md): the
 * runtime policy entries of the pool and of every route still loaded
 * under its name, and a runtime rate limit of a route whose inventory
 * declares none. */
static void keep_runtime_policy(const struct pt_dataplane *dp, struct merged *m)
{
	policy_add_runtime(&m->rs.pool_policy, &dp->pool_policy);
	for (size_t i = 0; i < m->n_borrowed; i++) {
		struct pt_route *r = &m->rs.routes[i];
		int id = pt_dp_route_id(dp, r->name);

		if (id < 0)
			continue;
		policy_add_runtime(&r->policy, &dp->routes[id].policy);
		if (!r->rate_limit.rate && dp->routes[id].rl.runtime)
			r->rate_limit = dp->routes[id].rl;
	}
}

int pt_dp_apply(struct pt_dataplane *dp, const struct pt_routeset *rs)
{
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	err = validate(rs);
	if (!err) {
		merged_init(&m, dp, rs, PORTIER_ORIGIN_INVENTORY);
		keep_runtime_policy(dp, &m);
		merged_add_loaded(dp, &m, keep_runtime, (void *)rs);
		err = apply_set(dp, &m.rs, m.origin, &wrote);
		merged_free(&m);
	}
	if (err)
		warnings_clear(dp);
	return tx_end(dp, wrote, err);
}

static bool keep_all(struct pt_dataplane *dp, __u32 id, void *arg)
{
	(void)dp;
	(void)id;
	(void)arg;
	return true;
}

static bool keep_other(struct pt_dataplane *dp, __u32 id, void *arg)
{
	return strcmp(dp->routes[id].meta.name, arg) != 0;
}

int pt_dp_route_add(struct pt_dataplane *dp, const struct pt_route *r)
{
	struct pt_routeset one = { .routes = (struct pt_route *)r, .n_routes = 1 };
	struct portier_svc_key k;
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	svc_key(r, &k);
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES && !err; id++) {
		const struct dp_route *o = &dp->routes[id];

		if (!o->used)
			continue;
		if (!strcmp(o->meta.name, r->name))
			err = fail(-EEXIST, "route '%s' exists already; 'portier route del %s' "
				   "first to replace it", r->name, r->name);
		else if (!memcmp(&o->key, &k, sizeof(k)))
			err = fail(-EEXIST, "route '%s' listens on that address, port and "
				   "protocol already", o->meta.name);
	}
	if (!err) {
		merged_init(&m, dp, &one, PORTIER_ORIGIN_RUNTIME);
		pt_policy_free(&m.rs.pool_policy);
		pt_policy_copy(&m.rs.pool_policy, &dp->pool_policy);
		merged_add_loaded(dp, &m, keep_all, NULL);
		err = apply_set(dp, &m.rs, m.origin, &wrote);
		merged_free(&m);
	}
	return tx_end(dp, wrote, err);
}

int pt_dp_route_del(struct pt_dataplane *dp, const char *name)
{
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	if (pt_dp_route_id(dp, name) < 0) {
		err = fail(-ENOENT, "no route '%s' is loaded; 'portier route show' lists them",
			   name);
	} else {
		merged_init(&m, dp, NULL, 0);
		merged_add_loaded(dp, &m, keep_other, (void *)name);
		err = apply_set(dp, &m.rs, m.origin, &wrote);
		merged_free(&m);
	}
	return tx_end(dp, wrote, err);
}

/* ---- source policy and rate limits at runtime ---------------------------------- */

/* The loaded set with one change made by fn to the lists (route NULL: the
 * pool's) and rate limit of one route, applied. */
static int policy_change(struct pt_dataplane *dp, const char *route,
			 int (*fn)(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg),
			 void *arg)
{
	struct pt_policy *pol = NULL;
	struct pt_rate_limit *rl = NULL;
	struct merged m;
	bool wrote = false;
	int err = tx_begin(dp);

	if (err)
		return err;
	merged_init(&m, dp, NULL, 0);
	merged_add_loaded(dp, &m, keep_all, NULL);
	if (!route)
		pol = &m.rs.pool_policy;
	for (size_t i = 0; route && i < m.rs.n_routes && !pol; i++)
		if (!strcmp(m.rs.routes[i].name, route)) {
			pol = &m.rs.routes[i].policy;
			rl = &m.rs.routes[i].rate_limit;
		}
	if (!pol)
		err = fail(-ENOENT, "no route '%s' is loaded; 'portier route show' lists them",
			   route);
	if (!err)
		err = fn(pol, rl, arg);
	if (!err)
		err = apply_set(dp, &m.rs, m.origin, &wrote);
	merged_free(&m);
	return tx_end(dp, wrote, err);
}

struct policy_arg {
	const struct pt_cidr *net;
	enum pt_policy_action action;
	const char *whose;
};

static int policy_add_fn(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg)
{
	const struct policy_arg *a = arg;
	struct pt_policy_entry e = { .net = *a->net, .action = a->action, .runtime = true };
	char buf[PT_CIDR_BUF];

	(void)rl;
	if (pt_policy_find(pol, a->net, a->action, false, true) >= 0)
		return fail(-EEXIST, "the %s list of %s has %s already", pt_policy_action_name(a->action),
			    a->whose, pt_cidr_str(a->net, buf, sizeof(buf)));
	pt_policy_append(pol, &e);
	return 0;
}

static int policy_del_fn(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg)
{
	const struct policy_arg *a = arg;
	char buf[PT_CIDR_BUF];
	ssize_t i;
	bool found = false;

	(void)rl;
	while ((i = pt_policy_find(pol, a->net, a->action, false, true)) >= 0) {
		pt_policy_remove(pol, (size_t)i);
		found = true;
	}
	if (!found)
		return fail(-ENOENT, "the %s list of %s has no %s; 'portier policy show' lists "
			    "them", pt_policy_action_name(a->action), a->whose,
			    pt_cidr_str(a->net, buf, sizeof(buf)));
	return 0;
}

static int policy_entry(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
			enum pt_policy_action a, bool add)
{
	char *whose = route ? xasprintf("route '%s'", route) : xstrdup("the pool");
	struct policy_arg arg = { .net = net, .action = a, .whose = whose };
	int err = policy_change(dp, route, add ? policy_add_fn : policy_del_fn, &arg);

	free(whose);
	return err;
}

int pt_dp_policy_add(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
		     enum pt_policy_action a)
{
	return policy_entry(dp, route, net, a, true);
}

int pt_dp_policy_del(struct pt_dataplane *dp, const char *route, const struct pt_cidr *net,
		     enum pt_policy_action a)
{
	return policy_entry(dp, route, net, a, false);
}

static int rate_set_fn(struct pt_policy *pol, struct pt_rate_limit *rl, void *arg)
{
	const struct pt_rate_limit *want = arg;

	(void)pol;
	*rl = *want;
	rl->runtime = want->rate != 0;
	return 0;
}

int pt_dp_rate_limit_set(struct pt_dataplane *dp, const char *route,
			 const struct pt_rate_limit *rl)
{
	if (!route)
		return fail(-EINVAL, "a rate limit belongs to a route, not to the pool");
	return policy_change(dp, route, rate_set_fn, (void *)rl);
}

void pt_dp_pool_policy(const struct pt_dataplane *dp, struct pt_policy *out)
{
	pt_policy_copy(out, &dp->pool_policy);
}

int pt_route_refused_sum(struct portier *skel, __u32 route_id, struct portier_refused *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct portier_refused *v;

	memset(out, 0, sizeof(*out));
	if (ncpu < 0)
		return ncpu;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.portier_route_refused), &route_id, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int i = 0; i < ncpu; i++) {
		out->denied += v[i].denied;
		out->rate_limited += v[i].rate_limited;
	}
	free(v);
	return 0;
}

/* ---- lookups and backend state ---------------------------------------------- */

int pt_dp_route_id(const struct pt_dataplane *dp, const char *route)
{
	for (int id = 0; id < PORTIER_MAX_ROUTES; id++)
		if (dp->routes[id].used && !strcmp(dp->routes[id].meta.name, route))
			return id;
	return -ENOENT;
}

int pt_dp_backend_id(const struct pt_dataplane *dp, const char *route,
		     const struct pt_addr *addr, uint16_t port)
{
	int rid = pt_dp_route_id(dp, route);

	if (rid < 0)
		return rid;
	for (size_t i = 0; i < dp->routes[rid].n_be; i++) {
		__u32 id = dp->routes[rid].be[i];

		if (pt_addr_equal(&dp->backends[id].addr, addr) && dp->backends[id].port == port)
			return id;
	}
	return -ENOENT;
}

/* Write a backend's slot with its state bits, then its route's rotation. */
static int backend_write_state(struct pt_dataplane *dp, __u32 id)
{
	struct dp_backend *db = &dp->backends[id];
	struct dp_route *r = &dp->routes[db->route_id];
	struct portier_backend b = {};
	struct portier_route *rt;
	int err;

	addr_to_bpf(&db->addr, &b.addr);
	b.port = htons(db->port);
	b.family = PORTIER_AF_INET;
	b.flags = PORTIER_BACKEND_F_USED | (db->local ? PORTIER_BACKEND_F_LOCAL : 0) |
		  flags_from_state(db->state);
	b.route_id = db->route_id;
	rt = xmalloc(sizeof(*rt));
	rotation(dp, r->flags, &r->rl, r->be, r->n_be, NULL, rt);
	err = map_update(dp->skel->maps.portier_backends, &id, &b, "a backend");
	if (!err)
		err = map_update(dp->skel->maps.portier_routes, &db->route_id, rt, "a route");
	free(rt);
	return err;
}

int pt_dp_backend_set(struct pt_dataplane *dp, const char *route, const struct pt_addr *addr,
		      uint16_t port, unsigned int bit, bool on)
{
	bool wrote = false;
	int err = tx_begin(dp), id;

	if (err)
		return err;
	id = pt_dp_backend_id(dp, route, addr, port);
	if (id < 0) {
		char buf[INET6_ADDRSTRLEN];

		err = fail(id, pt_dp_route_id(dp, route) < 0 ?
			   "no route '%s' is loaded (backend %s:%u)" :
			   "route '%s' has no backend %s:%u", route,
			   pt_addr_str(addr, buf, sizeof(buf)), port);
	} else {
		unsigned int old = dp->backends[id].state;

		dp->backends[id].state = on ? old | bit : old & ~bit;
		wrote = old != dp->backends[id].state;
		if (wrote)
			err = backend_write_state(dp, id);
	}
	return tx_end(dp, wrote, err);
}

/* ---- what is loaded, for the CLI ------------------------------------------------ */

static int view_cmp(const void *a, const void *b)
{
	const struct pt_dp_route_view *x = a, *y = b;

	return strcmp(x->meta.name, y->meta.name);
}

size_t pt_dp_view(const struct pt_dataplane *dp, struct pt_dp_route_view **out)
{
	struct pt_dp_route_view *v = NULL;
	size_t n = 0;

	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		const struct dp_route *o = &dp->routes[id];
		struct pt_dp_route_view *r;

		if (!o->used)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->id = id;
		r->meta = o->meta;
		r->flags = o->flags;
		pt_policy_copy(&r->policy, &o->policy);
		r->rl = o->rl;
		r->n_be = o->n_be;
		r->be = xcalloc(o->n_be + 1, sizeof(*r->be));
		for (size_t i = 0; i < o->n_be; i++) {
			const struct dp_backend *b = &dp->backends[o->be[i]];

			r->be[i].id = o->be[i];
			r->be[i].addr = b->addr;
			r->be[i].port = b->port;
			r->be[i].local = b->local;
			r->be[i].state = b->state;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), view_cmp);
	*out = v;
	return n;
}

void pt_dp_view_free(struct pt_dp_route_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].be);
		pt_policy_free(&v[i].policy);
	}
	free(v);
}

/* ---- userspace state: daemon pid, reloads ------------------------------------------ */

int pt_dp_state(struct pt_dataplane *dp, struct portier_state *out)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.portier_state), &(__u32){ 0 }, out))
		return fail(-errno, "cannot read map %s: %s", PORTIER_MAP_STATE, strerror(errno));
	return 0;
}

/* Change portier_state under the writers' lock: pid (if set_pid), or one
 * more handled reload with its status. */
static int state_change(struct pt_dataplane *dp, bool set_pid, __u32 pid, int status, bool half)
{
	struct portier_state st;
	int err = tx_begin(dp);

	if (!err)
		err = pt_dp_state(dp, &st);
	if (!err) {
		if (set_pid) {
			st.daemon_pid = pid;
		} else {
			st.reloads++;
			st.reload_status = status;
			st.reload_half = half;
		}
		if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.portier_state), &(__u32){ 0 },
					&st, BPF_ANY))
			err = fail(-errno, "cannot write map %s: %s", PORTIER_MAP_STATE,
				   strerror(errno));
	}
	return tx_end(dp, false, err);
}

int pt_dp_set_daemon(struct pt_dataplane *dp, __u32 pid)
{
	return state_change(dp, true, pid, 0, false);
}

int pt_dp_reload_done(struct pt_dataplane *dp, int status, bool half)
{
	return state_change(dp, false, 0, status, half);
}

bool pt_dp_daemon_running(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);	/* drops the lock if it was taken here */
	return held;
}

/* ---- attach, detach ----------------------------------------------------------- */

/* Pinned link fd (at path) must be on ifindex. */
static int link_on(int fd, const char *path, int ifindex)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return fail(-errno, "cannot inspect pinned link %s: %s", path, strerror(errno));
	if ((int)info.xdp.ifindex != ifindex)
		return fail(-EEXIST, "pinned link %s is attached to another interface (ifindex "
			    "%u, not %d); run 'portier prog detach' first", path, info.xdp.ifindex,
			    ifindex);
	return 0;
}

static char *link_path(const struct pt_dataplane *dp, int idx)
{
	return xasprintf("%s/%s", dp->pin_dir, idx ? PT_DP_LINK_OUTPUT : PT_DP_LINK_INPUT);
}

int pt_dp_check_links(struct pt_dataplane *dp, int input_ifindex, int output_ifindex)
{
	int ifindex[2] = { input_ifindex, output_ifindex }, err = 0;

	for (int idx = 0; idx < 2 && !err && dp->pin; idx++) {
		char *path = link_path(dp, idx);
		int fd = bpf_obj_get(path);

		if (fd >= 0) {
			err = link_on(fd, path, ifindex[idx]);
			close(fd);
		}
		free(path);
	}
	return err;
}

/* Attach (or update the pinned link of) NIC idx; *created tells whether
 * this call made the link. */
static int attach_one(struct pt_dataplane *dp, int idx, int ifindex, bool generic, bool *created)
{
	int prog_fd = bpf_program__fd(dp->skel->progs.portier_xdp);
	char *path = link_path(dp, idx);
	int fd = dp->pin ? bpf_obj_get(path) : -1;
	int err = 0;

	*created = fd < 0;
	if (fd >= 0) {
		err = link_on(fd, path, ifindex);
		if (!err && bpf_link_update(fd, prog_fd, NULL)) {
			err = fail(-errno, "cannot update pinned link %s to this program: %s",
				   path, strerror(errno));
		}
	} else {
		LIBBPF_OPTS(bpf_link_create_opts, o, .flags = generic ? XDP_FLAGS_SKB_MODE : 0);

		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &o);
		if (fd < 0)
			err = fail(-errno, "cannot attach XDP to ifindex %d (%s mode): %s%s",
				   ifindex, generic ? "generic" : "native", strerror(errno),
				   errno == EBUSY ? "; another XDP program is attached there" : "");
		else if (dp->pin && bpf_obj_pin(fd, path))
			err = fail(-errno, "cannot pin link %s: %s", path, strerror(errno));
	}
	free(path);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	dp->link_fd[idx] = fd;
	return 0;
}

/* Take back the link of NIC idx that this process made: detach, unpin. */
static void unattach(struct pt_dataplane *dp, int idx)
{
	char *path = link_path(dp, idx);

	bpf_link_detach(dp->link_fd[idx]);
	close(dp->link_fd[idx]);
	dp->link_fd[idx] = -1;
	if (dp->pin)
		unlink(path);
	free(path);
}

int pt_dp_attach(struct pt_dataplane *dp, int input_ifindex, int output_ifindex, bool generic)
{
	bool made_in, made_out;
	int err = attach_one(dp, 0, input_ifindex, generic, &made_in);

	if (!err && output_ifindex != input_ifindex) {
		err = attach_one(dp, 1, output_ifindex, generic, &made_out);
		/* Nothing half-attached: the input NIC alone would balance
		 * new flows whose replies nothing translates back. */
		if (err && made_in)
			unattach(dp, 0);
	}
	return err;
}

int pt_dp_detach(struct pt_dataplane *dp)
{
	size_t n;
	struct bpf_map **maps = pinned_maps(dp->skel, &n);
	int err = 0;

	for (int i = 0; i < 2; i++) {
		char *path = link_path(dp, i);
		int fd = dp->link_fd[i] >= 0 ? dp->link_fd[i] : bpf_obj_get(path);

		if (fd >= 0 && bpf_link_detach(fd) && !err)
			err = fail(-errno, "cannot detach %s: %s", path, strerror(errno));
		if (fd >= 0 && fd != dp->link_fd[i])
			close(fd);
		if (dp->pin && unlink(path) && errno != ENOENT && !err)
			err = fail(-errno, "cannot unpin %s: %s", path, strerror(errno));
		free(path);
	}
	if (dp->pin) {
		char *path = xasprintf("%s/%s", dp->pin_dir, PT_DP_WRITE_LOCK);

		if (rmdir(path) && errno != ENOENT && !err)
			err = fail(-errno, "cannot remove %s: %s", path, strerror(errno));
		free(path);
	}
	for (size_t i = 0; i < n && dp->pin; i++)
		if (bpf_map__unpin(maps[i], NULL) && !err)
			err = fail(-errno, "cannot unpin map %s", bpf_map__name(maps[i]));
	if (dp->pin && rmdir(dp->pin_dir) && errno != ENOENT && errno != ENOTEMPTY && !err)
		err = fail(-errno, "cannot remove %s: %s", dp->pin_dir, strerror(errno));
	return err;
}

/* ---- conntrack garbage collection ---------------------------------------------- */

/* The idle timeout of flow entry f in its state, ticks (as the program's
 * flow_timeout_ticks). */
static __u32 flow_timeout_ticks(const struct portier_config *c, const struct portier_flow_key *k,
				const struct portier_flow *f)
{
	return portier_ticks_of_s(portier_flow_timeout_s(c, k->proto, f->flags));
}

struct gc_walk {
	struct pt_dataplane *dp;
	__u64 now;
};

static int gc_visit(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct gc_walk *w = arg;
	struct pt_dataplane *dp = w->dp;
	struct portier_flow_key peer;
	struct portier_flow pf;
	bool has_peer;
	__u64 last;

	pt_flow_key_other(k, f, &peer);
	has_peer = pt_ct_lookup(dp->ct, &peer, &pf);
	last = pt_flow_last_ns(w->now, f, has_peer ? &pf : NULL);
	if (portier_tick(w->now) - portier_tick(last) <= flow_timeout_ticks(&dp->cfg, k, f))
		return PT_CT_KEEP;
	if (dp->gc_hook && f->dir == PORTIER_FLOW_DIR_ORIG)
		dp->gc_hook(k, f, has_peer ? &pf : NULL, last, dp->gc_hook_arg);
	return PT_CT_DELETE;
}

int pt_dp_gc(struct pt_dataplane *dp, size_t *removed)
{
	struct gc_walk w = { .dp = dp };
	struct timespec ts;
	size_t n = 0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.now = (__u64)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
	err = pt_ct_walk(dp->ct, gc_visit, &w, &n);
	if (removed)
		*removed = err ? 0 : n;
	return err ? fail(err, "conntrack GC: %s", strerror(-err)) : 0;
}

void pt_dp_set_gc_hook(struct pt_dataplane *dp, pt_dp_gc_hook fn, void *arg)
{
	dp->gc_hook = fn;
	dp->gc_hook_arg = arg;
}
