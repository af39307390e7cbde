// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_connlog.c - connection log events of the XDP program through
 * BPF_PROG_TEST_RUN, in the private namespace of tests/lib/testnet.c:
 *   - a TCP connection of a tcplog route (SYN, SYN-ACK, data both ways, FIN
 *     both ways, last ACK, a retransmitted FIN) gives exactly one end event,
 *     at the second FIN, with both directions' exact counters;
 *   - the same on a route without logging gives none;
 *   - a client RST gives one event (rst_client), a later RST none;
 *   - a UDP flow of a logging route is logged by the daemon's GC when it
 *     expires (termination "timeout"), through pt_connlog; so is an IPv6
 *     flow of the IPv6 table, and one of a route without logging is not.
 * Needs root.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "connlog.h"
#include "ct_table.h"
#include "dataplane.h"
#include "pkt.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define BE1		"203.0.113.11"
#define TTL		64
#define CLIENT_PORT	41000
#define PORT_LOG	90	/* tcplog route */
#define PORT_NOLOG	91	/* no options */
#define PORT_UDP	92	/* UDP, httplog (falls back to tcplog) */
#define BE_PORT_LOG	30090
#define BE_PORT_NOLOG	30091
#define BE_PORT_UDP	30092
#define REQ_LEN		100	/* client payload bytes */
#define RESP_LEN	200	/* backend payload bytes */
#define UDP_TMO_S	1
#define UDP_WAIT_US	(2200 * 1000)

/* The connection log events read from the ring buffer. */
static struct xt_events events;

/* Events waiting now, into events.ev (counted from 0). */
static int drain(void)
{
	return xt_events_drain(&events);
}

static void route_init(struct pt_route *r, const char *name, uint16_t port, uint8_t proto,
		       unsigned int options, struct pt_backend *be, uint16_t be_port)
{
	memset(r, 0, sizeof(*r));
	memset(be, 0, sizeof(*be));
	be->weight = 1;
	r->name = (char *)name;
	r->mode = (char *)"tcp";
	r->addr = tn_addr(TN_GW_IN);
	r->port = port;
	r->proto = proto;
	r->options = options;
	be->addr = tn_addr(BE1);
	be->port = be_port;
	r->backends = be;
	r->n_backends = 1;
}

static void udp_timeout(struct portier_config *cfg)
{
	cfg->tmo_udp = UDP_TMO_S;
}

static int setup(void **state)
{
	struct pt_routeset rs = { .host = (char *)"gw" };
	struct pt_backend be[3];
	struct pt_route r[3];

	(void)state;
	if (xt_open("test_xdp_connlog", CLIENT_PORT, 2, udp_timeout))
		return -1;
	route_init(&r[0], "logweb", PORT_LOG, IPPROTO_TCP, PT_OPT_TCPLOG, &be[0], BE_PORT_LOG);
	route_init(&r[1], "nolog", PORT_NOLOG, IPPROTO_TCP, 0, &be[1], BE_PORT_NOLOG);
	route_init(&r[2], "logudp", PORT_UDP, IPPROTO_UDP, PT_OPT_HTTPLOG, &be[2], BE_PORT_UDP);
	rs.routes = r;
	rs.n_routes = 3;
	if (pt_dp_apply(xt.dp, &rs)) {
		fprintf(stderr, "test_xdp_connlog: setup: %s\n", pt_dp_last_error(xt.dp));
		return -1;
	}
	return xt_events_open(&events);
}

static int teardown(void **state)
{
	xt_events_close(&events);
	return xt_teardown(state);
}

/* One connection: the client's packets and the backend's answers. */
struct conn {
	struct pkt_spec c;	/* client -> service */
	struct pkt_spec b;	/* backend -> gateway (filled by conn_syn) */
	uint64_t bytes[2];	/* frame bytes sent, by PORTIER_FLOW_DIR_* */
	uint64_t packets[2];
};

static void conn_send(struct conn *k, int dir, uint8_t flags, size_t payload)
{
	struct pkt_spec *s = dir == PORTIER_FLOW_DIR_ORIG ? &k->c : &k->b;
	struct xt_run r;

	s->tcp_flags = flags;
	s->payload_len = payload;
	xt_forward(dir == PORTIER_FLOW_DIR_ORIG ? xt.if_in : xt.if_out, s, &r);
	k->packets[dir]++;
	k->bytes[dir] += PKT_ETH_LEN + PKT_IP_LEN + PKT_TCP_LEN + payload;
	if (dir == PORTIER_FLOW_DIR_ORIG && (flags & PKT_SYN)) {
		/* The backend answers the rewritten SYN. */
		memcpy(k->b.dmac, tn_mac_out, 6);
		memcpy(k->b.smac, tn_mac_be[0], 6);
		k->b.saddr = pkt_daddr(r.out);
		k->b.daddr = pkt_saddr(r.out);
		k->b.sport = pkt_dport(r.out);
		k->b.dport = pkt_sport(r.out);
		k->b.proto = IPPROTO_TCP;
		k->b.ttl = TTL;
	}
}

static void conn_syn(struct conn *k, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->c = xt_spec(tn_ip4(TN_CLIENT), tn_ip4(TN_GW_IN), xt.next_port++, port, IPPROTO_TCP, 0);
	conn_send(k, PORTIER_FLOW_DIR_ORIG, PKT_SYN, 0);
	conn_send(k, PORTIER_FLOW_DIR_REPLY, PKT_SYN | PKT_ACK, 0);
}

/* SYN, SYN-ACK, request, response, FIN both ways: the event comes with the
 * second FIN and carries exactly what was sent until then. */
static void full_conn(struct conn *k, uint16_t port)
{
	conn_syn(k, port);
	conn_send(k, PORTIER_FLOW_DIR_ORIG, PKT_ACK | PKT_PSH, REQ_LEN);
	conn_send(k, PORTIER_FLOW_DIR_REPLY, PKT_ACK | PKT_PSH, RESP_LEN);
	conn_send(k, PORTIER_FLOW_DIR_ORIG, PKT_FIN | PKT_ACK, 0);
	assert_int_equal(drain(), 0);	/* one FIN is not the end */
	conn_send(k, PORTIER_FLOW_DIR_REPLY, PKT_FIN | PKT_ACK, 0);
}

static void test_fin_both_ways(void **state)
{
	struct portier_connlog_event *ev = &events.ev[0];
	struct conn k;
	struct xt_run r;

	(void)state;
	assert_int_equal(drain(), 0);
	full_conn(&k, PORT_LOG);
	assert_int_equal(drain(), 1);
	assert_int_equal(ev->kind, PORTIER_CONNLOG_KIND_END);
	assert_int_equal(ev->end, PORTIER_END_FIN);
	assert_int_equal(ev->proto, IPPROTO_TCP);
	assert_int_equal(ev->route_id, pt_dp_route_id(xt.dp, "logweb"));
	assert_int_equal(ev->client.a32[0], tn_ip4(TN_CLIENT));
	assert_int_equal(ntohs(ev->client_port), k.c.sport);
	assert_int_equal(ev->service.a32[0], tn_ip4(TN_GW_IN));
	assert_int_equal(ntohs(ev->service_port), PORT_LOG);
	assert_int_equal(ev->backend.a32[0], tn_ip4(BE1));
	assert_int_equal(ntohs(ev->backend_port), BE_PORT_LOG);
	assert_int_equal(ntohs(ev->snat_port), k.b.dport);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(ev->packets[d], k.packets[d]);
		assert_int_equal(ev->bytes[d], k.bytes[d]);
	}
	assert_int_equal(ev->packets[PORTIER_FLOW_DIR_ORIG], 3);
	assert_int_equal(ev->bytes[PORTIER_FLOW_DIR_REPLY],
			 3 * (PKT_ETH_LEN + PKT_IP_LEN + PKT_TCP_LEN) + RESP_LEN);
	assert_true(ev->end_ns >= ev->start_ns && ev->start_ns > 0);
	assert_true(ev->flags & PORTIER_FLOW_F_SEEN_REPLY);

	/* The last ACK, a retransmitted FIN, a late RST: nothing more. */
	conn_send(&k, PORTIER_FLOW_DIR_ORIG, PKT_ACK, 0);
	conn_send(&k, PORTIER_FLOW_DIR_REPLY, PKT_FIN | PKT_ACK, 0);
	k.c.tcp_flags = PKT_RST;
	xt_forward(xt.if_in, &k.c, &r);
	assert_int_equal(drain(), 0);
}

static void test_no_log_route(void **state)
{
	struct conn k;

	(void)state;
	full_conn(&k, PORT_NOLOG);
	conn_send(&k, PORTIER_FLOW_DIR_ORIG, PKT_RST, 0);
	assert_int_equal(drain(), 0);
}

static void test_rst(void **state)
{
	struct conn k;

	(void)state;
	conn_syn(&k, PORT_LOG);
	conn_send(&k, PORTIER_FLOW_DIR_ORIG, PKT_ACK | PKT_PSH, REQ_LEN);
	conn_send(&k, PORTIER_FLOW_DIR_ORIG, PKT_RST | PKT_ACK, 0);
	assert_int_equal(drain(), 1);
	assert_int_equal(events.ev[0].end, PORTIER_END_RST_CLIENT);
	assert_int_equal(events.ev[0].packets[PORTIER_FLOW_DIR_ORIG], 3);
	assert_int_equal(events.ev[0].packets[PORTIER_FLOW_DIR_REPLY], 1);
	assert_string_equal(pt_connlog_term_state(&events.ev[0]), "CD");
	conn_send(&k, PORTIER_FLOW_DIR_REPLY, PKT_RST, 0);
	assert_int_equal(drain(), 0);
}

/* Idle UDP flows are the GC's to log, once, with both directions. */
static void test_gc_timeout(void **state)
{
	struct pkt_spec s = xt_spec(tn_ip4(TN_CLIENT), tn_ip4(TN_GW_IN), xt.next_port++, PORT_UDP,
				    IPPROTO_UDP, 0);
	struct pt_connlog_opts o = { .sink = PT_CONNLOG_STDOUT };
	struct pt_connlog *cl;
	__u64 lines = 1, lost = 1;
	size_t removed = 0;
	struct xt_run r;

	(void)state;
	s.payload_len = REQ_LEN;
	xt_forward(xt.if_in, &s, &r);
	xt_forward(xt.if_in, &s, &r);

	assert_int_equal(pt_connlog_open(xt.dp, &o, &cl), 0);
	assert_int_equal(pt_connlog_counts(cl, &lines, &lost), 0);
	assert_int_equal(lines, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(pt_connlog_consume(cl), 0);	/* nothing from BPF */
	assert_int_equal(pt_dp_gc(xt.dp, &removed), 0);
	assert_int_equal(removed, 0);			/* not idle yet */
	usleep(UDP_WAIT_US);
	assert_int_equal(pt_dp_gc(xt.dp, &removed), 0);
	assert_int_equal(removed, 2);			/* both entries */
	assert_int_equal(pt_connlog_counts(cl, &lines, NULL), 0);
	assert_int_equal(lines, 1);
	pt_connlog_close(cl);
}

/* Both entries of an IPv6 UDP flow of route route, idle for 5 s (NAT66:
 * [2001:db8:c::7]:cport -> [2001:db8::1]:PORT_UDP, to the backend
 * [2001:db8:b::2]:BE_PORT_UDP from [2001:db8:b::1]:cport). */
static void put_idle_flow6(const char *route, __u16 cport)
{
	struct portier_flow_key6 ko = { .sport = htons(cport), .dport = htons(PORT_UDP),
					.proto = IPPROTO_UDP };
	struct portier_flow_key6 kr = { .sport = htons(BE_PORT_UDP), .dport = htons(cport),
					.proto = IPPROTO_UDP };
	struct portier_flow6 fo = { .dir = PORTIER_FLOW_DIR_ORIG }, fr;
	struct timespec ts;
	int id = pt_dp_route_id(xt.dp, route);

	assert_true(id >= 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fo.route_id = (__u16)id;
	fo.last_seen = portier_tick(((__u64)ts.tv_sec - 5) * 1000000000ULL);
	fo.created_ns = ((__u64)ts.tv_sec - 6) * 1000000000ULL;
	fo.packets = 1;
	fo.bytes = 100;
	fr = fo;
	fr.dir = PORTIER_FLOW_DIR_REPLY;
	inet_pton(AF_INET6, "2001:db8:c::7", ko.saddr.a8);
	inet_pton(AF_INET6, "2001:db8::1", ko.daddr.a8);
	inet_pton(AF_INET6, "2001:db8:b::2", kr.saddr.a8);
	inet_pton(AF_INET6, "2001:db8:b::1", kr.daddr.a8);
	fo.nat_saddr = kr.daddr;
	fo.nat_daddr = kr.saddr;
	fo.nat_sport = kr.dport;
	fo.nat_dport = kr.sport;
	fr.nat_saddr = ko.daddr;
	fr.nat_daddr = ko.saddr;
	fr.nat_sport = ko.dport;
	fr.nat_dport = ko.sport;
	assert_int_equal(pt_ct6_insert(pt_dp_ct6(xt.dp), &ko, &fo), 0);
	assert_int_equal(pt_ct6_insert(pt_dp_ct6(xt.dp), &kr, &fr), 0);
}

/* Idle IPv6 flows too: one line for the logging route's, none for the
 * other's; both collected. */
static void test_gc_timeout6(void **state)
{
	struct pt_connlog_opts o = { .sink = PT_CONNLOG_STDOUT };
	struct pt_connlog *cl;
	__u64 lines = 1;
	size_t removed = 0;

	(void)state;
	assert_int_equal(pt_connlog_open(xt.dp, &o, &cl), 0);
	put_idle_flow6("logudp", 42001);
	put_idle_flow6("nolog", 42002);
	assert_int_equal(pt_dp_gc(xt.dp, &removed), 0);
	assert_int_equal(removed, 4);
	assert_int_equal(pt_connlog_counts(cl, &lines, NULL), 0);
	assert_int_equal(lines, 1);
	pt_connlog_close(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fin_both_ways),
		cmocka_unit_test(test_no_log_route),
		cmocka_unit_test(test_rst),
		cmocka_unit_test(test_gc_timeout),
		cmocka_unit_test(test_gc_timeout6),
	};

	return xt_run_group("test_xdp_connlog", tests, setup, teardown);
}
