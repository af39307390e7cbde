// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * addr6.c - this host's IPv6 addresses from /proc/net/if_inet6 (addr6.h).
 * Each line: address (32 hex digits), ifindex, prefix length, scope and
 * flags (hex), name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr6.h"
#include "util.h"

#define IF_INET6	"/proc/net/if_inet6"

/* include/uapi/linux/if_addr.h and net/ipv6.h */
#define IFA6_F_TEMPORARY	0x01	/* a privacy address: it goes away */
#define IFA6_F_DADFAILED	0x08
#define IFA6_F_DEPRECATED	0x20
#define IFA6_F_TENTATIVE	0x40
#define IPV6_SCOPE_HOST		0x10
#define IPV6_SCOPE_LINK		0x20

/* One line into *a: true if it parses. */
static bool parse_line(const char *line, struct pt_addr6 *a)
{
	char hex[33];
	unsigned int ifindex, plen, scope, flags;

	if (sscanf(line, "%32s %x %x %x %x", hex, &ifindex, &plen, &scope, &flags) != 5 ||
	    strlen(hex) != 32)
		return false;
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 16; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return false;
		a->addr.s6_addr[i] = (uint8_t)b;
	}
	a->ifindex = ifindex;
	a->link_local = (scope & 0xf0) == IPV6_SCOPE_LINK ||
			(a->addr.s6_addr[0] == 0xfe && (a->addr.s6_addr[1] & 0xc0) == 0x80);
	a->loopback = (scope & 0xf0) == IPV6_SCOPE_HOST || IN6_IS_ADDR_LOOPBACK(&a->addr);
	a->usable = !(flags & (IFA6_F_TEMPORARY | IFA6_F_DADFAILED | IFA6_F_DEPRECATED |
			     IFA6_F_TENTATIVE));
	a->ula = (a->addr.s6_addr[0] & 0xfe) == 0xfc;
	return true;
}

int pt_addr6_list(__u32 ifindex, struct pt_addr6 **out, size_t *n)
{
	FILE *f = fopen(IF_INET6, "re");
	char line[256];
	struct pt_addr6 a;

	*out = NULL;
	*n = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f))
		if (parse_line(line, &a) && (!ifindex || a.ifindex == ifindex)) {
			*out = xrealloc(*out, (*n + 1) * sizeof(**out));
			(*out)[(*n)++] = a;
		}
	fclose(f);
	return 0;
}

bool pt_addr6_source(__u32 ifindex, struct in6_addr *out)
{
	struct pt_addr6 *v;
	size_t n;
	int best = -1;

	memset(out, 0, sizeof(*out));
	if (!ifindex || pt_addr6_list(ifindex, &v, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i].link_local || v[i].loopback || !v[i].usable)
			continue;
		if (!v[i].ula) {
			best = (int)i;
			break;
		}
		if (best < 0)
			best = (int)i;
	}
	if (best >= 0)
		*out = v[best].addr;
	free(v);
	return best >= 0;
}
