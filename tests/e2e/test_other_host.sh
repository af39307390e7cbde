# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_other_host.sh - a frame for another host is never balanced (issue
# 16, item 5): a SYN to a service port, flooded to the gateway's input
# NIC with another host's destination MAC (as a bridge floods a frame
# whose MAC it has aged out), passes untouched (the kernel drops it as
# PACKET_OTHERHOST) and is counted; no node sees a connection. The same
# SYN to the NIC's own MAC is balanced.

# send_syn DMAC SPORT: one SYN from the client namespace to arogcd's port
# with destination MAC DMAC (scapy, raw frames out of c0).
send_syn() {
	ns "$NS_CLIENT" /usr/bin/python3 - "$1" "$2" "$GW_IN_ADDR" "${SEED_PORTS[0]}" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, sendp
dmac, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sendp(Ether(dst=dmac) / IP(dst=dst) / TCP(sport=sport, dport=dport, flags="S", seq=1000),
      iface="c0", verbose=False)
PY
}

other_host_count() {
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show |
		jq -r '[.reasons[] | select(.reason == "other_host") | .packets] | add // 0'
}

test_frame_for_another_host_not_balanced() {
	local before sport=45001
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv" --nat snat
	before=$(other_host_count)
	send_syn 02:00:00:00:00:99 "$sport"
	wait_for "the other-host frame counted" \
		test "$(other_host_count)" -gt "$before" || return 1
	# No flow was made for it, and no server saw it.
	if ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j conntrack show |
		jq -e ".[] | select(.client == \"$CLIENT_ADDR:$sport\")" >/dev/null 2>&1; then
		e2e_log "a flow was made for a frame to another host"; return 1
	fi
	# The same SYN to the NIC's MAC: balanced (a flow appears).
	send_syn "$(ns "$NS_GW" cat /sys/class/net/in0/address)" $((sport + 1))
	wait_for "the SYN to this NIC balanced" sh -c "ip netns exec $NS_GW $PORTIER \
		--bpffs $PIN_DIR -j conntrack show | grep -q '$CLIENT_ADDR:$((sport + 1))'"
}
