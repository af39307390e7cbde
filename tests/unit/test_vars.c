// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* test_vars.c - the YAML value tree (user/vars.c): scalars, positions,
 * anchors and merges, duplicates, errors and their positions, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vars.h"

#define F "t.yml"

static struct pt_val *parse(const char *text, struct pt_diags *d)
{
	return pt_yaml_parse(F, text, strlen(text), d);
}

/* Parse text that must be clean: no errors, no warnings. */
static struct pt_val *parse_ok(const char *text)
{
	struct pt_diags d = { 0 };
	struct pt_val *v = parse(text, &d);

	assert_non_null(v);
	assert_int_equal(d.n, 0);
	pt_diags_free(&d);
	return v;
}

static void assert_pos(const struct pt_pos *p, unsigned int line, unsigned int col)
{
	assert_string_equal(p->file, F);
	assert_int_equal(p->line, line);
	assert_int_equal(p->col, col);
}

/* Parse text that must fail with exactly one error at line:col whose
 * message contains want. */
static void assert_parse_error(const char *text, unsigned int line, unsigned int col,
			       const char *want)
{
	struct pt_diags d = { 0 };
	struct pt_val *v = parse(text, &d);

	assert_null(v);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].sev, PT_ERROR);
	assert_pos(&d.v[0].pos, line, col);
	if (!strstr(d.v[0].msg, want))
		fail_msg("error '%s' lacks '%s'", d.v[0].msg, want);
	pt_diags_free(&d);
}

static void test_scalars_and_quoting(void **state)
{
	struct pt_val *v = parse_ok("plain: 30080\n"
				    "single: 'a b'\n"
				    "double: \"x\\ty\"\n"
				    "lit: |\n  line\n"
				    "folded: >\n  a\n  b\n"
				    "tagged: !!str 42\n"
				    "unsafe: !unsafe '{{ x }}'\n"
				    "qnull: 'null'\n");
	(void)state;
	assert_int_equal(v->type, PT_VAL_MAP);
	assert_int_equal(v->n, 8);
	assert_string_equal(pt_val_str(pt_val_get(v, "plain")), "30080");
	assert_false(pt_val_get(v, "plain")->quoted);
	assert_string_equal(pt_val_str(pt_val_get(v, "single")), "a b");
	assert_true(pt_val_get(v, "single")->quoted);
	assert_string_equal(pt_val_str(pt_val_get(v, "double")), "x\ty");
	assert_true(pt_val_get(v, "double")->quoted);
	assert_string_equal(pt_val_str(pt_val_get(v, "lit")), "line\n");
	assert_true(pt_val_get(v, "lit")->quoted);
	assert_string_equal(pt_val_str(pt_val_get(v, "folded")), "a b\n");
	assert_string_equal(pt_val_str(pt_val_get(v, "tagged")), "42");
	assert_true(pt_val_get(v, "tagged")->quoted);
	assert_string_equal(pt_val_str(pt_val_get(v, "unsafe")), "{{ x }}");
	assert_true(pt_val_get(v, "unsafe")->quoted);
	/* Quoted "null" is text, not null. */
	assert_int_equal(pt_val_get(v, "qnull")->type, PT_VAL_SCALAR);
	assert_null(pt_val_get(v, "missing"));
	assert_null(pt_val_get(pt_val_get(v, "plain"), "x"));
	assert_null(pt_val_str(v));
	pt_val_unref(v);
}

static void test_nulls(void **state)
{
	struct pt_val *v = parse_ok("a:\nb: ~\nc: null\nd: NULL\ne: Null\nf: nil\n");
	const char *keys[] = { "a", "b", "c", "d", "e" };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_non_null(pt_val_get(v, keys[i]));
		assert_int_equal(pt_val_get(v, keys[i])->type, PT_VAL_NULL);
		assert_null(pt_val_str(pt_val_get(v, keys[i])));
	}
	assert_int_equal(pt_val_get(v, "f")->type, PT_VAL_SCALAR);
	pt_val_unref(v);
}

static void test_positions(void **state)
{
	struct pt_val *v = parse_ok("# comment\n"
				    "all:\n"
				    "  vars:\n"
				    "    port: 30080\n"
				    "    list:\n"
				    "      - one\n"
				    "      - {k: v}\n"
				    "  flow: [a, 'b']\n");
	const struct pt_map_entry *e;
	struct pt_val *all, *vars, *list;

	(void)state;
	assert_pos(&v->pos, 2, 1);
	e = pt_val_entry(v, "all");
	assert_non_null(e);
	assert_pos(&e->key_pos, 2, 1);
	all = e->val;
	assert_pos(&all->pos, 3, 3);
	vars = pt_val_get(all, "vars");
	e = pt_val_entry(vars, "port");
	assert_pos(&e->key_pos, 4, 5);
	assert_pos(&e->val->pos, 4, 11);
	list = pt_val_get(vars, "list");
	assert_int_equal(list->type, PT_VAL_SEQ);
	assert_int_equal(list->n, 2);
	assert_pos(&list->seq[0]->pos, 6, 9);
	assert_pos(&list->seq[1]->pos, 7, 9);
	assert_pos(&pt_val_entry(list->seq[1], "k")->key_pos, 7, 10);
	assert_pos(&pt_val_entry(list->seq[1], "k")->val->pos, 7, 13);
	e = pt_val_entry(all, "flow");
	assert_pos(&e->val->pos, 8, 9);
	assert_pos(&e->val->seq[1]->pos, 8, 13);
	assert_true(e->val->seq[1]->quoted);
	pt_val_unref(v);
}

static void test_anchors_share(void **state)
{
	struct pt_val *v = parse_ok("base: &b {x: 1}\n"
				    "copy: *b\n"
				    "list: [*b, *b]\n");
	struct pt_val *base;

	(void)state;
	base = pt_val_get(v, "base");
	assert_ptr_equal(pt_val_get(v, "copy"), base);
	assert_ptr_equal(pt_val_get(v, "list")->seq[1], base);
	/* Four holders: base, copy and the two list items. */
	assert_int_equal(base->refs, 4);
	pt_val_unref(v);
}

static void test_merge_key(void **state)
{
	struct pt_val *v = parse_ok("a: &a {x: a, y: a}\n"
				    "b: &b {y: b, z: b}\n"
				    "one:\n"
				    "  <<: *a\n"
				    "  x: own\n"
				    "list:\n"
				    "  w: own\n"
				    "  <<: [*a, *b]\n"
				    "quoted:\n"
				    "  '<<': not-a-merge\n");
	struct pt_val *one, *list;

	(void)state;
	one = pt_val_get(v, "one");
	/* Own keys win over merged ones, whatever their order. */
	assert_int_equal(one->n, 2);
	assert_string_equal(pt_val_str(pt_val_get(one, "x")), "own");
	assert_string_equal(pt_val_str(pt_val_get(one, "y")), "a");
	/* The merged y keeps the position where it was written. */
	assert_pos(&pt_val_entry(one, "y")->key_pos, 1, 14);
	list = pt_val_get(v, "list");
	/* In a list, the earlier mapping wins (PyYAML: y from a). Order as a
	 * Python dict: merged keys first (b's then a's), then own. */
	assert_int_equal(list->n, 4);
	assert_string_equal(list->map[0].key, "y");
	assert_string_equal(list->map[1].key, "z");
	assert_string_equal(list->map[2].key, "x");
	assert_string_equal(list->map[3].key, "w");
	assert_string_equal(pt_val_str(pt_val_get(list, "y")), "a");
	assert_string_equal(pt_val_str(pt_val_get(list, "z")), "b");
	assert_string_equal(pt_val_str(pt_val_get(pt_val_get(v, "quoted"), "<<")),
			    "not-a-merge");
	pt_val_unref(v);
}

static void test_duplicate_keys(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_val *v = parse("a: 1\nb: 2\na: 3\n", &d);

	(void)state;
	assert_non_null(v);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].sev, PT_WARNING);
	assert_pos(&d.v[0].pos, 3, 1);
	assert_non_null(strstr(d.v[0].msg, "'a'"));
	/* Later wins, in the first place (a Python dict). */
	assert_int_equal(v->n, 2);
	assert_string_equal(v->map[0].key, "a");
	assert_string_equal(pt_val_str(v->map[0].val), "3");
	assert_pos(&v->map[0].key_pos, 3, 1);
	pt_val_unref(v);
	pt_diags_free(&d);
}

static void test_empty_documents(void **state)
{
	const char *texts[] = { "", "# only a comment\n# and another\n", "---\n", "\n\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct pt_val *v = parse_ok(texts[i]);

		assert_int_equal(v->type, PT_VAL_NULL);
		pt_val_unref(v);
	}
}

static void test_syntax_errors(void **state)
{
	(void)state;
	assert_parse_error("a: [1,\nb: 2\n", 3, 1, "did not find expected ',' or ']'");
	assert_parse_error("all:\n  hosts:\n    a: 1\n   b: 2\n", 4, 4,
			   "did not find expected key");
	assert_parse_error("a: 'open\n", 2, 1, "found unexpected end of stream");
	assert_parse_error("a: *nowhere\n", 1, 4, "alias '*nowhere'");
	assert_parse_error("a: 1\n---\nb: 2\n", 2, 1, "second YAML document");
	assert_parse_error("? [a, b]\n: 1\n", 1, 3, "mapping key must be a plain value");
	assert_parse_error("x: &s [1]\nm:\n  <<: *s\n", 1, 4, "merge key");
	/* Invalid UTF-8 in line 2, column 4. */
	assert_parse_error("a: 1\nb: \xff\n", 2, 4, "cannot read YAML");
}

static char *nested(unsigned int depth)
{
	char *s = malloc(2 * depth + 2);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\n';
	s[2 * depth + 1] = '\0';
	return s;
}

static void test_depth_limit(void **state)
{
	struct pt_diags d = { 0 };
	char *ok = nested(65), *deep = nested(200);
	struct pt_val *v;

	(void)state;
	v = parse(ok, &d);
	assert_non_null(v);
	assert_int_equal(d.n, 0);
	pt_val_unref(v);
	v = parse(deep, &d);
	assert_null(v);
	assert_int_equal(d.n_errors, 1);
	assert_pos(&d.v[0].pos, 1, 66);
	assert_non_null(strstr(d.v[0].msg, "deeper than 64"));
	free(ok);
	free(deep);
	pt_diags_free(&d);
}

static void test_alias_bomb(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_val *v;

	(void)state;
	/* Nine levels of nine aliases: 9^9 values when walked. */
	v = parse("a: &a [x, x, x, x, x, x, x, x, x]\n"
		  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		  "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		  "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		  "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		  "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n", &d);
	assert_null(v);
	assert_int_equal(d.n_errors, 1);
	assert_pos(&d.v[0].pos, 7, 4);
	assert_non_null(strstr(d.v[0].msg, "through aliases"));
	pt_diags_free(&d);
}

static void test_load_file(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_val *v;

	(void)state;
	v = pt_yaml_load("tests/fixtures/inv-precedence/group_vars/all.yml", &d);
	assert_non_null(v);
	assert_int_equal(d.n, 0);
	assert_string_equal(pt_val_str(pt_val_get(v, "k13")), "gv-all");
	assert_int_equal(pt_val_entry(v, "k13")->key_pos.line, 4);
	pt_val_unref(v);
	v = pt_yaml_load("tests/fixtures/no-such-file.yml", &d);
	assert_null(v);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].pos.line, 0);
	assert_non_null(strstr(d.v[0].msg, "No such file"));
	pt_diags_free(&d);
}

static void test_build_api(void **state)
{
	struct pt_pos p = { F, 1, 2 };
	struct pt_val *m = pt_val_new(PT_VAL_MAP, &p), *s = pt_val_new(PT_VAL_SEQ, NULL);
	struct pt_val *x = pt_val_new_str("x", true, &p);

	(void)state;
	pt_val_map_set(m, "k", NULL, pt_val_ref(x));
	pt_val_map_set(m, "j", &p, pt_val_new_str("j", false, NULL));
	pt_val_map_set(m, "k", NULL, pt_val_new_str("y", false, &p));
	assert_int_equal(m->n, 2);
	assert_string_equal(m->map[0].key, "k");
	assert_string_equal(pt_val_str(m->map[0].val), "y");
	assert_int_equal(x->refs, 1);
	pt_val_seq_push(s, x);
	pt_val_map_set(m, "s", NULL, s);
	assert_string_equal(pt_val_str(pt_val_get(m, "s")->seq[0]), "x");
	assert_string_equal(pt_val_type_name(PT_VAL_SEQ), "sequence");
	assert_string_equal(pt_val_type_name(PT_VAL_MAP), "mapping");
	pt_val_unref(m);
	pt_val_unref(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_and_quoting),
		cmocka_unit_test(test_nulls),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_anchors_share),
		cmocka_unit_test(test_merge_key),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_build_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
