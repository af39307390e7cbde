// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_route_cli.c - the balance keywords of "route add" (balance,
 * table-size, weight: the model they give, and their errors, with the
 * inventory's texts) and the lookup commands' pieces (user/lookup.c):
 * their arguments and errors, the flow key and hash, the table an
 * inventory route gives (tests/fixtures/maglev: a weight-0 backend takes
 * no slot, a backend down none either, the others keep theirs but
 * about 1%). Run from the repository root (tests/run.sh does).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "cli.h"
#include "diag.h"
#include "inventory.h"
#include "lookup.h"
#include "maglev.h"
#include "portier_hash.h"
#include "routes.h"

#define MAX_WORDS	48
#define ERR_MAX		1024

/* What one parse printed on stderr (the last run's). */
static char err_text[ERR_MAX];

/* Split line into words (spaces) into argv; returns argc. */
static int words(char *line, char **argv)
{
	char *save = NULL;
	int argc = 0;

	for (char *w = strtok_r(line, " ", &save); w && argc < MAX_WORDS;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	return argc;
}

/* stderr into a file while fn runs; its text into err_text. */
static FILE *err_file;
static int saved_err = -1;

static void capture_begin(void)
{
	fflush(stderr);
	err_file = tmpfile();
	assert_non_null(err_file);
	saved_err = dup(2);
	assert_true(saved_err >= 0);
	assert_int_equal(dup2(fileno(err_file), 2), 2);
}

static void capture_end(void)
{
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(saved_err, 2), 2);
	close(saved_err);
	rewind(err_file);
	n = fread(err_text, 1, sizeof(err_text) - 1, err_file);
	err_text[n] = '\0';
	if (n && err_text[n - 1] == '\n')
		err_text[n - 1] = '\0';
	fclose(err_file);
}

/* "route add" of line ("NAME port ... backend ..."): its result, the
 * route in *r (free r->backends), the error in err_text. */
static int add(const char *line, struct pt_route *r)
{
	static char buf[1024];
	char *argv[MAX_WORDS + 1];
	int argc, rc;

	pt_g = (struct pt_global){ .prog = "portier" };
	snprintf(buf, sizeof(buf), "%s", line);
	argc = words(buf, argv);
	memset(r, 0, sizeof(*r));
	capture_begin();
	rc = pt_route_add_parse(argc, argv, r);
	capture_end();
	return rc;
}

/* add() that must fail with exactly want. */
static void add_fails(const char *line, const char *want)
{
	struct pt_route r;

	assert_int_equal(add(line, &r), 1);
	assert_string_equal(err_text, want);
	free(r.backends);
}

static void test_add_balance(void **state)
{
	struct pt_route r;

	(void)state;
	assert_int_equal(add("web port 80 balance maglev table-size 1009 backend 203.0.113.2:80 "
			     "weight 2 backend 203.0.113.3:80 backend 203.0.113.4:80 weight 0", &r), 0);
	assert_string_equal(err_text, "");
	assert_int_equal(r.balance, PT_BALANCE_MAGLEV);
	assert_int_equal(r.table_size, 1009);
	assert_int_equal(r.n_backends, 3);
	assert_int_equal(r.backends[0].weight, 2);
	assert_int_equal(r.backends[1].weight, PT_WEIGHT_DEFAULT);
	assert_int_equal(r.backends[2].weight, 0);
	free(r.backends);

	/* maglev and source default to Katran's 65537; roundrobin has none */
	assert_int_equal(add("web port 80 bal source backend 203.0.113.2:80", &r), 0);
	assert_int_equal(r.balance, PT_BALANCE_SOURCE);
	assert_int_equal(r.table_size, PT_MAGLEV_SIZE_DEFAULT);
	free(r.backends);
	assert_int_equal(add("web port 80 backend 203.0.113.2:80 w 3 backend 203.0.113.3:80", &r),
			 0);
	assert_int_equal(r.balance, PT_BALANCE_ROUNDROBIN);
	assert_int_equal(r.table_size, 0);
	assert_int_equal(r.backends[0].weight, 3);
	free(r.backends);
	/* "t" stays timeout (the older keyword), "ta" is table-size */
	assert_int_equal(add("web port 80 balance maglev t 3s ta 307 backend 203.0.113.2:80", &r),
			 0);
	assert_int_equal(r.check.timeout_ms, 3000);
	assert_int_equal(r.table_size, 307);
	free(r.backends);
}

/* The inventory's texts (test_routes.c, bad-maglev), with the CLI's names. */
/* IPv6 in route add: the route's address and bracketed backends; one
 * family a route ('*' is IPv4); the unbracketed form refused. */
static void test_add_ipv6(void **state)
{
	char buf[PT_ADDRPORT_STRLEN];
	struct pt_route r;

	(void)state;
	assert_int_equal(add("web6 address 2001:db8::10 port 443 backend [2001:db8:1::5]:8443 "
			     "backend [2001:db8:1::6]:8443 weight 3", &r), 0);
	assert_false(r.wildcard);
	assert_string_equal(pt_addr_str(&r.addr, buf, sizeof(buf)), "2001:db8::10");
	assert_int_equal(r.n_backends, 2);
	assert_string_equal(pt_addrport_str(&r.backends[1].addr, r.backends[1].port, buf,
					    sizeof(buf)), "[2001:db8:1::6]:8443");
	assert_int_equal(r.backends[1].weight, 3);
	assert_int_equal(r.dest_port, 8443);
	free(r.backends);
	add_fails("web6 address 2001:db8::10 port 443 backend 2001:db8:1::5:8443",
		  "Error: route add: backend '2001:db8:1::5:8443' is ambiguous: an IPv6 address "
		  "with a port is written in brackets, [ADDR]:PORT (such as [2001:db8::1]:80)");
	add_fails("web6 address 2001:db8::10 port 443 backend 203.0.113.2:80",
		  "Error: route add: backend 203.0.113.2:80 is IPv4 but the route's address "
		  "2001:db8::10 is IPv6; one route forwards within one family (add a second "
		  "route for the other)");
	add_fails("web port 443 backend 203.0.113.2:80 backend [2001:db8:1::5]:8443",
		  "Error: route add: backend [2001:db8:1::5]:8443 is IPv6 but the route's first "
		  "backend is IPv4; one route on '*' forwards within one family (add a second "
		  "route for the other)");
	/* '*' with IPv6 backends: an IPv6 route of the wildcard. */
	assert_int_equal(add("web6 port 443 backend [2001:db8:1::5]:8443", &r), 0);
	assert_true(r.wildcard);
	assert_int_equal(pt_route_family(&r), AF_INET6);
	free(r.backends);
	add_fails("web address 2001:db8::zz port 443 backend [2001:db8:1::5]:8443",
		  "Error: route add: address '2001:db8::zz' is not an IPv4 or IPv6 address, or "
		  "'*'");
}

static void test_add_errors(void **state)
{
	(void)state;
	add_fails("web port 80 balance leastconn backend 203.0.113.2:80",
		  "Error: route add: balance 'leastconn' is not supported; use roundrobin, "
		  "maglev or source");
	add_fails("web port 80 balance maglev table-size 65536 backend 203.0.113.2:80",
		  "Error: route add: table-size '65536' is not a prime from 101 to 1048573; use a "
		  "prime such as 65537 (the default) or 16381");
	add_fails("web port 80 balance maglev table-size 97 backend 203.0.113.2:80",
		  "Error: route add: table-size '97' is not a prime from 101 to 1048573; use a "
		  "prime such as 65537 (the default) or 16381");
	add_fails("web port 80 balance source table-size 211 backend 203.0.113.2:80 "
		  "backend 203.0.113.3:80 backend 203.0.113.4:80",
		  "Error: route add: a maglev table of 211 slots is too small for 3 backends: it "
		  "needs more than 100 slots per backend; set table-size to a prime of at least 307");
	add_fails("web port 80 table-size 65537 backend 203.0.113.2:80",
		  "Error: route add: table-size is for balance maglev or source, not roundrobin; "
		  "remove it or change balance");
	add_fails("web port 80 balance maglev weight 2 backend 203.0.113.2:80",
		  "Error: route add: weight '2' comes before any backend; write it after the "
		  "backend it weighs: backend ADDR:PORT weight W");
	add_fails("web port 80 backend 203.0.113.2:80 weight 257",
		  "Error: route add: weight '257' is not a weight; use a number from 0 to 256 (0: "
		  "no new connections)");
	add_fails("web port 80 backend 203.0.113.2:80 weight -1",
		  "Error: route add: weight '-1' is not a weight; use a number from 0 to 256 (0: "
		  "no new connections)");
	add_fails("web port 80 backend 203.0.113.2:80 weight 256 backend 203.0.113.3:80 weight 255",
		  "Error: route add: the weights (weight) of the 2 backends give 511 round-robin "
		  "turns (sum / common divisor 1), more than the 256 a rotation holds; use smaller "
		  "weights, or balance maglev or source");
	add_fails("web port 80 balance maglev table-size",
		  "Error: route add: 'table-size' needs a value; try 'portier route help'");
}

/* lookup's arguments: words of line after the command. */
static int parse(const char *line, bool offline, struct pt_lookup_req *q)
{
	static char buf[512];
	char *argv[MAX_WORDS + 1];
	int argc, rc;

	pt_g = (struct pt_global){ .prog = "portier" };
	snprintf(buf, sizeof(buf), "%s", line);
	argc = words(buf, argv);
	capture_begin();
	rc = pt_lookup_parse(offline ? "config lookup" : "route lookup", argc, argv, offline, q);
	capture_end();
	return rc;
}

static void test_lookup_args(void **state)
{
	struct pt_lookup_req q;

	(void)state;
	assert_int_equal(parse("web client 198.51.100.7:40000 c 198.51.100.8 address 192.0.2.10",
			       false, &q), 0);
	assert_string_equal(q.route, "web");
	assert_int_equal(q.n_clients, 2);
	assert_int_equal(q.clients[0].port, 40000);
	assert_int_equal(q.clients[1].port, 0);
	assert_int_equal(ntohl(q.clients[1].addr.v4.s_addr), 0xc6336408);
	assert_true(q.has_service);
	assert_int_equal(ntohl(q.service.v4.s_addr), 0xc000020a);
	pt_lookup_req_free(&q);
	assert_int_equal(parse("web client 198.51.100.7:1 down 203.0.113.2:80 down 203.0.113.3:80",
			       true, &q), 0);
	assert_int_equal(q.n_down, 2);
	assert_int_equal(q.down[1].port, 80);
	pt_lookup_req_free(&q);

	assert_int_equal(parse("web client 198.51.100.7:1 down 203.0.113.2:80", false, &q), 1);
	assert_string_equal(err_text, "Error: route lookup: unknown keyword 'down'; try 'portier "
				      "route help'");
	assert_int_equal(parse("web", false, &q), 1);
	assert_string_equal(err_text, "Error: route lookup: no client; give at least one 'client "
				      "ADDR[:PORT]'");
	assert_int_equal(parse("", true, &q), 1);
	assert_string_equal(err_text, "Error: config lookup: no ROUTE; try 'portier config help'");
	assert_int_equal(parse("web client 198.51.100.7:0", false, &q), 1);
	assert_string_equal(err_text, "Error: route lookup: client '198.51.100.7:0': port '0' "
				      "is not a number from 1 to 65535");
	assert_int_equal(parse("web client 198.51.100.7 address", false, &q), 1);
	assert_string_equal(err_text, "Error: route lookup: 'address' needs a value; try "
				      "'portier route help'");
	assert_int_equal(parse("web client 198.51.100.7 address 2001:db8::g", false, &q), 1);
	assert_string_equal(err_text, "Error: route lookup: address '2001:db8::g' is not an IPv4 "
				      "or IPv6 address");

	/* IPv6: bracketed with a port, bare without; a bare address is all address */
	assert_int_equal(parse("web client [2001:db8::7]:40000 client 2001:db8::8:80 "
			       "address 2001:db8::a", false, &q), 0);
	assert_int_equal(q.clients[0].addr.family, AF_INET6);
	assert_int_equal(q.clients[0].port, 40000);
	assert_int_equal(q.clients[1].addr.family, AF_INET6);
	assert_int_equal(q.clients[1].port, 0);
	assert_int_equal(q.clients[1].addr.v6.s6_addr[15], 0x80);
	assert_int_equal(q.service.family, AF_INET6);
	pt_lookup_req_free(&q);
	assert_int_equal(parse("web client 198.51.100.7 down 2001:db8::2:80", true, &q), 1);
	assert_string_equal(err_text, "Error: config lookup: down '2001:db8::2:80' is ambiguous: "
				      "an IPv6 address with a port is written in brackets, "
				      "[ADDR]:PORT (such as [2001:db8::1]:80)");
	assert_int_equal(parse("web client [2001:db8::7:40000", false, &q), 1);
	assert_string_equal(err_text, "Error: route lookup: client '[2001:db8::7:40000' has no "
				      "']' closing its IPv6 address; write ADDR, ADDR:PORT or "
				      "[IPv6ADDR]:PORT");
}

/* The flow key as the program sees the SYN, and the program's hashes. */
static void test_lookup_key(void **state)
{
	struct pt_lookup_route wild = { .name = "web", .balance = PT_BALANCE_MAGLEV,
					.wildcard = true, .port = 80, .proto = 6 };
	struct pt_lookup_route one = wild;
	struct pt_lookup_req q;
	struct pt_lookup_tuple t;
	struct portier_flow_key k;

	(void)state;
	one.wildcard = false;
	assert_int_equal(pt_addr_parse("192.0.2.10", &one.addr), 0);
	assert_int_equal(parse("web client 198.51.100.7:40000", false, &q), 0);
	capture_begin();
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &wild, &t), 1);
	capture_end();
	assert_string_equal(err_text, "Error: route lookup: route 'web' is balance maglev and "
				      "listens on every address ('*'): the address the client "
				      "connects to is part of the hash; give 'address ADDR'");
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &one, &t), 0);
	k = t.v4;
	assert_int_equal(t.family, PORTIER_AF_INET);
	assert_int_equal(k.saddr, htonl(0xc6336407));
	assert_int_equal(k.daddr, htonl(0xc000020a));
	assert_int_equal(k.sport, htons(40000));
	assert_int_equal(k.dport, htons(80));
	assert_int_equal(k.proto, 6);
	assert_int_equal(pt_lookup_hash(PT_BALANCE_MAGLEV, &t),
			 portier_tuple_hash(k.saddr, k.daddr, k.sport, k.dport, 6));
	assert_int_equal(pt_lookup_hash(PT_BALANCE_SOURCE, &t), portier_source_hash(k.saddr));
	pt_lookup_req_free(&q);

	assert_int_equal(parse("web client 198.51.100.7 address 192.0.2.11", false, &q), 0);
	capture_begin();
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &one, &t), 1);
	capture_end();
	assert_string_equal(err_text, "Error: route lookup: route 'web' listens on 192.0.2.10 "
				      "only, not on 192.0.2.11; drop 'address' or give that one");
	q.has_service = false;
	capture_begin();
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &one, &t), 1);
	capture_end();
	assert_string_equal(err_text, "Error: route lookup: route 'web' is balance maglev, which "
				      "hashes the client's port too; give client "
				      "198.51.100.7:PORT");
	/* source: the client address alone, on any route */
	wild.balance = PT_BALANCE_SOURCE;
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &wild, &t), 0);
	assert_int_equal(t.v4.daddr, 0);
	pt_lookup_req_free(&q);
}

/* IPv6: the key in struct portier_flow_key6, the IPv6 hashes, and a
 * client of the other family refused. */
static void test_lookup_key6(void **state)
{
	struct pt_lookup_route r = { .name = "web6", .balance = PT_BALANCE_MAGLEV,
				     .family = AF_INET6, .port = 443, .proto = 6 };
	struct pt_lookup_req q;
	struct pt_lookup_tuple t;
	const struct portier_flow_key6 *k = &t.v6;
	static const __u8 client[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };
	static const __u8 svc[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x0a };

	(void)state;
	assert_int_equal(pt_addr_parse("2001:db8::a", &r.addr), 0);
	assert_int_equal(parse("web6 client [2001:db8::7]:40000 client 198.51.100.7:1", false,
			       &q), 0);
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &r, &t), 0);
	assert_int_equal(t.family, PORTIER_AF_INET6);
	assert_memory_equal(k->saddr.a8, client, 16);
	assert_memory_equal(k->daddr.a8, svc, 16);
	assert_int_equal(k->sport, htons(40000));
	assert_int_equal(k->dport, htons(443));
	assert_int_equal(k->proto, 6);
	assert_int_equal(pt_lookup_hash(PT_BALANCE_MAGLEV, &t),
			 portier_tuple6_hash(k->saddr.a32, k->daddr.a32, k->sport, k->dport, 6));
	assert_int_equal(pt_lookup_hash(PT_BALANCE_SOURCE, &t),
			 portier_source6_hash(k->saddr.a32));
	capture_begin();
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[1], &r, &t), 1);
	capture_end();
	assert_string_equal(err_text, "Error: route lookup: client 198.51.100.7:1 is IPv4 but "
				      "route 'web6' is IPv6; a route forwards within one family");
	pt_lookup_req_free(&q);
	assert_int_equal(parse("web6 client 2001:db8::7", false, &q), 0);
	capture_begin();
	assert_int_equal(pt_lookup_key("route lookup", &q, &q.clients[0], &r, &t), 1);
	capture_end();
	assert_string_equal(err_text, "Error: route lookup: route 'web6' is balance maglev, which "
				      "hashes the client's port too; give client "
				      "[2001:db8::7]:PORT");
	pt_lookup_req_free(&q);
}

/* The routes of gw-1 in tests/fixtures/maglev. */
static struct pt_routeset *fixture(struct pt_inventory **inv, struct pt_diags *d)
{
	struct pt_build_opts opts = { .host = "gw-1" };
	struct pt_routeset *rs;

	*inv = pt_inventory_load("tests/fixtures/maglev", d);
	assert_non_null(*inv);
	rs = pt_routes_build(*inv, &opts, d);
	assert_non_null(rs);
	assert_int_equal(d->n_errors, 0);
	return rs;
}

/* config lookup's table: node-a (weight 4) four times node-c's slots,
 * node-b (weight 0) none; node-a down: node-c takes every slot. The
 * table is a function of the route's name and backends only. */
static void test_offline_table(void **state)
{
	struct pt_diags d = { 0 };
	struct pt_inventory *inv;
	struct pt_routeset *rs = fixture(&inv, &d);
	const struct pt_route *r = pt_routeset_find(rs, "web");
	uint32_t *t = calloc(r->table_size, sizeof(*t)), *t2 = calloc(r->table_size, sizeof(*t));
	unsigned int n[3] = { 0 };
	const bool down[3] = { true, false, false };
	struct pt_route renamed;

	(void)state;
	assert_non_null(t);
	assert_non_null(t2);
	assert_int_equal(pt_lookup_table(r, NULL, t), 0);
	for (uint32_t s = 0; s < r->table_size; s++) {
		assert_true(t[s] < 3);
		n[t[s]]++;
	}
	assert_int_equal(n[1], 0);
	assert_true(n[0] > 4 * n[2] * 99 / 100 && n[0] < 4 * n[2] * 101 / 100);
	/* again: the same table (nothing random) */
	assert_int_equal(pt_lookup_table(r, NULL, t2), 0);
	assert_memory_equal(t, t2, r->table_size * sizeof(*t));
	assert_int_equal(pt_lookup_table(r, down, t2), 0);
	for (uint32_t s = 0; s < r->table_size; s++)
		assert_int_equal(t2[s], 2);
	/* another name, another table */
	renamed = *r;
	renamed.name = (char *)"web2";
	assert_int_equal(pt_lookup_table(&renamed, NULL, t2), 0);
	assert_memory_not_equal(t, t2, r->table_size * sizeof(*t));
	free(t);
	free(t2);
	pt_routeset_free(rs);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_balance),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_add_ipv6),
		cmocka_unit_test(test_lookup_args),
		cmocka_unit_test(test_lookup_key),
		cmocka_unit_test(test_lookup_key6),
		cmocka_unit_test(test_offline_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
