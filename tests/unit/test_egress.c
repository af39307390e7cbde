// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_egress.c - the egress block of the inventory (user/egress.c): the
 * nat pool's fixture read as declared, every mistake of bad-egress at its
 * file:line:column, the default protocols, a host with egress and no
 * proxies, and the compiled tries: for many addresses the longest match
 * of the compiled elements gives exactly the rules that a direct reading
 * of the rules allows.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "egress.h"
#include "inventory.h"
#include "policy.h"
#include "routes.h"

struct result {
	struct pt_diags d;
	struct pt_inventory *inv;
	struct pt_routeset *rs;
};

static void build(struct result *r, const char *path, const char *host)
{
	struct pt_build_opts o = { .host = host };

	memset(r, 0, sizeof(*r));
	r->inv = pt_inventory_load(path, &r->d);
	assert_non_null(r->inv);
	r->rs = pt_routes_build(r->inv, &o, &r->d);
	assert_non_null(r->rs);
	assert_non_null(r->rs->egress);
}

static void result_free(struct result *r)
{
	pt_routeset_free(r->rs);
	pt_inventory_free(r->inv);
	pt_diags_free(&r->d);
}

static void assert_cidr(const struct pt_cidr *c, const char *want)
{
	char buf[PT_CIDR_BUF];

	assert_string_equal(pt_cidr_str(c, buf, sizeof(buf)), want);
}

static void test_fixture(void **state)
{
	const struct pt_egress_rule *box, *bld;
	struct portier_egress_rule v;
	char addr[INET6_ADDRSTRLEN], buf[64];
	struct result r;

	(void)state;
	build(&r, "tests/fixtures/egress", "gateway-4");
	assert_int_equal(r.d.n, 0);
	assert_true(r.rs->egress->declared);
	assert_string_equal(pt_addr_str(&r.rs->egress->snat_address, addr, sizeof(addr)),
			    "198.51.100.254");
	assert_int_equal(r.rs->egress->n_rules, 2);
	assert_int_equal(r.rs->n_routes, 0);
	box = &r.rs->egress->rules[0];
	bld = &r.rs->egress->rules[1];
	assert_string_equal(box->name, "box");
	assert_int_equal(box->n_from, 1);
	assert_cidr(&box->from[0], "192.168.1.0/24");
	assert_cidr(&box->to[0], "0.0.0.0/0");
	assert_int_equal(box->n_except, 3);
	assert_cidr(&box->except[2], "192.168.0.0/16");
	assert_int_equal(box->protos,
			 PORTIER_EGRESS_P_TCP | PORTIER_EGRESS_P_UDP | PORTIER_EGRESS_P_ICMP);
	assert_int_equal(box->n_ports, 0);
	assert_false(box->log);
	assert_string_equal(bld->name, "build");
	assert_true(bld->log);
	assert_int_equal(bld->protos, PORTIER_EGRESS_P_TCP);
	assert_int_equal(bld->n_ports, 3);
	assert_int_equal(bld->ports[2].lo, 8000);
	assert_int_equal(bld->ports[2].hi, 8099);
	pt_egress_rule_value(bld, &v);
	assert_string_equal(v.name, "build");
	assert_int_equal(v.protos,
			 PORTIER_EGRESS_P_TCP | PORTIER_EGRESS_F_LOG | PORTIER_EGRESS_F_USED);
	assert_string_equal(pt_egress_ports_str(&v, buf, sizeof(buf)), "80,443,8000-8099");
	assert_string_equal(pt_egress_protos_str(box->protos, buf, sizeof(buf)), "tcp,udp,icmp");
	result_free(&r);
}

static void test_bad(void **state)
{
	static const char *const want[] = {
		"tests/fixtures/bad-egress/hosts.yml:10:11: warning: unknown key 'colour' in "
		"egress is ignored; known keys: snat_address, rules. Check the spelling",
		"tests/fixtures/bad-egress/hosts.yml:9:25: error: egress.snat_address "
		"'gateway.example' is not an IPv4 address; give the output side's VIP (it moves "
		"with keepalived), or leave it out for the output NIC's address",
		"tests/fixtures/bad-egress/hosts.yml:12:13: error: egress rule 'no-from' has no "
		"from: the sources it lets egress (e.g. from: [192.168.1.0/24]); nothing "
		"egresses unless a rule says from where",
		"tests/fixtures/bad-egress/hosts.yml:14:13: error: egress rule 'no-to' has no to: "
		"the destinations it allows (e.g. to: [0.0.0.0/0] for anywhere, with except: "
		"for what is not)",
		"tests/fixtures/bad-egress/hosts.yml:17:22: error: egress rule 'bad-net': from "
		"entry '192.168.1.7/24' has host bits set below its prefix length; write the "
		"network address (e.g. 198.51.100.0/24, not 198.51.100.7/24)",
		"tests/fixtures/bad-egress/hosts.yml:18:31: error: egress rule 'bad-net': to "
		"entry '2001:db8::/32' is IPv6: egress NAT is IPv4 only for now (docs/inventory.md, "
		"\"Families\"); use IPv4 networks",
		"tests/fixtures/bad-egress/hosts.yml:22:28: error: egress rule 'bad-proto': proto "
		"entry 'sctp' is not tcp, udp or icmp (icmp: echo, ping)",
		"tests/fixtures/bad-egress/hosts.yml:26:27: error: egress rule 'bad-ports': ports "
		"entry '90-85' is not a port 1..65535 or a range lo-hi with lo <= hi",
		"tests/fixtures/bad-egress/hosts.yml:26:36: error: egress rule 'bad-ports': ports "
		"entry '0' is not a port 1..65535 or a range lo-hi with lo <= hi",
		"tests/fixtures/bad-egress/hosts.yml:31:22: error: egress rule 'icmp-ports': ports "
		"is given but proto has neither tcp nor udp: ports are TCP and UDP destination "
		"ports; drop ports, or add tcp or udp",
		"tests/fixtures/bad-egress/hosts.yml:36:15: warning: unknown key 'prot' in egress "
		"rule 'outside' is ignored; known keys: from, to, except, proto, ports, log. Check "
		"the spelling",
		"tests/fixtures/bad-egress/hosts.yml:32:13: warning: egress rule 'outside': except "
		"10.0.0.0/8 overlaps none of its to networks: it excepts nothing",
		"tests/fixtures/bad-egress/hosts.yml:40:20: error: egress rule 'bad-log': log must "
		"be true or false (true: a connection log line per flow of the rule, as a route's "
		"tcplog)",
	};
	struct result r;
	char buf[1024];

	(void)state;
	build(&r, "tests/fixtures/bad-egress", "gw-1");
	assert_int_equal(r.d.n, sizeof(want) / sizeof(want[0]));
	assert_int_equal(r.d.n_errors, 10);
	for (size_t i = 0; i < r.d.n; i++) {
		pt_diag_format(&r.d.v[i], buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
	/* Only the rule without an error is kept. */
	assert_int_equal(r.rs->egress->n_rules, 1);
	assert_string_equal(r.rs->egress->rules[0].name, "outside");
	result_free(&r);
}

/* IPv6 in egress: refused with "IPv4 only for now", the rule left out. */
static void test_ipv6_refused(void **state)
{
	char buf[1024];
	struct result r;

	(void)state;
	build(&r, "tests/fixtures/bad-ipv6-pool", "gateway-4");
	assert_int_equal(r.d.n, 2);
	pt_diag_format(&r.d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "tests/fixtures/bad-ipv6-pool/hosts.yml:17:27: error: "
			    "egress.snat_address '2001:db8::5' is IPv6: egress NAT is IPv4 only "
			    "for now (docs/inventory.md, \"Families\"); give the output side's "
			    "IPv4 VIP, or leave it out for the output NIC's address");
	pt_diag_format(&r.d.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "tests/fixtures/bad-ipv6-pool/hosts.yml:20:24: error: "
			    "egress rule 'v6': from entry '2001:db8:1::/48' is IPv6: egress NAT "
			    "is IPv4 only for now (docs/inventory.md, \"Families\"); use IPv4 "
			    "networks");
	assert_int_equal(r.rs->egress->n_rules, 0);
	result_free(&r);
}

/* Without proxies, a host with egress needs none; with neither, the
 * error about proxies stays. */
static void test_egress_alone(void **state)
{
	static const char yaml[] =
		"all:\n"
		"  hosts:\n"
		"    gw: {ansible_host: 192.0.2.4, egress: {rules: {any: {from: 192.0.2.0/24,\n"
		"         to: 0.0.0.0/0, proto: icmp}}}}\n"
		"    other: {ansible_host: 192.0.2.5}\n";
	struct pt_build_opts o = { .host = "gw" };
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = pt_inventory_parse("mem.yml", yaml, strlen(yaml), &d);
	struct pt_routeset *rs = pt_routes_build(inv, &o, &d);

	(void)state;
	assert_int_equal(d.n, 0);
	assert_int_equal(rs->egress->n_rules, 1);
	assert_int_equal(rs->egress->rules[0].protos, PORTIER_EGRESS_P_ICMP);
	assert_int_equal(rs->egress->rules[0].n_from, 1);
	assert_int_equal(rs->egress->snat_address.family, 0);
	pt_routeset_free(rs);
	o.host = "other";
	rs = pt_routes_build(inv, &o, &d);
	assert_int_equal(d.n_errors, 1);
	assert_false(rs->egress->declared);
	pt_routeset_free(rs);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

/* ---- the compiled tries -------------------------------------------------- */

static const struct pt_egress_item *lpm(const struct pt_egress_item *v, size_t n, __be32 a)
{
	const struct pt_egress_item *best = NULL;

	for (size_t i = 0; i < n; i++) {
		uint32_t m = v[i].key.prefixlen ? ~0U << (32 - v[i].key.prefixlen) : 0;

		if ((ntohl(a) & m) == ntohl(v[i].key.addr) &&
		    (!best || v[i].key.prefixlen > best->key.prefixlen))
			best = &v[i];
	}
	return best;
}

static bool in_any(const struct pt_cidr *v, size_t n, __be32 a)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t m = v[i].len ? ~0U << (32 - v[i].len) : 0;

		if ((ntohl(a) & m) == ntohl(v[i].addr.v4.s_addr))
			return true;
	}
	return false;
}

static void test_compile(void **state)
{
	static const char yaml[] =
		"all:\n"
		"  hosts:\n"
		"    gw:\n"
		"      egress:\n"
		"        rules:\n"
		"          a: {from: [10.0.0.0/8], to: [0.0.0.0/0], except: [192.0.2.0/24, 10.0.0.0/8]}\n"
		"          b: {from: [10.1.0.0/16, 172.16.0.0/12], to: [192.0.2.0/24],\n"
		"              except: [192.0.2.128/25]}\n"
		"          c: {from: [10.1.2.0/24], to: [192.0.2.0/25, 198.51.100.0/24],\n"
		"              except: [192.0.2.64/26, 198.51.100.7/32]}\n"
		"          d: {from: [0.0.0.0/0], to: [203.0.113.0/24]}\n";
	static const char *const addrs[] = {
		"10.0.0.1", "10.1.0.1", "10.1.2.3", "10.2.0.0", "172.16.5.5", "172.32.0.1",
		"192.0.2.1", "192.0.2.65", "192.0.2.129", "192.0.2.255", "198.51.100.7",
		"198.51.100.8", "203.0.113.9", "8.8.8.8", "0.0.0.0", "255.255.255.255",
	};
	struct pt_build_opts o = { .host = "gw" };
	struct pt_egress_item *src, *dst;
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = pt_inventory_parse("mem.yml", yaml, strlen(yaml), &d);
	struct pt_routeset *rs = pt_routes_build(inv, &o, &d);
	const struct pt_egress *e = rs->egress;
	size_t ns, nd;

	(void)state;
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(e->n_rules, 4);
	pt_egress_compile(e, &src, &ns, &dst, &nd);
	assert_int_equal(ns, 5);	/* 10/8, 10.1/16, 172.16/12, 10.1.2/24, 0/0 */
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		__be32 a = inet_addr(addrs[i]);
		const struct pt_egress_item *s = lpm(src, ns, a), *t = lpm(dst, nd, a);
		uint64_t ws = 0, wd = 0;

		for (size_t r = 0; r < e->n_rules; r++) {
			const struct pt_egress_rule *x = &e->rules[r];

			if (in_any(x->from, x->n_from, a))
				ws |= 1ULL << r;
			if (in_any(x->to, x->n_to, a) && !in_any(x->except, x->n_except, a))
				wd |= 1ULL << r;
		}
		assert_int_equal(s ? s->mask.rules : 0, ws);
		assert_int_equal(t ? t->mask.rules : 0, wd);
	}
	free(src);
	free(dst);
	pt_routeset_free(rs);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_ipv6_refused),
		cmocka_unit_test(test_egress_alone),
		cmocka_unit_test(test_compile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
