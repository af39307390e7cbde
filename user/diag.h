/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * diag.h - diagnostics collected while reading an inventory: every error and
 * warning with the file, line and column it is about, so a bad inventory is
 * reported whole, not one error per run.
 */
#ifndef PORTIER_DIAG_H
#define PORTIER_DIAG_H

#include <stddef.h>

/* A place in an input file. file is borrowed (owned by the inventory); line
 * and column are 1-based; line 0 means "the file as a whole". */
struct pt_pos {
	const char *file;
	unsigned int line;
	unsigned int col;
};

enum pt_severity { PT_WARNING, PT_ERROR };

struct pt_diag {
	enum pt_severity sev;
	struct pt_pos pos;
	char *route;	/* route name the message is about, or NULL */
	char *msg;	/* what happened and what to do */
};

struct pt_diags {
	struct pt_diag *v;
	size_t n, cap;
	size_t n_errors;
};

/* Append a message; fmt is printf-style. route may be NULL. */
void pt_diag_add(struct pt_diags *d, enum pt_severity sev, const struct pt_pos *pos,
		 const char *route, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define pt_error(d, pos, route, ...) pt_diag_add(d, PT_ERROR, pos, route, __VA_ARGS__)
#define pt_warn(d, pos, route, ...) pt_diag_add(d, PT_WARNING, pos, route, __VA_ARGS__)

/* "file:line:col: error: route 'x': message" */
int pt_diag_format(const struct pt_diag *g, char *buf, size_t len);
void pt_diags_free(struct pt_diags *d);

#endif
