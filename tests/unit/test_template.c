// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_template.c - "{{ }}" references: every accepted form, the seed's
 * app.v-admin.port with its warning, and every error with its position.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "template.h"
#include "vars.h"

static const char file[] = "vars.yml";

/* Variables every test renders against; line numbers matter below. */
static const char vars_yaml[] =
	"app:\n"				/* 1 */
	"  pgadmin4: {port: 30081}\n"		/* 2 */
	"  v-admin:\n"				/* 3 */
	"    port: 30085\n"			/* 4 */
	"  dash: {port: 30082}\n"		/* 5 */
	"  \"x\": {port: 1}\n"			/* 6 */
	"list: [a, b, c]\n"			/* 7 */
	"a: 1\n"				/* 8 */
	"b: 2\n"				/* 9 */
	"ref1: \"{{ ref2 }}\"\n"		/* 10 */
	"ref2: \"{{ app.dash.port }}\"\n"	/* 11 */
	"whole_app: \"{{ app }}\"\n"		/* 12 */
	"loop1: \"{{ loop2 }}\"\n"		/* 13 */
	"loop2: \"{{ loop1 }}\"\n"		/* 14 */
	"nothing:\n"				/* 15 */
	"mixed: \"p{{ a }}\"\n";		/* 16 */

struct fix {
	struct pt_val *vars;
	struct pt_diags d;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	f->vars = pt_yaml_parse(file, vars_yaml, strlen(vars_yaml), &f->d);
	assert_non_null(f->vars);
	assert_int_equal(f->d.n, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	pt_val_unref(f->vars);
	pt_diags_free(&f->d);
	free(f);
	return 0;
}

static const struct pt_pos at = { "routes.yml", 7, 13 };

/* Render s; the result (or NULL) is returned, diagnostics stay in f->d. */
static char *render(struct fix *f, const char *s)
{
	return pt_template_render(s, &at, "r1", f->vars, &f->d);
}

static void assert_renders(void **state, const char *s, const char *want)
{
	struct fix *f = *state;
	char *got = render(f, s);

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(f->d.n_errors, 0);
	free(got);
}

/* The only diagnostic is an error at "at" whose text contains want. */
static void assert_error(void **state, const char *s, const char *want)
{
	struct fix *f = *state;
	char *got = render(f, s);
	char buf[1024];

	assert_null(got);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.n_errors, 1);
	pt_diag_format(&f->d.v[0], buf, sizeof(buf));
	if (!strstr(buf, want))
		fail_msg("'%s' lacks '%s'", buf, want);
	assert_non_null(strstr(buf, "routes.yml:7:13: error: route 'r1': "));
}

static void test_plain_text(void **state)
{
	assert_renders(state, "roundrobin", "roundrobin");
	assert_renders(state, "", "");
	assert_renders(state, "a { b } c", "a { b } c");
}

static void test_dotted(void **state)
{
	assert_renders(state, "{{ app.pgadmin4.port }}", "30081");
	assert_renders(state, "{{app.pgadmin4.port}}", "30081");
	assert_renders(state, "{{   app . dash . port   }}", "30082");
}

static void test_subscripts(void **state)
{
	assert_renders(state, "{{ app['v-admin'].port }}", "30085");
	assert_renders(state, "{{ app[\"v-admin\"]['port'] }}", "30085");
	assert_renders(state, "{{ app[\"x\"].port }}", "1");
	assert_renders(state, "{{ app [ 'dash' ] [ 'port' ] }}", "30082");
	assert_renders(state, "{{ list[0] }}", "a");
	assert_renders(state, "{{ list[2] }}", "c");
	assert_renders(state, "{{ list.1 }}", "b");
}

static void test_mixed_text(void **state)
{
	assert_renders(state, "x{{ a }}y", "x1y");
	assert_renders(state, "{{ a }}-{{ b }}", "1-2");
	assert_renders(state, "port {{ app.dash.port }}!", "port 30082!");
	/* null renders as "", as Ansible does. */
	assert_renders(state, "[{{ nothing }}]", "[]");
}

static void test_recursive(void **state)
{
	assert_renders(state, "{{ ref1 }}", "30082");
	assert_renders(state, "{{ whole_app.pgadmin4.port }}", "30081");
	assert_renders(state, "{{ mixed }}", "p1");
}

static void test_v_admin_warning(void **state)
{
	struct fix *f = *state;
	char *got = render(f, "{{ app.v-admin.port }}");
	char buf[1024];

	assert_non_null(got);
	assert_string_equal(got, "30085");
	free(got);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.n_errors, 0);
	pt_diag_format(&f->d.v[0], buf, sizeof(buf));
	assert_string_equal(buf,
		"routes.yml:7:13: warning: route 'r1': '{{ app.v-admin.port }}': Jinja reads "
		"'-' as a subtraction, so Ansible fails here (\"'dict object' has no "
		"attribute ...\"); portier reads it as app['v-admin'].port. Write "
		"'{{ app['v-admin'].port }}' so that both agree");
}

static void test_v_admin_missing_key(void **state)
{
	struct fix *f = *state;
	char buf[1024];

	/* The warning about the form, then the error about the key. */
	assert_null(render(f, "{{ app.v-nope.port }}"));
	assert_int_equal(f->d.n, 2);
	assert_int_equal(f->d.n_errors, 1);
	assert_int_equal(f->d.v[0].sev, PT_WARNING);
	pt_diag_format(&f->d.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "routes.yml:7:13: error: route 'r1': '{{ app.v-nope.port }}': "
			    "'app' has no key 'v-nope'; define it, or fix the name");
}

static void test_unsupported(void **state)
{
	static const char *const bad[] = {
		"{{ a | int }}",	"{{ a + 1 }}",	   "{{ lookup('env', 'X') }}",
		"{{ a if b }}",		"{{ app.v - admin }}", "{{ 'text' }}",
		"{{ 1 }}",		"{{ }}",	   "{{ app. }}",
		"{{ list[-1] }}",	"{{ app[x] }}",
		"{{ v-admin }}",	"{{ a }} {{ a b }}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fix *f = *state;

		assert_error(state, bad[i], "only dotted paths (app.name.port) and subscripts");
		pt_diags_free(&f->d);
	}
}

static void test_statements(void **state)
{
	struct fix *f = *state;

	assert_error(state, "{% if a %}x{% endif %}", "statements {% %} and comments {# #}");
	pt_diags_free(&f->d);
	assert_error(state, "x {# comment #}", "statements {% %} and comments {# #}");
}

static void test_unterminated(void **state)
{
	struct fix *f = *state;

	assert_error(state, "port {{ app.dash.port", "'{{ app.dash.port': '{{' is not closed");
	pt_diags_free(&f->d);
	/* A quote that never closes hides the "}}". */
	assert_error(state, "{{ app['x }}", "'{{ app['x }}': '{{' is not closed");
}

static void test_undefined(void **state)
{
	struct fix *f = *state;

	assert_error(state, "{{ nope.port }}", "'{{ nope.port }}': variable 'nope' is undefined");
	pt_diags_free(&f->d);
	assert_error(state, "{{ app.nope.port }}",
		     "'{{ app.nope.port }}': 'app' has no key 'nope'");
	pt_diags_free(&f->d);
	assert_error(state, "{{ app.dash.nope }}", "'app.dash' has no key 'nope'");
	pt_diags_free(&f->d);
	assert_error(state, "{{ list[3] }}", "'list' has 3 items, no item 3");
	pt_diags_free(&f->d);
	assert_error(state, "{{ a.b }}", "'a' is a scalar, it has no key 'b'");
}

static void test_loop(void **state)
{
	struct fix *f = *state;
	char *got = render(f, "{{ loop1 }}");
	char buf[1024];

	assert_null(got);
	assert_int_equal(f->d.n_errors, 1);
	pt_diag_format(&f->d.v[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "more than 32 levels deep (a loop?)"));
	/* Reported where the loop closes, in the variables file. */
	assert_non_null(strstr(buf, "vars.yml:1"));
}

/* Each level refers to the next twice: 2^20 references, cut off with one
 * error. */
static void test_explosion(void **state)
{
	struct fix *f = *state;
	char yaml[4096], *got;
	size_t off = 0;
	struct pt_val *vars;

	for (int i = 0; i < 20; i++)
		off += snprintf(yaml + off, sizeof(yaml) - off, "l%d: \"{{ l%d }}{{ l%d }}\"\n", i,
				i + 1, i + 1);
	snprintf(yaml + off, sizeof(yaml) - off, "l20: x\n");
	vars = pt_yaml_parse(file, yaml, strlen(yaml), &f->d);
	assert_non_null(vars);
	got = pt_template_render("{{ l0 }}", &at, "r1", vars, &f->d);
	assert_null(got);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].msg, "takes more than 10000 references"));
	pt_val_unref(vars);
}

static void test_mapping_in_text(void **state)
{
	assert_error(state, "x{{ app }}", "'{{ app }}' is a mapping; only a scalar");
}

static void test_resolve_whole(void **state)
{
	struct fix *f = *state;
	struct pt_val *tmpl = pt_val_new_str("{{ app.dash }}", true, &at);
	struct pt_val *text = pt_val_new_str("a{{ a }}", true, &at);
	struct pt_val *plain = pt_val_new_str("plain", false, &at);
	struct pt_val *v;

	/* Exactly one reference: the referenced node itself, with its place. */
	v = pt_template_resolve(tmpl, "r1", f->vars, &f->d);
	assert_non_null(v);
	assert_int_equal(v->type, PT_VAL_MAP);
	assert_string_equal(pt_val_str(pt_val_get(v, "port")), "30082");
	assert_int_equal(v->pos.line, 5);
	pt_val_unref(v);

	v = pt_template_resolve(text, "r1", f->vars, &f->d);
	assert_non_null(v);
	assert_string_equal(pt_val_str(v), "a1");
	assert_int_equal(v->pos.line, 7);
	pt_val_unref(v);

	v = pt_template_resolve(plain, "r1", f->vars, &f->d);
	assert_ptr_equal(v, plain);
	pt_val_unref(v);

	/* A referenced scalar keeps the position where it is written. */
	pt_val_unref(tmpl);
	tmpl = pt_val_new_str("{{ ref1 }}", true, &at);
	v = pt_template_resolve(tmpl, "r1", f->vars, &f->d);
	assert_non_null(v);
	assert_string_equal(pt_val_str(v), "30082");
	assert_int_equal(v->pos.line, 5);
	pt_val_unref(v);

	assert_int_equal(f->d.n, 0);
	pt_val_unref(tmpl);
	pt_val_unref(text);
	pt_val_unref(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscripts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recursive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v_admin_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v_admin_missing_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unterminated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undefined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explosion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping_in_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_whole, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
