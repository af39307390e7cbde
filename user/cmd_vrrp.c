// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_vrrp.c - "portier vrrp": the VRRP role keepalived gives this host.
 *
 *   portier vrrp notify { master | backup | fault | stop } VRID [PRIORITY]
 *   portier vrrp show
 *   portier vrrp help
 *
 * notify is what keepalived's notify_master/backup/fault/stop scripts run
 * (portier keepalived render writes them): it writes the role into the
 * pinned map portier_vrrp and signals the daemon (SIGUSR1), which acts on
 * it at once. It opens that one map by its path, so it works (and is
 * quick) while the daemon starts or reloads; with nothing pinned yet it
 * changes nothing and says so: the daemon infers the role from the VIP
 * when it starts.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "cli_dp.h"
#include "dataplane.h"
#include "portier.h"
#include "util.h"
#include "vrrp.h"

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s vrrp notify ROLE VRID [PRIORITY]\n"
		"       %1$s vrrp show\n"
		"       %1$s vrrp help\n"
		"\n"
		"       ROLE := { master | backup | fault | stop }\n"
		"       VRID := the VRRP instance's virtual_router_id, 1..255\n"
		"\n"
		"  notify  record the role keepalived gave this host for VRID in the\n"
		"          pinned data plane (--bpffs DIR) and tell the daemon\n"
		"          (SIGUSR1); keepalived's notify scripts run it (see\n"
		"          '%1$s keepalived render').\n"
		"  show    the role of every VRRP instance recorded, and the host's\n"
		"          (MASTER if it is MASTER of any).\n",
		pt_g.prog);
	return 0;
}

/* The pinned map name in the pin directory: an fd, or -errno. */
static int open_pinned(const char *name, __u32 value_size)
{
	char *path = xasprintf("%s/%s", cli_pin_dir(), name);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path), err;

	free(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size != value_size) {
		err = errno ? -errno : -EPROTO;
		close(fd);
		return info.value_size && info.value_size != value_size ? -EPROTO : err;
	}
	return fd;
}

/* SIGUSR1 to the daemon holding the pin directory; its pid, 0 if none. */
static pid_t tell_daemon(void)
{
	struct portier_state st = {};
	int fd;

	if (!pt_dp_daemon_running(cli_pin_dir()))
		return 0;
	fd = open_pinned(PORTIER_MAP_STATE, sizeof(st));
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &(__u32){ 0 }, &st) || !st.daemon_pid)
		st.daemon_pid = 0;
	close(fd);
	if (st.daemon_pid && kill((pid_t)st.daemon_pid, SIGUSR1))
		return 0;
	return (pid_t)st.daemon_pid;
}

static int do_notify(int argc, char **argv)
{
	unsigned long vrid, prio = 0;
	unsigned int role;
	struct portier_vrrp before = {};
	bool changed;
	pid_t pid;
	int fd, err;

	if (argc < 2 || argc > 3) {
		p_err("vrrp notify: expected ROLE VRID [PRIORITY]; try '%s vrrp help'", pt_g.prog);
		return 1;
	}
	if (pt_vrrp_role_parse(argv[0], &role)) {
		p_err("vrrp notify: role '%s' is unknown; use master, backup, fault or stop",
		      argv[0]);
		return 1;
	}
	if (!pt_parse_uint(argv[1], 1, PORTIER_VRRP_IDS - 1, &vrid)) {
		p_err("vrrp notify: '%s' is not a virtual_router_id; give a number from 1 to 255",
		      argv[1]);
		return 1;
	}
	if (argc == 3 && !pt_parse_uint(argv[2], 1, 255, &prio)) {
		p_err("vrrp notify: '%s' is not a VRRP priority; give a number from 1 to 255",
		      argv[2]);
		return 1;
	}
	fd = open_pinned(PORTIER_MAP_VRRP, sizeof(struct portier_vrrp));
	if (fd == -ENOENT) {
		/* keepalived may start before portier: not an error. */
		fprintf(stderr, "vrrp notify: no portier data plane is pinned in %s yet; "
			"nothing recorded (the daemon infers the role of vrid %lu from its "
			"VIP when it starts)\n", cli_pin_dir(), vrid);
		if (pt_g.json)
			pt_json_print(json_pack("{s:i, s:s, s:b, s:i}", "vrid", (int)vrid, "role",
						pt_vrrp_role_name(role), "recorded", false,
						"daemon_pid", 0));
		return 0;
	}
	if (fd < 0) {
		p_err("vrrp notify: cannot open %s/%s: %s", cli_pin_dir(), PORTIER_MAP_VRRP,
		      fd == -EPROTO ? "it comes from another portier version; restart the "
		      "daemon with this one" : strerror(-fd));
		return 1;
	}
	pt_vrrp_read(fd, vrid, &before);
	err = pt_vrrp_write(fd, vrid, role, prio, false, &changed);
	close(fd);
	if (err) {
		p_err("vrrp notify: cannot write %s: %s", PORTIER_MAP_VRRP, strerror(-err));
		return 1;
	}
	pid = tell_daemon();
	if (pt_g.json)
		return pt_json_print(json_pack("{s:i, s:s, s:s, s:b, s:b, s:i}", "vrid", (int)vrid,
					       "role", pt_vrrp_role_name(role), "was",
					       pt_vrrp_role_name(before.role), "recorded", true,
					       "changed", changed, "daemon_pid", (int)pid));
	printf("vrid %lu: %s%s%s%s; %s\n", vrid, pt_vrrp_role_name(role),
	       changed ? " (was " : " (unchanged", changed ? pt_vrrp_role_name(before.role) : "",
	       ")", pid ? "daemon told" : "no daemon running");
	return 0;
}

static int do_show(int argc, char **argv)
{
	json_t *o;
	int fd;

	if (cli_no_more(argc, argv, "vrrp show"))
		return 1;
	fd = open_pinned(PORTIER_MAP_VRRP, sizeof(struct portier_vrrp));
	if (fd < 0) {
		p_err("vrrp show: cannot open %s/%s: %s", cli_pin_dir(), PORTIER_MAP_VRRP,
		      fd == -ENOENT ? "no portier data plane is pinned there; start 'portier "
		      "daemon', or give its --bpffs DIR" : strerror(-fd));
		return 1;
	}
	o = pt_vrrp_json(fd);
	close(fd);
	if (pt_g.json)
		return pt_json_print(o);
	if (!json_array_size(json_object_get(o, "instances")))
		printf("vrrp: no role recorded (no notify from keepalived, no VIP in the "
		       "daemon's inventory)\n");
	pt_vrrp_print(o, "");
	json_decref(o);
	return 0;
}

static const struct pt_cmd cmds[] = {
	{ "notify", do_notify },
	{ "show", do_show },
	{ "list", do_show },
	{ "help", do_help },
	{ 0 }
};

int do_vrrp(int argc, char **argv)
{
	return pt_cmd_select("vrrp", cmds, argc, argv, do_help);
}
