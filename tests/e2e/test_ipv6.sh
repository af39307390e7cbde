# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_ipv6.sh - IPv6 end to end (issue 18): the seed topology dual stack
# (lib.sh topo_up6, 2001:db8::/32 only), its routes declared "family: dual"
# and its hosts named (A and AAAA in the gateway: hosts6_up), so each route
# has a backend of each family per host. Over IPv6: the six routes, 300
# connections landing 100/100/100, snat (a node sees the gateway's IPv6
# address) and dnat (the client's), UDP, an undeclared port not forwarded,
# a health check taking a dead IPv6 backend out, a 2 MB transfer each way
# through a 1400-byte output link (portier's Packet Too Big; the client's
# path MTU adapts; SHA-256 compared); IPv4 on the same daemon; conntrack
# show and the metrics naming IPv6 flows and backends "[ADDR]:PORT"; SYN
# cookies for IPv6 clients.
# Each test_* runs in its own topology (run.sh). Helpers of other files:
# reason_count and frag_needed_grew (test_border_mtu.sh), expect_out and
# undeclared_unseen (test_forward.sh).

V6_CONNS=300		# connections on one route: 100 per backend over three
V6_ROUND=30		# connections per route in a round over the six
V6_METRICS=9191
V6_CHECK="{inter: 200ms, rise: 2, fall: 2}"
V6_BULK_BYTES=2097152	# 2 MB each way
V6_SMALL_MTU=1400
V6_ADV_MSS=1440		# what a 1500-byte IPv6 host advertises (1500 - 40 - 20)
V6_HALF=/v6		# a dual route's IPv6 half is NAME/v6 (docs/inventory.md)

# inv_seed6 DIR [udp]: the seed's inventory (inv_seed), dual stack: no
# ansible_host (the names resolve to both families, hosts6_up), every route
# "family: dual".
inv_seed6() {
	INV_FAMILY=dual inv_write "$1" kube_gateway_pool kube_gateway_pool "    kube_gateway_pool:
      hosts:
        gateway-1: {}
        gateway-2: {}
        gateway-3: {}" "${2:-}"
}

# v6_up NAT [DAEMON OPTIONS...]: the dual-stack seed (gateway-1 here,
# gateway-2 and gateway-3 on nodes .2 and .3), the UDP route, the daemon
# with --nat NAT. V6_CHECKED=1: every route health checked (V6_CHECK).
v6_up() {
	local nat=$1
	shift
	topo_up6 2 3
	hosts6_up gateway-1=1 gateway-2=2 gateway-3=3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed6 "$E2E_TMP/inv" udp
	if [ "${V6_CHECKED:-0}" = 1 ]; then
		sed -i "s/^        balance: roundrobin$/&\n        check: $V6_CHECK/" \
			"$E2E_TMP/inv/group_vars/kube_gateway_pool.yml"
	fi
	daemon_start "$E2E_TMP/inv" --nat "$nat" "$@"
}

# v6_each N: "gateway-1 N", "gateway-2 N", "gateway-3 N" lines.
v6_each() { printf '%s %d\n' gateway-1 "$1" gateway-2 "$1" gateway-3 "$1"; }

# v6_peers_seen NAME ADDR: node NAME's server saw IPv6 client connections
# from ADDR only (the log's "[ADDR]:PORT"). The daemon's IPv6 health checks
# come from the gateway's output address and an ephemeral port (32768 and
# up), never a snat port (16384-29999): they are not clients (peers_seen,
# test_forward.sh, for IPv4).
v6_peers_seen() {
	local log=$E2E_TMP/server-$1.log clients others
	clients=$(awk -v gw="$GW_OUT_ADDR6" '$1 == "tcp" && substr($3, 1, 1) == "[" {
		i = index($3, "]:"); a = substr($3, 2, i - 2); p = substr($3, i + 2) + 0
		if (!(a == gw && p >= 32768)) print }' "$log")
	grep -qF "[$2]:" <<<"$clients" || { e2e_log "$1 saw no IPv6 peer $2"; return 1; }
	others=$(grep -vF "[$2]:" <<<"$clients" || true)
	if [ -n "$others" ]; then
		e2e_log "$1 saw IPv6 peers other than $2: $(echo "$others" | head -3)"
		return 1
	fi
	e2e_log "$1: IPv6 peers $2 only ($(wc -l <<<"$clients") connections)"
}

v6_cli() { ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" "$@"; }

# snat, and what it shows: the six routes over IPv6 (V6_ROUND each, even
# spread), 300 connections on one route 100/100/100, IPv4 on the same
# daemon, a node seeing the gateway's IPv6 address; conntrack show lists
# held IPv6 flows bracketed; the metrics name IPv6 backends "[ADDR]:PORT".
test_ipv6_seed_snat() {
	local i out j go=$E2E_TMP/v6-go want metrics
	v6_up snat --metrics "127.0.0.1:$V6_METRICS"
	for i in "${!SEED_PORTS[@]}"; do
		out=$(client_run tcp "${SEED_PORTS[$i]}" "$V6_ROUND" "$GW_IN_ADDR6")
		expect_out "IPv6 ${SEED_ROUTES[$i]}" "$out" "$(v6_each $((V6_ROUND / 3)))"
	done
	out=$(client_run tcp "${SEED_PORTS[0]}" "$V6_CONNS" "$GW_IN_ADDR6")
	expect_out "IPv6 ${SEED_ROUTES[0]} x $V6_CONNS" "$out" "$(v6_each $((V6_CONNS / 3)))"
	out=$(client_run tcp "${SEED_PORTS[1]}" "$V6_ROUND" "$GW_IN_ADDR")
	expect_out "IPv4 ${SEED_ROUTES[1]}, same daemon" "$out" "$(v6_each $((V6_ROUND / 3)))"
	v6_peers_seen gateway-2 "$GW_OUT_ADDR6"

	# Six held IPv6 connections on dash: three backends, two each.
	ip netns exec "$NS_CLIENT" timeout 60 "$CLIENT" idle "$GW_IN_ADDR6" "${SEED_PORTS[2]}" 6 \
		"$go" 30 >"$E2E_TMP/idle.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "six held IPv6 connections" grep -qsx "open 6" "$E2E_TMP/idle.out"
	j=$(v6_cli -j conntrack show route "${SEED_ROUTES[2]}$V6_HALF")
	# Forwarded flows (gateway-2, gateway-3): client, service and backend
	# bracketed; the local ones (gateway-1) at least their client.
	jq -e --arg c "[$CLIENT_ADDR6]:" --arg s "[$GW_IN_ADDR6]:${SEED_PORTS[2]}" \
		--arg b "[$GW_NET6::" '[.[] | select(.client | startswith($c))] as $f |
		($f | length) >= 6 and all($f[]; .service == $s) and
		([$f[] | select(.state != "local") | .backend | startswith($b)] |
		length >= 4 and all)' <<<"$j" >/dev/null ||
		{ e2e_log "conntrack show -j (IPv6): $(head -c 1500 <<<"$j")"; return 1; }
	out=$(v6_cli conntrack show route "${SEED_ROUTES[2]}$V6_HALF")
	grep -qF "[$CLIENT_ADDR6]:" <<<"$out" && grep -qF "[$GW_NET6::2]:${SEED_PORTS[2]}" <<<"$out" ||
		{ e2e_log "conntrack show (IPv6): $(head -5 <<<"$out")"; return 1; }
	e2e_log "conntrack show: $(grep -cF "[$CLIENT_ADDR6]:" <<<"$out") IPv6 flows of dash"
	touch "$go"
	wait_for "the held connections' end" grep -qs "^echo 6/6" "$E2E_TMP/idle.out"

	# pgadmin4's IPv6 backends (its IPv6 half's) served V6_ROUND / 3
	# connections each.
	metrics=$(ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$V6_METRICS/metrics")
	for i in 2 3; do
		want="portier_backend_connections_total{route=\"${SEED_ROUTES[1]}$V6_HALF\",backend=\"[$GW_NET6::$i]:${SEED_PORTS[1]}\"} $((V6_ROUND / 3))"
		grep -qxF "$want" <<<"$metrics" || {
			e2e_log "metrics: no line '$want'; have: $(grep -F "route=\"${SEED_ROUTES[1]}" \
				<<<"$metrics" | grep connections_total | head -8)"
			return 1
		}
	done
	e2e_log "metrics: IPv6 backends labelled [ADDR]:PORT"
}

test_ipv6_seed_dnat() {
	local out
	v6_up dnat
	out=$(client_run tcp "${SEED_PORTS[1]}" "$V6_CONNS" "$GW_IN_ADDR6")
	expect_out "IPv6 ${SEED_ROUTES[1]} x $V6_CONNS" "$out" "$(v6_each $((V6_CONNS / 3)))"
	# DNAT: a node sees the client's own IPv6 address.
	v6_peers_seen gateway-3 "$CLIENT_ADDR6"
	out=$(client_run tcp "${SEED_PORTS[1]}" "$V6_ROUND" "$GW_IN_ADDR")
	expect_out "IPv4 ${SEED_ROUTES[1]}, same daemon" "$out" "$(v6_each $((V6_ROUND / 3)))"
}

test_ipv6_udp_route() {
	local out n
	v6_up snat
	out=$(client_run udp "$UDP_PORT" "$V6_ROUND" "$GW_IN_ADDR6")
	expect_out "IPv6 udp $UDP_PORT" "$out" "$(v6_each $((V6_ROUND / 3)))"
	# Each node answered V6_ROUND / 3 datagrams, from the gateway's address.
	for n in gateway-2 gateway-3; do
		[ "$(grep -cF "udp $UDP_PORT [$GW_OUT_ADDR6]:" "$E2E_TMP/server-$n.log")" -eq \
			$((V6_ROUND / 3)) ] || {
			e2e_log "$n's UDP peers: $(grep "^udp" "$E2E_TMP/server-$n.log" | head -3)"
			return 1
		}
	done
}

test_ipv6_undeclared_port() {
	local out
	v6_up snat
	out=$(client_run tcp "$UNDECLARED_PORT" 3 "$GW_IN_ADDR6")
	expect_out "IPv6 port $UNDECLARED_PORT" "$out" "ERROR 3"
	undeclared_unseen gateway-2 gateway-3
}

# v6_log_has TEXT: the daemon logged TEXT (a fixed string).
v6_log_has() { grep -qsF -- "$1" "$DAEMON_LOG"; }

# gateway-2's server dies: its IPv6 backend goes down (bounded wait), then
# no new IPv6 connection fails or lands on it.
test_ipv6_health_down() {
	local port=${SEED_PORTS[0]} out
	V6_CHECKED=1 v6_up snat
	# gateway-2's server is the second one started (servers_up order).
	kill "${E2E_PIDS[1]}"
	wait "${E2E_PIDS[1]}" 2>/dev/null || true
	wait_for "[$GW_NET6::2]:$port down" v6_log_has "backend [$GW_NET6::2]:$port UP -> DOWN" || {
		e2e_log "the daemon's backend lines: $(grep -i backend "$DAEMON_LOG" | tail -8)"
		return 1
	}
	out=$(client_run tcp "$port" "$V6_ROUND" "$GW_IN_ADDR6")
	if grep -q "^ERROR \|^gateway-2 " <<<"$out" || ! grep -q "^gateway-1 " <<<"$out" ||
		! grep -q "^gateway-3 " <<<"$out"; then
		e2e_log "IPv6 $port, gateway-2 down: got [$(echo $out)], want gateway-1 and gateway-3 only"
		return 1
	fi
	e2e_log "IPv6 $port, gateway-2 down: $(echo $out)"
}

# adv_mss6 NS DEV MSS: NS's IPv6 routes through DEV (global ones) advertise
# MSS (adv_mss in test_border_mtu.sh for IPv4).
adv_mss6() {
	local n=$1 dev=$2 mss=$3 r
	ns "$n" ip -6 route show dev "$dev" | grep -v '^fe80:\|^multicast\|^ff00:' | while read -r r; do
		r=${r% advmss *}
		r=${r% pref *}
		# shellcheck disable=SC2086 # a route is words
		ns "$n" ip -6 route replace $r dev "$dev" advmss "$mss" || exit 1
	done
}

# v6_mtu NAT: node-2 alone behind a 1400-byte output link (its routes
# advertising a 1500-byte host's MSS, so the client sends full-size
# segments), the client's link at 1500; 2 MB up then down over IPv6, each
# SHA-256 checked (bulk); portier sent Packet Too Big (counted with IPv4's
# fragmentation needed, docs/dataplane.md "IPv6") and it has set the
# client's path MTU to the service address to 1400.
v6_mtu() {
	local kind out pmtu n0
	topo_up6 2
	hosts6_up gateway-1=1 node-2=2
	INV_FAMILY=dual inv_write "$E2E_TMP/inv" kube_gateway_pool kube_nodes "    kube_gateway_pool:
      hosts:
        gateway-1: {}
    kube_nodes:
      hosts:
        node-2: {}"
	ip netns exec "${NS_NODES[0]}" "$E2E_DIR/bulk" serve "${SEED_PORTS[0]}" \
		>"$E2E_TMP/bulk.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "bulk server" grep -qs ready "$E2E_TMP/bulk.out"
	daemon_start "$E2E_TMP/inv" --nat "$1"
	ns "$NS_GW" ip link set out0 mtu "$V6_SMALL_MTU"
	ns "$NS_BR" ip link set bgw mtu "$V6_SMALL_MTU"
	ns "$NS_BR" ip link set b2 mtu "$V6_SMALL_MTU"
	ns "${NS_NODES[0]}" ip link set eth0 mtu "$V6_SMALL_MTU"
	adv_mss6 "${NS_NODES[0]}" eth0 "$V6_ADV_MSS"
	n0=$(reason_count icmp_frag_needed_sent)
	for kind in put get; do
		out=$(ns "$NS_CLIENT" timeout 120 "$E2E_DIR/bulk" "$kind" "$GW_IN_ADDR6" \
			"${SEED_PORTS[0]}" "$V6_BULK_BYTES" 10) || { e2e_log "IPv6 $kind: $out"; return 1; }
		e2e_log "IPv6 $kind $V6_BULK_BYTES: $out"
	done
	pmtu=$(ns "$NS_CLIENT" ip -6 route get "$GW_IN_ADDR6" | grep -o ' mtu [0-9]*' | tr -dc 0-9)
	[ "$pmtu" = "$V6_SMALL_MTU" ] || {
		e2e_log "client's route to $GW_IN_ADDR6: $(ns "$NS_CLIENT" ip -6 route get "$GW_IN_ADDR6")"
		return 1
	}
	e2e_log "client's path MTU to $GW_IN_ADDR6: $pmtu (Packet Too Big)"
	frag_needed_grew "$n0"
}

test_ipv6_mtu_snat() {
	v6_mtu snat
}

test_ipv6_mtu_dnat() {
	v6_mtu dnat
}

# SYN cookies for IPv6 clients: a runtime route on "*" with IPv6 backends
# (the IPv6 wildcard) and syn-cookies on; each connection is answered with
# a cookie SYN-ACK and opened by its valid ACK (bpf/synproxy6.h), the
# servers speaking first as in test_cli_syn_guard (IPv4). The client's
# IPv6 MSS is 1440 (1500-byte link).
test_ipv6_syn_cookies() {
	local out j ok=0 tries=0
	v6_up snat
	v6_cli route add guarded6 port "$UNDECLARED_PORT" syn-cookies on \
		backend "[$GW_NET6::2]:$UNDECLARED_PORT" backend "[$GW_NET6::3]:$UNDECLARED_PORT"
	for tries in 1 2 3; do
		out=$(ns "$NS_CLIENT" timeout 30 "$CLIENT" tcp "$GW_IN_ADDR6" "$UNDECLARED_PORT" 1 5)
		echo "$out" | grep -q '^gateway-[23] 1$' && ok=$((ok + 1))
	done
	e2e_log "IPv6 connections under cookies: $ok of $tries"
	[ "$ok" -eq 3 ] || { e2e_log "an IPv6 connection under cookies failed"; return 1; }
	j=$(v6_cli -j stats show)
	printf '%s\n' "$j" | jq -e "[.routes[] | select(.route == \"guarded6\")][0].syn_guard |
		.mode == \"on\" and .cookies_valid >= $ok and .cookies_sent >= .cookies_valid and
		.cookies_failed == 0" >/dev/null ||
		{ e2e_log "syn_guard of guarded6: $(printf '%s' "$j" | jq -c '.routes[] |
			select(.route == "guarded6")')"; return 1; }
}
