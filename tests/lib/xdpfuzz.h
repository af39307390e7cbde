/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xdpfuzz.h - the packet-path fuzz harness, shared by the libFuzzer target
 * (tests/fuzz/fuzz_xdp.c) and the fixed-seed run of the suite
 * (tests/prog/test_xdp_fuzz.c): the XDP program loaded as the daemon loads
 * it, with a small connection table (so that buckets fill and evict) and
 * routes of every kind, in the test network (testnet.h), and the
 * invariants that every input, however malformed, must keep.
 */
#ifndef PORTIER_TEST_XDPFUZZ_H
#define PORTIER_TEST_XDPFUZZ_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* Interfaces an input can arrive on. */
enum xf_iface { XF_IN, XF_OUT };

/* Load the data plane and fill its maps; call after tn_enter. 0 or -1
 * (message printed). */
int xf_setup(void);
/* The same with a connection table of ct_entries entries. */
int xf_setup_sized(__u32 ct_entries);
void xf_teardown(void);
/* The loaded data plane (counters, the table). */
struct pt_dataplane *xf_dp(void);

/* Run frame in (len bytes) through the program as received on iface and
 * check the invariants; the output frame goes to out (PKT_MAX bytes) if
 * not NULL, its action to *action. Returns NULL, or what was broken. Safe
 * to call from several threads. */
const char *xf_run(enum xf_iface iface, const uint8_t *in, size_t len, uint8_t *out,
		   int *action);

/* One fuzz input, decoded into a frame and run (xf_run): data[0] picks a
 * seed frame (bits 1-7) and flips its interface (bit 0); data[1], if
 * present, truncates the frame to 14 + (data[1] & 0x7f) bytes (bit 7 set)
 * or extends it by data[1] & 0x3f zero bytes (bit 6); then each pair
 * (offset, value) sets byte offset % length. A seed run unchanged that is
 * redirected is answered (xf_reply) on the other interface, which reaches
 * the reply path, after an ICMP error about it from there (types and quote
 * lengths in turn), which reaches the translation of errors. Returns NULL,
 * or what was broken. */
const char *xf_one(const uint8_t *data, size_t size);

/* What the inputs so far did: runs by action, and runs whose frame the
 * program rewrote (so the checksum and TTL invariants were checked). */
struct xf_counts {
	uint64_t pass, drop, redirect, rewritten;
	uint64_t tx;			/* fragmentation needed sent (XDP_TX) */
	uint64_t icmp_rewritten;	/* ICMP errors translated */
};
const struct xf_counts *xf_counts(void);

/* The connection table's invariants: every published entry is found by a
 * lookup of its key (its bucket and tag are its key's), and no key has two
 * entries. NULL, or what was broken. */
const char *xf_check_table(void);

/* Well-formed frames that reach every part of the program (a SYN and a
 * datagram to every route, a packet of a flow that does not exist, ARP,
 * ICMP echo, ICMP errors quoting packets of flows, packets too big for the
 * NICs with and without DF, IPv6, VLAN): up to max of them into frames[i] (PKT_MAX bytes
 * each), their interfaces and lengths beside. Returns how many. */
size_t xf_seeds(uint8_t (*frames)[PKT_MAX], size_t *lens, enum xf_iface *ifaces, size_t max);

/* The answer of a backend (or client) to out, the frame the program
 * forwarded: addresses, ports and MACs swapped, an ACK. Its length. */
size_t xf_reply(const uint8_t *out, size_t len, uint8_t *reply);

#endif
