// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* http_check.c - HTTP health-check settings, request, status line. See
 * http_check.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_check.h"

#define STATUS_PREFIX	"HTTP/d.d ddd"	/* 'd': a digit, else literally */
#define STATUS_PREFIX_LEN (sizeof(STATUS_PREFIX) - 1)
#define STATUS_DIGITS	3

void pt_http_check_defaults(struct pt_check *c)
{
	snprintf(c->method, sizeof(c->method), "%s", PT_HTTP_CHECK_METHOD_DEFAULT);
	snprintf(c->uri, sizeof(c->uri), "%s", PT_HTTP_CHECK_URI_DEFAULT);
	c->host[0] = '\0';
	c->http_minor = 0;
	c->expect_min = PT_HTTP_CHECK_EXPECT_MIN;
	c->expect_max = PT_HTTP_CHECK_EXPECT_MAX;
}

/* RFC 9110 token characters (a method is a token). */
static bool is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Visible ASCII: no space, no control character, nothing above 0x7e. */
static bool visible(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

int pt_http_check_method(const char *s, struct pt_check *c, const char **why)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!is_tchar(s[i])) {
			*why = "is not an HTTP method; write one word such as GET, HEAD or OPTIONS";
			return -EINVAL;
		}
	if (!n || n >= sizeof(c->method)) {
		*why = "is not an HTTP method of 1 to 15 characters; write GET, HEAD or OPTIONS";
		return -EINVAL;
	}
	memcpy(c->method, s, n + 1);
	return 0;
}

int pt_http_check_uri(const char *s, struct pt_check *c, const char **why)
{
	size_t n = strlen(s);

	if (s[0] != '/' || !visible(s)) {
		*why = "is not a path; write one that starts with '/', without spaces "
		       "(e.g. /healthz; escape a space as %20)";
		return -EINVAL;
	}
	if (n >= sizeof(c->uri)) {
		*why = "is too long; a check URI has at most 127 characters";
		return -EINVAL;
	}
	memcpy(c->uri, s, n + 1);
	return 0;
}

int pt_http_check_host(const char *s, struct pt_check *c, const char **why)
{
	size_t n = strlen(s);

	if (!n || !visible(s)) {
		*why = "is not a Host header value; write a name such as pgadmin.example.org "
		       "(optionally with :PORT), without spaces";
		return -EINVAL;
	}
	if (n >= sizeof(c->host)) {
		*why = "is too long; a check Host has at most 127 characters";
		return -EINVAL;
	}
	memcpy(c->host, s, n + 1);
	return 0;
}

int pt_http_check_version(const char *s, struct pt_check *c, const char **why)
{
	if (!strcmp(s, "HTTP/1.0") || !strcmp(s, "HTTP/1.1")) {
		c->http_minor = (uint8_t)(s[7] - '0');
		return 0;
	}
	*why = "is not a version the check speaks; write HTTP/1.0 (the default) or HTTP/1.1";
	return -EINVAL;
}

int pt_http_check_expect(const char *s, struct pt_check *c, const char **why)
{
	const char *dash = strchr(s, '-');
	unsigned long lo, hi;
	char first[8];
	size_t n = dash ? (size_t)(dash - s) : strlen(s);

	*why = "is not an HTTP status or range; write one status (200) or a range "
	       "(200-399), from 100 to 599";
	if (n >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, n);
	first[n] = '\0';
	if (!pt_parse_uint(first, PT_HTTP_STATUS_MIN, PT_HTTP_STATUS_MAX, &lo))
		return -EINVAL;
	hi = lo;
	if (dash && !pt_parse_uint(dash + 1, PT_HTTP_STATUS_MIN, PT_HTTP_STATUS_MAX, &hi))
		return -EINVAL;
	if (hi < lo) {
		*why = "is an empty range; write the lower status first (200-399)";
		return -EINVAL;
	}
	c->expect_min = (uint16_t)lo;
	c->expect_max = (uint16_t)hi;
	return 0;
}

int pt_check_type_parse(const char *s, struct pt_check *c, const char **why)
{
	if (!strcmp(s, "tcp"))
		c->type = PT_CHECK_TCP;
	else if (!strcmp(s, "http"))
		c->type = PT_CHECK_HTTP;
	else {
		*why = "is not a check type; write tcp (connect only, the default) or http "
		       "(HAProxy's option httpchk)";
		return -EINVAL;
	}
	return 0;
}

const char *pt_check_type_name(unsigned int type)
{
	return type == PT_CHECK_HTTP ? "http" : "tcp";
}

int pt_http_check_request(const struct pt_check *c, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s %s HTTP/1.%u\r\n%s%s%sConnection: close\r\n\r\n",
			 c->method[0] ? c->method : PT_HTTP_CHECK_METHOD_DEFAULT,
			 c->uri[0] ? c->uri : PT_HTTP_CHECK_URI_DEFAULT, c->http_minor ? 1 : 0,
			 c->host[0] ? "Host: " : "", c->host, c->host[0] ? "\r\n" : "");

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int pt_http_status_parse(const char *buf, size_t len, unsigned int *status, size_t *line_len)
{
	size_t i, end;

	for (i = 0; i < len && i < STATUS_PREFIX_LEN; i++) {
		char p = STATUS_PREFIX[i];

		if (p == 'd' ? buf[i] < '0' || buf[i] > '9' : buf[i] != p)
			return -EPROTO;
	}
	if (len <= STATUS_PREFIX_LEN)
		return 0;
	/* After the code: a space and a reason phrase, or the end of line. */
	if (buf[STATUS_PREFIX_LEN] != ' ' && buf[STATUS_PREFIX_LEN] != '\r' &&
	    buf[STATUS_PREFIX_LEN] != '\n')
		return -EPROTO;
	for (end = STATUS_PREFIX_LEN; end < len && buf[end] != '\n'; end++)
		if ((buf[end] < ' ' && buf[end] != '\t' && buf[end] != '\r') || buf[end] == 0x7f)
			return -EPROTO;
	if (end == len)
		return 0;
	*line_len = end > 0 && buf[end - 1] == '\r' ? end - 1 : end;
	if (memchr(buf, '\r', *line_len))
		return -EPROTO;	/* a CR only right before the LF */
	*status = 0;
	for (i = STATUS_PREFIX_LEN - STATUS_DIGITS; i < STATUS_PREFIX_LEN; i++)
		*status = *status * 10 + (unsigned int)(buf[i] - '0');
	if (*status < PT_HTTP_STATUS_MIN || *status > PT_HTTP_STATUS_MAX)
		return -EPROTO;
	return 1;
}

bool pt_http_check_pass(const struct pt_check *c, unsigned int status)
{
	unsigned int lo = c->expect_min ? c->expect_min : PT_HTTP_CHECK_EXPECT_MIN;
	unsigned int hi = c->expect_max ? c->expect_max : PT_HTTP_CHECK_EXPECT_MAX;

	return status >= lo && status <= hi;
}

void pt_check_to_meta(const struct pt_check *c, struct portier_route_meta *m)
{
	m->check_inter_ms = c->inter_ms;
	m->check_timeout_ms = c->timeout_ms;
	m->check_rise = c->rise;
	m->check_fall = c->fall;
	m->check_port = c->port;
	m->check_type = c->type == PT_CHECK_HTTP ? PORTIER_CHECK_TYPE_HTTP : PORTIER_CHECK_TYPE_TCP;
	m->check_http_minor = c->http_minor;
	m->check_expect_min = c->expect_min;
	m->check_expect_max = c->expect_max;
	snprintf(m->check_method, sizeof(m->check_method), "%s", c->method);
	snprintf(m->check_uri, sizeof(m->check_uri), "%s", c->uri);
	snprintf(m->check_host, sizeof(m->check_host), "%s", c->host);
}

struct pt_check pt_check_from_meta(const struct portier_route_meta *m)
{
	struct pt_check c = { .inter_ms = m->check_inter_ms,
			      .timeout_ms = m->check_timeout_ms,
			      .rise = m->check_rise,
			      .fall = m->check_fall,
			      .port = m->check_port,
			      .type = m->check_type == PORTIER_CHECK_TYPE_HTTP ? PT_CHECK_HTTP :
										 PT_CHECK_TCP,
			      .http_minor = m->check_http_minor,
			      .expect_min = m->check_expect_min,
			      .expect_max = m->check_expect_max };

	/* The map's strings are NUL-terminated by pt_check_to_meta; bound
	 * them anyway (another writer, an older layout). */
	snprintf(c.method, sizeof(c.method), "%.*s", (int)sizeof(m->check_method) - 1,
		 m->check_method);
	snprintf(c.uri, sizeof(c.uri), "%.*s", (int)sizeof(m->check_uri) - 1, m->check_uri);
	snprintf(c.host, sizeof(c.host), "%.*s", (int)sizeof(m->check_host) - 1, m->check_host);
	return c;
}
