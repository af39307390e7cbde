/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xdpfuzz6_int.h - what the IPv6 fuzz harness's files share
 * (tests/lib/xdpfuzz6.c: frames, seeds, answers; xdpfuzz6_check.c: the
 * invariants of a run; xdpfuzz6_table.c: the IPv6 table's): wire
 * constants, the test network's IPv6 addresses, the harness's walk of an
 * IPv6 packet. Not for the harness's users (xdpfuzz6.h).
 */
#ifndef PORTIER_TEST_XDPFUZZ6_INT_H
#define PORTIER_TEST_XDPFUZZ6_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "testnet.h"
#include "xdpfuzz6.h"

#define ETH_P_IP6	0x86dd
#define IP6_LEN		40
#define IP6_HOPS_OFF	7
#define IP6_ADDRS_OFF	8
#define L3		PKT_ETH_LEN	/* the IPv6 header's offset in a frame */
#define TCP_CSUM_OFF	16
#define UDP_CSUM_OFF	6
#define ICMP6_CSUM_OFF	2
#define ICMP6_LEN	8
#define MIN_MTU6	1280	/* IPv6's minimum MTU: an ICMPv6 error fits in it */
#define FRAME_MTU	1500	/* the test network's */
#define GEN_HOPS_MIN	64	/* the least hop limit of portier's own messages */

/* Next headers. */
#define NH_HOP		0
#define NH_TCP		6
#define NH_UDP		17
#define NH_ROUTING	43
#define NH_FRAG		44
#define NH_ESP		50
#define NH_AH		51
#define NH_ICMP6	58
#define NH_NONE		59
#define NH_DST		60
/* ICMPv6 types. */
#define I6_UNREACH	1
#define I6_TOO_BIG	2
#define I6_TIME		3
#define I6_PARAM	4
#define I6_ECHO		128
#define I6_ECHO_REPLY	129
#define I6_MLD_QUERY	130
#define I6_REDIRECT	137
#define I6_MLD2_REPORT	143

/* Two link-local addresses on the test network (testnet.h's TN6_*). */
#define XF6_CLIENT_LL	"fe80::10"
#define XF6_GW_LL	"fe80::1"
#define MAX_EXT		8	/* extension headers in a generated chain */
#define ECHO_DATA	24	/* bytes of an echo's data */

#define ADD(field, v)	__atomic_fetch_add(&xf_counts_rw()->field, (v), __ATOMIC_RELAXED)

/* An IPv6 packet at ip (n bytes available) walked to its upper layer. */
struct walk {
	size_t l4;		/* offset of the upper-layer header from ip */
	uint8_t proto;		/* its next header value */
	size_t plen;		/* the payload length field */
	bool frag;		/* a fragment header with an offset or M set */
	bool segs_left;		/* a routing header with segments left */
	bool hop_late;		/* hop-by-hop options not first */
	bool ah;		/* an authentication header */
	const char *bad;	/* why the chain cannot be walked */
};

/* Walk the IPv6 packet at ip (n bytes there): its extension headers
 * (hop-by-hop, destination options, routing, fragment, AH) to the upper
 * layer. */
struct walk xf6_walk(const uint8_t *ip, size_t n);

/* The ones' complement sum of the IPv6 pseudo-header of src, dst, an
 * upper-layer length and next header. */
uint32_t xf6_pseudo(const uint8_t *src, const uint8_t *dst, size_t len, uint8_t nh);

/* IPv6 address text (a constant of the harness) into out; aborts if it
 * is not one. */
void xf6_a6(const char *s, uint8_t out[16]);

/* Address classes (RFC 4291). */
static inline bool is_multicast(const uint8_t *a)
{
	return a[0] == 0xff;
}

static inline bool is_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

#endif
