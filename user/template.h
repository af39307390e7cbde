/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * template.h - the "{{ }}" references portier resolves, and nothing more:
 * dotted paths (app.pgadmin4.port) and subscripts (app['v-admin'].port). The
 * seed's app.v-admin.port (a subtraction in Jinja) is read as the key
 * "v-admin" with a warning. Filters, arithmetic, tests: an error.
 */
#ifndef PORTIER_TEMPLATE_H
#define PORTIER_TEMPLATE_H

#include "diag.h"
#include "vars.h"

/* Render scalar text s (found at pos, in route's context for messages)
 * against vars. Returns a malloc'd string, or NULL after adding an error to
 * d. Text without "{{" is returned as is. */
char *pt_template_render(const char *s, const struct pt_pos *pos, const char *route,
			 const struct pt_val *vars, struct pt_diags *d);

/* Resolve a whole value: when v is a scalar holding exactly one "{{ expr }}"
 * and nothing else, the result is the referenced value (scalar, mapping or
 * sequence), as Ansible does; otherwise a scalar with the rendered text.
 * Returns a new reference, or NULL after adding an error to d. */
struct pt_val *pt_template_resolve(const struct pt_val *v, const char *route,
				   const struct pt_val *vars, struct pt_diags *d);

#endif
