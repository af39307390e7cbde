// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_health.c - health checks against real listeners on 127.0.0.1: up
 * after rise, down after fall, flapping never up, timeout (a listener whose
 * accept queue is full drops new SYNs), check port override, state kept
 * across pt_health_set_targets, the per-result callback (what the daemon
 * writes into portier_health). Small intervals; every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_up_after_rise),
		cmocka_unit_test(test_down_after_fall),
		cmocka_unit_test(test_new_target_one_failure),
		cmocka_unit_test(test_flapping_never_up),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_check_port),
		cmocka_unit_test(test_set_targets_keeps_state),
		cmocka_unit_test(test_result_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
