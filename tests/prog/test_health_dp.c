// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_health_dp.c - the health checker wired to a loaded data plane
 * (root): pt_health_sync checks every loaded TCP backend with its route's
 * settings and adopts the DOWN bit, and puts the bit back in line with the
 * checker when they disagree; failing checks take a backend out of
 * the route's rotation (portier_routes), passing ones bring it back;
 * pt_health_flush_flows removes the flows of a backend that went down.
 * A route's HTTP check settings go through portier_route_meta to the
 * checker, and pt_health_publish writes an HTTP result's status and status
 * line into portier_health.
 * Backends are listeners on 127.0.0.1; no packet leaves loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "health_dp.h"
#include "http_check.h"
#include "portier.skel.h"

#define ROUTE_PORT	30080
#define INTER_MS	40
#define WAIT_MS		3000

struct ctx {
	struct pt_dataplane *dp;
	int events, apply_err;
	size_t flushed;		/* flows removed on UP -> DOWN */
};

static void on_event(void *arg, const struct pt_health_event *ev)
{
	struct ctx *c = arg;

	c->events++;
	if (pt_health_apply(c->dp, ev))
		c->apply_err++;
	if (!ev->new_up && pt_health_flush_flows(c->dp, ev, &c->flushed))
		c->apply_err++;
}

/* A conntrack entry of backend id (client port sport). */
static void put_flow(struct pt_dataplane *dp, __u16 sport, __u32 backend_id)
{
	struct portier_flow_key k = { .sport = htons(sport), .dport = htons(ROUTE_PORT),
				      .proto = IPPROTO_TCP };
	struct portier_flow f = { .backend_id = backend_id };

	k.saddr = htonl(0xc6336402);	/* 198.51.100.2 */
	assert_int_equal(pt_ct_insert(pt_dp_ct(dp), &k, &f), 0);
}

static size_t ct_count(struct pt_dataplane *dp)
{
	return pt_ct_count(pt_dp_ct(dp));
}

static int listener(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, SOMAXCONN), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static __u32 n_active(struct pt_dataplane *dp)
{
	struct portier_route rt;
	__u32 id = (__u32)pt_dp_route_id(dp, "web");

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_routes),
					     &id, &rt), 0);
	return rt.n_active;
}

static void run_until_events(struct pt_health *h, struct ctx *c, int want)
{
	struct pollfd p = { .fd = pt_health_fd(h), .events = POLLIN };
	uint64_t end = ms_now() + WAIT_MS;

	while (c->events < want && ms_now() < end) {
		poll(&p, 1, 100);
		assert_int_equal(pt_health_run(h), 0);
	}
	assert_int_equal(c->events, want);
	assert_int_equal(c->apply_err, 0);
}

static void test_sync_and_rotation(void **state)
{
	uint16_t p1 = 0, p2 = 0;
	int l1 = listener(&p1), l2 = listener(&p2);
	struct pt_backend be[2] = { { .port = p1, .weight = 1 }, { .port = p2, .weight = 1 } };
	struct pt_route r = { .name = "web", .wildcard = true, .port = ROUTE_PORT,
			      .proto = IPPROTO_TCP, .backends = be, .n_backends = 2,
			      .check = { .inter_ms = INTER_MS, .timeout_ms = INTER_MS,
					 .rise = 2, .fall = 2 } };
	struct pt_routeset rs = { .routes = &r, .n_routes = 1 };
	struct pt_dp_opts o = { .ct_entries = 1024 };
	struct ctx c = {};
	struct pt_health_opts ho = { .cb = on_event, .cb_arg = &c };
	struct pt_health *h = NULL;
	const struct pt_health_status *st;

	(void)state;
	for (int i = 0; i < 2; i++) {
		be[i].addr.family = AF_INET;
		be[i].addr.v4.s_addr = htonl(INADDR_LOOPBACK);
	}
	assert_int_equal(pt_dp_open(&o, &c.dp), 0);
	assert_int_equal(pt_dp_apply(c.dp, &rs), 0);
	/* Adopted state: be[1] is DOWN already. */
	assert_int_equal(pt_dp_backend_set(c.dp, "web", &be[1].addr, p2, PT_DP_BE_DOWN, true), 0);
	assert_int_equal(n_active(c.dp), 1);
	assert_int_equal(pt_health_new(&ho, &h), 0);
	assert_int_equal(pt_health_sync(h, c.dp), 0);
	assert_int_equal(pt_health_count(h), 2);
	st = pt_health_find(h, "web", &be[0].addr, p1);
	assert_non_null(st);
	assert_true(st->up);
	assert_int_equal(st->check.inter_ms, INTER_MS);
	assert_int_equal(st->check.fall, 2);
	assert_false(pt_health_find(h, "web", &be[1].addr, p2)->up);

	/* be[1] listens: back after rise checks. */
	run_until_events(h, &c, 1);
	assert_true(pt_health_find(h, "web", &be[1].addr, p2)->up);
	assert_int_equal(n_active(c.dp), 2);

	/* be[0] stops listening: out after fall checks; its flows flushed. */
	put_flow(c.dp, 1000, (__u32)pt_dp_backend_id(c.dp, "web", &be[0].addr, p1));
	put_flow(c.dp, 1001, (__u32)pt_dp_backend_id(c.dp, "web", &be[0].addr, p1));
	put_flow(c.dp, 1002, (__u32)pt_dp_backend_id(c.dp, "web", &be[1].addr, p2));
	close(l1);
	run_until_events(h, &c, 2);
	assert_false(pt_health_find(h, "web", &be[0].addr, p1)->up);
	assert_int_equal(n_active(c.dp), 1);
	assert_int_equal(c.flushed, 2);
	assert_int_equal(ct_count(c.dp), 1);

	/* A reload that moves the route (another listen port) gives its
	 * backends new ids, in rotation; the checker still knows be[0] down
	 * (same route name, address and port), and its sync puts the data
	 * plane in line. */
	r.port = ROUTE_PORT + 1;
	assert_int_equal(pt_dp_apply(c.dp, &rs), 0);
	assert_int_equal(n_active(c.dp), 2);
	assert_int_equal(pt_health_sync(h, c.dp), 0);
	assert_false(pt_health_find(h, "web", &be[0].addr, p1)->up);
	assert_int_equal(n_active(c.dp), 1);

	/* A route removed from the data plane leaves the checker. */
	rs.n_routes = 0;
	assert_int_equal(pt_dp_apply(c.dp, &rs), 0);
	assert_int_equal(pt_health_sync(h, c.dp), 0);
	assert_int_equal(pt_health_count(h), 0);
	pt_health_free(h);
	pt_dp_close(c.dp);
	close(l2);
}

/* HTTP check settings survive the metadata map; an HTTP result is
 * published with its status and status line. */
static void test_http_settings_and_publish(void **state)
{
	struct pt_backend be = { .port = 30081, .weight = 1 };
	struct pt_route r = { .name = "app", .wildcard = true, .port = ROUTE_PORT,
			      .proto = IPPROTO_TCP, .backends = &be, .n_backends = 1,
			      .check = { .inter_ms = 60000, .timeout_ms = 1000, .rise = 2,
					 .fall = 3, .type = PT_CHECK_HTTP } };
	struct pt_routeset rs = { .routes = &r, .n_routes = 1 };
	struct pt_dp_opts o = { .ct_entries = 1024 };
	struct pt_dataplane *dp = NULL;
	struct pt_health *h = NULL;
	struct pt_health_status st;
	struct portier_health e;
	const struct pt_health_status *got;
	const char *why;
	__u32 id;

	(void)state;
	be.addr.family = AF_INET;
	be.addr.v4.s_addr = htonl(INADDR_LOOPBACK);
	pt_http_check_defaults(&r.check);
	assert_int_equal(pt_http_check_method("GET", &r.check, &why), 0);
	assert_int_equal(pt_http_check_uri("/healthz", &r.check, &why), 0);
	assert_int_equal(pt_http_check_version("HTTP/1.1", &r.check, &why), 0);
	assert_int_equal(pt_http_check_host("app.example.org", &r.check, &why), 0);
	assert_int_equal(pt_http_check_expect("200", &r.check, &why), 0);
	assert_int_equal(pt_dp_open(&o, &dp), 0);
	assert_int_equal(pt_dp_apply(dp, &rs), 0);
	assert_int_equal(pt_health_new(NULL, &h), 0);
	assert_int_equal(pt_health_sync(h, dp), 0);
	got = pt_health_find(h, "app", &be.addr, be.port);
	assert_non_null(got);
	assert_int_equal(got->check.type, PT_CHECK_HTTP);
	assert_string_equal(got->check.method, "GET");
	assert_string_equal(got->check.uri, "/healthz");
	assert_int_equal(got->check.http_minor, 1);
	assert_string_equal(got->check.host, "app.example.org");
	assert_int_equal(got->check.expect_min, 200);
	assert_int_equal(got->check.expect_max, 200);

	st = *got;
	st.checked = true;
	st.last_err = EREMOTEIO;
	st.http_status = 503;
	snprintf(st.http_line, sizeof(st.http_line), "HTTP/1.1 503 Service Unavailable");
	assert_int_equal(pt_health_publish(dp, &st), 0);
	id = st.tag;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_health),
					     &id, &e), 0);
	assert_int_equal(e.result, PORTIER_CHECK_HTTP_STATUS);
	assert_int_equal(e.http_status, 503);
	assert_string_equal(e.http_line, "HTTP/1.1 503 Service Unavailable");
	st.last_err = EPROTO;
	st.http_status = 0;
	st.http_line[0] = '\0';
	assert_int_equal(pt_health_publish(dp, &st), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(pt_dp_skel(dp)->maps.portier_health),
					     &id, &e), 0);
	assert_int_equal(e.result, PORTIER_CHECK_HTTP_INVALID);
	assert_int_equal(e.http_status, 0);
	assert_string_equal(e.http_line, "");
	pt_health_free(h);
	pt_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_and_rotation),
		cmocka_unit_test(test_http_settings_and_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
