// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_config_cli.c - "portier config check" as users run it: the built
 * binary (PORTIER_BIN, default build/portier) on the seed and on bad
 * inventories, its JSON parsed back with jansson, its exit codes and text.
 * Run from the repository root (tests/run.sh does).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED "tests/fixtures/seed"
#define SEED_ROUTES 6
#define SEED_BACKENDS 3
#define OUT_MAX (1 << 20)

/* What one run of the binary gave. */
struct run {
	char *out;	/* stdout */
	char *err;	/* stderr */
	int status;	/* exit code, or -1 if it did not exit */
};

static const char *bin(void)
{
	const char *b = getenv("PORTIER_BIN");

	return b && *b ? b : "build/portier";
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, OUT_MAX + 1);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, OUT_MAX, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Run "portier ARGS" with stdout and stderr captured in files. */
static void run(struct run *r, const char *args)
{
	char out[] = "/tmp/portier-cli-out-XXXXXX", err[] = "/tmp/portier-cli-err-XXXXXX";
	int fo = mkstemp(out), fe = mkstemp(err), st;
	char *cmd;

	assert_true(fo >= 0 && fe >= 0);
	assert_true(asprintf(&cmd, "%s %s >%s 2>%s", bin(), args, out, err) > 0);
	st = system(cmd);
	free(cmd);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out = slurp(out);
	r->err = slurp(err);
	close(fo);
	close(fe);
	unlink(out);
	unlink(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("not JSON (%s at %d): %s", e.text, e.line, text);
	return j;
}

/* Run "portier ARGS", expect exit status, and parse its stdout. */
static json_t *run_json(struct run *r, const char *args, int status)
{
	run(r, args);
	assert_int_equal(r->status, status);
	return parse(r->out);
}

static void test_seed_json(void **state)
{
	struct run r;
	json_t *j, *routes, *route, *warnings;
	size_t i;

	(void)state;
	run(&r, "-j config check -i " SEED " --host gateway-1");
	assert_int_equal(r.status, 0);
	j = parse(r.out);
	assert_string_equal(json_string_value(json_object_get(j, "host")), "gateway-1");
	routes = json_object_get(j, "routes");
	assert_true(json_is_array(routes));
	assert_int_equal(json_array_size(routes), SEED_ROUTES);
	assert_true(json_is_array(json_object_get(j, "errors")));
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);

	json_array_foreach(routes, i, route) {
		json_t *b = json_object_get(route, "backends"), *be;
		size_t k, locals = 0;

		assert_string_equal(json_string_value(json_object_get(route, "address")), "*");
		assert_string_equal(json_string_value(json_object_get(route, "proto")), "tcp");
		assert_string_equal(json_string_value(json_object_get(route, "mode")), "http");
		assert_string_equal(json_string_value(json_object_get(route, "nat")), "snat");
		assert_string_equal(json_string_value(json_object_get(route, "balance")),
				    "roundrobin");
		assert_string_equal(json_string_value(json_object_get(route, "syn_cookies")),
				    "auto");
		assert_int_equal(json_array_size(json_object_get(route, "options")), 1);
		assert_string_equal(json_string_value(json_array_get(
					    json_object_get(route, "options"), 0)), "httplog");
		assert_int_equal(json_integer_value(json_object_get(
					 json_object_get(route, "check"), "inter_ms")), 2000);
		assert_int_equal(json_array_size(b), SEED_BACKENDS);
		json_array_foreach(b, k, be) {
			char want[32];

			snprintf(want, sizeof(want), "203.0.113.%zu", k + 1);
			assert_string_equal(json_string_value(json_object_get(be, "address")),
					    want);
			assert_int_equal(json_integer_value(json_object_get(be, "port")),
					 json_integer_value(json_object_get(route, "port")));
			if (json_is_true(json_object_get(be, "local"))) {
				locals++;
				assert_string_equal(json_string_value(json_object_get(be, "host")),
						    "gateway-1");
			}
		}
		assert_int_equal(locals, 1);
	}
	/* The seed's ports, argocd from the "arogcd" key. */
	route = json_array_get(routes, 1);
	assert_string_equal(json_string_value(json_object_get(route, "name")), "argocd");
	assert_int_equal(json_integer_value(json_object_get(route, "port")), 30080);
	route = json_array_get(routes, 5);
	assert_string_equal(json_string_value(json_object_get(route, "name")), "v-admin");
	assert_int_equal(json_integer_value(json_object_get(route, "port")), 30085);

	/* Only the v-admin warnings: its port and its destination port. */
	warnings = json_object_get(j, "warnings");
	assert_int_equal(json_array_size(warnings), 2);
	json_array_foreach(warnings, i, route) {
		assert_string_equal(json_string_value(json_object_get(route, "route")), "v-admin");
		assert_string_equal(json_string_value(json_object_get(route, "file")),
				    SEED "/group_vars/kube_gateway_pool.yml");
		assert_non_null(strstr(json_string_value(json_object_get(route, "message")),
				       "app['v-admin'].port"));
	}
	assert_int_equal(json_integer_value(json_object_get(json_array_get(warnings, 0), "line")),
			 69);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(warnings, 1), "line")),
			 73);
	json_decref(j);
	run_free(&r);
}

static void test_seed_text(void **state)
{
	struct run r;

	(void)state;
	/* Prefixes select commands, as in bpftool. */
	run(&r, "conf ch -i " SEED " --host gateway-2");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "host gateway-2: 6 routes\n"));
	assert_non_null(strstr(r.out, "ROUTE"));
	assert_non_null(strstr(r.out, "*:30081/tcp"));
	assert_non_null(strstr(r.out, "203.0.113.2:30081 gateway-2 (local)\n"));
	assert_non_null(strstr(r.out, "203.0.113.1:30081 gateway-1\n"));
	assert_null(strstr(r.out, "gateway-1 (local)"));
	assert_non_null(strstr(r.err, SEED "/group_vars/kube_gateway_pool.yml:69:13: warning: "
				      "route 'v-admin': '{{ app.v-admin.port }}'"));
	assert_null(strstr(r.err, "error"));
	run_free(&r);
}

/* A route line of the text table, from its name to the end of the line. */
static char *table_line(const char *out, const char *name)
{
	char *want, *p, *end;

	assert_true(asprintf(&want, "\n%s ", name) > 0);
	p = strstr(out, want);
	free(want);
	assert_non_null(p);
	end = strchr(p + 1, '\n');
	return strndup(p + 1, end ? (size_t)(end - p - 1) : strlen(p + 1));
}

/* Each route's syn_cookies in effect (off on a UDP route, with the
 * warning), in JSON and in the table's SYN_COOKIES column; a bad mode is
 * an error and leaves its route out. */
static void test_syn_cookies(void **state)
{
	static const char *const want[][2] = {
		{ "web", "on" }, { "api", "off" }, { "admin", "auto" }, { "dns", "off" },
	};
	struct run r;
	json_t *j, *routes, *route, *w;
	size_t i;

	(void)state;
	j = run_json(&r, "-j config check -i tests/fixtures/syn-cookies --host gw-1", 1);
	routes = json_object_get(j, "routes");
	assert_int_equal(json_array_size(routes), 4);
	for (size_t k = 0; k < 4; k++) {
		bool found = false;

		json_array_foreach(routes, i, route) {
			if (strcmp(json_string_value(json_object_get(route, "name")), want[k][0]))
				continue;
			found = true;
			assert_string_equal(json_string_value(json_object_get(route,
									      "syn_cookies")),
					    want[k][1]);
		}
		assert_true(found);
	}
	assert_int_equal(json_array_size(json_object_get(j, "warnings")), 1);
	w = json_array_get(json_object_get(j, "warnings"), 0);
	assert_string_equal(json_string_value(json_object_get(w, "route")), "dns");
	assert_int_equal(json_integer_value(json_object_get(w, "line")), 27);
	assert_int_equal(json_integer_value(json_object_get(w, "column")), 28);
	assert_non_null(strstr(json_string_value(json_object_get(w, "message")),
			       "syn_cookies applies to TCP routes only; ignored"));
	w = json_array_get(json_object_get(j, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(w, "route")), "slow");
	json_decref(j);
	run_free(&r);

	run(&r, "config check -i tests/fixtures/syn-cookies --host gw-1");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "  SYN_COOKIES  "));
	for (size_t k = 0; k < 4; k++) {
		char *line = table_line(r.out, want[k][0]), *cell;

		assert_true(asprintf(&cell, " roundrobin  %s ", want[k][1]) > 0);
		if (!strstr(line, cell))
			fail_msg("route %s: no '%s' in '%s'", want[k][0], cell, line);
		free(cell);
		free(line);
	}
	assert_non_null(strstr(r.err, "tests/fixtures/syn-cookies/hosts.yml:27:28: warning: "
				      "route 'dns': syn_cookies applies to TCP routes only"));
	run_free(&r);
}

static void test_errors_json(void **state)
{
	struct run r;
	json_t *j, *errors, *e;
	size_t i;

	(void)state;
	run(&r, "config check -j -i tests/fixtures/bad-port --host gw-1");
	assert_int_equal(r.status, 1);
	j = parse(r.out);
	errors = json_object_get(j, "errors");
	assert_true(json_array_size(errors) >= 5);
	json_array_foreach(errors, i, e) {
		assert_string_equal(json_string_value(json_object_get(e, "file")),
				    "tests/fixtures/bad-port/hosts.yml");
		assert_true(json_integer_value(json_object_get(e, "line")) > 0);
		assert_true(json_integer_value(json_object_get(e, "column")) > 0);
		assert_true(json_is_string(json_object_get(e, "route")));
		assert_true(json_is_string(json_object_get(e, "message")));
	}
	/* Routes with errors are not shown as if they would apply. */
	assert_true(json_is_array(json_object_get(j, "routes")));
	assert_int_equal(json_array_size(json_object_get(j, "routes")), 0);
	json_decref(j);
	run_free(&r);
}

static void test_unknown_host(void **state)
{
	struct run r;
	json_t *j, *e;

	(void)state;
	run(&r, "-j config check -i " SEED " --host nosuchhost");
	assert_int_equal(r.status, 1);
	j = parse(r.out);
	e = json_array_get(json_object_get(j, "errors"), 0);
	assert_non_null(e);
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")),
			       "host 'nosuchhost' is not in the inventory; give --host one of "
			       "its hosts (gateway-1, gateway-2, gateway-3)"));
	json_decref(j);
	run_free(&r);

	run(&r, "config check -i " SEED " --host nosuchhost");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "error: host 'nosuchhost' is not in the inventory"));
	run_free(&r);
}

static void test_missing_inventory(void **state)
{
	struct run r;

	(void)state;
	run(&r, "config check -i tests/fixtures/does-not-exist --host gw-1");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "tests/fixtures/does-not-exist"));
	run_free(&r);
}

static void test_usage(void **state)
{
	struct run r;
	json_t *j;

	(void)state;
	run(&r, "config check --host gw-1");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "Error: config check: no inventory; give one with -i PATH"));
	run_free(&r);

	run(&r, "-j config check -i " SEED " --bogus");
	assert_int_equal(r.status, 1);
	j = parse(r.out);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "--bogus"));
	json_decref(j);
	run_free(&r);

	run(&r, "config help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "config check -i PATH [--host NAME]"));
	run_free(&r);

	run(&r, "config frobnicate");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
	assert_non_null(strstr(r.err, " config help'"));
	run_free(&r);
}

/* The table of an inventory as stored in tests/fixtures/check-expected:
 * the seed's is byte for byte what it was before routes had a family
 * (the default keeps every IPv4 inventory as it was); ipv6-literal's
 * shows IPv6 listens and backends bracketed, "*" of family ipv6 and the
 * halves of a dual route labelled. */
static void check_table(const char *fixture, const char *host)
{
	char *args, *path, *want;
	struct run r;

	assert_true(asprintf(&args, "config check -i tests/fixtures/%s --host %s", fixture,
			     host) > 0);
	assert_true(asprintf(&path, "tests/fixtures/check-expected/%s.txt", fixture) > 0);
	run(&r, args);
	want = slurp(path);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, want);
	assert_null(strstr(r.err, "error"));
	free(want);
	free(path);
	free(args);
	run_free(&r);
}

static void test_tables(void **state)
{
	(void)state;
	check_table("seed", "gateway-1");
	check_table("ipv6-literal", "gateway-1");
}

/* IPv6 in JSON: each route's family and whether it is a dual route's
 * half; backends' addresses as text, ports apart, as IPv4 ones. */
static void test_ipv6_json(void **state)
{
	static const struct {
		const char *name, *address, *family;
		bool dual;
		const char *be;
	} want[] = {
		{ "web6", "*", "ipv6", false, "2001:db8::10" },
		{ "vip6", "2001:db8:0:80::1", "ipv6", false, "2001:db8::10" },
		{ "web4", "*", "ipv4", false, "203.0.113.12" },
		{ "both", "*", "ipv4", true, "203.0.113.12" },
		{ "both/v6", "*", "ipv6", true, "2001:db8::10" },
	};
	struct run r;
	json_t *j, *routes;

	(void)state;
	j = run_json(&r, "config check -j -i tests/fixtures/ipv6-literal --host gateway-1", 0);
	routes = json_object_get(j, "routes");
	assert_int_equal(json_array_size(routes), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *o = json_array_get(routes, i);
		json_t *be = json_array_get(json_object_get(o, "backends"), 0);

		assert_string_equal(json_string_value(json_object_get(o, "name")), want[i].name);
		assert_string_equal(json_string_value(json_object_get(o, "address")),
				    want[i].address);
		assert_string_equal(json_string_value(json_object_get(o, "family")),
				    want[i].family);
		assert_int_equal(json_is_true(json_object_get(o, "dual")), want[i].dual);
		assert_string_equal(json_string_value(json_object_get(be, "address")), want[i].be);
	}
	assert_int_equal(json_array_size(json_object_get(j, "warnings")), 2);
	json_decref(j);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_json),
		cmocka_unit_test(test_seed_text),
		cmocka_unit_test(test_syn_cookies),
		cmocka_unit_test(test_errors_json),
		cmocka_unit_test(test_unknown_host),
		cmocka_unit_test(test_missing_inventory),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_ipv6_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
