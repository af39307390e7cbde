// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * main.c - portier [OPTIONS] OBJECT COMMAND [ARGS]: global options and the
 * table of objects. Each object lives in cmd_<object>.c.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] OBJECT { COMMAND | help }\n"
		"       %s version\n"
		"       %s reload\n"
		"\n"
		"       OBJECT := { config | daemon | route | backend | policy | stats |\n"
		"                   conntrack | prog | keepalived | vrrp }\n"
		"       OPTIONS := { -j|--json [-p|--pretty] | -v|--verbose |\n"
		"                    --bpffs DIR }\n"
		"\n"
		"  OPTIONS go anywhere on the line (\"%s route show -j\"); after \"--\"\n"
		"  every word is an argument (a route named \"-j\": \"route show -- -j\").\n",
		pt_g.prog, pt_g.prog, pt_g.prog, pt_g.prog);
	return 0;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (pt_g.json)
		return pt_json_print(json_pack("{s:s}", "version", PORTIER_VERSION));
	printf("%s %s\n", pt_g.prog, PORTIER_VERSION);
	return 0;
}

static const struct pt_cmd objects[] = {
	{ "config", do_config },
	{ "daemon", do_daemon },
	{ "route", do_route },
	{ "backend", do_backend },
	{ "policy", do_policy },
	{ "stats", do_stats },
	{ "conntrack", do_conntrack },
	{ "prog", do_prog },
	{ "reload", do_reload },
	{ "keepalived", do_keepalived },
	{ "help", do_help },
	{ "version", do_version },
	/* after version: "portier v" stays "version", as before vrrp */
	{ "vrrp", do_vrrp },
	{ 0 }
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int opt;

	pt_g.prog = basename(argv[0]);
	argc = pt_take_global_options(argc, argv);
	if (argc < 0)
		return 1;
	/* '+': stop at the first non-option, the OBJECT; the rest is its own. */
	while ((opt = getopt_long(argc, argv, "+hV", opts, NULL)) >= 0) {
		switch (opt) {
		case 'h':
			return do_help(0, NULL);
		case 'V':
			return do_version(0, NULL);
		default:
			p_err("unknown option; try '%s help'", pt_g.prog);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		do_help(0, NULL);
		return 1;
	}
	return pt_cmd_select(NULL, objects, argc, argv, do_help);
}
