// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_flowsync.c - the flow sync protocol (user/flowsync_proto.c):
 * records and headers on the wire (IPv4 records' bytes as before, IPv6
 * ones' byte for byte, short ones refused and counted); two sessions over a simulated link
 * that loses, delays and reorders datagrams: every record delivered once,
 * in order; acks, NACKs, retransmits; a resync when the peer restarts,
 * when it was silent, and after a gap the queue can no longer fill.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flowsync_proto.h"

/* ---- wire ------------------------------------------------------------------ */

static struct pt_fs_rec flow_rec(__u32 id)
{
	struct pt_fs_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = PT_FS_REC_FLOW;
	r.flags = PORTIER_FLOW_F_ASSURED | PORTIER_FLOW_F_SEEN_REPLY;
	r.route_id = 3;
	r.backend_id = 7;
	r.age_ms = 1234;
	r.life_ms = 56789;
	r.key.saddr = htonl(id);
	r.key.daddr = htonl(0xc6336401);	/* 198.51.100.1 */
	r.key.sport = htons(40000);
	r.key.dport = htons(80);
	r.key.proto = IPPROTO_TCP;
	r.rkey.saddr = htonl(0xcb00710b);	/* 203.0.113.11 */
	r.rkey.daddr = htonl(0xcb007101);
	r.rkey.sport = htons(8080);
	r.rkey.dport = htons(16384);
	r.rkey.proto = IPPROTO_TCP;
	r.o_saddr = r.rkey.daddr;
	r.o_daddr = r.rkey.saddr;
	r.o_sport = r.rkey.dport;
	r.o_dport = r.rkey.sport;
	r.r_saddr = r.key.daddr;
	r.r_daddr = r.key.saddr;
	r.r_sport = r.key.dport;
	r.r_dport = r.key.sport;
	return r;
}

static void test_rec_roundtrip(void **state)
{
	struct pt_fs_rec r = flow_rec(0x0a000001), d;
	__u8 buf[128];
	size_t n;

	(void)state;
	n = pt_fs_rec_encode(&r, buf, sizeof(buf));
	assert_int_equal(n, PT_FS_FLOW_LEN);
	/* Byte layout: kind, protocol, flags, pad, age (big-endian), key. */
	assert_int_equal(buf[0], PT_FS_REC_FLOW);
	assert_int_equal(buf[1], IPPROTO_TCP);
	assert_int_equal(buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], 1234);
	assert_memory_equal(buf + 8, &r.key.saddr, 4);
	assert_int_equal(pt_fs_rec_decode(buf, n, &d), PT_FS_FLOW_LEN);
	assert_memory_equal(&d, &r, sizeof(r));
	/* Too little room, too short to decode. */
	assert_int_equal(pt_fs_rec_encode(&r, buf, PT_FS_FLOW_LEN - 1), 0);
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_FLOW_LEN - 1, &d), -EBADMSG);

	memset(&r, 0, sizeof(r));
	r.kind = PT_FS_REC_DEL;
	r.age_ms = 99;
	r.key = flow_rec(5).key;
	assert_int_equal(pt_fs_rec_encode(&r, buf, sizeof(buf)), PT_FS_SMALL_LEN);
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_SMALL_LEN, &d), PT_FS_SMALL_LEN);
	assert_memory_equal(&d, &r, sizeof(r));
	buf[0] = 9;	/* unknown kind */
	assert_int_equal(pt_fs_rec_decode(buf, sizeof(buf), &d), -EBADMSG);
}

/* The IPv4 FLOW record's bytes, all of them: as they were before IPv6
 * records came (a peer of the older version reads them). */
static void test_rec_bytes_v4(void **state)
{
	static const __u8 want[PT_FS_FLOW_LEN] = {
		PT_FS_REC_FLOW, IPPROTO_TCP, 0x22, 0, 0x00, 0x00, 0x04, 0xd2,	/* age 1234 */
		10, 0, 0, 1, 198, 51, 100, 1, 0x9c, 0x40, 0x00, 0x50,		/* key */
		0x00, 0x00, 0xdd, 0xd5, 0x00, 0x03, 0x00, 0x07,			/* life, ids */
		203, 0, 113, 11, 203, 0, 113, 1, 0x1f, 0x90, 0x40, 0x00,	/* rkey */
		203, 0, 113, 1, 203, 0, 113, 11, 0x40, 0x00, 0x1f, 0x90,	/* o_* */
		198, 51, 100, 1, 10, 0, 0, 1, 0x00, 0x50, 0x9c, 0x40,		/* r_* */
	};
	struct pt_fs_rec r = flow_rec(0x0a000001);
	__u8 buf[PT_FS_FLOW_LEN + 8];

	(void)state;
	assert_int_equal(pt_fs_rec_encode(&r, buf, sizeof(buf)), PT_FS_FLOW_LEN);
	assert_memory_equal(buf, want, sizeof(want));
}

static void addr6(const char *text, struct portier_addr *a)
{
	assert_int_equal(inet_pton(AF_INET6, text, a->a8), 1);
}

/* An IPv6 flow's FLOW record: [2001:db8:c::7]:40000 -> [2001:db8::1]:80,
 * NAT66 from [2001:db8:b::1]:16384 to [2001:db8:b::2]:8080. */
static struct pt_fs_rec flow6_rec(void)
{
	struct pt_fs_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = PT_FS_REC_FLOW;
	r.ipv6 = true;
	r.flags = PORTIER_FLOW_F_ASSURED | PORTIER_FLOW_F_SEEN_REPLY;
	r.route_id = 3;
	r.backend_id = 7;
	r.age_ms = 1234;
	r.life_ms = 56789;
	addr6("2001:db8:c::7", &r.key6.saddr);
	addr6("2001:db8::1", &r.key6.daddr);
	r.key6.sport = htons(40000);
	r.key6.dport = htons(80);
	r.key6.proto = IPPROTO_TCP;
	addr6("2001:db8:b::2", &r.rkey6.saddr);
	addr6("2001:db8:b::1", &r.rkey6.daddr);
	r.rkey6.sport = htons(8080);
	r.rkey6.dport = htons(16384);
	r.rkey6.proto = IPPROTO_TCP;
	r.o_saddr6 = r.rkey6.daddr;
	r.o_daddr6 = r.rkey6.saddr;
	r.o_sport = r.rkey6.dport;
	r.o_dport = r.rkey6.sport;
	r.r_saddr6 = r.key6.daddr;
	r.r_daddr6 = r.key6.saddr;
	r.r_sport = r.key6.dport;
	r.r_dport = r.key6.sport;
	return r;
}

#define A6_C7	0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07
#define A6_1	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define A6_B1	0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define A6_B2	0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02

/* IPv6 records on the wire, byte for byte: the kind byte with
 * PT_FS_REC_IPV6, 16-byte addresses where IPv4's have 4; decoded back
 * whole; short ones refused. */
static void test_rec6_bytes(void **state)
{
	static const __u8 want[PT_FS_FLOW6_LEN] = {
		PT_FS_REC_FLOW | PT_FS_REC_IPV6, IPPROTO_TCP, 0x22, 0,
		0x00, 0x00, 0x04, 0xd2,						/* age */
		A6_C7, A6_1, 0x9c, 0x40, 0x00, 0x50,				/* key */
		0x00, 0x00, 0xdd, 0xd5, 0x00, 0x03, 0x00, 0x07,			/* life, ids */
		A6_B2, A6_B1, 0x1f, 0x90, 0x40, 0x00,				/* rkey */
		A6_B1, A6_B2, 0x40, 0x00, 0x1f, 0x90,				/* o_* */
		A6_1, A6_C7, 0x00, 0x50, 0x9c, 0x40,				/* r_* */
	};
	static const __u8 want_del[PT_FS_SMALL6_LEN] = {
		PT_FS_REC_DEL | PT_FS_REC_IPV6, IPPROTO_TCP, 0, 0, 0, 0, 0, 99,
		A6_B2, A6_B1, 0x1f, 0x90, 0x40, 0x00,
	};
	struct pt_fs_rec r = flow6_rec(), d;
	__u8 buf[PT_FS_FLOW6_LEN + 8];

	(void)state;
	assert_int_equal(pt_fs_rec_encode(&r, buf, sizeof(buf)), PT_FS_FLOW6_LEN);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_FLOW6_LEN, &d), PT_FS_FLOW6_LEN);
	assert_memory_equal(&d, &r, sizeof(r));
	/* Too little room; one byte short; an IPv4 FLOW's length is not one. */
	assert_int_equal(pt_fs_rec_encode(&r, buf, PT_FS_FLOW6_LEN - 1), 0);
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_FLOW6_LEN - 1, &d), -EBADMSG);
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_FLOW_LEN, &d), -EBADMSG);

	memset(&r, 0, sizeof(r));
	r.kind = PT_FS_REC_DEL;
	r.ipv6 = true;
	r.age_ms = 99;
	r.key6 = flow6_rec().rkey6;
	assert_int_equal(pt_fs_rec_encode(&r, buf, sizeof(buf)), PT_FS_SMALL6_LEN);
	assert_memory_equal(buf, want_del, sizeof(want_del));
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_SMALL6_LEN, &d), PT_FS_SMALL6_LEN);
	assert_memory_equal(&d, &r, sizeof(r));
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_SMALL6_LEN - 1, &d), -EBADMSG);
	/* FLAGS: the same layout, its bits in the flags byte. */
	r.kind = PT_FS_REC_FLAGS;
	r.flags = PORTIER_FLOW_F_CLOSING;
	assert_int_equal(pt_fs_rec_encode(&r, buf, sizeof(buf)), PT_FS_SMALL6_LEN);
	assert_int_equal(buf[0], PT_FS_REC_FLAGS | PT_FS_REC_IPV6);
	assert_int_equal(buf[2], PORTIER_FLOW_F_CLOSING);
	assert_int_equal(pt_fs_rec_decode(buf, PT_FS_SMALL6_LEN, &d), PT_FS_SMALL6_LEN);
	assert_memory_equal(&d, &r, sizeof(r));
	buf[0] = 4 | PT_FS_REC_IPV6;	/* unknown kind */
	assert_int_equal(pt_fs_rec_decode(buf, sizeof(buf), &d), -EBADMSG);
}

/* Records a lone receiver applied (test_rec6_datagram). */
static struct pt_fs_rec rx_recs[4];
static int rx_n;

static void rx_apply(void *arg, const struct pt_fs_rec *r)
{
	(void)arg;
	if (rx_n < 4)
		rx_recs[rx_n] = *r;
	rx_n++;
}

static void rx_send(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
}

/* A DATA datagram of an IPv4 record, an IPv6 one and an IPv6 one cut
 * short: the first two applied in order, the third refused and counted
 * (short). */
static void test_rec6_datagram(void **state)
{
	struct pt_fs_ops ops = { .send = rx_send, .apply = rx_apply };
	struct pt_fs_hdr h = { .type = PT_FS_DATA, .flags = PT_FS_F_RESET | PT_FS_F_MASTER,
			       .instance = 0x77, .seq = 5, .nrec = 3 };
	struct pt_fs_rec r4 = flow_rec(0x0a000002), r6 = flow6_rec();
	__u8 buf[PT_FS_MTU];
	size_t len = PT_FS_HDR_LEN;
	struct pt_fs *fs;

	(void)state;
	rx_n = 0;
	fs = pt_fs_new(&ops, 0x99, false);
	pt_fs_hdr_encode(&h, buf);
	len += pt_fs_rec_encode(&r4, buf + len, sizeof(buf) - len);
	len += pt_fs_rec_encode(&r6, buf + len, sizeof(buf) - len);
	assert_int_equal(len, PT_FS_HDR_LEN + PT_FS_FLOW_LEN + PT_FS_FLOW6_LEN);
	len += pt_fs_rec_encode(&r6, buf + len, sizeof(buf) - len) - 1;
	assert_int_equal(pt_fs_input(fs, buf, len, 1000), 0);
	assert_int_equal(rx_n, 2);
	assert_memory_equal(&rx_recs[0], &r4, sizeof(r4));
	assert_memory_equal(&rx_recs[1], &r6, sizeof(r6));
	assert_int_equal(pt_fs_stats(fs)->rx_records, 2);
	assert_int_equal(pt_fs_stats(fs)->bad[PT_FS_BAD_SHORT], 1);
	pt_fs_free(fs);
}

static void test_hdr_roundtrip(void **state)
{
	struct pt_fs_hdr h, d;
	__u8 buf[PT_FS_HDR_LEN];

	(void)state;
	memset(&h, 0, sizeof(h));	/* padding too: compared whole */
	h.type = PT_FS_ACK;
	h.flags = PT_FS_F_RESYNC;
	h.instance = 0x1122334455667788ULL;
	h.peer = 42;
	h.seq = 0xfffffffe;
	h.ack = 7;
	h.nack_from = 7;
	h.nack_count = 3;
	pt_fs_hdr_encode(&h, buf);
	assert_int_equal(buf[0], 'P');
	assert_int_equal(buf[3], 'S');
	assert_int_equal(pt_fs_hdr_decode(buf, sizeof(buf), &d), 0);
	assert_memory_equal(&d, &h, sizeof(h));
	assert_int_equal(pt_fs_hdr_decode(buf, sizeof(buf) - 1, &d), -EBADMSG);
	buf[4] = PT_FS_VERSION + 1;
	assert_int_equal(pt_fs_hdr_decode(buf, sizeof(buf), &d), -EPROTO);
	buf[4] = PT_FS_VERSION;
	buf[5] = 9;	/* unknown type */
	assert_int_equal(pt_fs_hdr_decode(buf, sizeof(buf), &d), -EPROTO);
}

/* ---- two sessions over a simulated link ----------------------------------- */

#define MAX_INFLIGHT	8192
#define MAX_GOT		200000

struct pkt {
	__u8 buf[PT_FS_MTU];
	size_t len;
	__u64 at;		/* delivery time, ms */
	int to;			/* 0: A, 1: B */
};

struct sim {
	struct pt_fs *fs[2];
	struct pkt *net;	/* MAX_INFLIGHT */
	size_t n;
	__u64 now;
	unsigned int loss_pct[2];	/* datagrams to side i lost, % */
	unsigned int jitter_ms;		/* delay 1 + [0, jitter) ms: reordering */
	bool cut;			/* the link is down */
	__u32 rng;
	__u32 *got;			/* MAX_GOT: ids B applied, in order */
	size_t n_got;
	unsigned int sent[2];
};

struct side {
	struct sim *sim;
	int me;
};

static struct side sides[2];

static __u32 rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static void sim_send(void *arg, const void *buf, size_t len)
{
	struct side *sd = arg;
	struct sim *s = sd->sim;
	int to = !sd->me;
	struct pkt *p;

	s->sent[sd->me]++;
	if (s->cut || rnd(s) % 100 < s->loss_pct[to] || s->n == MAX_INFLIGHT)
		return;
	p = &s->net[s->n++];
	memcpy(p->buf, buf, len);
	p->len = len;
	p->to = to;
	p->at = s->now + 1 + (s->jitter_ms ? rnd(s) % s->jitter_ms : 0);
}

static void sim_apply(void *arg, const struct pt_fs_rec *r)
{
	struct side *sd = arg;
	struct sim *s = sd->sim;

	assert_int_equal(sd->me, 1);	/* only B receives in these tests */
	assert_true(s->n_got < MAX_GOT);
	s->got[s->n_got++] = ntohl(r->key.saddr);
}

static void sim_init(struct sim *s, __u32 seed)
{
	memset(s, 0, sizeof(*s));
	s->net = calloc(MAX_INFLIGHT, sizeof(*s->net));
	s->got = calloc(MAX_GOT, sizeof(*s->got));
	assert_non_null(s->net);
	assert_non_null(s->got);
	s->rng = seed;
	s->now = 1000;
	for (int i = 0; i < 2; i++) {
		struct pt_fs_ops ops = { .send = sim_send, .apply = sim_apply, .arg = &sides[i] };

		sides[i].sim = s;
		sides[i].me = i;
		s->fs[i] = pt_fs_new(&ops, 0x1000 + (__u64)i * 0x10001 + seed, i == 0);
	}
}

static void sim_free(struct sim *s)
{
	pt_fs_free(s->fs[0]);
	pt_fs_free(s->fs[1]);
	free(s->net);
	free(s->got);
}

/* A's table: ids [0, table_n), dumped on a resync as far as the window
 * lets it each ms (dump_next: the next id). */
static __u32 table_n, dump_next;

/* Run the link for ms milliseconds: deliveries, timers, resyncs. */
static void sim_run(struct sim *s, __u64 ms)
{
	for (__u64 end = s->now + ms; s->now < end; s->now++) {
		for (size_t i = 0; i < s->n;) {
			if (s->net[i].at > s->now) {
				i++;
				continue;
			}
			struct pkt p = s->net[i];

			s->net[i] = s->net[--s->n];
			pt_fs_input(s->fs[p.to], p.buf, p.len, s->now);
		}
		if (s->now % 50 == 0) {
			pt_fs_timer(s->fs[0], s->now);
			pt_fs_timer(s->fs[1], s->now);
		}
		if (pt_fs_resync_due(s->fs[0])) {
			pt_fs_resync_begin(s->fs[0], s->now);
			dump_next = 0;
		}
		while (pt_fs_resyncing(s->fs[0]) && pt_fs_room(s->fs[0]) > 0 &&
		       dump_next < table_n) {
			struct pt_fs_rec r = flow_rec(dump_next++);

			pt_fs_add(s->fs[0], &r, s->now);
		}
		if (pt_fs_resyncing(s->fs[0]) && dump_next >= table_n)
			pt_fs_resync_end(s->fs[0], s->now);
		pt_fs_flush(s->fs[0], s->now);
		pt_fs_flush(s->fs[1], s->now);
	}
}

/* B got ids from..to-1 as the last (to - from) records, in order. */
static void assert_tail_in_order(const struct sim *s, __u32 from, __u32 to)
{
	assert_true(s->n_got >= to - from);
	for (__u32 i = 0; i < to - from; i++)
		assert_int_equal(s->got[s->n_got - (to - from) + i], from + i);
}

/* Meet (B's first ALIVE reaches A: A dumps its empty table with a RESET,
 * which B takes as the start of A's sequence). */
static void sim_meet(struct sim *s)
{
	table_n = 0;
	sim_run(s, 300);
	assert_true(pt_fs_peer_up(s->fs[0]));
	assert_true(pt_fs_peer_up(s->fs[1]));
	assert_int_equal(pt_fs_stats(s->fs[0])->resyncs, 1);
	assert_int_equal(s->n_got, 0);
}

/* A adds records first..first+n-1, a few each ms. */
static void add_records(struct sim *s, __u32 first, __u32 n)
{
	for (__u32 id = first; id < first + n; id++) {
		struct pt_fs_rec r = flow_rec(id);

		pt_fs_add(s->fs[0], &r, s->now);
		if (id % 8 == 7)
			sim_run(s, 1);
	}
	table_n = first + n;
}

static void test_clean_link(void **state)
{
	const struct pt_fs_stats *a, *b;
	struct sim s;

	(void)state;
	sim_init(&s, 1);
	sim_meet(&s);
	add_records(&s, 0, 2000);
	sim_run(&s, 500);
	assert_int_equal(s.n_got, 2000);
	assert_tail_in_order(&s, 0, 2000);
	a = pt_fs_stats(s.fs[0]);
	b = pt_fs_stats(s.fs[1]);
	assert_int_equal(a->tx_records, 2000);
	assert_int_equal(a->tx_acked, a->tx_datagrams);
	assert_int_equal(a->tx_retransmits, 0);
	assert_int_equal(b->rx_records, 2000);
	assert_int_equal(b->rx_duplicates, 0);
	/* A BACKUP sends nothing but control datagrams. */
	assert_int_equal(b->tx_datagrams, 0);
	sim_free(&s);
}

/* 20 % of datagrams lost each way, delays of 1-20 ms (reordering): every
 * record arrives once, in order. */
static void test_loss_and_reordering(void **state)
{
	const struct pt_fs_stats *a, *b;
	struct sim s;

	(void)state;
	sim_init(&s, 7);
	sim_meet(&s);
	s.loss_pct[0] = s.loss_pct[1] = 20;
	s.jitter_ms = 20;
	add_records(&s, 0, 3000);
	sim_run(&s, 5000);
	assert_int_equal(s.n_got, 3000);
	assert_tail_in_order(&s, 0, 3000);
	a = pt_fs_stats(s.fs[0]);
	b = pt_fs_stats(s.fs[1]);
	assert_true(a->tx_retransmits > 0);
	/* Selective: what was lost, and its lost resends; not everything
	 * unacked after a gap (which would be several times the sent). */
	assert_true(a->tx_retransmits < a->tx_datagrams);
	assert_int_equal(a->tx_acked, a->tx_datagrams);
	assert_int_equal(a->resyncs, 1);	/* only the first meeting's */
	assert_true(b->rx_reordered > 0);
	assert_true(b->rx_nacks > 0);
	assert_true(b->rx_duplicates > 0);
	sim_free(&s);
}

/* The last datagram lost with nothing after it: the timeout sends it
 * again. */
static void test_tail_loss(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 3);
	sim_meet(&s);
	add_records(&s, 0, 5);
	s.loss_pct[1] = 100;
	pt_fs_flush(s.fs[0], s.now);
	sim_run(&s, 5);
	assert_int_equal(s.n_got, 0);
	s.loss_pct[1] = 0;
	sim_run(&s, 600);
	assert_int_equal(s.n_got, 5);
	assert_tail_in_order(&s, 0, 5);
	assert_true(pt_fs_stats(s.fs[0])->tx_retransmits > 0);
	sim_free(&s);
}

/* B restarts (a new instance): A sends it the whole table, starting with
 * a RESET that B takes as the start of A's sequence. */
static void test_resync_on_restart(void **state)
{
	struct pt_fs_ops ops = { .send = sim_send, .apply = sim_apply, .arg = &sides[1] };
	struct sim s;

	(void)state;
	sim_init(&s, 11);
	sim_meet(&s);
	add_records(&s, 0, 100);
	sim_run(&s, 300);
	assert_int_equal(s.n_got, 100);
	pt_fs_free(s.fs[1]);
	s.fs[1] = pt_fs_new(&ops, 0xabcdef, false);
	s.n_got = 0;
	sim_run(&s, 1000);
	assert_int_equal(pt_fs_stats(s.fs[0])->resyncs, 2);
	assert_int_equal(pt_fs_stats(s.fs[0])->peer_restarts, 2);
	assert_int_equal(s.n_got, 100);
	assert_tail_in_order(&s, 0, 100);
	/* And the stream goes on after the dump. */
	add_records(&s, 100, 50);
	sim_run(&s, 300);
	assert_tail_in_order(&s, 0, 150);
	sim_free(&s);
}

/* The link cut long enough for A to call B down: when B is heard again
 * A dumps its table (what it made meanwhile was not queued). */
static void test_resync_after_silence(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 5);
	sim_meet(&s);
	s.cut = true;
	add_records(&s, 0, 40);
	sim_run(&s, PT_FS_DEAD_MS + 200);
	assert_false(pt_fs_peer_up(s.fs[0]));
	assert_true(pt_fs_stats(s.fs[0])->peer_downs >= 1);
	add_records(&s, 40, 10);	/* with the peer down: not sent, counted */
	assert_true(pt_fs_stats(s.fs[0])->tx_no_peer >= 10);
	s.cut = false;
	s.n_got = 0;
	sim_run(&s, 1500);
	assert_true(pt_fs_peer_up(s.fs[0]));
	assert_int_equal(pt_fs_stats(s.fs[0])->resyncs, 2);
	assert_int_equal(s.n_got, 50);
	assert_tail_in_order(&s, 0, 50);
	sim_free(&s);
}

/* More DATA lost than the queue keeps (B's ACKs lost too, so A cannot
 * tell): the gap B reports can no longer be filled, and A resyncs. */
static void test_resync_after_overflow(void **state)
{
	struct sim s;
	__u32 n = PT_FS_QUEUE * 24;	/* records: more than the queue's datagrams hold */

	(void)state;
	sim_init(&s, 9);
	sim_meet(&s);
	add_records(&s, 0, 20);
	sim_run(&s, 100);
	assert_int_equal(s.n_got, 20);
	/* Lost for 2 s, less than the silence that calls the peer down; then
	 * the first datagrams of the burst arrive, the rest is lost. */
	s.loss_pct[1] = 100;
	for (__u32 id = 20; id < 20 + n; id++) {
		struct pt_fs_rec r = flow_rec(id);

		pt_fs_add(s.fs[0], &r, s.now);
	}
	table_n = 20 + n;
	assert_true(pt_fs_stats(s.fs[0])->tx_overflow > 0);
	s.loss_pct[1] = 0;
	s.n_got = 0;
	sim_run(&s, 3000);
	assert_int_equal(pt_fs_stats(s.fs[0])->resyncs, 2);
	/* B holds every record: the dump's, in order, last. */
	assert_tail_in_order(&s, 0, 20 + n);
	sim_free(&s);
}

/* Roles: a BACKUP queues nothing; made MASTER with the peer up, it sends
 * the peer its table. */
static void test_role_change(void **state)
{
	struct sim s;
	struct pt_fs_rec r = flow_rec(1);

	(void)state;
	sim_init(&s, 13);
	sim_meet(&s);
	pt_fs_add(s.fs[1], &r, s.now);
	assert_int_equal(pt_fs_stats(s.fs[1])->tx_no_peer, 1);
	assert_int_equal(pt_fs_stats(s.fs[1])->tx_datagrams, 0);
	pt_fs_set_master(s.fs[0], false, s.now);
	assert_false(pt_fs_master(s.fs[0]));
	pt_fs_set_master(s.fs[0], true, s.now);
	assert_true(pt_fs_resync_due(s.fs[0]));
	table_n = 30;
	sim_run(&s, 500);
	assert_int_equal(s.n_got, 30);
	assert_tail_in_order(&s, 0, 30);
	sim_free(&s);
}

static void test_bad_datagrams(void **state)
{
	struct sim s;
	__u8 junk[PT_FS_HDR_LEN] = { 'X', 'Y' };

	(void)state;
	sim_init(&s, 17);
	assert_int_equal(pt_fs_input(s.fs[1], junk, 10, s.now), -1 - PT_FS_BAD_SHORT);
	assert_int_equal(pt_fs_input(s.fs[1], junk, sizeof(junk), s.now), -1 - PT_FS_BAD_MAGIC);
	assert_int_equal(pt_fs_stats(s.fs[1])->bad[PT_FS_BAD_SHORT], 1);
	assert_int_equal(pt_fs_stats(s.fs[1])->bad[PT_FS_BAD_MAGIC], 1);
	assert_string_equal(pt_fs_bad_name(PT_FS_BAD_REORDER_FULL), "reorder_full");
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rec_roundtrip),
		cmocka_unit_test(test_rec_bytes_v4),
		cmocka_unit_test(test_rec6_bytes),
		cmocka_unit_test(test_rec6_datagram),
		cmocka_unit_test(test_hdr_roundtrip),
		cmocka_unit_test(test_clean_link),
		cmocka_unit_test(test_loss_and_reordering),
		cmocka_unit_test(test_tail_loss),
		cmocka_unit_test(test_resync_on_restart),
		cmocka_unit_test(test_resync_after_silence),
		cmocka_unit_test(test_resync_after_overflow),
		cmocka_unit_test(test_role_change),
		cmocka_unit_test(test_bad_datagrams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
