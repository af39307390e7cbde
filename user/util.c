// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* util.c - see util.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void pt_die_oom(void)
{
	fprintf(stderr, "Error: out of memory\n");
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		pt_die_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		pt_die_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		pt_die_oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		pt_die_oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		pt_die_oom();
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		pt_die_oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

bool is_prefix(const char *s, const char *full)
{
	size_t n = strlen(s);

	return n && n <= strlen(full) && !memcmp(s, full, n);
}

int pt_short_hostname(char *buf, size_t len)
{
	if (!len)
		return -EINVAL;
	if (gethostname(buf, len) < 0)
		return -errno;
	buf[len - 1] = '\0';
	buf[strcspn(buf, ".")] = '\0';
	return 0;
}
