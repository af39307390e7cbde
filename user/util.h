/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* util.h - allocation that never returns NULL, small string helpers. */
#ifndef PORTIER_UTIL_H
#define PORTIER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void pt_die_oom(void) __attribute__((noreturn));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* True if s is a non-empty prefix of full (bpftool-style command matching). */
bool is_prefix(const char *s, const char *full);

/* A hostname buffer: HOST_NAME_MAX is 64 on Linux; room to spare and a NUL. */
#define PT_HOSTNAME_BUF 256

/* This host's short name (gethostname() up to the first dot) into buf, always
 * NUL-terminated. Returns 0 or -errno. */
int pt_short_hostname(char *buf, size_t len);

#endif
