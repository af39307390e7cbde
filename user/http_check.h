/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * http_check.h - the HTTP side of a health check, without sockets: the
 * settings' text forms and validation (shared by the inventory and
 * "route add"), the request, the status line of the answer, and the
 * conversion to and from struct portier_route_meta.
 *
 * HAProxy's "option httpchk" sends "OPTIONS / HTTP/1.0" and passes any
 * 2xx or 3xx status ("http-check expect status" narrows it); these are
 * the defaults here too.
 */
#ifndef PORTIER_HTTP_CHECK_H
#define PORTIER_HTTP_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "routes.h"

#define PT_HTTP_CHECK_METHOD_DEFAULT	"OPTIONS"
#define PT_HTTP_CHECK_URI_DEFAULT	"/"
#define PT_HTTP_CHECK_EXPECT_MIN	200
#define PT_HTTP_CHECK_EXPECT_MAX	399
#define PT_HTTP_STATUS_MIN		100	/* statuses an expectation may name */
#define PT_HTTP_STATUS_MAX		599
/* The longest request: method, URI, Host and the fixed text. */
#define PT_HTTP_REQUEST_MAX	(PORTIER_CHECK_METHOD_MAX + PORTIER_CHECK_URI_MAX + \
				 PORTIER_CHECK_HOST_MAX + 64)
/* Bytes of the answer read at most while looking for the end of the
 * status line: a longer line fails the check. */
#define PT_HTTP_STATUS_LINE_MAX	256

/* Set the HTTP fields of c to HAProxy's defaults (method OPTIONS, URI /,
 * HTTP/1.0, no Host, expect 200-399); c->type is left alone. */
void pt_http_check_defaults(struct pt_check *c);

/* Validators: 0 if s is acceptable (and stored), else -EINVAL with *why
 * set to a static text saying what is wrong and what to write. */
int pt_http_check_method(const char *s, struct pt_check *c, const char **why);
int pt_http_check_uri(const char *s, struct pt_check *c, const char **why);
int pt_http_check_host(const char *s, struct pt_check *c, const char **why);
/* "HTTP/1.0" or "HTTP/1.1". */
int pt_http_check_version(const char *s, struct pt_check *c, const char **why);
/* One status ("200") or an inclusive range ("200-399"), 100 to 599. */
int pt_http_check_expect(const char *s, struct pt_check *c, const char **why);
/* "tcp" or "http". */
int pt_check_type_parse(const char *s, struct pt_check *c, const char **why);
const char *pt_check_type_name(unsigned int type);

/* "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" into buf
 * (PT_HTTP_REQUEST_MAX is enough); returns its length, or -ENOSPC. */
int pt_http_check_request(const struct pt_check *c, char *buf, size_t len);

/* Look for the status line at the start of buf (len bytes read so far):
 * 1 with *status and *line_len (the line without its CR LF) when it is
 * complete and well formed ("HTTP/1.1 200 OK"), 0 if more bytes are
 * needed, -EPROTO if the bytes cannot begin an HTTP status line. */
int pt_http_status_parse(const char *buf, size_t len, unsigned int *status, size_t *line_len);

/* Whether status passes c's expectation. */
bool pt_http_check_pass(const struct pt_check *c, unsigned int status);

/* A route's check settings into its metadata, and back. */
void pt_check_to_meta(const struct pt_check *c, struct portier_route_meta *m);
struct pt_check pt_check_from_meta(const struct portier_route_meta *m);

#endif
