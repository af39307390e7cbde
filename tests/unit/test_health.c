// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_health.c - health checks against real listeners on 127.0.0.1 (and ::1, IPv6): up
 * after rise, down after fall, flapping never up, timeout (a listener whose
 * accept queue is full drops new SYNs), check port override, state kept
 * across pt_health_set_targets, the per-result callback (what the daemon
 * writes into portier_health). HTTP checks: the status-line parser, the
 * settings' validators and request, the round trip through the route
 * metadata, and checks against a small HTTP server on 127.0.0.1 whose
 * answer the test changes (2xx passes, 503 fails, garbage, silence).
 * Small intervals; every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "health.h"
#include "http_check.h"

#define INTER_MS	40	/* check interval in these tests */
#define WAIT_MS		3000	/* upper bound of any wait */
#define MAX_EVENTS	16

/* Events seen by the callback, with the counts at the time. */
struct seen {
	size_t n;
	struct {
		bool old_up, new_up;
		unsigned int results;
		uint64_t checks_ok, checks_failed;
		char reason[PT_HEALTH_REASON_LEN];
		char line[256];
	} ev[MAX_EVENTS];
};

static void on_event(void *arg, const struct pt_health_event *ev)
{
	struct seen *s = arg;

	if (s->n >= MAX_EVENTS)
		return;
	s->ev[s->n].old_up = ev->old_up;
	s->ev[s->n].new_up = ev->new_up;
	s->ev[s->n].results = ev->results;
	s->ev[s->n].checks_ok = ev->status->checks_ok;
	s->ev[s->n].checks_failed = ev->status->checks_failed;
	snprintf(s->ev[s->n].reason, sizeof(s->ev[s->n].reason), "%s", ev->reason);
	pt_health_event_str(ev, s->ev[s->n].line, sizeof(s->ev[s->n].line));
	s->n++;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A TCP listener on 127.0.0.1 (port 0 = any); returns the fd. */
static int listener(uint16_t *port, int backlog)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(*port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A TCP listener on ::1 (IPv6 loopback), as listener(). */
static int listener6(uint16_t *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(*port),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sin6);
	int one = 1;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(listen(fd, SOMAXCONN), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	*port = ntohs(sin6.sin6_port);
	return fd;
}

/* A bound, not listening socket: reserves a port that refuses connections. */
static int closed_port(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static struct pt_health *checker(bool start_down, struct seen *s)
{
	struct pt_health_opts o = { .defaults = { .inter_ms = INTER_MS }, .start_down = start_down,
				    .cb = on_event, .cb_arg = s };
	struct pt_health *h = NULL;

	assert_int_equal(pt_health_new(&o, &h), 0);
	return h;
}

static struct pt_health_target target(const char *route, uint16_t port)
{
	struct pt_health_target t = { .route = route, .port = port };

	assert_int_equal(pt_addr_parse("127.0.0.1", &t.addr), 0);
	return t;
}

/* Poll and run until done() or WAIT_MS; returns done(). */
static bool run_until(struct pt_health *h, bool (*done)(struct pt_health *, void *), void *arg)
{
	uint64_t end = ms_now() + WAIT_MS;
	struct pollfd p = { .fd = pt_health_fd(h), .events = POLLIN };

	while (!done(h, arg) && ms_now() < end) {
		poll(&p, 1, 100);
		assert_int_equal(pt_health_run(h), 0);
	}
	return done(h, arg);
}

static bool n_events(struct pt_health *h, void *arg)
{
	(void)h;
	return ((struct seen *)arg)->n > 0;
}

static bool checks_at_least(struct pt_health *h, void *arg)
{
	const struct pt_health_status *st = pt_health_at(h, 0);

	return st->checks_ok + st->checks_failed >= *(uint64_t *)arg;
}

static void test_defaults(void **state)
{
	struct pt_health *h = NULL;
	struct pt_health_target t = target("r", 1);
	const struct pt_health_status *st;

	(void)state;
	assert_int_equal(pt_health_new(NULL, &h), 0);
	t.check.port = 0;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	st = pt_health_at(h, 0);
	assert_non_null(st);
	assert_int_equal(st->check.inter_ms, 2000);
	assert_int_equal(st->check.timeout_ms, 2000);
	assert_int_equal(st->check.rise, 2);
	assert_int_equal(st->check.fall, 3);
	assert_true(st->up);
	assert_int_equal(st->count, 2);	/* UP, going down: one failure takes it out */
	pt_health_free(h);
}

static void test_up_after_rise(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(true, &s);
	uint16_t port = 0;
	int lfd = listener(&port, SOMAXCONN);
	struct pt_health_target t = target("web", port);

	(void)state;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_false(pt_health_at(h, 0)->up);
	assert_true(run_until(h, n_events, &s));
	assert_false(s.ev[0].old_up);
	assert_true(s.ev[0].new_up);
	assert_int_equal(s.ev[0].results, 2);
	assert_int_equal(s.ev[0].checks_ok, 2);
	assert_int_equal(s.ev[0].checks_failed, 0);
	assert_string_equal(s.ev[0].reason, "connected");
	assert_non_null(strstr(s.ev[0].line, "route web backend 127.0.0.1:"));
	assert_non_null(strstr(s.ev[0].line, "DOWN -> UP after 2 successful checks"));
	assert_true(pt_health_at(h, 0)->up);
	pt_health_free(h);
	close(lfd);
}

static void test_down_after_fall(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(false, &s);
	uint16_t port = 0;
	int lfd = listener(&port, SOMAXCONN);
	struct pt_health_target t = target("web", port);
	uint64_t two = 2;

	(void)state;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_until(h, checks_at_least, &two));
	assert_int_equal(s.n, 0);	/* successes: stays up, streak reset */
	close(lfd);
	assert_true(run_until(h, n_events, &s));
	assert_true(s.ev[0].old_up);
	assert_false(s.ev[0].new_up);
	assert_int_equal(s.ev[0].results, 3);
	assert_int_equal(s.ev[0].checks_failed, 3);
	assert_string_equal(s.ev[0].reason, "connection refused");
	assert_non_null(strstr(s.ev[0].line, "UP -> DOWN after 3 failed checks "
					     "(last: connection refused); 0/1 backends up"));
	pt_health_free(h);
}

/* A new target starts UP going down: its first failure takes it out. */
static void test_new_target_one_failure(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(false, &s);
	uint16_t port = 0;
	int cfd = closed_port(&port);
	struct pt_health_target t = target("web", port);

	(void)state;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_until(h, n_events, &s));
	assert_false(s.ev[0].new_up);
	assert_int_equal(s.ev[0].checks_failed, 1);
	assert_int_equal(s.ev[0].results, 1);
	assert_non_null(strstr(s.ev[0].line, "UP -> DOWN after 1 failed check (last: "));
	pt_health_free(h);
	close(cfd);
}

/* The listener comes and goes after every check: never rise in a row. */
static void test_flapping_never_up(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(true, &s);
	uint16_t port = 0;
	int lfd = listener(&port, SOMAXCONN);
	struct pt_health_target t = target("web", port);
	uint64_t done = 0, end = ms_now() + WAIT_MS;
	struct pollfd p;
	const struct pt_health_status *st;

	(void)state;
	t.check.rise = 2;
	t.check.fall = 2;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	p = (struct pollfd){ .fd = pt_health_fd(h), .events = POLLIN };
	st = pt_health_at(h, 0);
	while (st->checks_ok + st->checks_failed < 12 && ms_now() < end) {
		poll(&p, 1, 100);
		assert_int_equal(pt_health_run(h), 0);
		if (st->checks_ok + st->checks_failed == done)
			continue;
		done = st->checks_ok + st->checks_failed;
		/* Flip before the next check starts (it starts in run only). */
		if (lfd >= 0) {
			close(lfd);
			lfd = -1;
		} else {
			lfd = listener(&port, SOMAXCONN);
		}
	}
	assert_true(st->checks_ok + st->checks_failed >= 12);
	assert_true(st->checks_ok >= 5);
	assert_true(st->checks_failed >= 5);
	assert_false(st->up);
	assert_int_equal(s.n, 0);
	pt_health_free(h);
	if (lfd >= 0)
		close(lfd);
}

/* A listener with backlog 0 and its accept queue filled drops further SYNs:
 * a connect there hangs until the check's timeout. */
static void test_timeout(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(false, &s);
	uint16_t port = 0;
	int lfd = listener(&port, 0);
	struct pt_health_target t = target("slow", port);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fill[4];
	const struct pt_health_status *st;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fill[i] >= 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(50 * 1000);
	t.check.inter_ms = 300;
	t.check.timeout_ms = 100;
	t.check.fall = 1;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_until(h, n_events, &s));
	assert_false(s.ev[0].new_up);
	assert_string_equal(s.ev[0].reason, "timeout after 100 ms");
	st = pt_health_at(h, 0);
	assert_true(st->last_duration_ns >= 100 * 1000000ULL);
	assert_true(st->last_duration_ns < 1000 * 1000000ULL);
	pt_health_free(h);
	for (size_t i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

/* check.port: the backend's own port refuses, the check port listens. */
static void test_check_port(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(true, &s);
	uint16_t port = 0, cport = 0;
	int cfd = closed_port(&port);
	int lfd = listener(&cport, SOMAXCONN);
	struct pt_health_target t = target("web", port);

	(void)state;
	t.check.port = cport;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_int_equal(pt_health_at(h, 0)->check_port, cport);
	assert_int_equal(pt_health_at(h, 0)->port, port);
	assert_true(run_until(h, n_events, &s));
	assert_true(s.ev[0].new_up);
	assert_non_null(pt_health_find(h, "web", &t.addr, port));
	assert_null(pt_health_find(h, "web", &t.addr, cport));
	pt_health_free(h);
	close(cfd);
	close(lfd);
}

/* A reload keeps the state of targets that stay and drops the others. */
static void test_set_targets_keeps_state(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(true, &s);
	uint16_t port = 0, port2 = 0;
	int lfd = listener(&port, SOMAXCONN);
	int cfd = closed_port(&port2);
	struct pt_health_target t[2] = { target("web", port), target("web", port2) };
	const struct pt_health_status *st;
	uint64_t ok;

	(void)state;
	assert_int_equal(pt_health_set_targets(h, t, 1), 0);
	assert_true(run_until(h, n_events, &s));
	ok = pt_health_at(h, 0)->checks_ok;
	assert_int_equal(pt_health_set_targets(h, t, 2), 0);
	assert_int_equal(pt_health_count(h), 2);
	st = pt_health_find(h, "web", &t[0].addr, port);
	assert_non_null(st);
	assert_true(st->up);
	assert_true(st->checks_ok >= ok);
	assert_false(pt_health_find(h, "web", &t[1].addr, port2)->up);
	assert_int_equal(pt_health_set_targets(h, &t[1], 1), 0);
	assert_int_equal(pt_health_count(h), 1);
	assert_null(pt_health_find(h, "web", &t[0].addr, port));
	t[0].route = NULL;
	assert_int_equal(pt_health_set_targets(h, t, 1), -EINVAL);
	pt_health_free(h);
	close(lfd);
	close(cfd);
}

/* What the result callback saw. */
struct results {
	size_t n;			/* callbacks */
	struct pt_health_status last;	/* the last one's status */
};

static void on_result(void *arg, const struct pt_health_status *st)
{
	struct results *r = arg;

	r->n++;
	r->last = *st;
}

/* Two results in a row: ok (arg true) or failed. */
static bool two_in_a_row(struct pt_health *h, void *arg)
{
	const struct pt_health_status *st = pt_health_at(h, 0);

	return (*(bool *)arg ? st->consecutive_ok : st->consecutive_failed) >= 2;
}

/* Every completed check reaches the result callback, with the target's
 * tag, its errno and the consecutive counts. */
static void test_result_callback(void **state)
{
	struct results r = {};
	struct pt_health_opts o = { .defaults = { .inter_ms = INTER_MS },
				    .result_cb = on_result, .cb_arg = &r };
	struct pt_health *h = NULL;
	uint16_t port = 0;
	int lfd = listener(&port, SOMAXCONN);
	struct pt_health_target t = target("web", port);
	bool ok = true;

	(void)state;
	t.tag = 42;
	assert_int_equal(pt_health_new(&o, &h), 0);
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_until(h, two_in_a_row, &ok));
	assert_int_equal(r.n, r.last.checks_ok + r.last.checks_failed);
	assert_int_equal(r.last.tag, 42);
	assert_true(r.last.last_ok);
	assert_int_equal(r.last.last_err, 0);
	assert_true(r.last.consecutive_ok >= 2);
	assert_int_equal(r.last.consecutive_failed, 0);
	close(lfd);
	ok = false;
	assert_true(run_until(h, two_in_a_row, &ok));
	assert_int_equal(r.n, r.last.checks_ok + r.last.checks_failed);
	assert_int_equal(r.last.last_err, ECONNREFUSED);
	assert_int_equal(r.last.consecutive_ok, 0);
	assert_true(r.last.consecutive_failed >= 2);
	pt_health_free(h);
}

/* ---- HTTP checks ---- */

/* The status line: complete, partial, malformed. */
static void test_http_status_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		unsigned int status;
		size_t line_len;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nServer: x\r\n", 1, 200, 15 },
		{ "HTTP/1.0 503 Service Unavailable\r\n", 1, 503, 32 },
		{ "HTTP/1.1 204\r\n", 1, 204, 12 },
		{ "HTTP/1.1 301 Moved\n", 1, 301, 18 },	/* LF alone */
		{ "HTTP/1.1 200 OK\r", 0, 0, 0 },		/* line not ended */
		{ "HTTP/1.1 20", 0, 0, 0 },
		{ "HTT", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ "SSH-2.0-OpenSSH_9.2\r\n", -EPROTO, 0, 0 },
		{ "http/1.1 200 OK\r\n", -EPROTO, 0, 0 },
		{ "HTTP/1.1 2000 OK\r\n", -EPROTO, 0, 0 },
		{ "HTTP/1.1 20x OK\r\n", -EPROTO, 0, 0 },
		{ "HTTP/1.1 099 Low\r\n", -EPROTO, 0, 0 },
		{ "HTTP/1.1 200 O\rK\r\n", -EPROTO, 0, 0 },	/* a CR inside */
		{ "HTTP/1.1 200 \x01\r\n", -EPROTO, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int status = 0;
		size_t line_len = 0;
		int rc = pt_http_status_parse(cases[i].in, strlen(cases[i].in), &status,
					      &line_len);

		if (rc != cases[i].rc)
			fail_msg("\"%s\": got %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 1) {
			assert_int_equal(status, cases[i].status);
			assert_int_equal(line_len, cases[i].line_len);
		}
	}
}

/* Validators, defaults, expectation and the request as sent. */
static void test_http_settings(void **state)
{
	struct pt_check c = {};
	const char *why = NULL;
	char req[PT_HTTP_REQUEST_MAX];
	char long_uri[PORTIER_CHECK_URI_MAX + 1];

	(void)state;
	pt_http_check_defaults(&c);
	assert_int_equal(pt_http_check_request(&c, req, sizeof(req)),
			 (int)strlen("OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n"));
	assert_string_equal(req, "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n");
	assert_true(pt_http_check_pass(&c, 200));
	assert_true(pt_http_check_pass(&c, 399));
	assert_false(pt_http_check_pass(&c, 404));
	assert_false(pt_http_check_pass(&c, 503));

	assert_int_equal(pt_http_check_method("GET", &c, &why), 0);
	assert_int_equal(pt_http_check_uri("/healthz?x=1", &c, &why), 0);
	assert_int_equal(pt_http_check_version("HTTP/1.1", &c, &why), 0);
	assert_int_equal(pt_http_check_host("app.example.org:8080", &c, &why), 0);
	assert_int_equal(pt_http_check_expect("204", &c, &why), 0);
	assert_int_equal(pt_http_check_request(&c, req, sizeof(req)) > 0, 1);
	assert_string_equal(req, "GET /healthz?x=1 HTTP/1.1\r\nHost: app.example.org:8080\r\n"
				 "Connection: close\r\n\r\n");
	assert_true(pt_http_check_pass(&c, 204));
	assert_false(pt_http_check_pass(&c, 200));
	assert_int_equal(pt_http_check_expect("500-503", &c, &why), 0);
	assert_true(pt_http_check_pass(&c, 503));
	assert_false(pt_http_check_pass(&c, 504));

	assert_int_equal(pt_http_check_method("", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_method("GET /", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_method("VERYLONGMETHODNAME", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_uri("healthz", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_uri("/a b", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_uri("/a\r\nX: y", &c, &why), -EINVAL);
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	long_uri[0] = '/';
	long_uri[sizeof(long_uri) - 1] = '\0';
	assert_int_equal(pt_http_check_uri(long_uri, &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_host("a\r\nb", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_version("HTTP/2", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_expect("99", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_expect("200-", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_expect("300-200", &c, &why), -EINVAL);
	assert_int_equal(pt_http_check_expect("2xx", &c, &why), -EINVAL);
	assert_non_null(why);
	/* The failed calls changed nothing. */
	assert_string_equal(c.method, "GET");
	assert_string_equal(c.uri, "/healthz?x=1");
	assert_int_equal(c.expect_min, 500);
}

/* What the data plane stores comes back whole. */
static void test_http_meta_round_trip(void **state)
{
	struct pt_check c = { .inter_ms = 500, .timeout_ms = 300, .rise = 1, .fall = 4,
			      .port = 8081, .type = PT_CHECK_HTTP }, back;
	struct portier_route_meta m = {};
	const char *why;

	(void)state;
	pt_http_check_defaults(&c);
	assert_int_equal(pt_http_check_uri("/ready", &c, &why), 0);
	assert_int_equal(pt_http_check_host("h.example.org", &c, &why), 0);
	assert_int_equal(pt_http_check_version("HTTP/1.1", &c, &why), 0);
	pt_check_to_meta(&c, &m);
	assert_int_equal(m.check_type, PORTIER_CHECK_TYPE_HTTP);
	back = pt_check_from_meta(&m);
	assert_memory_equal(&back, &c, sizeof(c));
}

/* A one-connection-at-a-time HTTP server driven by the test's loop: it
 * accepts, reads the request, answers `answer` (NULL: says nothing) and
 * closes. */
struct http_server {
	int lfd, cfd;
	const char *answer;
	char request[512];
	size_t got;
	unsigned int served;
};

static void server_step(struct http_server *sv)
{
	ssize_t n;

	if (sv->cfd < 0) {
		sv->cfd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		sv->got = 0;
		if (sv->cfd < 0)
			return;
	}
	n = recv(sv->cfd, sv->request + sv->got, sizeof(sv->request) - 1 - sv->got, 0);
	if (n > 0) {
		sv->got += (size_t)n;
		sv->request[sv->got] = '\0';
	}
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		close(sv->cfd);	/* the checker gave up (timeout) */
		sv->cfd = -1;
		return;
	}
	if (!strstr(sv->request, "\r\n\r\n") || !sv->answer)
		return;
	if (*sv->answer)
		assert_true(send(sv->cfd, sv->answer, strlen(sv->answer), MSG_NOSIGNAL) > 0);
	close(sv->cfd);
	sv->cfd = -1;
	sv->served++;
}

static void server_start(struct http_server *sv, uint16_t *port)
{
	memset(sv, 0, sizeof(*sv));
	sv->cfd = -1;
	sv->lfd = listener(port, SOMAXCONN);
	assert_int_equal(fcntl(sv->lfd, F_SETFL, O_NONBLOCK), 0);
}

/* A server and an HTTP check target of route "app" on its port, with
 * HAProxy's HTTP defaults. */
static struct pt_health_target http_setup(struct http_server *sv)
{
	uint16_t port = 0;
	struct pt_health_target t;

	server_start(sv, &port);
	t = target("app", port);
	t.check.type = PT_CHECK_HTTP;
	pt_http_check_defaults(&t.check);
	return t;
}

static void server_stop(struct http_server *sv)
{
	if (sv->cfd >= 0)
		close(sv->cfd);
	close(sv->lfd);
}

/* Run checker and server until done() or WAIT_MS; returns done(). */
static bool run_serving(struct pt_health *h, struct http_server *sv,
			bool (*done)(struct pt_health *, void *), void *arg)
{
	uint64_t end = ms_now() + WAIT_MS;
	struct pollfd p = { .fd = pt_health_fd(h), .events = POLLIN };

	while (!done(h, arg) && ms_now() < end) {
		poll(&p, 1, 5);
		server_step(sv);
		assert_int_equal(pt_health_run(h), 0);
	}
	return done(h, arg);
}

static bool last_err_is(struct pt_health *h, void *arg)
{
	const struct pt_health_status *st = pt_health_at(h, 0);

	return st->checked && st->last_err == *(int *)arg;
}

static bool is_down(struct pt_health *h, void *arg)
{
	(void)arg;
	return !pt_health_at(h, 0)->up;
}

static bool is_up(struct pt_health *h, void *arg)
{
	(void)arg;
	return pt_health_at(h, 0)->up;
}

/* 200 keeps it up; 503 takes it out with the status line as the reason;
 * 200 again brings it back after rise; the request is the route's. */
static void test_http_check_status(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(false, &s);
	struct http_server sv;
	struct pt_health_target t = http_setup(&sv);
	const struct pt_health_status *st;
	const char *why;
	int want;

	(void)state;
	assert_int_equal(pt_http_check_method("GET", &t.check, &why), 0);
	assert_int_equal(pt_http_check_uri("/healthz", &t.check, &why), 0);
	assert_int_equal(pt_http_check_host("app.example.org", &t.check, &why), 0);
	t.check.fall = 2;
	t.check.rise = 2;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);

	sv.answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	want = 0;
	assert_true(run_serving(h, &sv, last_err_is, &want));
	st = pt_health_at(h, 0);
	assert_true(st->up);
	assert_int_equal(st->http_status, 200);
	assert_string_equal(st->http_line, "HTTP/1.1 200 OK");
	assert_string_equal(st->last_reason, "HTTP/1.1 200 OK");
	assert_non_null(strstr(sv.request, "GET /healthz HTTP/1.0\r\n"));
	assert_non_null(strstr(sv.request, "\r\nHost: app.example.org\r\n"));

	sv.answer = "HTTP/1.1 503 Service Unavailable\r\n\r\n";
	assert_true(run_serving(h, &sv, is_down, NULL));
	assert_int_equal(s.n, 1);
	assert_false(s.ev[0].new_up);
	assert_int_equal(s.ev[0].results, 2);
	assert_string_equal(s.ev[0].reason, "HTTP/1.1 503 Service Unavailable");
	st = pt_health_at(h, 0);
	assert_int_equal(st->last_err, EREMOTEIO);
	assert_int_equal(st->http_status, 503);

	sv.answer = "HTTP/1.1 200 OK\r\n\r\n";
	assert_true(run_serving(h, &sv, is_up, NULL));
	assert_int_equal(s.n, 2);
	assert_true(s.ev[1].new_up);
	assert_int_equal(s.ev[1].results, 2);
	pt_health_free(h);
	server_stop(&sv);
}

/* An IPv6 backend: a TCP check connects to [::1]:PORT (the event says so,
 * bracketed), is UP after rise; the listener closed, DOWN after fall with
 * "connection refused"; an HTTP check on ::1 reads its status line. */
static void test_ipv6(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(true, &s);
	uint16_t port = 0;
	int lfd = listener6(&port);
	struct pt_health_target t = { .route = "web6", .port = port };
	char want[128];
	struct http_server sv;

	(void)state;
	assert_int_equal(pt_addr_parse("::1", &t.addr), 0);
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_until(h, n_events, &s));
	assert_true(s.ev[0].new_up);
	assert_string_equal(s.ev[0].reason, "connected");
	snprintf(want, sizeof(want), "route web6 backend [::1]:%u DOWN -> UP after 2 successful "
		 "checks (last: connected); 1/1 backends up", port);
	assert_string_equal(s.ev[0].line, want);
	close(lfd);
	assert_true(run_until(h, is_down, NULL));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ev[1].reason, "connection refused");
	snprintf(want, sizeof(want), "route web6 backend [::1]:%u UP -> DOWN after 3 failed "
		 "checks (last: connection refused); 0/1 backends up", port);
	assert_string_equal(s.ev[1].line, want);
	pt_health_free(h);

	/* HTTP over IPv6 */
	memset(&s, 0, sizeof(s));
	h = checker(false, &s);
	memset(&sv, 0, sizeof(sv));
	sv.cfd = -1;
	port = 0;
	sv.lfd = listener6(&port);
	assert_int_equal(fcntl(sv.lfd, F_SETFL, O_NONBLOCK), 0);
	t = (struct pt_health_target){ .route = "app6", .port = port };
	assert_int_equal(pt_addr_parse("::1", &t.addr), 0);
	t.check.type = PT_CHECK_HTTP;
	pt_http_check_defaults(&t.check);
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	sv.answer = "HTTP/1.1 503 Service Unavailable\r\n\r\n";
	assert_true(run_serving(h, &sv, is_down, NULL));
	assert_int_equal(pt_health_at(h, 0)->http_status, 503);
	assert_non_null(strstr(sv.request, "OPTIONS / HTTP/1.0\r\n"));
	pt_health_free(h);
	server_stop(&sv);
}

/* A port that accepts but does not speak HTTP, one that closes at once,
 * one that never answers: each fails, with its own reason. */
static void test_http_check_bad_answers(void **state)
{
	struct seen s = {};
	struct pt_health *h = checker(false, &s);
	struct http_server sv;
	struct pt_health_target t = http_setup(&sv);
	const struct pt_health_status *st;
	int want = EPROTO;

	(void)state;
	t.check.timeout_ms = 100;
	t.check.inter_ms = 200;
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);

	sv.answer = "SSH-2.0-OpenSSH_9.2\r\n";
	assert_true(run_serving(h, &sv, last_err_is, &want));
	st = pt_health_at(h, 0);
	assert_string_equal(st->last_reason, "not an HTTP status line: \"SSH-2.0-OpenSSH_9.2..\"");
	assert_int_equal(st->http_status, 0);
	assert_false(st->up);	/* a new target: one failure takes it out */
	assert_non_null(strstr(sv.request, "OPTIONS / HTTP/1.0\r\n"));
	assert_null(strstr(sv.request, "Host:"));

	sv.answer = "";	/* closes without a byte */
	h = (pt_health_free(h), checker(false, &s));
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_serving(h, &sv, last_err_is, &want));
	assert_string_equal(pt_health_at(h, 0)->last_reason,
			    "closed after 0 bytes, before an HTTP status line");

	sv.answer = NULL;	/* reads the request, never answers */
	want = ETIMEDOUT;
	h = (pt_health_free(h), checker(false, &s));
	assert_int_equal(pt_health_set_targets(h, &t, 1), 0);
	assert_true(run_serving(h, &sv, last_err_is, &want));
	st = pt_health_at(h, 0);
	assert_string_equal(st->last_reason, "timeout after 100 ms");
	assert_true(st->last_duration_ns >= 100 * 1000000ULL);
	pt_health_free(h);
	server_stop(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_up_after_rise),
		cmocka_unit_test(test_down_after_fall),
		cmocka_unit_test(test_new_target_one_failure),
		cmocka_unit_test(test_flapping_never_up),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_check_port),
		cmocka_unit_test(test_set_targets_keeps_state),
		cmocka_unit_test(test_result_callback),
		cmocka_unit_test(test_http_status_parse),
		cmocka_unit_test(test_http_settings),
		cmocka_unit_test(test_http_meta_round_trip),
		cmocka_unit_test(test_http_check_status),
		cmocka_unit_test(test_http_check_bad_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
