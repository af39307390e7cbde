/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * pkt.h - test packets: build Ethernet/IPv4/TCP/UDP frames with checksums
 * computed from scratch, and verify the checksums of a frame the same way.
 * Shared by the BPF program tests and the per-packet cost benchmark.
 */
#ifndef PORTIER_TEST_PKT_H
#define PORTIER_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX		1600	/* largest frame a test builds */
#define PKT_ETH_LEN	14
#define PKT_IP_LEN	20
#define PKT_TCP_LEN	20
#define PKT_UDP_LEN	8

/* TCP flag bits (byte 13 of the TCP header). */
#define PKT_FIN		0x01
#define PKT_SYN		0x02
#define PKT_RST		0x04
#define PKT_PSH		0x08
#define PKT_ACK		0x10

/* What to build. Addresses in network order, ports in host order. */
struct pkt_spec {
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t ttl;
	uint8_t tcp_flags;	/* PKT_* */
	uint16_t ip_id;
	bool df;		/* IPv4 don't-fragment bit */
	uint8_t tos;
	bool udp_no_csum;	/* UDP checksum field 0 ("none") */
	size_t payload_len;	/* payload bytes: a pattern from payload_seed */
	uint8_t payload_seed;
	/* Optional first two payload bytes (to steer a checksum). */
	bool set_word;
	uint16_t word;
};

/* A spec from smac to dmac, saddr to daddr, TTL ttl; the rest 0. */
struct pkt_spec pkt_spec_ip(const uint8_t dmac[6], const uint8_t smac[6], uint32_t saddr,
			    uint32_t daddr, uint8_t ttl);

/* Build the frame into buf (PKT_MAX bytes). Returns its length. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf);

/* One's complement sum of len bytes starting at p, added to sum. */
uint32_t pkt_sum(const void *p, size_t len, uint32_t sum);
uint16_t pkt_fold(uint32_t sum);

/* Checksums of an Ethernet/IPv4 frame recomputed from scratch, compared
 * with the frame's fields. A UDP field of 0 is accepted only if allow_zero. */
bool pkt_ip_csum_ok(const uint8_t *frame, size_t len);
bool pkt_l4_csum_ok(const uint8_t *frame, size_t len, bool udp_allow_zero);

/* Recompute the TCP or UDP checksum of an IPv4 frame from scratch (after
 * a test edited its bytes: TCP options, sequence numbers). */
void pkt_l4_csum_fix(uint8_t *frame, size_t len);

/* Big-endian (network order) numbers at p. */
uint16_t pkt_get16(const uint8_t *p);
uint32_t pkt_get32(const uint8_t *p);
void pkt_put32(uint8_t *p, uint32_t v);

/* s's TCP frame with sequence number seq, acknowledgment ack, window win
 * and the options opt (n bytes, a multiple of 4) before payload bytes of
 * payload (s's pattern); checksums from scratch. Its length. */
size_t pkt_build_tcp(struct pkt_spec s, uint32_t seq, uint32_t ack, uint16_t win,
		     const uint8_t *opt, size_t n, size_t payload, uint8_t *buf);

/* Field access on a frame built by pkt_build (no options). */
uint32_t pkt_saddr(const uint8_t *f);
uint32_t pkt_daddr(const uint8_t *f);
uint16_t pkt_sport(const uint8_t *f);	/* host order */
uint16_t pkt_dport(const uint8_t *f);
uint8_t pkt_ttl(const uint8_t *f);
uint16_t pkt_l4_csum(const uint8_t *f);	/* as stored, network order */

/* An ICMP error (type, code; mtu in bytes 6-7, for fragmentation
 * needed) from s's addresses and MACs (ports, proto unused), quoting qlen
 * bytes at quote (an IP packet). ICMP and IP checksums from scratch. */
#define PKT_ICMP_LEN	8
size_t pkt_build_icmp_error(const struct pkt_spec *s, uint8_t type, uint8_t code, uint16_t mtu,
			    const uint8_t *quote, size_t qlen, uint8_t *buf);
/* The ICMP checksum of an Ethernet/IPv4/ICMP frame, from scratch. */
bool pkt_icmp_csum_ok(const uint8_t *frame, size_t len);

/* Other frames for pass-through cases. */
size_t pkt_build_arp(const uint8_t smac[6], uint32_t sip, uint32_t tip, uint8_t *buf);
size_t pkt_build_icmp_echo(const struct pkt_spec *s, uint8_t *buf);
size_t pkt_build_ipv6_tcp(const struct pkt_spec *s, uint8_t *buf);
/* ---- IPv6 ---------------------------------------------------------------- */

#define PKT_IP6_LEN	40
#define PKT_IP6_EXT_LEN	8	/* an extension header these builders put in */
#define PKT_NH_NONE	59	/* IPv6 "no next header" */

/* An IPv6 frame to build. Ports in host order. */
struct pkt6_spec {
	uint8_t dmac[6];
	uint8_t smac[6];
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t hop_limit;
	uint8_t tcp_flags;	/* PKT_* */
	bool udp_zero_csum;	/* UDP checksum field 0 (invalid in IPv6) */
	size_t payload_len;	/* payload bytes: a pattern from payload_seed */
	uint8_t payload_seed;
	/* An 8-byte extension header of this next-header value in front of
	 * the TCP/UDP header (has_ext); PKT_NH_NONE: no header at all after
	 * the IPv6 one, nothing follows. */
	bool has_ext;
	uint8_t ext;
};

/* IPv6 address text into a (16 bytes); false if it is not one. */
bool pkt6_addr(const char *text, uint8_t a[16]);
/* Build s into buf (PKT_MAX bytes), TCP/UDP checksum from scratch. Its
 * length. */
size_t pkt6_build(const struct pkt6_spec *s, uint8_t *buf);
/* The TCP/UDP (or, for ICMPv6, the ICMPv6) checksum of an
 * Ethernet/IPv6 frame with no extension header, recomputed from scratch
 * over the pseudo-header: true if it matches (a UDP checksum of 0 never
 * does). */
bool pkt6_l4_csum_ok(const uint8_t *frame, size_t len);
/* Recompute that checksum from scratch into its field (after a test
 * edited the frame). */
void pkt6_l4_csum_fix(uint8_t *frame, size_t len);
/* Offsets in a frame built by pkt6_build (no extension header). */
#define PKT6_SADDR	(PKT_ETH_LEN + 8)
#define PKT6_DADDR	(PKT_ETH_LEN + 24)
#define PKT6_HOPS	(PKT_ETH_LEN + 7)
#define PKT6_L4		(PKT_ETH_LEN + PKT_IP6_LEN)

/* s's frame with an 802.1Q tag (VLAN id vid) after the MACs. */
size_t pkt_build_vlan(const struct pkt_spec *s, uint16_t vid, uint8_t *buf);

#endif
