# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_border_policy.sh - source policy and per-source rate limits end to
# end (issue 14, items 2 and 3), on the seed's topology with the client
# namespace holding three addresses: allowed and denied sources, from the
# inventory and changed at runtime through the CLI (kept by a reload), the
# counters (policy show, stats show, metrics), and a held connection that a
# rate limit never touches. Uses sighup_and_wait from test_daemon.sh.

SRC_OK=$BOX_NET.2	# the client's own address
SRC_POOLDENY=$BOX_NET.3	# denied by the pool
SRC_ROUTEDENY=$BOX_NET.4	# denied by pgadmin4 only
POLICY_METRICS_PORT=9188
CONN_TIMEOUT=2		# seconds a refused connection waits (its SYN is dropped)

# policy_up [INVENTORY_SNIPPETS]: the seed, the client's extra addresses,
# and the daemon. With "inv", the inventory declares the policy: pool deny
# SRC_POOLDENY; pgadmin4 allows the box network but SRC_ROUTEDENY; dash
# allows 3 new connections a minute per source.
policy_up() {
	local gv
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	ns "$NS_CLIENT" ip addr add "$SRC_POOLDENY/24" dev c0
	ns "$NS_CLIENT" ip addr add "$SRC_ROUTEDENY/24" dev c0
	inv_seed "$E2E_TMP/inv"
	gv=$E2E_TMP/inv/group_vars/kube_gateway_pool.yml
	if [ "${1:-}" = inv ]; then
		sed -i -e "s|^proxies:|proxies:\n  deny: [\"$SRC_POOLDENY\"]|" \
			-e "s|^    pgadmin4:|    pgadmin4:\n      allow: [$BOX_NET.0/24]\n      deny: [$SRC_ROUTEDENY/32]|" \
			-e "s|^    dash:|    dash:\n      rate_limit: {rate: 3, per: 1m, burst: 3}|" "$gv"
	fi
	daemon_start "$E2E_TMP/inv" --metrics "127.0.0.1:$POLICY_METRICS_PORT"
}

# conn_from SRC PORT: one TCP connection from SRC to the gateway's PORT;
# prints the name the server answered, or ERROR.
conn_from() {
	ns "$NS_CLIENT" timeout 10 python3 - "$1" "$GW_IN_ADDR" "$2" "$CONN_TIMEOUT" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[4]))
try:
    s.bind((sys.argv[1], 0))
    s.connect((sys.argv[2], int(sys.argv[3])))
    data = s.recv(256)
    print(data.decode(errors="replace").strip() or "ERROR")
except OSError:
    print("ERROR")
finally:
    s.close()
EOF
}

# expect_conn SRC PORT ok|refused
expect_conn() {
	local got
	got=$(conn_from "$1" "$2")
	case $3:$got in
	ok:ERROR|refused:[!E]*|refused:E[!R]*)
		e2e_log "$1 -> port $2: got '$got', want $3"
		return 1 ;;
	esac
	e2e_log "$1 -> port $2: $3 ($got)"
}

# pcli ARGS...: the CLI in the gateway namespace on this run's pins.
pcli() { ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" "$@"; }

# refused ROUTE FIELD: policy show's denied or rate_limited count of ROUTE.
refused() {
	pcli -j policy show route "$1" | python3 -c \
		"import json,sys; print(json.load(sys.stdin)['routes'][0]['$2'])"
}

# metric NAME ROUTE: the value of NAME{route="ROUTE"} on /metrics.
metric() {
	ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$POLICY_METRICS_PORT/metrics" |
		sed -n "s/^$1{route=\"$2\"} //p"
}

# expect_at_least WHAT GOT MIN
expect_at_least() {
	if [ -z "$2" ] || [ "$2" -lt "$3" ]; then
		e2e_log "$1: got '$2', want at least $3"
		return 1
	fi
}

test_policy_from_inventory() {
	local arogcd=${SEED_PORTS[0]} pgadmin4=${SEED_PORTS[1]} dash=${SEED_PORTS[2]} hold hold_pid
	policy_up inv
	expect_conn "$SRC_OK" "$pgadmin4" ok
	expect_conn "$SRC_POOLDENY" "$arogcd" refused
	expect_conn "$SRC_POOLDENY" "$pgadmin4" refused
	expect_conn "$SRC_ROUTEDENY" "$pgadmin4" refused
	expect_conn "$SRC_ROUTEDENY" "$arogcd" ok

	# dash: 3 a minute. A held connection takes the first token and keeps
	# answering while its source is refused new connections.
	hold=$E2E_TMP/hold.out
	ip netns exec "$NS_CLIENT" timeout 60 "$CLIENT" hold "$GW_IN_ADDR" "$dash" 12 0.5 \
		>"$hold" 2>&1 &
	hold_pid=$!
	E2E_PIDS+=($hold_pid)
	wait_for "held connection" grep -qs . "$hold"
	expect_conn "$SRC_OK" "$dash" ok
	expect_conn "$SRC_OK" "$dash" ok
	expect_conn "$SRC_OK" "$dash" refused
	expect_conn "$SRC_POOLDENY" "$dash" refused	# the pool first
	expect_conn "$SRC_ROUTEDENY" "$dash" ok		# its own bucket
	wait "$hold_pid" || true	# bounded by its timeout
	if grep -q ERROR "$hold" || [ "$(wc -l <"$hold")" -ne 13 ]; then
		e2e_log "the held connection was cut: $(tr '\n' ' ' <"$hold")"
		return 1
	fi

	expect_at_least "pgadmin4 denied" "$(refused pgadmin4 denied)" 2
	expect_at_least "arogcd denied" "$(refused arogcd denied)" 1
	expect_at_least "dash rate_limited" "$(refused dash rate_limited)" 1
	expect_at_least "dash denied" "$(refused dash denied)" 1
	expect_at_least "metric denied" "$(metric portier_route_denied_total pgadmin4)" 2
	expect_at_least "metric rate_limited" \
		"$(metric portier_route_rate_limited_total dash)" 1
	pcli -j stats show | python3 -c '
import json, sys
j = json.load(sys.stdin)
r = {x["reason"]: x["packets"] for x in j["reasons"]}
route = {x["route"]: x for x in j["routes"]}
sys.exit(0 if r["denied"] >= 4 and r["rate_limited"] >= 1 and
         route["pgadmin4"]["denied"] >= 2 and route["dash"]["rate_limited"] >= 1 else 1)' ||
		{ e2e_log "stats show: reasons denied/rate_limited not counted"; return 1; }
}

test_policy_at_runtime() {
	local arogcd=${SEED_PORTS[0]} pgadmin4=${SEED_PORTS[1]} dash=${SEED_PORTS[2]}
	policy_up
	expect_conn "$SRC_POOLDENY" "$arogcd" ok

	pcli policy add pool deny "$SRC_POOLDENY"
	expect_conn "$SRC_POOLDENY" "$arogcd" refused
	expect_conn "$SRC_OK" "$arogcd" ok
	pcli policy add route pgadmin4 allow "$SRC_OK/32"
	expect_conn "$SRC_ROUTEDENY" "$pgadmin4" refused
	expect_conn "$SRC_ROUTEDENY" "$arogcd" ok
	expect_conn "$SRC_OK" "$pgadmin4" ok
	if pcli policy add route pgadmin4 allow "$BOX_NET.7/24" 2>/dev/null; then
		e2e_log "a network with host bits was accepted"
		return 1
	fi

	# A reload keeps the runtime entries.
	sighup_and_wait
	expect_conn "$SRC_POOLDENY" "$arogcd" refused
	expect_conn "$SRC_ROUTEDENY" "$pgadmin4" refused
	pcli -j policy show | grep -q '"origin": *"runtime"' ||
		{ e2e_log "policy show: no runtime entry"; return 1; }

	pcli policy del pool deny "$SRC_POOLDENY"
	expect_conn "$SRC_POOLDENY" "$arogcd" ok
	pcli policy del route pgadmin4 allow "$SRC_OK/32"
	expect_conn "$SRC_ROUTEDENY" "$pgadmin4" ok

	pcli policy limit route dash rate 2 per 1m
	expect_conn "$SRC_OK" "$dash" ok
	expect_conn "$SRC_OK" "$dash" ok
	expect_conn "$SRC_OK" "$dash" refused
	expect_at_least "dash rate_limited" "$(refused dash rate_limited)" 1
	pcli policy limit route dash off
	expect_conn "$SRC_OK" "$dash" ok
	expect_at_least "metric denied" "$(metric portier_route_denied_total arogcd)" 1
}
