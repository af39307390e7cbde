# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_border_flood.sh - a spoofed-source SYN flood at one service port
# (issue 14): established connections survive it, and slow legitimate
# clients still get in, to the remote backends of the flooded route too.
# The seed's topology, snat, syn_cookies at their default (auto).
#
#   - 200 idle connections open through the six routes before the flood;
#   - trafgen floods pgadmin4's port from 192.0.2.0/24 (documentation
#     addresses, no route back) for FLOOD_S seconds at its highest rate;
#     what portier answers them is dropped where it reaches the client
#     namespace (trafgen dropnet), as the internet would route it away;
#   - during it, 100 raw-socket clients (tests/e2e/slowtcp) connect to the
#     six routes, each answering its SYN-ACK 200 ms late, as on a long path
#     (their kernel's resets dropped by nftables in the client namespace:
#     this kernel has no netem to delay them otherwise); two of the flooded
#     route's lose their handshake ACK, as the flooded veth ring drops one
#     at random on a loaded machine (its tx "dropped" counter): they probe
#     the cookie's zero window, as Linux does, and that opens their flow;
#   - afterwards all 200 idle connections still answer, at least 99 of the
#     100 slow clients got their backend's name, the two that lost their
#     ACK among them, the flooded route's among
#     them reached gateway-2 or gateway-3, the counters show the flood
#     answered with cookies, and "auto" switched them on for the flooded
#     route only, and off again after the flood.

FLOOD_S=10
FLOOD_PORT=30081	# pgadmin4
FLOOD_SRC=192.0.2.1	# the spoofed sources: 192.0.2.1 and up
IDLE_CONNS=200
SLOW_CONNS=100
SLOW_DELAY_MS=200
SLOW_SPORT=50000	# the slow clients' ports: 50000..50099
SLOW_LOSE=(55 85)	# slow clients (of the flooded route: i % 6 == 1) whose ACK is lost
FLOOD_METRICS=127.0.0.1:9189

# cookies_active ROUTE VALUE: the route's portier_route_syn_cookies_active is VALUE.
cookies_active() {
	ns "$NS_GW" curl -s --max-time 2 "http://$FLOOD_METRICS/metrics" |
		grep -q "^portier_route_syn_cookies_active{route=\"$1\",mode=\"auto\"} $2\$"
}

# flood_reason NAME: the reason counter NAME from "stats show -j".
flood_reason() {
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show |
		jq -r --arg r "$1" '[.reasons[] | select(.reason == $r) | .packets] | add // 0'
}

# flood_reasons: the reasons a slow client's packets can meet, "name=N ...".
flood_reasons() {
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" -j stats show | jq -r '[.reasons[] |
		select(.reason | test("^(syn_cookie_valid|syn_cookie_failed|synproxy_pending|synproxy_lost|no_flow|ct_evicted)$")) |
		"\(.reason)=\(.packets)"] | join(" ")'
}

test_syn_flood_spares_established_and_slow_clients() {
	local ports dmac idle_out slow_out go flood_pid idle_pid sent valid remote
	[ -x "$TRAFGEN" ] || { e2e_log "no $TRAFGEN; run make tests"; return 1; }
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv" --nat snat --metrics "$FLOOD_METRICS"
	ports=$(IFS=,; echo "${SEED_PORTS[*]}")
	dmac=$(ns "$NS_GW" cat /sys/class/net/in0/address)
	go=$E2E_TMP/flood-over

	# The slow clients' raw-socket ports are no one's: reserved, so that the
	# kernel never picks one of them as the ephemeral port of an idle
	# connection (the same 4-tuple: the server answered their SYNs with
	# challenge ACKs).
	ns "$NS_CLIENT" sysctl -qw net.ipv4.ip_local_reserved_ports="$SLOW_SPORT-$((SLOW_SPORT + SLOW_CONNS - 1))"
	# 200 idle connections, opened before the flood and held through it.
	idle_out=$E2E_TMP/idle.out
	ip netns exec "$NS_CLIENT" timeout 90 "$CLIENT" idle "$GW_IN_ADDR" "$ports" \
		"$IDLE_CONNS" "$go" 60 >"$idle_out" 2>&1 &
	idle_pid=$!
	E2E_PIDS+=($idle_pid)
	wait_for "the idle connections" grep -qs "^open $IDLE_CONNS$" "$idle_out" ||
		{ cat "$idle_out" >&2; return 1; }

	# The flood: spoofed sources, one service port. The answers to the
	# spoofed sources are dropped as they reach the client namespace (on a
	# real network they never come back to the sender's host), so that
	# they do not crowd the client's own replies out of its veth ring.
	ns "$NS_CLIENT" "$TRAFGEN" dropnet --dev c0 --net "$FLOOD_SRC/24"
	ip netns exec "$NS_CLIENT" timeout $((FLOOD_S + 30)) "$TRAFGEN" send --dev c0 \
		--dmac "$dmac" --src "$FLOOD_SRC" --dst "$GW_IN_ADDR" --dport "$FLOOD_PORT" \
		--proto syn --flows 1000000 --ports 60000 --duration "$FLOOD_S" \
		>"$E2E_TMP/flood.out" 2>&1 &
	flood_pid=$!
	E2E_PIDS+=($flood_pid)
	# The flood is on: "auto" switches cookies on for the flooded route.
	wait_for "cookies on for pgadmin4" cookies_active pgadmin4 1

	# 100 slow clients during the flood; their kernel's resets dropped.
	ns "$NS_CLIENT" nft -f - <<EOF
table inet slowtcp {
	chain out {
		type filter hook output priority 0;
		tcp sport $SLOW_SPORT-$((SLOW_SPORT + SLOW_CONNS - 1)) tcp flags & rst == rst drop
	}
}
EOF
	slow_out=$E2E_TMP/slow.out
	e2e_log "before the slow clients: $(flood_reasons)"
	ip netns exec "$NS_CLIENT" timeout 60 "$E2E_DIR/slowtcp" "$GW_IN_ADDR" "$ports" \
		"$SLOW_CONNS" "$SLOW_DELAY_MS" "$SLOW_SPORT" 50 25 \
		"$(IFS=,; echo "${SLOW_LOSE[*]}")" >"$slow_out" 2>&1 ||
		{ cat "$slow_out" >&2; return 1; }
	e2e_log "after the slow clients: $(flood_reasons)"
	# The client veth's drops, its peer's ring full: the flood's frames
	# (trafgen's XDP transmit errors), and the rest, the kernel's packets
	# (the slow and idle clients').
	local dropped xerr
	dropped=$(ns "$NS_CLIENT" ip -s link show c0 | sed -n '/TX:/{n;p}' | awk '{print $4}')
	xerr=$(ns "$NS_CLIENT" ethtool -S c0 | awk '/tx_queue_0_xdp_xmit_errors/ {print $2}')
	e2e_log "the client's veth dropped $dropped frames: $xerr of the flood," \
		"$((dropped - ${xerr:-0})) of the clients'"
	wait "$flood_pid" || { cat "$E2E_TMP/flood.out" >&2; return 1; }
	e2e_log "flood: $(cat "$E2E_TMP/flood.out")"
	touch "$go"
	wait "$idle_pid" || true

	e2e_log "idle connections after the flood: $(head -1 <(grep echo "$idle_out"))"
	grep -q "^echo $IDLE_CONNS/$IDLE_CONNS$" "$idle_out" ||
		{ cat "$idle_out" >&2; return 1; }
	e2e_log "slow clients: $(tail -1 "$slow_out")"
	# The ones that did not get in, with their timelines, pass or fail.
	grep -v '^ok\|^done' "$slow_out" >&2 || true
	local ok i
	ok=$(sed -n 's/^done \([0-9]*\)\/.*/\1/p' "$slow_out")
	[ "${ok:-0}" -ge $((SLOW_CONNS - 1)) ] || return 1
	for i in "${SLOW_LOSE[@]}"; do	# connection i's is the (i + 1)th result
		grep -v '^ ' "$slow_out" | sed -n "$((i + 1))p" | grep -q "^ok $FLOOD_PORT " ||
			{ e2e_log "slow client $i lost its ACK and did not get in"; return 1; }
	done
	remote=$(grep -c "^ok $FLOOD_PORT gateway-[23]$" "$slow_out" || true)
	e2e_log "flooded route: $(grep -c "^ok $FLOOD_PORT " "$slow_out") slow clients in," \
		"$remote on remote backends"
	[ "$remote" -ge 1 ] || { grep "$FLOOD_PORT" "$slow_out" >&2; return 1; }

	# The counters account for the flood: answered with cookies, and the
	# slow clients' cookies opened their flows.
	sent=$(flood_reason syn_cookie_sent)
	valid=$(flood_reason syn_cookie_valid)
	e2e_log "cookies sent $sent, valid $valid, evicted $(flood_reason ct_evicted)," \
		"ct_full $(flood_reason ct_full), snat_exhausted $(flood_reason snat_exhausted)"
	[ "$sent" -ge 100000 ] || return 1
	[ "$valid" -ge 1 ] || return 1
	[ "$(flood_reason snat_exhausted)" -eq 0 ] || return 1
	# "auto" switches cookies off again once the flood is over (5 s after
	# its last second above the rate), and never turned them on elsewhere.
	cookies_active dash 0 || return 1
	wait_for "cookies off after the flood" cookies_active pgadmin4 0
}
