/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * inventory.h - an Ansible YAML inventory (file or directory) read the way
 * Ansible reads it: all/children/hosts/vars nesting, group_vars/ and
 * host_vars/ beside it, and Ansible's variable precedence.
 */
#ifndef PORTIER_INVENTORY_H
#define PORTIER_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "vars.h"

struct pt_group;

struct pt_host {
	char *name;
	struct pt_pos pos;		/* first place the host is declared */
	struct pt_val *vars;		/* inline vars (merged over all decls) */
	struct pt_val *file_vars;	/* host_vars/<name>.yml, or NULL */
	struct pt_group **groups;	/* groups that list it directly */
	size_t n_groups;
	size_t index;			/* its place in inv->hosts */
};

struct pt_group {
	char *name;
	struct pt_pos pos;
	struct pt_val *vars;		/* inline vars: section */
	struct pt_val *file_vars;	/* group_vars/<name>.yml, or NULL */
	struct pt_group **children;
	size_t n_children;
	struct pt_group **parents;
	size_t n_parents;
	struct pt_host **hosts;		/* direct members */
	size_t n_hosts;
	int priority;			/* ansible_group_priority (default 1); kept
					 * out of vars, as Ansible does */
	unsigned int depth;		/* longest path from "all" (all is 0) */
	size_t index;			/* its place in inv->groups */
};

struct pt_inventory {
	char *path;			/* as given */
	struct pt_group **groups;	/* "all" and "ungrouped" always exist */
	size_t n_groups;
	struct pt_host **hosts;
	size_t n_hosts;
	char **files;			/* interned file names used in positions */
	size_t n_files;
};

/* Load an inventory file or directory. Returns NULL only if nothing could be
 * read; otherwise errors and warnings are in d and the caller checks
 * d->n_errors. A directory is read as Ansible reads one: every entry in
 * sorted order, subdirectories too, skipping hidden names, group_vars/,
 * host_vars/ and Ansible's ignored extensions (.md, .txt, .ini, ~, ...);
 * files ending .yml, .yaml, .json or without extension are YAML inventories
 * (an extensionless file that is not YAML is skipped with a warning).
 * group_vars/ and host_vars/ are read from the directory (or the file's
 * directory): <name>, <name>.yml, <name>.yaml or <name>.json, the first that
 * exists; a directory <name>/ means its files in sorted order, later files
 * replacing earlier top-level keys. */
struct pt_inventory *pt_inventory_load(const char *path, struct pt_diags *d);
/* One inventory file from memory, without group_vars/ or host_vars/ (for
 * tests and the fuzzer). file names the source in positions. Never NULL. */
struct pt_inventory *pt_inventory_parse(const char *file, const char *text, size_t len,
					struct pt_diags *d);
void pt_inventory_free(struct pt_inventory *inv);

struct pt_group *pt_inventory_group(const struct pt_inventory *inv, const char *name);
struct pt_host *pt_inventory_host(const struct pt_inventory *inv, const char *name);

/* True if host is a member of group, directly or through child groups. */
bool pt_group_has_host(const struct pt_group *g, const struct pt_host *h);
/* All hosts of a group (with children's), no repeats, in Ansible's order:
 * the group's own hosts in the order they were listed, then its children's
 * level by level (Group.get_hosts). Returns a malloc'd array the caller
 * frees (NULL when empty); *n receives the count. */
struct pt_host **pt_group_all_hosts(const struct pt_inventory *inv,
				    const struct pt_group *g, size_t *n);

/* The variables of a host, resolved as ansible-core's VariableManager does
 * with the default VARIABLE_PRECEDENCE (checked against ansible-inventory
 * --host), lowest to highest:
 *   1. inline vars of group all
 *   2. inline vars of every other group the host is in (directly or through
 *      children), sorted by (depth, ansible_group_priority, name): parents
 *      before children, then lower priority first, then by name
 *   3. group_vars/all
 *   4. group_vars/<group> of those groups, in the same order
 *   5. the host's inline vars (every declaration, later ones winning)
 *   6. host_vars/<host>
 * So group_vars/all beats a child group's inline vars. A key set at two
 * levels is replaced whole (hash_behaviour=replace). ansible_group_priority
 * counts only as an inline group var; in a group_vars file it is an
 * ordinary variable. Returns a mapping (the caller unrefs it). */
struct pt_val *pt_host_vars(const struct pt_inventory *inv, const struct pt_host *h);

#endif
