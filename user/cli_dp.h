/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * cli_dp.h - what the CLI objects on the pinned maps share (route, backend,
 * stats, conntrack, prog, reload): opening the pin directory of --bpffs,
 * summing per-CPU counters, ADDR:PORT parsing, backend state names, help
 * detection. Errors are printed here once (p_err), at the command boundary.
 */
#ifndef PORTIER_CLI_DP_H
#define PORTIER_CLI_DP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "dataplane.h"
#include "portier.skel.h"
#include "portier.h"
#include "routes.h"

/* "255.255.255.255:65535" or "[IPv6]:65535". */
#define CLI_ADDRPORT_BUF	PT_ADDRPORT_STRLEN

/* The pin directory: --bpffs DIR or PORTIER_PIN_DIR_DEFAULT. */
const char *cli_pin_dir(void);
/* Open the pinned data plane; NULL after printing the error. */
struct pt_dataplane *cli_dp_open(void);

/* argv[0] asks for help ("help", "-h", "--help"). */
bool cli_is_help(int argc, char **argv);
/* Refuse arguments beyond what a command takes; 1 after an error. */
int cli_no_more(int argc, char **argv, const char *cmd);

/* Sum slot id of a per-CPU map of struct portier_stats. */
int cli_stats_sum(struct bpf_map *m, __u32 id, struct portier_stats *out);
/* {"in": N, "out": N} of a pair indexed by PORTIER_FLOW_DIR_*. */
json_t *cli_dir_json(const __u64 v[2]);

/* ADDR:PORT or [IPv6ADDR]:PORT (pt_addrport_parse) of argument what
 * ("backend") into addr and port; 0, or 1 after printing "cmd: what ..."
 * and why. */
int cli_parse_addr_port(const char *cmd, const char *what, const char *s, struct pt_addr *addr,
			uint16_t *port);
const char *cli_addr_port(const struct pt_addr *a, uint16_t port, char *buf, size_t len);
/* The same from a map slot: address of family (PORTIER_AF_*), port in
 * network byte order. */
const char *cli_bpf_addr_port(const struct portier_addr *a, __u8 family, __be16 port, char *buf,
			      size_t len);

/* "up", "drained" or "down" (drained wins: it is the operator's word). */
const char *cli_state_name(unsigned int state);
/* "inventory" or "runtime". */
const char *cli_origin_name(__u8 origin);
/* "*" or the route's listen address (IPv6 unbracketed: the port is
 * printed apart). */
const char *cli_listen_addr(const struct portier_svc_key *k, char *buf, size_t len);
/* The same with the port: "203.0.113.1:80", "[2001:db8::1]:80", "*:80",
 * or "[*]:80" for a wildcard IPv6 route. buf: CLI_ADDRPORT_BUF. */
const char *cli_listen_addrport(const struct portier_svc_key *k, char *buf, size_t len);

#endif
