// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * vars.c - YAML text to a tree of struct pt_val (see vars.h), read with
 * libyaml's event parser so every node and key keeps its line and column.
 *
 * It follows what Ansible's loader (PyYAML's SafeLoader) builds: anchors and
 * aliases share one node, the merge key "<<" copies the keys of the merged
 * mappings under the mapping's own keys, a key written twice keeps its last
 * value (with a warning, as Ansible gives), plain null scalars are null, and
 * a stream holds at most one document.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util.h"
#include "vars.h"

/* Deepest nesting of mappings and sequences accepted; bounds the recursion
 * so hostile input cannot exhaust the stack. */
#define PT_YAML_MAX_DEPTH 64
/* Most nodes a document may expand to when aliases are followed: the tree
 * shares aliased nodes, but a reader walking it visits every copy, so an
 * "alias bomb" of a few lines must be refused. */
#define PT_YAML_MAX_NODES (1u << 20)
/* Largest file pt_yaml_load reads: an inventory is a few kilobytes. */
#define PT_YAML_MAX_FILE (64u << 20)

/* One anchor seen so far in the document: &name and the node it names. */
struct anchor {
	char *name;
	struct pt_val *val;
	size_t size;		/* nodes it expands to */
};

/* The state of one parse: libyaml's parser, where errors go, the anchors. */
struct yp {
	yaml_parser_t parser;
	const char *file;
	const char *text;
	size_t len;
	struct pt_diags *d;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
};

/* An entry of a mapping under construction; own marks the mapping's own keys
 * (as opposed to ones copied in by "<<"), idx the order they arrived in. */
struct build_entry {
	struct pt_map_entry e;
	bool own;
	size_t idx;
};

/* A growable list of entries of a mapping under construction. */
struct build_map {
	struct build_entry *v;
	size_t n, cap;
};

static struct pt_val *val_new(enum pt_val_type type, const struct pt_pos *pos)
{
	struct pt_val *v = xcalloc(1, sizeof(*v));

	v->type = type;
	if (pos)
		v->pos = *pos;
	v->refs = 1;
	return v;
}

struct pt_val *pt_val_new(enum pt_val_type type, const struct pt_pos *pos)
{
	return val_new(type, pos);
}

struct pt_val *pt_val_new_str(const char *s, bool quoted, const struct pt_pos *pos)
{
	struct pt_val *v = val_new(PT_VAL_SCALAR, pos);

	v->str = xstrdup(s);
	v->quoted = quoted;
	return v;
}

struct pt_val *pt_val_ref(struct pt_val *v)
{
	if (v)
		v->refs++;
	return v;
}

void pt_val_unref(struct pt_val *v)
{
	if (!v || --v->refs)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (v->type == PT_VAL_MAP) {
			free(v->map[i].key);
			pt_val_unref(v->map[i].val);
		} else if (v->type == PT_VAL_SEQ) {
			pt_val_unref(v->seq[i]);
		}
	}
	free(v->map);
	free(v->seq);
	free(v->str);
	free(v);
}

void pt_val_map_set(struct pt_val *m, const char *key, const struct pt_pos *key_pos,
		    struct pt_val *val)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->map[i].key, key))
			continue;
		pt_val_unref(m->map[i].val);
		m->map[i].val = val;
		m->map[i].key_pos = key_pos ? *key_pos : val->pos;
		return;
	}
	m->map = xrealloc(m->map, (m->n + 1) * sizeof(*m->map));
	m->map[m->n].key = xstrdup(key);
	m->map[m->n].key_pos = key_pos ? *key_pos : val->pos;
	m->map[m->n].val = val;
	m->n++;
}

void pt_val_seq_push(struct pt_val *s, struct pt_val *val)
{
	s->seq = xrealloc(s->seq, (s->n + 1) * sizeof(*s->seq));
	s->seq[s->n++] = val;
}

const struct pt_map_entry *pt_val_entry(const struct pt_val *v, const char *key)
{
	if (!v || v->type != PT_VAL_MAP)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->map[i].key, key))
			return &v->map[i];
	return NULL;
}

struct pt_val *pt_val_get(const struct pt_val *v, const char *key)
{
	const struct pt_map_entry *e = pt_val_entry(v, key);

	return e ? e->val : NULL;
}

const char *pt_val_str(const struct pt_val *v)
{
	return v && v->type == PT_VAL_SCALAR ? v->str : NULL;
}

const char *pt_val_type_name(enum pt_val_type t)
{
	switch (t) {
	case PT_VAL_NULL:
		return "null";
	case PT_VAL_SCALAR:
		return "scalar";
	case PT_VAL_MAP:
		return "mapping";
	case PT_VAL_SEQ:
		return "sequence";
	}
	return "unknown";
}

static struct pt_pos mark_pos(const struct yp *y, const yaml_mark_t *m)
{
	struct pt_pos p = { y->file, (unsigned int)m->line + 1, (unsigned int)m->column + 1 };

	return p;
}

/* Reader errors (bad UTF-8, NUL bytes) carry a byte offset, not a mark. */
static struct pt_pos offset_pos(const struct yp *y, size_t off)
{
	struct pt_pos p = { y->file, 1, 1 };

	for (size_t i = 0; i < off && i < y->len; i++) {
		if (y->text[i] == '\n') {
			p.line++;
			p.col = 1;
		} else {
			p.col++;
		}
	}
	return p;
}

static void syntax_error(struct yp *y)
{
	const yaml_parser_t *p = &y->parser;
	const char *problem = p->problem ? p->problem : "unknown error";
	struct pt_pos pos;

	if (p->error == YAML_READER_ERROR) {
		pos = offset_pos(y, p->problem_offset);
		pt_error(y->d, &pos, NULL, "cannot read YAML: %s; save the file as UTF-8 text",
			 problem);
		return;
	}
	if (p->error == YAML_MEMORY_ERROR)
		pt_die_oom();
	pos = mark_pos(y, &p->problem_mark);
	if (p->context)
		pt_error(y->d, &pos, NULL, "YAML syntax error: %s (%s started at line %zu); "
			 "fix the indentation or quoting here", problem, p->context,
			 p->context_mark.line + 1);
	else
		pt_error(y->d, &pos, NULL, "YAML syntax error: %s; fix the indentation or "
			 "quoting here", problem);
}

static int next_event(struct yp *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		syntax_error(y);
		return -EINVAL;
	}
	return 0;
}

static void anchor_set(struct yp *y, const char *name, struct pt_val *v, size_t size)
{
	for (size_t i = 0; i < y->n_anchors; i++) {
		if (!strcmp(y->anchors[i].name, name)) {
			pt_val_unref(y->anchors[i].val);
			y->anchors[i].val = pt_val_ref(v);
			y->anchors[i].size = size;
			return;
		}
	}
	if (y->n_anchors == y->cap_anchors) {
		y->cap_anchors = y->cap_anchors ? y->cap_anchors * 2 : 8;
		y->anchors = xrealloc(y->anchors, y->cap_anchors * sizeof(*y->anchors));
	}
	y->anchors[y->n_anchors].name = xstrdup(name);
	y->anchors[y->n_anchors].val = pt_val_ref(v);
	y->anchors[y->n_anchors].size = size;
	y->n_anchors++;
}

static struct pt_val *anchor_get(struct yp *y, const yaml_event_t *ev, size_t *size)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct pt_pos pos = mark_pos(y, &ev->start_mark);

	for (size_t i = 0; i < y->n_anchors; i++)
		if (!strcmp(y->anchors[i].name, name)) {
			*size = y->anchors[i].size;
			return pt_val_ref(y->anchors[i].val);
		}
	pt_error(y->d, &pos, NULL, "alias '*%s' names no anchor defined before it; "
		 "define '&%s' on an earlier node", name, name);
	return NULL;
}

static bool is_null_plain(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static struct pt_val *scalar_val(struct yp *y, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *s = (const char *)ev->data.scalar.value;
	struct pt_pos pos = mark_pos(y, &ev->start_mark);
	bool quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	struct pt_val *v;

	/* !!str and Ansible's !unsafe make a string whatever the text is. */
	if (tag && (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!unsafe")))
		quoted = true;
	if (!quoted && (!tag || !strcmp(tag, YAML_NULL_TAG)) && is_null_plain(s))
		return val_new(PT_VAL_NULL, &pos);
	if (tag && !strcmp(tag, "!vault"))
		pt_warn(y->d, &pos, NULL, "value is encrypted with ansible-vault, which "
			"portier cannot decrypt; it is kept as the ciphertext");
	v = val_new(PT_VAL_SCALAR, &pos);
	v->str = xstrndup(s, ev->data.scalar.length);
	v->quoted = quoted;
	return v;
}

static void build_push(struct build_map *b, const char *key, const struct pt_pos *key_pos,
		       struct pt_val *val, bool own)
{
	struct build_entry *be;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	be = &b->v[b->n];
	be->e.key = xstrdup(key);
	be->e.key_pos = *key_pos;
	be->e.val = val;
	be->own = own;
	be->idx = b->n;
	b->n++;
}

static void build_free(struct build_map *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].e.key);
		pt_val_unref(b->v[i].e.val);
	}
	free(b->v);
}

static int cmp_key_idx(const void *a, const void *b)
{
	const struct build_entry *x = a, *y = b;
	int c = strcmp(x->e.key, y->e.key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_idx(const void *a, const void *b)
{
	const struct build_entry *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Turn the collected entries into the mapping m: merged entries come first,
 * then the mapping's own, and of a key written twice the later value wins at
 * the earlier place (a Python dict's order). Own keys written twice warn.
 */
static void build_finish(struct yp *y, struct build_map *b, struct pt_val *m)
{
	size_t i, j, out = 0;

	if (b->n)	/* qsort(NULL, 0) is undefined */
		qsort(b->v, b->n, sizeof(*b->v), cmp_key_idx);
	for (i = 0; i < b->n; i = j) {
		size_t first_own = SIZE_MAX;

		for (j = i; j < b->n && !strcmp(b->v[i].e.key, b->v[j].e.key); j++) {
			if (!b->v[j].own)
				continue;
			if (first_own == SIZE_MAX)
				first_own = j;
			else
				pt_warn(y->d, &b->v[j].e.key_pos, NULL, "key '%s' is already "
					"set at line %u; the later value is used, as Ansible "
					"does: remove one of them", b->v[j].e.key,
					b->v[first_own].e.key_pos.line);
		}
		/* The last of the run wins and takes the first one's place. */
		if (j - i > 1) {
			size_t place = b->v[i].idx;

			for (size_t k = i; k < j - 1; k++) {
				free(b->v[k].e.key);
				pt_val_unref(b->v[k].e.val);
			}
			b->v[out] = b->v[j - 1];
			b->v[out].idx = place;
		} else {
			b->v[out] = b->v[i];
		}
		out++;
	}
	b->n = out;
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), cmp_idx);
	m->map = xcalloc(b->n, sizeof(*m->map));
	for (i = 0; i < b->n; i++)
		m->map[i] = b->v[i].e;
	m->n = b->n;
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static void merge_one(struct build_map *merged, const struct pt_val *src)
{
	for (size_t i = 0; i < src->n; i++)
		build_push(merged, src->map[i].key, &src->map[i].key_pos,
			   pt_val_ref(src->map[i].val), false);
}

/* "<<: *a" or "<<: [*a, *b]": the earlier mapping of a list wins, so they are
 * pushed last to first. */
static int merge_add(struct yp *y, struct build_map *merged, const struct pt_val *v)
{
	if (v->type == PT_VAL_MAP) {
		merge_one(merged, v);
		return 0;
	}
	if (v->type == PT_VAL_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			if (v->seq[i]->type != PT_VAL_MAP)
				goto bad;
		}
		for (size_t i = v->n; i > 0; i--)
			merge_one(merged, v->seq[i - 1]);
		return 0;
	}
bad:
	pt_error(y->d, &v->pos, NULL, "the merge key '<<' takes a mapping or a list of "
		 "mappings (e.g. '<<: *defaults'), not a %s", pt_val_type_name(v->type));
	return -EINVAL;
}

static struct pt_val *parse_node(struct yp *y, yaml_event_t *ev, unsigned int depth,
				  size_t *size);

/* The key of a mapping entry: a scalar, or an alias of one. Returns its text
 * (malloc'd) and whether it was the plain merge key "<<". */
static char *parse_key(struct yp *y, yaml_event_t *ev, bool *is_merge)
{
	struct pt_pos pos = mark_pos(y, &ev->start_mark);
	struct pt_val *v;
	char *key;

	*is_merge = false;
	if (ev->type == YAML_SCALAR_EVENT) {
		const char *s = (const char *)ev->data.scalar.value;

		*is_merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			    !ev->data.scalar.tag && !strcmp(s, "<<");
		key = xstrndup(s, ev->data.scalar.length);
		if (ev->data.scalar.anchor) {
			v = scalar_val(y, ev);
			anchor_set(y, (const char *)ev->data.scalar.anchor, v, 1);
			pt_val_unref(v);
		}
		return key;
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		size_t size;

		v = anchor_get(y, ev, &size);
		if (!v)
			return NULL;
		if (v->type == PT_VAL_SCALAR || v->type == PT_VAL_NULL) {
			key = xstrdup(v->str ? v->str : "");
			pt_val_unref(v);
			return key;
		}
		pt_val_unref(v);
	}
	pt_error(y->d, &pos, NULL, "a mapping key must be a plain value, not a %s; "
		 "write the key as text",
		 ev->type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
	return NULL;
}

static struct pt_val *parse_map(struct yp *y, const yaml_event_t *start, unsigned int depth,
				size_t *size)
{
	struct pt_pos pos = mark_pos(y, &start->start_mark);
	struct build_map own = { 0 }, merged = { 0 };
	struct pt_val *m = val_new(PT_VAL_MAP, &pos);
	yaml_event_t kev, vev;

	*size = 1;
	for (;;) {
		struct pt_pos key_pos;
		size_t vsize = 0;
		struct pt_val *v;
		bool is_merge;
		char *key;

		if (next_event(y, &kev))
			goto fail;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		key_pos = mark_pos(y, &kev.start_mark);
		key = parse_key(y, &kev, &is_merge);
		yaml_event_delete(&kev);
		if (!key)
			goto fail;
		if (next_event(y, &vev)) {
			free(key);
			goto fail;
		}
		v = parse_node(y, &vev, depth + 1, &vsize);
		if (!v) {
			free(key);
			goto fail;
		}
		*size += 1 + vsize;
		if (is_merge) {
			int err = merge_add(y, &merged, v);

			pt_val_unref(v);
			free(key);
			if (err)
				goto fail;
			continue;
		}
		build_push(&own, key, &key_pos, v, true);
		free(key);
	}
	/* Own keys go after the merged ones so that they win. */
	for (size_t i = 0; i < own.n; i++) {
		build_push(&merged, own.v[i].e.key, &own.v[i].e.key_pos, own.v[i].e.val, true);
		own.v[i].e.val = NULL;
	}
	build_free(&own);
	build_finish(y, &merged, m);
	return m;
fail:
	build_free(&own);
	build_free(&merged);
	pt_val_unref(m);
	return NULL;
}

static struct pt_val *parse_seq(struct yp *y, const yaml_event_t *start, unsigned int depth,
				size_t *size)
{
	struct pt_pos pos = mark_pos(y, &start->start_mark);
	struct pt_val *s = val_new(PT_VAL_SEQ, &pos);
	yaml_event_t ev;

	*size = 1;
	for (;;) {
		size_t vsize = 0;
		struct pt_val *v;

		if (next_event(y, &ev))
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return s;
		}
		v = parse_node(y, &ev, depth + 1, &vsize);
		if (!v)
			goto fail;
		*size += vsize;
		pt_val_seq_push(s, v);
	}
fail:
	pt_val_unref(s);
	return NULL;
}

/* Build the node that starts with ev; deletes ev. *size receives the number
 * of nodes it expands to. */
static struct pt_val *parse_node(struct yp *y, yaml_event_t *ev, unsigned int depth,
				 size_t *size)
{
	struct pt_pos pos = mark_pos(y, &ev->start_mark);
	const char *anchor = NULL;
	struct pt_val *v = NULL;

	if (depth > PT_YAML_MAX_DEPTH) {
		pt_error(y->d, &pos, NULL, "YAML nested deeper than %d levels; flatten the "
			 "structure", PT_YAML_MAX_DEPTH);
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		v = scalar_val(y, ev);
		*size = 1;
		break;
	case YAML_ALIAS_EVENT:
		v = anchor_get(y, ev, size);
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		v = parse_map(y, ev, depth, size);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		v = parse_seq(y, ev, depth, size);
		break;
	default:
		pt_error(y->d, &pos, NULL, "unexpected YAML event %d", ev->type);
		break;
	}
	if (v && *size > PT_YAML_MAX_NODES) {
		pt_error(y->d, &pos, NULL, "YAML expands to more than %u values through "
			 "aliases; write the values out or use fewer '*' references",
			 PT_YAML_MAX_NODES);
		pt_val_unref(v);
		v = NULL;
	}
	if (v && anchor)
		anchor_set(y, anchor, v, *size);
	yaml_event_delete(ev);
	return v;
}

/* Expect an event of type want; anything else is an internal error of the
 * event stream, which libyaml does not produce. */
static int expect(struct yp *y, yaml_event_type_t want)
{
	yaml_event_t ev;
	int err;

	if (next_event(y, &ev))
		return -EINVAL;
	err = ev.type == want ? 0 : -EINVAL;
	if (err) {
		struct pt_pos pos = mark_pos(y, &ev.start_mark);

		pt_error(y->d, &pos, NULL, "unexpected YAML event %d", ev.type);
	}
	yaml_event_delete(&ev);
	return err;
}

static struct pt_val *parse_stream(struct yp *y)
{
	struct pt_pos whole = { y->file, 0, 0 };
	struct pt_val *root = NULL;
	yaml_event_t ev;
	size_t size;

	if (expect(y, YAML_STREAM_START_EVENT))
		return NULL;
	if (next_event(y, &ev))
		return NULL;
	if (ev.type == YAML_STREAM_END_EVENT) {
		/* Nothing but comments: Ansible reads it as an empty file. */
		yaml_event_delete(&ev);
		return val_new(PT_VAL_NULL, &whole);
	}
	yaml_event_delete(&ev);	/* DOCUMENT-START */
	if (next_event(y, &ev))
		return NULL;
	root = parse_node(y, &ev, 0, &size);
	if (!root)
		return NULL;
	if (expect(y, YAML_DOCUMENT_END_EVENT))
		goto fail;
	if (next_event(y, &ev))
		goto fail;
	if (ev.type != YAML_STREAM_END_EVENT) {
		struct pt_pos pos = mark_pos(y, &ev.start_mark);

		pt_error(y->d, &pos, NULL, "a second YAML document starts here; an inventory "
			 "file holds one document: remove the '---' or split the file");
		yaml_event_delete(&ev);
		goto fail;
	}
	yaml_event_delete(&ev);
	return root;
fail:
	pt_val_unref(root);
	return NULL;
}

struct pt_val *pt_yaml_parse(const char *file, const char *text, size_t len,
			     struct pt_diags *d)
{
	struct yp y = { .file = file, .text = text, .len = len, .d = d };
	struct pt_val *root;

	if (!yaml_parser_initialize(&y.parser))
		pt_die_oom();
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	root = parse_stream(&y);
	yaml_parser_delete(&y.parser);
	for (size_t i = 0; i < y.n_anchors; i++) {
		free(y.anchors[i].name);
		pt_val_unref(y.anchors[i].val);
	}
	free(y.anchors);
	return root;
}

int pt_read_file(const char *file, char **text, size_t *len, struct pt_diags *d)
{
	struct pt_pos whole = { file, 0, 0 };
	size_t cap = 4096, n = 0;
	char *buf;
	FILE *f;
	int err;

	f = fopen(file, "rb");
	if (!f) {
		err = -errno;
		pt_error(d, &whole, NULL, "cannot open: %s; check the inventory path and "
			 "permissions", strerror(-err));
		return err;
	}
	buf = xmalloc(cap);
	for (;;) {
		size_t got;

		if (n == cap) {
			if (cap >= PT_YAML_MAX_FILE) {
				pt_error(d, &whole, NULL, "file is larger than %u MiB; an "
					 "inventory file is expected to be small",
					 PT_YAML_MAX_FILE >> 20);
				err = -EFBIG;
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got)
			continue;
		if (ferror(f)) {
			err = -EIO;
			pt_error(d, &whole, NULL, "cannot read: %s", strerror(EIO));
			goto fail;
		}
		break;
	}
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
fail:
	fclose(f);
	free(buf);
	return err;
}

struct pt_val *pt_yaml_load(const char *file, struct pt_diags *d)
{
	struct pt_val *v;
	size_t len;
	char *text;

	if (pt_read_file(file, &text, &len, d))
		return NULL;
	v = pt_yaml_parse(file, text, len, d);
	free(text);
	return v;
}
