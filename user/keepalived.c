// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* keepalived.c - keepalived.conf from a host's vips (see keepalived.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keepalived.h"
#include "portier.h"
#include "util.h"

/* One notify line: keepalived runs the quoted command as it is. */
static void notify_line(FILE *f, const char *key, const char *role,
			const struct pt_keepalived_opts *o, const struct pt_vip *v)
{
	fprintf(f, "    %s \"%s%s%s vrrp notify %s %u %u\"\n", key, o->portier,
		o->bpffs ? " --bpffs " : "", o->bpffs ? o->bpffs : "", role, v->vrid,
		v->priority);
}

int pt_keepalived_render(const struct pt_pool *p, const struct pt_keepalived_opts *o, FILE *f)
{
	char addr[INET6_ADDRSTRLEN];

	if (!p->n_vips)
		return -ENOENT;
	fprintf(f,
		"# keepalived.conf of host %s, rendered by portier from the inventory%s%s:\n"
		"# every VIP of its vips, its priority and state. Do not edit: change the\n"
		"# inventory and run 'portier keepalived render' again.\n"
		"global_defs {\n"
		"    router_id %s\n"
		"    # the notify scripts write the role into portier's pinned maps: root\n"
		"    script_user root\n"
		"    enable_script_security\n"
		"}\n", p->host, o->source ? " " : "", o->source ? o->source : "", p->host);
	if (p->n_vips > 1) {
		/* One host holds them all: the clients' VIP and the SNAT address
		 * move together, or replies would go to the other host. */
		fprintf(f, "\nvrrp_sync_group %s {\n    group {\n", PT_KEEPALIVED_GROUP);
		for (size_t i = 0; i < p->n_vips; i++)
			fprintf(f, "        " PT_KEEPALIVED_INSTANCE_FMT "\n", p->vips[i].vrid);
		fprintf(f, "    }\n}\n");
	}
	for (size_t i = 0; i < p->n_vips; i++) {
		const struct pt_vip *v = &p->vips[i];

		fprintf(f, "\n# vips.%s, the %s side", v->iface, v->output ? "output" : "input");
		for (size_t k = 0; k < v->n_peers; k++)
			fprintf(f, "%s%s", k ? ", " : "; peers ", v->peers[k]);
		fprintf(f, "\n");
		fprintf(f, "vrrp_instance " PT_KEEPALIVED_INSTANCE_FMT " {\n", v->vrid);
		fprintf(f, "    interface %s\n", v->iface);
		if (p->sync && v->master)
			/* keepalived honours preempt_delay only from BACKUP;
			 * the highest priority still wins the election. */
			fprintf(f, "    # the inventory's MASTER, started as BACKUP: with flow sync, "
				"it\n    # takes the VIP back only after preempt_delay, once "
				"its table is\n    # resynchronised from %s\n", p->sync_peer_host);
		fprintf(f, "    state %s\n", v->master && !p->sync ? "MASTER" : "BACKUP");
		fprintf(f, "    priority %u\n", v->priority);
		fprintf(f, "    virtual_router_id %u\n", v->vrid);
		fprintf(f, "    advert_int %u\n", v->advert_int);
		if (p->sync)
			fprintf(f, "    preempt_delay %u\n", PT_KEEPALIVED_PREEMPT_DELAY);
		if (v->auth_pass)
			fprintf(f, "    authentication {\n        auth_type PASS\n"
				"        auth_pass %s\n    }\n", v->auth_pass);
		fprintf(f, "    virtual_ipaddress {\n        %s/32 dev %s\n    }\n",
			pt_addr_str(&v->addr, addr, sizeof(addr)), v->iface);
		notify_line(f, "notify_master", "master", o, v);
		notify_line(f, "notify_backup", "backup", o, v);
		notify_line(f, "notify_fault", "fault", o, v);
		notify_line(f, "notify_stop", "stop", o, v);
		fprintf(f, "}\n");
	}
	return ferror(f) ? -EIO : 0;
}

static json_t *vip_json(const struct pt_vip *v)
{
	char addr[INET6_ADDRSTRLEN];
	json_t *peers = json_array();
	json_t *o;

	for (size_t i = 0; i < v->n_peers; i++)
		json_array_append_new(peers, json_string(v->peers[i]));
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:b, s:o}", "interface", v->iface,
		      "side", v->output ? "output" : "input", "address",
		      pt_addr_str(&v->addr, addr, sizeof(addr)), "virtual_router_id", (int)v->vrid,
		      "state", v->master ? "MASTER" : "BACKUP", "priority", (int)v->priority,
		      "advert_int", (int)v->advert_int, "auth", v->auth_pass != NULL,
		      "peers", peers);
	if (!o)
		pt_die_oom();
	return o;
}

json_t *pt_pool_json(const struct pt_pool *p)
{
	json_t *vips = json_array(), *o;

	for (size_t i = 0; p && i < p->n_vips; i++)
		json_array_append_new(vips, vip_json(&p->vips[i]));
	o = json_pack("{s:s, s:s, s:o}", "input", p && p->input ? p->input : "", "output",
		      p && p->output ? p->output : "", "vips", vips);
	if (!o)
		pt_die_oom();
	if (p && p->sync) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		json_object_set_new(o, "sync", json_pack("{s:s, s:s, s:s, s:i}", "peer",
				    p->sync_peer_host, "address",
				    pt_addr_str(&p->sync_self, a, sizeof(a)), "peer_address",
				    pt_addr_str(&p->sync_peer, b, sizeof(b)), "port", PT_SYNC_PORT));
	}
	return o;
}

void pt_pool_print(const struct pt_pool *p, FILE *f)
{
	char addr[INET6_ADDRSTRLEN];

	if (!p || (!p->input && !p->output && !p->n_vips))
		return;
	fprintf(f, "interfaces: input %s, output %s\n", p->input ? p->input : "-",
		p->output ? p->output : "-");
	for (size_t i = 0; i < p->n_vips; i++) {
		const struct pt_vip *v = &p->vips[i];

		fprintf(f, "vip %s %s (%s side): virtual_router_id %u, %s, priority %u, "
			"advert_int %us%s; peers", v->iface,
			pt_addr_str(&v->addr, addr, sizeof(addr)), v->output ? "output" : "input",
			v->vrid, v->master ? "MASTER" : "BACKUP", v->priority, v->advert_int,
			v->auth_pass ? ", auth PASS" : "");
		for (size_t k = 0; k < v->n_peers; k++)
			fprintf(f, "%s%s", k ? ", " : " ", v->peers[k]);
		fprintf(f, "%s\n", v->n_peers ? "" : " none");
	}
	if (p->sync) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		fprintf(f, "flow sync: %s:%u <-> %s %s:%u (MASTER sends)\n",
			pt_addr_str(&p->sync_self, a, sizeof(a)), PT_SYNC_PORT, p->sync_peer_host,
			pt_addr_str(&p->sync_peer, b, sizeof(b)), PT_SYNC_PORT);
	} else if (p->sync_none) {
		fprintf(f, "flow sync: none from the inventory: %s\n", p->sync_none);
	}
}
