// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * template.c - "{{ }}" references (see template.h): a small parser for the
 * one expression form portier supports, a lookup in the host's variables,
 * and the recursive resolution Ansible does when a referenced value is itself
 * a template.
 *
 *   expr    := ws name step* ws
 *   step    := ws "." ws segment | ws "[" ws ( 'text' | "text" | digits ) ws "]"
 *   segment := word ( "-" word )*     ("-" only for the seed's app.v-admin,
 *                                      accepted with a warning)
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

/* How deep templates may refer to templates; deeper means a loop. */
#define TEMPLATE_MAX_DEPTH 32
/* Most steps one expression may have (a.b[0].c ...). */
#define TEMPLATE_MAX_STEPS 32
/* Most references one value may take to resolve: templates that refer to
 * several others at each level grow exponentially before any loop shows. */
#define TEMPLATE_MAX_EVALS 10000
/* Longest expression quoted in a message. */
#define EXPR_QUOTE_MAX 120

#define OPEN "{{"
#define CLOSE "}}"

enum step_kind {
	STEP_ROOT,	/* the variable name */
	STEP_ATTR,	/* .name */
	STEP_DASHED,	/* .v-admin: a key with "-", accepted with a warning */
	STEP_KEY,	/* ['text'] or ["text"] */
	STEP_INDEX,	/* [0] */
};

/* One step of a parsed path; text points into the expression. */
struct step {
	enum step_kind kind;
	const char *text;
	size_t len;
};

/* A parsed expression. */
struct path {
	struct step steps[TEMPLATE_MAX_STEPS];
	size_t n;
	bool dashed;	/* some step is STEP_DASHED */
};

/* Everything a resolution needs to report a problem. */
struct tctx {
	const struct pt_val *vars;
	const char *route;
	struct pt_diags *d;
	unsigned int evals;	/* references evaluated so far */
};

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

/* A new scalar node holding text s (taken over). */
static struct pt_val *new_scalar(char *s, const struct pt_pos *pos)
{
	struct pt_val *v = xcalloc(1, sizeof(*v));

	v->type = PT_VAL_SCALAR;
	v->str = s;
	v->quoted = true;
	v->refs = 1;
	if (pos)
		v->pos = *pos;
	return v;
}

static bool has_template(const struct pt_val *v)
{
	return v && v->type == PT_VAL_SCALAR && v->str &&
	       (strstr(v->str, OPEN) || strstr(v->str, "{%") || strstr(v->str, "{#"));
}

/* Parse the expression [p, end). Returns false if it is not a plain path. */
static bool parse_path(const char *p, const char *end, struct path *out)
{
	memset(out, 0, sizeof(*out));
	p = skip_ws(p, end);
	if (p == end || !(isalpha((unsigned char)*p) || *p == '_'))
		return false;
	out->steps[0] = (struct step){ STEP_ROOT, p, 0 };
	while (p < end && is_word(*p))
		p++;
	out->steps[0].len = p - out->steps[0].text;
	out->n = 1;

	for (;;) {
		struct step *s;

		p = skip_ws(p, end);
		if (p == end)
			return true;
		if (out->n == TEMPLATE_MAX_STEPS)
			return false;
		s = &out->steps[out->n];
		if (*p == '.') {
			p = skip_ws(p + 1, end);
			s->kind = STEP_ATTR;
			s->text = p;
			while (p < end && is_word(*p))
				p++;
			if (p == s->text)
				return false;
			/* v-admin: words joined by single dashes, no spaces. */
			while (p + 1 < end && *p == '-' && is_word(p[1])) {
				s->kind = STEP_DASHED;
				p++;
				while (p < end && is_word(*p))
					p++;
			}
			s->len = p - s->text;
			if (s->kind == STEP_DASHED)
				out->dashed = true;
		} else if (*p == '[') {
			p = skip_ws(p + 1, end);
			if (p < end && (*p == '\'' || *p == '"')) {
				const char *q = memchr(p + 1, *p, end - p - 1);

				if (!q)
					return false;
				s->kind = STEP_KEY;
				s->text = p + 1;
				s->len = q - p - 1;
				p = q + 1;
			} else if (p < end && isdigit((unsigned char)*p)) {
				s->kind = STEP_INDEX;
				s->text = p;
				while (p < end && isdigit((unsigned char)*p))
					p++;
				s->len = p - s->text;
			} else {
				return false;
			}
			p = skip_ws(p, end);
			if (p == end || *p != ']')
				return false;
			p++;
		} else {
			return false;
		}
		out->n++;
	}
}

/* The path as Ansible would accept it: dashed keys as ['v-admin']. */
static char *path_canonical(const struct path *pa, size_t upto)
{
	char *s = xstrndup(pa->steps[0].text, pa->steps[0].len);

	for (size_t i = 1; i < upto && i < pa->n; i++) {
		const struct step *st = &pa->steps[i];
		const char *fmt;
		char *n;

		switch (st->kind) {
		case STEP_ATTR:
			fmt = "%s.%.*s";
			break;
		case STEP_INDEX:
			fmt = "%s[%.*s]";
			break;
		default:
			fmt = memchr(st->text, '\'', st->len) ? "%s[\"%.*s\"]" : "%s['%.*s']";
			break;
		}
		n = xasprintf(fmt, s, (int)st->len, st->text);
		free(s);
		s = n;
	}
	return s;
}

/* Index text to a number; false if it does not fit. */
static bool parse_index(const char *t, size_t len, size_t *out)
{
	size_t v = 0;

	for (size_t i = 0; i < len; i++) {
		if (v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(t[i] - '0');
	}
	*out = v;
	return true;
}

static struct pt_val *resolve_node(struct tctx *c, const struct pt_val *v, int depth);

/* One step down from cur (a new reference); NULL after an error. */
static struct pt_val *step_into(struct tctx *c, const struct pt_val *cur, const struct path *pa,
				size_t i, const char *whole, int wlen, const struct pt_pos *pos)
{
	const struct step *st = &pa->steps[i];
	char *key = xstrndup(st->text, st->len);
	char *where = path_canonical(pa, i);
	struct pt_val *next = NULL;

	if (cur->type == PT_VAL_MAP) {
		next = pt_val_get(cur, key);
		if (!next)
			pt_error(c->d, pos, c->route,
				 "'%.*s': '%s' has no key '%s'; define it, or fix the name", wlen,
				 whole, where, key);
	} else if (cur->type == PT_VAL_SEQ && st->kind != STEP_KEY && st->kind != STEP_DASHED &&
		   strspn(st->text, "0123456789") >= st->len) {
		size_t idx;

		if (parse_index(st->text, st->len, &idx) && idx < cur->n)
			next = cur->seq[idx];
		else
			pt_error(c->d, pos, c->route,
				 "'%.*s': '%s' has %zu item%s, no item %s (items count from 0)",
				 wlen, whole, where, cur->n, cur->n == 1 ? "" : "s", key);
	} else {
		pt_error(c->d, pos, c->route,
			 "'%.*s': '%s' is a %s, it has no key '%s'; check the path", wlen, whole,
			 where, pt_val_type_name(cur->type), key);
	}
	free(key);
	free(where);
	return next ? pt_val_ref(next) : NULL;
}

/* Evaluate "{{ expr }}" (whole, wlen, for messages; expr inside it) to the
 * referenced value, itself resolved. Returns a new reference or NULL. */
static struct pt_val *eval_expr(struct tctx *c, const char *expr, const char *expr_end,
				const char *whole, int wlen, const struct pt_pos *pos, int depth)
{
	struct pt_val *cur, *next;
	struct path pa;
	char *root;

	if (wlen > EXPR_QUOTE_MAX)
		wlen = EXPR_QUOTE_MAX;
	if (++c->evals > TEMPLATE_MAX_EVALS) {
		if (c->evals == TEMPLATE_MAX_EVALS + 1)
			pt_error(c->d, pos, c->route,
				 "'%.*s': resolving this value takes more than %d references "
				 "(templates that each refer to several others); simplify them",
				 wlen, whole, TEMPLATE_MAX_EVALS);
		return NULL;
	}
	if (!parse_path(expr, expr_end, &pa)) {
		pt_error(c->d, pos, c->route,
			 "'%.*s' is not supported: inside {{ }} only dotted paths (app.name.port) "
			 "and subscripts (app['v-admin'].port, list[0]) are; no filters, "
			 "arithmetic, calls or tests. Write the value or a plain reference",
			 wlen, whole);
		return NULL;
	}
	if (pa.dashed) {
		char *canon = path_canonical(&pa, pa.n);

		pt_warn(c->d, pos, c->route,
			"'%.*s': Jinja reads '-' as a subtraction, so Ansible fails here "
			"(\"'dict object' has no attribute ...\"); portier reads it as %s. "
			"Write '{{ %s }}' so that both agree",
			wlen, whole, canon, canon);
		free(canon);
	}

	root = xstrndup(pa.steps[0].text, pa.steps[0].len);
	cur = pt_val_get(c->vars, root);
	if (!cur) {
		pt_error(c->d, pos, c->route,
			 "'%.*s': variable '%s' is undefined; define it in the inventory "
			 "(vars, group_vars/ or host_vars/) or fix the name",
			 wlen, whole, root);
		free(root);
		return NULL;
	}
	free(root);
	cur = pt_val_ref(cur);
	for (size_t i = 1; i < pa.n; i++) {
		/* A referenced value that is a template is resolved first. */
		if (has_template(cur)) {
			next = resolve_node(c, cur, depth + 1);
			pt_val_unref(cur);
			if (!next)
				return NULL;
			cur = next;
		}
		next = step_into(c, cur, &pa, i, whole, wlen, pos);
		pt_val_unref(cur);
		if (!next)
			return NULL;
		cur = next;
	}
	if (has_template(cur)) {
		next = resolve_node(c, cur, depth + 1);
		pt_val_unref(cur);
		cur = next;
	}
	return cur;
}

/* Find the "}}" closing the expression that starts at p (after "{{"),
 * skipping quoted text. NULL if there is none. */
static const char *find_close(const char *p)
{
	char quote = 0;

	for (; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (p[0] == '}' && p[1] == '}') {
			return p;
		}
	}
	return NULL;
}

/* A "{% %}" or "{# #}" at p: not supported. */
static bool is_jinja_block(const char *p)
{
	return p[0] == '{' && (p[1] == '%' || p[1] == '#');
}

/* Render text s (a scalar at pos). When whole is non-NULL and s is exactly
 * one "{{ expr }}", *whole receives the referenced value instead and NULL is
 * returned with no error. Returns a malloc'd string, or NULL after an error
 * (*whole stays NULL). */
static char *render(struct tctx *c, const char *s, const struct pt_pos *pos, int depth,
		    struct pt_val **whole)
{
	size_t cap = strlen(s) + 1, len = 0;
	char *out;
	const char *p = s;

	if (depth > TEMPLATE_MAX_DEPTH) {
		pt_error(c->d, pos, c->route,
			 "'%.*s': templates refer to each other more than %d levels deep (a "
			 "loop?); make one of them a plain value",
			 EXPR_QUOTE_MAX, s, TEMPLATE_MAX_DEPTH);
		return NULL;
	}
	out = xmalloc(cap);
	while (*p) {
		const char *open = strstr(p, OPEN), *close, *blk = p;
		struct pt_val *v;
		size_t n;

		/* Statements and comments anywhere before the next "{{". */
		for (; *blk && (!open || blk < open); blk++)
			if (is_jinja_block(blk))
				break;
		if (*blk && (!open || blk < open)) {
			pt_error(c->d, pos, c->route,
				 "'%.*s': Jinja statements {%% %%} and comments {# #} are not "
				 "supported; only {{ path }} references are",
				 EXPR_QUOTE_MAX, s);
			goto fail;
		}
		if (!open) {
			n = strlen(p);
		} else {
			n = open - p;
		}
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, p, n);
		len += n;
		if (!open)
			break;
		close = find_close(open + strlen(OPEN));
		if (!close) {
			pt_error(c->d, pos, c->route,
				 "'%.*s': '{{' is not closed by '}}'; close it, or quote the text "
				 "differently if no reference was meant",
				 EXPR_QUOTE_MAX, open);
			goto fail;
		}
		v = eval_expr(c, open + strlen(OPEN), close, open,
			      (int)(close + strlen(CLOSE) - open), pos, depth);
		if (!v)
			goto fail;
		if (whole && open == s && !close[strlen(CLOSE)]) {
			*whole = v;
			free(out);
			return NULL;
		}
		if (v->type == PT_VAL_MAP || v->type == PT_VAL_SEQ) {
			pt_error(c->d, pos, c->route,
				 "'%.*s' is a %s; only a scalar can be part of a string. Refer to "
				 "one of its values",
				 (int)(close + strlen(CLOSE) - open), open,
				 pt_val_type_name(v->type));
			pt_val_unref(v);
			goto fail;
		}
		/* null renders as "", as Ansible does. */
		n = v->type == PT_VAL_SCALAR && v->str ? strlen(v->str) : 0;
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, n ? v->str : "", n);
		len += n;
		pt_val_unref(v);
		p = close + strlen(CLOSE);
	}
	out[len] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

static struct pt_val *resolve_node(struct tctx *c, const struct pt_val *v, int depth)
{
	struct pt_val *whole = NULL;
	char *s;

	if (!has_template(v))
		return pt_val_ref((struct pt_val *)v);
	s = render(c, v->str, &v->pos, depth, &whole);
	if (whole)
		return whole;
	if (!s)
		return NULL;
	return new_scalar(s, &v->pos);
}

char *pt_template_render(const char *s, const struct pt_pos *pos, const char *route,
			 const struct pt_val *vars, struct pt_diags *d)
{
	struct tctx c = { .vars = vars, .route = route, .d = d };

	return render(&c, s, pos, 0, NULL);
}

struct pt_val *pt_template_resolve(const struct pt_val *v, const char *route,
				   const struct pt_val *vars, struct pt_diags *d)
{
	struct tctx c = { .vars = vars, .route = route, .d = d };

	return resolve_node(&c, v, 0);
}
