// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * lossy.bpf.c - a tc classifier for tests/e2e/test_flowsync.sh: drops
 * LOSSY_PCT % of the IPv4 UDP datagrams to or from port LOSSY_PORT (the
 * flow sync's), at random, and passes everything else. The kernel here
 * has no sch_netem; this is the sync link's loss.
 *
 *   tc qdisc add dev DEV clsact
 *   tc filter add dev DEV egress bpf direct-action obj lossy.bpf.o sec tc
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define LOSSY_PORT	7799	/* the test's --sync-peer / --sync-listen port */
#define LOSSY_PCT	25
#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define IPPROTO_UDP_	17

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int lossy(struct __sk_buff *skb)
{
	struct iphdr ip;
	__be16 ports[2];

	if (skb->protocol != bpf_htons(ETH_P_IP) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP_ ||
	    bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, ports, sizeof(ports)))
		return TC_ACT_OK;
	if (ports[0] != bpf_htons(LOSSY_PORT) && ports[1] != bpf_htons(LOSSY_PORT))
		return TC_ACT_OK;
	return bpf_get_prandom_u32() % 100 < LOSSY_PCT ? TC_ACT_SHOT : TC_ACT_OK;
}
