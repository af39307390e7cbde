// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * bare.bpf.c - the yardstick for per-packet cost: an XDP program that only
 * swaps the Ethernet addresses and redirects through a devmap. make bench
 * prints portier's cost as a multiple of this one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define ETH_ALEN	6
#define BARE_MAX_IFACES	64

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Redirect target. Key __u32 ifindex, value __u32 the same ifindex;
 * written by the benchmark. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, BARE_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} bare_tx_ports SEC(".maps");

SEC("xdp")
int bare_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return bpf_redirect_map(&bare_tx_ports, ctx->ingress_ifindex, XDP_PASS);
}
