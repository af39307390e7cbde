// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* cli_dp.c - the CLI's shared access to the pinned data plane (cli_dp.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "cli_dp.h"
#include "dataplane_int.h"
#include "metrics_collect.h"
#include "util.h"

const char *cli_pin_dir(void)
{
	return pt_g.bpffs ? pt_g.bpffs : PORTIER_PIN_DIR_DEFAULT;
}

struct pt_dataplane *cli_dp_open(void)
{
	struct pt_dataplane *dp;

	if (pt_dp_open_pinned(cli_pin_dir(), &dp)) {
		p_err("%s", pt_dp_last_error(NULL));
		return NULL;
	}
	return dp;
}

bool cli_is_help(int argc, char **argv)
{
	return argc >= 1 && (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") ||
			     !strcmp(argv[0], "--help"));
}

int cli_no_more(int argc, char **argv, const char *cmd)
{
	if (argc <= 0)
		return 0;
	p_err("%s: unexpected argument '%s'; try '%s %s help'", cmd, argv[0], pt_g.prog,
	      cmd);
	return 1;
}

int cli_stats_sum(struct bpf_map *m, __u32 id, struct portier_stats *out)
{
	return pt_stats_sum(m, id, out);
}

json_t *cli_dir_json(const __u64 v[2])
{
	return json_pack("{s:I, s:I}", "in", (json_int_t)v[PORTIER_FLOW_DIR_ORIG], "out",
			 (json_int_t)v[PORTIER_FLOW_DIR_REPLY]);
}

int cli_parse_addr_port(const char *cmd, const char *what, const char *s, struct pt_addr *addr,
			uint16_t *port)
{
	char why[PT_ADDRPORT_ERR_LEN];

	if (!pt_addrport_parse(s, false, addr, port, why, sizeof(why)))
		return 0;
	p_err("%s: %s %s", cmd, what, why);
	return 1;
}

const char *cli_addr_port(const struct pt_addr *a, uint16_t port, char *buf, size_t len)
{
	return pt_addrport_str(a, port, buf, len);
}

const char *cli_bpf_addr_port(const struct portier_addr *a, __u8 family, __be16 port, char *buf,
			      size_t len)
{
	struct pt_addr pa;

	addr_from_bpf(a, family, &pa);
	return pt_addrport_str(&pa, ntohs(port), buf, len);
}

const char *cli_state_name(unsigned int state)
{
	if (state & PT_DP_BE_DRAINED)
		return "drained";
	if (state & PT_DP_BE_DOWN)
		return "down";
	return "up";
}

const char *cli_origin_name(__u8 origin)
{
	return origin == PORTIER_ORIGIN_RUNTIME ? "runtime" : "inventory";
}

const char *cli_listen_addr(const struct portier_svc_key *k, char *buf, size_t len)
{
	struct portier_addr zero = {};

	struct pt_addr a;

	if (!memcmp(&k->addr, &zero, sizeof(zero))) {
		snprintf(buf, len, "*");
		return buf;
	}
	addr_from_bpf(&k->addr, k->family, &a);
	return pt_addr_str(&a, buf, len);
}

const char *cli_listen_addrport(const struct portier_svc_key *k, char *buf, size_t len)
{
	struct portier_addr zero = {};

	if (memcmp(&k->addr, &zero, sizeof(zero)))
		return cli_bpf_addr_port(&k->addr, k->family, k->port, buf, len);
	snprintf(buf, len, k->family == PORTIER_AF_INET6 ? "[*]:%u" : "*:%u", ntohs(k->port));
	return buf;
}
