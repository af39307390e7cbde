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

int cli_parse_addr_port(const char *s, struct pt_addr *addr, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *host, *end;
	unsigned long p;
	int err;

	if (!colon || colon == s || !colon[1])
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || !p || p > UINT16_MAX || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	host = xstrndup(s, colon - s);
	err = pt_addr_parse(host, addr);
	free(host);
	if (!err && addr->family != AF_INET)
		err = -EAFNOSUPPORT;
	*port = p;
	return err;
}

const char *cli_addr_port(const struct pt_addr *a, uint16_t port, char *buf, size_t len)
{
	return pt_addrport_str(a, port, buf, len);
}

const char *cli_bpf_addr_port(const __be32 *a, __be16 port, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, a, addr, sizeof(addr));
	snprintf(buf, len, "%s:%u", addr, ntohs(port));
	return buf;
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

	if (!memcmp(&k->addr, &zero, sizeof(zero)))
		snprintf(buf, len, "*");
	else
		inet_ntop(AF_INET, &k->addr.a32[0], buf, len);
	return buf;
}
