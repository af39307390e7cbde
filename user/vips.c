// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * vips.c - the nat-gateway-pool's variables for one host (vips.h), as the
 * seed writes them:
 *
 *   nat_gateway_pool:
 *     vars:
 *       output_interface: gateway-network      the backend/internet side
 *       input_interface: box-network           the client side
 *       vips:
 *         box-network:                         a NIC named above
 *           virtual_router_id: 5               1..255
 *           vip: 192.168.1.254                 IPv4
 *           advert_int: 1                      extension, seconds, 1..255
 *           auth_pass: secret                  extension, 1..8 characters
 *     hosts:
 *       gateway-4:
 *         box-network: {priority: 200, state: MASTER}
 *       gateway-5:
 *         box-network: {priority: 100, state: BACKUP}
 *
 * Ansible gives every host of the group input_interface, output_interface
 * and vips, and each host its own variable named after the interface (a
 * name with a dash, kept as is: checked with ansible-inventory --list). The
 * peers of a VIP are the hosts whose vips has the same key with the same
 * virtual_router_id; exactly one of them is MASTER.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "template.h"
#include "util.h"
#include "vips.h"

#define VRID_MIN	1
#define VRID_MAX	255
#define PRIO_MIN	1
#define PRIO_MAX	255	/* keepalived: 255 is for the address owner */
#define NAMES_MAX	8	/* host names listed in a message before "..." */

static const char *const vip_keys[] = { "virtual_router_id", "vip", "advert_int", "auth_pass",
					NULL };
static const char *const host_keys[] = { "priority", "state", NULL };

/* State of one read. */
struct rd {
	const struct pt_inventory *inv;
	struct pt_diags *d;	/* where problems go (a scratch list for peers) */
	const struct pt_val *vars;	/* the host's resolved variables */
};

static void check_keys(struct rd *r, const struct pt_val *m, const char *const *known,
		       const char *where)
{
	for (size_t i = 0; m && m->type == PT_VAL_MAP && i < m->n; i++) {
		bool ok = false;
		char *names = xstrdup("");

		for (const char *const *k = known; *k; k++) {
			char *n = xasprintf("%s%s%s", names, *names ? ", " : "", *k);

			ok |= !strcmp(*k, m->map[i].key);
			free(names);
			names = n;
		}
		if (!ok)
			pt_warn(r->d, &m->map[i].key_pos, NULL,
				"unknown key '%s' in %s is ignored; known keys: %s. Check the "
				"spelling", m->map[i].key, where, names);
		free(names);
	}
}

/* The text of m.key, templates resolved (malloc'd); NULL if absent (then
 * *node is NULL) or after an error (*err). what names it in messages. */
static char *text(struct rd *r, const struct pt_val *m, const char *key, const char *what,
		  const struct pt_val **node, bool *err)
{
	struct pt_val *v = m && m->type == PT_VAL_MAP ? pt_val_get(m, key) : NULL;
	struct pt_val *res;
	char *out = NULL;

	*node = v;
	*err = false;
	if (!v || v->type == PT_VAL_NULL) {
		*node = NULL;
		return NULL;
	}
	res = pt_template_resolve(v, NULL, r->vars, r->d);
	if (!res) {
		*err = true;
		return NULL;
	}
	if (res->type == PT_VAL_SCALAR && res->str)
		out = xstrdup(res->str);
	else {
		pt_error(r->d, &v->pos, NULL, "%s must be a single value, not a %s", what,
			 pt_val_type_name(res->type));
		*err = true;
	}
	pt_val_unref(res);
	return out;
}

/* A number in [min, max] at m.key: 0 if absent, -1 after an error. */
static long number(struct rd *r, const struct pt_val *m, const char *key, const char *what,
		   unsigned long min, unsigned long max, const char *hint)
{
	const struct pt_val *node;
	bool err;
	char *s = text(r, m, key, what, &node, &err);
	unsigned long v;

	if (!s)
		return err ? -1 : 0;
	if (!pt_parse_uint(s, min, max, &v)) {
		pt_error(r->d, &node->pos, NULL, "%s '%s' is not a number from %lu to %lu; %s",
			 what, s, min, max, hint);
		free(s);
		return -1;
	}
	free(s);
	return (long)v;
}

/* A NIC name from input_interface or output_interface; NULL if absent or
 * bad (reported). */
static char *nic(struct rd *r, const char *var)
{
	const struct pt_val *node;
	bool err;
	char *s = text(r, r->vars, var, var, &node, &err);

	if (s && (!*s || strlen(s) >= IFNAMSIZ || strpbrk(s, "/ \t:"))) {
		pt_error(r->d, &node->pos, NULL,
			 "%s '%s' is not an interface name; give the NIC's name (at most %d "
			 "characters, no '/', ':' or spaces)", var, s, IFNAMSIZ - 1);
		free(s);
		s = NULL;
	}
	return s;
}

/* This host's <iface>: {priority, state} for a VIP into v. Returns 0, or -1
 * after an error (reported at host h unless the variable exists). */
static int host_part(struct rd *r, const struct pt_host *h, struct pt_vip *v)
{
	const struct pt_val *hv = pt_val_get(r->vars, v->iface), *node;
	char *where = xasprintf("%s of host '%s'", v->iface, h->name);
	char *vrid = v->vrid ? xasprintf(" (virtual_router_id %u)", v->vrid) : xstrdup("");
	long prio;
	bool err;
	char *state;
	int ret = 0;

	if (!hv || hv->type != PT_VAL_MAP) {
		if (!hv)
			pt_error(r->d, &h->pos, NULL,
				 "host '%s' has no '%s' variable, so it has no part in VIP %s%s; "
				 "give it %s: {priority: 1..255, state: MASTER or BACKUP}",
				 h->name, v->iface, v->iface, vrid, v->iface);
		else
			pt_error(r->d, &hv->pos, NULL,
				 "%s must be a mapping {priority: 1..255, state: MASTER or "
				 "BACKUP}, not a %s", where, pt_val_type_name(hv->type));
		free(where);
		free(vrid);
		return -1;
	}
	free(vrid);
	check_keys(r, hv, host_keys, where);
	prio = number(r, hv, "priority", "priority", PRIO_MIN, PRIO_MAX,
		      "give this host's VRRP priority (the highest holds the VIP)");
	if (!prio && !pt_val_get(hv, "priority"))
		pt_error(r->d, &hv->pos, NULL,
			 "%s has no priority; add priority: N (1..255, the highest holds the "
			 "VIP)", where);
	if (prio <= 0)
		ret = -1;
	v->priority = prio > 0 ? (uint8_t)prio : 0;

	state = text(r, hv, "state", "state", &node, &err);
	if (!state && !err)
		pt_error(r->d, &hv->pos, NULL,
			 "%s has no state; add state: MASTER (one host of the VIP) or BACKUP",
			 where);
	else if (state && strcmp(state, "MASTER") && strcmp(state, "BACKUP"))
		pt_error(r->d, &node->pos, NULL,
			 "state '%s' is not a VRRP state; write MASTER (one host of the VIP) or "
			 "BACKUP (in capitals, as keepalived does)", state);
	else if (state)
		v->master = !strcmp(state, "MASTER");
	if (!state || (strcmp(state, "MASTER") && strcmp(state, "BACKUP")))
		ret = -1;
	free(state);
	free(where);
	return ret;
}

/* The VIP of vips entry e (the group's part) into v. Returns 0 or -1. */
static int vip_part(struct rd *r, const struct pt_map_entry *e, struct pt_vip *v)
{
	const struct pt_val *m = e->val, *node;
	char *where = xasprintf("vips.%s", e->key);
	long vrid, adv;
	bool err;
	char *s;
	int ret = 0;

	v->iface = xstrdup(e->key);
	v->pos = e->key_pos;
	v->advert_int = PT_VRRP_ADVERT_DEFAULT;
	if (!m || m->type != PT_VAL_MAP) {
		pt_error(r->d, m ? &m->pos : &e->key_pos, NULL,
			 "%s must be a mapping {virtual_router_id: 1..255, vip: ADDRESS}, not "
			 "a %s", where, m ? pt_val_type_name(m->type) : "null");
		free(where);
		return -1;
	}
	check_keys(r, m, vip_keys, where);
	vrid = number(r, m, "virtual_router_id", "virtual_router_id", VRID_MIN, VRID_MAX,
		      "give the VRRP router id, the same on every host of the VIP and "
		      "unique on its network");
	if (!vrid && !pt_val_get(m, "virtual_router_id"))
		pt_error(r->d, &e->key_pos, NULL,
			 "%s has no virtual_router_id; add virtual_router_id: N (1..255, "
			 "unique on the network)", where);
	if (vrid <= 0)
		ret = -1;
	v->vrid = vrid > 0 ? (uint8_t)vrid : 0;

	s = text(r, m, "vip", "vip", &node, &err);
	if (!s && !err)
		pt_error(r->d, &e->key_pos, NULL,
			 "%s has no vip; add vip: ADDRESS (the address keepalived moves)", where);
	else if (s && !pt_addr_parse(s, &v->addr) && v->addr.family == AF_INET6)
		pt_error(r->d, &node->pos, NULL,
			 "vip '%s' is IPv6: keepalived VIPs are IPv4 only for now "
			 "(docs/inventory.md, \"Families\"); write an IPv4 address such as "
			 "192.168.1.254", s);
	else if (s && (pt_addr_parse(s, &v->addr) || v->addr.family != AF_INET ||
		       !v->addr.v4.s_addr || v->addr.v4.s_addr == 0xffffffff))
		pt_error(r->d, &node->pos, NULL,
			 "vip '%s' is not an IPv4 address; write one address such as "
			 "192.168.1.254 (no prefix length, no host name)", s);
	if (!s || v->addr.family != AF_INET || !v->addr.v4.s_addr ||
	    v->addr.v4.s_addr == 0xffffffff)
		ret = -1;
	free(s);

	adv = number(r, m, "advert_int", "advert_int", 1, PT_VRRP_ADVERT_MAX,
		     "give the seconds between VRRP advertisements (default 1)");
	if (adv < 0)
		ret = -1;
	else if (adv)
		v->advert_int = (unsigned int)adv;

	s = text(r, m, "auth_pass", "auth_pass", &node, &err);
	if (s && (!*s || strlen(s) > PT_VRRP_AUTH_PASS_MAX || strpbrk(s, " \t\"'\\#!"))) {
		pt_error(r->d, &node->pos, NULL,
			 "auth_pass is not a VRRP password; write 1 to %d characters without "
			 "spaces, quotes, '\\', '#' or '!'", PT_VRRP_AUTH_PASS_MAX);
		free(s);
		s = NULL;
		ret = -1;
	}
	if (err)
		ret = -1;
	v->auth_pass = s;
	free(where);
	return ret;
}

static void vip_clear(struct pt_vip *v)
{
	free(v->iface);
	free(v->auth_pass);
	for (size_t i = 0; i < v->n_peers; i++)
		free(v->peers[i]);
	free(v->peers);
}

void pt_pool_free(struct pt_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_vips; i++)
		vip_clear(&p->vips[i]);
	free(p->vips);
	free(p->host);
	free(p->input);
	free(p->output);
	free(p->sync_peer_host);
	free(p->sync_none);
	free(p);
}

/* The MASTERs of vip v among every host of the
 * inventory that shares it (same vips key, same virtual_router_id): one
 * MASTER, or an error at the vips key naming them. Peers' own mistakes are
 * left to their own check. */
static void check_peers(struct rd *r, const struct pt_host *self, struct pt_vip *v)
{
	char *masters = xstrdup(""), *all = xstrdup("");
	size_t n_masters = 0, n_hosts = 0;

	for (size_t i = 0; i < r->inv->n_hosts; i++) {
		const struct pt_host *h = r->inv->hosts[i];
		struct pt_diags scratch = { 0 };
		struct pt_val *vars = pt_host_vars(r->inv, h);
		struct rd pr = { .inv = r->inv, .d = &scratch, .vars = vars };
		const struct pt_val *vips = pt_val_get(vars, PT_VAR_VIPS);
		const struct pt_map_entry *e = vips && vips->type == PT_VAL_MAP ?
			pt_val_entry(vips, v->iface) : NULL;
		struct pt_vip pv = { 0 };

		if (e && !vip_part(&pr, e, &pv) && pv.vrid == v->vrid &&
		    !host_part(&pr, h, &pv)) {
			char *n;

			n_hosts++;
			if (n_hosts <= NAMES_MAX) {
				n = xasprintf("%s%s%s", all, *all ? ", " : "", h->name);
				free(all);
				all = n;
			}
			if (pv.master) {
				n = xasprintf("%s%s%s", masters, *masters ? ", " : "", h->name);
				free(masters);
				masters = n;
				n_masters++;
			}
			if (h != self) {
				v->peers = xrealloc(v->peers, (v->n_peers + 1) * sizeof(*v->peers));
				v->peers[v->n_peers++] = xstrdup(h->name);
			}
		}
		vip_clear(&pv);
		pt_diags_free(&scratch);
		pt_val_unref(vars);
	}
	if (n_masters == 0)
		pt_error(r->d, &v->pos, NULL,
			 "VIP %s (virtual_router_id %u) has no MASTER among its hosts (%s%s); set "
			 "state: MASTER on exactly one of them, BACKUP on the others", v->iface,
			 v->vrid, all, n_hosts > NAMES_MAX ? ", ..." : "");
	else if (n_masters > 1)
		pt_error(r->d, &v->pos, NULL,
			 "VIP %s (virtual_router_id %u) has %zu MASTERs (%s); keep state: MASTER "
			 "on one host, BACKUP on the others", v->iface, v->vrid, n_masters,
			 masters);
	free(masters);
	free(all);
}

/* A MASTER whose priority a BACKUP beats loses the VIP at the first
 * election: keepalived elects by priority, the state is only where a host
 * starts. Said as a warning at this host's priority when it is the
 * MASTER. */
static void check_master_priority(struct rd *r, const struct pt_host *self,
				  const struct pt_vip *v)
{
	const struct pt_val *hv = pt_val_get(r->vars, v->iface);

	if (!v->master)
		return;
	for (size_t i = 0; i < r->inv->n_hosts; i++) {
		const struct pt_host *h = r->inv->hosts[i];
		struct pt_diags scratch = { 0 };
		struct pt_val *vars;
		struct rd pr = { .inv = r->inv, .d = &scratch };
		const struct pt_val *vips;
		const struct pt_map_entry *e;
		struct pt_vip pv = { 0 };
		bool beaten = false;

		if (h == self)
			continue;
		vars = pt_host_vars(r->inv, h);
		pr.vars = vars;
		vips = pt_val_get(vars, PT_VAR_VIPS);
		e = vips && vips->type == PT_VAL_MAP ? pt_val_entry(vips, v->iface) : NULL;
		if (e && !vip_part(&pr, e, &pv) && pv.vrid == v->vrid && !host_part(&pr, h, &pv))
			beaten = !pv.master && pv.priority >= v->priority;
		if (beaten)
			pt_warn(r->d, hv ? &pt_val_get(hv, "priority")->pos : &v->pos, NULL,
				"host '%s' is the MASTER of VIP %s with priority %u, but BACKUP "
				"'%s' has %u: keepalived elects by priority, so '%s' %s; give "
				"the MASTER the highest priority", self->name, v->iface,
				v->priority, h->name, pv.priority, h->name,
				pv.priority > v->priority ? "takes the VIP" : "may take the VIP "
				"(equal priorities: the higher address wins)");
		vip_clear(&pv);
		pt_diags_free(&scratch);
		pt_val_unref(vars);
	}
}

/* h's flow sync address into *out: its sync_address, else its ansible_host
 * if that is an IPv4 address. Problems go to r->d (the variable's
 * position). 0, or -ENOENT (neither says: *why set), or -EINVAL. */
static int sync_address(struct rd *r, const struct pt_host *h, struct pt_addr *out,
			const char **why)
{
	struct pt_val *vars = pt_host_vars(r->inv, h);
	struct rd hr = { .inv = r->inv, .d = r->d, .vars = vars };
	const struct pt_val *node;
	bool err;
	char *s = text(&hr, vars, PT_VAR_SYNC_ADDRESS, PT_VAR_SYNC_ADDRESS, &node, &err);
	int rc = 0;

	if (s) {
		if (!pt_addr_parse(s, out) && out->family == AF_INET6) {
			pt_error(r->d, &node->pos, NULL,
				 "host '%s': %s '%s' is IPv6: flow sync is IPv4 only for now "
				 "(docs/inventory.md, \"Families\"); give the IPv4 address this "
				 "host receives the peer's flow sync on", h->name,
				 PT_VAR_SYNC_ADDRESS, s);
			rc = -EINVAL;
		} else if (pt_addr_parse(s, out) || out->family != AF_INET) {
			pt_error(r->d, &node->pos, NULL,
				 "host '%s': %s '%s' is not an IPv4 address; give the address "
				 "this host receives the peer's flow sync on", h->name,
				 PT_VAR_SYNC_ADDRESS, s);
			rc = -EINVAL;
		}
	} else if (err) {
		rc = -EINVAL;
	} else {
		s = text(&hr, vars, "ansible_host", "ansible_host", &node, &err);
		if (err)
			rc = -EINVAL;
		else if (!s || pt_addr_parse(s, out) || out->family != AF_INET) {
			*why = "has no sync_address and its ansible_host is not an IPv4 address";
			rc = -ENOENT;
		}
	}
	free(s);
	pt_val_unref(vars);
	return rc;
}

/* Flow sync's pair: the VIPs' one peer host, both addresses. A pool of
 * more than two hosts, or a host without an address, has no sync from the
 * inventory (p->sync_none says why; --sync-peer still can). */
static void sync_pair(struct rd *r, const struct pt_host *self, struct pt_pool *p)
{
	const char *peer = NULL, *why = NULL;
	const struct pt_host *ph;
	int e1, e2;

	for (size_t i = 0; i < p->n_vips; i++)
		for (size_t k = 0; k < p->vips[i].n_peers; k++) {
			if (!peer) {
				peer = p->vips[i].peers[k];
			} else if (strcmp(peer, p->vips[i].peers[k])) {
				p->sync_none = xasprintf("the VIPs have the peers %s and %s "
							 "(flow sync pairs two gateways)", peer,
							 p->vips[i].peers[k]);
				return;
			}
		}
	ph = peer ? pt_inventory_host(r->inv, peer) : NULL;
	if (!ph)
		return;
	e1 = sync_address(r, self, &p->sync_self, &why);
	if (e1 == -ENOENT)
		p->sync_none = xasprintf("host %s %s", self->name, why);
	e2 = sync_address(r, ph, &p->sync_peer, &why);
	if (e2 == -ENOENT && !p->sync_none)
		p->sync_none = xasprintf("the peer %s %s", peer, why);
	if (e1 || e2)
		return;
	p->sync = true;
	p->sync_peer_host = xstrdup(peer);
}

struct pt_pool *pt_pool_build(const struct pt_inventory *inv, const char *host,
			      struct pt_diags *d)
{
	const struct pt_host *self = inv ? pt_inventory_host(inv, host) : NULL;
	struct pt_val *vars;
	struct pt_val *vips = NULL;
	const struct pt_val *vnode;
	struct pt_pool *p;
	struct rd r;

	if (!self)
		return NULL;
	vars = pt_host_vars(inv, self);
	r = (struct rd){ .inv = inv, .d = d, .vars = vars };
	p = xcalloc(1, sizeof(*p));
	p->host = xstrdup(host);
	p->input = nic(&r, PT_VAR_INPUT_IF);
	p->output = nic(&r, PT_VAR_OUTPUT_IF);

	vnode = pt_val_get(vars, PT_VAR_VIPS);
	if (vnode && vnode->type != PT_VAL_NULL)
		vips = pt_template_resolve(vnode, NULL, vars, d);
	if (vips && vips->type != PT_VAL_MAP) {
		pt_error(d, &vnode->pos, NULL,
			 "vips must be a mapping of interface names to {virtual_router_id, "
			 "vip}, not a %s", pt_val_type_name(vips->type));
	} else if (vips && vips->n > PT_VIPS_MAX) {
		pt_error(d, &vnode->pos, NULL,
			 "vips has %zu addresses, more than the %d a host can hold; keep at most "
			 "%d", vips->n, PT_VIPS_MAX, PT_VIPS_MAX);
	} else if (vips) {
		p->vips = xcalloc(vips->n ? vips->n : 1, sizeof(*p->vips));
		for (size_t i = 0; i < vips->n; i++) {
			const struct pt_map_entry *e = &vips->map[i];
			struct pt_vip *v = &p->vips[p->n_vips];
			bool ok = !vip_part(&r, e, v);

			if (!p->input && !p->output) {
				pt_error(d, &e->key_pos, NULL,
					 "VIP %s: this host has neither input_interface nor "
					 "output_interface, so no interface named '%s'; declare "
					 "them (the seed: input_interface: box-network, "
					 "output_interface: gateway-network)", e->key, e->key);
				ok = false;
			} else if ((!p->input || strcmp(e->key, p->input)) &&
				   (!p->output || strcmp(e->key, p->output))) {
				pt_error(d, &e->key_pos, NULL,
					 "VIP %s: '%s' is not one of this host's interfaces "
					 "(input_interface %s, output_interface %s); name the VIP "
					 "after the interface that holds it", e->key, e->key,
					 p->input ? p->input : "unset",
					 p->output ? p->output : "unset");
				ok = false;
			}
			v->output = p->output && !strcmp(e->key, p->output);
			for (size_t k = 0; ok && k < p->n_vips; k++) {
				char a[INET6_ADDRSTRLEN];

				if (p->vips[k].vrid == v->vrid)
					pt_error(d, &e->key_pos, NULL,
						 "VIP %s has virtual_router_id %u like VIP %s; give "
						 "each VIP its own", e->key, v->vrid,
						 p->vips[k].iface);
				else if (pt_addr_equal(&p->vips[k].addr, &v->addr))
					pt_error(d, &e->key_pos, NULL,
						 "VIP %s has vip %s like VIP %s; give each VIP its "
						 "own address", e->key,
						 pt_addr_str(&v->addr, a, sizeof(a)),
						 p->vips[k].iface);
				else
					continue;
				ok = false;
			}
			if (host_part(&r, self, v))
				ok = false;
			if (ok) {
				check_peers(&r, self, v);
				check_master_priority(&r, self, v);
				p->n_vips++;
			} else {
				vip_clear(v);
				memset(v, 0, sizeof(*v));
			}
		}
	}
	if (vips)
		pt_val_unref(vips);
	if (p->n_vips)
		sync_pair(&r, self, p);
	pt_val_unref(vars);
	return p;
}

const struct pt_vip *pt_pool_output_vip(const struct pt_pool *p)
{
	for (size_t i = 0; p && i < p->n_vips; i++)
		if (p->vips[i].output)
			return &p->vips[i];
	return NULL;
}

void pt_pool_egress_source(const struct pt_pool *p, struct pt_egress *e)
{
	const struct pt_vip *v = pt_pool_output_vip(p);

	if (v && e && e->declared && !e->snat_address.family) {
		e->snat_address = v->addr;
		e->snat_vip = true;
	}
}

bool pt_pool_has_vip(const struct pt_pool *p, const struct pt_addr *addr)
{
	for (size_t i = 0; p && i < p->n_vips; i++)
		if (pt_addr_equal(&p->vips[i].addr, addr))
			return true;
	return false;
}
