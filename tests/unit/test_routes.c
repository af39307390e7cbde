// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_routes.c - the route model built from inventories: the seed, every
 * error and warning with its exact file:line:col (fixtures under
 * tests/fixtures/bad-*), host address resolution through an injected
 * resolver, and the extensions (proto, nat, destination.check). Run from the
 * repository root (tests/run.sh does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "inventory.h"
#include "policy.h"
#include "routes.h"

#define DIAGS_MAX 16384

/* A resolver that never touches the network: names from a fixed table
 * (a name may be listed twice: its A and its AAAA record). */
struct fake_dns {
	const char *const (*names)[2];	/* {name, address} pairs, NULL-terminated */
	unsigned int calls;
};

static int fake_resolve(const char *name, int family, struct pt_addr *out, void *arg)
{
	struct fake_dns *dns = arg;
	int err = -ENOENT;

	dns->calls++;
	for (size_t i = 0; dns->names && dns->names[i][0]; i++) {
		if (strcmp(dns->names[i][0], name))
			continue;
		if (!pt_addr_parse(dns->names[i][1], out) && out->family == family)
			return 0;
		err = -ENODATA;
	}
	return err;
}

/* One build: inventory, routes and every message, formatted. */
struct result {
	struct pt_inventory *inv;
	struct pt_routeset *rs;
	struct pt_diags d;
	char text[DIAGS_MAX];	/* one diagnostic per line */
};

static void format_diags(struct result *r)
{
	size_t off = 0;

	r->text[0] = '\0';
	for (size_t i = 0; i < r->d.n && off < sizeof(r->text); i++) {
		off += pt_diag_format(&r->d.v[i], r->text + off, sizeof(r->text) - off);
		if (off < sizeof(r->text) - 1)
			r->text[off++] = '\n';
		r->text[off < sizeof(r->text) ? off : sizeof(r->text) - 1] = '\0';
	}
}

static void build_opts(struct result *r, const struct pt_build_opts *o)
{
	assert_non_null(r->inv);
	r->rs = pt_routes_build(r->inv, o, &r->d);
	assert_non_null(r->rs);
	format_diags(r);
}

static void build(struct result *r, const char *path, const char *host, struct fake_dns *dns)
{
	struct pt_build_opts o = { .host = host, .resolve = fake_resolve, .resolve_arg = dns };

	memset(r, 0, sizeof(*r));
	r->inv = pt_inventory_load(path, &r->d);
	assert_non_null(r->inv);
	assert_int_equal(r->d.n_errors, 0);
	build_opts(r, &o);
}

static void build_text(struct result *r, const char *yaml, const char *host, struct fake_dns *dns)
{
	struct pt_build_opts o = { .host = host, .resolve = fake_resolve, .resolve_arg = dns };

	memset(r, 0, sizeof(*r));
	r->inv = pt_inventory_parse("mem.yml", yaml, strlen(yaml), &r->d);
	assert_non_null(r->inv);
	assert_int_equal(r->d.n_errors, 0);
	build_opts(r, &o);
}

static void result_free(struct result *r)
{
	pt_routeset_free(r->rs);
	pt_inventory_free(r->inv);
	pt_diags_free(&r->d);
}

static void assert_addr(const struct pt_addr *a, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(pt_addr_str(a, buf, sizeof(buf)), want);
}

/* Build a bad fixture for host gw-1 and compare every message. */
static void check_fixture(const char *name, const char *host, const char *want)
{
	char path[256];
	struct fake_dns dns = { 0 };
	struct result r;

	snprintf(path, sizeof(path), "tests/fixtures/%s", name);
	build(&r, path, host, &dns);
	if (strcmp(r.text, want))
		fail_msg("%s: got\n%s\nwant\n%s", name, r.text, want);
	result_free(&r);
}

/* ---- the seed ---------------------------------------------------------- */

#define SEED "tests/fixtures/seed"
#define SEED_GV SEED "/group_vars/kube_gateway_pool.yml"

static void test_seed(void **state)
{
	static const char *const names[] = { "pgadmin4", "argocd", "dash",
					     "keycloak", "kibana", "v-admin" };
	static const uint16_t ports[] = { 30081, 30080, 30082, 30083, 30084, 30085 };
	struct fake_dns dns = { 0 };
	struct result r;

	(void)state;
	for (int self = 1; self <= 3; self++) {
		char host[16];

		snprintf(host, sizeof(host), "gateway-%d", self);
		build(&r, SEED, host, &dns);
		assert_string_equal(r.text,
			SEED_GV ":69:13: warning: route 'v-admin': '{{ app.v-admin.port }}': Jinja "
			"reads '-' as a subtraction, so Ansible fails here (\"'dict object' has no "
			"attribute ...\"); portier reads it as app['v-admin'].port. Write "
			"'{{ app['v-admin'].port }}' so that both agree\n"
			SEED_GV ":73:17: warning: route 'v-admin': '{{ app.v-admin.port }}': Jinja "
			"reads '-' as a subtraction, so Ansible fails here (\"'dict object' has no "
			"attribute ...\"); portier reads it as app['v-admin'].port. Write "
			"'{{ app['v-admin'].port }}' so that both agree\n");
		assert_int_equal(r.d.n_errors, 0);
		assert_string_equal(r.rs->host, host);
		assert_string_equal(r.rs->target_group, "kube_gateway_pool");
		assert_int_equal(r.rs->host_addr.family, AF_INET);
		assert_int_equal(ntohl(r.rs->host_addr.v4.s_addr) & 0xff, self);
		assert_int_equal(r.rs->n_routes, 6);
		for (size_t i = 0; i < r.rs->n_routes; i++) {
			const struct pt_route *rt = &r.rs->routes[i];

			assert_string_equal(rt->name, names[i]);
			assert_ptr_equal(pt_routeset_find(r.rs, names[i]), rt);
			assert_true(rt->wildcard);
			assert_int_equal(rt->port, ports[i]);
			assert_int_equal(rt->dest_port, ports[i]);
			assert_int_equal(rt->proto, IPPROTO_TCP);
			assert_int_equal(rt->nat, PT_NAT_SNAT);
			assert_int_equal(rt->balance, PT_BALANCE_ROUNDROBIN);
			assert_int_equal(rt->options, PT_OPT_HTTPLOG);
			assert_string_equal(rt->mode, "http");
			assert_string_equal(rt->dest_group, "kube_gateway_pool");
			assert_int_equal(rt->check.inter_ms, 2000);
			assert_int_equal(rt->check.timeout_ms, 2000);
			assert_int_equal(rt->check.rise, 2);
			assert_int_equal(rt->check.fall, 3);
			assert_int_equal(rt->check.port, 0);
			assert_int_equal(rt->n_backends, 3);
			for (size_t b = 0; b < 3; b++) {
				char want[32];

				snprintf(want, sizeof(want), "203.0.113.%zu", b + 1);
				assert_addr(&rt->backends[b].addr, want);
				snprintf(want, sizeof(want), "gateway-%zu", b + 1);
				assert_string_equal(rt->backends[b].host, want);
				assert_int_equal(rt->backends[b].port, ports[i]);
				assert_int_equal(rt->backends[b].local, (int)b + 1 == self);
			}
		}
		assert_null(pt_routeset_find(r.rs, "arogcd"));
		/* Every address came from ansible_host: no lookups. */
		assert_int_equal(dns.calls, 0);
		result_free(&r);
	}
}

/* ---- errors and warnings, exact ---------------------------------------- */

static void test_bad_port(void **state)
{
	(void)state;
	check_fixture("bad-port", "gw-1",
		"tests/fixtures/bad-port/hosts.yml:15:21: error: route 'zero': port '0' is not "
		"a port number; use a number from 1 to 65535\n"
		"tests/fixtures/bad-port/hosts.yml:18:21: error: route 'big': port '70000' is "
		"not a port number; use a number from 1 to 65535\n"
		"tests/fixtures/bad-port/hosts.yml:21:21: error: route 'text': port 'http' is "
		"not a port number; use a number from 1 to 65535\n"
		"tests/fixtures/bad-port/hosts.yml:23:13: error: route 'missing': no port; add "
		"'port: N' (the port this route listens on)\n"
		"tests/fixtures/bad-port/hosts.yml:27:55: error: route 'backend': "
		"destination.group.port '-1' is not a port number; use a number from 1 to "
		"65535\n");
}

static void test_bad_group(void **state)
{
	(void)state;
	check_fixture("bad-group", "gw-1",
		"tests/fixtures/bad-group/hosts.yml:18:39: error: route 'nogroup': destination "
		"group 'kube_nodes' is not in the inventory; declare it, or fix the name\n"
		"tests/fixtures/bad-group/hosts.yml:21:39: error: route 'emptygroup': "
		"destination group 'nodes' has no hosts, so the route has no backends; add "
		"hosts to it\n"
		"tests/fixtures/bad-group/hosts.yml:24:32: error: route 'noname': "
		"destination.group has no name; add name: GROUP (the inventory group whose "
		"hosts are the backends)\n"
		"tests/fixtures/bad-group/hosts.yml:25:9: error: route 'nodest': no "
		"destination; add destination: {group: {name: GROUP, port: PORT}}\n");
}

static void test_bad_target(void **state)
{
	(void)state;
	check_fixture("bad-target", "gw-9",
		"tests/fixtures/bad-target/hosts.yml:19:27: error: host 'gw-9' is not in "
		"target group 'pool', so it runs none of these routes; give --host one of its "
		"hosts (gw-1, gw-2) or add 'gw-9' to the group\n");
	check_fixture("bad-target", "gw-8",
		"tests/fixtures/bad-target/hosts.yml:27:27: error: target group 'pol' is not "
		"in the inventory; declare it, or fix the name\n"
		"tests/fixtures/bad-target/hosts.yml:28:19: warning: proxies.routes is empty: "
		"nothing to forward\n");
	check_fixture("bad-target", "gw-7",
		"tests/fixtures/bad-target: error: host 'gw-7' is not in the inventory; give "
		"--host one of its hosts (gw-1, gw-2, gw-9, gw-8)\n");
	check_fixture("bad-target", "gw-1",
		"");
}

static void test_bad_duplicate(void **state)
{
	(void)state;
	check_fixture("bad-duplicate", "gw-1",
		"tests/fixtures/bad-duplicate/hosts.yml:22:13: error: route 'second': listens "
		"on *:8080/tcp like route 'first' "
		"(tests/fixtures/bad-duplicate/hosts.yml:11:13); give one of them another port "
		"or address\n");
}

/* A backend of two dnat routes with different services (another address,
 * or "*"): an error on the later route, naming both; the same backend
 * over udp, behind snat, or on this host is fine. */
static void test_bad_reply_svc(void **state)
{
	(void)state;
	check_fixture("bad-reply-svc", "gw-1",
		"tests/fixtures/bad-reply-svc/hosts.yml:44:13: error: route 'admin': backend "
		"203.0.113.21:30080/tcp is a backend of routes 'web' (service 192.0.2.10:80) "
		"and 'admin' (service 192.0.2.11:80), both nat dnat: a reply from it that no "
		"flow knows (another gateway of the pool made the flow) must translate back to "
		"one service; give one of the routes other backends or backend ports, or nat "
		"snat\n"
		"tests/fixtures/bad-reply-svc/hosts.yml:49:13: error: route 'wild': backend "
		"203.0.113.21:30443/tcp is a backend of routes 'api' (service 192.0.2.10:443) "
		"and 'wild' (service *:8443), both nat dnat: a reply from it that no flow "
		"knows (another gateway of the pool made the flow) must translate back to one "
		"service; give one of the routes other backends or backend ports, or nat "
		"snat\n");
}

/* balance maglev, source, roundrobin: a table size that is no prime, too
 * small a table (M > 100 * N), a size on a roundrobin route, weights that
 * are not 0..256, weights giving a rotation more than 256 turns. */
static void test_bad_maglev(void **state)
{
	(void)state;
	check_fixture("bad-maglev", "gw-1",
		"tests/fixtures/bad-maglev/hosts.yml:28:26: error: route 'notprime': destination.maglev_size '65536' is not "
		"a prime from 101 to 1048573; use a prime such as 65537 (the default) or 16381\n"
		"tests/fixtures/bad-maglev/hosts.yml:9:62: error: route 'notprime': host 'node-a': portier_weight 'heavy'"
		" is not a weight; use a number from 0 to 256 (0: no new connections)\n"
		"tests/fixtures/bad-maglev/hosts.yml:10:62: error: route 'notprime': host 'node-b': portier_weight '257'"
		" is not a weight; use a number from 0 to 256 (0: no new connections)\n"
		"tests/fixtures/bad-maglev/hosts.yml:9:62: error: route 'small': host 'node-a': portier_weight 'heavy'"
		" is not a weight; use a number from 0 to 256 (0: no new connections)\n"
		"tests/fixtures/bad-maglev/hosts.yml:10:62: error: route 'small': host 'node-b': portier_weight '257'"
		" is not a weight; use a number from 0 to 256 (0: no new connections)\n"
		"tests/fixtures/bad-maglev/hosts.yml:34:26: error: route 'small': a maglev table of 211 slots is too small for 3 "
		"backends: it needs more than 100 slots per backend; set "
		"destination.maglev_size to a prime of at least 307\n"
		"tests/fixtures/bad-maglev/hosts.yml:40:26: error: route 'rrsize': destination.maglev_size is for balance maglev "
		"or source, not roundrobin; remove it or change balance\n"
		"tests/fixtures/bad-maglev/hosts.yml:45:22: error: route 'rrturns': the weights (portier_weight) of the "
		"2 backends give 511 round-robin turns (sum / common divisor 1), more than the "
		"256 a rotation holds; use smaller weights, or balance maglev or source\n");
}

/* balance maglev, source and weighted roundrobin: the model holds them. */
static void test_maglev(void **state)
{
	struct fake_dns dns = { 0 };
	struct result r;

	(void)state;
	build(&r, "tests/fixtures/maglev", "gw-1", &dns);
	assert_string_equal(r.text, "");
	assert_int_equal(r.rs->n_routes, 3);
	assert_int_equal(r.rs->routes[2].balance, PT_BALANCE_ROUNDROBIN);
	assert_int_equal(r.rs->routes[2].table_size, 0);
	assert_int_equal(r.rs->routes[2].backends[0].weight, 4);
	assert_int_equal(r.rs->routes[0].balance, PT_BALANCE_MAGLEV);
	assert_int_equal(r.rs->routes[0].table_size, 65537);
	assert_int_equal(r.rs->routes[1].balance, PT_BALANCE_SOURCE);
	assert_int_equal(r.rs->routes[1].table_size, 307);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r.rs->routes[i].n_backends, 3);
		assert_int_equal(r.rs->routes[i].backends[0].weight, 4);
		assert_int_equal(r.rs->routes[i].backends[1].weight, 0);
		assert_int_equal(r.rs->routes[i].backends[2].weight, 1);
	}
	result_free(&r);
}

static void test_bad_balance(void **state)
{
	(void)state;
	check_fixture("bad-balance", "gw-1",
		"tests/fixtures/bad-balance/hosts.yml:14:15: warning: route 'web': unknown key "
		"'timeout' in a route is ignored; known keys: mode, address, port, proto, nat, "
		"syn_cookies, destination, allow, deny, rate_limit, family. Check the spelling\n"
		"tests/fixtures/bad-balance/hosts.yml:12:21: warning: route 'web': mode "
		"'https' is unknown; portier forwards at layer 4 whatever the mode. Use http "
		"or tcp\n"
		"tests/fixtures/bad-balance/hosts.yml:17:26: error: route 'web': balance "
		"'leastconn' is not supported; use roundrobin, maglev or "
		"source\n"
		"tests/fixtures/bad-balance/hosts.yml:18:36: warning: route 'web': option "
		"'forwardfor' is not implemented, ignored; portier knows httplog and tcplog\n"
		"tests/fixtures/bad-balance/hosts.yml:16:49: warning: route 'web': unknown key "
		"'weight' in destination.group is ignored; known keys: name, port. Check the "
		"spelling\n");
}

static void test_bad_address(void **state)
{
	(void)state;
	check_fixture("bad-address", "gw-1",
		"tests/fixtures/bad-address/hosts.yml:12:24: error: route 'name': address "
		"'vip.example.com' is not an IP address; write \"*\" for every address of this "
		"host, or one address (e.g. a VIP)\n"
		"tests/fixtures/bad-address/hosts.yml:16:24: error: route 'six': address "
		"'fe80::1' is link-local (fe80::/10: it names no one host beyond its link), "
		"which portier does not serve; use a global IPv6 address or \"*\"\n"
		"tests/fixtures/bad-address/hosts.yml:20:24: error: route 'empty': address '' "
		"is not an IP address; write \"*\" for every address of this host, or one "
		"address (e.g. a VIP)\n"
		"tests/fixtures/bad-address/hosts.yml:24:24: error: route 'zero': address "
		"'0.0.0.0' is not one address; write \"*\" for every address of this host on "
		"the input side\n");
}

#define NAME64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* What the data plane would refuse, refused here with a position: a name
 * over 63 characters, two hosts at one address. */
static void test_bad_route_misc(void **state)
{
	(void)state;
	check_fixture("bad-route-misc", "gw-1",
		"tests/fixtures/bad-route-misc/hosts.yml:14:13: error: route '" NAME64 "': the "
		"route name is 64 characters long, at most 63: it names the route in every "
		"command, metric and message; shorten it\n"
		"tests/fixtures/bad-route-misc/hosts.yml:14:13: error: route '" NAME64 "': hosts "
		"'gw-2' and 'alias' both resolve to 203.0.113.2: one backend twice; give one of "
		"them another ansible_host, or take it out of the group\n");
}

static void test_bad_policy(void **state)
{
	(void)state;
	check_fixture("bad-policy", "gw-1",
		"tests/fixtures/bad-policy/hosts.yml:12:19: error: proxies.allow entry "
		"'198.51.100.7/24' has host bits set below its prefix length; write the network "
		"address (e.g. 198.51.100.0/24, not 198.51.100.7/24)\n"
		"tests/fixtures/bad-policy/hosts.yml:13:17: error: proxies.deny must be a list of "
		"networks (e.g. deny: [198.51.100.0/24, 192.0.2.7]), not a scalar\n"
		"tests/fixtures/bad-policy/hosts.yml:18:23: error: route 'web': allow entry "
		"'2001:db8::7/32' has host bits set below its prefix length; write the network "
		"address (e.g. 2001:db8::/32, not 2001:db8::7/32)\n"
		"tests/fixtures/bad-policy/hosts.yml:18:41: error: route 'web': allow entry "
		"'198.51.100.0/33' has a prefix length that is not a number from 0 to 32\n"
		"tests/fixtures/bad-policy/hosts.yml:19:27: error: route 'web': rate_limit has no "
		"rate; add rate: N (new connections a source may open per 'per', default 1s)\n"
		"tests/fixtures/bad-policy/hosts.yml:23:43: error: route 'api': rate_limit.per "
		"'soon' is not a duration; write milliseconds (1000) or a number with a unit: "
		"500ms, 1s, 1m (at most 24h)\n"
		"tests/fixtures/bad-policy/hosts.yml:27:27: error: route 'slow': rate_limit: an "
		"empty bucket would take more than 24h to fill (burst x per / rate); lower burst "
		"or raise rate\n");
}

/* The lists and limits as declared: one array per scope, origin
 * inventory, positions kept; duplicates warned about once. */
static void test_policy(void **state)
{
	struct fake_dns dns = { 0 };
	const struct pt_route *web, *api;
	char buf[PT_CIDR_BUF];
	struct result r;

	(void)state;
	build(&r, "tests/fixtures/policy", "gw-1", &dns);
	assert_string_equal(r.text,
		"tests/fixtures/policy/hosts.yml:17:41: warning: route 'web': deny lists "
		"198.51.100.128/25 twice (first at line 17); remove one\n"
		"tests/fixtures/policy/hosts.yml:22:23: warning: route 'api': allow entry "
		"192.0.2.66/32 is in the pool's deny list, so this route never admits it (a "
		"connection must pass the pool's lists and the route's)\n");
	assert_int_equal(r.rs->pool_policy.n, 1);
	assert_int_equal(r.rs->pool_policy.v[0].action, PT_POLICY_DENY);
	assert_string_equal(pt_cidr_str(&r.rs->pool_policy.v[0].net, buf, sizeof(buf)),
			    "192.0.2.66/32");
	web = pt_routeset_find(r.rs, "web");
	api = pt_routeset_find(r.rs, "api");
	assert_non_null(web);
	assert_non_null(api);
	assert_int_equal(web->policy.n, 3);
	assert_string_equal(pt_cidr_str(&web->policy.v[1].net, buf, sizeof(buf)),
			    "192.0.2.0/25");
	assert_int_equal(web->policy.v[2].action, PT_POLICY_DENY);
	assert_false(web->policy.v[2].runtime);
	assert_int_equal(web->policy.v[2].pos.line, 17);
	assert_int_equal(web->rate_limit.rate, 10);
	assert_int_equal(web->rate_limit.per_ms, 1000);
	assert_int_equal(web->rate_limit.burst, 20);
	assert_int_equal(api->rate_limit.per_ms, 60000);
	assert_int_equal(api->rate_limit.burst, 100);	/* default: the rate */
	result_free(&r);
}

/* Warnings: a network in both lists, one twice, a route allow entry
 * outside the pool's allow list; the repeated entry is dropped. */
static void test_policy_warnings(void **state)
{
	static const char yaml[] =
		"all:\n"
		"  hosts:\n"
		"    gw-1: {ansible_host: 203.0.113.1}\n"
		"  vars:\n"
		"    proxies:\n"
		"      target: {group: all}\n"
		"      allow: [198.51.100.0/24]\n"
		"      deny: [198.51.100.0/24, 198.51.100.0/24]\n"
		"      routes:\n"
		"        web:\n"
		"          port: 80\n"
		"          destination: {group: {name: all, port: 80}}\n"
		"          allow: [198.51.100.64/26, 192.0.2.0/24]\n";
	struct fake_dns dns = { 0 };
	struct result r;

	(void)state;
	build_text(&r, yaml, "gw-1", &dns);
	assert_string_equal(r.text,
		"mem.yml:8:14: warning: 198.51.100.0/24 is both allowed and denied (line 7): "
		"deny wins; remove it from one list\n"
		"mem.yml:8:31: warning: proxies.deny lists 198.51.100.0/24 twice (first at "
		"line 8); remove one\n"
		"mem.yml:13:19: warning: route 'web': allow entry 198.51.100.64/26 is in the "
		"pool's deny list, so this route never admits it (a connection must pass the "
		"pool's lists and the route's)\n"
		"mem.yml:13:37: warning: route 'web': allow entry 192.0.2.0/24 is outside the "
		"pool's allow list, so this route never admits it (a connection must pass the "
		"pool's lists and the route's)\n");
	assert_int_equal(r.rs->pool_policy.n, 2);
	result_free(&r);
}

/* Compiled for the trie: deny wins (an allowed network inside a denied one
 * is denied), a non-empty allow list adds the scope's /0 deny, and the
 * declared bits come back as the entries. */
static void test_policy_compile(void **state)
{
	struct pt_policy_entry e[] = {
		{ .action = PT_POLICY_ALLOW }, { .action = PT_POLICY_DENY },
		{ .action = PT_POLICY_ALLOW, .runtime = true },
	};
	struct pt_policy p = { e, 3 }, back = { 0 };
	struct pt_policy_item *v = NULL;
	const char *why;
	size_t n = 0;

	(void)state;
	assert_int_equal(pt_cidr_parse("198.51.100.0/24", &e[0].net, &why), 0);
	assert_int_equal(pt_cidr_parse("198.51.0.0/16", &e[1].net, &why), 0);
	assert_int_equal(pt_cidr_parse("192.0.2.1", &e[2].net, &why), 0);
	pt_policy_compile(&p, 7, &v, &n);
	assert_int_equal(n, 5);
	qsort(v, n, sizeof(*v), pt_policy_item_cmp);
	/* IPv4 elements first; the last is the IPv6 /0: an allow list of
	 * IPv4 networks refuses every IPv6 source. */
	assert_true(v[4].v6);
	assert_int_equal(v[4].key6.prefixlen, PORTIER_POLICY_SCOPE_BITS);
	assert_int_equal(v[4].key6.scope, 7);
	assert_int_equal(v[4].rule.action, PORTIER_POLICY_DENY);
	for (size_t i = 0; i < 4; i++)
		assert_false(v[i].v6);
	assert_int_equal(v[0].key.prefixlen, PORTIER_POLICY_SCOPE_BITS);	/* the /0 */
	assert_int_equal(v[0].rule.action, PORTIER_POLICY_DENY);
	assert_int_equal(v[0].rule.declared, 0);
	assert_int_equal(v[1].key.prefixlen, PORTIER_POLICY_SCOPE_BITS + 16);
	assert_int_equal(v[1].rule.action, PORTIER_POLICY_DENY);
	assert_int_equal(v[2].key.prefixlen, PORTIER_POLICY_SCOPE_BITS + 24);
	assert_int_equal(v[2].rule.action, PORTIER_POLICY_DENY);	/* inside the /16 */
	assert_int_equal(v[2].rule.declared, PORTIER_POLICY_D_ALLOW);
	assert_int_equal(v[3].rule.action, PORTIER_POLICY_ALLOW);
	assert_int_equal(v[3].rule.declared, PORTIER_POLICY_D_RT_ALLOW);
	assert_int_equal(v[3].key.scope, 7);
	for (size_t i = 0; i < n; i++)
		pt_policy_decompile(&v[i], &back);
	assert_int_equal(back.n, 3);
	assert_true(pt_policy_find(&back, &e[2].net, PT_POLICY_ALLOW, true, false) >= 0);
	assert_true(pt_policy_find(&back, &e[1].net, PT_POLICY_DENY, false, false) >= 0);
	pt_policy_free(&back);
	free(v);
	assert_int_equal(pt_cidr_parse("198.51.100.1/24", &e[0].net, &why), -EINVAL);
}

/* IPv6 networks: parsed with their length (/0 to /128, a bare address a
 * /128), host bits refused, ordered and compared within their family. */
static void test_cidr6(void **state)
{
	static const struct {
		const char *s;
		int err;
		unsigned int len;
	} cases[] = {
		{ "2001:db8::/32", 0, 32 },
		{ "2001:db8::7", 0, 128 },
		{ "2001:db8::7/128", 0, 128 },
		{ "::/0", 0, 0 },
		{ "2001:db8:0:1::/64", 0, 64 },
		{ "2001:db8::8000/113", 0, 113 },
		{ "2001:db8::7/32", -EINVAL, 0 },	/* host bits */
		{ "2001:db8::8000/112", -EINVAL, 0 },	/* 0x8000 is bit 112 */
		{ "2001:db8::8001/127", -EINVAL, 0 },	/* the last bit is a host bit */
		{ "2001:db8::/129", -EINVAL, 0 },
		{ "2001:db8::/-1", -EINVAL, 0 },
		{ "2001:db8::g/64", -EINVAL, 0 },
		{ "198.51.100.0/33", -EINVAL, 0 },
	};
	struct pt_cidr a, b, c, v4;
	struct pt_addr in, out;
	char buf[PT_CIDR_BUF];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		assert_int_equal(pt_cidr_parse(cases[i].s, &a, &why), cases[i].err);
		if (cases[i].err) {
			assert_non_null(why);
			continue;
		}
		assert_int_equal(a.addr.family, AF_INET6);
		assert_int_equal(a.len, cases[i].len);
	}
	assert_int_equal(pt_cidr_parse("2001:db8::7/32", &a, &why), -EINVAL);
	assert_string_equal(why, "has host bits set below its prefix length; write the network "
			    "address (e.g. 2001:db8::/32, not 2001:db8::7/32)");
	assert_int_equal(pt_cidr_parse("2001:db8::/129", &a, &why), -EINVAL);
	assert_string_equal(why, "has a prefix length that is not a number from 0 to 128");
	assert_int_equal(pt_cidr_parse("2001:db8:0:1::/64", &a, &why), 0);
	assert_string_equal(pt_cidr_str(&a, buf, sizeof(buf)), "2001:db8:0:1::/64");
	assert_int_equal(pt_cidr_parse("2001:db8::/32", &b, &why), 0);
	assert_int_equal(pt_cidr_parse("2001:db8::/48", &c, &why), 0);
	assert_true(pt_cidr_covers(&b, &a));
	assert_true(pt_cidr_covers(&b, &c));
	assert_true(pt_cidr_covers(&c, &a));	/* 2001:db8:0:1::/64 is in 2001:db8::/48 */
	assert_false(pt_cidr_covers(&a, &b));
	assert_int_equal(pt_cidr_parse("2001:db8:1::/48", &c, &why), 0);
	assert_false(pt_cidr_covers(&c, &a));
	assert_int_equal(pt_addr_parse("2001:db8:0:1::9", &in), 0);
	assert_int_equal(pt_addr_parse("2001:db8:1::9", &out), 0);
	assert_true(pt_cidr_contains(&a, &in));
	assert_false(pt_cidr_contains(&a, &out));
	assert_true(pt_cidr_contains(&b, &out));
	/* Families never cover one another: ::/0 is no IPv4 network. */
	assert_int_equal(pt_cidr_parse("::/0", &c, &why), 0);
	assert_int_equal(pt_cidr_parse("0.0.0.0/0", &v4, &why), 0);
	assert_false(pt_cidr_covers(&c, &v4));
	assert_false(pt_cidr_covers(&v4, &c));
	assert_true(pt_cidr_cmp(&v4, &c) < 0);
	assert_true(pt_cidr_cmp(&b, &a) < 0);	/* shorter first */
	assert_int_equal(pt_cidr_cmp(&a, &a), 0);
}

/* IPv6 entries compile into portier_policy6 elements with the same
 * rules: deny wins over an allowed network inside it, a non-empty allow
 * list adds a /0 deny in each family, and the entries come back. */
static void test_policy_compile6(void **state)
{
	struct pt_policy_entry e[] = {
		{ .action = PT_POLICY_ALLOW }, { .action = PT_POLICY_DENY },
		{ .action = PT_POLICY_ALLOW },
	};
	struct pt_policy p = { e, 3 }, back = { 0 };
	struct pt_policy_item *v = NULL;
	const char *why;
	size_t n = 0;
	static const __u8 net48[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };

	(void)state;
	assert_int_equal(pt_cidr_parse("2001:db8::/32", &e[0].net, &why), 0);
	assert_int_equal(pt_cidr_parse("2001:db8:1::/48", &e[1].net, &why), 0);
	assert_int_equal(pt_cidr_parse("2001:db8:1:2::/64", &e[2].net, &why), 0);
	pt_policy_compile(&p, 3, &v, &n);
	assert_int_equal(n, 5);
	qsort(v, n, sizeof(*v), pt_policy_item_cmp);
	assert_false(v[0].v6);					/* the IPv4 /0 */
	assert_int_equal(v[0].key.prefixlen, PORTIER_POLICY_SCOPE_BITS);
	assert_int_equal(v[0].rule.action, PORTIER_POLICY_DENY);
	assert_true(v[1].v6);					/* the IPv6 /0 */
	assert_int_equal(v[1].key6.prefixlen, PORTIER_POLICY_SCOPE_BITS);
	assert_int_equal(v[1].rule.action, PORTIER_POLICY_DENY);
	assert_int_equal(v[2].key6.prefixlen, PORTIER_POLICY_SCOPE_BITS + 32);
	assert_int_equal(v[2].rule.action, PORTIER_POLICY_ALLOW);
	assert_int_equal(v[3].key6.prefixlen, PORTIER_POLICY_SCOPE_BITS + 48);
	assert_memory_equal(v[3].key6.addr, net48, 16);
	assert_int_equal(v[3].rule.action, PORTIER_POLICY_DENY);
	assert_int_equal(v[4].key6.prefixlen, PORTIER_POLICY_SCOPE_BITS + 64);
	assert_int_equal(v[4].rule.action, PORTIER_POLICY_DENY);	/* inside the /48 */
	assert_int_equal(v[4].rule.declared, PORTIER_POLICY_D_ALLOW);
	assert_int_equal(v[4].key6.scope, 3);
	for (size_t i = 0; i < n; i++)
		pt_policy_decompile(&v[i], &back);
	assert_int_equal(back.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(pt_policy_find(&back, &e[i].net, e[i].action, false, false) >= 0);
	pt_policy_free(&back);
	free(v);
}

static void test_bad_template(void **state)
{
	(void)state;
	check_fixture("bad-template", "gw-1",
		"tests/fixtures/bad-template/hosts.yml:14:21: error: route 'filter': '{{ "
		"app.web.port | int }}' is not supported: inside {{ }} only dotted paths "
		"(app.name.port) and subscripts (app['v-admin'].port, list[0]) are; no "
		"filters, arithmetic, calls or tests. Write the value or a plain reference\n"
		"tests/fixtures/bad-template/hosts.yml:17:21: error: route 'arith': '{{ "
		"app.web.port + 1 }}' is not supported: inside {{ }} only dotted paths "
		"(app.name.port) and subscripts (app['v-admin'].port, list[0]) are; no "
		"filters, arithmetic, calls or tests. Write the value or a plain reference\n"
		"tests/fixtures/bad-template/hosts.yml:20:21: error: route 'undefined': '{{ "
		"app.api.port }}': 'app' has no key 'api'; define it, or fix the name\n"
		"tests/fixtures/bad-template/hosts.yml:23:21: error: route 'open': '{{ "
		"app.web.port': '{{' is not closed by '}}'; close it, or quote the text "
		"differently if no reference was meant\n");
}

static void test_bad_local_port(void **state)
{
	(void)state;
	check_fixture("bad-local-port", "gw-1",
		"tests/fixtures/bad-local-port/hosts.yml:15:43: error: route 'web': backend "
		"'gw-1' is this host, reached at port 30080, but the route listens on port 80: "
		"portier delivers local traffic unchanged, so the local backend must use the "
		"listening port; make destination.group.port equal to port\n");
	/* Every host of the pool is its own backend: the same error, about itself. */
	check_fixture("bad-local-port", "gw-2",
		"tests/fixtures/bad-local-port/hosts.yml:15:43: error: route 'web': backend "
		"'gw-2' is this host, reached at port 30080, but the route listens on port 80: "
		"portier delivers local traffic unchanged, so the local backend must use the "
		"listening port; make destination.group.port equal to port\n");
}

static void test_bad_resolve(void **state)
{
	(void)state;
	/* Named once each, on the first route that needs them; both routes fail. */
	check_fixture("bad-resolve", "gw-1",
		"tests/fixtures/bad-resolve/hosts.yml:11:9: error: route 'web': host 'node-b' "
		"has no ansible_host and its name does not resolve (no such name); set "
		"ansible_host: <IP address> for it in the inventory\n"
		"tests/fixtures/bad-resolve/hosts.yml:12:32: error: route 'web': host 'node-c': "
		"ansible_host 'node-c.invalid' does not resolve (no such name); set "
		"ansible_host to the host's IP address\n");
}

static void test_bad_proto_nat(void **state)
{
	(void)state;
	check_fixture("bad-proto-nat", "gw-1",
		"tests/fixtures/bad-proto-nat/hosts.yml:13:22: error: route 'web': proto "
		"'sctp' is not supported; use tcp (the default) or udp\n"
		"tests/fixtures/bad-proto-nat/hosts.yml:14:20: error: route 'web': nat "
		"'masquerade' is unknown; use snat (the default: backends see this gateway's "
		"address) or dnat (backends see the client's address)\n");
}

static void test_bad_check(void **state)
{
	(void)state;
	check_fixture("bad-check", "gw-1",
		"tests/fixtures/bad-check/hosts.yml:15:81: warning: route 'web': unknown key "
		"'delay' in destination.check is ignored; known keys: inter, timeout, rise, "
		"fall, port, type, method, uri, version, host, expect_status. Check the "
		"spelling\n"
		"tests/fixtures/bad-check/hosts.yml:15:32: error: route 'web': "
		"destination.check.inter 'fast' is not a duration; write milliseconds (2000) "
		"or a number with a unit: 500ms, 2s, 1m (at most 24h)\n"
		"tests/fixtures/bad-check/hosts.yml:15:57: error: route 'web': "
		"destination.check.rise '0' is not a count; use 1 to 1000\n"
		"tests/fixtures/bad-check/hosts.yml:15:66: error: route 'web': "
		"destination.check.fall 'many' is not a count; use 1 to 1000\n"
		"tests/fixtures/bad-check/hosts.yml:15:78: error: route 'web': "
		"destination.check.port '0' is not a port number; use a number from 1 to "
		"65535\n"
		"tests/fixtures/bad-check/hosts.yml:15:47: error: route 'web': "
		"destination.check.timeout '2x' is not a duration; write milliseconds (2000) "
		"or a number with a unit: 500ms, 2s, 1m (at most 24h)\n");
}

/* syn_cookies: the modes as written (on unquoted too: a YAML 1.1 boolean to
 * some parsers, text here), auto by default, off in effect on a UDP route
 * with a warning at the value; an unknown mode is an error at its value. */
static void test_syn_cookies(void **state)
{
	static const char *const names[] = { "web", "api", "admin", "dns" };
	static const enum pt_syn_cookies want[] = { PT_SYN_COOKIES_ON, PT_SYN_COOKIES_OFF,
						    PT_SYN_COOKIES_AUTO, PT_SYN_COOKIES_OFF };
	struct fake_dns dns = { 0 };
	struct result r;

	(void)state;
	build(&r, "tests/fixtures/syn-cookies", "gw-1", &dns);
	assert_string_equal(r.text,
		"tests/fixtures/syn-cookies/hosts.yml:27:28: warning: route 'dns': syn_cookies "
		"applies to TCP routes only; ignored on this UDP route (remove it)\n"
		"tests/fixtures/syn-cookies/hosts.yml:31:28: error: route 'slow': syn_cookies "
		"'sometimes' is unknown; use auto (the default: cookies while a SYN flood "
		"lasts), on (every SYN) or off\n");
	assert_null(pt_routeset_find(r.rs, "slow"));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct pt_route *rt = pt_routeset_find(r.rs, names[i]);

		assert_non_null(rt);
		assert_int_equal(pt_route_syn_cookies(rt), want[i]);
	}
	assert_string_equal(pt_syn_cookies_name(pt_route_syn_cookies(pt_routeset_find(r.rs, "web"))),
			    "on");
	result_free(&r);
}

/* ---- host addresses ---------------------------------------------------- */

static const char resolve_yaml[] =
	"all:\n"
	"  vars:\n"
	"    net: 203.0.113\n"
	"    proxies:\n"
	"      target: {group: gw}\n"
	"      routes:\n"
	"        web: {port: 80, destination: {group: {name: nodes, port: 80}}}\n"
	"  children:\n"
	"    gw:\n"
	"      hosts:\n"
	"        gw-1:\n"
	"    nodes:\n"
	"      hosts:\n"
	"        by-ip: {ansible_host: 203.0.113.10}\n"
	"        by-template: {ansible_host: \"{{ net }}.11\"}\n"
	"        by-name: {ansible_host: node12.example}\n"
	"        node13.example:\n"
	"        gw-1:\n";

static void test_resolution(void **state)
{
	static const char *const names[][2] = {
		{ "node12.example", "203.0.113.12" },
		{ "node13.example", "203.0.113.13" },
		{ "gw-1", "203.0.113.1" },
		{ NULL, NULL },
	};
	struct fake_dns dns = { .names = names };
	struct result r;
	const struct pt_route *rt;

	(void)state;
	build_text(&r, resolve_yaml, "gw-1", &dns);
	assert_string_equal(r.text, "");
	rt = pt_routeset_find(r.rs, "web");
	assert_non_null(rt);
	assert_int_equal(rt->n_backends, 5);
	assert_string_equal(rt->backends[0].host, "by-ip");
	assert_addr(&rt->backends[0].addr, "203.0.113.10");
	assert_string_equal(rt->backends[1].host, "by-template");
	assert_addr(&rt->backends[1].addr, "203.0.113.11");
	assert_string_equal(rt->backends[2].host, "by-name");
	assert_addr(&rt->backends[2].addr, "203.0.113.12");
	assert_string_equal(rt->backends[3].host, "node13.example");
	assert_addr(&rt->backends[3].addr, "203.0.113.13");
	assert_string_equal(rt->backends[4].host, "gw-1");
	assert_addr(&rt->backends[4].addr, "203.0.113.1");
	for (size_t i = 0; i < 4; i++)
		assert_false(rt->backends[i].local);
	assert_true(rt->backends[4].local);
	assert_addr(&r.rs->host_addr, "203.0.113.1");
	/* gw-1 once (cached), node12 and node13 once each. */
	assert_int_equal(dns.calls, 3);
	result_free(&r);

	/* Nothing resolves: each failing host is named once, with the fix. */
	dns = (struct fake_dns){ 0 };
	build_text(&r, resolve_yaml, "gw-1", &dns);
	assert_string_equal(r.text,
		"mem.yml:16:33: error: route 'web': host 'by-name': ansible_host "
		"'node12.example' does not resolve (no such name); set ansible_host to the "
		"host's IP address\n"
		"mem.yml:17:9: error: route 'web': host 'node13.example' has no ansible_host "
		"and its name does not resolve (no such name); set ansible_host: <IP address> "
		"for it in the inventory\n"
		"mem.yml:11:9: error: route 'web': host 'gw-1' has no ansible_host and its "
		"name does not resolve (no such name); set ansible_host: <IP address> for it "
		"in the inventory\n");
	assert_int_equal(r.rs->n_routes, 0);
	assert_int_equal(r.rs->host_addr.family, 0);
	result_free(&r);
}

/* is_local decides which backends are this host's. */
static bool local_is_10(const struct pt_addr *a, void *arg)
{
	struct pt_addr ten;

	(void)arg;
	pt_addr_parse("203.0.113.10", &ten);
	return pt_addr_equal(a, &ten);
}

static void test_is_local(void **state)
{
	static const char *const names[][2] = {
		{ "node12.example", "203.0.113.12" },
		{ "node13.example", "203.0.113.13" },
		{ "gw-1", "203.0.113.1" },
		{ NULL, NULL },
	};
	struct fake_dns dns = { .names = names };
	struct pt_build_opts o = { .host = "gw-1", .resolve = fake_resolve, .resolve_arg = &dns,
				   .is_local = local_is_10 };
	struct result r = { 0 };
	const struct pt_route *rt;

	(void)state;
	r.inv = pt_inventory_parse("mem.yml", resolve_yaml, strlen(resolve_yaml), &r.d);
	build_opts(&r, &o);
	assert_string_equal(r.text, "");
	rt = pt_routeset_find(r.rs, "web");
	assert_true(rt->backends[0].local);
	assert_false(rt->backends[1].local);
	/* This host is local whatever is_local says. */
	assert_true(rt->backends[4].local);
	result_free(&r);
}

/* ---- extensions -------------------------------------------------------- */

static const char ext_yaml[] =
	"all:\n"
	"  hosts:\n"
	"    gw-1: {ansible_host: 203.0.113.1}\n"
	"    gw-2: {ansible_host: 203.0.113.2}\n"
	"  vars:\n"
	"    dns_port: 53\n"
	"    proxies:\n"
	"      target: {group: all}\n"
	"      routes:\n"
	"        dns:\n"
	"          mode: tcp\n"
	"          address: 192.168.1.254\n"
	"          port: \"{{ dns_port }}\"\n"
	"          proto: udp\n"
	"          nat: dnat\n"
	"          destination:\n"
	"            group: {name: all, port: '{{ dns_port }}'}\n"
	"            options: [tcplog]\n"
	"            check: {inter: 500ms, rise: 1, fall: 5, port: 8053}\n"
	"        dns-tcp:\n"
	"          address: 192.168.1.254\n"
	"          port: 53\n"
	"          destination:\n"
	"            group: {name: all}\n"
	"            check: {inter: 3000, timeout: 1s}\n"
	"        slow:\n"
	"          port: 8080\n"
	"          destination:\n"
	"            group: {name: all, port: 8080}\n"
	"            check: {inter: 1m, timeout: 2h}\n";

static void test_extensions(void **state)
{
	struct fake_dns dns = { 0 };
	struct result r;
	const struct pt_route *rt;

	(void)state;
	build_text(&r, ext_yaml, "gw-2", &dns);
	assert_string_equal(r.text, "");
	assert_int_equal(r.rs->n_routes, 3);

	rt = pt_routeset_find(r.rs, "dns");
	assert_false(rt->wildcard);
	assert_addr(&rt->addr, "192.168.1.254");
	assert_int_equal(rt->port, 53);
	assert_int_equal(rt->proto, IPPROTO_UDP);
	assert_int_equal(rt->nat, PT_NAT_DNAT);
	assert_string_equal(rt->mode, "tcp");
	assert_int_equal(rt->options, PT_OPT_TCPLOG);
	assert_int_equal(rt->check.inter_ms, 500);
	assert_int_equal(rt->check.timeout_ms, 500);
	assert_int_equal(rt->check.rise, 1);
	assert_int_equal(rt->check.fall, 5);
	assert_int_equal(rt->check.port, 8053);
	assert_int_equal(rt->n_backends, 2);
	assert_false(rt->backends[0].local);
	assert_true(rt->backends[1].local);

	/* Same address and port as "dns" but TCP: no conflict. Backend port
	 * defaults to the listening port. */
	rt = pt_routeset_find(r.rs, "dns-tcp");
	assert_int_equal(rt->proto, IPPROTO_TCP);
	assert_int_equal(rt->nat, PT_NAT_SNAT);
	assert_int_equal(rt->dest_port, 53);
	assert_int_equal(rt->check.inter_ms, 3000);
	assert_int_equal(rt->check.timeout_ms, 1000);
	assert_string_equal(pt_proto_name(rt->proto), "tcp");

	rt = pt_routeset_find(r.rs, "slow");
	assert_true(rt->wildcard);
	assert_int_equal(rt->check.inter_ms, 60000);
	assert_int_equal(rt->check.timeout_ms, 7200000);
	assert_int_equal(rt->options, 0);
	result_free(&r);
}

/* destination.check type: http (HAProxy's option httpchk): the settings
 * as written, HAProxy's defaults for the others, a TCP check without
 * HTTP fields. */
static const char http_yaml[] =
	"all:\n"
	"  children:\n"
	"    gw: {hosts: {gw-1: {ansible_host: 203.0.113.1}}}\n"
	"    nodes: {hosts: {node-1: {ansible_host: 203.0.113.2}}}\n"
	"  vars:\n"
	"    proxies:\n"
	"      target: {group: gw}\n"
	"      routes:\n"
	"        app:\n"
	"          mode: http\n"
	"          port: 8081\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30081}\n"
	"            check:\n"
	"              type: http\n"
	"              method: GET\n"
	"              uri: /healthz?full=1\n"
	"              version: HTTP/1.1\n"
	"              host: app.example.org\n"
	"              expect_status: 200\n"
	"        plain:\n"
	"          mode: http\n"
	"          port: 8082\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30082}\n"
	"            check: {type: http, expect_status: 200-299}\n"
	"        tcp:\n"
	"          port: 8083\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30083}\n"
	"            check: {type: tcp}\n";

static void test_http_check(void **state)
{
	struct fake_dns dns = { 0 };
	struct result r;
	const struct pt_route *rt;

	(void)state;
	build_text(&r, http_yaml, "gw-1", &dns);
	assert_string_equal(r.text, "");
	assert_int_equal(r.rs->n_routes, 3);

	rt = pt_routeset_find(r.rs, "app");
	assert_int_equal(rt->check.type, PT_CHECK_HTTP);
	assert_string_equal(rt->check.method, "GET");
	assert_string_equal(rt->check.uri, "/healthz?full=1");
	assert_int_equal(rt->check.http_minor, 1);
	assert_string_equal(rt->check.host, "app.example.org");
	assert_int_equal(rt->check.expect_min, 200);
	assert_int_equal(rt->check.expect_max, 200);
	assert_int_equal(rt->check.inter_ms, 2000);

	rt = pt_routeset_find(r.rs, "plain");
	assert_int_equal(rt->check.type, PT_CHECK_HTTP);
	assert_string_equal(rt->check.method, "OPTIONS");
	assert_string_equal(rt->check.uri, "/");
	assert_int_equal(rt->check.http_minor, 0);
	assert_string_equal(rt->check.host, "");
	assert_int_equal(rt->check.expect_min, 200);
	assert_int_equal(rt->check.expect_max, 299);

	rt = pt_routeset_find(r.rs, "tcp");
	assert_int_equal(rt->check.type, PT_CHECK_TCP);
	assert_string_equal(rt->check.method, "");
	assert_int_equal(rt->check.expect_min, 0);
	result_free(&r);
}

/* Every bad HTTP check setting is an error at its value; HTTP settings of
 * a TCP check, an HTTP/1.1 check without host and an HTTP check of a UDP
 * route are warnings. */
static const char bad_http_yaml[] =
	"all:\n"
	"  children:\n"
	"    gw: {hosts: {gw-1: {ansible_host: 203.0.113.1}}}\n"
	"    nodes: {hosts: {node-1: {ansible_host: 203.0.113.2}}}\n"
	"  vars:\n"
	"    proxies:\n"
	"      target: {group: gw}\n"
	"      routes:\n"
	"        bad:\n"
	"          port: 8081\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30081}\n"
	"            check:\n"
	"              type: https\n"
	"        bad2:\n"
	"          port: 8082\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30082}\n"
	"            check:\n"
	"              type: http\n"
	"              method: \"GET /\"\n"
	"              uri: healthz\n"
	"              version: HTTP/2\n"
	"              host: \"a b\"\n"
	"              expect_status: 404-200\n"
	"        bad3:\n"
	"          port: 8083\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30083}\n"
	"            check: {type: http, expect_status: 600}\n"
	"        warn:\n"
	"          port: 8084\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30084}\n"
	"            check: {uri: /healthz}\n"
	"        warn11:\n"
	"          port: 8085\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30085}\n"
	"            check: {type: http, version: HTTP/1.1}\n"
	"        warnudp:\n"
	"          port: 8086\n"
	"          proto: udp\n"
	"          destination:\n"
	"            group: {name: nodes, port: 30086}\n"
	"            check: {type: http}\n";

static void test_bad_http_check(void **state)
{
	struct fake_dns dns = { 0 };
	struct result r;

	(void)state;
	build_text(&r, bad_http_yaml, "gw-1", &dns);
	if (strcmp(r.text,
		"mem.yml:14:21: error: route 'bad': destination.check.type 'https' is not a "
		"check type; write tcp (connect only, the default) or http (HAProxy's option "
		"httpchk)\n"
		"mem.yml:21:23: error: route 'bad2': destination.check.method 'GET /' is not "
		"an HTTP method; write one word such as GET, HEAD or OPTIONS\n"
		"mem.yml:22:20: error: route 'bad2': destination.check.uri 'healthz' is not a "
		"path; write one that starts with '/', without spaces (e.g. /healthz; escape "
		"a space as %20)\n"
		"mem.yml:23:24: error: route 'bad2': destination.check.version 'HTTP/2' is "
		"not a version the check speaks; write HTTP/1.0 (the default) or HTTP/1.1\n"
		"mem.yml:24:21: error: route 'bad2': destination.check.host 'a b' is not a "
		"Host header value; write a name such as pgadmin.example.org (optionally "
		"with :PORT), without spaces\n"
		"mem.yml:25:30: error: route 'bad2': destination.check.expect_status "
		"'404-200' is an empty range; write the lower status first (200-399)\n"
		"mem.yml:30:48: error: route 'bad3': destination.check.expect_status '600' "
		"is not an HTTP status or range; write one status (200) or a range "
		"(200-399), from 100 to 599\n"
		"mem.yml:35:26: warning: route 'warn': destination.check.uri applies to HTTP "
		"checks only and is ignored; add 'type: http' to the check (or remove it)\n"
		"mem.yml:40:27: warning: route 'warn11': an HTTP/1.1 check without "
		"destination.check.host sends no Host header, which HTTP/1.1 servers may "
		"answer with 400; add host: NAME\n"
		"mem.yml:46:27: warning: route 'warnudp': destination.check.type http on a "
		"UDP route: UDP backends are not health-checked; remove the check\n"))
		fprintf(stderr, "got\n%s", r.text), fail();
	assert_int_equal(r.d.n_errors, 7);
	result_free(&r);
}

/* Structure problems and the data plane's limits. */
static void test_shapes_and_limits(void **state)
{
	static const char big[] =
		"all:\n"
		"  hosts:\n"
		"    gw-1: {ansible_host: 203.0.113.1}\n"
		"  children:\n"
		"    nodes:\n"
		"      hosts:\n"
		"        \"node-[1:300]\": {ansible_host: 203.0.113.2}\n"
		"  vars:\n"
		"    proxies:\n"
		"      target: {group: all}\n"
		"      routes:\n"
		"        web: {port: 80, destination: {group: {name: nodes}}}\n"
		"        list: [port, 80]\n"
		"        dest: {port: 81, destination: nodes}\n";
	static const char none[] =
		"all:\n"
		"  hosts:\n"
		"    gw-1:\n";
	static const char no_target[] =
		"all:\n"
		"  hosts:\n"
		"    gw-1:\n"
		"  vars:\n"
		"    proxies: {routes: {}, extra: 1}\n";
	struct fake_dns dns = { 0 };
	struct result r;

	(void)state;
	build_text(&r, big, "gw-1", &dns);
	assert_string_equal(r.text,
		"mem.yml:12:53: error: route 'web': destination group 'nodes' has 300 hosts, "
		"more than the 256 backends a route can have; split it into smaller groups\n"
		"mem.yml:13:15: error: route 'list': a route must be a mapping (mode, address, "
		"port, destination), not a sequence\n"
		"mem.yml:14:39: error: route 'dest': destination must be a mapping with group, "
		"balance and options, not a scalar\n");
	result_free(&r);

	build_text(&r, none, "gw-1", &dns);
	assert_string_equal(r.text,
		"mem.yml:3:5: error: host 'gw-1' has no 'proxies' variable; declare proxies "
		"(target and routes) in group_vars/<group>.yml of its group\n");
	result_free(&r);

	build_text(&r, no_target, "gw-1", &dns);
	assert_string_equal(r.text,
		"mem.yml:5:27: warning: unknown key 'extra' in proxies is ignored; known keys: "
		"target, routes, allow, deny. Check the spelling\n"
		"mem.yml:5:14: error: proxies has no target; add target: {group: GROUP} naming "
		"the group of hosts that run these routes\n"
		"mem.yml:5:23: warning: proxies.routes is empty: nothing to forward\n");
	result_free(&r);
}

static void test_addr_helpers(void **state)
{
	struct pt_addr a, b;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(pt_addr_parse("203.0.113.7", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(pt_addr_parse("203.0.113.7", &b), 0);
	assert_true(pt_addr_equal(&a, &b));
	assert_int_equal(pt_addr_parse("203.0.113.8", &b), 0);
	assert_false(pt_addr_equal(&a, &b));
	assert_int_equal(pt_addr_parse("2001:db8::1", &b), 0);
	assert_int_equal(b.family, AF_INET6);
	assert_false(pt_addr_equal(&a, &b));
	assert_string_equal(pt_addr_str(&b, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(pt_addr_parse("gateway-1", &b), -EINVAL);
	assert_int_equal(pt_addr_parse("203.0.113", &b), -EINVAL);
	assert_int_equal(pt_addr_parse("", &b), -EINVAL);
	memset(&b, 0, sizeof(b));
	assert_string_equal(pt_addr_str(&b, buf, sizeof(buf)), "-");
	/* this host's addresses, either family: loopback's, not a documentation one */
	assert_int_equal(pt_addr_parse("127.0.0.1", &b), 0);
	assert_true(pt_host_has_addr(&b, NULL));
	assert_int_equal(pt_addr_parse("::1", &b), 0);
	assert_true(pt_host_has_addr(&b, NULL));
	assert_int_equal(pt_addr_parse("2001:db8::dead", &b), 0);
	assert_false(pt_host_has_addr(&b, NULL));
	assert_int_equal(pt_addr_parse("::ffff:127.0.0.1", &b), 0);
	assert_false(pt_host_has_addr(&b, NULL));
	assert_string_equal(pt_proto_name(IPPROTO_UDP), "udp");
	assert_string_equal(pt_proto_name(IPPROTO_ICMP), "icmp");	/* egress echo flows */
	assert_string_equal(pt_proto_name(IPPROTO_SCTP), "unknown");
	assert_string_equal(pt_nat_name(PT_NAT_SNAT), "snat");
	assert_string_equal(pt_nat_name(PT_NAT_DNAT), "dnat");
}

/* Every IPv6 mistake of the inventory, with its position and fix; a dual
 * route whose hosts each lack one family is served with a warning per
 * host; an IPv4 and an IPv6 route on one port are no duplicates. */
static void test_bad_ipv6(void **state)
{
	(void)state;
	check_fixture("bad-ipv6", "gw-1",
		"tests/fixtures/bad-ipv6/hosts.yml:25:19: error: route 'bad-family': family "
		"'ipv5' is not supported; use ipv4 (the default), ipv6 or dual\n"
		"tests/fixtures/bad-ipv6/hosts.yml:30:19: error: route 'lit-v4': family ipv4 "
		"does not fit address 2001:db8::80, an IPv6 address; remove family (an address "
		"sets it) or change the address\n"
		"tests/fixtures/bad-ipv6/hosts.yml:35:19: error: route 'lit-dual': family dual "
		"serves IPv4 and IPv6 clients, but address 2001:db8::80 is one IPv6 address; "
		"write address: \"*\" for a dual route, or declare one route per address\n"
		"tests/fixtures/bad-ipv6/hosts.yml:39:20: error: route 'multicast': address "
		"'ff02::1' is multicast (ff00::/8), which portier does not serve; use a global "
		"IPv6 address or \"*\"\n"
		"tests/fixtures/bad-ipv6/hosts.yml:15:32: error: route 'll-backend': host "
		"'node-c': address fe80::c is link-local (fe80::/10: it names no one host "
		"beyond its link), not a backend's address; set ansible_host to the host's "
		"global IPv6 address (or its IPv4 one)\n"
		"tests/fixtures/bad-ipv6/hosts.yml:9:32: error: route 'v6-over-v4': host "
		"'node-a': its address 203.0.113.10 is IPv4, but route 'v6-over-v4' is family "
		"ipv6 (portier does not translate between families); set the route's family to "
		"ipv4 or dual, or give the host an IPv6 address\n"
		"tests/fixtures/bad-ipv6/hosts.yml:53:39: error: route 'dual-no-v6': family "
		"dual, but no host of group 'v4' (node-a) has an IPv6 address: IPv6 clients "
		"would have no backend; give the hosts IPv6 addresses (ansible_host: a name "
		"with AAAA records), or set family: ipv4\n"
		"tests/fixtures/bad-ipv6/hosts.yml:68:39: error: route 'both': family dual, but "
		"no host of group 'v4' (node-a) has an IPv6 address: IPv6 clients would have no "
		"backend; give the hosts IPv6 addresses (ansible_host: a name with AAAA "
		"records), or set family: ipv4\n"
		"tests/fixtures/bad-ipv6/hosts.yml:73:9: error: route "
		"'a-dual-route-name-of-sixty-one-characters-xxxxxxxxxxxxxxxxxxx': the route "
		"name is 61 characters long, at most 60 for a dual route: its IPv6 half is "
		"named 'a-dual-route-name-of-sixty-one-characters-xxxxxxxxxxxxxxxxxxx/v6' in "
		"every command, metric and message; shorten it\n"
		"tests/fixtures/bad-ipv6/hosts.yml:76:39: error: route "
		"'a-dual-route-name-of-sixty-one-characters-xxxxxxxxxxxxxxxxxxx': family dual, "
		"but no host of group 'v6' (node-b) has an IPv4 address: IPv4 clients would "
		"have no backend; give the hosts IPv4 addresses (ansible_host: a name with A "
		"records), or set family: ipv6\n"
		"tests/fixtures/bad-ipv6/hosts.yml:12:32: warning: route 'd': host 'node-b' has "
		"no IPv4 address (its address 2001:db8::b is IPv6): it is a backend of route "
		"'d' (family dual) for IPv6 clients only; to serve both, give it a host name "
		"with A and AAAA records as ansible_host\n"
		"tests/fixtures/bad-ipv6/hosts.yml:9:32: warning: route 'd': host 'node-a' has "
		"no IPv6 address (its address 203.0.113.10 is IPv4): it is a backend of route "
		"'d' (family dual) for IPv4 clients only; to serve both, give it a host name "
		"with A and AAAA records as ansible_host\n"
		"tests/fixtures/bad-ipv6/hosts.yml:69:9: error: route 'both/v6': the name "
		"'both/v6' is that of the IPv6 half of dual route 'both' "
		"(tests/fixtures/bad-ipv6/hosts.yml:65:9); rename one of them\n"
		"tests/fixtures/bad-ipv6/hosts.yml:58:9: error: route 'six-b': listens on "
		"*:8008/tcp (ipv6) like route 'six-a' (tests/fixtures/bad-ipv6/hosts.yml:54:9); "
		"give one of them another port or address\n"
		"tests/fixtures/bad-ipv6/hosts.yml:81:9: error: route 'e': listens on "
		"*:8013/tcp (ipv6) like route 'd/v6' (tests/fixtures/bad-ipv6/hosts.yml:77:9); "
		"give one of them another port or address\n");
}

/* A dual-stack inventory (tests/fixtures/ipv6-dual): host names with A
 * and AAAA records give each half of a dual route one backend per host;
 * an IPv6 address makes an IPv6 route; "*" of family ipv6; no family is
 * IPv4. Each family of a host is looked up once, and only when a route
 * needs it. */
static void test_ipv6_dual(void **state)
{
	static const char *const names[][2] = {
		{ "gw-1.example", "203.0.113.1" },  { "gw-1.example", "2001:db8::1" },
		{ "node-a.example", "203.0.113.10" }, { "node-a.example", "2001:db8::a" },
		{ "node-b.example", "2001:db8::b" },  { "node-b.example", "203.0.113.11" },
		{ NULL, NULL },
	};
	static const struct {
		const char *name, *listen;
		int family;
		bool dual;
		const char *be[2];
	} want[] = {
		{ "web", "*:80/tcp (ipv4)", AF_INET, true, { "203.0.113.10", "203.0.113.11" } },
		{ "web/v6", "*:80/tcp (ipv6)", AF_INET6, true, { "2001:db8::a", "2001:db8::b" } },
		{ "api6", "[2001:db8::80]:443/tcp", AF_INET6, false,
		  { "2001:db8::a", "2001:db8:0:2::c" } },
		{ "dns6", "*:53/udp (ipv6)", AF_INET6, false, { "2001:db8::a", "2001:db8:0:2::c" } },
		{ "legacy", "*:8081/tcp", AF_INET, false, { "203.0.113.10", "203.0.113.11" } },
	};
	struct fake_dns dns = { .names = names };
	char listen[PT_LISTEN_STRLEN];
	struct result r;

	(void)state;
	build(&r, "tests/fixtures/ipv6-dual", "gw-1", &dns);
	assert_string_equal(r.text, "");
	assert_int_equal(r.rs->n_routes, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct pt_route *rt = &r.rs->routes[i];

		assert_string_equal(rt->name, want[i].name);
		assert_string_equal(pt_route_listen_str(rt, listen, sizeof(listen)), want[i].listen);
		assert_int_equal(rt->family, want[i].family);
		assert_int_equal(rt->dual, want[i].dual);
		assert_int_equal(rt->n_backends, 2);
		for (size_t j = 0; j < 2; j++) {
			assert_addr(&rt->backends[j].addr, want[i].be[j]);
			assert_false(rt->backends[j].local);
		}
	}
	/* The halves share every setting but name, family and backends. */
	assert_string_equal(r.rs->routes[1].mode, "http");
	assert_int_equal(r.rs->routes[1].dest_port, 8080);
	assert_string_equal(r.rs->routes[1].backends[1].host, "node-b");
	assert_int_equal(r.rs->routes[2].nat, PT_NAT_DNAT);
	assert_int_equal(r.rs->routes[2].balance, PT_BALANCE_MAGLEV);
	assert_int_equal(r.rs->routes[3].proto, IPPROTO_UDP);
	assert_addr(&r.rs->host_addr, "203.0.113.1");
	/* gw-1 A; node-a and node-b A and AAAA; node-c is a literal. */
	assert_int_equal(dns.calls, 5);
	result_free(&r);

	/* node-b without an AAAA record: a warning, web/v6 on node-a alone. */
	{
		static const char *const no_aaaa[][2] = {
			{ "gw-1.example", "203.0.113.1" }, { "node-a.example", "203.0.113.10" },
			{ "node-a.example", "2001:db8::a" }, { "node-b.example", "203.0.113.11" },
			{ NULL, NULL },
		};

		dns = (struct fake_dns){ .names = no_aaaa };
		build(&r, "tests/fixtures/ipv6-dual", "gw-1", &dns);
		assert_string_equal(r.text,
			"tests/fixtures/ipv6-dual/hosts.yml:16:32: warning: route 'web': host "
			"'node-b' has no IPv6 address ('node-b.example' has no IPv6 address (no "
			"AAAA record)): it is a backend of route 'web' (family dual) for IPv4 "
			"clients only; to serve both, give it a host name with A and AAAA records "
			"as ansible_host\n");
		assert_int_equal(pt_routeset_find(r.rs, "web/v6")->n_backends, 1);
		assert_int_equal(pt_routeset_find(r.rs, "web")->n_backends, 2);
		result_free(&r);
	}
}

/* The same host as a backend of this host: IPv6 addresses are compared
 * for "local" as IPv4 ones are. */
static bool local6(const struct pt_addr *a, void *arg)
{
	struct pt_addr mine;

	(void)arg;
	return !pt_addr_parse("2001:db8::a", &mine) && pt_addr_equal(a, &mine);
}

static void test_ipv6_local(void **state)
{
	static const char yaml[] =
		"all:\n"
		"  hosts:\n"
		"    gw-1: {ansible_host: \"2001:db8::1\"}\n"
		"    node-a: {ansible_host: \"2001:db8::a\"}\n"
		"    node-b: {ansible_host: \"2001:db8::b\"}\n"
		"  vars:\n"
		"    proxies:\n"
		"      target: {group: all}\n"
		"      routes:\n"
		"        web: {family: ipv6, port: 80, destination: {group: {name: all}}}\n";
	struct pt_build_opts o = { .host = "gw-1", .resolve = fake_resolve,
				   .resolve_arg = &(struct fake_dns){ 0 }, .is_local = local6 };
	const struct pt_route *rt;
	struct result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.inv = pt_inventory_parse("mem.yml", yaml, strlen(yaml), &r.d);
	build_opts(&r, &o);
	assert_string_equal(r.text, "");
	rt = pt_routeset_find(r.rs, "web");
	assert_int_equal(rt->n_backends, 3);
	assert_true(rt->backends[0].local);	/* gw-1: this host */
	assert_true(rt->backends[1].local);	/* node-a: an address of this host */
	assert_false(rt->backends[2].local);
	assert_addr(&r.rs->host_addr, "2001:db8::1");
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_bad_port),
		cmocka_unit_test(test_bad_group),
		cmocka_unit_test(test_bad_target),
		cmocka_unit_test(test_bad_duplicate),
		cmocka_unit_test(test_bad_reply_svc),
		cmocka_unit_test(test_bad_balance),
		cmocka_unit_test(test_bad_maglev),
		cmocka_unit_test(test_maglev),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_bad_route_misc),
		cmocka_unit_test(test_bad_policy),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_warnings),
		cmocka_unit_test(test_policy_compile),
		cmocka_unit_test(test_cidr6),
		cmocka_unit_test(test_policy_compile6),
		cmocka_unit_test(test_bad_template),
		cmocka_unit_test(test_bad_local_port),
		cmocka_unit_test(test_bad_resolve),
		cmocka_unit_test(test_bad_proto_nat),
		cmocka_unit_test(test_bad_check),
		cmocka_unit_test(test_syn_cookies),
		cmocka_unit_test(test_resolution),
		cmocka_unit_test(test_is_local),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_http_check),
		cmocka_unit_test(test_bad_http_check),
		cmocka_unit_test(test_shapes_and_limits),
		cmocka_unit_test(test_addr_helpers),
		cmocka_unit_test(test_bad_ipv6),
		cmocka_unit_test(test_ipv6_dual),
		cmocka_unit_test(test_ipv6_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
