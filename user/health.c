// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * health.c - non-blocking TCP connect and HTTP checks in one epoll set with
 * one timerfd for deadlines. See health.h for the semantics.
 *
 * A check in flight goes through phases, each waiting in the epoll set:
 * CONNECT (EPOLLOUT until the connect completes), then for HTTP checks
 * SEND (EPOLLOUT while the request does not fit in the socket buffer) and
 * READ (EPOLLIN until the status line is complete, the peer closes, or the
 * buffer is full). The deadline covers all of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "http_check.h"
#include "util.h"

/* HAProxy's defaults: inter 2s, rise 2, fall 3, timeout = inter. */
#define HC_INTER_DEFAULT_MS	2000
#define HC_RISE_DEFAULT		2
#define HC_FALL_DEFAULT		3
#define NS_PER_MS		1000000ULL
#define NS_PER_SEC		1000000000ULL
#define EPOLL_BATCH		64	/* events taken per epoll_wait */

/* What the check in flight waits for. */
enum phase { PH_CONNECT, PH_SEND, PH_READ };

/* One checked backend. Allocated one by one: the epoll set points at it. */
struct target {
	struct pt_health_status st;	/* st.route is owned here */
	int fd;				/* check in flight, or -1 */
	enum phase phase;		/* of the check in flight */
	char req[PT_HTTP_REQUEST_MAX];	/* HTTP: the request, */
	size_t req_len, sent;		/* its length and the bytes sent */
	char resp[PT_HTTP_STATUS_LINE_MAX];	/* HTTP: the answer's first bytes */
	size_t got;
	unsigned int status;		/* HTTP: this check's status, 0 if none */
	uint64_t started_ns;		/* of the check in flight */
	uint64_t next_ns;		/* when the next check starts */
	unsigned int streak;		/* results against the state actually seen
					 * (st.count may start at fall-1) */
	bool seen;			/* scratch for pt_health_set_targets */
};

struct pt_health {
	struct pt_health_opts opts;
	int epfd;
	int timerfd;
	struct target **t;
	size_t n;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void fill_defaults(struct pt_check *c, const struct pt_check *def)
{
	if (!c->inter_ms)
		c->inter_ms = def->inter_ms;
	if (!c->timeout_ms)
		c->timeout_ms = def->timeout_ms ? def->timeout_ms : c->inter_ms;
	if (!c->rise)
		c->rise = def->rise;
	if (!c->fall)
		c->fall = def->fall;
	if (!c->port)
		c->port = def->port;
}

int pt_health_new(const struct pt_health_opts *opts, struct pt_health **out)
{
	static const struct pt_check haproxy = { .inter_ms = HC_INTER_DEFAULT_MS,
						 .rise = HC_RISE_DEFAULT,
						 .fall = HC_FALL_DEFAULT };
	struct epoll_event ev = { .events = EPOLLIN };
	struct pt_health *h = xcalloc(1, sizeof(*h));
	int err;

	if (opts)
		h->opts = *opts;
	fill_defaults(&h->opts.defaults, &haproxy);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.ptr = NULL;	/* NULL marks the timer */
	if (h->epfd < 0 || h->timerfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timerfd, &ev)) {
		err = -errno;
		pt_health_free(h);
		return err;
	}
	*out = h;
	return 0;
}

static int arm_timer(struct pt_health *h);

static void stop_check(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);	/* leaves the epoll set with it */
	t->fd = -1;
}

static void target_free(struct target *t)
{
	stop_check(t);
	free((char *)t->st.route);
	free(t);
}

void pt_health_free(struct pt_health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		target_free(h->t[i]);
	free(h->t);
	if (h->timerfd >= 0)
		close(h->timerfd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}

static struct target *find(const struct pt_health *h, const char *route,
			   const struct pt_addr *addr, uint16_t port)
{
	for (size_t i = 0; i < h->n; i++) {
		struct target *t = h->t[i];

		if (t->st.port == port && !strcmp(t->st.route, route) &&
		    pt_addr_equal(&t->st.addr, addr))
			return t;
	}
	return NULL;
}

int pt_health_set_targets(struct pt_health *h, const struct pt_health_target *in, size_t n)
{
	uint64_t now = now_ns();
	size_t kept = 0, fresh = 0;

	for (size_t i = 0; i < n; i++)
		if (!in[i].route || !in[i].port ||
		    (in[i].addr.family != AF_INET && in[i].addr.family != AF_INET6))
			return -EINVAL;
	for (size_t i = 0; i < h->n; i++)
		h->t[i]->seen = false;
	for (size_t i = 0; i < n; i++) {
		struct target *t = find(h, in[i].route, &in[i].addr, in[i].port);
		struct pt_check c = in[i].check;

		fill_defaults(&c, &h->opts.defaults);
		if (!t) {
			t = xcalloc(1, sizeof(*t));
			t->fd = -1;
			t->st.route = xstrdup(in[i].route);
			t->st.addr = in[i].addr;
			t->st.port = in[i].port;
			t->st.up = !h->opts.start_down && !in[i].start_down;
			/* UP "going down": one failure takes it out. */
			t->st.count = t->st.up ? c.fall - 1 : 0;
			t->st.last_change_ns = now;
			/* Spread first checks over one interval. */
			t->next_ns = now + (uint64_t)c.inter_ms * NS_PER_MS * fresh++ / (n ? n : 1);
			h->t = xrealloc(h->t, (h->n + 1) * sizeof(*h->t));
			h->t[h->n++] = t;
		}
		t->st.check = c;
		t->st.check_port = c.port ? c.port : t->st.port;
		t->st.tag = in[i].tag;
		t->seen = true;
	}
	for (size_t i = 0; i < h->n; i++) {
		if (h->t[i]->seen)
			h->t[kept++] = h->t[i];
		else
			target_free(h->t[i]);
	}
	h->n = kept;
	return arm_timer(h);	/* the checks start in pt_health_run */
}

int pt_health_fd(const struct pt_health *h)
{
	return h->epfd;
}

size_t pt_health_count(const struct pt_health *h)
{
	return h->n;
}

const struct pt_health_status *pt_health_at(const struct pt_health *h, size_t i)
{
	return i < h->n ? &h->t[i]->st : NULL;
}

const struct pt_health_status *pt_health_find(const struct pt_health *h, const char *route,
					      const struct pt_addr *addr, uint16_t port)
{
	struct target *t = find(h, route, addr, port);

	return t ? &t->st : NULL;
}

/* strerror text with a lower-case first letter: "connection refused". */
static void errno_reason(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static void route_counts(const struct pt_health *h, const char *route, size_t *up, size_t *all)
{
	*up = *all = 0;
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->t[i]->st.route, route)) {
			(*all)++;
			*up += h->t[i]->st.up;
		}
}

/* Count one result; change state after rise/fall consecutive ones. */
static void count_result(struct pt_health *h, struct target *t, bool ok, uint64_t now)
{
	struct pt_health_status *st = &t->st;
	struct pt_health_event ev;

	st->checked = true;
	st->last_ok = ok;
	st->last_duration_ns = now - t->started_ns;
	if (ok) {
		st->checks_ok++;
		st->consecutive_ok++;
		st->consecutive_failed = 0;
	} else {
		st->checks_failed++;
		st->consecutive_failed++;
		st->consecutive_ok = 0;
	}
	t->next_ns = t->started_ns + (uint64_t)st->check.inter_ms * NS_PER_MS;
	if (t->next_ns < now)
		t->next_ns = now;
	if (ok == st->up) {
		st->count = 0;	/* agrees with the state: streak against it ends */
		t->streak = 0;
		return;
	}
	t->streak++;
	if (++st->count < (st->up ? st->check.fall : st->check.rise))
		return;
	ev = (struct pt_health_event){ .status = st, .old_up = st->up, .new_up = ok,
				       .results = t->streak, .reason = st->last_reason };
	st->up = ok;
	st->count = 0;
	t->streak = 0;
	st->last_change_ns = now;
	route_counts(h, st->route, &ev.route_up, &ev.route_total);
	if (h->opts.cb)
		h->opts.cb(h->opts.cb_arg, &ev);
}

/* One completed check (err 0: ok): count it, then tell the caller. */
static void result(struct pt_health *h, struct target *t, int err, uint64_t now)
{
	t->st.last_err = err;
	t->st.http_status = t->status;
	if (!t->status)
		t->st.http_line[0] = '\0';
	count_result(h, t, !err, now);
	if (h->opts.result_cb)
		h->opts.result_cb(h->opts.cb_arg, &t->st);
}

static void finish(struct pt_health *h, struct target *t, int err, uint64_t now)
{
	stop_check(t);
	if (err)
		errno_reason(err, t->st.last_reason, sizeof(t->st.last_reason));
	else
		snprintf(t->st.last_reason, sizeof(t->st.last_reason), "connected");
	result(h, t, err, now);
}

/* End an HTTP check with err (0: it passed) and a reason made of fmt. */
__attribute__((format(printf, 5, 6)))
static void end_http(struct pt_health *h, struct target *t, int err, uint64_t now,
		      const char *fmt, ...)
{
	va_list ap;

	stop_check(t);
	va_start(ap, fmt);
	vsnprintf(t->st.last_reason, sizeof(t->st.last_reason), fmt, ap);
	va_end(ap);
	result(h, t, err, now);
}

/* s[0..n) with every byte outside printable ASCII as '.', for a message. */
static void printable(const char *s, size_t n, char *out, size_t len)
{
	size_t i;

	for (i = 0; i < n && i + 1 < len; i++)
		out[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '.';
	out[i] = '\0';
}

/* HTTP, READ: take what arrived; decide once the status line is complete. */
static void http_read(struct pt_health *h, struct target *t, uint64_t now)
{
	ssize_t n = recv(t->fd, t->resp + t->got, sizeof(t->resp) - t->got, MSG_DONTWAIT);
	size_t line_len;
	char shown[PT_HEALTH_REASON_LEN / 2];
	int rc;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		finish(h, t, errno, now);
		return;
	}
	if (!n) {
		end_http(h, t, EPROTO, now, "closed after %zu bytes, before an HTTP status line",
			  t->got);
		return;
	}
	t->got += (size_t)n;
	rc = pt_http_status_parse(t->resp, t->got, &t->status, &line_len);
	if (rc < 0) {
		printable(t->resp, t->got, shown, sizeof(shown));
		end_http(h, t, EPROTO, now, "not an HTTP status line: \"%s\"", shown);
		return;
	}
	if (!rc && t->got == sizeof(t->resp)) {
		end_http(h, t, EPROTO, now, "no end of the status line in the first %zu bytes",
			  sizeof(t->resp));
		return;
	}
	if (!rc)
		return;	/* wait for the rest of the line */
	printable(t->resp, line_len, t->st.http_line, sizeof(t->st.http_line));
	end_http(h, t, pt_http_check_pass(&t->st.check, t->status) ? 0 : EREMOTEIO, now, "%s",
		  t->st.http_line);
}

/* HTTP, SEND: write what the socket takes; then wait for the answer. */
static void http_send(struct pt_health *h, struct target *t, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };

	while (t->sent < t->req_len) {
		ssize_t n = send(t->fd, t->req + t->sent, t->req_len - t->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;	/* EPOLLOUT says when to go on */
		if (n < 0) {
			finish(h, t, errno, now);
			return;
		}
		t->sent += (size_t)n;
	}
	t->phase = PH_READ;
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, t->fd, &ev))
		finish(h, t, errno, now);
}

/* The connection is up: a TCP check passed, an HTTP check sends. */
static void on_connected(struct pt_health *h, struct target *t, uint64_t now)
{
	int len;

	if (t->st.check.type != PT_CHECK_HTTP) {
		finish(h, t, 0, now);
		return;
	}
	len = pt_http_check_request(&t->st.check, t->req, sizeof(t->req));
	if (len < 0) {
		finish(h, t, -len, now);
		return;
	}
	t->req_len = (size_t)len;
	t->sent = 0;
	t->phase = PH_SEND;
	http_send(h, t, now);
}

static void start_check(struct pt_health *h, struct target *t, uint64_t now)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = t->st.addr.v4,
				   .sin_port = htons(t->st.check_port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = t->st.addr.v6,
				     .sin6_port = htons(t->st.check_port) };
	bool v6 = t->st.addr.family == AF_INET6;
	/* Close with a RST: no TIME_WAIT socket per check. */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = t };

	t->started_ns = now;
	t->phase = PH_CONNECT;
	t->got = 0;
	t->status = 0;
	t->fd = socket(t->st.addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		finish(h, t, errno, now);
		return;
	}
	setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/* In the set before connect(): an HTTP check goes on from here. */
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, t->fd, &ev)) {
		finish(h, t, errno, now);
		return;
	}
	if (!connect(t->fd, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
		     v6 ? sizeof(sin6) : sizeof(sin)))
		on_connected(h, t, now_ns());
	else if (errno != EINPROGRESS)
		finish(h, t, errno, now_ns());
}

/* A connect in flight became writable: its result is SO_ERROR. */
static void connected(struct pt_health *h, struct target *t, uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err)
		finish(h, t, err, now);
	else
		on_connected(h, t, now);
}

/* An event of a check in flight: go on where it waits. */
static void target_event(struct pt_health *h, struct target *t, uint64_t now)
{
	if (t->fd < 0)
		return;
	switch (t->phase) {
	case PH_CONNECT:
		connected(h, t, now);
		break;
	case PH_SEND:
		http_send(h, t, now);
		break;
	case PH_READ:
		http_read(h, t, now);
		break;
	}
}

static int arm_timer(struct pt_health *h)
{
	struct itimerspec its = {};
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < h->n; i++) {
		struct target *t = h->t[i];
		uint64_t due = t->fd >= 0 ?
			t->started_ns + (uint64_t)t->st.check.timeout_ms * NS_PER_MS : t->next_ns;

		if (due < next)
			next = due;
	}
	if (next != UINT64_MAX) {
		if (!next)
			next = 1;	/* 0 would disarm */
		its.it_value.tv_sec = (time_t)(next / NS_PER_SEC);
		its.it_value.tv_nsec = (long)(next % NS_PER_SEC);
	}
	return timerfd_settime(h->timerfd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

int pt_health_run(struct pt_health *h)
{
	struct epoll_event ev[EPOLL_BATCH];
	uint64_t now, expirations;
	int n;

	do {
		n = epoll_wait(h->epfd, ev, EPOLL_BATCH, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		now = now_ns();
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				target_event(h, ev[i].data.ptr, now);
			else if (read(h->timerfd, &expirations, sizeof(expirations)) < 0 &&
				 errno != EAGAIN)
				return -errno;
		}
	} while (n == EPOLL_BATCH);
	now = now_ns();
	for (size_t i = 0; i < h->n; i++) {
		struct target *t = h->t[i];

		if (t->fd >= 0 &&
		    now - t->started_ns >= (uint64_t)t->st.check.timeout_ms * NS_PER_MS) {
			stop_check(t);
			snprintf(t->st.last_reason, sizeof(t->st.last_reason),
				 "timeout after %u ms", t->st.check.timeout_ms);
			result(h, t, ETIMEDOUT, now);
		}
		if (t->fd < 0 && now >= t->next_ns)
			start_check(h, t, now);
	}
	return arm_timer(h);
}

void pt_health_event_str(const struct pt_health_event *ev, char *buf, size_t len)
{
	const struct pt_health_status *st = ev->status;
	char a[PT_ADDRPORT_STRLEN];

	snprintf(buf, len,
		 "route %s backend %s %s -> %s after %u %s check%s (last: %s); "
		 "%zu/%zu backends up",
		 st->route, pt_addrport_str(&st->addr, st->port, a, sizeof(a)),
		 ev->old_up ? "UP" : "DOWN", ev->new_up ? "UP" : "DOWN", ev->results,
		 ev->new_up ? "successful" : "failed", ev->results == 1 ? "" : "s", ev->reason,
		 ev->route_up, ev->route_total);
}
