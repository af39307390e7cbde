// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_reload.c - "portier reload": ask the running daemon to re-read its
 * inventory, and say whether it applied it.
 *
 * The daemon writes its pid into portier_state when it starts; after every
 * reload (SIGHUP) it counts one more in portier_state.reloads with the
 * result. reload checks that a daemon holds the pin directory, reads the
 * count, sends SIGHUP, and waits (at most RELOAD_WAIT_S) for the count to
 * move: exit 0 if the daemon applied the inventory, 1 if it refused it
 * (errors in the daemon's log; nothing changed) or did not answer.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_dp.h"

#define RELOAD_WAIT_S		30	/* how long the daemon may take */
#define RELOAD_POLL_US		100000	/* 0.1 s between looks */
#define US_PER_S		1000000

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s reload\n"
		"       %1$s reload help\n"
		"\n"
		"  Ask the daemon running on the pin directory to re-read its\n"
		"  inventory and apply the difference (as SIGHUP does), and wait for\n"
		"  its answer (at most %2$d s). Exit 0: applied. Exit 1: the inventory\n"
		"  has errors (see the daemon's log; nothing changed), or no daemon\n"
		"  runs, or it did not answer. Routes added at runtime are kept unless\n"
		"  the inventory takes their name or listen address and port.\n",
		pt_g.prog, RELOAD_WAIT_S);
	return 0;
}

int do_reload(int argc, char **argv)
{
	struct portier_state st;
	struct pt_dataplane *dp;
	__u32 before, pid;
	int ret = 1;

	if (cli_is_help(argc, argv))
		return do_help(argc, argv);
	if (cli_no_more(argc, argv, "reload"))
		return 1;
	if (!pt_dp_daemon_running(cli_pin_dir())) {
		p_err("no portier daemon runs on %s; start one with 'portier daemon'",
		      cli_pin_dir());
		return 1;
	}
	dp = cli_dp_open();
	if (!dp)
		return 1;
	if (pt_dp_state(dp, &st)) {
		p_err("reload: %s", pt_dp_last_error(dp));
		goto out;
	}
	pid = st.daemon_pid;
	before = st.reloads;
	if (!pid) {
		p_err("the daemon on %s has not recorded its pid yet; try again", cli_pin_dir());
		goto out;
	}
	if (kill(pid, SIGHUP)) {
		p_err("cannot signal the daemon (pid %u): %s", pid, strerror(errno));
		goto out;
	}
	for (int i = 0; i < RELOAD_WAIT_S * (US_PER_S / RELOAD_POLL_US); i++) {
		if (!pt_dp_state(dp, &st) && st.reloads != before)
			break;
		usleep(RELOAD_POLL_US);
	}
	if (st.reloads == before)
		p_err("the daemon (pid %u) did not answer within %d s; see its log", pid,
		      RELOAD_WAIT_S);
	else if (st.reload_status)
		p_err("the daemon (pid %u) refused the inventory: %s; %s, its log has the "
		      "errors", pid, strerror(-st.reload_status),
		      st.reload_half ? "the maps were changed in part: fix the cause and reload "
				       "again" : "nothing changed");
	else if (pt_g.json)
		ret = pt_json_print(json_pack("{s:b, s:i, s:i}", "reloaded", 1, "pid", (int)pid,
					      "reloads", (int)st.reloads));
	else
		ret = 0;
	if (st.reloads != before && !st.reload_status && !pt_g.json)
		printf("reloaded (daemon pid %u)\n", pid);
out:
	pt_dp_close(dp);
	return ret;
}
