// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* cli.c - dispatch and output helpers (see cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "routes.h"
#include "util.h"

struct pt_global pt_g = { .bpffs = NULL, .prog = "portier" };

int pt_cmd_select(const char *obj, const struct pt_cmd *cmds, int argc, char **argv,
		  int (*help)(int argc, char **argv))
{
	if (argc < 1)
		return help(argc, argv);
	for (const struct pt_cmd *c = cmds; c->name; c++)
		if (is_prefix(argv[0], c->name))
			return c->func(argc - 1, argv + 1);
	p_err("unknown command '%s'; try '%s%s%s help'", argv[0], pt_g.prog, obj ? " " : "",
	      obj ? obj : "");
	return 1;
}

void p_err(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		pt_die_oom();
	va_end(ap);
	if (pt_g.json) {
		json_t *o = json_pack("{s:s}", "error", msg);

		pt_json_print(o);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
	free(msg);
}

void p_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("Warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool pt_help_json(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!pt_g.json)
		return false;
	fputs("null\n", stdout);
	return true;
}

int pt_json_print(json_t *v)
{
	size_t flags = JSON_PRESERVE_ORDER | (pt_g.pretty ? JSON_INDENT(4) : JSON_COMPACT);
	int err;

	if (!v)
		pt_die_oom();
	err = json_dumpf(v, stdout, flags);
	json_decref(v);
	fputc('\n', stdout);
	return err ? 1 : 0;
}

json_t *pt_options_json(unsigned int opts)
{
	json_t *a = json_array();

	for (size_t i = 0; i < PT_N_OPTIONS; i++)
		if (opts & (1U << i))
			json_array_append_new(a, json_string(pt_option_names[i]));
	return a;
}
