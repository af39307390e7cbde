# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_egress.sh - egress NAT end to end (issue 17, item 3): a box-network
# client namespace, one gateway running portier with the nat pool's egress
# rules, and an "internet" namespace (documentation addresses only) with
# real TCP and UDP servers and no route back to the box network. The
# servers see the egress address, never the client's; an excepted
# destination is refused and counted; ping works through the gateway; the
# gateway's own address still answers the box; stats show, conntrack show
# and the metrics show the rule.
#
#   client ns  c0 192.168.1.10/24 --- in0 192.168.1.4/24   gateway ns
#                                     out0 203.0.113.4/24, VIP 203.0.113.254
#   inet ns    eth0 203.0.113.1/24 ---+   (default route via 203.0.113.1)
#              lo 198.51.100.10, 198.51.100.20 (the servers)

EG_BOX=192.168.1
EG_CLIENT=$EG_BOX.10
EG_GW_IN=$EG_BOX.4
EG_GW_OUT=203.0.113.4
EG_VIP=203.0.113.254
EG_ROUTER=203.0.113.1
EG_SERVER=198.51.100.10
EG_EXCEPTED=198.51.100.20
EG_TCP=8080
EG_UDP=5353
EG_CLOSED=5399		# no server listens there
EG_METRICS=$EG_GW_IN:9101
EG_CONNS=20
PINGER=$E2E_DIR/pinger

# eg_topo: the three namespaces above; servers on both internet addresses.
eg_topo() {
	NS_INET=ptn-inet-$E2E_ID
	for n in "$NS_CLIENT" "$NS_GW" "$NS_INET"; do
		ip netns add "$n" || return 1
		ns "$n" ip link set lo up
	done
	NS_NODES+=("$NS_INET")	# deleted by e2e_cleanup
	veth_pair "$NS_CLIENT" c0 "$NS_GW" in0 || return 1
	veth_pair "$NS_GW" out0 "$NS_INET" eth0 || return 1
	ns "$NS_CLIENT" ip addr add "$EG_CLIENT/24" dev c0
	ns "$NS_CLIENT" ip route add default via "$EG_GW_IN"
	ns "$NS_GW" ip addr add "$EG_GW_IN/24" dev in0
	ns "$NS_GW" ip addr add "$EG_GW_OUT/24" dev out0
	ns "$NS_GW" ip addr add "$EG_VIP/32" dev out0
	ns "$NS_GW" ip route add default via "$EG_ROUTER"
	ns "$NS_INET" ip addr add "$EG_ROUTER/24" dev eth0
	ns "$NS_INET" ip addr add "$EG_SERVER/32" dev lo
	ns "$NS_INET" ip addr add "$EG_EXCEPTED/32" dev lo
	# Answers leave from the server's address (a UDP server bound to any
	# address answers from the route's source).
	ns "$NS_INET" ip route replace 203.0.113.0/24 dev eth0 src "$EG_SERVER"
	# No route to the box network: only translated packets are answered.
	ip netns exec "$NS_INET" "$SERVERS" inet "$E2E_TMP/server-inet.log" "tcp:$EG_TCP" \
		"udp:$EG_UDP" >"$E2E_TMP/server-inet.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "server inet" grep -qs ready "$E2E_TMP/server-inet.out"
}

# eg_inventory DIR: the nat pool with its egress rules, nothing else.
eg_inventory() {
	mkdir -p "$1/group_vars"
	cat >"$1/hosts.yml" <<EOF
all:
  children:
    nat_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $EG_GW_IN}
EOF
	cat >"$1/group_vars/nat_gateway_pool.yml" <<EOF
egress:
  snat_address: $EG_VIP
  rules:
    box:
      from: [$EG_BOX.0/24]
      to: [198.51.100.0/24]
      except: [$EG_EXCEPTED/32]
      log: true
EOF
}

eg_up() {
	eg_topo
	eg_inventory "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv" --metrics "$EG_METRICS"
}

# eg_stats: "portier stats show -j"'s egress object.
eg_stats() {
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show | jq -c .egress
}

# eg_peers PROTO PORT: the distinct peer addresses the server logged.
eg_peers() {
	awk -v p="$1" -v port="$2" '$1 == p && $2 == port { split($3, a, ":"); print a[1] }' \
		"$E2E_TMP/server-inet.log" | sort -u
}

test_egress_tcp_udp_ping() {
	local out peers st flows i n=0
	eg_up
	out=$(ns "$NS_CLIENT" timeout 120 "$CLIENT" tcp "$EG_SERVER" "$EG_TCP" "$EG_CONNS" 2)
	expect_out "tcp to $EG_SERVER" "$out" "inet $EG_CONNS"
	# Connection logs (the rule's log: true): a line per TCP connection,
	# the rule as its route, the server as its backend.
	for ((i = 0; i < 30; i++)); do
		n=$(grep -c " egress:box egress:box/$EG_SERVER:$EG_TCP .* proto=tcp end=" \
			"$DAEMON_LOG" || true)
		[ "$n" -ge "$EG_CONNS" ] && break
		sleep 0.1
	done
	[ "$n" -ge "$EG_CONNS" ] ||
		{ e2e_log "connection log lines: $n, want $EG_CONNS"; tail -5 "$DAEMON_LOG" >&2; return 1; }
	e2e_log "connection log: $(grep -m1 " egress:box " "$DAEMON_LOG")"
	out=$(ns "$NS_CLIENT" timeout 120 "$CLIENT" udp "$EG_SERVER" "$EG_UDP" 10 2)
	expect_out "udp to $EG_SERVER" "$out" "inet 10"
	# The servers saw the egress address only, never the client's.
	peers=$(eg_peers tcp "$EG_TCP")
	[ "$peers" = "$EG_VIP" ] || { e2e_log "tcp peers: [$peers], want $EG_VIP"; return 1; }
	peers=$(eg_peers udp "$EG_UDP")
	[ "$peers" = "$EG_VIP" ] || { e2e_log "udp peers: [$peers], want $EG_VIP"; return 1; }
	out=$(ns "$NS_CLIENT" "$PINGER" "$EG_SERVER" 3 4660 2) ||
		{ e2e_log "ping through the gateway: $out"; return 1; }
	# The gateway's own address answers the box as before (not egress).
	out=$(ns "$NS_CLIENT" "$PINGER" "$EG_GW_IN" 1 4661 2) ||
		{ e2e_log "ping to the gateway's own address: $out"; return 1; }

	st=$(eg_stats)
	e2e_log "stats: $st"
	[ "$(jq -r .address <<<"$st")" = "$EG_VIP" ] || return 1
	flows=$(jq '.rules[] | select(.rule == "box") | .flows' <<<"$st")
	# 20 TCP, 10 UDP (distinct source ports), one echo flow.
	[ "$flows" -ge $((EG_CONNS + 10 + 1)) ] || { e2e_log "box flows $flows"; return 1; }
	[ "$(jq '.rules[] | select(.rule == "box") | .packets.out' <<<"$st")" -gt 0 ] || return 1
	# conntrack show names the rule; the echo flow is there.
	out=$(ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j conntrack show)
	[ "$(jq '[.[] | select(.route == "egress:box")] | length' <<<"$out")" -gt 0 ] ||
		{ e2e_log "no egress:box flow in conntrack show"; return 1; }
	[ "$(jq '[.[] | select(.proto == "icmp")] | length' <<<"$out")" -ge 1 ] ||
		{ e2e_log "no icmp flow in conntrack show"; return 1; }
	# The metrics.
	out=$(ns "$NS_GW" curl -s --max-time 2 "http://$EG_METRICS/metrics")
	grep -q "^portier_egress_connections_total{rule=\"box\"} $flows$" <<<"$out" ||
		{ e2e_log "metrics: $(grep portier_egress <<<"$out")"; return 1; }
}

test_egress_refused_counted() {
	local out st refused reason
	eg_up
	out=$(ns "$NS_CLIENT" timeout 120 "$CLIENT" tcp "$EG_EXCEPTED" "$EG_TCP" 3 2)
	expect_out "tcp to the excepted $EG_EXCEPTED" "$out" "ERROR 3"
	if grep -q " $EG_EXCEPTED\| $EG_BOX\." "$E2E_TMP/server-inet.log" 2>/dev/null ||
	   [ -n "$(eg_peers tcp "$EG_TCP")" ]; then
		e2e_log "the server saw a refused connection: $(cat "$E2E_TMP/server-inet.log")"
		return 1
	fi
	# A destination no rule names (the router's own address), by ping.
	out=$(ns "$NS_CLIENT" "$PINGER" "$EG_ROUTER" 1 4662 1 || true)
	[ "$out" = "ok 0/1" ] || { e2e_log "ping to $EG_ROUTER: $out, want ok 0/1"; return 1; }
	st=$(eg_stats)
	e2e_log "stats: $st"
	refused=$(jq '.rules[] | select(.rule == "box") | .refused' <<<"$st")
	# Each connection's SYN, retransmitted within its 2 s: 3 at least, and the ping.
	[ "$refused" -ge 4 ] || { e2e_log "box refused $refused, want >= 4"; return 1; }
	[ "$(jq '.rules[] | select(.rule == "box") | .flows' <<<"$st")" -eq 0 ] || return 1
	reason=$(ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show |
		jq '[.reasons[] | select(.reason == "egress_refused") | .packets] | add')
	[ "$reason" -eq "$refused" ] || { e2e_log "reason $reason != refused $refused"; return 1; }
	out=$(ns "$NS_GW" curl -s --max-time 2 "http://$EG_METRICS/metrics")
	grep -q "^portier_egress_refused_total{rule=\"box\"} $refused$" <<<"$out" ||
		{ e2e_log "metrics: $(grep portier_egress_refused <<<"$out")"; return 1; }
}

# An ICMP error about an egress flow: nothing listens on the server's UDP
# port EG_CLOSED; its kernel's port unreachable, to the egress address,
# reaches the client translated (its connected socket gets ECONNREFUSED).
test_egress_icmp_error() {
	local out n
	eg_up
	out=$(ns "$NS_CLIENT" timeout 30 "$E2E_DIR/bulk" udp-refused "$EG_SERVER" "$EG_CLOSED" 5) ||
		{ e2e_log "udp to the closed $EG_SERVER:$EG_CLOSED: $out"; return 1; }
	n=$(ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show |
		jq '[.reasons[] | select(.reason == "icmp_translated") | .packets] | add')
	e2e_log "udp to the closed port: $out; icmp_translated: $n"
	[ "$n" -gt 0 ]
}
