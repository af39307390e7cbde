// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* vrrp.c - VRRP roles in the pinned map portier_vrrp (see vrrp.h). */
#include <errno.h>
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
