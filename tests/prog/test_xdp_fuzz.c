// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_xdp_fuzz.c - the packet path under 1,000,000 packets (a fixed-seed
 * run of the harness that tests/fuzz/fuzz_xdp.c gives to libFuzzer): seed
 * frames of every kind (TCP with options, UDP, ICMP errors with embedded
 * headers, malformed, other protocols), mutated (bytes set, frames cut or
 * extended), and cookie handshakes played from what the program sent
 * (tests/lib/xdpfuzz_cookie.c), through the XDP program with a small
 * connection table kept full of established and embryonic flows
 * (tests/lib/xdpfuzz_fill.c). Every packet must keep the invariants of
 * tests/lib/xdpfuzz.c (no malformed frame forwarded, transmitted or passed
 * rewritten; no rewrite of a frame it drops or does not own; only MACs,
 * TTL, addresses, ports and checksums change, or for a cookie route the
 * SYN proxy's translation or its rebuilt 74-byte frame; checksums that
 * verified still verify from scratch, those of rebuilt frames always;
 * TTL minus one exactly on a redirect; an ICMP error changes only in what
 * its translation may change, its checksums, the quoted ones included,
 * still verify; XDP_TX only for fragmentation needed, a cookie SYN-ACK or
 * the SYN proxy's ACK to a backend, every one checked); the table stays
 * consistent (no key twice, every entry found by its key) and no
 * established entry of a fill is evicted. IPv6 frames of every kind
 * (tests/lib/xdpfuzz6.c: extension header chains, fragments, ICMPv6,
 * link-local, NATed flows both ways) keep IPv6's invariants, and the
 * IPv6 table its own (every original entry has its reply). One BPF_PROG_TEST_RUN per
 * packet (repeat 1): about 3 s. Runs in a private network namespace;
 * root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include <bpf/libbpf.h>

#include "dataplane.h"
#include "metrics.h"
#include "metrics_collect.h"
#include "portier.skel.h"
#include "testnet.h"
#include "xdpfuzz.h"

/* At least this many packets through the program (an input is one to
 * seven packets: a seed and its answers, or a cookie handshake). */
#define N_PACKETS	1000000
#define EPOCH		50000	/* packets between two fills of the table */
#define TABLE_EVERY	1000	/* inputs between two table checks */
#define MAX_PAIRS	6	/* (offset, value) mutations per input */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static int setup(void **state)
{
	(void)state;
	return xf_setup() ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	xf_teardown();
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* The harness's counts and every reason reached, for the log. */
static void report(const struct xf_counts *c, size_t inputs, const uint64_t *reasons,
		   double secs)
{
	size_t assured, embryonic;

	xf_fill_counts(&assured, &embryonic);
	printf("xdp fuzz: %zu inputs, %llu packets in %.1f s against a full table (%zu "
	       "established, %zu embryonic entries at each fill)\n",
	       inputs, (unsigned long long)c->runs, secs, assured, embryonic);
	printf("xdp fuzz: %llu pass, %llu drop, %llu redirect, %llu tx; %llu rewritten "
	       "(%llu ICMP errors translated, %llu rebuilt by the SYN proxy, %llu of them from a "
	       "frame with a wrong checksum); %llu inputs not to forward (malformed, fragments, IP "
	       "options, neither TCP, UDP nor ICMP over IPv4), none forwarded\n",
	       (unsigned long long)c->pass, (unsigned long long)c->drop,
	       (unsigned long long)c->redirect, (unsigned long long)c->tx,
	       (unsigned long long)c->rewritten, (unsigned long long)c->icmp_rewritten,
	       (unsigned long long)c->rebuilt, (unsigned long long)c->rebuilt_bad_csum,
	       (unsigned long long)c->unforwardable);
	printf("xdp fuzz: %llu ICMP echoes translated (egress)\n",
	       (unsigned long long)c->echo_rewritten);
	printf("xdp fuzz: tx: %llu cookie SYN-ACKs, %llu ACKs to backends, %llu fragmentation "
	       "needed; cookie handshakes: %llu opened, %llu backend SYN-ACKs translated, %llu "
	       "with data translated\n",
	       (unsigned long long)c->tx_cookie_synack, (unsigned long long)c->tx_backend_ack,
	       (unsigned long long)c->tx_frag_needed, (unsigned long long)c->cookie_acks_opened,
	       (unsigned long long)c->cookie_synacks_xlat, (unsigned long long)c->cookie_data_xlat);
	printf("xdp fuzz: IPv6: %llu frames, %llu not to forward, %llu redirected, %llu "
	       "rewritten, %llu passed untouched (link-local, multicast, ND), %llu ICMPv6 errors "
	       "translated, tx: %llu Packet Too Big, %llu echo replies; %llu generated extension "
	       "header chains\n",
	       (unsigned long long)c->v6_runs, (unsigned long long)c->v6_unforwardable,
	       (unsigned long long)c->v6_redirect, (unsigned long long)c->v6_rewritten,
	       (unsigned long long)c->v6_untouched, (unsigned long long)c->v6_icmp_rewritten,
	       (unsigned long long)c->v6_tx_too_big, (unsigned long long)c->v6_tx_echo,
	       (unsigned long long)c->v6_chains);
	printf("xdp fuzz: reasons:");
	for (unsigned int r = 0; r < PORTIER_R_MAX; r++)
		if (reasons[r])
			printf(" %s %llu", pt_metrics_reason(r, NULL), (unsigned long long)reasons[r]);
	printf("\n");
}

/* A million packets and more through the program, against a connection
 * table kept full (refilled every EPOCH packets: established entries in
 * every bucket, a quarter of the buckets all established), with cookie
 * routes beside the others; each run's invariants checked (xf_run), the
 * table's every TABLE_EVERY inputs, and no established entry of a fill
 * evicted. Every interesting outcome must be reached. */
static void test_packet_path(void **state)
{
	uint8_t d[2 + 2 * MAX_PAIRS];
	const struct xf_counts *c = xf_counts();
	uint64_t reasons[PORTIER_R_MAX], next_fill = 0;
	__u64 t0 = mono_ns();
	const char *err;
	size_t n;

	(void)state;
	for (n = 0; c->runs < N_PACKETS; n++) {
		/* A quarter unchanged seeds: flows, their replies, evictions. */
		size_t size = rnd() % 4 == 0 ? 1 : 2 + 2 * (1 + rnd() % MAX_PAIRS);

		if (c->runs >= next_fill) {
			if (next_fill && (err = xf_check_fill()))
				fail_msg("before packet %llu: %s", (unsigned long long)c->runs, err);
			if ((err = xf_fill_table()))
				fail_msg("%s", err);
			next_fill = c->runs + EPOCH;
		}
		for (size_t i = 0; i < size; i++)
			d[i] = (uint8_t)rnd();
		/* Offsets mostly inside the headers. */
		for (size_t i = 2; i + 1 < size; i += 2)
			if (rnd() % 4)
				d[i] %= 64;
		err = xf_one(d, size);
		if (err)
			fail_msg("input %zu (%zu bytes, seed %u): %s", n, size, d[0] >> 1, err);
		if (n % TABLE_EVERY == 0 && (err = xf_check_table()))
			fail_msg("after input %zu: %s", n, err);
	}
	assert_null(xf_check_table());
	assert_null(xf_check_fill());
	assert_int_equal(pt_reasons_sum(pt_dp_skel(xf_dp())->maps.portier_reasons, reasons), 0);
	report(c, n, reasons, (double)(mono_ns() - t0) / 1e9);

	/* The inputs reached every outcome, the rewrites and the full table's
	 * two answers (an embryonic entry evicted, a new flow refused). */
	assert_true(c->runs >= N_PACKETS);
	assert_true(c->pass > 0 && c->drop > 0 && c->redirect > 0);
	assert_true(c->rewritten > N_PACKETS / 100);
	assert_true(c->unforwardable > 0);
	assert_true(reasons[PORTIER_R_CT_EVICTED] > 0);
	assert_true(reasons[PORTIER_R_DROP_CT_FULL] > 0);
	assert_true(reasons[PORTIER_R_DROP_MALFORMED] > 0);
	/* ... the ICMP paths ... */
	assert_true(c->icmp_rewritten > 0 && c->tx_frag_needed > 0);
	/* ... egress (bpf/egress.h): echoes translated, refused flows, TCP
	 * segments of no egress flow ... */
	assert_true(c->echo_rewritten > 0);
	assert_true(reasons[PORTIER_R_DROP_EGRESS_REFUSED] > 0);
	assert_true(reasons[PORTIER_R_DROP_EGRESS_NO_FLOW] > 0);
	assert_true(reasons[PORTIER_R_ICMP_TRANSLATED] > 0);
	assert_true(reasons[PORTIER_R_ICMP_FRAG_NEEDED_SENT] > 0);
	assert_true(reasons[PORTIER_R_PASS_TOO_BIG] > 0);
	/* The active-active paths: flows recreated, stateless replies. */
	assert_true(reasons[PORTIER_R_FLOW_RECREATED] > 0);
	assert_true(reasons[PORTIER_R_STATELESS_REPLY] > 0);
	/* ... and the SYN proxy's: cookie SYN-ACKs sent, wrong cookies,
	 * cookie flows opened, the backend's SYN-ACK translated and answered,
	 * data translated, packets before the backend's answer dropped, bad
	 * SYN checksums refused. */
	assert_true(c->tx_cookie_synack > 0 && c->tx_backend_ack > 0 && c->rebuilt > 0);
	/* (A frame the SYN proxy rebuilds gets checksums from scratch: it
	 * must have arrived with right ones.) */
	assert_int_equal(c->rebuilt_bad_csum, 0);
	assert_true(c->cookie_acks_opened > 0 && c->cookie_synacks_xlat > 0 &&
		    c->cookie_data_xlat > 0);
	assert_true(reasons[PORTIER_R_SYN_COOKIE_SENT] > 0);
	assert_true(reasons[PORTIER_R_SYN_COOKIE_VALID] > 0);
	assert_true(reasons[PORTIER_R_SYN_COOKIE_FAILED] > 0);
	assert_true(reasons[PORTIER_R_SYNPROXY_BACKEND_ACK] > 0);
	assert_true(reasons[PORTIER_R_SYNPROXY_PENDING] > 0);
	assert_true(reasons[PORTIER_R_DROP_BAD_CSUM] > 0);
	/* IPv6 (tests/lib/xdpfuzz6.c): flows forwarded and rewritten both
	 * ways, ICMPv6 errors translated, Packet Too Big sent, extension
	 * headers the program does not rewrite, link-local traffic passed. */
	assert_true(c->v6_runs > N_PACKETS / 10 && c->v6_chains > 0);
	assert_true(c->v6_redirect > 0 && c->v6_rewritten > 0 && c->v6_untouched > 0);
	assert_true(c->v6_unforwardable > 0);
	assert_true(c->v6_icmp_rewritten > 0 && c->v6_tx_too_big > 0);
	assert_true(reasons[PORTIER_R_PASS_IP6_EXT] > 0);
	assert_true(reasons[PORTIER_R_PASS_LINK_LOCAL] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_path),
	};

	if (tn_enter("test_xdp_fuzz"))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
