// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_vips.c - the nat-gateway-pool's inventory (user/vips.c): the seed's
 * pool as written, the output side's VIP, every error and warning with its
 * file:line:col (fixtures tests/fixtures/bad-vips-*), routes beside the
 * VIPs (one listens on a VIP), and keepalived.conf rendered from it (its
 * lines; keepalived itself checks it in tests/unit/keepalived-render.sh).
 * Run from the repository root (tests/run.sh does).
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
#include "egress.h"
#include "inventory.h"
#include "keepalived.h"
#include "routes.h"
#include "vips.h"
#include "vrrp.h"

#define FIX "tests/fixtures/"
#define TEXT_MAX 16384

struct result {
	struct pt_inventory *inv;
	struct pt_pool *p;
	struct pt_diags d;
	char text[TEXT_MAX];	/* every diagnostic, one a line */
};

static void load(struct result *r, const char *dir, const char *host)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->inv = pt_inventory_load(dir, &r->d);
	assert_non_null(r->inv);
	assert_int_equal(r->d.n_errors, 0);
	r->p = pt_pool_build(r->inv, host, &r->d);
	for (size_t i = 0; i < r->d.n && off < sizeof(r->text) - 1; i++) {
		off += pt_diag_format(&r->d.v[i], r->text + off, sizeof(r->text) - off);
		if (off < sizeof(r->text) - 1)
			r->text[off++] = '\n';
		r->text[off] = '\0';
	}
}

static void done(struct result *r)
{
	pt_pool_free(r->p);
	pt_inventory_free(r->inv);
	pt_diags_free(&r->d);
}

/* line must be one of r's diagnostics, whole. */
static void has_line(const struct result *r, const char *line)
{
	const char *s = r->text;
	size_t n = strlen(line);

	for (; (s = strstr(s, line)); s++)
		if ((s == r->text || s[-1] == '\n') && (s[n] == '\n' || !s[n]))
			return;
	fail_msg("missing diagnostic:\n%s\ngot:\n%s", line, r->text);
}

static void test_seed_pool(void **state)
{
	struct result r;
	char a[INET_ADDRSTRLEN];

	(void)state;
	load(&r, FIX "inv-nat-pool", "gateway-4");
	assert_int_equal(r.d.n, 0);
	assert_non_null(r.p);
	assert_string_equal(r.p->input, "box-network");
	assert_string_equal(r.p->output, "gateway-network");
	assert_int_equal(r.p->n_vips, 1);
	assert_string_equal(r.p->vips[0].iface, "box-network");
	assert_false(r.p->vips[0].output);
	assert_int_equal(r.p->vips[0].vrid, 5);
	assert_string_equal(pt_addr_str(&r.p->vips[0].addr, a, sizeof(a)), "192.168.1.254");
	assert_int_equal(r.p->vips[0].priority, 200);
	assert_true(r.p->vips[0].master);
	assert_int_equal(r.p->vips[0].advert_int, PT_VRRP_ADVERT_DEFAULT);
	assert_null(r.p->vips[0].auth_pass);
	assert_int_equal(r.p->vips[0].n_peers, 1);
	assert_string_equal(r.p->vips[0].peers[0], "gateway-5");
	assert_null(pt_pool_output_vip(r.p));
	done(&r);

	load(&r, FIX "inv-nat-pool", "gateway-5");
	assert_int_equal(r.d.n, 0);
	assert_int_equal(r.p->vips[0].priority, 100);
	assert_false(r.p->vips[0].master);
	assert_string_equal(r.p->vips[0].peers[0], "gateway-4");
	done(&r);

	/* Not in the inventory: NULL, the route build says so. */
	load(&r, FIX "inv-nat-pool", "gateway-9");
	assert_null(r.p);
	done(&r);
}

/* The seed's hosts have no proxies: not an error for a host with vips. */
static void test_pool_without_proxies(void **state)
{
	struct result r;
	struct pt_build_opts o = { .host = "gateway-4" };
	struct pt_routeset *rs;

	(void)state;
	load(&r, FIX "inv-nat-pool", "gateway-4");
	rs = pt_routes_build(r.inv, &o, &r.d);
	assert_non_null(rs);
	assert_int_equal(r.d.n_errors, 0);
	assert_int_equal(rs->n_routes, 0);
	pt_routeset_free(rs);
	done(&r);
}

static void test_output_vip_and_routes(void **state)
{
	struct result r;
	struct pt_build_opts o = { .host = "gateway-4" };
	struct pt_routeset *rs;
	const struct pt_vip *out;
	const struct pt_route *g;
	char a[INET_ADDRSTRLEN];

	(void)state;
	load(&r, FIX "nat-pool-snat", "gateway-4");
	assert_int_equal(r.d.n, 0);
	assert_int_equal(r.p->n_vips, 2);
	out = pt_pool_output_vip(r.p);
	assert_non_null(out);
	assert_string_equal(out->iface, "gateway-network");
	assert_int_equal(out->vrid, 6);
	assert_string_equal(pt_addr_str(&out->addr, a, sizeof(a)), "198.51.100.254");
	assert_int_equal(out->advert_int, 2);
	assert_string_equal(out->auth_pass, "s3cret");
	assert_true(pt_pool_has_vip(r.p, &r.p->vips[0].addr));

	/* A route may listen on a VIP: nothing refuses an address that is not
	 * (yet) this host's. */
	rs = pt_routes_build(r.inv, &o, &r.d);
	assert_int_equal(r.d.n_errors, 0);
	assert_int_equal(rs->n_routes, 2);
	g = pt_routeset_find(rs, "grafana");
	assert_non_null(g);
	assert_false(g->wildcard);
	assert_true(pt_pool_has_vip(r.p, &g->addr));
	assert_true(pt_routeset_find(rs, "prometheus")->wildcard);
	pt_routeset_free(rs);
	done(&r);
}

static void test_bad_range(void **state)
{
	struct result r;

	(void)state;
	load(&r, FIX "bad-vips-range", "gw-1");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:10:32: error: virtual_router_id '0' "
		 "is not a number from 1 to 255; give the VRRP router id, the same on every host "
		 "of the VIP and unique on its network");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:11:18: error: vip '192.168.1.300' is "
		 "not an IPv4 address; write one address such as 192.168.1.254 (no prefix "
		 "length, no host name)");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:19:35: error: priority '256' is not "
		 "a number from 1 to 255; give this host's VRRP priority (the highest holds the "
		 "VIP)");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:19:47: error: state 'master' is not a "
		 "VRRP state; write MASTER (one host of the VIP) or BACKUP (in capitals, as "
		 "keepalived does)");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:15:25: error: advert_int '0' is not a "
		 "number from 1 to 255; give the seconds between VRRP advertisements (default 1)");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:16:24: error: auth_pass is not a VRRP "
		 "password; write 1 to 8 characters without spaces, quotes, '\\', '#' or '!'");
	has_line(&r, "tests/fixtures/bad-vips-range/hosts.yml:20:39: error: priority '0' is not a "
		 "number from 1 to 255; give this host's VRRP priority (the highest holds the "
		 "VIP)");
	assert_int_equal(r.d.n_errors, 7);
	assert_int_equal(r.p->n_vips, 0);
	done(&r);
}

static void test_one_master(void **state)
{
	static const char two[] = "tests/fixtures/bad-vips-master/hosts.yml:10:11: error: VIP "
		"box-network (virtual_router_id 5) has 2 MASTERs (gw-1, gw-2); keep state: MASTER "
		"on one host, BACKUP on the others";
	static const char none[] = "tests/fixtures/bad-vips-master/hosts.yml:11:11: error: VIP "
		"gateway-network (virtual_router_id 6) has no MASTER among its hosts (gw-1, gw-2); "
		"set state: MASTER on exactly one of them, BACKUP on the others";
	struct result r;

	(void)state;
	load(&r, FIX "bad-vips-master", "gw-1");
	has_line(&r, two);
	has_line(&r, none);
	assert_int_equal(r.d.n_errors, 2);
	done(&r);
	/* The same from the other host: the check is over the VIP's hosts. */
	load(&r, FIX "bad-vips-master", "gw-2");
	has_line(&r, two);
	has_line(&r, none);
	done(&r);
	/* Another VIP (vrid 7) with one MASTER is fine, but its MASTER is
	 * outranked: a warning. */
	load(&r, FIX "bad-vips-master", "gw-4");
	assert_int_equal(r.d.n_errors, 0);
	has_line(&r, "tests/fixtures/bad-vips-master/hosts.yml:28:35: warning: host 'gw-4' is the "
		 "MASTER of VIP box-network with priority 150, but BACKUP 'gw-3' has 200: "
		 "keepalived elects by priority, so 'gw-3' takes the VIP; give the MASTER the "
		 "highest priority");
	assert_int_equal(r.p->vips[0].n_peers, 1);
	assert_string_equal(r.p->vips[0].peers[0], "gw-3");
	done(&r);
	load(&r, FIX "bad-vips-master", "gw-3");
	assert_int_equal(r.d.n, 0);
	done(&r);
}

static void test_interfaces(void **state)
{
	struct result r;

	(void)state;
	load(&r, FIX "bad-vips-iface", "gw-1");
	has_line(&r, "tests/fixtures/bad-vips-iface/hosts.yml:8:27: error: output_interface "
		 "'gateway/network' is not an interface name; give the NIC's name (at most 15 "
		 "characters, no '/', ':' or spaces)");
	has_line(&r, "tests/fixtures/bad-vips-iface/hosts.yml:10:11: error: VIP eth9: 'eth9' is not "
		 "one of this host's interfaces (input_interface box-network, output_interface "
		 "unset); name the VIP after the interface that holds it");
	has_line(&r, "tests/fixtures/bad-vips-iface/hosts.yml:13:9: error: host 'gw-1' has no "
		 "'box-network' variable, so it has no part in VIP box-network (virtual_router_id "
		 "6); give it box-network: {priority: 1..255, state: MASTER or BACKUP}");
	assert_int_equal(r.d.n_errors, 3);
	done(&r);
	load(&r, FIX "bad-vips-iface", "gw-2");
	has_line(&r, "tests/fixtures/bad-vips-iface/hosts.yml:18:11: error: VIP box-network: this "
		 "host has neither input_interface nor output_interface, so no interface named "
		 "'box-network'; declare them (the seed: input_interface: box-network, "
		 "output_interface: gateway-network)");
	assert_int_equal(r.d.n_errors, 1);
	done(&r);
}

static void test_shapes(void **state)
{
	struct result r;

	(void)state;
	load(&r, FIX "bad-vips-shape", "gw-1");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:7:15: error: vips must be a mapping "
		 "of interface names to {virtual_router_id, vip}, not a sequence");
	done(&r);
	load(&r, FIX "bad-vips-shape", "gw-2");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:15:45: warning: unknown key "
		 "'virtual_router' in vips.box-network is ignored; known keys: virtual_router_id, "
		 "vip, advert_int, auth_pass. Check the spelling");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:15:11: error: vips.box-network has "
		 "no virtual_router_id; add virtual_router_id: N (1..255, unique on the network)");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:19:24: error: box-network of host "
		 "'gw-2' must be a mapping {priority: 1..255, state: MASTER or BACKUP}, not a "
		 "scalar");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:16:28: error: vips.gateway-network "
		 "must be a mapping {virtual_router_id: 1..255, vip: ADDRESS}, not a scalar");
	assert_int_equal(r.d.n_errors, 4);
	done(&r);
	load(&r, FIX "bad-vips-shape", "gw-3");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:29:55: warning: unknown key "
		 "'preempt' in box-network of host 'gw-3' is ignored; known keys: priority, "
		 "state. Check the spelling");
	has_line(&r, "tests/fixtures/bad-vips-shape/hosts.yml:26:11: error: VIP gateway-network "
		 "has virtual_router_id 9 like VIP box-network; give each VIP its own");
	assert_int_equal(r.d.n_errors, 1);
	done(&r);
}

/* The rendered file, line by line where it matters. */
static void test_render(void **state)
{
	struct pt_keepalived_opts o = { .portier = "/usr/sbin/portier",
					.bpffs = "/sys/fs/bpf/gw4", .source = "inv" };
	struct result r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	load(&r, FIX "nat-pool-snat", "gateway-4");
	f = open_memstream(&text, &len);
	assert_int_equal(pt_keepalived_render(r.p, &o, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "vrrp_sync_group portier {\n    group {\n"
				     "        portier_vrid5\n        portier_vrid6\n    }\n}\n"));
	assert_non_null(strstr(text, "vrrp_instance portier_vrid5 {\n"
				     "    interface box-network\n"
				     "    state MASTER\n"
				     "    priority 200\n"
				     "    virtual_router_id 5\n"
				     "    advert_int 2\n"
				     "    authentication {\n"
				     "        auth_type PASS\n"
				     "        auth_pass s3cret\n"
				     "    }\n"
				     "    virtual_ipaddress {\n"
				     "        192.168.1.254/32 dev box-network\n"
				     "    }\n"
				     "    notify_master \"/usr/sbin/portier --bpffs /sys/fs/bpf/gw4 "
				     "vrrp notify master 5 200\"\n"
				     "    notify_backup \"/usr/sbin/portier --bpffs /sys/fs/bpf/gw4 "
				     "vrrp notify backup 5 200\"\n"
				     "    notify_fault \"/usr/sbin/portier --bpffs /sys/fs/bpf/gw4 "
				     "vrrp notify fault 5 200\"\n"
				     "    notify_stop \"/usr/sbin/portier --bpffs /sys/fs/bpf/gw4 "
				     "vrrp notify stop 5 200\"\n}\n"));
	assert_non_null(strstr(text, "        198.51.100.254/32 dev gateway-network\n"));
	assert_non_null(strstr(text, "    enable_script_security\n"));
	free(text);
	done(&r);

	/* One VIP: no sync group. No VIP: nothing to render. */
	load(&r, FIX "inv-nat-pool", "gateway-5");
	o.bpffs = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(pt_keepalived_render(r.p, &o, f), 0);
	fclose(f);
	assert_null(strstr(text, "vrrp_sync_group"));
	assert_non_null(strstr(text, "    state BACKUP\n    priority 100\n"));
	assert_non_null(strstr(text, "\"/usr/sbin/portier vrrp notify backup 5 100\""));
	free(text);
	r.p->n_vips = 0;
	f = open_memstream(&text, &len);
	assert_int_equal(pt_keepalived_render(r.p, &o, f), -ENOENT);
	fclose(f);
	free(text);
	r.p->n_vips = 1;
	done(&r);
}

/* Values may be templates, as everywhere in the inventory; a host_vars-like
 * inline part per host; the seed's interfaces from group all. */
static char *render(const struct pt_pool *p)
{
	struct pt_keepalived_opts o = { .portier = "/usr/sbin/portier" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(pt_keepalived_render(p, &o, f), 0);
	fclose(f);
	return text;
}

/* Flow sync from the inventory: the VIPs' one peer, each host's
 * sync_address or IPv4 ansible_host; keepalived then starts as BACKUP
 * with preempt_delay; egress translates to the output VIP by default. */
static void test_sync_pair(void **state)
{
	struct pt_addr a4, a5, vip;
	struct pt_egress e = { .declared = true };
	struct result r;
	char *text;

	(void)state;
	assert_int_equal(pt_addr_parse("192.168.1.4", &a4), 0);
	assert_int_equal(pt_addr_parse("192.0.2.5", &a5), 0);
	assert_int_equal(pt_addr_parse("203.0.113.254", &vip), 0);
	load(&r, FIX "nat-pool-sync", "gateway-4");
	assert_string_equal(r.text, "");
	assert_true(r.p->sync);
	assert_null(r.p->sync_none);
	assert_string_equal(r.p->sync_peer_host, "gateway-5");
	assert_true(pt_addr_equal(&r.p->sync_self, &a4));
	assert_true(pt_addr_equal(&r.p->sync_peer, &a5));
	text = render(r.p);
	assert_non_null(strstr(text, "    # the inventory's MASTER, started as BACKUP: with flow sync, "
				     "it\n    # takes the VIP back only after preempt_delay, once its "
				     "table is\n    # resynchronised from gateway-5\n"
				     "    state BACKUP\n    priority 200\n    virtual_router_id 5\n"
				     "    advert_int 1\n    preempt_delay 5\n"));
	assert_null(strstr(text, "state MASTER"));
	free(text);
	pt_pool_egress_source(r.p, &e);
	assert_true(pt_addr_equal(&e.snat_address, &vip));
	assert_true(e.snat_vip);
	e = (struct pt_egress){ .declared = true, .snat_address = a5 };
	pt_pool_egress_source(r.p, &e);	/* declared: it wins */
	assert_true(pt_addr_equal(&e.snat_address, &a5));
	assert_false(e.snat_vip);
	done(&r);

	load(&r, FIX "nat-pool-sync", "gateway-5");
	assert_true(r.p->sync);
	assert_true(pt_addr_equal(&r.p->sync_self, &a5));
	assert_true(pt_addr_equal(&r.p->sync_peer, &a4));
	text = render(r.p);
	assert_non_null(strstr(text, "    state BACKUP\n    priority 100\n    virtual_router_id 6\n"
				     "    advert_int 1\n    preempt_delay 5\n"));
	free(text);
	done(&r);

	/* No addresses: no sync, said; keepalived as written. */
	load(&r, FIX "nat-pool-snat", "gateway-4");
	assert_false(r.p->sync);
	assert_string_equal(r.p->sync_none, "host gateway-4 has no sync_address and its "
			    "ansible_host is not an IPv4 address");
	text = render(r.p);
	assert_non_null(strstr(text, "    state MASTER\n"));
	assert_null(strstr(text, "preempt_delay"));
	free(text);
	done(&r);

	/* A sync_address that is no address: an error at it; a peer with a
	 * name for ansible_host and no sync_address: no sync. */
	load(&r, FIX "bad-nat-pool-sync", "gateway-4");
	has_line(&r, "tests/fixtures/bad-nat-pool-sync/hosts.yml:14:25: error: host 'gateway-4': "
		 "sync_address '192.168.1.400' is not an IPv4 address; give the address this "
		 "host receives the peer's flow sync on");
	assert_false(r.p->sync);
	done(&r);
	load(&r, FIX "bad-nat-pool-sync", "gateway-5");
	assert_false(r.p->sync);
	done(&r);

	/* IPv6: flow sync and VIPs are IPv4 only for now. */
	load(&r, FIX "bad-ipv6-pool", "gateway-4");
	has_line(&r, "tests/fixtures/bad-ipv6-pool/hosts.yml:14:25: error: host 'gateway-4': "
		 "sync_address '2001:db8::4' is IPv6: flow sync is IPv4 only for now "
		 "(docs/inventory.md, \"Families\"); give the IPv4 address this host receives "
		 "the peer's flow sync on");
	assert_false(r.p->sync);
	done(&r);
	load(&r, FIX "bad-ipv6-vip", "gateway-4");
	assert_string_equal(r.text, "tests/fixtures/bad-ipv6-vip/hosts.yml:9:52: error: vip "
			    "'2001:db8::fe' is IPv6: keepalived VIPs are IPv4 only for now "
			    "(docs/inventory.md, \"Families\"); write an IPv4 address such as "
			    "192.168.1.254\n");
	done(&r);
}

static void test_templates(void **state)
{
	static const char text[] =
		"all:\n"
		"  vars:\n"
		"    box_vip: 192.168.1.254\n"
		"    vrids: {box: 5}\n"
		"    input_interface: box-network\n"
		"  children:\n"
		"    nat:\n"
		"      vars:\n"
		"        vips:\n"
		"          box-network: {virtual_router_id: \"{{ vrids.box }}\", vip: \"{{ box_vip }}\"}\n"
		"      hosts:\n"
		"        g4: {box-network: {priority: \"{{ prio }}\", state: MASTER}, prio: 200}\n"
		"        g5: {box-network: {priority: 100, state: BACKUP}}\n";
	struct pt_diags d = { 0 };
	struct pt_inventory *inv = pt_inventory_parse("inv.yml", text, strlen(text), &d);
	struct pt_pool *p;
	char a[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(d.n_errors, 0);
	p = pt_pool_build(inv, "g4", &d);
	for (size_t i = 0; i < d.n; i++)
		fail_msg("unexpected diagnostic: %s", d.v[i].msg);
	assert_int_equal(p->n_vips, 1);
	assert_int_equal(p->vips[0].vrid, 5);
	assert_int_equal(p->vips[0].priority, 200);
	assert_string_equal(pt_addr_str(&p->vips[0].addr, a, sizeof(a)), "192.168.1.254");
	assert_string_equal(p->input, "box-network");
	assert_null(p->output);
	pt_pool_free(p);
	pt_inventory_free(inv);
	pt_diags_free(&d);
}

static void test_role_names(void **state)
{
	unsigned int role;

	(void)state;
	assert_int_equal(pt_vrrp_role_parse("master", &role), 0);
	assert_int_equal(role, PORTIER_VRRP_MASTER);
	assert_int_equal(pt_vrrp_role_parse("BACKUP", &role), 0);
	assert_int_equal(role, PORTIER_VRRP_BACKUP);
	assert_int_equal(pt_vrrp_role_parse("Fault", &role), 0);
	assert_int_equal(role, PORTIER_VRRP_FAULT);
	assert_int_equal(pt_vrrp_role_parse("stop", &role), 0);
	assert_int_equal(role, PORTIER_VRRP_STOP);
	assert_int_equal(pt_vrrp_role_parse("unknown", &role), -EINVAL);
	assert_int_equal(pt_vrrp_role_parse("primary", &role), -EINVAL);
	assert_string_equal(pt_vrrp_role_name(PORTIER_VRRP_MASTER), "MASTER");
	assert_string_equal(pt_vrrp_role_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_pool),
		cmocka_unit_test(test_pool_without_proxies),
		cmocka_unit_test(test_output_vip_and_routes),
		cmocka_unit_test(test_bad_range),
		cmocka_unit_test(test_one_master),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_sync_pair),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_role_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
