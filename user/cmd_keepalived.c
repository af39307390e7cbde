// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_keepalived.c - "portier keepalived": keepalived's configuration for
 * one host of the nat-gateway-pool, from the inventory's vips.
 *
 *   portier keepalived render -i PATH [--host NAME] [--output FILE]
 *                             [--portier PATH]
 *   portier keepalived help
 *
 * Nothing is written when the inventory has an error; FILE is replaced
 * whole (a temporary file renamed over it), mode 0600 (it may hold the
 * VRRP password).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "inventory.h"
#include "keepalived.h"
#include "util.h"
#include "vips.h"

#define DIAG_BUF 2048

struct render_args {
	const char *inventory;	/* -i PATH */
	const char *host;	/* --host NAME */
	const char *output;	/* --output FILE, NULL = stdout */
	const char *portier;	/* --portier PATH, NULL = this binary */
};

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s keepalived render -i PATH [--host NAME] [--output FILE]\n"
		"                                [--portier PATH]\n"
		"       %1$s keepalived help\n"
		"\n"
		"  render  write keepalived.conf for host NAME (default: the short\n"
		"          hostname) from the inventory's vips: one vrrp_instance per\n"
		"          VIP (interface, state, priority, virtual_router_id,\n"
		"          advert_int, the address), all in one vrrp_sync_group when\n"
		"          there are several, and notify_master/backup/fault/stop\n"
		"          scripts that run '%1$s vrrp notify ROLE VRID PRIORITY' to\n"
		"          tell the daemon its role. --bpffs DIR is passed on to them.\n"
		"          Nothing is written if the inventory has errors.\n"
		"\n"
		"  --output FILE   write FILE (replaced whole, mode 0600) instead of\n"
		"                  stdout\n"
		"  --portier PATH  the portier the scripts run (default: this\n"
		"                  binary's own path)\n",
		pt_g.prog);
	return 0;
}

static int parse_args(int argc, char **argv, struct render_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
		const char **dst = NULL;

		if (!strcmp(arg, "-i") || (n == strlen("--inventory") &&
					    !strncmp(arg, "--inventory", n)))
			dst = &a->inventory;
		else if (n == strlen("--host") && !strncmp(arg, "--host", n))
			dst = &a->host;
		else if (!strcmp(arg, "-o") || (n == strlen("--output") &&
						 !strncmp(arg, "--output", n)))
			dst = &a->output;
		else if (n == strlen("--portier") && !strncmp(arg, "--portier", n))
			dst = &a->portier;
		if (!dst) {
			p_err("keepalived render: unknown argument '%s'; try '%s keepalived help'",
			      arg, pt_g.prog);
			return 1;
		}
		if (eq && arg[0] == '-' && arg[1] == '-') {
			*dst = eq + 1;
		} else if (i + 1 < argc) {
			*dst = argv[++i];
		} else {
			p_err("keepalived render: '%s' needs a value; try '%s keepalived help'",
			      arg, pt_g.prog);
			return 1;
		}
	}
	if (!a->inventory) {
		p_err("keepalived render: no inventory; give one with -i PATH");
		return 1;
	}
	return 0;
}

/* Render into path through a temporary file renamed over it. */
static int write_file(const char *path, const struct pt_pool *p,
		      const struct pt_keepalived_opts *o)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int err = 0;

	if (!f) {
		err = -errno;
		if (fd >= 0)
			close(fd);
	}
	if (!err)
		err = pt_keepalived_render(p, o, f);
	if (f && fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		p_err("keepalived render: cannot write %s: %s", path, strerror(-err));
	}
	free(tmp);
	return err;
}

static int do_render(int argc, char **argv)
{
	struct render_args a = { 0 };
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = NULL;
	struct pt_pool *p = NULL;
	char hostname[PT_HOSTNAME_BUF], self[PATH_MAX], buf[DIAG_BUF];
	struct pt_keepalived_opts o = { .bpffs = pt_g.bpffs };
	const char *host;
	int ret = 1;

	if (parse_args(argc, argv, &a))
		return 1;
	host = a.host;
	if (!host) {
		int err = pt_short_hostname(hostname, sizeof(hostname));

		if (err) {
			p_err("keepalived render: cannot read this host's name (%s); give --host "
			      "NAME", strerror(-err));
			return 1;
		}
		host = hostname;
	}
	o.portier = a.portier;
	if (!o.portier) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[n > 0 ? n : 0] = '\0';
		o.portier = n > 0 ? self : "portier";
	}
	if (strpbrk(o.portier, "\" \t\n") || (o.bpffs && strpbrk(o.bpffs, "\" \t\n"))) {
		p_err("keepalived render: '%s' has a space or a quote, which keepalived's "
		      "notify line cannot hold; install portier (or the pin directory) under "
		      "a path without them", strpbrk(o.portier, "\" \t\n") ? o.portier : o.bpffs);
		return 1;
	}
	o.source = a.inventory;

	inv = pt_inventory_load(a.inventory, &d);
	if (inv && !d.n_errors) {
		p = pt_pool_build(inv, host, &d);
		if (!p)
			p_err("keepalived render: host '%s' is not in the inventory %s; give "
			      "--host one of its hosts", host, a.inventory);
	}
	for (size_t i = 0; i < d.n; i++) {
		pt_diag_format(&d.v[i], buf, sizeof(buf));
		fprintf(stderr, "%s\n", buf);
	}
	if (!inv) {
		p_err("keepalived render: cannot read inventory %s", a.inventory);
	} else if (d.n_errors) {
		p_err("keepalived render: %s has %zu error%s (above); nothing written",
		      a.inventory, d.n_errors, d.n_errors == 1 ? "" : "s");
	} else if (p && !p->n_vips) {
		p_err("keepalived render: host '%s' has no vips, so keepalived has nothing to "
		      "do; declare vips: {INTERFACE: {virtual_router_id: N, vip: ADDRESS}} and "
		      "the host's INTERFACE: {priority: N, state: MASTER|BACKUP} "
		      "(docs/inventory.md)", host);
	} else if (p && a.output) {
		ret = write_file(a.output, p, &o) ? 1 : 0;
		if (!ret && pt_g.json)
			pt_json_print(json_pack("{s:s, s:s, s:i}", "host", host, "output",
						a.output, "instances", (int)p->n_vips));
	} else if (p && pt_g.json) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (!f)
			pt_die_oom();
		pt_keepalived_render(p, &o, f);
		fclose(f);
		ret = pt_json_print(json_pack("{s:s, s:s, s:i}", "host", host, "config", text,
					      "instances", (int)p->n_vips));
		free(text);
	} else if (p) {
		ret = pt_keepalived_render(p, &o, stdout) ? 1 : 0;
	}
	pt_pool_free(p);
	pt_inventory_free(inv);
	pt_diags_free(&d);
	return ret;
}

static const struct pt_cmd cmds[] = {
	{ "render", do_render },
	{ "help", do_help },
	{ 0 }
};

int do_keepalived(int argc, char **argv)
{
	return pt_cmd_select("keepalived", cmds, argc, argv, do_help);
}
