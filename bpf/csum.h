/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csum.h - incremental Internet checksum updates (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')). A struct csum_delta collects ~m + m' for every
 * 16-bit word that changes; csum_apply folds it into a checksum field.
 * Words are summed as stored (network order): one's complement sums do not
 * depend on byte order as long as every word is read and written the same
 * way.
 */
#ifndef PORTIER_BPF_CSUM_H
#define PORTIER_BPF_CSUM_H

#define CSUM_WORD_MASK	0xffffU
#define CSUM_WORD_BITS	16

/* Accumulated one's complement difference of the changed words. */
struct csum_delta {
	__u32 sum;
};

static __always_inline void csum_delta16(struct csum_delta *d, __u16 from, __u16 to)
{
	d->sum += (__u16)~from;
	d->sum += to;
}

static __always_inline void csum_delta32(struct csum_delta *d, __u32 from, __u32 to)
{
	csum_delta16(d, from & CSUM_WORD_MASK, to & CSUM_WORD_MASK);
	csum_delta16(d, from >> CSUM_WORD_BITS, to >> CSUM_WORD_BITS);
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & CSUM_WORD_MASK) + (sum >> CSUM_WORD_BITS);
	sum = (sum & CSUM_WORD_MASK) + (sum >> CSUM_WORD_BITS);
	return sum;
}

/* The new checksum for old checksum csum after the changes in d. */
static __always_inline __u16 csum_apply(__u16 csum, const struct csum_delta *d)
{
	return ~csum_fold((__u16)~csum + d->sum);
}

/* UDP: a zero checksum means "none" and stays zero; a computed zero is sent
 * as 0xffff (RFC 768). */
#define UDP_CSUM_NONE		0
#define UDP_CSUM_ZERO_AS	0xffff

static __always_inline __u16 csum_apply_udp(__u16 csum, const struct csum_delta *d)
{
	__u16 r;

	if (csum == UDP_CSUM_NONE)
		return UDP_CSUM_NONE;
	r = csum_apply(csum, d);
	return r == 0 ? UDP_CSUM_ZERO_AS : r;
}

#endif
