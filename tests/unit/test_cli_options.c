// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_cli_options.c - global options anywhere on the line
 * (pt_take_global_options, user/cli.c): before and after the object, the
 * command and its arguments, combined, with their values; "--" ending
 * them; a command's own options left for it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli.h"

#define MAX_WORDS 16

/* Split line into argv (words by spaces, "portier" first), run the option
 * pass, and compare what is left with want (space-separated). Returns the
 * pass's result. */
static int take(const char *line, const char *want)
{
	static char buf[256];
	char *argv[MAX_WORDS + 1], *save = NULL, got[256] = "";
	int argc = 0, n;

	pt_g = (struct pt_global){ .prog = "portier" };
	snprintf(buf, sizeof(buf), "portier %s", line);
	for (char *w = strtok_r(buf, " ", &save); w && argc < MAX_WORDS;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	n = pt_take_global_options(argc, argv);
	if (n < 0)
		return n;
	assert_null(argv[n]);
	for (int i = 1; i < n; i++) {
		if (i > 1)
			strcat(got, " ");
		strcat(got, argv[i]);
	}
	assert_string_equal(got, want);
	return n;
}

static void test_after_arguments(void **state)
{
	(void)state;
	assert_int_equal(take("route show -j", "route show"), 3);
	assert_true(pt_g.json);
	assert_false(pt_g.pretty);
	take("stats show --json", "stats show");
	assert_true(pt_g.json);
	take("backend drain dash 203.0.113.2:30082 -p", "backend drain dash 203.0.113.2:30082");
	assert_true(pt_g.json && pt_g.pretty);
	take("conntrack show route dash state established -v",
	     "conntrack show route dash state established");
	assert_true(pt_g.verbose);
	assert_false(pt_g.json);
}

static void test_before_and_between(void **state)
{
	(void)state;
	take("-j route show", "route show");
	assert_true(pt_g.json);
	take("route -j show dash", "route show dash");
	assert_true(pt_g.json);
	take("-jp prog show", "prog show");
	assert_true(pt_g.json && pt_g.pretty);
	take("route show -vj", "route show");
	assert_true(pt_g.json && pt_g.verbose);
}

static void test_bpffs_value(void **state)
{
	(void)state;
	take("route show --bpffs /tmp/pins", "route show");
	assert_string_equal(pt_g.bpffs, "/tmp/pins");
	take("--bpffs=/tmp/p2 route show -j", "route show");
	assert_string_equal(pt_g.bpffs, "/tmp/p2");
	assert_true(pt_g.json);
	/* A directory named like an option is still its value. */
	take("route show --bpffs -j", "route show");
	assert_string_equal(pt_g.bpffs, "-j");
	assert_false(pt_g.json);
	assert_int_equal(take("route show --bpffs", ""), -1);
}

static void test_double_dash(void **state)
{
	(void)state;
	take("route show -- -j", "route show -j");
	assert_false(pt_g.json);
	take("route del -j -- -j", "route del -j");
	assert_true(pt_g.json);
	take("route add -- -p port 5 backend 192.0.2.1:5", "route add -p port 5 backend 192.0.2.1:5");
	assert_false(pt_g.pretty);
	/* Only the first "--" is the end of options. */
	take("route show -- --", "route show --");
}

static void test_others_left(void **state)
{
	(void)state;
	/* The daemon's and config check's own options, unknown words, -h. */
	take("daemon -i inv --input in0 --output out0 --keep -j",
	     "daemon -i inv --input in0 --output out0 --keep");
	assert_true(pt_g.json);
	take("config check -i x --host gw-1", "config check -i x --host gw-1");
	take("route show -x -jx", "route show -x -jx");
	assert_false(pt_g.json);
	take("-h", "-h");
	take("route show --bpffsx", "route show --bpffsx");
	assert_null(pt_g.bpffs);
	take("route show -", "route show -");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_arguments),
		cmocka_unit_test(test_before_and_between),
		cmocka_unit_test(test_bpffs_value),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_others_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
