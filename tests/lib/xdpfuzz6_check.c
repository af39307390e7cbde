// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz6_check.c - the invariants of one run of an IPv6 frame through
 * the program (xf6_check, xdpfuzz6.h): the harness's own walk of the
 * packet, what may be forwarded or rewritten, what must pass untouched,
 * which bytes a rewrite may change, checksums, hop limit, Packet Too Big.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "xdpfuzz6_int.h"

/* ---- parsing (the harness's own view) ----------------------------------- */

bool xf6_is_ipv6(const uint8_t *f, size_t len)
{
	return len >= PKT_ETH_LEN && pkt_get16(f + 12) == ETH_P_IP6;
}


struct walk xf6_walk(const uint8_t *ip, size_t n)
{
	struct walk w = { .l4 = IP6_LEN };
	uint8_t nh;

	if (n < IP6_LEN || ip[0] >> 4 != 6) {
		w.bad = "not IPv6";
		return w;
	}
	w.plen = pkt_get16(ip + 4);
	nh = ip[6];
	for (int i = 0; i < 16; i++) {
		size_t hl;

		if (nh != NH_HOP && nh != NH_DST && nh != NH_ROUTING && nh != NH_FRAG &&
		    nh != NH_AH)
			break;
		if (w.l4 + 8 > n || w.l4 + 8 > IP6_LEN + w.plen) {
			w.bad = "an extension header beyond the packet";
			return w;
		}
		hl = nh == NH_FRAG ? 8 : nh == NH_AH ? ((size_t)ip[w.l4 + 1] + 2) * 4 :
		     ((size_t)ip[w.l4 + 1] + 1) * 8;
		if (nh == NH_HOP && w.l4 != IP6_LEN)
			w.hop_late = true;
		if (nh == NH_FRAG && (pkt_get16(ip + w.l4 + 2) & 0xfff9))
			w.frag = true;
		if (nh == NH_ROUTING && ip[w.l4 + 3])
			w.segs_left = true;
		if (nh == NH_AH)
			w.ah = true;
		if (w.l4 + hl > IP6_LEN + w.plen) {
			w.bad = "an extension header beyond the packet";
			return w;
		}
		nh = ip[w.l4];
		w.l4 += hl;
	}
	w.proto = nh;
	return w;
}


/* Traffic portier must pass untouched: link-local source or destination,
 * multicast destination, neighbour discovery and MLD (a whole IPv6
 * packet needed to tell: a cut one may be dropped; so may one from a
 * multicast source, which RFC 4291 forbids). */
static bool must_pass_untouched(const uint8_t *in, size_t len)
{
	const uint8_t *ip = in + L3;
	struct walk w;

	if (len < L3 + IP6_LEN || ip[0] >> 4 != 6 ||
	    (size_t)IP6_LEN + pkt_get16(ip + 4) > len - L3 || is_multicast(ip + 8))
		return false;
	if (is_link_local(ip + 8) || is_link_local(ip + 24) || is_multicast(ip + 24))
		return true;
	w = xf6_walk(ip, len - L3);
	if (w.bad || w.proto != NH_ICMP6 || w.l4 + 1 > len - L3)
		return false;
	return (ip[w.l4] >= I6_MLD_QUERY && ip[w.l4] <= I6_REDIRECT) ||
	       ip[w.l4] == I6_MLD2_REPORT;
}

/* Why IPv6 frame in (len bytes) may not be forwarded or rewritten, or
 * NULL: a whole IPv6 packet of unicast, global addresses, its chain of
 * extension headers walkable (hop-by-hop first), no fragment but an
 * atomic one, no routing header with segments left, no AH or ESP, and
 * TCP, UDP or ICMPv6 (echo, or an error with a whole IPv6 header quoted)
 * whole after it. */
static const char *malformed6(const uint8_t *in, size_t len)
{
	const uint8_t *ip = in + L3, *l4;
	struct walk w;
	size_t n;

	if (len < L3 + IP6_LEN || ip[0] >> 4 != 6)
		return "not IPv6";
	w = xf6_walk(ip, len - L3);
	if (w.bad)
		return w.bad;
	if (IP6_LEN + w.plen > len - L3)
		return "IPv6 payload length";
	if (is_multicast(ip + 8) || is_unspecified(ip + 8))
		return "a multicast or unspecified source";
	if (must_pass_untouched(in, len))
		return "link-local, multicast, neighbour discovery or MLD";
	if (w.hop_late)
		return "hop-by-hop options not first";
	if (w.frag)
		return "a fragment";
	if (w.segs_left)
		return "a routing header with segments left";
	if (w.ah)
		return "an authentication header";
	n = IP6_LEN + w.plen - w.l4;
	l4 = ip + w.l4;
	switch (w.proto) {
	case NH_TCP:
		if (n < PKT_TCP_LEN || (size_t)(l4[12] >> 4) * 4 < PKT_TCP_LEN ||
		    (size_t)(l4[12] >> 4) * 4 > n)
			return "TCP header length";
		return NULL;
	case NH_UDP:
		if (n < PKT_UDP_LEN || pkt_get16(l4 + 4) < PKT_UDP_LEN || pkt_get16(l4 + 4) > n)
			return "UDP length";
		return NULL;
	case NH_ICMP6:
		if (n >= ICMP6_LEN && (l4[0] == I6_ECHO || l4[0] == I6_ECHO_REPLY))
			return NULL;
		if (l4[0] < I6_UNREACH || l4[0] > I6_PARAM)
			return "an ICMPv6 message neither echo nor error";
		return n < ICMP6_LEN + IP6_LEN + 8 ? "ICMPv6 error shorter than its quote" : NULL;
	}
	return "neither TCP, UDP nor ICMPv6";
}

/* Does the upper-layer checksum of the packet at ip (walked: w) verify?
 * The pseudo-header's destination is the packet's (no routing header
 * with segments left reaches here). */
static bool l4_ok(const uint8_t *ip, const struct walk *w)
{
	size_t n = IP6_LEN + w->plen - w->l4;

	return pkt_fold(pkt_sum(ip + w->l4, n, xf6_pseudo(ip + 8, ip + 24, n, w->proto))) == 0xffff;
}

/* ---- the checks --------------------------------------------------------- */

/* May byte i (of the frame) of a rewritten TCP/UDP packet (walked: w)
 * change? MACs, hop limit, addresses, ports, the TCP/UDP checksum. */
static bool rewritable6(size_t i, const struct walk *w)
{
	size_t l4 = L3 + w->l4, c = l4 + (w->proto == NH_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);

	return i < 12 || i == L3 + IP6_HOPS_OFF || (i >= L3 + IP6_ADDRS_OFF && i < L3 + IP6_LEN) ||
	       (i >= l4 && i < l4 + 4) || i == c || i == c + 1;
}

/* A translated ICMPv6 error (walked: w): only MACs, hop limit, outer
 * addresses, the ICMPv6 checksum, the quoted addresses, ports and
 * TCP/UDP checksum change; checksums that verified still verify. */
static const char *check_icmp6_error(const uint8_t *in, const uint8_t *out, size_t len,
				     const struct walk *w)
{
	const uint8_t *ip = in + L3, *q = ip + w->l4 + ICMP6_LEN;
	size_t ic = L3 + w->l4, qn = IP6_LEN + w->plen - w->l4 - ICMP6_LEN, qoff = ic + ICMP6_LEN;
	struct walk qw = xf6_walk(q, qn);
	size_t qc;

	if (qw.bad || (qw.proto != NH_TCP && qw.proto != NH_UDP) || qw.l4 + 4 > qn)
		return "an ICMPv6 error quoting no TCP/UDP header was rewritten";
	qc = qoff + qw.l4 + (qw.proto == NH_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] &&
		    !(i < 12 || i == L3 + IP6_HOPS_OFF ||
		      (i >= L3 + IP6_ADDRS_OFF && i < L3 + IP6_LEN) || i == ic + ICMP6_CSUM_OFF ||
		      i == ic + ICMP6_CSUM_OFF + 1 ||
		      (i >= qoff + IP6_ADDRS_OFF && i < qoff + IP6_LEN) ||
		      (i >= qoff + qw.l4 && i < qoff + qw.l4 + 4) || i == qc || i == qc + 1))
			return "an ICMPv6 error changed beyond MACs, hop limit, addresses, ports, "
			       "checksums";
	if (l4_ok(ip, w) && !l4_ok(out + L3, w))
		return "a translated ICMPv6 error's checksum no longer verifies";
	if (IP6_LEN + qw.plen <= qn && l4_ok(q, &qw) && !l4_ok(out + qoff, &qw))
		return "the quoted TCP/UDP checksum no longer verifies";
	ADD(v6_icmp_rewritten, 1);
	return NULL;
}

/* A rewritten IPv6 frame that may be (malformed6 said NULL), acted on
 * with act (pass or redirect). */
static const char *check_rewrite6(const uint8_t *in, const uint8_t *out, size_t len, int act)
{
	const uint8_t *ip = in + L3, *oip = out + L3;
	struct walk w = xf6_walk(ip, len - L3);
	const uint8_t *l4 = ip + w.l4;

	if (act == XDP_REDIRECT && oip[IP6_HOPS_OFF] != (uint8_t)(ip[IP6_HOPS_OFF] - 1))
		return "a redirected IPv6 packet did not lose one hop";
	if (act == XDP_REDIRECT && ip[IP6_HOPS_OFF] <= 1)
		return "an IPv6 packet with hop limit 0 or 1 was redirected";
	if (act == XDP_PASS && oip[IP6_HOPS_OFF] != ip[IP6_HOPS_OFF])
		return "an IPv6 packet passed to the kernel lost a hop";
	if (act == XDP_REDIRECT && (is_multicast(oip + 8) || is_multicast(oip + 24) ||
				    is_unspecified(oip + 8) || is_unspecified(oip + 24)))
		return "a redirected IPv6 packet has a multicast or unspecified address";
	if (w.proto == NH_ICMP6) {
		if (l4[0] == I6_ECHO || l4[0] == I6_ECHO_REPLY) {
			for (size_t i = 0; i < len; i++)
				if (in[i] != out[i] && !(i < 12 || i == L3 + IP6_HOPS_OFF ||
							 (i >= L3 + IP6_ADDRS_OFF &&
							  i < L3 + IP6_LEN) ||
							 (i >= L3 + w.l4 + 2 && i < L3 + w.l4 + 6)))
					return "an ICMPv6 echo changed beyond MACs, hop limit, "
					       "addresses, checksum, identifier";
			if (l4_ok(ip, &w) && !l4_ok(oip, &w))
				return "a translated ICMPv6 echo's checksum no longer verifies";
			return NULL;
		}
		return check_icmp6_error(in, out, len, &w);
	}
	for (size_t i = 0; i < len; i++)
		if (in[i] != out[i] && !rewritable6(i, &w))
			return "an IPv6 byte besides MACs, hop limit, addresses, ports and checksum "
			       "changed";
	if (w.proto == NH_UDP && act == XDP_REDIRECT &&
	    pkt_get16(oip + w.l4 + UDP_CSUM_OFF) == 0)
		return "an IPv6 UDP datagram forwarded with checksum 0 (mandatory in IPv6)";
	if (w.proto == NH_UDP && pkt_get16(l4 + UDP_CSUM_OFF) == 0) {
		if (pkt_get16(oip + w.l4 + UDP_CSUM_OFF) && !l4_ok(oip, &w))
			return "an IPv6 UDP datagram without checksum got a wrong one";
		return NULL;
	}
	if (l4_ok(ip, &w) && !l4_ok(oip, &w))
		return "the IPv6 TCP/UDP checksum no longer verifies";
	return NULL;
}

/* XDP_TX of an IPv6 frame: Packet Too Big for a packet over the egress
 * MTU (back to the sender's MAC and address, from the address it was
 * sent to or one of this host's, type 2 code 0, an MTU below the
 * packet's size and at least 1280, at most 1280 bytes quoting the packet
 * as received, checksum from scratch); or an echo reply to an echo request to a
 * service address. */
static const char *check_tx6(const uint8_t *in, size_t len, const uint8_t *out, size_t out_len)
{
	const uint8_t *ip = in + L3, *oip = out + L3, *oic = oip + IP6_LEN;
	uint8_t gw_in[16], gw_out[16];
	struct walk w, ow;
	size_t plen = 0, q;

	xf6_a6(TN6_GW_IN, gw_in);
	xf6_a6(TN6_GW_OUT, gw_out);
	if (malformed6(in, len))
		return "XDP_TX for an IPv6 frame that may not be answered";
	if (out_len < L3 + IP6_LEN + ICMP6_LEN || !xf6_is_ipv6(out, out_len))
		return "XDP_TX of an IPv6 frame that is not an ICMPv6 message";
	w = xf6_walk(ip, len - L3);
	ow = xf6_walk(oip, out_len - L3);
	if (ow.bad || ow.proto != NH_ICMP6 || ow.l4 != IP6_LEN ||
	    IP6_LEN + ow.plen != out_len - L3)
		return "XDP_TX: an ICMPv6 message with a wrong IPv6 header";
	if (memcmp(out, in + 6, 6) || memcmp(out + 6, in, 6))
		return "XDP_TX: an ICMPv6 message not sent back to the sender's MAC";
	if (memcmp(oip + 24, ip + 8, 16))
		return "XDP_TX: an ICMPv6 message not to the packet's source";
	if (memcmp(oip + 8, ip + 24, 16) && memcmp(oip + 8, gw_in, 16) &&
	    memcmp(oip + 8, gw_out, 16))
		return "XDP_TX: an ICMPv6 message neither from the address the packet was sent "
		       "to nor from one of this host's";
	if (oip[IP6_HOPS_OFF] < GEN_HOPS_MIN)
		return "XDP_TX: an ICMPv6 message with a hop limit below 64";
	if (!l4_ok(oip, &ow))
		return "XDP_TX: an ICMPv6 message with a bad checksum";
	if (w.proto == NH_ICMP6 && ip[w.l4] == I6_ECHO) {
		if (oic[0] != I6_ECHO_REPLY || oic[1] != 0 || out_len - L3 - IP6_LEN !=
		    IP6_LEN + w.plen - w.l4 || memcmp(oic + 4, ip + w.l4 + 4,
						      out_len - L3 - IP6_LEN - 4))
			return "XDP_TX: an echo reply not echoing the request";
		ADD(v6_tx_echo, 1);
		return NULL;
	}
	if (w.proto != NH_TCP && w.proto != NH_UDP)
		return "XDP_TX for an IPv6 packet neither TCP, UDP nor an echo";
	plen = IP6_LEN + w.plen;
	if (plen <= FRAME_MTU)
		return "Packet Too Big for a packet that fits the test network's MTU";
	if (oic[0] != I6_TOO_BIG || oic[1] != 0)
		return "XDP_TX for a too big packet that is not Packet Too Big";
	if (pkt_get32(oic + 4) < MIN_MTU6 || pkt_get32(oic + 4) >= plen)
		return "Packet Too Big with an MTU below 1280 or not below the packet's size";
	if (out_len - L3 > MIN_MTU6)
		return "Packet Too Big longer than 1280 bytes";
	q = out_len - L3 - IP6_LEN - ICMP6_LEN;
	if (q < IP6_LEN + 8 || memcmp(oic + ICMP6_LEN, ip, q))
		return "Packet Too Big does not quote the packet as received (its IPv6 header "
		       "and 8 bytes at least)";
	ADD(v6_tx_too_big, 1);
	return NULL;
}

static const char *act_name(int act)
{
	return act == XDP_DROP ? "dropped" : act == XDP_REDIRECT ? "redirected" :
	       act == XDP_TX ? "transmitted" : act == XDP_PASS ? "passed" : "aborted";
}

const char *xf6_check(const uint8_t *in, size_t len, const uint8_t *out, size_t out_len, int act)
{
	static __thread char msg[160];
	const char *bad = malformed6(in, len);
	bool changed = out_len != len || memcmp(in, out, len) != 0;

	ADD(v6_runs, 1);
	ADD(v6_unforwardable, bad != NULL);
	if (act == XDP_TX)
		return check_tx6(in, len, out, out_len);
	if (act != XDP_PASS && act != XDP_DROP && act != XDP_REDIRECT)
		return "an IPv6 frame got an action other than pass, drop, redirect or tx";
	ADD(v6_redirect, act == XDP_REDIRECT);
	ADD(v6_rewritten, changed && act != XDP_DROP);
	if (must_pass_untouched(in, len)) {
		ADD(v6_untouched, 1);
		if (act != XDP_PASS || changed) {
			snprintf(msg, sizeof(msg), "link-local, multicast, neighbour discovery or "
				 "MLD traffic not passed untouched (%s)",
				 act != XDP_PASS ? act_name(act) : "rewritten");
			return msg;
		}
		return NULL;
	}
	if (bad && (act == XDP_REDIRECT || (act == XDP_PASS && changed))) {
		snprintf(msg, sizeof(msg), "an IPv6 frame not to forward (%s) was %s", bad,
			 act == XDP_REDIRECT ? "redirected" : "passed rewritten");
		return msg;
	}
	if (act == XDP_DROP)
		return changed ? "a dropped IPv6 frame was rewritten" : NULL;
	if (out_len != len)
		return "an IPv6 frame changed length";
	if (!changed)
		return act == XDP_REDIRECT ? "an IPv6 packet redirected without losing a hop" : NULL;
	return check_rewrite6(in, out, len, act);
}
