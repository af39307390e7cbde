/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * policy.h - source policy and per-source rate limits in userspace: CIDR
 * text, the allow/deny lists of a route or of the pool (struct pt_policy,
 * routes.h), their compiled form as entries of portier_policy, and the
 * checks of a rate limit. Semantics in docs/inventory.md: deny wins over
 * allow, an empty allow list allows every source, and a new flow must pass
 * both the pool's lists and its route's.
 */
#ifndef PORTIER_POLICY_H
#define PORTIER_POLICY_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "portier.h"
#include "routes.h"

/* Rate limit bounds: rate and burst counts, and how long an empty bucket
 * may take to fill (burst intervals). */
#define PT_RATE_MAX		1000000
#define PT_BURST_MAX		1000000
#define PT_RATE_FILL_MAX_MS	(24U * 3600 * 1000)

/* "198.51.100.0/24" or "198.51.100.7" (a /32), "2001:db8::/32" or
 * "2001:db8::7" (a /128) into out. 0, or -EINVAL with *why saying what is
 * wrong (not an address, a length out of range, host bits set). */
int pt_cidr_parse(const char *s, struct pt_cidr *out, const char **why);
/* "198.51.100.0/24"; buf at least PT_CIDR_BUF bytes. */
#define PT_CIDR_BUF	(INET6_ADDRSTRLEN + 4)
const char *pt_cidr_str(const struct pt_cidr *c, char *buf, size_t len);
bool pt_cidr_equal(const struct pt_cidr *a, const struct pt_cidr *b);
/* Is c a network pt_cidr_parse accepts (IPv4 or IPv6, its length within
 * the address, no host bits)? */
bool pt_cidr_valid(const struct pt_cidr *c);
/* Order of networks: family (IPv4 first), length, address. */
int pt_cidr_cmp(const struct pt_cidr *a, const struct pt_cidr *b);
/* Does outer contain every address of inner (false across families)? */
bool pt_cidr_covers(const struct pt_cidr *outer, const struct pt_cidr *inner);
/* Is address a in network net? */
bool pt_cidr_contains(const struct pt_cidr *net, const struct pt_addr *a);

/* "allow" or "deny". */
const char *pt_policy_action_name(enum pt_policy_action a);

/* The networks of p's list a, as "198.51.100.0/24, 192.0.2.7/32" ("-"
 * if none); malloc'd. */
char *pt_policy_list_str(const struct pt_policy *p, enum pt_policy_action a);

/* Append a copy of e. */
void pt_policy_append(struct pt_policy *p, const struct pt_policy_entry *e);
/* The index of the entry of network net and action a (and origin runtime,
 * unless any_origin), or -1. */
ssize_t pt_policy_find(const struct pt_policy *p, const struct pt_cidr *net,
		       enum pt_policy_action a, bool runtime, bool any_origin);
/* Remove entry i. */
void pt_policy_remove(struct pt_policy *p, size_t i);
/* dst = a deep copy of src (dst's old array is not freed). */
void pt_policy_copy(struct pt_policy *dst, const struct pt_policy *src);
void pt_policy_free(struct pt_policy *p);

/* One element of portier_policy (IPv4: key) or of portier_policy6
 * (v6: key6). */
struct pt_policy_item {
	bool v6;
	struct portier_policy_key key;		/* !v6 */
	struct portier_policy6_key key6;	/* v6 */
	struct portier_policy_rule rule;
};

/* The element key of prefix len of network net in scope (rule zero): the
 * probe a lookup among compiled elements uses. */
void pt_policy_item_of(const struct pt_cidr *net, unsigned int len, __u32 scope,
		       struct pt_policy_item *out);

/* Append p's compiled entries for scope (a route id or
 * PORTIER_POLICY_POOL) to *v (*n of them): one per distinct network, plus
 * the scope's /0 that denies what a non-empty allow list leaves out (one
 * per family: an allow list of IPv4 networks only refuses every IPv6
 * source, and back).
 * The appended elements are not in pt_policy_item_cmp order. */
void pt_policy_compile(const struct pt_policy *p, __u32 scope, struct pt_policy_item **v,
		       size_t *n);
/* The entries an element says were declared, appended to p. */
void pt_policy_decompile(const struct pt_policy_item *it, struct pt_policy *p);
/* Order of elements: scope, family (IPv4 first), prefix length, address
 * (for a sorted diff). */
int pt_policy_item_cmp(const void *a, const void *b);

/* 0 if rl (rate non-zero) is within the bounds above, else -EINVAL and
 * *why (a static string) says which. */
int pt_rate_limit_check(const struct pt_rate_limit *rl, const char **why);
/* ns between two tokens: per / rate. */
__u64 pt_rate_interval_ns(const struct pt_rate_limit *rl);
/* "10 per 1s burst 20", or "none". */
const char *pt_rate_limit_str(const struct pt_rate_limit *rl, char *buf, size_t len);
/* A duration in ms as HAProxy would write it: 1h, 10m, 1s, 250ms. */
const char *pt_duration_str(unsigned int ms, char *buf, size_t len);

#endif
