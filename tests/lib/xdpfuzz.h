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

/* The routes with SYN cookies on (besides tn_base_routes): "cookie", snat
 * TCP :88 over the three backends (:30088), and "cookiednat", dnat TCP :89
 * (:30089). Their packets may change beyond addresses and ports (the SYN
 * proxy translates sequence numbers, timestamps, windows, SACK blocks and
 * rebuilds frames): the checks know them by these ports. */
#define XF_COOKIE_PORT		88
#define XF_COOKIE_DNAT_PORT	89
#define XF_COOKIE_BE_PORT	30088
#define XF_COOKIE_DNAT_BE_PORT	30089
/* "pool", maglev dnat TCP :90 over the three backends (:30090): a segment
 * with no flow recreates it. */
#define XF_POOL_PORT		90
#define XF_POOL_BE_PORT		30090

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
 * seed frame (bits 1-7) and flips its interface (bit 0); the IPv6
 * generator's seed makes its frame of the rest instead (xf6_chain,
 * tests/lib/xdpfuzz6.h); data[1], if
 * present, truncates the frame to 14 + (data[1] & 0x7f) bytes (bit 7 set)
 * or extends it by data[1] & 0x3f zero bytes (bit 6); then each pair
 * (offset, value) sets byte offset % length. A seed run unchanged that is
 * redirected is answered (xf_reply) on the other interface, which reaches
 * the reply path, after an ICMP error about it from there (types and quote
 * lengths in turn), which reaches the translation of errors. A cookie SYN
 * seed with bit 0 of data[0] clear is played as a whole handshake instead
 * (xf_cookie_chain). Returns NULL, or what was broken. */
const char *xf_one(const uint8_t *data, size_t size);

/* What the inputs so far did: runs by action, and runs whose frame the
 * program rewrote (so the checksum and TTL invariants were checked). */
struct xf_counts {
	uint64_t runs;			/* packets through the program */
	uint64_t pass, drop, redirect, rewritten;
	uint64_t tx;			/* XDP_TX, all kinds */
	uint64_t tx_frag_needed;	/* ... fragmentation needed */
	uint64_t tx_cookie_synack;	/* ... cookie SYN-ACKs */
	uint64_t tx_backend_ack;	/* ... the SYN proxy's ACK to a backend */
	uint64_t icmp_rewritten;	/* ICMP errors translated */
	uint64_t echo_rewritten;	/* ICMP echoes translated (egress) */
	uint64_t rebuilt;		/* frames the SYN proxy rebuilt (74 bytes) */
	uint64_t rebuilt_bad_csum;	/* ... from a frame whose checksum was wrong */
	uint64_t unforwardable;		/* inputs that must not be forwarded:
					 * malformed, fragments, IP options, not
					 * TCP/UDP/ICMP over IPv4 */
	/* The cookie handshakes played (xf_cookie_chain), by stage reached: */
	uint64_t cookie_acks_opened;	/* the ACK became a SYN to a backend */
	uint64_t cookie_synacks_xlat;	/* the backend's SYN-ACK became the ACK */
	uint64_t cookie_data_xlat;	/* data both ways translated */
	/* IPv6 (tests/lib/xdpfuzz6.c): frames through the program, of them
	 * not to forward, redirected, rewritten (not dropped), link-local or
	 * multicast or ND (passed untouched), ICMPv6 errors translated,
	 * Packet Too Big and echo replies sent (XDP_TX), frames of the
	 * extension header chain generator. */
	uint64_t v6_runs, v6_unforwardable, v6_redirect, v6_rewritten, v6_untouched;
	uint64_t v6_icmp_rewritten, v6_tx_too_big, v6_tx_echo, v6_chains;
};
const struct xf_counts *xf_counts(void);
/* The same, for the harness's own files to count in (atomic adds). */
struct xf_counts *xf_counts_rw(void);

/* Fill every slot of the connection table (emptied first) with flows of
 * sources no input uses (10.99.0.0/16 to "web"): a quarter of the buckets
 * with established (ASSURED) entries only, the others with established
 * and embryonic ones, idle 0 to 40 s. A new flow must then evict an
 * embryonic entry or be refused. NULL, or what went wrong. */
const char *xf_fill_table(void);
/* Every established entry of the last fill is still there and still
 * established (none was evicted). NULL, or what was broken. */
const char *xf_check_fill(void);
/* Entries of the last fill: established, embryonic. */
void xf_fill_counts(size_t *assured, size_t *embryonic);

/* A cookie handshake played from the cookie SYN frame syn (len bytes, to
 * a cookie route; its source port is replaced by a fresh one): the SYN,
 * the client's ACK of the cookie SYN-ACK it got (its cookie and
 * timestamp), the backend's SYN-ACK to the SYN that came out, data each
 * way (timestamps, SACK), the backend's SYN-ACK again, a FIN; each run
 * checked (xf_run), each next step built from what the program sent. The
 * step data[1] % 8 names (if size > 2) is mutated by the pairs of data[2..]
 * as in xf_one. NULL, or what was broken. */
const char *xf_cookie_chain(const uint8_t *syn, size_t len, const uint8_t *data, size_t size);

/* A TCP frame: MACs, addresses and ports of s, then seq, ack, flags
 * (PKT_*), window and the options opt (n bytes, a multiple of 4), payload
 * bytes after them; checksums from scratch. Its length. */
size_t xf_tcp_frame(struct pkt_spec s, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		    const uint8_t *opt, size_t n, size_t payload, uint8_t *f);

/* The connection tables' invariants: every published entry is found by a
 * lookup of its key (its bucket and tag are its key's), and no key has two
 * entries; in the IPv6 table, too, every original entry has its reply
 * (xf6_check_table). NULL, or what was broken. */
const char *xf_check_table(void);

/* Well-formed frames that reach every part of the program (a SYN and a
 * datagram to every route, a packet of a flow that does not exist, ARP,
 * ICMP echo, ICMP errors quoting packets of flows, packets too big for the
 * NICs with and without DF, IPv6 of every kind (xdpfuzz6.h), VLAN, TCP
 * with options, cookie routes): up to max of them into frames[i] (PKT_MAX bytes each), their
 * interfaces and lengths beside. Returns how many. */
size_t xf_seeds(uint8_t (*frames)[PKT_MAX], size_t *lens, enum xf_iface *ifaces, size_t max);

/* The answer of a backend (or client) to out, the frame the program
 * forwarded: addresses, ports and MACs swapped, an ACK. Its length. */
size_t xf_reply(const uint8_t *out, size_t len, uint8_t *reply);

#endif
