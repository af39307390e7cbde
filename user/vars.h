/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vars.h - a YAML document as a tree of values that remember where they were
 * written (file, line, column). Built with libyaml; used for inventory
 * variables, which Ansible resolves by replacing (not merging) whole values.
 */
#ifndef PORTIER_VARS_H
#define PORTIER_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum pt_val_type { PT_VAL_NULL, PT_VAL_SCALAR, PT_VAL_MAP, PT_VAL_SEQ };

struct pt_val;

/* One key of a mapping, in file order. */
struct pt_map_entry {
	char *key;
	struct pt_pos key_pos;
	struct pt_val *val;
};

/* A node. Scalars keep their text as written (YAML 1.1 "plain" scalars like
 * 30080 stay text; callers convert) and whether they were quoted. Plain
 * null ('', '~', null) is PT_VAL_NULL, as in Ansible. Aliases and "<<"
 * merges share nodes (refs), so a tree may be a DAG; never modify a parsed
 * node in place. */
struct pt_val {
	enum pt_val_type type;
	struct pt_pos pos;
	char *str;		/* PT_VAL_SCALAR: the text */
	bool quoted;		/* PT_VAL_SCALAR: written in quotes or block style */
	size_t n;		/* PT_VAL_MAP / PT_VAL_SEQ: number of children */
	struct pt_map_entry *map;	/* PT_VAL_MAP */
	struct pt_val **seq;		/* PT_VAL_SEQ */
	unsigned int refs;	/* shared by reference (aliases, merged vars) */
};

/* Parse YAML text into a tree. file names the source in positions and must
 * outlive the tree (pass an interned name, see pt_strings). Returns NULL and
 * adds an error to d on a syntax error. An empty document gives PT_VAL_NULL. */
struct pt_val *pt_yaml_parse(const char *file, const char *text, size_t len,
			     struct pt_diags *d);
/* Read and parse a file; errors (including I/O) go to d. */
struct pt_val *pt_yaml_load(const char *file, struct pt_diags *d);

/* Read a whole file into a malloc'd buffer (not NUL-terminated); errors go
 * to d with the file as position. Returns 0 or -errno. */
int pt_read_file(const char *file, char **text, size_t *len, struct pt_diags *d);

/* New nodes with one reference; pos may be NULL. */
struct pt_val *pt_val_new(enum pt_val_type type, const struct pt_pos *pos);
struct pt_val *pt_val_new_str(const char *s, bool quoted, const struct pt_pos *pos);
/* Set key in mapping m to val, replacing an existing value in its place;
 * takes over the caller's reference to val. key_pos NULL means val->pos. */
void pt_val_map_set(struct pt_val *m, const char *key, const struct pt_pos *key_pos,
		    struct pt_val *val);
/* Append val to sequence s; takes over the caller's reference. */
void pt_val_seq_push(struct pt_val *s, struct pt_val *val);

struct pt_val *pt_val_ref(struct pt_val *v);
void pt_val_unref(struct pt_val *v);

/* Mapping lookup by key; NULL when v is not a mapping or lacks the key. */
struct pt_val *pt_val_get(const struct pt_val *v, const char *key);
const struct pt_map_entry *pt_val_entry(const struct pt_val *v, const char *key);
/* The scalar text, or NULL when v is not a scalar. */
const char *pt_val_str(const struct pt_val *v);
const char *pt_val_type_name(enum pt_val_type t);

#endif
