// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * egress.c - the egress rules (egress.h) from a host's "egress" variable:
 *
 *   egress:
 *     snat_address: 198.51.100.254     optional: the output side's VIP
 *     rules:
 *       NAME:
 *         from: [CIDR ...]              sources, on the input side
 *         to: [CIDR ...]                destinations
 *         except: [CIDR ...]            destinations excluded
 *         proto: [tcp, udp, icmp]       default all three (icmp: echo)
 *         ports: [80, "8000-8099"]      TCP/UDP destination ports, default any
 *
 * and their compiled form for the program's maps.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "policy.h"
#include "template.h"
#include "util.h"

#define EGRESS_VAR	"egress"

static const char *const egress_keys[] = { "snat_address", "rules", NULL };
static const char *const rule_keys[] = { "from", "to", "except", "proto", "ports", "log",
					 NULL };

/* State of one read. */
struct eb {
	const struct pt_val *vars;
	struct pt_diags *d;
};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static void check_keys(struct eb *b, const struct pt_val *m, const char *const *known,
		       const char *where)
{
	char names[128];
	size_t off = 0;

	names[0] = '\0';
	for (size_t i = 0; known[i] && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
					known[i]);
	for (size_t i = 0; m->type == PT_VAL_MAP && i < m->n; i++) {
		if (in_list(known, m->map[i].key))
			continue;
		pt_warn(b->d, &m->map[i].key_pos, NULL,
			"unknown key '%s' in %s is ignored; known keys: %s. Check the spelling",
			m->map[i].key, where, names);
	}
}

/* m.key with templates resolved (a new reference), its node as written in
 * *node; NULL if absent or after an error. */
static struct pt_val *get(struct eb *b, const struct pt_val *m, const char *key,
			  const struct pt_val **node)
{
	struct pt_val *v = m && m->type == PT_VAL_MAP ? pt_val_get(m, key) : NULL;

	*node = v;
	return v ? pt_template_resolve(v, NULL, b->vars, b->d) : NULL;
}

/* A list of networks at r.key into *out, *n; where names it in messages.
 * Returns false after an error. */
static bool get_cidrs(struct eb *b, const struct pt_val *r, const char *key, const char *where,
		      struct pt_cidr **out, size_t *n)
{
	const struct pt_val *node;
	struct pt_val *v = get(b, r, key, &node);
	bool ok = true;

	*out = NULL;
	*n = 0;
	if (!v)
		return !node;
	if (v->type == PT_VAL_SCALAR) {	/* one network, written alone */
		struct pt_val *one = v;

		v = pt_val_new(PT_VAL_SEQ, &one->pos);
		v->seq = xcalloc(1, sizeof(*v->seq));
		v->seq[0] = one;
		v->n = 1;
	}
	if (v->type != PT_VAL_SEQ) {
		pt_error(b->d, &node->pos, NULL,
			 "%s: %s must be a list of networks (e.g. %s: [198.51.100.0/24]), not a %s",
			 where, key, key, pt_val_type_name(v->type));
		pt_val_unref(v);
		return false;
	}
	*out = xcalloc(v->n + 1, sizeof(**out));
	for (size_t i = 0; i < v->n; i++) {
		const struct pt_val *e = v->seq[i];
		const char *why;

		if (e->type != PT_VAL_SCALAR || !e->str) {
			pt_error(b->d, &e->pos, NULL, "%s: %s entry must be a network, not a %s",
				 where, key, pt_val_type_name(e->type));
			ok = false;
		} else if (strchr(e->str, ':')) {
			pt_error(b->d, &e->pos, NULL,
				 "%s: %s entry '%s' is IPv6: egress NAT is IPv4 only for now "
				 "(docs/inventory.md, \"Families\"); use IPv4 networks", where, key,
				 e->str);
			ok = false;
		} else if (pt_cidr_parse(e->str, &(*out)[*n], &why)) {
			pt_error(b->d, &e->pos, NULL, "%s: %s entry '%s' %s", where, key, e->str, why);
			ok = false;
		} else {
			(*n)++;
		}
	}
	pt_val_unref(v);
	return ok;
}

/* r.proto into rule->protos (default all). */
static bool get_protos(struct eb *b, const struct pt_val *r, const char *where,
		       struct pt_egress_rule *rule)
{
	static const char *const names[] = { "tcp", "udp", "icmp" };
	const struct pt_val *node;
	struct pt_val *v = get(b, r, "proto", &node);
	bool ok = true;

	rule->protos = PORTIER_EGRESS_P_TCP | PORTIER_EGRESS_P_UDP | PORTIER_EGRESS_P_ICMP;
	if (!v)
		return !node;
	if (v->type == PT_VAL_SCALAR) {
		struct pt_val *one = v;

		v = pt_val_new(PT_VAL_SEQ, &one->pos);
		v->seq = xcalloc(1, sizeof(*v->seq));
		v->seq[0] = one;
		v->n = 1;
	}
	if (v->type != PT_VAL_SEQ || v->n == 0) {
		pt_error(b->d, &node->pos, NULL,
			 "%s: proto must be a list of tcp, udp, icmp (e.g. proto: [tcp, udp])",
			 where);
		pt_val_unref(v);
		return false;
	}
	rule->protos = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct pt_val *e = v->seq[i];
		size_t k;

		for (k = 0; k < 3; k++)
			if (e->type == PT_VAL_SCALAR && e->str && !strcmp(e->str, names[k]))
				break;
		if (k == 3) {
			pt_error(b->d, &e->pos, NULL,
				 "%s: proto entry '%s' is not tcp, udp or icmp (icmp: echo, ping)",
				 where, e->type == PT_VAL_SCALAR && e->str ? e->str : "?");
			ok = false;
			continue;
		}
		rule->protos |= 1U << k;
	}
	pt_val_unref(v);
	return ok;
}

/* r.log (true or false; default false) into rule->log. */
static bool get_log(struct eb *b, const struct pt_val *r, const char *where,
		    struct pt_egress_rule *rule)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", NULL };
	const struct pt_val *node;
	struct pt_val *v = get(b, r, "log", &node);
	bool ok = false;

	rule->log = false;
	if (!v)
		return !node;
	for (size_t i = 0; v->type == PT_VAL_SCALAR && v->str && !v->quoted && yes[i] && !ok; i++)
		ok = !strcmp(v->str, yes[i]) || !strcmp(v->str, no[i]);
	if (ok)
		rule->log = v->str[0] == 't' || v->str[0] == 'T' || v->str[0] == 'y' ||
			    v->str[0] == 'Y';
	else
		pt_error(b->d, &node->pos, NULL,
			 "%s: log must be true or false (true: a connection log line per "
			 "flow of the rule, as a route's tcplog)", where);
	pt_val_unref(v);
	return ok;
}

/* One port or range "lo-hi" into *lo, *hi. */
static bool parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');
	unsigned long a, z;
	char *first;
	bool ok;

	if (!dash) {
		if (!pt_parse_uint(s, 1, 65535, &a))
			return false;
		*lo = *hi = (uint16_t)a;
		return true;
	}
	first = xstrndup(s, (size_t)(dash - s));
	ok = pt_parse_uint(first, 1, 65535, &a) && pt_parse_uint(dash + 1, 1, 65535, &z) && a <= z;
	free(first);
	if (ok) {
		*lo = (uint16_t)a;
		*hi = (uint16_t)z;
	}
	return ok;
}

/* r.ports into rule->ports (default: any). */
static bool get_ports(struct eb *b, const struct pt_val *r, const char *where,
		      struct pt_egress_rule *rule)
{
	const struct pt_val *node;
	struct pt_val *v = get(b, r, "ports", &node);
	bool ok = true;

	if (!v)
		return !node;
	if (v->type == PT_VAL_SCALAR) {
		struct pt_val *one = v;

		v = pt_val_new(PT_VAL_SEQ, &one->pos);
		v->seq = xcalloc(1, sizeof(*v->seq));
		v->seq[0] = one;
		v->n = 1;
	}
	if (v->type != PT_VAL_SEQ || v->n == 0) {
		pt_error(b->d, &node->pos, NULL,
			 "%s: ports must be a list of ports or ranges (e.g. ports: [80, 443, "
			 "\"8000-8099\"])", where);
		pt_val_unref(v);
		return false;
	}
	if (v->n > PORTIER_EGRESS_PORTS_MAX) {
		pt_error(b->d, &node->pos, NULL,
			 "%s: ports has %zu entries, at most %d; join neighbours into ranges "
			 "(\"8000-8099\") or split the rule", where, v->n,
			 PORTIER_EGRESS_PORTS_MAX);
		pt_val_unref(v);
		return false;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct pt_val *e = v->seq[i];

		if (e->type != PT_VAL_SCALAR || !e->str ||
		    !parse_range(e->str, &rule->ports[rule->n_ports].lo,
				 &rule->ports[rule->n_ports].hi)) {
			pt_error(b->d, &e->pos, NULL,
				 "%s: ports entry '%s' is not a port 1..65535 or a range lo-hi "
				 "with lo <= hi", where,
				 e->type == PT_VAL_SCALAR && e->str ? e->str : "?");
			ok = false;
			continue;
		}
		rule->n_ports++;
	}
	if (ok && !(rule->protos & (PORTIER_EGRESS_P_TCP | PORTIER_EGRESS_P_UDP))) {
		pt_error(b->d, &node->pos, NULL,
			 "%s: ports is given but proto has neither tcp nor udp: ports are TCP "
			 "and UDP destination ports; drop ports, or add tcp or udp", where);
		ok = false;
	}
	pt_val_unref(v);
	return ok;
}

/* Rule e (name, node) into *out; false after an error. */
static bool build_rule(struct eb *b, const struct pt_map_entry *e, struct pt_egress_rule *out)
{
	char *where = xasprintf("egress rule '%s'", e->key);
	const struct pt_val *r = e->val;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	out->name = xstrdup(e->key);
	out->pos = e->key_pos;
	if (strlen(e->key) >= PORTIER_EGRESS_NAME_MAX) {
		pt_error(b->d, &e->key_pos, NULL, "%s: the name is longer than %d characters",
			 where, PORTIER_EGRESS_NAME_MAX - 1);
		ok = false;
	}
	if (!r || r->type != PT_VAL_MAP) {
		pt_error(b->d, r ? &r->pos : &e->key_pos, NULL,
			 "%s must be a mapping with from and to (and except, proto, ports)",
			 where);
		free(where);
		return false;
	}
	check_keys(b, r, rule_keys, where);
	ok &= get_cidrs(b, r, "from", where, &out->from, &out->n_from);
	ok &= get_cidrs(b, r, "to", where, &out->to, &out->n_to);
	ok &= get_cidrs(b, r, "except", where, &out->except, &out->n_except);
	ok &= get_protos(b, r, where, out);
	ok &= get_ports(b, r, where, out);
	ok &= get_log(b, r, where, out);
	if (ok && !out->n_from) {
		pt_error(b->d, &e->key_pos, NULL,
			 "%s has no from: the sources it lets egress (e.g. from: "
			 "[192.168.1.0/24]); nothing egresses unless a rule says from where",
			 where);
		ok = false;
	}
	if (ok && !out->n_to) {
		pt_error(b->d, &e->key_pos, NULL,
			 "%s has no to: the destinations it allows (e.g. to: [0.0.0.0/0] "
			 "for anywhere, with except: for what is not)", where);
		ok = false;
	}
	for (size_t i = 0; ok && i < out->n_except; i++) {
		bool inside = false;
		char c[PT_CIDR_BUF];

		for (size_t j = 0; j < out->n_to && !inside; j++)
			inside = pt_cidr_covers(&out->to[j], &out->except[i]) ||
				 pt_cidr_covers(&out->except[i], &out->to[j]);
		if (!inside)
			pt_warn(b->d, &e->key_pos, NULL,
				"%s: except %s overlaps none of its to networks: it excepts "
				"nothing", where, pt_cidr_str(&out->except[i], c, sizeof(c)));
	}
	free(where);
	return ok;
}

static void rule_free(struct pt_egress_rule *r)
{
	free(r->name);
	free(r->from);
	free(r->to);
	free(r->except);
}

void pt_egress_free(struct pt_egress *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_rules; i++)
		rule_free(&e->rules[i]);
	free(e->rules);
	memset(e, 0, sizeof(*e));
}

static struct pt_cidr *cidrs_dup(const struct pt_cidr *v, size_t n)
{
	struct pt_cidr *c = xcalloc(n + 1, sizeof(*c));

	memcpy(c, v, n * sizeof(*c));
	return c;
}

void pt_egress_copy(const struct pt_egress *e, struct pt_egress *out)
{
	*out = *e;
	out->rules = xcalloc(e->n_rules + 1, sizeof(*out->rules));
	for (size_t i = 0; i < e->n_rules; i++) {
		const struct pt_egress_rule *r = &e->rules[i];
		struct pt_egress_rule *o = &out->rules[i];

		*o = *r;
		o->name = xstrdup(r->name);
		o->from = cidrs_dup(r->from, r->n_from);
		o->to = cidrs_dup(r->to, r->n_to);
		o->except = cidrs_dup(r->except, r->n_except);
	}
}

void pt_egress_build(const struct pt_val *vars, struct pt_diags *d, struct pt_egress *out)
{
	struct eb b = { .vars = vars, .d = d };
	const struct pt_val *node, *rnode;
	struct pt_val *ev, *addr, *rules;
	size_t n_prefixes = 0;

	memset(out, 0, sizeof(*out));
	ev = get(&b, vars, EGRESS_VAR, &node);
	if (!ev)
		return;
	out->declared = true;
	if (ev->type != PT_VAL_MAP) {
		pt_error(d, &node->pos, NULL,
			 "egress must be a mapping with rules (and snat_address), not a %s",
			 pt_val_type_name(ev->type));
		goto out;
	}
	check_keys(&b, ev, egress_keys, "egress");
	addr = get(&b, ev, "snat_address", &rnode);
	if (addr) {
		if (addr->type == PT_VAL_SCALAR && addr->str &&
		    !pt_addr_parse(addr->str, &out->snat_address) &&
		    out->snat_address.family == AF_INET6)
			pt_error(d, &rnode->pos, NULL,
				 "egress.snat_address '%s' is IPv6: egress NAT is IPv4 only for "
				 "now (docs/inventory.md, \"Families\"); give the output side's "
				 "IPv4 VIP, or leave it out for the output NIC's address",
				 addr->str);
		else if (addr->type != PT_VAL_SCALAR || !addr->str ||
		    pt_addr_parse(addr->str, &out->snat_address) ||
		    out->snat_address.family != AF_INET || !out->snat_address.v4.s_addr)
			pt_error(d, &rnode->pos, NULL,
				 "egress.snat_address '%s' is not an IPv4 address; give the "
				 "output side's VIP (it moves with keepalived), or leave it out "
				 "for the output NIC's address",
				 addr->type == PT_VAL_SCALAR && addr->str ? addr->str : "?");
		pt_val_unref(addr);
	}
	rules = get(&b, ev, "rules", &rnode);
	if (!rules || rules->type == PT_VAL_NULL || (rules->type == PT_VAL_MAP && !rules->n)) {
		if (!rnode || rules)
			pt_warn(d, rnode ? &rnode->pos : &node->pos, NULL,
				"egress has no rules: nothing egresses (every packet to be "
				"forwarded out of the output NIC is dropped); add rules: "
				"{NAME: {from: [...], to: [...]}}");
		pt_val_unref(rules);
		goto out;
	}
	if (rules->type != PT_VAL_MAP) {
		pt_error(d, &rnode->pos, NULL,
			 "egress.rules must be a mapping of rule names to rules, not a %s",
			 pt_val_type_name(rules->type));
		pt_val_unref(rules);
		goto out;
	}
	if (rules->n > PORTIER_EGRESS_RULES_MAX) {
		pt_error(d, &rnode->pos, NULL,
			 "egress.rules has %zu rules, at most %d; merge rules that share "
			 "their destinations (a rule takes lists)", rules->n,
			 PORTIER_EGRESS_RULES_MAX);
		pt_val_unref(rules);
		goto out;
	}
	out->rules = xcalloc(rules->n + 1, sizeof(*out->rules));
	for (size_t i = 0; i < rules->n; i++) {
		struct pt_egress_rule *r = &out->rules[out->n_rules];

		if (build_rule(&b, &rules->map[i], r)) {
			out->n_rules++;
			n_prefixes += r->n_from + r->n_to + r->n_except;
		} else {
			rule_free(r);
		}
	}
	if (n_prefixes > PORTIER_EGRESS_PREFIXES)
		pt_error(d, &rnode->pos, NULL,
			 "egress.rules declare %zu networks, more than the %d the data "
			 "plane holds", n_prefixes, PORTIER_EGRESS_PREFIXES);
	pt_val_unref(rules);
out:
	pt_val_unref(ev);
}

/* ---- compiled form -------------------------------------------------------- */

static int item_cmp(const void *x, const void *y)
{
	const struct pt_egress_item *a = x, *b = y;

	if (a->key.prefixlen != b->key.prefixlen)
		return a->key.prefixlen < b->key.prefixlen ? -1 : 1;
	return memcmp(&a->key.addr, &b->key.addr, sizeof(a->key.addr));
}

/* Append prefix c to v (no duplicates). */
static void add_prefix(struct pt_cidr **v, size_t *n, const struct pt_cidr *c)
{
	for (size_t i = 0; i < *n; i++)
		if (pt_cidr_equal(&(*v)[i], c))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = *c;
}

static bool any_covers(const struct pt_cidr *v, size_t n, const struct pt_cidr *c)
{
	for (size_t i = 0; i < n; i++)
		if (pt_cidr_covers(&v[i], c))
			return true;
	return false;
}

static void to_items(const struct pt_cidr *p, size_t n, const __u64 *masks,
		     struct pt_egress_item **out, size_t *n_out)
{
	*out = xcalloc(n + 1, sizeof(**out));
	*n_out = n;
	for (size_t i = 0; i < n; i++) {
		(*out)[i].key.prefixlen = p[i].len;
		(*out)[i].key.addr = p[i].addr.v4.s_addr;
		(*out)[i].mask.rules = masks[i];
	}
	qsort(*out, n, sizeof(**out), item_cmp);
}

void pt_egress_compile(const struct pt_egress *e, struct pt_egress_item **src, size_t *n_src,
		       struct pt_egress_item **dst, size_t *n_dst)
{
	struct pt_cidr *sp = NULL, *dp = NULL;
	size_t ns = 0, nd = 0;
	__u64 *sm, *dm;

	for (size_t r = 0; r < e->n_rules; r++) {
		const struct pt_egress_rule *x = &e->rules[r];

		for (size_t i = 0; i < x->n_from; i++)
			add_prefix(&sp, &ns, &x->from[i]);
		for (size_t i = 0; i < x->n_to; i++)
			add_prefix(&dp, &nd, &x->to[i]);
		for (size_t i = 0; i < x->n_except; i++)
			add_prefix(&dp, &nd, &x->except[i]);
	}
	sm = xcalloc(ns + 1, sizeof(*sm));
	dm = xcalloc(nd + 1, sizeof(*dm));
	for (size_t r = 0; r < e->n_rules && r < PORTIER_EGRESS_RULES_MAX; r++) {
		const struct pt_egress_rule *x = &e->rules[r];

		for (size_t i = 0; i < ns; i++)
			if (any_covers(x->from, x->n_from, &sp[i]))
				sm[i] |= 1ULL << r;
		/* A destination in prefix p: in a to-network of the rule iff a
		 * to-network covers p (the declared prefixes holding an address
		 * form a chain, p the longest), in an exception likewise. */
		for (size_t i = 0; i < nd; i++)
			if (any_covers(x->to, x->n_to, &dp[i]) &&
			    !any_covers(x->except, x->n_except, &dp[i]))
				dm[i] |= 1ULL << r;
	}
	to_items(sp, ns, sm, src, n_src);
	to_items(dp, nd, dm, dst, n_dst);
	free(sp);
	free(dp);
	free(sm);
	free(dm);
}

void pt_egress_rule_value(const struct pt_egress_rule *r, struct portier_egress_rule *out)
{
	memset(out, 0, sizeof(*out));
	out->protos = r->protos | PORTIER_EGRESS_F_USED | (r->log ? PORTIER_EGRESS_F_LOG : 0);
	out->n_ports = r->n_ports;
	for (size_t i = 0; i < r->n_ports && i < PORTIER_EGRESS_PORTS_MAX; i++) {
		out->ports[i].lo = r->ports[i].lo;
		out->ports[i].hi = r->ports[i].hi;
	}
	snprintf(out->name, sizeof(out->name), "%s", r->name);
}

const char *pt_egress_protos_str(uint8_t protos, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s",
		 protos & PORTIER_EGRESS_P_TCP ? "tcp" : "",
		 (protos & PORTIER_EGRESS_P_TCP) && (protos & (PORTIER_EGRESS_P_UDP |
							      PORTIER_EGRESS_P_ICMP)) ? "," : "",
		 protos & PORTIER_EGRESS_P_UDP ? "udp" : "",
		 (protos & PORTIER_EGRESS_P_UDP) && (protos & PORTIER_EGRESS_P_ICMP) ? "," : "",
		 protos & PORTIER_EGRESS_P_ICMP ? "icmp" : "");
	return buf;
}

const char *pt_egress_ports_str(const struct portier_egress_rule *r, char *buf, size_t len)
{
	size_t off = 0;

	if (!r->n_ports) {
		snprintf(buf, len, "any");
		return buf;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_ports && i < PORTIER_EGRESS_PORTS_MAX && off < len; i++) {
		int w = r->ports[i].lo == r->ports[i].hi ?
				snprintf(buf + off, len - off, "%s%u", i ? "," : "",
					 r->ports[i].lo) :
				snprintf(buf + off, len - off, "%s%u-%u", i ? "," : "",
					 r->ports[i].lo, r->ports[i].hi);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}
