// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_pins.c - the skeleton's lifecycle: open it, size its maps, reuse the
 * maps pinned in the pin directory (their contents adopted: route and
 * backend ids read back), load, map the connection table; or open what a
 * daemon pinned without loading anything (the CLI); close.
 */
#include <errno.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

static bool dp_verbose;

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

struct pt_ct *pt_dp_ct6(struct pt_dataplane *dp)
{
	return dp->ct6;
}

struct portier *pt_dp_skel(struct pt_dataplane *dp)
{
	return dp->skel;
}

bool pt_dp_adopted(const struct pt_dataplane *dp)
{
	return dp->adopted;
}

/* The maps portier pins, by the names of include/portier.h. */
struct bpf_map **pinned_maps(struct portier *s, size_t *n)
{
	static struct bpf_map *v[36];

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
	v[22] = s->maps.portier_maglev;
	v[23] = s->maps.portier_vrrp;
	v[24] = s->maps.portier_reply_svc;
	v[25] = s->maps.portier_route_ha;
	v[26] = s->maps.portier_egress_src;
	v[27] = s->maps.portier_egress_dst;
	v[28] = s->maps.portier_egress_rules;
	v[29] = s->maps.portier_egress_stats;
	v[30] = s->maps.portier_local6;
	v[31] = s->maps.portier_conntrack6;
	v[32] = s->maps.portier_ct6_slots;
	v[33] = s->maps.portier_policy6;
	v[34] = s->maps.portier_rate6;
	v[35] = s->maps.portier_synproxy6;
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
/* Has pinned map info this version's map m's type, key and value sizes? */
static bool same_shape(const struct bpf_map_info *info, const struct bpf_map *m)
{
	return info->type == (__u32)bpf_map__type(m) && info->key_size == bpf_map__key_size(m) &&
	       info->value_size == bpf_map__value_size(m);
}

/* A pinned map of another shape is another version's (an upgrade that
 * changed its key or value): the program of this version cannot use it.
 * The port filter and the configuration are written whole by the daemon
 * from what it reads back (the port mirror from the map itself; a new
 * configuration has no hash seed, so the connection tables are laid out
 * afresh), so their pin goes and the load makes and pins new ones. Any
 * other map keeps the load's error (docs/operations.md, "Upgrades"). Said
 * on stderr, the daemon's log. */
static int replace_pin(const char *path, const struct bpf_map_info *info,
		       const struct bpf_map *m)
{
	if (strcmp(bpf_map__name(m), PORTIER_MAP_PORTS) &&
	    strcmp(bpf_map__name(m), PORTIER_MAP_CONFIG))
		return 0;	/* libbpf refuses it at load, with its advice */
	if (unlink(path))
		return fail(-errno, "pinned map %s is of another portier version (key %u, value "
			    "%u bytes; this version's %u, %u) and cannot be removed: %s", path,
			    info->key_size, info->value_size, bpf_map__key_size(m),
			    bpf_map__value_size(m), strerror(errno));
	fprintf(stderr, "portier: pinned map %s was of another portier version (key %u, value "
		"%u bytes; this version's %u, %u): replaced by a new one\n", path,
		info->key_size, info->value_size, bpf_map__key_size(m), bpf_map__value_size(m));
	return 0;
}

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
			else if (!same_shape(&info, maps[i]))
				err = replace_pin(path, &info, maps[i]);
			else if (info.max_entries != bpf_map__max_entries(maps[i]))
				err = bpf_map__set_max_entries(maps[i], info.max_entries);
			close(fd);
			if (!err && access(path, F_OK))	/* replaced: a new map */
				fd = -1;
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

/* One connection table's geometry in the configuration: its buckets, its
 * step and the hash seed both tables share. */
struct ct_geom {
	const char *what;		/* "connection table", "IPv6 connection table" */
	struct bpf_map *buckets_map, *slots_map;
	__u32 *buckets, *step;		/* in dp->cfg */
	int (*open)(int, int, __u32, __u64, struct pt_ct **);
	struct pt_ct **ct;
};

/* Is table g laid out for buckets, as this version places keys? */
static bool ct_fits(const struct pt_dataplane *dp, const struct ct_geom *g, __u32 buckets)
{
	return *g->buckets == buckets && dp->cfg.ct_seed &&
	       *g->step == portier_ct_step_for(buckets);
}

/* Map the connection tables (IPv4 and IPv6). A pinned table laid out as
 * this version places keys keeps its seed. A new one, or one laid out
 * otherwise (an older version's), gets its geometry and, for the IPv4
 * table, a random seed (which both tables hash with), written at once,
 * before any program can insert, and is emptied, if may_reset (the
 * daemon, which loads the program that reads it); a CLI refuses rather
 * than change the table under a running program of another version. A new
 * seed empties the IPv6 table too: nothing of it is found any more. */
static int ct_setup(struct pt_dataplane *dp, bool may_reset)
{
	struct portier *s = dp->skel;
	struct ct_geom g[2] = {
		{ "connection table", s->maps.portier_conntrack, s->maps.portier_ct_slots,
		  &dp->cfg.ct_buckets, &dp->cfg.ct_step, pt_ct_open, &dp->ct },
		{ "IPv6 connection table", s->maps.portier_conntrack6, s->maps.portier_ct6_slots,
		  &dp->cfg.ct6_buckets, &dp->cfg.ct6_step, pt_ct6_open, &dp->ct6 },
	};
	bool fresh[2], stale[2], reseed;
	__u32 buckets[2];
	int err = 0;

	for (int i = 0; i < 2; i++) {
		buckets[i] = bpf_map__max_entries(g[i].buckets_map);
		if (bpf_map__max_entries(g[i].slots_map) != (__u64)buckets[i] * PORTIER_CT_SLOTS)
			return fail(-EINVAL, "the %s has %u buckets but %u slots; "
				    "'portier prog detach' removes the mismatched pins", g[i].what,
				    buckets[i], bpf_map__max_entries(g[i].slots_map));
		/* A new table, or one laid out otherwise (another size, or an
		 * older version's placement): nothing of it is found any
		 * more, so empty it once it is mapped. So too a pinned one
		 * whose configuration was replaced (use_pins): its old seed
		 * is gone with it. */
		stale[i] = *g[i].buckets || dp->cfg.ct_seed || dp->adopted;
		fresh[i] = !ct_fits(dp, &g[i], buckets[i]);
		if (fresh[i] && !may_reset)
			return fail(-EPROTO, "the pinned %s in %s is laid out by another "
				    "portier version; restart the daemon with this version first",
				    g[i].what, dp->pin_dir);
	}
	reseed = fresh[0];
	if (reseed)
		fresh[1] = true;
	if (fresh[0] || fresh[1]) {
		for (int i = 0; i < 2; i++)
			if (fresh[i]) {
				*g[i].buckets = buckets[i];
				*g[i].step = portier_ct_step_for(buckets[i]);
			}
		if (reseed && getrandom(&dp->cfg.ct_seed, sizeof(dp->cfg.ct_seed), 0) !=
		    sizeof(dp->cfg.ct_seed))
			return fail(-errno, "cannot seed the connection table's hash: %s",
				    strerror(errno));
		err = map_update(s->maps.portier_config, &(__u32){ 0 }, &dp->cfg,
				 "the configuration");
		if (err)
			return err;
	}
	for (int i = 0; i < 2 && !err; i++) {
		err = g[i].open(bpf_map__fd(g[i].buckets_map), bpf_map__fd(g[i].slots_map),
				buckets[i], dp->cfg.ct_seed, g[i].ct);
		if (err)
			return fail(err, "cannot map the %s: %s", g[i].what, strerror(-err));
		if (fresh[i] && stale[i])
			err = pt_ct_flush(*g[i].ct, NULL);
	}
	return err;
}

/* Size a connection table's bucket and slot arrays for buckets buckets.
 * 0, or -errno (the message names what). */
static int size_table(struct bpf_map *b, struct bpf_map *sl, __u32 buckets, const char *what)
{
	int err = bpf_map__set_max_entries(b, buckets);

	if (!err)
		err = bpf_map__set_max_entries(sl, buckets * PORTIER_CT_SLOTS);
	return err ? fail(err, "cannot size the %s: %s", what, strerror(-err)) : 0;
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
	__u32 buckets, buckets6;

	dp_verbose = opts->verbose;
	err = dp_new(opts->pin, opts->pin_dir, &dp);
	if (err)
		goto fail;
	buckets = portier_ct_buckets_for(opts->ct_entries ? opts->ct_entries :
					 PORTIER_CT_DEFAULT_ENTRIES);
	buckets6 = portier_ct_buckets_for(opts->ct6_entries ? opts->ct6_entries :
					  PORTIER_CT6_DEFAULT_ENTRIES);
	err = size_table(dp->skel->maps.portier_conntrack, dp->skel->maps.portier_ct_slots,
			 buckets, "connection table");
	/* Cookie flows: at most one per two table entries; twice that room. */
	if (!err)
		err = bpf_map__set_max_entries(dp->skel->maps.portier_synproxy,
					       portier_ct_capacity(buckets));
	if (!err)
		err = size_table(dp->skel->maps.portier_conntrack6,
				 dp->skel->maps.portier_ct6_slots, buckets6, "IPv6 connection table");
	if (!err)
		err = bpf_map__set_max_entries(dp->skel->maps.portier_synproxy6,
					       portier_ct_capacity(buckets6));
	if (err)
		goto fail;
	err = bpf_map__set_max_entries(dp->skel->maps.portier_connlog,
				       opts->connlog_bytes ? opts->connlog_bytes :
				       PORTIER_CONNLOG_RING_DEFAULT);
	if (err) {
		fail(err, "cannot size the connection log ring buffer: %s", strerror(-err));
		goto fail;
	}
	err = bpf_map__set_max_entries(dp->skel->maps.portier_sync,
				       opts->sync_bytes ? opts->sync_bytes :
				       PORTIER_SYNC_RING_DEFAULT);
	if (err) {
		fail(err, "cannot size the flow sync ring buffer: %s", strerror(-err));
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
	err = progs_fill(dp);
	if (err)
		goto fail;
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
	pt_ct_close(dp->ct6);
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
