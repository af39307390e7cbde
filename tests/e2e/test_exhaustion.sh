# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_exhaustion.sh - a full connection table end to end (issue 14, item
# 5): a daemon with a tiny table (--conntrack-size) filled by real
# connections from the client namespace to remote backends. The new flows
# that find no room are refused and counted (ct_full; the metrics show the
# table at its capacity), every connection that was established keeps
# working (each answers a line afterwards), and once they close the table
# takes new connections again. Uses reason_count from test_border_mtu.sh.

EXH_CT_SIZE=64		# entries: 8 buckets of 16 slots, at most 64 flows
EXH_CONNS=120		# connections tried (EXH_BATCH at a time): more than fit
EXH_MORE=20		# tried again while the table is full
EXH_BATCH=8		# connections opened at once: a batch is established
			# (its flows assured) before the next one's SYNs
EXH_CONNECT=0.5		# seconds a batch waits: a refused SYN is not resent
EXH_METRICS_PORT=9191

# exh_metric NAME: the value of metric NAME (no labels) from --metrics.
exh_metric() {
	ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$EXH_METRICS_PORT/metrics" |
		awk -v m="$1" '$1 == m { print $2 }'
}

# exh_hold OUT COUNT WAIT GO: holdconns from the client namespace to the
# first seed route in the background, its output to OUT.
exh_hold() {
	ip netns exec "$NS_CLIENT" timeout 120 "$E2E_DIR/holdconns" "$GW_IN_ADDR" \
		"${SEED_PORTS[0]}" "$2" "$EXH_BATCH" "$EXH_CONNECT" "$3" "$4" >"$1" 2>&1 &
	E2E_PIDS+=($!)
}

test_exhaust_full_table() {
	local go=$E2E_TMP/go out held failed held2 failed2 full0 full echoed cap entries ok
	topo_up 2 3 4
	servers_up gateway-1 node-2 node-3 node-4
	inv_remote "$E2E_TMP/inv"
	daemon_start "$E2E_TMP/inv" --conntrack-size "$EXH_CT_SIZE" \
		--metrics "127.0.0.1:$EXH_METRICS_PORT"
	cap=$(exh_metric portier_conntrack_capacity)
	[ "$cap" = "$EXH_CT_SIZE" ] || { e2e_log "capacity $cap, not $EXH_CT_SIZE"; return 1; }
	full0=$(reason_count ct_full)

	# More connections at once than the table holds: the ones that got
	# through are held (established: their handshake's ACK went through).
	exh_hold "$E2E_TMP/hold.out" "$EXH_CONNS" 60 "$go"
	wait_for "the held connections" grep -qs '^held' "$E2E_TMP/hold.out"
	read -r _ held _ failed < <(grep '^held' "$E2E_TMP/hold.out")
	entries=$(exh_metric portier_conntrack_entries)
	full=$(reason_count ct_full)
	e2e_log "$EXH_CONNS connections: $held held, $failed refused; entries $entries of" \
		"$cap; ct_full $full, snat_exhausted $(reason_count snat_exhausted)," \
		"ct_evicted $(reason_count ct_evicted)"
	[ "$held" -ge $((EXH_CT_SIZE / 4)) ] && [ "$held" -le "$EXH_CT_SIZE" ] ||
		{ e2e_log "held $held: not between a quarter of the table and all of it"; return 1; }
	[ "$failed" -ge $((EXH_CONNS - EXH_CT_SIZE)) ] ||
		{ e2e_log "only $failed refused: more flows than the table holds?"; return 1; }
	[ "$full" -gt "$full0" ] || { e2e_log "no refusal counted (ct_full)"; return 1; }
	[ "$entries" -ge $((2 * held)) ] || { e2e_log "entries $entries < 2 x $held"; return 1; }

	# While the table is full, more connections: refused and counted too.
	out=$(ns "$NS_CLIENT" timeout 60 "$E2E_DIR/holdconns" "$GW_IN_ADDR" "${SEED_PORTS[0]}" \
		"$EXH_MORE" "$EXH_BATCH" "$EXH_CONNECT" 0 "$E2E_TMP/none")
	read -r _ held2 _ failed2 < <(grep '^held' <<<"$out")
	e2e_log "$EXH_MORE more: $held2 held, $failed2 refused; ct_full $(reason_count ct_full)"
	[ "$failed2" -ge 1 ] || { e2e_log "the full table took every new connection"; return 1; }
	[ "$(reason_count ct_full)" -gt "$full" ] || { e2e_log "no new refusal counted"; return 1; }

	# Every established connection still works.
	touch "$go"
	wait_for "the answers" grep -qs '^echoed' "$E2E_TMP/hold.out"
	read -r _ echoed _ _ < <(grep '^echoed' "$E2E_TMP/hold.out")
	e2e_log "echoed $echoed of $held"
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" stats show >&2
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" conntrack show | head -5 >&2
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" conntrack show | wc -l >&2
	[ "$echoed" = "$held" ] || { e2e_log "an established connection was lost"; return 1; }

	# Closed (FIN: evictable at once), their room is taken by new ones.
	wait_for "the held connections to close" sh -c "! kill -0 ${E2E_PIDS[-1]} 2>/dev/null"
	out=$(client_run tcp "${SEED_PORTS[0]}" 10)
	ok=$(awk '$1 != "ERROR" { n += $2 } END { print n + 0 }' <<<"$out")
	e2e_log "after they closed: $ok of 10 new connections"
	[ "$ok" -eq 10 ] || { e2e_log "$out"; return 1; }
}
