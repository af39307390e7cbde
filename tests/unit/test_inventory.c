// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_inventory.c - the Ansible inventory reader (user/inventory.c):
 * nesting, membership, ungrouped, host ranges, warnings and errors with
 * positions, directory inventories, group_vars/ and host_vars/ forms, and
 * variable precedence compared with what ansible-inventory printed.
 *
 * tests/fixtures/inv-expected/NAME.json is `ansible-inventory -i
 * tests/fixtures/inv-NAME --list` (ansible-core 2.14); the comparison below
 * checks every host's resolved vars and every group's hosts and children
 * against it, and tests/unit/ansible-reference.sh re-checks the .json files
 * against a real ansible-inventory. Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "inventory.h"

#define FIX "tests/fixtures/"

static struct pt_inventory *parse(const char *text, struct pt_diags *d)
{
	return pt_inventory_parse("inv.yml", text, strlen(text), d);
}

static struct pt_inventory *parse_ok(const char *text)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = parse(text, &d);

	assert_non_null(inv);
	for (size_t i = 0; i < d.n; i++)
		fail_msg("unexpected diagnostic %zu: %s", i, d.v[i].msg);
	pt_diags_free(&d);
	return inv;
}

static struct pt_group *group(const struct pt_inventory *inv, const char *name)
{
	struct pt_group *g = pt_inventory_group(inv, name);

	if (!g)
		fail_msg("no group '%s'", name);
	return g;
}

static struct pt_host *host(const struct pt_inventory *inv, const char *name)
{
	struct pt_host *h = pt_inventory_host(inv, name);

	if (!h)
		fail_msg("no host '%s'", name);
	return h;
}

/* The names of hosts (array of n) joined with spaces, in a static buffer. */
static const char *names(struct pt_host **hosts, size_t n)
{
	static char buf[4096];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
					hosts[i]->name);
	return buf;
}

static void assert_all_hosts(const struct pt_inventory *inv, const char *g, const char *want)
{
	size_t n;
	struct pt_host **hs = pt_group_all_hosts(inv, group(inv, g), &n);

	assert_string_equal(names(hs, n), want);
	free(hs);
}

/* The resolved variable key of host h, as text (NULL when unset). */
static char *host_var(const struct pt_inventory *inv, const char *h, const char *key)
{
	struct pt_val *vars = pt_host_vars(inv, host(inv, h));
	const struct pt_val *v = pt_val_get(vars, key);
	char *s = v && v->type == PT_VAL_SCALAR ? strdup(v->str) : NULL;

	pt_val_unref(vars);
	return s;
}

static void assert_host_var(const struct pt_inventory *inv, const char *h, const char *key,
			    const char *want)
{
	char *got = host_var(inv, h, key);

	if (!got || strcmp(got, want))
		fail_msg("host %s var %s: got '%s', want '%s'", h, key, got ? got : "(unset)",
			 want);
	free(got);
}

static bool has_diag(const struct pt_diags *d, enum pt_severity sev, unsigned int line,
		     unsigned int col, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && d->v[i].pos.line == line && d->v[i].pos.col == col &&
		    strstr(d->v[i].msg, text))
			return true;
	return false;
}

static void assert_diag(const struct pt_diags *d, enum pt_severity sev, unsigned int line,
			unsigned int col, const char *text)
{
	if (has_diag(d, sev, line, col, text))
		return;
	for (size_t i = 0; i < d->n; i++)
		print_error("  have %u:%u %s\n", d->v[i].pos.line, d->v[i].pos.col, d->v[i].msg);
	fail_msg("no %s at %u:%u containing '%s'", sev == PT_ERROR ? "error" : "warning", line,
		 col, text);
}

static void test_nesting_and_membership(void **state)
{
	struct pt_inventory *inv = parse_ok(
		"all:\n"
		"  vars:\n"
		"    site: x\n"
		"  children:\n"
		"    pool:\n"
		"      hosts:\n"
		"        g2:\n"
		"        g1: {ansible_host: 203.0.113.1}\n"
		"      children:\n"
		"        sub:\n"
		"          hosts:\n"
		"            s1:\n"
		"            g1:\n"
		"    other:\n"
		"      hosts: o1\n");

	(void)state;
	assert_int_equal(inv->n_hosts, 4);
	/* all, ungrouped, then in order of appearance. */
	assert_int_equal(inv->n_groups, 5);
	assert_string_equal(inv->groups[0]->name, "all");
	assert_string_equal(inv->groups[1]->name, "ungrouped");
	assert_string_equal(inv->groups[2]->name, "pool");
	assert_int_equal(group(inv, "sub")->n_parents, 1);
	assert_ptr_equal(group(inv, "sub")->parents[0], group(inv, "pool"));
	assert_int_equal(group(inv, "sub")->depth, 2);
	assert_true(pt_group_has_host(group(inv, "pool"), host(inv, "s1")));
	assert_true(pt_group_has_host(group(inv, "all"), host(inv, "s1")));
	assert_false(pt_group_has_host(group(inv, "sub"), host(inv, "g2")));
	assert_false(pt_group_has_host(group(inv, "ungrouped"), host(inv, "o1")));
	/* Own hosts in listed order, then the children's level by level
	 * (Group.get_hosts): other (level 1) before sub (level 2). */
	assert_all_hosts(inv, "pool", "g2 g1 s1");
	assert_all_hosts(inv, "sub", "s1 g1");
	assert_all_hosts(inv, "all", "g2 g1 o1 s1");
	assert_all_hosts(inv, "ungrouped", "");
	/* Positions: first declaration of a host and of a group. */
	assert_string_equal(host(inv, "g1")->pos.file, "inv.yml");
	assert_int_equal(host(inv, "g1")->pos.line, 8);
	assert_int_equal(host(inv, "g1")->pos.col, 9);
	assert_int_equal(group(inv, "other")->pos.line, 14);
	assert_host_var(inv, "g1", "ansible_host", "203.0.113.1");
	assert_host_var(inv, "o1", "site", "x");
	pt_inventory_free(inv);
}

static void test_ungrouped(void **state)
{
	struct pt_inventory *inv = parse_ok(
		"all:\n"
		"  hosts:\n"
		"    lone:\n"
		"    both:\n"
		"ungrouped:\n"
		"  hosts:\n"
		"    stray:\n"
		"    moved:\n"
		"web:\n"
		"  hosts:\n"
		"    both:\n"
		"    moved:\n");

	(void)state;
	/* Hosts in no group but all are in ungrouped; a host in another group
	 * leaves it, even when listed there. */
	assert_all_hosts(inv, "ungrouped", "stray lone");
	assert_false(pt_group_has_host(group(inv, "ungrouped"), host(inv, "both")));
	assert_false(pt_group_has_host(group(inv, "ungrouped"), host(inv, "moved")));
	/* A top-level group becomes a child of all. */
	assert_int_equal(group(inv, "web")->n_parents, 1);
	assert_ptr_equal(group(inv, "web")->parents[0], group(inv, "all"));
	assert_int_equal(group(inv, "web")->depth, 1);
	pt_inventory_free(inv);
}

static void test_host_ranges(void **state)
{
	struct pt_inventory *inv = parse_ok(
		"all:\n"
		"  hosts:\n"
		"    gateway-[1:3]:\n"
		"    host[01:03]:\n"
		"      role: r\n"
		"    x[a:c]-[1:2]:\n"
		"    n[0:10:5]:\n"
		"    '[8:9]tail':\n"
		"    web1:2222:\n"
		"    web2:22: {ansible_port: 2200}\n");

	(void)state;
	assert_all_hosts(inv, "all", "gateway-1 gateway-2 gateway-3 host01 host02 host03 "
			 "xa-1 xa-2 xb-1 xb-2 xc-1 xc-2 n0 n5 n10 8tail 9tail web1 web2");
	assert_host_var(inv, "host02", "role", "r");
	/* Every expanded host is declared where the pattern is. */
	assert_int_equal(host(inv, "host03")->pos.line, 4);
	/* "name:port" is ansible_port; the host's own vars win over it. */
	assert_host_var(inv, "web1", "ansible_port", "2222");
	assert_host_var(inv, "web2", "ansible_port", "2200");
	pt_inventory_free(inv);
}

/* Many patterns together are bounded too, not only one range. */
static void test_host_total_cap(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = parse(
		"all:\n"
		"  hosts:\n"
		"    a[1:10000]:\n"
		"    b[1:10000]:\n"
		"    c:\n", &d);

	(void)state;
	assert_int_equal(d.n_errors, 1);
	assert_diag(&d, PT_ERROR, 4, 5, "past 16384 hosts");
	assert_int_equal(inv->n_hosts, 10000);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_host_range_errors(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = parse(
		"all:\n"
		"  hosts:\n"
		"    bad[1]:\n"
		"    bad[01:3]:\n"
		"    bad[1:x]:\n"
		"    bad[1:\n"
		"    huge[1:1000000]:\n"
		"    ok:\n", &d);

	(void)state;
	assert_int_equal(d.n_errors, 5);
	assert_diag(&d, PT_ERROR, 3, 5, "begin:end or begin:end:step");
	assert_diag(&d, PT_ERROR, 4, 5, "equal-length");
	assert_diag(&d, PT_ERROR, 5, 5, "neither numeric");
	assert_diag(&d, PT_ERROR, 6, 5, "without a matching ']'");
	assert_diag(&d, PT_ERROR, 7, 5, "more than 16384 hosts");
	assert_int_equal(inv->n_hosts, 1);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_unknown_keys_and_bad_shapes(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = parse(
		"all:\n"
		"  host:\n"
		"    a:\n"
		"  children:\n"
		"    web:\n"
		"      hosts:\n"
		"        w1:\n"
		"      varz: {x: 1}\n"
		"    str_group: text\n"
		"    listy:\n"
		"      hosts: [a, b]\n"
		"    badhost:\n"
		"      hosts:\n"
		"        h: [1]\n", &d);

	(void)state;
	assert_diag(&d, PT_WARNING, 2, 3, "unexpected key 'host' in group 'all'");
	assert_diag(&d, PT_WARNING, 8, 7, "unexpected key 'varz' in group 'web'");
	assert_diag(&d, PT_WARNING, 9, 16, "group 'str_group' is a scalar");
	assert_diag(&d, PT_ERROR, 11, 14, "'hosts' of group 'listy' must be a mapping");
	assert_diag(&d, PT_ERROR, 14, 12, "host 'h' in group 'badhost'");
	assert_int_equal(d.n_errors, 2);
	assert_null(pt_inventory_group(inv, "str_group"));
	assert_non_null(pt_inventory_host(inv, "w1"));
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_group_loop(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = parse(
		"a:\n"
		"  children:\n"
		"    b:\n"
		"      children:\n"
		"        a:\n", &d);

	(void)state;
	assert_int_equal(d.n_errors, 1);
	/* As in Ansible, b's children are read before b is added to a, so the
	 * edge a -> b is the one refused. */
	assert_diag(&d, PT_ERROR, 3, 5, "adding group 'b' as a child of 'a' makes a loop");
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_group_priority(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = parse(
		"all:\n"
		"  children:\n"
		"    aa:\n"
		"      vars: {ansible_group_priority: 0x10, v: aa}\n"
		"      hosts: {h: null}\n"
		"    bb:\n"
		"      vars: {ansible_group_priority: '010', v: bb}\n"
		"      hosts: {h: null}\n"
		"    cc:\n"
		"      vars: {ansible_group_priority: high}\n", &d);

	(void)state;
	assert_int_equal(d.n_errors, 1);
	assert_diag(&d, PT_ERROR, 10, 38, "ansible_group_priority of group 'cc'");
	/* YAML 1.1 hex when plain, decimal text when quoted, as int() reads. */
	assert_int_equal(group(inv, "aa")->priority, 16);
	assert_int_equal(group(inv, "bb")->priority, 10);
	/* Kept out of the vars; higher priority is applied later and wins. */
	assert_null(pt_val_get(group(inv, "aa")->vars, "ansible_group_priority"));
	assert_host_var(inv, "h", "v", "aa");
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_empty_and_not_a_mapping(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv;

	(void)state;
	inv = parse("# nothing\n", &d);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "empty"));
	assert_int_equal(inv->n_groups, 2);
	pt_inventory_free(inv);
	pt_diags_free(&d);
	inv = parse("- a\n- b\n", &d);
	assert_diag(&d, PT_ERROR, 1, 1, "a mapping of groups");
	pt_inventory_free(inv);
	pt_diags_free(&d);
	inv = parse("all:\n  hosts:\n   a:\n  b:\n x\n", &d);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].pos.line, 5);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

/* --- comparison with ansible-inventory --list --- */

static bool yaml_bool(const char *s, bool *b)
{
	static const char *const t[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on",
					  "On", "ON", "y", "Y" };
	static const char *const f[] = { "false", "False", "FALSE", "no", "No", "NO", "off",
					  "Off", "OFF", "n", "N" };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i]) || !strcmp(s, f[i])) {
			*b = !strcmp(s, t[i]);
			return true;
		}
	}
	return false;
}

/* True if the YAML value v is what Python printed as JSON j. */
static bool same(const json_t *j, const struct pt_val *v)
{
	const char *key;
	json_t *jv;
	bool b;

	switch (json_typeof(j)) {
	case JSON_NULL:
		return v->type == PT_VAL_NULL;
	case JSON_STRING:
		return v->type == PT_VAL_SCALAR && !strcmp(v->str, json_string_value(j));
	case JSON_INTEGER:
		return v->type == PT_VAL_SCALAR && !v->quoted &&
		       strtoll(v->str, NULL, 0) == json_integer_value(j);
	case JSON_REAL:
		return v->type == PT_VAL_SCALAR && !v->quoted &&
		       strtod(v->str, NULL) == json_real_value(j);
	case JSON_TRUE:
	case JSON_FALSE:
		return v->type == PT_VAL_SCALAR && !v->quoted && yaml_bool(v->str, &b) &&
		       b == json_is_true(j);
	case JSON_ARRAY:
		if (v->type != PT_VAL_SEQ || v->n != json_array_size(j))
			return false;
		for (size_t i = 0; i < v->n; i++)
			if (!same(json_array_get(j, i), v->seq[i]))
				return false;
		return true;
	case JSON_OBJECT:
		if (v->type != PT_VAL_MAP || v->n != json_object_size(j))
			return false;
		json_object_foreach((json_t *)j, key, jv) {
			const struct pt_val *c = pt_val_get(v, key);

			if (!c || !same(jv, c))
				return false;
		}
		return true;
	}
	return false;
}

static void assert_group_list(const char *group, const char *what, const json_t *list,
			      const char **got, size_t n)
{
	size_t want_n = list ? json_array_size(list) : 0;

	if (want_n != n)
		fail_msg("group %s: %zu %s, ansible has %zu", group, n, what, want_n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(got[i], json_string_value(json_array_get(list, i))))
			fail_msg("group %s %s[%zu]: %s, ansible has %s", group, what, i, got[i],
				 json_string_value(json_array_get(list, i)));
}

/* Load inventory fixture inv-NAME and compare it whole with the
 * ansible-inventory --list output stored for it. */
static struct pt_inventory *load_and_compare(const char *name)
{
	char path[256], exp[256];
	struct pt_diags d = { 0 };
	struct pt_inventory *inv;
	json_error_t jerr;
	json_t *root, *hostvars;
	size_t n_listed = 0;

	snprintf(path, sizeof(path), FIX "inv-%s", name);
	if (access(path, F_OK))	/* a route fixture, such as ipv6-dual */
		snprintf(path, sizeof(path), FIX "%s", name);
	snprintf(exp, sizeof(exp), FIX "inv-expected/%s.json", name);
	root = json_load_file(exp, 0, &jerr);
	if (!root)
		fail_msg("%s:%d: %s", exp, jerr.line, jerr.text);
	inv = pt_inventory_load(path, &d);
	assert_non_null(inv);
	for (size_t i = 0; i < d.n; i++)
		fail_msg("%s: unexpected diagnostic: %s", path, d.v[i].msg);
	pt_diags_free(&d);

	hostvars = json_object_get(json_object_get(root, "_meta"), "hostvars");
	for (size_t i = 0; i < inv->n_hosts; i++) {
		struct pt_host *h = inv->hosts[i];
		struct pt_val *vars = pt_host_vars(inv, h);
		json_t *want = json_object_get(hostvars, h->name);

		/* ansible-inventory leaves out hosts without variables. */
		if (want)
			n_listed++;
		if (!want && vars->n)
			fail_msg("host %s has vars; ansible-inventory shows none", h->name);
		if (want && !same(want, vars)) {
			char *s = json_dumps(want, JSON_SORT_KEYS);

			fail_msg("host %s: vars differ from ansible-inventory's %s", h->name, s);
		}
		pt_val_unref(vars);
	}
	assert_int_equal(n_listed, json_object_size(hostvars));
	for (size_t i = 0; i < inv->n_groups; i++) {
		struct pt_group *g = inv->groups[i];
		json_t *jg = json_object_get(root, g->name);
		const char **hs = calloc(g->n_hosts + 1, sizeof(*hs));
		const char **cs = calloc(g->n_children + 1, sizeof(*cs));

		for (size_t k = 0; k < g->n_hosts; k++)
			hs[k] = g->hosts[k]->name;
		for (size_t k = 0; k < g->n_children; k++)
			cs[k] = g->children[k]->name;
		/* --list shows no "hosts" for all. */
		if (strcmp(g->name, "all"))
			assert_group_list(g->name, "hosts", json_object_get(jg, "hosts"), hs,
					  g->n_hosts);
		assert_group_list(g->name, "children", json_object_get(jg, "children"), cs,
				  g->n_children);
		free(hs);
		free(cs);
	}
	json_decref(root);
	return inv;
}

static void test_precedence_matches_ansible(void **state)
{
	struct pt_inventory *inv = load_and_compare("precedence");

	(void)state;
	/* The rules one by one (values as ansible-inventory printed them). */
	/* all inline < group_vars/all */
	assert_host_var(inv, "h1", "k1", "gv-all");
	/* a child group's inline vars < group_vars/all */
	assert_host_var(inv, "h1", "k2", "gv-all");
	/* parent inline < child inline */
	assert_host_var(inv, "h1", "k3", "pool-inline");
	/* child inline < group_vars/all < parent's group_vars (dir form,
	 * first file) */
	assert_host_var(inv, "h1", "k4", "gv-parent-first");
	/* later file of a group_vars/<group>/ directory wins; hidden, backup
	 * and .txt files are not read */
	assert_host_var(inv, "h1", "k14", "gv-parent-second");
	/* same depth: by name, later wins */
	assert_host_var(inv, "h1", "k5", "beta-inline");
	/* same depth: higher ansible_group_priority wins over the name */
	assert_host_var(inv, "h1", "k6", "pa-inline");
	/* ansible_group_priority in a group_vars file does not reorder... */
	assert_host_var(inv, "h1", "kq", "gv-qb");
	/* ...and is an ordinary variable there */
	assert_host_var(inv, "h1", "ansible_group_priority", "10");
	/* group_vars/<group> < host inline < host_vars */
	assert_host_var(inv, "h1", "k7", "h1-inline");
	assert_host_var(inv, "h1", "k8", "hv-h1");
	assert_host_var(inv, "h2", "k8", "gv-pool");
	/* a host declared twice: later declaration wins per key */
	assert_host_var(inv, "h1", "k10", "second-decl");
	assert_host_var(inv, "h1", "k11", "first-decl");
	/* deeper group wins over a shallower one */
	assert_host_var(inv, "h2", "k12", "deeper-inline");
	/* <name> without extension shadows <name>.yml */
	assert_host_var(inv, "h1", "k15", "gv-alpha-noext");
	/* .yaml form, host_vars .yaml and directory forms */
	assert_host_var(inv, "h1", "k16", "gv-beta-yaml");
	assert_host_var(inv, "h2", "k17", "hv-h2-yaml");
	assert_host_var(inv, "h3", "k18", "hv-h3-b");
	pt_inventory_free(inv);
}

static void test_replace_not_merge_and_positions(void **state)
{
	struct pt_inventory *inv = load_and_compare("precedence");
	struct pt_val *vars = pt_host_vars(inv, host(inv, "h1"));
	const struct pt_map_entry *e;

	(void)state;
	/* k9 is {x, y} in all and {x} in pool: pool's replaces it whole. */
	e = pt_val_entry(vars, "k9");
	assert_non_null(e);
	assert_int_equal(e->val->n, 1);
	assert_null(pt_val_get(e->val, "y"));
	/* Positions point into the file that won. */
	e = pt_val_entry(vars, "k8");
	assert_non_null(strstr(e->key_pos.file, "inv-precedence/host_vars/h1.yml"));
	assert_int_equal(e->key_pos.line, 1);
	assert_int_equal(e->val->pos.col, 5);
	e = pt_val_entry(vars, "k14");
	assert_non_null(strstr(e->key_pos.file, "group_vars/parent/20-second.yaml"));
	e = pt_val_entry(vars, "k7");
	assert_non_null(strstr(e->key_pos.file, "inv-precedence/hosts.yml"));
	assert_int_equal(e->key_pos.line, 26);
	assert_int_equal(e->key_pos.col, 15);
	/* File names in positions are interned in the inventory. */
	for (size_t i = 0; i < inv->n_files; i++)
		if (inv->files[i] == e->key_pos.file)
			goto found;
	fail_msg("position file is not one of inv->files");
found:
	pt_val_unref(vars);
	pt_inventory_free(inv);
}

/* The seed's nat-gateway-pool: the group's interfaces and vips, and each
 * host's variable named after an interface (box-network: {priority, state}),
 * a name with a dash that Ansible keeps as it is. */
static void test_nat_pool_matches_ansible(void **state)
{
	struct pt_inventory *inv = load_and_compare("nat-pool");

	(void)state;
	assert_host_var(inv, "gateway-4", "input_interface", "box-network");
	assert_host_var(inv, "gateway-5", "output_interface", "gateway-network");
	pt_inventory_free(inv);
}

/* IPv6 addresses in the YAML forms an inventory writes them in (plain in
 * a block or a flow mapping, quoted): text, as Ansible reads them. */
static void test_ipv6_matches_ansible(void **state)
{
	struct pt_inventory *inv = load_and_compare("ipv6-dual");

	(void)state;
	assert_host_var(inv, "node-c", "ansible_host", "2001:db8:0:2::c");
	assert_host_var(inv, "node-d", "ansible_host", "2001:db8::d");
	assert_host_var(inv, "node-e", "ansible_host", "2001:db8:0:3::");
	pt_inventory_free(inv);
}

static void test_directory_inventory(void **state)
{
	struct pt_inventory *inv = load_and_compare("dir");

	(void)state;
	/* Files in sorted order, the extensionless one and sub/ included;
	 * .md, .txt, ~, .bak and hidden entries skipped. */
	assert_non_null(pt_inventory_host(inv, "solo"));
	assert_non_null(pt_inventory_host(inv, "edge-1"));
	assert_null(pt_inventory_host(inv, "from-txt"));
	assert_null(pt_inventory_host(inv, "from-hidden"));
	assert_null(pt_inventory_host(inv, "from-backup"));
	assert_null(pt_inventory_host(inv, "from-bak"));
	assert_all_hosts(inv, "lb", "gateway-2");
	/* group_vars/web/ directory: a.yml then b.json. */
	assert_host_var(inv, "db01", "port", "9090");
	assert_host_var(inv, "gateway-1", "host_only", "true");
	assert_host_var(inv, "web1", "ansible_port", "2222");
	pt_inventory_free(inv);
}

static void test_directory_skips_with_warnings(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = pt_inventory_load(FIX "inv-ini", &d);

	(void)state;
	assert_non_null(inv);
	assert_int_equal(d.n_errors, 0);
	assert_diag(&d, PT_WARNING, 0, 0, "not a YAML inventory");
	assert_diag(&d, PT_WARNING, 0, 0, "inventory file is empty");
	assert_diag(&d, PT_WARNING, 0, 0, "inventory plugin configuration");
	assert_diag(&d, PT_WARNING, 0, 0, "(.yml, .yaml, .json or no extension)");
	assert_int_equal(d.n, 4);
	assert_int_equal(inv->n_hosts, 1);
	assert_string_equal(inv->hosts[0]->name, "yaml-host");
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_load_errors(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv;

	(void)state;
	inv = pt_inventory_load(FIX "inv-no-such-dir", &d);
	assert_null(inv);
	assert_int_equal(d.n_errors, 1);
	assert_non_null(strstr(d.v[0].msg, "No such file"));
	pt_diags_free(&d);

	/* A .yml file in a directory must parse: its error has a position. */
	inv = pt_inventory_load(FIX "inv-bad-syntax", &d);
	assert_non_null(inv);
	assert_int_equal(d.n_errors, 1);
	assert_diag(&d, PT_ERROR, 6, 8, "did not find expected key");
	assert_non_null(strstr(d.v[0].pos.file, "inv-bad-syntax/hosts.yml"));
	pt_inventory_free(inv);
	pt_diags_free(&d);

	/* A vars file must be a mapping. */
	inv = pt_inventory_load(FIX "inv-bad-vars/hosts.yml", &d);
	assert_non_null(inv);
	assert_int_equal(d.n_errors, 1);
	assert_diag(&d, PT_ERROR, 2, 1, "a vars file holds a mapping");
	assert_non_null(strstr(d.v[0].pos.file, "inv-bad-vars/group_vars/pool.yml"));
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_single_file_uses_its_directory(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = pt_inventory_load(FIX "inv-precedence/hosts.yml", &d);

	(void)state;
	assert_int_equal(d.n, 0);
	/* group_vars/ and host_vars/ beside the file are read. */
	assert_host_var(inv, "h1", "k8", "hv-h1");
	assert_host_var(inv, "lone", "k13", "gv-all");
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_membership),
		cmocka_unit_test(test_ungrouped),
		cmocka_unit_test(test_host_ranges),
		cmocka_unit_test(test_host_range_errors),
		cmocka_unit_test(test_host_total_cap),
		cmocka_unit_test(test_unknown_keys_and_bad_shapes),
		cmocka_unit_test(test_group_loop),
		cmocka_unit_test(test_group_priority),
		cmocka_unit_test(test_empty_and_not_a_mapping),
		cmocka_unit_test(test_precedence_matches_ansible),
		cmocka_unit_test(test_replace_not_merge_and_positions),
		cmocka_unit_test(test_nat_pool_matches_ansible),
		cmocka_unit_test(test_ipv6_matches_ansible),
		cmocka_unit_test(test_directory_inventory),
		cmocka_unit_test(test_directory_skips_with_warnings),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_single_file_uses_its_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
