// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_links.c - the program on the NICs: attached through BPF links, pinned
 * beside the maps so that they outlive the daemon, updated in place by the
 * next one (adoption, upgrade); and the clean stop that removes it all.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

int progs_fill(struct pt_dataplane *dp)
{
	__u32 slot = PORTIER_PROG_XDP6;
	int fd = bpf_program__fd(dp->skel->progs.portier_xdp6);

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.portier_progs), &slot, &fd, BPF_ANY))
		return fail(-errno, "cannot put portier_xdp6 into portier_progs (IPv6 frames "
			    "would pass untouched): %s", strerror(errno));
	return 0;
}

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
