/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * portier_hash.h - the hash of a flow's tuple that picks its slot in a
 * route's Maglev table: one definition for the XDP program and userspace
 * (the tests, and any tool that says where a tuple goes). No random seed:
 * every gateway of a pool computes the same value for the same packet.
 *
 * Included after vmlinux.h (bpf/) or <linux/types.h> (user/).
 */
#ifndef PORTIER_HASH_H
#define PORTIER_HASH_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* splitmix64's finalizer. */
static __always_inline __u64 portier_mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The hash of the 5-tuple (addresses and ports as on the wire, network
 * byte order): balance maglev. */
static __always_inline __u32 portier_tuple_hash(__be32 saddr, __be32 daddr, __be16 sport,
						__be16 dport, __u8 proto)
{
	__u64 a = (__u64)saddr << 32 | daddr;
	__u64 b = (__u64)sport << 32 | (__u64)dport << 16 | proto;

	return (__u32)(portier_mix64(portier_mix64(a) ^ b) >> 32);
}

/* The hash of the client address alone: balance source. */
static __always_inline __u32 portier_source_hash(__be32 saddr)
{
	return (__u32)(portier_mix64((__u64)saddr) >> 32);
}

/* IPv6: the addresses folded to 64 bits each (their two halves xored),
 * so that the whole address counts. A v4 address never meets these: an
 * IPv6 route has IPv6 clients only. */
static __always_inline __u64 portier_addr6_fold64(const __be32 a[4])
{
	return ((__u64)a[0] << 32 | a[1]) ^ ((__u64)a[2] << 32 | a[3]);
}

static __always_inline __u32 portier_tuple6_hash(const __be32 saddr[4], const __be32 daddr[4],
						 __be16 sport, __be16 dport, __u8 proto)
{
	__u64 a = portier_mix64(portier_addr6_fold64(saddr)) ^ portier_addr6_fold64(daddr);
	__u64 b = (__u64)sport << 32 | (__u64)dport << 16 | proto;

	return (__u32)(portier_mix64(portier_mix64(a) ^ b) >> 32);
}

static __always_inline __u32 portier_source6_hash(const __be32 saddr[4])
{
	return (__u32)(portier_mix64(portier_addr6_fold64(saddr)) >> 32);
}

#endif
