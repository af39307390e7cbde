// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * inventory.c - an Ansible YAML inventory read as ansible-core 2.14 reads it
 * (plugins/inventory/yaml.py, inventory/data.py, vars/host_group_vars.py),
 * see inventory.h. Only the YAML inventory format is read.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inventory.h"
#include "util.h"

/* Most hosts one range pattern (e.g. web-[1:9999]) may expand to. */
#define PT_INV_MAX_RANGE 16384
/* Hosts in one inventory, all patterns together: bounds memory and time on
 * hostile input (a box's inventory has a handful). */
#define PT_INV_MAX_HOSTS 16384
/* Deepest directory recursion when an inventory is a directory. */
#define PT_INV_MAX_DIR_DEPTH 16
/* Ansible's default group priority (inventory/group.py). */
#define PT_INV_DEFAULT_PRIORITY 1

/* Name -> object index, open addressing; n counts used slots. */
struct name_index {
	void **slot;
	size_t cap, n;
};

/* The inventory with what only this file uses: name lookups. */
struct inv_priv {
	struct pt_inventory pub;
	struct name_index groups, hosts;
};

static struct inv_priv *priv(const struct pt_inventory *inv)
{
	return (struct inv_priv *)inv;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Objects are looked up by their first member's name: pt_host and pt_group
 * both start with char *name. */
static const char *obj_name(void *obj)
{
	return *(char **)obj;
}

static void *index_get(const struct name_index *ix, const char *name)
{
	if (!ix->cap)
		return NULL;
	for (size_t i = name_hash(name) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		if (!ix->slot[i])
			return NULL;
		if (!strcmp(obj_name(ix->slot[i]), name))
			return ix->slot[i];
	}
}

static void index_add(struct name_index *ix, void *obj)
{
	size_t i;

	if ((ix->n + 1) * 2 > ix->cap) {
		struct name_index bigger = { 0 };

		bigger.cap = ix->cap ? ix->cap * 2 : 64;
		bigger.slot = xcalloc(bigger.cap, sizeof(*bigger.slot));
		for (i = 0; i < ix->cap; i++)
			if (ix->slot[i])
				index_add(&bigger, ix->slot[i]);
		free(ix->slot);
		*ix = bigger;
	}
	for (i = name_hash(obj_name(obj)) & (ix->cap - 1); ix->slot[i]; i = (i + 1) & (ix->cap - 1))
		;
	ix->slot[i] = obj;
	ix->n++;
}

static const char *intern_file(struct pt_inventory *inv, const char *file)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i], file))
			return inv->files[i];
	inv->files = xrealloc(inv->files, (inv->n_files + 1) * sizeof(*inv->files));
	inv->files[inv->n_files] = xstrdup(file);
	return inv->files[inv->n_files++];
}

/* Append to a growable array; it doubles when n reaches a power of two, so
 * capacity stays at least the next power of two above n. */
#define PUSH(arr, n, item) do { \
	if (!((n) & ((n) - 1))) \
		(arr) = xrealloc((arr), ((n) ? 2 * (n) : 1) * sizeof(*(arr))); \
	(arr)[(n)++] = (item); \
} while (0)

struct pt_group *pt_inventory_group(const struct pt_inventory *inv, const char *name)
{
	return inv ? index_get(&priv(inv)->groups, name) : NULL;
}

struct pt_host *pt_inventory_host(const struct pt_inventory *inv, const char *name)
{
	return inv ? index_get(&priv(inv)->hosts, name) : NULL;
}

static struct pt_group *group_get(struct pt_inventory *inv, const char *name,
				  const struct pt_pos *pos)
{
	struct pt_group *g = pt_inventory_group(inv, name);

	if (g)
		return g;
	g = xcalloc(1, sizeof(*g));
	g->name = xstrdup(name);
	if (pos)
		g->pos = *pos;
	g->vars = pt_val_new(PT_VAL_MAP, pos);
	g->priority = PT_INV_DEFAULT_PRIORITY;
	PUSH(inv->groups, inv->n_groups, g);
	index_add(&priv(inv)->groups, g);
	return g;
}

static bool host_in_direct(const struct pt_host *h, const struct pt_group *g)
{
	for (size_t i = 0; i < h->n_groups; i++)
		if (h->groups[i] == g)
			return true;
	return false;
}

static void group_add_host(struct pt_group *g, struct pt_host *h)
{
	if (host_in_direct(h, g))
		return;
	PUSH(g->hosts, g->n_hosts, h);
	PUSH(h->groups, h->n_groups, g);
}

static void remove_ptr(void **arr, size_t *n, const void *p)
{
	for (size_t i = 0; i < *n; i++) {
		if (arr[i] != p)
			continue;
		memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
		(*n)--;
		return;
	}
}

/* True if anc is g or one of its ancestors. Groups form a DAG (edges that
 * would close a loop are refused), so the walk ends; seen bounds the work. */
static bool is_ancestor_or_self(const struct pt_group *anc, const struct pt_group *g)
{
	const struct pt_group **todo = NULL, **seen = NULL;
	size_t n_todo = 0, n_seen = 0;
	bool found = false;

	PUSH(todo, n_todo, g);
	while (n_todo && !found) {
		const struct pt_group *c = todo[--n_todo];
		bool dup = false;

		if (c == anc) {
			found = true;
			break;
		}
		for (size_t i = 0; i < n_seen && !dup; i++)
			dup = seen[i] == c;
		if (dup)
			continue;
		PUSH(seen, n_seen, c);
		for (size_t i = 0; i < c->n_parents; i++)
			PUSH(todo, n_todo, (const struct pt_group *)c->parents[i]);
	}
	free(todo);
	free(seen);
	return found;
}

/* Ansible's Group.add_child: refuses an edge that closes a loop. */
static int group_add_child(struct pt_group *parent, struct pt_group *child,
			   const struct pt_pos *pos, struct pt_diags *d)
{
	for (size_t i = 0; i < parent->n_children; i++)
		if (parent->children[i] == child)
			return 0;
	if (is_ancestor_or_self(child, parent)) {
		pt_error(d, pos, NULL, "adding group '%s' as a child of '%s' makes a loop of "
			 "groups; remove one of the two 'children:' entries", child->name,
			 parent->name);
		return -ELOOP;
	}
	PUSH(parent->children, parent->n_children, child);
	PUSH(child->parents, child->n_parents, parent);
	return 0;
}

static struct pt_host *host_get(struct pt_inventory *inv, const char *name,
				const struct pt_pos *pos, const char *port)
{
	struct pt_host *h = pt_inventory_host(inv, name);

	if (h)
		return h;
	h = xcalloc(1, sizeof(*h));
	h->name = xstrdup(name);
	h->pos = *pos;
	h->vars = pt_val_new(PT_VAL_MAP, pos);
	h->index = inv->n_hosts;
	/* "name:port" sets ansible_port when the host is first seen. */
	if (port)
		pt_val_map_set(h->vars, "ansible_port", pos, pt_val_new_str(port, false, pos));
	PUSH(inv->hosts, inv->n_hosts, h);
	index_add(&priv(inv)->hosts, h);
	return h;
}

/* ansible_group_priority is read with Python's int(): a YAML 1.1 integer
 * when plain (0x10, 010 octal, 1_000), decimal text when quoted. */
static int parse_priority(const struct pt_val *v, int *out)
{
	char buf[64], *end;
	const char *s;
	size_t n = 0;
	long x;

	s = pt_val_str(v);
	if (!s)
		return -EINVAL;
	for (; *s && n < sizeof(buf) - 1; s++)
		if (*s != '_' || v->quoted)
			buf[n++] = *s;
	if (*s)
		return -EINVAL;
	buf[n] = '\0';
	errno = 0;
	x = strtol(buf, &end, v->quoted ? 10 : 0);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || end == buf || *end || x < INT_MIN || x > INT_MAX)
		return -EINVAL;
	*out = (int)x;
	return 0;
}

static int group_set_vars(struct pt_group *g, const struct pt_val *vars, struct pt_diags *d)
{
	int err = 0;

	for (size_t i = 0; i < vars->n; i++) {
		const struct pt_map_entry *e = &vars->map[i];

		/* Group.set_variable keeps the priority out of the vars. */
		if (!strcmp(e->key, "ansible_group_priority")) {
			if (parse_priority(e->val, &g->priority)) {
				pt_error(d, &e->val->pos, NULL, "ansible_group_priority of group "
					 "'%s' must be an integer, e.g. 10", g->name);
				err = -EINVAL;
			}
			continue;
		}
		pt_val_map_set(g->vars, e->key, &e->key_pos, pt_val_ref(e->val));
	}
	return err;
}

/* A section given as one string ("hosts: web1") means {web1: null}. */
static struct pt_val *section_map(const struct pt_val *v)
{
	struct pt_val *m;

	if (v->type != PT_VAL_SCALAR)
		return pt_val_ref((struct pt_val *)v);
	m = pt_val_new(PT_VAL_MAP, &v->pos);
	pt_val_map_set(m, v->str, &v->pos, pt_val_new(PT_VAL_NULL, &v->pos));
	return m;
}

static int expand_pattern(const char *pat, char ***out, size_t *n, char **err);

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Find a trailing ":port" as Ansible's parse_address does: digits after the
 * last ':' with no other ':' outside [...] ranges before it. */
static char *split_port(char *pat)
{
	char *colon = NULL, *p;
	int br = 0;

	for (p = pat; *p; p++) {
		if (*p == '[')
			br++;
		else if (*p == ']')
			br--;
		else if (*p == ':' && !br) {
			if (colon)
				return NULL;
			colon = p;
		}
	}
	if (!colon || colon == pat || !colon[1] || br)
		return NULL;
	for (p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return NULL;
	*colon = '\0';
	return colon + 1;
}

static int parse_hosts(struct pt_inventory *inv, struct pt_group *g, const struct pt_val *hosts,
		       struct pt_diags *d)
{
	int ret = 0;

	for (size_t i = 0; i < hosts->n; i++) {
		const struct pt_map_entry *e = &hosts->map[i];
		const struct pt_val *hv = e->val;
		char *pat = xstrdup(e->key), *port, *why = NULL;
		char **names = NULL;
		size_t n = 0;

		if (hv->type != PT_VAL_NULL && hv->type != PT_VAL_MAP) {
			pt_error(d, &hv->pos, NULL, "host '%s' in group '%s' has a %s where its "
				 "variables (a mapping, or nothing) belong; write 'key: value' "
				 "lines under it", e->key, g->name, pt_val_type_name(hv->type));
			ret = -EINVAL;
			free(pat);
			continue;
		}
		port = split_port(pat);
		if (expand_pattern(pat, &names, &n, &why)) {
			pt_error(d, &e->key_pos, NULL, "host pattern '%s': %s", e->key, why);
			free(why);
			free(pat);
			ret = -EINVAL;
			continue;
		}
		if (inv->n_hosts + n > PT_INV_MAX_HOSTS) {
			pt_error(d, &e->key_pos, NULL, "host pattern '%s' brings the inventory "
				 "past %d hosts; split the inventory", e->key, PT_INV_MAX_HOSTS);
			free_names(names, n);
			free(pat);
			ret = -E2BIG;
			break;
		}
		for (size_t k = 0; k < n; k++) {
			struct pt_host *h = host_get(inv, names[k], &e->key_pos, port);

			group_add_host(g, h);
			for (size_t j = 0; hv->type == PT_VAL_MAP && j < hv->n; j++)
				pt_val_map_set(h->vars, hv->map[j].key, &hv->map[j].key_pos,
					       pt_val_ref(hv->map[j].val));
		}
		free_names(names, n);
		free(pat);
	}
	return ret;
}

/* Ansible's YAML plugin _parse_group: body is a mapping of vars, children
 * and hosts, or nothing. Returns the group, or NULL when the body is not a
 * group definition (a warning, as in Ansible). */
static struct pt_group *parse_group(struct pt_inventory *inv, const char *name,
				    const struct pt_pos *pos, const struct pt_val *body,
				    struct pt_diags *d)
{
	struct pt_group *g;

	if (body->type != PT_VAL_MAP && body->type != PT_VAL_NULL) {
		pt_warn(d, &body->pos, NULL, "group '%s' is a %s, not a mapping of 'hosts', "
			"'vars' and 'children'; it is skipped, as Ansible does", name,
			pt_val_type_name(body->type));
		return NULL;
	}
	if (!*name) {
		pt_error(d, pos, NULL, "a group has an empty name; give it a name");
		return NULL;
	}
	g = group_get(inv, name, pos);
	for (size_t i = 0; body->type == PT_VAL_MAP && i < body->n; i++) {
		const struct pt_map_entry *e = &body->map[i];
		bool section = !strcmp(e->key, "vars") || !strcmp(e->key, "children") ||
			       !strcmp(e->key, "hosts");
		struct pt_val *sec;

		if (!section) {
			pt_warn(d, &e->key_pos, NULL, "unexpected key '%s' in group '%s' is "
				"skipped, as Ansible does: only 'hosts', 'vars' and 'children' "
				"are valid (a typo?)", e->key, name);
			continue;
		}
		if (e->val->type == PT_VAL_NULL)
			continue;
		if (e->val->type == PT_VAL_SEQ) {
			pt_error(d, &e->val->pos, NULL, "'%s' of group '%s' must be a mapping "
				 "('name:' lines), not a list: drop the '- ' markers", e->key,
				 name);
			continue;
		}
		sec = section_map(e->val);
		if (!strcmp(e->key, "vars")) {
			group_set_vars(g, sec, d);
		} else if (!strcmp(e->key, "hosts")) {
			parse_hosts(inv, g, sec, d);
		} else {
			for (size_t k = 0; k < sec->n; k++) {
				const struct pt_map_entry *c = &sec->map[k];
				struct pt_group *child;

				child = parse_group(inv, c->key, &c->key_pos, c->val, d);
				if (child)
					group_add_child(g, child, &c->key_pos, d);
			}
		}
		pt_val_unref(sec);
	}
	return g;
}

/* Read one parsed inventory document into inv. */
static void parse_doc(struct pt_inventory *inv, const char *file, const struct pt_val *root,
		      struct pt_diags *d)
{
	struct pt_pos whole = { file, 0, 0 };

	if (root->type == PT_VAL_NULL || (root->type == PT_VAL_MAP && !root->n)) {
		pt_warn(d, &whole, NULL, "inventory file is empty; it adds no hosts");
		return;
	}
	if (root->type != PT_VAL_MAP) {
		pt_error(d, &root->pos, NULL, "a YAML inventory is a mapping of groups (e.g. "
			 "'all:'), not a %s", pt_val_type_name(root->type));
		return;
	}
	if (pt_val_get(root, "plugin")) {
		pt_warn(d, &whole, NULL, "this is an inventory plugin configuration ('plugin:' "
			"key), which portier cannot run; skipped: give a YAML inventory");
		return;
	}
	for (size_t i = 0; i < root->n; i++)
		parse_group(inv, root->map[i].key, &root->map[i].key_pos, root->map[i].val, d);
}

static struct pt_inventory *inv_new(const char *path)
{
	struct inv_priv *p = xcalloc(1, sizeof(*p));
	struct pt_inventory *inv = &p->pub;
	struct pt_group *all, *ungrouped;

	inv->path = xstrdup(path);
	all = group_get(inv, "all", NULL);
	ungrouped = group_get(inv, "ungrouped", NULL);
	PUSH(all->children, all->n_children, ungrouped);
	PUSH(ungrouped->parents, ungrouped->n_parents, all);
	return inv;
}

/* Ansible's Host.get_groups(): the direct groups and all their ancestors,
 * each once. Returns a malloc'd array. */
static struct pt_group **host_all_groups(const struct pt_host *h, size_t *n)
{
	struct pt_group **out = NULL;
	size_t n_out = 0;

	for (size_t i = 0; i < h->n_groups; i++)
		PUSH(out, n_out, h->groups[i]);
	/* out doubles as the work list: parents of each entry are appended. */
	for (size_t i = 0; i < n_out; i++) {
		for (size_t j = 0; j < out[i]->n_parents; j++) {
			struct pt_group *p = out[i]->parents[j];
			bool dup = false;

			for (size_t k = 0; k < n_out && !dup; k++)
				dup = out[k] == p;
			if (!dup)
				PUSH(out, n_out, p);
		}
	}
	*n = n_out;
	return out;
}

/* Longest path from a root, in topological order (Kahn), as Ansible's
 * incremental Group.depth ends up. */
static void compute_depths(struct pt_inventory *inv)
{
	size_t *indeg = xcalloc(inv->n_groups, sizeof(*indeg));
	struct pt_group **queue = xcalloc(inv->n_groups, sizeof(*queue));
	size_t head = 0, tail = 0;

	for (size_t i = 0; i < inv->n_groups; i++) {
		inv->groups[i]->depth = 0;
		inv->groups[i]->index = i;
		indeg[i] = inv->groups[i]->n_parents;
		if (!indeg[i])
			queue[tail++] = inv->groups[i];
	}
	while (head < tail) {
		struct pt_group *g = queue[head++];

		for (size_t i = 0; i < g->n_children; i++) {
			struct pt_group *c = g->children[i];

			if (c->depth < g->depth + 1)
				c->depth = g->depth + 1;
			if (!--indeg[c->index])
				queue[tail++] = c;
		}
	}
	free(indeg);
	free(queue);
}

/* InventoryData.reconcile_inventory: every group without a parent becomes a
 * child of all; hosts in no group but all go to ungrouped, and hosts in
 * another group leave ungrouped. */
static void reconcile(struct pt_inventory *inv, struct pt_diags *d)
{
	struct pt_group *all = pt_inventory_group(inv, "all");
	struct pt_group *ungrouped = pt_inventory_group(inv, "ungrouped");

	for (size_t i = 0; i < inv->n_groups; i++) {
		struct pt_group *g = inv->groups[i];

		if (g != all && !g->n_parents)
			group_add_child(all, g, &g->pos, d);
	}
	for (size_t i = 0; i < inv->n_hosts; i++) {
		struct pt_host *h = inv->hosts[i];
		size_t n;
		struct pt_group **gs = host_all_groups(h, &n);
		bool other = false;

		for (size_t k = 0; k < n; k++)
			other |= gs[k] != all && gs[k] != ungrouped;
		free(gs);
		if (host_in_direct(h, ungrouped) && other) {
			remove_ptr((void **)ungrouped->hosts, &ungrouped->n_hosts, h);
			remove_ptr((void **)h->groups, &h->n_groups, ungrouped);
		} else if (!other) {
			group_add_host(ungrouped, h);
		}
	}
	for (size_t i = 0; i < inv->n_groups; i++)
		if (pt_inventory_host(inv, inv->groups[i]->name))
			pt_warn(d, &inv->groups[i]->pos, NULL, "'%s' is both a group and a "
				"host, as Ansible warns too; rename one of them",
				inv->groups[i]->name);
	compute_depths(inv);
}

struct pt_inventory *pt_inventory_parse(const char *file, const char *text, size_t len,
					struct pt_diags *d)
{
	struct pt_inventory *inv = inv_new(file);
	const char *f = intern_file(inv, file);
	struct pt_val *root = pt_yaml_parse(f, text, len, d);

	if (root)
		parse_doc(inv, f, root, d);
	pt_val_unref(root);
	reconcile(inv, d);
	return inv;
}

/* --- files: directory inventories, group_vars/ and host_vars/ --- */

static const char *file_ext(const char *name)
{
	const char *base = strrchr(name, '/');
	const char *dot;

	base = base ? base + 1 : name;
	while (*base == '.')
		base++;
	dot = strrchr(base, '.');
	return dot ? dot : "";
}

static bool is_yaml_ext(const char *ext)
{
	return !strcmp(ext, ".yml") || !strcmp(ext, ".yaml") || !strcmp(ext, ".json");
}

/* Names Ansible skips in an inventory directory (IGNORED in
 * inventory/manager.py: hidden, vars dirs, INVENTORY_IGNORE_EXTS). */
static bool inventory_ignored(const char *name)
{
	static const char *const exts[] = {
		".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
		".orig", ".ini", ".cfg", ".retry",
	};
	size_t len = strlen(name);

	if (name[0] == '.' || !strcmp(name, "host_vars") || !strcmp(name, "group_vars") ||
	    !strcmp(name, "vars_plugins"))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t n = strlen(exts[i]);

		if (len >= n && !strcmp(name + len - n, exts[i]))
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (without . and ..); NULL with errno on failure. */
static char **list_dir(const char *dir, size_t *n)
{
	char **names = NULL;
	struct dirent *de;
	DIR *dp = opendir(dir);

	*n = 0;
	if (!dp)
		return NULL;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			PUSH(names, *n, xstrdup(de->d_name));
	closedir(dp);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	else
		names = xcalloc(1, sizeof(*names));
	return names;
}

static void read_inventory_file(struct pt_inventory *inv, const char *path, bool strict,
				struct pt_diags *d)
{
	const char *f = intern_file(inv, path);
	struct pt_diags scratch = { 0 };
	struct pt_val *root;
	size_t len;
	char *text;

	if (pt_read_file(f, &text, &len, d))
		return;
	/* An extensionless file may be an INI inventory, which Ansible's ini
	 * plugin would read: say it is skipped rather than fail on it. */
	root = pt_yaml_parse(f, text, len, strict ? d : &scratch);
	free(text);
	if (!strict && (!root || root->type != PT_VAL_MAP)) {
		struct pt_pos whole = { f, 0, 0 };

		if (root && root->type == PT_VAL_NULL) {
			pt_warn(d, &whole, NULL, "inventory file is empty; it adds no hosts");
		} else {
			pt_warn(d, &whole, NULL, "not a YAML inventory (an INI one?); skipped: "
				"portier reads YAML inventories only, convert it with "
				"'ansible-inventory -i FILE --list -y'");
		}
		pt_diags_free(&scratch);
		pt_val_unref(root);
		return;
	}
	for (size_t i = 0; i < scratch.n; i++)
		pt_diag_add(d, scratch.v[i].sev, &scratch.v[i].pos, scratch.v[i].route, "%s",
			    scratch.v[i].msg);
	pt_diags_free(&scratch);
	if (root)
		parse_doc(inv, f, root, d);
	pt_val_unref(root);
}

/* InventoryManager.parse_source on a directory: sorted entries, ignored
 * names skipped, subdirectories read too, YAML files by extension. */
static void read_inventory_dir(struct pt_inventory *inv, const char *dir, unsigned int depth,
			       struct pt_diags *d)
{
	struct pt_pos where = { intern_file(inv, dir), 0, 0 };
	char **names;
	size_t n;

	if (depth > PT_INV_MAX_DIR_DEPTH) {
		pt_error(d, &where, NULL, "inventory directories nested deeper than %d levels "
			 "(a symlink loop?); flatten them", PT_INV_MAX_DIR_DEPTH);
		return;
	}
	names = list_dir(dir, &n);
	if (!names) {
		pt_error(d, &where, NULL, "cannot list directory: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *full = xasprintf("%s/%s", dir, names[i]);
		const char *ext = file_ext(names[i]);
		struct stat st;

		if (inventory_ignored(names[i]) || stat(full, &st)) {
			free(full);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			read_inventory_dir(inv, full, depth + 1, d);
		} else if (!*ext || is_yaml_ext(ext)) {
			read_inventory_file(inv, full, *ext, d);
		} else {
			struct pt_pos pos = { intern_file(inv, full), 0, 0 };

			pt_warn(d, &pos, NULL, "skipped: portier reads YAML inventories only "
				"(.yml, .yaml, .json or no extension)");
		}
		free(full);
	}
	free_names(names, n);
}

/* Merge the top-level keys of one vars file into *acc (replace, as
 * combine_vars with hash_behaviour=replace). Empty files add nothing. */
static void load_vars_file(struct pt_inventory *inv, const char *path, struct pt_val **acc,
			   struct pt_diags *d)
{
	const char *f = intern_file(inv, path);
	struct pt_val *v = pt_yaml_load(f, d);

	if (!v)
		return;
	if (v->type == PT_VAL_MAP) {
		if (!*acc)
			*acc = pt_val_new(PT_VAL_MAP, &v->pos);
		for (size_t i = 0; i < v->n; i++)
			pt_val_map_set(*acc, v->map[i].key, &v->map[i].key_pos,
				       pt_val_ref(v->map[i].val));
	} else if (v->type != PT_VAL_NULL) {
		pt_error(d, &v->pos, NULL, "a vars file holds a mapping of variables "
			 "('name: value' lines), not a %s", pt_val_type_name(v->type));
	}
	pt_val_unref(v);
}

/* DataLoader._get_dir_vars_files: sorted, hidden and backup files skipped,
 * extensionless subdirectories read too. */
static void load_vars_dir(struct pt_inventory *inv, const char *dir, unsigned int depth,
			  struct pt_val **acc, struct pt_diags *d)
{
	char **names;
	size_t n;

	if (depth > PT_INV_MAX_DIR_DEPTH)
		return;
	names = list_dir(dir, &n);
	if (!names) {
		struct pt_pos where = { intern_file(inv, dir), 0, 0 };

		pt_error(d, &where, NULL, "cannot list directory: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i], *ext = file_ext(name);
		char *full;
		struct stat st;

		if (name[0] == '.' || name[strlen(name) - 1] == '~')
			continue;
		full = xasprintf("%s/%s", dir, name);
		if (!stat(full, &st)) {
			if (S_ISDIR(st.st_mode) && !*ext)
				load_vars_dir(inv, full, depth + 1, acc, d);
			else if (S_ISREG(st.st_mode) && (!*ext || is_yaml_ext(ext)))
				load_vars_file(inv, full, acc, d);
		}
		free(full);
	}
	free_names(names, n);
}

/* DataLoader.find_vars_files: the first of <name>, <name>.yml, .yaml, .json
 * that exists is used, a directory meaning all its files. */
static struct pt_val *find_vars(struct pt_inventory *inv, const char *vdir, const char *name,
				const struct pt_pos *pos, struct pt_diags *d)
{
	static const char *const exts[] = { "", ".yml", ".yaml", ".json" };
	struct pt_val *acc = NULL;

	/* host_group_vars skips names starting with '/'; a '/' inside a name
	 * would reach outside the directory, so those are skipped too. */
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		pt_warn(d, pos, NULL, "'%s' is not usable as a file name, so no vars file is "
			"read for it; rename it without '/'", name);
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		char *full = xasprintf("%s/%s%s", vdir, name, exts[i]);
		struct stat st;

		if (stat(full, &st)) {
			free(full);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			load_vars_dir(inv, full, 0, &acc, d);
		else
			load_vars_file(inv, full, &acc, d);
		free(full);
		break;
	}
	return acc;
}

/* host_group_vars: group_vars/ and host_vars/ in the inventory's dir. */
static void load_all_vars_files(struct pt_inventory *inv, const char *basedir,
				struct pt_diags *d)
{
	char *gdir = xasprintf("%s/group_vars", basedir);
	char *hdir = xasprintf("%s/host_vars", basedir);
	struct stat st;

	if (!stat(gdir, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			struct pt_pos p = { intern_file(inv, gdir), 0, 0 };

			pt_warn(d, &p, NULL, "group_vars is not a directory; skipped, as "
				"Ansible does");
		} else {
			for (size_t i = 0; i < inv->n_groups; i++)
				inv->groups[i]->file_vars = find_vars(inv, gdir,
					inv->groups[i]->name, &inv->groups[i]->pos, d);
		}
	}
	if (!stat(hdir, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			struct pt_pos p = { intern_file(inv, hdir), 0, 0 };

			pt_warn(d, &p, NULL, "host_vars is not a directory; skipped, as "
				"Ansible does");
		} else {
			for (size_t i = 0; i < inv->n_hosts; i++)
				inv->hosts[i]->file_vars = find_vars(inv, hdir,
					inv->hosts[i]->name, &inv->hosts[i]->pos, d);
		}
	}
	free(gdir);
	free(hdir);
}

struct pt_inventory *pt_inventory_load(const char *path, struct pt_diags *d)
{
	struct pt_pos where = { path, 0, 0 };
	struct pt_inventory *inv;
	struct stat st;
	char *basedir;

	if (stat(path, &st)) {
		pt_error(d, &where, NULL, "cannot read inventory: %s; give an inventory file "
			 "or directory with -i", strerror(errno));
		return NULL;
	}
	inv = inv_new(path);
	where.file = intern_file(inv, path);
	if (S_ISDIR(st.st_mode)) {
		basedir = xstrdup(path);
		read_inventory_dir(inv, path, 0, d);
	} else {
		const char *slash = strrchr(path, '/');

		basedir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
				: xstrdup(".");
		read_inventory_file(inv, path, true, d);
	}
	reconcile(inv, d);
	load_all_vars_files(inv, basedir, d);
	free(basedir);
	if (inv->n_hosts == 0 && !d->n_errors)
		pt_warn(d, &where, NULL, "the inventory has no hosts");
	return inv;
}

void pt_inventory_free(struct pt_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n_groups; i++) {
		struct pt_group *g = inv->groups[i];

		free(g->name);
		pt_val_unref(g->vars);
		pt_val_unref(g->file_vars);
		free(g->children);
		free(g->parents);
		free(g->hosts);
		free(g);
	}
	for (size_t i = 0; i < inv->n_hosts; i++) {
		struct pt_host *h = inv->hosts[i];

		free(h->name);
		pt_val_unref(h->vars);
		pt_val_unref(h->file_vars);
		free(h->groups);
		free(h);
	}
	for (size_t i = 0; i < inv->n_files; i++)
		free(inv->files[i]);
	free(inv->files);
	free(inv->groups);
	free(inv->hosts);
	free(inv->path);
	free(priv(inv)->groups.slot);
	free(priv(inv)->hosts.slot);
	free(priv(inv));
}

/* --- membership and precedence --- */

bool pt_group_has_host(const struct pt_group *g, const struct pt_host *h)
{
	size_t n;
	struct pt_group **gs;
	bool found = false;

	if (!g || !h)
		return false;
	gs = host_all_groups(h, &n);
	for (size_t i = 0; i < n && !found; i++)
		found = gs[i] == g;
	free(gs);
	return found;
}

struct pt_host **pt_group_all_hosts(const struct pt_inventory *inv,
				    const struct pt_group *g, size_t *n)
{
	const struct pt_group **order = NULL;
	struct pt_host **out = NULL;
	size_t n_order = 0, n_out = 0;
	bool *seen_host = xcalloc(inv->n_hosts + 1, sizeof(*seen_host));

	/* Group.get_descendants(preserve_ordering): the group, then its
	 * children level by level, each group once. */
	PUSH(order, n_order, g);
	for (size_t i = 0; i < n_order; i++) {
		for (size_t j = 0; j < order[i]->n_children; j++) {
			const struct pt_group *c = order[i]->children[j];
			bool dup = false;

			for (size_t k = 0; k < n_order && !dup; k++)
				dup = order[k] == c;
			if (!dup)
				PUSH(order, n_order, c);
		}
	}
	for (size_t i = 0; i < n_order; i++) {
		for (size_t j = 0; j < order[i]->n_hosts; j++) {
			struct pt_host *h = order[i]->hosts[j];

			if (seen_host[h->index])
				continue;
			seen_host[h->index] = true;
			PUSH(out, n_out, h);
		}
	}
	free(seen_host);
	free(order);
	*n = n_out;
	return out;
}

static int cmp_group_prec(const void *a, const void *b)
{
	const struct pt_group *x = *(struct pt_group *const *)a;
	const struct pt_group *y = *(struct pt_group *const *)b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void apply(struct pt_val *out, const struct pt_val *vars)
{
	for (size_t i = 0; vars && vars->type == PT_VAL_MAP && i < vars->n; i++)
		pt_val_map_set(out, vars->map[i].key, &vars->map[i].key_pos,
			       pt_val_ref(vars->map[i].val));
}

/* VariableManager.get_vars with the default VARIABLE_PRECEDENCE, see
 * inventory.h for the order. */
struct pt_val *pt_host_vars(const struct pt_inventory *inv, const struct pt_host *h)
{
	const struct pt_group *all = pt_inventory_group(inv, "all");
	struct pt_val *out = pt_val_new(PT_VAL_MAP, h ? &h->pos : NULL);
	struct pt_group **gs;
	size_t n, m = 0;

	if (!h)
		return out;
	gs = host_all_groups(h, &n);
	for (size_t i = 0; i < n; i++)
		if (gs[i] != all)
			gs[m++] = gs[i];
	qsort(gs, m, sizeof(*gs), cmp_group_prec);
	apply(out, all->vars);
	for (size_t i = 0; i < m; i++)
		apply(out, gs[i]->vars);
	apply(out, all->file_vars);
	for (size_t i = 0; i < m; i++)
		apply(out, gs[i]->file_vars);
	apply(out, h->vars);
	apply(out, h->file_vars);
	free(gs);
	return out;
}

/* --- host ranges: inventory/__init__.py expand_hostname_range --- */

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static int parse_num(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

/* Expand the first [begin:end(:step)] of pat, then recurse on the rest, as
 * Ansible does; *err gets a message on failure. Appends to *out. */
static int expand_into(const char *pat, char ***out, size_t *n, char **err, unsigned int level)
{
	const char *lb = strchr(pat, '['), *rb;
	char *range, *b[3] = { NULL, NULL, NULL }, *tok;
	long beg, end, step = 1;
	int nb = 0, width = 0, ret = 0;
	bool alpha = false;

	if (!lb) {
		if (*n >= PT_INV_MAX_RANGE) {
			*err = xasprintf("expands to more than %d hosts; split it",
					 PT_INV_MAX_RANGE);
			return -E2BIG;
		}
		PUSH(*out, *n, xstrdup(pat));
		return 0;
	}
	rb = strchr(lb + 1, ']');
	if (!rb || level > 16) {
		*err = xstrdup("a '[' without a matching ']'; write ranges as [1:3] or [a:c]");
		return -EINVAL;
	}
	range = xstrndup(lb + 1, (size_t)(rb - lb - 1));
	/* Python's split(':') keeps empty fields. */
	for (tok = range; nb < 4; nb++) {
		char *colon = strchr(tok, ':');

		if (nb < 3)
			b[nb] = tok;
		if (!colon) {
			nb++;
			break;
		}
		*colon = '\0';
		tok = colon + 1;
	}
	if (nb != 2 && nb != 3) {
		*err = xstrdup("host range must be begin:end or begin:end:step");
		ret = -EINVAL;
		goto out;
	}
	if (nb == 3 && (parse_num(b[2], &step) || step <= 0)) {
		*err = xasprintf("range step '%s' must be a positive integer", b[2]);
		ret = -EINVAL;
		goto out;
	}
	if (!*b[0])
		b[0] = "0";
	if (!*b[1]) {
		*err = xstrdup("host range must specify end value");
		ret = -EINVAL;
		goto out;
	}
	if (b[0][0] == '0' && strlen(b[0]) > 1) {
		width = (int)strlen(b[0]);
		if (strlen(b[1]) != (size_t)width) {
			*err = xstrdup("host range must specify equal-length begin and end "
				       "formats");
			ret = -EINVAL;
			goto out;
		}
	}
	if (strlen(b[0]) == 1 && strlen(b[1]) == 1 && strchr(letters, b[0][0]) &&
	    strchr(letters, b[1][0])) {
		alpha = true;
		beg = strchr(letters, b[0][0]) - letters;
		end = strchr(letters, b[1][0]) - letters;
		if (beg > end) {
			*err = xstrdup("host range must have begin <= end");
			ret = -EINVAL;
			goto out;
		}
	} else if (parse_num(b[0], &beg) || parse_num(b[1], &end)) {
		*err = xasprintf("range [%.*s] is neither numeric nor one letter to one letter",
				 (int)(rb - lb - 1), lb + 1);
		ret = -EINVAL;
		goto out;
	}
	for (long i = beg; i <= end && !ret; i += step) {
		char *name;

		if (alpha)
			name = xasprintf("%.*s%c%s", (int)(lb - pat), pat, letters[i], rb + 1);
		else
			name = xasprintf("%.*s%0*ld%s", (int)(lb - pat), pat, width, i, rb + 1);
		ret = expand_into(name, out, n, err, level + 1);
		free(name);
		if (!ret && *n > PT_INV_MAX_RANGE)
			ret = -E2BIG;
	}
out:
	free(range);
	return ret;
}

static int expand_pattern(const char *pat, char ***out, size_t *n, char **err)
{
	int ret;

	*out = NULL;
	*n = 0;
	*err = NULL;
	if (!*pat) {
		*err = xstrdup("a host has an empty name; give it a name");
		return -EINVAL;
	}
	ret = expand_into(pat, out, n, err, 0);
	if (ret) {
		free_names(*out, *n);
		*out = NULL;
		*n = 0;
		if (!*err)
			*err = xasprintf("expands to more than %d hosts; split it",
					 PT_INV_MAX_RANGE);
	}
	return ret;
}
