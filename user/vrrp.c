// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* vrrp.c - VRRP roles in the pinned map portier_vrrp (see vrrp.h). */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <bpf/bpf.h>

#include "util.h"
#include "vrrp.h"

static const char *const role_names[PORTIER_VRRP_ROLES] = {
	[PORTIER_VRRP_UNKNOWN] = "unknown", [PORTIER_VRRP_BACKUP] = "BACKUP",
	[PORTIER_VRRP_MASTER] = "MASTER",   [PORTIER_VRRP_FAULT] = "FAULT",
	[PORTIER_VRRP_STOP] = "STOP",
};

const char *pt_vrrp_role_name(unsigned int role)
{
	return role < PORTIER_VRRP_ROLES ? role_names[role] : "unknown";
}

int pt_vrrp_role_parse(const char *s, unsigned int *role)
{
	for (unsigned int i = PORTIER_VRRP_BACKUP; i < PORTIER_VRRP_ROLES; i++)
		if (!strcasecmp(s, role_names[i])) {
			*role = i;
			return 0;
		}
	return -EINVAL;
}

int pt_vrrp_read(int fd, unsigned int vrid, struct portier_vrrp *out)
{
	__u32 k = vrid;

	if (!vrid || vrid >= PORTIER_VRRP_IDS)
		return -EINVAL;
	return bpf_map_lookup_elem(fd, &k, out) ? -errno : 0;
}

int pt_vrrp_write(int fd, unsigned int vrid, unsigned int role, unsigned int priority,
		  bool inferred, bool *changed)
{
	struct portier_vrrp v = {};
	struct timespec ts;
	__u32 k = vrid;
	int err;

	if (changed)
		*changed = false;
	if (role >= PORTIER_VRRP_ROLES)
		return -EINVAL;
	err = pt_vrrp_read(fd, vrid, &v);
	if (err)
		return err;
	if (v.role != role) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v.since_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
		v.changes++;
		if (changed)
			*changed = true;
	}
	v.role = role;
	if (priority)
		v.priority = priority;
	v.inferred = inferred;
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
}

unsigned int pt_vrrp_host_role(int fd, const uint8_t *vrids, size_t n)
{
	/* Which role wins when instances disagree, strongest first. */
	static const unsigned int order[] = { PORTIER_VRRP_MASTER, PORTIER_VRRP_FAULT,
					      PORTIER_VRRP_BACKUP, PORTIER_VRRP_STOP };
	bool seen[PORTIER_VRRP_ROLES] = { false };
	size_t count = n ? n : PORTIER_VRRP_IDS - 1;

	for (size_t i = 0; i < count; i++) {
		struct portier_vrrp v;
		unsigned int id = n ? vrids[i] : (unsigned int)i + 1;

		if (!pt_vrrp_read(fd, id, &v) && v.role < PORTIER_VRRP_ROLES)
			seen[v.role] = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (seen[order[i]])
			return order[i];
	return PORTIER_VRRP_UNKNOWN;
}

/* Is addr on NIC iface now? */
static bool addr_on(const char *iface, const struct pt_addr *addr)
{
	struct ifaddrs *ifa, *i;
	bool on = false;

	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !on; i = i->ifa_next)
		on = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		     !strcmp(i->ifa_name, iface) &&
		     ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == addr->v4.s_addr;
	freeifaddrs(ifa);
	return on;
}

void pt_vrrp_watch_init(struct pt_vrrp_watch *w, int fd, const struct pt_pool *pool,
			pt_vrrp_log_fn log)
{
	char a[INET6_ADDRSTRLEN];

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	for (size_t i = 0; pool && i < pool->n_vips && i < PT_VIPS_MAX; i++) {
		const struct pt_vip *v = &pool->vips[i];
		struct portier_vrrp e = {};
		unsigned int role;

		w->vrids[w->n] = v->vrid;
		snprintf(w->iface[w->n], sizeof(w->iface[w->n]), "%s", v->iface);
		w->addr[w->n] = v->addr;
		if (!pt_vrrp_read(fd, v->vrid, &e) && e.role == PORTIER_VRRP_UNKNOWN) {
			role = addr_on(v->iface, &v->addr) ? PORTIER_VRRP_MASTER :
							     PORTIER_VRRP_BACKUP;
			int err = pt_vrrp_write(fd, v->vrid, role, v->priority, true, NULL);

			if (err)
				log("vrrp: cannot write map %s: %s", PORTIER_MAP_VRRP,
				    strerror(-err));
			else
				log("vrrp: vrid %u (%s on %s): no role notified yet; %s, as the "
				    "VIP is%s on %s", v->vrid,
				    pt_addr_str(&v->addr, a, sizeof(a)), v->iface,
				    pt_vrrp_role_name(role),
				    role == PORTIER_VRRP_MASTER ? "" : " not", v->iface);
		}
		w->n++;
	}
	pt_vrrp_watch_poll(w, log);
}

bool pt_vrrp_watch_poll(struct pt_vrrp_watch *w, pt_vrrp_log_fn log)
{
	unsigned int host;
	bool changed;

	for (size_t i = 0; i < w->n; i++) {
		struct portier_vrrp e = {};

		if (pt_vrrp_read(w->fd, w->vrids[i], &e) || e.role == w->roles[i])
			continue;
		log("vrrp: vrid %u on %s: %s -> %s%s", w->vrids[i], w->iface[i],
		    pt_vrrp_role_name(w->roles[i]), pt_vrrp_role_name(e.role),
		    e.inferred ? " (inferred)" : "");
		w->roles[i] = e.role;
	}
	host = w->n ? pt_vrrp_host_role(w->fd, w->vrids, w->n) : PORTIER_VRRP_UNKNOWN;
	changed = host != w->host_role;
	if (changed && w->n)
		log("vrrp: this host is %s", pt_vrrp_role_name(host));
	w->host_role = host;
	return changed;
}

json_t *pt_vrrp_json(int fd)
{
	json_t *list = json_array(), *o;
	struct timespec now;
	__u64 t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (__u64)now.tv_sec * 1000000000ULL + (__u64)now.tv_nsec;
	for (unsigned int id = 1; id < PORTIER_VRRP_IDS; id++) {
		struct portier_vrrp v;

		if (pt_vrrp_read(fd, id, &v) || v.role == PORTIER_VRRP_UNKNOWN)
			continue;
		json_array_append_new(list, json_pack("{s:i, s:s, s:i, s:I, s:I, s:b}", "vrid",
			(int)id, "role", pt_vrrp_role_name(v.role), "priority", (int)v.priority,
			"since_ms", (json_int_t)(t >= v.since_ns ? (t - v.since_ns) / 1000000 : 0),
			"changes", (json_int_t)v.changes, "inferred", (int)v.inferred));
	}
	o = json_pack("{s:s, s:o}", "role", pt_vrrp_role_name(pt_vrrp_host_role(fd, NULL, 0)),
		      "instances", list);
	if (!o)
		pt_die_oom();
	return o;
}

void pt_vrrp_print(const json_t *o, const char *indent)
{
	const json_t *list = json_object_get(o, "instances");

	if (!json_array_size(list))
		return;
	printf("%svrrp: %s\n", indent, json_string_value(json_object_get(o, "role")));
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *e = json_array_get(list, i);

		printf("%s  vrid %lld: %s, priority %lld, for %.1fs, %lld changes%s\n", indent,
		       json_integer_value(json_object_get(e, "vrid")),
		       json_string_value(json_object_get(e, "role")),
		       json_integer_value(json_object_get(e, "priority")),
		       (double)json_integer_value(json_object_get(e, "since_ms")) / 1000.0,
		       json_integer_value(json_object_get(e, "changes")),
		       json_is_true(json_object_get(e, "inferred")) ?
		       " (inferred by the daemon from the VIP)" : "");
	}
}
