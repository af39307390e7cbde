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
		"                   conntrack | prog }\n"
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
	{ "help", do_help },
	{ "version", do_version },
	{ 0 }
};

/* Take one global option: arg (and *next for --bpffs DIR) into pt_g.
 * Returns the words it used (1 or 2), 0 if arg is no global option, or -1
 * after an error. Short ones combine ("-jp"). */
static int global_option(const char *arg, const char *next)
{
	static const char bpffs[] = "--bpffs";

	if (!strcmp(arg, "-j") || !strcmp(arg, "--json")) {
		pt_g.json = true;
		return 1;
	}
	if (!strcmp(arg, "-p") || !strcmp(arg, "--pretty")) {
		pt_g.json = pt_g.pretty = true;
		return 1;
	}
	if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
		pt_g.verbose = true;
		return 1;
	}
	if (!strncmp(arg, bpffs, strlen(bpffs))) {
		if (arg[strlen(bpffs)] == '=') {
			pt_g.bpffs = arg + strlen(bpffs) + 1;
			return 1;
		}
		if (arg[strlen(bpffs)])
			return 0;
		if (!next) {
			p_err("--bpffs needs a directory; try '%s help'", pt_g.prog);
			return -1;
		}
		pt_g.bpffs = next;
		return 2;
	}
	if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[strspn(arg + 1, "jpv") + 1]) {
		for (const char *c = arg + 1; *c; c++)
			global_option(*c == 'j' ? "-j" : *c == 'p' ? "-p" : "-v", NULL);
		return 1;
	}
	return 0;
}

/* Take the global options out of argv wherever they are, as bpftool's
 * getopt does: "portier route show -j" is "portier -j route show". The
 * first "--" ends them and is dropped, so a route named "-j" is
 * "portier route show -- -j". Other words keep their order (a command's
 * own options, such as the daemon's, stay for it). Returns the new argc,
 * or -1 after an error. */
static int take_global_options(int argc, char **argv)
{
	int n = 1, i = 1;

	for (; i < argc; i++) {
		int used;

		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		used = global_option(argv[i], i + 1 < argc ? argv[i + 1] : NULL);
		if (used < 0)
			return -1;
		if (used) {
			i += used - 1;
			continue;
		}
		argv[n++] = argv[i];
	}
	for (; i < argc; i++)
		argv[n++] = argv[i];
	argv[n] = NULL;
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int opt;

	pt_g.prog = basename(argv[0]);
	argc = take_global_options(argc, argv);
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
