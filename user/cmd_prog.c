// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_prog.c - "portier prog": the loaded program and its pins.
 *
 *   portier prog show     program id and tag, the interfaces it is attached
 *                         to and in which XDP mode, the pin directory, the
 *                         daemon, and how full the maps are
 *   portier prog detach   detach both links and remove every pin: the data
 *                         plane stops and every flow is lost. Refused while
 *                         a daemon runs on the pin directory (stop it: its
 *                         clean stop detaches too).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/if_link.h>

#include "cli.h"
#include "cli_dp.h"
#include "ct_table.h"
#include "dataplane.h"
#include "util.h"
#include "vrrp.h"

#define TAG_HEX		(2 * BPF_TAG_SIZE + 1)

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s prog show\n"
		"       %1$s prog detach\n"
		"       %1$s prog help\n"
		"\n"
		"  show    program id and tag, interfaces and XDP mode, pin directory,\n"
		"          daemon pid, map fill levels\n"
		"  detach  detach from both interfaces and remove every pin (every flow\n"
		"          is lost); refused while a daemon runs on the pin directory\n",
		pt_g.prog);
	return 0;
}

static const char *xdp_mode(int ifindex, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return "unknown";
	if (q.attach_mode == XDP_ATTACHED_DRV || (q.attach_mode == XDP_ATTACHED_MULTI &&
						  q.drv_prog_id == prog_id))
		return "native";
	if (q.attach_mode == XDP_ATTACHED_SKB || (q.attach_mode == XDP_ATTACHED_MULTI &&
						  q.skb_prog_id == prog_id))
		return "generic";
	if (q.attach_mode == XDP_ATTACHED_HW)
		return "offload";
	return "unknown";
}

/* One pinned link: {"link", "ifindex", "interface", "mode", "prog_id",
 * "tag", "name"}; NULL if not pinned. */
static json_t *link_json(const char *name)
{
	char *path = xasprintf("%s/%s", cli_pin_dir(), name);
	struct bpf_link_info li = {};
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(li);
	char ifname[IF_NAMESIZE] = "", tag[TAG_HEX] = "";
	int fd = bpf_obj_get(path), pfd;
	json_t *o = NULL;

	free(path);
	if (fd < 0)
		return NULL;
	if (!bpf_obj_get_info_by_fd(fd, &li, &len)) {
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
		len = sizeof(pi);
		if (pfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &pi, &len))
			for (int i = 0; i < BPF_TAG_SIZE; i++)
				snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
		if (pfd >= 0)
			close(pfd);
		if (!if_indextoname(li.xdp.ifindex, ifname))
			snprintf(ifname, sizeof(ifname), "?");
		o = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:s}", "link", name,
			      "ifindex", (int)li.xdp.ifindex, "interface", ifname,
			      "mode", xdp_mode(li.xdp.ifindex, li.prog_id),
			      "prog_id", (int)li.prog_id, "tag", tag, "name", pi.name);
	}
	close(fd);
	return o;
}

static __u32 count_keys(struct bpf_map *m)
{
	int fd = bpf_map__fd(m);
	size_t ksz = bpf_map__key_size(m);
	char *key = xcalloc(2, ksz), *next = key + ksz;
	void *prev = NULL;
	__u32 n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		n++;
	}
	free(key);
	return n;
}

static json_t *map_json_max(struct bpf_map *m, __u32 entries, __u32 max)
{
	return json_pack("{s:s, s:i, s:i}", "name", bpf_map__name(m), "entries", (int)entries,
			 "max_entries", (int)max);
}

static json_t *map_json(struct bpf_map *m, __u32 entries)
{
	return map_json_max(m, entries, bpf_map__max_entries(m));
}

static int do_show(int argc, char **argv)
{
	static const char *const links[] = { PT_DP_LINK_INPUT, PT_DP_LINK_OUTPUT };
	struct pt_dp_route_view *v;
	struct portier_state st;
	struct pt_dataplane *dp;
	struct portier *s;
	json_t *ls = json_array(), *maps = json_array(), *o, *it, *vrrp;
	size_t n, n_be = 0;
	bool running;

	if (cli_no_more(argc, argv, "prog show"))
		return 1;
	dp = cli_dp_open();
	if (!dp) {
		json_decref(ls);
		json_decref(maps);
		return 1;
	}
	s = pt_dp_skel(dp);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		o = link_json(links[i]);
		if (o)
			json_array_append_new(ls, o);
	}
	n = pt_dp_view(dp, &v);
	for (size_t i = 0; i < n; i++)
		n_be += v[i].n_be;
	pt_dp_view_free(v, n);
	json_array_append_new(maps, map_json(s->maps.portier_services,
					     count_keys(s->maps.portier_services)));
	json_array_append_new(maps, map_json(s->maps.portier_routes,
					     count_keys(s->maps.portier_routes)));
	json_array_append_new(maps, map_json(s->maps.portier_backends, n_be));
	json_array_append_new(maps, map_json(s->maps.portier_local,
					     count_keys(s->maps.portier_local)));
	/* The connection table: entries and capacity, not buckets. */
	json_array_append_new(maps, map_json_max(s->maps.portier_conntrack,
						 (__u32)pt_ct_count(pt_dp_ct(dp)),
						 pt_ct_capacity(pt_dp_ct(dp))));
	json_array_append_new(maps, map_json(s->maps.portier_local6,
					     count_keys(s->maps.portier_local6)));
	json_array_append_new(maps, map_json_max(s->maps.portier_conntrack6,
						 (__u32)pt_ct_count(pt_dp_ct6(dp)),
						 pt_ct_capacity(pt_dp_ct6(dp))));
	pt_dp_state(dp, &st);
	running = pt_dp_daemon_running(cli_pin_dir());
	vrrp = pt_vrrp_json(bpf_map__fd(s->maps.portier_vrrp));
	pt_dp_close(dp);
	o = json_pack("{s:s, s:b, s:i, s:I, s:i, s:o, s:o, s:o}", "pin_dir", cli_pin_dir(),
		      "daemon_running", running, "daemon_pid", running ? (int)st.daemon_pid : 0,
		      "generation", (json_int_t)st.generation, "reloads", (int)st.reloads,
		      "links", ls, "maps", maps, "vrrp", vrrp);
	if (pt_g.json)
		return pt_json_print(o);
	printf("pin directory %s\n", cli_pin_dir());
	if (running)
		printf("daemon pid %u, %u reloads\n", st.daemon_pid, st.reloads);
	else
		printf("no daemon running (the data plane forwards on its own)\n");
	pt_vrrp_print(vrrp, "");
	json_array_foreach(ls, n, it) {
		json_t *l = it;

		printf("%s: %s (ifindex %lld) %s, prog id %lld tag %s name %s\n",
		       json_string_value(json_object_get(l, "link")),
		       json_string_value(json_object_get(l, "interface")),
		       json_integer_value(json_object_get(l, "ifindex")),
		       json_string_value(json_object_get(l, "mode")),
		       json_integer_value(json_object_get(l, "prog_id")),
		       json_string_value(json_object_get(l, "tag")),
		       json_string_value(json_object_get(l, "name")));
	}
	json_array_foreach(maps, n, it) {
		json_t *m = it;

		printf("map %-20s %8lld / %lld\n", json_string_value(json_object_get(m, "name")),
		       json_integer_value(json_object_get(m, "entries")),
		       json_integer_value(json_object_get(m, "max_entries")));
	}
	json_decref(o);
	return 0;
}

static int do_detach(int argc, char **argv)
{
	struct pt_dataplane *dp;
	int ret = 0;

	if (cli_no_more(argc, argv, "prog detach"))
		return 1;
	if (pt_dp_daemon_running(cli_pin_dir())) {
		p_err("a portier daemon runs on %s; stop it instead (SIGTERM detaches and "
		      "unpins, unless it runs with --keep: then stop it and detach)",
		      cli_pin_dir());
		return 1;
	}
	dp = cli_dp_open();
	if (!dp)
		return 1;
	if (pt_dp_detach(dp)) {
		p_err("prog detach: %s", pt_dp_last_error(dp));
		ret = 1;
	} else if (pt_g.json) {
		ret = pt_json_print(json_pack("{s:s}", "detached", cli_pin_dir()));
	}
	pt_dp_close(dp);
	return ret;
}

static const struct pt_cmd cmds[] = {
	{ "show", do_show },
	{ "list", do_show },
	{ "detach", do_detach },
	{ "help", do_help },
	{ 0 }
};

int do_prog(int argc, char **argv)
{
	return pt_cmd_select("prog", cmds, argc, argv, do_help);
}
