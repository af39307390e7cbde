/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xdptest.h - the harness of the BPF program tests (tests/prog/test_xdp*.c):
 * the data plane loaded as the daemon loads it into the test network
 * (testnet.h), one BPF_PROG_TEST_RUN of a frame, the per-CPU counters
 * summed, and the packets of a client and of a backend's answer. Each test
 * file keeps its own routes and tests.
 *
 * xdptest.c needs no cmocka: the Makefile links every tests/lib file into
 * pktcost and the fuzz targets too. The asserting forms at the end of this
 * header (static inline; define XT_NO_CMOCKA to leave them out) are for the
 * cmocka tests.
 */
#ifndef PORTIER_TEST_XDPTEST_H
#define PORTIER_TEST_XDPTEST_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "dataplane.h"
#include "pkt.h"
#include "portier.h"

#define XT_TTL		64	/* TTL of the packets the tests send */

/* The test environment: the loaded data plane and the namespace's devices. */
struct xt_env {
	struct pt_dataplane *dp;
	struct portier *skel;
	int prog_fd;		/* portier_xdp */
	int if_in, if_out;	/* TN_IF_IN, TN_IF_OUT */
	int ncpu;		/* possible CPUs (per-CPU map values) */
	uint16_t next_port;	/* fresh client ports for each flow */
};
extern struct xt_env xt;

/* One BPF_PROG_TEST_RUN result. */
struct xt_run {
	int ret;
	uint8_t out[PKT_MAX];
	uint32_t out_len;
};

/* Load the data plane into xt (call after tn_enter) with the config's
 * defaults, SNAT to TN_GW_OUT and the NICs TN_IF_IN / TN_IF_OUT, edited by
 * edit if not NULL; portier_local TN_GW_IN and, if n_local is 2,
 * TN_GW_OUT too. Client ports count from first_port. 0, or -1 with a
 * message (as who) on stderr; the routes are the caller's. */
int xt_open(const char *who, uint16_t first_port, size_t n_local,
	    void (*edit)(struct portier_config *cfg));
/* portier_local: TN_GW_IN, and TN_GW_OUT if n is 2. 0 or pt_dp_set_local's. */
int xt_set_local(size_t n);
void xt_close(void);
/* xt_close as a cmocka group teardown. */
int xt_teardown(void **state);

/* Run frame in (len bytes) as received on ifindex into *r. 0 or the
 * negative error of BPF_PROG_TEST_RUN. */
int xt_run_frame(int ifindex, const uint8_t *in, size_t len, struct xt_run *r);

/* The sum over CPUs of reason id into *sum. 0 or the lookup's error. */
int xt_reason_sum(enum portier_reason id, uint64_t *sum);

/* A bare packet from the client's MAC to TN_IF_IN's (addresses, ports,
 * protocol, TCP flags as given, TTL XT_TTL, the rest 0). */
struct pkt_spec xt_spec(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			uint8_t proto, uint8_t flags);
/* A client packet: TN_CLIENT -> TN_GW_IN:dport from a fresh port, IP id
 * 0x4242, a 24-byte payload (seed 0x11) if UDP. */
struct pkt_spec xt_client_spec(uint16_t dport, uint8_t proto, uint8_t flags);
/* Which of tn_be_addr addr is (network order), or -1. */
int xt_be_index(uint32_t addr);
/* The backend's answer (flags) to out, a frame the program forwarded to
 * it, arriving on TN_IF_OUT: IP id 0x5151, a 40-byte payload (seed 0x77).
 * The backend's index into *be (-1: out is not to a backend; the spec
 * is then all 0). */
struct pkt_spec xt_reply_spec_of(const uint8_t *out, uint8_t flags, int *be);

/* Connection log events of the loaded program (portier_connlog), as the
 * tests read them. */
#define XT_EVENTS_MAX	16
struct ring_buffer;
struct xt_events {
	struct ring_buffer *rb;
	struct portier_connlog_event ev[XT_EVENTS_MAX];	/* the first ones read */
	int n_ev;		/* how many the last read found (all counted) */
};
/* portier_ports[port] |= bits. 0 or a map call's negative error. */
int xt_port_bits(uint16_t port, __u32 bits);
/* A config edit for xt_open: NAT66 to TN6_GW_OUT, the IPv6 table's
 * geometry from the map's size. */
void xt_edit6(struct portier_config *cfg);
/* Run on CPU 0 only (the SYN guard's window is per CPU) with the config's
 * syn_rate set to rate, the config before in *saved; xt_syn_rate_end
 * puts it back and runs on every CPU again. 0 or -1 (errno). */
int xt_syn_rate_begin(__u32 rate, struct portier_config *saved);
int xt_syn_rate_end(const struct portier_config *saved);

/* Open e on xt's ring buffer. 0, or -1 with a message on stderr. */
int xt_events_open(struct xt_events *e);
void xt_events_close(struct xt_events *e);
/* Read the events waiting now into e->ev (from 0): their count, or the
 * ring buffer's negative error. */
int xt_events_read(struct xt_events *e);

/* ---- the same for cmocka tests: a failure fails the test ---------------- */

#ifndef XT_NO_CMOCKA
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include <cmocka.h>

#include <linux/bpf.h>

#include "testnet.h"

/* IPv4 address text to network order. */
static inline uint32_t xt_ip4(const char *s)
{
	uint32_t a = tn_ip4(s);

	if (!a)
		fail_msg("bad test address %s", s);
	return a;
}

static inline void xt_run(int ifindex, const uint8_t *in, size_t len, struct xt_run *r)
{
	int err = xt_run_frame(ifindex, in, len, r);

	if (err)
		fail_msg("BPF_PROG_TEST_RUN failed: %s", strerror(-err));
}

/* Build s and run it on ifindex. */
static inline void xt_run_spec(int ifindex, const struct pkt_spec *s, struct xt_run *r)
{
	uint8_t in[PKT_MAX];

	xt_run(ifindex, in, pkt_build(s, in), r);
}

/* The same, expecting a redirect. */
static inline void xt_forward(int ifindex, const struct pkt_spec *s, struct xt_run *r)
{
	xt_run_spec(ifindex, s, r);
	assert_int_equal(r->ret, XDP_REDIRECT);
}

/* The frame r produced must be exp's, byte for byte, its checksums right
 * when recomputed from scratch (udp_no_csum: a UDP checksum of zero is). */
static inline void xt_expect_out(const struct xt_run *r, const struct pkt_spec *exp,
				 bool udp_no_csum)
{
	uint8_t want[PKT_MAX];
	size_t wn = pkt_build(exp, want);

	assert_int_equal(r->out_len, wn);
	assert_memory_equal(r->out, want, wn);
	assert_true(pkt_ip_csum_ok(r->out, r->out_len));
	assert_true(pkt_l4_csum_ok(r->out, r->out_len, udp_no_csum));
}

/* Run s on ifindex: action ret, and the frame exp (xt_expect_out). */
static inline void xt_run_expect(int ifindex, const struct pkt_spec *s, int ret,
				 const struct pkt_spec *exp, struct xt_run *r)
{
	xt_run_spec(ifindex, s, r);
	assert_int_equal(r->ret, ret);
	xt_expect_out(r, exp, s->udp_no_csum);
}

/* The sum over CPUs of reason id. */
static inline uint64_t xt_reason(enum portier_reason id)
{
	uint64_t sum = 0;

	assert_int_equal(xt_reason_sum(id, &sum), 0);
	return sum;
}

/* The events waiting now (xt_events_read): their count. */
static inline int xt_events_drain(struct xt_events *e)
{
	int n = xt_events_read(e);

	assert_true(n >= 0);
	return n;
}

/* Run frame in (n bytes) on ifindex into *r: action ret, the frame want
 * (wn bytes) byte for byte, and reason why + 1. */
static inline void xt_expect_frame(int ifindex, const uint8_t *in, size_t n, int ret,
				   const uint8_t *want, size_t wn, enum portier_reason why,
				   struct xt_run *r)
{
	uint64_t c0 = xt_reason(why);

	xt_run(ifindex, in, n, r);
	assert_int_equal(r->ret, ret);
	assert_int_equal(r->out_len, wn);
	assert_memory_equal(r->out, want, wn);
	assert_int_equal(xt_reason(why) - c0, 1);
}

/* Run frame in (n bytes) on ifindex: action ret, the frame unchanged,
 * and reason why + 1. */
static inline void xt_expect_untouched_on(int ifindex, const uint8_t *in, size_t n, int ret,
					  enum portier_reason why)
{
	struct xt_run r;

	xt_expect_frame(ifindex, in, n, ret, in, n, why, &r);
}

/* The same on the input NIC. */
static inline void xt_expect_untouched(const uint8_t *in, size_t n, int ret,
				       enum portier_reason why)
{
	xt_expect_untouched_on(xt.if_in, in, n, ret, why);
}

/* The sum over CPUs of entry id of a stats map. */
static inline struct portier_stats xt_stats(struct bpf_map *map, __u32 id)
{
	struct portier_stats sum;

	assert_int_equal(pt_stats_sum(map, id, &sum), 0);
	return sum;
}

static inline struct pkt_spec xt_reply_spec(const uint8_t *out, uint8_t flags)
{
	int be;
	struct pkt_spec s = xt_reply_spec_of(out, flags, &be);

	assert_true(be >= 0);
	return s;
}

/* A test binary's main: into the test network (tn_enter), then the group. */
#define xt_run_group(who, tests, setup, teardown) \
	(tn_enter(who) ? 1 : cmocka_run_group_tests(tests, setup, teardown))
#endif

#endif
