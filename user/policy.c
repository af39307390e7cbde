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

static __u32 mask_of(uint8_t len)
{
	return len ? htonl(~0U << (IPV4_BITS - len)) : 0;
}

int pt_cidr_parse(const char *s, struct pt_cidr *out, const char **why)
{
	const char *slash = strchr(s, '/');
	char *addr = slash ? xstrndup(s, (size_t)(slash - s)) : xstrdup(s);
	unsigned long len = IPV4_BITS;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (pt_addr_parse(addr, &out->addr)) {
		*why = "is not an IPv4 address or network (write 198.51.100.0/24 or 198.51.100.7)";
		err = -EINVAL;
	} else if (out->addr.family != AF_INET) {
		*why = "is IPv6, which portier does not forward yet; use IPv4 networks";
		err = -EAFNOSUPPORT;
	} else if (slash && !pt_parse_uint(slash + 1, 0, IPV4_BITS, &len)) {
		*why = "has a prefix length that is not a number from 0 to 32";
		err = -EINVAL;
	} else if (out->addr.v4.s_addr & ~mask_of((uint8_t)len)) {
		*why = "has host bits set below its prefix length; write the network "
		       "address (e.g. 198.51.100.0/24, not 198.51.100.7/24)";
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

bool pt_cidr_covers(const struct pt_cidr *outer, const struct pt_cidr *inner)
{
	return outer->len <= inner->len &&
	       !((outer->addr.v4.s_addr ^ inner->addr.v4.s_addr) & mask_of(outer->len));
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

/* The element of the sorted v[0..n) with key k's prefix, or NULL. */
static const struct pt_policy_item *item_find(const struct pt_policy_item *v, size_t n,
					      const struct portier_policy_key *k)
{
	struct pt_policy_item probe = { .key = *k };

	return n ? bsearch(&probe, v, n, sizeof(*v), pt_policy_item_cmp) : NULL;
}

void pt_policy_compile(const struct pt_policy *p, __u32 scope, struct pt_policy_item **v,
		       size_t *n)
{
	size_t first = *n, m = 0;
	struct pt_policy_item *it;
	bool any_allow = false, have_all = false;

	/* One element per entry, sorted by prefix, then one per distinct
	 * network with the declared bits or'ed: O(n log n). */
	*v = xrealloc(*v, (*n + p->n + 1) * sizeof(**v));
	it = *v + first;
	for (size_t i = 0; i < p->n; i++) {
		const struct pt_policy_entry *e = &p->v[i];

		memset(&it[i], 0, sizeof(it[i]));
		it[i].key.prefixlen = PORTIER_POLICY_SCOPE_BITS + e->net.len;
		it[i].key.scope = scope;
		it[i].key.addr = e->net.addr.v4.s_addr;
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
		__u32 len = it[k].key.prefixlen - PORTIER_POLICY_SCOPE_BITS;

		have_all |= len == 0;
		it[k].rule.action = it[k].rule.declared & D_ANY_DENY ? PORTIER_POLICY_DENY :
									 PORTIER_POLICY_ALLOW;
		for (__u32 l = 0; l < len && it[k].rule.action == PORTIER_POLICY_ALLOW; l++) {
			struct portier_policy_key pk = { .prefixlen = PORTIER_POLICY_SCOPE_BITS + l,
							 .scope = scope,
							 .addr = it[k].key.addr & mask_of((uint8_t)l) };
			const struct pt_policy_item *d = item_find(it, m, &pk);

			if (d && (d->rule.declared & D_ANY_DENY))
				it[k].rule.action = PORTIER_POLICY_DENY;
		}
	}
	/* A non-empty allow list: what it leaves out is denied. */
	if (any_allow && !have_all) {
		memset(&it[m], 0, sizeof(it[m]));
		it[m].key.prefixlen = PORTIER_POLICY_SCOPE_BITS;
		it[m].key.scope = scope;
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

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		struct pt_policy_entry e = { .action = bits[i].action,
					     .runtime = bits[i].runtime };

		if (!(it->rule.declared & bits[i].bit) ||
		    it->key.prefixlen < PORTIER_POLICY_SCOPE_BITS ||
		    it->key.prefixlen > PORTIER_POLICY_SCOPE_BITS + IPV4_BITS)
			continue;
		e.net.addr.family = AF_INET;
		e.net.addr.v4.s_addr = it->key.addr;
		e.net.len = (uint8_t)(it->key.prefixlen - PORTIER_POLICY_SCOPE_BITS);
		pt_policy_append(p, &e);
	}
}

int pt_policy_item_cmp(const void *a, const void *b)
{
	const struct pt_policy_item *x = a, *y = b;

	if (x->key.scope != y->key.scope)
		return x->key.scope < y->key.scope ? -1 : 1;
	if (x->key.prefixlen != y->key.prefixlen)
		return x->key.prefixlen < y->key.prefixlen ? -1 : 1;
	if (x->key.addr != y->key.addr)
		return ntohl(x->key.addr) < ntohl(y->key.addr) ? -1 : 1;
	return 0;
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
