// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * testnet.c - the private test network namespace (see testnet.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testnet.h"

const uint8_t tn_mac_in[6] = { 0x02, 0, 0, 0, 0x01, 0x01 };
const uint8_t tn_mac_out[6] = { 0x02, 0, 0, 0, 0x02, 0x01 };
const uint8_t tn_mac_client[6] = { 0x02, 0, 0, 0, 0x01, 0x0a };
const uint8_t tn_mac_be[TN_N_BE][6] = {
	{ 0x02, 0, 0, 0, 0x02, 0x0b },
	{ 0x02, 0, 0, 0, 0x02, 0x0c },
	{ 0x02, 0, 0, 0, 0x02, 0x0d },
};
const char *const tn_be_addr[TN_N_BE] = { "203.0.113.11", "203.0.113.12", "203.0.113.13" };
const char *const tn6_be_addr[TN_N_BE] = { "2001:db8:2::11", "2001:db8:2::12",
					       "2001:db8:2::13" };

int tn_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "testnet: '%s' failed (status %d)\n", cmd, rc);
	return rc;
}

const char *tn_mac_str(const uint8_t m[6], char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

uint32_t tn_ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return 0;
	return a.s_addr;
}

int tn_enter(const char *who)
{
	char m[18];
	int rc = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root (BPF, a network namespace); run as root\n", who);
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "%s: unshare(CLONE_NEWNET): %s\n", who, strerror(errno));
		return -1;
	}
	rc |= tn_sh("ip link set lo up");
	rc |= tn_sh("ip link add " TN_IF_IN " address %s type veth peer name " TN_IF_IN "p",
		    tn_mac_str(tn_mac_in, m));
	rc |= tn_sh("ip link add " TN_IF_OUT " address %s type veth peer name " TN_IF_OUT "p",
		    tn_mac_str(tn_mac_out, m));
	rc |= tn_sh("ip addr add " TN_GW_IN "/24 dev " TN_IF_IN);
	rc |= tn_sh("ip addr add " TN_GW_OUT "/24 dev " TN_IF_OUT);
	rc |= tn_sh("for d in " TN_IF_IN " " TN_IF_IN "p " TN_IF_OUT " " TN_IF_OUT "p; do "
		    "ip link set $d up || exit 1; done");
	rc |= tn_sh("ip neigh replace " TN_CLIENT " lladdr %s dev " TN_IF_IN " nud permanent",
		    tn_mac_str(tn_mac_client, m));
	for (int i = 0; i < TN_N_BE; i++)
		rc |= tn_sh("ip neigh replace %s lladdr %s dev " TN_IF_OUT " nud permanent",
			    tn_be_addr[i], tn_mac_str(tn_mac_be[i], m));
	rc |= tn_sh("sysctl -qw net.ipv4.ip_forward=1");
	/* IPv6: no DAD (the addresses usable at once), forwarding on. */
	rc |= tn_sh("sysctl -qw net.ipv6.conf.all.forwarding=1");
	rc |= tn_sh("ip -6 addr add " TN6_GW_IN "/64 dev " TN_IF_IN " nodad");
	rc |= tn_sh("ip -6 addr add " TN6_GW_OUT "/64 dev " TN_IF_OUT " nodad");
	rc |= tn_sh("ip -6 neigh replace " TN6_CLIENT " lladdr %s dev " TN_IF_IN " nud permanent",
		    tn_mac_str(tn_mac_client, m));
	for (int i = 0; i < TN_N_BE; i++)
		rc |= tn_sh("ip -6 neigh replace %s lladdr %s dev " TN_IF_OUT " nud permanent",
			    tn6_be_addr[i], tn_mac_str(tn_mac_be[i], m));
	if (rc) {
		fprintf(stderr, "%s: cannot set up the test network namespace (iproute2, "
			"procps installed?)\n", who);
		return -1;
	}
	return 0;
}
