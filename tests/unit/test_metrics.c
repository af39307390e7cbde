// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_metrics.c - Prometheus exposition of a snapshot (series, HELP/TYPE,
 * label escaping; `promtool check metrics` when promtool is installed), and
 * the libmicrohttpd server on 127.0.0.1: GET /metrics, 404, 500, driven by
 * poll like the daemon does, with a tiny HTTP client in a thread; a slow
 * client closed at the request deadline, the per-address limit, the
 * connection limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

#define WAIT_MS		3000	/* bound of any wait */
#define RESP_MAX	65536	/* client buffer */
#define PROMTOOL	"/usr/bin/promtool"

static void fill_snapshot(struct pt_metrics_snapshot *s)
{
	struct pt_metrics_route *r;
	struct pt_metrics_backend *b;
	struct pt_addr a;

	s->version = "1.2.3";
	s->reloads = 4;
	s->vrrp[0] = (struct pt_metrics_vrrp){ .vrid = 5, .role = PORTIER_VRRP_MASTER, .changes = 3 };
	s->vrrp[1] = (struct pt_metrics_vrrp){ .vrid = 6, .role = PORTIER_VRRP_BACKUP, .changes = 1 };
	s->n_vrrp = 2;
	r = pt_metrics_add_route(s, "pgadmin4");
	r->flows = 10;
	r->packets[PT_METRICS_DIR_IN] = 100;
	r->packets[PT_METRICS_DIR_OUT] = 90;
	r->bytes[PT_METRICS_DIR_IN] = 6400;
	r->bytes[PT_METRICS_DIR_OUT] = 128000;
	pt_metrics_add_route(s, "we\"ird\\na\nme");
	assert_int_equal(pt_addr_parse("203.0.113.2", &a), 0);
	b = pt_metrics_add_backend(s, "pgadmin4", &a, 30081);
	b->flows = 7;
	b->up = true;
	b->snat_ports_used = 3;
	b->checked = true;
	b->checks_ok = 12;
	b->checks_failed = 1;
	b->check_duration_s = 0.00025;
	b->http_checked = true;
	b->http_status = 503;
	assert_int_equal(pt_addr_parse("203.0.113.3", &a), 0);
	b = pt_metrics_add_backend(s, "pgadmin4", &a, 30081);
	b->flows = 3;
	b->drained = true;
	s->reasons[PORTIER_R_DROP_NO_BACKEND] = 5;
	s->reasons[PORTIER_R_PASS_UNDECLARED] = 42;
	s->reasons[PORTIER_R_FWD_REDIRECT] = 190;
	s->reasons[PORTIER_R_CT_EVICTED] = 3;
	s->reasons[PORTIER_R_CT_RACE] = 2;
	s->reasons[PORTIER_R_ICMP_TRANSLATED] = 6;
	s->reasons[PORTIER_R_ICMP_FRAG_NEEDED_SENT] = 8;
	s->reasons[PORTIER_R_ICMP_RATELIMITED] = 9;
	s->ct_entries = 20;
	s->ct_capacity = 262144;
	s->ct6_entries = 6;
	s->ct6_capacity = 65536;
	s->snat_ports_per_backend = 13616;
}

/* Egress NAT on, with one rule. */
static void fill_egress(struct pt_metrics_snapshot *s)
{
	struct pt_metrics_egress *e;

	s->egress_on = true;
	e = pt_metrics_add_egress(s, "box");
	e->flows = 31;
	e->packets[PT_METRICS_DIR_IN] = 113;
	e->packets[PT_METRICS_DIR_OUT] = 77;
	e->bytes[PT_METRICS_DIR_OUT] = 5128;
	e->refused = 7;
	s->egress_unmatched = 2;
	s->reasons[PORTIER_R_DROP_EGRESS_REFUSED] = 9;
}

static char *render(const struct pt_metrics_snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(pt_metrics_render(s, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* line must be a whole line of text. */
static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("missing line: %s", line);
}

static void test_render(void **state)
{
	static const char *const names[] = {
		"portier_build_info", "portier_reloads_total", "portier_route_connections_total",
		"portier_route_packets_total", "portier_route_bytes_total",
		"portier_backend_connections_total", "portier_backend_packets_total",
		"portier_backend_bytes_total", "portier_backend_up", "portier_backend_drained",
		"portier_snat_ports_used", "portier_backend_checks_total",
		"portier_backend_check_duration_seconds", "portier_backend_check_http_status",
		"portier_drops_total",
		"portier_passes_total", "portier_redirects_total", "portier_conntrack_entries",
		"portier_conntrack_capacity", "portier_conntrack6_entries",
		"portier_conntrack6_capacity", "portier_conntrack_evictions_total",
		"portier_conntrack_insert_races_total", "portier_icmp_translated_total",
		"portier_icmp_frag_needed_sent_total", "portier_snat_ports_capacity",
		"portier_metrics_connections", "portier_metrics_deadline_closed_total",
	};
	struct pt_metrics_snapshot s = {};
	char *t, *help;

	(void)state;
	fill_snapshot(&s);
	t = render(&s);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		help = NULL;
		assert_true(asprintf(&help, "# HELP %s ", names[i]) > 0);
		assert_non_null(strstr(t, help));
		free(help);
	}
	has_line(t, "# TYPE portier_route_connections_total counter");
	/* VRRP roles (portier vrrp notify): one series per instance. */
	has_line(t, "# TYPE portier_vrrp_role gauge");
	has_line(t, "portier_vrrp_role{vrid=\"5\"} 2");
	has_line(t, "portier_vrrp_role{vrid=\"6\"} 1");
	has_line(t, "# TYPE portier_vrrp_role_changes_total counter");
	has_line(t, "portier_vrrp_role_changes_total{vrid=\"5\"} 3");
	has_line(t, "# TYPE portier_backend_up gauge");
	has_line(t, "portier_build_info{version=\"1.2.3\"} 1");
	has_line(t, "portier_reloads_total 4");
	has_line(t, "portier_route_connections_total{route=\"pgadmin4\"} 10");
	has_line(t, "portier_route_packets_total{route=\"pgadmin4\",direction=\"in\"} 100");
	has_line(t, "portier_route_bytes_total{route=\"pgadmin4\",direction=\"out\"} 128000");
	has_line(t, "portier_route_connections_total{route=\"we\\\"ird\\\\na\\nme\"} 0");
	has_line(t, "portier_backend_connections_total{route=\"pgadmin4\","
		    "backend=\"203.0.113.2:30081\"} 7");
	has_line(t, "portier_backend_up{route=\"pgadmin4\",backend=\"203.0.113.2:30081\"} 1");
	has_line(t, "portier_backend_up{route=\"pgadmin4\",backend=\"203.0.113.3:30081\"} 0");
	has_line(t, "portier_backend_drained{route=\"pgadmin4\",backend=\"203.0.113.3:30081\"} 1");
	has_line(t, "portier_snat_ports_used{route=\"pgadmin4\",backend=\"203.0.113.2:30081\"} 3");
	has_line(t, "portier_backend_checks_total{route=\"pgadmin4\","
		    "backend=\"203.0.113.2:30081\",result=\"failed\"} 1");
	has_line(t, "portier_backend_check_duration_seconds{route=\"pgadmin4\","
		    "backend=\"203.0.113.2:30081\"} 0.000250");
	has_line(t, "# TYPE portier_backend_check_http_status gauge");
	has_line(t, "portier_backend_check_http_status{route=\"pgadmin4\","
		    "backend=\"203.0.113.2:30081\"} 503");
	assert_null(strstr(t, "portier_backend_check_http_status{route=\"pgadmin4\","
			      "backend=\"203.0.113.3:30081\""));
	/* Unchecked backends have no check series. */
	assert_null(strstr(t, "portier_backend_checks_total{route=\"pgadmin4\","
			      "backend=\"203.0.113.3:30081\""));
	has_line(t, "portier_drops_total{reason=\"no_backend\"} 5");
	has_line(t, "portier_drops_total{reason=\"ct_full\"} 0");
	has_line(t, "portier_passes_total{reason=\"undeclared\"} 42");
	has_line(t, "portier_redirects_total 190");
	assert_null(strstr(t, "reason=\"redirect\""));
	has_line(t, "portier_conntrack_entries 20");
	has_line(t, "portier_conntrack_capacity 262144");
	has_line(t, "portier_conntrack6_entries 6");
	has_line(t, "portier_conntrack6_capacity 65536");
	has_line(t, "portier_conntrack_evictions_total 3");
	has_line(t, "portier_conntrack_insert_races_total 2");
	has_line(t, "portier_icmp_translated_total 6");
	has_line(t, "portier_icmp_frag_needed_sent_total 8");
	has_line(t, "portier_drops_total{reason=\"icmp_ratelimited\"} 9");
	has_line(t, "portier_snat_ports_capacity 13616");
	/* Egress off: no egress families. */
	assert_null(strstr(t, "portier_egress_"));
	free(t);
	fill_egress(&s);
	t = render(&s);
	has_line(t, "# TYPE portier_egress_connections_total counter");
	has_line(t, "portier_egress_connections_total{rule=\"box\"} 31");
	has_line(t, "portier_egress_packets_total{rule=\"box\",direction=\"in\"} 113");
	has_line(t, "portier_egress_packets_total{rule=\"box\",direction=\"out\"} 77");
	has_line(t, "portier_egress_bytes_total{rule=\"box\",direction=\"out\"} 5128");
	has_line(t, "portier_egress_refused_total{rule=\"box\"} 7");
	has_line(t, "portier_egress_refused_total{rule=\"(unmatched)\"} 2");
	has_line(t, "portier_drops_total{reason=\"egress_refused\"} 9");
	free(t);
	pt_metrics_snapshot_clear(&s);
	assert_int_equal(s.n_routes, 0);
	assert_null(s.routes);
	assert_int_equal(s.n_egress, 0);
}

static void test_reason_names(void **state)
{
	enum pt_metrics_outcome o;

	(void)state;
	for (unsigned int r = 0; r < PORTIER_R_MAX; r++)
		assert_non_null(pt_metrics_reason(r, &o));
	assert_string_equal(pt_metrics_reason(PORTIER_R_DROP_SNAT_EXHAUSTED, &o), "snat_exhausted");
	assert_int_equal(o, PT_METRICS_DROP);
	assert_string_equal(pt_metrics_reason(PORTIER_R_PASS_NO_FLOW, &o), "no_flow");
	assert_int_equal(o, PT_METRICS_PASS);
	assert_string_equal(pt_metrics_reason(PORTIER_R_CT_EVICTED, &o), "ct_evicted");
	assert_int_equal(o, PT_METRICS_EVENT);
	assert_null(pt_metrics_reason(PORTIER_R_MAX, &o));
}

/* promtool's parser and linter agree with the text. */
static void test_promtool(void **state)
{
	struct pt_metrics_snapshot s = {};
	char path[] = "/tmp/portier-metrics-XXXXXX";
	char *t, *cmd;
	int fd, rc;

	(void)state;
	if (access(PROMTOOL, X_OK)) {
		printf("promtool not installed (Debian package prometheus): skipped\n");
		skip();
	}
	fill_snapshot(&s);
	fill_egress(&s);
	t = render(&s);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	assert_true(asprintf(&cmd, PROMTOOL " check metrics < %s", path) > 0);
	rc = system(cmd);
	unlink(path);
	free(cmd);
	free(t);
	pt_metrics_snapshot_clear(&s);
	assert_int_equal(rc, 0);
}

/* ---- server ------------------------------------------------------------ */

struct client {
	uint16_t port;
	const char *request;
	char resp[RESP_MAX];
	size_t len;
	atomic_bool done;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(c->port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
		    write(fd, c->request, strlen(c->request)) == (ssize_t)strlen(c->request))
			while (c->len < sizeof(c->resp) - 1 &&
			       (n = read(fd, c->resp + c->len, sizeof(c->resp) - 1 - c->len)) > 0)
				c->len += (size_t)n;
		close(fd);
	}
	c->resp[c->len] = '\0';
	atomic_store(&c->done, true);
	return NULL;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send request from a thread, serve from this one like the daemon's loop. */
static void roundtrip(struct pt_metrics_server *m, struct client *c, const char *request)
{
	struct pollfd p = { .fd = pt_metrics_server_fd(m), .events = POLLIN };
	uint64_t end = ms_now() + WAIT_MS;
	pthread_t th;

	memset(c, 0, sizeof(*c));
	c->port = pt_metrics_server_port(m);
	c->request = request;
	assert_true(p.fd >= 0);
	assert_int_equal(pthread_create(&th, NULL, client_main, c), 0);
	/* Served only when the fd is readable, as the daemon does. */
	while (!atomic_load(&c->done) && ms_now() < end)
		if (poll(&p, 1, 50) > 0)
			assert_int_equal(pt_metrics_server_run(m), 0);
	pthread_join(th, NULL);
}

struct fill_state {
	int calls;
	int err;
};

static int fill(void *arg, struct pt_metrics_snapshot *s)
{
	struct fill_state *fs = arg;

	fs->calls++;
	if (fs->err)
		return fs->err;
	fill_snapshot(s);
	return 0;
}

static void test_server(void **state)
{
	struct pt_metrics_server *m = NULL;
	struct fill_state fs = {};
	struct client *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(c);
	assert_int_equal(pt_metrics_server_start("127.0.0.1:0", NULL, fill, &fs, &m), 0);
	assert_true(pt_metrics_server_port(m) > 0);

	roundtrip(m, c, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
	assert_non_null(strstr(c->resp, " 200 OK\r\n"));
	assert_non_null(strstr(c->resp, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(c->resp, "\nportier_build_info{version=\"1.2.3\"} 1\n"));
	assert_non_null(strstr(c->resp,
			       "\nportier_route_connections_total{route=\"pgadmin4\"} 10\n"));
	assert_int_equal(fs.calls, 1);

	roundtrip(m, c, "GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(c->resp, " 404 "));
	assert_null(strstr(c->resp, "portier_build_info"));
	assert_int_equal(fs.calls, 1);

	fs.err = -ENOENT;
	roundtrip(m, c, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(c->resp, " 500 "));
	assert_non_null(strstr(c->resp, "cannot collect the metrics"));
	pt_metrics_server_stop(m);
	free(c);
}

/* ---- abuse: the request deadline and the per-address limit --------------- */

#define SLOW_DEADLINE_MS	300	/* request deadline in these tests */
#define DRIP_MS			100	/* a slow client sends a byte this often */

static int slow_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	/* Loopback: the kernel completes the handshake before accept(). */
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* 1 if the server closed fd (EOF or reset), 0 if it is open. */
static int closed_by_server(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Drive the server for at most ms; stop early once fd is closed. */
static void serve_for(struct pt_metrics_server *m, uint64_t ms, int fd)
{
	struct pollfd p = { .fd = pt_metrics_server_fd(m), .events = POLLIN };
	uint64_t end = ms_now() + ms;

	while (ms_now() < end && !(fd >= 0 && closed_by_server(fd)))
		if (poll(&p, 1, 10) > 0)
			assert_int_equal(pt_metrics_server_run(m), 0);
}

/* A client that sends its request line one byte every 100 ms never goes
 * idle, yet the server closes it at the deadline (libmicrohttpd's own
 * timeout, 1 s of silence here, would never fire); a scrape after it
 * counts the close. */
static void test_server_deadline(void **state)
{
	static const char drip[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
	struct pt_metrics_limits lim = { .conns = 16, .per_addr = 4,
					 .timeout_ms = SLOW_DEADLINE_MS };
	struct pt_metrics_server *m = NULL;
	struct client *c = calloc(1, sizeof(*c));
	struct fill_state fs = {};
	size_t sent = 0;
	uint64_t end;
	int fd;

	(void)state;
	assert_non_null(c);
	assert_int_equal(pt_metrics_server_start("127.0.0.1:0", &lim, fill, &fs, &m), 0);
	fd = slow_connect(pt_metrics_server_port(m));
	end = ms_now() + WAIT_MS;
	while (!closed_by_server(fd) && sent < sizeof(drip) - 1 && ms_now() < end) {
		if (send(fd, &drip[sent], 1, MSG_NOSIGNAL) == 1)
			sent++;
		serve_for(m, DRIP_MS, fd);
	}
	assert_true(closed_by_server(fd));
	/* Closed at the deadline, not when the line ran out. */
	assert_true(sent < sizeof(drip) - 1);
	assert_true(sent >= 2);
	close(fd);
	roundtrip(m, c, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(c->resp, "\nportier_metrics_deadline_closed_total 1\n"));
	assert_non_null(strstr(c->resp, "\nportier_metrics_connections 1\n"));
	pt_metrics_server_stop(m);
	free(c);
}

/* Over the per-address limit a connection is closed at once; those within
 * it stay until their deadline. */
static void test_server_per_addr(void **state)
{
	struct pt_metrics_limits lim = { .conns = 16, .per_addr = 2, .timeout_ms = WAIT_MS };
	struct pt_metrics_server *m = NULL;
	int fd[3];

	(void)state;
	assert_int_equal(pt_metrics_server_start("127.0.0.1:0", &lim, fill, NULL, &m), 0);
	for (int i = 0; i < 3; i++) {
		fd[i] = slow_connect(pt_metrics_server_port(m));
		serve_for(m, 50, -1);	/* accepted in order */
	}
	serve_for(m, WAIT_MS / 2, fd[2]);
	assert_true(closed_by_server(fd[2]));
	assert_false(closed_by_server(fd[0]));
	assert_false(closed_by_server(fd[1]));
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	pt_metrics_server_stop(m);
}

/* At the connection limit a new connection waits in the listen backlog;
 * when the slow ones are closed at their deadline it is served (the
 * server wakes itself to take the listen socket back). */
static void test_server_conn_limit(void **state)
{
	struct pt_metrics_limits lim = { .conns = 2, .per_addr = 16,
					 .timeout_ms = SLOW_DEADLINE_MS };
	struct pt_metrics_server *m = NULL;
	struct client *c = calloc(1, sizeof(*c));
	struct fill_state fs = {};
	int fd[2];

	(void)state;
	assert_non_null(c);
	assert_int_equal(pt_metrics_server_start("127.0.0.1:0", &lim, fill, &fs, &m), 0);
	for (int i = 0; i < 2; i++)
		fd[i] = slow_connect(pt_metrics_server_port(m));
	serve_for(m, 50, -1);
	roundtrip(m, c, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(c->resp, " 200 OK\r\n"));
	/* Served once a slot was free: one or both closed (their deadlines
	 * may fall in two different milliseconds). */
	assert_true(strstr(c->resp, "\nportier_metrics_deadline_closed_total 1\n") ||
		    strstr(c->resp, "\nportier_metrics_deadline_closed_total 2\n"));
	/* The other's deadline may come later (a loaded machine): served
	 * until it does, within the bound. */
	for (int i = 0; i < 2; i++) {
		serve_for(m, WAIT_MS, fd[i]);
		assert_true(closed_by_server(fd[i]));
		close(fd[i]);
	}
	pt_metrics_server_stop(m);
	free(c);
}

static void test_listen_parse(void **state)
{
	struct pt_metrics_server *m = NULL;

	(void)state;
	assert_int_equal(pt_metrics_server_start("127.0.0.1", NULL, fill, NULL, &m), -EINVAL);
	assert_int_equal(pt_metrics_server_start("127.0.0.1:65536", NULL, fill, NULL, &m), -EINVAL);
	assert_int_equal(pt_metrics_server_start("localhost:9100", NULL, fill, NULL, &m), -EINVAL);
	assert_int_equal(pt_metrics_server_start("127.0.0.1:x", NULL, fill, NULL, &m), -EINVAL);
	assert_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_server_deadline),
		cmocka_unit_test(test_server_per_addr),
		cmocka_unit_test(test_server_conn_limit),
		cmocka_unit_test(test_listen_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
