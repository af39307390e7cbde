/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xdpfuzz6.h - the packet-path fuzz harness's IPv6 part (tests/lib/
 * xdpfuzz6.c), used by tests/lib/xdpfuzz.c only: the IPv6 test network
 * and routes, IPv6 seed frames (extension header chains, fragments,
 * ICMPv6, neighbour discovery, link-local and multicast, packets too big,
 * both directions of NATed flows), a generator of extension header chains
 * from fuzz bytes, the invariants of what portier_xdp (tail-calling
 * portier_xdp6) does to an IPv6 frame, and those of the IPv6 connection
 * table.
 *
 * The IPv6 test network is testnet.h's: input 2001:db8:1::1/64 (client
 * 2001:db8:1::10), output 2001:db8:2::1/64 (backends 2001:db8:2::11-13).
 */
#ifndef PORTIER_TEST_XDPFUZZ6_H
#define PORTIER_TEST_XDPFUZZ6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"
#include "routes.h"
#include "xdpfuzz.h"

#define XF6_N_ROUTES	4	/* xf6_routes */
#define XF6_N_LOCAL	2	/* xf6_local */

/* The IPv6 routes into r[0..XF6_N_ROUTES) (backends allocated, as
 * tn_route): "web6" snat TCP :80 over the three backends (:30080), "dns6"
 * snat UDP :53 (:30053), "dnat6" dnat TCP :81 (:30081), "local6" TCP :82
 * to this host's output address (:82) and a remote backend (:30082); on
 * the IPv6 input address. */
void xf6_routes(struct pt_route *r);
/* This host's IPv6 addresses (input, output) into a[0..XF6_N_LOCAL). */
void xf6_local(struct pt_addr *a);
/* The IPv6 part of the configuration: NAT66's source address. */
void xf6_config(struct portier_config *cfg);

/* The seed frames, each given to add; the chain generator's seed last
 * (its frames come from the fuzz bytes: xf6_chain). */
void xf6_seeds(void (*add)(enum xf_iface iface, const uint8_t *frame, size_t len, bool chain));

/* Is f (len bytes) an IPv6 frame (its EtherType)? */
bool xf6_is_ipv6(const uint8_t *f, size_t len);
/* The invariants of one run of the IPv6 frame in (len bytes), which
 * became out (out_len bytes) with action act; counts it. NULL, or what
 * was broken. */
const char *xf6_check(const uint8_t *in, size_t len, const uint8_t *out, size_t out_len,
		      int act);
/* After the IPv6 frame out (len bytes) was redirected from iface: an
 * ICMPv6 error about it and its answer (a TCP ACK, a UDP datagram, an
 * echo reply), from the other side, each run (xf_run). NULL, or what was
 * broken. */
const char *xf6_answers(enum xf_iface iface, const uint8_t *out, size_t len);
/* A frame made of fuzz bytes: an extension header chain (a byte per
 * header: which, how long, fragment fields), TCP, UDP or ICMPv6 after it,
 * maybe cut; run, and answered if redirected. NULL, or what was broken. */
const char *xf6_chain(const uint8_t *data, size_t size);
/* The IPv6 connection table's invariants: every published entry in the
 * bucket its key locates, under its tag; no key twice; every entry of
 * an original direction (not local) has its reply entry, which
 * translates back to it; no entry with a multicast or unspecified
 * source. NULL, or what was broken. */
const char *xf6_check_table(struct pt_dataplane *dp);

#endif
