# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_connlog.sh - connection logs end to end (issue 5): N real TCP
# connections through a route with httplog (tcplog) give N lines on the
# daemon's stdout, each naming the backend the connection reached (checked
# against that server's own log of the SNAT port) with the bytes each side
# sent; the httplog fallback is said once per route, also across a reload.

LOG_CONNS=30	# connections; 10 on each of three nodes
# Frame bytes of a TCP segment as Linux sends it by default: Ethernet 14,
# IPv4 20, TCP 20 + 12 (timestamps); a SYN and a SYN-ACK carry 8 more
# (MSS, SACK permitted, window scale).
SEG_HDR=66
SYN_EXTRA=8

# log_lines ROUTE: the daemon's connection log lines of ROUTE.
log_lines() {
	grep -E "^[0-9.]+:[0-9]+ \[[^]]+\] $1 $1/" "$DAEMON_LOG" || true
}

log_count_is() {
	[ "$(log_lines "$1" | wc -l)" -ge "$2" ]
}

test_connlog_tcp_lines() {
	local route=${SEED_ROUTES[0]} port=${SEED_PORTS[0]} out want line n k name
	topo_up 2 3 4
	servers_up gateway-1 node-2 node-3 node-4
	inv_remote "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv" --log stdout

	out=$(client_run tcp "$port" "$LOG_CONNS")
	want=$(printf 'node-%s 10\n' 2 3 4)
	expect_out "port $port" "$out" "$want"
	wait_for "$LOG_CONNS log lines" log_count_is "$route" "$LOG_CONNS"
	n=$(log_lines "$route" | wc -l)
	[ "$n" -eq "$LOG_CONNS" ] || { e2e_log "$n log lines, want $LOG_CONNS"; return 1; }

	# Every line: client, backend, SNAT port the backend saw, FIN both ways,
	# exact bytes: the client sent nothing, the backend its name and "\n".
	while read -r line; do
		# 198.51.100.2:P [date] R R/203.0.113.K:PORT Tw/Tc/Tt B ts proto=tcp
		# end=fin in=PK/BY out=PK/BY snat=S service=ADDR:PORT
		set -- $line
		local client=$1 be=${4#*/} bread=$6 ts=$7 end=${9#end=}
		local in=${10#in=} outd=${11#out=} snat=${12#snat=}
		local pin=${in%/*} bin=${in#*/} pout=${outd%/*} bout=${outd#*/}
		k=${be%%:*}
		k=${k##*.}
		name=node-$k
		case $client in "$CLIENT_ADDR":*) ;; *)
			e2e_log "client $client, want $CLIENT_ADDR: $line"; return 1 ;; esac
		[ "${be#*:}" = "$port" ] || { e2e_log "backend port: $line"; return 1; }
		[ "$ts" = "--" ] && [ "$end" = fin ] ||
			{ e2e_log "not a clean close: $line"; return 1; }
		[ "$bread" = "$bout" ] || { e2e_log "bytes_read != out bytes: $line"; return 1; }
		[ $((bin - pin * SEG_HDR - SYN_EXTRA)) -eq 0 ] ||
			{ e2e_log "client payload != 0: $line"; return 1; }
		[ $((bout - pout * SEG_HDR - SYN_EXTRA)) -eq $((${#name} + 1)) ] ||
			{ e2e_log "backend payload != ${#name}+1: $line"; return 1; }
		grep -q "^tcp $port $GW_OUT_ADDR:$snat\$" "$E2E_TMP/server-$name.log" ||
			{ e2e_log "$name never saw SNAT port $snat: $line"; return 1; }
	done < <(log_lines "$route")
	for k in 2 3 4; do
		n=$(log_lines "$route" | grep -c " $route/$GW_NET.$k:$port ")
		[ "$n" -eq 10 ] || { e2e_log "node-$k: $n lines, want 10"; return 1; }
	done
	e2e_log "e.g. $(log_lines "$route" | head -1)"
	e2e_log "$LOG_CONNS connections, $LOG_CONNS lines, backends and bytes right"
}

test_connlog_httplog_said_once() {
	local r n
	topo_up 2
	servers_up gateway-1 gateway-2
	inv_seed "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv"
	kill -HUP "$DAEMON_PID"
	wait_for "the reload" grep -q 'reload: .* routes applied' "$DAEMON_LOG"
	for r in "${SEED_ROUTES[@]}"; do
		n=$(grep -c "route '$r': option httplog falls back to tcplog" "$DAEMON_LOG" || true)
		[ "$n" -eq 1 ] || { e2e_log "$r: fallback said $n times"; return 1; }
	done
	e2e_log "httplog fallback said once per route, reload included"
}
