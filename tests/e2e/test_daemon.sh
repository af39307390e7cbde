# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_daemon.sh - the daemon's life end to end (issue 4): a held TCP
# connection survives kill -9, a restart that adopts the pinned data plane,
# and a SIGHUP reload that changes another route; a broken inventory on
# reload changes nothing; a second daemon refuses to start; a clean stop
# removes everything. Uses seed_up, expect_out from test_forward.sh.

HOLD_ROUNDS=40		# rounds of the held connection
HOLD_INTERVAL=0.25	# seconds between rounds (10 s in all)

# wait_log PATTERN COUNT: the daemon log has COUNT lines matching PATTERN.
log_has() { local n; n=$(grep -cs -- "$1" "$DAEMON_LOG"); [ "${n:-0}" -ge "$2" ]; }

# sighup_and_wait: SIGHUP, then the COUNT-th "reload:" line.
sighup_and_wait() {
	local n
	n=$(grep -cs 'reload:' "$DAEMON_LOG" || true)
	n=$((${n:-0} + 1))
	kill -HUP "$DAEMON_PID"
	wait_for "reload #$n" log_has 'reload:' "$n"
}

test_flow_survives_kill9_restart_reload() {
	local hold=$E2E_TMP/hold.out first out
	seed_up snat
	# The first connection of a route goes to gateway-1 (local); the held
	# one then lands on a node, through NAT and the connection table.
	client_run tcp "${SEED_PORTS[1]}" 1 >/dev/null
	ip netns exec "$NS_CLIENT" timeout 60 "$CLIENT" hold "$GW_IN_ADDR" "${SEED_PORTS[1]}" \
		"$HOLD_ROUNDS" "$HOLD_INTERVAL" >"$hold" 2>&1 &
	local hold_pid=$!
	E2E_PIDS+=("$hold_pid")
	wait_for "the held connection" grep -qs . "$hold"
	first=$(head -1 "$hold")
	case $first in gateway-2 | gateway-3) ;; *)
		e2e_log "held connection landed on '$first'"; return 1 ;;
	esac

	daemon_stop KILL
	sleep 1
	ip netns exec "$NS_GW" ip link show in0 | grep -q xdp ||
		{ e2e_log "XDP gone after kill -9"; return 1; }
	DAEMON_STARTS=2 daemon_start "$E2E_TMP/inv" --nat snat
	grep -q 'adopted the pinned data plane' "$DAEMON_LOG" ||
		{ e2e_log "restart did not adopt"; return 1; }

	# Reload without kibana: its port now reaches the gateway's own server.
	sed -i '/^    kibana:/,/^          - httplog/d' "$E2E_TMP/inv/group_vars/kube_gateway_pool.yml"
	sighup_and_wait
	grep -q 'reload: 6 routes applied' "$DAEMON_LOG" ||
		{ e2e_log "reload: $(grep reload: "$DAEMON_LOG" | tail -1)"; return 1; }
	out=$(client_run tcp "${SEED_PORTS[4]}" 3)
	expect_out "kibana after its removal" "$out" "gateway-1 3"

	wait "$hold_pid" || { e2e_log "held connection: $(tr '\n' ' ' <"$hold")"; return 1; }
	[ "$(sort -u "$hold")" = "$first" ] ||
		{ e2e_log "held connection moved: $(sort "$hold" | uniq -c | tr '\n' ' ')"; return 1; }
	[ "$(wc -l <"$hold")" -eq $((HOLD_ROUNDS + 1)) ]
	e2e_log "held connection: $((HOLD_ROUNDS + 1)) answers, all from $first"
}

test_reload_broken_inventory_changes_nothing() {
	local out
	seed_up snat
	sed -i 's/port: "{{ app.dash.port }}"/port: "{{ app.nosuch.port }}"/' \
		"$E2E_TMP/inv/group_vars/kube_gateway_pool.yml"
	sighup_and_wait
	grep -q 'reload: the inventory has errors; nothing changed' "$DAEMON_LOG" ||
		{ e2e_log "no error logged: $(tail -3 "$DAEMON_LOG")"; return 1; }
	out=$(client_run tcp "${SEED_PORTS[2]}" 300)
	expect_out "dash after a bad reload" "$out" "$(printf '%s 100\n' gateway-1 gateway-2 gateway-3)"
}

test_second_daemon_refused_and_clean_stop() {
	local rc=0
	seed_up snat
	ns "$NS_GW" timeout 10 "$PORTIER" daemon -i "$E2E_TMP/inv" --host gateway-1 \
		--input in0 --output out0 --bpffs "$PIN_DIR" 2>"$E2E_TMP/second.err" || rc=$?
	case $rc in
	0) e2e_log "a second daemon started and stopped cleanly"; return 1 ;;
	124) e2e_log "a second daemon started on the same pins (still running after 10 s," \
		"ended by timeout): $(cat "$E2E_TMP/second.err")"; return 1 ;;
	esac
	grep -q 'another portier daemon' "$E2E_TMP/second.err" ||
		{ e2e_log "second daemon: $(cat "$E2E_TMP/second.err")"; return 1; }
	daemon_stop TERM
	if ip netns exec "$NS_GW" ip link show in0 | grep -q xdp; then
		e2e_log "XDP still attached after a clean stop"; return 1
	fi
	[ ! -e "$PIN_DIR" ] || { e2e_log "pins left: $(ls "$PIN_DIR")"; return 1; }
}

# The seed's inventory exactly as the operators write it (six routes,
# app.v-admin.port verbatim): every route forwards round-robin over the
# gateway itself and the two nodes.
test_seed_fixture_six_routes() {
	local inv=$ROOT_DIR/tests/fixtures/seed route port out
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	daemon_start "$inv"
	"$PORTIER" -j config check -i "$inv" --host gateway-1 2>/dev/null |
		jq -r '.routes[] | "\(.name) \(.port)"' >"$E2E_TMP/routes"
	[ "$(wc -l <"$E2E_TMP/routes")" -eq 6 ] || { e2e_log "not six routes"; return 1; }
	while read -r route port; do
		out=$(client_run tcp "$port" 30)
		expect_out "$route ($port)" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)" ||
			return 1
	done <"$E2E_TMP/routes"
}

# config_field NAME: a field of the pinned portier_config, as bpftool reads
# it (BTF).
config_field() {
	ns "$NS_GW" bpftool -j map dump pinned "$PIN_DIR/portier_config" |
		jq -e ".[0].formatted.value.$1"
}

# The SYN cookie settings (docs/operations.md, "The border under attack"):
# --syn-cookie-rate goes to portier_config.syn_rate; syn_mss is the smaller
# NIC MTU less 40, and follows an MTU change within a tick (5 s); a rate
# out of range is refused before anything is loaded.
test_daemon_syn_cookie_settings() {
	local rc=0
	topo_up 2 3
	inv_seed "$E2E_TMP/inv" udp
	for bad in 0 10000001 2k; do
		rc=0
		ns "$NS_GW" "$PORTIER" daemon -i "$E2E_TMP/inv" --host gateway-1 --input in0 \
			--output out0 --bpffs "$PIN_DIR" --syn-cookie-rate "$bad" \
			2>"$E2E_TMP/bad.err" || rc=$?
		[ "$rc" -eq 1 ] && grep -q "syn-cookie-rate '$bad': expected SYNs a second" \
			"$E2E_TMP/bad.err" ||
			{ e2e_log "--syn-cookie-rate $bad: exit $rc, $(cat "$E2E_TMP/bad.err")"; return 1; }
	done
	daemon_start "$E2E_TMP/inv" --syn-cookie-rate 5000
	grep -q 'SYN cookies offer MSS 1460 (MTU 1500 on in0, 1500 on out0); syn_cookies auto turns them on above 5000 SYN/s per CPU and route' \
		"$DAEMON_LOG" || { e2e_log "no SYN cookie line: $(cat "$DAEMON_LOG")"; return 1; }
	[ "$(config_field syn_rate)" = 5000 ] && [ "$(config_field syn_mss)" = 1460 ] ||
		{ e2e_log "config: rate $(config_field syn_rate), mss $(config_field syn_mss)"; return 1; }
	ns "$NS_GW" ip link set out0 mtu 1400
	WAIT_STEPS=150 wait_for "syn_mss 1360" eval '[ "$(config_field syn_mss)" = 1360 ]'
	grep -q 'SYN cookies offer MSS 1360 (MTU 1500 on in0, 1400 on out0)' "$DAEMON_LOG" ||
		{ e2e_log "no MSS change logged: $(tail -3 "$DAEMON_LOG")"; return 1; }
	[ "$(config_field syn_rate)" = 5000 ]
}
