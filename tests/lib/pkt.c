// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pkt.c - test packet builders and from-scratch checksum verification.
 */
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

#define ETHERTYPE_8021Q	0x8100
#define ARP_LEN		28
#define ICMP_ECHO_LEN	8
#define IP6_LEN		40
#define IP6_HOPS	64
#define IP_VERSION_IHL	0x45	/* version 4, 5 words */
#define TCP_DOFF_WORDS	(5 << 4)
#define TCP_WINDOW	65535
#define ICMP_ECHO	8
#define IP_DF		0x4000

uint32_t pkt_sum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

uint16_t pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t pkt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	uint32_t sum = pkt_sum(ip + 12, 8, 0);	/* saddr, daddr */

	sum += proto;
	sum += (uint32_t)l4_len;
	return sum;
}

static size_t put_eth(const struct pkt_spec *s, uint16_t type, uint8_t *buf)
{
	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	put16(buf + 12, type);
	return PKT_ETH_LEN;
}

static void put_ip(const struct pkt_spec *s, uint8_t proto, size_t l4_len, uint8_t *ip)
{
	memset(ip, 0, PKT_IP_LEN);
	ip[0] = IP_VERSION_IHL;
	put16(ip + 2, (uint16_t)(PKT_IP_LEN + l4_len));
	put16(ip + 4, s->ip_id);
	ip[1] = s->tos;
	if (s->df)
		put16(ip + 6, IP_DF);
	ip[8] = s->ttl;
	ip[9] = proto;
	memcpy(ip + 12, &s->saddr, 4);
	memcpy(ip + 16, &s->daddr, 4);
	put16(ip + 10, (uint16_t)~pkt_fold(pkt_sum(ip, PKT_IP_LEN, 0)));
}

static void put_payload(const struct pkt_spec *s, uint8_t *p)
{
	size_t i;

	for (i = 0; i < s->payload_len; i++)
		p[i] = (uint8_t)(s->payload_seed + i * 7);
	if (s->set_word && s->payload_len >= 2)
		put16(p, s->word);
}

struct pkt_spec pkt_spec_ip(const uint8_t dmac[6], const uint8_t smac[6], uint32_t saddr,
			    uint32_t daddr, uint8_t ttl)
{
	struct pkt_spec s = { 0 };

	memcpy(s.dmac, dmac, 6);
	memcpy(s.smac, smac, 6);
	s.saddr = saddr;
	s.daddr = daddr;
	s.ttl = ttl;
	return s;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	size_t l4_len, off = put_eth(s, ETHERTYPE_IP, buf);
	uint8_t *ip = buf + off, *l4 = ip + PKT_IP_LEN;
	uint16_t c;

	memset(ip, 0, PKT_MAX - off);
	if (s->proto == IPPROTO_TCP) {
		l4_len = PKT_TCP_LEN + s->payload_len;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, 0x1234);		/* sequence number */
		l4[12] = TCP_DOFF_WORDS;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, TCP_WINDOW);
		put_payload(s, l4 + PKT_TCP_LEN);
	} else {
		l4_len = PKT_UDP_LEN + s->payload_len;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4_len);
		put_payload(s, l4 + PKT_UDP_LEN);
	}
	put_ip(s, s->proto, l4_len, ip);
	c = (uint16_t)~pkt_fold(pkt_sum(l4, l4_len, pseudo_sum(ip, s->proto, l4_len)));
	if (s->proto == IPPROTO_TCP) {
		put16(l4 + 16, c);
	} else if (!s->udp_no_csum) {
		put16(l4 + 6, c ? c : 0xffff);
	}
	return off + PKT_IP_LEN + l4_len;
}

bool pkt_ip_csum_ok(const uint8_t *f, size_t len)
{
	uint8_t ip[PKT_IP_LEN];
	uint16_t want;

	if (len < PKT_ETH_LEN + PKT_IP_LEN)
		return false;
	memcpy(ip, f + PKT_ETH_LEN, PKT_IP_LEN);
	put16(ip + 10, 0);
	want = (uint16_t)~pkt_fold(pkt_sum(ip, PKT_IP_LEN, 0));
	return pkt_get16(f + PKT_ETH_LEN + 10) == want;
}

bool pkt_l4_csum_ok(const uint8_t *f, size_t len, bool udp_allow_zero)
{
	const uint8_t *ip = f + PKT_ETH_LEN, *l4 = ip + PKT_IP_LEN;
	size_t l4_len = pkt_get16(ip + 2) - PKT_IP_LEN;
	uint8_t proto = ip[9];
	size_t coff = proto == IPPROTO_TCP ? 16 : 6;
	uint16_t stored, want;
	uint32_t sum;

	if (len < PKT_ETH_LEN + PKT_IP_LEN + l4_len)
		return false;
	stored = pkt_get16(l4 + coff);
	if (proto == IPPROTO_UDP && stored == 0)
		return udp_allow_zero;
	/* Sum everything but the checksum field. */
	sum = pseudo_sum(ip, proto, l4_len);
	sum = pkt_sum(l4, coff, sum);
	sum = pkt_sum(l4 + coff + 2, l4_len - coff - 2, sum);
	want = (uint16_t)~pkt_fold(sum);
	if (proto == IPPROTO_UDP && want == 0)
		want = 0xffff;
	return stored == want;
}

void pkt_l4_csum_fix(uint8_t *f, size_t len)
{
	uint8_t *ip = f + PKT_ETH_LEN, *l4 = ip + PKT_IP_LEN;
	size_t l4_len = pkt_get16(ip + 2) - PKT_IP_LEN;
	size_t coff = ip[9] == IPPROTO_TCP ? 16 : 6;
	uint16_t c;

	if (len < PKT_ETH_LEN + PKT_IP_LEN + l4_len)
		return;
	l4[coff] = l4[coff + 1] = 0;
	c = (uint16_t)~pkt_fold(pkt_sum(l4, l4_len, pseudo_sum(ip, ip[9], l4_len)));
	l4[coff] = c >> 8;
	l4[coff + 1] = c & 0xff;
}

size_t pkt_build_tcp(struct pkt_spec s, uint32_t seq, uint32_t ack, uint16_t win,
		     const uint8_t *opt, size_t n, size_t payload, uint8_t *buf)
{
	uint8_t *th = buf + PKT_ETH_LEN + PKT_IP_LEN;
	size_t len;

	s.payload_len = n + payload;
	len = pkt_build(&s, buf);
	pkt_put32(th + 4, seq);
	pkt_put32(th + 8, ack);
	th[12] = (uint8_t)((PKT_TCP_LEN + n) / 4) << 4;
	th[14] = win >> 8;
	th[15] = win & 0xff;
	if (n)
		memcpy(th + PKT_TCP_LEN, opt, n);
	pkt_l4_csum_fix(buf, len);
	return len;
}

uint32_t pkt_saddr(const uint8_t *f)
{
	uint32_t a;

	memcpy(&a, f + PKT_ETH_LEN + 12, 4);
	return a;
}

uint32_t pkt_daddr(const uint8_t *f)
{
	uint32_t a;

	memcpy(&a, f + PKT_ETH_LEN + 16, 4);
	return a;
}

uint16_t pkt_sport(const uint8_t *f)
{
	return pkt_get16(f + PKT_ETH_LEN + PKT_IP_LEN);
}

uint16_t pkt_dport(const uint8_t *f)
{
	return pkt_get16(f + PKT_ETH_LEN + PKT_IP_LEN + 2);
}

uint8_t pkt_ttl(const uint8_t *f)
{
	return f[PKT_ETH_LEN + 8];
}

uint16_t pkt_l4_csum(const uint8_t *f)
{
	const uint8_t *ip = f + PKT_ETH_LEN;

	return pkt_get16(ip + PKT_IP_LEN + (ip[9] == IPPROTO_TCP ? 16 : 6));
}

size_t pkt_build_arp(const uint8_t smac[6], uint32_t sip, uint32_t tip, uint8_t *buf)
{
	uint8_t *a = buf + PKT_ETH_LEN;

	memset(buf, 0xff, 6);
	memcpy(buf + 6, smac, 6);
	put16(buf + 12, ETHERTYPE_ARP);
	memset(a, 0, ARP_LEN);
	put16(a, 1);			/* Ethernet */
	put16(a + 2, ETHERTYPE_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);		/* request */
	memcpy(a + 8, smac, 6);
	memcpy(a + 14, &sip, 4);
	memcpy(a + 24, &tip, 4);
	return PKT_ETH_LEN + ARP_LEN;
}

size_t pkt_build_icmp_error(const struct pkt_spec *s, uint8_t type, uint8_t code, uint16_t mtu,
			    const uint8_t *quote, size_t qlen, uint8_t *buf)
{
	size_t off = put_eth(s, ETHERTYPE_IP, buf);
	uint8_t *ic = buf + off + PKT_IP_LEN;

	memset(ic, 0, PKT_ICMP_LEN);
	ic[0] = type;
	ic[1] = code;
	put16(ic + 6, mtu);
	memcpy(ic + PKT_ICMP_LEN, quote, qlen);
	put16(ic + 2, (uint16_t)~pkt_fold(pkt_sum(ic, PKT_ICMP_LEN + qlen, 0)));
	put_ip(s, IPPROTO_ICMP, PKT_ICMP_LEN + qlen, buf + off);
	return off + PKT_IP_LEN + PKT_ICMP_LEN + qlen;
}

bool pkt_icmp_csum_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + PKT_ETH_LEN, *ic = ip + PKT_IP_LEN;
	size_t n;

	if (len < PKT_ETH_LEN + PKT_IP_LEN + PKT_ICMP_LEN || ip[9] != IPPROTO_ICMP)
		return false;
	n = pkt_get16(ip + 2) - PKT_IP_LEN;
	if (len < PKT_ETH_LEN + PKT_IP_LEN + n)
		return false;
	/* The sum over the message, its checksum field included, is 0xffff. */
	return pkt_fold(pkt_sum(ic, n, 0)) == 0xffff;
}

size_t pkt_build_icmp_echo(const struct pkt_spec *s, uint8_t *buf)
{
	size_t off = put_eth(s, ETHERTYPE_IP, buf);
	uint8_t *ic = buf + off + PKT_IP_LEN;

	memset(ic, 0, ICMP_ECHO_LEN);
	ic[0] = ICMP_ECHO;
	put16(ic + 4, 0x77);
	put16(ic + 2, (uint16_t)~pkt_fold(pkt_sum(ic, ICMP_ECHO_LEN, 0)));
	put_ip(s, IPPROTO_ICMP, ICMP_ECHO_LEN, buf + off);
	return off + PKT_IP_LEN + ICMP_ECHO_LEN;
}

size_t pkt_build_ipv6_tcp(const struct pkt_spec *s, uint8_t *buf)
{
	size_t off = put_eth(s, ETHERTYPE_IPV6, buf);
	uint8_t *ip6 = buf + off, *l4 = ip6 + IP6_LEN;

	memset(ip6, 0, IP6_LEN + PKT_TCP_LEN);
	ip6[0] = 0x60;
	put16(ip6 + 4, PKT_TCP_LEN);
	ip6[6] = IPPROTO_TCP;
	ip6[7] = IP6_HOPS;
	ip6[23] = 1;			/* 2001:db8::1 style, enough here */
	ip6[39] = 2;
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	l4[12] = TCP_DOFF_WORDS;
	l4[13] = s->tcp_flags;
	return off + IP6_LEN + PKT_TCP_LEN;
}

bool pkt6_addr(const char *text, uint8_t a[16])
{
	return inet_pton(AF_INET6, text, a) == 1;
}

/* The pseudo-header's sum (RFC 8200 8.1) of the IPv6 header at ip6 for an
 * upper-layer packet of l4_len bytes of protocol nh. */
static uint32_t pseudo6_sum(const uint8_t *ip6, uint8_t nh, size_t l4_len)
{
	uint32_t sum = pkt_sum(ip6 + 8, 32, 0);	/* saddr, daddr */

	sum += (uint32_t)(l4_len >> 16) + (uint32_t)(l4_len & 0xffff);
	return sum + nh;
}

size_t pkt6_build(const struct pkt6_spec *s, uint8_t *buf)
{
	size_t off = PKT_ETH_LEN, ext = s->has_ext ? PKT_IP6_EXT_LEN : 0, l4_len = 0;
	struct pkt_spec pay = { .payload_len = s->payload_len, .payload_seed = s->payload_seed };
	uint8_t *ip6 = buf + off, *l4;
	uint16_t c;

	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	put16(buf + 12, ETHERTYPE_IPV6);
	memset(ip6, 0, PKT_MAX - off);
	ip6[0] = 0x60;
	ip6[7] = s->hop_limit;
	memcpy(ip6 + 8, s->saddr, 16);
	memcpy(ip6 + 24, s->daddr, 16);
	if (s->has_ext && s->ext == PKT_NH_NONE) {
		ip6[6] = PKT_NH_NONE;
		return off + PKT_IP6_LEN;
	}
	l4 = ip6 + PKT_IP6_LEN + ext;
	if (s->has_ext) {
		ip6[6] = s->ext;
		ip6[PKT_IP6_LEN] = s->proto;	/* the extension's next header */
	} else {
		ip6[6] = s->proto;
	}
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		l4_len = PKT_TCP_LEN + s->payload_len;
		put16(l4 + 4, 0x1234);		/* sequence number */
		l4[12] = TCP_DOFF_WORDS;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, TCP_WINDOW);
		put_payload(&pay, l4 + PKT_TCP_LEN);
	} else {
		l4_len = PKT_UDP_LEN + s->payload_len;
		put16(l4 + 4, (uint16_t)l4_len);
		put_payload(&pay, l4 + PKT_UDP_LEN);
	}
	put16(ip6 + 4, (uint16_t)(ext + l4_len));
	c = (uint16_t)~pkt_fold(pkt_sum(l4, l4_len, pseudo6_sum(ip6, s->proto, l4_len)));
	if (s->proto == IPPROTO_TCP)
		put16(l4 + 16, c);
	else if (!s->udp_zero_csum)
		put16(l4 + 6, c ? c : 0xffff);
	return off + PKT_IP6_LEN + ext + l4_len;
}

bool pkt6_l4_csum_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip6 = f + PKT_ETH_LEN;
	size_t l4_len;
	uint8_t nh;

	if (len < PKT6_L4 || pkt_get16(f + 12) != ETHERTYPE_IPV6)
		return false;
	l4_len = pkt_get16(ip6 + 4);
	nh = ip6[6];
	if (PKT6_L4 + l4_len > len || (nh != IPPROTO_TCP && nh != IPPROTO_UDP && nh != 58))
		return false;
	if (nh == IPPROTO_UDP && (l4_len < PKT_UDP_LEN || pkt_get16(f + PKT6_L4 + 6) == 0))
		return false;
	/* The sum over everything, the checksum field included, is 0xffff. */
	return pkt_fold(pkt_sum(f + PKT6_L4, l4_len, pseudo6_sum(ip6, nh, l4_len))) == 0xffff;
}

void pkt6_l4_csum_fix(uint8_t *f, size_t len)
{
	const uint8_t *ip6 = f + PKT_ETH_LEN;
	size_t l4_len, at;
	uint8_t nh;

	if (len < PKT6_L4 + PKT_UDP_LEN)
		return;
	l4_len = pkt_get16(ip6 + 4);
	nh = ip6[6];
	at = nh == IPPROTO_TCP ? 16 : nh == IPPROTO_UDP ? 6 : 2;	/* ICMPv6: 2 */
	if (PKT6_L4 + l4_len > len || l4_len < at + 2)
		return;
	put16(f + PKT6_L4 + at, 0);
	put16(f + PKT6_L4 + at,
	      (uint16_t)~pkt_fold(pkt_sum(f + PKT6_L4, l4_len, pseudo6_sum(ip6, nh, l4_len))));
}

size_t pkt_build_vlan(const struct pkt_spec *s, uint16_t vid, uint8_t *buf)
{
	uint8_t inner[PKT_MAX];
	size_t n = pkt_build(s, inner);

	if (n + 4 > PKT_MAX)
		return 0;
	memcpy(buf, inner, 12);
	put16(buf + 12, ETHERTYPE_8021Q);
	put16(buf + 14, vid);
	memcpy(buf + 16, inner + 12, n - 12);
	return n + 4;
}
