// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * policy.c - source policy lists and rate limits (policy.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define NS_PER_MS	1000000ULL
#define IPV4_BITS	32
#define IPV6_BITS	128

/* The address bytes of a (network order) and how many bits it has. */
static const __u8 *addr_bytes(const struct pt_addr *a, unsigned int *bits)
{
	*bits = a->family == AF_INET6 ? IPV6_BITS : IPV4_BITS;
	return a->family == AF_INET6 ? a->v6.s6_addr : (const __u8 *)&a->v4.s_addr;
}

/* Do the first len bits of x and y agree (bytes of either family)? */
static bool prefix_equal(const __u8 *x, const __u8 *y, unsigned int len)
{
	unsigned int whole = len / 8, rest = len % 8;

	if (memcmp(x, y, whole))
		return false;
	return !rest || !((x[whole] ^ y[whole]) & (__u8)(0xff << (8 - rest)));
}

/* Are the bits of a past its first len all zero? */
static bool host_bits_clear(const struct pt_addr *a, unsigned int len)
{
	unsigned int bits;
	const __u8 *b = addr_bytes(a, &bits);

	for (unsigned int i = len; i < bits; i++)
		if (b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

int pt_cidr_parse(const char *s, struct pt_cidr *out, const char **why)
{
	const char *slash = strchr(s, '/');
	char *addr = slash ? xstrndup(s, (size_t)(slash - s)) : xstrdup(s);
	unsigned long len = 0;
	unsigned int bits = IPV4_BITS;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!pt_addr_parse(addr, &out->addr))
		addr_bytes(&out->addr, &bits);
	len = bits;
	if (!out->addr.family) {
		*why = "is not an IPv4 or IPv6 address or network (write 198.51.100.0/24, "
		       "198.51.100.7, 2001:db8::/32 or 2001:db8::7)";
		err = -EINVAL;
	} else if (slash && !pt_parse_uint(slash + 1, 0, bits, &len)) {
		*why = bits == IPV4_BITS ? "has a prefix length that is not a number from 0 to 32" :
		       "has a prefix length that is not a number from 0 to 128";
		err = -EINVAL;
	} else if (!host_bits_clear(&out->addr, (unsigned int)len)) {
		*why = bits == IPV4_BITS ?
		       "has host bits set below its prefix length; write the network "
		       "address (e.g. 198.51.100.0/24, not 198.51.100.7/24)" :
		       "has host bits set below its prefix length; write the network "
		       "address (e.g. 2001:db8::/32, not 2001:db8::7/32)";
		err = -EINVAL;
	}
	out->len = (uint8_t)len;
	free(addr);
	return err;
}

const char *pt_cidr_str(const struct pt_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", pt_addr_str(&c->addr, a, sizeof(a)), c->len);
	return buf;
}

bool pt_cidr_equal(const struct pt_cidr *a, const struct pt_cidr *b)
{
	return a->len == b->len && pt_addr_equal(&a->addr, &b->addr);
}

bool pt_cidr_valid(const struct pt_cidr *c)
{
	unsigned int bits;

	if (c->addr.family != AF_INET && c->addr.family != AF_INET6)
		return false;
	addr_bytes(&c->addr, &bits);
	return c->len <= bits && host_bits_clear(&c->addr, c->len);
}

int pt_cidr_cmp(const struct pt_cidr *a, const struct pt_cidr *b)
{
	if (a->addr.family != b->addr.family)
		return a->addr.family == AF_INET6 ? 1 : -1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return pt_addr_cmp(&a->addr, &b->addr);
}

bool pt_cidr_covers(const struct pt_cidr *outer, const struct pt_cidr *inner)
{
	unsigned int bits;

	return outer->addr.family == inner->addr.family && outer->len <= inner->len &&
	       prefix_equal(addr_bytes(&outer->addr, &bits), addr_bytes(&inner->addr, &bits),
			    outer->len);
}

bool pt_cidr_contains(const struct pt_cidr *net, const struct pt_addr *a)
{
	struct pt_cidr host = { .addr = *a, .len = a->family == AF_INET6 ? IPV6_BITS : IPV4_BITS };

	return pt_cidr_covers(net, &host);
}

const char *pt_policy_action_name(enum pt_policy_action a)
{
	return a == PT_POLICY_DENY ? "deny" : "allow";
}

char *pt_policy_list_str(const struct pt_policy *p, enum pt_policy_action a)
{
	char *s = xstrdup(""), buf[PT_CIDR_BUF];

	for (size_t i = 0; i < p->n; i++) {
		char *t;

		if (p->v[i].action != a)
			continue;
		t = xasprintf("%s%s%s", s, *s ? ", " : "", pt_cidr_str(&p->v[i].net, buf,
									sizeof(buf)));
		free(s);
		s = t;
	}
	if (!*s) {
		free(s);
		s = xstrdup("-");
	}
	return s;
}

void pt_policy_append(struct pt_policy *p, const struct pt_policy_entry *e)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = *e;
}

ssize_t pt_policy_find(const struct pt_policy *p, const struct pt_cidr *net,
		       enum pt_policy_action a, bool runtime, bool any_origin)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].action == a && pt_cidr_equal(&p->v[i].net, net) &&
		    (any_origin || p->v[i].runtime == runtime))
			return (ssize_t)i;
	return -1;
}

void pt_policy_remove(struct pt_policy *p, size_t i)
{
	memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
	p->n--;
}

void pt_policy_copy(struct pt_policy *dst, const struct pt_policy *src)
{
	dst->n = src->n;
	dst->v = xcalloc(src->n + 1, sizeof(*dst->v));
	if (src->n)	/* an empty list's v may be NULL */
		memcpy(dst->v, src->v, src->n * sizeof(*src->v));
}

void pt_policy_free(struct pt_policy *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static __u8 declared_bit(const struct pt_policy_entry *e)
{
	if (e->action == PT_POLICY_DENY)
		return e->runtime ? PORTIER_POLICY_D_RT_DENY : PORTIER_POLICY_D_DENY;
	return e->runtime ? PORTIER_POLICY_D_RT_ALLOW : PORTIER_POLICY_D_ALLOW;
}

#define D_ANY_DENY	(PORTIER_POLICY_D_DENY | PORTIER_POLICY_D_RT_DENY)
#define D_ANY_ALLOW	(PORTIER_POLICY_D_ALLOW | PORTIER_POLICY_D_RT_ALLOW)

/* An element's CIDR length and address bytes (4 or 16). */
static unsigned int item_len(const struct pt_policy_item *it)
{
	return (it->v6 ? it->key6.prefixlen : it->key.prefixlen) - PORTIER_POLICY_SCOPE_BITS;
}

static __u32 item_scope(const struct pt_policy_item *it)
{
	return it->v6 ? it->key6.scope : it->key.scope;
}

void pt_policy_item_of(const struct pt_cidr *net, unsigned int len, __u32 scope,
		       struct pt_policy_item *out)
{
	unsigned int bits;
	const __u8 *b = addr_bytes(&net->addr, &bits);
	__u8 m[16] = { 0 };

	memset(out, 0, sizeof(*out));
	memcpy(m, b, bits / 8);
	for (unsigned int i = len; i < bits; i++)
		m[i / 8] &= (__u8)~(0x80 >> (i % 8));
	out->v6 = net->addr.family == AF_INET6;
	if (out->v6) {
		out->key6.prefixlen = PORTIER_POLICY_SCOPE_BITS + len;
		out->key6.scope = scope;
		memcpy(out->key6.addr, m, sizeof(out->key6.addr));
	} else {
		out->key.prefixlen = PORTIER_POLICY_SCOPE_BITS + len;
		out->key.scope = scope;
		memcpy(&out->key.addr, m, sizeof(out->key.addr));
	}
}

/* The network an element stands for. */
static void item_net(const struct pt_policy_item *it, struct pt_cidr *net)
{
	memset(net, 0, sizeof(*net));
	net->len = (uint8_t)item_len(it);
	net->addr.family = it->v6 ? AF_INET6 : AF_INET;
	if (it->v6)
		memcpy(net->addr.v6.s6_addr, it->key6.addr, sizeof(it->key6.addr));
	else
		net->addr.v4.s_addr = it->key.addr;
}

void pt_policy_compile(const struct pt_policy *p, __u32 scope, struct pt_policy_item **v,
		       size_t *n)
{
	size_t first = *n, m = 0;
	struct pt_policy_item *it;
	bool any_allow = false, have_all[2] = { false, false };

	/* One element per entry, sorted by prefix, then one per distinct
	 * network with the declared bits or'ed: O(n log n). */
	*v = xrealloc(*v, (*n + p->n + 2) * sizeof(**v));
	it = *v + first;
	for (size_t i = 0; i < p->n; i++) {
		const struct pt_policy_entry *e = &p->v[i];

		pt_policy_item_of(&e->net, e->net.len, scope, &it[i]);
		it[i].rule.declared = declared_bit(e);
		any_allow |= e->action == PT_POLICY_ALLOW;
	}
	if (p->n)
		qsort(it, p->n, sizeof(*it), pt_policy_item_cmp);
	for (size_t i = 0; i < p->n; i++) {
		if (m && !pt_policy_item_cmp(&it[m - 1], &it[i]))
			it[m - 1].rule.declared |= it[i].rule.declared;
		else
			it[m++] = it[i];
	}
	/* Deny wins: an allowed network inside a denied one is denied (a
	 * lookup of each shorter prefix of it among the elements). */
	for (size_t k = 0; k < m; k++) {
		unsigned int len = item_len(&it[k]);
		struct pt_cidr net;

		item_net(&it[k], &net);
		have_all[it[k].v6] |= len == 0;
		it[k].rule.action = it[k].rule.declared & D_ANY_DENY ? PORTIER_POLICY_DENY :
									 PORTIER_POLICY_ALLOW;
		for (unsigned int l = 0; l < len && it[k].rule.action == PORTIER_POLICY_ALLOW; l++) {
			struct pt_policy_item probe;
			const struct pt_policy_item *d;

			pt_policy_item_of(&net, l, scope, &probe);
			d = m ? bsearch(&probe, it, m, sizeof(*it), pt_policy_item_cmp) : NULL;
			if (d && (d->rule.declared & D_ANY_DENY))
				it[k].rule.action = PORTIER_POLICY_DENY;
		}
	}
	/* A non-empty allow list: what it leaves out is denied, in either
	 * family. */
	for (int f = 0; f < 2 && any_allow; f++) {
		struct pt_cidr all = { .addr = { .family = f ? AF_INET6 : AF_INET } };

		if (have_all[f])
			continue;
		pt_policy_item_of(&all, 0, scope, &it[m]);
		it[m].rule.action = PORTIER_POLICY_DENY;
		m++;
	}
	*n = first + m;
}

void pt_policy_decompile(const struct pt_policy_item *it, struct pt_policy *p)
{
	static const struct {
		__u8 bit;
		enum pt_policy_action action;
		bool runtime;
	} bits[] = {
		{ PORTIER_POLICY_D_ALLOW, PT_POLICY_ALLOW, false },
		{ PORTIER_POLICY_D_DENY, PT_POLICY_DENY, false },
		{ PORTIER_POLICY_D_RT_ALLOW, PT_POLICY_ALLOW, true },
		{ PORTIER_POLICY_D_RT_DENY, PT_POLICY_DENY, true },
	};
	__u32 prefixlen = it->v6 ? it->key6.prefixlen : it->key.prefixlen;

	if (prefixlen < PORTIER_POLICY_SCOPE_BITS ||
	    prefixlen > PORTIER_POLICY_SCOPE_BITS + (it->v6 ? IPV6_BITS : IPV4_BITS))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		struct pt_policy_entry e = { .action = bits[i].action,
					     .runtime = bits[i].runtime };

		if (!(it->rule.declared & bits[i].bit))
			continue;
		item_net(it, &e.net);
		pt_policy_append(p, &e);
	}
}

int pt_policy_item_cmp(const void *a, const void *b)
{
	const struct pt_policy_item *x = a, *y = b;
	unsigned int lx = item_len(x), ly = item_len(y);
	int c;

	if (item_scope(x) != item_scope(y))
		return item_scope(x) < item_scope(y) ? -1 : 1;
	if (x->v6 != y->v6)
		return x->v6 ? 1 : -1;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	c = x->v6 ? memcmp(x->key6.addr, y->key6.addr, sizeof(x->key6.addr)) :
		    memcmp(&x->key.addr, &y->key.addr, sizeof(x->key.addr));
	return c < 0 ? -1 : c > 0;
}

int pt_rate_limit_check(const struct pt_rate_limit *rl, const char **why)
{
	if (rl->rate < 1 || rl->rate > PT_RATE_MAX)
		*why = "rate must be a count from 1 to 1000000";
	else if (rl->per_ms < 1 || rl->per_ms > PT_RATE_FILL_MAX_MS)
		*why = "per must be a duration from 1ms to 24h";
	else if (rl->burst < 1 || rl->burst > PT_BURST_MAX)
		*why = "burst must be a count from 1 to 1000000";
	else if ((__u64)rl->burst * pt_rate_interval_ns(rl) > PT_RATE_FILL_MAX_MS * NS_PER_MS)
		*why = "an empty bucket would take more than 24h to fill (burst x per / rate); "
		       "lower burst or raise rate";
	else
		return 0;
	return -EINVAL;
}

__u64 pt_rate_interval_ns(const struct pt_rate_limit *rl)
{
	__u64 t = rl->rate ? (__u64)rl->per_ms * NS_PER_MS / rl->rate : 0;

	return t ? t : 1;
}

const char *pt_duration_str(unsigned int ms, char *buf, size_t len)
{
	static const struct {
		unsigned int ms;
		const char *unit;
	} units[] = { { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (ms && ms % units[i].ms == 0) {
			snprintf(buf, len, "%u%s", ms / units[i].ms, units[i].unit);
			return buf;
		}
	snprintf(buf, len, "0ms");
	return buf;
}

const char *pt_rate_limit_str(const struct pt_rate_limit *rl, char *buf, size_t len)
{
	char per[32];

	if (!rl->rate)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%u per %s burst %u", rl->rate,
			 pt_duration_str(rl->per_ms, per, sizeof(per)), rl->burst);
	return buf;
}
