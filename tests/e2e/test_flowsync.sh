# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_flowsync.sh - flow sync between two gateways (issue 17, item 4):
# gateway A (MASTER) and gateway B (BACKUP) each run portier with the same
# inventory (a snat route to one node), linked by a sync link of their
# own; the "VIPs" (the client's gateway address on the input side, A's
# SNAT source on the output side) are addresses moved by hand. 100
# long-lived TCP connections through A; then A's links go down, its
# daemon is killed, the addresses move to B (with the neighbours of the
# client and the node told), B is made MASTER (portier vrrp notify, as
# keepalived's hook does): the connections must still
# echo through B. The sync link loses 25 % of its datagrams each way (a tc
# classifier, tests/e2e/lossy.bpf.o: no netem here), so the sync has to
# recover. Without sync, the same failover cuts the connections (printed).
#
#   client ns  c0 198.51.100.2 --+                 +-- eth0 203.0.113.2 node ns
#                                |  brin     brout |     (server node-2)
#   gw A  in0 198.51.100.1 (VIP)-+                 +- out0 203.0.113.1 (VIP)  gw A
#             198.51.100.4 (own) |                 |       203.0.113.4 (own)
#   gw B  in0 198.51.100.3 ------+                 +- out0 203.0.113.5        gw B
#   gw A sync0 192.0.2.1/30 ------- sync link ------- sync0 192.0.2.2/30 gw B

FS_PORT=7799		# the sync port (lossy.bpf.c drops on it)
FS_CONNS=100
FS_METRICS_A=9391
FS_METRICS_B=9392
FS_IN_VIP=$BOX_NET.1
FS_OUT_VIP=$GW_NET.1
FS_A_IN=$BOX_NET.4	# A's own addresses, after its VIPs (which come first)
FS_A_OUT=$GW_NET.4
FS_B_IN=$BOX_NET.3
FS_B_OUT=$GW_NET.5
FS_NODE=$GW_NET.2
FS_LOSSY=$(dirname "$PORTIER")/tests/lossy.bpf.o

# fs_topo: the namespaces above. NS_GW is A, NS_BR the client-side
# bridge; B, the output bridge and the node are in NS_NODES (cleaned up
# by e2e_cleanup).
fs_topo() {
	NS_GWB=ptgb-$E2E_ID
	NS_BRO=ptbo-$E2E_ID
	NS_NODE=ptn2-$E2E_ID
	for n in "$NS_CLIENT" "$NS_GW" "$NS_BR"; do
		ip netns add "$n" || return 1
		ns "$n" ip link set lo up
	done
	for n in "$NS_GWB" "$NS_BRO" "$NS_NODE"; do
		ip netns add "$n" || return 1
		NS_NODES+=("$n")
		ns "$n" ip link set lo up
	done
	for br in "$NS_BR" "$NS_BRO"; do
		ns "$br" ip link add br0 type bridge
		ns "$br" ip link set br0 up
	done
	veth_pair "$NS_CLIENT" c0 "$NS_BR" bc || return 1
	veth_pair "$NS_GW" in0 "$NS_BR" bia || return 1
	veth_pair "$NS_GWB" in0 "$NS_BR" bib || return 1
	veth_pair "$NS_GW" out0 "$NS_BRO" boa || return 1
	veth_pair "$NS_GWB" out0 "$NS_BRO" bob || return 1
	veth_pair "$NS_NODE" eth0 "$NS_BRO" bn || return 1
	veth_pair "$NS_GW" sync0 "$NS_GWB" sync0 || return 1
	for p in bc bia bib; do ns "$NS_BR" ip link set "$p" master br0; done
	for p in boa bob bn; do ns "$NS_BRO" ip link set "$p" master br0; done
	ns "$NS_CLIENT" ip addr add "$CLIENT_ADDR/24" dev c0
	ns "$NS_CLIENT" ip route add default via "$FS_IN_VIP"
	# A VIP leaves its gateway's own address of the subnet in place.
	for n in "$NS_GW" "$NS_GWB"; do
		for d in in0 out0; do
			ns "$n" sysctl -qw "net.ipv4.conf.$d.promote_secondaries=1"
		done
	done
	ns "$NS_GW" ip addr add "$FS_IN_VIP/24" dev in0
	ns "$NS_GW" ip addr add "$FS_OUT_VIP/24" dev out0
	ns "$NS_GW" ip addr add "$FS_A_IN/24" dev in0
	ns "$NS_GW" ip addr add "$FS_A_OUT/24" dev out0
	ns "$NS_GWB" ip addr add "$FS_B_IN/24" dev in0
	ns "$NS_GWB" ip addr add "$FS_B_OUT/24" dev out0
	ns "$NS_GW" ip addr add 192.0.2.1/30 dev sync0
	ns "$NS_GWB" ip addr add 192.0.2.2/30 dev sync0
	ns "$NS_NODE" ip addr add "$FS_NODE/24" dev eth0
	server_start "$NS_NODE" node-2
}

# fs_lossy NS: the sync link of NS loses LOSSY_PCT % of sync datagrams.
fs_lossy() {
	ns "$1" tc qdisc add dev sync0 clsact &&
		ns "$1" tc filter add dev sync0 egress bpf direct-action obj "$FS_LOSSY" sec tc
}

# fs_daemon NS HOST PIN METRICS LOG [OPTIONS...]: a daemon in NS, its pid
# in FS_PID, waited for until it runs.
fs_daemon() {
	local n=$1 host=$2 pin=$3 metrics=$4 log=$5 i
	shift 5
	ip netns exec "$n" "$PORTIER" daemon -i "$E2E_TMP/inv" --host "$host" --input in0 \
		--output out0 --bpffs "$pin" --metrics "127.0.0.1:$metrics" "$@" >>"$log" 2>&1 &
	FS_PID=$!
	E2E_PIDS+=($FS_PID)
	for ((i = 0; i < WAIT_STEPS; i++)); do
		grep -qs 'running:' "$log" && return 0
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.1
	done
	e2e_log "the daemon in $n did not start; its log:"
	cat "$log" >&2
	return 1
}

# fs_metric NS PORT SERIES: a series' value from a daemon's metrics.
fs_metric() {
	ns "$1" curl -s -m 3 "http://127.0.0.1:$2/metrics" | awk -v m="$3" '$1 == m { print $2 }'
}

# fs_flows NS PIN: flows in the connection table.
fs_flows() {
	ns "$1" "$PORTIER" -j conntrack count --bpffs "$2" | jq -r .count
}

# fs_debug: both daemons' logs and sync metrics, on a failure.
fs_debug() {
	e2e_log "gateway A's log:"
	tail -30 "${FS_LOG_A2:-$FS_LOG_A}" >&2
	e2e_log "gateway B's log:"
	tail -30 "$FS_LOG_B" >&2
	ns "$NS_GWB" curl -s -m 3 "http://127.0.0.1:$FS_METRICS_B/metrics" | grep flowsync >&2
	ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$FS_METRICS_A/metrics" | grep flowsync >&2
}

# fs_up SYNC(1|0): topology, inventory, both daemons (with or without sync).
fs_up() {
	local sa=() sb=()
	fs_topo
	inv_write "$E2E_TMP/inv" nat_gateway_pool kube_nodes "    nat_gateway_pool:
      hosts:
        gateway-4: {ansible_host: $FS_OUT_VIP}
        gateway-5: {ansible_host: $FS_B_OUT}
    kube_nodes:
      hosts:
        node-2: {ansible_host: $FS_NODE}"
	if [ "$1" = 1 ]; then
		fs_lossy "$NS_GW"
		fs_lossy "$NS_GWB"
		sa=(--sync-peer "192.0.2.2:$FS_PORT" --sync-listen "192.0.2.1:$FS_PORT"
			--sync-role master)
		sb=(--sync-peer "192.0.2.1:$FS_PORT" --sync-listen "192.0.2.2:$FS_PORT"
			--sync-role backup)
	fi
	FS_LOG_A=$E2E_TMP/daemon-a.log
	FS_LOG_B=$E2E_TMP/daemon-b.log
	fs_daemon "$NS_GW" gateway-4 "$E2E_TMP/bpffs/a" "$FS_METRICS_A" "$FS_LOG_A" --nat snat \
		"${sa[@]}"
	FS_PID_A=$FS_PID
	fs_daemon "$NS_GWB" gateway-5 "$E2E_TMP/bpffs/b" "$FS_METRICS_B" "$FS_LOG_B" --nat snat \
		"${sb[@]}"
	FS_PID_B=$FS_PID
}

# fs_hold GO...: FS_CONNS connections from the client, held until GO
# exists (then again until each further GO); waits until they are all held.
fs_hold() {
	local held
	ip netns exec "$NS_CLIENT" timeout 200 "$E2E_DIR/holdconns" "$FS_IN_VIP" \
		"${SEED_PORTS[0]}" "$FS_CONNS" 20 10 90 "$@" >"$E2E_TMP/hold.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "the held connections" grep -qs '^held' "$E2E_TMP/hold.out"
	read -r _ held _ _ < <(grep '^held' "$E2E_TMP/hold.out")
	e2e_log "$held of $FS_CONNS connections held through gateway A"
	[ "$held" -eq "$FS_CONNS" ]
}

# fs_notify NS DIR ROLE: what keepalived's notify script does (the
# rendered configuration's): the VRRP role into the daemon's portier_vrrp,
# and SIGUSR1; the flow sync's role follows it.
fs_notify() {
	ns "$1" "$PORTIER" --bpffs "$E2E_TMP/bpffs/$2" vrrp notify "$3" 1 100 >/dev/null
}

# fs_failover: A down (links, daemon), its addresses on B, the neighbours
# of the client and the node pointed at B (the gratuitous ARP keepalived
# sends), B made MASTER.
fs_failover() {
	local mac_in mac_out
	kill -KILL "$FS_PID_A"
	{ wait "$FS_PID_A"; } 2>/dev/null || true
	for d in in0 out0 sync0; do ns "$NS_GW" ip link set "$d" down; done
	ns "$NS_GW" ip addr del "$FS_IN_VIP/24" dev in0
	ns "$NS_GW" ip addr del "$FS_OUT_VIP/24" dev out0
	ns "$NS_GWB" ip addr add "$FS_IN_VIP/24" dev in0
	ns "$NS_GWB" ip addr add "$FS_OUT_VIP/24" dev out0
	mac_in=$(ns "$NS_GWB" cat /sys/class/net/in0/address)
	mac_out=$(ns "$NS_GWB" cat /sys/class/net/out0/address)
	ns "$NS_CLIENT" ip neigh replace "$FS_IN_VIP" lladdr "$mac_in" dev c0
	ns "$NS_NODE" ip neigh replace "$FS_OUT_VIP" lladdr "$mac_out" dev eth0
	fs_notify "$NS_GWB" b master
}

# fs_echoed GO ROUND: let the held connections speak (round ROUND, from
# 1); prints how many answered.
fs_echoed() {
	local n
	touch "$1"
	wait_for "the answers" fs_rounds "$2"
	read -r _ n _ _ < <(grep '^echoed' "$E2E_TMP/hold.out" | sed -n "$2p")
	echo "$n"
}

# fs_rounds N: holdconns has printed N rounds of answers.
fs_rounds() {
	[ "$(grep -c '^echoed' "$E2E_TMP/hold.out")" -ge "$1" ]
}

# fs_failback: A comes back as from a reboot (its old data plane gone, a
# fresh table), as BACKUP; its table is resynchronised from B, the MASTER;
# then the addresses move back to A, which becomes MASTER, and B BACKUP.
fs_failback() {
	local mac_in mac_out
	ns "$NS_GW" "$PORTIER" prog detach --bpffs "$E2E_TMP/bpffs/a" >/dev/null
	for d in in0 out0 sync0; do ns "$NS_GW" ip link set "$d" up; done
	FS_LOG_A2=$E2E_TMP/daemon-a2.log
	fs_daemon "$NS_GW" gateway-4 "$E2E_TMP/bpffs/a" "$FS_METRICS_A" "$FS_LOG_A2" --nat snat \
		--sync-peer "192.0.2.2:$FS_PORT" --sync-listen "192.0.2.1:$FS_PORT" --sync-role backup
	FS_PID_A=$FS_PID
	wait_for "A's table from B" fs_copies_a || { fs_debug; return 1; }
	e2e_log "A is back: $(fs_flows "$NS_GW" "$E2E_TMP/bpffs/a") flows resynchronised from B" \
		"(B: $(fs_metric "$NS_GWB" "$FS_METRICS_B" portier_flowsync_resyncs_total) resyncs;" \
		"A: $(fs_metric "$NS_GW" "$FS_METRICS_A" \
			'portier_flowsync_applied_total{result="inserted"}') inserted)"
	ns "$NS_GWB" ip addr del "$FS_IN_VIP/24" dev in0
	ns "$NS_GWB" ip addr del "$FS_OUT_VIP/24" dev out0
	ns "$NS_GW" ip addr add "$FS_IN_VIP/24" dev in0
	ns "$NS_GW" ip addr add "$FS_OUT_VIP/24" dev out0
	mac_in=$(ns "$NS_GW" cat /sys/class/net/in0/address)
	mac_out=$(ns "$NS_GW" cat /sys/class/net/out0/address)
	ns "$NS_CLIENT" ip neigh replace "$FS_IN_VIP" lladdr "$mac_in" dev c0
	ns "$NS_NODE" ip neigh replace "$FS_OUT_VIP" lladdr "$mac_out" dev eth0
	fs_notify "$NS_GWB" b backup
	fs_notify "$NS_GW" a master
}

# fs_copies_a: A holds every connection's flow.
fs_copies_a() {
	[ "$(fs_flows "$NS_GW" "$E2E_TMP/bpffs/a")" -ge "$FS_CONNS" ]
}

# fs_copies: B holds every connection's flow.
fs_copies() {
	[ "$(fs_flows "$NS_GWB" "$E2E_TMP/bpffs/b")" -ge "$FS_CONNS" ]
}

test_flowsync_failover() {
	local go=$E2E_TMP/go go2=$E2E_TMP/go2 n entries rtx
	[ -e "$FS_LOSSY" ] || { e2e_log "no $FS_LOSSY: run make tests"; return 1; }
	fs_up 1
	wait_for "the peers to meet" grep -qs 'the peer .* is up' "$FS_LOG_A"
	fs_hold "$go" "$go2"
	# Every flow reaches B, its ASSURED bit too, despite the lossy link.
	wait_for "B's copies" fs_copies || { fs_debug; return 1; }
	entries=$(fs_flows "$NS_GWB" "$E2E_TMP/bpffs/b")
	rtx=$(fs_metric "$NS_GW" "$FS_METRICS_A" portier_flowsync_retransmits_total)
	e2e_log "B holds $entries flows; A: $(fs_metric "$NS_GW" "$FS_METRICS_A" \
		'portier_flowsync_datagrams_total{direction="out"}') datagrams sent," \
		"$rtx retransmitted, $(fs_metric "$NS_GW" "$FS_METRICS_A" \
		portier_flowsync_acked_total) acked; B: $(fs_metric "$NS_GWB" "$FS_METRICS_B" \
		'portier_flowsync_applied_total{result="inserted"}') inserted," \
		"$(fs_metric "$NS_GWB" "$FS_METRICS_B" 'portier_flowsync_applied_total{result="flags"}') flags," \
		"$(fs_metric "$NS_GWB" "$FS_METRICS_B" portier_flowsync_nacks_total) nacks"
	[ "${rtx:-0}" -gt 0 ] || { e2e_log "a 25 % lossy link and no retransmit?"; return 1; }
	# Let the state bits settle (the handshakes' ACKs went after SYNs).
	sleep 1
	fs_failover
	n=$(fs_echoed "$go" 1)
	e2e_log "after the failover, $n of $FS_CONNS connections echoed through B"
	[ "$n" -ge $((FS_CONNS - 1)) ] || { fs_debug; return 1; }
	wait_for "B to be MASTER" grep -qs 'MASTER: sending' "$FS_LOG_B"
	[ "$(fs_metric "$NS_GWB" "$FS_METRICS_B" portier_flowsync_master)" = 1 ]
	# Gateway A comes back, is resynchronised from B, takes the VIPs back.
	fs_failback
	n=$(fs_echoed "$go2" 2)
	e2e_log "after the failback, $n of $FS_CONNS connections echoed through A"
	[ "$n" -ge $((FS_CONNS - 1)) ] || { fs_debug; return 1; }
}

# The same failover without sync: B has none of the flows, and the
# connections do not survive (printed, not a failure: what sync is for).
test_flowsync_off_loses_connections() {
	local go=$E2E_TMP/go n
	fs_up 0
	fs_hold "$go"
	fs_failover
	n=$(fs_echoed "$go" 1)
	e2e_log "WITHOUT flow sync: $n of $FS_CONNS connections echoed through B after the failover"
}
