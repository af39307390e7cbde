// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* cli.c - global options, dispatch and output helpers (see cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http_check.h"
#include "routes.h"
#include "util.h"

struct pt_global pt_g = { .bpffs = NULL, .prog = "portier" };

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

int pt_take_global_options(int argc, char **argv)
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
	msg = xvasprintf(fmt, ap);
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

json_t *pt_check_json(const struct pt_check *c)
{
	char expect[16];
	json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i}", "type",
			      pt_check_type_name(c->type), "inter_ms", (int)c->inter_ms,
			      "timeout_ms", (int)c->timeout_ms, "rise", (int)c->rise, "fall",
			      (int)c->fall, "port", (int)c->port);

	if (!o)
		pt_die_oom();
	if (c->type != PT_CHECK_HTTP)
		return o;
	snprintf(expect, sizeof(expect), "%u-%u",
		 c->expect_min ? c->expect_min : PT_HTTP_CHECK_EXPECT_MIN,
		 c->expect_max ? c->expect_max : PT_HTTP_CHECK_EXPECT_MAX);
	json_object_set_new(o, "method", json_string(c->method[0] ? c->method :
							  PT_HTTP_CHECK_METHOD_DEFAULT));
	json_object_set_new(o, "uri", json_string(c->uri[0] ? c->uri : PT_HTTP_CHECK_URI_DEFAULT));
	json_object_set_new(o, "version", json_string(c->http_minor ? "HTTP/1.1" : "HTTP/1.0"));
	json_object_set_new(o, "host", json_string(c->host));
	json_object_set_new(o, "expect_status", json_string(expect));
	return o;
}

json_t *pt_options_json(unsigned int opts)
{
	json_t *a = json_array();

	for (size_t i = 0; i < PT_N_OPTIONS; i++)
		if (opts & (1U << i))
			json_array_append_new(a, json_string(pt_option_names[i]));
	return a;
}
