# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_cli.sh - the CLI on the pinned maps, end to end (issue 4): route add
# and del at runtime with real connections, drain keeping an open
# connection while new ones avoid the backend, a reload keeping a runtime
# route (and replacing it when the inventory takes its name), and the JSON
# contract of every command (parsed with jq: arrays for lists, no null,
# errors as {"error": ...} with exit 1), IPv6 arguments on the maps and
# an IPv6 backend's health check. Uses seed_up, expect_out from
# test_forward.sh and sighup helpers from test_daemon.sh.

CLI_CONNS=30		# connections per check: 10 per backend over three

# cli ARGS...: portier in the gateway namespace on this run's pins.
cli() { ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" "$@"; }

# jcheck WHAT JQ_FILTER JSON: the filter holds (jq -e) on the JSON.
jcheck() {
	if ! printf '%s\n' "$3" | jq -e "$2" >/dev/null 2>&1; then
		e2e_log "$1: '$2' does not hold on: $(printf '%s' "$3" | head -c 600)"
		return 1
	fi
}

# no_nulls WHAT JSON: nothing in it is null.
no_nulls() { jcheck "$1 (no null)" '[.. | select(. == null)] | length == 0' "$2"; }

# extra_route: a runtime route on the undeclared port to the two nodes, with
# a connection log and health checks of its own.
extra_route() {
	cli route add extra port "$UNDECLARED_PORT" option tcplog inter 500ms rise 1 fall 2 \
		check-port "$UNDECLARED_PORT" backend "$GW_NET.2:$UNDECLARED_PORT" \
		backend "$GW_NET.3:$UNDECLARED_PORT"
}

# extra_checked: both backends of "extra" have a check result "ok".
extra_checked() {
	cli -j backend show extra 2>/dev/null | jq -e 'length == 2 and
		all(.[]; .check.result == "ok")' >/dev/null
}

# idle_conns PORT COUNT: COUNT TCP connections to PORT, opened and then held
# idle (established flows, which live an hour) until the test ends: the
# connection table keeps them however slowly the test runs, where closed
# connections' flows expire 10 s after their FIN.
idle_conns() {
	local out=$E2E_TMP/idle-$1.out
	ip netns exec "$NS_CLIENT" timeout 120 "$CLIENT" idle "$GW_IN_ADDR" "$1" "$2" \
		"$E2E_TMP/idle-$1.go" 110 >"$out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "$2 idle connections to $1" grep -qs "^open $2$" "$out" ||
		{ cat "$out" >&2; return 1; }
}

test_cli_route_add_del() {
	local out j
	seed_up snat
	extra_route
	out=$(client_run tcp "$UNDECLARED_PORT" 20)
	expect_out "runtime route extra" "$out" "$(printf '%s 10\n' gateway-2 gateway-3)"
	j=$(cli -j route show extra)
	jcheck "route show extra" '.[0].name == "extra" and .[0].origin == "runtime" and
		(.[0].backends | length) == 2 and .[0].port == 30099' "$j"
	jcheck "route add keywords" '.[0].options == ["tcplog"] and .[0].mode == "tcp" and
		.[0].check == {"type": "tcp", "inter_ms": 500, "timeout_ms": 500, "rise": 1,
		"fall": 2, "port": 30099}' "$j"
	# The daemon checks a runtime route from its next tick (5 s).
	WAIT_STEPS=100 wait_for "checks of the runtime route" extra_checked || return 1
	# A duplicate name or listen key is refused, nothing changes.
	if cli route add extra port 30098 backend "$GW_NET.2:1" 2>/dev/null; then
		e2e_log "duplicate name accepted"; return 1
	fi
	if cli route add other port "${SEED_PORTS[0]}" backend "$GW_NET.2:1" 2>/dev/null; then
		e2e_log "duplicate listen key accepted"; return 1
	fi
	cli route del extra
	j=$(cli -j route show)
	jcheck "route show after del" '[.[].name] | index("extra") == null' "$j"
	jcheck "flows of extra gone" 'map(select(.route == "extra")) | length == 0' \
		"$(cli -j conntrack show)"
	# Back to undeclared: the gateway's own stack, no server there.
	out=$(client_run tcp "$UNDECLARED_PORT" 3)
	expect_out "extra after del" "$out" "ERROR 3"
	# The seed routes were untouched.
	out=$(client_run tcp "${SEED_PORTS[0]}" "$CLI_CONNS")
	expect_out "arogcd" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)"
}

test_cli_drain_keeps_open_flow() {
	local hold=$E2E_TMP/hold.out first out j port=${SEED_PORTS[1]}
	seed_up snat
	client_run tcp "$port" 1 >/dev/null	# the held one then goes to gateway-2
	ip netns exec "$NS_CLIENT" timeout 60 "$CLIENT" hold "$GW_IN_ADDR" "$port" 20 0.25 \
		>"$hold" 2>&1 &
	local hold_pid=$!
	E2E_PIDS+=("$hold_pid")
	wait_for "the held connection" grep -qs . "$hold"
	first=$(head -1 "$hold")
	[ "$first" = gateway-2 ] || { e2e_log "held connection on '$first'"; return 1; }
	cli backend drain pgadmin4 "$GW_NET.2:$port"
	j=$(cli -j backend show pgadmin4)
	jcheck "drained state" 'map(select(.backend == "203.0.113.2:30081"))[0] |
		.state == "drained" and .drained == true' "$j"
	out=$(client_run tcp "$port" "$CLI_CONNS")
	expect_out "pgadmin4 drained" "$out" "$(printf '%s 15\n' gateway-1 gateway-3)"
	wait "$hold_pid" || { e2e_log "held connection: $(tr '\n' ' ' <"$hold")"; return 1; }
	[ "$(sort -u "$hold")" = gateway-2 ] && [ "$(wc -l <"$hold")" -eq 21 ] ||
		{ e2e_log "held connection: $(tr '\n' ' ' <"$hold")"; return 1; }
	cli backend enable pgadmin4 "$GW_NET.2:$port"
	out=$(client_run tcp "$port" "$CLI_CONNS")
	expect_out "pgadmin4 enabled" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)"
}

test_cli_reload_keeps_runtime_route() {
	local out gv=$E2E_TMP/inv/group_vars/kube_gateway_pool.yml
	seed_up snat
	extra_route
	cli backend drain arogcd "$GW_NET.3:${SEED_PORTS[0]}"
	# A reload that changes another route keeps the runtime route and the
	# drained state.
	sed -i '/^    kibana:/,/^          - httplog/d' "$gv"
	cli reload
	jcheck "extra kept" '.[0].origin == "runtime"' "$(cli -j route show extra)"
	jcheck "kibana gone" '[.[].name] | index("kibana") == null' "$(cli -j route show)"
	jcheck "drain kept" 'map(select(.backend == "203.0.113.3:30080"))[0].state == "drained"' \
		"$(cli -j backend show arogcd)"
	out=$(client_run tcp "$UNDECLARED_PORT" 20)
	expect_out "extra after reload" "$out" "$(printf '%s 10\n' gateway-2 gateway-3)"
	# A broken inventory: reload says so (exit 1), nothing changes.
	cp "$gv" "$E2E_TMP/gv.good"
	sed -i 's/port: "{{ app.dash.port }}"/port: "{{ app.nosuch.port }}"/' "$gv"
	if cli reload 2>"$E2E_TMP/reload.err"; then
		e2e_log "reload of a broken inventory succeeded"; return 1
	fi
	grep -q 'refused the inventory' "$E2E_TMP/reload.err" ||
		{ e2e_log "reload: $(cat "$E2E_TMP/reload.err")"; return 1; }
	cp "$E2E_TMP/gv.good" "$gv"
	# An inventory route with the runtime route's name replaces it.
	cat >>"$gv" <<EOF2
    extra:
      address: "*"
      port: $UNDECLARED_PORT
      destination:
        group:
          name: kube_gateway_pool
          port: $UNDECLARED_PORT
        balance: roundrobin
EOF2
	cli reload
	jcheck "extra replaced" '.[0].origin == "inventory" and (.[0].backends | length) == 3' \
		"$(cli -j route show extra)"
	grep -q "runtime route 'extra' is replaced by inventory route 'extra'" "$DAEMON_LOG" ||
		{ e2e_log "no replacement warning: $(tail -3 "$DAEMON_LOG")"; return 1; }
}

# A runtime route with syn-cookies on, to remote backends: connections
# are answered with a cookie and opened by their valid ACK, and stats show
# gives the route's SYN guard in JSON and text; the seed's routes are
# idle. The servers speak first, so each connection waits for the
# backend's SYN-ACK retransmission (1 s). (The client's veth end runs an
# XDP program, lib.sh: in GRO's NAPI mode a cookie SYN-ACK sent with
# XDP_TX was seen to wait seconds for a later frame.)
test_cli_syn_guard() {
	local out j ok=0 tries=0
	seed_up snat
	cli route add guarded port "$UNDECLARED_PORT" syn-cookies on \
		backend "$GW_NET.2:$UNDECLARED_PORT" backend "$GW_NET.3:$UNDECLARED_PORT"
	if cli route add dnsx port "$UNDECLARED_PORT" proto udp syn-cookies auto \
		backend "$GW_NET.2:53" 2>"$E2E_TMP/add.err"; then
		e2e_log "syn-cookies auto on a UDP route accepted"; return 1
	fi
	grep -q 'applies to TCP routes only' "$E2E_TMP/add.err" ||
		{ e2e_log "route add udp: $(cat "$E2E_TMP/add.err")"; return 1; }
	jcheck "route show guarded" '.[0].syn_cookies == "on"' "$(cli -j route show guarded)"
	# Three connections through the SYN proxy. The servers speak first:
	# each waits for the backend's SYN-ACK retransmission (1 s), which
	# portier answers for the silent client (docs/dataplane.md).
	for tries in 1 2 3; do
		out=$(ns "$NS_CLIENT" timeout 30 "$CLIENT" tcp "$GW_IN_ADDR" "$UNDECLARED_PORT" 1 5)
		echo "$out" | grep -q '^gateway-[23] 1$' && ok=$((ok + 1))
	done
	e2e_log "connections under cookies: $ok of $tries"
	[ "$ok" -eq 3 ] || { e2e_log "a connection under cookies failed"; return 1; }
	j=$(cli -j stats show)
	no_nulls "stats show" "$j"
	jcheck "syn_guard of guarded" "[.routes[] | select(.route == \"guarded\")][0].syn_guard |
		.mode == \"on\" and .active == true and .cookies_valid >= $ok and
		.cookies_sent >= .cookies_valid and .cookies_failed == 0 and
		(.pending_drops | type) == \"number\"" "$j"
	# The seed's TCP routes are auto, its UDP route off; all idle.
	jcheck "syn_guard of the seed" 'all(.routes[] | select(.route != "guarded");
		.syn_guard | (.mode | IN("auto", "off")) and .active == false and
		.cookies_sent == 0 and .cookies_valid == 0 and .cookies_failed == 0 and
		.pending_drops == 0) and ([.routes[].syn_guard.mode] | index("auto") != null)' "$j"
	jcheck "syn_cookie_valid reason" "([.reasons[] | select(.reason ==
		\"syn_cookie_valid\")][0].packets) == ([.routes[] | select(.route ==
		\"guarded\")][0].syn_guard.cookies_valid)" "$j"
	out=$(cli stats show)
	echo "$out" | grep -qE '^ROUTE +SYN_COOKIES +ACTIVE +COOKIES_SENT +COOKIES_VALID +COOKIES_FAILED +PENDING_DROPS$' &&
		echo "$out" | grep -qE "^guarded +on +yes +[0-9]+ +[1-9][0-9]* +0 +[0-9]+$" &&
		echo "$out" | grep -qE '^dash +auto +no +0 +0 +0 +0$' ||
		{ e2e_log "stats show text: $(echo "$out" | grep -A9 SYN_COOKIES)"; return 1; }
}

test_cli_json_contract() {
	local j obj out
	seed_up snat
	idle_conns "${SEED_PORTS[2]}" 6
	extra_route
	j=$(cli -j route show)
	no_nulls "route show" "$j"
	jcheck "route show" 'type == "array" and length == 8 and all(.[]; (.name | type) ==
		"string" and (.id | type) == "number" and (.origin | IN("inventory",
		"runtime")) and (.address | type) == "string" and (.port | type) == "number" and
		(.proto | IN("tcp", "udp")) and (.nat | IN("snat", "dnat")) and .balance ==
		"roundrobin" and (.syn_cookies | IN("auto", "on", "off")) and (.options | type) == "array" and (.check | type) == "object"
		and (.backends | type) == "array" and all(.backends[]; (.state | IN("up",
		"drained", "down")) and (.local | type) == "boolean"))' "$j"
	jcheck "local backend" '[.[] | select(.name == "dash") | .backends[] |
		select(.local)] | length == 1' "$j"
	j=$(cli -j backend show)
	no_nulls "backend show" "$j"
	jcheck "backend show" 'type == "array" and length == 23 and all(.[];
		(.route | type) == "string" and (.backend | test(":[0-9]+$")) and
		(.flows | type) == "number" and (.packets.in | type) == "number" and
		(.bytes.out | type) == "number" and (.check.result | type) == "string" and
		(.check.health | IN("up", "down", "none")) and all(.check.duration_us,
		.check.age_ms, .check.consecutive_ok, .check.consecutive_failed,
		.check.checks_ok, .check.checks_failed; type == "number"))' "$j"
	# The seed's TCP backends are up: checked "ok" or not yet ("none").
	jcheck "backend checks" 'all(.[] | select(.route != "extra"); .check.result |
		IN("ok", "none"))' "$j"
	jcheck "backend flows" '[.[] | select(.route == "dash") | .flows] | add == 6' "$j"
	j=$(cli -j stats show)
	no_nulls "stats show" "$j"
	jcheck "stats show" '(.routes | length) == 8 and all(.routes[]; (.backends | type) ==
		"array" and (.syn_guard.mode | IN("auto", "on", "off")) and
		(.syn_guard.active | type) == "boolean" and all(.syn_guard.cookies_sent,
		.syn_guard.cookies_valid, .syn_guard.cookies_failed, .syn_guard.pending_drops;
		type == "number")) and ([.routes[] | select(.route == "dash")][0] | .flows == 6 and
		.packets.in > 0 and .packets.out > 0 and .bytes.in > 0) and
		(.reasons | type) == "array" and ([.reasons[].reason] | index("no_backend") !=
		null) and all(.reasons[]; .action | IN("pass", "drop", "forward", "event", "transmit"))' "$j"
	# Text: a row per entry, with the packet and byte counts of both ways.
	out=$(cli conntrack show)
	echo "$out" | head -1 | grep -q "PKTS_IN *PKTS_OUT *BYTES_IN *BYTES_OUT$" &&
		echo "$out" | awk 'NR > 1 && NF == 13 && $10 > 0 { n++ } END { exit n < 6 }' ||
		{ e2e_log "conntrack show text: $(echo "$out" | head -3)"; return 1; }
	j=$(cli -j conntrack show)
	no_nulls "conntrack show" "$j"
	jcheck "conntrack show" 'type == "array" and all(.[]; (.client | type) == "string"
		and (.service | type) == "string" and (.backend | type) == "string" and
		(.snat_port | type) == "number" and (.state | type) == "string" and
		(.age_s | type) == "number")' "$j"
	j=$(cli -j prog show)
	no_nulls "prog show" "$j"
	jcheck "prog show" '.daemon_running == true and .daemon_pid > 0 and (.links | length)
		== 2 and all(.links[]; .prog_id > 0 and (.tag | length) == 16 and
		(.mode | IN("native", "generic"))) and (.maps | type) == "array" and
		([.maps[] | select(.name == "portier_services")][0].entries == 8)' "$j"
	j=$(cli -j conntrack flush)
	jcheck "conntrack flush" '.flushed | type == "number"' "$j"
	jcheck "empty conntrack" 'length == 0' "$(cli -j conntrack show)"
	j=$(cli -j backend drain dash "$GW_NET.2:${SEED_PORTS[2]}")
	jcheck "drain -j" '.state == "drained"' "$j"
	j=$(cli -j backend enable dash "$GW_NET.2:${SEED_PORTS[2]}")
	jcheck "enable -j" '.state == "up"' "$j"
	# Errors: JSON on stdout, exit 1, nothing on stdout in text mode.
	for args in "route show nosuch" "route add x port 0 backend 1.2.3.4:5" \
		"route add x port 5" "route add x port 5 rise 0 backend 1.2.3.4:5" \
		"route add x port 5 inter fast backend 1.2.3.4:5" \
		"route add x port 5 option nolog backend 1.2.3.4:5" "route del nosuch" "backend drain dash 1.2.3.4:5" \
		"backend drain dash nonsense" "route frob" "prog detach" "stats show extra" \
		"nosuch"; do
		if obj=$(cli -j $args); then
			e2e_log "'$args' succeeded"; return 1
		fi
		jcheck "error of '$args'" '.error | type == "string" and length > 0' "$obj"
		obj=$(cli $args 2>"$E2E_TMP/err") && return 1
		[ -z "$obj" ] && grep -q '^Error: ' "$E2E_TMP/err" ||
			{ e2e_log "text error of '$args': $obj $(cat "$E2E_TMP/err")"; return 1; }
	done
	# Help at every level: text on stderr, null in JSON mode.
	for obj in "" route backend stats conntrack prog reload config daemon; do
		cli $obj help 2>"$E2E_TMP/help" >/dev/null
		grep -q '^Usage: ' "$E2E_TMP/help" || { e2e_log "no help for '$obj'"; return 1; }
		[ "$(cli -j $obj help)" = null ] || { e2e_log "-j $obj help not null"; return 1; }
	done
	# Without pins: a clear error, exit 1.
	if obj=$(ns "$NS_GW" "$PORTIER" --bpffs "$E2E_TMP/bpffs/nosuch" -j route show); then
		e2e_log "route show without pins succeeded"; return 1
	fi
	jcheck "no pins" '.error | test("no portier data plane is pinned")' "$obj"
}

# both_places WHAT JQ_FILTER ARGS...: "portier -j ARGS" and "portier ARGS -j"
# both print JSON on which the filter holds, exit 0.
both_places() {
	local what=$1 filter=$2 j
	shift 2
	j=$(cli -j "$@") || { e2e_log "-j $*: exit $?: $j"; return 1; }
	jcheck "-j $what" "$filter" "$j" || return 1
	j=$(cli "$@" -j) || { e2e_log "$* -j: exit $?: $j"; return 1; }
	jcheck "$what -j" "$filter" "$j"
}

test_cli_options_anywhere() {
	local j be=$GW_NET.2:${SEED_PORTS[2]}
	seed_up snat
	idle_conns "${SEED_PORTS[2]}" 6
	extra_route
	# Every object's commands, -j before and after the arguments (bpftool's
	# getopt takes options anywhere).
	both_places "route show" 'type == "array" and length == 8' route show
	both_places "route show NAME" '.[0].name == "dash"' route show dash
	both_places "backend show" 'type == "array" and length == 23' backend show
	both_places "backend show ROUTE" 'length == 3 and all(.[]; .route == "dash")' \
		backend show dash
	both_places "backend drain" '.state == "drained"' backend drain dash "$be"
	both_places "backend enable" '.state == "up"' backend enable dash "$be"
	both_places "stats show" '(.routes | length) == 8' stats show
	both_places "policy show" 'type == "object"' policy show
	both_places "policy show route" 'type == "object"' policy show route dash
	both_places "conntrack show" 'type == "array" and length == 6' conntrack show
	# two of the six on the local backend (state local), four established
	both_places "conntrack show route" 'length == 4 and all(.[]; .route == "dash" and
		.state == "established")' conntrack show route dash state established
	both_places "conntrack count" '.count == 6' conntrack count
	both_places "prog show" '.daemon_running == true' prog show
	both_places "reload" '.reloaded == true' reload
	both_places "config check" '(.routes | length) == 7' config check -i "$E2E_TMP/inv" \
		--host gateway-1
	both_places "version" '.version | type == "string"' version
	j=$(cli policy add route dash deny 192.0.2.0/24 -j)
	jcheck "policy add -j" '.added == "192.0.2.0/24" and .action == "deny"' "$j"
	j=$(cli -j policy del route dash deny 192.0.2.0/24)
	jcheck "-j policy del" '.deleted == "192.0.2.0/24"' "$j"
	j=$(cli prog detach -j) && { e2e_log "prog detach ran with the daemon up"; return 1; }
	jcheck "prog detach -j (refused)" '.error | type == "string"' "$j"
	for obj in route backend policy stats conntrack prog reload config daemon; do
		[ "$(cli $obj help -j)" = null ] || { e2e_log "$obj help -j is not null"; return 1; }
	done
	# Options between the object and the command, -p and --bpffs after.
	jcheck "route -j show" 'length == 8' "$(cli route -j show)"
	j=$(ns "$NS_GW" "$PORTIER" route show dash -p --bpffs "$PIN_DIR")
	jcheck "-p and --bpffs after" '.[0].name == "dash"' "$j"
	[ "$(echo "$j" | wc -l)" -gt 1 ] || { e2e_log "-p not indented: $j"; return 1; }
	# An error after -j at the end is JSON too.
	j=$(cli route show nosuch -j) && { e2e_log "route show nosuch -j succeeded"; return 1; }
	jcheck "error with -j after" '.error | test("nosuch")' "$j"
	# A route literally named like an option: reachable after "--".
	for place in before after; do
		if [ $place = before ]; then
			j=$(cli -j route add -- -j port 30098 backend "$GW_NET.2:30098")
		else
			j=$(cli route add -j -- -j port 30098 backend "$GW_NET.2:30098")
		fi
		jcheck "route add -- -j ($place)" '.name == "-j"' "$j"
		jcheck "route show -- -j" '.[0].name == "-j" and .[0].port == 30098' \
			"$(cli route show -j -- -j)"
		jcheck "route del -- -j" '.deleted == "-j"' "$(cli route del -j -- -j)"
	done
	j=$(cli -j route show -- -j) && { e2e_log "route -j still shown"; return 1; }
	jcheck "route -j gone" '.error | test("no route .-j.")' "$j"
}

CTFILL=${CTFILL:-$(dirname "$PORTIER")/ctfill}

# kept_up NAT [DAEMON OPTIONS]: the seed with the UDP route, then the daemon
# stopped with --keep: the data plane stays, with nothing expiring flows
# (no GC) while a test compares the table before and after.
kept_up() {
	local nat=$1
	shift
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed "$E2E_TMP/inv" udp
	daemon_start "$E2E_TMP/inv" --nat "$nat" --keep "$@"
}

# The fields that name a flow and do not move while nothing is sent.
CT_KEY='map({proto, client, service, route, backend, state, snat_port}) | sort'

# ct_filter FILTER... : "conntrack show FILTER" lists exactly the flows of
# the whole table that the filter's jq predicate (CT_PRED) selects, at least
# one; "conntrack count FILTER" and the text output agree.
ct_filter() {
	local want got n text
	want=$(printf '%s\n' "$CT_ALL" | jq -c "[.[] | select($CT_PRED)] | $CT_KEY")
	n=$(printf '%s\n' "$want" | jq length)
	[ "$n" -gt 0 ] || { e2e_log "filter '$*': no flow of the table is selected"; return 1; }
	got=$(cli conntrack show "$@" -j | jq -c "$CT_KEY")
	[ "$got" = "$want" ] || { e2e_log "conntrack show $*: got $(echo "$got" | head -c 400),
		want $(echo "$want" | head -c 400)"; return 1; }
	jcheck "conntrack count $*" ".count == $n" "$(cli conntrack count "$@" -j)"
	text=$(cli conntrack show "$@" | tail -n +2 | wc -l)
	[ "$text" -eq "$n" ] || { e2e_log "conntrack show $* (text): $text rows, want $n"; return 1; }
	e2e_log "conntrack show $*: $n flows"
}

# ct_flush FILTER...: "conntrack flush FILTER" deletes exactly the flows
# the predicate selects (both entries of each), and leaves the others.
ct_flush() {
	local before want n e j
	before=$(cli -j conntrack show)
	want=$(printf '%s\n' "$before" | jq -c "[.[] | select(($CT_PRED) | not)] | $CT_KEY")
	n=$(printf '%s\n' "$before" | jq "[.[] | select($CT_PRED)] | length")
	# entries: two a flow, one a local flow (the program tracks only its way in)
	e=$(printf '%s\n' "$before" | jq "[.[] | select($CT_PRED) |
		if .state == \"local\" then 1 else 2 end] | add // 0")
	[ "$n" -gt 0 ] || { e2e_log "flush '$*': no flow of the table is selected"; return 1; }
	j=$(cli conntrack flush "$@" -j)
	jcheck "conntrack flush $*" ".flows == $n and .flushed == $e" "$j" || return 1
	[ "$(cli -j conntrack show | jq -c "$CT_KEY")" = "$want" ] ||
		{ e2e_log "conntrack flush $*: other flows changed"; return 1; }
	e2e_log "conntrack flush $*: $n flows"
}

test_cli_conntrack_filters() {
	local st
	kept_up snat
	# Real flows on three routes (TCP, closing once done; UDP, replied),
	# then synthetic ones in every state on every route.
	client_run tcp "${SEED_PORTS[0]}" 6 >/dev/null
	client_run tcp "${SEED_PORTS[2]}" 3 >/dev/null
	client_run udp "$UDP_PORT" 3 >/dev/null
	daemon_stop TERM
	ns "$NS_GW" "$CTFILL" "$PIN_DIR" 400 "$GW_IN_ADDR" "$GW_OUT_ADDR" | grep -qx "400 flows inserted" ||
		{ e2e_log "ctfill failed"; return 1; }
	CT_ALL=$(cli -j conntrack show)
	jcheck "the table" 'length == 412 and ([.[].route] | unique | length) == 7' "$CT_ALL"
	CT_PRED='.route == "dash"' ct_filter route dash
	CT_PRED='.route == "syslog"' ct_filter route syslog
	CT_PRED='.backend | startswith("203.0.113.2:")' ct_filter backend "$GW_NET.2"
	CT_PRED='.backend == "203.0.113.3:30081"' ct_filter backend "$GW_NET.3:30081"
	CT_PRED='(.client | split(":")[0] | split(".") | map(tonumber)) as $a |
		$a[0:3] == [192, 0, 2] and $a[3] < 128' ct_filter client 192.0.2.0/25
	CT_PRED='.client | startswith("198.51.100.2:")' ct_filter client "$CLIENT_ADDR"
	CT_PRED='.proto == "udp"' ct_filter proto udp
	CT_PRED='.proto == "tcp"' ct_filter proto tcp
	for st in syn_sent syn_recv established closing local replied unreplied; do
		CT_PRED=".state == \"$st\"" ct_filter state "$st"
	done
	CT_PRED='.route == "arogcd" and .state == "established" and
		(.backend | startswith("203.0.113.3:"))' \
		ct_filter route arogcd state established backend "$GW_NET.3"
	# Flush with each filter, then without one.
	CT_PRED='.client | startswith("198.51.100.2:")' ct_flush client "$CLIENT_ADDR"
	CT_PRED='.state == "syn_sent"' ct_flush state syn_sent
	CT_PRED='.proto == "udp"' ct_flush proto udp
	CT_PRED='.backend | startswith("203.0.113.2:")' ct_flush backend "$GW_NET.2"
	CT_PRED='.route == "dash"' ct_flush route dash
	CT_PRED='true' ct_flush
	jcheck "empty" '.count == 0' "$(cli -j conntrack count)"
	# Wrong filters: an error that says which, exit 1.
	for args in "route nosuch" "state open" "client 192.0.2.1/33" "proto icmp" \
		"backend nonsense" "route" "frob 1"; do
		if j=$(cli -j conntrack show $args); then
			e2e_log "conntrack show $args succeeded"; return 1
		fi
		jcheck "error of 'conntrack show $args'" '.error | test("conntrack show")' "$j"
	done
}

# conntrack show -j on a table of 1,000,000 entries (510,000 flows, filled
# from userspace) in less than 100 MB: max RSS of the command, measured.
test_cli_conntrack_million() {
	local n rss out=$E2E_TMP/ct.json
	kept_up dnat --conntrack-size 1100000
	daemon_stop TERM
	ns "$NS_GW" "$CTFILL" "$PIN_DIR" 510000 "$GW_IN_ADDR" "$GW_OUT_ADDR" >&2
	n=$(cli -j conntrack count | jq .count)
	[ "$n" -ge 500000 ] || { e2e_log "only $n flows in the table"; return 1; }
	ns "$NS_GW" /usr/bin/time -f %M -o "$E2E_TMP/rss" "$PORTIER" --bpffs "$PIN_DIR" \
		conntrack show -j >"$out"
	rss=$(tail -1 "$E2E_TMP/rss")
	e2e_log "conntrack show -j: $n flows ($((2 * n)) entries), $(stat -c %s "$out") bytes," \
		"max RSS $rss KiB"
	[ "$(jq length "$out")" -eq "$n" ] || { e2e_log "show -j: not $n flows"; return 1; }
	[ "$rss" -lt $((100 * 1024)) ] || { e2e_log "max RSS $rss KiB >= 100 MiB"; return 1; }
	ns "$NS_GW" /usr/bin/time -f %M -o "$E2E_TMP/rss" "$PORTIER" --bpffs "$PIN_DIR" \
		conntrack show >/dev/null
	rss=$(tail -1 "$E2E_TMP/rss")
	[ "$rss" -lt $((100 * 1024)) ] || { e2e_log "text: max RSS $rss KiB >= 100 MiB"; return 1; }
}

# v6_map_has MAP JQ_FILTER: an entry of pinned map MAP (bpftool's BTF
# dump, "formatted": {"key": ..., "value": ...}; a struct portier_addr is
# {"": {"a8": [16 bytes], ...}}) on which the filter holds.
v6_map_has() {
	ns "$NS_GW" bpftool -j map dump pinned "$PIN_DIR/$1" |
		jq -e "[.[] | .formatted | select($2)] | length > 0" >/dev/null
}

# v6_bytes ADDR: the 16 bytes of an IPv6 address as bpftool prints a8[].
v6_bytes() {
	python3 -c 'import ipaddress, sys
print(list(ipaddress.IPv6Address(sys.argv[1]).packed))' "$1"
}

# IPv6 arguments of the CLI on the maps (the IPv6 data path forwards
# nothing yet: this checks what the CLI writes and reads): the
# unbracketed form and a route of two families refused with nothing
# written; an IPv6 route's service key and backends of family 6 with
# their 16 bytes; listings in [ADDR]:PORT; drain, lookup and del by the
# bracketed form.
test_cli_ipv6_args() {
	local p=$UNDECLARED_PORT j svc be5 be6
	seed_up snat
	if cli route add v6 address 2001:db8::10 port "$p" backend 2001:db8:1::5:30080 \
		2>"$E2E_TMP/err"; then
		e2e_log "unbracketed IPv6 backend accepted"; return 1
	fi
	grep -q "^Error: route add: backend '2001:db8:1::5:30080' is ambiguous: an IPv6 address with a port is written in brackets, \[ADDR\]:PORT" \
		"$E2E_TMP/err" || { e2e_log "ambiguous: $(cat "$E2E_TMP/err")"; return 1; }
	if cli route add v6 address 2001:db8::10 port "$p" backend "[2001:db8:1::5]:30080" \
		backend "$GW_NET.2:30080" 2>"$E2E_TMP/err"; then
		e2e_log "route of two families accepted"; return 1
	fi
	grep -q "backend $GW_NET.2:30080 is IPv4 but the route's address 2001:db8::10 is IPv6" \
		"$E2E_TMP/err" || { e2e_log "two families: $(cat "$E2E_TMP/err")"; return 1; }
	jcheck "nothing written" '[.[].name] | index("v6") == null' "$(cli -j route show)"

	# UDP: no health checks take the unreachable backends out of the table
	j=$(cli -j route add v6 address 2001:db8::10 port "$p" proto udp balance maglev \
		backend "[2001:db8:1::5]:30080" backend "[2001:db8:1::6]:30080" weight 2)
	jcheck "route add v6" '.address == "2001:db8::10" and .port == 30099 and
		[.backends[] | .backend] == ["[2001:db8:1::5]:30080", "[2001:db8:1::6]:30080"] and
		[.backends[] | .address] == ["2001:db8:1::5", "2001:db8:1::6"] and
		[.backends[] | .weight] == [1, 2]' "$j"
	cli route show v6 | grep -q "^v6  \[2001:db8::10\]:$p/udp " &&
		cli route show v6 | grep -q "backend \[2001:db8:1::6\]:30080 *up *weight 2" ||
		{ e2e_log "route show v6: $(cli route show v6)"; return 1; }
	svc=$(v6_bytes 2001:db8::10)
	be5=$(v6_bytes 2001:db8:1::5)
	be6=$(v6_bytes 2001:db8:1::6)
	v6_map_has portier_services ".key.family == 6 and .key.addr[""].a8 == $svc and
		.key.proto == 17 and .key.port == $(( (p >> 8) | ((p & 255) << 8) ))" ||
		{ e2e_log "no family-6 service key for 2001:db8::10"; return 1; }
	v6_map_has portier_backends ".value.family == 6 and .value.addr[""].a8 == $be5" &&
		v6_map_has portier_backends ".value.family == 6 and .value.addr[""].a8 == $be6" ||
		{ e2e_log "no family-6 backends"; return 1; }

	j=$(cli -j backend drain v6 "[2001:db8:1::5]:30080")
	jcheck "drain v6" '.backend == "[2001:db8:1::5]:30080" and .state == "drained"' "$j"
	if cli backend enable v6 2001:db8:1::5:30080 2>"$E2E_TMP/err"; then
		e2e_log "enable by the unbracketed form accepted"; return 1
	fi
	grep -q "is ambiguous" "$E2E_TMP/err" || { e2e_log "$(cat "$E2E_TMP/err")"; return 1; }
	cli backend enable v6 "[2001:db8:1::5]:30080"
	# Lookup: an IPv6 client hashed by the IPv6 hash; an IPv4 one refused.
	j=$(cli -j route lookup v6 client "[2001:db8:2::7]:40000" client "[2001:db8:2::8]:40001")
	jcheck "lookup v6" 'length == 2 and all(.[]; .service == "[2001:db8::10]:30099" and
		(.slot | type) == "number" and (.backend | IN("[2001:db8:1::5]:30080",
		"[2001:db8:1::6]:30080"))) and .[0].client == "[2001:db8:2::7]:40000"' "$j"
	if cli route lookup v6 client 198.51.100.7:1 2>"$E2E_TMP/err"; then
		e2e_log "IPv4 client of an IPv6 route accepted"; return 1
	fi
	grep -q "client 198.51.100.7:1 is IPv4 but route 'v6' is IPv6" "$E2E_TMP/err" ||
		{ e2e_log "$(cat "$E2E_TMP/err")"; return 1; }
	cli route del v6
	! v6_map_has portier_backends ".value.family == 6" ||
		{ e2e_log "family-6 backends left after del"; return 1; }
	# A TCP route: the daemon checks its IPv6 backend (nothing answers at
	# 2001:db8:1::5 here) and takes it out; backend show reads the check.
	cli route add v6t address 2001:db8::10 port "$p" inter 200ms fall 1 \
		backend "[2001:db8:1::5]:30080"
	WAIT_STEPS=100 wait_for "the IPv6 backend's check" v6_checked_down || return 1
}

# v6_checked_down: route v6t's backend is down by a failed check of its own.
v6_checked_down() {
	cli -j backend show v6t 2>/dev/null | jq -e 'length == 1 and .[0].backend ==
		"[2001:db8:1::5]:30080" and .[0].state == "down" and .[0].check.health ==
		"down" and .[0].check.result != "ok" and .[0].check.checks_failed > 0' >/dev/null
}
