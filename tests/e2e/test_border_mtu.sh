# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_border_mtu.sh - path MTU and ICMP at the border (issue 14, item 4):
# with a 1400-byte link on one side of the gateway and 1500-byte ends, a
# 2 MB transfer each way through a route completes (the gateway sends ICMP
# fragmentation needed, PMTU discovery does the rest), snat and dnat; a
# UDP route to a closed backend port gives the client ECONNREFUSED (the
# backend's port unreachable, translated). Each test_* runs in its own
# topology (run.sh): the gateway, the client, one node (node-2) with the
# bulk server on the first seed port and nothing on the UDP port.

BULK=$E2E_DIR/bulk
BULK_BYTES=2097152	# 2 MB each way
SMALL_MTU=1400
# What a 1500-byte host advertises: a host behind the small link that says
# so makes its peer send 1500-byte packets, which the gateway must answer
# with fragmentation needed.
ADV_MSS=1460

# mtu_up NAT: the topology, the bulk server on node-2, the daemon.
mtu_up() {
	topo_up 2
	inv_write "$E2E_TMP/inv" kube_gateway_pool kube_nodes "    kube_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
    kube_nodes:
      hosts:
        node-2: {ansible_host: $GW_NET.2}" udp
	ip netns exec "${NS_NODES[0]}" "$BULK" serve "${SEED_PORTS[0]}" \
		>"$E2E_TMP/bulk.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "bulk server" grep -qs ready "$E2E_TMP/bulk.out"
	daemon_start "$E2E_TMP/inv" --nat "$1"
}

# set_mtu NS MTU DEV...: the MTU of devices in a namespace.
set_mtu() {
	local n=$1 m=$2 d
	shift 2
	for d in "$@"; do
		ns "$n" ip link set "$d" mtu "$m" || return 1
	done
}

# adv_mss NS DEV MSS|none: every IPv4 route of NS through DEV advertises
# MSS (none: the device's own).
adv_mss() {
	local n=$1 dev=$2 mss=$3 r
	ns "$n" ip -4 route show dev "$dev" | while read -r r; do
		r=${r% advmss *}
		# shellcheck disable=SC2086 # a route is words
		if [ "$mss" = none ]; then
			ns "$n" ip route replace $r dev "$dev" || exit 1
		else
			ns "$n" ip route replace $r dev "$dev" advmss "$mss" || exit 1
		fi
	done
}

# out_small / in_small: the 1400-byte link on the output (backend) side or
# the input (client) side, the other side at 1500; the host behind the
# small link advertises a 1500-byte MSS.
out_small() {
	set_mtu "$NS_CLIENT" 1500 c0 && set_mtu "$NS_GW" 1500 in0 &&
		adv_mss "$NS_CLIENT" c0 none &&
		set_mtu "$NS_GW" "$SMALL_MTU" out0 && set_mtu "$NS_BR" "$SMALL_MTU" bgw b2 &&
		set_mtu "${NS_NODES[0]}" "$SMALL_MTU" eth0 && adv_mss "${NS_NODES[0]}" eth0 "$ADV_MSS"
}

in_small() {
	set_mtu "$NS_GW" 1500 out0 && set_mtu "$NS_BR" 1500 bgw b2 &&
		set_mtu "${NS_NODES[0]}" 1500 eth0 && adv_mss "${NS_NODES[0]}" eth0 none &&
		set_mtu "$NS_CLIENT" "$SMALL_MTU" c0 && set_mtu "$NS_GW" "$SMALL_MTU" in0 &&
		adv_mss "$NS_CLIENT" c0 "$ADV_MSS"
}

# reason_count NAME: packets of reason NAME (portier stats show -j).
reason_count() {
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show |
		jq -e --arg r "$1" '[.reasons[] | select(.reason == $r) | .packets] | add // 0'
}

# bulk_each_way: BULK_BYTES up and down through the first seed route.
bulk_each_way() {
	local kind out
	for kind in put get; do
		out=$(ns "$NS_CLIENT" timeout 120 "$BULK" "$kind" "$GW_IN_ADDR" "${SEED_PORTS[0]}" \
			"$BULK_BYTES" 10) || { e2e_log "$kind: $out"; return 1; }
		e2e_log "$kind $BULK_BYTES: $out"
	done
}

# frag_needed_grew BEFORE: the fragmentation-needed counter is above BEFORE.
frag_needed_grew() {
	local n
	n=$(reason_count icmp_frag_needed_sent)
	e2e_log "icmp_frag_needed_sent: $n (was $1)"
	[ "$n" -gt "$1" ]
}

# mtu_both_sides NAT: the small link on the output side (the client's
# packets are too big: fragmentation needed to the client, from the
# service address), then on the input side (the backend's: to the backend,
# from the gateway's output address).
mtu_both_sides() {
	local n0
	mtu_up "$1"
	out_small
	n0=$(reason_count icmp_frag_needed_sent)
	bulk_each_way
	frag_needed_grew "$n0"
	in_small
	n0=$(reason_count icmp_frag_needed_sent)
	bulk_each_way
	frag_needed_grew "$n0"
}

test_mtu_snat() {
	mtu_both_sides snat
}

test_mtu_dnat() {
	mtu_both_sides dnat
}

# udp_refused NAT: nothing listens on node-2's UDP port; the client's
# connected socket hears of it.
udp_refused() {
	local out n
	mtu_up "$1"
	out=$(ns "$NS_CLIENT" timeout 30 "$BULK" udp-refused "$GW_IN_ADDR" "$UDP_PORT" 5) || {
		e2e_log "udp $UDP_PORT: $out"
		return 1
	}
	n=$(reason_count icmp_translated)
	e2e_log "udp $UDP_PORT: $out; icmp_translated: $n"
	[ "$n" -gt 0 ]
}

test_udp_closed_port_snat() {
	udp_refused snat
}

test_udp_closed_port_dnat() {
	udp_refused dnat
}
