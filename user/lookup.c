// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * lookup.c - which backend a flow's tuple maps to (lookup.h): the
 * arguments, the program's hash, an inventory route's table, the answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "cli.h"
#include "cli_dp.h"
#include "lookup.h"
#include "maglev.h"
#include "portier_hash.h"
#include "util.h"

void pt_lookup_req_free(struct pt_lookup_req *q)
{
	free(q->clients);
	free(q->down);
	memset(q, 0, sizeof(*q));
}

/* "ADDR", "ADDR:PORT" or "[IPv6ADDR]:PORT" into c; 0, or 1 after the
 * error. */
static int parse_client(const char *cmd, const char *s, struct pt_lookup_client *c)
{
	char why[PT_ADDRPORT_ERR_LEN];

	memset(c, 0, sizeof(*c));
	c->text = s;
	if (!pt_addrport_parse(s, true, &c->addr, &c->port, why, sizeof(why)))
		return 0;
	p_err("%s: client %s", cmd, why);
	return 1;
}

int pt_lookup_parse(const char *cmd, int argc, char **argv, bool offline,
		    struct pt_lookup_req *q)
{
	memset(q, 0, sizeof(*q));
	if (argc < 1 || !*argv[0]) {
		p_err("%s: no ROUTE; try '%s %.*s help'", cmd, pt_g.prog,
		      (int)strcspn(cmd, " "), cmd);
		return 1;
	}
	q->route = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *kw = argv[i], *val;

		if (i + 1 >= argc) {
			p_err("%s: '%s' needs a value; try '%s %.*s help'", cmd, kw, pt_g.prog,
			      (int)strcspn(cmd, " "), cmd);
			goto fail;
		}
		val = argv[++i];
		if (is_prefix(kw, "client")) {
			q->clients = xrealloc(q->clients, (q->n_clients + 1) * sizeof(*q->clients));
			if (parse_client(cmd, val, &q->clients[q->n_clients++]))
				goto fail;
		} else if (is_prefix(kw, "address")) {
			if (pt_addr_parse(val, &q->service)) {
				p_err("%s: address '%s' is not an IPv4 or IPv6 address", cmd, val);
				goto fail;
			}
			q->has_service = true;
		} else if (offline && is_prefix(kw, "down")) {
			struct pt_lookup_down *d;

			q->down = xrealloc(q->down, (q->n_down + 1) * sizeof(*q->down));
			d = &q->down[q->n_down++];
			if (cli_parse_addr_port(cmd, "down", val, &d->addr, &d->port))
				goto fail;
		} else {
			p_err("%s: unknown keyword '%s'; try '%s %.*s help'", cmd, kw, pt_g.prog,
			      (int)strcspn(cmd, " "), cmd);
			goto fail;
		}
	}
	if (!q->n_clients) {
		p_err("%s: no client; give at least one 'client ADDR[:PORT]'", cmd);
		goto fail;
	}
	return 0;
fail:
	pt_lookup_req_free(q);
	return 1;
}

/* Client c's family against route r's and the service address's: 0, or 1
 * after the error. */
static int check_family(const char *cmd, const struct pt_lookup_req *q,
			const struct pt_lookup_client *c, const struct pt_lookup_route *r)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int fam = c->addr.family;

	if (r->family && r->family != fam) {
		p_err("%s: client %s is %s but route '%s' is %s; a route forwards within "
		      "one family", cmd, c->text, fam == AF_INET6 ? "IPv6" : "IPv4", r->name,
		      r->family == AF_INET6 ? "IPv6" : "IPv4");
		return 1;
	}
	if (q->has_service && q->service.family != fam) {
		p_err("%s: client %s and address %s are of different families; give an "
		      "address of the client's", cmd, pt_addr_str(&c->addr, a, sizeof(a)),
		      pt_addr_str(&q->service, b, sizeof(b)));
		return 1;
	}
	return 0;
}

int pt_lookup_key(const char *cmd, const struct pt_lookup_req *q,
		  const struct pt_lookup_client *c, const struct pt_lookup_route *r,
		  struct pt_lookup_tuple *k)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	bool maglev = r->balance == PT_BALANCE_MAGLEV;
	const struct pt_addr *svc = NULL;

	memset(k, 0, sizeof(*k));
	if (check_family(cmd, q, c, r))
		return 1;
	if (q->has_service && !r->wildcard && !pt_addr_equal(&q->service, &r->addr)) {
		p_err("%s: route '%s' listens on %s only, not on %s; drop 'address' or give "
		      "that one", cmd, r->name, pt_addr_str(&r->addr, a, sizeof(a)),
		      pt_addr_str(&q->service, b, sizeof(b)));
		return 1;
	}
	if (maglev && !c->port) {
		p_err("%s: route '%s' is balance maglev, which hashes the client's port too; "
		      "give client %s%s%s:PORT", cmd, r->name,
		      c->addr.family == AF_INET6 ? "[" : "", c->text,
		      c->addr.family == AF_INET6 ? "]" : "");
		return 1;
	}
	if (maglev && r->wildcard && !q->has_service) {
		p_err("%s: route '%s' is balance maglev and listens on every address ('*'): "
		      "the address the client connects to is part of the hash; give "
		      "'address ADDR'", cmd, r->name);
		return 1;
	}
	if (q->has_service)
		svc = &q->service;
	else if (!r->wildcard)
		svc = &r->addr;
	if (c->addr.family == AF_INET6) {
		k->family = PORTIER_AF_INET6;
		memcpy(k->v6.saddr.a8, &c->addr.v6, sizeof(k->v6.saddr));
		if (svc)
			memcpy(k->v6.daddr.a8, &svc->v6, sizeof(k->v6.daddr));
		k->v6.sport = htons(c->port);
		k->v6.dport = htons(r->port);
		k->v6.proto = r->proto;
		return 0;
	}
	k->family = PORTIER_AF_INET;
	k->v4.saddr = c->addr.v4.s_addr;
	if (svc)
		k->v4.daddr = svc->v4.s_addr;
	k->v4.sport = htons(c->port);
	k->v4.dport = htons(r->port);
	k->v4.proto = r->proto;
	return 0;
}

uint32_t pt_lookup_hash(enum pt_balance b, const struct pt_lookup_tuple *k)
{
	const struct portier_flow_key6 *k6 = &k->v6;

	if (k->family == PORTIER_AF_INET6)
		return b == PT_BALANCE_SOURCE ?
			       portier_source6_hash(k6->saddr.a32) :
			       portier_tuple6_hash(k6->saddr.a32, k6->daddr.a32, k6->sport,
						   k6->dport, k6->proto);
	if (b == PT_BALANCE_SOURCE)
		return portier_source_hash(k->v4.saddr);
	return portier_tuple_hash(k->v4.saddr, k->v4.daddr, k->v4.sport, k->v4.dport,
				  k->v4.proto);
}

int pt_lookup_table(const struct pt_route *r, const bool *down, uint32_t *table)
{
	struct pt_maglev_backend *be = xcalloc(r->n_backends + 1, sizeof(*be));
	char (*keys)[PT_MAGLEV_KEY_BUF] = xcalloc(r->n_backends + 1, sizeof(*keys));
	size_t n = 0;
	int err;

	/* The daemon's table_write (dp_maglev.c) takes the rotation's active
	 * backends: declaration order, neither drained, down nor weight 0. */
	for (size_t j = 0; j < r->n_backends; j++) {
		if ((down && down[j]) || r->backends[j].weight == 0)
			continue;
		be[n].key = pt_maglev_key(&r->backends[j].addr, r->backends[j].port, keys[n],
					  sizeof(keys[n]));
		be[n].weight = r->backends[j].weight;
		be[n].id = (uint32_t)j;
		n++;
	}
	err = pt_maglev_build(r->name, be, n, r->table_size, table);
	free(keys);
	free(be);
	return err < 0 ? err : 0;
}

json_t *pt_lookup_json(const struct pt_lookup_answer *a)
{
	bool decided = a->balance != PT_BALANCE_ROUNDROBIN;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "route", a->route, "balance",
			      pt_balance_name(a->balance), "client", a->client, "service",
			      a->service, "proto", pt_proto_name(a->proto), "decided", decided);

	if (!o)
		pt_die_oom();
	if (decided) {
		json_object_set_new(o, "hash", json_integer(a->hash));
		json_object_set_new(o, "slot", json_integer(a->slot));
		json_object_set_new(o, "table_size", json_integer(a->table_size));
		json_object_set_new(o, "backend", json_string(a->has_backend ? a->backend : "none"));
		if (a->has_backend && a->backend_id >= 0)
			json_object_set_new(o, "backend_id", json_integer(a->backend_id));
		if (a->has_backend && a->state)
			json_object_set_new(o, "state", json_string(a->state));
		if (a->has_backend && a->host)
			json_object_set_new(o, "host", json_string(a->host));
	}
	if (a->next[0]) {
		json_object_set_new(o, "next", json_string(a->next));
		json_object_set_new(o, "next_id", json_integer(a->next_id));
	}
	if (a->flow[0])
		json_object_set_new(o, "flow", json_string(a->flow));
	return o;
}

void pt_lookup_print(const struct pt_lookup_answer *a)
{
	printf("%s  %s -> %s/%s  %s", a->route, a->client, a->service, pt_proto_name(a->proto),
	       pt_balance_name(a->balance));
	if (a->balance == PT_BALANCE_ROUNDROBIN) {
		printf(": the tuple does not decide, new flows take the backends in turn");
		if (a->next[0])
			printf("; the next one goes to %s (id %ld)", a->next, a->next_id);
	} else {
		printf(" slot %u of %u  ", a->slot, a->table_size);
		if (!a->has_backend)
			printf("backend none (no backend takes new flows: they are dropped)");
		else if (a->host)
			printf("backend %s  host %s", a->backend, a->host);
		else
			printf("backend %s  id %ld  %s", a->backend, a->backend_id,
			       a->state ? a->state : "");
	}
	if (a->flow[0])
		printf("  flow %s", a->flow);
	printf("\n");
}
