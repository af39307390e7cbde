// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * connlog.c - connection logs: consume the portier_connlog ring buffer,
 * make events for the flows the GC expires, format one HAProxy-like line
 * per connection, write it to stdout or syslog. docs/connlog.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "connlog.h"
#include "dataplane_int.h"
#include "portier_connlog.h"
#include "portier.skel.h"
#include "util.h"

#define NS_PER_SEC	1000000000LL
#define NS_PER_MS	1000000LL
#define MS_PER_SEC	1000
#define RING_MAX	(1U << 30)	/* largest ring buffer accepted, bytes */
#define SYSLOG_IDENT	"portier"
#define DATE_BUF	64		/* "06/Feb/2009:12:12:51" */

struct pt_connlog {
	struct pt_dataplane *dp;
	struct ring_buffer *rb;
	struct pt_connlog_opts o;
	int ncpu;
	__u64 lines;		/* lines written */
	__u64 lost_told;	/* lost events already told (pt_connlog_tick) */
	char **told;		/* route names told about httplog */
	size_t n_told;
};

int pt_connlog_parse_sink(const char *s, enum pt_connlog_sink *out)
{
	if (!strcmp(s, "stdout"))
		*out = PT_CONNLOG_STDOUT;
	else if (!strcmp(s, "syslog"))
		*out = PT_CONNLOG_SYSLOG;
	else
		return -EINVAL;
	return 0;
}

int pt_connlog_parse_ring(const char *s, __u32 *out)
{
	unsigned long page = sysconf(_SC_PAGESIZE), v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < page || v > RING_MAX || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

const char *pt_connlog_end_name(__u8 end)
{
	switch (end) {
	case PORTIER_END_FIN:
		return "fin";
	case PORTIER_END_RST_CLIENT:
		return "rst_client";
	case PORTIER_END_RST_SERVER:
		return "rst_server";
	case PORTIER_END_TIMEOUT:
		return "timeout";
	}
	return "?";
}

/* HAProxy's meaning: first letter who ended it (C client, S server, c/s
 * their timeout, - normally), second the phase (C connecting, D data). */
const char *pt_connlog_term_state(const struct portier_connlog_event *ev)
{
	bool replied = ev->flags & PORTIER_FLOW_F_SEEN_REPLY;

	switch (ev->end) {
	case PORTIER_END_FIN:
		return "--";
	case PORTIER_END_RST_CLIENT:
		return replied ? "CD" : "CC";
	case PORTIER_END_RST_SERVER:
		/* The RST itself was the only reply: refused. */
		return ev->packets[PORTIER_FLOW_DIR_REPLY] <= 1 ? "SC" : "SD";
	case PORTIER_END_TIMEOUT:
		if (ev->proto == IPPROTO_UDP || ev->proto == IPPROTO_ICMP)
			return "--";	/* datagrams (and echoes) end by going quiet */
		return replied ? "cD" : "sC";
	}
	return "??";
}

void pt_connlog_event_of(const struct portier_flow_key *k, const struct portier_flow *f,
			 const struct portier_flow *reply, __u8 end, __u64 end_ns,
			 struct portier_connlog_event *ev)
{
	portier_connlog_fill(ev, k, f, reply, end, end_ns);
}

void pt_connlog_event_of6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
			  const struct portier_flow6 *reply, __u8 end, __u64 end_ns,
			  struct portier_connlog_event *ev)
{
	portier_connlog_fill6(ev, k, f, reply, end, end_ns);
}

/* The client's "ADDR:PORT" as HAProxy's %ci:%cp writes it: the address
 * unbracketed even in IPv6 ("2001:db8::1:51234"; the port is the part
 * after the last colon), so that tcplog parsers read it. */
static const char *client_str(const struct portier_connlog_event *ev, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	struct pt_addr pa;

	addr_from_bpf(&ev->client, ev->family, &pa);
	snprintf(buf, len, "%s:%u", pt_addr_str(&pa, a, sizeof(a)), ntohs(ev->client_port));
	return buf;
}

/* Any other "ADDR:PORT" of the line: portier's own fields (the server
 * name's place, service=), bracketed in IPv6 as everywhere in portier. */
static const char *addrport_str(const struct portier_addr *a, __u8 family, __be16 port,
				char *buf, size_t len)
{
	struct pt_addr pa;

	addr_from_bpf(a, family, &pa);
	return pt_addrport_str(&pa, ntohs(port), buf, len);
}

int pt_connlog_format(const struct portier_connlog_event *ev, const char *route_name,
		      __s64 mono_to_real_ns, char *buf, size_t len)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char cli[PT_ADDRPORT_STRLEN], svc[PT_ADDRPORT_STRLEN], be[PT_ADDRPORT_STRLEN];
	char out[48], snat[8];
	/* A local backend's replies leave through the kernel, unseen by XDP:
	 * no reply counters, no SNAT port, nothing to say about Tc. */
	bool local = ev->flags & PORTIER_FLOW_F_LOCAL;
	__s64 start = (__s64)ev->start_ns + mono_to_real_ns;
	__s64 tt = ev->end_ns > ev->start_ns ? (__s64)(ev->end_ns - ev->start_ns) / NS_PER_MS : 0;
	time_t sec = start / NS_PER_SEC;
	struct tm tm;
	int n;

	if (local) {
		snprintf(out, sizeof(out), "-/-");
		snprintf(snat, sizeof(snat), "-");
	} else {
		snprintf(out, sizeof(out), "%" PRIu64 "/%" PRIu64,
			 (uint64_t)ev->packets[PORTIER_FLOW_DIR_REPLY],
			 (uint64_t)ev->bytes[PORTIER_FLOW_DIR_REPLY]);
		snprintf(snat, sizeof(snat), "%u", ntohs(ev->snat_port));
	}
	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	n = snprintf(buf, len,
		     "%s [%02d/%s/%04d:%02d:%02d:%02d.%03d] %s %s/%s 0/%d/%" PRId64
		     " %" PRIu64 " %s proto=%s end=%s in=%" PRIu64 "/%" PRIu64
		     " out=%s snat=%s service=%s%s",
		     client_str(ev, cli, sizeof(cli)),
		     tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (int)((start % NS_PER_SEC) / NS_PER_MS), route_name, route_name,
		     addrport_str(&ev->backend, ev->family, ev->backend_port, be, sizeof(be)),
		     local || (ev->flags & PORTIER_FLOW_F_SEEN_REPLY) ? 0 : -1, (int64_t)tt,
		     (uint64_t)ev->bytes[PORTIER_FLOW_DIR_REPLY], pt_connlog_term_state(ev),
		     ev->proto == IPPROTO_UDP ? "udp" : ev->proto == IPPROTO_ICMP ? "icmp" : "tcp",
		     pt_connlog_end_name(ev->end),
		     (uint64_t)ev->packets[PORTIER_FLOW_DIR_ORIG],
		     (uint64_t)ev->bytes[PORTIER_FLOW_DIR_ORIG],
		     out, snat,
		     addrport_str(&ev->service, ev->family, ev->service_port, svc, sizeof(svc)),
		     local ? " backend=local" : "");
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, ns: BPF times to dates. */
static __s64 mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((__s64)r.tv_sec - m.tv_sec) * NS_PER_SEC + (r.tv_nsec - m.tv_nsec);
}

/* An egress flow's "route": "egress:" and its rule's name from
 * portier_egress_rules ("egress#ID" if it is gone). */
static const char *egress_name(struct pt_connlog *cl, __u32 id, char *buf, size_t len)
{
	int fd = bpf_map__fd(pt_dp_skel(cl->dp)->maps.portier_egress_rules);
	struct portier_egress_rule r;

	if (!bpf_map_lookup_elem(fd, &id, &r) && (r.protos & PORTIER_EGRESS_F_USED)) {
		r.name[sizeof(r.name) - 1] = '\0';
		snprintf(buf, len, "egress:%s", r.name);
	} else {
		snprintf(buf, len, "egress#%u", id);
	}
	return buf;
}

/* Does egress rule id log its flows (PORTIER_EGRESS_F_LOG)? */
static bool egress_logs(struct pt_connlog *cl, __u32 id)
{
	int fd = bpf_map__fd(pt_dp_skel(cl->dp)->maps.portier_egress_rules);
	struct portier_egress_rule r;

	return !bpf_map_lookup_elem(fd, &id, &r) && (r.protos & PORTIER_EGRESS_F_LOG);
}

/* The route's name from portier_route_meta; "route#ID" if it is gone. */
static const char *route_name(struct pt_connlog *cl, __u32 id, char *buf, size_t len)
{
	struct portier_route_meta m;
	int fd = bpf_map__fd(pt_dp_skel(cl->dp)->maps.portier_route_meta);

	if (!bpf_map_lookup_elem(fd, &id, &m)) {
		m.name[sizeof(m.name) - 1] = '\0';
		snprintf(buf, len, "%s", m.name);
	} else {
		snprintf(buf, len, "route#%u", id);
	}
	return buf;
}

/* A local backend's flow keeps the service as its destination: name the
 * backend as configured (portier_backends) instead. */
static void local_backend(struct pt_connlog *cl, struct portier_connlog_event *ev)
{
	int fd = bpf_map__fd(pt_dp_skel(cl->dp)->maps.portier_backends);
	struct portier_backend be;
	__u32 id = ev->backend_id;

	if (!(ev->flags & PORTIER_FLOW_F_LOCAL) || bpf_map_lookup_elem(fd, &id, &be))
		return;
	ev->backend = be.addr;
	ev->backend_port = be.port;
}

static void write_line(struct pt_connlog *cl, const struct portier_connlog_event *event)
{
	char line[PT_CONNLOG_LINE_MAX], name[PORTIER_ROUTE_NAME_MAX + 16];
	struct portier_connlog_event e = *event;
	const struct portier_connlog_event *ev = &e;

	local_backend(cl, &e);
	if (ev->flags & PORTIER_FLOW_F_EGRESS)
		egress_name(cl, ev->route_id, name, sizeof(name));
	else
		route_name(cl, ev->route_id, name, sizeof(name));
	if (pt_connlog_format(ev, name, mono_to_real(), line, sizeof(line)) < 0)
		return;
	if (cl->o.sink == PT_CONNLOG_SYSLOG)
		syslog(LOG_INFO, "%s", line);
	else
		printf("%s\n", line);
	cl->lines++;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct portier_connlog_event ev;

	if (size < sizeof(ev))
		return 0;	/* not ours: skip, keep consuming */
	memcpy(&ev, data, sizeof(ev));
	if (ev.kind == PORTIER_CONNLOG_KIND_END)
		write_line(ctx, &ev);
	return 0;
}

/* Does an idle flow of these entries' flags (original, reply) and route
 * (or egress rule) id get its log line: a logging route's (egress
 * rule's), not logged yet? */
static bool gc_logs(struct pt_connlog *cl, __u8 flags, __u8 reply_flags, __u32 id)
{
	int fd = bpf_map__fd(pt_dp_skel(cl->dp)->maps.portier_routes);
	struct portier_route r;

	if ((flags | reply_flags) & PORTIER_FLOW_F_LOGGED)
		return false;
	if (flags & PORTIER_FLOW_F_EGRESS)	/* route_id is its egress rule */
		return egress_logs(cl, id);
	return !bpf_map_lookup_elem(fd, &id, &r) && (r.flags & PORTIER_ROUTE_F_LOG);
}

static void gc_write(struct pt_connlog *cl, const struct portier_connlog_event *ev)
{
	write_line(cl, ev);
	if (cl->o.sink == PT_CONNLOG_STDOUT)
		fflush(stdout);
}

/* pt_dp_gc hooks: a flow of a logging route (or egress rule), not logged
 * yet, went idle. */
static void on_gc(const struct portier_flow_key *k, const struct portier_flow *f,
		  const struct portier_flow *reply, __u64 last_ns, void *arg)
{
	struct portier_connlog_event ev;

	if (!gc_logs(arg, f->flags, reply ? reply->flags : 0, f->route_id))
		return;
	pt_connlog_event_of(k, f, reply, PORTIER_END_TIMEOUT, last_ns, &ev);
	gc_write(arg, &ev);
}

static void on_gc6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		   const struct portier_flow6 *reply, __u64 last_ns, void *arg)
{
	struct portier_connlog_event ev;

	if (!gc_logs(arg, f->flags, reply ? reply->flags : 0, f->route_id))
		return;
	pt_connlog_event_of6(k, f, reply, PORTIER_END_TIMEOUT, last_ns, &ev);
	gc_write(arg, &ev);
}

int pt_connlog_open(struct pt_dataplane *dp, const struct pt_connlog_opts *o,
		    struct pt_connlog **out)
{
	struct pt_connlog *cl = xcalloc(1, sizeof(*cl));
	int fd = bpf_map__fd(pt_dp_skel(dp)->maps.portier_connlog);
	int err;

	cl->dp = dp;
	cl->o = *o;
	cl->ncpu = libbpf_num_possible_cpus();
	if (cl->ncpu <= 0) {
		err = cl->ncpu ? cl->ncpu : -EINVAL;
		free(cl);
		return err;
	}
	cl->rb = ring_buffer__new(fd, on_event, cl, NULL);
	if (!cl->rb) {
		err = -errno;
		free(cl);
		return err;
	}
	if (cl->o.sink == PT_CONNLOG_SYSLOG)
		openlog(SYSLOG_IDENT, LOG_PID | LOG_NDELAY, LOG_LOCAL0);
	/* Lost before this consumer started (a previous daemon's) is not ours. */
	pt_connlog_counts(cl, NULL, &cl->lost_told);
	pt_dp_set_gc_hook(dp, on_gc, on_gc6, cl);
	*out = cl;
	return 0;
}

int pt_connlog_fd(const struct pt_connlog *cl)
{
	if (!cl)
		return -1;	/* poll(2) skips it */
	return ring_buffer__epoll_fd(cl->rb);
}

int pt_connlog_consume(struct pt_connlog *cl)
{
	int n;

	if (!cl)
		return 0;
	n = ring_buffer__consume(cl->rb);
	if (cl->o.sink == PT_CONNLOG_STDOUT)
		fflush(stdout);
	return n;
}

void pt_connlog_routes(struct pt_connlog *cl, const struct pt_routeset *rs)
{
	for (size_t i = 0; cl && rs && i < rs->n_routes; i++) {
		const struct pt_route *r = &rs->routes[i];
		bool told = false;

		if (!(r->options & PT_OPT_HTTPLOG))
			continue;
		for (size_t j = 0; j < cl->n_told && !told; j++)
			told = !strcmp(cl->told[j], r->name);
		if (told)
			continue;
		cl->told = xrealloc(cl->told, (cl->n_told + 1) * sizeof(*cl->told));
		cl->told[cl->n_told++] = xstrdup(r->name);
		if (cl->o.notice)
			cl->o.notice("route '%s': option httplog falls back to tcplog "
				     "(portier forwards at layer 4)", r->name);
	}
}

int pt_connlog_counts(struct pt_connlog *cl, __u64 *lines, __u64 *lost)
{
	int fd = bpf_map__fd(pt_dp_skel(cl->dp)->maps.portier_reasons);
	__u64 *v = xcalloc(cl->ncpu, sizeof(*v)), sum = 0;
	__u32 key = PORTIER_R_LOG_LOST;
	int err = 0;

	if (bpf_map_lookup_elem(fd, &key, v))
		err = -errno;
	for (int i = 0; i < cl->ncpu && !err; i++)
		sum += v[i];
	free(v);
	if (lines)
		*lines = cl->lines;
	if (lost)
		*lost = err ? 0 : sum;
	return err;
}

void pt_connlog_tick(struct pt_connlog *cl)
{
	__u64 lost;

	if (!cl || pt_connlog_counts(cl, NULL, &lost) || lost <= cl->lost_told)
		return;
	if (cl->o.notice)
		cl->o.notice("connection log: %" PRIu64 " events lost (ring buffer full); "
			     "a larger --log-ring helps", (uint64_t)(lost - cl->lost_told));
	cl->lost_told = lost;
}

void pt_connlog_close(struct pt_connlog *cl)
{
	if (!cl)
		return;
	ring_buffer__consume(cl->rb);
	if (cl->o.sink == PT_CONNLOG_STDOUT)
		fflush(stdout);
	else
		closelog();
	pt_dp_set_gc_hook(cl->dp, NULL, NULL, NULL);
	ring_buffer__free(cl->rb);
	for (size_t i = 0; i < cl->n_told; i++)
		free(cl->told[i]);
	free(cl->told);
	free(cl);
}
