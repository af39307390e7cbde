// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_tx.c - every change is a transaction (dataplane.h): the writers' lock,
 * the mirror re-read when portier_state.generation moved, the generation
 * bumped after a write, the warnings of the change. Also portier_state's
 * other fields (the daemon's pid, its reloads), changed under the same lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

#define LOCK_TRIES	200	/* writers' lock: 200 tries ... */
#define LOCK_SLEEP_US	50000	/* ... 50 ms apart, 10 s in all */

void warnings_clear(struct pt_dataplane *dp)
{
	for (size_t i = 0; i < dp->n_warnings; i++)
		free(dp->warnings[i]);
	free(dp->warnings);
	dp->warnings = NULL;
	dp->n_warnings = 0;
}

void dp_warn(struct pt_dataplane *dp, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
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
int tx_begin(struct pt_dataplane *dp)
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
int tx_end(struct pt_dataplane *dp, bool wrote, int err)
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
