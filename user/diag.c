// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* diag.c - the diagnostics list (see diag.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

void pt_diag_add(struct pt_diags *d, enum pt_severity sev, const struct pt_pos *pos,
		 const char *route, const char *fmt, ...)
{
	struct pt_diag *g;
	va_list ap;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	g = &d->v[d->n++];
	memset(g, 0, sizeof(*g));
	g->sev = sev;
	if (pos)
		g->pos = *pos;
	g->route = route ? xstrdup(route) : NULL;
	va_start(ap, fmt);
	g->msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (sev == PT_ERROR)
		d->n_errors++;
}

int pt_diag_format(const struct pt_diag *g, char *buf, size_t len)
{
	const char *sev = g->sev == PT_ERROR ? "error" : "warning";
	char where[512] = "";
	char route[300] = "";

	if (g->pos.file && g->pos.line)
		snprintf(where, sizeof(where), "%s:%u:%u: ", g->pos.file, g->pos.line,
			 g->pos.col);
	else if (g->pos.file)
		snprintf(where, sizeof(where), "%s: ", g->pos.file);
	if (g->route)
		snprintf(route, sizeof(route), "route '%s': ", g->route);
	return snprintf(buf, len, "%s%s: %s%s", where, sev, route, g->msg);
}

void pt_diags_free(struct pt_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].route);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
