/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * nic_check.h - NIC properties XDP forwarding depends on, checked when the
 * daemon starts: a veth whose sending side (its peer) offloads TX checksums
 * hands XDP frames with partial checksums, which it cannot forward
 * correctly (docs/dataplane.md, "Partial checksums").
 *
 * Functions return 0 or -errno and print nothing.
 */
#ifndef PORTIER_NIC_CHECK_H
#define PORTIER_NIC_CHECK_H

#include <net/if.h>
#include <stddef.h>

enum pt_nic_csum_verdict {
	PT_NIC_NOT_VETH,	/* partial checksums come from virtual links only */
	PT_NIC_PEER_TX_OFF,	/* a veth whose peer, here, sends whole checksums */
	PT_NIC_PEER_TX_ON,	/* a veth whose peer, here, offloads: warn */
	PT_NIC_PEER_ELSEWHERE,	/* a veth whose peer is in another network
				 * namespace: it may offload, warn */
};

/* What pt_nic_csum_check found. */
struct pt_nic_csum {
	enum pt_nic_csum_verdict verdict;
	int peer_ifindex;		/* veth: in the peer's namespace */
	char peer[IF_NAMESIZE];		/* PEER_TX_*: its name, here */
};

/* Check the NIC named ifname in this network namespace (ethtool ioctls,
 * and rtnetlink for the peer and its namespace). */
int pt_nic_csum_check(const char *ifname, struct pt_nic_csum *out);

/* The warning for c, naming the NIC by option (--input) and name, written
 * into buf; NULL if there is nothing to say. */
const char *pt_nic_csum_warning(const char *option, const char *ifname,
				const struct pt_nic_csum *c, char *buf, size_t len);

#endif
