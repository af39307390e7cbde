// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_sync.c - flow sync through BPF_PROG_TEST_RUN, in the private
 * namespace of tests/lib/testnet.c:
 *   - with portier_config.sync_on, a new SNAT flow sends one NEW event
 *     whose keys and entries are the table's own, byte for byte (NAT
 *     addresses and the SNAT port included); the SYN-ACK, the client's
 *     ACK and a FIN send FLAGS events with the bits they set, under the
 *     other entry's key; a closing flow restarted by a SYN sends DEL, then
 *     NEW; a new flow that evicts an embryonic flow from its full
 *     bucket sends DEL by the evicted key, then NEW; with sync_on clear,
 *     nothing;
 *   - the receiver (pt_flowsync_apply): a flow deleted here and written
 *     back from its record carries the backend's reply to the client as
 *     the original did; its SNAT port is held (a new flow to the backend
 *     whose cursor points at it takes the next one); a record never
 *     replaces a flow this host saw later; FLAGS and DEL apply to both
 *     entries; an egress flow's record writes egress entries (its kind,
 *     not this host's own bits);
 *   - the daemon's side (pt_flowsync) with a fake peer on loopback: a new
 *     peer gets the whole table (RESET first; the IPv6 table's flows too),
 *     a new flow (IPv4, IPv6) goes out as its FLOW record, an IPv6 flow
 *     the GC expires as a DEL, and 5 s later a flow active since then is refreshed
 *     (idle time about 0); a BACKUP made MASTER starts its egress port
 *     cursor past the newest egress flow's port it received.
 *   - IPv6 (a route written into the maps, its frames tail-called to
 *     portier_xdp6): the same NEW, FLAGS and DEL events with IPv6 keys and
 *     entries (kind | PORTIER_SYNC_EV_IPV6), byte for byte the IPv6
 *     table's; their records; a received IPv6 record writes both entries
 *     into the IPv6 table, and the backend's reply goes on to the client;
 *     FLAGS and DEL records apply to both entries.
 * Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
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

#include "ct_table.h"
#include "dataplane.h"
#include "flowsync.h"
#include "pkt.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

#define BE1		"203.0.113.11"
#define CLIENT_PORT	42000
#define PORT_SNAT	95
#define BE_PORT		30095
#define MAX_EVENTS	16
#define PORT_SNAT6	96
#define BE6		"2001:db8:2::11"	/* tn6_be_addr[0]: tn_mac_be[0] */
#define BE_PORT6	30096
#define R6_ID		300	/* the IPv6 route's id (the apply's start at 0) */
#define BE6_ID		60000
#define HOPS		64

/* The sync events read from the ring buffer, whole. */
static struct {
	struct ring_buffer *rb;
	__u8 ev[MAX_EVENTS][sizeof(struct portier_sync_new6)];
	size_t size[MAX_EVENTS];
	int n;
} events;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (events.n < MAX_EVENTS && size <= sizeof(events.ev[0])) {
		memcpy(events.ev[events.n], data, size);
		events.size[events.n] = size;
	}
	events.n++;
	return 0;
}

static int drain(void)
{
	events.n = 0;
	assert_true(ring_buffer__consume(events.rb) >= 0);
	return events.n;
}

static void sync_on(struct portier_config *cfg)
{
	cfg->sync_on = 1;
	assert_true(pkt6_addr(TN6_GW_OUT, cfg->snat_addr6.a8));	/* NAT66's source */
}

/* The IPv6 route (R6_ID, written into the maps: the route model's IPv6
 * routes are another test's): [TN6_GW_IN]:PORT_SNAT6 TCP snat ->
 * [BE6]:BE_PORT6, backend id BE6_ID. */
static void put_route6(void)
{
	struct portier_route *rt = calloc(1, sizeof(*rt));
	struct portier_svc_key k = { .port = htons(PORT_SNAT6), .proto = IPPROTO_TCP,
				     .family = PORTIER_AF_INET6 };
	struct portier_svc sv = { .route_id = R6_ID };
	struct portier_backend b = { .family = PORTIER_AF_INET6, .port = htons(BE_PORT6),
				     .flags = PORTIER_BACKEND_F_USED, .route_id = R6_ID };
	int pfd = bpf_map__fd(xt.skel->maps.portier_ports);
	__u32 id = BE6_ID, rid = R6_ID, one = 1, port;
	struct portier_port pv;
	struct portier_addr local;

	assert_non_null(rt);
	rt->n_active = 1;
	rt->active[0] = id;
	assert_true(pkt6_addr(BE6, b.addr.a8));
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_backends), &id, &b,
					     BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_routes), &rid, rt,
					     BPF_ANY), 0);
	free(rt);
	assert_true(pkt6_addr(TN6_GW_IN, k.addr.a8));
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_services), &k, &sv,
					     BPF_ANY), 0);
	port = PORT_SNAT6;
	assert_int_equal(bpf_map_lookup_elem(pfd, &port, &pv), 0);
	pv.flags |= PORTIER_PORT_SVC_TCP;
	assert_int_equal(bpf_map_update_elem(pfd, &port, &pv, BPF_ANY), 0);
	port = BE_PORT6;
	assert_int_equal(bpf_map_lookup_elem(pfd, &port, &pv), 0);
	pv.flags |= PORTIER_PORT_BE_TCP;
	assert_int_equal(bpf_map_update_elem(pfd, &port, &pv, BPF_ANY), 0);
	memcpy(local.a8, k.addr.a8, 16);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_local6), &local,
					     &one, BPF_ANY), 0);
}

static void set_sync(bool on)
{
	struct portier_config cfg = *pt_dp_config(xt.dp);

	cfg.sync_on = on;
	assert_int_equal(pt_dp_set_config(xt.dp, &cfg), 0);
}

static int setup(void **state)
{
	struct pt_routeset rs = { .host = (char *)"gw" };
	struct pt_backend be;
	struct pt_route r;

	(void)state;
	if (xt_open("test_xdp_sync", CLIENT_PORT, 2, sync_on))
		return -1;
	memset(&r, 0, sizeof(r));
	memset(&be, 0, sizeof(be));
	be.weight = 1;
	be.addr = tn_addr(BE1);
	be.port = BE_PORT;
	r.name = (char *)"web";
	r.mode = (char *)"tcp";
	r.addr = tn_addr(TN_GW_IN);
	r.port = PORT_SNAT;
	r.proto = IPPROTO_TCP;
	r.backends = &be;
	r.n_backends = 1;
	rs.routes = &r;
	rs.n_routes = 1;
	if (pt_dp_apply(xt.dp, &rs)) {
		fprintf(stderr, "test_xdp_sync: setup: %s\n", pt_dp_last_error(xt.dp));
		return -1;
	}
	put_route6();
	events.rb = ring_buffer__new(bpf_map__fd(xt.skel->maps.portier_sync), on_event, NULL,
				     NULL);
	return events.rb ? 0 : -1;
}

static int teardown(void **state)
{
	ring_buffer__free(events.rb);
	return xt_teardown(state);
}

/* A client's SYN, forwarded: the client's spec in *c, the backend's
 * answer to it in *b. */
static void syn(struct pkt_spec *c, struct pkt_spec *b)
{
	struct xt_run r;
	int be;

	*c = xt_client_spec(PORT_SNAT, IPPROTO_TCP, PKT_SYN);
	xt_forward(xt.if_in, c, &r);
	*b = xt_reply_spec_of(r.out, PKT_SYN | PKT_ACK, &be);
	assert_int_equal(be, 0);
}

static struct portier_flow_key key_of(const struct pkt_spec *s)
{
	struct portier_flow_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = s->saddr;
	k.daddr = s->daddr;
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	return k;
}

/* Event i, a small one of kind, on key k with bits. */
static void assert_small(int i, __u8 kind, const struct portier_flow_key *k, __u8 bits)
{
	const struct portier_sync_small *ev = (const void *)events.ev[i];

	assert_int_equal(events.size[i], sizeof(*ev));
	assert_int_equal(ev->kind, kind);
	assert_int_equal(ev->bits, bits);
	assert_memory_equal(&ev->key, k, sizeof(*k));
}

static void test_new_flow_event(void **state)
{
	const struct portier_sync_new *ev = (const void *)events.ev[0];
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_flow_key k, rk;
	struct portier_flow o, rv;
	struct pkt_spec c, b;
	struct xt_run r;

	(void)state;
	drain();
	syn(&c, &b);
	assert_int_equal(drain(), 1);
	assert_int_equal(events.size[0], sizeof(*ev));
	assert_int_equal(ev->kind, PORTIER_SYNC_EV_NEW);
	k = key_of(&c);
	rk = key_of(&b);
	assert_memory_equal(&ev->key, &k, sizeof(k));
	assert_memory_equal(&ev->rkey, &rk, sizeof(rk));
	/* The NAT addresses and ports: to the backend from the SNAT address
	 * and port; back to the client from the service. */
	assert_int_equal(ev->orig.nat_saddr, xt_ip4(TN_GW_OUT));
	assert_int_equal(ev->orig.nat_daddr, xt_ip4(BE1));
	assert_int_equal(ntohs(ev->orig.nat_dport), BE_PORT);
	assert_int_equal(ev->orig.nat_sport, rk.dport);
	assert_int_equal(ev->reply.nat_saddr, xt_ip4(TN_GW_IN));
	assert_int_equal(ntohs(ev->reply.nat_sport), PORT_SNAT);
	assert_int_equal(ev->reply.nat_daddr, xt_ip4(TN_CLIENT));
	assert_int_equal(ev->reply.nat_dport, k.sport);
	assert_int_equal(ev->orig.dir, PORTIER_FLOW_DIR_ORIG);
	assert_int_equal(ev->reply.dir, PORTIER_FLOW_DIR_REPLY);
	assert_int_equal(ev->orig.route_id, pt_dp_route_id(xt.dp, "web"));
	/* Byte for byte the entries the table holds. */
	assert_true(pt_ct_lookup(ct, &k, &o));
	assert_true(pt_ct_lookup(ct, &rk, &rv));
	assert_memory_equal(&ev->orig, &o, sizeof(o));
	assert_memory_equal(&ev->reply, &rv, sizeof(rv));

	/* SYN-ACK: seen reply, under the original entry's key. */
	xt_forward(xt.if_out, &b, &r);
	assert_int_equal(drain(), 1);
	assert_small(0, PORTIER_SYNC_EV_FLAGS, &k, PORTIER_FLOW_F_SEEN_REPLY);
	/* The client's ACK: assured, under the reply entry's key. */
	c.tcp_flags = PKT_ACK;
	xt_forward(xt.if_in, &c, &r);
	assert_int_equal(drain(), 1);
	assert_small(0, PORTIER_SYNC_EV_FLAGS, &rk, PORTIER_FLOW_F_ASSURED);
	/* Data: nothing. */
	c.tcp_flags = PKT_ACK | PKT_PSH;
	c.payload_len = 10;
	xt_forward(xt.if_in, &c, &r);
	assert_int_equal(drain(), 0);
	/* FIN: closing. */
	c.tcp_flags = PKT_ACK | PKT_FIN;
	c.payload_len = 0;
	xt_forward(xt.if_in, &c, &r);
	assert_int_equal(drain(), 1);
	assert_small(0, PORTIER_SYNC_EV_FLAGS, &rk, PORTIER_FLOW_F_CLOSING);
	/* A new SYN on the closing flow: it is deleted (DEL, by the key the
	 * packet found), then made again (NEW). */
	c.tcp_flags = PKT_SYN;
	xt_forward(xt.if_in, &c, &r);
	assert_int_equal(drain(), 2);
	assert_small(0, PORTIER_SYNC_EV_DEL, &k, 0);
	assert_int_equal(((const struct portier_sync_new *)events.ev[1])->kind,
			 PORTIER_SYNC_EV_NEW);
}

static void test_sync_off(void **state)
{
	struct pkt_spec c, b;
	struct xt_run r;

	(void)state;
	set_sync(false);
	drain();
	syn(&c, &b);
	xt_forward(xt.if_out, &b, &r);
	assert_int_equal(drain(), 0);
	set_sync(true);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* A flow made here, its record, and the flow gone from the table (as on
 * the BACKUP, which never saw it). */
static void flow_and_record(struct pkt_spec *c, struct pkt_spec *b, struct pt_fs_rec *rec)
{
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_flow_key k, rk;
	struct xt_run r;

	drain();
	syn(c, b);
	assert_int_equal(drain(), 1);
	assert_true(pt_flowsync_rec_of_new((const void *)events.ev[0], rec));
	xt_forward(xt.if_out, b, &r);	/* SYN-ACK */
	rec->flags |= PORTIER_FLOW_F_SEEN_REPLY;
	k = key_of(c);
	rk = key_of(b);
	assert_int_equal(pt_ct_delete(ct, &k), 0);
	assert_int_equal(pt_ct_delete(ct, &rk), 0);
	drain();
}

static void test_apply_carries_flow(void **state)
{
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct pt_flowsync_counts cnt = {};
	struct portier_flow_key k, rk;
	struct pt_fs_rec rec;
	struct pkt_spec c, b;
	struct portier_flow o;
	struct xt_run r;

	(void)state;
	flow_and_record(&c, &b, &rec);
	/* The client's ACK finds no flow: the table lost it. */
	c.tcp_flags = PKT_ACK;
	xt_run_spec(xt.if_in, &c, &r);
	assert_int_equal(r.ret, XDP_PASS);

	rec.age_ms = 500;
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.inserted, 1);
	k = key_of(&c);
	rk = key_of(&b);
	assert_true(pt_ct_lookup(ct, &k, &o));
	assert_int_equal(o.flags, PORTIER_FLOW_F_SEEN_REPLY);
	assert_int_equal(o.tx_ifindex, 0);	/* no next hop of the sender's */
	assert_true(pt_ct_lookup(ct, &rk, NULL));
	/* Both directions go on as before. */
	xt_forward(xt.if_in, &c, &r);
	assert_int_equal(pkt_saddr(r.out), xt_ip4(TN_GW_OUT));
	assert_int_equal(pkt_sport(r.out), b.dport);
	b.tcp_flags = PKT_ACK | PKT_PSH;
	b.payload_len = 20;
	xt_forward(xt.if_out, &b, &r);
	assert_int_equal(pkt_daddr(r.out), xt_ip4(TN_CLIENT));
	assert_int_equal(pkt_dport(r.out), c.sport);
	assert_int_equal(pkt_saddr(r.out), xt_ip4(TN_GW_IN));
	assert_int_equal(pkt_sport(r.out), PORT_SNAT);
	assert_true(pt_ct_lookup(ct, &k, &o));
	assert_true(o.flags & PORTIER_FLOW_F_ASSURED);	/* the client's ACK */

	/* The same record again: held already, nothing replaced. */
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.inserted, 1);
	assert_int_equal(cnt.refreshed, 1);

	/* FLAGS by the reply key: both entries; DEL: both gone. */
	memset(&rec, 0, sizeof(rec));
	rec.kind = PT_FS_REC_FLAGS;
	rec.flags = PORTIER_FLOW_F_CLOSING;
	rec.key = rk;
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.flags, 1);
	assert_true(pt_ct_lookup(ct, &k, &o));
	assert_true(o.flags & PORTIER_FLOW_F_CLOSING);
	assert_true(pt_ct_lookup(ct, &rk, &o));
	assert_true(o.flags & PORTIER_FLOW_F_CLOSING);
	rec.kind = PT_FS_REC_DEL;
	rec.key = k;
	rec.age_ms = 0;
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.deleted, 1);
	assert_false(pt_ct_lookup(ct, &k, NULL));
	assert_false(pt_ct_lookup(ct, &rk, NULL));
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.refused[PT_FLOWSYNC_REF_UNKNOWN], 1);
}

/* A FLOW record carries the flow's kind (PORTIER_SYNC_KIND): an egress
 * flow's entries are written as egress ones (its route id is its rule,
 * its next hop is not a backend's). */
/* ---- IPv6 flows --------------------------------------------------------- */

/* A client's IPv6 TCP segment: [TN6_CLIENT]:sport -> [TN6_GW_IN]:PORT_SNAT6. */
static struct pkt6_spec client6(uint16_t sport, uint8_t flags)
{
	struct pkt6_spec c = { .sport = sport, .dport = PORT_SNAT6, .proto = IPPROTO_TCP,
			       .hop_limit = HOPS, .tcp_flags = flags };

	memcpy(c.dmac, tn_mac_in, 6);
	memcpy(c.smac, tn_mac_client, 6);
	assert_true(pkt6_addr(TN6_CLIENT, c.saddr));
	assert_true(pkt6_addr(TN6_GW_IN, c.daddr));
	return c;
}

/* The backend's IPv6 segment to the NAT66 address and port snat_port. */
static struct pkt6_spec backend6(uint16_t snat_port, uint8_t flags)
{
	struct pkt6_spec b = { .sport = BE_PORT6, .dport = snat_port, .proto = IPPROTO_TCP,
			       .hop_limit = HOPS, .tcp_flags = flags };

	memcpy(b.dmac, tn_mac_out, 6);
	memcpy(b.smac, tn_mac_be[0], 6);
	assert_true(pkt6_addr(BE6, b.saddr));
	assert_true(pkt6_addr(TN6_GW_OUT, b.daddr));
	return b;
}

/* Run IPv6 frame s on ifindex (through portier_xdp's tail call): a
 * redirect. */
static void forward6(int ifindex, const struct pkt6_spec *s, struct xt_run *r)
{
	uint8_t in[PKT_MAX];

	xt_run(ifindex, in, pkt6_build(s, in), r);
	assert_int_equal(r->ret, XDP_REDIRECT);
}

static struct portier_flow_key6 key6_of(const struct pkt6_spec *s)
{
	struct portier_flow_key6 k;

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr.a8, s->saddr, 16);
	memcpy(k.daddr.a8, s->daddr, 16);
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	return k;
}

/* Event i, an IPv6 small one of kind (without the IPv6 bit), on key k
 * with bits. */
static void assert_small6(int i, __u8 kind, const struct portier_flow_key6 *k, __u8 bits)
{
	const struct portier_sync_small6 *ev = (const void *)events.ev[i];

	assert_int_equal(events.size[i], sizeof(*ev));
	assert_int_equal(ev->kind, kind | PORTIER_SYNC_EV_IPV6);
	assert_int_equal(ev->bits, bits);
	assert_int_equal(ev->pad[0] | ev->pad[1], 0);
	assert_memory_equal(&ev->key, k, sizeof(*k));
}

/* A new IPv6 flow (a SYN to the IPv6 route, tail-called to portier_xdp6):
 * its client's spec in *c, its reply key in *rk. One NEW event, checked
 * against the table byte for byte; returns the SNAT port (host order). */
static uint16_t syn6(struct pkt6_spec *c, struct portier_flow_key6 *rk)
{
	const struct portier_sync_new6 *ev = (const void *)events.ev[0];
	struct pt_ct *ct6 = pt_dp_ct6(xt.dp);
	struct portier_flow_key6 k;
	struct portier_flow6 o, rv;
	struct portier_addr a;
	struct xt_run r;
	uint16_t port;

	drain();
	*c = client6(xt.next_port++, PKT_SYN);
	forward6(xt.if_in, c, &r);
	port = pkt_get16(r.out + PKT6_L4);
	assert_int_equal(drain(), 1);
	assert_int_equal(events.size[0], sizeof(*ev));
	assert_int_equal(ev->kind, PORTIER_SYNC_EV_NEW | PORTIER_SYNC_EV_IPV6);
	for (int i = 0; i < 7; i++)
		assert_int_equal(ev->pad[i], 0);
	k = key6_of(c);
	*rk = key6_of(&(struct pkt6_spec){ .proto = IPPROTO_TCP, .sport = BE_PORT6,
					   .dport = port });
	assert_true(pkt6_addr(BE6, rk->saddr.a8));
	assert_true(pkt6_addr(TN6_GW_OUT, rk->daddr.a8));
	assert_memory_equal(&ev->key, &k, sizeof(k));
	assert_memory_equal(&ev->rkey, rk, sizeof(*rk));
	/* To the backend from the NAT66 address and port; back to the
	 * client from the service. */
	assert_memory_equal(&ev->orig.nat_saddr, &rk->daddr, 16);
	assert_memory_equal(&ev->orig.nat_daddr, &rk->saddr, 16);
	assert_int_equal(ev->orig.nat_sport, rk->dport);
	assert_int_equal(ntohs(ev->orig.nat_dport), BE_PORT6);
	assert_true(pkt6_addr(TN6_GW_IN, a.a8));
	assert_memory_equal(&ev->reply.nat_saddr, &a, 16);
	assert_memory_equal(&ev->reply.nat_daddr, &k.saddr, 16);
	assert_int_equal(ev->reply.nat_dport, k.sport);
	assert_int_equal(ev->orig.dir, PORTIER_FLOW_DIR_ORIG);
	assert_int_equal(ev->reply.dir, PORTIER_FLOW_DIR_REPLY);
	assert_int_equal(ev->orig.route_id, R6_ID);
	assert_int_equal(ev->orig.backend_id, BE6_ID);
	/* Byte for byte the IPv6 table's entries. */
	assert_true(pt_ct6_lookup(ct6, &k, &o));
	assert_true(pt_ct6_lookup(ct6, rk, &rv));
	assert_memory_equal(&ev->orig, &o, sizeof(o));
	assert_memory_equal(&ev->reply, &rv, sizeof(rv));
	return port;
}

/* The IPv6 program's events: NEW, FLAGS under the other entry's key as
 * the handshake and the FIN set bits, DEL then NEW when a SYN restarts a
 * closing flow; the daemon's record of NEW is an IPv6 FLOW record. */
static void test_new_flow6_event(void **state)
{
	struct portier_flow_key6 k, rk;
	struct pt_fs_rec rec;
	struct pkt6_spec c, b;
	struct xt_run r;
	uint16_t port;
	bool skipped = true;

	(void)state;
	port = syn6(&c, &rk);
	k = key6_of(&c);
	assert_true(pt_flowsync_rec_of_event(events.ev[0], events.size[0], &rec, &skipped));
	assert_false(skipped);
	assert_true(rec.ipv6);
	assert_int_equal(rec.kind, PT_FS_REC_FLOW);
	assert_memory_equal(&rec.key6, &k, sizeof(k));
	assert_memory_equal(&rec.rkey6, &rk, sizeof(rk));
	assert_memory_equal(&rec.o_saddr6, &rk.daddr, 16);
	assert_int_equal(rec.o_sport, rk.dport);
	assert_int_equal(rec.key.saddr, 0);		/* the IPv4 fields unused */

	/* SYN-ACK: seen reply, under the original entry's key. */
	b = backend6(port, PKT_SYN | PKT_ACK);
	forward6(xt.if_out, &b, &r);
	assert_int_equal(drain(), 1);
	assert_small6(0, PORTIER_SYNC_EV_FLAGS, &k, PORTIER_FLOW_F_SEEN_REPLY);
	assert_true(pt_flowsync_rec_of_event(events.ev[0], events.size[0], &rec, &skipped));
	assert_true(rec.ipv6);
	assert_int_equal(rec.kind, PT_FS_REC_FLAGS);
	assert_int_equal(rec.flags, PORTIER_FLOW_F_SEEN_REPLY);
	assert_memory_equal(&rec.key6, &k, sizeof(k));
	/* The client's ACK: assured, under the reply entry's key. */
	c.tcp_flags = PKT_ACK;
	forward6(xt.if_in, &c, &r);
	assert_int_equal(drain(), 1);
	assert_small6(0, PORTIER_SYNC_EV_FLAGS, &rk, PORTIER_FLOW_F_ASSURED);
	/* Data: nothing. */
	c.tcp_flags = PKT_ACK | PKT_PSH;
	c.payload_len = 10;
	forward6(xt.if_in, &c, &r);
	assert_int_equal(drain(), 0);
	/* FIN: closing. */
	c.tcp_flags = PKT_ACK | PKT_FIN;
	c.payload_len = 0;
	forward6(xt.if_in, &c, &r);
	assert_int_equal(drain(), 1);
	assert_small6(0, PORTIER_SYNC_EV_FLAGS, &rk, PORTIER_FLOW_F_CLOSING);
	/* A new SYN on the closing flow: DEL by the key it found, then NEW. */
	c.tcp_flags = PKT_SYN;
	forward6(xt.if_in, &c, &r);
	assert_int_equal(drain(), 2);
	assert_small6(0, PORTIER_SYNC_EV_DEL, &k, 0);
	assert_true(pt_flowsync_rec_of_event(events.ev[0], events.size[0], &rec, &skipped));
	assert_int_equal(rec.kind, PT_FS_REC_DEL);
	assert_true(rec.ipv6);
	assert_int_equal(events.ev[1][0], PORTIER_SYNC_EV_NEW | PORTIER_SYNC_EV_IPV6);
	/* With sync off: nothing. */
	set_sync(false);
	c = client6(xt.next_port++, PKT_SYN);
	forward6(xt.if_in, &c, &r);
	assert_int_equal(drain(), 0);
	set_sync(true);
}

/* An IPv6 flow lost here and written back from its record (as on the
 * BACKUP): both entries in the IPv6 table, the IPv4 table untouched; the
 * backend's reply reaches the client as before; a FLAGS record sets bits
 * on both entries, a DEL deletes both. */
static void test_apply6_carries_flow(void **state)
{
	struct pt_ct *ct6 = pt_dp_ct6(xt.dp);
	struct pt_flowsync_counts cnt = {};
	struct portier_flow_key6 k, rk;
	struct portier_flow6 o, rv;
	struct pt_fs_rec rec, small;
	struct pkt6_spec c, b;
	size_t n4 = pt_ct_count(pt_dp_ct(xt.dp));
	struct xt_run r;
	uint16_t port;
	bool skipped;

	(void)state;
	port = syn6(&c, &rk);
	k = key6_of(&c);
	assert_true(pt_flowsync_rec_of_event(events.ev[0], events.size[0], &rec, &skipped));
	assert_int_equal(pt_ct6_delete(ct6, &k), 0);
	assert_int_equal(pt_ct6_delete(ct6, &rk), 0);
	/* The backend's answer finds no flow: passed. */
	b = backend6(port, PKT_SYN | PKT_ACK);
	{
		uint8_t in[PKT_MAX];

		xt_run(xt.if_out, in, pkt6_build(&b, in), &r);
		assert_int_equal(r.ret, XDP_PASS);
	}

	rec.age_ms = 300;
	pt_flowsync_apply6(ct6, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.inserted, 1);
	assert_int_equal(pt_ct_count(pt_dp_ct(xt.dp)), n4);
	assert_true(pt_ct6_lookup(ct6, &k, &o));
	assert_true(pt_ct6_lookup(ct6, &rk, &rv));
	assert_int_equal(o.dir, PORTIER_FLOW_DIR_ORIG);
	assert_int_equal(rv.dir, PORTIER_FLOW_DIR_REPLY);
	assert_memory_equal(&o.nat_saddr, &rk.daddr, 16);
	assert_memory_equal(&o.nat_daddr, &rk.saddr, 16);
	assert_int_equal(o.nat_sport, rk.dport);
	assert_memory_equal(&rv.nat_daddr, &k.saddr, 16);
	assert_int_equal(rv.nat_dport, k.sport);
	assert_int_equal(o.route_id, R6_ID);
	assert_int_equal(o.backend_id, BE6_ID);
	assert_int_equal(o.tx_ifindex, 0);
	/* The same record again: held already, refreshed. */
	pt_flowsync_apply6(ct6, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.refreshed, 1);
	assert_int_equal(cnt.inserted, 1);
	/* The backend's reply goes to the client, from the service. */
	forward6(xt.if_out, &b, &r);
	assert_memory_equal(r.out + PKT6_DADDR, c.saddr, 16);
	assert_memory_equal(r.out + PKT6_SADDR, c.daddr, 16);
	assert_int_equal(pkt_get16(r.out + PKT6_L4), PORT_SNAT6);
	assert_int_equal(pkt_get16(r.out + PKT6_L4 + 2), c.sport);
	assert_true(pkt6_l4_csum_ok(r.out, r.out_len));
	drain();

	/* FLAGS (closing) by the reply key: both entries. */
	memset(&small, 0, sizeof(small));
	small.kind = PT_FS_REC_FLAGS;
	small.ipv6 = true;
	small.flags = PORTIER_FLOW_F_CLOSING;
	small.key6 = rk;
	pt_flowsync_apply6(ct6, &small, mono_ns(), &cnt);
	assert_int_equal(cnt.flags, 1);
	assert_true(pt_ct6_lookup(ct6, &k, &o));
	assert_true(pt_ct6_lookup(ct6, &rk, &rv));
	assert_true(o.flags & PORTIER_FLOW_F_CLOSING);
	assert_true(rv.flags & PORTIER_FLOW_F_CLOSING);
	/* DEL by the original key, idle longer than this host saw it: kept
	 * (newer here); idle 0: both entries go. */
	small.kind = PT_FS_REC_DEL;
	small.flags = 0;
	small.key6 = k;
	small.age_ms = 60000;
	pt_flowsync_apply6(ct6, &small, mono_ns(), &cnt);
	assert_int_equal(cnt.refused[PT_FLOWSYNC_REF_NEWER], 1);
	assert_true(pt_ct6_lookup(ct6, &k, NULL));
	small.age_ms = 0;
	pt_flowsync_apply6(ct6, &small, mono_ns() + 2000000000ULL, &cnt);
	assert_int_equal(cnt.deleted, 1);
	assert_false(pt_ct6_lookup(ct6, &k, NULL));
	assert_false(pt_ct6_lookup(ct6, &rk, NULL));
	/* Of a flow not held: unknown. */
	pt_flowsync_apply6(ct6, &small, mono_ns(), &cnt);
	assert_int_equal(cnt.refused[PT_FLOWSYNC_REF_UNKNOWN], 1);
}

static void test_apply_keeps_kind(void **state)
{
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct pt_flowsync_counts cnt = {};
	struct portier_flow_key k, rk;
	struct pt_fs_rec rec;
	struct pkt_spec c, b;
	struct portier_flow o;

	(void)state;
	flow_and_record(&c, &b, &rec);
	rec.flags |= PORTIER_FLOW_F_EGRESS | PORTIER_FLOW_F_LOGGED;	/* not LOGGED */
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.inserted, 1);
	k = key_of(&c);
	rk = key_of(&b);
	assert_true(pt_ct_lookup(ct, &k, &o));
	assert_int_equal(o.flags, PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_EGRESS);
	assert_true(pt_ct_lookup(ct, &rk, &o));
	assert_int_equal(o.flags, PORTIER_FLOW_F_SEEN_REPLY | PORTIER_FLOW_F_EGRESS);
	assert_int_equal(pt_ct_delete(ct, &k), 0);
	assert_int_equal(pt_ct_delete(ct, &rk), 0);
}

/* A synced flow's SNAT port is held: the allocator skips it. */
static void test_snat_port_held(void **state)
{
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct pt_flowsync_counts cnt = {};
	const struct portier_config *cfg = pt_dp_config(xt.dp);
	struct pt_addr be1 = tn_addr(BE1);
	__u32 backend = (__u32)pt_dp_backend_id(xt.dp, "web", &be1, BE_PORT), cursor;
	struct pt_fs_rec rec;
	struct pkt_spec c, b, c2, b2;
	__u16 port;

	(void)state;
	flow_and_record(&c, &b, &rec);
	port = ntohs(rec.rkey.dport);
	/* Another source port, so the received flow is not this host's. */
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.inserted, 1);
	cursor = port - cfg->snat_port_min;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_snat_cursor),
					     &backend, &cursor, BPF_ANY), 0);
	syn(&c2, &b2);
	assert_int_equal(b2.dport, port + 1);
}

/* A record never replaces a flow this host saw after the sender did. */
static void test_newer_local_kept(void **state)
{
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct pt_flowsync_counts cnt = {};
	struct portier_flow_key k;
	struct portier_flow o;
	struct pt_fs_rec rec;
	struct pkt_spec c, b;
	struct xt_run r;

	(void)state;
	flow_and_record(&c, &b, &rec);
	/* This host makes the same client's flow anew (another SNAT port),
	 * and sees it now; the record says the peer's was idle 10 s. */
	c.tcp_flags = PKT_SYN;
	xt_forward(xt.if_in, &c, &r);
	k = key_of(&c);
	assert_true(pt_ct_lookup(ct, &k, &o));
	rec.o_sport = (__be16)htons((__u16)(ntohs(o.nat_sport) + 7));
	rec.rkey.dport = rec.o_sport;
	rec.age_ms = 10000;
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.refused[PT_FLOWSYNC_REF_NEWER], 1);
	assert_int_equal(cnt.inserted, 0);
	assert_true(pt_ct_lookup(ct, &k, &o));
	assert_int_not_equal(o.nat_sport, rec.o_sport);	/* ours, untouched */
	assert_false(pt_ct_lookup(ct, &rec.rkey, NULL));
	/* A DEL of the peer's, idle 10 s: ours stays too. */
	memset(&rec, 0, sizeof(rec));
	rec.kind = PT_FS_REC_DEL;
	rec.key = k;
	rec.age_ms = 10000;
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.refused[PT_FLOWSYNC_REF_NEWER], 2);
	assert_true(pt_ct_lookup(ct, &k, NULL));
}

/* ---- the daemon's side, with a fake peer ----------------------------- */

#define PORT_SYNC	7791	/* pt_flowsync's */
#define PORT_PEER	7792	/* the fake peer's */

struct fake_peer {
	int fd;
	__u64 their;		/* pt_flowsync's instance */
	bool reset;		/* a RESET came */
	struct pt_fs_rec rec[4096];
	size_t n;
};

static void peer_send(struct fake_peer *p, __u8 type, __u32 ack)
{
	struct pt_fs_hdr h = { .type = type, .instance = 0x7777, .peer = p->their, .ack = ack };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT_SYNC) };
	__u8 buf[PT_FS_HDR_LEN];

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pt_fs_hdr_encode(&h, buf);
	assert_int_equal(sendto(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
			 sizeof(buf));
}

/* Run pt_flowsync for about ms, reading (and acking) what it sends. */
static void pump(struct pt_flowsync *fs, struct fake_peer *p, int ms)
{
	__u8 buf[PT_FS_MTU + 64];

	for (int t = 0; t < ms; t += 10) {
		struct pollfd pfd = { .fd = pt_flowsync_fd(fs), .events = POLLIN };
		struct pt_fs_hdr h;
		ssize_t n;

		if (poll(&pfd, 1, 10) > 0)
			pt_flowsync_run(fs);
		while ((n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			size_t off = PT_FS_HDR_LEN;

			if (pt_fs_hdr_decode(buf, (size_t)n, &h))
				continue;
			p->their = h.instance;
			if (h.type != PT_FS_DATA)
				continue;
			p->reset |= h.flags & PT_FS_F_RESET;
			for (__u16 i = 0; i < h.nrec && p->n < 4096; i++) {
				int len = pt_fs_rec_decode(buf + off, (size_t)n - off, &p->rec[p->n]);

				assert_true(len > 0);
				off += (size_t)len;
				p->n++;
			}
			peer_send(p, PT_FS_ACK, h.seq + 1);
		}
	}
}

/* The FLOW record of key k among the peer's, from the last; or NULL. */
static const struct pt_fs_rec *flow_of(const struct fake_peer *p,
				       const struct portier_flow_key *k)
{
	for (size_t i = p->n; i-- > 0;)
		if (p->rec[i].kind == PT_FS_REC_FLOW && !memcmp(&p->rec[i].key, k, sizeof(*k)))
			return &p->rec[i];
	return NULL;
}

/* The IPv6 record of kind with key k among the peer's, from the last; or
 * NULL. */
static const struct pt_fs_rec *rec6_of(const struct fake_peer *p, __u8 kind,
				       const struct portier_flow_key6 *k)
{
	for (size_t i = p->n; i-- > 0;)
		if (p->rec[i].ipv6 && p->rec[i].kind == kind &&
		    !memcmp(&p->rec[i].key6, k, sizeof(*k)))
			return &p->rec[i];
	return NULL;
}

/* An IPv6 TCP flow's two entries, idle an hour (the GC's to delete):
 * [2001:db8:c::9]:cport -> [TN6_GW_IN]:PORT_SNAT6, NAT66 to [BE6]. Its
 * original key. */
static struct portier_flow_key6 put_idle_flow6(__u16 cport)
{
	struct portier_flow_key6 ko = { .sport = htons(cport), .dport = htons(PORT_SNAT6),
					.proto = IPPROTO_TCP };
	struct portier_flow_key6 kr = { .sport = htons(BE_PORT6), .dport = htons(cport),
					.proto = IPPROTO_TCP };
	struct portier_flow6 fo = { .dir = PORTIER_FLOW_DIR_ORIG, .route_id = R6_ID,
				    .backend_id = BE6_ID }, fr;
	__u64 now = mono_ns();

	fo.last_seen = portier_tick(now - 3600ULL * 1000000000ULL);
	fr = fo;
	fr.dir = PORTIER_FLOW_DIR_REPLY;
	assert_true(pkt6_addr("2001:db8:c::9", ko.saddr.a8));
	assert_true(pkt6_addr(TN6_GW_IN, ko.daddr.a8));
	assert_true(pkt6_addr(BE6, kr.saddr.a8));
	assert_true(pkt6_addr(TN6_GW_OUT, kr.daddr.a8));
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
	return ko;
}

static void test_daemon_side(void **state)
{
	static struct fake_peer p;
	struct pt_flowsync_opts o = { .master = true };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(PORT_PEER) };
	struct pt_flowsync_counts cnt;
	const struct pt_fs_rec *r;
	struct portier_flow_key k, rk;
	struct portier_flow_key6 k6, rk6;
	struct pt_flowsync *fs;
	struct pkt_spec c, b;
	struct pkt6_spec c6;
	struct xt_run run;
	size_t before;

	(void)state;
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p.fd >= 0);
	assert_int_equal(bind(p.fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(pt_flowsync_parse_addr("127.0.0.1:7792", &o.peer), 0);
	assert_int_equal(pt_flowsync_parse_addr("127.0.0.1:7791", &o.listen), 0);
	/* A flow made before: the resync must carry it. */
	drain();
	syn(&c, &b);
	xt_forward(xt.if_out, &b, &run);
	k = key_of(&c);
	rk = key_of(&b);
	syn6(&c6, &rk6);	/* an IPv6 one too */
	k6 = key6_of(&c6);
	assert_int_equal(pt_flowsync_open(xt.dp, &o, &fs), 0);
	drain();	/* (the events of before went to the test's reader) */

	/* A peer appears: it gets the table, RESET first. */
	peer_send(&p, PT_FS_ALIVE, 0);
	pump(fs, &p, 300);
	assert_true(p.reset);
	r = flow_of(&p, &k);
	assert_non_null(r);
	assert_memory_equal(&r->rkey, &rk, sizeof(rk));
	assert_true(r->flags & PORTIER_FLOW_F_SEEN_REPLY);
	r = rec6_of(&p, PT_FS_REC_FLOW, &k6);	/* the IPv6 table's too */
	assert_non_null(r);
	assert_memory_equal(&r->rkey6, &rk6, sizeof(rk6));
	assert_int_equal(r->route_id, R6_ID);
	pt_flowsync_counts(fs, &cnt);
	assert_int_equal(cnt.proto.resyncs, 1);
	assert_true(cnt.peer_up);

	/* A new flow: its record, its SYN-ACK's bits. */
	before = p.n;
	syn(&c, &b);
	xt_forward(xt.if_out, &b, &run);
	pump(fs, &p, 200);
	assert_true(p.n >= before + 2);
	k = key_of(&c);
	assert_non_null(flow_of(&p, &k));
	assert_int_equal(p.rec[p.n - 1].kind, PT_FS_REC_FLAGS);
	assert_int_equal(p.rec[p.n - 1].flags, PORTIER_FLOW_F_SEEN_REPLY);
	/* A new IPv6 flow: its record over the wire. */
	c6 = client6(xt.next_port++, PKT_SYN);
	forward6(xt.if_in, &c6, &run);
	pump(fs, &p, 200);
	k6 = key6_of(&c6);
	r = rec6_of(&p, PT_FS_REC_FLOW, &k6);
	assert_non_null(r);
	assert_int_equal(ntohs(r->o_dport), BE_PORT6);
	/* An IPv6 flow the GC expires: DEL, with its idle time. */
	k6 = put_idle_flow6(43001);
	assert_int_equal(pt_dp_gc(xt.dp, NULL), 0);
	pump(fs, &p, 200);
	r = rec6_of(&p, PT_FS_REC_DEL, &k6);
	assert_non_null(r);
	assert_true(r->age_ms >= 3599000);
	assert_false(pt_ct6_lookup(pt_dp_ct6(xt.dp), &k6, NULL));

	/* Idle for a while, then active again: the next refresh walk (5 s
	 * after the daemon's start) sends it, with its idle time about 0. */
	for (int i = 0; i < 6; i++) {
		pump(fs, &p, 500);
		peer_send(&p, PT_FS_ALIVE, 0);	/* the peer stays up */
	}
	before = p.n;
	c.tcp_flags = PKT_ACK;
	xt_forward(xt.if_in, &c, &run);
	pump(fs, &p, 2500);	/* past 5 s since the start */
	for (r = NULL; before < p.n; before++)
		if (p.rec[before].kind == PT_FS_REC_FLOW &&
		    !memcmp(&p.rec[before].key, &k, sizeof(k)))
			r = &p.rec[before];
	assert_non_null(r);
	assert_true(r->age_ms < 2000);
	assert_true(r->flags & PORTIER_FLOW_F_ASSURED);
	pt_flowsync_close(fs);
	close(p.fd);
	/* Closed: sync_on cleared with it. */
	assert_int_equal(pt_dp_config(xt.dp)->sync_on, 0);
	set_sync(true);
}

/* An egress flow's FLOW record from the fake peer: client port cport to
 * 192.0.2.50:80, egress port port, made life_ms ago. */
static struct pt_fs_rec egress_rec(uint16_t cport, uint16_t port, __u32 life_ms)
{
	struct pt_fs_rec r = { .kind = PT_FS_REC_FLOW, .flags = PORTIER_FLOW_F_EGRESS };

	r.life_ms = life_ms;
	r.key.saddr = tn_ip4(TN_CLIENT);
	r.key.daddr = tn_ip4("192.0.2.50");
	r.key.sport = htons(cport);
	r.key.dport = htons(80);
	r.key.proto = IPPROTO_TCP;
	r.rkey.saddr = r.key.daddr;
	r.rkey.daddr = tn_ip4("203.0.113.254");
	r.rkey.sport = r.key.dport;
	r.rkey.dport = htons(port);
	r.rkey.proto = IPPROTO_TCP;
	r.o_saddr = r.rkey.daddr;
	r.o_sport = r.rkey.dport;
	r.o_daddr = r.key.daddr;
	r.o_dport = r.key.dport;
	r.r_saddr = r.key.daddr;
	r.r_sport = r.key.dport;
	r.r_daddr = r.key.saddr;
	r.r_dport = r.key.sport;
	return r;
}

/* A BACKUP that becomes MASTER starts its egress port cursor past the
 * port of the newest egress flow it received, not past the highest (the
 * peer's cursor had wrapped: its high ports are old flows'). */
static void test_egress_cursor_past(void **state)
{
	static struct fake_peer p;
	const struct portier_config *cfg = pt_dp_config(xt.dp);
	int cfd = bpf_map__fd(xt.skel->maps.portier_egress_cursor);
	struct pt_flowsync_opts o = { .master = false };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(PORT_PEER) };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT_SYNC) };
	struct pt_fs_hdr h = { .type = PT_FS_DATA, .flags = PT_FS_F_RESET | PT_FS_F_MASTER,
			       .instance = 0x8888, .seq = 100, .nrec = 3 };
	struct pt_fs_rec rec[3] = { egress_rec(1000, 29000, 60000), egress_rec(1001, 17000, 5),
				    egress_rec(1002, 28000, 30000) };
	struct pt_flowsync_counts cnt;
	struct pt_flowsync *fs;
	__u8 buf[PT_FS_MTU];
	size_t off = PT_FS_HDR_LEN, n;
	__u32 zero = 0, cur = 0;

	(void)state;
	assert_int_equal(pt_ct_flush(pt_dp_ct(xt.dp), NULL), 0);
	me.sin_addr.s_addr = to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p.fd >= 0);
	assert_int_equal(bind(p.fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(pt_flowsync_parse_addr("127.0.0.1:7792", &o.peer), 0);
	assert_int_equal(pt_flowsync_parse_addr("127.0.0.1:7791", &o.listen), 0);
	assert_int_equal(pt_flowsync_open(xt.dp, &o, &fs), 0);
	assert_int_equal(bpf_map_update_elem(cfd, &zero, &cur, BPF_ANY), 0);

	pt_fs_hdr_encode(&h, buf);
	for (int i = 0; i < 3; i++) {
		n = pt_fs_rec_encode(&rec[i], buf + off, sizeof(buf) - off);
		assert_true(n > 0);
		off += n;
	}
	assert_int_equal(sendto(p.fd, buf, off, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)off);
	pump(fs, &p, 200);
	pt_flowsync_counts(fs, &cnt);
	assert_int_equal(cnt.inserted, 3);
	assert_int_equal(bpf_map_lookup_elem(cfd, &zero, &cur), 0);
	assert_int_equal(cur, 0);		/* a BACKUP does not move it */
	assert_int_equal(pt_flowsync_set_master(fs, true), 0);
	assert_int_equal(bpf_map_lookup_elem(cfd, &zero, &cur), 0);
	assert_int_equal(cur, 17000 + 1 - cfg->snat_port_min);
	pt_flowsync_close(fs);
	close(p.fd);
	assert_int_equal(pt_ct_flush(pt_dp_ct(xt.dp), NULL), 0);
	set_sync(true);
	drain();
}

/* ---- eviction ------------------------------------------------------------ */

/* The tick of CLOCK_MONOTONIC now less idle_s seconds. */
static __u32 tick_ago(__u32 idle_s)
{
	return portier_tick(mono_ns()) - portier_ticks_of_s(idle_s);
}

/* A new flow evicts the idlest embryonic flow of its full bucket: the
 * peer hears of it (DEL by the evicted entry's key) before the new flow's
 * NEW, and on the receiver that DEL deletes both entries of its copy. */
static void test_eviction_del(void **state)
{
	const struct portier_config *cfg = pt_dp_config(xt.dp);
	const struct portier_sync_new *nev = (const void *)events.ev[1];
	struct pt_ct *ct = pt_dp_ct(xt.dp);
	struct portier_flow_key k, ko, kr, victim = { 0 }, victim_r = { 0 };
	struct portier_flow fo, fr, vo = { 0 }, vr = { 0 };
	struct pt_flowsync_counts cnt = {};
	struct pt_fs_rec rec = { 0 };
	struct pkt_spec c;
	struct xt_run r;
	__u32 bucket, tag, n = 0;
	int err = 0;

	(void)state;
	assert_int_equal(pt_ct_flush(ct, NULL), 0);
	c = xt_client_spec(PORT_SNAT, IPPROTO_TCP, PKT_SYN);
	k = key_of(&c);
	bucket = portier_ct_locate(&k, cfg->ct_seed, cfg->ct_buckets, cfg->ct_step, &tag);
	/* Fill that bucket with embryonic flows from 10.96.0.0/8 (their reply
	 * entries in other buckets); the first one idlest. */
	for (__u32 i = 1024; err == 0; i++) {
		assert_true(i < (1U << 24));
		memset(&ko, 0, sizeof(ko));
		ko.saddr = htonl(ntohl(tn_ip4("10.96.0.0")) + (i >> 16));
		ko.daddr = tn_ip4(TN_GW_IN);
		ko.sport = htons((__u16)i);
		ko.dport = htons(PORT_SNAT);
		ko.proto = IPPROTO_TCP;
		memset(&fo, 0, sizeof(fo));
		fo.dir = PORTIER_FLOW_DIR_ORIG;
		fo.last_seen = tick_ago(n == 0 ? 30 : 1);
		fo.nat_saddr = ko.saddr;
		fo.nat_sport = ko.sport;
		fo.nat_daddr = tn_ip4(BE1);
		fo.nat_dport = htons(BE_PORT);
		pt_flow_key_other(&ko, &fo, &kr);
		if (portier_ct_locate(&ko, cfg->ct_seed, cfg->ct_buckets, cfg->ct_step, &tag) !=
			    bucket ||
		    portier_ct_locate(&kr, cfg->ct_seed, cfg->ct_buckets, cfg->ct_step, &tag) ==
			    bucket)
			continue;
		fr = fo;
		fr.dir = PORTIER_FLOW_DIR_REPLY;
		fr.nat_saddr = ko.daddr;
		fr.nat_sport = ko.dport;
		fr.nat_daddr = ko.saddr;
		fr.nat_dport = ko.sport;
		err = pt_ct_insert(ct, &ko, &fo);
		if (err)
			break;
		assert_int_equal(pt_ct_insert(ct, &kr, &fr), 0);
		if (n++ == 0) {
			victim = ko;
			victim_r = kr;
			vo = fo;
			vr = fr;
		}
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(n, PORTIER_CT_SLOTS);

	drain();
	xt_forward(xt.if_in, &c, &r);
	assert_int_equal(drain(), 2);
	assert_small(0, PORTIER_SYNC_EV_DEL, &victim, 0);
	assert_int_equal(nev->kind, PORTIER_SYNC_EV_NEW);
	assert_memory_equal(&nev->key, &k, sizeof(k));
	assert_false(pt_ct_lookup(ct, &victim, NULL));
	assert_false(pt_ct_lookup(ct, &victim_r, NULL));

	/* The receiver: its copy of the evicted flow (both entries) goes. */
	assert_int_equal(pt_ct_delete(ct, &nev->key), 0);
	assert_int_equal(pt_ct_delete(ct, &nev->rkey), 0);
	assert_int_equal(pt_ct_insert(ct, &victim, &vo), 0);
	assert_int_equal(pt_ct_insert(ct, &victim_r, &vr), 0);
	rec.kind = PT_FS_REC_DEL;
	rec.key = victim;
	pt_flowsync_apply(ct, &rec, mono_ns(), &cnt);
	assert_int_equal(cnt.deleted, 1);
	assert_false(pt_ct_lookup(ct, &victim, NULL));
	assert_false(pt_ct_lookup(ct, &victim_r, NULL));
	assert_int_equal(pt_ct_flush(ct, NULL), 0);
	drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_flow_event),
		cmocka_unit_test(test_sync_off),
		cmocka_unit_test(test_apply_carries_flow),
		cmocka_unit_test(test_new_flow6_event),
		cmocka_unit_test(test_apply6_carries_flow),
		cmocka_unit_test(test_apply_keeps_kind),
		cmocka_unit_test(test_snat_port_held),
		cmocka_unit_test(test_newer_local_kept),
		cmocka_unit_test(test_eviction_del),
		cmocka_unit_test(test_daemon_side),
		cmocka_unit_test(test_egress_cursor_past),
	};

	return xt_run_group("test_xdp_sync", tests, setup, teardown);
}
