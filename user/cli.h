/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * cli.h - the command line's shared pieces: global options, bpftool-style
 * OBJECT COMMAND dispatch with prefix matching, and output that is text or
 * JSON from one code path (errors included: "Error: ..." on stderr, or
 * {"error": "..."} on stdout in JSON mode).
 */
#ifndef PORTIER_CLI_H
#define PORTIER_CLI_H

#include <jansson.h>
#include <stdbool.h>

struct pt_global {
	bool json;		/* -j */
	bool pretty;		/* -p (implies -j) */
	bool verbose;		/* -v: libbpf debug output, verifier log */
	const char *bpffs;	/* --bpffs DIR: pin directory */
	const char *prog;	/* argv[0] basename, for help */
};
extern struct pt_global pt_g;

struct pt_cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

/* Take the global options (-j, -p, -v, --json, --pretty, --verbose,
 * --bpffs DIR or --bpffs=DIR; short ones combined, "-jp") out of argv
 * wherever they are, into pt_g, as bpftool's getopt does: "portier route
 * show -j" is "portier -j route show". The first "--" ends them and is
 * dropped, so a route named "-j" is "portier route show -- -j". Other
 * words keep their order (a command's own options, such as the daemon's,
 * stay for it; -h and -V are main's, at the front). argv[0] is the
 * program. Returns the new argc (argv[argc] NULL), or -1 after an error. */
int pt_take_global_options(int argc, char **argv);

/* Run the command whose name argv[0] is a prefix of (first match in table
 * order, like bpftool); no argv[0] runs help. Returns the command's exit
 * code, or 1 with an error for an unknown command that points to the help
 * of obj (the object name, e.g. "route"; NULL for the top level). */
int pt_cmd_select(const char *obj, const struct pt_cmd *cmds, int argc, char **argv,
		  int (*help)(int argc, char **argv));

/* Report an error once, at the command boundary. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning on stderr ("Warning: ..."), in both modes. */
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every object's help starts with this: in JSON mode, help is the JSON
 * value null (as bpftool prints) and the caller returns 0. It takes the
 * help's own arguments, which no help uses. */
bool pt_help_json(int argc, char **argv);

/* Print a JSON value on stdout (compact, or indented with -p) and drop the
 * reference. Returns 0, or 1 if it could not be written. */
int pt_json_print(json_t *v);

/* The PT_OPT_* bits of a route as a JSON array of their names. */
json_t *pt_options_json(unsigned int opts);

/* A route's health-check settings: {"type", "inter_ms", "timeout_ms",
 * "rise", "fall", "port"}, and for an HTTP check "method", "uri",
 * "version", "host" ("" if none), "expect_status" ("200-399"). */
struct pt_check;
json_t *pt_check_json(const struct pt_check *c);

/* Objects: each file cmd_<object>.c exports do_<object>. */
int do_config(int argc, char **argv);
int do_daemon(int argc, char **argv);
int do_route(int argc, char **argv);
int do_backend(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_conntrack(int argc, char **argv);
int do_prog(int argc, char **argv);
int do_reload(int argc, char **argv);
int do_policy(int argc, char **argv);
/* "route lookup" and "config lookup" (cmd_lookup.c). */
int pt_route_lookup(int argc, char **argv);
int pt_config_lookup(int argc, char **argv);
/* "route add"'s arguments after "add" into r (cmd_route.c): 0, or 1 after
 * printing the error. r->backends is allocated (free it, also after an
 * error); r->name points into argv. */
struct pt_route;
int pt_route_add_parse(int argc, char **argv, struct pt_route *r);

#endif
