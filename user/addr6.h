/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * addr6.h - this host's IPv6 addresses as the kernel lists them in
 * /proc/net/if_inet6 (the current network namespace's): with their
 * interface, scope and state (tentative, deprecated), which getifaddrs
 * does not give. For portier_local6 and the NAT66 source (snat_addr6).
 */
#ifndef PORTIER_ADDR6_H
#define PORTIER_ADDR6_H

#include <linux/types.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* One address of the list. */
struct pt_addr6 {
	struct in6_addr addr;
	__u32 ifindex;
	bool link_local;	/* fe80::/10 (or the kernel's link scope) */
	bool loopback;		/* ::1 (host scope) */
	bool usable;		/* neither tentative, deprecated nor DAD-failed */
	bool ula;		/* fc00::/7 */
};

/* The addresses on interface ifindex (0: every interface) into a
 * malloc'd *out, *n of them. 0, or -errno if the list cannot be read (no
 * IPv6 in the kernel: 0 with none). */
int pt_addr6_list(__u32 ifindex, struct pt_addr6 **out, size_t *n);

/* The NAT66 source of interface ifindex: its first usable global address
 * (not link-local, loopback or ULA), else its first usable ULA. true if
 * one was found (*out), false if not (*out all-zero). */
bool pt_addr6_source(__u32 ifindex, struct in6_addr *out);

#endif
