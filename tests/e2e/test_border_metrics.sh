# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_border_metrics.sh - the metrics endpoint holds under abuse (issue 14,
# item 7): the daemon serves --metrics on its input address; 2,000 slow
# clients (slowloris: a request line sent one byte at a time, never
# finished) from one address and 200 from 20 other addresses keep
# connections open to it for 10 s, each reopened at its next byte when the
# server closes it, and a scrape from yet another address is answered
# within 1 s every time meanwhile. The per-address limit closes the first
# group's surplus at once (16 of its 2,000 are open at a time), the request
# deadline closes every slow connection of the second group; afterwards
# the daemon still forwards and its health checks kept running.

BM_PORT=9187
BM_ONE=2000		# slow clients from the client's own address
BM_OTHERS=20		# other addresses: 198.51.100.10 ...
BM_PER_OTHER=10		# slow clients from each (200 in all)
BM_SCRAPER=$BOX_NET.250	# the scraper's address
BM_HOLD_S=10		# how long the slow clients hold (> 2 deadlines)
BM_DRIP_S=0.5		# a slow client sends one byte this often
BM_SCRAPES=12		# scrapes while they hold, one every BM_PACE_S
BM_PACE_S=0.5
BM_TIMEOUT_S=3		# --metrics-timeout (the default)
BM_PER_ADDR=16		# --metrics-per-addr (the default)

# bm_scrape: /metrics from the scraper's address, within 1 s, and a last
# line "# scrape_seconds T" (a comment to Prometheus' format).
bm_scrape() {
	ns "$NS_CLIENT" curl -s -f --max-time 1 --interface "$BM_SCRAPER" \
		-w '# scrape_seconds %{time_total}\n' "http://$GW_IN_ADDR:$BM_PORT/metrics"
}

# bm_value TEXT SERIES: the value of one series (whole name and labels).
bm_value() { sed -n "s/^$2 //p" <<<"$1"; }

bm_checks_ok() {
	bm_scrape | sed -n 's/^portier_backend_checks_total{.*result="ok"} //p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# bm_done: the slow clients printed their summary (one line per group).
bm_done() {
	[ "$(grep -c '^group' "$E2E_TMP/slow.out")" -eq $((BM_OTHERS + 1)) ]
}

test_metrics_under_slowloris() {
	local i groups=() out n max_open=0 checks0 checks1 closed times=
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv" --metrics "$GW_IN_ADDR:$BM_PORT" \
		--metrics-timeout "$BM_TIMEOUT_S" --metrics-per-addr "$BM_PER_ADDR"
	groups+=("$CLIENT_ADDR:$BM_ONE")
	for ((i = 10; i < 10 + BM_OTHERS; i++)); do
		ns "$NS_CLIENT" ip addr add "$BOX_NET.$i/24" dev c0
		groups+=("$BOX_NET.$i:$BM_PER_OTHER")
	done
	ns "$NS_CLIENT" ip addr add "$BM_SCRAPER/24" dev c0
	wait_for "a first scrape" bm_scrape >/dev/null
	checks0=$(bm_checks_ok)

	ip netns exec "$NS_CLIENT" timeout $((BM_HOLD_S + 20)) "$E2E_DIR/slowclients" \
		"$GW_IN_ADDR" "$BM_PORT" "$BM_HOLD_S" "$BM_DRIP_S" "${groups[@]}" \
		>"$E2E_TMP/slow.out" 2>&1 &
	E2E_PIDS+=($!)
	# 2,200 first connects, most closed at once by the per-address limit:
	# a loaded machine (the whole suite, helpers) can take more than the
	# default 10 s; the bound is not a speed assertion.
	WAIT_STEPS=300 wait_for "the slow clients connected" grep -q '^ready' "$E2E_TMP/slow.out"
	e2e_log "slow clients: $(grep '^ready' "$E2E_TMP/slow.out")"
	for ((i = 0; i < BM_SCRAPES; i++)); do
		out=$(bm_scrape) || {
			e2e_log "scrape $i: no answer within 1 s; slow clients: $(tail -1 "$E2E_TMP/slow.out")"
			return 1
		}
		grep -q '^portier_build_info{' <<<"$out" ||
			{ e2e_log "scrape $i: no portier_build_info"; return 1; }
		times+=" $(bm_value "$out" '# scrape_seconds')"
		n=$(bm_value "$out" portier_metrics_connections)
		[ "${n:-0}" -gt "$max_open" ] && max_open=$n
		sleep "$BM_PACE_S"
	done
	# They held: the server saw at least the 200 of the other addresses.
	e2e_log "connections open at a scrape: at most $max_open; scrapes took (s):$times"
	[ "$max_open" -gt $((BM_OTHERS * BM_PER_OTHER)) ] ||
		{ e2e_log "the slow clients did not hold: $max_open open"; return 1; }

	WAIT_STEPS=$((BM_HOLD_S * 10 + 50)) wait_for "the slow clients done" bm_done
	grep '^group' "$E2E_TMP/slow.out" | head -3 >&2
	# The one address: all but the per-address limit closed at once, again
	# at each reconnect.
	closed=$(awk -v a="$CLIENT_ADDR" '$1 == "group" && $2 == a { print $8 }' "$E2E_TMP/slow.out")
	[ "${closed:-0}" -ge $((BM_ONE - BM_PER_ADDR)) ] ||
		{ e2e_log "one address: $closed closed, want >= $((BM_ONE - BM_PER_ADDR))"; return 1; }
	# The other addresses: every slow client closed at its deadline at least
	# once, although none ever went idle.
	closed=$(awk -v a="$CLIENT_ADDR" '$1 == "group" && $2 != a { s += $8 } END { print s + 0 }' \
		"$E2E_TMP/slow.out")
	[ "$closed" -ge $((BM_OTHERS * BM_PER_OTHER)) ] ||
		{ e2e_log "other addresses: $closed closed, want >= $((BM_OTHERS * BM_PER_OTHER))"; return 1; }
	out=$(bm_scrape)
	n=$(bm_value "$out" portier_metrics_deadline_closed_total)
	e2e_log "closed at the deadline: ${n:-0}; by the server, other addresses: $closed"
	[ "${n:-0}" -ge $((BM_OTHERS * BM_PER_OTHER)) ] ||
		{ e2e_log "portier_metrics_deadline_closed_total ${n:-0}"; return 1; }

	# Afterwards: the daemon runs, its health checks went on, it forwards.
	daemon_running
	checks1=$(bm_checks_ok)
	e2e_log "successful health checks: $checks0 before, $checks1 after"
	[ "$checks1" -gt "$checks0" ]
	if grep -q 'UP -> DOWN' "$DAEMON_LOG"; then
		e2e_log "a backend went down during the attack"
		return 1
	fi
	out=$(client_run tcp "${SEED_PORTS[1]}" 30)
	expect_out "port ${SEED_PORTS[1]}" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)"
}
